//! `GET /info`, `GET /version` and `GET /system/df`: what this daemon is and holds.

use berth_api_types::system::{Commit, IndexInfo, Info, PluginsInfo, RegistryServiceConfig, Version, VersionComponent, VersionPlatform};
use berth_api_types::version::{MAX_API_VERSION, MIN_API_VERSION};

use crate::container::record::Status;
use crate::error::{Error, Result};
use crate::policy::Principal;
use crate::Engine;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_owned())))
        .unwrap_or_else(|| "Linux".into())
}

fn kernel() -> String {
    rustix::system::uname().release().to_string_lossy().into_owned()
}

/// The host's memory in bytes (`MemTotal`), read once, as dockerd does; 0 if /proc/meminfo
/// cannot be read.
pub(crate) fn machine_memory() -> u64 {
    static TOTAL: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TOTAL.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("MemTotal:").and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())))
            .unwrap_or(0)
            * 1024
    })
}

impl Engine {
    pub fn version(&self) -> Version {
        let api = MAX_API_VERSION.to_string();
        let min = MIN_API_VERSION.to_string();
        Version {
            platform: Some(VersionPlatform { name: "berth".into() }),
            components: Some(vec![VersionComponent {
                name: "Engine".into(),
                version: VERSION.into(),
                details: Some([("ApiVersion".to_owned(), api.clone().into()), ("MinAPIVersion".to_owned(), min.clone().into()), ("Os".to_owned(), "linux".into()), ("Arch".to_owned(), docker_arch().into()), ("GoVersion".to_owned(), "n/a (Rust)".into()), ("GitCommit".to_owned(), "-".into()), ("BuildTime".to_owned(), "-".into()), ("Experimental".to_owned(), "false".into())].into()),
            }]),
            version: VERSION.into(),
            api_version: api,
            min_api_version: Some(min),
            git_commit: Some("-".into()),
            go_version: Some("n/a (Rust)".into()),
            os: "linux".into(),
            arch: docker_arch().into(),
            kernel_version: Some(kernel()),
            experimental: Some(false),
            build_time: Some("-".into()),
        }
    }

    pub fn info(&self, principal: &Principal) -> Info {
        let ctrs = self.visible(principal);
        let count = |f: &dyn Fn(Status) -> bool| ctrs.iter().filter(|c| f(c.rec().state.status)).count() as i64;
        let mem_total = machine_memory() as i64;
        let mode = berth_runtime::cgroups::Hierarchies::detect().map(|h| h.mode()).ok();
        let cgroup_version = match mode {
            Some(berth_runtime::cgroups::Mode::V2) => "2",
            _ => "1",
        };
        Info {
            id: self.daemon_id(),
            containers: ctrs.len() as i64,
            containers_running: count(&|s| s == Status::Running || s == Status::Restarting),
            containers_paused: count(&|s| s == Status::Paused),
            containers_stopped: count(&|s| !s.is_live() && s != Status::Restarting),
            images: self.images.list().len() as i64,
            driver: "overlayfs".into(),
            driver_status: Some(vec![]),
            docker_root_dir: self.cfg.data_root.to_string_lossy().into_owned(),
            plugins: Some(PluginsInfo { volume: Some(vec!["local".into()]), network: Some(vec!["host".into(), "null".into()]), authorization: None, log: Some(vec!["json-file".into(), "local".into(), "none".into()]) }),
            memory_limit: Some(true),
            swap_limit: Some(true),
            cpu_cfs_period: Some(true),
            cpu_cfs_quota: Some(true),
            cpu_shares: Some(true),
            cpu_set: Some(true),
            pids_limit: Some(true),
            oom_kill_disable: Some(cgroup_version == "1"),
            ipv4_forwarding: Some(std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").is_ok_and(|s| s.trim() == "1")),
            debug: Some(false),
            n_fd: std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as i64),
            n_goroutines: Some(0),
            system_time: Some(crate::time::now()),
            logging_driver: "json-file".into(),
            cgroup_driver: "cgroupfs".into(),
            cgroup_version: Some(cgroup_version.into()),
            n_events_listener: Some(0),
            kernel_version: kernel(),
            operating_system: os_name(),
            os_version: None,
            os_type: "linux".into(),
            architecture: rustix::system::uname().machine().to_string_lossy().into_owned(),
            ncpu: std::thread::available_parallelism().map(|n| n.get() as i64).unwrap_or(1),
            mem_total,
            index_server_address: Some("https://index.docker.io/v1/".into()),
            http_proxy: Some(String::new()),
            https_proxy: Some(String::new()),
            no_proxy: Some(String::new()),
            name: rustix::system::uname().nodename().to_string_lossy().into_owned(),
            labels: Some(vec![]),
            experimental_build: Some(false),
            server_version: VERSION.into(),
            runtimes: Some(self.runtimes_info()),
            default_runtime: Some(self.cfg.default_runtime.clone()),
            live_restore_enabled: Some(true),
            isolation: Some(String::new()),
            init_binary: Some(String::new()),
            // Scripts check `{{.Swarm.LocalNodeState}}` before swarm commands.
            swarm: Some(berth_api_types::system::SwarmInfo { local_node_state: "inactive".into(), node_id: Some(String::new()), node_addr: Some(String::new()), control_available: Some(false) }),
            security_options: Some(vec!["name=seccomp,profile=builtin".into(), "name=cgroupns".into()]),
            registry_config: Some(self.registry_info()),
            // No containerd; the built-in runtime and init are this build's.
            containerd_commit: Some(Commit { id: String::new() }),
            runc_commit: Some(Commit { id: if self.runtime_name(None).is_ok_and(|n| n == crate::container::runtime::BUILT_IN) { VERSION.into() } else { String::new() } }),
            init_commit: Some(Commit { id: VERSION.into() }),
            warnings: Some(vec![]),
        }
    }

    /// `Info.RegistryConfig`: loopback and `--insecure-registry` CIDRs, the other insecure
    /// registries by name, Docker Hub with the `--registry-mirror`s.
    fn registry_info(&self) -> RegistryServiceConfig {
        let reg = &self.cfg.registry;
        let mirrors: Vec<String> = reg.mirrors.iter().map(|m| format!("{m}/")).collect();
        let (cidrs, names): (Vec<&String>, Vec<&String>) = reg.insecure_registries.iter().partition(|r| r.contains('/'));
        let mut index_configs = std::collections::BTreeMap::new();
        index_configs.insert("docker.io".to_owned(), IndexInfo { name: "docker.io".into(), mirrors: mirrors.clone(), secure: true, official: true });
        for n in names {
            index_configs.insert(n.clone(), IndexInfo { name: n.clone(), mirrors: vec![], secure: false, official: false });
        }
        let insecure_registry_cidrs = ["::1/128", "127.0.0.0/8"].into_iter().map(str::to_owned).chain(cidrs.into_iter().cloned()).collect();
        RegistryServiceConfig { insecure_registry_cidrs, index_configs, mirrors }
    }

    /// A stable id for this daemon, kept in the data root.
    fn daemon_id(&self) -> String {
        let p = self.cfg.data_root.join("engine-id");
        if let Ok(s) = std::fs::read_to_string(&p) {
            return s.trim().to_owned();
        }
        let id = crate::container::record::new_id();
        let _ = berth_shim::exit::write_durable(&p, id.as_bytes());
        id
    }
}

fn docker_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        other => other,
    }
}

impl Engine {
    /// `GET /system/df`: images (with how many containers use each), containers with their
    /// sizes, no volumes or build cache yet. `kinds` narrows it (`container`, `image`,
    /// `volume`, `build-cache`); empty is all.
    pub fn disk_usage(&self, principal: &Principal, kinds: &[String]) -> Result<berth_api_types::system::SystemDf> {
        for k in kinds {
            if !matches!(k.as_str(), "container" | "image" | "volume" | "build-cache") {
                return Err(Error::InvalidParameter(format!("unknown object type: {k}")));
            }
        }
        let want = |k: &str| kinds.is_empty() || kinds.iter().any(|x| x == k);
        let mut df = berth_api_types::system::SystemDf::default();
        if want("image") {
            let mut images = self.image_list(principal, true, &Default::default())?;
            self.count_image_uses(&mut images);
            df.layers_size = Some(crate::container::inspect::du(&self.images.layers_dir()) as i64);
            df.images = Some(images);
        }
        if want("container") {
            let opts = crate::container::inspect::ListOptions { all: true, limit: None, size: true, filters: Default::default() };
            df.containers = Some(self.list(principal, &opts)?);
        }
        if want("volume") {
            let mut vols = self.volume_list(principal, &Default::default())?.volumes;
            for v in &mut vols {
                v.usage_data = Some(self.volume_usage(&v.name));
            }
            df.volumes = Some(vols);
        }
        // `build-cache` is asked for, or not: berth has no builds, so BuildCache stays null, as
        // dockerd has it without one.
        Ok(df)
    }
}
