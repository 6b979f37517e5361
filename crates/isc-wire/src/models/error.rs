//! The tenant's error body.

use serde::{Deserialize, Serialize};

/// A message in an error body (`ErrorMessageDto`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMessageDto {
    /// BCP 47 locale; nullable.
    #[serde(default)]
    pub locale: Option<String>,
    /// `DEFAULT`, `REQUEST` or null.
    #[serde(default)]
    pub locale_origin: Option<String>,
    /// The text.
    #[serde(default)]
    pub text: String,
}

/// The tenant's error body (`ErrorResponseDto`); users quote `detailCode` and `trackingId` to SailPoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponseDto {
    /// e.g. `400.1 Bad Request Content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail_code: Option<String>,
    /// Correlation id for SailPoint support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_id: Option<String>,
    /// What went wrong.
    #[serde(default)]
    pub messages: Vec<ErrorMessageDto>,
    /// Underlying causes.
    #[serde(default)]
    pub causes: Vec<ErrorMessageDto>,
}

impl ErrorResponseDto {
    /// An error body with one English message.
    pub fn new(detail_code: &str, tracking_id: &str, text: impl Into<String>) -> Self {
        ErrorResponseDto {
            detail_code: Some(detail_code.to_string()),
            tracking_id: Some(tracking_id.to_string()),
            messages: vec![ErrorMessageDto {
                locale: Some("en-US".to_string()),
                locale_origin: Some("DEFAULT".to_string()),
                text: text.into(),
            }],
            causes: Vec::new(),
        }
    }

    /// All message texts joined, for error display.
    pub fn message_text(&self) -> String {
        self.messages
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_join() {
        let e = ErrorResponseDto::new("400.1 Bad Request Content", "t1", "bad name");
        assert_eq!(e.message_text(), "bad name");
    }
}
