//! `/containers/...`: create, list, inspect, lifecycle, wait, attach, logs, rename, resize.

use bytes::Bytes;
use http::{Request, StatusCode};
use hyper::body::Incoming;

use berth_api_types::container::{ContainerCreateRequest, ContainerWaitResponse};
use berth_api_types::platform::Platform;
use berth_engine::container::inspect::ListOptions;
use berth_engine::container::{AttachStreams, WaitCondition};
use berth_engine::logs::LogOptions;

use super::{engine, json_body};
use crate::body::{empty, frame, full, json, stream, Resp};
use crate::error::bad_request;
use crate::hijack;
use crate::query::Query;
use crate::Ctx;

pub async fn create(ctx: &Ctx, q: &Query, req: Request<Incoming>) -> Result<Resp, Resp> {
    // dockerd's check: a body that says it is something other than JSON is refused.
    if let Some(ct) = req.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/json") {
            return Err(bad_request(format!("Content-Type specified ({ct}) must be 'application/json'")));
        }
    }
    // API 1.41 added `platform`; dockerd does not read it from older clients.
    let platform = match q.get("platform").filter(|p| !p.is_empty()) {
        Some(p) if !ctx.api_before(41) => Some(Platform::parse(p).map_err(|e| bad_request(e.to_string()))?),
        _ => None,
    };
    let body: ContainerCreateRequest = json_body(req).await?;
    let created = engine(ctx.engine.create(&ctx.principal, q.get("name"), platform.as_ref(), body).await)?;
    Ok(json(StatusCode::CREATED, &created))
}

pub fn list(ctx: &Ctx, q: &Query) -> Result<Resp, Resp> {
    let limit: Option<i64> = q.int("limit")?;
    let limit = limit.filter(|l| *l > 0).map(|l| l as usize);
    let filters = q.filters()?;
    let all = q.flag("all") || limit.is_some() || filters.contains("since") || filters.contains("before");
    let opts = ListOptions { all, limit, size: q.flag("size"), filters };
    // The JSON of the array, written one item at a time: what `json` would write for the
    // whole list, without the list.
    let mut data = vec![b'['];
    engine(ctx.engine.list_each(&ctx.principal, &opts, |s| {
        if data.len() > 1 {
            data.push(b',');
        }
        serde_json::to_writer(&mut data, &s).expect("a container summary serializes");
    }))?;
    data.extend_from_slice(b"]\n");
    Ok(full(StatusCode::OK, "application/json", data))
}

pub async fn prune(ctx: &Ctx, q: &Query) -> Result<Resp, Resp> {
    let filters = q.filters()?;
    Ok(json(StatusCode::OK, &engine(ctx.engine.prune(&ctx.principal, &filters).await)?))
}

/// `docker diff`: dockerd answers `null` when nothing changed.
pub fn changes(ctx: &Ctx, id: &str) -> Result<Resp, Resp> {
    let c = engine(ctx.engine.changes(&ctx.principal, id))?;
    if c.is_empty() {
        return Ok(crate::body::full(StatusCode::OK, "application/json", "null\n"));
    }
    Ok(json(StatusCode::OK, &c))
}

pub fn inspect(ctx: &Ctx, q: &Query, id: &str) -> Result<Resp, Resp> {
    let mut v = serde_json::to_value(engine(ctx.engine.inspect(&ctx.principal, id, q.flag("size")))?).expect("inspect serializes");
    with_dockers_config_fields(&mut v["Config"]);
    Ok(json(StatusCode::OK, &v))
}

/// The `Config` members dockerd always sends, even unset (`"User": ""`, `"Entrypoint": null`):
/// clients' templates (`{{.Config.User}}`) and strict decoders expect them.
fn with_dockers_config_fields(config: &mut serde_json::Value) {
    let Some(c) = config.as_object_mut() else { return };
    for k in ["Hostname", "Domainname", "User", "WorkingDir"] {
        c.entry(k).or_insert_with(|| serde_json::Value::String(String::new()));
    }
    for k in ["AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce"] {
        c.entry(k).or_insert(serde_json::Value::Bool(false));
    }
    for k in ["Env", "Cmd", "Volumes", "Entrypoint", "OnBuild"] {
        c.entry(k).or_insert(serde_json::Value::Null);
    }
    c.entry("Labels").or_insert_with(|| serde_json::json!({}));
}

pub async fn top(ctx: &Ctx, q: &Query, id: &str) -> Result<Resp, Resp> {
    Ok(json(StatusCode::OK, &engine(ctx.engine.top(&ctx.principal, id, q.get("ps_args").unwrap_or("")).await)?))
}

/// `GET /containers/{id}/stats`: one sample a second while `stream` (the default); with
/// `stream=0` one sample whose `precpu_stats` is a second older (unless `one-shot`).
pub async fn stats(ctx: &Ctx, q: &Query, id: &str) -> Result<Resp, Resp> {
    let stream_it = q.flag_or("stream", true);
    let one_shot = q.flag("one-shot");
    let first = engine(ctx.engine.stats(&ctx.principal, id).await)?;
    if !stream_it && one_shot {
        return Ok(json(StatusCode::OK, &first));
    }
    let (resp, tx) = stream(StatusCode::OK, "application/json");
    let (eng, principal, key) = (ctx.engine.clone(), ctx.principal.clone(), id.to_owned());
    tokio::spawn(async move {
        let mut prev = first;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                _ = tx.closed() => return,
            }
            let Ok(mut s) = eng.stats(&principal, &key).await else { return };
            s.precpu_stats = prev.cpu_stats.clone();
            s.preread = prev.read.clone();
            let mut line = serde_json::to_vec(&s).expect("stats serialize");
            line.push(b'\n');
            if tx.send(Bytes::from(line)).await.is_err() || !stream_it {
                return;
            }
            prev = s;
        }
    });
    Ok(resp)
}

pub async fn start(ctx: &Ctx, id: &str) -> Result<Resp, Resp> {
    engine(ctx.engine.start(&ctx.principal, id).await)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

fn timeout(q: &Query) -> Result<Option<i64>, Resp> {
    q.int("t").and_then(|t| if t.is_some() { Ok(t) } else { q.int("timeout") })
}

pub async fn stop(ctx: &Ctx, q: &Query, id: &str) -> Result<Resp, Resp> {
    engine(ctx.engine.stop(&ctx.principal, id, timeout(q)?, q.get("signal")).await)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn restart(ctx: &Ctx, q: &Query, id: &str) -> Result<Resp, Resp> {
    engine(ctx.engine.restart(&ctx.principal, id, timeout(q)?, q.get("signal")).await)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn kill(ctx: &Ctx, q: &Query, id: &str) -> Result<Resp, Resp> {
    engine(ctx.engine.kill(&ctx.principal, id, q.get("signal")).await)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn pause(ctx: &Ctx, id: &str, pause: bool) -> Result<Resp, Resp> {
    engine(ctx.engine.pause(&ctx.principal, id, pause).await)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn remove(ctx: &Ctx, q: &Query, id: &str) -> Result<Resp, Resp> {
    if q.flag("link") {
        return Err(crate::error::error_response(&berth_engine::Error::NotImplemented("removing links".into())));
    }
    engine(ctx.engine.remove(&ctx.principal, id, q.flag("force"), q.flag("v")).await)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub fn rename(ctx: &Ctx, q: &Query, id: &str) -> Result<Resp, Resp> {
    let name = q.get("name").filter(|n| !n.is_empty()).ok_or_else(|| bad_request("rename needs a name: ?name=NEW"))?;
    engine(ctx.engine.rename(&ctx.principal, id, name))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

fn size(q: &Query) -> Result<(u16, u16), Resp> {
    let h: Option<u16> = q.int("h")?;
    let w: Option<u16> = q.int("w")?;
    Ok((h.unwrap_or(0), w.unwrap_or(0)))
}

pub async fn resize(ctx: &Ctx, q: &Query, id: &str) -> Result<Resp, Resp> {
    let (h, w) = size(q)?;
    engine(ctx.engine.resize(&ctx.principal, id, h, w).await)?;
    Ok(empty(StatusCode::OK))
}

/// `POST /containers/{id}/wait`: headers at once, the body when the condition holds.
pub async fn wait(ctx: &Ctx, q: &Query, id: &str) -> Result<Resp, Resp> {
    let cond = engine(WaitCondition::parse(q.get("condition").unwrap_or("")))?;
    let fut = engine(ctx.engine.wait(&ctx.principal, id, cond).await)?;
    let (resp, tx) = stream(StatusCode::OK, "application/json");
    tokio::spawn(async move {
        let code = tokio::select! {
            c = fut => c,
            _ = tx.closed() => return,
        };
        let mut body = serde_json::to_vec(&ContainerWaitResponse { status_code: code, error: None }).expect("serializes");
        body.push(b'\n');
        let _ = tx.send(Bytes::from(body)).await;
    });
    Ok(resp)
}

/// `POST /containers/{id}/attach`: hijacked when the client asks for it, else the output as a
/// streamed body.
pub async fn attach(ctx: &Ctx, q: &Query, id: &str, mut req: Request<Incoming>) -> Result<Resp, Resp> {
    if q.flag("logs") && !q.flag("stream") {
        return logs_as_attach(ctx, q, id);
    }
    if q.flag("logs") {
        return Err(crate::error::error_response(&berth_engine::Error::NotImplemented("attach with logs=1 and stream=1".into())));
    }
    let streams = AttachStreams::new(q.flag("stdin"), q.flag("stdout"), q.flag("stderr"));
    let keys = match q.get("detachKeys").filter(|k| !k.is_empty()) {
        Some(k) => hijack::parse_detach_keys(k).ok_or_else(|| bad_request(format!("Invalid detach keys ({k}) provided")))?,
        None => vec![16, 17],
    };
    let upgrade = hijack::wants_upgrade(&req);
    // Resolve the container now, so a missing one is a 404 before the connection changes hands.
    let tty = engine(ctx.engine.find(&ctx.principal, id))?.rec().config.tty == Some(true);
    let eng = ctx.engine.clone();
    let principal = ctx.principal.clone();
    let key = id.to_owned();
    let (sock_tx, sock_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let _ = sock_tx.send(eng.attach(&principal, &key, streams).await);
    });
    // The attach may wait for the container to start; the client gets its answer at once.
    let shim: hijack::ShimFuture = Box::pin(async move { sock_rx.await.ok().and_then(Result::ok).map(|(s, _)| s) });
    if upgrade {
        return Ok(hijack::upgrade_response(hyper::upgrade::on(&mut req), tty, shim, streams.stdin, keys));
    }
    Ok(hijack::output_response(shim, tty))
}

/// `GET /containers/{id}/attach/ws`: the same attach over a WebSocket.
pub async fn attach_ws(ctx: &Ctx, q: &Query, id: &str, mut req: Request<Incoming>) -> Result<Resp, Resp> {
    if q.flag("logs") {
        return Err(crate::error::error_response(&berth_engine::Error::NotImplemented("attach over a WebSocket with logs=1".into())));
    }
    let streams = AttachStreams::new(q.flag("stdin"), q.flag("stdout"), q.flag("stderr"));
    let tty = engine(ctx.engine.find(&ctx.principal, id))?.rec().config.tty == Some(true);
    let (eng, principal, key) = (ctx.engine.clone(), ctx.principal.clone(), id.to_owned());
    let (sock_tx, sock_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let _ = sock_tx.send(eng.attach(&principal, &key, streams).await);
    });
    let shim: hijack::ShimFuture = Box::pin(async move { sock_rx.await.ok().and_then(Result::ok).map(|(s, _)| s) });
    crate::ws::upgrade(&mut req, tty, shim, streams.stdin)
}

fn log_options(q: &Query) -> Result<LogOptions, Resp> {
    let ts = |k: &str| -> Result<Option<i128>, Resp> {
        match q.get(k).filter(|v| !v.is_empty() && *v != "0") {
            None => Ok(None),
            Some(v) => berth_engine::time::parse_timestamp(v).map(Some).ok_or_else(|| bad_request(format!("invalid {k} value: {v:?}"))),
        }
    };
    // A negative count, or anything but a number, is everything, as with dockerd (`--tail -1`,
    // `--tail all`).
    let tail = q.get("tail").and_then(|t| t.parse::<i64>().ok()).and_then(|n| usize::try_from(n).ok());
    Ok(LogOptions {
        stdout: q.flag("stdout"),
        stderr: q.flag("stderr"),
        follow: q.flag("follow"),
        since: ts("since")?,
        until: ts("until")?,
        timestamps: q.flag("timestamps"),
        details: q.flag("details"),
        tail,
    })
}

fn logs_as_attach(ctx: &Ctx, q: &Query, id: &str) -> Result<Resp, Resp> {
    let opts = LogOptions { stdout: q.flag("stdout"), stderr: q.flag("stderr"), ..Default::default() };
    stream_logs(ctx, id, opts)
}

pub fn logs(ctx: &Ctx, q: &Query, id: &str) -> Result<Resp, Resp> {
    stream_logs(ctx, id, log_options(q)?)
}

fn stream_logs(ctx: &Ctx, id: &str, opts: LogOptions) -> Result<Resp, Resp> {
    let (mut rx, tty) = engine(ctx.engine.logs(&ctx.principal, id, opts))?;
    let (resp, tx) = stream(StatusCode::OK, hijack::stream_type(tty));
    tokio::spawn(async move {
        while let Some(c) = rx.recv().await {
            let b = if tty { Bytes::from(c.data) } else { frame(c.stream, &c.data) };
            if tx.send(b).await.is_err() {
                return;
            }
        }
    });
    Ok(resp)
}

/// `X-Docker-Container-Path-Stat`: base64 of the stat JSON, as the docker CLI reads it.
fn path_stat_header(resp: &mut Resp, stat: &berth_engine::container::archive::PathStat) {
    resp.headers_mut().insert("x-docker-container-path-stat", http::HeaderValue::from_str(&stat.to_header()).expect("base64 is ASCII"));
}

/// `HEAD /containers/{id}/archive?path=`: the stat header only.
pub async fn archive_head(ctx: &Ctx, q: &Query, id: &str) -> Result<Resp, Resp> {
    let path = q.get("path").filter(|p| !p.is_empty()).ok_or_else(|| bad_request("path is required"))?;
    let stat = engine(ctx.engine.archive_stat(&ctx.principal, id, path).await)?;
    let mut r = empty(StatusCode::OK);
    path_stat_header(&mut r, &stat);
    Ok(r)
}

/// `GET /containers/{id}/archive?path=`: the stat header, then the tar as it is written.
pub async fn archive_get(ctx: &Ctx, q: &Query, id: &str) -> Result<Resp, Resp> {
    let path = q.get("path").filter(|p| !p.is_empty()).ok_or_else(|| bad_request("path is required"))?.to_owned();
    let stat = engine(ctx.engine.archive_stat(&ctx.principal, id, &path).await)?;
    let (mut resp, tx) = stream(StatusCode::OK, "application/x-tar");
    path_stat_header(&mut resp, &stat);
    let (eng, principal, id) = (ctx.engine.clone(), ctx.principal.clone(), id.to_owned());
    tokio::spawn(async move {
        if let Err(e) = eng.archive_get(&principal, &id, &path, crate::body::writer(tx)).await {
            tracing::warn!(error = %berth_engine::error::chain(&e), "archive ended early");
        }
    });
    Ok(resp)
}

/// `PUT /containers/{id}/archive?path=`: extracts the body's tar into that directory.
pub async fn archive_put(ctx: &Ctx, q: &Query, id: &str, req: Request<Incoming>) -> Result<Resp, Resp> {
    let path = q.get("path").filter(|p| !p.is_empty()).ok_or_else(|| bad_request("path is required"))?.to_owned();
    let opts = berth_engine::container::archive::PutOptions { copy_uid_gid: q.flag("copyUIDGID"), keep_kinds: q.flag("noOverwriteDirNonDir") };
    engine(ctx.engine.archive_put(&ctx.principal, id, &path, crate::body::body_reader(req), opts).await)?;
    Ok(empty(StatusCode::OK))
}

/// `GET /containers/{id}/export`: the root filesystem as a tar, streamed.
pub async fn export(ctx: &Ctx, id: &str) -> Result<Resp, Resp> {
    engine(ctx.engine.find(&ctx.principal, id).map(|_| ()))?;
    let (resp, tx) = stream(StatusCode::OK, "application/octet-stream");
    let (eng, principal, id) = (ctx.engine.clone(), ctx.principal.clone(), id.to_owned());
    tokio::spawn(async move {
        if let Err(e) = eng.export(&principal, &id, crate::body::writer(tx)).await {
            tracing::warn!(error = %berth_engine::error::chain(&e), "export ended early");
        }
    });
    Ok(resp)
}

/// `POST /containers/{id}/update`.
pub async fn update(ctx: &Ctx, id: &str, req: Request<Incoming>) -> Result<Resp, Resp> {
    let body: berth_api_types::container::ContainerUpdate = json_body(req).await?;
    Ok(json(StatusCode::OK, &engine(ctx.engine.update(&ctx.principal, id, &body).await)?))
}
