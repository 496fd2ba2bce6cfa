//! The engine's configuration: resolved once by `berthd` from its flags and daemon.json and
//! passed down. Every path and name is here, so tests run many engines side by side.

use std::path::PathBuf;

use berth_api_types::container::Ulimit;

#[derive(Debug, Clone)]
pub struct Config {
    /// Persistent state: images, container records and logs (`--data-root`).
    pub data_root: PathBuf,
    /// Runtime state, lost on reboot: shim sockets, bundles, the runtime's state (`--exec-root`).
    pub exec_root: PathBuf,
    /// The `berth-shim` binary (`berth-shim-serve` must sit next to it).
    pub shim_bin: PathBuf,
    /// Containers' cgroups go under this (`--cgroup-parent`), one level per engine.
    pub cgroup_parent: String,
    /// `--default-ulimit`: applied to containers that set no ulimit of that name.
    pub default_ulimits: Vec<Ulimit>,
    /// Seconds a container gets between StopSignal and SIGKILL when it sets none.
    pub default_stop_timeout: i64,
    /// Registries: mirrors, insecure ones, CA files, download concurrency.
    pub registry: berth_image::registry::RegistryConfig,
    /// Bridges, address pools, iptables.
    pub network: crate::network::NetConfig,
    /// OCI runtime binaries by name (`--add-runtime`, daemon.json `runtimes`).
    pub runtimes: std::collections::BTreeMap<String, crate::container::runtime::RuntimeConfig>,
    /// The runtime of containers that name none: `berth` (built in) or a key of `runtimes`.
    pub default_runtime: String,
}

impl Config {
    pub fn containers_dir(&self) -> PathBuf {
        self.data_root.join("containers")
    }

    pub fn image_root(&self) -> PathBuf {
        self.data_root.join("image")
    }

    pub fn runtime_root(&self) -> PathBuf {
        self.exec_root.join("rt")
    }

    /// Per-container runtime directory: bundle, shim state, exec shims. Named by the first 16
    /// digits of the id (unique: `create` sees to it), so socket paths under it stay far below
    /// the 108 bytes a socket address holds.
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.exec_root.join("c").join(&id[..id.len().min(16)])
    }

    /// An exec's directory under its container's.
    pub fn exec_dir(&self, container: &str, exec: &str) -> PathBuf {
        self.run_dir(container).join("x").join(&exec[..exec.len().min(16)])
    }
}
