//! System endpoints: `GET /version`, `GET /info`, `GET /system/df`, `GET /events`.
//!
//! `/_ping` has no JSON body (it answers `OK` with `Api-Version`, `Ostype` and friends as
//! headers), so it has no type here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::error::ErrorResponse;

/// `GET /version`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Version {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<VersionPlatform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<VersionComponent>>,
    pub version: String,
    pub api_version: String,
    /// Spelled `MinAPIVersion`, unlike `ApiVersion`.
    #[serde(
        rename = "MinAPIVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub min_api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_version: Option<String>,
    pub os: String,
    pub arch: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_time: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionPlatform {
    pub name: String,
}

/// One entry of `Components` (`Engine`, `containerd`, `runc`, ...).
///
/// `docker version` prints the `Engine` component's `Details` (`ApiVersion`, `MinAPIVersion`,
/// `GitCommit`, `GoVersion`, `Os`, `Arch`, `KernelVersion`, `BuildTime`, `Experimental`), not
/// the top-level fields, for its "Server: Engine" block; fill both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionComponent {
    pub name: String,
    pub version: String,
    /// Free-form key/values (`GitCommit`, `ApiVersion`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<BTreeMap<String, serde_json::Value>>,
}

/// `GET /info`: the subset berth reports. Clients read it leniently; `docker info` prints what is
/// there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Info {
    #[serde(rename = "ID")]
    pub id: String,
    pub containers: i64,
    pub containers_running: i64,
    pub containers_paused: i64,
    pub containers_stopped: i64,
    pub images: i64,
    pub driver: String,
    /// Pairs such as `[["Backing Filesystem","extfs"]]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_status: Option<Vec<[String; 2]>>,
    pub docker_root_dir: String,
    /// Plugin names by kind; `docker info` prints these lists under "Plugins".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugins: Option<PluginsInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_limit: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_cfs_period: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_cfs_quota: Option<bool>,
    #[serde(rename = "CPUShares", default, skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<bool>,
    #[serde(rename = "CPUSet", default, skip_serializing_if = "Option::is_none")]
    pub cpu_set: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_kill_disable: Option<bool>,
    #[serde(
        rename = "IPv4Forwarding",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv4_forwarding: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<bool>,
    #[serde(rename = "NFd", default, skip_serializing_if = "Option::is_none")]
    pub n_fd: Option<i64>,
    #[serde(
        rename = "NGoroutines",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub n_goroutines: Option<i64>,
    /// RFC 3339 with nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_time: Option<String>,
    pub logging_driver: String,
    /// `cgroupfs` or `systemd`.
    pub cgroup_driver: String,
    /// `"1"` or `"2"`, a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_version: Option<String>,
    #[serde(
        rename = "NEventsListener",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub n_events_listener: Option<i64>,
    pub kernel_version: String,
    pub operating_system: String,
    #[serde(rename = "OSVersion", default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(rename = "OSType")]
    pub os_type: String,
    pub architecture: String,
    #[serde(rename = "NCPU")]
    pub ncpu: i64,
    pub mem_total: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_server_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_proxy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_proxy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_proxy: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental_build: Option<bool>,
    pub server_version: String,
    /// Runtime name → runtime. Docker always lists at least `runc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtimes: Option<BTreeMap<String, Runtime>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_runtime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_restore_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_binary: Option<String>,
    /// `docker info` prints `Swarm: <LocalNodeState>`; berth answers `inactive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm: Option<SwarmInfo>,
    /// Printed as "containerd version"; berth has no containerd and may leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containerd_commit: Option<Commit>,
    /// Printed as "runc version": the OCI runtime's commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runc_commit: Option<Commit>,
    /// Printed as "init version".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_commit: Option<Commit>,
    /// `name=seccomp,profile=builtin`, `name=cgroupns`, `name=rootless`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_options: Option<Vec<String>>,
    /// `docker info` prints "Insecure Registries" and "Registry Mirrors" from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_config: Option<RegistryServiceConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

/// `Info.Plugins`: names of the volume, network, authorization and log plugins (drivers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PluginsInfo {
    #[serde(default)]
    pub volume: Option<Vec<String>>,
    #[serde(default)]
    pub network: Option<Vec<String>>,
    #[serde(default)]
    pub authorization: Option<Vec<String>>,
    #[serde(default)]
    pub log: Option<Vec<String>>,
}

/// `Info.Swarm`, reduced to what a non-swarm daemon reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SwarmInfo {
    /// `""`, `inactive`, `pending`, `active`, `error`, `locked`.
    #[serde(rename = "LocalNodeState", default)]
    pub local_node_state: String,
    #[serde(rename = "NodeID", default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_addr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_available: Option<bool>,
}

/// `Info.RegistryConfig`: the registries a daemon reaches over plain HTTP, and its mirrors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegistryServiceConfig {
    /// Address ranges whose registries are insecure (loopback's, and CIDRs given).
    #[serde(rename = "InsecureRegistryCIDRs", default)]
    pub insecure_registry_cidrs: Vec<String>,
    /// Registry name (`docker.io`, `host:port`) → what the daemon knows of it.
    #[serde(default)]
    pub index_configs: BTreeMap<String, IndexInfo>,
    /// `https://host[:port]/`, with Docker's trailing slash.
    #[serde(default)]
    pub mirrors: Vec<String>,
}

/// One registry of [`RegistryServiceConfig::index_configs`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexInfo {
    pub name: String,
    #[serde(default)]
    pub mirrors: Vec<String>,
    /// false: plain HTTP allowed.
    pub secure: bool,
    /// Docker Hub.
    pub official: bool,
}

/// `{"ID": "<commit>"}` of `ContainerdCommit`, `RuncCommit`, `InitCommit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    #[serde(rename = "ID")]
    pub id: String,
}

/// An OCI runtime in `Info.Runtimes`. Lower-case names, unlike the rest of `Info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runtime {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(
        rename = "runtimeArgs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub runtime_args: Option<Vec<String>>,
}

/// `GET /system/df`, minimal: the per-kind lists are kept as raw JSON so the server can fill them
/// with the list types (`ImageSummary`, `ContainerSummary`, `Volume`) it already has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SystemDf {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<crate::image::ImageSummary>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<crate::container::ContainerSummary>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<crate::volume::Volume>>,
    /// Build cache records; berth has none yet and answers `[]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_cache: Option<Vec<serde_json::Value>>,
}

/// One line of `GET /events` (a stream of JSON objects, one per line).
///
/// Docker mixes cases here: `Type`, `Action`, `Actor` but `scope`, `time`, `timeNano`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMessage {
    /// `container`, `image`, `volume`, `network`, `daemon`, ...
    #[serde(rename = "Type")]
    pub kind: String,
    /// `create`, `start`, `die`, `health_status: healthy`, `exec_start: sh`, ...
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: EventActor,
    /// `local` or `swarm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Unix seconds.
    pub time: i64,
    /// Unix nanoseconds.
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
    /// Pre-1.22 duplicates of Type/Actor that docker still sends for containers
    /// (`status`, `id`, `from`); kept so a round trip loses nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventActor {
    #[serde(rename = "ID")]
    pub id: String,
    /// Labels of the object plus event details (`name`, `image`, `exitCode`, ...).
    #[serde(rename = "Attributes", default)]
    pub attributes: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::round_trip;

    #[test]
    fn version_round_trips_with_docker_names() {
        let json = r#"{"Platform":{"Name":"berth"},"Components":[{"Name":"Engine","Version":"0.1.0","Details":{"ApiVersion":"1.51","MinAPIVersion":"1.24"}}],
            "Version":"0.1.0","ApiVersion":"1.51","MinAPIVersion":"1.24","GitCommit":"abc","GoVersion":"n/a",
            "Os":"linux","Arch":"amd64","KernelVersion":"6.1.0","BuildTime":"2026-01-01T00:00:00.000000000+00:00"}"#;
        let v: Version = round_trip(json);
        assert_eq!(v.api_version, "1.51");
        assert_eq!(v.min_api_version.as_deref(), Some("1.24"));
        assert_eq!(v.components.unwrap()[0].name, "Engine");
    }

    #[test]
    fn info_round_trips_with_irregular_names() {
        let json = r#"{"ID":"7TRN:IPZB","Containers":3,"ContainersRunning":1,"ContainersPaused":0,"ContainersStopped":2,
            "Images":5,"Driver":"overlay2","DriverStatus":[["Backing Filesystem","extfs"]],"DockerRootDir":"/var/lib/berth",
            "MemoryLimit":true,"SwapLimit":true,"CpuCfsPeriod":true,"CpuCfsQuota":true,"CPUShares":true,"CPUSet":true,
            "PidsLimit":true,"IPv4Forwarding":true,"NFd":20,"NGoroutines":0,"LoggingDriver":"json-file",
            "CgroupDriver":"cgroupfs","CgroupVersion":"2","KernelVersion":"6.1.0","OperatingSystem":"Debian GNU/Linux 13",
            "OSVersion":"13","OSType":"linux","Architecture":"x86_64","NCPU":2,"MemTotal":4124942336,"Name":"host",
            "ServerVersion":"0.1.0","Runtimes":{"runc":{"path":"runc"},"berth":{"path":"/usr/bin/berth-runtime","runtimeArgs":["--debug"]}},
            "DefaultRuntime":"runc","LiveRestoreEnabled":true,"SecurityOptions":["name=seccomp,profile=builtin","name=cgroupns"],
            "Plugins":{"Volume":["local"],"Network":["bridge","host","null"],"Authorization":null,"Log":["json-file","local"]},
            "Swarm":{"NodeID":"","NodeAddr":"","LocalNodeState":"inactive","ControlAvailable":false},
            "RuncCommit":{"ID":"v1.2.5"},"InitCommit":{"ID":"berth"},"Warnings":[]}"#;
        let info: Info = round_trip(json);
        assert_eq!(info.swarm.as_ref().unwrap().local_node_state, "inactive");
        assert_eq!(
            info.plugins.as_ref().unwrap().log.as_ref().unwrap()[0],
            "json-file"
        );
        assert_eq!(info.runc_commit.as_ref().unwrap().id, "v1.2.5");
        assert_eq!(info.ncpu, 2);
        assert_eq!(info.os_type, "linux");
        assert_eq!(info.cgroup_version.as_deref(), Some("2"));
        assert_eq!(
            info.runtimes.unwrap()["berth"].runtime_args.as_deref(),
            Some(&["--debug".to_owned()][..])
        );
    }

    #[test]
    fn info_ignores_fields_berth_does_not_model() {
        let json = r#"{"ID":"x","Containers":0,"ContainersRunning":0,"ContainersPaused":0,"ContainersStopped":0,"Images":0,
            "Driver":"overlay2","DockerRootDir":"/d","LoggingDriver":"json-file","CgroupDriver":"systemd",
            "KernelVersion":"6","OperatingSystem":"x","OSType":"linux","Architecture":"aarch64","NCPU":1,"MemTotal":1,
            "Name":"n","ServerVersion":"28.2.2","ClusterStore":"","RegistryConfig":{"Mirrors":[]},"FirewallBackend":{"Driver":"iptables"}}"#;
        let info: Info = serde_json::from_str(json).unwrap();
        assert_eq!(info.architecture, "aarch64");
        assert_eq!(info.registry_config.as_ref().map(|r| r.mirrors.len()), Some(0));
        assert!(!serde_json::to_string(&info)
            .unwrap()
            .contains("FirewallBackend"));
    }

    #[test]
    fn event_mixes_cases_as_docker_does() {
        let json = r#"{"status":"start","id":"4fa6e0f0","from":"busybox","Type":"container","Action":"start",
            "Actor":{"ID":"4fa6e0f0","Attributes":{"image":"busybox","name":"web"}},"scope":"local",
            "time":1764000000,"timeNano":1764000000123456789}"#;
        let e: EventMessage = round_trip(json);
        assert_eq!(e.kind, "container");
        assert_eq!(e.actor.attributes["name"], "web");
        assert_eq!(e.time_nano, 1764000000123456789);
    }

    #[test]
    fn system_df_minimal() {
        let df: SystemDf = round_trip(
            r#"{"LayersSize":1092588,"Images":[],"Containers":[],"Volumes":[],"BuildCache":[]}"#,
        );
        assert_eq!(df.layers_size, Some(1092588));
    }
}
