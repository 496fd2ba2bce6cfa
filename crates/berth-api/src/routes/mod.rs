//! The route table: method and path (version prefix already removed) to a handler. One file
//! per resource.

mod containers;
mod exec;
mod images;
mod system;
mod networks;
mod volumes;

use http::{Method, Request};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::body::Resp;
use crate::error::{bad_request, error_response, not_found_route};
use crate::query::Query;
use crate::Ctx;

pub async fn route(req: Request<Incoming>, ctx: &Ctx, path: &str) -> Resp {
    let q = Query::parse(req.uri().query());
    let method = req.method().clone();
    let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let m = &method;
    let r: Result<Resp, Resp> = match (m, seg.as_slice()) {
        (&Method::GET | &Method::HEAD, ["_ping"]) => Ok(system::ping(m)),
        (&Method::GET, ["version"]) => Ok(system::version(ctx)),
        (&Method::GET, ["info"]) => Ok(system::info(ctx)),
        (&Method::GET, ["system", "df"]) => system::df(ctx, &q),
        (&Method::GET, ["events"]) => system::events(ctx, &q),
        // No builds, so no build cache: pruning it frees nothing (`docker system prune` asks).
        (&Method::POST, ["build", "prune"]) => Ok(crate::body::json(http::StatusCode::OK, &serde_json::json!({"CachesDeleted": null, "SpaceReclaimed": 0}))),

        (&Method::POST, ["containers", "create"]) => containers::create(ctx, &q, req).await,
        (&Method::GET, ["containers", "json"]) => containers::list(ctx, &q),
        (&Method::POST, ["containers", "prune"]) => containers::prune(ctx, &q).await,
        (&Method::GET, ["containers", id, "changes"]) => containers::changes(ctx, id),
        (&Method::HEAD, ["containers", id, "archive"]) => containers::archive_head(ctx, &q, id).await,
        (&Method::GET, ["containers", id, "archive"]) => containers::archive_get(ctx, &q, id).await,
        (&Method::PUT, ["containers", id, "archive"]) => containers::archive_put(ctx, &q, id, req).await,
        (&Method::GET, ["containers", id, "export"]) => containers::export(ctx, id).await,
        (&Method::GET, ["containers", id, "json"]) => containers::inspect(ctx, &q, id),
        (&Method::POST, ["containers", id, "start"]) => containers::start(ctx, id).await,
        (&Method::POST, ["containers", id, "stop"]) => containers::stop(ctx, &q, id).await,
        (&Method::POST, ["containers", id, "restart"]) => containers::restart(ctx, &q, id).await,
        (&Method::POST, ["containers", id, "kill"]) => containers::kill(ctx, &q, id).await,
        (&Method::POST, ["containers", id, "pause"]) => containers::pause(ctx, id, true).await,
        (&Method::POST, ["containers", id, "unpause"]) => containers::pause(ctx, id, false).await,
        (&Method::POST, ["containers", id, "wait"]) => containers::wait(ctx, &q, id).await,
        (&Method::POST, ["containers", id, "update"]) => containers::update(ctx, id, req).await,
        (&Method::POST, ["containers", id, "rename"]) => containers::rename(ctx, &q, id),
        (&Method::POST, ["containers", id, "resize"]) => containers::resize(ctx, &q, id).await,
        (&Method::GET, ["containers", id, "attach", "ws"]) => containers::attach_ws(ctx, &q, id, req).await,
        (&Method::POST, ["containers", id, "attach"]) => containers::attach(ctx, &q, id, req).await,
        (&Method::GET, ["containers", id, "logs"]) => containers::logs(ctx, &q, id),
        (&Method::GET, ["containers", id, "top"]) => containers::top(ctx, &q, id).await,
        (&Method::GET, ["containers", id, "stats"]) => containers::stats(ctx, &q, id).await,
        (&Method::DELETE, ["containers", id]) => containers::remove(ctx, &q, id).await,
        (&Method::POST, ["containers", id, "exec"]) => exec::create(ctx, id, req).await,
        (&Method::POST, ["exec", id, "start"]) => exec::start(ctx, id, req).await,
        (&Method::POST, ["exec", id, "resize"]) => exec::resize(ctx, &q, id).await,
        (&Method::GET, ["exec", id, "json"]) => exec::inspect(ctx, id),

        (&Method::GET, ["images", "json"]) => images::list(ctx, &q),
        (&Method::POST, ["images", "load"]) => images::load(ctx, &q, req).await,
        (&Method::POST, ["images", "create"]) => images::create(ctx, &q, req).await,
        (&Method::POST, ["images", "prune"]) => images::prune(ctx, &q),
        (&Method::GET, ["images", "get"]) => images::save(ctx, q.all("names")),
        (&Method::GET, ["images", rest @ .., "get"]) if !rest.is_empty() => images::save(ctx, &[rest.join("/")]),
        (&Method::GET, ["images", rest @ .., "history"]) if !rest.is_empty() => images::history(ctx, &rest.join("/")),
        (&Method::POST, ["images", rest @ .., "push"]) if !rest.is_empty() => images::push(ctx, &q, &rest.join("/"), req).await,
        (&Method::POST, ["networks", "create"]) => networks::create(ctx, req).await,
        (&Method::GET, ["networks"]) => networks::list(ctx, &q),
        (&Method::POST, ["networks", "prune"]) => networks::prune(ctx, &q).await,
        (&Method::GET, ["networks", id]) => networks::inspect(ctx, id),
        (&Method::DELETE, ["networks", id]) => networks::remove(ctx, id).await,
        (&Method::POST, ["networks", id, "connect"]) => networks::connect(ctx, req, id).await,
        (&Method::POST, ["networks", id, "disconnect"]) => networks::disconnect(ctx, req, id).await,
        (&Method::POST, ["volumes", "create"]) => volumes::create(ctx, req).await,
        (&Method::GET, ["volumes"]) => volumes::list(ctx, &q),
        (&Method::POST, ["volumes", "prune"]) => volumes::prune(ctx, &q),
        (&Method::GET, ["volumes", name]) => volumes::inspect(ctx, name),
        (&Method::DELETE, ["volumes", name]) => volumes::remove(ctx, &q, name),
        (&Method::POST, ["auth"]) => images::auth(ctx, req).await,
        (&Method::GET, ["distribution", rest @ .., "json"]) if !rest.is_empty() => images::distribution(ctx, &rest.join("/"), req).await,
        (&Method::GET, ["images", rest @ .., "json"]) if !rest.is_empty() => images::inspect(ctx, &rest.join("/")),
        (&Method::POST, ["images", rest @ .., "tag"]) if !rest.is_empty() => images::tag(ctx, &q, &rest.join("/")),
        (&Method::DELETE, ["images", rest @ ..]) if !rest.is_empty() => images::remove(ctx, &q, &rest.join("/")),
        _ => Err(match not_yet(seg.as_slice()) {
            Some(what) => error_response(&berth_engine::Error::NotImplemented(format!("{what} ({m} {path})"))),
            None => not_found_route(m, path),
        }),
    };
    r.unwrap_or_else(|e| e)
}

/// The Docker Engine API's endpoints that berth does not serve yet, by what a user knows them
/// as: their client gets 501 with that name, not a bare "page not found".
fn not_yet(seg: &[&str]) -> Option<&'static str> {
    Some(match seg {
        ["commit"] => "docker commit",
        ["build", ..] | ["session"] | ["grpc"] => "docker build",
        ["images", "search"] => "docker search",
        ["containers", _, "checkpoints", ..] => "checkpoints",
        ["swarm", ..] | ["nodes", ..] | ["services", ..] | ["tasks", ..] | ["secrets", ..] | ["configs", ..] => "swarm mode",
        ["plugins", ..] => "plugins",
        _ => return None,
    })
}

/// Turns an engine result into a response or the error response.
pub(crate) fn engine<T>(r: berth_engine::Result<T>) -> Result<T, Resp> {
    r.map_err(|e| error_response(&e))
}

/// Reads a JSON body of at most [`crate::BODY_MAX`] bytes; an empty body is `T::default()`.
pub(crate) async fn json_body<T: serde::de::DeserializeOwned + Default>(req: Request<Incoming>) -> Result<T, Resp> {
    let limited = http_body_util::Limited::new(req.into_body(), crate::BODY_MAX);
    let bytes = match limited.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                return Err(crate::body::json(http::StatusCode::PAYLOAD_TOO_LARGE, &berth_api_types::ErrorResponse::new(format!("request body is larger than {} bytes", crate::BODY_MAX))));
            }
            return Err(bad_request(format!("read the request body: {e}")));
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes).map_err(|e| bad_request(format!("invalid JSON in the request body: {e}")))
}
