//! cgroup v1: which files of the per-controller hierarchies get which values, and the two v1
//! peculiarities of creating a cgroup (cpuset inheritance) and freezing one (freezer.state).

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory};

use super::detect::Controller;
use super::plan::{DeviceRule, Facts, FileWrite};
use super::CgroupError;

const M: Controller = Controller::Memory;

/// Memory. OCI's `swap` is memory+swap, which is exactly v1's memsw limit.
///
/// Swap without swap accounting (no `memory.memsw.limit_in_bytes`): `-1` (unlimited) is
/// skipped, a concrete value is an error, since silently dropping it would let the
/// container use unbounded swap. The engine drops it with a warning, as Docker does.
///
/// The limit and memsw writes are ordered so that memsw >= limit holds after each one (the
/// kernel refuses anything else): the limit goes first when it fits under the current memsw
/// limit, memsw first otherwise.
pub fn plan_memory(m: &LinuxMemory, facts: &Facts, out: &mut Vec<FileWrite>) -> Result<(), CgroupError> {
    let limit = m.limit().filter(|l| *l != 0);
    let swap = m.swap().filter(|s| *s != 0);
    if let (Some(l), Some(s)) = (limit, swap) {
        if l > 0 && s > 0 && s < l {
            return Err(CgroupError::InvalidResource {
                what: "memory",
                reason: format!("memory+swap limit {s} is below the memory limit {l}"),
            });
        }
    }
    let swap = match swap {
        Some(s) if !facts.v1_swap_accounting => {
            if s == -1 {
                None
            } else {
                return Err(CgroupError::NotSupported {
                    what: "a memory+swap limit: swap accounting is off on this host (no memory.memsw.limit_in_bytes; boot with swapaccount=1)".into(),
                });
            }
        }
        other => other,
    };
    match (limit, swap) {
        (Some(l), Some(s)) => {
            let l_eff = if l < 0 { u64::MAX } else { l as u64 };
            let current = facts.v1_memsw_limit.unwrap_or(u64::MAX);
            let lw = FileWrite::new(M, "memory.limit_in_bytes", l.max(-1));
            let sw = FileWrite::new(M, "memory.memsw.limit_in_bytes", s.max(-1));
            if l_eff <= current {
                out.extend([lw, sw]);
            } else {
                out.extend([sw, lw]);
            }
        }
        (Some(l), None) => out.push(FileWrite::new(M, "memory.limit_in_bytes", l.max(-1))),
        (None, Some(s)) => out.push(FileWrite::new(M, "memory.memsw.limit_in_bytes", s.max(-1))),
        (None, None) => {}
    }
    if let Some(r) = m.reservation().filter(|r| *r != 0) {
        out.push(FileWrite::new(M, "memory.soft_limit_in_bytes", r.max(-1)));
    }
    if let Some(t) = m.kernel_tcp().filter(|t| *t != 0) {
        out.push(FileWrite::new(M, "memory.kmem.tcp.limit_in_bytes", t.max(-1)));
    }
    // `kernel` is deprecated by OCI and refused by current kernels: ignored.
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(CgroupError::InvalidResource {
                what: "memory",
                reason: format!("swappiness {s} is not in 0..=100"),
            });
        }
        out.push(FileWrite::new(M, "memory.swappiness", s));
    }
    if m.disable_oom_killer() == Some(true) {
        out.push(FileWrite::new(M, "memory.oom_control", 1));
    }
    Ok(())
}

/// cpu and cpuacct: shares, CFS bandwidth (period before quota), burst, RT, idle.
pub fn plan_cpu(c: &LinuxCpu, out: &mut Vec<FileWrite>) -> Result<(), CgroupError> {
    const C: Controller = Controller::Cpu;
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        out.push(FileWrite::new(C, "cpu.shares", s));
    }
    if let Some(p) = c.period().filter(|p| *p != 0) {
        out.push(FileWrite::new(C, "cpu.cfs_period_us", p));
    }
    if let Some(q) = c.quota().filter(|q| *q != 0) {
        out.push(FileWrite::new(C, "cpu.cfs_quota_us", q.max(-1)));
    }
    if let Some(b) = c.burst() {
        out.push(FileWrite::new(C, "cpu.cfs_burst_us", b));
    }
    if let Some(p) = c.realtime_period().filter(|p| *p != 0) {
        out.push(FileWrite::new(C, "cpu.rt_period_us", p));
    }
    if let Some(r) = c.realtime_runtime().filter(|r| *r != 0) {
        out.push(FileWrite::new(C, "cpu.rt_runtime_us", r));
    }
    if let Some(i) = c.idle() {
        out.push(FileWrite::new(C, "cpu.idle", i));
    }
    Ok(())
}

/// blkio: proportional weights (CFQ's `blkio.weight*` or BFQ's `blkio.bfq.weight*`, whichever
/// the kernel has) and the throttle files.
pub fn plan_blkio(b: &LinuxBlockIo, facts: &Facts, out: &mut Vec<FileWrite>) -> Result<(), CgroupError> {
    const B: Controller = Controller::Blkio;
    let weight_file = || {
        facts.v1_blkio_weight_file.ok_or_else(|| CgroupError::NotSupported {
            what: "block IO weights: no blkio.weight or blkio.bfq.weight (no proportional IO scheduler)".into(),
        })
    };
    let leaf = || {
        if facts.v1_blkio_leaf_weight {
            Ok(())
        } else {
            Err(CgroupError::NotSupported { what: "block IO leaf weights: no blkio.leaf_weight on this kernel".into() })
        }
    };
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        out.push(FileWrite::new(B, weight_file()?, w));
    }
    if let Some(w) = b.leaf_weight().filter(|w| *w != 0) {
        leaf()?;
        out.push(FileWrite::new(B, "blkio.leaf_weight", w));
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight() {
            out.push(FileWrite::new(B, format!("{}_device", weight_file()?), format!("{}:{} {w}", d.major(), d.minor())));
        }
        if let Some(w) = d.leaf_weight() {
            leaf()?;
            out.push(FileWrite::new(B, "blkio.leaf_weight_device", format!("{}:{} {w}", d.major(), d.minor())));
        }
    }
    let throttles = [
        ("blkio.throttle.read_bps_device", b.throttle_read_bps_device()),
        ("blkio.throttle.write_bps_device", b.throttle_write_bps_device()),
        ("blkio.throttle.read_iops_device", b.throttle_read_iops_device()),
        ("blkio.throttle.write_iops_device", b.throttle_write_iops_device()),
    ];
    for (file, list) in throttles {
        for d in list.iter().flatten() {
            out.push(FileWrite::new(B, file, format!("{}:{} {}", d.major(), d.minor(), d.rate())));
        }
    }
    Ok(())
}

/// Devices: deny everything, then each rule in order (later rules override earlier ones).
pub fn plan_devices(rules: &[DeviceRule], out: &mut Vec<FileWrite>) {
    const D: Controller = Controller::Devices;
    out.push(FileWrite::new(D, "devices.deny", "a"));
    for r in rules {
        let file = if r.allow { "devices.allow" } else { "devices.deny" };
        out.push(FileWrite::new(D, file, r.v1_line()));
    }
}

/// A new cpuset cgroup starts with empty cpus and mems, and a task cannot join it until both
/// are set: copy them down from `parent` into `dir` when `dir`'s are empty.
pub fn inherit_cpuset(parent: &Path, dir: &Path) -> Result<(), CgroupError> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let mine = super::fs::read_file(&dir.join(file))?;
        if !mine.trim().is_empty() {
            continue;
        }
        let theirs = super::fs::read_file(&parent.join(file))?;
        super::fs::write_file(&dir.join(file), theirs.trim())?;
    }
    Ok(())
}

/// `freezer.state` value for a wanted state.
pub fn freezer_state(frozen: bool) -> &'static str {
    if frozen {
        "FROZEN"
    } else {
        "THAWED"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxMemoryBuilder;

    fn mem(limit: Option<i64>, swap: Option<i64>) -> LinuxMemory {
        let mut b = LinuxMemoryBuilder::default();
        if let Some(l) = limit {
            b = b.limit(l);
        }
        if let Some(s) = swap {
            b = b.swap(s);
        }
        b.build().expect("build")
    }

    fn files(out: &[FileWrite]) -> Vec<(&str, &str)> {
        out.iter().map(|w| (w.file.as_str(), w.value.as_str())).collect()
    }

    fn facts(memsw: Option<u64>) -> Facts {
        Facts { v1_swap_accounting: true, v1_memsw_limit: memsw, ..Facts::default() }
    }

    #[test]
    fn raising_the_limit_above_current_memsw_writes_memsw_first() {
        let mut out = vec![];
        plan_memory(&mem(Some(200 << 20), Some(400 << 20)), &facts(Some(100 << 20)), &mut out).expect("plan");
        assert_eq!(
            files(&out),
            [("memory.memsw.limit_in_bytes", "419430400"), ("memory.limit_in_bytes", "209715200")]
        );
    }

    #[test]
    fn lowering_the_limit_writes_it_first() {
        let mut out = vec![];
        plan_memory(&mem(Some(64 << 20), Some(64 << 20)), &facts(Some(u64::MAX / 2)), &mut out).expect("plan");
        assert_eq!(
            files(&out),
            [("memory.limit_in_bytes", "67108864"), ("memory.memsw.limit_in_bytes", "67108864")]
        );
        let mut out = vec![];
        plan_memory(&mem(Some(-1), Some(-1)), &facts(Some(100 << 20)), &mut out).expect("plan");
        assert_eq!(files(&out), [("memory.memsw.limit_in_bytes", "-1"), ("memory.limit_in_bytes", "-1")]);
    }

    #[test]
    fn swap_below_limit_is_invalid_and_swap_without_accounting_is_refused() {
        let mut out = vec![];
        assert!(plan_memory(&mem(Some(100), Some(50)), &facts(None), &mut out).is_err());
        let off = Facts::default();
        let err = plan_memory(&mem(Some(100 << 20), Some(200 << 20)), &off, &mut out).expect_err("off");
        assert!(err.to_string().contains("swap accounting is off"), "{err}");
        let mut out = vec![];
        plan_memory(&mem(Some(100 << 20), Some(-1)), &off, &mut out).expect("-1 is skipped");
        assert_eq!(files(&out), [("memory.limit_in_bytes", "104857600")]);
    }
}
