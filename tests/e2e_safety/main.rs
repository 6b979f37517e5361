//! End-to-end tests of the operator's safety toward a production tenant (feature `e2e`): real
//! API server, real `kubectl apply`, the operator binary, and the simulator with faults.

#[path = "../support/mod.rs"]
pub mod support;

mod faults;
mod processing_safety;
mod profile_safety;
mod runtime_safety;
mod tenant_policy;
