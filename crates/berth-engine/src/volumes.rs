//! Volumes (`docker volume`, `-v name:/path`, `--mount type=volume`, an image's `VOLUME`s):
//! the `local` driver. A volume is `<data-root>/volumes/<name>/` with its data in `_data` and
//! its description in `volume.json` (written crash-safely). With driver options
//! (`type`/`o`/`device`, as Docker's local driver takes them) `_data` is a mount made when the
//! first container using it starts and undone when the last one stops.
//!
//! Containers record the volumes they use (`Record::volumes`); a volume any container uses is
//! "in use" and cannot be removed. Anonymous volumes (an image's `VOLUME`, `-v /path`) carry
//! Docker's `com.docker.volume.anonymous` label; `rm -v` and `volume prune` remove them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use berth_api_types::volume::{Volume, VolumeCreateRequest, VolumeListResponse, VolumePruneResponse, VolumeUsageData};
use berth_api_types::Filters;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::policy::Principal;
use crate::Engine;

pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// A volume a container uses, as its record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeMount {
    pub name: String,
    pub destination: String,
    pub read_only: bool,
    /// Not filled from the image at first use.
    #[serde(default)]
    pub nocopy: bool,
}

/// What `volume.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Meta {
    name: String,
    created_at: String,
    labels: BTreeMap<String, String>,
    options: BTreeMap<String, String>,
}

/// The volumes under one data root, and how many running containers hold each mounted.
#[derive(Default)]
pub struct Volumes {
    root: PathBuf,
    /// Serialises create and remove.
    lock: Mutex<()>,
    /// Volumes with driver options: running containers using each (its mount is up while > 0).
    mounted: Mutex<HashMap<String, usize>>,
}

fn valid_name(n: &str) -> bool {
    let mut b = n.bytes();
    n.len() >= 2 && b.next().is_some_and(|c| c.is_ascii_alphanumeric()) && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

impl Volumes {
    pub fn open(root: PathBuf) -> Result<Volumes> {
        std::fs::create_dir_all(&root).map_err(Error::io("create the volumes directory", &root))?;
        Ok(Volumes { root, ..Default::default() })
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Where a volume's data is (what containers mount).
    pub fn data_dir(&self, name: &str) -> PathBuf {
        self.dir(name).join("_data")
    }

    /// Made for one container, without a name (`-v /path`, an image's VOLUME).
    pub(crate) fn is_anonymous(&self, name: &str) -> bool {
        self.meta(name).is_some_and(|m| m.labels.contains_key(ANONYMOUS_LABEL))
    }

    fn meta(&self, name: &str) -> Option<Meta> {
        let data = std::fs::read(self.dir(name).join("volume.json")).ok()?;
        serde_json::from_slice(&data).ok()
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| valid_name(n) && self.dir(n).join("volume.json").is_file())
            .collect();
        v.sort();
        v
    }

    fn to_api(&self, m: &Meta) -> Volume {
        Volume {
            name: m.name.clone(),
            driver: "local".into(),
            mountpoint: self.data_dir(&m.name).to_string_lossy().into_owned(),
            created_at: Some(m.created_at.clone()),
            status: None,
            labels: Some(m.labels.clone()),
            scope: "local".into(),
            options: (!m.options.is_empty()).then(|| m.options.clone()),
            usage_data: None,
        }
    }

    /// Creates the volume (a random name when `name` is empty), or returns the existing one
    /// of that name, as Docker does; true when it was made now.
    fn create(&self, name: &str, labels: BTreeMap<String, String>, options: BTreeMap<String, String>) -> Result<(Meta, bool)> {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let name = if name.is_empty() { crate::container::record::new_id() } else { name.to_owned() };
        if !valid_name(&name) {
            return Err(Error::InvalidParameter(format!("create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")));
        }
        if let Some(m) = self.meta(&name) {
            return Ok((m, false));
        }
        for k in options.keys() {
            if !matches!(k.as_str(), "type" | "o" | "device") {
                return Err(Error::InvalidParameter(format!("invalid option key: {k:?} (the local driver takes type, o and device)")));
            }
        }
        if !options.is_empty() && !options.contains_key("device") && options.get("type").map(String::as_str) != Some("tmpfs") {
            return Err(Error::InvalidParameter("missing required option: \"device\"".into()));
        }
        let dir = self.dir(&name);
        let data = dir.join("_data");
        std::fs::create_dir_all(&data).map_err(Error::io("create the volume", &data))?;
        let meta = Meta { name: name.clone(), created_at: crate::time::now(), labels, options };
        let tmp = dir.join("volume.json.tmp");
        let path = dir.join("volume.json");
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&serde_json::to_vec(&meta).expect("volume metadata serializes"))?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(&dir)?.sync_all()
        };
        write().map_err(Error::io("write the volume's metadata", &path))?;
        Ok((meta, true))
    }

    /// Mounts the volume's driver options over `_data` for one more running container.
    pub(crate) fn acquire(&self, name: &str) -> Result<()> {
        let Some(meta) = self.meta(name) else { return Err(Error::NotFound(format!("no such volume: {name}"))) };
        if meta.options.is_empty() {
            return Ok(());
        }
        let mut m = self.mounted.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(name.to_owned()).or_insert(0);
        if *n == 0 {
            mount_options(&meta.options, &self.data_dir(name)).map_err(|e| Error::InvalidParameter(format!("mount volume {name}: {e}")))?;
        }
        *n += 1;
        Ok(())
    }

    /// One running container fewer; the last one unmounts.
    pub(crate) fn release(&self, name: &str) {
        let mut m = self.mounted.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(name) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(name);
                let _ = rustix::mount::unmount(self.data_dir(name), rustix::mount::UnmountFlags::DETACH);
            }
        }
    }

    /// A running container found at start holds its volumes' mounts.
    pub(crate) fn adopt(&self, name: &str) {
        if self.meta(name).is_some_and(|m| !m.options.is_empty()) {
            *self.mounted.lock().unwrap_or_else(|p| p.into_inner()).entry(name.to_owned()).or_insert(0) += 1;
        }
    }
}

/// Docker's local driver options as a mount: `type`, `device`, and `o` (flags such as `ro`,
/// `bind`, the rest passed as data).
fn mount_options(opts: &BTreeMap<String, String>, target: &Path) -> std::io::Result<()> {
    use rustix::mount::MountFlags;
    let fstype = opts.get("type").map(String::as_str).unwrap_or("");
    let device = opts.get("device").map(String::as_str).unwrap_or(fstype);
    let mut flags = MountFlags::empty();
    let mut data = Vec::new();
    for o in opts.get("o").map(String::as_str).unwrap_or("").split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => flags |= MountFlags::RDONLY,
            "nosuid" => flags |= MountFlags::NOSUID,
            "nodev" => flags |= MountFlags::NODEV,
            "noexec" => flags |= MountFlags::NOEXEC,
            "sync" => flags |= MountFlags::SYNCHRONOUS,
            "bind" => flags |= MountFlags::BIND,
            "rbind" => flags |= MountFlags::BIND | MountFlags::REC,
            other => data.push(other),
        }
    }
    let fstype = if flags.contains(MountFlags::BIND) || fstype == "none" { "" } else { fstype };
    let data = std::ffi::CString::new(data.join(",")).map_err(|_| std::io::Error::other("a NUL byte in the mount options"))?;
    rustix::mount::mount(device, target, fstype, flags, Some(data.as_c_str()))?;
    Ok(())
}

impl Engine {
    /// Which containers use each volume, by volume name.
    fn volume_users(&self) -> HashMap<String, Vec<String>> {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for c in self.visible(&Principal::Admin) {
            for v in &c.rec().volumes {
                m.entry(v.name.clone()).or_default().push(c.id.clone());
            }
        }
        m
    }

    /// Creates (or finds) a volume a container asked for by name; anonymous when `name` is
    /// empty.
    pub(crate) fn volume_for_container(&self, name: &str) -> Result<String> {
        let labels = if name.is_empty() { BTreeMap::from([(ANONYMOUS_LABEL.to_owned(), String::new())]) } else { BTreeMap::new() };
        let (meta, made) = self.volumes.create(name, labels, BTreeMap::new())?;
        if made {
            self.events.publish("volume", "create", &meta.name, BTreeMap::from([("driver".to_owned(), "local".to_owned())]));
        }
        Ok(meta.name)
    }

    /// `POST /volumes/create`.
    pub fn volume_create(&self, _principal: &Principal, req: &VolumeCreateRequest) -> Result<Volume> {
        if let Some(d) = req.driver.as_deref().filter(|d| !d.is_empty() && *d != "local") {
            return Err(Error::NotImplemented(format!("volume driver {d:?} (berth has the local driver)")));
        }
        let (meta, made) = self.volumes.create(req.name.as_deref().unwrap_or(""), req.labels.clone().unwrap_or_default(), req.driver_opts.clone().unwrap_or_default())?;
        if made {
            self.events.publish("volume", "create", &meta.name, BTreeMap::from([("driver".to_owned(), "local".to_owned())]));
        }
        Ok(self.volumes.to_api(&meta))
    }

    /// `GET /volumes/{name}`.
    pub fn volume_inspect(&self, _principal: &Principal, name: &str) -> Result<Volume> {
        let meta = self.volumes.meta(name).ok_or_else(|| Error::NotFound(format!("get {name}: no such volume")))?;
        Ok(self.volumes.to_api(&meta))
    }

    /// `GET /volumes`: filters `name` (substring), `label`, `dangling`, `driver`.
    pub fn volume_list(&self, _principal: &Principal, filters: &Filters) -> Result<VolumeListResponse> {
        filters.validate(&["name", "label", "label!", "dangling", "driver"]).map_err(|e| Error::InvalidParameter(e.to_string()))?;
        let dangling = filters.boolean("dangling").map_err(|e| Error::InvalidParameter(e.to_string()))?;
        let users = self.volume_users();
        let mut out = Vec::new();
        for n in self.volumes.names() {
            let Some(m) = self.volumes.meta(&n) else { continue };
            let keep = (!filters.contains("name") || filters.get("name").any(|f| n.contains(f)))
                && (!filters.contains("driver") || filters.get("driver").any(|d| d == "local"))
                && dangling.is_none_or(|d| d != users.contains_key(&n))
                && filters.labels_match(&m.labels);
            if keep {
                out.push(self.volumes.to_api(&m));
            }
        }
        Ok(VolumeListResponse { volumes: out, warnings: Some(Vec::new()) })
    }

    /// `DELETE /volumes/{name}`: refused while a container uses it (`force` does not change
    /// that, as in Docker, but makes a missing volume no error).
    pub fn volume_remove(&self, _principal: &Principal, name: &str, force: bool) -> Result<()> {
        if self.volumes.meta(name).is_none() {
            return if force { Ok(()) } else { Err(Error::NotFound(format!("get {name}: no such volume"))) };
        }
        if let Some(users) = self.volume_users().get(name) {
            return Err(Error::Conflict(format!("remove {name}: volume is in use - [{}]", users.join(", "))));
        }
        self.remove_volume_dir(name)?;
        self.events.publish("volume", "destroy", name, BTreeMap::from([("driver".to_owned(), "local".to_owned())]));
        Ok(())
    }

    fn remove_volume_dir(&self, name: &str) -> Result<u64> {
        let _g = self.volumes.lock.lock().unwrap_or_else(|p| p.into_inner());
        let dir = self.volumes.dir(name);
        // What the volume held, as dockerd counts it: its data, not berth's record of it.
        let size = crate::container::inspect::du(&self.volumes.data_dir(name));
        // a leftover mount of driver options goes first
        let _ = rustix::mount::unmount(self.volumes.data_dir(name), rustix::mount::UnmountFlags::DETACH);
        std::fs::remove_file(dir.join("volume.json")).map_err(Error::io("remove the volume", &dir))?;
        std::fs::remove_dir_all(&dir).map_err(Error::io("remove the volume", &dir))?;
        Ok(size)
    }

    /// `POST /volumes/prune`: unused anonymous volumes (all unused ones with `all=true`),
    /// narrowed by `label`.
    pub fn volume_prune(&self, _principal: &Principal, filters: &Filters) -> Result<VolumePruneResponse> {
        filters.validate(&["label", "label!", "all"]).map_err(|e| Error::InvalidParameter(e.to_string()))?;
        let all = filters.get("all").any(|v| v == "true" || v == "1");
        let users = self.volume_users();
        let mut deleted = Vec::new();
        let mut reclaimed = 0;
        for n in self.volumes.names() {
            let Some(m) = self.volumes.meta(&n) else { continue };
            if users.contains_key(&n) || (!all && !m.labels.contains_key(ANONYMOUS_LABEL)) || !filters.labels_match(&m.labels) {
                continue;
            }
            reclaimed += self.remove_volume_dir(&n)?;
            self.events.publish("volume", "destroy", &n, BTreeMap::from([("driver".to_owned(), "local".to_owned())]));
            deleted.push(n);
        }
        Ok(VolumePruneResponse { volumes_deleted: Some(deleted), space_reclaimed: reclaimed })
    }

    /// The anonymous volumes of a removed container (`rm -v`), if nothing else uses them.
    pub(crate) fn remove_anonymous_volumes(&self, mounts: &[VolumeMount]) {
        let users = self.volume_users();
        for v in mounts {
            if users.contains_key(&v.name) || !self.volumes.is_anonymous(&v.name) {
                continue;
            }
            if self.remove_volume_dir(&v.name).is_ok() {
                self.events.publish("volume", "destroy", &v.name, BTreeMap::from([("driver".to_owned(), "local".to_owned())]));
            }
        }
    }

    /// `UsageData` for `system df` and `volume ls` with sizes.
    pub fn volume_usage(&self, name: &str) -> VolumeUsageData {
        let refs = self.volume_users().get(name).map(|u| u.len()).unwrap_or(0);
        VolumeUsageData { size: crate::container::inspect::du(&self.volumes.data_dir(name)) as i64, ref_count: refs as i64 }
    }

    pub fn volumes(&self) -> &Volumes {
        &self.volumes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_options_follow_the_local_driver() {
        assert!(valid_name("data") && valid_name("my_vol-1.x"));
        assert!(!valid_name("a") && !valid_name("-x") && !valid_name("a/b") && !valid_name(""));
        let dir = std::env::temp_dir().join(format!("berth-vols-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let v = Volumes::open(dir.clone()).expect("open");
        let (m, made) = v.create("data", BTreeMap::new(), BTreeMap::new()).expect("create");
        let (again, made_again) = v.create("data", BTreeMap::new(), BTreeMap::new()).expect("again");
        assert!(made && !made_again);
        assert_eq!(again.created_at, m.created_at, "create of an existing name returns it");
        assert!(v.data_dir("data").is_dir());
        assert_eq!(v.names(), ["data"]);
        let (anon, _) = v.create("", BTreeMap::new(), BTreeMap::new()).expect("anonymous");
        assert_eq!(anon.name.len(), 64);
        assert!(v.create("bad", BTreeMap::new(), BTreeMap::from([("size".into(), "1".into())])).is_err());
        assert!(v.create("bad", BTreeMap::new(), BTreeMap::from([("type".into(), "ext4".into())])).is_err(), "device is needed");
        assert!(v.create("t1", BTreeMap::new(), BTreeMap::from([("type".into(), "tmpfs".into()), ("o".into(), "size=1m".into())])).is_ok());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
