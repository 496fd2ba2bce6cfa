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
