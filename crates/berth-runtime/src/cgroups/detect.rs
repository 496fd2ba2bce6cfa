//! Where each cgroup controller lives on this host.
//!
//! Reads `/proc/self/mountinfo` (which cgroup and cgroup2 filesystems are mounted, and which v1
//! controllers each one carries) and `/proc/self/cgroup` (the runtime's own cgroup in each
//! hierarchy, the base for relative `cgroupsPath` values). The parsing is pure: tests feed it
//! literal texts and a root prefix under which the mount points are looked up.
//!
//! A controller lives on the v1 hierarchy that carries it if there is one, else on the cgroup2
//! mount if that mount's `cgroup.controllers` lists it. That one rule covers pure v1, pure v2
//! and hybrid hosts (v1 controllers plus a cgroup2 mount that holds what v1 does not).

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::CgroupError;

/// How the host's cgroups are arranged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only v1 hierarchies (possibly with an empty cgroup2 mount nobody uses).
    V1,
    /// Only the unified cgroup2 hierarchy.
    V2,
    /// v1 controllers plus a cgroup2 mount (systemd's "hybrid" layout).
    Hybrid,
}

/// The controllers berth configures or reads, under their v1 names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Controller {
    Cpu,
    Cpuacct,
    Cpuset,
    Memory,
    Devices,
    Freezer,
    Blkio,
    Pids,
    Hugetlb,
    NetCls,
    NetPrio,
    Rdma,
}

impl Controller {
    /// Name in a v1 mount's options and in `/proc/self/cgroup`.
    pub fn v1_name(self) -> &'static str {
        match self {
            Controller::Cpu => "cpu",
            Controller::Cpuacct => "cpuacct",
            Controller::Cpuset => "cpuset",
            Controller::Memory => "memory",
            Controller::Devices => "devices",
            Controller::Freezer => "freezer",
            Controller::Blkio => "blkio",
            Controller::Pids => "pids",
            Controller::Hugetlb => "hugetlb",
            Controller::NetCls => "net_cls",
            Controller::NetPrio => "net_prio",
            Controller::Rdma => "rdma",
        }
    }

    /// Name in a v2 `cgroup.controllers`. `None` for what v2 does in the core (freezer) or
    /// with BPF (devices), and for what v2 does not have at all (net_cls, net_prio).
    pub fn v2_name(self) -> Option<&'static str> {
        match self {
            Controller::Cpu | Controller::Cpuacct => Some("cpu"),
            Controller::Cpuset => Some("cpuset"),
            Controller::Memory => Some("memory"),
            Controller::Blkio => Some("io"),
            Controller::Pids => Some("pids"),
            Controller::Hugetlb => Some("hugetlb"),
            Controller::Rdma => Some("rdma"),
            Controller::Devices | Controller::Freezer | Controller::NetCls | Controller::NetPrio => {
                None
            }
        }
    }

    pub const ALL: [Controller; 12] = [
        Controller::Cpu,
        Controller::Cpuacct,
        Controller::Cpuset,
        Controller::Memory,
        Controller::Devices,
        Controller::Freezer,
        Controller::Blkio,
        Controller::Pids,
        Controller::Hugetlb,
        Controller::NetCls,
        Controller::NetPrio,
        Controller::Rdma,
    ];
}

/// Names that may appear in a v1 mount's super options as controllers (besides `name=...`).
const V1_CONTROLLER_NAMES: &[&str] = &[
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "net_prio", "blkio",
    "perf_event", "hugetlb", "pids", "rdma", "misc",
];

/// One cgroup filesystem mount from mountinfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupMount {
    /// `major:minor` of the superblock: two mounts of one hierarchy share it.
    pub device: String,
    /// The directory of the hierarchy that is mounted (`/` unless bind-mounted or namespaced).
    pub root: PathBuf,
    /// Where it is mounted, as mountinfo names it (no root prefix).
    pub mount_point: PathBuf,
    /// v1: controllers and `name=` entries, sorted; empty for cgroup2.
    pub controllers: Vec<String>,
    pub v2: bool,
}

/// Parses the cgroup and cgroup2 lines of a mountinfo text. The first mount of a hierarchy
/// wins; later bind mounts of the same superblock are dropped.
pub fn parse_mountinfo(text: &str) -> Result<Vec<CgroupMount>, CgroupError> {
    let mut mounts: Vec<CgroupMount> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let bad = |reason: &'static str| CgroupError::Parse {
            what: "/proc/self/mountinfo",
            line: line.to_owned(),
            reason,
        };
        let (before, after) = line.split_once(" - ").ok_or_else(|| bad("no ' - ' separator"))?;
        let fields: Vec<&str> = before.split(' ').collect();
        if fields.len() < 6 {
            return Err(bad("fewer than 6 fields before the separator"));
        }
        let mut tail = after.split(' ');
        let fstype = tail.next().ok_or_else(|| bad("no filesystem type"))?;
        let _source = tail.next();
        let super_options = tail.next().unwrap_or("");
        let v2 = match fstype {
            "cgroup" => false,
            "cgroup2" => true,
            _ => continue,
        };
        let controllers = if v2 {
            Vec::new()
        } else {
            let set: BTreeSet<String> = super_options
                .split(',')
                .filter(|o| o.starts_with("name=") || V1_CONTROLLER_NAMES.contains(o))
                .map(str::to_owned)
                .collect();
            set.into_iter().collect()
        };
        let device = fields[2].to_owned();
        if mounts.iter().any(|m| m.device == device) {
            continue;
        }
        mounts.push(CgroupMount {
            device,
            root: PathBuf::from(unescape_mountinfo(fields[3])),
            mount_point: PathBuf::from(unescape_mountinfo(fields[4])),
            controllers,
            v2,
        });
    }
    Ok(mounts)
}

/// mountinfo writes space, tab, newline and backslash as `\ooo` octal escapes.
fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let oct = std::str::from_utf8(&bytes[i + 1..i + 4]).ok();
            if let Some(v) = oct.and_then(|o| u8::from_str_radix(o, 8).ok()) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One line of `/proc/<pid>/cgroup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcCgroupEntry {
    /// Sorted controller names (v1), empty for the v2 line `0::/path`.
    pub controllers: Vec<String>,
    pub path: PathBuf,
}

pub fn parse_proc_cgroup(text: &str) -> Result<Vec<ProcCgroupEntry>, CgroupError> {
    let mut entries = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.splitn(3, ':');
        let (Some(_id), Some(list), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CgroupError::Parse {
                what: "/proc/self/cgroup",
                line: line.to_owned(),
                reason: "expected id:controllers:path",
            });
        };
        let set: BTreeSet<String> =
            list.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect();
        entries.push(ProcCgroupEntry { controllers: set.into_iter().collect(), path: path.into() });
    }
    Ok(entries)
}

/// A v1 hierarchy as this process can reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V1Hierarchy {
    pub controllers: Vec<String>,
    /// Root prefix + mount point.
    pub mount_dir: PathBuf,
    /// The hierarchy path of `mount_dir` (mountinfo's root field).
    pub mount_root: PathBuf,
    /// The runtime's own cgroup in this hierarchy (hierarchy path, from /proc/self/cgroup).
    pub own: PathBuf,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V2Hierarchy {
    pub mount_dir: PathBuf,
    pub mount_root: PathBuf,
    pub own: PathBuf,
    /// The mount root's `cgroup.controllers`.
    pub controllers: Vec<String>,
}

/// Every cgroup hierarchy on the host and where controllers live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchies {
    pub v1: Vec<V1Hierarchy>,
    pub v2: Option<V2Hierarchy>,
}

impl Hierarchies {
    /// Reads this process's view of the host.
    pub fn detect() -> Result<Hierarchies, CgroupError> {
        Self::detect_under(Path::new("/"))
    }

    /// Like [`Hierarchies::detect`], with mount points (and the v2 `cgroup.controllers`) looked
    /// up under `root`. The proc files are always this process's.
    pub fn detect_under(root: &Path) -> Result<Hierarchies, CgroupError> {
        let mountinfo = read_text(Path::new("/proc/self/mountinfo"))?;
        let own = read_text(Path::new("/proc/self/cgroup"))?;
        Self::from_texts(&mountinfo, &own, root, |dir| {
            read_text(&dir.join("cgroup.controllers")).ok()
        })
    }

    /// The pure part: builds the hierarchy list from mountinfo and /proc/self/cgroup texts.
    /// `v2_controllers` returns the `cgroup.controllers` text of a directory (None: unreadable).
    pub fn from_texts(
        mountinfo: &str,
        proc_cgroup: &str,
        root: &Path,
        v2_controllers: impl Fn(&Path) -> Option<String>,
    ) -> Result<Hierarchies, CgroupError> {
        let mounts = parse_mountinfo(mountinfo)?;
        let own = parse_proc_cgroup(proc_cgroup)?;
        let mut v1 = Vec::new();
        let mut v2 = None;
        for m in mounts {
            let mount_dir = join_under(root, &m.mount_point);
            let own_path = own
                .iter()
                .find(|e| e.controllers == m.controllers)
                .map(|e| e.path.clone())
                .unwrap_or_else(|| PathBuf::from("/"));
            if m.v2 {
                if v2.is_some() {
                    continue;
                }
                let controllers = v2_controllers(&mount_dir)
                    .map(|t| t.split_whitespace().map(str::to_owned).collect())
                    .unwrap_or_default();
                v2 = Some(V2Hierarchy { mount_dir, mount_root: m.root, own: own_path, controllers });
            } else {
                if m.controllers.is_empty() {
                    continue;
                }
                v1.push(V1Hierarchy {
                    controllers: m.controllers,
                    mount_dir,
                    mount_root: m.root,
                    own: own_path,
                });
            }
        }
        if v1.is_empty() && v2.is_none() {
            return Err(CgroupError::NoCgroupFs);
        }
        Ok(Hierarchies { v1, v2 })
    }

    pub fn mode(&self) -> Mode {
        let real_v1 =
            self.v1.iter().any(|h| h.controllers.iter().any(|c| !c.starts_with("name=")));
        match (real_v1, self.v2.is_some()) {
            (true, true) => Mode::Hybrid,
            (true, false) => Mode::V1,
            (false, true) => Mode::V2,
            // Only named v1 hierarchies: nothing to configure, treat as v1.
            (false, false) => Mode::V1,
        }
    }
}

/// `root` + an absolute `path`, without letting `path` replace `root`.
pub(crate) fn join_under(root: &Path, path: &Path) -> PathBuf {
    let mut out = root.to_path_buf();
    for c in path.components() {
        if let Component::Normal(n) = c {
            out.push(n);
        }
    }
    out
}

pub(crate) fn read_text(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path)
        .map_err(|source| CgroupError::Read { path: path.to_owned(), source })
}

/// The directory for hierarchy path `cgroup` in a hierarchy mounted at `mount_dir` whose
/// mounted directory is `mount_root`. A path outside the mounted subtree (a cgroup namespace or
/// bind mount hides the rest) is taken as relative to the mount.
pub(crate) fn dir_in_mount(mount_dir: &Path, mount_root: &Path, cgroup: &Path) -> PathBuf {
    let rel = cgroup.strip_prefix(mount_root).unwrap_or(cgroup);
    join_under(mount_dir, rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTINFO: &str = "\
23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_SELF: &str = "\
9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/57550bd9
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
";

    const V1_MOUNTINFO: &str = "\
25 19 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid shared:10 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:14 - cgroup cgroup rw,cpu,cpuacct
30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory
31 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:16 - cgroup cgroup rw,net_cls,net_prio
32 25 0:29 / /sys/fs/cgroup/pids rw,nosuid shared:17 - cgroup cgroup rw,pids
33 25 0:30 / /sys/fs/cgroup/hugetlb rw,nosuid shared:18 - cgroup cgroup rw,hugetlb
90 30 0:27 /docker /mnt/memory\\040copy rw - cgroup cgroup rw,memory
";
    const V1_SELF: &str = "\
12:pids:/user.slice/user-1000.slice
7:cpu,cpuacct:/user.slice
4:memory:/user.slice/user-1000.slice/session-2.scope
3:net_cls,net_prio:/
2:hugetlb:/
1:name=systemd:/user.slice/user-1000.slice/session-2.scope
";

    const V2_MOUNTINFO: &str = "\
24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
28 24 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";
    const V2_SELF: &str = "0::/user.slice/user-1000.slice/session-3.scope\n";

    #[test]
    fn hybrid_host_has_separate_cpu_and_cpuacct_and_hugetlb_on_v2() {
        let h = Hierarchies::from_texts(HYBRID_MOUNTINFO, HYBRID_SELF, Path::new("/"), |d| {
            assert_eq!(d, Path::new("/sys/fs/cgroup/unified"));
            Some("hugetlb\n".into())
        })
        .expect("parse");
        assert_eq!(h.mode(), Mode::Hybrid);
        assert_eq!(h.v1.len(), 9);
        let cpu = h.v1.iter().find(|x| x.controllers == ["cpu"]).expect("cpu");
        assert_eq!(cpu.mount_dir, Path::new("/sys/fs/cgroup/cpu"));
        let mem = h.v1.iter().find(|x| x.controllers == ["memory"]).expect("memory");
        assert_eq!(mem.own, Path::new("/process_api/57550bd9"));
        assert!(h.v1.iter().any(|x| x.controllers == ["name=systemd"]));
        let v2 = h.v2.expect("v2");
        assert_eq!(v2.controllers, ["hugetlb"]);
        assert_eq!(v2.own, Path::new("/"));
    }

    #[test]
    fn v1_host_with_combined_mounts_and_a_bind_mount_of_the_same_hierarchy() {
        let h = Hierarchies::from_texts(V1_MOUNTINFO, V1_SELF, Path::new("/tmp/fake"), |_| None)
            .expect("parse");
        assert_eq!(h.mode(), Mode::V1);
        assert!(h.v2.is_none());
        // 0:27 appears twice; the first mount wins.
        assert_eq!(h.v1.len(), 6);
        let cpu = h.v1.iter().find(|x| x.controllers == ["cpu", "cpuacct"]).expect("cpu");
        assert_eq!(cpu.mount_dir, Path::new("/tmp/fake/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(cpu.own, Path::new("/user.slice"));
        let sd = h.v1.iter().find(|x| x.controllers == ["name=systemd"]).expect("systemd");
        assert_eq!(sd.own, Path::new("/user.slice/user-1000.slice/session-2.scope"));
        let net = h.v1.iter().find(|x| x.controllers == ["net_cls", "net_prio"]);
        assert!(net.is_some());
    }

    #[test]
    fn v2_host() {
        let h = Hierarchies::from_texts(V2_MOUNTINFO, V2_SELF, Path::new("/"), |_| {
            Some("cpuset cpu io memory hugetlb pids rdma misc\n".into())
        })
        .expect("parse");
        assert_eq!(h.mode(), Mode::V2);
        assert!(h.v1.is_empty());
        let v2 = h.v2.expect("v2");
        assert_eq!(v2.mount_dir, Path::new("/sys/fs/cgroup"));
        assert_eq!(v2.own, Path::new("/user.slice/user-1000.slice/session-3.scope"));
        assert_eq!(v2.controllers.len(), 8);
    }

    #[test]
    fn no_cgroup_mounts_is_an_error_and_garbage_is_a_parse_error() {
        let none = Hierarchies::from_texts(
            "23 1 0:21 / /sys rw - sysfs sysfs rw\n",
            "",
            Path::new("/"),
            |_| None,
        );
        assert!(matches!(none, Err(CgroupError::NoCgroupFs)));
        assert!(parse_mountinfo("garbage line\n").is_err());
        assert!(parse_proc_cgroup("nocolons\n").is_err());
    }

    #[test]
    fn mountinfo_escapes_are_decoded() {
        let m = parse_mountinfo(V1_MOUNTINFO).expect("parse");
        assert!(m.iter().all(|m| m.mount_point != Path::new("/mnt/memory copy")));
        let text = "90 30 0:99 /docker /mnt/memory\\040copy rw - cgroup cgroup rw,memory\n";
        let m = parse_mountinfo(text).expect("parse");
        assert_eq!(m[0].mount_point, Path::new("/mnt/memory copy"));
        assert_eq!(m[0].root, Path::new("/docker"));
    }

    #[test]
    fn dirs_inside_a_bind_mounted_subtree() {
        let d = dir_in_mount(
            Path::new("/sys/fs/cgroup/memory"),
            Path::new("/docker/abc"),
            Path::new("/docker/abc/child"),
        );
        assert_eq!(d, Path::new("/sys/fs/cgroup/memory/child"));
        let d = dir_in_mount(Path::new("/sys/fs/cgroup/memory"), Path::new("/"), Path::new("/x/y"));
        assert_eq!(d, Path::new("/sys/fs/cgroup/memory/x/y"));
    }
}
