//! `GET /containers/{id}/json`: a container's full record, and the `NetworkSettings` and `Mounts`
//! shapes it shares with the list endpoint.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Config, HostConfig, PortMap};
use crate::network::EndpointSettings;

/// The inspect body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInspect {
    pub id: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    pub path: String,
    pub args: Vec<String>,
    pub state: ContainerState,
    /// The image's ID (`sha256:...`), not the name the user gave (that is `Config.Image`).
    pub image: String,
    /// The image manifest this container was created from (API 1.48+; absent when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_manifest_descriptor: Option<crate::image::OciDescriptor>,
    pub resolv_conf_path: String,
    pub hostname_path: String,
    pub hosts_path: String,
    pub log_path: String,
    /// With Docker's leading slash: `/web`.
    pub name: String,
    pub restart_count: i64,
    pub driver: String,
    pub platform: String,
    pub mount_label: String,
    pub process_label: String,
    pub app_armor_profile: String,
    /// `null`, not `[]`, when there are no execs.
    #[serde(rename = "ExecIDs", default)]
    pub exec_ids: Option<Vec<String>>,
    pub host_config: HostConfig,
    pub graph_driver: GraphDriver,
    /// Only with `?size=1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<i64>,
    pub mounts: Vec<MountPoint>,
    pub config: Config,
    pub network_settings: NetworkSettings,
}

/// `State` of inspect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerState {
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`.
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    /// 0 when not running.
    pub pid: i64,
    pub exit_code: i64,
    pub error: String,
    /// RFC 3339; Go's zero time `0001-01-01T00:00:00Z` when never started/finished.
    pub started_at: String,
    pub finished_at: String,
    /// Absent when the container has no healthcheck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

/// `State.Health`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    /// `none`, `starting`, `healthy`, `unhealthy`.
    pub status: String,
    pub failing_streak: i64,
    /// The last five probes, oldest first.
    #[serde(default)]
    pub log: Option<Vec<HealthcheckResult>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthcheckResult {
    pub start: String,
    pub end: String,
    pub exit_code: i64,
    pub output: String,
}

/// `GraphDriver` (also `DriverData` of image inspect): the storage driver and its paths.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GraphDriver {
    pub name: String,
    /// `LowerDir`, `UpperDir`, `MergedDir`, `WorkDir` for overlay2; may be `null`.
    #[serde(default)]
    pub data: Option<BTreeMap<String, String>>,
}

/// One of inspect's (and list's) `Mounts`: a mount as it is, not as it was asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    #[serde(rename = "Type")]
    pub kind: String,
    /// Volume name, for volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub source: String,
    pub destination: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    pub propagation: String,
}

/// `NetworkSettings` of inspect. The top-level address fields describe the default bridge
/// endpoint (deprecated, still read by old clients); `Networks` is authoritative.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    #[serde(rename = "SandboxID", default, skip_serializing_if = "Option::is_none")]
    pub sandbox_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hairpin_mode: Option<bool>,
    #[serde(
        rename = "LinkLocalIPv6Address",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub link_local_ipv6_address: Option<String>,
    #[serde(
        rename = "LinkLocalIPv6PrefixLen",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub link_local_ipv6_prefix_len: Option<i64>,
    /// Published ports; `{}` when none, and a container port with no binding maps to `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<PortMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_key: Option<String>,
    #[serde(
        rename = "EndpointID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub endpoint_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(
        rename = "GlobalIPv6Address",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub global_ipv6_address: Option<String>,
    #[serde(
        rename = "GlobalIPv6PrefixLen",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub global_ipv6_prefix_len: Option<i64>,
    #[serde(rename = "IPAddress", default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(
        rename = "IPPrefixLen",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ip_prefix_len: Option<i64>,
    #[serde(
        rename = "IPv6Gateway",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv6_gateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// Network name → endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "crate::network::some_endpoints_as_answered")]
    pub networks: Option<BTreeMap<String, EndpointSettings>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::round_trip;

    // Written from the swagger's ContainerInspectResponse example, trimmed to berth's fields.
    const INSPECT: &str = r#"{
      "Id": "aa86eacfb3b3ed4cd362c1e88fc89a53908ad05fb3a4103bca3f9b28292d14bf",
      "Created": "2025-02-17T17:43:39.64001363Z",
      "Path": "/bin/sh", "Args": ["-c", "exit 9"],
      "State": {"Status": "running", "Running": true, "Paused": false, "Restarting": false,
        "OOMKilled": false, "Dead": false, "Pid": 1234, "ExitCode": 0, "Error": "",
        "StartedAt": "2025-02-17T17:43:39.64001363Z", "FinishedAt": "0001-01-01T00:00:00Z",
        "Health": {"Status": "healthy", "FailingStreak": 0, "Log": [
          {"Start": "2019-12-22T10:59:05.6385933Z", "End": "2019-12-22T10:59:05.8078452Z", "ExitCode": 0, "Output": ""}]}},
      "Image": "sha256:72297848456d5d37d1262630108ab308d3e9ec7ed1c3286a32fe09856619a782",
      "ImageManifestDescriptor": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:c0537ff6a5218ef531ece93d4984efc99bbf3f7497c0a7726c88e2bb7584dc96", "size": 424,
        "platform": {"architecture": "amd64", "os": "linux"}},
      "ResolvConfPath": "/var/lib/berth/containers/aa86/resolv.conf",
      "HostnamePath": "/var/lib/berth/containers/aa86/hostname",
      "HostsPath": "/var/lib/berth/containers/aa86/hosts",
      "LogPath": "/var/lib/berth/containers/aa86/aa86-json.log",
      "Name": "/web", "RestartCount": 0, "Driver": "overlayfs", "Platform": "linux",
      "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "", "ExecIDs": null,
      "HostConfig": {"Memory": 0, "NanoCpus": 0, "Binds": null, "NetworkMode": "none",
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "LogConfig": {"Type": "json-file", "Config": {}},
        "PortBindings": {}, "MaskedPaths": ["/proc/asound"], "ReadonlyPaths": ["/proc/bus"]},
      "GraphDriver": {"Name": "overlayfs", "Data": null},
      "Mounts": [{"Type": "volume", "Name": "data", "Source": "/var/lib/berth/volumes/data/_data",
        "Destination": "/data", "Driver": "local", "Mode": "z", "RW": true, "Propagation": ""}],
      "Config": {"Hostname": "aa86eacfb3b3", "Image": "busybox", "Env": ["PATH=/usr/bin"], "Cmd": ["-c", "exit 9"],
        "Entrypoint": ["/bin/sh"], "Labels": {"k": "v"}, "ExposedPorts": {"80/tcp": {}}},
      "NetworkSettings": {"Bridge": "", "SandboxID": "", "SandboxKey": "", "Ports": {"80/tcp": null},
        "Networks": {"none": {"IPAMConfig": null, "Links": null, "Aliases": null, "MacAddress": "",
          "NetworkID": "c2f1", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
          "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": null}}}
    }"#;

    #[test]
    fn inspect_round_trips_and_fields_land() {
        let c: ContainerInspect = round_trip(INSPECT);
        assert_eq!(c.name, "/web");
        assert_eq!(c.image_manifest_descriptor.as_ref().unwrap().size, 424);
        assert_eq!(c.state.pid, 1234);
        assert_eq!(
            c.state.health.as_ref().unwrap().log.as_ref().unwrap()[0].exit_code,
            0
        );
        assert_eq!(c.exec_ids, None);
        assert_eq!(c.host_config.network_mode.as_deref(), Some("none"));
        assert!(c.mounts[0].rw);
        assert_eq!(
            c.network_settings.networks.as_ref().unwrap()["none"]
                .network_id
                .as_deref(),
            Some("c2f1")
        );
    }

    #[test]
    fn exec_ids_null_is_serialized_as_null() {
        let c: ContainerInspect = serde_json::from_str(INSPECT).unwrap();
        let v = serde_json::to_value(&c).unwrap();
        assert!(v["ExecIDs"].is_null() && v.as_object().unwrap().contains_key("ExecIDs"));
        assert!(v["State"]["OOMKilled"].is_boolean());
    }
}
