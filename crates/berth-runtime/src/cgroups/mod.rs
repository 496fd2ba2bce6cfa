//! One container's cgroup across every hierarchy it lives in: v1, v2 and hybrid hosts behind
//! one [`Cgroup`] type, plus the read-only [`Stats`] API the engine uses.
//!
//! Flow: [`Cgroup::create`] resolves `linux.cgroupsPath` in each hierarchy
//! ([`detect::Hierarchies`]), creates the directories and returns a `Cgroup`;
//! [`Cgroup::apply`] turns `LinuxResources` into a [`plan::Plan`] (pure) and performs it;
//! the runtime saves [`Cgroup::paths`] in its state file and later calls [`Cgroup::open`].
//!
//! ```no_run
//! # use berth_runtime::cgroups::Cgroup;
//! # fn f(res: &oci_spec::runtime::LinuxResources, pid: i32) -> Result<(), Box<dyn std::error::Error>> {
//! let cg = Cgroup::create(Some("/berth/3f2a9c"), "3f2a9c")?;
//! cg.apply(res)?;
//! cg.add_pid(pid)?;
//! let saved = serde_json::to_string(&cg.paths())?;
//! # Ok(()) }
//! ```

pub mod detect;
pub mod devices_bpf;
mod fs;
pub mod plan;
pub mod stats;
pub mod v1;
pub mod v2;

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use fs::{read_file, write_file};

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxResources};
use rustix::fd::OwnedFd;
use rustix::process::Signal;
use serde::{Deserialize, Serialize};

pub use detect::{Controller, Hierarchies, Mode};
pub use plan::{Facts, FileWrite, Layout, Plan, Version};
pub use stats::Stats;

/// Everything that can go wrong with cgroups. Messages name the step and the file; the
/// source carries the errno.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("parse {what}: {reason}: {line:?}")]
    Parse { what: &'static str, line: String, reason: &'static str },
    #[error("no cgroup filesystem is mounted")]
    NoCgroupFs,
    #[error("invalid cgroups path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    #[error("read {path}")]
    Read { path: PathBuf, #[source] source: io::Error },
    /// `value` is what was being written, for logs; the message follows `write <file>: <errno>`.
    #[error("write {path}")]
    Write { path: PathBuf, value: String, #[source] source: io::Error },
    #[error("create {path}")]
    Create { path: PathBuf, #[source] source: io::Error },
    #[error("remove {path}")]
    Remove { path: PathBuf, #[source] source: io::Error },
    #[error("open {path}")]
    Open { path: PathBuf, #[source] source: io::Error },
    #[error("{wanted} requested but the {controller} cgroup controller is not available on this host")]
    ControllerMissing { controller: &'static str, wanted: &'static str },
    #[error("not supported: {what}")]
    NotSupported { what: String },
    #[error("invalid {what} resources: {reason}")]
    InvalidResource { what: &'static str, reason: String },
    /// A BPF step of the v2 device filter (`load`, `attach`, `query`, `detach`).
    /// `log` holds the verifier's output when loading failed.
    #[error("{step} device filter on {path}")]
    Bpf { step: &'static str, path: PathBuf, log: String, #[source] source: io::Error },
    #[error("freeze {path}: still {state:?} after {waited:?}")]
    FreezeTimeout { path: PathBuf, state: String, waited: Duration },
    #[error("signal process {pid}")]
    Kill { pid: i32, #[source] source: io::Error },
}

/// Starts the kernel's wait for moving a process between cgroups early.
///
/// The first move of a process into a v1 cgroup waits for an RCU grace period while the kernel
/// switches its cgroup_threadgroup_rwsem to writer mode (about 5 ms here, more under load). A
/// short-lived child that makes a no-op move (its own pid into the cgroup it is already in)
/// starts that wait at once, so it overlaps the runtime's other work and the real move that
/// follows finds the lock ready. Nothing to do on a pure v2 host, where the init is born in its
/// cgroup. Returns the child, for the caller to reap.
pub fn warm_up_attach(h: &Hierarchies) -> Option<crate::sys::clone::Child> {
    let procs = own_v1_file(h, "cgroup.procs")?;
    crate::sys::clone::fork_child(0, None, || {
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&procs) {
            let _ = std::io::Write::write_all(&mut f, b"0");
        }
        crate::sys::process::exit_now(0)
    })
    .ok()
}

/// [`warm_up_attach`] for a caller that starts containers (a daemon, before and while its shims
/// start them): a thread moves itself (by its thread id, which takes the same global lock as a
/// process move) into the v1 cgroup it is already in, through a file opened once; the first
/// move returns once the kernel's wait is over, and moves made more often than a grace period
/// keep the kernel from switching back. Nothing to open on a pure v2 host.
pub struct ThreadWarmUp(std::fs::File);

impl ThreadWarmUp {
    pub fn open(h: &Hierarchies) -> Option<ThreadWarmUp> {
        let tasks = own_v1_file(h, "tasks")?;
        std::fs::OpenOptions::new().write(true).open(tasks).ok().map(ThreadWarmUp)
    }

    /// Moves the calling thread.
    pub fn move_this_thread(&mut self) {
        let _ = std::io::Write::write_all(&mut self.0, rustix::thread::gettid().as_raw_nonzero().to_string().as_bytes());
    }
}

/// `file` of the cgroup this process is in, in the first v1 hierarchy (any will do for the
/// warm-ups: the lock they take is global).
fn own_v1_file(h: &Hierarchies, file: &str) -> Option<PathBuf> {
    let v1 = h.v1.first()?;
    let own = v1.own.strip_prefix(&v1.mount_root).unwrap_or(&v1.own);
    let own = own.strip_prefix("/").unwrap_or(own);
    Some(v1.mount_dir.join(own).join(file))
}

/// What [`Cgroup::paths`] returns and [`Cgroup::open`] takes: the runtime keeps it in its
/// state file. Paths are absolute directories.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPaths {
    pub mode: Mode,
    /// v1 hierarchy (its controllers joined with `,`, e.g. `cpu,cpuacct`, `name=systemd`) → dir.
    pub v1: BTreeMap<String, PathBuf>,
    /// The v2 directory (pure v2, or the cgroup2 mount of a hybrid host).
    pub v2: Option<PathBuf>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct V1Dir {
    controllers: Vec<String>,
    dir: PathBuf,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct V2Dir {
    dir: PathBuf,
    /// This directory's `cgroup.controllers`: what its parent enabled for it.
    controllers: Vec<String>,
}

/// One container's cgroup across all hierarchies it lives in.
#[derive(Clone, Debug)]
pub struct Cgroup {
    mode: Mode,
    v1: Vec<V1Dir>,
    v2: Option<V2Dir>,
}

/// The host's cgroup arrangement. Falls back to `V1` only if `/proc/self/mountinfo` cannot be
/// read; see [`try_host_mode`] for the error.
pub fn host_mode() -> Mode {
    try_host_mode().unwrap_or(Mode::V1)
}

pub fn try_host_mode() -> Result<Mode, CgroupError> {
    Ok(Hierarchies::detect()?.mode())
}

/// OCI `linux.cgroupsPath` → a path from the hierarchy root. Absolute paths are taken as they
/// are, relative ones go below `own` (the runtime's cgroup in that hierarchy), and no path means
/// `/<container id>`. `..`, and systemd-driver `slice:prefix:name` paths, are refused.
pub fn resolve_cgroup_path(
    cgroups_path: Option<&str>,
    container_id: &str,
    own: &Path,
) -> Result<PathBuf, CgroupError> {
    let invalid = |path: &str, reason| CgroupError::InvalidPath { path: path.to_owned(), reason };
    let path = match cgroups_path.filter(|p| !p.is_empty()) {
        None => {
            if container_id.is_empty() || container_id.contains('/') || container_id.starts_with('.') {
                return Err(invalid(container_id, "container id cannot name a cgroup directory"));
            }
            return Ok(Path::new("/").join(container_id));
        }
        Some(p) => p,
    };
    if !path.starts_with('/') && path.contains(':') {
        return Err(invalid(path, "systemd cgroup driver paths (slice:prefix:name) are not supported"));
    }
    let mut out = if path.starts_with('/') { PathBuf::from("/") } else { own.to_path_buf() };
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(invalid(path, "\"..\" is not allowed"))
            }
        }
    }
    if out == Path::new("/") {
        return Err(invalid(path, "it names the hierarchy root"));
    }
    Ok(out)
}

impl Cgroup {
    /// OCI `linux.cgroupsPath` semantics: absolute → from each hierarchy's root; relative →
    /// below the runtime's own cgroup in each hierarchy (from /proc/self/cgroup); None →
    /// "/<container id>". Creates the directories (v1 cpuset: copies the parents' cpuset.cpus
    /// and mems into new levels; v2: enables the offered controllers in the ancestors'
    /// cgroup.subtree_control). On error, removes the directories it created.
    pub fn create(cgroups_path: Option<&str>, container_id: &str) -> Result<Cgroup, CgroupError> {
        Self::create_in(&Hierarchies::detect()?, cgroups_path, container_id)
    }

    /// [`Cgroup::create`] on given hierarchies (tests, or a caller that detected once).
    pub fn create_in(
        h: &Hierarchies,
        cgroups_path: Option<&str>,
        container_id: &str,
    ) -> Result<Cgroup, CgroupError> {
        let mut created = Vec::new();
        let result = Self::create_dirs(h, cgroups_path, container_id, &mut created);
        if result.is_err() {
            for dir in created.iter().rev() {
                let _ = std::fs::remove_dir(dir);
            }
        }
        result
    }

    fn create_dirs(
        h: &Hierarchies,
        cgroups_path: Option<&str>,
        container_id: &str,
        created: &mut Vec<PathBuf>,
    ) -> Result<Cgroup, CgroupError> {
        let mut v1 = Vec::new();
        for hier in &h.v1 {
            let path = resolve_cgroup_path(cgroups_path, container_id, &hier.own)?;
            let dir = detect::dir_in_mount(&hier.mount_dir, &hier.mount_root, &path);
            let cpuset = hier.controllers.iter().any(|c| c == "cpuset");
            fs::create_below(&hier.mount_dir, &dir, created, |parent, child| {
                if cpuset {
                    v1::inherit_cpuset(parent, child)
                } else {
                    Ok(())
                }
            })?;
            v1.push(V1Dir { controllers: hier.controllers.clone(), dir });
        }
        let v2 = match &h.v2 {
            None => None,
            Some(hier) => {
                let path = resolve_cgroup_path(cgroups_path, container_id, &hier.own)?;
                let dir = detect::dir_in_mount(&hier.mount_dir, &hier.mount_root, &path);
                fs::create_below(&hier.mount_dir, &dir, created, |_, _| Ok(()))?;
                fs::enable_v2_controllers(&hier.mount_dir, &dir)?;
                let controllers = fs::read_v2_controllers(&dir)?;
                Some(V2Dir { dir, controllers })
            }
        };
        Ok(Cgroup { mode: h.mode(), v1, v2 })
    }

    /// The cgroup a running process is in, in every hierarchy this process sees (for a
    /// container made by another runtime, which keeps its paths to itself).
    pub fn of_process(pid: i32) -> Result<Cgroup, CgroupError> {
        let mountinfo = detect::read_text(Path::new("/proc/self/mountinfo"))?;
        let theirs = detect::read_text(&Path::new("/proc").join(pid.to_string()).join("cgroup"))?;
        let h = Hierarchies::from_texts(&mountinfo, &theirs, Path::new("/"), |dir| detect::read_text(&dir.join("cgroup.controllers")).ok())?;
        let v1 = h.v1.iter().map(|hier| V1Dir { controllers: hier.controllers.clone(), dir: detect::dir_in_mount(&hier.mount_dir, &hier.mount_root, &hier.own) }).collect();
        let v2 = match &h.v2 {
            None => None,
            Some(hier) => {
                let dir = detect::dir_in_mount(&hier.mount_dir, &hier.mount_root, &hier.own);
                Some(V2Dir { controllers: fs::read_v2_controllers(&dir)?, dir })
            }
        };
        Ok(Cgroup { mode: h.mode(), v1, v2 })
    }

    /// Re-opens an existing cgroup from what [`Cgroup::paths`] returned earlier.
    pub fn open(saved: &SavedPaths) -> Result<Cgroup, CgroupError> {
        let mut v1 = Vec::new();
        for (key, dir) in &saved.v1 {
            if !dir.is_dir() {
                return Err(CgroupError::Open {
                    path: dir.clone(),
                    source: io::Error::from(io::ErrorKind::NotFound),
                });
            }
            v1.push(V1Dir { controllers: key.split(',').map(str::to_owned).collect(), dir: dir.clone() });
        }
        let v2 = match &saved.v2 {
            None => None,
            Some(dir) => Some(V2Dir { dir: dir.clone(), controllers: fs::read_v2_controllers(dir)? }),
        };
        Ok(Cgroup { mode: saved.mode, v1, v2 })
    }

    pub fn paths(&self) -> SavedPaths {
        SavedPaths {
            mode: self.mode,
            v1: self.v1.iter().map(|d| (d.controllers.join(","), d.dir.clone())).collect(),
            v2: self.v2.as_ref().map(|d| d.dir.clone()),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// What a container's `/sys/fs/cgroup` shows when it is not a fresh cgroup2 mount: (name
    /// below the mount point, host directory). v1 hierarchies by their controller names (and
    /// `systemd` for `name=systemd`), a hybrid host's v2 directory as `unified`; on a pure v2
    /// host the one v2 directory under the empty name (bound on the mount point itself).
    pub fn bind_sources(&self) -> Vec<(String, PathBuf)> {
        if self.mode == Mode::V2 {
            return self.v2.iter().map(|d| (String::new(), d.dir.clone())).collect();
        }
        let mut out: Vec<(String, PathBuf)> = self
            .v1
            .iter()
            .map(|d| (d.controllers.join(",").replace("name=", ""), d.dir.clone()))
            .collect();
        if let Some(d) = &self.v2 {
            out.push(("unified".into(), d.dir.clone()));
        }
        out
    }

    /// Where each controller lives for this cgroup.
    pub fn layout(&self) -> Layout {
        let mut layout = Layout::default();
        for c in Controller::ALL {
            let on_v1 = self.v1.iter().any(|d| d.controllers.iter().any(|n| n == c.v1_name()));
            let place = if on_v1 {
                Some(Version::V1)
            } else if let Some(v2) = &self.v2 {
                match c.v2_name() {
                    Some(name) => v2.controllers.iter().any(|n| n == name).then_some(Version::V2),
                    // Devices (BPF) and freezer (cgroup.freeze) are in v2's core.
                    None if matches!(c, Controller::Devices | Controller::Freezer) => Some(Version::V2),
                    None => None,
                }
            } else {
                None
            };
            if let Some(p) = place {
                layout.places.insert(c, p);
            }
        }
        // cpu.stat's usage fields are core on v2: CPU accounting needs no controller there.
        if !layout.places.contains_key(&Controller::Cpuacct) && self.v2.is_some() {
            layout.places.insert(Controller::Cpuacct, Version::V2);
        }
        layout
    }

    /// The directory that holds `c`'s files, if the controller is available.
    pub fn dir_of(&self, c: Controller) -> Option<&Path> {
        match self.layout().place(c)? {
            Version::V1 => self
                .v1
                .iter()
                .find(|d| d.controllers.iter().any(|n| n == c.v1_name()))
                .map(|d| d.dir.as_path()),
            Version::V2 => self.v2.as_ref().map(|d| d.dir.as_path()),
        }
    }

    /// The v2 directory, on pure v2 and hybrid hosts.
    pub fn v2_dir(&self) -> Option<&Path> {
        self.v2.as_ref().map(|d| d.dir.as_path())
    }

    /// Reads what the plan needs to know about the host.
    fn facts(&self) -> Facts {
        let mut f = Facts::default();
        let exists = |c: Controller, file: &str| self.dir_of(c).is_some_and(|d| d.join(file).exists());
        match self.layout().place(Controller::Memory) {
            Some(Version::V1) => {
                f.v1_swap_accounting = exists(Controller::Memory, "memory.memsw.limit_in_bytes");
                f.v1_memsw_limit = self
                    .dir_of(Controller::Memory)
                    .and_then(|d| read_file(&d.join("memory.memsw.limit_in_bytes")).ok())
                    .and_then(|s| s.trim().parse().ok());
            }
            Some(Version::V2) => f.v2_swap = exists(Controller::Memory, "memory.swap.max"),
            None => {}
        }
        f.v1_blkio_weight_file = ["blkio.weight", "blkio.bfq.weight"]
            .into_iter()
            .find(|file| exists(Controller::Blkio, file));
        f.v1_blkio_leaf_weight = exists(Controller::Blkio, "blkio.leaf_weight");
        f.v2_io_weight_file =
            ["io.weight", "io.bfq.weight"].into_iter().find(|file| exists(Controller::Blkio, file));
        f
    }

    /// Decides what [`Cgroup::apply`] would write, without writing.
    pub fn plan(&self, r: &LinuxResources) -> Result<Plan, CgroupError> {
        plan::plan(r, &self.layout(), &self.facts())
    }

    /// Applies resource limits; also what `update` uses.
    pub fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        let plan = self.plan(r)?;
        let mut out = fs::Writer::default();
        for w in &plan.writes {
            let dir = self.dir_of(w.controller).ok_or(CgroupError::ControllerMissing {
                controller: w.controller.v1_name(),
                wanted: "a resource limit",
            })?;
            out.write(&dir.join(&w.file), &w.value)?;
        }
        if let Some(rules) = &plan.v2_devices {
            self.set_v2_device_rules(rules)?;
        }
        if let Some(dir) = self.v2_dir() {
            for (file, value) in &plan.unified {
                write_file(&dir.join(file), value)?;
            }
        }
        Ok(())
    }

    /// Installs `rules` as a BPF device program on the v2 directory (whatever the v1 devices
    /// controller does; on a hybrid host both apply).
    pub fn set_v2_device_filter(&self, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
        let rules = rules.iter().map(plan::DeviceRule::from_oci).collect::<Result<Vec<_>, _>>()?;
        self.set_v2_device_rules(&rules)
    }

    fn set_v2_device_rules(&self, rules: &[plan::DeviceRule]) -> Result<(), CgroupError> {
        let dir = self.v2_dir().ok_or(CgroupError::ControllerMissing {
            controller: "devices",
            wanted: "device rules",
        })?;
        let program = devices_bpf::build_program(rules);
        crate::sys::bpf::replace_device_program(dir, &program)
    }

    /// How many device programs are attached directly to the v2 directory (0 without one).
    pub fn v2_device_programs(&self) -> Result<usize, CgroupError> {
        match self.v2_dir() {
            Some(dir) => crate::sys::bpf::attached_device_programs(dir),
            None => Ok(0),
        }
    }

    /// Moves `pid` into every hierarchy: each v1 one (including `name=systemd`) and the v2 one.
    pub fn add_pid(&self, pid: i32) -> Result<(), CgroupError> {
        let pid = pid.to_string();
        for d in self.v1.iter().map(|d| &d.dir).chain(self.v2.iter().map(|d| &d.dir)) {
            write_file(&d.join("cgroup.procs"), &pid)?;
        }
        Ok(())
    }

    /// O_DIRECTORY fd of the v2 cgroup for clone3(CLONE_INTO_CGROUP): Some only on a pure-v2
    /// host. None also when the directory cannot be opened; the caller then falls back to
    /// [`Cgroup::add_pid`], which reports the problem.
    pub fn clone_into_fd(&self) -> Option<OwnedFd> {
        if self.mode != Mode::V2 {
            return None;
        }
        let dir = self.v2_dir()?;
        use rustix::fs::{Mode as FileMode, OFlags};
        rustix::fs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, FileMode::empty()).ok()
    }

    /// The directory whose cgroup.procs lists the container's processes.
    fn procs_dir(&self) -> Option<&Path> {
        if self.mode == Mode::V2 {
            return self.v2_dir();
        }
        [Controller::Freezer, Controller::Pids, Controller::Memory, Controller::Cpu]
            .into_iter()
            .find_map(|c| self.dir_of(c).filter(|_| self.layout().place(c) == Some(Version::V1)))
            .or_else(|| self.v1.first().map(|d| d.dir.as_path()))
            .or_else(|| self.v2_dir())
    }

    /// Every process in the cgroup and its descendants (cgroup.procs), sorted.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let mut pids = Vec::new();
        if let Some(dir) = self.procs_dir() {
            fs::collect_pids(dir, &mut pids)?;
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    pub fn freeze(&self) -> Result<(), CgroupError> {
        self.set_frozen(true)
    }

    pub fn thaw(&self) -> Result<(), CgroupError> {
        self.set_frozen(false)
    }

    fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        let (version, dir) = self.freezer()?;
        let (file, value) = match version {
            Version::V1 => ("freezer.state", v1::freezer_state(frozen)),
            Version::V2 => ("cgroup.freeze", if frozen { "1" } else { "0" }),
        };
        let start = Instant::now();
        let deadline = Duration::from_secs(5);
        let mut pause = Duration::from_millis(1);
        loop {
            // v1 can stay FREEZING when a task is in an uninterruptible sleep; writing again
            // retries the freeze.
            write_file(&dir.join(file), value)?;
            if self.frozen_state(version, dir)? == frozen {
                return Ok(());
            }
            if start.elapsed() > deadline {
                let state = match version {
                    Version::V1 => read_file(&dir.join("freezer.state"))?.trim().to_owned(),
                    Version::V2 => format!("frozen {}", u8::from(!frozen)),
                };
                return Err(CgroupError::FreezeTimeout { path: dir.join(file), state, waited: start.elapsed() });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Whether the cgroup is completely frozen (v1 `FROZEN`, v2 `frozen 1` in cgroup.events).
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        let (version, dir) = self.freezer()?;
        self.frozen_state(version, dir)
    }

    fn freezer(&self) -> Result<(Version, &Path), CgroupError> {
        let missing = CgroupError::ControllerMissing { controller: "freezer", wanted: "freezing" };
        let version = self.layout().place(Controller::Freezer).ok_or(missing)?;
        let dir = self.dir_of(Controller::Freezer).ok_or(CgroupError::ControllerMissing {
            controller: "freezer",
            wanted: "freezing",
        })?;
        Ok((version, dir))
    }

    fn frozen_state(&self, version: Version, dir: &Path) -> Result<bool, CgroupError> {
        Ok(match version {
            Version::V1 => read_file(&dir.join("freezer.state"))?.trim() == "FROZEN",
            Version::V2 => read_file(&dir.join("cgroup.events"))?
                .lines()
                .any(|l| l.trim() == "frozen 1"),
        })
    }

    pub fn stats(&self) -> Result<Stats, CgroupError> {
        stats::collect(self)
    }

    /// The memory controller's count of OOM kills (v1 memory.oom_control, v2 memory.events):
    /// one file, where [`Cgroup::stats`] reads every controller's.
    pub fn oom_kills(&self) -> Result<u64, CgroupError> {
        let (Some(v), Some(dir)) = (self.layout().place(Controller::Memory), self.dir_of(Controller::Memory)) else { return Ok(0) };
        let file = match v {
            Version::V1 => "memory.oom_control",
            Version::V2 => "memory.events",
        };
        Ok(stats::flat_keyed(&read_file(&dir.join(file))?).get("oom_kill").copied().unwrap_or(0))
    }

    /// Signals every process. SIGKILL uses v2's cgroup.kill where the kernel has it (it also
    /// catches processes forking meanwhile); otherwise each pid is signalled, ignoring those
    /// that exited meanwhile.
    pub fn kill_all(&self, sig: Signal) -> Result<(), CgroupError> {
        if sig == Signal::KILL {
            if let Some(dir) = self.v2_dir() {
                let file = dir.join("cgroup.kill");
                if file.exists() {
                    return write_file(&file, "1");
                }
            }
        }
        for pid in self.pids()? {
            let Some(p) = rustix::process::Pid::from_raw(pid) else { continue };
            match rustix::process::kill_process(p, sig) {
                Ok(()) | Err(rustix::io::Errno::SRCH) => {}
                Err(e) => return Err(CgroupError::Kill { pid, source: e.into() }),
            }
        }
        Ok(())
    }

    /// Removes the cgroup from every hierarchy, sub-cgroups first, retrying briefly while the
    /// kernel still counts exiting tasks (EBUSY). Already-gone directories are fine. Parents
    /// created by [`Cgroup::create`] are left in place.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        let mut first_err = None;
        for d in self.v1.iter().map(|d| &d.dir).chain(self.v2.iter().map(|d| &d.dir)) {
            if let Err(e) = fs::remove_tree(d) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroups_path_resolution() {
        let own = Path::new("/process_api/abc");
        assert_eq!(resolve_cgroup_path(None, "c1", own).expect("ok"), Path::new("/c1"));
        assert_eq!(resolve_cgroup_path(Some(""), "c1", own).expect("ok"), Path::new("/c1"));
        assert_eq!(resolve_cgroup_path(Some("/berth/c1"), "c1", own).expect("ok"), Path::new("/berth/c1"));
        assert_eq!(
            resolve_cgroup_path(Some("berth/c1"), "c1", own).expect("ok"),
            Path::new("/process_api/abc/berth/c1")
        );
        assert_eq!(resolve_cgroup_path(Some("./x/"), "c1", Path::new("/")).expect("ok"), Path::new("/x"));
        assert!(resolve_cgroup_path(Some("/a/../../etc"), "c1", own).is_err());
        assert!(resolve_cgroup_path(Some("system.slice:docker:abc"), "c1", own).is_err());
        assert!(resolve_cgroup_path(Some("/"), "c1", own).is_err());
        assert!(resolve_cgroup_path(None, "../x", own).is_err());
        assert!(resolve_cgroup_path(None, "", own).is_err());
    }

    #[test]
    fn saved_paths_round_trip_through_json() {
        let cg = Cgroup {
            mode: Mode::Hybrid,
            v1: vec![
                V1Dir { controllers: vec!["cpu".into(), "cpuacct".into()], dir: "/sys/fs/cgroup/cpu,cpuacct/x".into() },
                V1Dir { controllers: vec!["name=systemd".into()], dir: "/sys/fs/cgroup/systemd/x".into() },
            ],
            v2: Some(V2Dir { dir: "/sys/fs/cgroup/unified/x".into(), controllers: vec!["hugetlb".into()] }),
        };
        let json = serde_json::to_string(&cg.paths()).expect("json");
        let back: SavedPaths = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, cg.paths());
        assert_eq!(back.v1["cpu,cpuacct"], Path::new("/sys/fs/cgroup/cpu,cpuacct/x"));
        let layout = cg.layout();
        assert_eq!(layout.place(Controller::Cpu), Some(Version::V1));
        assert_eq!(layout.place(Controller::Cpuacct), Some(Version::V1));
        assert_eq!(layout.place(Controller::Hugetlb), Some(Version::V2));
        assert_eq!(layout.place(Controller::Memory), None);
        assert_eq!(cg.dir_of(Controller::Hugetlb), Some(Path::new("/sys/fs/cgroup/unified/x")));
    }
}
