//! The HTTP client of berthd's API: one HTTP/1.1 connection per request over the Unix socket,
//! the API version negotiated once (`/_ping`'s `Api-Version`), Docker's error bodies turned
//! into [`CliError`]s, and hijacked streams for attach and exec.
//!
//! This is the CLI's only way into the engine.

use std::path::PathBuf;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Body as _, Incoming};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;

use crate::error::{CliError, Result};

/// The newest API version this client speaks; the daemon's, when older, wins.
pub const CLIENT_API_VERSION: (u32, u32) = (1, 51);

/// The socket used when neither `-H`, `BERTH_HOST` nor `DOCKER_HOST` names one.
pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";

/// A hijacked connection (attach, exec start): raw bytes both ways.
pub type Hijacked = TokioIo<hyper::upgrade::Upgraded>;

/// A request body: whole (JSON), or streamed from a reader (an image archive to load).
type ReqBody = Either<Full<Bytes>, ChannelBody>;

/// Chunks read on a thread of their own, so a multi-gigabyte archive is never held whole.
pub struct ChannelBody {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
}

impl ChannelBody {
    /// Reads `input` to its end in 256 KiB chunks on a new thread.
    pub fn from_reader(mut input: impl std::io::Read + Send + 'static) -> ChannelBody {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                match input.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        if tx.blocking_send(Ok(Bytes::copy_from_slice(&buf[..n]))).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        });
        ChannelBody { rx }
    }
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::io::Result<hyper::body::Frame<Bytes>>>> {
        self.rx.poll_recv(cx).map(|chunk| chunk.map(|r| r.map(hyper::body::Frame::data)))
    }
}

/// Where the daemon is, chosen as docker chooses: `-H`, then `BERTH_HOST`, then `DOCKER_HOST`,
/// then [`DEFAULT_HOST`].
pub fn choose_host(flag: Option<&str>) -> String {
    flag.map(str::to_owned)
        .or_else(|| std::env::var("BERTH_HOST").ok().filter(|h| !h.is_empty()))
        .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| DEFAULT_HOST.to_owned())
}

/// How to reach the daemon: its Unix socket, or TCP with mutual TLS.
#[derive(Clone)]
enum Transport {
    Unix(PathBuf),
    Tls { addr: String, name: rustls::pki_types::ServerName<'static>, config: std::sync::Arc<rustls::ClientConfig> },
}

/// Any stream a request can go over.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// A connection target and the negotiated version prefix (`/v1.51`).
#[derive(Clone)]
pub struct Client {
    host: String,
    transport: Transport,
    prefix: String,
    /// The daemon's `Api-Version`, or ours when it is newer.
    pub api_version: String,
}

impl Client {
    /// Parses `host` (`unix:///path`, or `tcp://host:port` with `tls`) and negotiates the API
    /// version with the daemon there.
    pub async fn connect(host: &str, tls: &crate::tls::TlsFlags) -> Result<Client> {
        let transport = match host.split_once("://") {
            Some(("unix", path)) if !path.is_empty() => Transport::Unix(PathBuf::from(path)),
            Some(("tcp", addr)) if !addr.is_empty() => {
                if !tls.wanted() {
                    return Err(CliError::new(format!(
                        "{host}: berthd serves TCP only with mutual TLS: add --tlsverify (with --tlscacert, --tlscert and --tlskey, or DOCKER_CERT_PATH)"
                    )));
                }
                let addr = addr.trim_end_matches('/');
                let addr = if addr.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty()) {
                    addr.to_owned()
                } else {
                    format!("{addr}:2376")
                };
                let hostname = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
                Transport::Tls { name: crate::tls::server_name(hostname)?, config: crate::tls::client_config(tls)?, addr }
            }
            Some((scheme, _)) => return Err(CliError::new(format!("{host}: berth reaches berthd over unix:///path or tcp://host:port (mutual TLS), not {scheme}://"))),
            None if host.starts_with('/') => Transport::Unix(PathBuf::from(host)),
            _ => return Err(CliError::new(format!("invalid daemon address {host:?}: expected unix:///path/to/berth.sock or tcp://host:port"))),
        };
        let mut client = Client { host: host.to_owned(), transport, prefix: String::new(), api_version: String::new() };
        let resp = client.send_raw(Method::GET, "/_ping", None, &[]).await?;
        let ours = format!("{}.{}", CLIENT_API_VERSION.0, CLIENT_API_VERSION.1);
        let theirs = resp.headers().get("api-version").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let version = match theirs.as_deref().and_then(parse_version) {
            Some(v) if v < CLIENT_API_VERSION => theirs.unwrap_or_default(),
            _ => ours,
        };
        client.prefix = format!("/v{version}");
        client.api_version = version;
        Ok(client)
    }

    /// Whether the negotiated API version is `major.minor` or newer.
    pub fn api_at_least(&self, major: u32, minor: u32) -> bool {
        parse_version(&self.api_version).is_some_and(|v| v >= (major, minor))
    }

    fn unreachable(&self, e: &dyn std::fmt::Display) -> CliError {
        CliError::new(format!(
            "Cannot connect to the berth daemon at {} ({e}). Is berthd running? Start it with `systemctl start berthd` or `berthd &` (as root), or name its socket with -H or BERTH_HOST.",
            self.host
        ))
    }

    /// A fresh connection to the daemon.
    async fn dial(&self) -> Result<Box<dyn Io>> {
        match &self.transport {
            Transport::Unix(sock) => Ok(Box::new(tokio::net::UnixStream::connect(sock).await.map_err(|e| self.unreachable(&e))?)),
            Transport::Tls { addr, name, config } => {
                let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| self.unreachable(&e))?;
                let _ = tcp.set_nodelay(true);
                let tls = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| CliError::new(format!("TLS handshake with {}: {e} (is --tlscacert the CA that signed the daemon's certificate, and --tlscert one it accepts?)", self.host)))?;
                Ok(Box::new(tls))
            }
        }
    }

    /// Sends one request on a fresh connection; `path` is without the version prefix.
    async fn send_raw(&self, method: Method, path: &str, body: Option<Vec<u8>>, headers: &[(&str, &str)]) -> Result<Response<Incoming>> {
        let json = body.is_some() && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if json {
            all.push(("Content-Type", "application/json"));
        }
        self.send_body(method, path, Either::Left(Full::new(Bytes::from(body.unwrap_or_default()))), &all).await
    }

    /// Sends `body` as it is read (chunked), checking the answer as [`Client::send`] does.
    pub async fn send_stream(&self, method: Method, path: &str, body: ChannelBody, headers: &[(&str, &str)]) -> Result<Response<Incoming>> {
        let resp = self.send_body(method, path, Either::Right(body), headers).await?;
        self.check(resp).await
    }

    async fn send_body(&self, method: Method, path: &str, body: ReqBody, headers: &[(&str, &str)]) -> Result<Response<Incoming>> {
        let stream = self.dial().await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| self.unreachable(&e))?;
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        let uri = format!("{}{path}", self.prefix);
        let mut req = Request::builder().method(method).uri(&uri).header("Host", "berth").header("User-Agent", "berth-cli");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(body).map_err(|e| CliError::new(format!("build request {uri}: {e}")))?;
        sender.send_request(req).await.map_err(|e| CliError::new(format!("request {uri} to {}: {e}", self.host)))
    }

    /// Sends a request and turns an error status into Docker's `Error response from daemon`.
    pub async fn send(&self, method: Method, path: &str, body: Option<Vec<u8>>, headers: &[(&str, &str)]) -> Result<Response<Incoming>> {
        let resp = self.send_raw(method, path, body, headers).await?;
        self.check(resp).await
    }

    /// Docker's error bodies as errors; other answers as they are.
    async fn check(&self, resp: Response<Incoming>) -> Result<Response<Incoming>> {
        if resp.status().is_client_error() || resp.status().is_server_error() {
            let status = resp.status().as_u16();
            let bytes = read_all(resp.into_body()).await.unwrap_or_default();
            let message = serde_json::from_slice::<berth_api_types::ErrorResponse>(&bytes)
                .map(|e| e.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).trim().to_owned());
            return Err(CliError::daemon(status, &message));
        }
        Ok(resp)
    }

    /// A request whose answer is JSON of type `T`.
    pub async fn json<T: DeserializeOwned>(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> Result<T> {
        let bytes = self.get_bytes(method, path, body).await?;
        decode(path, &bytes)
    }

    /// A request's whole answer, for a caller that decodes it into data borrowed from it
    /// ([`decode`]).
    pub async fn get_bytes(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> Result<Bytes> {
        let resp = self.send(method, path, body, &[]).await?;
        read_all(resp.into_body()).await
    }

    /// A GET whose JSON answer is wanted as it came, in the daemon's order.
    pub async fn get_value(&self, path: &str) -> Result<crate::template::Value> {
        let resp = self.send(Method::GET, path, None, &[]).await?;
        let bytes = read_all(resp.into_body()).await?;
        serde_json::from_slice(&bytes).map_err(|e| CliError::new(format!("read the daemon's answer to {path}: {e}")))
    }

    /// A request whose answer body does not matter; returns the status (304 is not an error).
    pub async fn call(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> Result<StatusCode> {
        let resp = self.send(method, path, body, &[]).await?;
        let status = resp.status();
        let _ = read_all(resp.into_body()).await;
        Ok(status)
    }

    /// Upgrades the connection (attach, exec start) and returns the raw stream.
    pub async fn hijack(&self, path: &str, body: Option<Vec<u8>>) -> Result<Hijacked> {
        let resp = self.send(Method::POST, path, body, &[("Connection", "Upgrade"), ("Upgrade", "tcp")]).await?;
        if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
            return Err(CliError::new(format!("{path}: the daemon answered {} instead of switching protocols", resp.status())));
        }
        let up = hyper::upgrade::on(resp).await.map_err(|e| CliError::new(format!("{path}: upgrade the connection: {e}")))?;
        Ok(TokioIo::new(up))
    }
}

/// The JSON answer to `path` as a `T`, which may borrow from `bytes`.
pub fn decode<'a, T: serde::Deserialize<'a>>(path: &str, bytes: &'a [u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| CliError::new(format!("read the daemon's answer to {path}: {e}: {}", String::from_utf8_lossy(bytes))))
}

/// Reads a whole body into one buffer, sized once from its `Content-Length` (up to 64 MiB: a
/// length is a hint, not a promise).
pub async fn read_all(mut body: Incoming) -> Result<Bytes> {
    const MOST_RESERVED: u64 = 64 << 20;
    let mut buf = Vec::with_capacity(body.size_hint().lower().min(MOST_RESERVED) as usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| CliError::new(format!("read the daemon's answer: {e}")))?;
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

/// Reads a streaming answer of newline-ended lines (events, stats, progress) to its end or
/// until `f` says stop (`Ok(false)`), calling `f` with each line, its newline included.
/// Returns what followed the last newline; `what` names the stream in a read error.
pub async fn read_lines(mut body: Incoming, what: &str, mut f: impl FnMut(&[u8]) -> Result<bool>) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| CliError::new(format!("read {what}: {e}")))?;
        let Some(data) = frame.data_ref() else { continue };
        buf.extend_from_slice(data);
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            if !f(&line)? {
                return Ok(buf);
            }
        }
    }
    Ok(buf)
}

/// `1.51` → (1, 51).
fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Percent-encodes a path segment the way docker's client leaves them: image references keep
/// their `/`, `:` and `@` (berthd, like dockerd, routes `/images/{name...}/...` on them).
pub fn p(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_graphic() && !b"%?#".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes a query value.
pub fn q(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_query_encoding() {
        assert_eq!(parse_version("1.41"), Some((1, 41)));
        assert!(parse_version("1.41").unwrap() < CLIENT_API_VERSION);
        assert_eq!(parse_version("x"), None);
        assert_eq!(q("a b/c:d"), "a%20b%2Fc%3Ad");
        assert_eq!(p("localhost:5000/a/b:1"), "localhost:5000/a/b:1");
        assert_eq!(p("a b?"), "a%20b%3F");
        assert_eq!(q(r#"{"label":["a=b"]}"#), "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D");
    }
}
