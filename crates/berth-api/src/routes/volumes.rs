//! `/volumes/...`: create, list, inspect, remove, prune.

use http::{Request, StatusCode};
use hyper::body::Incoming;

use berth_api_types::volume::VolumeCreateRequest;

use super::{engine, json_body};
use crate::body::{empty, json, Resp};
use crate::query::Query;
use crate::Ctx;

pub async fn create(ctx: &Ctx, req: Request<Incoming>) -> Result<Resp, Resp> {
    let body: VolumeCreateRequest = json_body(req).await?;
    Ok(json(StatusCode::CREATED, &engine(ctx.engine.volume_create(&ctx.principal, &body))?))
}

pub fn list(ctx: &Ctx, q: &Query) -> Result<Resp, Resp> {
    Ok(json(StatusCode::OK, &engine(ctx.engine.volume_list(&ctx.principal, &q.filters()?))?))
}

pub fn inspect(ctx: &Ctx, name: &str) -> Result<Resp, Resp> {
    Ok(json(StatusCode::OK, &engine(ctx.engine.volume_inspect(&ctx.principal, name))?))
}

pub fn remove(ctx: &Ctx, q: &Query, name: &str) -> Result<Resp, Resp> {
    engine(ctx.engine.volume_remove(&ctx.principal, name, q.flag("force")))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub fn prune(ctx: &Ctx, q: &Query) -> Result<Resp, Resp> {
    let mut filters = q.filters()?;
    // Before API 1.42 a prune took named volumes too (`all` came with 1.42), as dockerd keeps it
    // for older clients.
    if ctx.api_before(42) && !filters.contains("all") {
        filters.add("all", "true");
    }
    Ok(json(StatusCode::OK, &engine(ctx.engine.volume_prune(&ctx.principal, &filters))?))
}
