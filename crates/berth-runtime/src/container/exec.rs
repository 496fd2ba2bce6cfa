//! `exec`: a new process inside a running container's namespaces and cgroup, with the
//! container's seccomp profile, started the same way as the init (fork, then the same steps).

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespaceType, Process};

use super::{ParentHost, Runtime};
use crate::caps::CapPlan;
use crate::error::Error;
use crate::namespaces::{self, NsPlan};
use crate::process::init::Trigger;
use crate::process::sync::FromParent;
use crate::process::{self, InitArgs};
use crate::spec::ContainerId;
use crate::state::{StateDir, Status};

/// Options of `exec`.
pub struct ExecOptions {
    pub process: Process,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub detach: bool,
    pub preserve_fds: u32,
}

impl Runtime {
    /// Runs a process in the container. Foreground: returns its exit code; detached: 0 once it
    /// has exec'd.
    pub fn exec(&self, id: &ContainerId, opts: ExecOptions) -> Result<i32, Error> {
        let sd = StateDir::open(&self.root, id)?;
        let saved = sd.load()?;
        let status = self.status_of(&saved);
        if !matches!(status, Status::Running | Status::Created) {
            return Err(Error::WrongState { id: id.to_string(), status: status.to_string(), what: "cannot exec in a container that is not running" });
        }
        let spec = sd.load_config()?;
        let p = &opts.process;
        if p.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err(Error::InvalidConfig("exec needs a program to run".into()));
        }
        if !p.cwd().is_absolute() {
            return Err(Error::InvalidConfig(format!("cwd {} must be an absolute path", p.cwd().display())));
        }
        crate::rlimits::check(p.rlimits().as_deref().unwrap_or(&[]))?;
        let warm = crate::cgroups::detect::Hierarchies::detect().ok().and_then(|h| crate::cgroups::warm_up_attach(&h));
        let cg = match saved.cgroup {
            Some(_) => Some(super::open_cgroup(&saved)?),
            None => None,
        };
        let seccomp = match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
            Some(s) => Some(self.compile_seccomp(s).map_err(|source| Error::Seccomp { id: id.to_string(), source })?),
            None => None,
        };
        let caps = CapPlan::from_spec(p.capabilities().as_ref());
        let targets = namespaces::of_pid(saved.pid);
        let in_userns = targets.iter().any(|(t, _)| *t == LinuxNamespaceType::User);
        let mut joins: Vec<(LinuxNamespaceType, OwnedFd)> = Vec::new();
        for (t, path) in &targets {
            let f = std::fs::File::open(path).map_err(|e| Error::io(id.as_str(), format!("open {}", path.display()), e))?;
            joins.push((*t, OwnedFd::from(f)));
        }
        if let Some(i) = joins.iter().position(|(t, _)| *t == LinuxNamespaceType::Pid) {
            let (_, fd) = joins.remove(i);
            rustix::thread::move_into_link_name_space(fd.as_fd(), Some(rustix::thread::LinkNameSpaceType::ProcessID))
                .map_err(|e| Error::io(id.as_str(), "join pid namespace", e))?;
        }
        let ns = NsPlan { in_userns, ..NsPlan::default() };
        let signals = if opts.detach {
            None
        } else {
            Some(crate::sys::signal::block_and_open(crate::sys::signal::FORWARDED).map_err(|e| Error::io(id.as_str(), "block signals", e))?)
        };
        let exe = crate::sys::exe::exe_for_init().map_err(|e| Error::io(id.as_str(), "open the runtime read-only for the init", e))?;
        let clone_into = cg.as_ref().and_then(|c| c.clone_into_fd());
        let spawned = process::spawn(0, clone_into.as_ref().map(|f| f.as_fd()), |chan| process::init::run(InitArgs {
                exe: exe.as_ref(),
            process: p,
            ns: &ns,
            join_fds: &joins,
            sync: chan,
            trigger: Trigger::Parent,
            caps: &caps,
            seccomp: seccomp.as_ref(),
            preserve_fds: opts.preserve_fds,
            new_keyring: false,
            late_cgroupns: false,
            container: None,
        }))
        .map_err(|e| Error::io(id.as_str(), "clone exec process", e))?;
        let pid = spawned.pid;
        // As the container's init gets it (runc does the same for exec).
        if let Some(adj) = p.oom_score_adj() {
            std::fs::write(format!("/proc/{pid}/oom_score_adj"), adj.to_string()).map_err(|e| Error::io(id.as_str(), "set oom_score_adj", e))?;
        }
        let mut host = ParentHost { id: id.as_str(), pid, bundle: &saved.bundle, spec: &spec, console_socket: opts.console_socket.as_deref(), console: None };
        let setup = (|| {
            process::send(id.as_str(), &spawned.sync, &FromParent::Continue)?;
            if let (Some(cg), None) = (&cg, &clone_into) {
                cg.add_pid(pid).map_err(|source| Error::Cgroup { id: id.to_string(), source })?;
            }
            process::send(id.as_str(), &spawned.sync, &FromParent::Joined)?;
            if let Some(w) = &warm {
                let _ = rustix::process::waitpid(rustix::process::Pid::from_raw(w.pid), rustix::process::WaitOptions::empty());
            }
            process::until_ready(id.as_str(), &spawned.sync, &mut host)?;
            process::send(id.as_str(), &spawned.sync, &FromParent::Start)?;
            process::until_exec(id.as_str(), &spawned.sync, &mut host)
        })();
        if let Err(e) = setup {
            if let Some(p) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                let _ = rustix::process::waitpid(Some(p), rustix::process::WaitOptions::empty());
            }
            return Err(e);
        }
        if let Some(f) = &opts.pid_file {
            crate::state::write_atomic(f, pid.to_string().as_bytes()).map_err(|e| Error::io(id.as_str(), format!("write pid file {}", f.display()), e))?;
        }
        match signals {
            None => Ok(0),
            Some(sig) => Ok(super::supervise::wait(pid, &spawned.pidfd, host.console.take(), &sig)),
        }
    }
}
