//! isc-operator: a Kubernetes operator for SailPoint Identity Security Cloud.
//!
//! The library holds all logic; `src/main.rs` is a thin command-line front end.
//! - [`api`]: the custom resources (`Tenant`, `IdentityProfile`, `ProcessingRequest`) and their CRDs;
//! - [`controller`]: the reconcilers and the loop that runs them (`isc-operator run`);
//! - [`export`]: tenant profiles → `IdentityProfile` manifests (`isc-operator export`);
//! - [`isc`]: the tenant client (auth, rate limits, retries, wire models, filter grammar);
//! - [`plan`]: the pure diff from desired profile to tenant calls;
//! - [`preview`]: what applying manifests would change, without a cluster (`isc-operator plan`);
//! - [`sim`]: an in-memory ISC tenant simulator held to the official v2024 schemas.

pub mod api;
pub mod controller;
pub mod export;
pub mod isc;
pub mod plan;
pub mod preview;
pub mod sim;
