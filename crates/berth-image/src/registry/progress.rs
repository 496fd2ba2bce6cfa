//! Per-layer progress of a pull or push, in Docker's vocabulary, for the API layer to turn into
//! Docker's JSON message stream (`{"status","progressDetail":{"current","total"},"id"}`).

use std::fmt;
use std::sync::Arc;

/// Where one layer (or the config) stands. `as_str` gives Docker's exact words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressStatus {
    PullingFsLayer,
    AlreadyExists,
    Waiting,
    Downloading,
    /// A transient failure; the download starts again after a pause.
    Retrying,
    VerifyingChecksum,
    DownloadComplete,
    Extracting,
    PullComplete,
    Preparing,
    Pushing,
    Pushed,
    LayerAlreadyExists,
    Mounted,
}

impl ProgressStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProgressStatus::PullingFsLayer => "Pulling fs layer",
            ProgressStatus::AlreadyExists => "Already exists",
            ProgressStatus::Waiting => "Waiting",
            ProgressStatus::Downloading => "Downloading",
            ProgressStatus::Retrying => "Retrying",
            ProgressStatus::VerifyingChecksum => "Verifying Checksum",
            ProgressStatus::DownloadComplete => "Download complete",
            ProgressStatus::Extracting => "Extracting",
            ProgressStatus::PullComplete => "Pull complete",
            ProgressStatus::Preparing => "Preparing",
            ProgressStatus::Pushing => "Pushing",
            ProgressStatus::Pushed => "Pushed",
            ProgressStatus::LayerAlreadyExists => "Layer already exists",
            ProgressStatus::Mounted => "Mounted from",
        }
    }
}

impl fmt::Display for ProgressStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One progress event about one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The blob's short id (12 hex characters), as Docker shows it.
    pub id: String,
    pub status: ProgressStatus,
    /// Bytes done so far and the blob's size; both 0 where they mean nothing.
    pub current: u64,
    pub total: u64,
}

/// Receives progress events; called from the pull's tasks, so it must be quick (send to a
/// channel, update a counter).
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Sends events to an optional callback.
#[derive(Clone, Default)]
pub(crate) struct Reporter {
    sink: Option<ProgressFn>,
}

impl Reporter {
    pub fn new(sink: Option<ProgressFn>) -> Self {
        Reporter { sink }
    }

    pub fn report(&self, id: &str, status: ProgressStatus, current: u64, total: u64) {
        if let Some(sink) = &self.sink {
            sink(&Progress { id: id.to_owned(), status, current, total });
        }
    }
}
