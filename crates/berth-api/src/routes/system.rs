//! `/_ping`, `/version`, `/info`, `/events`.

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};

use crate::body::{full, json, stream, Resp};
use crate::error::bad_request;
use crate::query::Query;
use crate::Ctx;

pub fn ping(method: &Method) -> Resp {
    let mut r = if method == Method::HEAD { full(StatusCode::OK, "text/plain; charset=utf-8", Bytes::new()) } else { full(StatusCode::OK, "text/plain; charset=utf-8", "OK") };
    let h = r.headers_mut();
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    h.insert("Swarm", HeaderValue::from_static("inactive"));
    h.insert("Cache-Control", HeaderValue::from_static("no-cache, no-store, must-revalidate"));
    h.insert("Pragma", HeaderValue::from_static("no-cache"));
    r
}

pub fn version(ctx: &Ctx) -> Resp {
    json(StatusCode::OK, &ctx.engine.version())
}

pub fn df(ctx: &Ctx, q: &Query) -> Result<Resp, Resp> {
    let df = super::engine(ctx.engine.disk_usage(&ctx.principal, q.all("type")))?;
    Ok(json(StatusCode::OK, &df))
}

pub fn info(ctx: &Ctx) -> Resp {
    json(StatusCode::OK, &ctx.engine.info(&ctx.principal))
}

/// `GET /events`: kept events since `since`, then live ones until `until` (or for ever),
/// filtered by type, event, container, image, label.
pub fn events(ctx: &Ctx, q: &Query) -> Result<Resp, Resp> {
    let filters = q.filters()?;
    filters.validate(&["type", "event", "container", "image", "label", "scope", "daemon", "network", "volume", "plugin", "node", "service", "secret", "config"]).map_err(|e| bad_request(e.to_string()))?;
    let ts = |k: &str| -> Result<Option<i128>, Resp> {
        match q.get(k).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => berth_engine::time::parse_timestamp(v).map(Some).ok_or_else(|| bad_request(format!("invalid {k} timestamp: {v:?}"))),
        }
    };
    let since = ts("since")?;
    let until = ts("until")?;
    let (kept, mut rx) = ctx.engine.events.subscribe();
    let principal = ctx.principal.clone();
    let engine = ctx.engine.clone();
    let matches = move |e: &berth_api_types::system::EventMessage| -> bool {
        let f = &filters;
        let attr = |k: &str| e.actor.attributes.get(k).map(String::as_str).unwrap_or("");
        let action_base = e.action.split(':').next().unwrap_or("");
        (!f.contains("type") || f.get("type").any(|t| t == e.kind))
            && (!f.contains("event") || f.get("event").any(|t| t == e.action || t == action_base))
            && (!f.contains("container") || (e.kind == "container" && f.get("container").any(|c| e.actor.id.starts_with(c) || attr("name") == c)))
            && (!f.contains("image") || f.get("image").any(|i| attr("image") == i || (e.kind == "image" && (e.actor.id == i || attr("name") == i))))
            && f.get("label").all(|l| match l.split_once('=') {
                Some((k, v)) => attr(k) == v,
                None => e.actor.attributes.contains_key(l),
            })
            && (e.kind != "container" || principal == berth_engine::Principal::Admin || engine.find(&principal, &e.actor.id).is_ok())
    };
    let (resp, tx) = stream(StatusCode::OK, "application/json");
    let in_range = move |e: &berth_api_types::system::EventMessage| since.is_none_or(|s| i128::from(e.time_nano) >= s) && until.is_none_or(|u| i128::from(e.time_nano) <= u);
    tokio::spawn(async move {
        let send = |e: &berth_api_types::system::EventMessage| {
            let mut line = serde_json::to_vec(e).expect("events serialize");
            line.push(b'\n');
            Bytes::from(line)
        };
        if since.is_some() {
            for e in kept.iter().filter(|e| in_range(e) && matches(e)) {
                if tx.send(send(e)).await.is_err() {
                    return;
                }
            }
        }
        let deadline = until.map(|u| {
            let left = (u - berth_engine::time::now_nanos()).max(0);
            tokio::time::Instant::now() + std::time::Duration::from_nanos(left as u64)
        });
        loop {
            let next = async { rx.recv().await };
            let got = match deadline {
                Some(d) => match tokio::time::timeout_at(d, next).await {
                    Ok(g) => g,
                    Err(_) => return,
                },
                None => tokio::select! {
                    g = next => g,
                    _ = tx.closed() => return,
                },
            };
            match got {
                Ok(e) if in_range(&e) && matches(&e) => {
                    if tx.send(send(&e)).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            }
        }
    });
    Ok(resp)
}
