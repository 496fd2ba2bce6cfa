//! Pull: reference → manifest (platform chosen from an index) → config → layers, recorded in
//! the [`ImageStore`] under the reference.
//!
//! Layers download in parallel, at most [`RegistryConfig::max_concurrent_downloads`] at once.
//! Each one is a download task feeding a bounded channel and a blocking task reading from it
//! through the `layer` module (content store writer + unpacker): bytes are hashed, stored and
//! unpacked as they arrive, and the blob and its directory appear only once verified. A
//! download that breaks resumes with a `Range` request (or skips what it already has when the
//! registry ignores the range), so the consumer never sees the break; after
//! [`RetryPolicy::attempts`](super::RetryPolicy) tries without progress the pull fails, the
//! other layers are cancelled, and every temporary file and directory is gone before `pull`
//! returns. What was completed stays, so pulling again resumes there.
//!
//! [`RegistryConfig::max_concurrent_downloads`]: super::RegistryConfig::max_concurrent_downloads

use std::io::{self, Read};
use std::sync::Arc;

use bytes::{Buf, Bytes};
use http::header::{ACCEPT, CONTENT_RANGE, CONTENT_TYPE};
use http::StatusCode;
use http_body_util::BodyExt;
use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
use tokio::sync::{mpsc, watch, Semaphore};

use super::error::RegistryError;
use super::progress::{ProgressFn, ProgressStatus, Reporter};
use super::session::{chain, read_limited, Call, Session};
use super::{Credentials, Registry};
use crate::digest::{Digest, Digester};
use crate::images::{chain_id, Image, ImageStore, Layer};
use crate::layer::{ingest_layer, plan_layer, store_blob, unpack_stored, LayerPlan, LayerSpec};
use crate::layout::{Platform, JSON_LIMIT, MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST, MEDIA_DOCKER_SCHEMA1, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST};
use crate::reference::ImageRef;

/// What `Accept` asks for: both index kinds and both manifest kinds (never schema 1).
pub(crate) const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";
/// Chunks in flight between a download and its unpacker (each up to hyper's read size).
const CHANNEL_CHUNKS: usize = 16;
/// Bytes between two "Downloading" events of one layer.
const PROGRESS_EVERY: u64 = 512 * 1024;

/// How to pull.
#[derive(Clone)]
pub struct PullOptions {
    /// Which image of an index to take (`--platform`); the host's by default.
    pub platform: Platform,
    /// The platform was asked for (`--platform`): an image of a single manifest must be of it
    /// too, as Docker checks; else any is taken.
    pub require_platform: bool,
    pub credentials: Option<Credentials>,
    pub progress: Option<ProgressFn>,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions { platform: Platform::host(), require_platform: false, credentials: None, progress: None }
    }
}

impl std::fmt::Debug for PullOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullOptions").field("platform", &self.platform).field("credentials", &self.credentials).finish_non_exhaustive()
    }
}

/// What a pull produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    pub image: Image,
    /// The digest the reference resolved to (an index's when it was one): `docker pull`'s
    /// `Digest:` line and the image's repo digest.
    pub digest: Digest,
    /// The endpoint the image came from (a mirror's, or the registry's).
    pub endpoint: super::Endpoint,
}

/// A manifest as fetched: its bytes, digest and media type.
pub(crate) struct Fetched {
    pub digest: Digest,
    pub media_type: String,
    pub data: Bytes,
}

impl Registry {
    /// Pulls `reference` into `store` and names the image after it; see the module doc.
    #[tracing::instrument(skip_all, fields(reference = %reference))]
    pub async fn pull(&self, store: &Arc<ImageStore>, reference: &ImageRef, opts: &PullOptions) -> Result<Pulled, RegistryError> {
        let _lease = store.lease();
        let reporter = Reporter::new(opts.progress.clone());
        let mut candidates = self.candidates(reference.domain(), false).into_iter().peekable();
        while let Some(candidate) = candidates.next() {
            let session = Session {
                registry: self.clone(),
                endpoint: candidate.endpoint.clone(),
                repository: reference.path().to_owned(),
                credentials: opts.credentials.clone(),
                scopes: vec![format!("repository:{}:pull", reference.path())],
            };
            let resolved = resolve(&session, reference, &opts.platform).await;
            let (top, manifest) = match resolved {
                Ok(r) => r,
                Err(e) => {
                    if candidates.peek().is_some() && super::inspect::falls_back(candidate.fallback, &e) {
                        tracing::debug!(endpoint = %candidate.endpoint, error = %chain(&e), "trying the next endpoint");
                        continue;
                    }
                    return Err(access_denied(e, reference, opts));
                }
            };
            let wanted = opts.require_platform.then_some(&opts.platform);
            let image = fetch_image(Arc::new(session), store, reference, &top, &manifest, wanted, &reporter).await?;
            tracing::info!(digest = %top.digest, endpoint = %candidate.endpoint, "pull done");
            return Ok(Pulled { image, digest: top.digest, endpoint: candidate.endpoint });
        }
        unreachable!("every reference has at least one endpoint")
    }
}

/// Docker's words for a refused anonymous pull.
fn access_denied(e: RegistryError, reference: &ImageRef, opts: &PullOptions) -> RegistryError {
    match e {
        RegistryError::Unauthorized { message, .. } if opts.credentials.is_none() => {
            RegistryError::AccessDenied { repository: reference.familiar_repository(), message }
        }
        e => e,
    }
}

/// Resolves `reference` to (what it names, the image manifest for `platform`).
async fn resolve(session: &Session, reference: &ImageRef, platform: &Platform) -> Result<(Fetched, Fetched), RegistryError> {
    let target = match (reference.digest(), reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.to_owned(),
        (None, None) => crate::reference::DEFAULT_TAG.to_owned(),
    };
    let top = fetch_manifest(session, reference, &target, reference.digest()).await?;
    match top.media_type.as_str() {
        MEDIA_OCI_MANIFEST | MEDIA_DOCKER_MANIFEST => {
            let manifest = Fetched { digest: top.digest.clone(), media_type: top.media_type.clone(), data: top.data.clone() };
            Ok((top, manifest))
        }
        MEDIA_OCI_INDEX | MEDIA_DOCKER_LIST => {
            let index = ImageIndex::from_reader(&top.data[..]).map_err(|e| parse_err(reference, format!("index {}", top.digest), e))?;
            let child = choose_platform(&index, platform)
                .ok_or_else(|| RegistryError::NoMatchingPlatform { reference: reference.familiar(), platform: platform.to_string() })?;
            let child_digest = Digest::try_from(child.digest()).map_err(|e| parse_err(reference, format!("index {}", top.digest), e))?;
            let manifest = fetch_manifest(session, reference, &child_digest.to_string(), Some(&child_digest)).await?;
            match manifest.media_type.as_str() {
                MEDIA_OCI_MANIFEST | MEDIA_DOCKER_MANIFEST => Ok((top, manifest)),
                m if MEDIA_DOCKER_SCHEMA1.contains(&m) => Err(RegistryError::Schema1 { reference: reference.familiar() }),
                m => Err(RegistryError::UnsupportedMediaType { reference: reference.familiar(), media_type: m.to_owned() }),
            }
        }
        m if MEDIA_DOCKER_SCHEMA1.contains(&m) => Err(RegistryError::Schema1 { reference: reference.familiar() }),
        m => Err(RegistryError::UnsupportedMediaType { reference: reference.familiar(), media_type: m.to_owned() }),
    }
}

/// The entry of `index` for `platform`: an exact variant match first, then any match, then
/// (for an index that names no platforms at all) its only entry.
fn choose_platform<'i>(index: &'i ImageIndex, platform: &Platform) -> Option<&'i oci_spec::image::Descriptor> {
    let mut any = None;
    for d in index.manifests() {
        let Some(p) = d.platform() else { continue };
        let (os, arch, variant) = (p.os().to_string(), p.architecture().to_string(), p.variant().clone());
        if !platform.matches(&os, &arch, variant.as_deref()) {
            continue;
        }
        if variant.is_some() && variant == platform.variant {
            return Some(d);
        }
        any.get_or_insert(d);
    }
    any.or_else(|| match index.manifests().as_slice() {
        [only] if only.platform().is_none() => Some(only),
        _ => None,
    })
}

/// GETs one manifest, checks its digest (against `expected` and the registry's
/// `Docker-Content-Digest`), and tells its media type.
pub(crate) async fn fetch_manifest(session: &Session, reference: &ImageRef, target: &str, expected: Option<&Digest>) -> Result<Fetched, RegistryError> {
    let step = format!("GET manifest {target}");
    let path = format!("/v2/{}/manifests/{target}", session.repository);
    let resp = session.request(&Call::get(&step, &path).header(ACCEPT, MANIFEST_ACCEPT)).await?;
    if resp.status() == StatusCode::NOT_FOUND {
        let (_, message) = super::session::read_error(resp).await;
        let shown = match expected {
            Some(_) => reference.familiar(),
            None => reference.with_tag(target).map(|r| r.familiar()).unwrap_or_else(|_| reference.familiar()),
        };
        return Err(RegistryError::ManifestUnknown { reference: shown, message: if message.is_empty() { "manifest unknown".into() } else { message } });
    }
    if !resp.status().is_success() {
        return Err(session.status_error(&step, resp).await);
    }
    let header_type = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(|v| v.split(';').next().unwrap_or("").trim().to_owned());
    let header_digest = resp.headers().get("docker-content-digest").and_then(|v| v.to_str().ok()).and_then(|v| Digest::parse(v).ok());
    let data = read_limited(session, &step, resp, JSON_LIMIT).await?;
    let algorithm = expected.map(Digest::algorithm).unwrap_or(crate::digest::Algorithm::Sha256);
    let mut hasher = Digester::new(algorithm);
    hasher.update(&data);
    let digest = hasher.finish();
    for claimed in [expected, header_digest.as_ref().filter(|d| d.algorithm() == algorithm)].into_iter().flatten() {
        if claimed != &digest {
            return Err(RegistryError::DigestMismatch { what: format!("manifest {target} from {}", session.name()), expected: claimed.clone(), actual: digest });
        }
    }
    let media_type = media_type_of(header_type.as_deref(), &data);
    Ok(Fetched { digest, media_type, data })
}

/// The media type of a manifest: the `Content-Type` when it is specific, else the document's
/// own `mediaType`, else guessed from its shape (schema 1 documents say `schemaVersion: 1`).
fn media_type_of(header: Option<&str>, data: &[u8]) -> String {
    if let Some(h) = header.filter(|h| !h.is_empty() && *h != "application/json" && *h != "text/plain" && *h != "application/octet-stream") {
        return h.to_owned();
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Shape {
        schema_version: Option<u32>,
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
        layers: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Shape>(data) {
        Ok(Shape { media_type: Some(m), .. }) => m,
        Ok(Shape { schema_version: Some(1), .. }) => MEDIA_DOCKER_SCHEMA1[0].to_owned(),
        Ok(Shape { manifests: Some(_), .. }) => MEDIA_OCI_INDEX.to_owned(),
        Ok(Shape { layers: Some(_), .. }) => MEDIA_OCI_MANIFEST.to_owned(),
        _ => header.unwrap_or("").to_owned(),
    }
}

fn parse_err(reference: &ImageRef, what: String, e: impl std::error::Error + Send + Sync + 'static) -> RegistryError {
    RegistryError::Parse { reference: reference.familiar(), what, source: Box::new(e) }
}

/// One layer to fetch, owned so it can move into tasks.
#[derive(Debug, Clone)]
struct LayerJob {
    blob: Digest,
    size: u64,
    diff_id: Digest,
    chain_id: Digest,
}

impl LayerJob {
    fn spec(&self) -> LayerSpec<'_> {
        LayerSpec { blob: &self.blob, size: self.size, diff_id: &self.diff_id, chain_id: &self.chain_id }
    }
}

/// Fetches config and layers of `manifest` and records the image.
async fn fetch_image(
    session: Arc<Session>,
    store: &Arc<ImageStore>,
    reference: &ImageRef,
    top: &Fetched,
    manifest_fetched: &Fetched,
    wanted: Option<&Platform>,
    reporter: &Reporter,
) -> Result<Image, RegistryError> {
    let manifest = ImageManifest::from_reader(&manifest_fetched.data[..])
        .map_err(|e| parse_err(reference, format!("manifest {}", manifest_fetched.digest), e))?;
    let config_digest = Digest::try_from(manifest.config().digest()).map_err(|e| parse_err(reference, "config descriptor".into(), e))?;
    let config_size = manifest.config().size();

    if !store.content().exists(&config_digest) {
        let step = format!("GET config {config_digest}");
        let path = format!("/v2/{}/blobs/{config_digest}", session.repository);
        let resp = session.request(&Call::get(&step, &path)).await?;
        if !resp.status().is_success() {
            return Err(session.status_error(&step, resp).await);
        }
        let data = read_limited(&session, &step, resp, JSON_LIMIT).await?;
        store_bytes(store, &config_digest, data).await?;
    }
    let config_data = {
        let (store, d) = (store.clone(), config_digest.clone());
        blocking(move || store.content().read_blob(&d, JSON_LIMIT).map_err(|source| RegistryError::Store { digest: d.clone(), source })).await??
    };
    let config = ImageConfiguration::from_reader(&config_data[..]).map_err(|e| parse_err(reference, format!("config {config_digest}"), e))?;
    if let Some(w) = wanted {
        let (os, arch, variant) = (config.os().to_string(), config.architecture().to_string(), config.variant().clone());
        if !w.matches(&os, &arch, variant.as_deref()) {
            let actual = Platform { os, architecture: arch, variant };
            return Err(RegistryError::PlatformMismatch { reference: reference.familiar(), wanted: w.to_string(), actual: actual.to_string() });
        }
    }
    let diff_ids = config.rootfs().diff_ids();
    if diff_ids.len() != manifest.layers().len() {
        return Err(RegistryError::LayerCount { config: config_digest, layers: manifest.layers().len(), diff_ids: diff_ids.len() });
    }

    let mut jobs = Vec::new();
    let mut layers = Vec::new();
    let mut parent: Option<Digest> = None;
    for (desc, diff_id) in manifest.layers().iter().zip(diff_ids) {
        let blob = Digest::try_from(desc.digest()).map_err(|e| parse_err(reference, "layer descriptor".into(), e))?;
        let diff_id = Digest::parse(diff_id).map_err(|e| parse_err(reference, format!("diff_id of layer {blob}"), e))?;
        let chain = chain_id(parent.as_ref(), &diff_id);
        layers.push(Layer { blob: blob.clone(), media_type: desc.media_type().to_string(), size: desc.size(), diff_id: diff_id.clone(), chain_id: chain.clone() });
        jobs.push(LayerJob { blob, size: desc.size(), diff_id, chain_id: chain.clone() });
        parent = Some(chain);
    }
    fetch_layers(&session, store, jobs, reporter).await?;

    for f in [top, manifest_fetched] {
        store_bytes(store, &f.digest, f.data.clone()).await?;
    }
    let image = Image {
        id: config_digest.clone(),
        manifest: manifest_fetched.digest.clone(),
        manifest_media_type: manifest_fetched.media_type.clone(),
        manifest_size: manifest_fetched.data.len() as u64,
        config_size,
        layers,
    };
    let (s, img, name) = (store.clone(), image.clone(), reference.clone());
    blocking(move || s.record(img, &[name]).map_err(|source| RegistryError::Record { id: config_digest, source })).await??;
    Ok(image)
}

/// Runs every layer job, at most `max_concurrent_downloads` at once; on the first failure the
/// others are cancelled and waited for, so their temporary files are gone on return.
async fn fetch_layers(session: &Arc<Session>, store: &Arc<ImageStore>, jobs: Vec<LayerJob>, reporter: &Reporter) -> Result<(), RegistryError> {
    let limit = Arc::new(Semaphore::new(session.registry.config().max_concurrent_downloads.max(1)));
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut seen = std::collections::HashSet::new();
    for job in jobs {
        if !seen.insert(job.chain_id.clone()) {
            continue; // the same layer twice in one image: once is enough
        }
        let plan = plan_layer(store, job.spec());
        let id = job.blob.short().to_owned();
        if plan == LayerPlan::Present {
            reporter.report(&id, ProgressStatus::AlreadyExists, 0, 0);
            continue;
        }
        reporter.report(&id, ProgressStatus::PullingFsLayer, 0, 0);
        let (session, store, reporter, limit, cancel) = (session.clone(), store.clone(), reporter.clone(), limit.clone(), cancel_rx.clone());
        tasks.spawn(async move {
            let Ok(_permit) = limit.acquire_owned().await else { return Err(None) };
            pull_layer(&session, &store, job, plan, &reporter, cancel).await
        });
    }
    let mut first_err: Option<RegistryError> = None;
    while let Some(joined) = tasks.join_next().await {
        let result = joined.unwrap_or_else(|e| Err(Some(RegistryError::Task(e.to_string()))));
        if let Err(e) = result {
            if first_err.is_none() {
                let _ = cancel_tx.send(true);
                first_err = e;
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// How a download ended.
enum DownloadEnd {
    Complete,
    /// The consumer stopped reading: its own error says why.
    ConsumerGone,
    Failed(RegistryError),
    Cancelled,
}

/// Fetches, stores and unpacks one layer. `Err(None)` means cancelled by another's failure.
async fn pull_layer(
    session: &Session,
    store: &Arc<ImageStore>,
    job: LayerJob,
    plan: LayerPlan,
    reporter: &Reporter,
    mut cancel: watch::Receiver<bool>,
) -> Result<(), Option<RegistryError>> {
    let id = job.blob.short().to_owned();
    if plan == LayerPlan::UnpackStored {
        reporter.report(&id, ProgressStatus::Extracting, 0, job.size);
        let s = store.clone();
        blocking(move || unpack_stored(&s, job.spec()).map_err(RegistryError::from)).await.map_err(Some)?.map_err(Some)?;
        reporter.report(&id, ProgressStatus::PullComplete, 0, 0);
        return Ok(());
    }
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let consumer = {
        let (store, job) = (store.clone(), job.clone());
        tokio::task::spawn_blocking(move || {
            let reader = ChannelReader { rx, current: Bytes::new() };
            match plan {
                LayerPlan::BlobOnly => store_blob(&store, reader, job.spec()),
                _ => ingest_layer(&store, reader, job.spec()),
            }
        })
    };
    let end = tokio::select! {
        end = download_blob(session, &job, tx, reporter) => end,
        _ = cancel.wait_for(|c| *c) => DownloadEnd::Cancelled,
    };
    // the sender is gone now: the consumer reads to the end (or to the break) and stops
    if matches!(end, DownloadEnd::Complete) {
        reporter.report(&id, ProgressStatus::VerifyingChecksum, 0, 0);
        reporter.report(&id, ProgressStatus::DownloadComplete, 0, 0);
        reporter.report(&id, ProgressStatus::Extracting, job.size, job.size);
    }
    let consumed = consumer.await.map_err(|e| Some(RegistryError::Task(e.to_string())))?;
    match (end, consumed) {
        (DownloadEnd::Cancelled, _) => Err(None),
        (DownloadEnd::Failed(e), _) => Err(Some(e)),
        (_, Err(e)) => Err(Some(e.into())),
        (DownloadEnd::Complete | DownloadEnd::ConsumerGone, Ok(())) => {
            reporter.report(&id, ProgressStatus::PullComplete, 0, 0);
            Ok(())
        }
    }
}

/// Streams blob `job.blob` into `tx`, resuming after breaks; see the module doc.
async fn download_blob(session: &Session, job: &LayerJob, tx: mpsc::Sender<io::Result<Bytes>>, reporter: &Reporter) -> DownloadEnd {
    let config = session.registry.config();
    let id = job.blob.short();
    let step = format!("GET blob {}", job.blob);
    let path = format!("/v2/{}/blobs/{}", session.repository, job.blob);
    let mut offset = 0u64;
    let mut failures = 0u32;
    let mut reported = 0u64;
    loop {
        let offset_before = offset;
        let mut call = Call::get(&step, &path);
        call.retry = false;
        if let Some((name, value)) = Session::range_header(offset) {
            call = call.header(name, value);
        }
        let error = match session.request(&call).await {
            Err(e) => e,
            Ok(resp) if resp.status() == StatusCode::OK || resp.status() == StatusCode::PARTIAL_CONTENT => {
                // what to drop from the front: all we have when the range was ignored
                let mut skip = offset;
                if resp.status() == StatusCode::PARTIAL_CONTENT {
                    let start = resp.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok())
                        .and_then(|v| v.strip_prefix("bytes ")).and_then(|v| v.split('-').next()).and_then(|v| v.parse::<u64>().ok());
                    if start != Some(offset) {
                        return DownloadEnd::Failed(RegistryError::Transport {
                            registry: session.name().to_owned(),
                            step,
                            source: format!("asked for bytes from {offset}, got range {start:?}").into(),
                        });
                    }
                    skip = 0;
                }
                let mut body = resp.into_body();
                let broke = loop {
                    let frame = match tokio::time::timeout(config.stall_timeout, body.frame()).await {
                        Err(_) => break Some(RegistryError::Timeout { registry: session.name().to_owned(), step: step.clone(), secs: config.stall_timeout.as_secs() }),
                        Ok(None) => break None,
                        Ok(Some(Err(e))) => break Some(RegistryError::Transport { registry: session.name().to_owned(), step: step.clone(), source: Box::new(e) }),
                        Ok(Some(Ok(frame))) => frame,
                    };
                    let Ok(mut data) = frame.into_data() else { continue };
                    let drop_n = (skip.min(data.len() as u64)) as usize;
                    data.advance(drop_n);
                    skip -= drop_n as u64;
                    if data.is_empty() {
                        continue;
                    }
                    if offset + data.len() as u64 > job.size {
                        return DownloadEnd::Failed(RegistryError::BlobSize {
                            registry: session.name().to_owned(),
                            digest: job.blob.clone(),
                            expected: job.size,
                            actual: offset + data.len() as u64,
                        });
                    }
                    offset += data.len() as u64;
                    if tx.send(Ok(data)).await.is_err() {
                        return DownloadEnd::ConsumerGone;
                    }
                    if offset - reported >= PROGRESS_EVERY || offset == job.size {
                        reporter.report(id, ProgressStatus::Downloading, offset, job.size);
                        reported = offset;
                    }
                };
                match broke {
                    None if offset == job.size => return DownloadEnd::Complete,
                    None => RegistryError::BlobSize { registry: session.name().to_owned(), digest: job.blob.clone(), expected: job.size, actual: offset },
                    Some(e) => e,
                }
            }
            Ok(resp) => {
                let e = session.status_error(&step, resp).await;
                if !e.is_transient() {
                    return DownloadEnd::Failed(e);
                }
                e
            }
        };
        if offset > offset_before {
            failures = 0; // progress was made: a flaky link is not a dead one
        }
        failures += 1;
        if !error.is_transient() || failures >= config.retry.attempts {
            return DownloadEnd::Failed(error);
        }
        let delay = config.retry.delay(failures);
        tracing::debug!(blob = %job.blob, offset, failures, error = %chain(&error), "download broke, resuming");
        reporter.report(id, ProgressStatus::Retrying, offset, job.size);
        tokio::time::sleep(delay).await;
    }
}

/// The blocking side of a download: reads the chunks a download task sends.
struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// Verifies and stores a small blob held in memory.
pub(crate) async fn store_bytes(store: &Arc<ImageStore>, digest: &Digest, data: Bytes) -> Result<(), RegistryError> {
    let (s, d) = (store.clone(), digest.clone());
    blocking(move || {
        s.content().ingest(&data[..], &d, Some(data.len() as u64)).map_err(|source| RegistryError::Store { digest: d.clone(), source })
    })
    .await??;
    Ok(())
}

/// Runs blocking store work off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, RegistryError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| RegistryError::Task(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_from_header_or_body() {
        assert_eq!(media_type_of(Some(MEDIA_DOCKER_MANIFEST), b"{}"), MEDIA_DOCKER_MANIFEST);
        assert_eq!(media_type_of(Some("application/json"), br#"{"schemaVersion":1,"name":"x"}"#), MEDIA_DOCKER_SCHEMA1[0]);
        assert_eq!(media_type_of(None, br#"{"schemaVersion":2,"manifests":[]}"#), MEDIA_OCI_INDEX);
        assert_eq!(media_type_of(None, br#"{"schemaVersion":2,"config":{},"layers":[]}"#), MEDIA_OCI_MANIFEST);
        assert_eq!(media_type_of(Some("text/plain"), br#"{"mediaType":"application/vnd.oci.image.index.v1+json"}"#), MEDIA_OCI_INDEX);
    }

    #[test]
    fn platform_is_chosen_from_an_index() {
        let index: ImageIndex = serde_json::from_value(serde_json::json!({
            "schemaVersion": 2,
            "manifests": [
                {"mediaType": MEDIA_OCI_MANIFEST, "size": 1, "digest": format!("sha256:{}", "a".repeat(64)), "platform": {"os": "linux", "architecture": "arm", "variant": "v6"}},
                {"mediaType": MEDIA_OCI_MANIFEST, "size": 1, "digest": format!("sha256:{}", "b".repeat(64)), "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
                {"mediaType": MEDIA_OCI_MANIFEST, "size": 1, "digest": format!("sha256:{}", "c".repeat(64)), "platform": {"os": "linux", "architecture": "amd64"}},
                {"mediaType": MEDIA_OCI_MANIFEST, "size": 1, "digest": format!("sha256:{}", "d".repeat(64)), "platform": {"os": "unknown", "architecture": "unknown"}}
            ]
        })).expect("index");
        let pick = |p: &str| choose_platform(&index, &Platform::parse(p).expect("platform")).map(|d| d.digest().to_string()[7..8].to_owned());
        assert_eq!(pick("linux/amd64").as_deref(), Some("c"));
        assert_eq!(pick("linux/arm/v7").as_deref(), Some("b"));
        assert_eq!(pick("linux/arm").as_deref(), Some("a"), "no variant asked: the first arm");
        assert_eq!(pick("linux/arm64"), None);
        assert_eq!(pick("windows/amd64"), None);
    }
}
