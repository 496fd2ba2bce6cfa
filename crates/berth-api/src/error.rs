//! The one place an engine error becomes a status code and a `{"message": ...}` body.

use berth_api_types::ErrorResponse;
use berth_engine::{Error, ErrorKind};
use http::StatusCode;

use crate::body::{empty, json, Resp};

pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::InvalidParameter => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotModified => StatusCode::NOT_MODIFIED,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub fn error_response(err: &Error) -> Resp {
    let status = status_of(err.kind());
    let message = berth_engine::error::chain(err);
    if status.is_server_error() {
        tracing::error!(error = %message, "request failed");
    } else {
        tracing::debug!(error = %message, "request refused");
    }
    if status == StatusCode::NOT_MODIFIED {
        return empty(status);
    }
    json(status, &ErrorResponse::new(message))
}

/// A request the API itself cannot make sense of: 400 with `message`.
pub fn bad_request(message: impl Into<String>) -> Resp {
    json(StatusCode::BAD_REQUEST, &ErrorResponse::new(message))
}

pub fn not_found_route(method: &http::Method, path: &str) -> Resp {
    json(StatusCode::NOT_FOUND, &ErrorResponse::new(format!("page not found: {method} {path}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_dockers_codes() {
        assert_eq!(status_of(Error::NoSuchContainer("web".into()).kind()), StatusCode::NOT_FOUND);
        assert_eq!(status_of(Error::RemoveRunning { name: "web".into() }.kind()), StatusCode::CONFLICT);
        assert_eq!(status_of(Error::InvalidParameter("x".into()).kind()), StatusCode::BAD_REQUEST);
        assert_eq!(status_of(Error::NotImplemented("x".into()).kind()), StatusCode::NOT_IMPLEMENTED);
        let r = error_response(&Error::NotModified("x".into()));
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        let r = error_response(&Error::NoSuchContainer("web".into()));
        assert_eq!(r.headers()["content-type"], "application/json");
    }
}
