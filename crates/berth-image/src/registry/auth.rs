//! Registry authentication: the caller's [`Credentials`], the `WWW-Authenticate` challenges a
//! registry answers 401 with (RFC 7235 grammar: `Bearer realm="…",service="…",scope="…"`),
//! and the cache of Bearer tokens per registry, scope and user.
//!
//! Fetching a token is a request like any other and lives with the session; this module only
//! parses and remembers. Credentials and tokens are never logged or shown: their `Debug`
//! hides the secret.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::transport::base64;

/// A user name and password (or access token) for one registry, as `docker login` stores them.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials { username: username.into(), password: password.into() }
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    /// The `Authorization` header value for Basic authentication.
    pub(crate) fn basic(&self) -> String {
        format!("Basic {}", base64(format!("{}:{}", self.username, self.password).as_bytes()))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).field("password", &"<redacted>").finish()
    }
}

/// What a registry asked for in its 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer { realm: String, service: Option<String>, scope: Option<String> },
}

impl Challenge {
    /// The challenge to answer among `headers` (all `WWW-Authenticate` values): Bearer is
    /// preferred over Basic; unknown schemes are ignored.
    pub fn pick<'h>(headers: impl IntoIterator<Item = &'h str>) -> Option<Challenge> {
        let mut basic = false;
        for value in headers {
            for (scheme, params) in parse_challenges(value) {
                if scheme.eq_ignore_ascii_case("bearer") {
                    let get = |k: &str| params.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
                    if let Some(realm) = get("realm") {
                        return Some(Challenge::Bearer { realm, service: get("service"), scope: get("scope") });
                    }
                } else if scheme.eq_ignore_ascii_case("basic") {
                    basic = true;
                }
            }
        }
        basic.then_some(Challenge::Basic)
    }
}

/// Splits a `WWW-Authenticate` value into challenges: `(scheme, [(param, value)])`. Quoted
/// values are unescaped. Malformed tails are dropped rather than guessed at.
pub(crate) fn parse_challenges(header: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut p = Parser { s: header.as_bytes(), pos: 0 };
    let mut out = Vec::new();
    loop {
        p.skip(|b| b == b' ' || b == b'\t' || b == b',');
        let Some(scheme) = p.token() else { break };
        let mut params = Vec::new();
        loop {
            p.skip(|b| b == b' ' || b == b'\t');
            let save = p.pos;
            let Some(name) = p.token() else { break };
            p.skip(|b| b == b' ' || b == b'\t');
            if !p.eat(b'=') {
                p.pos = save; // a new challenge's scheme (or a token68: ignored)
                break;
            }
            p.skip(|b| b == b' ' || b == b'\t');
            let Some(value) = p.quoted().or_else(|| p.token()) else {
                out.push((scheme, params));
                return out; // a value that does not parse: nothing after it can be trusted
            };
            params.push((name, value));
            p.skip(|b| b == b' ' || b == b'\t');
            if !p.eat(b',') {
                break;
            }
        }
        out.push((scheme, params));
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn skip(&mut self, f: impl Fn(u8) -> bool) {
        while self.pos < self.s.len() && f(self.s[self.pos]) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.pos) == Some(&b) {
            self.pos += 1;
            return true;
        }
        false
    }

    /// RFC 7230 token characters (plus `/` and `:` seen unquoted in the wild in realms).
    fn token(&mut self) -> Option<String> {
        let start = self.pos;
        self.skip(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/:".contains(&b));
        (self.pos > start).then(|| String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    fn quoted(&mut self) -> Option<String> {
        if !self.eat(b'"') {
            return None;
        }
        let mut v = Vec::new();
        while let Some(&b) = self.s.get(self.pos) {
            self.pos += 1;
            match b {
                b'"' => return Some(String::from_utf8_lossy(&v).into_owned()),
                b'\\' => {
                    if let Some(&n) = self.s.get(self.pos) {
                        v.push(n);
                        self.pos += 1;
                    }
                }
                _ => v.push(b),
            }
        }
        None // unterminated
    }
}

/// A Bearer token and when to stop using it.
#[derive(Clone)]
pub(crate) struct Token {
    pub value: String,
    pub expires: Instant,
}

/// Tokens by (registry, realm, service, scopes, user). Entries are dropped when they expire or
/// when the registry refuses them.
#[derive(Default)]
pub(crate) struct TokenCache {
    tokens: Mutex<HashMap<String, Token>>,
}

/// Tokens are renewed this long before they expire.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);
/// What a token server's answer without `expires_in` is worth (the spec's default).
pub(crate) const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

impl TokenCache {
    pub fn key(registry: &str, realm: &str, service: Option<&str>, scopes: &[String], user: Option<&str>) -> String {
        format!("{registry}\n{realm}\n{}\n{}\n{}", service.unwrap_or(""), scopes.join(" "), user.unwrap_or(""))
    }

    pub fn get(&self, key: &str) -> Option<String> {
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        match tokens.get(key) {
            Some(t) if t.expires > Instant::now() + EXPIRY_MARGIN => Some(t.value.clone()),
            Some(_) => {
                tokens.remove(key);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, key: String, token: Token) {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(key, token);
    }

    pub fn forget(&self, key: &str) {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge_is_parsed() {
        let h = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#;
        assert_eq!(
            Challenge::pick([h]),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:samalba/my-app:pull,push".into()),
            })
        );
    }

    #[test]
    fn grammar_variants() {
        // unquoted values, spaces around '=', escapes, several challenges in one header
        let h = r#"Basic realm="a \"q\" realm", Bearer realm = https://t.example/token , service=reg,error="invalid_token""#;
        let got = parse_challenges(h);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0], ("Basic".into(), vec![("realm".into(), "a \"q\" realm".into())]));
        assert_eq!(got[1].0, "Bearer");
        assert_eq!(got[1].1[0], ("realm".into(), "https://t.example/token".into()));
        assert_eq!(got[1].1[1], ("service".into(), "reg".into()));
        assert!(matches!(Challenge::pick([h]), Some(Challenge::Bearer { scope: None, .. })));
        // Basic alone; case-insensitive scheme
        assert_eq!(Challenge::pick([r#"basic realm="test-realm""#]), Some(Challenge::Basic));
        // Bearer without realm is unusable; unknown schemes ignored
        assert_eq!(Challenge::pick(["Bearer service=x", "Negotiate abc=="]), None);
        // garbage does not panic
        for junk in ["", ",,,", "Bearer realm=\"unterminated", "=", "Bearer ,=,"] {
            let _ = parse_challenges(junk);
        }
    }

    #[test]
    fn credentials_are_redacted() {
        let c = Credentials::new("alice", "s3cret");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert_eq!(c.basic(), format!("Basic {}", base64(b"alice:s3cret")));
    }

    #[test]
    fn token_cache_expires() {
        let cache = TokenCache::default();
        let key = TokenCache::key("r", "realm", None, &["repository:a:pull".into()], None);
        cache.put(key.clone(), Token { value: "t".into(), expires: Instant::now() + Duration::from_secs(60) });
        assert_eq!(cache.get(&key).as_deref(), Some("t"));
        cache.put(key.clone(), Token { value: "t".into(), expires: Instant::now() + Duration::from_secs(5) });
        assert_eq!(cache.get(&key), None, "too close to expiry");
        cache.put(key.clone(), Token { value: "t".into(), expires: Instant::now() + Duration::from_secs(60) });
        cache.forget(&key);
        assert_eq!(cache.get(&key), None);
    }
}
