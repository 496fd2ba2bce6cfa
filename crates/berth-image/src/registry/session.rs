//! A session: requests to one repository on one endpoint, for one user and set of scopes.
//!
//! [`Session::request`] answers the registry's 401 (Basic, or a Bearer token fetched from the
//! challenge's realm and cached per scope), retries once after a refused token, follows
//! redirects (dropping `Authorization` when they leave the registry's host), and retries
//! transient failures (connection errors, 5xx, 429) with exponential backoff.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, AUTHORIZATION, LOCATION, RANGE, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::auth::{Challenge, Credentials, Token, TokenCache, DEFAULT_TOKEN_LIFETIME};
use super::transport::{empty_body, encode_query, resolve_location, Endpoint, ReqBody};
use super::{Registry, RegistryError};
pub(crate) use crate::error_chain as chain;

const MAX_REDIRECTS: usize = 5;
/// Largest error or token body read.
const SMALL_BODY_LIMIT: usize = 1 << 20;

pub(crate) struct Session {
    pub registry: Registry,
    pub endpoint: Endpoint,
    /// The repository path inside the registry (`library/busybox`).
    pub repository: String,
    pub credentials: Option<Credentials>,
    /// `repository:NAME:ACTIONS` scopes asked of a token server.
    pub scopes: Vec<String>,
}

/// What to send: the body is made afresh for each try.
pub(crate) struct Call<'a> {
    pub step: &'a str,
    pub method: Method,
    /// A path under the endpoint (`/v2/...`) or an absolute URL (an upload `Location`).
    pub target: &'a str,
    pub headers: Vec<(HeaderName, String)>,
    pub body: &'a (dyn Fn() -> ReqBody + Send + Sync),
    /// Whether `request` retries transient failures itself (a blob download resumes on its own).
    pub retry: bool,
}

impl<'a> Call<'a> {
    pub fn get(step: &'a str, target: &'a str) -> Self {
        Call { step, method: Method::GET, target, headers: Vec::new(), body: &empty_body, retry: true }
    }

    pub fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl Session {
    /// The registry's name in messages (`127.0.0.1:5000`, `registry-1.docker.io`).
    pub fn name(&self) -> &str {
        &self.endpoint.authority
    }

    fn url(&self, target: &str) -> String {
        if target.starts_with("http://") || target.starts_with("https://") {
            target.to_owned()
        } else {
            self.endpoint.url(target)
        }
    }

    /// Sends `call`, retrying transient failures; see the module doc. Any status is returned
    /// except a 401 that survives authentication, which becomes [`RegistryError::Unauthorized`].
    pub async fn request(&self, call: &Call<'_>) -> Result<Response<Incoming>, RegistryError> {
        let retry = &self.registry.config().retry;
        let mut attempt = 0;
        loop {
            let result = self.request_once(call).await;
            let transient = match &result {
                Err(e) => e.is_transient(),
                Ok(r) => r.status().is_server_error() || r.status() == StatusCode::TOO_MANY_REQUESTS,
            };
            attempt += 1;
            if !transient || !call.retry || attempt >= retry.attempts {
                return result;
            }
            let delay = retry.delay(attempt);
            match &result {
                Err(e) => tracing::debug!(registry = %self.name(), step = call.step, attempt, error = %chain(e), "transient failure, retrying"),
                Ok(r) => tracing::debug!(registry = %self.name(), step = call.step, attempt, status = r.status().as_u16(), "transient status, retrying"),
            }
            tokio::time::sleep(delay).await;
        }
    }

    async fn request_once(&self, call: &Call<'_>) -> Result<Response<Incoming>, RegistryError> {
        let mut auth = match self.registry.challenge(&self.endpoint) {
            Some(c) => self.authorization(&c, false, call.step).await?,
            None => None,
        };
        let mut url: http::Uri = self.url(call.target).parse().map_err(|e| self.transport_err(call.step, e))?;
        let mut method = call.method.clone();
        let mut answered_401 = false;
        let mut redirects = 0;
        loop {
            let same_host = url.authority().is_some_and(|a| a.as_str() == self.endpoint.authority);
            let mut req = Request::builder().method(method.clone()).uri(url.clone());
            for (name, value) in &call.headers {
                req = req.header(name, value);
            }
            if let (true, Some(a)) = (same_host, &auth) {
                let mut v = HeaderValue::from_str(a).map_err(|e| self.transport_err(call.step, e))?;
                v.set_sensitive(true);
                req = req.header(AUTHORIZATION, v);
            }
            let body = if method == Method::GET || method == Method::HEAD { empty_body() } else { (call.body)() };
            let req = req.body(body).map_err(|e| self.transport_err(call.step, e))?;
            let resp = self.send(call.step, req).await?;
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && same_host {
                let challenge = Challenge::pick(resp.headers().get_all(WWW_AUTHENTICATE).iter().filter_map(|v| v.to_str().ok()));
                let (_, message) = read_error(resp).await;
                let refuse = || RegistryError::Unauthorized {
                    registry: self.name().to_owned(),
                    step: call.step.to_owned(),
                    message: if message.is_empty() { "authentication required".to_owned() } else { message.clone() },
                };
                let Some(challenge) = challenge else { return Err(refuse()) };
                if answered_401 {
                    return Err(refuse());
                }
                answered_401 = true;
                self.registry.remember_challenge(&self.endpoint, challenge.clone());
                auth = self.authorization(&challenge, true, call.step).await?;
                if auth.is_none() {
                    return Err(refuse()); // Basic without credentials
                }
                continue;
            }
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let Some(loc) = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()) else {
                    return Ok(resp);
                };
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(RegistryError::Redirects { registry: self.name().to_owned(), step: call.step.to_owned() });
                }
                url = resolve_location(&url, loc).ok_or_else(|| self.transport_err(call.step, format!("bad redirect location {loc:?}")))?;
                if status == StatusCode::SEE_OTHER {
                    method = Method::GET;
                }
                continue;
            }
            return Ok(resp);
        }
    }

    async fn send(&self, step: &str, req: Request<ReqBody>) -> Result<Response<Incoming>, RegistryError> {
        let timeout = self.registry.config().stall_timeout;
        match tokio::time::timeout(timeout, self.registry.transport().send(self.name(), step, req)).await {
            Ok(r) => r,
            Err(_) => Err(RegistryError::Timeout { registry: self.name().to_owned(), step: step.to_owned(), secs: timeout.as_secs() }),
        }
    }

    fn transport_err(&self, step: &str, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> RegistryError {
        RegistryError::Transport { registry: self.name().to_owned(), step: step.to_owned(), source: e.into() }
    }

    /// The `Authorization` value answering `challenge`; `fresh` skips the token cache (the
    /// cached token was just refused).
    async fn authorization(&self, challenge: &Challenge, fresh: bool, step: &str) -> Result<Option<String>, RegistryError> {
        let (realm, service, scope) = match challenge {
            Challenge::Basic => return Ok(self.credentials.as_ref().map(Credentials::basic)),
            Challenge::Bearer { realm, service, scope } => (realm, service, scope),
        };
        let mut scopes = self.scopes.clone();
        if let Some(s) = scope {
            if !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        let user = self.credentials.as_ref().map(Credentials::username);
        let key = TokenCache::key(&self.endpoint.to_string(), realm, service.as_deref(), &scopes, user);
        let tokens = self.registry.tokens();
        if fresh {
            tokens.forget(&key);
        } else if let Some(t) = tokens.get(&key) {
            return Ok(Some(format!("Bearer {t}")));
        }
        let token = self.fetch_token(realm, service.as_deref(), &scopes).await.map_err(|source| RegistryError::Token {
            registry: self.name().to_owned(),
            step: step.to_owned(),
            realm: realm.clone(),
            source: Box::new(source),
        })?;
        let value = format!("Bearer {}", token.value);
        tokens.put(key, token);
        Ok(Some(value))
    }

    async fn fetch_token(&self, realm: &str, service: Option<&str>, scopes: &[String]) -> Result<Token, RegistryError> {
        let step = "GET token";
        let mut url = realm.to_owned();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        let mut push = |k: &str, v: &str| {
            url.push(sep);
            url.push_str(k);
            url.push('=');
            url.push_str(&encode_query(v));
            sep = '&';
        };
        if let Some(s) = service {
            push("service", s);
        }
        for s in scopes {
            push("scope", s);
        }
        push("client_id", "berth");
        let uri: http::Uri = url.parse().map_err(|e| self.transport_err(step, e))?;
        let mut req = Request::builder().method(Method::GET).uri(uri);
        if let Some(c) = &self.credentials {
            let mut v = HeaderValue::from_str(&c.basic()).map_err(|e| self.transport_err(step, e))?;
            v.set_sensitive(true);
            req = req.header(AUTHORIZATION, v);
        }
        let req = req.body(empty_body()).map_err(|e| self.transport_err(step, e))?;
        let resp = self.send(step, req).await?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            let (_, message) = read_error(resp).await;
            let message = if message.is_empty() { "incorrect username or password".to_owned() } else { message };
            return Err(RegistryError::Unauthorized { registry: self.name().to_owned(), step: step.to_owned(), message });
        }
        if !status.is_success() {
            return Err(self.status_error(step, resp).await);
        }
        let body = read_small(self, step, resp).await?;
        #[derive(serde::Deserialize)]
        struct Answer {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| self.transport_err(step, e))?;
        let value = answer.token.or(answer.access_token).filter(|t| !t.is_empty())
            .ok_or_else(|| RegistryError::NoToken { registry: self.name().to_owned(), realm: realm.to_owned() })?;
        let lifetime = answer.expires_in.map(Duration::from_secs).unwrap_or(DEFAULT_TOKEN_LIFETIME);
        Ok(Token { value, expires: Instant::now() + lifetime })
    }

    /// The error for an unexpected status, with the registry's own code and message.
    pub async fn status_error(&self, step: &str, resp: Response<Incoming>) -> RegistryError {
        let status = resp.status().as_u16();
        let (code, message) = read_error(resp).await;
        RegistryError::Status { registry: self.name().to_owned(), step: step.to_owned(), status, code, message }
    }

    /// GET with a `Range` from `offset` on (when not 0).
    pub fn range_header(offset: u64) -> Option<(HeaderName, String)> {
        (offset > 0).then(|| (RANGE, format!("bytes={offset}-")))
    }
}

/// Reads a body of at most `SMALL_BODY_LIMIT` bytes.
pub(crate) async fn read_small(session: &Session, step: &str, resp: Response<Incoming>) -> Result<Bytes, RegistryError> {
    read_limited(session, step, resp, SMALL_BODY_LIMIT as u64).await
}

/// Reads a whole body, refusing one over `limit` bytes; each chunk must come within the
/// stall timeout.
pub(crate) async fn read_limited(session: &Session, step: &str, resp: Response<Incoming>, limit: u64) -> Result<Bytes, RegistryError> {
    let timeout = session.registry.config().stall_timeout;
    let mut body = resp.into_body();
    let mut out = Vec::new();
    loop {
        let frame = match tokio::time::timeout(timeout, body.frame()).await {
            Err(_) => return Err(RegistryError::Timeout { registry: session.name().to_owned(), step: step.to_owned(), secs: timeout.as_secs() }),
            Ok(None) => break,
            Ok(Some(f)) => f.map_err(|e| session.transport_err(step, e))?,
        };
        if let Ok(data) = frame.into_data() {
            if (out.len() + data.len()) as u64 > limit {
                return Err(RegistryError::TooLarge { reference: session.name().to_owned(), what: step.to_owned(), limit });
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
}

/// The registry's error code and message from a Distribution error body
/// (`{"errors":[{"code":…,"message":…}]}`) or a token server's (`{"details":…}`).
pub(crate) async fn read_error(resp: Response<Incoming>) -> (String, String) {
    let body = http_body_util::Limited::new(resp.into_body(), SMALL_BODY_LIMIT);
    let Ok(Ok(collected)) = tokio::time::timeout(Duration::from_secs(10), body.collect()).await else {
        return (String::new(), String::new());
    };
    parse_error_body(&collected.to_bytes())
}

pub(crate) fn parse_error_body(data: &[u8]) -> (String, String) {
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<Item>,
        details: Option<String>,
    }
    match serde_json::from_slice::<Body>(data) {
        Ok(b) if !b.errors.is_empty() => {
            let code = b.errors[0].code.clone();
            let message = b.errors.iter().map(|e| e.message.as_str()).filter(|m| !m.is_empty()).collect::<Vec<_>>().join("; ");
            (code, message)
        }
        Ok(Body { details: Some(d), .. }) => (String::new(), d),
        _ => {
            let text = String::from_utf8_lossy(data);
            let line = text.lines().next().unwrap_or("").trim();
            (String::new(), line.chars().take(200).collect())
        }
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies() {
        let (c, m) = parse_error_body(br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#);
        assert_eq!((c.as_str(), m.as_str()), ("MANIFEST_UNKNOWN", "manifest unknown"));
        let (c, m) = parse_error_body(br#"{"details":"incorrect username or password"}"#);
        assert_eq!((c.as_str(), m.as_str()), ("", "incorrect username or password"));
        let (_, m) = parse_error_body(b"502 Bad Gateway\nmore");
        assert_eq!(m, "502 Bad Gateway");
    }
}
