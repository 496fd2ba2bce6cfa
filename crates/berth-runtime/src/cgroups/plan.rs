//! Deciding which cgroup files get which values: from `LinuxResources`, where each controller
//! lives and a few facts read from the host, an ordered list of writes. Pure; [`super::Cgroup::apply`]
//! gathers the facts and performs the writes.

use std::collections::BTreeMap;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxResources};

use super::detect::Controller;
use super::{v1, v2, CgroupError};

/// Which cgroup version a controller is driven through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// Where each controller lives for one cgroup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    pub places: BTreeMap<Controller, Version>,
}

impl Layout {
    pub fn place(&self, c: Controller) -> Option<Version> {
        self.places.get(&c).copied()
    }

    /// The controller's version, or the error naming what the config asked for.
    pub fn require(&self, c: Controller, wanted: &'static str) -> Result<Version, CgroupError> {
        self.place(c).ok_or(CgroupError::ControllerMissing { controller: c.v1_name(), wanted })
    }

    /// Is any controller driven through v2?
    pub fn any_v2(&self) -> bool {
        self.places.values().any(|v| *v == Version::V2)
    }
}

/// What the plan needs to know about the host beyond the layout; read just before planning.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// v1 `memory.memsw.limit_in_bytes` exists (swap accounting on).
    pub v1_swap_accounting: bool,
    /// Current v1 memsw limit, to order the limit and memsw writes.
    pub v1_memsw_limit: Option<u64>,
    /// v2 `memory.swap.max` exists.
    pub v2_swap: bool,
    /// `blkio.weight` (CFQ) or `blkio.bfq.weight` (BFQ), whichever exists.
    pub v1_blkio_weight_file: Option<&'static str>,
    /// v1 `blkio.leaf_weight` exists (CFQ only, gone from current kernels).
    pub v1_blkio_leaf_weight: bool,
    /// `io.weight` (1..10000) or `io.bfq.weight` (1..1000), whichever exists.
    pub v2_io_weight_file: Option<&'static str>,
}

/// One write: `value` into `file` of the controller's directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileWrite {
    pub controller: Controller,
    pub file: String,
    pub value: String,
}

impl FileWrite {
    pub fn new(controller: Controller, file: impl Into<String>, value: impl ToString) -> Self {
        FileWrite { controller, file: file.into(), value: value.to_string() }
    }
}

/// Everything `apply` does, in order: file writes, then the v2 device program if any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub writes: Vec<FileWrite>,
    /// Device rules for a v2 BPF program (devices not on a v1 hierarchy).
    pub v2_devices: Option<Vec<DeviceRule>>,
    /// `unified` entries: file name → value, for the v2 directory.
    pub unified: Vec<(String, String)>,
}

/// Access bits of a device rule, as the devices cgroup and its BPF context use them.
pub const ACC_MKNOD: u8 = 1;
pub const ACC_READ: u8 = 2;
pub const ACC_WRITE: u8 = 4;

/// A checked device rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    /// `a`, `b` or `c`.
    pub kind: char,
    /// None: any (`*`).
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// `ACC_*` bits, never 0.
    pub access: u8,
}

impl DeviceRule {
    pub fn from_oci(r: &LinuxDeviceCgroup) -> Result<DeviceRule, CgroupError> {
        let invalid = |reason: String| CgroupError::InvalidResource { what: "devices", reason };
        let kind = match r.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => 'a',
            LinuxDeviceType::B => 'b',
            LinuxDeviceType::C | LinuxDeviceType::U => 'c',
            LinuxDeviceType::P => {
                return Err(invalid("device type p (fifo) cannot be controlled by the devices cgroup".into()))
            }
        };
        let number = |n: Option<i64>, which: &str| -> Result<Option<u32>, CgroupError> {
            match n {
                None => Ok(None),
                Some(v) if v < 0 => Ok(None),
                Some(v) => u32::try_from(v)
                    .map(Some)
                    .map_err(|_| invalid(format!("{which} number {v} out of range"))),
            }
        };
        let mut access = 0;
        for ch in r.access().as_deref().unwrap_or("").chars() {
            access |= match ch {
                'r' => ACC_READ,
                'w' => ACC_WRITE,
                'm' => ACC_MKNOD,
                other => return Err(invalid(format!("unknown access {other:?} (expected r, w, m)"))),
            };
        }
        if access == 0 {
            access = ACC_READ | ACC_WRITE | ACC_MKNOD;
        }
        let (major, minor) = if kind == 'a' {
            (None, None)
        } else {
            (number(r.major(), "major")?, number(r.minor(), "minor")?)
        };
        Ok(DeviceRule { allow: r.allow(), kind, major, minor, access })
    }

    /// The v1 line: `c 1:3 rwm`.
    pub fn v1_line(&self) -> String {
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_owned(), |v| v.to_string());
        let mut acc = String::new();
        for (bit, ch) in [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')] {
            if self.access & bit != 0 {
                acc.push(ch);
            }
        }
        format!("{} {}:{} {}", self.kind, num(self.major), num(self.minor), acc)
    }
}

/// Decides every write for `r`. Errors name the first thing the host cannot do.
pub fn plan(r: &LinuxResources, layout: &Layout, facts: &Facts) -> Result<Plan, CgroupError> {
    let mut plan = Plan::default();
    let out = &mut plan.writes;

    if let Some(m) = r.memory() {
        match layout.require(Controller::Memory, "memory limits")? {
            Version::V1 => v1::plan_memory(m, facts, out)?,
            Version::V2 => v2::plan_memory(m, facts, out)?,
        }
    }
    if let Some(c) = r.cpu() {
        let wants_cpu = c.shares().is_some_and(|s| s != 0)
            || c.quota().is_some_and(|q| q != 0)
            || c.period().is_some_and(|p| p != 0)
            || c.burst().is_some()
            || c.idle().is_some()
            || c.realtime_runtime().is_some_and(|v| v != 0)
            || c.realtime_period().is_some_and(|v| v != 0);
        if wants_cpu {
            match layout.require(Controller::Cpu, "cpu shares, quota or period")? {
                Version::V1 => v1::plan_cpu(c, out)?,
                Version::V2 => v2::plan_cpu(c, out)?,
            }
        }
        let cpus = c.cpus().as_deref().filter(|s| !s.is_empty());
        let mems = c.mems().as_deref().filter(|s| !s.is_empty());
        if cpus.is_some() || mems.is_some() {
            layout.require(Controller::Cpuset, "cpuset cpus or mems")?;
            if let Some(v) = cpus {
                out.push(FileWrite::new(Controller::Cpuset, "cpuset.cpus", v));
            }
            if let Some(v) = mems {
                out.push(FileWrite::new(Controller::Cpuset, "cpuset.mems", v));
            }
        }
    }
    if let Some(p) = r.pids() {
        layout.require(Controller::Pids, "a pids limit")?;
        let value = if p.limit() > 0 { p.limit().to_string() } else { "max".to_owned() };
        out.push(FileWrite::new(Controller::Pids, "pids.max", value));
    }
    if let Some(b) = r.block_io() {
        let wants = b.weight().is_some_and(|w| w != 0)
            || b.leaf_weight().is_some_and(|w| w != 0)
            || [
                b.weight_device().as_ref().map(Vec::len),
                b.throttle_read_bps_device().as_ref().map(Vec::len),
                b.throttle_write_bps_device().as_ref().map(Vec::len),
                b.throttle_read_iops_device().as_ref().map(Vec::len),
                b.throttle_write_iops_device().as_ref().map(Vec::len),
            ]
            .into_iter()
            .any(|n| n.unwrap_or(0) > 0);
        if wants {
            match layout.require(Controller::Blkio, "block IO weights or throttles")? {
                Version::V1 => v1::plan_blkio(b, facts, out)?,
                Version::V2 => v2::plan_io(b, facts, out)?,
            }
        }
    }
    for h in r.hugepage_limits().iter().flatten() {
        let size = check_page_size(h.page_size())?;
        match layout.require(Controller::Hugetlb, "hugepage limits")? {
            Version::V1 => out.push(FileWrite::new(
                Controller::Hugetlb,
                format!("hugetlb.{size}.limit_in_bytes"),
                h.limit().max(-1),
            )),
            Version::V2 => out.push(FileWrite::new(
                Controller::Hugetlb,
                format!("hugetlb.{size}.max"),
                if h.limit() < 0 { "max".to_owned() } else { h.limit().to_string() },
            )),
        }
    }
    if let Some(n) = r.network() {
        if let Some(id) = n.class_id() {
            match layout.place(Controller::NetCls) {
                Some(Version::V1) => out.push(FileWrite::new(Controller::NetCls, "net_cls.classid", id)),
                _ => return Err(CgroupError::ControllerMissing { controller: "net_cls", wanted: "a network class id" }),
            }
        }
        for p in n.priorities().iter().flatten() {
            match layout.place(Controller::NetPrio) {
                Some(Version::V1) => out.push(FileWrite::new(
                    Controller::NetPrio,
                    "net_prio.ifpriomap",
                    format!("{} {}", p.name(), p.priority()),
                )),
                _ => return Err(CgroupError::ControllerMissing { controller: "net_prio", wanted: "network interface priorities" }),
            }
        }
    }
    if let Some(rdma) = r.rdma() {
        for (dev, limit) in rdma {
            layout.require(Controller::Rdma, "rdma limits")?;
            let mut parts = vec![dev.clone()];
            if let Some(h) = limit.hca_handles() {
                parts.push(format!("hca_handle={h}"));
            }
            if let Some(o) = limit.hca_objects() {
                parts.push(format!("hca_object={o}"));
            }
            if parts.len() > 1 {
                out.push(FileWrite::new(Controller::Rdma, "rdma.max", parts.join(" ")));
            }
        }
    }
    if let Some(rules) = r.devices() {
        let rules = rules.iter().map(DeviceRule::from_oci).collect::<Result<Vec<_>, _>>()?;
        match layout.place(Controller::Devices) {
            Some(Version::V1) => v1::plan_devices(&rules, out),
            // Devices on v2 are a BPF program on the v2 directory: always there if v2 is.
            Some(Version::V2) => plan.v2_devices = Some(rules),
            None => {
                return Err(CgroupError::ControllerMissing {
                    controller: "devices",
                    wanted: "device rules",
                })
            }
        }
    }
    if let Some(u) = r.unified() {
        plan.unified = v2::plan_unified(u, layout)?;
    }
    Ok(plan)
}

/// `2MB`, `1GB`, `64KB`: digits then a unit, as the hugetlb file names spell it.
fn check_page_size(size: &str) -> Result<&str, CgroupError> {
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &size[digits.len()..];
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && ["KB", "MB", "GB", "TB", "PB"].contains(&unit);
    if ok {
        Ok(size)
    } else {
        Err(CgroupError::InvalidResource {
            what: "hugepage limit",
            reason: format!("page size {size:?} is not of the form <number>KB|MB|GB"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    #[test]
    fn device_rules_become_v1_lines() {
        let r = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::C)
            .major(1)
            .minor(3)
            .access("rw")
            .build()
            .expect("build");
        assert_eq!(DeviceRule::from_oci(&r).expect("rule").v1_line(), "c 1:3 rw");
        let all = LinuxDeviceCgroupBuilder::default().allow(false).access("rwm").build().expect("b");
        assert_eq!(DeviceRule::from_oci(&all).expect("rule").v1_line(), "a *:* rwm");
        let wild = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::B)
            .major(8)
            .build()
            .expect("b");
        assert_eq!(DeviceRule::from_oci(&wild).expect("rule").v1_line(), "b 8:* rwm");
        let bad = LinuxDeviceCgroupBuilder::default().allow(true).access("rx").build().expect("b");
        assert!(DeviceRule::from_oci(&bad).is_err());
        let fifo =
            LinuxDeviceCgroupBuilder::default().allow(true).typ(LinuxDeviceType::P).build().expect("b");
        assert!(DeviceRule::from_oci(&fifo).is_err());
    }

    #[test]
    fn page_sizes() {
        assert!(check_page_size("2MB").is_ok());
        assert!(check_page_size("1GB").is_ok());
        assert!(check_page_size("2M").is_err());
        assert!(check_page_size("../x").is_err());
        assert!(check_page_size("MB").is_err());
    }

    #[test]
    fn a_controller_the_host_lacks_is_named() {
        let r: LinuxResources =
            serde_json::from_str(r#"{"pids":{"limit":10}}"#).expect("json");
        let err = plan(&r, &Layout::default(), &Facts::default()).expect_err("no pids");
        assert_eq!(
            err.to_string(),
            "a pids limit requested but the pids cgroup controller is not available on this host"
        );
    }

    const FULL: &str = r#"{
        "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}],
        "memory": {"limit": 104857600, "reservation": 52428800, "swap": 209715200},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 64},
        "blockIO": {"weight": 500, "weightDevice": [{"major": 8, "minor": 0, "weight": 300}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]
    }"#;

    fn all_on(version: Version) -> Layout {
        let mut l = Layout::default();
        for c in Controller::ALL {
            if version == Version::V1 || c.v2_name().is_some() || matches!(c, Controller::Devices | Controller::Freezer) {
                l.places.insert(c, version);
            }
        }
        l
    }

    fn lines(p: &Plan) -> Vec<String> {
        p.writes.iter().map(|w| format!("{} {}={}", w.controller.v1_name(), w.file, w.value)).collect()
    }

    #[test]
    fn full_plan_on_v1() {
        let r: LinuxResources = serde_json::from_str(FULL).expect("json");
        let facts = Facts {
            v1_swap_accounting: true,
            v1_memsw_limit: Some(u64::MAX),
            v1_blkio_weight_file: Some("blkio.bfq.weight"),
            ..Facts::default()
        };
        let p = plan(&r, &all_on(Version::V1), &facts).expect("plan");
        assert_eq!(
            lines(&p),
            [
                "memory memory.limit_in_bytes=104857600",
                "memory memory.memsw.limit_in_bytes=209715200",
                "memory memory.soft_limit_in_bytes=52428800",
                "cpu cpu.shares=512",
                "cpu cpu.cfs_period_us=100000",
                "cpu cpu.cfs_quota_us=50000",
                "cpuset cpuset.cpus=0",
                "cpuset cpuset.mems=0",
                "pids pids.max=64",
                "blkio blkio.bfq.weight=500",
                "blkio blkio.bfq.weight_device=8:0 300",
                "blkio blkio.throttle.read_bps_device=8:0 1048576",
                "blkio blkio.throttle.write_iops_device=8:0 100",
                "hugetlb hugetlb.2MB.limit_in_bytes=4194304",
                "devices devices.deny=a",
                "devices devices.deny=a *:* rwm",
                "devices devices.allow=c 1:3 rwm",
            ]
        );
        assert_eq!(p.v2_devices, None);
    }

    #[test]
    fn full_plan_on_v2() {
        let r: LinuxResources = serde_json::from_str(FULL).expect("json");
        let facts = Facts { v2_swap: true, v2_io_weight_file: Some("io.weight"), ..Facts::default() };
        let p = plan(&r, &all_on(Version::V2), &facts).expect("plan");
        assert_eq!(
            lines(&p),
            [
                "memory memory.max=104857600",
                "memory memory.swap.max=104857600",
                "memory memory.low=52428800",
                "cpu cpu.weight=20",
                "cpu cpu.max=50000 100000",
                "cpuset cpuset.cpus=0",
                "cpuset cpuset.mems=0",
                "pids pids.max=64",
                "blkio io.weight=default 4950",
                "blkio io.weight=8:0 2930",
                "blkio io.max=8:0 rbps=1048576",
                "blkio io.max=8:0 wiops=100",
                "hugetlb hugetlb.2MB.max=4194304",
            ]
        );
        let rules = p.v2_devices.expect("bpf rules");
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1], DeviceRule { allow: true, kind: 'c', major: Some(1), minor: Some(3), access: 7 });
    }

    #[test]
    fn hybrid_sends_hugetlb_to_v2_and_the_rest_to_v1() {
        let r: LinuxResources = serde_json::from_str(
            r#"{"pids": {"limit": 0}, "hugepageLimits": [{"pageSize": "1GB", "limit": -1}]}"#,
        )
        .expect("json");
        let mut l = all_on(Version::V1);
        l.places.insert(Controller::Hugetlb, Version::V2);
        let p = plan(&r, &l, &Facts::default()).expect("plan");
        assert_eq!(lines(&p), ["pids pids.max=max", "hugetlb hugetlb.1GB.max=max"]);
    }

    #[test]
    fn v2_refuses_what_it_does_not_have() {
        let r: LinuxResources =
            serde_json::from_str(r#"{"cpu": {"realtimeRuntime": 1000, "realtimePeriod": 10000}}"#).expect("json");
        let err = plan(&r, &all_on(Version::V2), &Facts::default()).expect_err("rt");
        assert!(err.to_string().contains("real-time"), "{err}");
        let r: LinuxResources = serde_json::from_str(r#"{"unified": {"memory.high": "1G"}}"#).expect("json");
        assert!(plan(&r, &all_on(Version::V1), &Facts::default()).is_err());
        let p = plan(&r, &all_on(Version::V2), &Facts::default()).expect("v2");
        assert_eq!(p.unified, [("memory.high".to_owned(), "1G".to_owned())]);
    }
}
