//! cgroup v2: which files of the unified hierarchy get which values, the OCI→v2 conversions
//! (shares→weight, memory+swap→swap, blkio weight→io weight), and the `unified` map.

use std::collections::HashMap;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory};

use super::detect::Controller;
use super::plan::{Facts, FileWrite, Layout, Version};
use super::CgroupError;

/// cpu.shares (2..262144, default 1024) → cpu.weight (1..10000, default 100).
pub fn shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// blkio weight (10..1000) → io.weight (1..10000).
pub fn blkio_weight_to_io(weight: u16) -> u64 {
    let w = u64::from(weight.clamp(10, 1000));
    1 + ((w - 10) * 9999) / 990
}

/// OCI memory+swap → `memory.swap.max`. `Ok(None)`: nothing to write.
pub fn swap_max(limit: Option<i64>, swap: Option<i64>) -> Result<Option<String>, CgroupError> {
    let invalid = |reason: String| CgroupError::InvalidResource { what: "memory", reason };
    match swap {
        None | Some(0) => Ok(None),
        Some(s) if s < 0 => Ok(Some("max".into())),
        Some(s) => match limit {
            Some(l) if l > 0 => {
                if s < l {
                    Err(invalid(format!("memory+swap limit {s} is below the memory limit {l}")))
                } else {
                    Ok(Some((s - l).to_string()))
                }
            }
            _ => Err(invalid(format!(
                "memory+swap limit {s} needs a memory limit to be converted to cgroup v2's memory.swap.max"
            ))),
        },
    }
}

fn max_or(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

/// Memory: memory.max, memory.swap.max, memory.low. v2 has no swappiness and no switch to
/// disable the OOM killer: asking for either is an error. `kernel`/`kernelTCP` are ignored.
pub fn plan_memory(m: &LinuxMemory, facts: &Facts, out: &mut Vec<FileWrite>) -> Result<(), CgroupError> {
    const M: Controller = Controller::Memory;
    let limit = m.limit().filter(|l| *l != 0);
    if let Some(l) = limit {
        out.push(FileWrite::new(M, "memory.max", max_or(l)));
    }
    if let Some(v) = swap_max(limit, m.swap())? {
        if facts.v2_swap {
            out.push(FileWrite::new(M, "memory.swap.max", v));
        } else if v != "max" {
            return Err(CgroupError::NotSupported {
                what: "a memory+swap limit: swap accounting is off on this host (no memory.swap.max)".into(),
            });
        }
    }
    if let Some(r) = m.reservation().filter(|r| *r != 0) {
        out.push(FileWrite::new(M, "memory.low", max_or(r)));
    }
    if m.swappiness().is_some() {
        return Err(CgroupError::NotSupported { what: "memory swappiness on cgroup v2".into() });
    }
    if m.disable_oom_killer() == Some(true) {
        return Err(CgroupError::NotSupported { what: "disabling the OOM killer on cgroup v2".into() });
    }
    Ok(())
}

/// cpu: cpu.weight, cpu.max ("$QUOTA $PERIOD", quota `max` when unlimited), cpu.max.burst,
/// cpu.idle. v2 has no real-time group scheduling.
pub fn plan_cpu(c: &LinuxCpu, out: &mut Vec<FileWrite>) -> Result<(), CgroupError> {
    const C: Controller = Controller::Cpu;
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        out.push(FileWrite::new(C, "cpu.weight", shares_to_weight(s)));
    }
    let quota = c.quota().filter(|q| *q != 0);
    let period = c.period().filter(|p| *p != 0);
    if quota.is_some() || period.is_some() {
        let q = quota.map_or_else(|| "max".to_owned(), max_or);
        let value = match period {
            Some(p) => format!("{q} {p}"),
            None => q,
        };
        out.push(FileWrite::new(C, "cpu.max", value));
    }
    if let Some(b) = c.burst() {
        out.push(FileWrite::new(C, "cpu.max.burst", b));
    }
    if c.realtime_runtime().is_some_and(|v| v != 0) || c.realtime_period().is_some_and(|v| v != 0) {
        return Err(CgroupError::NotSupported { what: "real-time CPU runtime/period on cgroup v2".into() });
    }
    if let Some(i) = c.idle() {
        out.push(FileWrite::new(C, "cpu.idle", i));
    }
    Ok(())
}

/// io: io.weight (converted to 1..10000) or io.bfq.weight (1..1000 as given), io.max.
pub fn plan_io(b: &LinuxBlockIo, facts: &Facts, out: &mut Vec<FileWrite>) -> Result<(), CgroupError> {
    const B: Controller = Controller::Blkio;
    let weight = |w: u16| -> Result<(&'static str, u64), CgroupError> {
        match facts.v2_io_weight_file {
            Some("io.weight") => Ok(("io.weight", blkio_weight_to_io(w))),
            Some(f) => Ok((f, u64::from(w))),
            None => Err(CgroupError::NotSupported {
                what: "block IO weights: no io.weight or io.bfq.weight (no proportional IO scheduler)".into(),
            }),
        }
    };
    if b.leaf_weight().is_some_and(|w| w != 0)
        || b.weight_device().iter().flatten().any(|d| d.leaf_weight().is_some())
    {
        return Err(CgroupError::NotSupported { what: "block IO leaf weights on cgroup v2".into() });
    }
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        let (file, v) = weight(w)?;
        out.push(FileWrite::new(B, file, format!("default {v}")));
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight() {
            let (file, v) = weight(w)?;
            out.push(FileWrite::new(B, file, format!("{}:{} {v}", d.major(), d.minor())));
        }
    }
    let throttles = [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ];
    for (key, list) in throttles {
        for d in list.iter().flatten() {
            out.push(FileWrite::new(B, "io.max", format!("{}:{} {key}={}", d.major(), d.minor(), d.rate())));
        }
    }
    Ok(())
}

/// The `unified` map: v2 file name → value, written as given. Refused when the file's
/// controller is not on the v2 hierarchy (v1 host, or a v1 controller on a hybrid host).
pub fn plan_unified(u: &HashMap<String, String>, layout: &Layout) -> Result<Vec<(String, String)>, CgroupError> {
    let mut keys: Vec<&String> = u.keys().collect();
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        let refuse = |reason: String| CgroupError::InvalidResource { what: "unified", reason };
        if key.is_empty() || key.contains('/') || key.starts_with('.') {
            return Err(refuse(format!("{key:?} is not a cgroup file name")));
        }
        let Some((prefix, _)) = key.split_once('.') else {
            return Err(refuse(format!("{key:?} is not a cgroup file name")));
        };
        let on_v2 = if prefix == "cgroup" {
            layout.any_v2()
        } else {
            Controller::ALL
                .iter()
                .filter(|c| c.v2_name() == Some(prefix))
                .any(|c| layout.place(*c) == Some(Version::V2))
                || (!Controller::ALL.iter().any(|c| c.v2_name() == Some(prefix)) && layout.any_v2())
        };
        if !on_v2 {
            return Err(refuse(format!(
                "{key}: the {prefix} controller is not on a cgroup v2 hierarchy on this host"
            )));
        }
        out.push((key.clone(), u[key].clone()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_to_weight_matches_the_standard_conversion() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(0), 1);
        assert_eq!(shares_to_weight(1_000_000), 10_000);
    }

    #[test]
    fn swap_arithmetic() {
        assert_eq!(swap_max(Some(100), Some(300)).expect("ok"), Some("200".into()));
        assert_eq!(swap_max(Some(100), Some(100)).expect("ok"), Some("0".into()));
        assert_eq!(swap_max(Some(100), Some(-1)).expect("ok"), Some("max".into()));
        assert_eq!(swap_max(None, Some(-1)).expect("ok"), Some("max".into()));
        assert_eq!(swap_max(Some(100), None).expect("ok"), None);
        assert_eq!(swap_max(Some(100), Some(0)).expect("ok"), None);
        assert!(swap_max(Some(300), Some(100)).is_err());
        assert!(swap_max(None, Some(100)).is_err());
        assert!(swap_max(Some(-1), Some(100)).is_err());
    }

    #[test]
    fn blkio_weight_conversion() {
        assert_eq!(blkio_weight_to_io(10), 1);
        assert_eq!(blkio_weight_to_io(1000), 10_000);
        assert_eq!(blkio_weight_to_io(500), 4950);
    }

    #[test]
    fn unified_is_refused_where_the_controller_is_on_v1() {
        let mut hybrid = Layout::default();
        hybrid.places.insert(Controller::Memory, Version::V1);
        hybrid.places.insert(Controller::Hugetlb, Version::V2);
        let ok: HashMap<String, String> = [("hugetlb.2MB.max".to_owned(), "max".to_owned())].into();
        assert_eq!(plan_unified(&ok, &hybrid).expect("ok"), [("hugetlb.2MB.max".to_owned(), "max".to_owned())]);
        let bad: HashMap<String, String> = [("memory.high".to_owned(), "1G".to_owned())].into();
        let err = plan_unified(&bad, &hybrid).expect_err("memory is v1");
        assert!(err.to_string().contains("not on a cgroup v2 hierarchy"), "{err}");
        let v1 = Layout::default();
        assert!(plan_unified(&ok, &v1).is_err());
        let escape: HashMap<String, String> = [("../x".to_owned(), "1".to_owned())].into();
        assert!(plan_unified(&escape, &hybrid).is_err());
    }
}
