//! A container's OCI `config.json`, built from its record: Docker's defaults
//! (../shared/DOCKER-DEFAULTS.md) plus what its Config and HostConfig ask for. Deciding is
//! pure ([`build`] takes everything it needs in [`Facts`]); `start` gathers the facts and
//! writes the result.

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_api_types::container::{HostConfig, MountType};
use serde_json::{json, Value};

use super::record::Record;
use crate::error::{Error, Result};

pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's 14 default capabilities.
pub const DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

/// Every capability, in the kernel's bit order.
pub const ALL_CAPS: [&str; 41] = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
    "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
];

/// What `--privileged` and `--cap-add ALL` give: every capability this daemon's own bounding
/// set holds (containerd's "all current capabilities"). A daemon that runs without some
/// (inside another container, or a VM whose root lacks CAP_SYS_RESOURCE) could not hand them
/// on: the container's capset would fail.
pub fn all_caps() -> Vec<String> {
    static BOUNDING: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let bnd = *BOUNDING.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status.lines().find_map(|l| l.strip_prefix("CapBnd:")).and_then(|h| u64::from_str_radix(h.trim(), 16).ok()).unwrap_or(u64::MAX)
    });
    ALL_CAPS.iter().enumerate().filter(|(bit, _)| bnd & (1 << bit) != 0).map(|(_, c)| c.to_string()).collect()
}

const MASKED: [&str; 12] = [
    "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    "/sys/devices/virtual/powercap",
];
const READONLY: [&str; 5] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// Docker's masked paths on this host: the fixed list and the thermal-throttle directories of
/// its CPUs. Recorded in a container's HostConfig at create, as dockerd does, unless given.
pub(crate) fn default_masked_paths() -> Vec<String> {
    // The host's CPUs do not change while the daemon runs: looked up once.
    static THERMAL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let thermal = THERMAL.get_or_init(|| {
        std::fs::read_dir("/sys/devices/system/cpu")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("thermal_throttle"))
            .filter(|p| p.exists())
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    });
    MASKED.iter().map(|s| s.to_string()).chain(thermal.iter().cloned()).collect()
}

/// Docker's read-only paths, recorded like [`default_masked_paths`].
pub(crate) fn default_readonly_paths() -> Vec<String> {
    READONLY.iter().map(|s| s.to_string()).collect()
}

/// Everything [`build`] needs besides the record: found on the host at start.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The container's user, resolved in its image: uid, gid, supplementary gids.
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// Files bind-mounted at /etc/hostname, /etc/hosts, /etc/resolv.conf.
    pub etc_files: Vec<(PathBuf, &'static str)>,
    /// `linux.cgroupsPath`.
    pub cgroups_path: String,
    /// Namespaces to join, by OCI type (`pid`, `ipc`, `uts`, `network`): a path, or None for
    /// the host's (the namespace is left out).
    pub join: BTreeMap<&'static str, Option<String>>,
    /// Docker's default seccomp profile converted for this container, or None (unconfined).
    pub seccomp: Option<Value>,
    /// The network namespace the engine made and configured (bridge networks): joined, and
    /// the container's own for sysctls.
    pub netns: Option<PathBuf>,
    /// Docker's cgroup namespace default: private on a pure v2 host, the host's otherwise.
    pub private_cgroupns: bool,
    /// The init binary to mount at /sbin/docker-init for `--init`.
    pub init_bin: Option<PathBuf>,
    /// The daemon's `--default-ulimit`s, for names the container sets no ulimit of.
    pub default_ulimits: Vec<berth_api_types::container::Ulimit>,
    /// Volumes: (data directory, destination, read-only).
    pub volumes: Vec<(PathBuf, String, bool)>,
}

/// The capabilities a container holds: Docker's defaults, then CapAdd, then CapDrop (`ALL`
/// understood in both, names with or without `CAP_`).
pub fn capabilities(host: &HostConfig) -> Result<Vec<String>> {
    if host.privileged == Some(true) {
        return Ok(all_caps());
    }
    let norm = |c: &str| -> Result<String> {
        let up = c.to_ascii_uppercase();
        let name = if up == "ALL" || up.starts_with("CAP_") { up } else { format!("CAP_{up}") };
        if name != "ALL" && !ALL_CAPS.contains(&name.as_str()) {
            return Err(Error::InvalidParameter(format!("unknown capability: {c:?}")));
        }
        Ok(name)
    };
    let add: Vec<String> = host.cap_add.iter().flatten().map(|c| norm(c)).collect::<Result<_>>()?;
    let drop: Vec<String> = host.cap_drop.iter().flatten().map(|c| norm(c)).collect::<Result<_>>()?;
    let mut caps: Vec<String> = if add.iter().any(|c| c == "ALL") {
        all_caps()
    } else {
        let mut c: Vec<String> = DEFAULT_CAPS.iter().map(|s| s.to_string()).collect();
        for a in add {
            if !c.contains(&a) {
                c.push(a);
            }
        }
        c
    };
    if drop.iter().any(|c| c == "ALL") {
        // `--cap-drop ALL --cap-add X` keeps only what was added.
        let added: Vec<String> = host.cap_add.iter().flatten().map(|c| norm(c)).collect::<Result<_>>()?;
        caps.retain(|c| added.contains(c));
    } else {
        caps.retain(|c| !drop.contains(c));
    }
    Ok(caps)
}

/// Parses `SecurityOpt`: (no_new_privileges, seccomp: None = default, Some(None) = unconfined,
/// Some(Some(json)) = a custom profile).
pub fn security_opts(host: &HostConfig) -> Result<(bool, Option<Option<String>>)> {
    let mut nnp = false;
    let mut seccomp = None;
    for opt in host.security_opt.iter().flatten() {
        let (k, v) = opt.split_once(['=', ':']).unwrap_or((opt.as_str(), ""));
        match k {
            "no-new-privileges" => {
                nnp = match v {
                    "" | "true" => true,
                    "false" => false,
                    _ => return Err(Error::InvalidParameter(format!("invalid --security-opt: {opt:?}: no-new-privileges takes true or false"))),
                }
            }
            "seccomp" if v == "unconfined" => seccomp = Some(None),
            "seccomp" if v.trim_start().starts_with('{') => seccomp = Some(Some(v.to_owned())),
            "seccomp" => return Err(Error::InvalidParameter(format!("invalid --security-opt seccomp value: the client should send the profile's JSON, got {v:?}"))),
            // berth applies no AppArmor profile, so every container is unconfined: asking for
            // that (compose files often do) is granted; a profile cannot be, and is refused.
            "apparmor" if v == "unconfined" => {}
            "apparmor" | "label" => return Err(Error::NotImplemented(format!("--security-opt {k} (no LSM support)"))),
            _ => return Err(Error::InvalidParameter(format!("invalid --security-opt: {opt:?}"))),
        }
    }
    Ok((nnp, seccomp))
}

/// Refuses what berth does not do yet, naming it; accepts the zero values clients send for
/// options that were not given.
pub fn check_supported(host: &HostConfig) -> Result<()> {
    let ni = |what: &str| Err(Error::NotImplemented(what.to_owned()));
    if host.links.as_ref().is_some_and(|l| !l.is_empty()) {
        return ni("--link");
    }
    for m in host.mounts.iter().flatten() {
        match m.kind {
            MountType::Bind | MountType::Tmpfs | MountType::Volume => {}
            _ => return ni(&format!("--mount type {:?}", m.kind)),
        }
    }
    if host.resources.device_requests.as_ref().is_some_and(|d| !d.is_empty()) {
        return ni("--gpus and device requests");
    }
    if let Some(what) = unsupported_limit(&host.resources) {
        return ni(what);
    }
    // `host` is what every berth container gets (the daemon remaps no user namespace).
    if !matches!(host.userns_mode.as_deref().unwrap_or(""), "" | "host") {
        return ni("--userns");
    }
    if !matches!(host.cgroupns_mode.as_deref().unwrap_or(""), "" | "host" | "private") {
        return Err(Error::InvalidParameter(format!("invalid cgroupns mode: {:?}", host.cgroupns_mode)));
    }
    crate::logs::log_settings(host)?;
    if host.storage_opt.as_ref().is_some_and(|s| !s.is_empty()) {
        return ni("--storage-opt");
    }
    capabilities(host)?;
    security_opts(host)?;
    Ok(())
}

fn mount(dest: &str, kind: &str, source: &str, options: &[&str]) -> Value {
    json!({"destination": dest, "type": kind, "source": source, "options": options})
}

/// Parses a `-v /src:/dst[:opts]` bind.
fn bind_spec(b: &str) -> Result<Value> {
    let (src, dst, opts) = super::mounts::bind_parts(b)?;
    if !dst.starts_with('/') {
        return Err(Error::InvalidParameter(format!("invalid volume specification: '{b}': the container path must be absolute")));
    }
    let mut options = vec!["rbind".to_owned()];
    let mut propagation = "rprivate";
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" | "rw" => options.push(o.to_owned()),
            "z" | "Z" => {}
            "nocopy" => {}
            o if super::mounts::PROPAGATIONS.contains(&o) => propagation = o,
            _ => return Err(Error::InvalidParameter(format!("invalid volume specification: '{b}': unknown option {o:?}"))),
        }
    }
    options.push(propagation.to_owned());
    Ok(json!({"destination": dst, "type": "bind", "source": src, "options": options}))
}

fn tmpfs_options(opts: &str) -> Vec<String> {
    let mut o = vec!["nosuid".to_owned(), "nodev".to_owned(), "noexec".to_owned()];
    for p in opts.split(',').filter(|p| !p.is_empty()) {
        match p {
            "exec" => o.retain(|x| x != "noexec"),
            "suid" => o.retain(|x| x != "nosuid"),
            "dev" => o.retain(|x| x != "nodev"),
            _ => o.push(p.to_owned()),
        }
    }
    o
}

/// Builds config.json for `rec` with `facts`.
pub fn build(rec: &Record, facts: &Facts) -> Result<Value> {
    let host = &rec.host_config;
    let cfg = &rec.config;
    let privileged = host.privileged == Some(true);
    let tty = cfg.tty == Some(true);
    let caps = capabilities(host)?;
    let (nnp, _) = security_opts(host)?;

    let mut env: Vec<String> = Vec::new();
    // Docker's order: its defaults, then the container's, each replacing a default in place.
    let mut set = |kv: String| {
        let key = kv.split('=').next().unwrap_or("").to_owned();
        match env.iter_mut().find(|e| e.split('=').next() == Some(key.as_str())) {
            Some(e) => *e = kv,
            None => env.push(kv),
        }
    };
    set(DEFAULT_PATH.to_owned());
    set(format!("HOSTNAME={}", cfg.hostname.as_deref().unwrap_or(rec.short_id())));
    if tty {
        set("TERM=xterm".into());
    }
    for e in cfg.env.iter().flatten() {
        if e.contains('=') {
            set(e.clone());
        }
    }
    let mut args = vec![rec.path.clone()];
    args.extend(rec.args.iter().cloned());
    if facts.init_bin.is_some() {
        args.splice(0..0, ["/sbin/docker-init".to_owned(), "--".to_owned()]);
    }

    let mut rlimits: Vec<Value> = Vec::new();
    let mut ulimits = host.resources.ulimits.clone().unwrap_or_default();
    for u in ulimits.iter_mut() {
        u.name = u.name.to_ascii_lowercase();
    }
    for d in &facts.default_ulimits {
        if !ulimits.iter().any(|u| u.name.eq_ignore_ascii_case(&d.name)) {
            ulimits.push(berth_api_types::container::Ulimit { name: d.name.to_ascii_lowercase(), ..d.clone() });
        }
    }
    for u in &ulimits {
        let kind = format!("RLIMIT_{}", u.name.to_ascii_uppercase());
        if u.soft > u.hard {
            return Err(Error::InvalidParameter(format!("ulimit {}: soft limit {} is above hard limit {}", u.name, u.soft, u.hard)));
        }
        rlimits.push(json!({"type": kind, "soft": u.soft.max(0), "hard": u.hard.max(0)}));
    }

    let mut process = json!({
        "terminal": tty,
        "user": {"uid": facts.uid, "gid": facts.gid},
        "args": args,
        "env": env,
        "cwd": cfg.working_dir.as_deref().filter(|w| !w.is_empty()).unwrap_or("/"),
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": nnp,
    });
    if !facts.additional_gids.is_empty() {
        process["user"]["additionalGids"] = json!(facts.additional_gids);
    }
    if !rlimits.is_empty() {
        process["rlimits"] = json!(rlimits);
    }
    if let Some(adj) = host.oom_score_adj.filter(|a| *a != 0) {
        process["oomScoreAdj"] = json!(adj);
    }
    if tty {
        if let Some([h, w]) = host.console_size.as_deref().and_then(|c| <[u64; 2]>::try_from(c).ok()) {
            if h > 0 && w > 0 {
                process["consoleSize"] = json!({"height": h, "width": w});
            }
        }
    }

    let shm = host.shm_size.filter(|s| *s > 0).unwrap_or(64 << 20);
    let sys_opts: &[&str] = if privileged { &["nosuid", "noexec", "nodev"] } else { &["nosuid", "noexec", "nodev", "ro"] };
    let cg_opts: &[&str] = if privileged { &["nosuid", "noexec", "nodev"] } else { &["ro", "nosuid", "noexec", "nodev"] };
    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount("/dev", "tmpfs", "tmpfs", &["nosuid", "strictatime", "mode=755", "size=65536k"]),
        mount("/dev/pts", "devpts", "devpts", &["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        mount("/sys", "sysfs", "sysfs", sys_opts),
        mount("/sys/fs/cgroup", "cgroup", "cgroup", cg_opts),
        mount("/dev/mqueue", "mqueue", "mqueue", &["nosuid", "noexec", "nodev"]),
        mount("/dev/shm", "tmpfs", "shm", &["nosuid", "noexec", "nodev", "mode=1777", &format!("size={shm}")]),
    ];
    let mut user_dests: Vec<String> = Vec::new();
    for (src, dst, ro) in &facts.volumes {
        mounts.push(json!({"destination": dst, "type": "bind", "source": src, "options": ["rbind", "rprivate", if *ro { "ro" } else { "rw" }]}));
        user_dests.push(dst.clone());
    }
    for b in host.binds.iter().flatten().filter(|b| b.starts_with('/')) {
        let m = bind_spec(b)?;
        user_dests.push(m["destination"].as_str().unwrap_or("").to_owned());
        mounts.push(m);
    }
    for m in host.mounts.iter().flatten() {
        let target = &m.target;
        if !target.starts_with('/') {
            return Err(Error::InvalidParameter(format!("invalid mount config: the target must be an absolute path: {target:?}")));
        }
        match m.kind {
            MountType::Bind => {
                let src = m.source.as_deref().filter(|s| s.starts_with('/')).ok_or_else(|| {
                    Error::InvalidParameter(format!("invalid mount config for type \"bind\": the source must be an absolute path: {:?}", m.source.as_deref().unwrap_or("")))
                })?;
                if std::fs::symlink_metadata(src).is_err() {
                    return Err(Error::InvalidParameter(format!("invalid mount config for type \"bind\": bind source path does not exist: {src}")));
                }
                let bo = m.bind_options.clone().unwrap_or_default();
                let mut o = vec![if bo.non_recursive == Some(true) { "bind" } else { "rbind" }.to_owned()];
                if m.read_only == Some(true) {
                    o.push("ro".into());
                }
                o.push(bo.propagation.filter(|p| !p.is_empty()).unwrap_or_else(|| "rprivate".into()));
                mounts.push(json!({"destination": target, "type": "bind", "source": src, "options": o}));
            }
            MountType::Volume => continue, // in facts.volumes
            MountType::Tmpfs => {
                let mut o = tmpfs_options("");
                if let Some(t) = &m.tmpfs_options {
                    if let Some(s) = t.size_bytes.filter(|s| *s > 0) {
                        o.push(format!("size={s}"));
                    }
                    if let Some(mode) = t.mode.filter(|m| *m != 0) {
                        o.push(format!("mode={mode:o}"));
                    }
                }
                if m.read_only == Some(true) {
                    o.push("ro".into());
                }
                mounts.push(json!({"destination": target, "type": "tmpfs", "source": "tmpfs", "options": o}));
            }
            _ => return Err(Error::NotImplemented(format!("--mount type {:?}", m.kind))),
        }
        user_dests.push(target.clone());
    }
    for (dst, opts) in host.tmpfs.iter().flatten() {
        mounts.push(json!({"destination": dst, "type": "tmpfs", "source": "tmpfs", "options": tmpfs_options(opts)}));
        user_dests.push(dst.clone());
    }
    for (src, dst) in &facts.etc_files {
        if !user_dests.iter().any(|d| d == dst) {
            let ro = if host.readonly_rootfs == Some(true) { "ro" } else { "rw" };
            mounts.push(json!({"destination": dst, "type": "bind", "source": src, "options": ["rbind", "rprivate", ro]}));
        }
    }
    if let Some(init) = &facts.init_bin {
        mounts.push(json!({"destination": "/sbin/docker-init", "type": "bind", "source": init, "options": ["bind", "ro", "rprivate"]}));
    }

    let mut namespaces = Vec::new();
    for t in ["pid", "network", "ipc", "uts", "mount"] {
        match facts.join.get(t) {
            None if t == "network" && facts.netns.is_some() => namespaces.push(json!({"type": t, "path": facts.netns})),
            Some(None) => {}
            Some(Some(path)) => namespaces.push(json!({"type": t, "path": path})),
            None => namespaces.push(json!({"type": t})),
        }
    }
    if facts.private_cgroupns && host.cgroupns_mode.as_deref() != Some("host") || host.cgroupns_mode.as_deref() == Some("private") {
        namespaces.push(json!({"type": "cgroup"}));
    }

    let mut sysctl: BTreeMap<String, String> = BTreeMap::new();
    let own_netns = facts.netns.is_some() || !facts.join.contains_key("network");
    if own_netns {
        sysctl.insert("net.ipv4.ip_unprivileged_port_start".into(), "0".into());
        sysctl.insert("net.ipv4.ping_group_range".into(), "0 2147483647".into());
    }
    for (k, v) in host.sysctls.iter().flatten() {
        sysctl.insert(k.clone(), v.clone());
    }

    let mut devices_rules = vec![json!({"allow": false, "access": "rwm"})];
    if privileged {
        devices_rules.push(json!({"allow": true, "access": "rwm"}));
    } else {
        for t in ["c", "b"] {
            devices_rules.push(json!({"allow": true, "type": t, "major": null, "minor": null, "access": "m"}));
        }
        for (maj, min) in [(1, Some(3)), (1, Some(5)), (1, Some(7)), (1, Some(8)), (1, Some(9)), (5, Some(0)), (5, Some(1)), (5, Some(2)), (136, None), (10, Some(200))] {
            let mut r = json!({"allow": true, "type": "c", "major": maj, "access": "rwm"});
            if let Some(m) = min {
                r["minor"] = json!(m);
            }
            devices_rules.push(r);
        }
        for rule in host.resources.device_cgroup_rules.iter().flatten() {
            devices_rules.push(device_rule(rule)?);
        }
    }
    let mut devices = if privileged { host_devices() } else { Vec::new() };
    for d in host.resources.devices.iter().flatten() {
        let (node, rule) = host_device(d)?;
        devices.push(node);
        devices_rules.push(rule);
    }

    let mut resources = json!({"devices": devices_rules});
    for (k, v) in limits(&host.resources)? {
        resources[k] = v;
    }

    let mut linux = json!({
        "namespaces": namespaces,
        "cgroupsPath": facts.cgroups_path,
        "resources": resources,
        "sysctl": sysctl,
    });
    if !devices.is_empty() {
        linux["devices"] = json!(devices);
    }
    // A bind that propagates needs the container's root to take part, as Docker sets it.
    let props = super::mounts::bind_propagations(host);
    if props.iter().any(|(_, p)| p.ends_with("shared")) {
        linux["rootfsPropagation"] = json!("shared");
    } else if props.iter().any(|(_, p)| p.ends_with("slave")) {
        linux["rootfsPropagation"] = json!("rslave");
    }
    if !privileged {
        // Recorded at create; records from before that get the defaults here.
        let mut masked = host.masked_paths.clone().unwrap_or_else(default_masked_paths);
        masked.dedup();
        linux["maskedPaths"] = json!(masked);
        linux["readonlyPaths"] = json!(host.readonly_paths.clone().unwrap_or_else(default_readonly_paths));
    }
    if let Some(s) = &facts.seccomp {
        linux["seccomp"] = s.clone();
    }

    let hostname = cfg.hostname.clone().filter(|h| !h.is_empty()).unwrap_or_else(|| rec.short_id().to_owned());
    let mut spec = json!({
        "ociVersion": "1.2.0",
        "root": {"path": "rootfs", "readonly": host.readonly_rootfs == Some(true)},
        "process": process,
        "mounts": mounts,
        "linux": linux,
    });
    if !facts.join.contains_key("uts") {
        spec["hostname"] = json!(hostname);
        if let Some(d) = cfg.domainname.as_deref().filter(|d| !d.is_empty()) {
            spec["domainname"] = json!(d);
        }
    }
    Ok(spec)
}

/// `--device-cgroup-rule 'c 42:* rmw'`.
fn device_rule(rule: &str) -> Result<Value> {
    let bad = || Error::InvalidParameter(format!("invalid device cgroup rule: {rule:?}"));
    let parts: Vec<&str> = rule.split_whitespace().collect();
    let [t, mm, access] = parts.as_slice() else { return Err(bad()) };
    if !matches!(*t, "a" | "b" | "c") || access.is_empty() || !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err(bad());
    }
    let (maj, min) = mm.split_once(':').ok_or_else(bad)?;
    let num = |s: &str| -> Result<Value> {
        if s == "*" {
            Ok(Value::Null)
        } else {
            s.parse::<i64>().map(|n| json!(n)).map_err(|_| bad())
        }
    };
    Ok(json!({"allow": true, "type": t, "major": num(maj)?, "minor": num(min)?, "access": access}))
}

/// `--device /dev/x[:/dev/y[:rwm]]`: the node as the container gets it, and its cgroup rule.
fn host_device(d: &berth_api_types::container::DeviceMapping) -> Result<(Value, Value)> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = std::fs::metadata(&d.path_on_host).map_err(|e| Error::InvalidParameter(format!("error gathering device information while adding custom device {:?}: {e}", d.path_on_host)))?;
    let ft = meta.file_type();
    let kind = if ft.is_char_device() {
        "c"
    } else if ft.is_block_device() {
        "b"
    } else {
        return Err(Error::InvalidParameter(format!("{} is not a device node", d.path_on_host)));
    };
    let rdev = meta.rdev();
    let (major, minor) = (rustix::fs::major(rdev), rustix::fs::minor(rdev));
    let path = d.path_in_container.as_deref().filter(|p| !p.is_empty()).unwrap_or(&d.path_on_host);
    let access = d.cgroup_permissions.as_deref().filter(|p| !p.is_empty()).unwrap_or("rwm");
    let node = json!({"path": path, "type": kind, "major": major, "minor": minor, "fileMode": meta.mode() & 0o777, "uid": meta.uid(), "gid": meta.gid()});
    let rule = json!({"allow": true, "type": kind, "major": major, "minor": minor, "access": access});
    Ok((node, rule))
}

/// Every device node of the host's /dev, for `--privileged`, as Docker gives them: not those
/// under pts, shm, mqueue and fd (the container has its own), nor the console.
fn host_devices() -> Vec<Value> {
    let mut out = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from("/dev")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let (path, Ok(ft)) = (e.path(), e.file_type()) else { continue };
            let name = e.file_name();
            if ft.is_dir() {
                if !matches!(name.to_str(), Some("pts" | "shm" | "mqueue" | "fd" | ".lxc" | ".lxd-mounts" | ".udev")) {
                    dirs.push(path);
                }
                continue;
            }
            if name == "console" {
                continue;
            }
            let d = berth_api_types::container::DeviceMapping { path_on_host: path.to_string_lossy().into_owned(), path_in_container: None, cgroup_permissions: None };
            if let Ok((node, _)) = host_device(&d) {
                out.push(node);
            }
        }
    }
    out
}

/// Whether an optional list has anything in it.
pub(crate) fn listed<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_some_and(|l| !l.is_empty())
}

/// The first resource option that is set (non-zero, non-empty) but that berth does not apply
/// yet, by its docker flag.
pub(crate) fn unsupported_limit(r: &berth_api_types::container::Resources) -> Option<&'static str> {
    let set = |v: Option<i64>| v.is_some_and(|v| v != 0);
    if listed(&r.blkio_weight_device) {
        return Some("--blkio-weight-device");
    }
    if listed(&r.blkio_device_read_bps) || listed(&r.blkio_device_write_bps) || listed(&r.blkio_device_read_iops) || listed(&r.blkio_device_write_iops) {
        return Some("--device-read-bps, --device-write-bps, --device-read-iops and --device-write-iops");
    }
    if set(r.cpu_realtime_period) || set(r.cpu_realtime_runtime) {
        return Some("--cpu-rt-period and --cpu-rt-runtime");
    }
    if set(r.kernel_memory_tcp) {
        return Some("--kernel-memory-tcp");
    }
    if set(r.cpu_count) || set(r.cpu_percent) || r.io_maximum_iops.is_some_and(|v| v != 0) || r.io_maximum_bandwidth.is_some_and(|v| v != 0) {
        return Some("--cpu-count, --cpu-percent, --io-maxiops and --io-maxbandwidth (Windows options)");
    }
    None
}

/// The CPUs this host has online (`0-3,5`), as the kernel lists them.
fn online_cpus() -> String {
    std::fs::read_to_string("/sys/devices/system/cpu/online").map(|s| s.trim().to_owned()).unwrap_or_default()
}

/// The CPU numbers of a cpuset list (`0-2,5`); None where it does not parse.
fn cpu_list(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<u32>().ok()?..=b.parse::<u32>().ok()?),
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

/// dockerd's checks of the CPU fields, with its messages (the kernel's own errors would come
/// at start, as bare errno texts).
fn check_cpus(r: &berth_api_types::container::Resources) -> Result<()> {
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get() as i64);
    if let Some(n) = r.nano_cpus.filter(|n| *n != 0) {
        if n < 10_000_000 || n > ncpu * 1_000_000_000 {
            return Err(Error::InvalidParameter(format!("Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available")));
        }
    }
    if r.cpu_quota.is_some_and(|q| q > 0 && q < 1000) {
        return Err(Error::InvalidParameter("CPU cfs quota can not be less than 1ms (i.e. 1000)".into()));
    }
    if r.cpu_period.is_some_and(|p| p != 0 && !(1000..=1_000_000).contains(&p)) {
        return Err(Error::InvalidParameter("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)".into()));
    }
    if let Some(c) = r.cpuset_cpus.as_deref().filter(|c| !c.is_empty()) {
        let online = online_cpus();
        let (Some(want), Some(have)) = (cpu_list(c), cpu_list(&online)) else {
            return Err(Error::InvalidParameter(format!("Invalid value {c} for cpuset cpus")));
        };
        if want.iter().any(|c| !have.contains(c)) {
            return Err(Error::InvalidParameter(format!("Requested CPUs are not available - requested {c}, available: {online}")));
        }
    }
    Ok(())
}

/// Whether this host's cgroups can weigh block IO: a v1 `blkio.weight` (CFQ) or
/// `blkio.bfq.weight`, or the v2 `io` controller. Where not, dockerd discards `--blkio-weight`
/// with a warning, and so does berth.
pub(crate) fn blkio_weight_supported(pure_v2: bool) -> bool {
    if pure_v2 {
        return std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers").is_ok_and(|c| c.split_whitespace().any(|c| c == "io"));
    }
    ["blkio.weight", "blkio.bfq.weight"].iter().any(|f| std::path::Path::new("/sys/fs/cgroup/blkio").join(f).exists())
}

/// The warning dockerd gives when it discards `--blkio-weight`.
pub(crate) const BLKIO_WEIGHT_DISCARDED: &str = "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.";

/// The OCI `linux.resources` limits (memory, cpu, pids, block IO weight) for Docker's resource fields, checked
/// as dockerd checks them. Used at create and by `update`.
pub(crate) fn limits(r: &berth_api_types::container::Resources) -> Result<serde_json::Map<String, Value>> {
    let mut out = serde_json::Map::new();
    let mut memory = serde_json::Map::new();
    // dockerd's check: any limit but none (0) under 6 MB, a negative one too.
    if let Some(m) = r.memory.filter(|m| *m != 0) {
        if m < 6 << 20 {
            return Err(Error::InvalidParameter("Minimum memory limit allowed is 6MB".into()));
        }
        memory.insert("limit".into(), json!(m));
        match r.memory_swap {
            Some(-1) => {
                memory.insert("swap".into(), json!(-1));
            }
            Some(s) if s > 0 => {
                if s < m {
                    return Err(Error::InvalidParameter("Minimum memoryswap limit should be larger than memory limit, see usage".into()));
                }
                memory.insert("swap".into(), json!(s));
            }
            _ => {
                memory.insert("swap".into(), json!(m * 2));
            }
        }
    } else if r.memory_swap.is_some_and(|s| s > 0) {
        return Err(Error::InvalidParameter("You should always set the Memory limit when using Memoryswap limit, see usage".into()));
    }
    if let Some(m) = r.memory_reservation.filter(|m| *m > 0) {
        memory.insert("reservation".into(), json!(m));
    }
    if let Some(s) = r.memory_swappiness.filter(|s| *s >= 0) {
        memory.insert("swappiness".into(), json!(s));
    }
    if r.oom_kill_disable == Some(true) {
        memory.insert("disableOOMKiller".into(), json!(true));
    }
    if !memory.is_empty() {
        out.insert("memory".into(), Value::Object(memory));
    }
    check_cpus(r)?;
    let mut cpu = serde_json::Map::new();
    if let Some(s) = r.cpu_shares.filter(|s| *s > 0) {
        cpu.insert("shares".into(), json!(s));
    }
    match (r.nano_cpus.filter(|n| *n > 0), r.cpu_quota.filter(|q| *q > 0)) {
        (Some(_), Some(_)) => return Err(Error::InvalidParameter("Conflicting options: Nano CPUs and CPU Period cannot both be set".into())),
        (Some(n), None) => {
            cpu.insert("period".into(), json!(100_000));
            cpu.insert("quota".into(), json!(n * 100_000 / 1_000_000_000));
        }
        (None, Some(q)) => {
            cpu.insert("quota".into(), json!(q));
        }
        (None, None) => {}
    }
    if let Some(p) = r.cpu_period.filter(|p| *p > 0) {
        if r.nano_cpus.is_some_and(|n| n > 0) {
            return Err(Error::InvalidParameter("Conflicting options: Nano CPUs and CPU Period cannot both be set".into()));
        }
        cpu.insert("period".into(), json!(p));
    }
    if let Some(c) = r.cpuset_cpus.as_deref().filter(|c| !c.is_empty()) {
        cpu.insert("cpus".into(), json!(c));
    }
    if let Some(m) = r.cpuset_mems.as_deref().filter(|c| !c.is_empty()) {
        cpu.insert("mems".into(), json!(m));
    }
    if !cpu.is_empty() {
        out.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(p) = r.pids_limit.filter(|p| *p > 0) {
        out.insert("pids".into(), json!({"limit": p}));
    }
    if let Some(w) = r.blkio_weight.filter(|w| *w != 0) {
        if !(10..=1000).contains(&w) {
            return Err(Error::InvalidParameter("Range of blkio weight is from 10 to 1000".into()));
        }
        out.insert("blockIO".into(), json!({"weight": w}));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::record::State;
    use crate::policy::Principal;
    use berth_api_types::container::Config;

    fn rec(host: HostConfig) -> Record {
        Record {
            id: "0123456789abcdef".repeat(4),
            name: "t".into(),
            created: String::new(),
            created_by: Principal::Admin,
            path: "sh".into(),
            args: vec!["-c".into(), "true".into()],
            config: Config { env: Some(vec!["A=1".into(), "PATH=/bin".into()]), ..Default::default() },
            host_config: host,
            image: String::new(),
            image_name: String::new(),
            state: State::default(),
            restart_count: 0,
            stopped_by_user: false,
            exec_ids: vec![],
            volumes: vec![],
            endpoints: Default::default(),
            ports: Default::default(),
        }
    }

    fn facts() -> Facts {
        Facts {
            uid: 0,
            gid: 0,
            additional_gids: vec![],
            etc_files: vec![("/x/hosts".into(), "/etc/hosts")],
            cgroups_path: "/berth/x".into(),
            join: BTreeMap::new(),
            seccomp: None,
            private_cgroupns: false,
            init_bin: None,
            default_ulimits: vec![],
            volumes: vec![],
            netns: None,
        }
    }

    #[test]
    fn daemon_default_ulimits_apply_where_the_container_sets_none() {
        use berth_api_types::container::Ulimit;
        let u = |name: &str, soft, hard| Ulimit { name: name.into(), soft, hard };
        let mut h = HostConfig::default();
        h.resources.ulimits = Some(vec![u("nofile", 10, 20)]);
        let mut f = facts();
        f.default_ulimits = vec![u("nofile", 1024, 2048), u("NPROC", 50, 60)];
        let s = build(&rec(h), &f).expect("builds");
        assert_eq!(s["process"]["rlimits"], json!([{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}, {"type": "RLIMIT_NPROC", "soft": 50, "hard": 60}]));
    }

    #[test]
    fn defaults_are_dockers() {
        let s = build(&rec(HostConfig::default()), &facts()).expect("builds");
        assert_eq!(s["process"]["capabilities"]["bounding"].as_array().map(Vec::len), Some(14));
        assert_eq!(s["process"]["env"], json!(["PATH=/bin", "HOSTNAME=0123456789ab", "A=1"]));
        assert_eq!(s["process"]["args"], json!(["sh", "-c", "true"]));
        assert_eq!(s["hostname"], "0123456789ab");
        let ns: Vec<&str> = s["linux"]["namespaces"].as_array().expect("ns").iter().filter_map(|n| n["type"].as_str()).collect();
        assert_eq!(ns, ["pid", "network", "ipc", "uts", "mount"]);
        assert_eq!(s["linux"]["sysctl"]["net.ipv4.ip_unprivileged_port_start"], "0");
        assert_eq!(s["linux"]["maskedPaths"].as_array().map(Vec::len), Some(12));
        let shm = s["mounts"].as_array().expect("mounts").iter().find(|m| m["destination"] == "/dev/shm").expect("shm").clone();
        assert!(shm["options"].as_array().expect("opts").contains(&json!("size=67108864")), "{shm}");
        assert!(s["mounts"].as_array().expect("mounts").iter().any(|m| m["destination"] == "/etc/hosts"));
    }

    #[test]
    fn capabilities_add_and_drop() {
        let h = HostConfig { cap_add: Some(vec!["NET_ADMIN".into()]), cap_drop: Some(vec!["CAP_CHOWN".into()]), ..Default::default() };
        let c = capabilities(&h).expect("caps");
        assert!(c.contains(&"CAP_NET_ADMIN".to_owned()) && !c.contains(&"CAP_CHOWN".to_owned()));
        let h = HostConfig { cap_add: Some(vec!["kill".into()]), cap_drop: Some(vec!["ALL".into()]), ..Default::default() };
        assert_eq!(capabilities(&h).expect("caps"), ["CAP_KILL"]);
        let h = HostConfig { cap_add: Some(vec!["NOPE".into()]), ..Default::default() };
        assert!(capabilities(&h).expect_err("unknown").to_string().contains("NOPE"));
        let h = HostConfig { privileged: Some(true), ..Default::default() };
        assert_eq!(capabilities(&h).expect("caps"), all_caps());
        assert!(all_caps().contains(&"CAP_SYS_ADMIN".to_owned()), "root holds CAP_SYS_ADMIN");
    }

    #[test]
    fn resources_map_to_the_runtime() {
        let mut h = HostConfig::default();
        h.resources.memory = Some(64 << 20);
        h.resources.nano_cpus = Some(1_500_000_000);
        h.resources.pids_limit = Some(50);
        let s = build(&rec(h), &facts()).expect("builds");
        assert_eq!(s["linux"]["resources"]["memory"], json!({"limit": 64 << 20, "swap": 128 << 20}));
        assert_eq!(s["linux"]["resources"]["cpu"], json!({"period": 100000, "quota": 150000}));
        assert_eq!(s["linux"]["resources"]["pids"], json!({"limit": 50}));
        let mut h = HostConfig::default();
        h.resources.memory = Some(1 << 20);
        assert!(build(&rec(h), &facts()).expect_err("tiny").to_string().contains("Minimum memory limit"));
    }

    #[test]
    fn binds_tmpfs_and_joins() {
        let h = HostConfig {
            binds: Some(vec!["/srv:/data:ro".into()]),
            tmpfs: Some([("/run".to_owned(), "size=1m,exec".to_owned())].into()),
            ..Default::default()
        };
        let mut f = facts();
        f.join.insert("network", None);
        f.join.insert("pid", Some("/proc/42/ns/pid".into()));
        let s = build(&rec(h), &f).expect("builds");
        let m = s["mounts"].as_array().expect("mounts");
        assert!(m.iter().any(|m| m == &json!({"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind", "ro", "rprivate"]})));
        assert!(m.iter().any(|m| m == &json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m"]})));
        let ns = &s["linux"]["namespaces"];
        assert_eq!(ns[0], json!({"type": "pid", "path": "/proc/42/ns/pid"}));
        assert!(!ns.as_array().expect("ns").iter().any(|n| n["type"] == "network"));
        assert!(s["linux"]["sysctl"].as_object().expect("sysctl").is_empty(), "no net sysctls in the host's netns");
        assert!(bind_spec("relative:/x").is_ok(), "named volumes are refused by check_supported, not here");
        assert!(bind_spec("/a:rel").is_err());
    }

    #[test]
    fn unsupported_options_are_refused_by_name() {
        let h = HostConfig { links: Some(vec!["other:alias".into()]), ..Default::default() };
        let e = check_supported(&h).expect_err("refused");
        assert_eq!(e.kind(), crate::ErrorKind::NotImplemented);
        assert!(e.to_string().contains("--link"), "{e}");
        let zero = HostConfig { network_mode: Some("default".into()), port_bindings: Some(Default::default()), links: None, ..Default::default() };
        assert!(check_supported(&zero).is_ok());
        let h = HostConfig { security_opt: Some(vec!["apparmor=x".into()]), ..Default::default() };
        assert!(check_supported(&h).is_err());
    }

    #[test]
    fn security_opts_parse() {
        let h = HostConfig { security_opt: Some(vec!["no-new-privileges".into(), "seccomp=unconfined".into()]), ..Default::default() };
        assert_eq!(security_opts(&h).expect("ok"), (true, Some(None)));
        let h = HostConfig { security_opt: Some(vec!["no-new-privileges:false".into()]), ..Default::default() };
        assert_eq!(security_opts(&h).expect("ok"), (false, None));
    }

    #[test]
    fn device_rules_parse() {
        assert_eq!(device_rule("c 42:* rmw").expect("ok"), json!({"allow": true, "type": "c", "major": 42, "minor": null, "access": "rmw"}));
        assert!(device_rule("x 1:1 r").is_err());
        assert!(device_rule("c 1:1").is_err());
    }
}
