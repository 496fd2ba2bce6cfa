//! berth-api: the Docker Engine API over HTTP/1.1 on Unix sockets (and mutual-TLS TCP, wired
//! by berthd).
//!
//! [`serve`] accepts connections on a listener whose [`Principal`] is fixed (the admin socket,
//! or later a container's scoped socket); each request is decoded here — version prefix,
//! query, JSON body into `berth-api-types` — and handed to the engine with that principal
//! ([`routes`], one file per resource). Errors become Docker's status codes and
//! `{"message": ...}` bodies in one place ([`error`]). Attach and exec start take over the
//! connection (`Upgrade: tcp`) and bridge it to the shim ([`hijack`]).
//!
//! ```no_run
//! # async fn demo(engine: std::sync::Arc<berth_engine::Engine>) -> std::io::Result<()> {
//! let listener = tokio::net::UnixListener::bind("/run/berth/berth.sock")?;
//! let (_stop, stopped) = tokio::sync::watch::channel(false);
//! berth_api::serve(listener, engine, berth_engine::Principal::Admin, stopped).await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
// Handlers and request decoding return the error response itself (`Result<_, Resp>`): it is
// built once, on the failing request only, and the size of a `Result` on that path costs
// nothing that boxing every one of them would save.
#![allow(clippy::result_large_err)]

pub mod body;
pub mod error;
pub mod hijack;
pub mod query;
mod ws;
pub mod routes;

use std::sync::Arc;
use std::time::Duration;

use berth_api_types::version::{ApiVersion, MAX_API_VERSION, MIN_API_VERSION};
use berth_engine::{Engine, Principal};
use http::{HeaderValue, Request};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::body::Resp;

/// Largest JSON request body.
pub const BODY_MAX: usize = 16 << 20;
/// A connection that sends no complete request head within this is closed.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler gets.
pub struct Ctx {
    pub engine: Arc<Engine>,
    pub principal: Principal,
    /// The API version of the request's path (`/v1.41/...`); `None` for an unversioned path,
    /// which gets the newest behaviour.
    pub version: Option<ApiVersion>,
    /// The descriptor number of the connection's Unix socket, to learn whether the client has
    /// read what was sent (valid while the connection, or its upgraded stream, lives); None
    /// over TLS.
    pub socket: Option<std::os::fd::RawFd>,
}

impl Ctx {
    /// The request names an API version before `1.minor` (an unversioned one is the newest):
    /// for behaviour that changed at that version.
    pub fn api_before(&self, minor: u16) -> bool {
        self.version.is_some_and(|v| v < ApiVersion::new(1, minor))
    }
}

/// Serves the API on `listener` for `principal` until `stop` turns true.
pub async fn serve(listener: tokio::net::UnixListener, engine: Arc<Engine>, principal: Principal, stop: tokio::sync::watch::Receiver<bool>) {
    let mut stop2 = stop.clone();
    loop {
        let conn = tokio::select! {
            c = listener.accept() => c,
            _ = stop2.wait_for(|s| *s) => return,
        };
        match conn {
            Ok((stream, _)) => {
                let socket = std::os::fd::AsRawFd::as_raw_fd(&stream);
                spawn_connection(stream, Some(socket), engine.clone(), principal.clone(), stop.clone())
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serves one connection (any stream: Unix socket, or TLS over TCP; `socket` is the Unix
/// socket's descriptor, see [`Ctx::socket`]).
pub fn spawn_connection<S>(stream: S, socket: Option<std::os::fd::RawFd>, engine: Arc<Engine>, principal: Principal, mut stop: tokio::sync::watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let svc = hyper::service::service_fn(move |req| {
            let engine = engine.clone();
            let principal = principal.clone();
            async move { Ok::<_, std::convert::Infallible>(handle(req, engine, principal, socket).await) }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        // half_close: a client that shuts down its side after the request still gets the
        // answer (Docker's server gives it one).
        builder.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).max_buf_size(1 << 20).half_close(true);
        let conn = builder.serve_connection(TokioIo::new(stream), svc).with_upgrades();
        tokio::pin!(conn);
        tokio::select! {
            _ = conn.as_mut() => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    });
}

/// Splits `/v1.45/containers/json` into (Some(1.45), "/containers/json").
fn split_version(path: &str) -> Result<(Option<ApiVersion>, &str), Resp> {
    if let Some(rest) = path.strip_prefix("/v") {
        let v = rest.split('/').next().unwrap_or(rest);
        if v.split('.').count() == 2 && v.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
            let ver: ApiVersion = v.parse().map_err(|e: berth_api_types::version::ParseApiVersionError| error::bad_request(e.to_string()))?;
            return Ok((Some(ver), &path[2 + v.len()..]));
        }
    }
    Ok((None, path))
}

async fn handle(req: Request<Incoming>, engine: Arc<Engine>, principal: Principal, socket: Option<std::os::fd::RawFd>) -> Resp {
    use tracing::Instrument;
    let raw_path = req.uri().path().to_owned();
    let span = tracing::debug_span!("request", method = %req.method(), path = %raw_path, %principal);
    let began = std::time::Instant::now();
    tracing::debug!(parent: &span, "calling");
    let mut resp = match split_version(&raw_path) {
        Err(r) => r,
        Ok((Some(v), _)) if v > MAX_API_VERSION => error::bad_request(format!("client version {v} is too new. Maximum supported API version is {MAX_API_VERSION}")),
        Ok((Some(v), _)) if v < MIN_API_VERSION => {
            error::bad_request(format!("client version {v} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"))
        }
        Ok((version, path)) => {
            let ctx = Ctx { engine, principal, version, socket };
            let path = path.to_owned();
            routes::route(req, &ctx, &path).instrument(span.clone()).await
        }
    };
    tracing::debug!(parent: &span, status = resp.status().as_u16(), micros = began.elapsed().as_micros() as u64, "answered");
    let h = resp.headers_mut();
    h.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    h.insert("Server", HeaderValue::from_static(concat!("berth/", env!("CARGO_PKG_VERSION"), " (linux)")));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    resp
}

/// The newest API version berth speaks, as the `Api-Version` header carries it.
const API_VERSION: &str = "1.51";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_prefixes_split() {
        let ok = |p| split_version(p).unwrap_or_else(|_| panic!("{p} splits"));
        let (v, p) = ok("/v1.45/containers/json");
        assert_eq!((v, p), (Some(ApiVersion::new(1, 45)), "/containers/json"));
        let (v, p) = ok("/_ping");
        assert_eq!((v, p), (None, "/_ping"));
        let (v, p) = ok("/volumes");
        assert_eq!((v, p), (None, "/volumes"));
        assert_eq!(API_VERSION, MAX_API_VERSION.to_string());
    }
}
