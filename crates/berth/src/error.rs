//! The CLI's one error type: what to print and which exit status to leave with.
//!
//! docker's conventions, which scripts rely on: a usage error or a failure of the client itself
//! exits 125 from `run`/`create` and 1 elsewhere; a daemon error is printed as
//! `Error response from daemon: <message>`; `run` exits 126 when the command cannot be invoked
//! and 127 when it is not found.

use std::fmt;

/// A failure, already worded for the user.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    /// The exit status, unless the command overrides it ([`CliError::status_for`]).
    pub status: Option<i32>,
    /// The daemon said this (its HTTP status), rather than the client failing.
    pub http_status: Option<u16>,
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    pub fn new(message: impl Into<String>) -> CliError {
        CliError { message: message.into(), status: None, http_status: None }
    }

    /// An error answer of the daemon, worded as docker words it.
    pub fn daemon(http_status: u16, message: &str) -> CliError {
        CliError { message: format!("Error response from daemon: {message}"), status: None, http_status: Some(http_status) }
    }

    pub fn with_status(mut self, status: i32) -> CliError {
        self.status = Some(status);
        self
    }

    /// Whether the daemon answered 404 (no such container, image, exec).
    pub fn is_not_found(&self) -> bool {
        self.http_status == Some(404)
    }

    /// The exit status for a command whose own failures exit `default` (125 for run and create).
    pub fn status_for(&self, default: i32) -> i32 {
        self.status.unwrap_or(default)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::new(e.to_string())
    }
}

/// Shortcut for `Err(CliError::new(format!(...)))`.
#[macro_export]
macro_rules! bail {
    ($($t:tt)*) => { return Err($crate::error::CliError::new(format!($($t)*))) };
}
