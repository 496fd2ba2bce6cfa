//! Another OCI runtime binary (runc, crun, youki, or the berth-runtime binary itself), driven
//! through the command line they all share, and [`Backend`]: the one type callers use for
//! either kind of runtime.
//!
//! The binary gets `--root` (its state directory, one per configured runtime), `--log` and
//! `--log-format json` (so that its error reaches the caller even when its stderr is the
//! container's), then the subcommand. A container's stdio is the binary's own fds 0-2 when it
//! creates or executes, exactly as with [`Runtime::create`]; the caller arranges them.
//!
//! The caller of [`External::create`] and [`External::exec`] must be a child subreaper
//! (`PR_SET_CHILD_SUBREAPER`): the binary exits once the process runs, and the process is then
//! re-parented to the caller, which reaps it as it reaps a process of the built-in runtime.
//! Statistics and process lists are read from the init's cgroup directly, the same way for
//! every runtime.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use crate::cgroups::Cgroup;
use crate::container::{CreateOptions, ExecOptions, Runtime};
use crate::error::Error;
use crate::spec::ContainerId;

/// An OCI runtime binary and how berth calls it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct External {
    /// The binary (an absolute path, or a name looked up in `PATH`).
    pub path: PathBuf,
    /// Global options given before every subcommand (daemon.json's `runtimeArgs`).
    #[serde(default)]
    pub args: Vec<String>,
    /// The binary's `--root`: where it keeps the state of the containers it runs.
    pub root: PathBuf,
}

/// Numbers the log files of calls made at once from this process.
static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl External {
    /// Runs `op ARGS… ID` to the end. `stdio_inherited`: the binary's stdio is the caller's (a
    /// container's, for create and exec), so its error comes from its log only.
    fn run(&self, id: &ContainerId, op: &'static str, args: &[&std::ffi::OsStr], input: Option<&[u8]>, stdio_inherited: bool) -> Result<Vec<u8>, Error> {
        let failed = |message: String| Error::External { id: id.to_string(), runtime: self.path.clone(), op, message };
        std::fs::create_dir_all(&self.root).map_err(|e| failed(format!("create its root {}: {e}", self.root.display())))?;
        // A log of this call's own: calls for other containers may run at once, and a failure
        // names its own cause.
        let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = self.root.join(format!("log-{}-{n}.json", std::process::id()));
        let mut cmd = Command::new(&self.path);
        cmd.args(&self.args).arg("--root").arg(&self.root).arg("--log").arg(&log).args(["--log-format", "json", op]).args(args).arg(id.as_str());
        let ran = run_logged(cmd, input, stdio_inherited, &log).map_err(failed);
        let _ = std::fs::remove_file(&log);
        ran
    }

    /// `create --bundle B --pid-file P [--console-socket S] ID`; returns the init's pid.
    pub fn create(&self, id: &ContainerId, opts: &CreateOptions, pid_file: &Path) -> Result<i32, Error> {
        let mut args = vec!["--bundle".as_ref(), opts.bundle.as_os_str(), "--pid-file".as_ref(), pid_file.as_os_str()];
        if let Some(s) = &opts.console_socket {
            args.extend(["--console-socket".as_ref(), s.as_os_str()]);
        }
        self.run(id, "create", &args, None, true)?;
        read_pid(id, pid_file)
    }

    /// `exec --detach --process F --pid-file P [--console-socket S] ID` of a process already in
    /// a file; returns its pid.
    pub fn exec(&self, id: &ContainerId, process_file: &Path, console_socket: Option<&Path>, pid_file: &Path) -> Result<i32, Error> {
        let mut args = vec!["--detach".as_ref(), "--process".as_ref(), process_file.as_os_str(), "--pid-file".as_ref(), pid_file.as_os_str()];
        if let Some(s) = console_socket {
            args.extend(["--console-socket".as_ref(), s.as_os_str()]);
        }
        self.run(id, "exec", &args, None, true)?;
        read_pid(id, pid_file)
    }

    fn simple(&self, id: &ContainerId, op: &'static str, extra: &[&str]) -> Result<Vec<u8>, Error> {
        let args: Vec<&std::ffi::OsStr> = extra.iter().map(|a| a.as_ref()).collect();
        self.run(id, op, &args, None, false)
    }

    pub fn start(&self, id: &ContainerId) -> Result<(), Error> {
        self.simple(id, "start", &[]).map(drop)
    }

    pub fn delete(&self, id: &ContainerId, force: bool) -> Result<(), Error> {
        self.simple(id, "delete", if force { &["--force"] } else { &[] }).map(drop)
    }

    pub fn pause(&self, id: &ContainerId) -> Result<(), Error> {
        self.simple(id, "pause", &[]).map(drop)
    }

    pub fn resume(&self, id: &ContainerId) -> Result<(), Error> {
        self.simple(id, "resume", &[]).map(drop)
    }

    /// `update --resources -` with the OCI resources on stdin.
    pub fn update(&self, id: &ContainerId, resources: &LinuxResources) -> Result<(), Error> {
        let json = serde_json::to_vec(resources).map_err(|e| Error::InvalidConfig(format!("resources: {e}")))?;
        self.run(id, "update", &["--resources".as_ref(), "-".as_ref()], Some(&json), false).map(drop)
    }

    /// The init's pid, from `state ID`.
    pub fn init_pid(&self, id: &ContainerId) -> Result<i32, Error> {
        let out = self.simple(id, "state", &[])?;
        let v: serde_json::Value = serde_json::from_slice(&out)
            .map_err(|e| Error::External { id: id.to_string(), runtime: self.path.clone(), op: "state", message: format!("unreadable output: {e}") })?;
        match v["pid"].as_i64() {
            Some(p) if p > 0 => Ok(p as i32),
            _ => Err(Error::WrongState { id: id.to_string(), status: v["status"].as_str().unwrap_or("unknown").to_owned(), what: "it has no running process" }),
        }
    }

    fn cgroup(&self, id: &ContainerId) -> Result<Cgroup, Error> {
        let pid = self.init_pid(id)?;
        Cgroup::of_process(pid).map_err(|source| Error::Cgroup { id: id.to_string(), source })
    }
}

/// Runs the binary's `cmd` to the end; its error from `log`, else from its stderr.
fn run_logged(mut cmd: Command, input: Option<&[u8]>, stdio_inherited: bool, log: &Path) -> Result<Vec<u8>, String> {
    if !stdio_inherited {
        cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let mut child = cmd.spawn().map_err(|e| format!("run it: {e}"))?;
    if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(data).map_err(|e| format!("write its input: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("wait for it: {e}"))?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let logged = std::fs::read_to_string(log).map(|t| error_from_log(&t)).unwrap_or_default();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    Err([logged, stderr].into_iter().find(|m| !m.is_empty()).unwrap_or_else(|| format!("it exited with {}", out.status)))
}

/// The message of the last error a runtime logged in its JSON log (runc, crun and youki write
/// `{"level":"error","msg":…}` lines).
fn error_from_log(text: &str) -> String {
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| matches!(v["level"].as_str(), Some("error" | "fatal")))
        .find_map(|v| v["msg"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn read_pid(id: &ContainerId, pid_file: &Path) -> Result<i32, Error> {
    let text = std::fs::read_to_string(pid_file).map_err(|e| Error::io(id.as_str(), format!("read the pid file {}", pid_file.display()), e))?;
    text.trim().parse().map_err(|_| Error::io(id.as_str(), format!("parse the pid file {}", pid_file.display()), std::io::ErrorKind::InvalidData))
}

/// The runtime behind a container: berth's own, in this process, or another binary.
pub enum Backend {
    BuiltIn(Runtime),
    External(External),
}

impl Backend {
    /// Creates the container; returns the init's pid. The built-in runtime needs no pid file.
    pub fn create(&self, id: &ContainerId, opts: &CreateOptions, pid_file: &Path) -> Result<i32, Error> {
        match self {
            Backend::BuiltIn(rt) => rt.create(id, opts),
            Backend::External(x) => x.create(id, opts, pid_file),
        }
    }

    pub fn start(&self, id: &ContainerId) -> Result<(), Error> {
        match self {
            Backend::BuiltIn(rt) => rt.start(id),
            Backend::External(x) => x.start(id),
        }
    }

    /// Runs the process in `process_file` (an OCI process, JSON) in the container, detached;
    /// returns its pid.
    pub fn exec(&self, id: &ContainerId, process_file: &Path, console_socket: Option<&Path>, pid_file: &Path) -> Result<i32, Error> {
        match self {
            Backend::BuiltIn(rt) => {
                let text = std::fs::read(process_file).map_err(|e| Error::io(id.as_str(), format!("read the exec process {}", process_file.display()), e))?;
                let process = serde_json::from_slice(&text).map_err(|e| Error::ParseConfig { path: process_file.to_owned(), source: e })?;
                let opts = ExecOptions { process, console_socket: console_socket.map(Path::to_owned), pid_file: Some(pid_file.to_owned()), detach: true, preserve_fds: 0 };
                rt.exec(id, opts)?;
                read_pid(id, pid_file)
            }
            Backend::External(x) => x.exec(id, process_file, console_socket, pid_file),
        }
    }

    pub fn delete(&self, id: &ContainerId, force: bool) -> Result<(), Error> {
        match self {
            Backend::BuiltIn(rt) => rt.delete(id, force),
            Backend::External(x) => x.delete(id, force),
        }
    }

    pub fn pause(&self, id: &ContainerId) -> Result<(), Error> {
        match self {
            Backend::BuiltIn(rt) => rt.pause(id),
            Backend::External(x) => x.pause(id),
        }
    }

    pub fn resume(&self, id: &ContainerId) -> Result<(), Error> {
        match self {
            Backend::BuiltIn(rt) => rt.resume(id),
            Backend::External(x) => x.resume(id),
        }
    }

    pub fn update(&self, id: &ContainerId, resources: &LinuxResources) -> Result<(), Error> {
        match self {
            Backend::BuiltIn(rt) => rt.update(id, resources),
            Backend::External(x) => x.update(id, resources),
        }
    }

    /// The pid of the container's init while it runs.
    pub fn init_pid(&self, id: &ContainerId) -> Result<i32, Error> {
        match self {
            Backend::BuiltIn(rt) => Ok(rt.state(id)?.pid),
            Backend::External(x) => x.init_pid(id),
        }
    }

    /// Host pids of every process in the container.
    pub fn pids(&self, id: &ContainerId) -> Result<Vec<i32>, Error> {
        match self {
            Backend::BuiltIn(rt) => rt.pids(id),
            Backend::External(x) => x.cgroup(id)?.pids().map_err(|source| Error::Cgroup { id: id.to_string(), source }),
        }
    }

    pub fn stats(&self, id: &ContainerId) -> Result<crate::cgroups::Stats, Error> {
        match self {
            Backend::BuiltIn(rt) => rt.stats(id),
            Backend::External(x) => x.cgroup(id)?.stats().map_err(|source| Error::Cgroup { id: id.to_string(), source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_logged_error_is_the_message() {
        let log = concat!(
            "{\"level\":\"warning\",\"msg\":\"a warning\",\"time\":\"2026-11-24T04:00:00Z\"}\n",
            "{\"level\":\"error\",\"msg\":\"first\",\"time\":\"2026-11-24T04:00:00Z\"}\n",
            "not json\n",
            "{\"level\":\"error\",\"msg\":\"runc create failed: unable to start container process: exec: \\\"nope\\\": executable file not found in $PATH\"}\n",
        );
        assert_eq!(error_from_log(log), "runc create failed: unable to start container process: exec: \"nope\": executable file not found in $PATH");
        assert_eq!(error_from_log("{\"level\":\"info\",\"msg\":\"x\"}\n"), "");
    }
}
