//! Response bodies: a whole buffer, or a stream fed through a channel (logs, events, wait,
//! progress), and the helpers that build Docker-shaped responses.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use berth_api_types::body::ChunkReader;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::mpsc;

/// A response body.
pub enum Body {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Bytes>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Full(b) => write!(f, "Body::Full({} bytes)", b.as_ref().map_or(0, |b| b.len())),
            Body::Stream(_) => f.write_str("Body::Stream"),
        }
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(rx) => rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => SizeHint::with_exact(0),
            Body::Stream(_) => SizeHint::default(),
        }
    }
}

pub type Resp = Response<Body>;

pub fn full(status: StatusCode, content_type: &str, data: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Body::Full(Some(data.into())));
    *r.status_mut() = status;
    r.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_str(content_type).expect("content types are ASCII"));
    r
}

pub fn json<T: serde::Serialize>(status: StatusCode, v: &T) -> Resp {
    let mut data = serde_json::to_vec(v).expect("responses serialize");
    data.push(b'\n');
    full(status, "application/json", data)
}

pub fn empty(status: StatusCode) -> Resp {
    let mut r = Response::new(Body::Full(None));
    *r.status_mut() = status;
    r
}

/// A streaming response and the sender that feeds it.
pub fn stream(status: StatusCode, content_type: &str) -> (Resp, mpsc::Sender<Bytes>) {
    let (tx, rx) = mpsc::channel(32);
    let mut r = Response::new(Body::Stream(rx));
    *r.status_mut() = status;
    r.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_str(content_type).expect("content types are ASCII"));
    (r, tx)
}

/// Docker's 8-byte multiplexed frame around `data` of `stream` (1 stdout, 2 stderr).
pub fn frame(stream: u8, data: &[u8]) -> Bytes {
    let mut b = Vec::with_capacity(8 + data.len());
    b.extend_from_slice(&berth_engine::logs::frame_header(stream, data.len()));
    b.extend_from_slice(data);
    Bytes::from(b)
}

/// The most of a refused request's body that is read and dropped.
const DRAIN_MAX: u64 = 256 << 20;

/// The request body as a blocking reader, fed by a task, for the engine's readers on the
/// blocking pool.
pub fn body_reader(req: http::Request<hyper::body::Incoming>) -> ChunkReader {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut body = req.into_body();
    tokio::spawn(async move {
        // Once the reader has gone (the request was refused early), the rest of the body is
        // read and dropped, up to a limit, so the client can finish sending and read the
        // answer instead of failing with a broken pipe.
        let mut draining: Option<u64> = None;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => {
                    if let Ok(data) = f.into_data() {
                        if let Some(dropped) = draining.as_mut() {
                            *dropped += data.len() as u64;
                            if *dropped > DRAIN_MAX {
                                return;
                            }
                        } else if tx.send(Ok(data)).await.is_err() {
                            draining = Some(0);
                        }
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(format!("read the request body: {e}"))).await;
                    return;
                }
            }
        }
    });
    ChunkReader::new(rx)
}

/// A buffered blocking writer into the streaming body fed by `tx` (archives written on the
/// blocking pool or by a task).
pub fn writer(tx: mpsc::Sender<Bytes>) -> std::io::BufWriter<BodyWriter> {
    std::io::BufWriter::with_capacity(256 * 1024, BodyWriter(tx))
}

/// A blocking writer into a streaming response body.
pub struct BodyWriter(pub mpsc::Sender<Bytes>);

impl std::io::Write for BodyWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.blocking_send(Bytes::copy_from_slice(buf)).map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
