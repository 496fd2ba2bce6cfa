//! Paths inside the container's root, resolved by the kernel with RESOLVE_IN_ROOT: `..` and
//! absolute symlinks stop at the root, magic links such as /proc/self/fd/N are refused. Nothing
//! here joins path strings onto the rootfs.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path};

use rustix::fs::{Mode, OFlags, ResolveFlags};

fn in_root() -> ResolveFlags {
    ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS
}

/// Opens `path` as the container sees it.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path, flags: OFlags) -> io::Result<OwnedFd> {
    let rel = strip_root(path);
    loop {
        match rustix::fs::openat2(root, rel, flags | OFlags::CLOEXEC, Mode::empty(), in_root()) {
            Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => continue,
            r => return r.map_err(|e| with_path(e.into(), path)),
        }
    }
}

fn strip_root(path: &Path) -> &Path {
    let rel = path.strip_prefix("/").unwrap_or(path);
    if rel.as_os_str().is_empty() { Path::new(".") } else { rel }
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Creates every missing directory of `path` inside the root (mode 0755) and opens the last.
pub fn mkdir_all_in_root(root: BorrowedFd<'_>, path: &Path) -> io::Result<OwnedFd> {
    let mut cur = open_in_root(root, Path::new("/"), OFlags::PATH | OFlags::DIRECTORY)?;
    let mut sofar = std::path::PathBuf::from("/");
    for comp in path.components() {
        let name = match comp {
            Component::Normal(n) => n,
            Component::RootDir | Component::CurDir => continue,
            Component::ParentDir | Component::Prefix(_) => {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{}: '..' is not allowed here", path.display())));
            }
        };
        sofar.push(name);
        cur = match open_in_root(root, &sofar, OFlags::PATH | OFlags::DIRECTORY) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // `cur` was resolved inside the root, and `name` is one component, so the new
                // directory cannot land outside it. A dangling symlink named `name` makes
                // mkdirat fail with EEXIST, and the open below reports it.
                match rustix::fs::mkdirat(cur.as_fd(), name, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(with_path(e.into(), &sofar)),
                }
                open_in_root(root, &sofar, OFlags::PATH | OFlags::DIRECTORY)?
            }
            Err(e) => return Err(e),
        };
    }
    Ok(cur)
}

/// Makes sure `path` exists inside the root as a regular file (for a bind of a file), creating
/// its parents, and opens it O_PATH.
pub fn touch_in_root(root: BorrowedFd<'_>, path: &Path) -> io::Result<OwnedFd> {
    match open_in_root(root, path, OFlags::PATH) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{}: no file name", path.display())))?;
    let dir = mkdir_all_in_root(root, parent)?;
    let dir = rustix::fs::openat(&dir, ".", OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    match rustix::fs::openat(&dir, name, OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::WRONLY | OFlags::CLOEXEC, Mode::from_raw_mode(0o644)) {
        Ok(_) | Err(rustix::io::Errno::EXIST) => {}
        Err(e) => return Err(with_path(e.into(), path)),
    }
    open_in_root(root, path, OFlags::PATH)
}
