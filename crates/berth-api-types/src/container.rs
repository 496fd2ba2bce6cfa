//! Container endpoints: create, list, inspect, wait, update, top, changes, stats, archive, prune.
//!
//! The configuration types live in [`config`] (`Config`) and [`host_config`] (`HostConfig`,
//! `Resources`, `Mount`); inspect's in [`inspect`]; stats in [`stats`].

pub mod config;
pub mod host_config;
pub mod inspect;
pub mod stats;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use config::{Config, HealthConfig};
pub use host_config::{
    BindOptions, DeviceMapping, DeviceRequest, HostConfig, LogConfig, Mount, MountType,
    PortBinding, PortMap, Resources, RestartPolicy, ThrottleDevice, TmpfsOptions, Ulimit,
    VolumeOptions, WeightDevice,
};
pub use inspect::{
    ContainerInspect, ContainerState, GraphDriver, Health, HealthcheckResult, MountPoint,
    NetworkSettings,
};
pub use stats::ContainerStats;

use crate::network::EndpointSettings;

/// `POST /containers/create?name=...` body: the [`Config`] fields at top level, plus
/// `HostConfig` and `NetworkingConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerCreateRequest {
    #[serde(flatten)]
    pub config: Config,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_config: Option<HostConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networking_config: Option<NetworkingConfig>,
}

/// `NetworkingConfig`: network name → endpoint settings to connect with at create time.
/// docker CLI 28 sends `{"default": {...}}` when `--network` is not given, and `{}` for `none`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkingConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints_config: Option<BTreeMap<String, EndpointSettings>>,
}

/// `201` answer to create. `Warnings` is `[]`, never `null`, in dockerd 28.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerCreateResponse {
    pub id: String,
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// One item of `GET /containers/json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerSummary {
    pub id: String,
    /// With leading slashes: `["/web"]`.
    pub names: Vec<String>,
    /// The name the container was created from (or the image ID if that name is gone).
    pub image: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    /// The image manifest this container was created from (API 1.48+; absent when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_manifest_descriptor: Option<crate::image::OciDescriptor>,
    /// Entrypoint and Cmd joined with spaces.
    pub command: String,
    /// Unix seconds.
    pub created: i64,
    pub ports: Vec<Port>,
    /// Only with `?size=1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<i64>,
    pub labels: BTreeMap<String, String>,
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`.
    pub state: String,
    /// Human text: `Up 2 minutes (healthy)`, `Exited (0) 5 seconds ago`.
    pub status: String,
    pub host_config: SummaryHostConfig,
    pub network_settings: SummaryNetworkSettings,
    pub mounts: Vec<MountPoint>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SummaryHostConfig {
    pub network_mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SummaryNetworkSettings {
    #[serde(serialize_with = "crate::network::endpoints_as_answered")]
    pub networks: BTreeMap<String, EndpointSettings>,
}

/// A port in the list's `Ports`: one item per binding (and one without `PublicPort` for an
/// exposed, unpublished port).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Port {
    #[serde(rename = "IP", default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    pub private_port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_port: Option<u16>,
    /// `tcp`, `udp`, `sctp`.
    #[serde(rename = "Type")]
    pub kind: String,
}

/// `POST /containers/{id}/wait` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerWaitResponse {
    pub status_code: i64,
    /// Only when waiting itself failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<WaitExitError>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitExitError {
    pub message: String,
}

/// `POST /containers/{id}/update` body: resources plus the restart policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerUpdate {
    #[serde(flatten)]
    pub resources: Resources,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerUpdateResponse {
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// `GET /containers/{id}/top`: `ps` output split into columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerTop {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

/// One item of `GET /containers/{id}/changes` (`null` body when nothing changed, as dockerd).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerChange {
    pub path: String,
    /// 0 modified, 1 added, 2 deleted.
    pub kind: u8,
}

/// The JSON inside the `X-Docker-Container-Path-Stat` header of `HEAD`/`GET
/// /containers/{id}/archive` (standard base64 of this object; see [`ContainerPathStat::to_header`]).
///
/// `mode` is Go's `os.FileMode`: permission bits plus Go's type bits (directory `1 << 31`, symlink
/// `1 << 27`), not the `st_mode` of stat(2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerPathStat {
    pub name: String,
    pub size: i64,
    pub mode: u32,
    /// RFC 3339.
    pub mtime: String,
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

impl ContainerPathStat {
    /// The header value: standard base64 (with padding) of the JSON.
    pub fn to_header(&self) -> String {
        let json =
            serde_json::to_vec(self).expect("a struct of strings and integers always serializes");
        crate::header::encode_std(&json)
    }

    /// Reads a header value written by dockerd or [`ContainerPathStat::to_header`].
    pub fn from_header(value: &str) -> Result<Self, crate::header::HeaderError> {
        let bytes = crate::header::decode(value).ok_or(crate::header::HeaderError::Base64)?;
        serde_json::from_slice(&bytes).map_err(crate::header::HeaderError::Json)
    }
}

/// `POST /containers/prune` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerPruneResponse {
    /// `null` when nothing was deleted.
    #[serde(default)]
    pub containers_deleted: Option<Vec<String>>,
    pub space_reclaimed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::round_trip;

    const CREATE_SIMPLE: &str =
        include_str!("../testdata/docker-cli-28-create-memory-port-bind.json");
    const CREATE_FULL: &str = include_str!("../testdata/docker-cli-28-create-full.json");
    const CREATE_PY: &str = include_str!("../testdata/docker-py-7.1-create.json");

    #[test]
    fn docker_cli_create_memory_port_bind() {
        // `docker create --memory 64m -p 8080:80 -v /a:/b busybox sh`, captured from docker 28.2.2.
        let req: ContainerCreateRequest = round_trip(CREATE_SIMPLE);
        let c = &req.config;
        assert_eq!(c.image.as_deref(), Some("busybox"));
        assert_eq!(c.cmd.as_deref(), Some(&["sh".to_owned()][..]));
        assert_eq!(c.env, None, "Env:null stays None");
        assert_eq!(
            c.volumes.as_ref().map(|v| v.len()),
            Some(0),
            "Volumes:{{}} stays Some(empty)"
        );
        assert!(c.exposed_ports.as_ref().unwrap().contains_key("80/tcp"));
        let h = req.host_config.as_ref().unwrap();
        assert_eq!(h.resources.memory, Some(64 * 1024 * 1024));
        assert_eq!(h.resources.memory_swappiness, Some(-1));
        assert_eq!(h.binds.as_deref(), Some(&["/a:/b".to_owned()][..]));
        assert_eq!(h.network_mode.as_deref(), Some("default"));
        let ports = h.port_bindings.as_ref().unwrap();
        assert_eq!(
            ports["80/tcp"].as_ref().unwrap()[0].host_port.as_deref(),
            Some("8080")
        );
        assert_eq!(
            h.restart_policy.as_ref().unwrap().name.as_deref(),
            Some("no")
        );
        let eps = req
            .networking_config
            .as_ref()
            .unwrap()
            .endpoints_config
            .as_ref()
            .unwrap();
        assert!(eps.contains_key("default"));
    }

    #[test]
    fn docker_cli_create_with_many_flags() {
        // `docker create --name web --cpus 1.5 --pids-limit 100 --cap-add NET_ADMIN --cap-drop ALL
        //  --read-only --init --restart on-failure:3 -e A=1 -l k=v --tmpfs /run:size=64m
        //  --ulimit nofile=1024:2048 --security-opt no-new-privileges --mount type=volume,...
        //  --mount type=bind,...,readonly --mount type=tmpfs,dst=/t,tmpfs-size=1m --health-cmd true
        //  --stop-signal SIGINT --stop-timeout 5 --network none -w /w -u 1000 --entrypoint /bin/sh
        //  --add-host h:1.2.3.4 --dns 8.8.8.8 --sysctl net.ipv4.ip_forward=1
        //  --device /dev/null:/dev/xnull busybox -c 'echo hi'`
        let req: ContainerCreateRequest = round_trip(CREATE_FULL);
        let c = &req.config;
        assert_eq!(c.user.as_deref(), Some("1000"));
        assert_eq!(c.entrypoint.as_deref(), Some(&["/bin/sh".to_owned()][..]));
        assert_eq!(
            c.healthcheck.as_ref().unwrap().test.as_ref().unwrap()[0],
            "CMD-SHELL"
        );
        assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
        assert_eq!(c.stop_timeout, Some(5));
        assert_eq!(c.labels.as_ref().unwrap()["k"], "v");
        let h = req.host_config.as_ref().unwrap();
        assert_eq!(h.resources.nano_cpus, Some(1_500_000_000));
        assert_eq!(h.resources.pids_limit, Some(100));
        assert_eq!(h.resources.init, Some(true));
        assert_eq!(
            h.resources.ulimits.as_ref().unwrap()[0],
            Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048
            }
        );
        assert_eq!(
            h.resources.devices.as_ref().unwrap()[0]
                .path_in_container
                .as_deref(),
            Some("/dev/xnull")
        );
        assert_eq!(
            h.cap_add.as_deref(),
            Some(&["CAP_NET_ADMIN".to_owned()][..])
        );
        assert_eq!(h.readonly_rootfs, Some(true));
        assert_eq!(
            h.restart_policy.as_ref().unwrap().maximum_retry_count,
            Some(3)
        );
        assert_eq!(h.tmpfs.as_ref().unwrap()["/run"], "size=64m");
        assert_eq!(h.sysctls.as_ref().unwrap()["net.ipv4.ip_forward"], "1");
        assert_eq!(
            h.extra_hosts.as_deref(),
            Some(&["h:1.2.3.4".to_owned()][..])
        );
        let mounts = h.mounts.as_ref().unwrap();
        assert_eq!(
            mounts.iter().map(|m| m.kind).collect::<Vec<_>>(),
            [MountType::Volume, MountType::Bind, MountType::Tmpfs]
        );
        assert_eq!(mounts[1].read_only, Some(true));
        assert_eq!(
            mounts[2].tmpfs_options.as_ref().unwrap().size_bytes,
            Some(1 << 20)
        );
        assert_eq!(h.network_mode.as_deref(), Some("none"));
    }

    #[test]
    fn create_keeps_docker_names_on_output() {
        let req: ContainerCreateRequest = serde_json::from_str(CREATE_FULL).unwrap();
        let out = serde_json::to_string(&req).unwrap();
        for name in [
            "\"HostConfig\"",
            "\"NanoCpus\"",
            "\"CpuShares\"",
            "\"OomScoreAdj\"",
            "\"UTSMode\"",
            "\"ContainerIDFile\"",
            "\"NetworkingConfig\"",
            "\"EndpointsConfig\"",
            "\"StopTimeout\"",
        ] {
            assert!(out.contains(name), "{name} missing");
        }
    }

    #[test]
    fn minimal_create_as_docker_py_sends_it() {
        let req: ContainerCreateRequest =
            serde_json::from_str(r#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"NetworkMode":"default"},"Unknown":1}"#).unwrap();
        assert_eq!(req.config.image.as_deref(), Some("busybox"));
        assert_eq!(req.host_config.unwrap().resources, Resources::default());
        assert!(serde_json::from_str::<ContainerCreateRequest>(r#"{"Image":1}"#).is_err());
        assert!(serde_json::from_str::<ContainerCreateRequest>(r#"{"Tty":"true"}"#).is_err());
    }

    #[test]
    fn docker_py_create() {
        // docker-py 7.1 `create_container('busybox', command=[...], environment=..., labels=...,
        // host_config=create_host_config(mem_limit='64m', port_bindings={80: 8080},
        // binds=['/a:/b:ro'], nano_cpus=..., restart_policy=..., cap_add=['NET_ADMIN'], init=True,
        // pids_limit=50, mounts=[Mount('/t', None, type='tmpfs', tmpfs_size=1048576)]), ports=[80])`:
        // spaces after separators, only the fields given, `"Source": null` in the mount.
        let req: ContainerCreateRequest = round_trip(CREATE_PY);
        assert_eq!(req.config.env.as_deref(), Some(&["A=1".to_owned()][..]));
        assert_eq!(req.config.network_disabled, Some(false));
        assert_eq!(req.config.hostname, None);
        let h = req.host_config.as_ref().unwrap();
        assert_eq!(h.resources.memory, Some(64 << 20));
        assert_eq!(h.resources.nano_cpus, Some(500_000_000));
        assert_eq!(
            h.cap_add.as_deref(),
            Some(&["NET_ADMIN".to_owned()][..]),
            "no CAP_ prefix from docker-py"
        );
        let mount = &h.mounts.as_ref().unwrap()[0];
        assert_eq!(
            (mount.kind, mount.source.as_deref()),
            (MountType::Tmpfs, None)
        );
        assert_eq!(h.resources.devices, None);
    }

    #[test]
    fn duplicate_keys_are_errors_at_top_level_and_in_host_config() {
        for dup in [
            r#"{"Image":"a","Image":"b"}"#,
            r#"{"Image":"a","HostConfig":{},"HostConfig":{}}"#,
            r#"{"HostConfig":{"Privileged":false,"Privileged":true}}"#,
            r#"{"HostConfig":{"Memory":1,"Memory":2}}"#,
        ] {
            assert!(
                serde_json::from_str::<ContainerCreateRequest>(dup).is_err(),
                "{dup}"
            );
        }
    }

    #[test]
    fn create_response() {
        let r: ContainerCreateResponse = round_trip(r#"{"Id":"4fa6e0f0c678","Warnings":[]}"#);
        assert_eq!(r.id, "4fa6e0f0c678");
    }

    #[test]
    fn summary_round_trips() {
        let json = r#"[{"Id":"8dfafdbc3a40","Names":["/boring_feynman"],"Image":"ubuntu:latest",
          "ImageID":"sha256:d74508fb6632","Command":"echo 1","Created":1367854155,
          "Ports":[{"PrivatePort":2222,"PublicPort":3333,"Type":"tcp","IP":"0.0.0.0"},{"PrivatePort":80,"Type":"tcp"}],
          "Labels":{"com.example.vendor":"Acme"},"State":"exited","Status":"Exit 0",
          "HostConfig":{"NetworkMode":"default"},
          "NetworkSettings":{"Networks":{"bridge":{"NetworkID":"7ea29fc1412292a2d7bba362f9253545fecdfa8ce9a6e37dd10ba8bee7129812",
            "EndpointID":"2cdc4edb1ded3631c81f57966563e5c8525b81121bb3706a9a9a3ae102711f3f","Gateway":"172.17.0.1",
            "IPAddress":"172.17.0.2","IPPrefixLen":16,"MacAddress":"02:42:ac:11:00:02"}}},
          "Mounts":[{"Type":"bind","Source":"/data","Destination":"/data","Mode":"ro,Z","RW":false,"Propagation":"rprivate"}]}]"#;
        let list: Vec<ContainerSummary> = round_trip(json);
        assert_eq!(list[0].ports[0].public_port, Some(3333));
        assert_eq!(list[0].ports[1].public_port, None);
        assert_eq!(
            list[0].network_settings.networks["bridge"]
                .ip_address
                .as_deref(),
            Some("172.17.0.2")
        );
        assert_eq!(list[0].host_config.network_mode, "default");
    }

    #[test]
    fn small_responses() {
        let w: ContainerWaitResponse = round_trip(r#"{"StatusCode":137}"#);
        assert_eq!(w.status_code, 137);
        let w: ContainerWaitResponse = round_trip(r#"{"StatusCode":0,"Error":{"Message":"boom"}}"#);
        assert_eq!(w.error.unwrap().message, "boom");
        let top: ContainerTop = round_trip(
            r#"{"Titles":["UID","PID","CMD"],"Processes":[["root","13642","sleep 60"]]}"#,
        );
        assert_eq!(top.processes[0][2], "sleep 60");
        let ch: Vec<ContainerChange> =
            round_trip(r#"[{"Path":"/dev","Kind":0},{"Path":"/dev/kmsg","Kind":1}]"#);
        assert_eq!(ch[1].kind, 1);
        let p: ContainerPruneResponse =
            round_trip(r#"{"ContainersDeleted":null,"SpaceReclaimed":0}"#);
        assert_eq!(p.containers_deleted, None);
        let u: ContainerUpdate = round_trip(
            r#"{"Memory":314572800,"CpuShares":512,"RestartPolicy":{"Name":"always","MaximumRetryCount":0}}"#,
        );
        assert_eq!(u.resources.memory, Some(314572800));
        let _: ContainerUpdateResponse = round_trip(r#"{"Warnings":[]}"#);
    }

    #[test]
    fn path_stat_header_round_trips() {
        let stat = ContainerPathStat {
            name: "etc".into(),
            size: 4096,
            mode: (1 << 31) | 0o755,
            mtime: "2025-01-01T00:00:00Z".into(),
            link_target: String::new(),
        };
        let header = stat.to_header();
        let json = String::from_utf8(crate::header::decode(&header).unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"name":"etc","size":4096,"mode":2147484141,"mtime":"2025-01-01T00:00:00Z","linkTarget":""}"#
        );
        assert_eq!(ContainerPathStat::from_header(&header).unwrap(), stat);
        assert!(ContainerPathStat::from_header("!!!").is_err());
    }
}
