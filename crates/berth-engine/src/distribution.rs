//! Images to and from registries: pull, push, login, and what a reference names on its
//! registry. The client itself is berth-image's; this module adds Docker's API semantics:
//! references as the API spells them, credentials from `X-Registry-Auth`, Docker's progress
//! lines, one pull per reference at a time, and events.
//!
//! Progress goes to a [`ProgressSink`] as Docker's JSON message objects; the API streams them.
//! An error before the first message is the caller's to report as a status code; after it,
//! as an error message in the stream (what dockerd does).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use berth_api_types::image::{AuthConfig, DistributionInspect, OciDescriptor, OciPlatform, ProgressDetail, ProgressMessage};
use berth_image::registry::{Credentials, Progress, ProgressStatus, PullOptions, PushOptions};
use berth_image::layout::Platform;
use berth_image::ImageRef;
use tokio::sync::mpsc::UnboundedSender;

use crate::error::{Error, Result};
use crate::policy::Principal;
use crate::Engine;

/// Where progress messages go.
pub type ProgressSink = UnboundedSender<ProgressMessage>;

/// Pulls under way, by full reference.
#[derive(Default)]
pub(crate) struct Pulls(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl Pulls {
    fn slot(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).entry(key.to_owned()).or_default().clone()
    }

    /// Forgets `key` once no pull of it waits or runs.
    fn release(&self, key: &str) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if m.get(key).is_some_and(|s| Arc::strong_count(s) == 1) {
            m.remove(key);
        }
    }
}

/// What a pull asks for, as `POST /images/create` spells it.
#[derive(Debug, Default, Clone)]
pub struct PullRequest {
    /// `fromImage`: a name, possibly with a tag or digest.
    pub from_image: String,
    /// `tag`: a tag or a digest; empty when `from_image` carries one.
    pub tag: String,
    /// `platform`: `os/arch[/variant]`; empty for the host's.
    pub platform: String,
    pub auth: Option<AuthConfig>,
}

/// Credentials from an `AuthConfig` (user and password, or its `auth` field); `None` when it
/// has none. An identity token is used as the password, which registries that issue them take.
pub fn credentials(auth: Option<&AuthConfig>) -> Result<Option<Credentials>> {
    let Some(a) = auth else { return Ok(None) };
    if let (Some(u), Some(p)) = (a.username.as_deref().filter(|u| !u.is_empty()), a.password.as_deref()) {
        return Ok(Some(Credentials::new(u, p)));
    }
    if let Some(encoded) = a.auth.as_deref().filter(|s| !s.is_empty()) {
        let raw = berth_api_types::header::decode(encoded).ok_or_else(|| Error::InvalidParameter("the registry auth field is not base64".into()))?;
        let text = String::from_utf8(raw).map_err(|_| Error::InvalidParameter("the registry auth field is not UTF-8".into()))?;
        let (u, p) = text.split_once(':').ok_or_else(|| Error::InvalidParameter("the registry auth field is not user:password".into()))?;
        return Ok(Some(Credentials::new(u, p)));
    }
    if let Some(t) = a.identity_token.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credentials::new(a.username.clone().unwrap_or_else(|| "<token>".into()), t)));
    }
    Ok(None)
}

/// Docker's bar for progress that has a total: `[=====>      ]  1.2MB/3.4MB`.
pub fn progress_bar(current: u64, total: u64) -> String {
    const WIDTH: u64 = 50;
    let filled = (current.min(total) * WIDTH).checked_div(total).unwrap_or(0) as usize;
    let mut bar = "=".repeat(filled);
    if (filled as u64) < WIDTH {
        bar.push('>');
    }
    format!("[{bar:<50}] {:>8}/{}", human_size(current), human_size(total))
}

/// Sizes as Docker's progress shows them: decimal units, four significant digits (`1.235MB`).
pub fn human_size(n: u64) -> String {
    berth_api_types::units::human_size(n as i64, 4)
}

fn status(id: Option<&str>, text: impl Into<String>) -> ProgressMessage {
    ProgressMessage { id: id.map(str::to_owned), status: Some(text.into()), ..Default::default() }
}

/// A berth-image progress event as Docker's message.
fn message(p: &Progress) -> ProgressMessage {
    let mut m = status(Some(&p.id), p.status.as_str());
    m.progress_detail = Some(ProgressDetail::default());
    if matches!(p.status, ProgressStatus::Downloading | ProgressStatus::Extracting | ProgressStatus::Pushing) && p.total > 0 {
        m.progress_detail = Some(ProgressDetail { current: Some(p.current as i64), total: Some(p.total as i64) });
        m.progress = Some(progress_bar(p.current, p.total));
    }
    m
}

impl Engine {
    /// The reference a pull request names.
    fn pull_reference(req: &PullRequest) -> Result<ImageRef> {
        let invalid = |e: berth_image::ReferenceError| Error::InvalidParameter(format!("invalid reference format: {e}"));
        let named = ImageRef::parse_named(&req.from_image).map_err(invalid)?;
        if req.tag.is_empty() {
            if named.tag().is_none() && named.digest().is_none() {
                return Err(Error::NotImplemented("pulling every tag of a repository (docker pull --all-tags)".into()));
            }
            return Ok(named);
        }
        if named.tag().is_some() || named.digest().is_some() {
            return Err(Error::InvalidParameter(format!("invalid reference format: {}: give the tag either in the name or as tag, not both", req.from_image)));
        }
        let joined = if req.tag.contains(':') { format!("{}@{}", req.from_image, req.tag) } else { format!("{}:{}", req.from_image, req.tag) };
        ImageRef::parse_named(&joined).map_err(invalid)
    }

    /// `POST /images/create?fromImage=`: pulls into the store, reporting to `sink`. A second
    /// pull of the same reference waits for the first, then finds what it stored.
    pub async fn image_pull(&self, _principal: &Principal, req: &PullRequest, sink: &ProgressSink) -> Result<()> {
        self.check_serving()?;
        let reference = Self::pull_reference(req)?;
        let platform = if req.platform.is_empty() {
            Platform::host()
        } else {
            Platform::parse(&req.platform).map_err(|_| Error::InvalidParameter(format!("invalid platform {:?}: want os/arch[/variant]", req.platform)))?
        };
        let credentials = credentials(req.auth.as_ref())?;
        let key = reference.to_string();
        let slot = self.pulls.slot(&key);
        let result = async {
            let _running = slot.lock().await;
            let before = self.images.lookup(&key).ok().map(|i| i.id);
            let shown_tag = reference.tag().map(str::to_owned).unwrap_or_else(|| reference.digest().map(|d| d.to_string()).unwrap_or_default());
            let header = status(Some(&shown_tag), format!("Pulling from {}", reference.path()));
            let announced = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let progress = {
                let (sink, announced, header) = (sink.clone(), announced.clone(), header.clone());
                Arc::new(move |p: &Progress| {
                    if !announced.swap(true, std::sync::atomic::Ordering::SeqCst) {
                        let _ = sink.send(header.clone());
                    }
                    let _ = sink.send(message(p));
                })
            };
            let opts = PullOptions { platform, require_platform: !req.platform.is_empty(), credentials, progress: Some(progress) };
            let pulled = self.registry.pull(&self.images, &reference, &opts).await?;
            // Pulled by tag through an index: the index's digest is the repo digest Docker shows
            // (and a name the image can be found by).
            if reference.digest().is_none() && pulled.digest != pulled.image.manifest {
                let by_digest = reference.with_digest(pulled.digest.clone());
                self.images.tag(&pulled.image.id.to_string(), &by_digest)?;
            }
            if !announced.swap(true, std::sync::atomic::Ordering::SeqCst) {
                let _ = sink.send(header);
            }
            let _ = sink.send(status(None, format!("Digest: {}", pulled.digest)));
            let verdict = if before.as_ref() == Some(&pulled.image.id) { "Image is up to date for" } else { "Downloaded newer image for" };
            let _ = sink.send(status(None, format!("Status: {verdict} {}", reference.familiar())));
            self.events.publish("image", "pull", &reference.familiar(), BTreeMap::from([("name".to_owned(), reference.familiar())]));
            Ok(())
        }
        .await;
        drop(slot);
        self.pulls.release(&key);
        result
    }

    /// `POST /images/{name}/push`: pushes the image `name` finds to its repository, under
    /// `tag` (or the name's own tag); reports to `sink`, ending with Docker's
    /// `TAG: digest: D size: N` line and the `aux` result.
    pub async fn image_push(&self, _principal: &Principal, name: &str, tag: &str, auth: Option<&AuthConfig>, sink: &ProgressSink) -> Result<()> {
        self.check_serving()?;
        let named = ImageRef::parse_named(name).map_err(|e| Error::InvalidParameter(format!("invalid reference format: {e}")))?;
        let target = match (tag.is_empty(), named.tag()) {
            (false, _) => named.with_tag(tag).map_err(|e| Error::InvalidParameter(format!("invalid tag {tag:?}: {e}")))?,
            (true, Some(_)) => named.clone(),
            (true, None) => return Err(Error::NotImplemented("pushing every tag of a repository (docker push --all-tags)".into())),
        };
        let image = self.images.lookup(&target.to_string()).map_err(|_| Error::NoSuchImage(target.familiar()))?;
        let credentials = credentials(auth)?;
        // Repositories on the same registry already holding this image's layers: candidates
        // for a cross-repository mount.
        let mount_from: Vec<String> = self
            .images
            .list()
            .into_iter()
            .filter(|(i, _)| i.layers.iter().any(|l| image.layers.iter().any(|m| m.blob == l.blob)))
            .flat_map(|(_, names)| names)
            .filter(|n| n.domain() == target.domain() && n.path() != target.path())
            .map(|n| n.path().to_owned())
            .collect();
        let _ = sink.send(status(None, format!("The push refers to repository [{}]", target.repository())));
        let progress = {
            let sink = sink.clone();
            Arc::new(move |p: &Progress| {
                let mut m = message(p);
                if p.status == ProgressStatus::Mounted {
                    m.status = Some("Mounted from another repository".into());
                }
                let _ = sink.send(m);
            })
        };
        let opts = PushOptions { credentials, progress: Some(progress), mount_from };
        let pushed = self.registry.push(&self.images, &image, &target, &opts).await?;
        let shown_tag = target.tag().unwrap_or("latest").to_owned();
        let _ = sink.send(status(None, format!("{shown_tag}: digest: {} size: {}", pushed.digest, pushed.size)));
        let _ = sink.send(ProgressMessage {
            progress_detail: Some(ProgressDetail::default()),
            aux: Some(serde_json::json!({"Tag": shown_tag, "Digest": pushed.digest.to_string(), "Size": pushed.size})),
            ..Default::default()
        });
        self.events.publish("image", "push", &target.familiar(), BTreeMap::from([("name".to_owned(), target.familiar())]));
        Ok(())
    }

    /// `POST /auth`: checks the credentials against their registry. berthd keeps nothing: the
    /// client stores them and sends them with each pull and push.
    pub async fn login(&self, _principal: &Principal, auth: &AuthConfig) -> Result<()> {
        let creds = credentials(Some(auth))?.ok_or_else(|| Error::InvalidParameter("a login needs a username and password".into()))?;
        let server = auth.server_address.as_deref().unwrap_or("");
        Ok(self.registry.login(server, &creds).await?)
    }

    /// `GET /distribution/{name}/json`: what `name` resolves to on its registry.
    pub async fn distribution_inspect(&self, _principal: &Principal, name: &str, auth: Option<&AuthConfig>) -> Result<DistributionInspect> {
        let reference = ImageRef::parse(name).map_err(|e| Error::InvalidParameter(format!("invalid reference format: {e}")))?;
        let d = self.registry.describe(&reference, credentials(auth)?.as_ref()).await?;
        Ok(DistributionInspect {
            descriptor: OciDescriptor { media_type: Some(d.media_type), digest: d.digest.to_string(), size: d.size as i64, ..Default::default() },
            platforms: d
                .platforms
                .into_iter()
                .map(|p| OciPlatform { architecture: p.architecture, os: p.os, variant: p.variant, ..Default::default() })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_bars_look_like_dockers() {
        assert_eq!(human_size(512), "512B");
        assert_eq!(human_size(1_234_567), "1.235MB");
        assert_eq!(human_size(12_345_678), "12.35MB");
        assert_eq!(human_size(2_000_000), "2MB");
        assert_eq!(human_size(0), "0B");
        let bar = progress_bar(500, 1000);
        assert!(bar.starts_with("[=========================>"), "{bar}");
        assert!(bar.ends_with("500B/1kB"), "{bar}");
        assert!(progress_bar(1000, 1000).starts_with(&format!("[{}]", "=".repeat(50))));
    }

    #[test]
    fn pull_references_as_the_api_spells_them() {
        let r = |from: &str, tag: &str| Engine::pull_reference(&PullRequest { from_image: from.into(), tag: tag.into(), ..Default::default() });
        assert_eq!(r("busybox", "latest").expect("tag param").to_string(), "docker.io/library/busybox:latest");
        assert_eq!(r("busybox:1.36", "").expect("tag in name").familiar(), "busybox:1.36");
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(r("127.0.0.1:5000/x", &d).expect("digest param").familiar(), format!("127.0.0.1:5000/x@{d}"));
        assert_eq!(r("busybox", "").expect_err("all tags").kind(), crate::ErrorKind::NotImplemented);
        assert_eq!(r("Busybox", "latest").expect_err("uppercase").kind(), crate::ErrorKind::InvalidParameter);
        assert_eq!(r("busybox:1", "2").expect_err("two tags").kind(), crate::ErrorKind::InvalidParameter);
    }

    #[test]
    fn credentials_come_from_either_field() {
        let a = AuthConfig { username: Some("u".into()), password: Some("p".into()), ..Default::default() };
        assert_eq!(credentials(Some(&a)).expect("ok"), Some(Credentials::new("u", "p")));
        let b = AuthConfig { auth: Some("dTpwOng=".into()), ..Default::default() }; // u:p:x
        assert_eq!(credentials(Some(&b)).expect("ok"), Some(Credentials::new("u", "p:x")));
        assert_eq!(credentials(Some(&AuthConfig::default())).expect("ok"), None);
        assert!(credentials(Some(&AuthConfig { auth: Some("!!".into()), ..Default::default() })).is_err());
    }
}
