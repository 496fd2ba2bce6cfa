//! Starting a shim that outlives its caller: the caller runs `berth-shim __detach …`, which
//! forks the monitor and exits at once (the double fork), so the monitor, in a new session, is
//! nobody's child but init's. The monitor reports one line on the pipe that was its stdout,
//! `ok PID` or `error MESSAGE`, then points its stdio at /dev/null.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::Error;
use crate::ShimOptions;

/// The hidden subcommand of the short-lived intermediate process.
pub const DETACH_ARG: &str = "__detach";

/// The berth-shim binary that shims are started from.
///
/// Where this process may make one, shims run from a read-only view of the binary
/// ([`berth_runtime::sys::exe::protected`]), so that a container's init, a fork of its shim,
/// stays in the shim's image instead of re-executing itself to protect the binary
/// (CVE-2019-5736). The view is of the file as it was when this was made: an upgraded binary
/// is used by shims started after the next [`ShimBinary::new`] (a daemon's restart).
pub struct ShimBinary {
    path: PathBuf,
    protected: Option<OwnedFd>,
}

impl ShimBinary {
    pub fn new(path: PathBuf) -> ShimBinary {
        let protected = berth_runtime::sys::exe::protected(&path).ok();
        ShimBinary { path, protected }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether shims run from a protected view of the binary.
    pub fn protected(&self) -> bool {
        self.protected.is_some()
    }

    /// A command that runs the binary. From the protected view, it runs by the path
    /// `/proc/self/fd/N` with argv[0] set to the binary's real path: the shim finds the binaries
    /// installed next to it by its argv[0] ([`crate::monitor::own_path`]).
    fn command(&self) -> Command {
        match &self.protected {
            Some(fd) => {
                let mut c = Command::new(format!("/proc/self/fd/{}", fd.as_raw_fd()));
                c.arg0(&self.path);
                c
            }
            None => Command::new(&self.path),
        }
    }
}

/// Starts a detached shim from `shim`; returns the container's pid once it runs.
pub fn launch(shim: &ShimBinary, opts: &ShimOptions) -> Result<i32, Error> {
    let shim_bin = shim.path();
    let mut child = shim
        .command()
        .arg(DETACH_ARG)
        .args(opts.to_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(Error::io("run the shim", shim_bin))?;
    let out = child.stdout.take().expect("stdout is piped");
    let status = child.wait().map_err(Error::io("wait for the shim's intermediate process", shim_bin))?;
    if !status.success() {
        return Err(Error::Detached(format!("its intermediate process failed: {status}")));
    }
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).map_err(Error::io("read the shim's report", shim_bin))?;
    parse_report(line.trim_end())
}

fn parse_report(line: &str) -> Result<i32, Error> {
    if let Some(pid) = line.strip_prefix("ok ").and_then(|p| p.parse().ok()) {
        return Ok(pid);
    }
    match line.strip_prefix("error ") {
        Some(msg) => Err(Error::Detached(msg.to_owned())),
        None if line.is_empty() => Err(Error::Detached("it exited without a report".into())),
        None => Err(Error::Detached(format!("unexpected report {line:?}"))),
    }
}

/// The intermediate process: fork the monitor, which keeps our stdout (the report pipe), and
/// exit. The monitor runs on in this image: this process has one thread, and executing the
/// binary again would only cost its start once more.
pub fn intermediate(opts: &ShimOptions) -> std::io::Result<()> {
    berth_runtime::sys::clone::fork_plain(|| {
        let code = crate::monitor::run(opts);
        berth_runtime::sys::process::exit_now(code)
    })
    .map(drop)
}

/// The monitor's half of the report: our stdout, moved off fd 1 before fd 1 becomes /dev/null.
pub(crate) struct Report(Option<OwnedFd>);

impl Report {
    pub(crate) fn take_stdout() -> std::io::Result<Report> {
        let fd = rustix::io::fcntl_dupfd_cloexec(std::io::stdout().as_fd(), 3)?;
        Ok(Report(Some(fd)))
    }

    pub(crate) fn send(&mut self, line: &str) {
        if let Some(fd) = self.0.take() {
            let mut f = std::fs::File::from(fd);
            let _ = writeln!(f, "{}", line.replace('\n', " "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_parse() {
        assert_eq!(parse_report("ok 42").expect("ok"), 42);
        assert!(matches!(parse_report("error container x: no such bundle"), Err(Error::Detached(m)) if m == "container x: no such bundle"));
        assert!(parse_report("").is_err());
    }
}
