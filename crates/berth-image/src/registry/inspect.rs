//! Asking a registry without pulling: does it take these credentials (`docker login`), and
//! what does a reference name there (`GET /distribution/{name}/json`).

use oci_spec::image::{ImageConfiguration, ImageIndex};

use super::error::RegistryError;
use super::pull::fetch_manifest;
use super::session::{chain, read_limited, Call, Session};
use super::{Credentials, Fallback, Registry};
use crate::digest::Digest;
use crate::layout::{Platform, JSON_LIMIT, MEDIA_DOCKER_LIST, MEDIA_OCI_INDEX};
use crate::reference::{ImageRef, DEFAULT_DOMAIN};

/// What a reference names on its registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// The manifest or index the reference resolves to.
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    /// The platforms it offers: an index's entries, or a single manifest's config platform.
    pub platforms: Vec<Platform>,
}

/// The registry a `docker login` server address names: `https://index.docker.io/v1/` and
/// empty are Docker Hub; a scheme and path are dropped (`http://127.0.0.1:5000/` →
/// `127.0.0.1:5000`).
pub fn login_domain(server: &str) -> String {
    let s = server.trim();
    let s = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).unwrap_or(s);
    let host = s.split('/').next().unwrap_or("");
    match host {
        "" | "index.docker.io" | "docker.io" | "registry-1.docker.io" => DEFAULT_DOMAIN.to_owned(),
        h => h.to_owned(),
    }
}

impl Registry {
    /// Checks `credentials` against the registry `server` (as `docker login` names it): a
    /// `GET /v2/` answered with them, through Basic or a Bearer token. A registry that needs
    /// no login accepts any.
    pub async fn login(&self, server: &str, credentials: &Credentials) -> Result<(), RegistryError> {
        let domain = login_domain(server);
        let mut candidates = self.candidates(&domain, true).into_iter().peekable();
        while let Some(candidate) = candidates.next() {
            let session = Session {
                registry: self.clone(),
                endpoint: candidate.endpoint.clone(),
                repository: String::new(),
                credentials: Some(credentials.clone()),
                scopes: Vec::new(),
            };
            let step = "GET /v2/ (login)";
            let result = async {
                let resp = session.request(&Call::get(step, "/v2/")).await?;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    Err(session.status_error(step, resp).await)
                }
            }
            .await;
            match result {
                Err(e) if candidates.peek().is_some() && falls_back(candidate.fallback, &e) => {
                    tracing::debug!(endpoint = %candidate.endpoint, error = %chain(&e), "trying the next endpoint");
                }
                r => return r,
            }
        }
        unreachable!("every registry has at least one endpoint")
    }

    /// What `reference` resolves to on its registry, and for which platforms.
    pub async fn describe(&self, reference: &ImageRef, credentials: Option<&Credentials>) -> Result<Described, RegistryError> {
        let mut candidates = self.candidates(reference.domain(), false).into_iter().peekable();
        while let Some(candidate) = candidates.next() {
            let session = Session {
                registry: self.clone(),
                endpoint: candidate.endpoint.clone(),
                repository: reference.path().to_owned(),
                credentials: credentials.cloned(),
                scopes: vec![format!("repository:{}:pull", reference.path())],
            };
            match describe_on(&session, reference).await {
                Err(e) if candidates.peek().is_some() && falls_back(candidate.fallback, &e) => {
                    tracing::debug!(endpoint = %candidate.endpoint, error = %chain(&e), "trying the next endpoint");
                }
                r => return r,
            }
        }
        unreachable!("every reference has at least one endpoint")
    }
}

/// Whether a failure on an endpoint moves on to the next one.
pub(crate) fn falls_back(fallback: Fallback, e: &RegistryError) -> bool {
    match fallback {
        Fallback::AnyError => true,
        Fallback::TransportError => matches!(e, RegistryError::Transport { .. } | RegistryError::Timeout { .. }),
        Fallback::Never => false,
    }
}

async fn describe_on(session: &Session, reference: &ImageRef) -> Result<Described, RegistryError> {
    let target = match (reference.digest(), reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.to_owned(),
        (None, None) => crate::reference::DEFAULT_TAG.to_owned(),
    };
    let top = fetch_manifest(session, reference, &target, reference.digest()).await?;
    let parse = |what: &str, e: Box<dyn std::error::Error + Send + Sync>| RegistryError::Parse { reference: reference.familiar(), what: what.to_owned(), source: e };
    let platforms = if top.media_type == MEDIA_OCI_INDEX || top.media_type == MEDIA_DOCKER_LIST {
        let index = ImageIndex::from_reader(&top.data[..]).map_err(|e| parse("index", Box::new(e)))?;
        index
            .manifests()
            .iter()
            .filter_map(|d| d.platform().as_ref())
            .map(|p| Platform { os: p.os().to_string(), architecture: p.architecture().to_string(), variant: p.variant().clone() })
            .collect()
    } else {
        let manifest = oci_spec::image::ImageManifest::from_reader(&top.data[..]).map_err(|e| parse("manifest", Box::new(e)))?;
        let config = manifest.config().digest().to_string();
        let step = format!("GET config {config}");
        let path = format!("/v2/{}/blobs/{config}", session.repository);
        let resp = session.request(&Call::get(&step, &path)).await?;
        if !resp.status().is_success() {
            return Err(session.status_error(&step, resp).await);
        }
        let data = read_limited(session, &step, resp, JSON_LIMIT).await?;
        let c = ImageConfiguration::from_reader(&data[..]).map_err(|e| parse("config", Box::new(e)))?;
        vec![Platform { os: c.os().to_string(), architecture: c.architecture().to_string(), variant: c.variant().clone() }]
    };
    Ok(Described { digest: top.digest, media_type: top.media_type, size: top.data.len() as u64, platforms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_servers_name_registries() {
        for (server, want) in [
            ("https://index.docker.io/v1/", "docker.io"),
            ("", "docker.io"),
            ("docker.io", "docker.io"),
            ("127.0.0.1:5000", "127.0.0.1:5000"),
            ("http://127.0.0.1:5000/", "127.0.0.1:5000"),
            ("https://quay.io/v2/", "quay.io"),
        ] {
            assert_eq!(login_domain(server), want, "{server:?}");
        }
    }
}
