//! The runtime's error type: each variant names the step that failed and the object it failed
//! on; the source chain carries the kernel's word.

use std::io;
use std::path::PathBuf;

/// An error from a runtime operation. Shown as the chain of messages joined with ": ".
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid container id {0:?}: use letters, digits, '_', '+', '-' and '.'")]
    InvalidId(String),
    #[error("container {0} does not exist")]
    NotFound(String),
    #[error("container with id {0} exists already")]
    Exists(String),
    #[error("read bundle config {path}")]
    ReadConfig { path: PathBuf, #[source] source: io::Error },
    #[error("parse bundle config {path}")]
    ParseConfig { path: PathBuf, #[source] source: serde_json::Error },
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    #[error("{what} is not supported on this host: {why}")]
    Unsupported { what: String, why: String },
    #[error("container {id} is {status}: {what}")]
    WrongState { id: String, status: String, what: &'static str },
    #[error("{step} for container {id}")]
    Io { id: String, step: String, #[source] source: io::Error },
    #[error("cgroup of container {id}")]
    Cgroup { id: String, #[source] source: crate::cgroups::CgroupError },
    #[error("seccomp profile of container {id}")]
    Seccomp { id: String, #[source] source: crate::seccomp::SeccompError },
    #[error("container {id}: {message}")]
    InitMessage { id: String, message: String },
    #[error("{kind} hook {path} of container {id}")]
    Hook { id: String, kind: &'static str, path: PathBuf, #[source] source: io::Error },
    #[error("container {id}: {runtime} {op}: {message}")]
    External { id: String, runtime: PathBuf, op: &'static str, message: String },
    #[error("state of container {id} in {path}")]
    State { id: String, path: PathBuf, #[source] source: io::Error },
}

impl Error {
    pub(crate) fn io(id: &str, step: impl Into<String>, source: impl Into<io::Error>) -> Self {
        Error::Io { id: id.to_owned(), step: step.into(), source: source.into() }
    }
}

/// Joins an error and its sources with ": ", the way berth shows errors everywhere.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.ends_with(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}
