//! The pure decisions of a wave: which members exist already (by name, as the tenant compares
//! names: case-insensitively), which are sent, in which batches, and what an import result says
//! about each one sent. No I/O; the driver ([`super::send`]) acts on these decisions.

use std::collections::HashMap;
use std::sync::Arc;

use isc_client::models::{IdentityProfile as TenantProfile, ObjectImportResult, SpConfigMessage};
use serde_json::Value;

use crate::controller::profile_cache::{TenantProfiles, name_key};

/// What the fresh list says about one member, before anything is sent.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Sorted {
    /// The tenant holds exactly one profile with this name: adopt it.
    Exists(Arc<TenantProfile>),
    /// The name is free: send it.
    Send,
    /// An earlier member of the same wave has the same name (another object wants the same
    /// tenant profile): never sent twice.
    SameNameInWave {
        /// The name as the earlier member wrote it.
        first: String,
    },
    /// The tenant holds several profiles with this name: no silent pick.
    DuplicateInTenant {
        /// Their ids.
        ids: Vec<String>,
    },
    /// The profile with this name could not be decoded.
    Malformed(String),
}

/// Sorts the members (by their names, in joining order) against a fresh list.
pub(super) fn sort_members(names: &[&str], fresh: &TenantProfiles) -> Vec<Sorted> {
    let mut first_with_name: HashMap<String, &str> = HashMap::new();
    names
        .iter()
        .map(|name| {
            if let Some(first) = first_with_name.get(&name_key(name)) {
                return Sorted::SameNameInWave {
                    first: (*first).to_string(),
                };
            }
            first_with_name.insert(name_key(name), name);
            let found = fresh.named(name);
            match found.as_slice() {
                [one] => Sorted::Exists(Arc::clone(one)),
                [] => match fresh.malformed_matching(None, name) {
                    Some(m) => Sorted::Malformed(m.describe()),
                    None => Sorted::Send,
                },
                many => Sorted::DuplicateInTenant {
                    ids: many.iter().filter_map(|p| p.id.clone()).collect(),
                },
            }
        })
        .collect()
}

/// The members to send, in batches of at most `size` (their indexes, in order).
pub(super) fn batches(to_send: &[usize], size: usize) -> Vec<Vec<usize>> {
    to_send.chunks(size.max(1)).map(<[usize]>::to_vec).collect()
}

/// What an import result says about one object of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Imported {
    /// Imported: the tenant's id for it.
    Created(String),
    /// The tenant reported an error for it.
    Refused {
        /// The tenant's message key, e.g. `UNKNOWN_REFERENCE_RESOLVER`.
        key: String,
        /// The tenant's message text.
        text: String,
    },
    /// The result does not mention it: whether it exists is for the next fresh list to say.
    Unknown {
        /// Errors of the result that name no object (shown, since one may be about this one).
        unattributed: Vec<String>,
    },
}

/// Maps an import result back to the batch's objects (given by name, in request order).
///
/// `importedObjects` are matched by name, case-insensitively (they carry no request index);
/// `errors` by `details.index` (the object's position in the request), else by
/// `details.objectName`. An object both imported and in error counts as imported: it exists.
pub(super) fn map_import_result(names: &[&str], result: &ObjectImportResult) -> Vec<Imported> {
    let position_of_name: HashMap<String, usize> = names
        .iter()
        .enumerate()
        .rev()
        .map(|(i, n)| (name_key(n), i))
        .collect();
    let mut answers: Vec<Option<Imported>> = vec![None; names.len()];
    let mut unattributed = Vec::new();
    for error in &result.errors {
        match error_position(error, names.len(), &position_of_name) {
            Some(i) => {
                answers[i].get_or_insert(Imported::Refused {
                    key: error.key.clone(),
                    text: error.text.clone(),
                });
            }
            None => unattributed.push(format!("{}: {}", error.key, error.text)),
        }
    }
    for object in &result.imported_objects {
        let position = object
            .name
            .as_deref()
            .and_then(|n| position_of_name.get(&name_key(n)));
        if let (Some(&i), Some(id)) = (position, object.id.as_ref()) {
            answers[i] = Some(Imported::Created(id.clone()));
        }
    }
    answers
        .into_iter()
        .map(|a| {
            a.unwrap_or_else(|| Imported::Unknown {
                unattributed: unattributed.clone(),
            })
        })
        .collect()
}

/// The request position an error entry is about, if it says.
fn error_position(
    error: &SpConfigMessage,
    batch_len: usize,
    position_of_name: &HashMap<String, usize>,
) -> Option<usize> {
    let by_index = error
        .details
        .get("index")
        .and_then(Value::as_u64)
        .and_then(|i| usize::try_from(i).ok())
        .filter(|i| *i < batch_len);
    by_index.or_else(|| {
        let name = error.details.get("objectName").and_then(Value::as_str)?;
        position_of_name.get(&name_key(name)).copied()
    })
}

/// The profile as created: the body that was sent with the tenant's id. The tenant's own
/// additions (defaults, `created`) are read by the next list; the plan ignores them.
pub(super) fn created_profile(mut body: TenantProfile, id: String) -> TenantProfile {
    body.id = Some(id);
    body
}

/// Most names per filtered list call (`name in (...)`): a page of answers.
const MAX_NAMES_PER_FILTERED_LIST: usize = 250;
/// Most bytes of names per filtered list call, so the query stays well under URL limits (as
/// long as 50 names of 128 characters; about 150 names of typical length).
const MAX_NAME_BYTES_PER_FILTERED_LIST: usize = 4000;

/// The wave's names split into the filtered list calls that look them up: in order, each call
/// with at most [`MAX_NAMES_PER_FILTERED_LIST`] names and [`MAX_NAME_BYTES_PER_FILTERED_LIST`]
/// bytes of names (a longer name goes alone).
pub(super) fn name_chunks<'a, 'n>(names: &'a [&'n str]) -> Vec<&'a [&'n str]> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, name) in names.iter().enumerate() {
        let full = i - start >= MAX_NAMES_PER_FILTERED_LIST
            || bytes + name.len() > MAX_NAME_BYTES_PER_FILTERED_LIST;
        if full && i > start {
            chunks.push(&names[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += name.len();
    }
    if start < names.len() {
        chunks.push(&names[start..]);
    }
    chunks
}

/// Profiles per page of a list.
const PAGE: usize = 250;

/// True when lists filtered by the wave's names (`filtered_calls` of them, see
/// [`name_chunks`]) cost fewer calls than one list of the whole tenant (`tenant_size` profiles
/// as last seen).
pub(super) fn list_by_names(tenant_size: usize, filtered_calls: usize) -> bool {
    let whole = tenant_size.div_ceil(PAGE).max(1);
    filtered_calls.max(1) < whole
}
