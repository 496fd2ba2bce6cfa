//! `HostConfig`: the non-portable part of a container's configuration (resources, mounts,
//! namespaces, network mode, ports), and `Resources`, the part `POST /containers/{id}/update`
//! can change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `HostConfig`, as sent in `POST /containers/create` and returned by inspect.
///
/// Docker's `HostConfig` embeds `Resources`; here that is [`Resources`] flattened in, so the JSON
/// stays flat (`{"Memory": ..., "Binds": ...}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    #[serde(flatten)]
    pub resources: Resources,
    /// `-v` strings: `src:dst[:opts]` where `src` is a host path or a volume name.
    #[serde(default)]
    pub binds: Option<Vec<String>>,
    #[serde(
        rename = "ContainerIDFile",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub container_id_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_config: Option<LogConfig>,
    /// `default`, `bridge`, `host`, `none`, `container:<id|name>` or a network name. docker CLI
    /// sends `default` when `--network` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_bindings: Option<PortMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_remove: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_driver: Option<String>,
    /// `container[:ro|:rw]`.
    #[serde(default)]
    pub volumes_from: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mounts: Option<Vec<Mount>>,
    /// `[height, width]` of the initial TTY; `[0, 0]` when not a TTY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Capability names, with or without `CAP_` (docker CLI 28 adds the prefix), or `ALL`.
    #[serde(default)]
    pub cap_add: Option<Vec<String>>,
    #[serde(default)]
    pub cap_drop: Option<Vec<String>>,
    /// `private`, `host` or `""` (daemon default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroupns_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_options: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_search: Option<Vec<String>>,
    /// `host:ip` (or `host=ip`); `host-gateway` as ip is the daemon's gateway address.
    #[serde(default)]
    pub extra_hosts: Option<Vec<String>>,
    #[serde(default)]
    pub group_add: Option<Vec<String>>,
    /// `""`, `none`, `private`, `shareable`, `host` or `container:<id|name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(default)]
    pub links: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
    /// `""`, `host` or `container:<id|name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_all_ports: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly_rootfs: Option<bool>,
    /// `no-new-privileges[:true]`, `seccomp=unconfined|<profile JSON>`, `apparmor=...`,
    /// `label=...`. The docker CLI reads a `seccomp=<file>` itself and sends the file's content.
    #[serde(default)]
    pub security_opt: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_opt: Option<BTreeMap<String, String>>,
    /// Container path → mount options (`{"/run": "size=64m"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<BTreeMap<String, String>>,
    #[serde(rename = "UTSMode", default, skip_serializing_if = "Option::is_none")]
    pub uts_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    /// Bytes of /dev/shm; 0 means the default (64 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysctls: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<String>,
    /// `null` means the default list; `[]` means mask nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked_paths: Option<Vec<String>>,
    /// `null` means the default list; `[]` means none read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly_paths: Option<Vec<String>>,
}

/// Resource limits: flattened into [`HostConfig`] and the body of `POST /containers/{id}/update`.
///
/// Zero means "not set" for the numeric limits, as in Docker; `MemorySwap: -1` is unlimited swap,
/// `MemorySwappiness: -1` the kernel default, and `PidsLimit` 0 or -1 unlimited.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blkio_weight: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blkio_weight_device: Option<Vec<WeightDevice>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blkio_device_read_bps: Option<Vec<ThrottleDevice>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blkio_device_write_bps: Option<Vec<ThrottleDevice>>,
    #[serde(
        rename = "BlkioDeviceReadIOps",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub blkio_device_read_iops: Option<Vec<ThrottleDevice>>,
    #[serde(
        rename = "BlkioDeviceWriteIOps",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub blkio_device_write_iops: Option<Vec<ThrottleDevice>>,
    /// Microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<i64>,
    /// Microseconds per `CpuPeriod`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_realtime_period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_realtime_runtime: Option<i64>,
    /// `0-3`, `0,1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset_cpus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset_mems: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<DeviceMapping>>,
    /// `c 1:3 mr`, `b 7:* rmw`.
    #[serde(default)]
    pub device_cgroup_rules: Option<Vec<String>>,
    #[serde(default)]
    pub device_requests: Option<Vec<DeviceRequest>>,
    #[serde(
        rename = "KernelMemoryTCP",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub kernel_memory_tcp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    /// Memory plus swap, bytes; -1 unlimited swap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swappiness: Option<i64>,
    /// CPUs in units of 10⁻⁹ (`--cpus 1.5` is 1500000000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nano_cpus: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_kill_disable: Option<bool>,
    /// `null` means the daemon default, `true`/`false` override it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(default)]
    pub pids_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ulimits: Option<Vec<Ulimit>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<i64>,
    #[serde(
        rename = "IOMaximumIOps",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub io_maximum_iops: Option<u64>,
    #[serde(
        rename = "IOMaximumBandwidth",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub io_maximum_bandwidth: Option<u64>,
}

/// Container port (`80/tcp`) → host bindings. A port's value may be `null` (exposed, not
/// published).
pub type PortMap = BTreeMap<String, Option<Vec<PortBinding>>>;

/// One host binding of a container port. `HostPort` is a string (`"8080"`, `"8000-8010"`, or
/// `""` for an ephemeral port); `HostIp` `""` means all addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortBinding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<String>,
}

/// `RestartPolicy`. `Name` is `""` or `no` (never), `always`, `unless-stopped` or `on-failure`;
/// `MaximumRetryCount` only counts for `on-failure`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestartPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_retry_count: Option<i64>,
}

/// `LogConfig`: driver (`json-file`, `local`, `none`; `""` is the daemon default) and its options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogConfig {
    #[serde(rename = "Type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<BTreeMap<String, String>>,
}

/// `--ulimit nofile=1024:2048` is `{"Name":"nofile","Soft":1024,"Hard":2048}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// `--device /dev/null:/dev/xnull:rwm`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceMapping {
    pub path_on_host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_in_container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_permissions: Option<String>,
}

/// `--gpus` and CDI device requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// -1 means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(rename = "DeviceIDs", default, skip_serializing_if = "Option::is_none")]
    pub device_ids: Option<Vec<String>>,
    /// An OR of ANDs: `[["gpu", "nvidia"]]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WeightDevice {
    pub path: String,
    pub weight: u16,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ThrottleDevice {
    pub path: String,
    pub rate: u64,
}

/// One `--mount` (`HostConfig.Mounts` item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mount {
    #[serde(rename = "Type")]
    pub kind: MountType,
    /// Host path (bind), volume name (volume; empty for an anonymous one); unused for tmpfs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_options: Option<ImageOptions>,
}

/// `Mount.Type`. An unknown type is a deserialization error (the API answers 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    Bind,
    Volume,
    Tmpfs,
    Image,
    Npipe,
    Cluster,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BindOptions {
    /// `private`, `rprivate`, `shared`, `rshared`, `slave`, `rslave`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_recursive: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_mountpoint: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_non_recursive: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_force_recursive: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeOptions {
    /// Do not copy the image's content at the target into a new volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_copy: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<VolumeDriverConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeDriverConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TmpfsOptions {
    /// Bytes; 0 or absent means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    /// Permission bits as an integer (`1777` octal is sent as 1023).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Extra mount options as pairs: `[["noexec"], ["uid", "1000"]]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<Vec<String>>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::round_trip;

    #[test]
    fn mounts_of_each_type() {
        let json = r#"[{"Type":"bind","Source":"/srv","Target":"/srv","ReadOnly":true,
              "BindOptions":{"Propagation":"rslave","CreateMountpoint":true}},
            {"Type":"volume","Source":"data","Target":"/data","VolumeOptions":{"NoCopy":true,"Labels":{"a":"b"},
              "DriverConfig":{"Name":"local","Options":{"type":"tmpfs"}},"Subpath":"sub"}},
            {"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1048576,"Mode":1023,"Options":[["noexec"]]}}]"#;
        let mounts: Vec<Mount> = round_trip(json);
        assert_eq!(mounts[0].kind, MountType::Bind);
        assert_eq!(
            mounts[0]
                .bind_options
                .as_ref()
                .unwrap()
                .propagation
                .as_deref(),
            Some("rslave")
        );
        assert_eq!(
            mounts[1].volume_options.as_ref().unwrap().no_copy,
            Some(true)
        );
        assert_eq!(
            mounts[2].tmpfs_options.as_ref().unwrap().size_bytes,
            Some(1 << 20)
        );
    }

    #[test]
    fn unknown_mount_type_is_an_error() {
        let bad = r#"{"Type":"nfs","Target":"/x"}"#;
        assert!(serde_json::from_str::<Mount>(bad).is_err());
    }

    #[test]
    fn resources_use_dockers_irregular_names() {
        let json = r#"{"Memory":1,"NanoCpus":2,"CpuShares":3,"BlkioDeviceReadIOps":[{"Path":"/dev/sda","Rate":5}],
            "KernelMemoryTCP":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"PidsLimit":-1,"Init":null}"#;
        let r: Resources = serde_json::from_str(json).unwrap();
        assert_eq!(r.blkio_device_read_iops.as_ref().unwrap()[0].rate, 5);
        assert_eq!(r.pids_limit, Some(-1));
        assert_eq!(r.init, None);
        let out = serde_json::to_string(&r).unwrap();
        for name in [
            "\"NanoCpus\"",
            "\"CpuShares\"",
            "\"BlkioDeviceReadIOps\"",
            "\"KernelMemoryTCP\"",
            "\"IOMaximumIOps\"",
        ] {
            assert!(out.contains(name), "{name} missing from {out}");
        }
    }

    #[test]
    fn wrong_types_are_errors_even_inside_the_flattened_resources() {
        assert!(serde_json::from_str::<HostConfig>(r#"{"Memory":"64m"}"#).is_err());
        assert!(serde_json::from_str::<HostConfig>(r#"{"Privileged":"yes"}"#).is_err());
        assert!(serde_json::from_str::<HostConfig>(r#"{"Binds":"/a:/b"}"#).is_err());
    }

    #[test]
    fn port_map_keeps_null_bindings() {
        let json = r#"{"80/tcp":[{"HostIp":"","HostPort":"8080"}],"53/udp":null}"#;
        let ports: PortMap = round_trip(json);
        assert_eq!(
            ports["80/tcp"].as_ref().unwrap()[0].host_port.as_deref(),
            Some("8080")
        );
        assert!(ports["53/udp"].is_none());
    }
}
