//! Following `offset` across pages, with bounds: at most [`MAX_LIST_PAGES`] pages, and a page
//! that repeats the previous one (a server ignoring `offset`) ends the listing with an error.
//! A listing stops at the first page's `X-Total-Count` or at a short page, whichever comes
//! first, so N objects cost ⌈N/250⌉ calls.
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
#[cfg(test)]
pub(crate) fn decode_lenient<T: DeserializeOwned>(values: Vec<Value>) -> LenientList<T> {
    let mut list = LenientList {
        items: Vec::with_capacity(values.len()),
        malformed: Vec::new(),
    };
    decode_lenient_into(values, &mut list);
    list
}

/// Decodes each element of one page on its own, adding it to `list`.
fn decode_lenient_into<T: DeserializeOwned>(values: Vec<Value>, list: &mut LenientList<T>) {
    list.items.reserve(values.len());
    for value in values {
        match T::deserialize(&value) {
            Ok(item) => list.items.push(item),
            Err(e) => list.malformed.push(MalformedObject::of(&value, &e)),
        }
    }
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

    /// Hands every page to `visit`, in order, within the bounds of this module; only one page
    /// is held at a time.
    ///
    /// The first page asks for `X-Total-Count`, so a listing of N objects costs ⌈N/page⌉ calls
    /// (one for none), even when N is a multiple of the page size: it ends when the count is
    /// reached, on a short page, or on an empty one. A server that sends no count ends on the
    /// short page.
    pub(super) async fn for_each_page<F, V>(
        &self,
        params: &ListParams,
        make: F,
        mut visit: V,
    ) -> Result<(), IscError>
    where
        F: Fn(&ListParams) -> ApiRequest,
        V: FnMut(Vec<Value>),
    {
        let limit = params
            .limit
            .unwrap_or(MAX_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE);
        let mut offset = params.offset.unwrap_or(0);
        let mut total: Option<u64> = None;
        let mut previous: Option<Vec<String>> = None;
        for page_number in 0..MAX_LIST_PAGES {
            let page_params = ListParams {
                limit: Some(limit),
                offset: Some(offset),
                count: page_number == 0,
                ..params.clone()
            };
            let req = make(&page_params);
            let page = self.list_page_values(&req).await?;
            if page_number == 0 {
                total = page.total;
            }
            let n = page.items.len();
            let fingerprint = page_fingerprint(&page.items);
            if n > 0 && previous.as_ref() == Some(&fingerprint) {
                return Err(paging_error(
                    &req,
                    format!(
                        "the page at offset {offset} repeats the previous page (offset ignored)"
                    ),
                ));
            }
            visit(page.items);
            let seen = u64::from(offset) + n as u64;
            if n < limit as usize || total.is_some_and(|total| seen >= total) {
                return Ok(());
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

    /// Follows `offset` to the end of the listing ([`TenantClient::for_each_page`]), so callers
    /// see every record exactly once; any malformed element fails the listing.
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
        let list = self.list_all_lenient::<T, F>(params, make).await?;
        match list.malformed.into_iter().next() {
            None => Ok(list.items),
            Some(bad) => Err(paging_error(&req, bad.error)),
        }
    }

    /// Like [`TenantClient::list_all`], but a malformed element is reported, not fatal. Each
    /// page is decoded as it arrives.
    pub(super) async fn list_all_lenient<T, F>(
        &self,
        params: &ListParams,
        make: F,
    ) -> Result<LenientList<T>, IscError>
    where
        T: DeserializeOwned,
        F: Fn(&ListParams) -> ApiRequest,
    {
        let mut list = LenientList {
            items: Vec::new(),
            malformed: Vec::new(),
        };
        self.for_each_page(params, make, |page| decode_lenient_into(page, &mut list))
            .await?;
        Ok(list)
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
