//! Attach and exec start take over the HTTP connection: the response is `101 Switching
//! Protocols` (`Upgrade: tcp`) and the connection then carries the container's streams one way
//! and the client's stdin the other. Here both directions are bridged to the shim's socket;
//! the client's stdin is watched for the detach keys (ctrl-p ctrl-q unless told otherwise).

use http::{HeaderValue, Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use crate::body::{empty, Resp};

/// Whether the client asked to take over the connection.
pub fn wants_upgrade(req: &Request<Incoming>) -> bool {
    req.headers().get(http::header::UPGRADE).is_some()
}

/// Docker's `detachKeys`: `ctrl-p,ctrl-q`, `a`, `ctrl-@`... as bytes. None when unparsable.
pub fn parse_detach_keys(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for k in s.split(',') {
        let k = k.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let c = c.as_bytes();
            if c.len() != 1 {
                return None;
            }
            let b = match c[0] {
                b'a'..=b'z' => c[0] - b'a' + 1,
                b'@' => 0,
                b'[' => 27,
                b'\\' => 28,
                b']' => 29,
                b'^' => 30,
                b'_' => 31,
                _ => return None,
            };
            out.push(b);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            return None;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The shim connection a hijacked request will be bridged to, once there is one (an attach
/// to a container that has not started yet waits for its start).
pub type ShimFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Option<UnixStream>> + Send>>;

/// Docker's content type for a container's streams: raw with a tty, else multiplexed frames.
pub fn stream_type(tty: bool) -> &'static str {
    if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    }
}

/// For a client that did not ask to take over the connection: the shim's output as a streamed
/// 200 body (there is no way for stdin to come in).
pub fn output_response(shim: ShimFuture, tty: bool) -> Resp {
    let (resp, tx) = crate::body::stream(StatusCode::OK, stream_type(tty));
    tokio::spawn(async move {
        let Some(mut shim) = shim.await else { return };
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match shim.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(bytes::Bytes::copy_from_slice(&buf[..n])).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    resp
}

/// Returns once the client has read everything sent on its connection (`socket`, a Unix
/// socket), at most 20 ms after the call; over TLS (None) after those 20 ms. For streams whose
/// output may come at once: a client that reads the response head through a buffer and then
/// the raw socket (docker-py) would lose output that arrived with the head.
pub async fn until_head_read(socket: Option<std::os::fd::RawFd>) {
    const GRACE: std::time::Duration = std::time::Duration::from_millis(20);
    let Some(fd) = socket else { return tokio::time::sleep(GRACE).await };
    let began = std::time::Instant::now();
    while berth_runtime::sys::socket::unread_by_peer(fd).is_ok_and(|n| n > 0) && began.elapsed() < GRACE {
        tokio::time::sleep(std::time::Duration::from_micros(200)).await;
    }
}

/// The 101 response; the connection, once upgraded, is bridged to the shim's.
pub fn upgrade_response(on_upgrade: hyper::upgrade::OnUpgrade, tty: bool, shim: ShimFuture, stdin: bool, detach_keys: Vec<u8>) -> Resp {
    tokio::spawn(async move {
        let up = match on_upgrade.await {
            Ok(up) => up,
            Err(e) => return tracing::debug!(error = %e, "upgrade failed"),
        };
        // Until the shim answers, what the client sends waits in its socket.
        if let Some(shim) = shim.await {
            bridge(TokioIo::new(up), shim, stdin, detach_keys).await;
        }
    });
    let mut r = empty(StatusCode::SWITCHING_PROTOCOLS);
    let h = r.headers_mut();
    h.insert(http::header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(http::header::UPGRADE, HeaderValue::from_static("tcp"));
    h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(stream_type(tty)));
    r
}

/// Copies the shim's output to the client and (when `stdin`) the client's input to the shim,
/// until the output ends, the client goes, or it types the detach keys. The end of the
/// client's input is passed on as a half-close (the shim may close the container's stdin);
/// a detach or a vanished client closes the shim connection whole, which leaves stdin open.
pub async fn bridge<C>(client: C, shim: UnixStream, stdin: bool, detach_keys: Vec<u8>)
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut cr, mut cw) = tokio::io::split(client);
    // Not `into_split`: its write half shuts the socket down when dropped, which the shim would
    // take for the end of input; a detach must close the connection whole instead.
    let (mut sr, mut sw) = tokio::io::split(shim);
    let output = async {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    let input = async {
        let mut buf = vec![0u8; 16 * 1024];
        let mut matched = 0usize;
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if !stdin {
                continue;
            }
            // Detach keys: held back while they may be starting, dropped when complete.
            let mut out = Vec::with_capacity(n);
            for &b in &buf[..n] {
                if b == detach_keys[matched] {
                    matched += 1;
                    if matched == detach_keys.len() {
                        return true;
                    }
                } else {
                    out.extend_from_slice(&detach_keys[..matched]);
                    matched = 0;
                    if b == detach_keys[0] {
                        matched = 1;
                    } else {
                        out.push(b);
                    }
                }
            }
            if !out.is_empty() && sw.write_all(&out).await.is_err() {
                break;
            }
        }
        // The shim sees the end of input (and closes the container's stdin if it should).
        let _ = sw.shutdown().await;
        // Keep the output flowing after the input ended.
        std::future::pending::<bool>().await
    };
    tokio::select! {
        _ = output => {}
        detached = input => { let _ = detached; }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q"), Some(vec![16, 17]));
        assert_eq!(parse_detach_keys("a,ctrl-@"), Some(vec![b'a', 0]));
        assert_eq!(parse_detach_keys("ctrl-pp"), None);
        assert_eq!(parse_detach_keys(""), None);
    }

    #[tokio::test]
    async fn output_waits_until_the_client_has_read_the_head() {
        use std::io::{Read, Write};
        use std::os::fd::AsRawFd;
        let (mut server, mut client) = std::os::unix::net::UnixStream::pair().expect("pair");
        server.write_all(b"HTTP/1.1 101 UPGRADED\r\n\r\n").expect("head");
        let fd = server.as_raw_fd();
        let read = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let read = read.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(5));
                read.store(true, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 64];
                let n = client.read(&mut buf).expect("read");
                (n, client)
            })
        };
        until_head_read(Some(fd)).await;
        assert!(read.load(std::sync::atomic::Ordering::SeqCst), "returned before the client read");
        let (n, _client) = reader.join().expect("reader");
        assert_eq!(n, 25);
        // a client that never reads holds nothing up for long
        server.write_all(b"more").expect("write");
        let began = std::time::Instant::now();
        until_head_read(Some(fd)).await;
        assert!(began.elapsed() >= std::time::Duration::from_millis(20));
    }
}
