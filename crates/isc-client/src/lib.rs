//! The ISC tenant client: OAuth client credentials, a rate limiter, bounded retries and typed
//! calls. Reconcilers use [`TenantClient`] and never build HTTP requests themselves.
//!
//! # Layers
//! A call passes through these layers, each in its own module under [`client`]:
//! 1. **auth**: an OAuth2 client-credentials token, cached and refreshed before it expires
//!    (and once after a 401), one refresh at a time;
//! 2. **rate limiter**: a GCRA quota ([`RateLimit`]) shared by every client of the same
//!    (base URL, client id), started without burst credit, under the tenant gateway's limit;
//! 3. **executor**: [`TenantClient::execute`] sends one [`ApiRequest`] and, after a failure,
//!    asks the pure [`client::decide_retry`] whether and when to send it again ([`RetryPolicy`]:
//!    429s after `Retry-After`, 5xx and transport errors only when the call is safe to resend);
//! 4. **typed calls** ([`api`]): one method per endpoint (identity profiles, identities and
//!    their processing, tasks, the legacy `cc` refresh), returning the wire models.
//!
//! No tenant answer can crash or wedge a caller: no redirect is followed, bodies are read with a
//! cap, `Retry-After` and token lifetimes are capped, paging is bounded ([`MAX_LIST_PAGES`]),
//! and [`LenientList`] isolates a malformed object. `http://` is refused unless opted into for
//! a loopback host ([`TenantClientConfig::allow_insecure_http`]).
//!
//! Every failure is an [`IscError`]; [`IscError::class`] says how to react (wait, back off,
//! give up) and [`IscError::submission_outcome`] whether a call that triggers work may have
//! run. The wire types and the filter builder come from `isc-wire` and are re-exported here, so
//! a caller needs only this crate.

pub mod api;
pub mod client;
pub mod error;

pub use api::{
    IdentityDefaultFilter, LenientList, ListParams, MAX_LIST_PAGES, MalformedObject, Page,
};
pub use client::{
    ApiRequest, CallPriority, RateLimit, RetryPolicy, TenantClient, TenantClientConfig,
};
pub use error::{ErrorClass, IscError, SubmissionOutcome, clip};
pub use isc_wire::filter::{self, Filter};
pub use isc_wire::models;
