//! Identity attributes: the tenant's attribute catalogue, addressed by technical name. Reads
//! work with any credential; create, PUT and delete need a user-context credential (the tenant
//! answers 403 to a client-credentials token).

use reqwest::Method;

use super::path_segment;
use crate::client::{ApiRequest, TenantClient};
use crate::error::IscError;
use crate::models::IdentityAttribute;

const IDENTITY_ATTRIBUTES_PATH: &str = "/v2024/identity-attributes";

fn identity_attribute_path(name: &str) -> Result<String, IscError> {
    Ok(format!(
        "{IDENTITY_ATTRIBUTES_PATH}/{}",
        path_segment(name)?
    ))
}

impl TenantClient {
    /// `GET /v2024/identity-attributes`: the whole catalogue in one call (the operation has no
    /// paging). System and silent attributes are asked for too, so a lookup by name never
    /// misses an attribute the tenant has.
    pub async fn list_identity_attributes(&self) -> Result<Vec<IdentityAttribute>, IscError> {
        let req = ApiRequest::new(Method::GET, IDENTITY_ATTRIBUTES_PATH)
            .query("includeSystem", true)
            .query("includeSilent", true);
        let items: Option<Vec<IdentityAttribute>> = self
            .execute(&req)
            .await?
            .parse(req.method().as_str(), req.path())?;
        Ok(items.unwrap_or_default())
    }

    /// `GET /v2024/identity-attributes/{name}`.
    pub async fn get_identity_attribute(&self, name: &str) -> Result<IdentityAttribute, IscError> {
        self.call(&ApiRequest::new(
            Method::GET,
            identity_attribute_path(name)?,
        ))
        .await
    }

    /// `POST /v2024/identity-attributes` (user context). Not retried on 5xx: the caller must
    /// look up by name first.
    pub async fn create_identity_attribute(
        &self,
        attribute: &IdentityAttribute,
    ) -> Result<IdentityAttribute, IscError> {
        path_segment(&attribute.name)?;
        self.call(&ApiRequest::new(Method::POST, IDENTITY_ATTRIBUTES_PATH).json(attribute)?)
            .await
    }

    /// `PUT /v2024/identity-attributes/{name}` (user context): replaces the attribute, so it
    /// is safe to resend.
    pub async fn put_identity_attribute(
        &self,
        name: &str,
        attribute: &IdentityAttribute,
    ) -> Result<IdentityAttribute, IscError> {
        self.call(&ApiRequest::new(Method::PUT, identity_attribute_path(name)?).json(attribute)?)
            .await
    }

    /// `DELETE /v2024/identity-attributes/{name}` (user context; 204).
    pub async fn delete_identity_attribute(&self, name: &str) -> Result<(), IscError> {
        self.execute(&ApiRequest::new(
            Method::DELETE,
            identity_attribute_path(name)?,
        ))
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_change_the_path_are_refused() {
        assert_eq!(
            identity_attribute_path("costCenter").unwrap(),
            "/v2024/identity-attributes/costCenter"
        );
        for bad in ["", "../x", "a/b", "a?b"] {
            assert!(identity_attribute_path(bad).is_err(), "{bad:?}");
        }
    }
}
