//! The runtime's state directory, `<root>/<id>/`: `state.json` (replaced atomically: temp file
//! and rename), `config.json` (the spec as created), and the `start.sock`
//! the created init waits on until `start`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cgroups::SavedPaths;
use crate::error::Error;
use crate::spec::ContainerId;

/// What the runtime remembers about one container between commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    pub id: String,
    pub pid: i32,
    /// The init's start time (field 22 of /proc/PID/stat): tells our process from a later one
    /// that got the same pid.
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    /// None for a rootless container that runs without a cgroup.
    #[serde(default)]
    pub cgroup: Option<SavedPaths>,
    #[serde(default)]
    pub annotations: std::collections::HashMap<String, String>,
    /// Set once `start` (or a foreground `run`) has let the init exec the user process.
    #[serde(default)]
    pub started: bool,
    /// True when the runtime created the cgroup (and so removes it on delete).
    #[serde(default)]
    pub own_cgroup: bool,
}

/// The status the OCI state reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One container's directory under the runtime root.
pub struct StateDir {
    pub id: ContainerId,
    pub dir: PathBuf,
}

impl StateDir {
    pub fn new(root: &Path, id: &ContainerId) -> Self {
        StateDir { id: id.clone(), dir: root.join(id.as_str()) }
    }

    /// Creates the directory; fails when a container of that id exists already.
    pub fn create(root: &Path, id: &ContainerId) -> Result<Self, Error> {
        std::fs::create_dir_all(root).map_err(|e| Error::State { id: id.to_string(), path: root.to_owned(), source: e })?;
        let sd = StateDir::new(root, id);
        match std::fs::create_dir(&sd.dir) {
            Ok(()) => Ok(sd),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::Exists(id.to_string())),
            Err(e) => Err(Error::State { id: id.to_string(), path: sd.dir.clone(), source: e }),
        }
    }

    pub fn open(root: &Path, id: &ContainerId) -> Result<Self, Error> {
        let sd = StateDir::new(root, id);
        if sd.dir.join("state.json").exists() {
            Ok(sd)
        } else {
            Err(Error::NotFound(id.to_string()))
        }
    }

    pub fn start_socket(&self) -> PathBuf {
        self.dir.join("start.sock")
    }

    fn err(&self, path: &Path, e: std::io::Error) -> Error {
        Error::State { id: self.id.to_string(), path: path.to_owned(), source: e }
    }

    pub fn write_file(&self, name: &str, data: &[u8]) -> Result<(), Error> {
        let path = self.dir.join(name);
        write_atomic(&path, data).map_err(|e| self.err(&path, e))
    }

    pub fn save(&self, s: &Saved) -> Result<(), Error> {
        let data = serde_json::to_vec(s).expect("state serializes");
        self.write_file("state.json", &data)
    }

    pub fn load(&self) -> Result<Saved, Error> {
        let path = self.dir.join("state.json");
        let data = std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound { Error::NotFound(self.id.to_string()) } else { self.err(&path, e) }
        })?;
        serde_json::from_slice(&data).map_err(|e| self.err(&path, std::io::Error::other(e)))
    }

    pub fn load_config(&self) -> Result<oci_spec::runtime::Spec, Error> {
        let path = self.dir.join("config.json");
        let data = std::fs::read(&path).map_err(|e| self.err(&path, e))?;
        serde_json::from_slice(&data).map_err(|e| self.err(&path, std::io::Error::other(e)))
    }

    pub fn remove(&self) -> Result<(), Error> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.err(&self.dir, e)),
        }
    }
}

/// Writes `data` to `path` so that a reader (or a killed writer) sees either the old or the
/// new content, never a mix: temp file, then rename. Runtime state lives in /run and is lost on
/// reboot by design, so there is no fsync: it would cost milliseconds per container on disks.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("state")));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    std::fs::rename(&tmp, path)
}

/// The start time of `pid` in clock ticks since boot, or None when there is no such process.
pub fn pid_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields after it follow the
    // last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // rest starts at field 3 (state); starttime is field 22.
    let state = fields.first()?;
    if *state == "Z" || *state == "X" {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// RFC 3339 time of now, UTC, with nanoseconds (runc's `created` format).
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    rfc3339_from_unix(d.as_secs() as i64, d.subsec_nanos())
}

/// `secs` and `nanos` since the epoch as RFC 3339 with nanoseconds, UTC.
pub fn rfc3339_from_unix(secs: i64, nanos: u32) -> String {
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, dd) = civil_from_days(days);
    format!("{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{:09}Z", rem / 3600, rem % 3600 / 60, rem % 60, nanos)
}

/// Days since 1970-01-01 to a (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_675), (2023, 11, 14));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn our_own_start_time_is_readable_and_a_dead_pid_has_none() {
        assert!(pid_start_time(std::process::id() as i32).is_some());
        assert!(pid_start_time(i32::MAX).is_none());
    }

    #[test]
    fn atomic_write_replaces_content() {
        let dir = std::env::temp_dir().join(format!("berth-state-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let p = dir.join("state.json");
        write_atomic(&p, b"one").expect("write");
        write_atomic(&p, b"two").expect("write");
        assert_eq!(std::fs::read(&p).expect("read"), b"two");
        assert_eq!(std::fs::read_dir(&dir).expect("ls").count(), 1, "no temp file left");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
