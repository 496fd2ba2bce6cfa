//! Process-level calls rustix does not wrap: execve, `_exit`, close_range, personality.

use std::ffi::CString;
use std::io;

/// Leaves the process at once, without running destructors or atexit handlers: what a forked
/// child must do when it fails before `execve`.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` takes any integer and never returns; skipping destructors is the intent.
    unsafe { libc::_exit(code) }
}

/// Replaces the process image. Returns only on failure.
pub fn execve(path: &CString, argv: &[CString], envp: &[CString]) -> io::Error {
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());
    // SAFETY: `path` is NUL-terminated, and both arrays are NULL-terminated arrays of pointers
    // to NUL-terminated strings that live (borrowed from `argv`/`envp`) for the whole call.
    unsafe { libc::execve(path.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr()) };
    io::Error::last_os_error()
}

/// Marks every descriptor from `first` upwards close-on-exec, so nothing of the runtime leaks
/// into the container (CVE-2024-21626).
pub fn cloexec_from(first: u32) -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes descriptor flags of this process; the arguments are
    // plain integers.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, libc::c_uint::MAX, CLOSE_RANGE_CLOEXEC) };
    if r == -1 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Sets the execution domain (personality(2)).
pub fn set_personality(persona: libc::c_ulong) -> io::Result<()> {
    // SAFETY: personality takes a plain integer and affects only this process.
    let r = unsafe { libc::personality(persona) };
    if r == -1 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Gives the process a new anonymous session keyring, so containers do not share the host's
/// (runc does the same unless --no-new-keyring).
pub fn join_new_session_keyring() -> io::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: KEYCTL_JOIN_SESSION_KEYRING with a NULL name creates an anonymous keyring; the
    // other arguments are unused integers.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, std::ptr::null::<libc::c_char>(), 0, 0, 0) };
    if r == -1 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// unshare(2) restricted to namespace flags. rustix marks unshare unsafe because CLONE_FILES
/// and CLONE_FS change state other code may rely on; namespace flags do not.
pub fn unshare_namespaces(flags: rustix::thread::UnshareFlags) -> io::Result<()> {
    use rustix::thread::UnshareFlags as F;
    let allowed = F::NEWNS | F::NEWCGROUP | F::NEWUTS | F::NEWIPC | F::NEWUSER | F::NEWPID | F::NEWNET | F::NEWTIME;
    if !allowed.contains(flags) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "unshare_namespaces takes namespace flags only"));
    }
    // SAFETY: only namespace flags are passed (checked above); they do not unshare the file
    // table or fs information that Rust's std or other code in this process relies on.
    Ok(unsafe { rustix::thread::unshare_unsafe(flags) }?)
}

/// Takes ownership of descriptor `n`, inherited across execve from the process that exec'd us.
/// Fails unless `n` is open.
pub fn take_inherited_fd(n: i32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    if n < 3 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("descriptor {n} is not an inherited one")));
    }
    // SAFETY: F_GETFD on any integer is harmless; it only tells whether `n` is open.
    if unsafe { libc::fcntl(n, libc::F_GETFD) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `n` is open (checked above) and was handed to this process image by its
    // predecessor for this caller alone: nothing else in this process owns or closes it.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(n) })
}
