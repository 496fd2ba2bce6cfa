//! The registry client (Distribution API v2): pull an image into an [`ImageStore`], push one
//! from it.
//!
//! - [`Registry`]: the client, one per daemon; cheap to clone. Holds the [`RegistryConfig`],
//!   the pooled HTTP(S) clients (`transport`), the Bearer tokens (`auth`) and what each
//!   registry asked for last time, so later requests authenticate up front.
//! - A pull ([`Registry::pull`], module `pull`) resolves the reference to a manifest (choosing
//!   a platform from an index), then fetches the config and the layers, several at once; each
//!   layer streams from the socket through the content store's verifying writer and the layer
//!   unpacker in one pass (the `layer` module, shared with OCI layout import), so nothing
//!   unverified is ever visible and decompression overlaps the download.
//! - A push ([`Registry::push`], module `push`) uploads what the registry lacks, then the
//!   manifest.
//!
//! Endpoints: a registry is reached over HTTPS; plain HTTP only when it is insecure (loopback,
//! or listed in [`RegistryConfig::insecure_registries`]), after HTTPS failed. `docker.io` is
//! tried through each of [`RegistryConfig::mirrors`] first, then upstream.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use berth_image::registry::{PullOptions, Registry, RegistryConfig};
//! use berth_image::{ImageRef, ImageStore};
//! let store = Arc::new(ImageStore::open("/var/lib/berth/image")?);
//! let registry = Registry::new(RegistryConfig::default());
//! let pulled = registry.pull(&store, &ImageRef::parse("busybox")?, &PullOptions::default()).await?;
//! println!("Digest: {}", pulled.digest);
//! # Ok(()) }
//! ```

mod auth;
mod error;
mod inspect;
mod progress;
mod pull;
mod push;
mod session;
mod transport;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use auth::Credentials;
pub use error::RegistryError;
pub use inspect::{login_domain, Described};
pub use progress::{Progress, ProgressFn, ProgressStatus};
pub use pull::{PullOptions, Pulled};
pub use push::{PushOptions, Pushed};
pub use transport::{is_insecure, Endpoint, Scheme};

use auth::{Challenge, TokenCache};
use transport::Transport;

use crate::reference::DEFAULT_DOMAIN;

/// Docker Hub's API endpoint, for references on `docker.io`.
pub const DOCKER_HUB_ENDPOINT: &str = "https://registry-1.docker.io";
/// Where per-registry CA files live: `<dir>/HOST:PORT/ca.crt`.
pub const DEFAULT_CERTS_DIR: &str = "/etc/berth/certs.d";

/// How failures that may pass (connection errors, 5xx) are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// Wait before the second try; doubled for each further one, up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The wait after the `attempt`-th failed try (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 5, first_delay: Duration::from_millis(500), max_delay: Duration::from_secs(10) }
    }
}

/// The client's settings; `berthd` fills them from its flags and `daemon.json`.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Per-registry CA certificates: `<certs_dir>/HOST:PORT/*.crt` (Docker's `certs.d`).
    pub certs_dir: PathBuf,
    /// Registries that may be reached over plain HTTP (`host`, `host:port`, CIDR), besides
    /// loopback (`--insecure-registry`).
    pub insecure_registries: Vec<String>,
    /// Endpoints tried, in order, before Docker Hub for `docker.io` images (`--registry-mirror`).
    pub mirrors: Vec<Endpoint>,
    /// Docker Hub itself ([`DOCKER_HUB_ENDPOINT`]); tests point it at loopback.
    pub hub_endpoint: Endpoint,
    /// Layers downloaded at once (`--max-concurrent-downloads`).
    pub max_concurrent_downloads: usize,
    /// Layers uploaded at once (`--max-concurrent-uploads`).
    pub max_concurrent_uploads: usize,
    pub retry: RetryPolicy,
    /// Longest wait for a response or for the next bytes of a body.
    pub stall_timeout: Duration,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            certs_dir: PathBuf::from(DEFAULT_CERTS_DIR),
            insecure_registries: Vec::new(),
            mirrors: Vec::new(),
            hub_endpoint: Endpoint::https("registry-1.docker.io"),
            max_concurrent_downloads: 3,
            max_concurrent_uploads: 5,
            retry: RetryPolicy::default(),
            stall_timeout: Duration::from_secs(60),
        }
    }
}

/// The registry client; see the module doc.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    config: RegistryConfig,
    transport: Transport,
    tokens: TokenCache,
    /// The last challenge each endpoint answered with, so later requests authenticate first.
    challenges: Mutex<HashMap<Endpoint, Challenge>>,
}

/// An endpoint to try, and when to give up on it for the next one.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub endpoint: Endpoint,
    pub fallback: Fallback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fallback {
    /// A mirror: any failure moves on to the next endpoint.
    AnyError,
    /// HTTPS to an insecure registry: only a failure to talk (no TLS there) moves on to HTTP.
    TransportError,
    /// The last endpoint.
    Never,
}

impl Registry {
    pub fn new(config: RegistryConfig) -> Self {
        let transport = Transport::new(config.certs_dir.clone());
        Registry {
            inner: Arc::new(Inner { config, transport, tokens: TokenCache::default(), challenges: Mutex::new(HashMap::new()) }),
        }
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.inner.config
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    pub(crate) fn tokens(&self) -> &TokenCache {
        &self.inner.tokens
    }

    pub(crate) fn challenge(&self, endpoint: &Endpoint) -> Option<Challenge> {
        self.inner.challenges.lock().unwrap_or_else(|p| p.into_inner()).get(endpoint).cloned()
    }

    pub(crate) fn remember_challenge(&self, endpoint: &Endpoint, challenge: Challenge) {
        self.inner.challenges.lock().unwrap_or_else(|p| p.into_inner()).insert(endpoint.clone(), challenge);
    }

    /// The endpoints serving `domain`, in the order to try them. `push` leaves mirrors out
    /// (they are read-only).
    pub(crate) fn candidates(&self, domain: &str, push: bool) -> Vec<Candidate> {
        let cfg = &self.inner.config;
        let mut out = Vec::new();
        if domain == DEFAULT_DOMAIN {
            if !push {
                out.extend(cfg.mirrors.iter().map(|m| Candidate { endpoint: m.clone(), fallback: Fallback::AnyError }));
            }
            out.push(Candidate { endpoint: cfg.hub_endpoint.clone(), fallback: Fallback::Never });
            return out;
        }
        if is_insecure(domain, &cfg.insecure_registries) {
            out.push(Candidate { endpoint: Endpoint::https(domain), fallback: Fallback::TransportError });
            out.push(Candidate { endpoint: Endpoint::http(domain), fallback: Fallback::Never });
        } else {
            out.push(Candidate { endpoint: Endpoint::https(domain), fallback: Fallback::Never });
        }
        out
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_follow_docker() {
        let mirrors = vec![Endpoint::parse("http://127.0.0.1:5001").expect("mirror")];
        let r = Registry::new(RegistryConfig { mirrors, ..RegistryConfig::default() });
        let hub: Vec<_> = r.candidates("docker.io", false).into_iter().map(|c| (c.endpoint.to_string(), c.fallback)).collect();
        assert_eq!(hub, [("http://127.0.0.1:5001".to_owned(), Fallback::AnyError), ("https://registry-1.docker.io".to_owned(), Fallback::Never)]);
        assert_eq!(r.candidates("docker.io", true).len(), 1, "no mirrors for push");
        let local: Vec<_> = r.candidates("127.0.0.1:5000", false).into_iter().map(|c| c.endpoint.to_string()).collect();
        assert_eq!(local, ["https://127.0.0.1:5000", "http://127.0.0.1:5000"]);
        let remote: Vec<_> = r.candidates("quay.io", false).into_iter().map(|c| c.endpoint.to_string()).collect();
        assert_eq!(remote, ["https://quay.io"]);
    }

    #[test]
    fn retry_delays_double_up_to_the_cap() {
        let p = RetryPolicy { attempts: 5, first_delay: Duration::from_millis(100), max_delay: Duration::from_millis(350) };
        assert_eq!([1, 2, 3, 4].map(|a| p.delay(a).as_millis()), [100, 200, 350, 350]);
        assert_eq!(p.delay(100), Duration::from_millis(350));
    }
}
