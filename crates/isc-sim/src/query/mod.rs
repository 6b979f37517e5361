//! The tenant's side of the `filters=` and `sorters=` collection parameters.
//!
//! Clients only build and render filters ([`isc_wire::filter`]); the simulator must also read
//! them back and evaluate them against stored objects, so parsing and evaluation live here.
//! [`FilterExt`] adds both to [`Filter`] so call sites read `Filter::parse(text)` and
//! `filter.matches(&object)`.

mod eval;
mod parse;

use serde_json::Value;

use isc_wire::filter::Filter;

pub use eval::Fields;
pub use parse::{FilterParseError, parse_sorters};

/// Parsing and evaluation of [`Filter`], which the wire crate leaves to the tenant.
pub trait FilterExt: Sized {
    /// Parses filter text; the error says where and why.
    fn parse(text: &str) -> Result<Self, FilterParseError>;

    /// Evaluates the filter against a JSON object, looking fields up by dotted path. String
    /// comparisons are case-insensitive, as the API's mostly are.
    fn matches(&self, object: &Value) -> bool;

    /// Evaluates the filter against any object that hands out its fields (no JSON view of
    /// the whole object needed).
    fn matches_fields<F: Fields + ?Sized>(&self, object: &F) -> bool;
}

impl FilterExt for Filter {
    fn parse(text: &str) -> Result<Self, FilterParseError> {
        parse::parse_filter(text)
    }

    fn matches(&self, object: &Value) -> bool {
        eval::matches(self, object)
    }

    fn matches_fields<F: Fields + ?Sized>(&self, object: &F) -> bool {
        eval::matches(self, object)
    }
}
