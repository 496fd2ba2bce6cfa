//! The runtime never lets a container write its binary (CVE-2019-5736): every process of a
//! container runs, before it becomes visible in the container, from a file that nothing can
//! write through, so `/proc/<pid>/exe` of every process there is read-only: a detached
//! read-only bind mount of the binary (no copy: a few syscalls), or, where the caller may not
//! make mounts (rootless), a sealed memfd copy of it.
//!
//! A runtime started from such a file already (berthd starts its shims so, see
//! [`protected`]) forks container processes that stay in its image; otherwise they re-execute
//! themselves from [`protected_exe`] first.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;

use rustix::fs::{MemfdFlags, SealFlags};

const MEMFD_NAME: &str = "berth-runtime-sealed";

/// Executes the program in `fd` (AT_EMPTY_PATH). Returns only on failure.
pub fn exec_fd(fd: BorrowedFd<'_>, argv: &[CString], envp: &[CString]) -> io::Error {
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());
    // SAFETY: `fd` is an open descriptor for the duration of the call; the path is the empty
    // string with AT_EMPTY_PATH; argv and envp are NULL-terminated arrays of pointers into
    // `argv` and `envp`, which outlive the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv_ptrs.as_ptr(),
            env_ptrs.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    io::Error::last_os_error()
}

/// An executable descriptor for this process's own binary that nothing can write through.
pub fn protected_exe() -> io::Result<std::os::fd::OwnedFd> {
    protected(Path::new("/proc/self/exe"))
}

/// An executable descriptor for the binary `path` that nothing can write through: what a
/// process executed from it (`execveat`, or the path `/proc/self/fd/N`) runs from, and what its
/// `/proc/<pid>/exe` leads to.
pub fn protected(path: &Path) -> io::Result<std::os::fd::OwnedFd> {
    readonly_bind(path).or_else(|_| sealed_copy(path))
}

/// Whether this process runs from a file nothing can write through: one on a read-only mount
/// (such as [`protected`]'s bind mount), or a memfd sealed against writes. Its forks may then
/// become container processes without re-executing. Checked once.
pub fn running_protected() -> bool {
    static PROTECTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PROTECTED.get_or_init(|| {
        let Ok(exe) = std::fs::File::open("/proc/self/exe") else { return false };
        let read_only = rustix::fs::fstatvfs(&exe).is_ok_and(|st| st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY));
        read_only || rustix::fs::fcntl_get_seals(&exe).is_ok_and(|s| s.contains(SealFlags::WRITE))
    })
}

/// What a container process re-executes from ([`protected_exe`]), or None when this process
/// runs from a protected file already ([`running_protected`]) and its forks need not.
pub fn exe_for_init() -> io::Result<Option<std::os::fd::OwnedFd>> {
    if running_protected() {
        return Ok(None);
    }
    protected_exe().map(Some)
}

/// A detached bind mount of `path`, made read-only: opening it for writing, through
/// `/proc/<pid>/exe` or a descriptor reopened from it, fails with EROFS. It is in no mount
/// namespace, so nothing in a container can reach it to change it.
fn readonly_bind(path: &Path) -> io::Result<std::os::fd::OwnedFd> {
    use rustix::mount::OpenTreeFlags;
    let tree = rustix::mount::open_tree(rustix::fs::CWD, path, OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC)?;
    let attr = super::mount::MountAttr { attr_set: super::mount::MOUNT_ATTR_RDONLY | super::mount::MOUNT_ATTR_NOSUID | super::mount::MOUNT_ATTR_NODEV, ..Default::default() };
    super::mount::mount_setattr(tree.as_fd(), false, &attr)?;
    Ok(tree)
}

/// A sealed, anonymous copy of the binary `path`: writes, and growing or shrinking it, are
/// refused by the kernel for as long as it exists.
fn sealed_copy(path: &Path) -> io::Result<std::os::fd::OwnedFd> {
    let mut src = std::fs::File::open(path)?;
    let len = src.metadata()?.len();
    // CLOEXEC is fine: execveat of a close-on-exec fd works for ELF binaries.
    let memfd = rustix::fs::memfd_create(MEMFD_NAME, MemfdFlags::ALLOW_SEALING | MemfdFlags::CLOEXEC)?;
    let mut dst = std::fs::File::from(memfd);
    let copied = std::io::copy(&mut src, &mut dst)?;
    if copied != len {
        return Err(io::Error::other(format!("copied {copied} of {len} bytes of {}", path.display())));
    }
    let memfd = std::os::fd::OwnedFd::from(dst);
    rustix::fs::fcntl_add_seals(
        &memfd,
        SealFlags::SEAL | SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE,
    )?;
    Ok(memfd)
}
