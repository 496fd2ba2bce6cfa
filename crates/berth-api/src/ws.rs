//! `GET /containers/{id}/attach/ws`: attach over a WebSocket (RFC 6455), for browsers and
//! tools that cannot hijack a connection. As dockerd does, the container's output goes out
//! raw (never multiplexed) in text frames, and the payload of every data frame the client
//! sends is the container's stdin. Pings are answered, a close frame ends the session, and
//! a frame larger than 1 MiB from the client is refused by closing.

use base64_accept::accept_key;
use bytes::{Buf, BytesMut};
use http::{HeaderValue, Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use crate::body::{empty, Resp};
use crate::error::bad_request;
use crate::hijack::ShimFuture;

const MAX_FRAME: u64 = 1 << 20;
const OP_CONT: u8 = 0;
const OP_TEXT: u8 = 1;
const OP_BINARY: u8 = 2;
const OP_CLOSE: u8 = 8;
const OP_PING: u8 = 9;
const OP_PONG: u8 = 10;

mod base64_accept {
    use sha1::{Digest, Sha1};

    /// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
    pub fn accept_key(key: &str) -> String {
        let mut h = Sha1::new();
        h.update(key.trim().as_bytes());
        h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
        berth_api_types::header::encode_std(&h.finalize())
    }
}

/// A server frame (never masked).
fn frame(op: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(0x80 | op);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xffff => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// One complete client frame from the front of `buf`: (opcode, unmasked payload), or `None`
/// until enough has arrived; `Err` for a frame larger than allowed.
fn parse(buf: &mut BytesMut) -> Result<Option<(u8, Vec<u8>)>, ()> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let op = buf[0] & 0x0f;
    let masked = buf[1] & 0x80 != 0;
    let (len, mut at) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
        127 if buf.len() >= 10 => (u64::from_be_bytes(buf[2..10].try_into().expect("8 bytes")), 10),
        126 | 127 => return Ok(None),
        n => (u64::from(n), 2),
    };
    if len > MAX_FRAME {
        return Err(());
    }
    let mask = if masked {
        if buf.len() < at + 4 {
            return Ok(None);
        }
        let m = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
        at += 4;
        Some(m)
    } else {
        None
    };
    let len = len as usize;
    if buf.len() < at + len {
        return Ok(None);
    }
    buf.advance(at);
    let mut payload = buf.split_to(len).to_vec();
    if let Some(m) = mask {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= m[i % 4];
        }
    }
    Ok(Some((op, payload)))
}

/// The 101 answer to a WebSocket handshake; the session runs once the connection is ours.
pub fn upgrade(req: &mut Request<Incoming>, tty: bool, shim: ShimFuture, stdin: bool) -> Result<Resp, Resp> {
    let is_ws = req.headers().get(http::header::UPGRADE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let key = req.headers().get("sec-websocket-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (true, Some(key)) = (is_ws, key) else {
        return Err(bad_request("a WebSocket handshake is needed here (Upgrade: websocket, Sec-WebSocket-Key)"));
    };
    let on_upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let Ok(up) = on_upgrade.await else { return };
        if let Some(shim) = shim.await {
            session(TokioIo::new(up), shim, tty, stdin).await;
        }
    });
    let mut r = empty(StatusCode::SWITCHING_PROTOCOLS);
    let h = r.headers_mut();
    h.insert(http::header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(http::header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert("sec-websocket-accept", HeaderValue::from_str(&accept_key(&key)).expect("base64 is ASCII"));
    Ok(r)
}

async fn session<C>(client: C, shim: UnixStream, tty: bool, stdin: bool)
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut sr, mut sw) = tokio::io::split(shim);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    let writer = async move {
        while let Some(f) = rx.recv().await {
            let close = f.first() == Some(&(0x80 | OP_CLOSE));
            if cw.write_all(&f).await.is_err() || close {
                break;
            }
        }
        let _ = cw.shutdown().await;
    };
    let out_tx = tx.clone();
    let output = async move {
        let mut pending = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let data = if tty {
                buf[..n].to_vec()
            } else {
                pending.extend_from_slice(&buf[..n]);
                berth_engine::logs::take_frames(&mut pending)
            };
            if !data.is_empty() && out_tx.send(frame(OP_TEXT, &data)).await.is_err() {
                return;
            }
        }
        let _ = out_tx.send(frame(OP_CLOSE, &1000u16.to_be_bytes())).await;
    };
    let input = async move {
        let mut pending = BytesMut::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            loop {
                match parse(&mut pending) {
                    Ok(Some((OP_TEXT | OP_BINARY | OP_CONT, payload))) => {
                        if stdin && !payload.is_empty() && sw.write_all(&payload).await.is_err() {
                            return;
                        }
                    }
                    Ok(Some((OP_PING, payload))) => {
                        let _ = tx.send(frame(OP_PONG, &payload)).await;
                    }
                    Ok(Some((OP_CLOSE, _))) | Err(()) => {
                        let _ = tx.send(frame(OP_CLOSE, &1000u16.to_be_bytes())).await;
                        return;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                }
            }
            match cr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
        }
    };
    // The writer drains what either side queued (a close frame last) once both are done.
    let writer = tokio::spawn(writer);
    tokio::select! {
        _ = output => {}
        _ = input => {}
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), writer).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_and_frames_follow_rfc6455() {
        // The example of RFC 6455 section 1.3.
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(frame(OP_TEXT, b"hi"), [0x81, 2, b'h', b'i']);
        assert_eq!(&frame(OP_TEXT, &[0u8; 300])[..4], &[0x81, 126, 1, 44]);
        // A masked client frame ("Hello", RFC 6455 section 5.7).
        let mut b = BytesMut::from(&[0x81u8, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58][..]);
        assert_eq!(parse(&mut b), Ok(Some((OP_TEXT, b"Hello".to_vec()))));
        assert!(b.is_empty());
        let mut partial = BytesMut::from(&[0x81u8, 0x85, 0x37][..]);
        assert_eq!(parse(&mut partial), Ok(None));
        let mut huge = BytesMut::from(&[0x82u8, 127, 0, 0, 0, 0, 0x10, 0, 0, 0][..]);
        assert_eq!(parse(&mut huge), Err(()));
    }
}
