//! `/images/...`, `/auth` and `/distribution/...`: list, inspect, history, tag, remove,
//! prune, pull, push, save, load, login, and a registry's view of an image.

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use hyper::body::Incoming;

use berth_api_types::image::{AuthConfig, AuthResponse, ErrorDetail, ProgressMessage};
use berth_engine::distribution::PullRequest;

use super::engine;
use crate::body::{json, Resp};
use crate::error::bad_request;
use crate::query::Query;
use crate::Ctx;

pub fn list(ctx: &Ctx, q: &Query) -> Result<Resp, Resp> {
    let mut list = engine(ctx.engine.image_list(&ctx.principal, q.flag("all"), &q.filters()?))?;
    // API versions before 1.44 had `VirtualSize` beside `Size`.
    if ctx.api_before(44) {
        list.iter_mut().for_each(|i| i.virtual_size = Some(i.size));
    }
    Ok(json(StatusCode::OK, &list))
}

pub fn inspect(ctx: &Ctx, name: &str) -> Result<Resp, Resp> {
    let mut i = engine(ctx.engine.image_inspect(&ctx.principal, name))?;
    // API versions before 1.44 had `VirtualSize` beside `Size`, and before 1.45 the container
    // an image was committed from, and its configuration.
    if ctx.api_before(44) {
        i.virtual_size = Some(i.size);
    }
    if !ctx.api_before(45) {
        (i.container, i.container_config) = (None, None);
    }
    Ok(json(StatusCode::OK, &i))
}

pub fn tag(ctx: &Ctx, q: &Query, name: &str) -> Result<Resp, Resp> {
    let repo = q.get("repo").filter(|r| !r.is_empty()).ok_or_else(|| bad_request("repository name is required: ?repo=NAME"))?;
    engine(ctx.engine.image_tag(&ctx.principal, name, repo, q.get("tag").unwrap_or("")))?;
    Ok(crate::body::empty(StatusCode::CREATED))
}

pub fn remove(ctx: &Ctx, q: &Query, name: &str) -> Result<Resp, Resp> {
    Ok(json(StatusCode::OK, &engine(ctx.engine.image_remove(&ctx.principal, name, q.flag("force")))?))
}

/// `POST /images/load`: the archive streams from the body into the store; the answer is
/// Docker's JSON stream (`{"stream":"Loaded image: busybox:latest\n"}`), or with `quiet`
/// the same.
pub async fn load(ctx: &Ctx, _q: &Query, req: Request<Incoming>) -> Result<Resp, Resp> {
    let lines = engine(ctx.engine.image_load(&ctx.principal, crate::body::body_reader(req)).await)?;
    let out: Vec<u8> = lines.iter().flat_map(|l| line(&ProgressMessage { stream: Some(format!("{l}\n")), ..Default::default() })).collect();
    Ok(crate::body::full(StatusCode::OK, "application/json", out))
}

pub fn history(ctx: &Ctx, name: &str) -> Result<Resp, Resp> {
    Ok(json(StatusCode::OK, &engine(ctx.engine.image_history(&ctx.principal, name))?))
}

pub fn prune(ctx: &Ctx, q: &Query) -> Result<Resp, Resp> {
    Ok(json(StatusCode::OK, &engine(ctx.engine.image_prune(&ctx.principal, &q.filters()?))?))
}

/// Credentials from the `X-Registry-Auth` header, if any.
fn registry_auth(headers: &HeaderMap) -> Result<Option<AuthConfig>, Resp> {
    match headers.get("x-registry-auth").map(|v| v.to_str()) {
        None => Ok(None),
        Some(Err(_)) => Err(bad_request("X-Registry-Auth is not ASCII")),
        Some(Ok(v)) => AuthConfig::from_header(v).map(Some).map_err(|e| bad_request(format!("invalid X-Registry-Auth header: {e}"))),
    }
}

fn line(m: &ProgressMessage) -> Bytes {
    let mut data = serde_json::to_vec(m).expect("progress messages serialize");
    data.push(b'\n');
    Bytes::from(data)
}

/// Streams a pull's or push's progress (Docker's JSON lines). A failure before the first
/// message is answered with its status code; after it, as a message with `error` in the
/// stream, the way dockerd does. The work goes on if the client leaves (a pull resumes where
/// it stopped anyway).
async fn progress_stream(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<ProgressMessage>,
    work: impl std::future::Future<Output = berth_engine::Result<()>> + Send + 'static,
) -> Result<Resp, Resp> {
    let mut task = tokio::spawn(work);
    let joined = |r: Result<berth_engine::Result<()>, tokio::task::JoinError>| r.unwrap_or_else(|e| Err(berth_engine::Error::Internal(format!("the task failed: {e}"))));
    let (first, done) = tokio::select! {
        biased;
        m = rx.recv() => (m, None),
        r = &mut task => (rx.try_recv().ok(), Some(joined(r))),
    };
    let Some(first) = first else {
        // nothing was said: the task ended (or is ending) without a message
        let result = match done {
            Some(r) => r,
            None => joined(task.await),
        };
        engine(result)?;
        return Ok(crate::body::full(StatusCode::OK, "application/json", Bytes::new()));
    };
    let (resp, tx) = crate::body::stream(StatusCode::OK, "application/json");
    tokio::spawn(async move {
        let _ = tx.send(line(&first)).await;
        while let Some(m) = rx.recv().await {
            let _ = tx.send(line(&m)).await;
        }
        let result = match done {
            Some(r) => r,
            None => joined(task.await),
        };
        if let Err(e) = result {
            let message = berth_engine::error::chain(&e);
            tracing::info!(error = %message, "pull or push failed");
            let m = ProgressMessage { error: Some(message.clone()), error_detail: Some(ErrorDetail { code: None, message }), ..Default::default() };
            let _ = tx.send(line(&m)).await;
        }
    });
    Ok(resp)
}

/// `POST /images/create`: a pull (`fromImage`) or an import (`fromSrc=-`, the body).
pub async fn create(ctx: &Ctx, q: &Query, req: Request<Incoming>) -> Result<Resp, Resp> {
    if let Some(src) = q.get("fromSrc") {
        return import(ctx, q, src, req).await;
    }
    let from_image = q.get("fromImage").filter(|f| !f.is_empty()).ok_or_else(|| bad_request("fromImage or fromSrc is required"))?;
    let request = PullRequest {
        from_image: from_image.to_owned(),
        tag: q.get("tag").unwrap_or("").to_owned(),
        platform: q.get("platform").unwrap_or("").to_owned(),
        auth: registry_auth(req.headers())?,
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (eng, principal) = (ctx.engine.clone(), ctx.principal.clone());
    progress_stream(rx, async move { eng.image_pull(&principal, &request, &tx).await }).await
}

/// `docker import`: the archive streams from the body; the answer is the image id as a
/// progress line, as dockerd sends it.
async fn import(ctx: &Ctx, q: &Query, src: &str, req: Request<Incoming>) -> Result<Resp, Resp> {
    if src != "-" {
        return Err(crate::error::error_response(&berth_engine::Error::NotImplemented(format!("importing from a URL ({src}); send the archive in the request body (fromSrc=-)"))));
    }
    let request = berth_engine::images::ImportRequest {
        repo: q.get("repo").unwrap_or("").to_owned(),
        tag: q.get("tag").unwrap_or("").to_owned(),
        message: q.get("message").unwrap_or("").to_owned(),
        changes: q.all("changes").to_vec(),
        platform: q.get("platform").unwrap_or("").to_owned(),
    };
    let id = engine(ctx.engine.image_import(&ctx.principal, crate::body::body_reader(req), request).await)?;
    let m = ProgressMessage { status: Some(id), ..Default::default() };
    Ok(crate::body::full(StatusCode::OK, "application/json", line(&m)))
}

/// `POST /images/{name}/push`.
pub async fn push(ctx: &Ctx, q: &Query, name: &str, req: Request<Incoming>) -> Result<Resp, Resp> {
    let auth = registry_auth(req.headers())?;
    let (name, tag) = (name.to_owned(), q.get("tag").unwrap_or("").to_owned());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (eng, principal) = (ctx.engine.clone(), ctx.principal.clone());
    progress_stream(rx, async move { eng.image_push(&principal, &name, &tag, auth.as_ref(), &tx).await }).await
}

/// `GET /images/get?names=…` and `GET /images/{name}/get`: the archive streams as it is
/// written; a failure midway ends it early (the client sees a truncated tar).
pub fn save(ctx: &Ctx, names: &[String]) -> Result<Resp, Resp> {
    let images = engine(ctx.engine.images_to_save(&ctx.principal, names))?;
    let (resp, tx) = crate::body::stream(StatusCode::OK, "application/x-tar");
    let eng = ctx.engine.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = eng.image_save(&images, crate::body::writer(tx)) {
            tracing::warn!(error = %berth_engine::error::chain(&e), "save ended early");
        }
    });
    Ok(resp)
}

/// `POST /auth`: checks credentials with their registry; nothing is stored.
pub async fn auth(ctx: &Ctx, req: Request<Incoming>) -> Result<Resp, Resp> {
    let config: AuthConfig = super::json_body(req).await?;
    engine(ctx.engine.login(&ctx.principal, &config).await)?;
    Ok(json(StatusCode::OK, &AuthResponse { status: "Login Succeeded".into(), identity_token: None }))
}

/// `GET /distribution/{name}/json`.
pub async fn distribution(ctx: &Ctx, name: &str, req: Request<Incoming>) -> Result<Resp, Resp> {
    let auth = registry_auth(req.headers())?;
    Ok(json(StatusCode::OK, &engine(ctx.engine.distribution_inspect(&ctx.principal, name, auth.as_ref()).await)?))
}
