//! Creating container processes: the arguments the init works from, the fork, and the
//! parent's side of the sync protocol (id maps, cgroup, hooks, console, seccomp listener).

pub mod init;
pub mod mini_init;
pub mod sync;

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespaceType, Process};

use crate::caps::CapPlan;
use crate::namespaces::NsPlan;
use crate::seccomp::Filter;
use crate::spec::Plan;
use init::Trigger;
use sync::{Channel, FromChild, FromParent};

/// What only a container's first process (not an `exec`) needs.
pub struct ContainerInit<'a> {
    pub plan: &'a Plan,
    pub fresh_cgroup2: bool,
    pub cgroup_binds: Vec<(String, PathBuf)>,
    /// createRuntime/prestart hooks exist: stop before pivot_root for the parent to run them.
    pub hooks_before_pivot: bool,
    pub no_pivot: bool,
    /// The OCI state JSON handed to hooks run inside the container.
    pub state_json: Vec<u8>,
}

/// Everything the init needs, computed in the parent before the fork.
pub struct InitArgs<'a> {
    /// The write-protected runtime the init re-executes from (`sys::exe::protected_exe`);
    /// None when the runtime runs from one already (`sys::exe::running_protected`). Made by
    /// the parent before the fork: a memfd copy made by the init would be charged to the
    /// container's memory limit.
    pub exe: Option<&'a OwnedFd>,
    pub process: &'a Process,
    pub ns: &'a NsPlan,
    pub join_fds: &'a [(LinuxNamespaceType, OwnedFd)],
    pub sync: &'a Channel,
    pub trigger: Trigger,
    pub caps: &'a CapPlan,
    pub seccomp: Option<&'a Filter>,
    pub preserve_fds: u32,
    pub new_keyring: bool,
    /// Unshare the cgroup namespace after the parent placed us in our cgroup (v1 and hybrid
    /// hosts, where we cannot be born in it).
    pub late_cgroupns: bool,
    pub container: Option<ContainerInit<'a>>,
}

/// A forked init as the parent sees it.
pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
    pub sync: Channel,
}

/// Forks the init with `clone_flags`, born in `cgroup` where that is possible, and runs
/// `child` in it (which calls [`init::run`]); `child` receives its end of the sync channel.
pub fn spawn(
    clone_flags: u64,
    cgroup: Option<BorrowedFd<'_>>,
    child: impl FnOnce(&Channel) -> std::convert::Infallible,
) -> std::io::Result<Spawned> {
    let (parent_end, child_end) = sync::pair()?;
    // The child keeps its copy of `parent_end` until exec closes it (CLOEXEC): harmless, as
    // the parent watches for the child's end to close, and the child dies with its parent.
    let child = crate::sys::clone::fork_child(clone_flags, cgroup, || child(&child_end))?;
    drop(child_end);
    Ok(Spawned { pid: child.pid, pidfd: child.pidfd, sync: parent_end })
}

/// What the parent does for the messages an init sends before it is ready.
pub trait Host {
    /// createRuntime and prestart hooks, in the runtime's namespaces.
    fn run_hooks(&mut self) -> Result<(), crate::Error>;
    fn console(&mut self, master: OwnedFd) -> Result<(), crate::Error>;
    fn seccomp_listener(&mut self, fd: OwnedFd) -> Result<(), crate::Error>;
}

/// Serves the init's requests until it reports Ready.
pub fn until_ready(id: &str, chan: &Channel, host: &mut dyn Host) -> Result<(), crate::Error> {
    loop {
        match recv(id, chan)? {
            Some((FromChild::Ready, _)) => return Ok(()),
            Some((FromChild::RunHooks, _)) => {
                host.run_hooks()?;
                send(id, chan, &FromParent::Continue)?;
            }
            Some((FromChild::Console, Some(fd))) => host.console(fd)?,
            Some((FromChild::SeccompListener, Some(fd))) => host.seccomp_listener(fd)?,
            Some((FromChild::Failed { step, detail, .. }, _)) => {
                return Err(crate::Error::InitMessage { id: id.to_owned(), message: format!("{step}: {detail}") });
            }
            Some((m, None)) => {
                return Err(crate::Error::InitMessage { id: id.to_owned(), message: format!("{m:?} came without its descriptor") });
            }
            None => {
                return Err(crate::Error::InitMessage { id: id.to_owned(), message: "container init exited during setup".into() });
            }
        }
    }
}

/// After Start: serves the init until it execs (the channel closes) or fails.
pub fn until_exec(id: &str, chan: &Channel, host: &mut dyn Host) -> Result<(), crate::Error> {
    loop {
        match recv(id, chan)? {
            None => return Ok(()),
            Some((FromChild::SeccompListener, Some(fd))) => host.seccomp_listener(fd)?,
            Some((FromChild::Console, Some(fd))) => host.console(fd)?,
            Some((FromChild::Failed { step, detail, .. }, _)) => {
                return Err(crate::Error::InitMessage { id: id.to_owned(), message: format!("{step}: {detail}") });
            }
            Some((m, _)) => {
                return Err(crate::Error::InitMessage { id: id.to_owned(), message: format!("unexpected {m:?} from the init") });
            }
        }
    }
}

fn recv(id: &str, chan: &Channel) -> Result<Option<(FromChild, Option<OwnedFd>)>, crate::Error> {
    chan.recv().map_err(|e| crate::Error::io(id, "read from container init", e))
}

pub fn send(id: &str, chan: &Channel, m: &FromParent) -> Result<(), crate::Error> {
    chan.send(m).map_err(|e| {
        // The init may have failed and exited before reading this: its last message says why.
        // Its end is closed, so this read cannot block.
        if let Ok(Some((FromChild::Failed { step, detail, .. }, _))) = chan.recv::<FromChild>() {
            return crate::Error::InitMessage { id: id.to_owned(), message: format!("{step}: {detail}") };
        }
        crate::Error::io(id, "write to container init", e)
    })
}
