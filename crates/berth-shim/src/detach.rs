//! Starting a shim that outlives its caller: the caller runs `berth-shim __detach …`, which
//! forks the monitor and exits at once (the double fork), so the monitor, in a new session, is
//! nobody's child but init's. The monitor reports one line on the pipe that was its stdout,
//! `ok PID` or `error MESSAGE`, then points its stdio at /dev/null.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::error::Error;
use crate::ShimOptions;

/// The hidden subcommand of the short-lived intermediate process.
pub const DETACH_ARG: &str = "__detach";

/// The berth-shim binary that shims are started from.
///
/// Where this process may make one, shims run from a read-only view of the binary
/// ([`berth_runtime::sys::exe::protected`]), so that a container's init, a fork of its shim,
/// stays in the shim's image instead of re-executing itself to protect the binary
/// (CVE-2019-5736). The view is made again when the file on disk changes (an upgrade): a shim
/// then runs the new binary, which matches the `berth-shim-serve` installed beside it.
pub struct ShimBinary {
    path: PathBuf,
    view: Mutex<Option<View>>,
}

/// A protected view of the binary and the file it was made from.
struct View {
    fd: Arc<OwnedFd>,
    file: FileId,
}

/// Device, inode and modification time: what changes when a binary is replaced or rewritten.
type FileId = (u64, u64, i64, i64);

fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino(), m.mtime(), m.mtime_nsec()))
}

impl ShimBinary {
    pub fn new(path: PathBuf) -> ShimBinary {
        let bin = ShimBinary { path, view: Mutex::new(None) };
        bin.current_view();
        bin
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The view of the binary as it is on disk now; None where none can be made (shims then
    /// run from the path, and their inits re-execute themselves).
    fn current_view(&self) -> Option<Arc<OwnedFd>> {
        let now = file_id(&self.path)?;
        let mut view = self.view.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = view.as_ref().filter(|v| v.file == now) {
            return Some(v.fd.clone());
        }
        *view = berth_runtime::sys::exe::protected(&self.path).ok().map(|fd| View { fd: Arc::new(fd), file: now });
        view.as_ref().map(|v| v.fd.clone())
    }
}

/// Starts a detached shim from `shim`; returns the container's pid once it runs.
pub fn launch(shim: &ShimBinary, opts: &ShimOptions) -> Result<i32, Error> {
    let shim_bin = shim.path();
    // From the view, the binary runs by the path /proc/self/fd/N, with argv[0] set to its real
    // path: the shim finds the binaries installed next to it by its argv[0]
    // ([`crate::monitor::own_path`]). The view stays open until the child has executed it.
    let view = shim.current_view();
    let mut cmd = match &view {
        Some(fd) => {
            let mut c = Command::new(format!("/proc/self/fd/{}", fd.as_raw_fd()));
            c.arg0(shim_bin);
            c
        }
        None => Command::new(shim_bin),
    };
    let mut child = cmd
        .arg(DETACH_ARG)
        .args(opts.to_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(Error::io("run the shim", shim_bin))?;
    drop(view);
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
    fn the_view_follows_the_binary_on_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("berth-shim");
        std::fs::write(&bin, b"first version").expect("write");
        let shim = ShimBinary::new(bin.clone());
        let a = shim.current_view().expect("a view");
        assert!(Arc::ptr_eq(&a, &shim.current_view().expect("a view")), "an unchanged binary keeps its view");
        let read = |fd: &OwnedFd| std::fs::read(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("read the view");
        assert_eq!(read(&a), b"first version");
        // An upgrade replaces the file.
        std::fs::write(dir.path().join("new"), b"second version").expect("write");
        std::fs::rename(dir.path().join("new"), &bin).expect("replace");
        let b = shim.current_view().expect("a view");
        assert!(!Arc::ptr_eq(&a, &b), "a replaced binary gets a new view");
        assert_eq!(read(&b), b"second version");
        assert_eq!(read(&a), b"first version", "a view in use stays valid");
    }

    #[test]
    fn reports_parse() {
        assert_eq!(parse_report("ok 42").expect("ok"), 42);
        assert!(matches!(parse_report("error container x: no such bundle"), Err(Error::Detached(m)) if m == "container x: no such bundle"));
        assert!(parse_report("").is_err());
    }
}
