//! `<state-dir>/exit.json`: how the container ended, written once and atomically, so a daemon
//! restarted after a crash reads all or nothing.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    /// The exit status, or 128+N when signal N killed the init.
    pub exit_code: i32,
    pub signal: Option<i32>,
    /// RFC 3339 with nanoseconds, UTC.
    pub finished_at: String,
    /// The memory cgroup's oom_kill count went up while the container ran.
    pub oom_killed: bool,
}

impl ExitRecord {
    pub fn from_status(status: rustix::process::WaitStatus, oom_killed: bool) -> ExitRecord {
        let signal = status.terminating_signal();
        let exit_code = match (status.exit_status(), signal) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            (None, None) => 255,
        };
        ExitRecord { exit_code, signal, finished_at: berth_runtime::state::now_rfc3339(), oom_killed }
    }

    /// Reads a record written by [`ExitRecord::write`].
    pub fn read(path: &Path) -> std::io::Result<ExitRecord> {
        serde_json::from_slice(&std::fs::read(path)?).map_err(std::io::Error::other)
    }

    /// Writes the record under the exec root, which does not outlive a reboot: atomically
    /// (a crashed shim or daemon leaves the old or the new record), without waiting for the
    /// disk (which only a crash of the whole machine would need, and that ends the container).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        berth_runtime::state::write_atomic(path, &serde_json::to_vec(self).expect("exit record serializes"))
    }
}

/// Replaces `path` with `data` so that after a crash, of the machine too, it holds either the
/// old or the new content.
/// (Files that a reboot removes anyway, the exec root's, use the runtime's
/// [`berth_runtime::state::write_atomic`], which does not sync.)
pub fn write_durable(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp"));
    // A rename over an existing file that a crash loses leaves that file, complete (it was
    // synced when written): still the old content. Only a new name needs its directory synced.
    let new_name = !path.exists();
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_data()?;
    std::fs::rename(&tmp, path)?;
    if new_name {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_leaves_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("berth-shim-exit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let p = dir.join("exit.json");
        let r = ExitRecord { exit_code: 137, signal: Some(9), finished_at: "2026-01-01T00:00:00.000000000Z".into(), oom_killed: false };
        r.write(&p).expect("write");
        assert_eq!(ExitRecord::read(&p).expect("read"), r);
        let text = std::fs::read_to_string(&p).expect("read text");
        assert!(text.contains("\"signal\":9"), "{text}");
        assert_eq!(std::fs::read_dir(&dir).expect("ls").count(), 1);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
