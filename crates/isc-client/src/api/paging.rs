//! Following `offset` across pages, with bounds: at most [`MAX_LIST_PAGES`] pages, and a page
//! that repeats the previous one (a server ignoring `offset`) ends the listing with an error.
//! Pages are decoded element by element, strictly ([`TenantClient::list_all`]) or leniently
//! ([`LenientList`]: one malformed object does not hide the others).

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ListParams, MAX_PAGE_SIZE, Page};
use crate::client::{ApiRequest, TenantClient};
use crate::error::{IscError, clip};

/// Most pages one listing reads (250 000 objects at the largest page size); a longer listing
/// is an error rather than unbounded memory.
pub const MAX_LIST_PAGES: usize = 1000;

/// Longest decode error kept for a malformed object.
const MAX_MALFORMED_TEXT: usize = 300;

/// A listing decoded object by object: the objects that decoded, and the ones that did not.
#[derive(Debug, Clone, PartialEq)]
pub struct LenientList<T> {
    /// Objects that match the schema, in the tenant's order.
    pub items: Vec<T>,
    /// Objects that do not, with what could be read of them.
    pub malformed: Vec<MalformedObject>,
}

/// A tenant object that did not match the schema; kept so the caller can name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedObject {
    /// Its `id`, when that is a string.
    pub id: Option<String>,
    /// Its `name`, when that is a string.
    pub name: Option<String>,
    /// Why it did not decode (shortened).
    pub error: String,
}

impl MalformedObject {
    fn of(value: &Value, error: &serde_json::Error) -> Self {
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(|s| clip(s, 200));
        MalformedObject {
            id: text("id"),
            name: text("name"),
            error: clip(&error.to_string(), MAX_MALFORMED_TEXT),
        }
    }
}

/// Decodes each element on its own.
pub(crate) fn decode_lenient<T: DeserializeOwned>(values: Vec<Value>) -> LenientList<T> {
    let mut list = LenientList {
        items: Vec::with_capacity(values.len()),
        malformed: Vec::new(),
    };
    for value in values {
        match T::deserialize(&value) {
            Ok(item) => list.items.push(item),
            Err(e) => list.malformed.push(MalformedObject::of(&value, &e)),
        }
    }
    list
}

/// What identifies a page's content: each element's `id`, or its whole text when it has none.
fn page_fingerprint(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .map(|v| match v.get("id").and_then(Value::as_str) {
            Some(id) => id.to_string(),
            None => v.to_string(),
        })
        .collect()
}

/// The error that ends a listing the tenant does not page properly.
fn paging_error(req: &ApiRequest, message: String) -> IscError {
    IscError::Decode {
        method: req.method().as_str().to_string(),
        path: req.path().to_string(),
        message,
    }
}

impl TenantClient {
    /// One page as raw JSON values; an empty body (204) is an empty page.
    pub(super) async fn list_page_values(&self, req: &ApiRequest) -> Result<Page<Value>, IscError> {
        let response = self.execute(req).await?;
        let items: Option<Vec<Value>> = response.parse(req.method().as_str(), req.path())?;
        Ok(Page {
            items: items.unwrap_or_default(),
            total: response.total_count,
        })
    }

    /// Every element across pages, as raw JSON values, within the bounds of this module.
    pub(super) async fn list_all_values<F>(
        &self,
        params: &ListParams,
        make: F,
    ) -> Result<Vec<Value>, IscError>
    where
        F: Fn(&ListParams) -> ApiRequest,
    {
        let limit = params
            .limit
            .unwrap_or(MAX_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE);
        let mut out = Vec::new();
        let mut offset = params.offset.unwrap_or(0);
        let mut previous: Option<Vec<String>> = None;
        for _ in 0..MAX_LIST_PAGES {
            let page_params = ListParams {
                limit: Some(limit),
                offset: Some(offset),
                count: false,
                ..params.clone()
            };
            let req = make(&page_params);
            let page = self.list_page_values(&req).await?.items;
            let n = page.len();
            let fingerprint = page_fingerprint(&page);
            if n > 0 && previous.as_ref() == Some(&fingerprint) {
                return Err(paging_error(
                    &req,
                    format!(
                        "the page at offset {offset} repeats the previous page (offset ignored)"
                    ),
                ));
            }
            out.extend(page);
            if n < limit as usize {
                return Ok(out);
            }
            previous = Some(fingerprint);
            offset = offset.saturating_add(limit);
        }
        let req = make(params);
        Err(paging_error(
            &req,
            format!("the listing did not end after {MAX_LIST_PAGES} pages"),
        ))
    }

    /// Follows `offset` until a short page, so callers see every record exactly once; any
    /// malformed element fails the listing.
    pub(super) async fn list_all<T, F>(
        &self,
        params: &ListParams,
        make: F,
    ) -> Result<Vec<T>, IscError>
    where
        T: DeserializeOwned,
        F: Fn(&ListParams) -> ApiRequest,
    {
        let req = make(params);
        let values = self.list_all_values(params, make).await?;
        let list = decode_lenient::<T>(values);
        match list.malformed.into_iter().next() {
            None => Ok(list.items),
            Some(bad) => Err(paging_error(&req, bad.error)),
        }
    }

    /// Like [`TenantClient::list_all`], but a malformed element is reported, not fatal.
    pub(super) async fn list_all_lenient<T, F>(
        &self,
        params: &ListParams,
        make: F,
    ) -> Result<LenientList<T>, IscError>
    where
        T: DeserializeOwned,
        F: Fn(&ListParams) -> ApiRequest,
    {
        Ok(decode_lenient(self.list_all_values(params, make).await?))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::models::IdentityProfile;

    #[test]
    fn one_malformed_profile_does_not_hide_the_others() {
        let values = vec![
            json!({"id": "p1", "name": "good", "authoritativeSource": {"id": "s"}}),
            json!({"id": "p2", "name": "bad owner", "owner": 5, "authoritativeSource": {}}),
            json!({"id": "p3", "name": "null source", "authoritativeSource": null}),
            json!(7),
            json!({"id": "p4", "name": "also good", "authoritativeSource": {"id": "s"}}),
        ];
        let list = decode_lenient::<IdentityProfile>(values);
        let names: Vec<_> = list.items.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["good", "also good"]);
        let bad: Vec<_> = list.malformed.iter().map(|m| m.id.as_deref()).collect();
        assert_eq!(bad, [Some("p2"), Some("p3"), None]);
        assert_eq!(list.malformed[0].name.as_deref(), Some("bad owner"));
        assert!(list.malformed.iter().all(|m| !m.error.is_empty()));
    }

    #[test]
    fn pages_are_fingerprinted_by_id_or_content() {
        let page = vec![json!({"id": "a"}), json!({"x": 1})];
        assert_eq!(page_fingerprint(&page), ["a", r#"{"x":1}"#]);
    }
}
