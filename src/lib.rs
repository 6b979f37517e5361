//! isc-operator: a Kubernetes operator for SailPoint Identity Security Cloud.
//!
//! The library holds all logic; `src/main.rs` only parses the command line.
//! - [`api`]: the custom resources (`Tenant`, `IdentityProfile`, `ProcessingRequest`) and their
//!   CRDs, the contract with users and the API server;
//! - [`cli`]: the commands and their arguments, including `export` and `plan`, which need a
//!   tenant but no cluster;
//! - [`controller`]: the reconcilers that bring tenants in line with the resources;
//! - [`runtime`]: the `isc-operator run` process around them: health and metrics endpoints,
//!   leader election, logging and shutdown.

pub mod api;
pub mod cli;
pub mod controller;
pub mod runtime;
