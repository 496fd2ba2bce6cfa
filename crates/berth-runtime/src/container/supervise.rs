//! The foreground wait of `run` and `exec`: forward the signals we get to the container
//! process, copy between our terminal and its pty, and return its exit code.

use std::os::fd::{AsFd, OwnedFd};

use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, Signal, WaitOptions};

/// Waits for `pid` to end; returns its exit code, or 128+N when signal N killed it.
pub fn wait(pid: i32, pidfd: &OwnedFd, console: Option<OwnedFd>, signals: &OwnedFd) -> i32 {
    let stdin = std::io::stdin();
    let raw = console.as_ref().and_then(|_| RawMode::enter(stdin.as_fd()));
    if let (Some(master), true) = (&console, raw.is_some()) {
        copy_winsize(stdin.as_fd(), master.as_fd());
    }
    let mut stdin_open = console.is_some();
    let mut buf = vec![0u8; 32 * 1024];
    let code = loop {
        let mut fds = vec![PollFd::new(pidfd, PollFlags::IN), PollFd::new(signals, PollFlags::IN)];
        if let Some(m) = &console {
            fds.push(PollFd::new(m, PollFlags::IN));
            if stdin_open {
                fds.push(PollFd::from_borrowed_fd(stdin.as_fd(), PollFlags::IN));
            }
        }
        match rustix::event::poll(&mut fds, None) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(_) => break reap(pid),
        }
        let ready: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
        drop(fds);
        if let Some(m) = &console {
            if ready.get(2).is_some_and(|r| !r.is_empty()) {
                pump(m.as_fd(), std::io::stdout().as_fd(), &mut buf);
            }
            if ready.get(3).is_some_and(|r| !r.is_empty()) && !pump(stdin.as_fd(), m.as_fd(), &mut buf) {
                stdin_open = false;
            }
        }
        if !ready[1].is_empty() {
            while let Ok(Some(sig)) = crate::sys::signal::read_signal(signals) {
                match sig {
                    libc::SIGCHLD => {}
                    libc::SIGWINCH => {
                        if let Some(m) = &console {
                            copy_winsize(stdin.as_fd(), m.as_fd());
                        }
                    }
                    s => {
                        if let (Some(p), Some(sig)) = (Pid::from_raw(pid), Signal::from_named_raw(s)) {
                            let _ = rustix::process::kill_process(p, sig);
                        }
                    }
                }
            }
        }
        if !ready[0].is_empty() {
            if let Some(m) = &console {
                // Drain what the container wrote before it ended.
                while pump_nonblocking(m.as_fd(), &mut buf) {}
            }
            break reap(pid);
        }
    };
    drop(raw);
    code
}

fn reap(pid: i32) -> i32 {
    loop {
        match rustix::process::waitpid(Pid::from_raw(pid), WaitOptions::empty()) {
            Ok(Some((_, st))) => {
                if let Some(c) = st.exit_status() {
                    return c;
                }
                if let Some(s) = st.terminating_signal() {
                    return 128 + s;
                }
            }
            Err(rustix::io::Errno::INTR) => continue,
            _ => return 255,
        }
    }
}

/// Copies one read's worth; false at EOF or error.
fn pump(from: std::os::fd::BorrowedFd<'_>, to: std::os::fd::BorrowedFd<'_>, buf: &mut [u8]) -> bool {
    match rustix::io::read(from, &mut *buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => write_all(to, &buf[..n]),
    }
}

fn pump_nonblocking(from: std::os::fd::BorrowedFd<'_>, buf: &mut [u8]) -> bool {
    let mut fds = [PollFd::from_borrowed_fd(from, PollFlags::IN)];
    let zero = rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 };
    match rustix::event::poll(&mut fds, Some(&zero)) {
        Ok(n) if n > 0 && fds[0].revents().contains(PollFlags::IN) => pump(from, std::io::stdout().as_fd(), buf),
        _ => false,
    }
}

fn write_all(to: std::os::fd::BorrowedFd<'_>, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        match rustix::io::write(to, data) {
            Ok(n) => data = &data[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return false,
        }
    }
    true
}

fn copy_winsize(from: std::os::fd::BorrowedFd<'_>, to: std::os::fd::BorrowedFd<'_>) {
    if let Ok(ws) = rustix::termios::tcgetwinsize(from) {
        let _ = rustix::termios::tcsetwinsize(to, ws);
    }
}

/// Our terminal in raw mode for as long as this lives.
struct RawMode {
    saved: rustix::termios::Termios,
}

impl RawMode {
    fn enter(fd: std::os::fd::BorrowedFd<'_>) -> Option<RawMode> {
        let saved = rustix::termios::tcgetattr(fd).ok()?;
        let mut raw = saved.clone();
        raw.make_raw();
        rustix::termios::tcsetattr(fd, rustix::termios::OptionalActions::Now, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(std::io::stdin().as_fd(), rustix::termios::OptionalActions::Now, &self.saved);
    }
}
