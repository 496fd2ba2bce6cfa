//! berth-shim: the per-container monitor (the role of containerd-shim or conmon).
//!
//! One shim per container. [`detach::launch`] starts a detached shim process (`berth-shim
//! start …`); that process ([`monitor::run`]) creates and starts the container through
//! `berth-runtime` in-process, so it is the parent of the container's init and reaps it itself;
//! it then re-executes into the small `berth-shim-serve` binary installed next to it (same pid,
//! descriptors inherited: [`monitor::serve_inherited`]) so that only the loop's code is
//! resident, and runs one synchronous, single-threaded poll loop over the
//! container's stdout/stderr pipes (or its pty master), the init's pidfd and the control socket
//! `<state-dir>/shim.sock`: output goes to the log ([`log::JsonLog`]) and to attached clients,
//! never waiting for either; requests follow [`protocol`]. When the init ends it writes
//! `<state-dir>/exit.json` ([`exit::ExitRecord`]), deletes the container (back in the full
//! binary: `berth-shim __finish`) and exits.
//!
//! ```no_run
//! // The daemon side: start a shim, then talk to it over its socket.
//! let opts = berth_shim::ShimOptions {
//!     id: berth_runtime::ContainerId::parse("web")?,
//!     bundle: "/run/berth/bundles/web".into(),
//!     state_dir: "/run/berth/shims/web".into(),
//!     runtime_root: "/run/berth/runtime".into(),
//!     runtime_path: None,
//!     runtime_args: Vec::new(),
//!     log: berth_shim::LogDriver::None,
//!     tty: false,
//!     open_stdin: false,
//!     hold: false,
//!     exec_process: None,
//!     log_rotate: None,
//! };
//! let shim = berth_shim::detach::ShimBinary::new("/usr/libexec/berth/berth-shim".into());
//! let pid = berth_shim::detach::launch(&shim, &opts)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

pub mod detach;
pub mod error;
pub mod exit;
pub mod log;
pub mod monitor;
pub mod protocol;
pub mod proxy;
mod stdio;

use std::path::PathBuf;

pub use error::Error;

/// Where the container's output is logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogDriver {
    /// Docker's json-file format, appended to this file.
    JsonFile(PathBuf),
    None,
}

/// Everything one shim needs, resolved from its command line.
#[derive(Debug, Clone)]
pub struct ShimOptions {
    pub id: berth_runtime::ContainerId,
    pub bundle: PathBuf,
    /// The shim's own directory: `shim.sock`, `shim.pid`, `exit.json`.
    pub state_dir: PathBuf,
    /// The runtime's state root (berth-runtime's, or the external binary's `--root`).
    pub runtime_root: PathBuf,
    /// Another OCI runtime binary to run the container with; None: the built-in runtime.
    pub runtime_path: Option<PathBuf>,
    /// Global options for that binary, before its subcommand.
    pub runtime_args: Vec<String>,
    pub log: LogDriver,
    pub tty: bool,
    pub open_stdin: bool,
    /// Create the container (or prepare the exec) and wait for a `start` request, so that
    /// clients can attach before the first byte of output.
    pub hold: bool,
    /// Run this process (an OCI `process` object in a JSON file) in the running container
    /// `id` instead of creating a container; the state dir is the exec's own.
    pub exec_process: Option<PathBuf>,
    /// Rotation of the json-file log (`max-size`, `max-file`).
    pub log_rotate: Option<log::Rotate>,
}

impl ShimOptions {
    /// The control socket.
    pub fn socket_path(&self) -> PathBuf {
        self.state_dir.join("shim.sock")
    }

    /// The exit record, present once the container has ended.
    pub fn exit_path(&self) -> PathBuf {
        self.state_dir.join("exit.json")
    }

    /// The shim's own pid, written once the container runs.
    pub fn pid_path(&self) -> PathBuf {
        self.state_dir.join("shim.pid")
    }

    /// The runtime that runs the container. The built-in one keeps compiled seccomp programs
    /// beside its root (`<exec-root>/seccomp` for berthd's shims), so containers with the same
    /// profile do not compile it again.
    pub fn backend(&self) -> berth_runtime::Backend {
        match &self.runtime_path {
            Some(path) => berth_runtime::Backend::External(berth_runtime::External { path: path.clone(), args: self.runtime_args.clone(), root: self.runtime_root.clone() }),
            None => {
                let rt = berth_runtime::Runtime::new(&self.runtime_root);
                berth_runtime::Backend::BuiltIn(match self.runtime_root.parent() {
                    Some(p) => rt.with_seccomp_cache(p.join("seccomp")),
                    None => rt,
                })
            }
        }
    }

    /// Command-line arguments that reproduce these options (after the subcommand).
    pub fn to_args(&self) -> Vec<std::ffi::OsString> {
        let mut a: Vec<std::ffi::OsString> = vec![
            "--id".into(), self.id.as_str().into(),
            "--bundle".into(), self.bundle.clone().into(),
            "--state-dir".into(), self.state_dir.clone().into(),
            "--runtime-root".into(), self.runtime_root.clone().into(),
        ];
        if let Some(p) = &self.runtime_path {
            a.extend(["--runtime-path".into(), p.clone().into()]);
        }
        for arg in &self.runtime_args {
            a.push(format!("--runtime-arg={arg}").into());
        }
        match &self.log {
            LogDriver::JsonFile(p) => a.extend(["--log-driver".into(), "json-file".into(), "--log-path".into(), p.clone().into()]),
            LogDriver::None => a.extend(["--log-driver".into(), "none".into()]),
        }
        if self.tty {
            a.push("--tty".into());
        }
        if self.open_stdin {
            a.push("--open-stdin".into());
        }
        if self.hold {
            a.push("--hold".into());
        }
        if let Some(p) = &self.exec_process {
            a.extend(["--exec-process".into(), p.clone().into()]);
        }
        if let Some(r) = &self.log_rotate {
            a.extend(["--log-max-size".into(), r.max_size.to_string().into(), "--log-max-files".into(), r.max_files.to_string().into()]);
        }
        a
    }
}
