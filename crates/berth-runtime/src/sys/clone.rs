//! clone3(2): one call creates the container's init in its namespaces and, on cgroup v2, in its
//! cgroup.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// CLONE_INTO_CGROUP (Linux 5.7); not in every libc release yet.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Which side of the fork we are on.
enum Forked {
    Child,
    Parent { pid: i32, pidfd: OwnedFd },
}

/// A child made by [`fork_child`]: its pid (in our pid namespace) and a pidfd for it.
pub struct Child {
    pub pid: i32,
    pub pidfd: OwnedFd,
}

/// The number of threads of this process (field 20 of /proc/self/stat).
fn thread_count() -> io::Result<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    rest.split(' ').nth(17).and_then(|n| n.parse().ok()).ok_or_else(|| io::Error::other("cannot read thread count from /proc/self/stat"))
}

/// Forks a child that runs `child` (which must exec or exit, never return) in the new
/// namespaces `ns_flags` and, on cgroup v2, born inside `cgroup`. Refuses to fork from a
/// process with more than one thread, where the child could inherit a lock held for ever.
// `child()` has an uninhabited type, which rustc reports as unreachable code after it.
#[allow(unreachable_code)]
pub fn fork_child(ns_flags: u64, cgroup: Option<BorrowedFd<'_>>, child: impl FnOnce() -> std::convert::Infallible) -> io::Result<Child> {
    if thread_count()? != 1 {
        return Err(io::Error::other("the runtime must be single-threaded to create a container process"));
    }
    // SAFETY: we just checked that this process has one thread, and the child side runs
    // `child`, which never returns (its type is uninhabited): it execs or calls exit_now.
    match unsafe { clone_child(ns_flags, cgroup) }? {
        Forked::Child => match child() {},
        Forked::Parent { pid, pidfd } => Ok(Child { pid, pidfd }),
    }
}

/// Forks a plain child with fork(2), for code that runs inside a container, where Docker's
/// seccomp profile answers clone3 with ENOSYS. Returns the child's pid; same rules as
/// [`fork_child`]: single-threaded caller, `child` execs or exits.
#[allow(unreachable_code)]
pub fn fork_plain(child: impl FnOnce() -> std::convert::Infallible) -> io::Result<i32> {
    if thread_count()? != 1 {
        return Err(io::Error::other("fork needs a single-threaded process"));
    }
    // SAFETY: this process has one thread (checked above), so the child's copy holds no lock
    // another thread took; the child runs `child`, which never returns (uninhabited type).
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => match child() {},
        pid => Ok(pid),
    }
}

/// Forks a child in the new namespaces named by `ns_flags` (CLONE_NEW* bits) and, when `cgroup`
/// is given, directly inside that cgroup v2 directory.
///
/// # Safety
/// The calling process must have exactly one thread: the child gets a copy of this thread alone,
/// and a lock held by any other thread would stay held in the child for ever. The child must
/// leave by `execve` or [`super::process::exit_now`], never by returning through the caller's
/// frames into code that assumes it is the original process.
unsafe fn clone_child(ns_flags: u64, cgroup: Option<BorrowedFd<'_>>) -> io::Result<Forked> {
    let mut pidfd: RawFd = -1;
    let mut args = CloneArgs {
        flags: ns_flags | libc::CLONE_PIDFD as u64,
        pidfd: &raw mut pidfd as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    if let Some(cg) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = cg.as_raw_fd() as u64;
    }
    // SAFETY: `args` is a valid clone_args that outlives the call and `pidfd` is a live i32 the
    // kernel may write. stack = 0 makes clone3 behave like fork(2): the child runs on a copy of
    // our stack. The caller guarantees we are single-threaded (see # Safety).
    let ret = unsafe {
        libc::syscall(libc::SYS_clone3, &raw const args, std::mem::size_of::<CloneArgs>())
    };
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => {
            // SAFETY: clone3 succeeded with CLONE_PIDFD, so `pidfd` is a new open descriptor
            // that nothing else owns.
            let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
            Ok(Forked::Parent { pid: pid as i32, pidfd })
        }
    }
}
