//! Plain ISC v2024 wire types and the filter expression tree.
//!
//! The tenant client and the simulator both speak these types, and the schema-conformance
//! tests hold both sides to the official API documents; nothing here does I/O.
//! - [`models`]: request and response bodies as the official schemas define them;
//! - [`filter`]: the `filters` query expression tree and its canonical text form.

pub mod filter;
pub mod models;
