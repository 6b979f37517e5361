//! The OAuth token response.

use serde::{Deserialize, Serialize};

/// Token response of `POST /oauth/token` (only the fields we use are typed).
#[derive(Clone, Serialize, Deserialize, Default)]
pub struct TokenResponse {
    /// The bearer token. Never logged.
    pub access_token: String,
    /// `bearer`.
    #[serde(default)]
    pub token_type: String,
    /// Lifetime in seconds.
    #[serde(default)]
    pub expires_in: u64,
    /// Granted scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// User id; empty for a client without user context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Identity id; empty for a client without user context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_hides_the_token() {
        let t = TokenResponse {
            access_token: "eyJ-secret".into(),
            ..Default::default()
        };
        assert!(!format!("{t:?}").contains("eyJ-secret"));
    }
}
