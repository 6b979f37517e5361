//! Everything that talks to an ISC tenant: auth, rate limiting, retries, wire models and the
//! filter grammar. Reconcilers use [`TenantClient`] and never build HTTP requests themselves.

pub mod api;
pub mod client;
pub mod error;
pub mod filter;
pub mod models;

pub use api::{IdentityDefaultFilter, ListParams, Page};
pub use client::{ApiRequest, RateLimit, RetryPolicy, TenantClient, TenantClientConfig};
pub use error::{ErrorClass, IscError};
pub use filter::Filter;
