//! Network namespaces that outlive their processes, as `ip netns add` makes them: created on a
//! thread of their own and kept by a bind mount of that thread's `ns/net` on a file. An engine
//! configures one before the container joins it (by path, through the spec), and runs code in
//! it on a thread that entered it ([`run_in`]); the caller's threads never change namespace.

use std::io;
use std::os::fd::AsFd;
use std::path::Path;

use rustix::mount::UnmountFlags;
use rustix::thread::{LinkNameSpaceType, UnshareFlags};

/// Creates a new network namespace kept at `path` (a new file; its directory must exist).
pub fn create(path: &Path) -> io::Result<()> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)?;
    let made = std::thread::scope(|s| {
        s.spawn(|| -> io::Result<()> {
            crate::sys::process::unshare_namespaces(UnshareFlags::NEWNET)?;
            rustix::mount::mount_bind("/proc/thread-self/ns/net", path)?;
            Ok(())
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the namespace thread panicked")))
    });
    if made.is_err() {
        let _ = std::fs::remove_file(path);
    }
    made
}

/// Releases the namespace kept at `path` and removes the file. The kernel frees the namespace
/// (and the links in it) once no process is left in it. A path that is gone is not an error.
pub fn remove(path: &Path) -> io::Result<()> {
    match rustix::mount::unmount(path, UnmountFlags::DETACH) {
        Ok(()) | Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(e.into()),
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Brings the loopback interface up in the calling thread's network namespace: a new
/// namespace has `lo` down, and a container given one of its own (`--network none`) expects
/// 127.0.0.1 to work, as runc sets it up. One netlink request (RTM_NEWLINK, IFF_UP on
/// interface 1, which is `lo` in every namespace) and its acknowledgement.
pub fn loopback_up() -> io::Result<()> {
    use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};
    const RTM_NEWLINK: u16 = 16;
    const NLM_F_REQUEST_ACK: u16 = 1 | 4;
    const NLMSG_ERROR: u16 = 2;
    const LOOPBACK_IFINDEX: i32 = 1;
    const IFF_UP: u32 = 1;
    let fd = rustix::net::socket_with(AddressFamily::NETLINK, SocketType::RAW, SocketFlags::CLOEXEC, None)?; // None: NETLINK_ROUTE
    // nlmsghdr (length, type, flags, sequence, port) then ifinfomsg (family, pad, type,
    // index, flags, change).
    let mut msg = Vec::with_capacity(32);
    msg.extend_from_slice(&32u32.to_ne_bytes());
    msg.extend_from_slice(&RTM_NEWLINK.to_ne_bytes());
    msg.extend_from_slice(&NLM_F_REQUEST_ACK.to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&[0, 0, 0, 0]);
    msg.extend_from_slice(&LOOPBACK_IFINDEX.to_ne_bytes());
    msg.extend_from_slice(&IFF_UP.to_ne_bytes());
    msg.extend_from_slice(&IFF_UP.to_ne_bytes());
    rustix::net::send(&fd, &msg, SendFlags::empty())?;
    let mut ack = [0u8; 64];
    let (n, _) = rustix::net::recv(&fd, &mut ack, RecvFlags::empty())?;
    let field = |at: usize| ack.get(at..at + 4).and_then(|b| <[u8; 4]>::try_from(b).ok());
    let kind = ack.get(4..6).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    match (n >= 20, kind, field(16).map(i32::from_ne_bytes)) {
        (true, Some(NLMSG_ERROR), Some(0)) => Ok(()),
        (true, Some(NLMSG_ERROR), Some(e)) => Err(io::Error::from_raw_os_error(-e)),
        _ => Err(io::Error::other("unexpected netlink answer to bringing lo up")),
    }
}

/// Whether `path` holds a namespace (the bind mount is there).
pub fn exists(path: &Path) -> bool {
    let Ok(f) = std::fs::File::open(path) else { return false };
    rustix::fs::fstatfs(&f).is_ok_and(|s| s.f_type == 0x6e73_6673)
}

/// Runs `f` on a new thread that has entered the network namespace at `path`, and returns its
/// result. Sockets `f` creates belong to that namespace for their whole life.
pub fn run_in<T: Send>(path: &Path, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    let ns = std::fs::File::open(path)?;
    std::thread::scope(|s| {
        s.spawn(move || {
            rustix::thread::move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network))?;
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the namespace thread panicked")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> bool {
        rustix::process::geteuid().is_root()
    }

    #[test]
    fn a_namespace_lives_on_its_file_until_removed() {
        if !root() {
            return;
        }
        let dir = std::env::temp_dir().join(format!("berth-netns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let p = dir.join("n1");
        create(&p).expect("create");
        assert!(exists(&p));
        assert!(create(&p).is_err(), "a second namespace on the same file");
        let ours = std::fs::read_link("/proc/thread-self/ns/net").expect("own ns");
        let theirs = run_in(&p, || std::fs::read_link("/proc/thread-self/ns/net")).expect("run in");
        assert_ne!(ours, theirs);
        assert_eq!(std::fs::read_link("/proc/thread-self/ns/net").expect("own ns"), ours, "the caller stays where it was");
        // A fresh namespace has only lo, down.
        let links = run_in(&p, || std::fs::read_to_string("/proc/thread-self/net/dev")).expect("dev");
        assert_eq!(links.lines().count(), 3, "{links}");
        remove(&p).expect("remove");
        assert!(!p.exists() && !exists(&p));
        remove(&p).expect("removing twice is fine");
        std::fs::remove_dir(&dir).expect("rmdir");
    }
}
