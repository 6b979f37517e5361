//! isc-operator: a Kubernetes operator for SailPoint Identity Security Cloud.
//!
//! The library holds all logic; `src/main.rs` is a thin command-line front end.
//! - [`api`]: the custom resources (`Tenant`, `IdentityProfile`, `ProcessingRequest`) and their CRDs;
//! - [`controller`]: the reconcilers and the loop that runs them (`isc-operator run`);
//! - [`export`]: tenant profiles → `IdentityProfile` manifests (`isc-operator export`);
//! - [`plan`]: the pure diff from desired profile to tenant calls;
//! - [`preview`]: what applying manifests would change, without a cluster (`isc-operator plan`);

pub mod api;
pub mod controller;
pub mod export;
pub mod plan;
pub mod preview;
