//! OCI hooks: each runs with the container's state JSON on stdin, its own args and env, and an
//! optional timeout; a failing createRuntime/createContainer/startContainer/prestart hook fails
//! the container, a failing poststart/poststop one is only reported.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

/// Runs `hooks` in order, stopping at the first failure.
pub fn run(hooks: &[Hook], state_json: &[u8]) -> Result<(), (std::path::PathBuf, std::io::Error)> {
    for h in hooks {
        run_one(h, state_json).map_err(|e| (h.path().clone(), e))?;
    }
    Ok(())
}

fn run_one(h: &Hook, state_json: &[u8]) -> std::io::Result<()> {
    let args = h.args().clone().unwrap_or_default();
    let mut cmd = Command::new(h.path());
    if let Some((argv0, rest)) = args.split_first() {
        use std::os::unix::process::CommandExt;
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for kv in h.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::inherit()).stderr(Stdio::piped()).spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state_json);
    }
    let deadline = h.timeout().filter(|t| *t > 0).map(|t| Instant::now() + Duration::from_secs(t as u64));
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("timed out after {} s", h.timeout().unwrap_or(0)),
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    if status.success() {
        return Ok(());
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    Err(std::io::Error::other(format!("{status}{}{}", if err.trim().is_empty() { "" } else { ": " }, err.trim())))
}
