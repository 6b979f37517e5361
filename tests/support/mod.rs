//! Shared helpers for the operator's end-to-end tests; the simulator fixtures (credentials,
//! config, typed admin client) come from [`isc_sim::testing`] and are re-exported here.

pub mod e2e;
pub mod gitops;

pub use isc_sim::testing::*;
