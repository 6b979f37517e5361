//! Transforms: create, read, replace (`PUT`, where only `attributes` may differ) and delete.
//! Every operation accepts a client-credentials token.

use reqwest::Method;

use super::{ListParams, path_segment};
use crate::client::{ApiRequest, TenantClient};
use crate::error::IscError;
use crate::models::Transform;

const TRANSFORMS_PATH: &str = "/v2024/transforms";

fn transform_path(id: &str) -> Result<String, IscError> {
    Ok(format!("{TRANSFORMS_PATH}/{}", path_segment(id)?))
}

impl TenantClient {
    /// Every transform matching `params.filter` (the tenant filters `name` with `eq`/`sw` and
    /// `internal` with `eq`), across pages.
    pub async fn list_all_transforms(
        &self,
        params: &ListParams,
    ) -> Result<Vec<Transform>, IscError> {
        self.list_all(params, |p| {
            p.apply(ApiRequest::new(Method::GET, TRANSFORMS_PATH))
        })
        .await
    }

    /// `GET /v2024/transforms/{id}`.
    pub async fn get_transform(&self, id: &str) -> Result<Transform, IscError> {
        self.call(&ApiRequest::new(Method::GET, transform_path(id)?))
            .await
    }

    /// `POST /v2024/transforms`. Not retried on 5xx: the caller must look up by name first.
    pub async fn create_transform(&self, transform: &Transform) -> Result<Transform, IscError> {
        self.call(&ApiRequest::new(Method::POST, TRANSFORMS_PATH).json(&create_body(transform))?)
            .await
    }

    /// `PUT /v2024/transforms/{id}`: `name` and `type` must be the stored ones; only
    /// `attributes` changes. Safe to resend.
    pub async fn update_transform(
        &self,
        id: &str,
        transform: &Transform,
    ) -> Result<Transform, IscError> {
        self.call(&ApiRequest::new(Method::PUT, transform_path(id)?).json(&create_body(transform))?)
            .await
    }

    /// `DELETE /v2024/transforms/{id}` (204). The tenant refuses while a profile mapping uses it.
    pub async fn delete_transform(&self, id: &str) -> Result<(), IscError> {
        self.execute(&ApiRequest::new(Method::DELETE, transform_path(id)?))
            .await?;
        Ok(())
    }
}

/// The request body (`Transform` schema): the read-only `id` and `internal` are not sent.
fn create_body(transform: &Transform) -> Transform {
    Transform {
        id: None,
        internal: None,
        ..transform.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_carries_no_read_only_fields() {
        let body = create_body(&Transform {
            id: Some("t1".into()),
            name: "Lower".into(),
            kind: "lower".into(),
            attributes: None,
            internal: Some(false),
        });
        assert_eq!((body.id, body.internal), (None, None));
        assert_eq!(transform_path("t1").unwrap(), "/v2024/transforms/t1");
        assert!(transform_path("a/b").is_err());
    }
}
