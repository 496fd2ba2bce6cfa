//! `/networks/...`: create, list, inspect, remove, connect, disconnect, prune.

use http::{Request, StatusCode};
use hyper::body::Incoming;

use berth_api_types::network::{NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest};

use super::{engine, json_body};
use crate::body::{empty, json, Resp};
use crate::query::Query;
use crate::Ctx;

pub async fn create(ctx: &Ctx, req: Request<Incoming>) -> Result<Resp, Resp> {
    let body: NetworkCreateRequest = json_body(req).await?;
    Ok(json(StatusCode::CREATED, &engine(ctx.engine.network_create(&ctx.principal, body).await)?))
}

pub fn list(ctx: &Ctx, q: &Query) -> Result<Resp, Resp> {
    Ok(json(StatusCode::OK, &engine(ctx.engine.network_list(&ctx.principal, &q.filters()?))?))
}

pub fn inspect(ctx: &Ctx, id: &str) -> Result<Resp, Resp> {
    Ok(json(StatusCode::OK, &engine(ctx.engine.network_inspect(&ctx.principal, id))?))
}

pub async fn remove(ctx: &Ctx, id: &str) -> Result<Resp, Resp> {
    engine(ctx.engine.network_remove(&ctx.principal, id).await)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn connect(ctx: &Ctx, req: Request<Incoming>, id: &str) -> Result<Resp, Resp> {
    let body: NetworkConnectRequest = json_body(req).await?;
    engine(ctx.engine.network_connect(&ctx.principal, id, body).await)?;
    Ok(empty(StatusCode::OK))
}

pub async fn disconnect(ctx: &Ctx, req: Request<Incoming>, id: &str) -> Result<Resp, Resp> {
    let body: NetworkDisconnectRequest = json_body(req).await?;
    engine(ctx.engine.network_disconnect(&ctx.principal, id, &body.container, body.force == Some(true)).await)?;
    Ok(empty(StatusCode::OK))
}

pub async fn prune(ctx: &Ctx, q: &Query) -> Result<Resp, Resp> {
    Ok(json(StatusCode::OK, &engine(ctx.engine.network_prune(&ctx.principal, &q.filters()?).await)?))
}
