//! The ISC tenant client: OAuth client credentials, a rate limiter, bounded retries and typed
//! calls. Reconcilers use [`TenantClient`] and never build HTTP requests themselves.
//!
//! The wire types and the filter builder come from `isc-wire` and are re-exported here, so a
//! caller needs only this crate.

pub mod api;
pub mod client;
pub mod error;

pub use api::{IdentityDefaultFilter, ListParams, Page};
pub use client::{ApiRequest, RateLimit, RetryPolicy, TenantClient, TenantClientConfig};
pub use error::{ErrorClass, IscError};
pub use isc_wire::filter::{self, Filter};
pub use isc_wire::models;
