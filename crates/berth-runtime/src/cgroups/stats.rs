//! Read-only statistics for the engine (`docker stats`, `docker top`-like views), the same
//! shape on v1 and v2. Numbers the kernel reports as `max` become `u64::MAX`. Controllers the
//! cgroup does not have leave their section `None`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::detect::Controller;
use super::plan::Version;
use super::fs::read_file;
use super::{Cgroup, CgroupError};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub cpu: Option<CpuStats>,
    pub memory: Option<MemoryStats>,
    pub pids: Option<PidsStats>,
    pub blkio: Option<BlkioStats>,
    /// Page size (`2MB`) → usage.
    pub hugetlb: BTreeMap<String, HugetlbStats>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuStats {
    pub total_ns: u64,
    pub user_ns: u64,
    pub system_ns: u64,
    /// v1 only (cpuacct.usage_percpu); empty on v2.
    pub per_cpu_ns: Vec<u64>,
    pub throttling: Throttling,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time_ns: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryData {
    pub usage: u64,
    /// v1 max_usage_in_bytes, v2 memory.peak (0 where the kernel has neither).
    pub max_usage: u64,
    pub limit: u64,
    /// v1 failcnt, v2 the `max` count of memory.events / `fail` of memory.swap.events.
    pub failcnt: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryStats {
    pub usage: MemoryData,
    /// v1: memory+swap (memsw); v2: swap alone. None without swap accounting.
    pub swap: Option<MemoryData>,
    /// memory.stat: v1 `cache`, `rss`, `total_*`...; v2 `anon`, `file`...
    pub stat: BTreeMap<String, u64>,
    /// v1 memory.oom_control (`under_oom`, `oom_kill`), v2 memory.events (`oom`, `oom_kill`, `max`...).
    pub events: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidsStats {
    pub current: u64,
    /// None: no limit.
    pub limit: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    /// `Read`, `Write`, `Sync`, `Async`, `Discard`, `Total`... as v1 names them.
    pub op: String,
    pub value: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HugetlbStats {
    pub usage: u64,
    /// v1 only.
    pub max_usage: u64,
    pub failcnt: u64,
}

pub(super) fn collect(cg: &Cgroup) -> Result<Stats, CgroupError> {
    let layout = cg.layout();
    let mut stats = Stats::default();
    if let (Some(v), Some(dir)) = (layout.place(Controller::Cpuacct), cg.dir_of(Controller::Cpuacct)) {
        let mut cpu = match v {
            Version::V1 => cpu_v1(dir)?,
            Version::V2 => cpu_v2(dir)?,
        };
        if let (Some(Version::V1), Some(cpu_dir)) = (layout.place(Controller::Cpu), cg.dir_of(Controller::Cpu)) {
            let s = flat_keyed(&read_file(&cpu_dir.join("cpu.stat"))?);
            cpu.throttling = Throttling {
                periods: s.get("nr_periods").copied().unwrap_or(0),
                throttled_periods: s.get("nr_throttled").copied().unwrap_or(0),
                throttled_time_ns: s.get("throttled_time").copied().unwrap_or(0),
            };
        }
        stats.cpu = Some(cpu);
    }
    if let (Some(v), Some(dir)) = (layout.place(Controller::Memory), cg.dir_of(Controller::Memory)) {
        stats.memory = Some(match v {
            Version::V1 => memory_v1(dir)?,
            Version::V2 => memory_v2(dir)?,
        });
    }
    if let Some(dir) = cg.dir_of(Controller::Pids) {
        let limit = number(&read_file(&dir.join("pids.max"))?);
        stats.pids = Some(PidsStats {
            current: number(&read_file(&dir.join("pids.current"))?),
            limit: (limit != u64::MAX).then_some(limit),
        });
    }
    if let (Some(v), Some(dir)) = (layout.place(Controller::Blkio), cg.dir_of(Controller::Blkio)) {
        stats.blkio = Some(match v {
            Version::V1 => blkio_v1(dir)?,
            Version::V2 => io_stat_v2(&read_file(&dir.join("io.stat"))?),
        });
    }
    if let (Some(v), Some(dir)) = (layout.place(Controller::Hugetlb), cg.dir_of(Controller::Hugetlb)) {
        stats.hugetlb = hugetlb(v, dir)?;
    }
    Ok(stats)
}

/// `max` → u64::MAX, a number → itself, anything else → 0. v1 writes "unlimited" as a huge
/// page-aligned number, which stays as it is.
pub fn number(text: &str) -> u64 {
    let t = text.trim();
    if t == "max" {
        u64::MAX
    } else {
        t.parse().unwrap_or(0)
    }
}

/// `key value` lines (memory.stat, cpu.stat, memory.events) → map; malformed lines are skipped.
pub fn flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), number(v)))
        })
        .collect()
}

fn read_opt(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// USER_HZ: the unit of cpuacct.stat, fixed at 100 by the kernel ABI.
const NS_PER_USER_HZ_TICK: u64 = 10_000_000;

fn cpu_v1(dir: &Path) -> Result<CpuStats, CgroupError> {
    let total = number(&read_file(&dir.join("cpuacct.usage"))?);
    let (user, system) = match (read_opt(&dir.join("cpuacct.usage_user")), read_opt(&dir.join("cpuacct.usage_sys"))) {
        (Some(u), Some(s)) => (number(&u), number(&s)),
        _ => {
            let s = flat_keyed(&read_file(&dir.join("cpuacct.stat"))?);
            (
                s.get("user").copied().unwrap_or(0) * NS_PER_USER_HZ_TICK,
                s.get("system").copied().unwrap_or(0) * NS_PER_USER_HZ_TICK,
            )
        }
    };
    let per_cpu = read_file(&dir.join("cpuacct.usage_percpu"))?
        .split_whitespace()
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    Ok(CpuStats { total_ns: total, user_ns: user, system_ns: system, per_cpu_ns: per_cpu, ..CpuStats::default() })
}

fn cpu_v2(dir: &Path) -> Result<CpuStats, CgroupError> {
    let s = flat_keyed(&read_file(&dir.join("cpu.stat"))?);
    let us = |k: &str| s.get(k).copied().unwrap_or(0).saturating_mul(1000);
    Ok(CpuStats {
        total_ns: us("usage_usec"),
        user_ns: us("user_usec"),
        system_ns: us("system_usec"),
        per_cpu_ns: Vec::new(),
        throttling: Throttling {
            periods: s.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: s.get("nr_throttled").copied().unwrap_or(0),
            throttled_time_ns: us("throttled_usec"),
        },
    })
}

fn memory_v1(dir: &Path) -> Result<MemoryStats, CgroupError> {
    let data = |prefix: &str| -> Result<MemoryData, CgroupError> {
        let f = |name: &str| read_file(&dir.join(format!("{prefix}.{name}"))).map(|t| number(&t));
        Ok(MemoryData {
            usage: f("usage_in_bytes")?,
            max_usage: f("max_usage_in_bytes")?,
            limit: f("limit_in_bytes")?,
            failcnt: f("failcnt")?,
        })
    };
    let swap = if dir.join("memory.memsw.usage_in_bytes").exists() { Some(data("memory.memsw")?) } else { None };
    Ok(MemoryStats {
        usage: data("memory")?,
        swap,
        stat: flat_keyed(&read_file(&dir.join("memory.stat"))?),
        events: flat_keyed(&read_file(&dir.join("memory.oom_control"))?),
    })
}

fn memory_v2(dir: &Path) -> Result<MemoryStats, CgroupError> {
    let events = flat_keyed(&read_file(&dir.join("memory.events"))?);
    let opt = |name: &str| read_opt(&dir.join(name)).map(|t| number(&t)).unwrap_or(0);
    let swap = if dir.join("memory.swap.current").exists() {
        let swap_events = read_opt(&dir.join("memory.swap.events")).map(|t| flat_keyed(&t)).unwrap_or_default();
        Some(MemoryData {
            usage: opt("memory.swap.current"),
            max_usage: opt("memory.swap.peak"),
            limit: opt("memory.swap.max"),
            failcnt: swap_events.get("fail").copied().unwrap_or(0),
        })
    } else {
        None
    };
    Ok(MemoryStats {
        usage: MemoryData {
            usage: number(&read_file(&dir.join("memory.current"))?),
            max_usage: opt("memory.peak"),
            limit: number(&read_file(&dir.join("memory.max"))?),
            failcnt: events.get("max").copied().unwrap_or(0),
        },
        swap,
        stat: flat_keyed(&read_file(&dir.join("memory.stat"))?),
        events,
    })
}

/// v1 blkio lines: `8:0 Read 4096`; the trailing `Total N` line is dropped.
pub fn blkio_entries_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, op, value) = (f.next()?, f.next()?, f.next()?);
            let (major, minor) = dev.split_once(':')?;
            Some(BlkioEntry {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                op: op.to_owned(),
                value: value.parse().ok()?,
            })
        })
        .collect()
}

fn blkio_v1(dir: &Path) -> Result<BlkioStats, CgroupError> {
    // CFQ/BFQ-era files when present, else the throttle layer's counters (always there).
    let pick = |kind: &str| -> Result<Vec<BlkioEntry>, CgroupError> {
        for file in [format!("blkio.{kind}_recursive"), format!("blkio.throttle.{kind}_recursive")] {
            if let Some(t) = read_opt(&dir.join(&file)) {
                return Ok(blkio_entries_v1(&t));
            }
        }
        read_file(&dir.join(format!("blkio.throttle.{kind}"))).map(|t| blkio_entries_v1(&t))
    };
    Ok(BlkioStats { io_service_bytes_recursive: pick("io_service_bytes")?, io_serviced_recursive: pick("io_serviced")? })
}

/// v2 io.stat: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0` → v1-shaped entries.
pub fn io_stat_v2(text: &str) -> BlkioStats {
    let mut out = BlkioStats::default();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some((major, minor)) = f.next().and_then(|d| d.split_once(':')) else { continue };
        let (Ok(major), Ok(minor)) = (major.parse(), minor.parse()) else { continue };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut out.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut out.io_service_bytes_recursive, "Write"),
                "dbytes" => (&mut out.io_service_bytes_recursive, "Discard"),
                "rios" => (&mut out.io_serviced_recursive, "Read"),
                "wios" => (&mut out.io_serviced_recursive, "Write"),
                "dios" => (&mut out.io_serviced_recursive, "Discard"),
                _ => continue,
            };
            list.push(BlkioEntry { major, minor, op: op.to_owned(), value: number(v) });
        }
    }
    out
}

fn hugetlb(v: Version, dir: &Path) -> Result<BTreeMap<String, HugetlbStats>, CgroupError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CgroupError::Read { path: dir.to_owned(), source })?;
    let suffix = match v {
        Version::V1 => ".limit_in_bytes",
        Version::V2 => ".max",
    };
    let mut out = BTreeMap::new();
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(size) = name.strip_prefix("hugetlb.").and_then(|n| n.strip_suffix(suffix)) else { continue };
        if size.contains('.') {
            continue; // hugetlb.2MB.rsvd.max and friends
        }
        let get = |f: &str| read_opt(&dir.join(format!("hugetlb.{size}.{f}"))).map(|t| number(&t)).unwrap_or(0);
        let s = match v {
            Version::V1 => HugetlbStats { usage: get("usage_in_bytes"), max_usage: get("max_usage_in_bytes"), failcnt: get("failcnt") },
            Version::V2 => {
                let events = read_opt(&dir.join(format!("hugetlb.{size}.events"))).map(|t| flat_keyed(&t)).unwrap_or_default();
                HugetlbStats { usage: get("current"), max_usage: 0, failcnt: events.get("max").copied().unwrap_or(0) }
            }
        };
        out.insert(size.to_owned(), s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keyed_and_max() {
        let m = flat_keyed("cache 4096\nrss 8192\nbad\nhierarchical_memory_limit max\n");
        assert_eq!(m["cache"], 4096);
        assert_eq!(m["rss"], 8192);
        assert_eq!(m["hierarchical_memory_limit"], u64::MAX);
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn v1_blkio_lines() {
        let e = blkio_entries_v1("8:0 Read 4096\n8:0 Write 0\n8:0 Total 4096\nTotal 4096\n");
        assert_eq!(e.len(), 3);
        assert_eq!(e[0], BlkioEntry { major: 8, minor: 0, op: "Read".into(), value: 4096 });
    }

    #[test]
    fn v2_io_stat() {
        let s = io_stat_v2("259:0 rbytes=1024 wbytes=2048 rios=1 wios=2 dbytes=0 dios=0\n");
        assert_eq!(s.io_service_bytes_recursive.len(), 3);
        assert_eq!(s.io_service_bytes_recursive[1].value, 2048);
        assert_eq!(s.io_serviced_recursive[0], BlkioEntry { major: 259, minor: 0, op: "Read".into(), value: 1 });
    }
}
