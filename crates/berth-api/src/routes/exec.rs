//! `/containers/{id}/exec` and `/exec/{id}/...`.

use http::{Request, StatusCode};
use hyper::body::Incoming;

use berth_api_types::exec::{ExecConfig, ExecCreateResponse, ExecStartConfig};

use super::{engine, json_body};
use crate::body::{empty, json, Resp};
use crate::hijack;
use crate::query::Query;
use crate::Ctx;

pub async fn create(ctx: &Ctx, id: &str, req: Request<Incoming>) -> Result<Resp, Resp> {
    let cfg: ExecConfig = json_body(req).await?;
    let exec_id = engine(ctx.engine.exec_create(&ctx.principal, id, cfg))?;
    Ok(json(StatusCode::CREATED, &ExecCreateResponse { id: exec_id }))
}

pub async fn start(ctx: &Ctx, id: &str, mut req: Request<Incoming>) -> Result<Resp, Resp> {
    let upgrade = hijack::wants_upgrade(&req);
    let on_upgrade = hyper::upgrade::on(&mut req);
    let cfg: ExecStartConfig = json_body(req).await?;
    let detach = cfg.detach == Some(true);
    let info = engine(ctx.engine.exec_inspect(&ctx.principal, id))?;
    if upgrade && !detach {
        // The 101 goes out before the process starts, as Docker's does: clients that read the
        // response head through a buffer would lose output that came with it.
        if info.exit_code.is_some() || info.running {
            return Err(crate::error::error_response(&berth_engine::Error::Conflict(format!("Error: Exec command {id} has already run"))));
        }
        let (eng, principal, exec_id) = (ctx.engine.clone(), ctx.principal.clone(), id.to_owned());
        let tty = info.process_config.tty;
        let socket = ctx.socket;
        let shim: hijack::ShimFuture = Box::pin(async move {
            // This runs once the 101 is written. docker-py reads the head through a buffer and
            // then the raw socket, so output that arrives before it has read the head is lost
            // to it: the process starts once the client has read the head.
            hijack::until_head_read(socket).await;
            match eng.exec_start(&principal, &exec_id, false).await {
                Ok(s) => s.map(|(s, _)| s),
                Err(e) => {
                    // The 101 is out: the reason goes to the client as the process's output
                    // would, as dockerd writes it (the CLI prints it; the exit code is the
                    // exec's, 126 or 127).
                    let why = berth_engine::error::chain(&e);
                    tracing::debug!(exec = %exec_id, error = %why, "exec start after the upgrade");
                    failure_stream(&format!("OCI runtime exec failed: {why}\r\n"), tty).await
                }
            }
        });
        return Ok(hijack::upgrade_response(on_upgrade, info.process_config.tty, shim, info.open_stdin, vec![16, 17]));
    }
    let started = engine(ctx.engine.exec_start(&ctx.principal, id, detach).await)?;
    let Some((shim, tty)) = started else { return Ok(empty(StatusCode::OK)) };
    Ok(hijack::output_response(Box::pin(async move { Some(shim) }), tty))
}

/// A stream that carries `message` (on stdout, framed unless `tty`) and ends: what a client
/// reads in place of an exec's output when the exec could not start.
async fn failure_stream(message: &str, tty: bool) -> Option<tokio::net::UnixStream> {
    use tokio::io::AsyncWriteExt;
    let (mut w, r) = tokio::net::UnixStream::pair().ok()?;
    let out = if tty { bytes::Bytes::copy_from_slice(message.as_bytes()) } else { crate::body::frame(1, message.as_bytes()) };
    w.write_all(&out).await.ok()?;
    Some(r)
}

pub async fn resize(ctx: &Ctx, q: &Query, id: &str) -> Result<Resp, Resp> {
    let h: Option<u16> = q.int("h")?;
    let w: Option<u16> = q.int("w")?;
    engine(ctx.engine.exec_resize(&ctx.principal, id, h.unwrap_or(0), w.unwrap_or(0)).await)?;
    Ok(empty(StatusCode::OK))
}

pub fn inspect(ctx: &Ctx, id: &str) -> Result<Resp, Resp> {
    Ok(json(StatusCode::OK, &engine(ctx.engine.exec_inspect(&ctx.principal, id))?))
}
