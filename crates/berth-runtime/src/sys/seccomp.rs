//! The raw `seccomp(2)` call that installs a compiled BPF program.
//!
//! libseccomp compiles filters in the runtime's parent; the container's init only needs this one
//! system call, so loading works after fork without libseccomp's global state or allocations.

use std::io;

use rustix::fd::{FromRawFd, OwnedFd};

/// The kernel's limit on instructions in one classic BPF program (`BPF_MAXINSNS`).
pub const BPF_MAXINSNS: usize = 4096;

/// One classic BPF instruction, as the kernel and libseccomp's `seccomp_export_bpf` lay it out.
pub type SockFilter = libc::sock_filter;

/// `SECCOMP_FILTER_FLAG_*` bits for `SECCOMP_SET_MODE_FILTER`.
#[allow(clippy::unnecessary_cast)] // c_ulong is u32 on 32-bit targets
pub mod flag {
    pub const TSYNC: u64 = libc::SECCOMP_FILTER_FLAG_TSYNC as u64;
    pub const LOG: u64 = libc::SECCOMP_FILTER_FLAG_LOG as u64;
    pub const SPEC_ALLOW: u64 = libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u64;
    pub const NEW_LISTENER: u64 = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u64;
    pub const TSYNC_ESRCH: u64 = libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH as u64;
    pub const WAIT_KILLABLE_RECV: u64 = libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u64;
}

/// What a successful `SECCOMP_SET_MODE_FILTER` returned.
#[derive(Debug)]
pub enum Installed {
    /// The filter is in place.
    Done,
    /// The filter is in place and `NEW_LISTENER` made this notification descriptor.
    Listener(OwnedFd),
    /// `TSYNC` (without `TSYNC_ESRCH`) could not move this thread to the new filter; nothing was
    /// installed.
    TsyncFailed(i32),
}

/// Installs `program` on the calling thread with `seccomp(SECCOMP_SET_MODE_FILTER, flags, ..)`.
///
/// This is safe to call: a filter can make later system calls fail or kill the process, and both
/// are outcomes safe Rust already has to cope with. The kernel copies the program before it
/// returns, so `program` may be dropped afterwards.
pub fn set_mode_filter(program: &[SockFilter], flags: u64) -> io::Result<Installed> {
    if program.is_empty() || program.len() > BPF_MAXINSNS {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let len = u16::try_from(program.len()).expect("BPF_MAXINSNS fits in u16");
    let fprog = libc::sock_fprog {
        len,
        // The kernel only reads through this pointer (it copies the program in).
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: seccomp(SECCOMP_SET_MODE_FILTER) reads `fprog` and then `fprog.len` instructions at
    // `fprog.filter`. `fprog` is a live sock_fprog on our stack for the whole call, and
    // `fprog.filter` points into `program`, a borrowed slice of exactly `len` sock_filter values
    // (checked non-empty and at most BPF_MAXINSNS above), which outlives the call. The kernel does
    // not write through either pointer, so the `cast_mut` above does not lead to a write through
    // a shared reference. No other memory is touched.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER as libc::c_ulong,
            flags as libc::c_ulong,
            &raw const fprog,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    if flags & flag::NEW_LISTENER != 0 {
        let fd = i32::try_from(ret).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        // SAFETY: with SECCOMP_FILTER_FLAG_NEW_LISTENER a successful seccomp() returns a new
        // descriptor for the notification listener (opened O_CLOEXEC by the kernel). It was made
        // by this call, so nothing else in the process owns it or will close it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        return Ok(Installed::Listener(fd));
    }
    if flags & flag::TSYNC != 0 && ret > 0 {
        // Without NEW_LISTENER or TSYNC_ESRCH, a positive return is the id of the thread that
        // could not be synchronized.
        return Ok(Installed::TsyncFailed(ret as i32));
    }
    Ok(Installed::Done)
}
