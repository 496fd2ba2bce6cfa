//! `/images/...`: list, inspect, tag, remove, load.

use http::{Request, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use berth_api_types::image::ProgressMessage;

use super::engine;
use crate::body::{json, Resp};
use crate::error::bad_request;
use crate::query::Query;
use crate::Ctx;

pub fn list(ctx: &Ctx, q: &Query) -> Result<Resp, Resp> {
    let filters = q.filters()?;
    if !filters.is_empty() {
        filters.validate(&["reference", "dangling", "label", "before", "since"]).map_err(|e| bad_request(e.to_string()))?;
    }
    let mut list = engine(ctx.engine.image_list(&ctx.principal, q.flag("all")))?;
    if filters.has_value("dangling", "true") {
        list.retain(|i| i.repo_tags.is_empty());
    }
    if filters.has_value("dangling", "false") {
        list.retain(|i| !i.repo_tags.is_empty());
    }
    let refs: Vec<&str> = filters.get("reference").collect();
    if !refs.is_empty() {
        list.retain(|i| i.repo_tags.iter().any(|t| refs.iter().any(|r| t == r || t.split(':').next() == Some(*r))));
    }
    Ok(json(StatusCode::OK, &list))
}

pub fn inspect(ctx: &Ctx, name: &str) -> Result<Resp, Resp> {
    Ok(json(StatusCode::OK, &engine(ctx.engine.image_inspect(&ctx.principal, name))?))
}

pub fn tag(ctx: &Ctx, q: &Query, name: &str) -> Result<Resp, Resp> {
    let repo = q.get("repo").filter(|r| !r.is_empty()).ok_or_else(|| bad_request("repository name is required: ?repo=NAME"))?;
    engine(ctx.engine.image_tag(&ctx.principal, name, repo, q.get("tag").unwrap_or("")))?;
    Ok(crate::body::empty(StatusCode::CREATED))
}

pub fn remove(ctx: &Ctx, q: &Query, name: &str) -> Result<Resp, Resp> {
    Ok(json(StatusCode::OK, &engine(ctx.engine.image_remove(&ctx.principal, name, q.flag("force")))?))
}

/// A blocking reader over the request body, for the engine's tar reader on the blocking pool.
struct BodyReader {
    rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, String>>,
    cur: bytes::Bytes,
}

impl std::io::Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}

/// `POST /images/load`: the archive streams from the body into the store; the answer is
/// Docker's JSON stream (`{"stream":"Loaded image: busybox:latest\n"}`), or with `quiet`
/// the same.
pub async fn load(ctx: &Ctx, _q: &Query, req: Request<Incoming>) -> Result<Resp, Resp> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut body = req.into_body();
    tokio::spawn(async move {
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => {
                    if let Ok(data) = f.into_data() {
                        if tx.send(Ok(data)).await.is_err() {
                            return;
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
    let lines = engine(ctx.engine.image_load(&ctx.principal, BodyReader { rx, cur: bytes::Bytes::new() }).await)?;
    let mut out = Vec::new();
    for l in lines {
        let m = ProgressMessage { stream: Some(format!("{l}\n")), ..Default::default() };
        out.extend_from_slice(&serde_json::to_vec(&m).expect("serializes"));
        out.push(b'\n');
    }
    Ok(crate::body::full(StatusCode::OK, "application/json", out))
}
