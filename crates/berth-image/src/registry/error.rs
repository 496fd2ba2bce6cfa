//! The registry client's one error type. Each variant names the registry (or reference) and the
//! step; texts clients match on are Docker's.

use std::io;
use std::path::PathBuf;

use crate::digest::Digest;
use crate::images::ImageStoreError;
use crate::layer::LayerError;
use crate::store::StoreError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid registry endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint { endpoint: String, reason: &'static str },
    #[error("registry {registry}: load CA certificates from {path}")]
    LoadCa { registry: String, path: PathBuf, #[source] source: io::Error },
    #[error("registry {registry}: TLS configuration")]
    Tls { registry: String, #[source] source: rustls::Error },
    #[error("{registry}: {step}")]
    Transport { registry: String, step: String, #[source] source: BoxError },
    #[error("{registry}: {step}: timed out after {secs}s")]
    Timeout { registry: String, step: String, secs: u64 },
    #[error("{registry}: {step}: {status}{}", registry_message(.code, .message))]
    Status { registry: String, step: String, status: u16, code: String, message: String },
    #[error("{registry}: {step}: unauthorized: {message}")]
    Unauthorized { registry: String, step: String, message: String },
    #[error("pull access denied for {repository}, repository does not exist or may require 'docker login': {message}")]
    AccessDenied { repository: String, message: String },
    #[error("{registry}: {step}: fetch token from {realm}")]
    Token { registry: String, step: String, realm: String, #[source] source: Box<RegistryError> },
    #[error("{registry}: token server {realm} answered without a token")]
    NoToken { registry: String, realm: String },
    #[error("{registry}: {step}: too many redirects")]
    Redirects { registry: String, step: String },
    #[error("manifest for {reference} not found: manifest unknown: {message}")]
    ManifestUnknown { reference: String, message: String },
    #[error("[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of {reference} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2")]
    Schema1 { reference: String },
    #[error("{reference}: unsupported manifest media type {media_type:?}")]
    UnsupportedMediaType { reference: String, media_type: String },
    #[error("no matching manifest for {platform} in the manifest list entries")]
    NoMatchingPlatform { reference: String, platform: String },
    #[error("image with reference {reference} was found but does not match the specified platform: wanted {wanted}, actual: {actual}")]
    PlatformMismatch { reference: String, wanted: String, actual: String },
    #[error("{reference}: parse {what}")]
    Parse { reference: String, what: String, #[source] source: BoxError },
    #[error("{reference}: {what} is larger than {limit} bytes")]
    TooLarge { reference: String, what: String, limit: u64 },
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { what: String, expected: Digest, actual: Digest },
    #[error("image config {config}: {layers} layers in the manifest but {diff_ids} diff_ids")]
    LayerCount { config: Digest, layers: usize, diff_ids: usize },
    #[error("{registry}: download blob {digest}: size mismatch: expected {expected} bytes, the registry sent {actual}")]
    BlobSize { registry: String, digest: Digest, expected: u64, actual: u64 },
    #[error("store blob {digest}")]
    Store { digest: Digest, #[source] source: StoreError },
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error("record image {id}")]
    Record { id: Digest, #[source] source: ImageStoreError },
    #[error("read blob {digest} for upload")]
    ReadLocal { digest: Digest, #[source] source: StoreError },
    #[error("{registry}: {step}: the registry answered without a Location header")]
    NoLocation { registry: String, step: String },
    #[error("a background task failed: {0}")]
    Task(String),
}

fn registry_message(code: &str, message: &str) -> String {
    match (code.is_empty(), message.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(": {}", code.to_lowercase().replace('_', " ")),
        (_, false) => format!(": {message}"),
    }
}

impl RegistryError {
    /// Whether trying again may help: the connection broke, timed out, or the registry
    /// answered 5xx / 429. Certificate errors, protocol answers, and a registry that cannot be
    /// reached at all (its name does not resolve, nothing listens) are final, as with dockerd:
    /// an offline machine gets its error at once, not after seconds of backoff.
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Transport { source, .. } => !is_tls_error(source.as_ref()) && !is_unreachable(source.as_ref()),
            RegistryError::Timeout { .. } => true,
            RegistryError::Status { status, .. } => *status >= 500 || *status == 429,
            RegistryError::BlobSize { .. } => true,
            _ => false,
        }
    }
}

/// A connection refused, or a name that does not resolve (hyper's connector says "dns error").
fn is_unreachable(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.to_string() == "dns error" {
            return true;
        }
        cur = match err.downcast_ref::<io::Error>() {
            Some(io) if io.kind() == io::ErrorKind::ConnectionRefused => return true,
            Some(io) => io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    false
}

fn is_tls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<rustls::Error>() {
            return true;
        }
        // An io::Error's `source` skips the error it wraps, so descend into that instead
        // (hyper-rustls wraps tokio-rustls's io::Error in another).
        cur = match err.downcast_ref::<io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    false
}

#[cfg(test)]
mod tests {
    /// HTTPS to a plain-HTTP registry fails in the TLS handshake: final, not worth retrying
    /// (the caller falls back to HTTP for an insecure registry at once).
    #[tokio::test]
    async fn a_plain_http_server_behind_https_is_not_transient() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            if let Some(Ok(mut s)) = l.incoming().next() {
                use std::io::{Read, Write};
                let mut b = [0u8; 512];
                let _ = s.read(&mut b);
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n");
            }
        });
        let t = super::super::transport::Transport::new("/nonexistent".into());
        let req = http::Request::get(format!("https://127.0.0.1:{port}/v2/")).body(super::super::transport::empty_body()).expect("request");
        let e = t.send("r", "s", req).await.expect_err("TLS to plain HTTP fails");
        assert!(!e.is_transient(), "{e:?}");
    }

    /// Nothing listening: final at once. (A name that does not resolve is too; testing it
    /// would send a query to the host's name servers.)
    #[tokio::test]
    async fn an_unreachable_registry_is_not_transient() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let t = super::super::transport::Transport::new("/nonexistent".into());
        let req = http::Request::get(format!("http://127.0.0.1:{port}/v2/")).body(super::super::transport::empty_body()).expect("request");
        let e = t.send("r", "s", req).await.expect_err("unreachable");
        assert!(!e.is_transient(), "{}", crate::error_chain(&e));
    }
}
