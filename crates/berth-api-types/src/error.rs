//! The error body every failing Docker API call answers with, and its counterpart in streams.

use serde::{Deserialize, Serialize};

/// `{"message": "..."}`: the body of every 4xx/5xx answer.
///
/// The docker CLI prints `message` as is (`Error response from daemon: <message>`), and some
/// clients match on its text (`No such container: web`), so the words matter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub message: String,
}

impl ErrorResponse {
    pub fn new(message: impl Into<String>) -> Self {
        ErrorResponse {
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_uses_lower_case_message() {
        let e: ErrorResponse =
            serde_json::from_str(r#"{"message":"No such container: web"}"#).unwrap();
        assert_eq!(e.message, "No such container: web");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"message":"No such container: web"}"#
        );
    }

    #[test]
    fn missing_message_is_an_error() {
        assert!(serde_json::from_str::<ErrorResponse>("{}").is_err());
    }
}
