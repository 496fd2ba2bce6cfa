//! A container's record: what was asked (Config, HostConfig), what it became (state), who
//! made it. Written crash-safely to `<data-root>/containers/<id>/container.json` at every
//! change; read back at start, where a record that does not parse is moved aside.

use std::path::{Path, PathBuf};

use berth_api_types::container::{Config, HostConfig};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::policy::Principal;

const RECORD: &str = "container.json";

/// Docker's container states, as `State.Status` spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    /// A process exists (running, paused, or between restarts with a shim).
    pub fn is_live(self) -> bool {
        matches!(self, Status::Running | Status::Paused)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    pub pid: i32,
    /// The shim's pid while one serves the container.
    pub shim_pid: i32,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    /// The healthcheck's verdict, when the container has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<berth_api_types::container::inspect::Health>,
}

pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Default for State {
    fn default() -> Self {
        State {
            status: Status::Created,
            pid: 0,
            shim_pid: 0,
            exit_code: 0,
            oom_killed: false,
            error: String::new(),
            started_at: ZERO_TIME.into(),
            finished_at: ZERO_TIME.into(),
            health: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    /// Without the leading slash.
    pub name: String,
    pub created: String,
    pub created_by: Principal,
    /// The first word of the command, and the rest (inspect's Path and Args).
    pub path: String,
    pub args: Vec<String>,
    /// The request's Config merged with the image's.
    pub config: Config,
    pub host_config: HostConfig,
    /// The image id (`sha256:…`) and the name the user gave.
    pub image: String,
    pub image_name: String,
    pub state: State,
    pub restart_count: i64,
    /// Set when the user stopped it: `unless-stopped` and `always` do not bring it back.
    #[serde(default)]
    pub stopped_by_user: bool,
    #[serde(default)]
    pub exec_ids: Vec<String>,
    /// The volumes it mounts.
    #[serde(default)]
    pub volumes: Vec<crate::volumes::VolumeMount>,
    /// The networks it is on, by network id (bridge networks; none for host, none, container:).
    #[serde(default)]
    pub endpoints: std::collections::BTreeMap<String, crate::network::Endpoint>,
    /// Its published ports while it runs: `80/tcp` → the host bindings it got.
    #[serde(default)]
    pub ports: std::collections::BTreeMap<String, Vec<berth_api_types::container::PortBinding>>,
}

impl Record {
    pub fn short_id(&self) -> &str {
        &self.id[..12]
    }

    /// `<data-root>/containers/<id>/`.
    pub fn dir(containers: &Path, id: &str) -> PathBuf {
        containers.join(id)
    }

    /// Writes the record atomically (a crashed daemon leaves the old or the new one). It is
    /// synced to disk too, except an auto-removed container's: such a container does not
    /// outlive a crash of the machine (its next daemon removes it), so waiting for the disk,
    /// a millisecond or more per save here, buys nothing. After such a crash its record may
    /// be found empty; it is then moved aside and reported, as any unreadable record is.
    pub fn save(&self, containers: &Path) -> Result<()> {
        let dir = Self::dir(containers, &self.id);
        std::fs::create_dir_all(&dir).map_err(Error::io("create the container directory", &dir))?;
        let path = dir.join(RECORD);
        let data = serde_json::to_vec(self).expect("a record serializes");
        let written = match self.host_config.auto_remove {
            Some(true) => berth_runtime::state::write_atomic(&path, &data),
            _ => berth_shim::exit::write_durable(&path, &data),
        };
        written.map_err(Error::io("save the container record", &path))
    }
}

/// What [`load_all`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub records: Vec<Record>,
    /// Records that did not parse, and where they were moved.
    pub moved_aside: Vec<(PathBuf, String)>,
}

/// Reads every record under `containers`. A directory whose record is missing or corrupt is
/// renamed to `<id>.corrupt-<unix time>` and reported; it never stops the daemon.
pub fn load_all(containers: &Path) -> Result<Loaded> {
    let mut out = Loaded::default();
    let entries = match std::fs::read_dir(containers) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::Io { what: "read the containers directory", path: containers.to_owned(), source: e }),
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.contains(".corrupt-") || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = dir.join(RECORD);
        let parsed = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|d| serde_json::from_slice::<Record>(&d).map_err(|e| e.to_string()))
            .and_then(|r| if r.id == name { Ok(r) } else { Err(format!("the record names container {}", r.id)) });
        match parsed {
            Ok(r) => out.records.push(r),
            Err(why) => {
                let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
                let aside = containers.join(format!("{name}.corrupt-{secs}"));
                match std::fs::rename(&dir, &aside) {
                    Ok(()) => out.moved_aside.push((aside, why)),
                    Err(e) => out.moved_aside.push((dir, format!("{why}; and it could not be moved aside: {e}"))),
                }
            }
        }
    }
    Ok(out)
}

/// A new container id: 64 hex digits from the kernel's random source.
pub fn new_id() -> String {
    let mut b = [0u8; 32];
    rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty()).expect("getrandom does not fail for 32 bytes");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Docker's rule for names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, with an optional leading slash.
pub fn check_name(name: &str) -> Result<String> {
    let n = name.strip_prefix('/').unwrap_or(name);
    let mut chars = n.chars();
    let ok = n.len() >= 2
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !ok {
        return Err(Error::InvalidParameter(format!("Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")));
    }
    Ok(n.to_owned())
}

const LEFT: &[&str] = &[
    "admiring", "agitated", "amazing", "bold", "brave", "busy", "clever", "compassionate", "cool", "dazzling", "eager",
    "ecstatic", "elegant", "epic", "festive", "focused", "friendly", "gallant", "gifted", "happy", "hopeful", "jolly",
    "keen", "kind", "laughing", "lucid", "modest", "nice", "nostalgic", "peaceful", "quirky", "relaxed", "serene",
    "sharp", "stoic", "sweet", "tender", "trusting", "vibrant", "wizardly", "youthful", "zealous",
];
const RIGHT: &[&str] = &[
    "albattani", "babbage", "bardeen", "curie", "darwin", "dijkstra", "einstein", "euclid", "faraday", "fermi",
    "galileo", "gauss", "hamilton", "hopper", "hypatia", "johnson", "kepler", "knuth", "lamarr", "liskov", "lovelace",
    "maxwell", "meitner", "newton", "noether", "pascal", "ritchie", "shannon", "tesla", "thompson", "torvalds",
    "turing", "wilson", "wozniak", "yalow",
];

/// A Docker-style random name, `adjective_scientist`, with a digit appended after collisions.
pub fn random_name(taken: impl Fn(&str) -> bool) -> String {
    let mut b = [0u8; 4];
    for attempt in 0..100u32 {
        rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty()).expect("getrandom does not fail for 4 bytes");
        let l = LEFT[usize::from(b[0]) % LEFT.len()];
        let r = RIGHT[usize::from(b[1]) % RIGHT.len()];
        let name = if attempt < 10 { format!("{l}_{r}") } else { format!("{l}_{r}{}", b[2] % 10) };
        if !taken(&name) {
            return name;
        }
    }
    new_id()[..12].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rule() {
        assert_eq!(check_name("/web-1").expect("ok"), "web-1");
        assert_eq!(check_name("a.b_c").expect("ok"), "a.b_c");
        for bad in ["", "a", "-x", "a b", "x/y", "ünï"] {
            let e = check_name(bad).expect_err(bad);
            assert!(e.to_string().starts_with("Invalid container name"), "{e}");
        }
        let n = random_name(|_| false);
        assert!(n.contains('_') && check_name(&n).is_ok(), "{n}");
    }

    #[test]
    fn ids_are_64_hex() {
        let id = new_id();
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id, new_id());
    }

    #[test]
    fn corrupt_records_are_moved_aside_and_good_ones_load() {
        let dir = std::env::temp_dir().join(format!("berth-engine-rec-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let good = Record {
            id: new_id(),
            name: "good".into(),
            created: "2026-01-01T00:00:00Z".into(),
            created_by: Principal::Admin,
            path: "sh".into(),
            args: vec![],
            config: Config::default(),
            host_config: HostConfig::default(),
            image: "sha256:00".into(),
            image_name: "busybox".into(),
            state: State::default(),
            restart_count: 0,
            stopped_by_user: false,
            exec_ids: vec![],
            volumes: vec![],
            endpoints: Default::default(),
            ports: Default::default(),
        };
        good.save(&dir).expect("save");
        let bad = new_id();
        std::fs::create_dir_all(dir.join(&bad)).expect("mkdir");
        std::fs::write(dir.join(&bad).join(RECORD), b"{\"id\": tru").expect("write");
        let loaded = load_all(&dir).expect("load");
        assert_eq!(loaded.records.len(), 1);
        assert_eq!(loaded.records[0].name, "good");
        assert_eq!(loaded.moved_aside.len(), 1, "{:?}", loaded.moved_aside);
        assert!(!dir.join(&bad).exists());
        assert!(loaded.moved_aside[0].0.to_string_lossy().contains(".corrupt-"));
        // A second start does not trip over what was moved aside.
        assert_eq!(load_all(&dir).expect("load again").records.len(), 1);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
