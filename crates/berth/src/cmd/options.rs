//! The flags of `run` and `create`, and how they become a `POST /containers/create` body, with
//! docker's spellings (`64m`, `1.5` CPUs, `nofile=1024:2048`, `type=tmpfs,target=/t`).
//! Flags docker has and berth does not support yet are accepted by the parser and then refused
//! by name, so they are never silently ignored.

use std::collections::BTreeMap;

use berth_api_types::container::{
    BindOptions, Config, ContainerCreateRequest, DeviceMapping, HealthConfig, HostConfig, Mount, MountType, NetworkingConfig, RestartPolicy,
    TmpfsOptions, Ulimit,
};
use berth_api_types::units::go_duration;
use clap::{ArgAction, Args};

use super::{endpoints, ports};
use crate::error::{CliError, Result};

#[derive(Debug, Args, Default)]
pub struct ContainerOpts {
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long)]
    pub rm: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "list")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "string")]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long, value_name = "string")]
    pub user: Option<String>,
    /// Add additional groups to join
    #[arg(long = "group-add", value_name = "list")]
    pub group_add: Vec<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, value_name = "string")]
    pub entrypoint: Option<String>,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label", value_name = "list")]
    pub label: Vec<String>,
    /// Container host name
    #[arg(short = 'h', long, value_name = "string")]
    pub hostname: Option<String>,
    /// Container NIS domain name
    #[arg(long, value_name = "string")]
    pub domainname: Option<String>,
    /// Restart policy to apply when a container exits
    #[arg(long, value_name = "string", default_value = "no")]
    pub restart: String,
    /// Memory limit
    #[arg(short = 'm', long, value_name = "bytes")]
    pub memory: Option<String>,
    /// Memory soft limit
    #[arg(long = "memory-reservation", value_name = "bytes")]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "bytes", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs
    #[arg(long, value_name = "decimal")]
    pub cpus: Option<f64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "int")]
    pub cpu_shares: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "string")]
    pub cpuset_cpus: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", value_name = "int")]
    pub cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", value_name = "int")]
    pub cpu_quota: Option<i64>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "int", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Add Linux capabilities
    #[arg(long = "cap-add", value_name = "list")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop", value_name = "list")]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Mount the container's root filesystem as read only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Ulimit options
    #[arg(long, value_name = "ulimit")]
    pub ulimit: Vec<String>,
    /// Mount a tmpfs directory
    #[arg(long, value_name = "list")]
    pub tmpfs: Vec<String>,
    /// Security Options
    #[arg(long = "security-opt", value_name = "list")]
    pub security_opt: Vec<String>,
    /// Signal to stop the container
    #[arg(long = "stop-signal", value_name = "string")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout", value_name = "int")]
    pub stop_timeout: Option<i64>,
    /// Connect a container to a network
    #[arg(long = "network", alias = "net", value_name = "network")]
    pub network: Vec<String>,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias", value_name = "list")]
    pub network_alias: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long, value_name = "string")]
    pub ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33)
    #[arg(long, value_name = "string")]
    pub ip6: Option<String>,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long = "publish", value_name = "list")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Expose a port or a range of ports
    #[arg(long, value_name = "list")]
    pub expose: Vec<String>,
    /// Add a host device to the container
    #[arg(long, value_name = "list")]
    pub device: Vec<String>,
    /// Add a rule to the cgroup allowed devices list
    #[arg(long = "device-cgroup-rule", value_name = "list")]
    pub device_cgroup_rule: Vec<String>,
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume", value_name = "list")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long, value_name = "mount")]
    pub mount: Vec<String>,
    /// Size of /dev/shm
    #[arg(long = "shm-size", value_name = "bytes")]
    pub shm_size: Option<String>,
    /// Set custom DNS servers
    #[arg(long, value_name = "list")]
    pub dns: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", value_name = "list")]
    pub dns_option: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search", value_name = "list")]
    pub dns_search: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host", value_name = "list")]
    pub add_host: Vec<String>,
    /// Sysctl options
    #[arg(long, value_name = "map")]
    pub sysctl: Vec<String>,
    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(long = "oom-score-adj", value_name = "int", allow_hyphen_values = true)]
    pub oom_score_adj: Option<i64>,
    /// PID namespace to use
    #[arg(long, value_name = "string")]
    pub pid: Option<String>,
    /// IPC mode to use
    #[arg(long, value_name = "string")]
    pub ipc: Option<String>,
    /// UTS namespace to use
    #[arg(long, value_name = "string")]
    pub uts: Option<String>,
    /// Cgroup namespace to use (host|private)
    #[arg(long, value_name = "string")]
    pub cgroupns: Option<String>,
    /// Logging driver for the container (json-file, none)
    #[arg(long = "log-driver", value_name = "string")]
    pub log_driver: Option<String>,
    /// Log driver options
    #[arg(long = "log-opt", value_name = "list")]
    pub log_opt: Vec<String>,
    /// Mount volumes from the specified container(s)
    #[arg(long = "volumes-from", value_name = "list")]
    pub volumes_from: Vec<String>,
    /// Add link to another container (refused: use a user-defined network)
    #[arg(long, value_name = "list", hide = true)]
    pub link: Vec<String>,
    /// User namespace to use (the daemon decides)
    #[arg(long, value_name = "string")]
    pub userns: Option<String>,
    /// Runtime to use for this container
    #[arg(long, value_name = "string")]
    pub runtime: Option<String>,
    /// Write the container ID to the file
    #[arg(long, value_name = "string")]
    pub cidfile: Option<String>,
    /// Pull image before running ("always", "missing", "never")
    #[arg(long, value_name = "string", default_value = "missing")]
    pub pull: String,
    /// Suppress the pull output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Command to run to check health
    #[arg(long = "health-cmd", value_name = "string")]
    pub health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h)
    #[arg(long = "health-interval", value_name = "duration")]
    pub health_interval: Option<String>,
    /// Maximum time to allow one check to run (ms|s|m|h)
    #[arg(long = "health-timeout", value_name = "duration")]
    pub health_timeout: Option<String>,
    /// Consecutive failures needed to report unhealthy
    #[arg(long = "health-retries", value_name = "int")]
    pub health_retries: Option<i64>,
    /// Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)
    #[arg(long = "health-start-period", value_name = "duration")]
    pub health_start_period: Option<String>,
    /// Time between running the check during the start period (ms|s|m|h)
    #[arg(long = "health-start-interval", value_name = "duration")]
    pub health_start_interval: Option<String>,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long = "no-healthcheck")]
    pub no_healthcheck: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string")]
    pub platform: Option<String>,
    /// Print usage
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,

    // Docker's flags that berth does not support yet: accepted here, refused by name.
    #[arg(long, hide = true)]
    pub gpus: Option<String>,
    #[arg(long = "mac-address", hide = true)]
    pub mac_address: Option<String>,
}

impl ContainerOpts {
    /// The first flag set that berth does not support yet, by its docker name.
    fn unsupported(&self) -> Option<&'static str> {
        let set: [(&'static str, bool); 3] = [
            ("--gpus", self.gpus.is_some()),
            ("--mac-address", self.mac_address.is_some()),
            (
                "--link (legacy container links): put the containers on a user-defined network (berth network create) and reach them by name or --network-alias",
                !self.link.is_empty(),
            ),
        ];
        set.into_iter().find(|(_, on)| *on).map(|(name, _)| name)
    }

    /// The create body for `image` and `cmd`. `run` is false for `create`; `detach` is `run -d`.
    /// docker attaches stdout and stderr unless detached, and closes stdin after the first
    /// attach (`StdinOnce`) only for an attached `run -i`.
    pub fn to_request(&self, image: &str, cmd: &[String], run: bool, detach: bool) -> Result<ContainerCreateRequest> {
        if let Some(flag) = self.unsupported() {
            return Err(CliError::new(format!("berth does not support {flag} yet")).with_status(125));
        }
        let bad = |m: String| CliError::new(m).with_status(125);
        if !matches!(self.pull.as_str(), "missing" | "never" | "always") {
            return Err(bad(format!("invalid pull option: '{}': must be one of \"always\", \"missing\" or \"never\"", self.pull)));
        }
        let mut env = Vec::new();
        for f in &self.env_file {
            let text = std::fs::read_to_string(f).map_err(|e| bad(format!("open env file {f}: {e}")))?;
            for line in text.lines() {
                let line = line.trim_start();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                env.push(env_entry(line));
            }
        }
        env.extend(self.env.iter().map(|e| env_entry(e)));
        let labels: BTreeMap<String, String> = self
            .label
            .iter()
            .map(|l| l.split_once('=').map_or((l.clone(), String::new()), |(k, v)| (k.to_owned(), v.to_owned())))
            .collect();
        let healthcheck = self.healthcheck().map_err(bad)?;
        let published = ports::parse_publish(&self.publish).map_err(bad)?;
        let mut exposed = published.exposed;
        for (port, e) in ports::parse_expose(&self.expose).map_err(bad)? {
            exposed.entry(port).or_insert(e);
        }
        let attachments = self.network.iter().map(|n| endpoints::parse_attachment(n)).collect::<Result<Vec<_>, _>>().map_err(bad)?;
        let flags = endpoints::EndpointFlags { aliases: &self.network_alias, ipv4: self.ip.as_deref(), ipv6: self.ip6.as_deref() };
        let (network_mode, endpoints_config) = endpoints::networking(&attachments, &flags).map_err(bad)?;
        let config = Config {
            hostname: Some(self.hostname.clone().unwrap_or_default()),
            domainname: Some(self.domainname.clone().unwrap_or_default()),
            user: Some(self.user.clone().unwrap_or_default()),
            attach_stdin: Some(!detach && self.interactive),
            attach_stdout: Some(!detach),
            attach_stderr: Some(!detach),
            tty: Some(self.tty),
            open_stdin: Some(self.interactive),
            stdin_once: Some(self.interactive && run && !detach),
            env: (!env.is_empty()).then_some(env),
            cmd: (!cmd.is_empty()).then(|| cmd.to_vec()),
            image: Some(image.to_owned()),
            // `-v /path` (no source) is an anonymous volume, as docker sends it.
            volumes: Some(self.volume.iter().filter(|v| !v.contains(':')).map(|v| (v.clone(), berth_api_types::EmptyObject {})).collect()),
            working_dir: Some(self.workdir.clone().unwrap_or_default()),
            entrypoint: self.entrypoint.as_ref().map(|e| if e.is_empty() { vec![String::new()] } else { vec![e.clone()] }),
            labels: Some(labels),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            healthcheck,
            ..Config::default()
        };
        let mut host = HostConfig {
            binds: Some(self.volume.iter().filter(|v| v.contains(':')).cloned().collect::<Vec<_>>()).filter(|b| !b.is_empty()),
            network_mode: Some(network_mode),
            port_bindings: Some(published.bindings),
            publish_all_ports: Some(self.publish_all),
            restart_policy: Some(restart_policy(&self.restart).map_err(bad)?),
            auto_remove: Some(self.rm),
            cap_add: (!self.cap_add.is_empty()).then(|| self.cap_add.iter().map(|c| cap_name(c)).collect()),
            cap_drop: (!self.cap_drop.is_empty()).then(|| self.cap_drop.iter().map(|c| cap_name(c)).collect()),
            privileged: Some(self.privileged),
            readonly_rootfs: Some(self.read_only),
            security_opt: (!self.security_opt.is_empty()).then(|| self.security_opt.clone()),
            dns: (!self.dns.is_empty()).then(|| self.dns.clone()),
            dns_options: (!self.dns_option.is_empty()).then(|| self.dns_option.clone()),
            dns_search: (!self.dns_search.is_empty()).then(|| self.dns_search.clone()),
            extra_hosts: (!self.add_host.is_empty()).then(|| self.add_host.clone()),
            group_add: (!self.group_add.is_empty()).then(|| self.group_add.clone()),
            oom_score_adj: self.oom_score_adj,
            pid_mode: self.pid.clone(),
            ipc_mode: self.ipc.clone(),
            uts_mode: self.uts.clone(),
            cgroupns_mode: self.cgroupns.clone(),
            log_config: log_config(self.log_driver.as_deref(), &self.log_opt).map_err(bad)?,
            volumes_from: (!self.volumes_from.is_empty()).then(|| self.volumes_from.clone()),
            userns_mode: self.userns.clone(),
            runtime: self.runtime.clone(),
            ..HostConfig::default()
        };
        if !self.tmpfs.is_empty() {
            host.tmpfs = Some(self.tmpfs.iter().map(|t| t.split_once(':').map_or((t.clone(), String::new()), |(p, o)| (p.to_owned(), o.to_owned()))).collect());
        }
        if !self.sysctl.is_empty() {
            let mut m = BTreeMap::new();
            for s in &self.sysctl {
                let (k, v) = s.split_once('=').ok_or_else(|| bad(format!("invalid argument \"{s}\" for \"--sysctl\" flag: sysctl '{s}' is not allowed")))?;
                m.insert(k.to_owned(), v.to_owned());
            }
            host.sysctls = Some(m);
        }
        if let Some(s) = &self.shm_size {
            host.shm_size = Some(ram_in_bytes(s).map_err(|e| bad(format!("invalid argument \"{s}\" for \"--shm-size\" flag: {e}")))?);
        }
        if !self.mount.is_empty() {
            host.mounts = Some(self.mount.iter().map(|m| parse_mount(m)).collect::<Result<_, _>>().map_err(bad)?);
        }
        let r = &mut host.resources;
        let mem = |flag: &str, v: &Option<String>| -> Result<Option<i64>> {
            v.as_ref()
                .map(|s| if s == "-1" { Ok(-1) } else { ram_in_bytes(s) })
                .transpose()
                .map_err(|e| bad(format!("invalid argument {:?} for \"--{flag}\" flag: {e}", v.as_deref().unwrap_or(""))))
        };
        r.memory = mem("memory", &self.memory)?;
        r.memory_reservation = mem("memory-reservation", &self.memory_reservation)?;
        r.memory_swap = mem("memory-swap", &self.memory_swap)?;
        r.nano_cpus = self.cpus.map(|c| (c * 1e9).round() as i64);
        r.cpu_shares = self.cpu_shares;
        r.cpuset_cpus = self.cpuset_cpus.clone();
        r.cpu_period = self.cpu_period;
        r.cpu_quota = self.cpu_quota;
        r.pids_limit = self.pids_limit;
        r.init = self.init.then_some(true);
        if !self.ulimit.is_empty() {
            r.ulimits = Some(self.ulimit.iter().map(|u| parse_ulimit(u)).collect::<Result<_, _>>().map_err(bad)?);
        }
        if !self.device.is_empty() {
            r.devices = Some(self.device.iter().map(|d| parse_device(d)).collect::<Result<_, _>>().map_err(bad)?);
        }
        if !self.device_cgroup_rule.is_empty() {
            r.device_cgroup_rules = Some(self.device_cgroup_rule.clone());
        }
        if let Some(size) = crate::tty::size().filter(|_| self.tty) {
            host.console_size = Some(vec![u64::from(size.0), u64::from(size.1)]);
        }
        Ok(ContainerCreateRequest { config, host_config: Some(host), networking_config: Some(NetworkingConfig { endpoints_config: Some(endpoints_config) }) })
    }
}

impl ContainerOpts {
    /// `--health-*` and `--no-healthcheck` as docker turns them into `Healthcheck`.
    fn healthcheck(&self) -> Result<Option<HealthConfig>, String> {
        let d = |flag: &str, v: &Option<String>| -> Result<Option<i64>, String> {
            v.as_deref().map(|s| go_duration(s).map_err(|e| format!("invalid argument \"{s}\" for \"--{flag}\" flag: {e}"))).transpose()
        };
        let h = HealthConfig {
            test: self.health_cmd.as_ref().map(|c| vec!["CMD-SHELL".to_owned(), c.clone()]),
            interval: d("health-interval", &self.health_interval)?,
            timeout: d("health-timeout", &self.health_timeout)?,
            retries: self.health_retries,
            start_period: d("health-start-period", &self.health_start_period)?,
            start_interval: d("health-start-interval", &self.health_start_interval)?,
        };
        let any = h != HealthConfig::default();
        if self.no_healthcheck {
            if any {
                return Err("--no-healthcheck conflicts with --health-* options".to_owned());
            }
            return Ok(Some(HealthConfig { test: Some(vec!["NONE".to_owned()]), ..HealthConfig::default() }));
        }
        for (flag, v) in [("interval", h.interval), ("timeout", h.timeout), ("start-period", h.start_period), ("start-interval", h.start_interval)] {
            if v.is_some_and(|v| v < 0) {
                return Err(format!("--health-{flag} cannot be negative"));
            }
        }
        if h.retries.is_some_and(|r| r < 0) {
            return Err("--health-retries cannot be negative".to_owned());
        }
        Ok(any.then_some(h))
    }
}

/// `--log-driver` and `--log-opt key=value` as `LogConfig`.
fn log_config(driver: Option<&str>, opts: &[String]) -> Result<Option<berth_api_types::container::LogConfig>, String> {
    if driver.is_none() && opts.is_empty() {
        return Ok(None);
    }
    let mut config = BTreeMap::new();
    for o in opts {
        let (k, v) = o.split_once('=').ok_or_else(|| format!("invalid argument \"{o}\" for \"--log-opt\" flag: invalid log opt format: {o}"))?;
        config.insert(k.to_owned(), v.to_owned());
    }
    Ok(Some(berth_api_types::container::LogConfig { kind: driver.map(str::to_owned), config: (!config.is_empty()).then_some(config) }))
}

/// `-e KEY` takes KEY's value from the caller's environment, as docker does.
fn env_entry(e: &str) -> String {
    if e.contains('=') {
        return e.to_owned();
    }
    match std::env::var(e) {
        Ok(v) => format!("{e}={v}"),
        Err(_) => e.to_owned(),
    }
}

/// docker CLI 28 sends capability names with their `CAP_` prefix (`ALL` as is).
fn cap_name(c: &str) -> String {
    let up = c.to_uppercase();
    if up == "ALL" || up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    }
}

/// Docker's `RAMInBytes`: `64m`, `1.5g`, `512k`, `100` (binary units, optional `b`).
pub fn ram_in_bytes(s: &str) -> Result<i64, String> {
    let lower = s.trim().to_lowercase();
    let t = lower.strip_suffix('b').unwrap_or(&lower);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        Some('p') => (&t[..t.len() - 1], 1 << 50),
        _ => (t, 1),
    };
    let n: f64 = num.parse().map_err(|_| format!("invalid size: '{s}'"))?;
    if n < 0.0 {
        return Err(format!("invalid size: '{s}'"));
    }
    Ok((n * mult as f64) as i64)
}

/// `NAME[:COUNT]`, split as docker's CLI does: only a missing name before the colon and a
/// count that is not a number are its errors; the daemon judges the name and the count's use.
pub fn restart_policy(s: &str) -> Result<RestartPolicy, String> {
    if s.is_empty() {
        return Ok(RestartPolicy { name: Some("no".to_owned()), maximum_retry_count: Some(0) });
    }
    let (name, count) = match s.split_once(':') {
        Some(("", _)) => return Err("invalid restart policy format: no policy provided before colon".to_owned()),
        Some((n, c)) => (n, Some(c)),
        None => (s, None),
    };
    let count = match count.filter(|c| !c.is_empty()) {
        Some(c) => c.parse::<i64>().map_err(|_| "invalid restart policy format: maximum retry count must be an integer".to_owned())?,
        None => 0,
    };
    Ok(RestartPolicy { name: Some(name.to_owned()), maximum_retry_count: Some(count) })
}

/// `nofile=1024:2048` or `nofile=1024`.
fn parse_ulimit(u: &str) -> Result<Ulimit, String> {
    let (name, vals) = u.split_once('=').ok_or_else(|| format!("invalid ulimit argument: {u}"))?;
    let (soft, hard) = vals.split_once(':').unwrap_or((vals, vals));
    let n = |v: &str| v.parse::<i64>().map_err(|_| format!("invalid ulimit argument: {u}"));
    Ok(Ulimit { name: name.to_owned(), soft: n(soft)?, hard: n(hard)? })
}

/// `/dev/x[:/dev/y[:rwm]]`.
fn parse_device(d: &str) -> Result<DeviceMapping, String> {
    let parts: Vec<&str> = d.split(':').collect();
    let (host, ctr, perms) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, c] if c.chars().all(|c| "rwm".contains(c)) => (*h, *h, *c),
        [h, c] => (*h, *c, "rwm"),
        [h, c, p] => (*h, *c, *p),
        _ => return Err(format!("invalid device specification: {d}")),
    };
    Ok(DeviceMapping { path_on_host: host.to_owned(), path_in_container: Some(ctr.to_owned()), cgroup_permissions: Some(perms.to_owned()) })
}

/// `--mount type=bind,source=/a,target=/b,readonly` and `type=tmpfs,target=/t,tmpfs-size=64m`.
fn parse_mount(spec: &str) -> Result<Mount, String> {
    let mut m = Mount {
        kind: MountType::Volume,
        source: None,
        target: String::new(),
        read_only: None,
        consistency: None,
        bind_options: None,
        volume_options: None,
        tmpfs_options: None,
        image_options: None,
    };
    for field in spec.split(',') {
        let (k, v) = field.split_once('=').map_or((field, None), |(k, v)| (k, Some(v)));
        let val = || v.map(str::to_owned).ok_or_else(|| format!("invalid field '{field}' must be a key=value pair"));
        match k.to_lowercase().as_str() {
            "type" => {
                m.kind = match v {
                    Some("bind") => MountType::Bind,
                    Some("volume") => MountType::Volume,
                    Some("tmpfs") => MountType::Tmpfs,
                    Some("image") => MountType::Image,
                    Some("npipe") => MountType::Npipe,
                    Some("cluster") => MountType::Cluster,
                    _ => return Err(format!("invalid mount type: {field}")),
                }
            }
            "source" | "src" => m.source = Some(val()?),
            "target" | "destination" | "dst" => m.target = val()?,
            "readonly" | "ro" => m.read_only = Some(!matches!(v, Some("false" | "0"))),
            "consistency" => m.consistency = Some(val()?),
            "bind-propagation" => m.bind_options.get_or_insert_with(BindOptions::default).propagation = Some(val()?),
            "bind-nonrecursive" => m.bind_options.get_or_insert_with(BindOptions::default).non_recursive = Some(!matches!(v, Some("false" | "0"))),
            "bind-create-mountpoint" => m.bind_options.get_or_insert_with(BindOptions::default).create_mountpoint = Some(!matches!(v, Some("false" | "0"))),
            "tmpfs-size" => m.tmpfs_options.get_or_insert_with(TmpfsOptions::default).size_bytes = Some(ram_in_bytes(&val()?)?),
            "tmpfs-mode" => {
                let mode = u32::from_str_radix(&val()?, 8).map_err(|_| format!("invalid value for tmpfs-mode: {field}"))?;
                m.tmpfs_options.get_or_insert_with(TmpfsOptions::default).mode = Some(mode);
            }
            other => return Err(format!("unexpected key '{other}' in '{spec}'")),
        }
    }
    if m.target.is_empty() {
        return Err(format!("invalid mount config: target is required: {spec}"));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_spellings() {
        assert_eq!(ram_in_bytes("64m"), Ok(64 << 20));
        assert_eq!(ram_in_bytes("1.5g"), Ok(3 << 29));
        assert_eq!(ram_in_bytes("512KB"), Ok(512 << 10));
        assert_eq!(ram_in_bytes("100"), Ok(100));
        assert!(ram_in_bytes("lots").is_err());
        assert_eq!(restart_policy("on-failure:3").unwrap().maximum_retry_count, Some(3));
        // The daemon judges names and where a count may go; the CLI only splits.
        assert_eq!(restart_policy("sometimes").unwrap().name.as_deref(), Some("sometimes"));
        assert_eq!(restart_policy("always:3").unwrap().maximum_retry_count, Some(3));
        assert_eq!(restart_policy(":3").unwrap_err(), "invalid restart policy format: no policy provided before colon");
        assert_eq!(restart_policy("on-failure:x").unwrap_err(), "invalid restart policy format: maximum retry count must be an integer");
        assert_eq!(parse_ulimit("nofile=1024:2048").unwrap(), Ulimit { name: "nofile".into(), soft: 1024, hard: 2048 });
        assert_eq!(parse_ulimit("nproc=10").unwrap().hard, 10);
        assert_eq!(parse_device("/dev/fuse").unwrap().path_in_container.as_deref(), Some("/dev/fuse"));
        assert_eq!(parse_device("/dev/null:/dev/x:r").unwrap().cgroup_permissions.as_deref(), Some("r"));
        let m = parse_mount("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770").unwrap();
        assert_eq!(m.kind, MountType::Tmpfs);
        assert_eq!(m.tmpfs_options.as_ref().unwrap().size_bytes, Some(1 << 20));
        assert_eq!(m.tmpfs_options.unwrap().mode, Some(0o1770));
        let m = parse_mount("type=bind,src=/a,dst=/b,readonly").unwrap();
        assert_eq!((m.source.as_deref(), m.target.as_str(), m.read_only), (Some("/a"), "/b", Some(true)));
        assert!(parse_mount("type=bind,source=/a").is_err());
        assert_eq!(cap_name("net_admin"), "CAP_NET_ADMIN");
    }

    #[test]
    fn ports_and_networks_fill_the_request_as_dockers_do() {
        let base = || ContainerOpts { restart: "no".into(), pull: "missing".into(), ..Default::default() };
        let o = ContainerOpts {
            publish: vec!["127.0.0.1:8080:80".into(), "53/udp".into()],
            expose: vec!["90".into(), "80".into()],
            publish_all: true,
            network: vec!["front".into()],
            network_alias: vec!["web".into()],
            ip: Some("10.1.0.5".into()),
            ..base()
        };
        let r = o.to_request("busybox", &[], true, true).expect("valid flags");
        let exposed: Vec<&String> = r.config.exposed_ports.as_ref().expect("exposed").keys().collect();
        assert_eq!(exposed, ["53/udp", "80/tcp", "90/tcp"]);
        let h = r.host_config.expect("host config");
        assert_eq!((h.network_mode.as_deref(), h.publish_all_ports), (Some("front"), Some(true)));
        assert_eq!(serde_json::to_string(&h.port_bindings).unwrap(), r#"{"53/udp":[{"HostIp":"","HostPort":""}],"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]}"#);
        let eps = r.networking_config.and_then(|n| n.endpoints_config).expect("endpoints");
        assert_eq!(serde_json::to_string(&eps).unwrap(), r#"{"front":{"IPAMConfig":{"IPv4Address":"10.1.0.5"},"Aliases":["web"]}}"#);
        // Without flags: docker's `default` endpoint, no bindings, nothing exposed.
        let r = base().to_request("busybox", &[], true, true).expect("no flags");
        assert_eq!(serde_json::to_string(&r.networking_config).unwrap(), r#"{"EndpointsConfig":{"default":{}}}"#);
        assert_eq!((r.config.exposed_ports, r.host_config.expect("host").port_bindings), (None, Some(Default::default())));
        // Bad specs: docker's words, status 125.
        for (o, err) in [
            (ContainerOpts { publish: vec!["x".into()], ..base() }, "invalid containerPort: x"),
            (ContainerOpts { expose: vec!["80:90".into()], ..base() }, "invalid port format for --expose: 80:90"),
            (ContainerOpts { network_alias: vec!["a".into()], ..base() }, "network-scoped aliases are only supported for user-defined networks"),
        ] {
            let e = o.to_request("busybox", &[], true, false).unwrap_err();
            assert_eq!((e.message.as_str(), e.status), (err, Some(125)));
        }
    }

    #[test]
    fn unsupported_flags_are_refused_by_name() {
        let o = ContainerOpts { link: vec!["db:db".into()], restart: "no".into(), pull: "missing".into(), ..Default::default() };
        let e = o.to_request("busybox", &[], true, false).unwrap_err();
        assert!(e.message.contains("--link") && e.message.contains("user-defined network"), "{e}");
        assert_eq!(e.status, Some(125));
        let o = ContainerOpts { gpus: Some("all".into()), restart: "no".into(), pull: "missing".into(), ..Default::default() };
        assert!(o.to_request("busybox", &[], true, false).unwrap_err().message.contains("--gpus"));
        let o = ContainerOpts {
            init: true,
            health_cmd: Some("true".into()),
            health_interval: Some("1m30s".into()),
            health_retries: Some(2),
            restart: "no".into(),
            pull: "missing".into(),
            ..Default::default()
        };
        let r = o.to_request("busybox", &[], true, false).unwrap();
        assert_eq!(r.host_config.unwrap().resources.init, Some(true));
        let h = r.config.healthcheck.unwrap();
        assert_eq!((h.test.unwrap(), h.interval, h.retries, h.timeout), (vec!["CMD-SHELL".to_owned(), "true".to_owned()], Some(90_000_000_000), Some(2), None));
        let o = ContainerOpts { no_healthcheck: true, restart: "no".into(), pull: "missing".into(), ..Default::default() };
        assert_eq!(o.to_request("busybox", &[], true, false).unwrap().config.healthcheck.unwrap().test, Some(vec!["NONE".to_owned()]));
        assert_eq!(go_duration("500ms"), Ok(500_000_000));
        assert_eq!(go_duration("1.5h"), Ok(5_400_000_000_000));
        assert!(go_duration("10").is_err());
        assert!(go_duration("3d").is_err());
        let o = ContainerOpts { memory: Some("64m".into()), cpus: Some(1.5), tty: false, restart: "no".into(), pull: "missing".into(), ..Default::default() };
        let r = o.to_request("busybox", &["true".into()], true, true).unwrap();
        let h = r.host_config.unwrap();
        assert_eq!((h.resources.memory, h.resources.nano_cpus), (Some(64 << 20), Some(1_500_000_000)));
        assert_eq!(r.config.cmd, Some(vec!["true".to_owned()]));
        assert_eq!(r.config.attach_stdout, Some(false));
    }
}
