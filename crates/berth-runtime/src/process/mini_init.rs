//! berth's `--init`: a minimal PID 1 for containers (Docker ships tini as `docker-init`). It
//! starts the command, forwards the signals it gets to it, reaps every zombie that is
//! re-parented to it, and exits with the command's status (128 + N when a signal ended it).
//! The `berth-init` binary (in berth-shim) is this function; berthd bind-mounts it read-only
//! at `/sbin/docker-init` and puts it in front of the container's command.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::{Pid, Signal, WaitOptions};

use crate::sys;

/// The signals passed on to the command (SIGCHLD is the init's own business).
const PASSED_ON: &[i32] = &[
    libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGUSR1, libc::SIGUSR2,
    libc::SIGWINCH, libc::SIGCONT, libc::SIGALRM, libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU,
];

/// Runs `args` (after an optional `--`) as the init's child; returns the exit code to leave
/// with. Must be called in a single-threaded process.
pub fn run(args: &[String]) -> i32 {
    let cmd: &[String] = match args.first().map(String::as_str) {
        Some("--") => &args[1..],
        _ => args,
    };
    let Some(program) = cmd.first() else {
        eprintln!("berth-init: no command given: usage: berth-init [--] COMMAND [ARG...]");
        return 2;
    };
    let mut watched = PASSED_ON.to_vec();
    watched.push(libc::SIGCHLD);
    let sfd = match sys::signal::block_and_open(&watched) {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("berth-init: block signals: {e}");
            return 1;
        }
    };
    if rustix::process::getpid() != Pid::INIT {
        // Not PID 1 (a host pid namespace): become the reaper of our descendants anyway.
        let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    }
    let argv: Vec<CString> = match cmd.iter().map(|a| CString::new(a.as_bytes())).collect() {
        Ok(v) => v,
        Err(_) => {
            eprintln!("berth-init: an argument holds a NUL byte");
            return 2;
        }
    };
    let envp: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    let path = if program.contains('/') {
        Some(std::path::PathBuf::from(program))
    } else {
        super::init::lookup_path(program, std::env::var("PATH").ok().as_deref())
    };
    let Some(path) = path.and_then(|p| CString::new(p.into_os_string().into_encoded_bytes()).ok()) else {
        eprintln!("berth-init: exec {program}: executable file not found in $PATH");
        return 127;
    };
    let child = sys::clone::fork_plain(|| {
        if sys::signal::reset_for_exec().is_err() {
            sys::process::exit_now(126);
        }
        let err = sys::process::execve(&path, &argv, &envp);
        eprintln!("berth-init: exec {}: {err}", path.to_string_lossy());
        sys::process::exit_now(if err.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 })
    });
    let child_pid = match child {
        Ok(pid) => pid,
        Err(e) => {
            eprintln!("berth-init: start {program}: {e}");
            return 1;
        }
    };
    loop {
        let mut fds = [PollFd::new(&sfd, PollFlags::IN)];
        if let Err(e) = poll(&mut fds, None) {
            if e == rustix::io::Errno::INTR {
                continue;
            }
            eprintln!("berth-init: wait for signals: {e}");
            return 1;
        }
        while let Ok(Some(sig)) = sys::signal::read_signal(&sfd) {
            if sig != libc::SIGCHLD {
                if let (Some(pid), Some(s)) = (Pid::from_raw(child_pid), Signal::from_named_raw(sig)) {
                    let _ = rustix::process::kill_process(pid, s);
                }
                continue;
            }
            // Reap everything that ended; the command's end is ours.
            while let Ok(Some((pid, status))) = rustix::process::wait(WaitOptions::NOHANG) {
                if pid.as_raw_nonzero().get() == child_pid {
                    return match (status.exit_status(), status.terminating_signal()) {
                        (Some(code), _) => code,
                        (None, Some(sig)) => 128 + sig,
                        _ => 1,
                    };
                }
            }
        }
    }
}
