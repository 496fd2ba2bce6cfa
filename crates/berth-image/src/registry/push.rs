//! Push: an image of the [`ImageStore`] to a repository, blobs first (those the registry lacks:
//! `HEAD`, then a cross-repository mount attempt, then a monolithic upload streamed from the
//! content store), then the manifest under the tag.
//!
//! Uploads are monolithic (`POST` for a session, one `PUT ?digest=` with the whole blob): a
//! blob that fails mid-way is uploaded again from a new session, up to the retry policy's
//! attempts. Chunked (`PATCH`) uploads are not used.

use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Frame;
use tokio::sync::mpsc;

use super::error::RegistryError;
use super::progress::{ProgressFn, ProgressStatus, Reporter};
use super::session::{chain, Call, Session};
use super::transport::{empty_body, full_body, ReqBody};
use super::{Credentials, Registry};
use crate::digest::Digest;
use crate::images::{Image, ImageStore};
use crate::layout::JSON_LIMIT;
use crate::reference::ImageRef;

const UPLOAD_CHUNK: usize = 256 * 1024;

/// How to push.
#[derive(Clone, Default)]
pub struct PushOptions {
    pub credentials: Option<Credentials>,
    pub progress: Option<ProgressFn>,
    /// Repositories on the same registry (`library/busybox`) that may already hold the blobs:
    /// each missing blob is first offered as a cross-repository mount from the first of them.
    pub mount_from: Vec<String>,
}

impl std::fmt::Debug for PushOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushOptions").field("credentials", &self.credentials).field("mount_from", &self.mount_from).finish_non_exhaustive()
    }
}

/// What a push produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The manifest's digest, as the registry confirmed it.
    pub digest: Digest,
    pub size: u64,
}

impl Registry {
    /// Pushes `image` as `target` (which needs a tag); see the module doc.
    #[tracing::instrument(skip_all, fields(target = %target))]
    pub async fn push(&self, store: &Arc<ImageStore>, image: &Image, target: &ImageRef, opts: &PushOptions) -> Result<Pushed, RegistryError> {
        let reporter = Reporter::new(opts.progress.clone());
        let mut scopes = vec![format!("repository:{}:pull,push", target.path())];
        scopes.extend(opts.mount_from.iter().filter(|r| *r != target.path()).map(|r| format!("repository:{r}:pull")));
        let mut candidates = self.candidates(target.domain(), true).into_iter().peekable();
        while let Some(candidate) = candidates.next() {
            let session = Session {
                registry: self.clone(),
                endpoint: candidate.endpoint.clone(),
                repository: target.path().to_owned(),
                credentials: opts.credentials.clone(),
                scopes: scopes.clone(),
            };
            // the first request decides whether this endpoint speaks at all
            let first = &image.id;
            match blob_exists(&session, first).await {
                Ok(_) => return push_to(&session, store, image, target, opts, &reporter).await,
                Err(e) if candidates.peek().is_some() && super::inspect::falls_back(candidate.fallback, &e) => {
                    tracing::debug!(endpoint = %candidate.endpoint, error = %chain(&e), "trying the next endpoint");
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("every reference has at least one endpoint")
    }
}

async fn push_to(session: &Session, store: &Arc<ImageStore>, image: &Image, target: &ImageRef, opts: &PushOptions, reporter: &Reporter) -> Result<Pushed, RegistryError> {
    let tag = target.tag().unwrap_or(crate::reference::DEFAULT_TAG);
    for layer in &image.layers {
        reporter.report(layer.blob.short(), ProgressStatus::Preparing, 0, 0);
    }
    let blobs = image.layers.iter().map(|l| (&l.blob, l.size)).chain([(&image.id, image.config_size)]);
    for (digest, size) in blobs {
        push_blob(session, store, digest, size, opts, reporter).await?;
    }
    let manifest = {
        let (s, d) = (store.clone(), image.manifest.clone());
        super::pull::blocking(move || s.content().read_blob(&d, JSON_LIMIT).map_err(|source| RegistryError::ReadLocal { digest: d.clone(), source })).await??
    };
    let step = format!("PUT manifest {tag}");
    let path = format!("/v2/{}/manifests/{tag}", session.repository);
    let data = Bytes::from(manifest);
    let body = {
        let data = data.clone();
        move || full_body(data.clone())
    };
    let call = Call {
        step: &step,
        method: Method::PUT,
        target: &path,
        headers: vec![(CONTENT_TYPE, image.manifest_media_type.clone()), (CONTENT_LENGTH, data.len().to_string())],
        body: &body,
        retry: true,
    };
    let resp = session.request(&call).await?;
    if resp.status() != StatusCode::CREATED && !resp.status().is_success() {
        return Err(session.status_error(&step, resp).await);
    }
    if let Some(claimed) = resp.headers().get("docker-content-digest").and_then(|v| v.to_str().ok()).and_then(|v| Digest::parse(v).ok()) {
        if claimed != image.manifest {
            return Err(RegistryError::DigestMismatch { what: format!("manifest pushed to {}", session.name()), expected: image.manifest.clone(), actual: claimed });
        }
    }
    tracing::info!(digest = %image.manifest, "push done");
    Ok(Pushed { digest: image.manifest.clone(), size: data.len() as u64 })
}

/// `HEAD` on a blob: whether the repository has it.
async fn blob_exists(session: &Session, digest: &Digest) -> Result<bool, RegistryError> {
    let step = format!("HEAD blob {digest}");
    let path = format!("/v2/{}/blobs/{digest}", session.repository);
    let mut call = Call::get(&step, &path);
    call.method = Method::HEAD;
    let resp = session.request(&call).await?;
    match resp.status() {
        s if s.is_success() => Ok(true),
        StatusCode::NOT_FOUND => Ok(false),
        _ => Err(session.status_error(&step, resp).await),
    }
}

async fn push_blob(session: &Session, store: &Arc<ImageStore>, digest: &Digest, size: u64, opts: &PushOptions, reporter: &Reporter) -> Result<(), RegistryError> {
    let id = digest.short();
    if blob_exists(session, digest).await? {
        reporter.report(id, ProgressStatus::LayerAlreadyExists, 0, 0);
        return Ok(());
    }
    let retry = &session.registry.config().retry;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = upload_blob(session, store, digest, size, opts.mount_from.first().filter(|r| **r != session.repository), reporter).await;
        match result {
            Err(e) if e.is_transient() && attempt < retry.attempts => {
                tracing::debug!(blob = %digest, attempt, error = %chain(&e), "upload failed, starting again");
                reporter.report(id, ProgressStatus::Retrying, 0, size);
                tokio::time::sleep(retry.delay(attempt)).await;
            }
            other => return other,
        }
    }
}

/// One upload: a mount attempt or a new session, then the whole blob in one `PUT`.
async fn upload_blob(session: &Session, store: &Arc<ImageStore>, digest: &Digest, size: u64, mount_from: Option<&String>, reporter: &Reporter) -> Result<(), RegistryError> {
    let id = digest.short();
    let step = format!("POST upload {digest}");
    let path = match mount_from {
        Some(from) => format!("/v2/{}/blobs/uploads/?mount={digest}&from={from}", session.repository),
        None => format!("/v2/{}/blobs/uploads/", session.repository),
    };
    let call = Call { step: &step, method: Method::POST, target: &path, headers: vec![(CONTENT_LENGTH, "0".into())], body: &empty_body, retry: true };
    let resp = session.request(&call).await?;
    match resp.status() {
        StatusCode::CREATED if mount_from.is_some() => {
            reporter.report(id, ProgressStatus::Mounted, 0, 0);
            return Ok(());
        }
        StatusCode::ACCEPTED => {}
        _ => return Err(session.status_error(&step, resp).await),
    }
    let location = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned)
        .ok_or_else(|| RegistryError::NoLocation { registry: session.name().to_owned(), step: step.clone() })?;
    let base: http::Uri = session.endpoint.url(&format!("/v2/{}/blobs/uploads/", session.repository)).parse()
        .map_err(|e| RegistryError::Transport { registry: session.name().to_owned(), step: step.clone(), source: Box::new(e) })?;
    let upload = super::transport::resolve_location(&base, &location)
        .ok_or_else(|| RegistryError::NoLocation { registry: session.name().to_owned(), step: step.clone() })?;
    let upload = upload.to_string();
    let sep = if upload.contains('?') { '&' } else { '?' };
    let put_url = format!("{upload}{sep}digest={}", super::transport::encode_query(&digest.to_string()));

    let step = format!("PUT blob {digest}");
    let file_path = store.content().blob_path(digest);
    let progress = (reporter.clone(), id.to_owned(), size);
    let body = move || file_body(file_path.clone(), progress.clone());
    let call = Call {
        step: &step,
        method: Method::PUT,
        target: &put_url,
        headers: vec![(CONTENT_TYPE, "application/octet-stream".into()), (CONTENT_LENGTH, size.to_string())],
        body: &body,
        retry: false,
    };
    let resp = session.request(&call).await?;
    if resp.status() != StatusCode::CREATED && !resp.status().is_success() {
        return Err(session.status_error(&step, resp).await);
    }
    reporter.report(id, ProgressStatus::Pushed, size, size);
    Ok(())
}

/// A request body streamed from a file by a blocking reader task.
fn file_body(path: std::path::PathBuf, (reporter, id, total): (Reporter, String, u64)) -> ReqBody {
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(8);
    tokio::task::spawn_blocking(move || {
        let mut file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        let mut sent = 0u64;
        loop {
            let mut buf = vec![0u8; UPLOAD_CHUNK];
            match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    sent += n as u64;
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        return;
                    }
                    reporter.report(&id, ProgressStatus::Pushing, sent, total);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    ChannelBody { rx }.boxed()
}

struct ChannelBody {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.rx.poll_recv(cx).map(|chunk| chunk.map(|r| r.map(Frame::data)))
    }
}
