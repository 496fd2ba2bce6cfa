//! The shim's errors: what failed while starting the container or serving it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}: {}", path.display())]
    Io { what: &'static str, path: PathBuf, #[source] source: std::io::Error },
    #[error("{what}")]
    Sys { what: &'static str, #[source] source: std::io::Error },
    #[error("container {id}")]
    Runtime { id: String, #[source] source: Box<berth_runtime::Error> },
    #[error("the detached shim failed: {0}")]
    Detached(String),
    #[error("the container did not hand over its terminal: does config.json set process.terminal?")]
    NoConsole,
}

impl Error {
    pub(crate) fn sys(what: &'static str) -> impl FnOnce(std::io::Error) -> Error {
        move |source| Error::Sys { what, source }
    }

    pub(crate) fn io(what: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_owned();
        move |source| Error::Io { what, path, source }
    }
}

pub use berth_runtime::error::chain;
