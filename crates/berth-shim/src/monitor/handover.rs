//! Handing a started container over across execve: the full `berth-shim` (which links the
//! whole runtime to create the container) re-executes into the small `berth-shim-serve` for
//! the loop, and that one back into `berth-shim __finish` to delete the container at the end.
//! Descriptors are inherited by number; the rest travels as one JSON argument.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use berth_runtime::cgroups::{Cgroup, SavedPaths};
use serde::{Deserialize, Serialize};

use std::os::unix::net::UnixStream;

use super::{Client, Mode, Monitor, Output};
use crate::log::{JsonLog, Stream};
use crate::{LogDriver, ShimOptions};

/// The hidden subcommand that continues a started monitor in a fresh image of the binary.
pub const SERVE_ARG: &str = "__serve";

/// What [`Monitor::exec_serve`] hands to the fresh image: inherited descriptor numbers and
/// the little state the loop needs.
#[derive(Serialize, Deserialize)]
struct Handover {
    pid: i32,
    pidfd: i32,
    /// (descriptor, stream number)
    outputs: Vec<(i32, u8)>,
    tty: Option<i32>,
    stdin: Option<i32>,
    log: Option<i32>,
    listener: i32,
    /// Clients connected before a held start: (descriptor, attach mode, unsent output).
    clients: Vec<(i32, Option<[bool; 4]>, Vec<u8>)>,
    finish: FinishInfo,
}

/// [`ShimOptions`] across an exec.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct OptsWire {
    id: String,
    bundle: PathBuf,
    state_dir: PathBuf,
    runtime_root: PathBuf,
    #[serde(default)]
    runtime_path: Option<PathBuf>,
    #[serde(default)]
    runtime_args: Vec<String>,
    log_path: Option<PathBuf>,
    tty: bool,
    open_stdin: bool,
    exec_process: Option<PathBuf>,
    #[serde(default)]
    log_rotate: Option<crate::log::Rotate>,
}

impl OptsWire {
    pub(super) fn from_opts(o: &ShimOptions) -> OptsWire {
        OptsWire {
            id: o.id.to_string(),
            bundle: o.bundle.clone(),
            state_dir: o.state_dir.clone(),
            runtime_root: o.runtime_root.clone(),
            runtime_path: o.runtime_path.clone(),
            runtime_args: o.runtime_args.clone(),
            log_path: match &o.log {
                LogDriver::JsonFile(p) => Some(p.clone()),
                LogDriver::None => None,
            },
            tty: o.tty,
            open_stdin: o.open_stdin,
            exec_process: o.exec_process.clone(),
            log_rotate: o.log_rotate,
        }
    }

    fn to_opts(&self) -> Option<ShimOptions> {
        Some(ShimOptions {
            id: berth_runtime::ContainerId::parse(&self.id).ok()?,
            bundle: self.bundle.clone(),
            state_dir: self.state_dir.clone(),
            runtime_root: self.runtime_root.clone(),
            runtime_path: self.runtime_path.clone(),
            runtime_args: self.runtime_args.clone(),
            log: self.log_path.clone().map_or(LogDriver::None, LogDriver::JsonFile),
            tty: self.tty,
            open_stdin: self.open_stdin,
            hold: false,
            exec_process: self.exec_process.clone(),
            log_rotate: self.log_rotate,
        })
    }
}

/// What the end of a container needs from its start: the full shim binary (the serving image
/// does not link the runtime's delete), and the memory cgroup's oom_kill count at start.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct FinishInfo {
    pub(super) opts: OptsWire,
    pub(super) shim_bin: PathBuf,
    pub(super) cgroup: Option<SavedPaths>,
    pub(super) oom_kills: u64,
}


/// The entry point of `berth-shim-serve __serve HANDOVER`: take over the started container from
/// the image that created it and serve it until it ends.
pub fn serve_inherited(handover: &str) -> i32 {
    match Monitor::inherit(handover) {
        Ok(m) => {
            let opts = m.opts.clone();
            // Only the poll loop's pages need to stay resident from here on.
            let _ = berth_runtime::sys::memory::shed_executable_pages();
            let info = m.serve();
            // Continue in the full binary, which deletes the container.
            let err = std::process::Command::new(&info.shim_bin)
                .arg(FINISH_ARG)
                .arg(serde_json::to_string(&info).expect("finish info serializes"))
                .exec();
            drop(err);
            // Without it, the exit is recorded at least; the daemon removes the rest.
            let _ = std::fs::remove_file(opts.socket_path());
            0
        }
        Err(_) => 1,
    }
}

/// The hidden subcommand of the full binary that ends a container served by the small one.
pub const FINISH_ARG: &str = "__finish";

/// The entry point of `berth-shim __finish FINISH`: delete the container.
pub fn finish_inherited(wire: &str) -> i32 {
    let Ok(info) = serde_json::from_str::<FinishInfo>(wire) else { return 1 };
    let Some(opts) = info.opts.to_opts() else { return 1 };
    finish(&opts);
    0
}

/// Deletes the container and the control socket once its exit is recorded. An exec shim
/// leaves the container alone.
pub(super) fn finish(opts: &ShimOptions) {
    if opts.exec_process.is_none() {
        let _ = opts.backend().delete(&opts.id, true);
    }
    let _ = std::fs::remove_file(opts.socket_path());
}

impl FinishInfo {
    /// The memory cgroup's oom_kill count went up since the start.
    pub(super) fn oom_killed(&self) -> bool {
        let cgroup = self.cgroup.as_ref().and_then(|p| Cgroup::open(p).ok());
        cgroup.and_then(|c| c.oom_kills().ok()).unwrap_or(0) > self.oom_kills
    }

    pub(super) fn new(opts: &ShimOptions, cgroup: Option<SavedPaths>, oom_kills: u64) -> Result<FinishInfo, crate::Error> {
        Ok(FinishInfo { opts: OptsWire::from_opts(opts), shim_bin: own_path()?, cgroup, oom_kills })
    }
}

/// This binary's path: what `/proc/self/exe` names, or, for a shim started from a protected
/// view of its binary (whose `/proc/self/exe` names no file: `/`), its argv[0], which
/// [`crate::detach::ShimBinary`] sets to the binary's path.
pub fn own_path() -> Result<PathBuf, crate::Error> {
    let exe = Path::new("/proc/self/exe");
    let named = std::fs::read_link(exe).map_err(crate::Error::io("find own executable", exe))?;
    if named.is_absolute() && named.is_file() {
        return Ok(named);
    }
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_file())
        .ok_or_else(|| crate::Error::io("find own executable", exe)(std::io::Error::other(format!("it names {}, and argv[0] is no absolute path", named.display()))))
}

/// The small binary that serves containers: next to the full one.
fn serve_bin(shim_bin: &Path) -> PathBuf {
    shim_bin.with_file_name("berth-shim-serve")
}

impl Monitor {
    /// Re-executes this binary (`/proc/self/exe`, so an upgrade on disk does not matter) as
    /// `__serve`, handing it every descriptor. The new image keeps our pid, so it is still the
    /// init's parent; only the pages the loop touches are resident. Returns `self` when the
    /// exec fails.
    pub fn exec_serve(self) -> Result<std::convert::Infallible, Box<Monitor>> {
        let wire = match self.handover() {
            Ok(w) => w,
            Err(_) => return Err(Box::new(self)),
        };
        let err = std::process::Command::new(serve_bin(&self.finish.shim_bin))
            .arg(SERVE_ARG)
            .arg(serde_json::to_string(&wire).expect("handover serializes"))
            .exec();
        drop(err);
        Err(Box::new(self))
    }

    fn handover(&self) -> std::io::Result<Handover> {
        Ok(Handover {
            pid: self.pid,
            pidfd: inheritable(self.pidfd.as_ref().ok_or_else(|| std::io::Error::other("nothing started"))?)?,
            outputs: self.outputs.iter().map(|o| Ok((inheritable(&o.fd)?, o.stream as u8))).collect::<std::io::Result<_>>()?,
            tty: self.tty.as_ref().map(inheritable).transpose()?,
            stdin: self.stdin.as_ref().map(inheritable).transpose()?,
            log: self.log.as_ref().map(|l| inheritable(l.get_ref())).transpose()?,
            listener: inheritable(&self.listener)?,
            clients: self
                .clients
                .iter()
                .map(|c| {
                    let mode = match c.mode {
                        Mode::Control => None,
                        Mode::Attach { stdin, stdout, stderr, once } => Some([stdin, stdout, stderr, once]),
                    };
                    Ok((inheritable(&c.sock)?, mode, c.out.clone()))
                })
                .collect::<std::io::Result<_>>()?,
            finish: self.finish.clone(),
        })
    }

    fn inherit(handover: &str) -> std::io::Result<Monitor> {
        let h: Handover = serde_json::from_str(handover).map_err(std::io::Error::other)?;
        let opts = &h.finish.opts.to_opts().ok_or_else(|| std::io::Error::other("bad container id"))?;
        let outputs = h
            .outputs
            .iter()
            .map(|&(fd, s)| Ok(Output { fd: take(fd)?, stream: if s == 2 { Stream::Stderr } else { Stream::Stdout } }))
            .collect::<std::io::Result<_>>()?;
        let clients = h
            .clients
            .into_iter()
            .map(|(fd, mode, out)| {
                let mode = match mode {
                    None => Mode::Control,
                    Some([stdin, stdout, stderr, once]) => Mode::Attach { stdin, stdout, stderr, once },
                };
                Ok(Client { sock: UnixStream::from(take(fd)?), mode, input: Vec::new(), out, read_closed: false, dead: false })
            })
            .collect::<std::io::Result<_>>()?;
        let log = match (h.log.map(take).transpose()?, &opts.log) {
            (Some(fd), LogDriver::JsonFile(path)) => Some(JsonLog::with_rotation(std::fs::File::from(fd), path, opts.log_rotate)),
            (Some(fd), LogDriver::None) => Some(JsonLog::new(std::fs::File::from(fd))),
            (None, _) => None,
        };
        let mut m = Monitor::new(opts, h.pid, Some(take(h.pidfd)?), UnixListener::from(take(h.listener)?), log, h.finish);
        m.outputs = outputs;
        m.tty = h.tty.map(take).transpose()?;
        m.stdin = h.stdin.map(take).transpose()?;
        m.clients = clients;
        Ok(m)
    }

}

/// Lets `fd` survive execve; returns its number.
fn inheritable(fd: &impl AsFd) -> std::io::Result<i32> {
    rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
    Ok(fd.as_fd().as_raw_fd())
}

/// Takes an inherited descriptor and makes it close-on-exec again.
fn take(n: i32) -> std::io::Result<OwnedFd> {
    let fd = berth_runtime::sys::process::take_inherited_fd(n)?;
    rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)?;
    Ok(fd)
}

