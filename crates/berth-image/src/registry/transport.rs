//! HTTP(S) to registries: endpoints, TLS trust (system roots plus
//! `<certs_dir>/HOST:PORT/*.crt`), which hosts may speak plain HTTP, and pooled hyper clients.
//!
//! One hyper client (with its connection pool) is kept per trust configuration: a shared one
//! for hosts with system roots only, and one per host that has a certs.d directory. What to
//! send, authentication and retries are the session's business (see `session`).

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use super::RegistryError;

/// Request bodies: empty, in memory, or streamed (uploads).
pub(crate) type ReqBody = BoxBody<Bytes, io::Error>;
type HttpClient = Client<HttpsConnector<HttpConnector>, ReqBody>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const POOL_IDLE: Duration = Duration::from_secs(90);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

/// Where a registry answers: scheme and `host[:port]`, e.g. `https://registry-1.docker.io`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub scheme: Scheme,
    /// `host[:port]` as it appears in URLs (IPv6 in brackets).
    pub authority: String,
}

impl Endpoint {
    /// Parses `http://host[:port]` or `https://host[:port]` (a trailing `/` is allowed; a path
    /// is not: the API lives at `/v2/`).
    pub fn parse(s: &str) -> Result<Self, RegistryError> {
        let invalid = |reason| RegistryError::InvalidEndpoint { endpoint: s.to_owned(), reason };
        let (scheme, rest) = if let Some(r) = s.strip_prefix("https://") {
            (Scheme::Https, r)
        } else if let Some(r) = s.strip_prefix("http://") {
            (Scheme::Http, r)
        } else {
            return Err(invalid("must start with http:// or https://"));
        };
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
            return Err(invalid("must be scheme://host[:port] without a path"));
        }
        authority.parse::<http::uri::Authority>().map_err(|_| invalid("invalid host or port"))?;
        Ok(Endpoint { scheme, authority: authority.to_owned() })
    }

    pub fn https(authority: &str) -> Self {
        Endpoint { scheme: Scheme::Https, authority: authority.to_owned() }
    }

    pub fn http(authority: &str) -> Self {
        Endpoint { scheme: Scheme::Http, authority: authority.to_owned() }
    }

    /// `scheme://authority` followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{self}{path}")
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        write!(f, "{scheme}://{}", self.authority)
    }
}

/// Splits `host[:port]` (IPv6 in brackets) into host and port.
fn split_host(authority: &str) -> (&str, Option<&str>) {
    if let Some(rest) = authority.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            return (host, after.strip_prefix(':'));
        }
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (authority, None),
    }
}

/// Whether `authority` may be reached over plain HTTP: loopback always (as Docker does), and
/// whatever `insecure` lists (`host`, `host:port`, or a CIDR such as `10.0.0.0/8`).
pub fn is_insecure(authority: &str, insecure: &[String]) -> bool {
    let (host, _) = split_host(authority);
    let ip = host.parse::<IpAddr>().ok();
    if host.eq_ignore_ascii_case("localhost") || ip.is_some_and(|ip| ip.is_loopback()) {
        return true;
    }
    insecure.iter().any(|entry| {
        if entry == authority || entry == host {
            return true;
        }
        let (Some((net, bits)), Some(ip)) = (entry.split_once('/'), ip) else { return false };
        let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else { return false };
        match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) if bits <= 32 => {
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) if bits <= 128 => {
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    })
}

/// Pooled clients, one per trust configuration.
pub(crate) struct Transport {
    certs_dir: PathBuf,
    system_roots: OnceLock<Arc<RootCertStore>>,
    clients: Mutex<HashMap<String, HttpClient>>,
}

impl Transport {
    pub fn new(certs_dir: PathBuf) -> Self {
        Transport { certs_dir, system_roots: OnceLock::new(), clients: Mutex::new(HashMap::new()) }
    }

    /// The client for `authority`: its own when `<certs_dir>/<authority>/` exists (its `*.crt`
    /// files added to the system roots), else the shared one.
    pub fn client(&self, authority: &str) -> Result<HttpClient, RegistryError> {
        let dir = self.certs_dir.join(authority.replace(['[', ']'], ""));
        let own = dir.is_dir();
        let key = if own { authority } else { "" };
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(key) {
            return Ok(c.clone());
        }
        let mut roots = (**self.system_roots.get_or_init(|| Arc::new(load_system_roots()))).clone();
        if own {
            for cert in load_ca_dir(&dir).map_err(|source| RegistryError::LoadCa { registry: authority.to_owned(), path: dir.clone(), source })? {
                roots.add(cert).map_err(|source| RegistryError::Tls { registry: authority.to_owned(), source })?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|source| RegistryError::Tls { registry: authority.to_owned(), source })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(POOL_IDLE).build(https);
        clients.insert(key.to_owned(), client.clone());
        Ok(client)
    }

    pub async fn send(&self, registry: &str, step: &str, req: http::Request<ReqBody>) -> Result<http::Response<Incoming>, RegistryError> {
        let authority = req.uri().authority().map(|a| a.as_str().to_owned()).unwrap_or_default();
        let client = self.client(&authority)?;
        client.request(req).await.map_err(|e| RegistryError::Transport {
            registry: registry.to_owned(),
            step: step.to_owned(),
            source: Box::new(e),
        })
    }
}

fn load_system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::warn!(error = %e, "loading a system CA certificate failed");
    }
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(added, ignored, "system CA certificates loaded");
    roots
}

/// Every certificate in the `*.crt` files of `dir` (Docker's certs.d convention).
fn load_ca_dir(dir: &Path) -> io::Result<Vec<CertificateDer<'static>>> {
    let mut certs = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "crt"))
        .collect();
    paths.sort();
    for path in paths {
        let iter = CertificateDer::pem_file_iter(&path).map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
        for cert in iter {
            certs.push(cert.map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?);
        }
    }
    Ok(certs)
}

pub(crate) fn empty_body() -> ReqBody {
    Empty::<Bytes>::new().map_err(|never| match never {}).boxed()
}

pub(crate) fn full_body(data: Bytes) -> ReqBody {
    Full::new(data).map_err(|never| match never {}).boxed()
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
pub(crate) fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Standard base64 with padding (for Basic credentials).
pub(crate) fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Resolves a `Location` header against the URL it answered.
pub(crate) fn resolve_location(base: &http::Uri, location: &str) -> Option<http::Uri> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.parse().ok();
    }
    let scheme = base.scheme_str()?;
    let authority = base.authority()?.as_str();
    let path = if location.starts_with('/') {
        location.to_owned()
    } else {
        let dir = base.path().rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        format!("{dir}/{location}")
    };
    format!("{scheme}://{authority}{path}").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        let e = Endpoint::parse("http://127.0.0.1:5000/").expect("valid");
        assert_eq!(e, Endpoint::http("127.0.0.1:5000"));
        assert_eq!(e.url("/v2/"), "http://127.0.0.1:5000/v2/");
        assert_eq!(Endpoint::parse("https://[::1]:443").expect("v6").authority, "[::1]:443");
        for bad in ["127.0.0.1:5000", "ftp://x", "https://", "https://h/path", "https://u@h"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_and_listed_registries_are_insecure() {
        let none: &[String] = &[];
        for a in ["localhost:5000", "127.0.0.1", "127.1.2.3:80", "[::1]:5000", "LOCALHOST"] {
            assert!(is_insecure(a, none), "{a}");
        }
        for a in ["registry-1.docker.io", "10.1.2.3:5000", "[::2]:5000", "localhost.example.com"] {
            assert!(!is_insecure(a, none), "{a}");
        }
        let list = ["myreg:5000".to_owned(), "other".to_owned(), "10.0.0.0/8".to_owned(), "fd00::/8".to_owned()];
        assert!(is_insecure("myreg:5000", &list));
        assert!(!is_insecure("myreg:5001", &list));
        assert!(is_insecure("other:443", &list));
        assert!(is_insecure("10.200.0.1:5000", &list));
        assert!(!is_insecure("11.0.0.1", &list));
        assert!(is_insecure("[fd12::1]:5000", &list));
    }

    #[test]
    fn encodings() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:p@ss"), "dXNlcjpwQHNz");
        assert_eq!(encode_query("repository:a/b:pull,push"), "repository%3Aa%2Fb%3Apull%2Cpush");
    }

    #[test]
    fn locations_resolve() {
        let base: http::Uri = "http://h:5000/v2/a/blobs/sha256:x".parse().expect("uri");
        assert_eq!(resolve_location(&base, "https://s3/x?y=1").expect("abs").to_string(), "https://s3/x?y=1");
        assert_eq!(resolve_location(&base, "/v2/a/blobs/uploads/u?x=1").expect("rel").to_string(), "http://h:5000/v2/a/blobs/uploads/u?x=1");
        assert_eq!(resolve_location(&base, "y").expect("rel").to_string(), "http://h:5000/v2/a/blobs/y");
    }
}
