//! isc-operator: a Kubernetes operator for SailPoint Identity Security Cloud.
//!
//! The library holds all logic; `src/main.rs` is a thin command-line front end.
//! - [`api`]: the custom resources (`Tenant`, `IdentityProfile`, `ProcessingRequest`) and their CRDs;
//! - [`controller`]: the reconcilers and the loop that runs them (`isc-operator run`);
//! - [`cli`]: commands that need a tenant but no cluster: `export` and `plan` (a preview).

pub mod api;
pub mod cli;
pub mod controller;
