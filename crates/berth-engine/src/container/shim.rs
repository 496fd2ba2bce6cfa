//! Talking to a container's shim: launching it (a blocking double fork, so on the blocking
//! pool), one-line JSON requests on its control socket, and noticing when it ends (a pidfd
//! becomes readable), which is how the engine learns that a container exited, whether it
//! started the shim itself or found it running after a restart.

use std::path::Path;
use std::sync::Arc;

use berth_shim::protocol::Request;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use crate::error::{Error, Result};

/// Longest wait for a shim to answer a control request.
const REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Starts a detached shim; returns the pid it reports (0 for a held exec).
pub async fn launch(shim: Arc<berth_shim::detach::ShimBinary>, opts: berth_shim::ShimOptions, id: String) -> Result<i32> {
    tokio::task::spawn_blocking(move || berth_shim::detach::launch(&shim, &opts))
        .await
        .map_err(|e| Error::Internal(format!("shim launch task: {e}")))?
        .map_err(|source| match source {
            berth_shim::Error::Detached(message) => Error::ShimSaid { what: "create", id: short(&id), message: tidy(&id, &message) },
            source => Error::Shim { what: "start the shim", id, source },
        })
}

fn short(id: &str) -> String {
    id[..id.len().min(12)].to_owned()
}

/// The shim's and the runtime's messages name the container at every level; once is enough.
pub(crate) fn tidy(id: &str, message: &str) -> String {
    message.replace(&format!("container {id}: "), "")
}

/// Connects to `sock`, sends `req`, and returns the connection (positioned after the reply)
/// and the reply; a reply with `"ok": false` is an error carrying the shim's message.
pub async fn request(sock: &Path, req: &Request, id: &str, what: &'static str) -> Result<(UnixStream, Value)> {
    let fut = async {
        let mut s = UnixStream::connect(sock).await.map_err(Error::io("connect to the shim", sock))?;
        let mut line = serde_json::to_vec(req).expect("requests serialize");
        line.push(b'\n');
        s.write_all(&line).await.map_err(Error::io("write to the shim", sock))?;
        // Read the reply one byte at a time: whatever follows it (attached output) must stay
        // in the socket for the caller.
        let mut reply = Vec::new();
        let mut r = BufReader::with_capacity(1, &mut s);
        r.read_until(b'\n', &mut reply).await.map_err(Error::io("read the shim's reply", sock))?;
        drop(r);
        let v: Value = serde_json::from_slice(&reply)
            .map_err(|e| Error::ShimSaid { what, id: id.to_owned(), message: format!("unreadable reply {:?}: {e}", String::from_utf8_lossy(&reply)) })?;
        if v["ok"] != Value::Bool(true) {
            let message = tidy(id, v["error"].as_str().unwrap_or("no reason given"));
            return Err(Error::ShimSaid { what, id: short(id), message });
        }
        Ok((s, v))
    };
    tokio::time::timeout(REPLY_TIMEOUT, fut).await.map_err(|_| Error::ShimSaid { what, id: id.to_owned(), message: "no reply within 30 s".into() })?
}

/// Waits until the shim serving `sock` (process `pid`) has ended: its connections close when
/// it starts to finish, then the process goes. Returns at once when it is already gone. No
/// thread or pidfd is held per container: one idle socket.
pub async fn wait_gone(sock: &Path, pid: i32) {
    wait_closed(sock).await;
    wait_ended(pid).await;
}

/// Waits until the shim serving `sock` lets its clients go: a container's shim does so once
/// the exit is recorded, before it deletes the container from its runtime; an exec's shim
/// (whose descriptors are close-on-exec) when it starts to finish.
pub async fn wait_closed(sock: &Path) {
    if let Ok(mut s) = UnixStream::connect(sock).await {
        let mut buf = [0u8; 256];
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    }
}

/// Waits until process `pid` has ended, on a pidfd, which wakes us at once; polls only where
/// none can be had. At most a minute: a shim that finishes for longer is left to itself.
pub async fn wait_ended(pid: i32) {
    let limit = std::time::Duration::from_secs(60);
    if let Some(p) = rustix::process::Pid::from_raw(pid) {
        if let Ok(fd) = rustix::process::pidfd_open(p, rustix::process::PidfdFlags::NONBLOCK) {
            // tokio deprecated this safe constructor because a borrowed fd could be closed
            // while registered; the AsyncFd owns this OwnedFd, so it stays open as long as it.
            #[allow(deprecated)]
            let registered = tokio::io::unix::AsyncFd::with_interest(fd, tokio::io::Interest::READABLE);
            if let Ok(afd) = registered {
                let _ = tokio::time::timeout(limit, afd.readable()).await;
                return;
            }
        }
    }
    let deadline = tokio::time::Instant::now() + limit;
    while alive(pid) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// A live process (not a zombie) with this pid.
pub fn alive(pid: i32) -> bool {
    pid > 0
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rfind(')').map(|i| !s[i + 2..].starts_with('Z')))
            .unwrap_or(false)
}

/// The live process whose pid is in `pid_file`, when its command line holds `marker` (so a
/// pid reused by something else is never taken for it).
pub fn ours(pid_file: &Path, marker: &str) -> Option<rustix::process::Pid> {
    let pid = std::fs::read_to_string(pid_file).ok()?.trim().parse::<i32>().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let found = cmdline.split(|b| *b == 0).any(|arg| arg == marker.as_bytes());
    if found && alive(pid) {
        rustix::process::Pid::from_raw(pid)
    } else {
        None
    }
}

/// Kills the process of `pid_file` when it is [`ours`].
pub fn kill_ours(pid_file: &Path, marker: &str) {
    if let Some(p) = ours(pid_file, marker) {
        let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
    }
}
