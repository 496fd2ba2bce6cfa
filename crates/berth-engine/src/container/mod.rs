//! Containers: the in-memory index (API reads never touch the disk), and the lifecycle —
//! create, start, stop, kill, restart, remove, wait — in terms of records, snapshots and shims.
//!
//! Each container has one async lock (`op`) that orders its lifecycle operations; its record
//! sits behind a plain mutex that is never held across an `.await`. The shim's end is noticed
//! by [`Engine::watch`] (whoever started the shim, this daemon or an earlier one), which
//! records the exit, cleans up and applies the restart policy.

pub mod archive;
pub mod changes;
pub(crate) mod early;
pub mod etc;
pub mod health;
pub mod inspect;
pub mod mounts;
pub mod record;
pub mod runtime;
pub mod shim;
pub mod spec;
pub mod stats;
pub mod top;
pub mod update;
pub mod user;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use berth_api_types::container::{Config, ContainerCreateRequest, ContainerCreateResponse, RestartPolicy};
use berth_shim::protocol::Request;
use berth_shim::{LogDriver, ShimOptions};
use serde_json::Value;
use tokio::net::UnixStream;
use tokio::sync::{oneshot, watch};

use self::record::{Record, State, Status};
use crate::error::{Error, Result};
use crate::policy::{self, Principal};
use crate::Engine;

/// What waiters see of a container's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Life {
    /// How many times it has exited since the daemon started watching it.
    pub exits: u64,
    pub exit_code: i32,
    pub removed: bool,
}

/// Streams wanted by an attach.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttachStreams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// Set by the engine from the container's `StdinOnce`: the client's end of input closes
    /// the container's stdin.
    stdin_once: bool,
}

impl AttachStreams {
    pub fn new(stdin: bool, stdout: bool, stderr: bool) -> AttachStreams {
        AttachStreams { stdin, stdout, stderr, stdin_once: false }
    }
}

/// An attach waiting for its container to start.
pub(crate) struct PendingAttach {
    streams: AttachStreams,
    tx: oneshot::Sender<Result<UnixStream>>,
}

/// One container in the index.
pub struct Ctr {
    pub id: String,
    rec: Mutex<Record>,
    /// Orders lifecycle operations on this container.
    pub(crate) op: tokio::sync::Mutex<()>,
    life: watch::Sender<Life>,
    pending: Mutex<Vec<PendingAttach>>,
    /// A forced removal waits for this container's end.
    removing: AtomicBool,
    /// Restarts by policy since the last run of 10 s or more, or the last start by a user:
    /// what the backoff doubles with.
    backoff: std::sync::atomic::AtomicU32,
}

impl Ctr {
    pub(crate) fn new(rec: Record) -> Arc<Ctr> {
        let exit_code = rec.state.exit_code;
        Arc::new(Ctr {
            id: rec.id.clone(),
            rec: Mutex::new(rec),
            op: tokio::sync::Mutex::new(()),
            life: watch::channel(Life { exits: 0, exit_code, removed: false }).0,
            pending: Mutex::new(Vec::new()),
            removing: AtomicBool::new(false),
            backoff: std::sync::atomic::AtomicU32::new(0),
        })
    }

    pub fn rec(&self) -> MutexGuard<'_, Record> {
        self.rec.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Containers by id and by name.
#[derive(Default)]
pub(crate) struct Index {
    by_id: HashMap<String, Arc<Ctr>>,
    by_name: HashMap<String, String>,
}

/// The `condition` of `POST /containers/{id}/wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    NotRunning,
    NextExit,
    Removed,
}

impl WaitCondition {
    pub fn parse(s: &str) -> Result<WaitCondition> {
        match s {
            "" | "not-running" => Ok(WaitCondition::NotRunning),
            "next-exit" => Ok(WaitCondition::NextExit),
            "removed" => Ok(WaitCondition::Removed),
            _ => Err(Error::InvalidParameter(format!("invalid condition: {s:?}"))),
        }
    }
}

/// Docker's restart policy, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    No,
    Always,
    UnlessStopped,
    OnFailure(Option<i64>),
}

impl Restart {
    pub fn of(p: Option<&RestartPolicy>) -> Result<Restart> {
        let name = p.and_then(|p| p.name.as_deref()).unwrap_or("");
        let max = p.and_then(|p| p.maximum_retry_count).unwrap_or(0);
        // dockerd's checks and words.
        let only_on_failure = || {
            let negative = if max < 0 { " and cannot be negative" } else { "" };
            Err(Error::InvalidParameter(format!("invalid restart policy: maximum retry count can only be used with 'on-failure'{negative}")))
        };
        match name {
            "" => Ok(Restart::No),
            "no" | "always" | "unless-stopped" if max != 0 => only_on_failure(),
            "no" => Ok(Restart::No),
            "always" => Ok(Restart::Always),
            "unless-stopped" => Ok(Restart::UnlessStopped),
            "on-failure" if max < 0 => Err(Error::InvalidParameter("invalid restart policy: maximum retry count cannot be negative".into())),
            "on-failure" => Ok(Restart::OnFailure((max > 0).then_some(max))),
            _ => Err(Error::InvalidParameter(format!("invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"))),
        }
    }
}

/// Docker's merge of a request's Config with its image's: the request wins where it says
/// something; Env and Labels are merged by key.
pub fn merge_config(user: &Config, image: &Config) -> Config {
    let mut c = user.clone();
    let user_entry_empty = user.entrypoint.as_ref().is_none_or(|e| e.is_empty());
    if user_entry_empty {
        if user.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            c.cmd = image.cmd.clone();
        }
        if user.entrypoint.is_none() {
            c.entrypoint = image.entrypoint.clone();
        }
    }
    if c.entrypoint.as_deref() == Some(&[String::new()][..]) {
        c.entrypoint = Some(Vec::new());
    }
    // The request's variables first, then the image's it does not set, in dockerd's order.
    let key = |e: &str| e.split('=').next().unwrap_or("").to_owned();
    let mut env: Vec<String> = user.env.clone().unwrap_or_default();
    for e in image.env.iter().flatten() {
        if !env.iter().any(|u| key(u) == key(e)) {
            env.push(e.clone());
        }
    }
    c.env = Some(env);
    if c.working_dir.as_deref().unwrap_or("").is_empty() {
        c.working_dir = image.working_dir.clone();
    }
    if c.user.as_deref().unwrap_or("").is_empty() {
        c.user = image.user.clone();
    }
    let mut labels = image.labels.clone().unwrap_or_default();
    labels.extend(user.labels.clone().unwrap_or_default());
    c.labels = Some(labels);
    let mut ports = image.exposed_ports.clone().unwrap_or_default();
    ports.extend(user.exposed_ports.clone().unwrap_or_default());
    c.exposed_ports = (!ports.is_empty()).then_some(ports);
    let mut vols = image.volumes.clone().unwrap_or_default();
    vols.extend(user.volumes.clone().unwrap_or_default());
    c.volumes = (!vols.is_empty()).then_some(vols);
    if c.stop_signal.as_deref().unwrap_or("").is_empty() {
        c.stop_signal = image.stop_signal.clone();
    }
    if c.healthcheck.is_none() {
        c.healthcheck = image.healthcheck.clone();
    }
    if c.on_build.is_none() {
        c.on_build = image.on_build.clone();
    }
    c
}

/// A signal by name (`SIGTERM`, `TERM`, `term`) or number; None for unknown ones.
pub fn parse_signal(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    const NAMES: [&str; 31] = [
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",
        "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO",
        "PWR", "SYS",
    ];
    if let Some(i) = NAMES.iter().position(|n| *n == name) {
        return Some(i as i32 + 1);
    }
    match name {
        "IOT" => Some(6),
        "POLL" => Some(29),
        "CLD" => Some(17),
        "RTMIN" => Some(34),
        "RTMAX" => Some(64),
        _ => {
            let rt = |prefix: &str, sign: i32, base: i32| name.strip_prefix(prefix).and_then(|n| n.parse::<i32>().ok()).filter(|n| (1..=30).contains(n)).map(|n| base + sign * n);
            rt("RTMIN+", 1, 34).or_else(|| rt("RTMAX-", -1, 64))
        }
    }
}

impl Engine {
    fn index(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Finds a container by full id, name, or unique id prefix, as `principal` may see it.
    pub fn find(&self, principal: &Principal, key: &str) -> Result<Arc<Ctr>> {
        let idx = self.index();
        let name = key.strip_prefix('/').unwrap_or(key);
        let found = idx.by_id.get(key).cloned().or_else(|| idx.by_name.get(name).and_then(|id| idx.by_id.get(id)).cloned());
        let found = match found {
            Some(c) => Some(c),
            None if !key.is_empty() && key.bytes().all(|b| b.is_ascii_hexdigit()) => {
                let mut m = idx.by_id.iter().filter(|(id, c)| id.starts_with(key) && policy::can_see(principal, &c.rec().created_by));
                match (m.next(), m.next()) {
                    (Some((_, c)), None) => Some(c.clone()),
                    (Some(_), Some(_)) => return Err(Error::InvalidParameter(format!("multiple IDs found with provided prefix: {key}"))),
                    _ => None,
                }
            }
            None => None,
        };
        match found {
            Some(c) if policy::can_see(principal, &c.rec().created_by) => Ok(c),
            _ => Err(Error::NoSuchContainer(key.to_owned())),
        }
    }

    /// Every container `principal` may see.
    pub fn visible(&self, principal: &Principal) -> Vec<Arc<Ctr>> {
        self.index().by_id.values().filter(|c| policy::can_see(principal, &c.rec().created_by)).cloned().collect()
    }

    /// Every container, whoever made it (for the engine's own bookkeeping).
    pub(crate) fn all_containers(&self) -> Vec<Arc<Ctr>> {
        self.index().by_id.values().cloned().collect()
    }

    pub(crate) fn by_id(&self, id: &str) -> Option<Arc<Ctr>> {
        self.index().by_id.get(id).cloned()
    }

    pub(crate) fn insert(&self, ctr: Arc<Ctr>) {
        let name = ctr.rec().name.clone();
        let mut idx = self.index();
        idx.by_name.insert(name, ctr.id.clone());
        idx.by_id.insert(ctr.id.clone(), ctr);
    }

    /// Publishes a container event with its labels, name and image as attributes.
    pub(crate) fn container_event(&self, ctr: &Ctr, action: &str, extra: &[(&str, String)]) {
        let mut attrs: BTreeMap<String, String> = BTreeMap::new();
        {
            let r = ctr.rec();
            attrs.extend(r.config.labels.clone().unwrap_or_default());
            attrs.insert("name".into(), r.name.clone());
            attrs.insert("image".into(), r.image_name.clone());
        }
        for (k, v) in extra {
            attrs.insert((*k).to_owned(), v.clone());
        }
        self.events.publish("container", action, &ctr.id, attrs);
    }

    /// The image's config blob (`config`, `os`, `architecture`, ...).
    fn image_config_blob(&self, image: &berth_image::Image) -> Result<Value> {
        let data = self.images.content().read_blob(&image.id, 16 << 20).map_err(|e| Error::Internal(format!("read the config of image {}: {}", image.id, crate::error::chain(&e))))?;
        serde_json::from_slice(&data).map_err(|e| Error::Internal(format!("parse the config of image {}: {e}", image.id)))
    }

    /// Refuses an image whose config (`blob`) says another platform than `want`, as dockerd
    /// does for `create --platform`; `reference` is the image as the client named it.
    fn check_image_platform(blob: &Value, reference: &str, want: &berth_image::Platform) -> Result<()> {
        let field = |k: &str| blob.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let have = berth_image::Platform { os: field("os"), architecture: field("architecture"), variant: Some(field("variant")).filter(|v| !v.is_empty()) };
        if want.accepts(&have) {
            return Ok(());
        }
        Err(Error::PlatformMismatch { reference: reference.to_owned(), wanted: want.to_string(), actual: have.to_string() })
    }

    /// `POST /containers/create`; `platform` (the `platform` query parameter) is the one the
    /// image must be of.
    pub async fn create(&self, principal: &Principal, name: Option<&str>, platform: Option<&berth_image::Platform>, req: ContainerCreateRequest) -> Result<ContainerCreateResponse> {
        let mut host = req.host_config.unwrap_or_default();
        policy::check_create(principal, &host)?;
        spec::check_supported(&host)?;
        // The limits as dockerd checks them at create (a 1k memory limit is refused here).
        spec::limits(&host.resources)?;
        host.runtime = Some(self.runtime_name(host.runtime.as_deref())?);
        let restart = Restart::of(host.restart_policy.as_ref())?;
        if host.auto_remove == Some(true) && restart != Restart::No {
            return Err(Error::InvalidParameter("can't create 'AutoRemove' container with restart policy".into()));
        }
        if let Some(s) = req.config.stop_signal.as_deref().filter(|s| !s.is_empty()) {
            parse_signal(s).ok_or_else(|| Error::InvalidParameter(format!("invalid signal: {s}")))?;
        }
        let image_name = req.config.image.clone().filter(|i| !i.is_empty()).ok_or_else(|| Error::InvalidParameter("config.Image is required: which image should the container run?".into()))?;
        let image = self.images.lookup(&image_name).map_err(|e| match e {
            berth_image::ImageStoreError::NotFound { .. } => Error::NoSuchImage(familiar(&image_name)),
            other => Error::from(other),
        })?;
        let blob = self.image_config_blob(&image)?;
        if let Some(want) = platform {
            Self::check_image_platform(&blob, &image_name, want)?;
        }
        let image_config: Config = serde_json::from_value(blob.get("config").cloned().unwrap_or(Value::Null)).unwrap_or_default();
        let config = merge_config(&req.config, &image_config);
        if let Some(n) = host.oom_score_adj.filter(|n| !(-1000..=1000).contains(n)) {
            return Err(Error::InvalidParameter(format!("Invalid value {n}, range for oom score adj is [-1000, 1000]")));
        }
        if let Some(w) = config.working_dir.as_deref().filter(|w| !w.is_empty() && !w.starts_with('/')) {
            return Err(Error::InvalidParameter(format!("the working directory '{w}' is invalid, it needs to be an absolute path")));
        }
        health::validate(config.healthcheck.as_ref())?;
        let endpoints = self.endpoints_for_create(&host, req.networking_config.as_ref(), false)?;
        crate::network::check_network_mode(&req.config, &host)?;
        let mut warnings = crate::network::check_ports(&host, &config)?;
        if host.resources.blkio_weight.is_some_and(|w| w != 0) && !spec::blkio_weight_supported(self.pure_cgroup2) {
            host.resources.blkio_weight = Some(0);
            warnings.push(spec::BLKIO_WEIGHT_DISCARDED.into());
        }
        let volumes = self.resolve_volumes(principal, &mut host, &config)?;
        let mut cmd: Vec<String> = config.entrypoint.clone().unwrap_or_default();
        cmd.extend(config.cmd.clone().unwrap_or_default());
        if cmd.is_empty() {
            return Err(Error::InvalidParameter("no command specified".into()));
        }
        // Docker's normalisations, so inspect shows what Docker shows.
        if matches!(host.network_mode.as_deref(), None | Some("") | Some("default")) {
            host.network_mode = Some("bridge".into());
        }
        if host.restart_policy.as_ref().is_none_or(|p| p.name.as_deref().unwrap_or("").is_empty()) {
            host.restart_policy = Some(RestartPolicy { name: Some("no".into()), maximum_retry_count: Some(0) });
        }
        let log_kind = host.log_config.as_ref().and_then(|l| l.kind.clone()).filter(|k| !k.is_empty()).unwrap_or_else(|| "json-file".into());
        let log_opts = host.log_config.as_ref().and_then(|l| l.config.clone()).unwrap_or_default();
        host.log_config = Some(berth_api_types::container::LogConfig { kind: Some(log_kind), config: Some(log_opts) });
        if host.shm_size.unwrap_or(0) <= 0 {
            host.shm_size = Some(64 << 20);
        }
        // dockerd's defaults as it records them: a private IPC namespace, the cgroup namespace
        // its host kind gets, the masked and read-only paths of an unprivileged container, and
        // no pids limit as null.
        if host.ipc_mode.as_deref().unwrap_or("").is_empty() {
            host.ipc_mode = Some("private".into());
        }
        if host.cgroupns_mode.as_deref().unwrap_or("").is_empty() {
            host.cgroupns_mode = Some(if self.pure_cgroup2 { "private" } else { "host" }.into());
        }
        if host.privileged != Some(true) {
            host.masked_paths.get_or_insert_with(spec::default_masked_paths);
            host.readonly_paths.get_or_insert_with(spec::default_readonly_paths);
        }
        if host.resources.pids_limit.is_some_and(|p| p <= 0) {
            host.resources.pids_limit = None;
        }
        // The kernel's swappiness (-1) as unset; a memory limit's swap, when not given, twice
        // the limit, as dockerd records them.
        if host.resources.memory_swappiness == Some(-1) {
            host.resources.memory_swappiness = None;
        }
        if let Some(m) = host.resources.memory.filter(|m| *m > 0) {
            if host.resources.memory_swap.unwrap_or(0) == 0 {
                host.resources.memory_swap = Some(m.saturating_mul(2));
            }
        }
        let id = loop {
            let id = record::new_id();
            // Run directories are named by 16 digits: keep those unique.
            if !self.index().by_id.keys().any(|k| k[..16] == id[..16]) {
                break id;
            }
        };
        let mut rec = Record {
            id: id.clone(),
            name: String::new(),
            created: crate::time::now(),
            created_by: principal.clone(),
            path: cmd[0].clone(),
            args: cmd[1..].to_vec(),
            config,
            host_config: host,
            image: image.id.to_string(),
            image_name: image_name.clone(),
            state: State::default(),
            restart_count: 0,
            stopped_by_user: false,
            exec_ids: Vec::new(),
            volumes,
            endpoints,
            ports: Default::default(),
        };
        // The hostname: the host's with its network, the other container's with `container:`
        // (and its domain), else the short id, as dockerd picks it.
        let mode = rec.host_config.network_mode.clone().unwrap_or_default();
        if let Some(other) = mode.strip_prefix("container:") {
            // A container that is not there yet is no error until the start, as with dockerd
            // (a 404 here would send the docker CLI off to pull the image).
            if let Ok(o) = self.find(principal, other) {
                let or = o.rec();
                rec.config.hostname = or.config.hostname.clone();
                rec.config.domainname = or.config.domainname.clone();
            }
        } else if mode == "host" && rec.config.hostname.as_deref().unwrap_or("").is_empty() {
            rec.config.hostname = Some(rustix::system::uname().nodename().to_string_lossy().into_owned());
        }
        if rec.config.hostname.as_deref().unwrap_or("").is_empty() {
            rec.config.hostname = Some(id[..12].to_owned());
        }
        rec.config.image = Some(image_name);
        {
            // Names are taken under the index lock, so two creates cannot both get one.
            let mut idx = self.index();
            let name = match name.filter(|n| !n.is_empty()) {
                Some(n) => {
                    let n = record::check_name(n)?;
                    if let Some(other) = idx.by_name.get(&n) {
                        return Err(Error::NameInUse { name: n, id: other.clone() });
                    }
                    n
                }
                None => record::random_name(|n| idx.by_name.contains_key(n)),
            };
            rec.name = name.clone();
            idx.by_name.insert(name, id.clone());
        }
        if let Err(e) = rec.save(&self.cfg.containers_dir()) {
            self.index().by_name.remove(&rec.name);
            let _ = std::fs::remove_dir_all(Record::dir(&self.cfg.containers_dir(), &id));
            return Err(e);
        }
        let ctr = Ctr::new(rec);
        self.insert(ctr.clone());
        self.container_event(&ctr, "create", &[]);
        tracing::info!(container = &id[..12], "container created");
        // A start usually follows at once: the kernel's wait for it begins now.
        if let Some(w) = &self.attach_warmer {
            w.after_create();
        }
        Ok(ContainerCreateResponse { id, warnings })
    }

    fn shim_options(&self, rec: &Record) -> Result<ShimOptions> {
        let run = self.cfg.run_dir(&rec.id);
        let settings = crate::logs::log_settings(&rec.host_config)?;
        let log = match settings.driver.as_str() {
            "none" => LogDriver::None,
            _ => LogDriver::JsonFile(self.log_path(&rec.id)),
        };
        let (runtime_root, runtime_path, runtime_args) = self.shim_runtime(rec.host_config.runtime.as_deref())?;
        Ok(ShimOptions {
            id: berth_runtime::ContainerId::parse(&rec.id).map_err(|e| Error::Internal(format!("container id {}: {e}", rec.id)))?,
            bundle: run.join("bundle"),
            state_dir: run.join("shim"),
            runtime_root,
            runtime_path,
            runtime_args,
            log,
            tty: rec.config.tty == Some(true),
            open_stdin: rec.config.open_stdin == Some(true),
            hold: true,
            exec_process: None,
            log_rotate: settings.rotate,
        })
    }

    /// Docker's LogPath: `<data-root>/containers/<id>/<id>-json.log`.
    pub fn log_path(&self, id: &str) -> PathBuf {
        Record::dir(&self.cfg.containers_dir(), id).join(format!("{id}-json.log"))
    }

    /// `POST /containers/{id}/start`.
    pub async fn start(self: &Arc<Self>, principal: &Principal, key: &str) -> Result<()> {
        self.check_serving()?;
        let ctr = self.find(principal, key)?;
        let _op = ctr.op.lock().await;
        if !ctr.rec().state.status.is_live() {
            Self::started_by_user(&ctr);
        }
        self.start_locked(&ctr).await
    }

    /// A start or restart asked for by a user, as dockerd resets its restart manager then: the
    /// restart policy applies again (after a stop), counting from zero.
    fn started_by_user(ctr: &Ctr) {
        let mut r = ctr.rec();
        r.stopped_by_user = false;
        r.restart_count = 0;
        ctr.backoff.store(0, Ordering::SeqCst);
    }

    async fn start_locked(self: &Arc<Self>, ctr: &Arc<Ctr>) -> Result<()> {
        let status = ctr.rec().state.status;
        match status {
            Status::Paused => return Err(Error::Conflict("cannot start a paused container, try unpause instead".into())),
            s if s.is_live() => return Err(Error::NotModified(ctr.id.clone())),
            Status::Removing | Status::Dead => return Err(Error::Conflict(format!("container {} is marked for removal and cannot be started", &ctr.id[..12]))),
            _ => {}
        }
        match self.launch(ctr).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let message = crate::error::chain(&e);
                let auto_remove = {
                    let mut r = ctr.rec();
                    r.state.error = message.clone();
                    // Docker's exit codes for a command that cannot run.
                    let lower = message.to_ascii_lowercase();
                    if lower.contains("executable file not found") || lower.contains("no such file or directory") {
                        r.state.exit_code = 127;
                    } else if lower.contains("permission denied") {
                        r.state.exit_code = 126;
                    } else {
                        r.state.exit_code = 128;
                    }
                    let code = r.state.exit_code;
                    let _ = r.save(&self.cfg.containers_dir());
                    ctr.life.send_modify(|l| l.exit_code = code);
                    r.host_config.auto_remove == Some(true)
                };
                for p in std::mem::take(&mut *ctr.pending.lock().unwrap_or_else(|p| p.into_inner())) {
                    let _ = p.tx.send(Err(Error::Conflict(format!("container {} did not start: {message}", &ctr.id[..12]))));
                }
                if auto_remove {
                    // `--rm`: the client waits for the removal.
                    if let Err(e) = Box::pin(self.remove_locked(ctr, true, None)).await {
                        tracing::warn!(container = &ctr.id[..12], error = %crate::error::chain(&e), "auto-remove after a failed start");
                    }
                }
                Err(e)
            }
        }
    }

    /// Mounts the root, writes the bundle, starts a held shim, connects waiting attaches, then
    /// lets the container run.
    async fn launch(self: &Arc<Self>, ctr: &Arc<Ctr>) -> Result<()> {
        let rec = ctr.rec().clone();
        let mut early = early::EarlyCgroups::start(self, &rec);
        let launched = self.launch_with(ctr, &rec, &mut early).await;
        if launched.is_err() {
            early.undo().await;
        }
        launched
    }

    async fn launch_with(self: &Arc<Self>, ctr: &Arc<Ctr>, rec: &Record, early: &mut early::EarlyCgroups) -> Result<()> {
        let run = self.cfg.run_dir(&rec.id);
        let bundle = run.join("bundle");
        let rootfs = bundle.join("rootfs");
        let shim_dir = run.join("shim");
        // Whatever an earlier run left (a crash between steps) goes first.
        self.cleanup_run_dir(&rec.id, false);
        std::fs::create_dir_all(&rootfs).map_err(Error::io("create the bundle", &rootfs))?;
        Self::prepare_binds(&rec.host_config)?;
        let image = self.images.lookup(&rec.image).map_err(|_| Error::Conflict(format!("the image {} of container {} is gone", rec.image_name, &rec.id[..12])))?;
        let lowers = self.images.container_lowers(&image).map_err(Error::Image)?;
        let snap = berth_image::Snapshot::prepare(Record::dir(&self.cfg.containers_dir(), &rec.id).join("fs"), lowers)
            .map_err(|source| Error::Snapshot { id: rec.id.clone(), what: "prepare the root filesystem", source })?;
        // An auto-removed container's layer is deleted after its one run, or after a crash.
        let volatile = rec.host_config.auto_remove == Some(true);
        snap.mount(&rootfs, volatile).map_err(|source| Error::Snapshot { id: rec.id.clone(), what: "mount the root filesystem", source })?;
        let volumes = match self.prepare_volumes(&rec.volumes, &rootfs) {
            Ok(v) => v,
            Err(e) => {
                self.cleanup_run_dir(&rec.id, false);
                return Err(e);
            }
        };
        let launched = self.launch_mounted(ctr, &bundle, &rootfs, &shim_dir, volumes, early).await;
        if launched.is_err() {
            self.release_volumes(&rec.volumes);
            self.cleanup_run_dir(&rec.id, false);
        }
        launched
    }

    /// The cgroup path of a container (OCI `linux.cgroupsPath`).
    fn cgroups_path(&self, id: &str) -> String {
        format!("/{}/{}", self.cfg.cgroup_parent.trim_matches('/'), id)
    }

    async fn launch_mounted(
        self: &Arc<Self>,
        ctr: &Arc<Ctr>,
        bundle: &std::path::Path,
        rootfs: &std::path::Path,
        shim_dir: &std::path::Path,
        volumes: Vec<(PathBuf, String, bool)>,
        early: &mut early::EarlyCgroups,
    ) -> Result<()> {
        let (netns, mut wiring) = match self.network_up(ctr).await? {
            Some((ns, w)) => (Some(ns), Some(w)),
            None => (None, None),
        };
        // The record now holds the addresses the container got. Its links are made while the
        // shim creates the container, unless the container sets sysctls of its interfaces.
        let rec = &ctr.rec().clone();
        if rec.host_config.sysctls.as_ref().is_some_and(|s| s.keys().any(|k| k.starts_with("net."))) {
            if let Some(w) = wiring.take() {
                w.done().await?;
            }
        }
        let launched = async {
            let mut facts = self.facts(rec, rootfs, netns)?;
            facts.volumes = volumes;
            let config = spec::build(rec, &facts)?;
            let cfg_path = bundle.join("config.json");
            std::fs::write(&cfg_path, serde_json::to_vec(&config).expect("spec serializes")).map_err(Error::io("write the bundle's config.json", &cfg_path))?;
            let opts = self.shim_options(rec)?;
            early.ready().await;
            let pid = shim::launch(self.shim.clone(), opts.clone(), rec.id.clone()).await?;
            Ok::<_, Error>((opts, pid))
        }
        .await;
        // Nothing may undo the network while its links are still being made.
        let wired = match wiring {
            Some(w) => w.done().await,
            None => Ok(()),
        };
        let (opts, pid) = launched?;
        let sock = opts.socket_path();
        let shim_pid: i32 = std::fs::read_to_string(opts.pid_path()).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        let started = async {
            wired?;
            let pending = std::mem::take(&mut *ctr.pending.lock().unwrap_or_else(|p| p.into_inner()));
            for p in pending {
                let req = Request::Attach { stdin: p.streams.stdin, stdout: p.streams.stdout, stderr: p.streams.stderr, stdin_once: p.streams.stdin_once };
                let _ = p.tx.send(shim::request(&sock, &req, &rec.id, "attach").await.map(|(s, _)| s));
            }
            shim::request(&sock, &Request::Start, &rec.id, "start").await
        }
        .await;
        if let Err(e) = started {
            // The held shim ends the container itself when start fails; make sure.
            let _ = shim::request(&sock, &Request::Kill { signal: 9 }, &rec.id, "kill").await;
            shim::wait_gone(&sock, shim_pid).await;
            let _ = std::fs::remove_dir_all(shim_dir);
            return Err(e);
        }
        {
            let mut r = ctr.rec();
            r.state = State {
                status: Status::Running,
                pid,
                shim_pid,
                exit_code: 0,
                oom_killed: false,
                error: String::new(),
                started_at: crate::time::now(),
                finished_at: r.state.finished_at.clone(),
                health: None,
            };
            r.save(&self.cfg.containers_dir())?;
        }
        self.container_event(ctr, "start", &[]);
        tracing::info!(container = &rec.id[..12], pid, "container started");
        self.watch(ctr.clone(), shim_pid);
        self.watch_health(ctr.clone(), true);
        Ok(())
    }

    /// Writes a container's /etc/hostname, /etc/hosts and /etc/resolv.conf from its record:
    /// at start, and again when a network connect or disconnect of the running container
    /// changes its addresses or name servers (in place: the container sees them through bind
    /// mounts of these very files).
    pub(crate) fn write_etc_files(&self, rec: &Record, host_network: bool) -> Result<Vec<(PathBuf, &'static str)>> {
        let host = &rec.host_config;
        let hostname = rec.config.hostname.clone().unwrap_or_else(|| rec.id[..12].to_owned());
        let names = etc::own_names(&hostname, rec.config.domainname.as_deref().unwrap_or(""));
        let own: Vec<std::net::IpAddr> = rec.endpoints.values().flat_map(|e| e.ip.map(Into::into).into_iter().chain(e.ip6.map(Into::into))).collect();
        let embedded_dns = rec.endpoints.keys().any(|n| self.networks.get(n).is_some_and(|n| !n.is_default_bridge()));
        // The host's own /etc/hosts only matters with its network: not read on every start.
        let host_hosts = if host_network { std::fs::read_to_string("/etc/hosts").unwrap_or_default() } else { String::new() };
        let hosts = etc::hosts(host, host_network, &host_hosts, &own, &names, self.host_gateway())?;
        let resolv = etc::resolv_conf(host, host_network, embedded_dns, &etc::host_resolv_conf());
        etc::write(&Record::dir(&self.cfg.containers_dir(), &rec.id), &hostname, &hosts, &resolv)
    }

    /// Everything [`spec::build`] needs that is found on the host.
    fn facts(&self, rec: &Record, rootfs: &std::path::Path, netns: Option<PathBuf>) -> Result<spec::Facts> {
        let host = &rec.host_config;
        let user = rec.config.user.clone().unwrap_or_default();
        let (uid, gid, additional_gids) = user::resolve(rootfs, &user, host.group_add.as_deref().unwrap_or(&[]))?;
        // A working directory the image lacks is made (root's, 0755), as dockerd does.
        if let Some(w) = rec.config.working_dir.as_deref().filter(|w| w.len() > 1) {
            let root = rustix::fs::open(rootfs, rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC, rustix::fs::Mode::empty())
                .map_err(|e| Error::io("open the container's root", rootfs)(e.into()))?;
            berth_runtime::rootfs::resolve::mkdir_all_in_root(std::os::fd::AsFd::as_fd(&root), std::path::Path::new(w))
                .map_err(|e| Error::InvalidParameter(format!("cannot make the working directory {w}: {e}")))?;
        }
        let mut join = BTreeMap::new();
        // The container whose network this one shares (`container:`), if any.
        let mut network_owner = None;
        for (t, mode) in [("pid", &host.pid_mode), ("ipc", &host.ipc_mode), ("uts", &host.uts_mode), ("network", &host.network_mode)] {
            let m = mode.as_deref().unwrap_or("");
            if m == "host" {
                join.insert(t, None);
            } else if let Some(other) = m.strip_prefix("container:") {
                let o = self.find(&rec.created_by, other)?;
                if t == "network" {
                    network_owner = Some(o.id.clone());
                }
                let (pid, status) = {
                    let r = o.rec();
                    (r.state.pid, r.state.status)
                };
                if !status.is_live() {
                    return Err(Error::Conflict(format!("cannot join the {t} namespace of container {other}: it is not running")));
                }
                let ns = if t == "network" { "net" } else { t };
                join.insert(t, Some(format!("/proc/{pid}/ns/{ns}")));
            }
        }
        let host_network = join.get("network") == Some(&None);
        let etc_files = match network_owner {
            // The other container's files: its name, hosts and name servers are this one's.
            Some(owner) => etc::paths(&Record::dir(&self.cfg.containers_dir(), &owner)),
            None => self.write_etc_files(rec, host_network)?,
        };
        let caps = spec::capabilities(host)?;
        let (_, seccomp_opt) = spec::security_opts(host)?;
        let seccomp = if host.privileged == Some(true) {
            None
        } else {
            match seccomp_opt {
                Some(None) => None,
                Some(Some(custom)) => Some(self.seccomp_for(Some(&custom), &caps)?),
                None => Some(self.seccomp_for(None, &caps)?),
            }
        };
        Ok(spec::Facts {
            uid,
            gid,
            additional_gids,
            etc_files,
            cgroups_path: self.cgroups_path(&rec.id),
            join,
            seccomp,
            private_cgroupns: self.pure_cgroup2,
            init_bin: match host.resources.init {
                Some(true) => {
                    let init = self.cfg.shim_bin.with_file_name("berth-init");
                    if !init.exists() {
                        return Err(Error::Io { what: "find berth-init for --init (install it next to berth-shim)", path: init, source: std::io::ErrorKind::NotFound.into() });
                    }
                    Some(init)
                }
                _ => None,
            },
            default_ulimits: self.cfg.default_ulimits.clone(),
            volumes: Vec::new(),
            netns,
        })
    }

    /// The OCI form of a `custom` profile, or of Docker's default, for a container holding
    /// `caps`. The default is converted once per capability set and kept: every start needs it.
    fn seccomp_for(&self, custom: Option<&str>, caps: &[String]) -> Result<Value> {
        let default = custom.is_none();
        let profile = custom.unwrap_or(berth_runtime::seccomp::docker_default_profile());
        if default {
            if let Some(v) = self.seccomp_cache.lock().unwrap_or_else(|p| p.into_inner()).get(caps) {
                return Ok(v.clone());
            }
        }
        let arch = berth_runtime::seccomp::Arch::native().ok_or_else(|| Error::Internal("this architecture has no seccomp profile mapping".into()))?;
        let s = berth_runtime::seccomp::docker_profile_to_oci(profile, caps, arch, self.kernel)
            .map_err(|e| Error::InvalidParameter(format!("seccomp profile: {}", crate::error::chain(&e))))?;
        let v = serde_json::to_value(s).expect("a seccomp profile serializes");
        if default {
            self.seccomp_cache.lock().unwrap_or_else(|p| p.into_inner()).insert(caps.to_vec(), v.clone());
        }
        Ok(v)
    }

    /// Unmounts the root and removes the bundle and shim state of `id`. `going` says the
    /// container's layer is about to be deleted (a removal, an auto-removed container): its
    /// root is then detached at once and ends in the background (see below).
    fn cleanup_run_dir(&self, id: &str, going: bool) {
        self.network_down(id);
        let run = self.cfg.run_dir(id);
        // Exec shims still held (never started) would wait for ever: end them. The pid is
        // checked against the shim's command line, which names its state directory.
        for e in std::fs::read_dir(run.join("x")).into_iter().flatten().flatten() {
            let state = e.path().join("shim");
            shim::kill_ours(&state.join("shim.pid"), &state.to_string_lossy());
        }
        let rootfs = run.join("bundle/rootfs");
        if going {
            // Each mount on the root is detached, and its last reference dropped by the trash's
            // thread: the sync of the upper filesystem that ends a plain overlay runs there,
            // before the layer it would have saved is deleted.
            while let Ok(top) = rustix::fs::open(&rootfs, rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC, rustix::fs::Mode::empty()) {
                if berth_image::snapshot::unmount(&rootfs, true).is_err() {
                    break;
                }
                self.trash.release(top);
            }
        } else {
            // Done before this returns: the same layer may be mounted again next.
            while berth_image::snapshot::unmount(&rootfs, false).is_ok() {}
            let _ = berth_image::snapshot::unmount(&rootfs, true);
        }
        if !self.finishing().contains(id) {
            self.discard_run_dir(id);
        }
    }

    fn discard_run_dir(&self, id: &str) {
        let run = self.cfg.run_dir(id);
        if let Err(e) = self.trash.discard(&run) {
            tracing::warn!(container = &id[..12.min(id.len())], path = %run.display(), error = %e, "remove the container's run directory");
        }
    }

    /// Watches the shim `shim_pid` of `ctr` and records the container's end when it goes.
    ///
    /// The shim records the exit, lets its clients go, then deletes the container from its
    /// runtime (which reads the bundle) and ends. A container that may start again waits for
    /// all of that, and so does one removed by `rm -f`, whose removal, as dockerd's, leaves
    /// nothing of it behind (an OCI runtime's `list` no longer shows it). An auto-removed one
    /// (`run --rm`, whose client waits for the removal) does not: its end is recorded and its
    /// removal done and reported meanwhile, and its run directory waits for the shim.
    pub(crate) fn watch(self: &Arc<Self>, ctr: Arc<Ctr>, shim_pid: i32) {
        let engine = self.clone();
        let sock = self.shim_socket(&ctr.id);
        tokio::spawn(async move {
            shim::wait_closed(&sock).await;
            let auto_remove = ctr.rec().host_config.auto_remove == Some(true);
            let recorded = engine.shim_exit(&ctr.id).exists();
            if !(auto_remove && recorded && shim::alive(shim_pid)) {
                shim::wait_ended(shim_pid).await;
                engine.on_exit(&ctr).await;
                return;
            }
            engine.finishing().insert(ctr.id.clone());
            engine.on_exit(&ctr).await;
            shim::wait_ended(shim_pid).await;
            engine.finishing().remove(&ctr.id);
            engine.discard_run_dir(&ctr.id);
        });
    }

    /// Containers whose shims are still finishing (see [`Engine::watch`]): their run
    /// directories stay until the shim is gone.
    fn finishing(&self) -> MutexGuard<'_, std::collections::HashSet<String>> {
        self.finishing.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn on_exit(self: &Arc<Self>, ctr: &Arc<Ctr>) {
        let id = ctr.id.clone();
        let exit = berth_shim::exit::ExitRecord::read(&self.shim_exit(&id)).ok();
        // Exec shims of this container are gone with it (their processes shared its pid
        // namespace); only the records remain.
        let going = ctr.removing.load(Ordering::SeqCst) || ctr.rec().host_config.auto_remove == Some(true);
        self.cleanup_run_dir(&id, going);
        let (code, restart, stopped_by_user, started_at) = {
            let mut r = ctr.rec();
            if !r.state.status.is_live() {
                return;
            }
            self.release_volumes(&r.volumes);
            match &exit {
                Some(e) => {
                    r.state.exit_code = e.exit_code;
                    r.state.oom_killed = e.oom_killed;
                    r.state.finished_at = e.finished_at.clone();
                }
                None => {
                    r.state.exit_code = 255;
                    r.state.error = "the container's shim ended without recording an exit status".into();
                    r.state.finished_at = crate::time::now();
                }
            }
            r.state.status = Status::Exited;
            r.state.pid = 0;
            r.state.shim_pid = 0;
            // The record of a container being removed (`rm -f`, `--rm`) is deleted next: no
            // sync for it. Should the daemon die first, the one on disk still says running, and
            // the next daemon records the end (and removes an auto-removed one).
            if !going {
                if let Err(e) = r.save(&self.cfg.containers_dir()) {
                    tracing::error!(container = &id[..12], error = %crate::error::chain(&e), "save the container record");
                }
            }
            (r.state.exit_code, Restart::of(r.host_config.restart_policy.as_ref()).unwrap_or(Restart::No), r.stopped_by_user, r.state.started_at.clone())
        };
        tracing::info!(container = &id[..12], exit_code = code, "container exited");
        if exit.as_ref().is_some_and(|e| e.oom_killed) {
            self.container_event(ctr, "oom", &[]);
        }
        self.container_event(ctr, "die", &[("exitCode", code.to_string())]);
        ctr.life.send_modify(|l| {
            l.exits += 1;
            l.exit_code = code;
        });
        let auto_remove = ctr.rec().host_config.auto_remove == Some(true);
        if auto_remove {
            let engine = self.clone();
            let ctr = ctr.clone();
            tokio::spawn(async move {
                let _op = ctr.op.lock().await;
                if !ctr.rec().state.status.is_live() {
                    let removed = engine.remove_locked(&ctr, false, None).await;
                    if removed.is_ok() {
                        // --rm takes the anonymous volumes too, as Docker's does.
                        let vols = ctr.rec().volumes.clone();
                        engine.remove_anonymous_volumes(&vols);
                    }
                    if let Err(e) = removed {
                        tracing::warn!(container = &ctr.id[..12], error = %crate::error::chain(&e), "auto-remove");
                    }
                }
            });
            return;
        }
        let again = match restart {
            _ if stopped_by_user || self.shutting_down() => false,
            Restart::No => false,
            Restart::Always | Restart::UnlessStopped => true,
            Restart::OnFailure(max) => code != 0 && max.is_none_or(|m| ctr.rec().restart_count < m),
        };
        if again {
            self.schedule_restart(ctr.clone(), started_at);
        }
    }

    /// Docker's backoff: 100 ms doubling per restart, reset after a run of 10 s or more (the
    /// restart count goes on).
    fn schedule_restart(self: &Arc<Self>, ctr: Arc<Ctr>, started_at: String) {
        let ran = crate::time::parse_rfc3339(&started_at).map(|s| crate::time::now_nanos() - s).unwrap_or(0);
        if ran >= 10_000_000_000 {
            ctr.backoff.store(0, Ordering::SeqCst);
        }
        let count = ctr.backoff.fetch_add(1, Ordering::SeqCst) + 1;
        {
            let mut r = ctr.rec();
            r.restart_count += 1;
            r.state.status = Status::Restarting;
            let _ = r.save(&self.cfg.containers_dir());
        }
        let delay = Duration::from_millis(100u64.saturating_mul(1 << (count - 1).clamp(0, 10))).min(Duration::from_secs(60));
        let engine = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _op = ctr.op.lock().await;
            if ctr.rec().state.status != Status::Restarting || engine.shutting_down() {
                return;
            }
            ctr.rec().state.status = Status::Exited;
            // Only `start`, as dockerd: a `restart` event is a user's restart (compose tells the
            // two apart by it).
            if let Err(e) = engine.start_locked(&ctr).await {
                tracing::warn!(container = &ctr.id[..12], error = %crate::error::chain(&e), "restart");
            }
        });
    }

    fn shim_socket(&self, id: &str) -> PathBuf {
        self.cfg.run_dir(id).join("shim/shim.sock")
    }

    /// The exit record the shim of container `id` writes when the container ends.
    fn shim_exit(&self, id: &str) -> PathBuf {
        self.cfg.run_dir(id).join("shim/exit.json")
    }

    /// Sends `signal` to the container's init through its shim.
    async fn signal(&self, ctr: &Ctr, signal: i32) -> Result<()> {
        shim::request(&self.shim_socket(&ctr.id), &Request::Kill { signal }, &ctr.id, "signal").await.map(drop)
    }

    /// `POST /containers/{id}/kill`.
    pub async fn kill(&self, principal: &Principal, key: &str, signal: Option<&str>) -> Result<()> {
        let ctr = self.find(principal, key)?;
        let sig = match signal.filter(|s| !s.is_empty()) {
            Some(s) => parse_signal(s).ok_or_else(|| Error::InvalidParameter(format!("invalid signal: {s}")))?,
            None => 9,
        };
        let status = ctr.rec().state.status;
        if !status.is_live() {
            return Err(Error::Conflict(format!("Cannot kill container: {key}: {}", Error::NotRunning(ctr.id.clone()))));
        }
        if status == Status::Paused && sig != 9 {
            return Err(Error::Paused(ctr.id.clone()));
        }
        if sig == 9 || sig == 15 {
            ctr.rec().stopped_by_user = true;
        }
        self.signal(&ctr, sig).await?;
        if status == Status::Paused {
            // A frozen process takes its SIGKILL when thawed: dockerd's kill ends a paused
            // container at once.
            self.set_paused(&ctr, false).await?;
        }
        self.container_event(&ctr, "kill", &[("signal", sig.to_string())]);
        if signal.is_none_or(str::is_empty) {
            // A kill that names no signal returns once the container is dead (up to 2 s), as
            // dockerd's does: clients kill and then remove at once.
            self.until_exited(&ctr, Some(Duration::from_secs(2))).await;
        }
        Ok(())
    }

    /// Waits until the container's recorded exit count passes `seen`, or `deadline`.
    async fn until_exited(&self, ctr: &Ctr, deadline: Option<Duration>) -> bool {
        let mut rx = ctr.life.subscribe();
        let wait = async {
            loop {
                if !ctr.rec().state.status.is_live() {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        };
        match deadline {
            Some(d) => tokio::time::timeout(d, wait).await.is_ok(),
            None => {
                wait.await;
                true
            }
        }
    }

    /// `POST /containers/{id}/stop`: StopSignal, then SIGKILL after the timeout.
    pub async fn stop(&self, principal: &Principal, key: &str, timeout: Option<i64>, signal: Option<&str>) -> Result<()> {
        let ctr = self.find(principal, key)?;
        let _op = ctr.op.lock().await;
        self.stop_locked(&ctr, timeout, signal).await
    }

    async fn stop_locked(&self, ctr: &Ctr, timeout: Option<i64>, signal: Option<&str>) -> Result<()> {
        let (status, stop_signal, stop_timeout) = {
            let mut r = ctr.rec();
            if r.state.status == Status::Restarting {
                // Cancel the pending restart.
                r.state.status = Status::Exited;
                r.stopped_by_user = true;
                let _ = r.save(&self.cfg.containers_dir());
                return Ok(());
            }
            (r.state.status, r.config.stop_signal.clone(), r.config.stop_timeout)
        };
        if !status.is_live() {
            return Err(Error::NotModified(ctr.id.clone()));
        }
        ctr.rec().stopped_by_user = true;
        let sig_name = signal.filter(|s| !s.is_empty()).map(str::to_owned).or(stop_signal).filter(|s| !s.is_empty());
        let sig = match sig_name {
            Some(s) => parse_signal(&s).ok_or_else(|| Error::InvalidParameter(format!("invalid signal: {s}")))?,
            None => 15,
        };
        let secs = timeout.or(stop_timeout).unwrap_or(self.cfg.default_stop_timeout);
        if status == Status::Paused {
            self.set_paused(ctr, false).await?;
        }
        if sig != 9 && self.signal(ctr, sig).await.is_ok() {
            self.container_event(ctr, "kill", &[("signal", sig.to_string())]);
            let wait = if secs < 0 { None } else { Some(Duration::from_secs(secs as u64)) };
            if self.until_exited(ctr, wait).await {
                self.container_event(ctr, "stop", &[]);
                return Ok(());
            }
            tracing::info!(container = &ctr.id[..12], timeout_s = secs, "container did not stop in time: killing it");
        }
        if self.signal(ctr, 9).await.is_ok() {
            self.container_event(ctr, "kill", &[("signal", "9".into())]);
        }
        if !self.until_exited(ctr, Some(Duration::from_secs(30))).await {
            return Err(Error::Internal(format!("container {} did not exit 30 s after SIGKILL", &ctr.id[..12])));
        }
        self.container_event(ctr, "stop", &[]);
        Ok(())
    }

    /// `POST /containers/{id}/restart`.
    pub async fn restart(self: &Arc<Self>, principal: &Principal, key: &str, timeout: Option<i64>, signal: Option<&str>) -> Result<()> {
        let ctr = self.find(principal, key)?;
        let _op = ctr.op.lock().await;
        match self.stop_locked(&ctr, timeout, signal).await {
            Ok(()) | Err(Error::NotModified(_)) => {}
            Err(e) => return Err(e),
        }
        Self::started_by_user(&ctr);
        self.start_locked(&ctr).await?;
        self.container_event(&ctr, "restart", &[]);
        Ok(())
    }

    /// `POST /containers/{id}/pause` and `unpause`.
    pub async fn pause(&self, principal: &Principal, key: &str, pause: bool) -> Result<()> {
        let ctr = self.find(principal, key)?;
        let _op = ctr.op.lock().await;
        let status = ctr.rec().state.status;
        match (status, pause) {
            (Status::Running, true) | (Status::Paused, false) => {}
            (Status::Paused, true) => return Err(Error::Conflict(format!("Container {} is already paused", ctr.id))),
            (Status::Running, false) => return Err(Error::Conflict(format!("Container {} is not paused", ctr.id))),
            _ => return Err(Error::NotRunning(ctr.id.clone())),
        }
        self.set_paused(&ctr, pause).await?;
        self.container_event(&ctr, if pause { "pause" } else { "unpause" }, &[]);
        Ok(())
    }

    async fn set_paused(&self, ctr: &Ctr, pause: bool) -> Result<()> {
        let runtime = ctr.rec().host_config.runtime.clone();
        let res = self.with_backend(runtime.as_deref(), &ctr.id, move |rt, id| if pause { rt.pause(id) } else { rt.resume(id) }).await?;
        res.map_err(|e| Error::Internal(format!("{} container {}: {}", if pause { "pause" } else { "unpause" }, &ctr.id[..12], crate::error::chain(&e))))?;
        let mut r = ctr.rec();
        r.state.status = if pause { Status::Paused } else { Status::Running };
        r.save(&self.cfg.containers_dir())
    }

    /// `DELETE /containers/{id}`.
    /// `DELETE /containers/{id}`; `volumes` (`rm -v`) also removes its anonymous volumes.
    pub async fn remove(self: &Arc<Self>, principal: &Principal, key: &str, force: bool, volumes: bool) -> Result<()> {
        let ctr = self.find(principal, key)?;
        let mut killed = None;
        if force && ctr.rec().state.status == Status::Running {
            // Killed before waiting for the container's other operations: a `stop` waiting
            // out its timeout then sees the exit at once, as with dockerd's `rm -f`.
            killed = Some(ctr.life.borrow().exits);
            self.kill_for_removal(&ctr, false).await;
        }
        let _op = ctr.op.lock().await;
        {
            // A container waiting out its restart backoff: refused, as by dockerd, unless
            // forced, which cancels the restart.
            let mut r = ctr.rec();
            if r.state.status == Status::Restarting {
                if !force {
                    return Err(Error::Conflict(format!("You cannot remove a restarting container {}. Stop the container before attempting removal or force remove", ctr.id)));
                }
                r.state.status = Status::Exited;
                r.stopped_by_user = true;
            }
        }
        self.remove_locked(&ctr, force, killed).await?;
        if volumes {
            let vols = ctr.rec().volumes.clone();
            self.remove_anonymous_volumes(&vols);
        }
        Ok(())
    }

    /// What `rm -f` does to a live container: marks it as going (nothing restarts it), thaws it
    /// when `paused` (a frozen process takes its SIGKILL only then), and sends SIGKILL.
    async fn kill_for_removal(&self, ctr: &Ctr, paused: bool) {
        ctr.rec().stopped_by_user = true;
        ctr.removing.store(true, Ordering::SeqCst);
        if paused {
            let _ = self.set_paused(ctr, false).await;
        }
        let _ = self.signal(ctr, 9).await;
    }

    /// Removes the container; `force` kills a live one first, unless `killed` holds its exit
    /// count when the caller killed it and it has not been started again since.
    async fn remove_locked(&self, ctr: &Arc<Ctr>, force: bool, killed: Option<u64>) -> Result<()> {
        let (status, name) = {
            let r = ctr.rec();
            (r.state.status, r.name.clone())
        };
        if status.is_live() {
            if !force {
                return Err(Error::RemoveRunning { name });
            }
            if killed != Some(ctr.life.borrow().exits) || status == Status::Paused {
                self.kill_for_removal(ctr, status == Status::Paused).await;
            }
            if !self.until_exited(ctr, Some(Duration::from_secs(30))).await {
                return Err(Error::Internal(format!("container {} did not exit 30 s after SIGKILL", &ctr.id[..12])));
            }
        }
        {
            let mut r = ctr.rec();
            r.state.status = Status::Removing;
        }
        self.cleanup_run_dir(&ctr.id, true);
        let dir = Record::dir(&self.cfg.containers_dir(), &ctr.id);
        let removed = self.trash.discard(&dir);
        if let Some(e) = removed.as_ref().err().filter(|e| e.kind() != std::io::ErrorKind::NotFound) {
            let mut r = ctr.rec();
            r.state.status = Status::Dead;
            r.state.error = format!("remove {}: {e}", dir.display());
            return Err(Error::Io { what: "remove the container's directory", path: dir, source: std::io::Error::new(e.kind(), e.to_string()) });
        }
        {
            let mut idx = self.index();
            idx.by_id.remove(&ctr.id);
            if idx.by_name.get(&name) == Some(&ctr.id) {
                idx.by_name.remove(&name);
            }
        }
        self.forget_execs(&ctr.id);
        self.container_event(ctr, "destroy", &[]);
        ctr.life.send_modify(|l| l.removed = true);
        tracing::info!(container = &ctr.id[..12], "container removed");
        Ok(())
    }

    /// `POST /containers/{id}/wait`: resolves to the exit code once `condition` holds.
    pub async fn wait(&self, principal: &Principal, key: &str, condition: WaitCondition) -> Result<impl std::future::Future<Output = i64> + Send + 'static> {
        let ctr = self.find(principal, key)?;
        let mut rx = ctr.life.subscribe();
        let start = *rx.borrow();
        // The record's status and exit code change together; `life` follows a moment later.
        let (live, recorded) = {
            let r = ctr.rec();
            (r.state.status.is_live() || r.state.status == Status::Restarting, r.state.exit_code)
        };
        Ok(async move {
            loop {
                let now = *rx.borrow_and_update();
                let done = match condition {
                    WaitCondition::NotRunning => !live || now.exits > start.exits || now.removed,
                    WaitCondition::NextExit => now.exits > start.exits || now.removed,
                    WaitCondition::Removed => now.removed,
                };
                if done {
                    // Not running when asked, and no exit seen since: the recorded code (the
                    // one `life` may not carry yet).
                    let code = if condition == WaitCondition::NotRunning && !live && now.exits == start.exits && !now.removed { recorded } else { now.exit_code };
                    return i64::from(code);
                }
                if rx.changed().await.is_err() {
                    return i64::from(now.exit_code);
                }
            }
        })
    }

    /// `POST /containers/{id}/rename`.
    pub fn rename(&self, principal: &Principal, key: &str, new_name: &str) -> Result<()> {
        let ctr = self.find(principal, key)?;
        let new = record::check_name(new_name)?;
        let old = {
            let mut idx = self.index();
            if let Some(other) = idx.by_name.get(&new) {
                if other == &ctr.id {
                    return Err(Error::InvalidParameter(format!("Renaming a container with the same name as its current name: {new}")));
                }
                return Err(Error::Conflict(format!("Error when allocating new name: {}", Error::NameInUse { name: new, id: other.clone() })));
            }
            let old = ctr.rec().name.clone();
            idx.by_name.remove(&old);
            idx.by_name.insert(new.clone(), ctr.id.clone());
            old
        };
        let saved = {
            let mut r = ctr.rec();
            r.name = new.clone();
            r.save(&self.cfg.containers_dir())
        };
        if let Err(e) = saved {
            let mut idx = self.index();
            idx.by_name.remove(&new);
            idx.by_name.insert(old.clone(), ctr.id.clone());
            ctr.rec().name = old;
            return Err(e);
        }
        self.container_event(&ctr, "rename", &[("oldName", format!("/{old}"))]);
        Ok(())
    }

    /// Attaches to the container's streams: at once when it runs, else when it next starts.
    /// Returns the shim connection carrying them (multiplexed frames unless it has a tty).
    pub async fn attach(&self, principal: &Principal, key: &str, streams: AttachStreams) -> Result<(UnixStream, bool)> {
        let ctr = self.find(principal, key)?;
        let (status, tty, open_stdin, once) = {
            let r = ctr.rec();
            (r.state.status, r.config.tty == Some(true), r.config.open_stdin == Some(true), r.config.stdin_once == Some(true))
        };
        // As Docker: the end of a client's input closes stdin only without a tty (with one,
        // the client's end of input is how a detach looks).
        let streams = AttachStreams { stdin: streams.stdin && open_stdin, stdin_once: once && !tty, ..streams };
        self.container_event(&ctr, "attach", &[]);
        if status.is_live() {
            let req = Request::Attach { stdin: streams.stdin, stdout: streams.stdout, stderr: streams.stderr, stdin_once: streams.stdin_once };
            let (s, _) = shim::request(&self.shim_socket(&ctr.id), &req, &ctr.id, "attach").await?;
            return Ok((s, tty));
        }
        let (tx, rx) = oneshot::channel();
        ctr.pending.lock().unwrap_or_else(|p| p.into_inner()).push(PendingAttach { streams, tx });
        let s = rx.await.map_err(|_| Error::Conflict(format!("container {} was removed before it started", &ctr.id[..12])))??;
        Ok((s, tty))
    }

    /// `POST /containers/{id}/resize`.
    pub async fn resize(&self, principal: &Principal, key: &str, height: u16, width: u16) -> Result<()> {
        let ctr = self.find(principal, key)?;
        if !ctr.rec().state.status.is_live() {
            return Err(Error::NotRunning(ctr.id.clone()));
        }
        // A resize that races the container's end finds the shim gone: that is "not running".
        shim::request(&self.shim_socket(&ctr.id), &Request::Resize { height, width }, &ctr.id, "resize").await.map(drop).map_err(|e| {
            if ctr.rec().state.status.is_live() && self.shim_socket(&ctr.id).exists() { e } else { Error::NotRunning(ctr.id.clone()) }
        })
    }

    /// At daemon start: containers whose shim still runs are watched again; those whose shim
    /// ended meanwhile get their exit recorded; restart policies apply.
    pub(crate) async fn recover(self: &Arc<Self>) {
        for ctr in self.visible(&Principal::Admin) {
            let (status, shim_pid) = {
                let r = ctr.rec();
                (r.state.status, r.state.shim_pid)
            };
            let sock = self.shim_socket(&ctr.id);
            if status.is_live() && shim::alive(shim_pid) && sock.exists() {
                for v in &ctr.rec().volumes {
                    self.volumes.adopt(&v.name);
                }
                self.watch(ctr.clone(), shim_pid);
                self.watch_health(ctr.clone(), false);
                continue;
            }
            if status.is_live() {
                self.on_exit(&ctr).await;
                continue;
            }
            // A shim held by a daemon that died before it said start: end it.
            if sock.exists() {
                let _ = shim::request(&sock, &Request::Kill { signal: 9 }, &ctr.id, "kill").await;
                if let Some(pid) = std::fs::read_to_string(self.cfg.run_dir(&ctr.id).join("shim/shim.pid")).ok().and_then(|s| s.trim().parse().ok()) {
                    shim::wait_gone(&sock, pid).await;
                }
            }
            self.cleanup_run_dir(&ctr.id, false);
            // As under dockerd: an auto-removed container that does not run goes.
            if ctr.rec().host_config.auto_remove == Some(true) {
                let _op = ctr.op.lock().await;
                if let Err(e) = self.remove_locked(&ctr, false, None).await {
                    tracing::warn!(container = &ctr.id[..12], error = %crate::error::chain(&e), "remove an auto-removed container at daemon start");
                }
                continue;
            }
            let restart = {
                let mut r = ctr.rec();
                if r.state.status == Status::Restarting {
                    r.state.status = Status::Exited;
                }
                let policy = Restart::of(r.host_config.restart_policy.as_ref()).unwrap_or(Restart::No);
                !r.stopped_by_user && matches!(policy, Restart::Always | Restart::UnlessStopped) && r.state.started_at != record::ZERO_TIME
            };
            if restart {
                let engine = self.clone();
                let ctr = ctr.clone();
                tokio::spawn(async move {
                    let _op = ctr.op.lock().await;
                    if let Err(e) = engine.start_locked(&ctr).await {
                        tracing::warn!(container = &ctr.id[..12], error = %crate::error::chain(&e), "restart at daemon start");
                    }
                });
            }
        }
        self.sweep_run_dirs();
    }

    /// Removes the run directories of containers that are gone: those whose shims were still
    /// finishing when the last daemon stopped ([`Engine::watch`]). A directory whose shim still
    /// answers on its socket stays.
    fn sweep_run_dirs(&self) {
        let known: std::collections::HashSet<PathBuf> = self.visible(&Principal::Admin).iter().map(|c| self.cfg.run_dir(&c.id)).collect();
        for e in std::fs::read_dir(self.cfg.exec_root.join("c")).into_iter().flatten().flatten() {
            let dir = e.path();
            if known.contains(&dir) || std::os::unix::net::UnixStream::connect(dir.join("shim/shim.sock")).is_ok() {
                continue;
            }
            if let Err(e) = self.trash.discard(&dir) {
                tracing::warn!(path = %dir.display(), error = %e, "remove a run directory no container has");
            }
        }
    }
}

/// `busybox` → `busybox:latest`, as Docker names a missing image.
fn familiar(name: &str) -> String {
    match berth_image::ImageRef::parse(name) {
        Ok(r) => r.familiar(),
        Err(_) => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_merge_follows_docker() {
        let image = Config {
            cmd: Some(vec!["sh".into()]),
            entrypoint: None,
            env: Some(vec!["PATH=/bin".into(), "A=image".into()]),
            working_dir: Some("/srv".into()),
            labels: Some([("a".to_owned(), "1".to_owned())].into()),
            ..Default::default()
        };
        let user = Config { cmd: Some(vec!["echo".into(), "hi".into()]), env: Some(vec!["A=user".into()]), ..Default::default() };
        let c = merge_config(&user, &image);
        assert_eq!(c.cmd, Some(vec!["echo".into(), "hi".into()]));
        assert_eq!(c.env, Some(vec!["A=user".into(), "PATH=/bin".into()]), "the request's first, as dockerd merges them");
        assert_eq!(c.working_dir.as_deref(), Some("/srv"));
        let c = merge_config(&Config::default(), &image);
        assert_eq!(c.cmd, Some(vec!["sh".into()]));
        // --entrypoint "" clears the image's entrypoint and does not take its Cmd.
        let ep = Config { entrypoint: Some(vec![String::new()]), cmd: Some(vec!["ls".into()]), ..Default::default() };
        let img = Config { entrypoint: Some(vec!["/init".into()]), cmd: Some(vec!["x".into()]), ..Default::default() };
        let c = merge_config(&ep, &img);
        assert_eq!(c.entrypoint, Some(vec![]));
        assert_eq!(c.cmd, Some(vec!["ls".into()]));
    }

    #[test]
    fn signals_parse() {
        assert_eq!(parse_signal("SIGTERM"), Some(15));
        assert_eq!(parse_signal("kill"), Some(9));
        assert_eq!(parse_signal("USR1"), Some(10));
        assert_eq!(parse_signal("3"), Some(3));
        assert_eq!(parse_signal("SIGRTMIN+1"), Some(35));
        assert_eq!(parse_signal("NOPE"), None);
        assert_eq!(parse_signal("0"), None);
        // Docker's real-time names; numbers past the kernel's 64 signals are refused at once
        assert_eq!((parse_signal("SIGRTMIN"), parse_signal("RTMAX"), parse_signal("SIGRTMAX-2")), (Some(34), Some(64), Some(62)));
        assert_eq!((parse_signal("64"), parse_signal("65"), parse_signal("RTMIN+31")), (Some(64), None, None));
    }

    #[test]
    fn restart_policies_parse() {
        let p = |n: &str, m: i64| RestartPolicy { name: Some(n.into()), maximum_retry_count: Some(m) };
        assert_eq!(Restart::of(None).expect("none"), Restart::No);
        assert_eq!(Restart::of(Some(&p("on-failure", 3))).expect("of"), Restart::OnFailure(Some(3)));
        assert_eq!(Restart::of(Some(&p("unless-stopped", 0))).expect("us"), Restart::UnlessStopped);
        let err = |name, n| Restart::of(Some(&p(name, n))).expect_err("refused").to_string();
        assert_eq!(err("sometimes", 0), "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
        assert_eq!(err("always", 3), "invalid restart policy: maximum retry count can only be used with 'on-failure'");
        assert_eq!(err("no", -1), "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative");
        assert_eq!(err("on-failure", -2), "invalid restart policy: maximum retry count cannot be negative");
        assert_eq!(Restart::of(Some(&p("", 5))).expect("empty name, any count"), Restart::No);
    }
}
