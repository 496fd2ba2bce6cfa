//! Container lifecycle, the operations behind runc's commands: create, start, run, state,
//! kill, delete, pause, resume, list, ps, stats, update. `exec` lives in `exec.rs`, the
//! foreground wait in `supervise.rs`.

mod exec;
mod supervise;

pub use exec::ExecOptions;

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oci_spec::runtime::{LinuxNamespaceType, LinuxResources, Spec};
use serde::Serialize;

use crate::caps::CapPlan;
use crate::cgroups::Cgroup;
use crate::error::Error;
use crate::namespaces;
use crate::process::init::Trigger;
use crate::process::sync::{Channel, FromParent};
use crate::process::{self, ContainerInit, Host, InitArgs};
use crate::spec::{self, ContainerId, Plan};
use crate::state::{self, Saved, StateDir, Status};

/// Options of `create` and `run`.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
}

/// The OCI state of a container, with runc's extra fields.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateView {
    pub oci_version: String,
    pub id: String,
    pub status: String,
    pub pid: i32,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
}

/// The OCI state JSON that hooks read on stdin.
pub fn oci_state_json(id: &str, status: Status, pid: i32, bundle: &Path, annotations: &HashMap<String, String>) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "ociVersion": "1.2.0",
        "id": id,
        "status": status.as_str(),
        "pid": pid,
        "bundle": bundle,
        "annotations": annotations,
    }))
    .expect("state serializes")
}

/// The runtime: a state root and the operations on the containers below it.
pub struct Runtime {
    pub root: PathBuf,
    /// Where compiled seccomp programs are kept between containers (see
    /// [`crate::seccomp::compile_cached`]); None compiles every time. Not under `root`, which
    /// holds containers only.
    pub seccomp_cache: Option<PathBuf>,
}

/// What a failed launch must undo.
#[derive(Default)]
struct Made {
    cgroup: Option<Cgroup>,
    pid: i32,
    /// The cgroup warm-up child ([`crate::cgroups::warm_up_attach`]), reaped after the launch.
    warm: Option<crate::sys::clone::Child>,
}

struct Launched {
    pid: i32,
    pidfd: OwnedFd,
    chan: Channel,
    console: Option<OwnedFd>,
    sd: StateDir,
    saved: Saved,
    spec: Spec,
}

/// The parent's answers to the init's requests during create/start/exec.
pub(crate) struct ParentHost<'a> {
    pub id: &'a str,
    pub pid: i32,
    pub bundle: &'a Path,
    pub spec: &'a Spec,
    pub console_socket: Option<&'a Path>,
    pub console: Option<OwnedFd>,
}

impl Host for ParentHost<'_> {
    fn run_hooks(&mut self) -> Result<(), Error> {
        let annotations = self.spec.annotations().clone().unwrap_or_default();
        let st = oci_state_json(self.id, Status::Creating, self.pid, self.bundle, &annotations);
        if let Some(h) = self.spec.hooks() {
            for (kind, list) in [("prestart", h.prestart()), ("createRuntime", h.create_runtime())] {
                crate::hooks::run(list.as_deref().unwrap_or(&[]), &st)
                    .map_err(|(path, source)| Error::Hook { id: self.id.to_owned(), kind, path, source })?;
            }
        }
        Ok(())
    }

    fn console(&mut self, master: OwnedFd) -> Result<(), Error> {
        match self.console_socket {
            Some(path) => crate::tty::send_to_console_socket(path, master.as_fd())
                .map_err(|e| Error::io(self.id, "hand the pty to the console socket", e)),
            None => {
                self.console = Some(master);
                Ok(())
            }
        }
    }

    fn seccomp_listener(&mut self, fd: OwnedFd) -> Result<(), Error> {
        let seccomp = self.spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
        let Some(path) = seccomp.and_then(|s| s.listener_path().as_ref()) else {
            return Err(Error::InvalidConfig("SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath".into()));
        };
        let annotations = self.spec.annotations().clone().unwrap_or_default();
        let state = serde_json::json!({
            "ociVersion": "1.2.0",
            "fds": ["seccompFd"],
            "pid": self.pid,
            "metadata": seccomp.and_then(|s| s.listener_metadata().clone()).unwrap_or_default(),
            "state": {
                "ociVersion": "1.2.0", "id": self.id, "status": "creating", "pid": self.pid,
                "bundle": self.bundle, "annotations": annotations,
            },
        });
        let payload = serde_json::to_vec(&state).expect("state serializes");
        crate::seccomp::send_listener(path, fd.as_fd(), &payload)
            .map_err(|source| Error::Seccomp { id: self.id.to_owned(), source })
    }
}

impl Runtime {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Runtime { root: root.into(), seccomp_cache: None }
    }

    /// Keeps compiled seccomp programs in `dir` (an engine's own directory).
    pub fn with_seccomp_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.seccomp_cache = Some(dir.into());
        self
    }

    pub(crate) fn compile_seccomp(&self, spec: &oci_spec::runtime::LinuxSeccomp) -> Result<crate::seccomp::Filter, crate::seccomp::SeccompError> {
        match &self.seccomp_cache {
            Some(dir) => crate::seccomp::compile_cached(spec, dir),
            None => crate::seccomp::compile(spec),
        }
    }

    /// Sets up a container and leaves its init waiting for `start`.
    pub fn create(&self, id: &ContainerId, opts: &CreateOptions) -> Result<i32, Error> {
        let l = self.launch(id, opts, true)?;
        Ok(l.pid)
    }

    /// `run`: create and start; in the foreground, wait for the exit, delete the container and
    /// return the exit code (128+N for a signal). Detached, return 0 once it runs.
    pub fn run(&self, id: &ContainerId, opts: &CreateOptions, detach: bool) -> Result<i32, Error> {
        let signals = if detach {
            None
        } else {
            Some(crate::sys::signal::block_and_open(crate::sys::signal::FORWARDED).map_err(|e| Error::io(id.as_str(), "block signals", e))?)
        };
        let mut l = self.launch(id, opts, false)?;
        let mut host = ParentHost {
            id: id.as_str(),
            pid: l.pid,
            bundle: &l.saved.bundle,
            spec: &l.spec,
            console_socket: opts.console_socket.as_deref(),
            console: None,
        };
        let started = process::send(id.as_str(), &l.chan, &FromParent::Start)
            .and_then(|()| process::until_exec(id.as_str(), &l.chan, &mut host));
        if let Err(e) = started {
            let _ = self.delete(id, true);
            return Err(e);
        }
        l.saved.started = true;
        l.sd.save(&l.saved)?;
        self.poststart(&l.saved, &l.spec);
        if detach {
            return Ok(0);
        }
        let console = l.console.take().or(host.console.take());
        let code = supervise::wait(l.pid, &l.pidfd, console, signals.as_ref().expect("foreground has signals"));
        self.delete(id, true)?;
        Ok(code)
    }

    fn launch(&self, id: &ContainerId, opts: &CreateOptions, wait_for_start: bool) -> Result<Launched, Error> {
        let hier = crate::cgroups::detect::Hierarchies::detect().map_err(|source| Error::Cgroup { id: id.to_string(), source })?;
        let plan = spec::load(id.clone(), &opts.bundle)?;
        let sd = StateDir::create(&self.root, id)?;
        let mut made = Made::default();
        let launched = self.launch_in(&plan, &sd, opts, wait_for_start, &hier, &mut made);
        if let Some(w) = made.warm.take() {
            let _ = rustix::process::waitpid(rustix::process::Pid::from_raw(w.pid), rustix::process::WaitOptions::empty());
        }
        match launched {
            Ok(l) => Ok(l),
            Err(e) => {
                if let Some(pid) = rustix::process::Pid::from_raw(made.pid) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                    let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
                }
                if let Some(cg) = made.cgroup {
                    let _ = cg.destroy();
                }
                let _ = sd.remove();
                Err(e)
            }
        }
    }

    fn launch_in(
        &self,
        plan: &Plan,
        sd: &StateDir,
        opts: &CreateOptions,
        wait_for_start: bool,
        hier: &crate::cgroups::detect::Hierarchies,
        made: &mut Made,
    ) -> Result<Launched, Error> {
        let id = plan.id.as_str();
        sd.write_file("config.json", &plan.raw)?;
        let spec = &plan.spec;
        let linux = spec.linux().as_ref().expect("validated: linux present");
        let process_spec = spec.process().as_ref().expect("validated: process present");
        let mut ns = namespaces::plan(linux);
        let cgroups_path = linux.cgroups_path().as_ref().map(|p| p.to_string_lossy().into_owned());
        let cg: Option<&Cgroup> = match Cgroup::create_in(hier, cgroups_path.as_deref(), id) {
            Ok(cg) => {
                // Only now: the warm-up holds cgroup_mutex while it waits, which would stall
                // the directories' creation above.
                if rustix::process::geteuid().is_root() {
                    made.warm = crate::cgroups::warm_up_attach(hier);
                }
                let cg = made.cgroup.insert(cg);
                let mut resources = linux.resources().clone().unwrap_or_default();
                resources.set_devices(Some(crate::devices::cgroup_rules(spec)));
                cg.apply(&resources).map_err(|source| Error::Cgroup { id: id.to_owned(), source })?;
                Some(cg)
            }
            // Rootless, with no cgroup delegated to us: run without one, as runc does, unless
            // the config asks for limits that need it.
            Err(source) if !rustix::process::geteuid().is_root() => {
                if asks_for_limits(linux.resources().as_ref()) {
                    return Err(Error::Unsupported {
                        what: "resource limits in a rootless container".into(),
                        why: format!("cannot create its cgroup ({}); delegate a cgroup to this user or drop linux.resources", crate::error::chain(&source)),
                    });
                }
                None
            }
            Err(source) => return Err(Error::Cgroup { id: id.to_owned(), source }),
        };
        let seccomp = match linux.seccomp() {
            Some(s) => Some(self.compile_seccomp(s).map_err(|source| Error::Seccomp { id: id.to_owned(), source })?),
            None => None,
        };
        let caps = CapPlan::from_spec(process_spec.capabilities().as_ref());
        let mut joins = namespaces::open_joins(&ns).map_err(|e| Error::io(id, "open namespaces to join", e))?;
        // Joining a pid namespace takes effect for children: enter it here, before the fork.
        if let Some(i) = joins.iter().position(|(t, _)| *t == LinuxNamespaceType::Pid) {
            let (_, fd) = joins.remove(i);
            rustix::thread::move_into_link_name_space(fd.as_fd(), Some(rustix::thread::LinkNameSpaceType::ProcessID))
                .map_err(|e| Error::io(id, "join pid namespace", e))?;
        }
        if ns.new_time {
            enter_new_time_namespace(linux).map_err(|e| Error::io(id, "create time namespace", e))?;
        }
        let exe = crate::sys::exe::exe_for_init().map_err(|e| Error::io(id, "open the runtime read-only for the init", e))?;
        let clone_into = cg.and_then(|c| c.clone_into_fd());
        let late_cgroupns = ns.clone_flags & LinuxNamespaceType::Cgroup as u64 != 0 && clone_into.is_none();
        if late_cgroupns {
            ns.clone_flags &= !(LinuxNamespaceType::Cgroup as u64);
        }
        let private_cgroupns = linux.namespaces().iter().flatten().any(|n| n.typ() == LinuxNamespaceType::Cgroup && n.path().is_none());
        let fresh_cgroup2 = crate::cgroups::host_mode() == crate::cgroups::Mode::V2 && private_cgroupns;
        let cgroup_binds = if fresh_cgroup2 { Vec::new() } else { cg.map(|c| c.bind_sources()).unwrap_or_default() };
        let trigger_listener = if wait_for_start { Some(bind_start_socket(sd).map_err(|e| Error::io(id, "bind start socket", e))?) } else { None };
        let has_runtime_hooks = spec.hooks().as_ref().is_some_and(|h| {
            h.prestart().as_ref().is_some_and(|v| !v.is_empty()) || h.create_runtime().as_ref().is_some_and(|v| !v.is_empty())
        });
        let annotations = spec.annotations().clone().unwrap_or_default();

        let spawned = process::spawn(ns.clone_flags, clone_into.as_ref().map(|f| f.as_fd()), |chan| {
            let host_pid = std::fs::read_link("/proc/self").ok().and_then(|p| p.to_str()?.parse().ok()).unwrap_or(0);
            process::init::run(InitArgs {
                exe: exe.as_ref(),
                process: process_spec,
                ns: &ns,
                join_fds: &joins,
                sync: chan,
                trigger: match trigger_listener {
                    Some(fd) => Trigger::Socket(fd),
                    None => Trigger::Parent,
                },
                caps: &caps,
                seccomp: seccomp.as_ref(),
                preserve_fds: opts.preserve_fds,
                new_keyring: !opts.no_new_keyring,
                late_cgroupns,
                container: Some(ContainerInit {
                    plan,
                    fresh_cgroup2,
                    cgroup_binds,
                    hooks_before_pivot: has_runtime_hooks,
                    no_pivot: opts.no_pivot,
                    state_json: oci_state_json(id, Status::Creating, host_pid, &plan.bundle, &annotations),
                }),
            })
        })
        .map_err(|e| Error::io(id, "clone container init", e))?;
        made.pid = spawned.pid;
        let pid = spawned.pid;
        if ns.new_user {
            namespaces::write_id_maps(
                pid,
                linux.uid_mappings().as_deref().unwrap_or(&[]),
                linux.gid_mappings().as_deref().unwrap_or(&[]),
            )
            .map_err(|e| Error::io(id, "write id maps", e))?;
        }
        if let Some(adj) = process_spec.oom_score_adj() {
            std::fs::write(format!("/proc/{pid}/oom_score_adj"), adj.to_string()).map_err(|e| Error::io(id, "set oom_score_adj", e))?;
        }
        let idmapped = crate::rootfs::idmapped_binds(spec);
        if !idmapped.is_empty() {
            let userns = std::fs::File::open(format!("/proc/{pid}/ns/user")).map_err(|e| Error::io(id, "open the container's user namespace", e))?;
            for (index, source, recursive) in idmapped {
                let tree = crate::rootfs::idmapped_tree(&source, recursive, userns.as_fd())
                    .map_err(|e| Error::io(id, "make idmapped mount", e))?;
                spawned.sync.send_with_fd(&FromParent::IdmappedMount { index }, Some(tree.as_fd()))
                    .map_err(|e| Error::io(id, "hand idmapped mount to the init", e))?;
            }
        }
        process::send(id, &spawned.sync, &FromParent::Continue)?;
        // The init sets up its mounts meanwhile; it waits for Joined before it reports Ready.
        if let (Some(cg), None) = (cg, &clone_into) {
            cg.add_pid(pid).map_err(|source| Error::Cgroup { id: id.to_owned(), source })?;
        }
        process::send(id, &spawned.sync, &FromParent::Joined)?;
        let mut host = ParentHost { id, pid, bundle: &plan.bundle, spec, console_socket: opts.console_socket.as_deref(), console: None };
        process::until_ready(id, &spawned.sync, &mut host)?;
        let saved = Saved {
            id: id.to_owned(),
            pid,
            pid_start: state::pid_start_time(pid).unwrap_or(0),
            bundle: plan.bundle.clone(),
            rootfs: plan.rootfs.clone(),
            created: state::now_rfc3339(),
            owner: if rustix::process::geteuid().is_root() { String::new() } else { rustix::process::geteuid().as_raw().to_string() },
            cgroup: cg.map(|c| c.paths()),
            annotations,
            started: false,
            own_cgroup: true,
        };
        sd.save(&saved)?;
        if let Some(p) = &opts.pid_file {
            state::write_atomic(p, pid.to_string().as_bytes()).map_err(|e| Error::io(id, format!("write pid file {}", p.display()), e))?;
        }
        Ok(Launched { pid, pidfd: spawned.pidfd, chan: spawned.sync, console: host.console.take(), sd: StateDir::new(&self.root, &plan.id), saved, spec: spec.clone() })
    }

    /// Lets a created container's init exec the user process.
    pub fn start(&self, id: &ContainerId) -> Result<(), Error> {
        let sd = StateDir::open(&self.root, id)?;
        let mut saved = sd.load()?;
        let status = self.status_of(&saved);
        if status != Status::Created {
            return Err(Error::WrongState { id: id.to_string(), status: status.to_string(), what: "only a created container can be started" });
        }
        let spec = sd.load_config()?;
        let sock = rustix::net::socket_with(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::SEQPACKET,
            rustix::net::SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| Error::io(id.as_str(), "start socket", e))?;
        let addr = rustix::net::SocketAddrUnix::new(sd.start_socket()).map_err(|e| Error::io(id.as_str(), "start socket path", e))?;
        rustix::net::connect(&sock, &addr).map_err(|e| Error::io(id.as_str(), "connect to the container's init", e))?;
        let chan = Channel::from_fd(sock);
        let mut host = ParentHost { id: id.as_str(), pid: saved.pid, bundle: &saved.bundle.clone(), spec: &spec, console_socket: None, console: None };
        process::send(id.as_str(), &chan, &FromParent::Continue)?;
        process::until_exec(id.as_str(), &chan, &mut host)?;
        let _ = std::fs::remove_file(sd.start_socket());
        saved.started = true;
        sd.save(&saved)?;
        self.poststart(&saved, &spec);
        Ok(())
    }

    fn poststart(&self, saved: &Saved, spec: &Spec) {
        if let Some(h) = spec.hooks().as_ref().and_then(|h| h.poststart().as_ref()) {
            let st = oci_state_json(&saved.id, Status::Running, saved.pid, &saved.bundle, &saved.annotations);
            if let Err((p, e)) = crate::hooks::run(h, &st) {
                eprintln!("warning: poststart hook {} of container {}: {e}", p.display(), saved.id);
            }
        }
    }

    fn status_of(&self, saved: &Saved) -> Status {
        match state::pid_start_time(saved.pid) {
            Some(t) if t == saved.pid_start || saved.pid_start == 0 => {}
            _ => return Status::Stopped,
        }
        if !saved.started && self.root.join(&saved.id).join("start.sock").exists() {
            return Status::Created;
        }
        if saved.cgroup.as_ref().and_then(|p| Cgroup::open(p).ok()).and_then(|c| c.is_frozen().ok()).unwrap_or(false) {
            return Status::Paused;
        }
        Status::Running
    }

    pub fn state(&self, id: &ContainerId) -> Result<StateView, Error> {
        let saved = StateDir::open(&self.root, id)?.load()?;
        Ok(self.view(&saved))
    }

    fn view(&self, saved: &Saved) -> StateView {
        let status = self.status_of(saved);
        StateView {
            oci_version: "1.2.0".into(),
            id: saved.id.clone(),
            status: status.to_string(),
            pid: if status == Status::Stopped { 0 } else { saved.pid },
            bundle: saved.bundle.clone(),
            rootfs: saved.rootfs.clone(),
            created: saved.created.clone(),
            owner: saved.owner.clone(),
            annotations: saved.annotations.clone(),
        }
    }

    /// Every container under the root, sorted by id.
    pub fn list(&self) -> Result<Vec<StateView>, Error> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::State { id: String::new(), path: self.root.clone(), source: e }),
        };
        for e in entries.flatten() {
            let Some(name) = e.file_name().to_str().map(str::to_owned) else { continue };
            let Ok(id) = ContainerId::parse(&name) else { continue };
            if let Ok(saved) = StateDir::new(&self.root, &id).load() {
                out.push(self.view(&saved));
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    pub fn kill(&self, id: &ContainerId, signal: rustix::process::Signal, all: bool) -> Result<(), Error> {
        let saved = StateDir::open(&self.root, id)?.load()?;
        let status = self.status_of(&saved);
        if all && saved.cgroup.is_some() {
            let cg = open_cgroup(&saved)?;
            return cg.kill_all(signal).map_err(|source| Error::Cgroup { id: id.to_string(), source });
        }
        if status == Status::Stopped {
            return Err(Error::WrongState { id: id.to_string(), status: status.to_string(), what: "container not running" });
        }
        let pid = rustix::process::Pid::from_raw(saved.pid).expect("a live container has a pid");
        rustix::process::kill_process(pid, signal).map_err(|e| Error::io(id.as_str(), format!("send signal {} to pid {}", signal.as_raw(), saved.pid), e))
    }

    /// Removes a stopped (or, with `force`, any) container: its processes, cgroup and state.
    pub fn delete(&self, id: &ContainerId, force: bool) -> Result<(), Error> {
        let sd = StateDir::open(&self.root, id)?;
        let saved = match sd.load() {
            Ok(s) => s,
            Err(Error::State { .. }) if force => return sd.remove(),
            Err(e) => return Err(e),
        };
        let status = self.status_of(&saved);
        if matches!(status, Status::Running | Status::Paused) && !force {
            return Err(Error::WrongState { id: id.to_string(), status: status.to_string(), what: "cannot delete a container that is not stopped; stop it or use --force" });
        }
        let cg = saved.cgroup.as_ref().and_then(|p| Cgroup::open(p).ok());
        if status != Status::Stopped {
            if let Some(cg) = &cg {
                let _ = cg.thaw();
                let _ = cg.kill_all(rustix::process::Signal::KILL);
            }
            if let Some(pid) = rustix::process::Pid::from_raw(saved.pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        if let Some(cg) = &cg {
            // The init's death kills its pid namespace; wait until the kernel has emptied the
            // cgroup so it can be removed.
            let deadline = Instant::now() + Duration::from_secs(10);
            while cg.pids().map(|p| !p.is_empty()).unwrap_or(false) && Instant::now() < deadline {
                let _ = cg.kill_all(rustix::process::Signal::KILL);
                std::thread::sleep(Duration::from_millis(1));
            }
            if saved.own_cgroup {
                cg.destroy().map_err(|source| Error::Cgroup { id: id.to_string(), source })?;
            }
        }
        if let Ok(spec) = sd.load_config() {
            if let Some(h) = spec.hooks().as_ref().and_then(|h| h.poststop().as_ref()) {
                let st = oci_state_json(&saved.id, Status::Stopped, saved.pid, &saved.bundle, &saved.annotations);
                if let Err((p, e)) = crate::hooks::run(h, &st) {
                    eprintln!("warning: poststop hook {} of container {id}: {e}", p.display());
                }
            }
        }
        sd.remove()
    }

    fn running_cgroup(&self, id: &ContainerId, want: &[Status], what: &'static str) -> Result<Cgroup, Error> {
        let saved = StateDir::open(&self.root, id)?.load()?;
        let status = self.status_of(&saved);
        if !want.contains(&status) {
            return Err(Error::WrongState { id: id.to_string(), status: status.to_string(), what });
        }
        open_cgroup(&saved)
    }

    pub fn pause(&self, id: &ContainerId) -> Result<(), Error> {
        let cg = self.running_cgroup(id, &[Status::Running, Status::Created], "only a running container can be paused")?;
        cg.freeze().map_err(|source| Error::Cgroup { id: id.to_string(), source })
    }

    pub fn resume(&self, id: &ContainerId) -> Result<(), Error> {
        let cg = self.running_cgroup(id, &[Status::Paused], "only a paused container can be resumed")?;
        cg.thaw().map_err(|source| Error::Cgroup { id: id.to_string(), source })
    }

    /// Host pids of every process in the container.
    pub fn pids(&self, id: &ContainerId) -> Result<Vec<i32>, Error> {
        let cg = self.running_cgroup(id, &[Status::Created, Status::Running, Status::Paused], "container is not running")?;
        cg.pids().map_err(|source| Error::Cgroup { id: id.to_string(), source })
    }

    pub fn stats(&self, id: &ContainerId) -> Result<crate::cgroups::Stats, Error> {
        let cg = self.running_cgroup(id, &[Status::Created, Status::Running, Status::Paused], "container is not running")?;
        cg.stats().map_err(|source| Error::Cgroup { id: id.to_string(), source })
    }

    pub fn update(&self, id: &ContainerId, resources: &LinuxResources) -> Result<(), Error> {
        let cg = self.running_cgroup(id, &[Status::Created, Status::Running, Status::Paused], "container is not running")?;
        cg.apply(resources).map_err(|source| Error::Cgroup { id: id.to_string(), source })
    }
}

/// The container's cgroup, or a clear error for a rootless container that has none.
pub(crate) fn open_cgroup(saved: &Saved) -> Result<Cgroup, Error> {
    let paths = saved.cgroup.as_ref().ok_or_else(|| Error::Unsupported {
        what: format!("this operation on container {}", saved.id),
        why: "it was created rootless without a cgroup".into(),
    })?;
    Cgroup::open(paths).map_err(|source| Error::Cgroup { id: saved.id.clone(), source })
}

/// True when `r` sets any limit (device rules aside): those need a cgroup.
fn asks_for_limits(r: Option<&LinuxResources>) -> bool {
    r.is_some_and(|r| {
        r.memory().is_some() || r.cpu().is_some() || r.pids().is_some() || r.block_io().is_some()
            || r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty())
            || r.unified().as_ref().is_some_and(|u| !u.is_empty())
    })
}

fn bind_start_socket(sd: &StateDir) -> std::io::Result<OwnedFd> {
    let sock = rustix::net::socket_with(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::SEQPACKET,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )?;
    let path = sd.start_socket();
    let addr = rustix::net::SocketAddrUnix::new(&path)?;
    rustix::net::bind(&sock, &addr)?;
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    rustix::net::listen(&sock, 1)?;
    Ok(sock)
}

/// A new time namespace for our children, with the spec's clock offsets.
fn enter_new_time_namespace(linux: &oci_spec::runtime::Linux) -> std::io::Result<()> {
    crate::sys::process::unshare_namespaces(rustix::thread::UnshareFlags::NEWTIME)?;
    let mut lines = String::new();
    for (clock, off) in linux.time_offsets().iter().flatten() {
        lines.push_str(&format!("{clock} {} {}\n", off.secs().unwrap_or(0), off.nanosecs().unwrap_or(0)));
    }
    if !lines.is_empty() {
        std::fs::write("/proc/self/timens_offsets", lines)?;
    }
    Ok(())
}
