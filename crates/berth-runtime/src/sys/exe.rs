//! The runtime never lets a container see its on-disk binary (CVE-2019-5736): before it creates
//! or enters a container it re-executes itself from a sealed, anonymous memfd copy, so that
//! `/proc/<pid>/exe` of every process it forks points at memory that cannot be written.

use std::ffi::CString;
use std::io;
use std::os::fd::AsRawFd;

use rustix::fs::{MemfdFlags, SealFlags};

const MEMFD_NAME: &str = "berth-runtime-sealed";

/// True when this process already runs from the sealed copy.
pub fn running_sealed() -> bool {
    std::fs::read_link("/proc/self/exe")
        .map(|p| p.to_string_lossy().starts_with(&format!("/memfd:{MEMFD_NAME}")))
        .unwrap_or(false)
}

/// Copies `/proc/self/exe` into a sealed memfd and executes it with the same arguments and
/// environment. Returns only on failure.
pub fn reexec_sealed() -> io::Error {
    match copy_sealed() {
        Ok(fd) => {
            let args: Vec<CString> = std::env::args_os()
                .filter_map(|a| CString::new(a.into_encoded_bytes()).ok())
                .collect();
            let env: Vec<CString> = std::env::vars_os()
                .filter_map(|(k, v)| {
                    let mut kv = k.into_encoded_bytes();
                    kv.push(b'=');
                    kv.extend(v.into_encoded_bytes());
                    CString::new(kv).ok()
                })
                .collect();
            let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
            argv.push(std::ptr::null());
            let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
            envp.push(std::ptr::null());
            // SAFETY: `fd` is an open memfd holding an ELF image; the path is the empty string
            // with AT_EMPTY_PATH; argv and envp are NULL-terminated arrays of pointers into
            // `args` and `env`, which outlive the call.
            unsafe {
                libc::syscall(
                    libc::SYS_execveat,
                    fd.as_raw_fd(),
                    c"".as_ptr(),
                    argv.as_ptr(),
                    envp.as_ptr(),
                    libc::AT_EMPTY_PATH,
                )
            };
            io::Error::last_os_error()
        }
        Err(e) => e,
    }
}

fn copy_sealed() -> io::Result<std::os::fd::OwnedFd> {
    let mut src = std::fs::File::open("/proc/self/exe")?;
    let len = src.metadata()?.len();
    // CLOEXEC is fine: execveat of a close-on-exec fd works for ELF binaries.
    let memfd = rustix::fs::memfd_create(MEMFD_NAME, MemfdFlags::ALLOW_SEALING | MemfdFlags::CLOEXEC)?;
    let mut dst = std::fs::File::from(memfd);
    let copied = std::io::copy(&mut src, &mut dst)?;
    if copied != len {
        return Err(io::Error::other(format!("copied {copied} of {len} bytes of the runtime binary")));
    }
    let memfd = std::os::fd::OwnedFd::from(dst);
    rustix::fs::fcntl_add_seals(
        &memfd,
        SealFlags::SEAL | SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE,
    )?;
    Ok(memfd)
}
