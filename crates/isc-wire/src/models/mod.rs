//! Wire models for the ISC v2024 endpoints the operator uses.
//!
//! Field names and optionality follow `../shared/isc-api/sailpoint-api.v2024.json`. Every model
//! tolerates unknown fields on read (no `deny_unknown_fields`), because the tenant adds fields
//! without a version bump. The simulator serializes the same types, and the conformance test
//! validates both directions against the official schemas.
//!
//! The types live in one file per area and are all re-exported here, so callers name them as
//! `isc_wire::models::X`: identity profiles (and the preview), their export/import format,
//! identities, asynchronous tasks, JSON Patch, the legacy refresh, error bodies and the OAuth
//! token response.

mod error;
mod identity;
mod identity_attribute;
mod identity_profile;
mod import_export;
mod json_patch;
mod legacy_refresh;
mod object_ref;
mod profile_lifecycle_state;
mod source;
mod task;
mod token;
mod transform;

pub use error::*;
pub use identity::*;
pub use identity_attribute::*;
pub use identity_profile::*;
pub use import_export::*;
pub use json_patch::*;
pub use legacy_refresh::*;
pub use object_ref::*;
pub use profile_lifecycle_state::*;
pub use source::*;
pub use task::*;
pub use token::*;
pub use transform::*;
