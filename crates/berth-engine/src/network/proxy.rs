//! The engine's side of berth-proxy ([`berth_shim::proxy`]): the process that holds a running
//! container's published ports, across restarts of berthd, and relays the IPv6 ones. Its pid
//! is kept in `<run dir>/proxy.pid`; its command line names the container, so that a pid
//! reused by another process is never taken for it.

use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use berth_shim::proxy::{Failure, Reply, Request};

use crate::container::shim;
use crate::error::{Error, Result};

/// Per Want of the request: the addresses bound and their port.
type Bound = Vec<(Vec<IpAddr>, u16)>;

fn pid_file(run_dir: &Path) -> PathBuf {
    run_dir.join("proxy.pid")
}

/// Starts the proxy of container `id` for `req`; returns what it bound (per Want: addresses
/// and port), or why it could not.
pub(crate) fn start(bin: &Path, run_dir: &Path, id: &str, req: &Request) -> Result<std::result::Result<Bound, Failure>> {
    let missing = |e: std::io::Error| Error::Io { what: "start berth-proxy (install it next to berth-shim)", path: bin.to_owned(), source: e };
    let mut child = Command::new(bin).args(["--id", id]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().map_err(missing)?;
    let mut line = serde_json::to_string(req).expect("requests serialize");
    line.push('\n');
    let written = child.stdin.take().expect("piped").write_all(line.as_bytes());
    let mut reply = String::new();
    let read = BufReader::new(child.stdout.take().expect("piped")).read_line(&mut reply);
    // The first process answers and exits; the proxy it forked is nobody's child.
    let status = child.wait();
    let io = |e: std::io::Error| Error::Io { what: "talk to berth-proxy", path: bin.to_owned(), source: e };
    written.map_err(io)?;
    read.map_err(io)?;
    match serde_json::from_str::<Reply>(&reply) {
        Ok(Reply::Bound { pid, bound }) => {
            let file = pid_file(run_dir);
            if let Err(e) = std::fs::write(&file, pid.to_string()) {
                if let Some(p) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                }
                return Err(Error::io("record the port proxy's pid", &file)(e));
            }
            Ok(Ok(bound))
        }
        Ok(Reply::Failed { failed }) => Ok(Err(failed)),
        Err(_) => Err(Error::Internal(format!("berth-proxy gave no answer ({}): {reply:?}", status.map(|s| s.to_string()).unwrap_or_default()))),
    }
}

/// The proxy of container `id` still runs.
pub(crate) fn running(run_dir: &Path, id: &str) -> bool {
    shim::ours(&pid_file(run_dir), id).is_some()
}

/// Ends the proxy of container `id`, when it runs: its ports are free when this returns.
pub(crate) fn stop(run_dir: &Path, id: &str) {
    let file = pid_file(run_dir);
    if let Some(pid) = shim::ours(&file, id) {
        match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
            Ok(fd) => {
                // Not our child: its pidfd tells when the kernel has taken it down (and its
                // sockets with it).
                let _ = rustix::process::pidfd_send_signal(&fd, rustix::process::Signal::KILL);
                let limit = rustix::time::Timespec { tv_sec: 5, tv_nsec: 0 };
                let _ = rustix::event::poll(&mut [rustix::event::PollFd::new(&fd, rustix::event::PollFlags::IN)], Some(&limit));
            }
            Err(_) => {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
    let _ = std::fs::remove_file(file);
}
