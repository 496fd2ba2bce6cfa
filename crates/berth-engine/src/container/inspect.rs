//! What the API shows of containers: `inspect` and `ps` in Docker's shapes, from the index.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_api_types::container::inspect::{ContainerInspect, ContainerState, GraphDriver, MountPoint, NetworkSettings};
use berth_api_types::container::{ContainerSummary, Port, SummaryHostConfig, SummaryNetworkSettings};
use berth_api_types::Filters;

use super::record::{Record, Status};
use super::Ctr;
use crate::error::{Error, Result};
use crate::policy::Principal;
use crate::Engine;

/// Options of `GET /containers/json`.
#[derive(Debug, Default)]
pub struct ListOptions {
    pub all: bool,
    pub limit: Option<usize>,
    pub size: bool,
    pub filters: Filters,
}

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

const FILTERS: &[&str] = &["id", "name", "label", "status", "ancestor", "exited", "before", "since", "health", "is-task", "network", "volume", "publish", "expose"];

fn mounts_of(rec: &Record, volumes: &crate::volumes::Volumes) -> Vec<MountPoint> {
    let mut out = Vec::new();
    for v in &rec.volumes {
        out.push(MountPoint {
            kind: "volume".into(),
            name: Some(v.name.clone()),
            source: volumes.data_dir(&v.name).to_string_lossy().into_owned(),
            destination: v.destination.clone(),
            driver: Some("local".into()),
            // dockerd's: `z` for a named volume, nothing for an anonymous one.
            mode: if v.nocopy {
                "nocopy".into()
            } else if volumes.is_anonymous(&v.name) {
                String::new()
            } else {
                "z".into()
            },
            rw: !v.read_only,
            propagation: String::new(),
        });
    }
    for b in rec.host_config.binds.iter().flatten().filter(|b| b.starts_with('/')) {
        let parts: Vec<&str> = b.split(':').collect();
        if parts.len() >= 2 {
            let mode = parts.get(2).copied().unwrap_or("");
            out.push(MountPoint {
                kind: "bind".into(),
                source: parts[0].into(),
                destination: parts[1].into(),
                mode: mode.into(),
                rw: !mode.split(',').any(|o| o == "ro"),
                propagation: "rprivate".into(),
                ..Default::default()
            });
        }
    }
    for m in rec.host_config.mounts.iter().flatten().filter(|m| m.kind != berth_api_types::container::MountType::Volume) {
        let kind = serde_json::to_value(m.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        out.push(MountPoint {
            kind,
            source: m.source.clone().unwrap_or_default(),
            destination: m.target.clone(),
            mode: String::new(),
            rw: m.read_only != Some(true),
            // A bind's propagation (rprivate unless given); a tmpfs has none.
            propagation: match m.kind {
                berth_api_types::container::MountType::Bind => m.bind_options.as_ref().and_then(|b| b.propagation.clone()).unwrap_or_else(|| "rprivate".into()),
                _ => String::new(),
            },
            ..Default::default()
        });
    }
    out
}

/// Docker's status text: `Up 3 minutes`, `Exited (0) 2 seconds ago`, `Created`.
pub fn status_text(rec: &Record) -> String {
    let now = crate::time::now_nanos();
    let since = |t: &str| crate::time::parse_rfc3339(t).map(|t| crate::time::human_duration(now - t)).unwrap_or_default();
    match rec.state.status {
        Status::Created => "Created".into(),
        Status::Running => format!("Up {}{}", since(&rec.state.started_at), super::health::status_suffix(rec.state.health.as_ref())),
        Status::Paused => format!("Up {} (Paused)", since(&rec.state.started_at)),
        Status::Restarting => format!("Restarting ({}) {} ago", rec.state.exit_code, since(&rec.state.finished_at)),
        Status::Removing => "Removal In Progress".into(),
        Status::Dead => "Dead".into(),
        Status::Exited if rec.state.finished_at == super::record::ZERO_TIME => "Created".into(),
        Status::Exited => format!("Exited ({}) {} ago", rec.state.exit_code, since(&rec.state.finished_at)),
    }
}

impl Engine {
    /// `GET /containers/{id}/json`.
    pub fn inspect(&self, principal: &Principal, key: &str, size: bool) -> Result<ContainerInspect> {
        let ctr = self.find(principal, key)?;
        let rec = ctr.rec().clone();
        let dir = super::Record::dir(&self.cfg.containers_dir(), &rec.id);
        let s = &rec.state;
        let (size_rw, size_root) = if size { self.sizes(&rec) } else { (None, None) };
        let networks = self.networks_of(&rec);
        let bridge_ep = networks.get("bridge").filter(|e| rec.endpoints.contains_key(e.network_id.as_deref().unwrap_or_default())).cloned();
        let netns = crate::network::Networks::netns_path(&self.cfg.run_dir(&rec.id));
        Ok(ContainerInspect {
            id: rec.id.clone(),
            created: rec.created.clone(),
            path: rec.path.clone(),
            args: rec.args.clone(),
            state: ContainerState {
                status: s.status.as_str().into(),
                running: s.status.is_live() || s.status == Status::Restarting,
                paused: s.status == Status::Paused,
                restarting: s.status == Status::Restarting,
                oom_killed: s.oom_killed,
                dead: s.status == Status::Dead,
                pid: i64::from(s.pid),
                exit_code: i64::from(s.exit_code),
                error: s.error.clone(),
                started_at: s.started_at.clone(),
                finished_at: s.finished_at.clone(),
                health: s.health.clone(),
            },
            image: rec.image.clone(),
            image_manifest_descriptor: None,
            resolv_conf_path: dir.join("resolv.conf").to_string_lossy().into_owned(),
            hostname_path: dir.join("hostname").to_string_lossy().into_owned(),
            hosts_path: dir.join("hosts").to_string_lossy().into_owned(),
            // Only json-file's file is named, as by dockerd (local's format is its own there).
            log_path: match rec.host_config.log_config.as_ref().and_then(|l| l.kind.as_deref()) {
                None | Some("") | Some("json-file") => self.log_path(&rec.id).to_string_lossy().into_owned(),
                Some(_) => String::new(),
            },
            name: format!("/{}", rec.name),
            restart_count: rec.restart_count,
            driver: "overlayfs".into(),
            platform: "linux".into(),
            mount_label: String::new(),
            process_label: String::new(),
            app_armor_profile: String::new(),
            exec_ids: (!rec.exec_ids.is_empty()).then(|| rec.exec_ids.clone()),
            host_config: rec.host_config.clone(),
            graph_driver: GraphDriver {
                name: "overlay2".into(),
                data: Some(BTreeMap::from([
                    ("UpperDir".to_owned(), dir.join("fs/upper").to_string_lossy().into_owned()),
                    ("WorkDir".to_owned(), dir.join("fs/work").to_string_lossy().into_owned()),
                    ("MergedDir".to_owned(), self.cfg.run_dir(&rec.id).join("bundle/rootfs").to_string_lossy().into_owned()),
                ])),
            },
            size_rw,
            size_root_fs: size_root,
            mounts: mounts_of(&rec, &self.volumes),
            config: rec.config.clone(),
            network_settings: NetworkSettings {
                bridge: Some(String::new()),
                sandbox_id: Some(if s.status.is_live() { rec.id.clone() } else { String::new() }),
                hairpin_mode: Some(false),
                link_local_ipv6_address: Some(String::new()),
                link_local_ipv6_prefix_len: Some(0),
                sandbox_key: Some(match s.status.is_live() {
                    true if !rec.endpoints.is_empty() => netns.to_string_lossy().into_owned(),
                    true => format!("/proc/{}/ns/net", s.pid),
                    false => String::new(),
                }),
                ports: Some(Self::ports_view(&rec)),
                endpoint_id: Some(bridge_ep.as_ref().and_then(|e| e.endpoint_id.clone()).unwrap_or_default()),
                gateway: Some(bridge_ep.as_ref().and_then(|e| e.gateway.clone()).unwrap_or_default()),
                global_ipv6_address: Some(String::new()),
                global_ipv6_prefix_len: Some(0),
                ip_address: Some(bridge_ep.as_ref().and_then(|e| e.ip_address.clone()).unwrap_or_default()),
                ip_prefix_len: Some(bridge_ep.as_ref().and_then(|e| e.ip_prefix_len).unwrap_or(0)),
                ipv6_gateway: Some(String::new()),
                mac_address: Some(bridge_ep.as_ref().and_then(|e| e.mac_address.clone()).unwrap_or_default()),
                networks: Some(networks),
            },
        })
    }

    /// `NetworkSettings.Networks`: its bridge endpoints, or the one pre-defined network its
    /// mode names (`host`, `none`); nothing for `container:`.
    fn networks_of(&self, rec: &Record) -> BTreeMap<String, berth_api_types::network::EndpointSettings> {
        let mut out: BTreeMap<_, _> = rec.endpoints.iter().map(|(id, ep)| self.endpoint_view(rec, id, ep)).collect();
        let mode = rec.host_config.network_mode.as_deref().unwrap_or("");
        if matches!(mode, "host" | "none") {
            let id = self.network_id(mode);
            // No addresses, but every field there, empty, as dockerd shows it.
            let empty = || Some(String::new());
            out.insert(
                mode.to_owned(),
                berth_api_types::network::EndpointSettings {
                    network_id: id,
                    endpoint_id: Some(predefined_endpoint_id(rec, mode)),
                    gateway: empty(),
                    ip_address: empty(),
                    ip_prefix_len: Some(0),
                    ipv6_gateway: empty(),
                    global_ipv6_address: empty(),
                    global_ipv6_prefix_len: Some(0),
                    mac_address: empty(),
                    ..Default::default()
                },
            );
        }
        out
    }

    /// (SizeRw, SizeRootFs): bytes in the container's upper directory, and that plus its image.
    fn sizes(&self, rec: &Record) -> (Option<i64>, Option<i64>) {
        let upper = super::Record::dir(&self.cfg.containers_dir(), &rec.id).join("fs/upper");
        let rw = du(&upper) as i64;
        let image: i64 = self.images.lookup(&rec.image).map(|i| self.images.lower_dirs(&i).iter().map(|d| du(d) as i64).sum()).unwrap_or(0);
        (Some(rw), Some(rw + image))
    }

    /// One item of the list; `created` is the record's creation time in Unix nanoseconds.
    fn summary(&self, ctr: &Ctr, created: i128, size: bool) -> ContainerSummary {
        // Sizes walk directories: not under the record's lock.
        let (size_rw, size_root_fs) = if size { self.sizes(&ctr.rec().clone()) } else { (None, None) };
        // Read under the record's lock, not from a copy: a list of a thousand containers
        // spends its time here.
        let rec = ctr.rec();
        let mut command = rec.path.clone();
        for a in &rec.args {
            command.push(' ');
            // dockerd quotes an argument with a space in it (`sh -c 'exit 3'`).
            if a.contains(' ') {
                command.push('\'');
                command.push_str(a);
                command.push('\'');
            } else {
                command.push_str(a);
            }
        }
        let network = rec.host_config.network_mode.clone().unwrap_or_default();
        let networks = self.networks_of(&rec);
        let mut ports = Vec::new();
        if rec.state.status.is_live() {
            for (k, binds) in Self::ports_view(&rec) {
                let (p, proto) = k.split_once('/').unwrap_or((&k, "tcp"));
                let Ok(private_port) = p.parse::<u16>() else { continue };
                match binds {
                    Some(b) if !b.is_empty() => ports.extend(b.iter().map(|b| Port {
                        ip: b.host_ip.clone(),
                        private_port,
                        public_port: b.host_port.as_deref().and_then(|p| p.parse().ok()),
                        kind: proto.to_owned(),
                    })),
                    _ => ports.push(Port { ip: None, private_port, public_port: None, kind: proto.to_owned() }),
                }
            }
        }
        ContainerSummary {
            id: rec.id.clone(),
            names: vec![format!("/{}", rec.name)],
            image: rec.image_name.clone(),
            image_id: rec.image.clone(),
            image_manifest_descriptor: None,
            command,
            created: (created / 1_000_000_000) as i64,
            ports,
            size_rw,
            size_root_fs,
            labels: rec.config.labels.clone().unwrap_or_default(),
            state: rec.state.status.as_str().into(),
            status: status_text(&rec),
            host_config: SummaryHostConfig { network_mode: network, annotations: None },
            network_settings: SummaryNetworkSettings { networks },
            mounts: mounts_of(&rec, &self.volumes),
        }
    }

    /// `GET /containers/json`: newest first.
    pub fn list(&self, principal: &Principal, opts: &ListOptions) -> Result<Vec<ContainerSummary>> {
        let mut out = Vec::new();
        self.list_each(principal, opts, |s| out.push(s))?;
        Ok(out)
    }

    /// [`Engine::list`], each item handed to `each` as soon as it is made, so that a caller
    /// that writes it out never holds the whole list: a thousand summaries, each with its
    /// endpoints, are megabytes the allocator would get from the kernel (and give back) on
    /// every request.
    pub fn list_each(&self, principal: &Principal, opts: &ListOptions, mut each: impl FnMut(ContainerSummary)) -> Result<()> {
        let f = &opts.filters;
        f.validate(FILTERS).map_err(|e| Error::InvalidParameter(e.to_string()))?;
        let created = |c: &Ctr| crate::time::parse_rfc3339(&c.rec().created).unwrap_or(0);
        // Each creation time parsed once: the sort, the filters and the summaries share it.
        let mut ctrs: Vec<(i128, Arc<Ctr>)> = self.visible(principal).into_iter().map(|c| (created(&c), c)).collect();
        ctrs.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
        let boundary = |key: &str| -> Result<Option<i128>> {
            match f.get(key).next() {
                Some(v) => Ok(Some(created(&*self.find(principal, v)?))),
                None => Ok(None),
            }
        };
        let before = boundary("before")?;
        let since = boundary("since")?;
        for s in f.get("status") {
            if !matches!(s, "created" | "restarting" | "running" | "removing" | "paused" | "exited" | "dead") {
                return Err(Error::InvalidParameter(format!("invalid filter 'status={s}'")));
            }
        }
        for h in f.get("health") {
            if !matches!(h, "starting" | "healthy" | "unhealthy" | "none") {
                return Err(Error::InvalidParameter(format!("Unrecognised filter value for health: {h}")));
            }
        }
        let exited: Vec<i32> = f.get("exited").map(|v| v.parse::<i32>().map_err(|_| Error::InvalidParameter(format!("invalid filter 'exited={v}'")))).collect::<Result<_>>()?;
        // dockerd matches names as regular expressions, against the name with and without
        // its leading slash; one that does not compile matches nothing, as there.
        let names: Vec<regex::Regex> = f.get("name").filter_map(|v| regex::Regex::new(v).ok()).collect();
        let ancestors: Vec<String> = f.get("ancestor").map(|a| self.images.lookup(a).map(|i| i.id.to_string()).unwrap_or_else(|_| format!("!{a}"))).collect();
        let mut listed = 0;
        for (t, c) in ctrs {
            let keep = {
                let r = c.rec();
                let status = r.state.status;
                (opts.all || status.is_live() || status == Status::Restarting || f.contains("status") || !exited.is_empty())
                    && (!f.contains("id") || f.get("id").any(|v| r.id.starts_with(v)))
                    && (!f.contains("name") || names.iter().any(|re| re.is_match(&r.name) || re.is_match(&format!("/{}", r.name))))
                    && (!f.contains("status") || f.get("status").any(|v| v == status.as_str()))
                    && (exited.is_empty() || (status == Status::Exited && exited.contains(&r.state.exit_code)))
                    && (ancestors.is_empty() || ancestors.iter().any(|a| *a == r.image || *a == format!("!{}", r.image_name)))
                    && f.labels_match(r.config.labels.as_ref().unwrap_or(&NO_LABELS))
                    && (!f.contains("health") || f.get("health").any(|h| h == r.state.health.as_ref().map(|x| x.status.as_str()).unwrap_or("none")))
                    && (!f.contains("volume") || f.get("volume").any(|v| r.volumes.iter().any(|m| m.name == v || m.destination == v) || r.host_config.binds.iter().flatten().any(|b| b.split(':').take(2).any(|p| p == v))))
                    && (!f.contains("network") || f.get("network").any(|n| r.host_config.network_mode.as_deref() == Some(n) || r.endpoints.keys().any(|id| id.starts_with(n) || self.network_name(id).as_deref() == Some(n))))
                    && (!f.contains("expose") || f.get("expose").any(|p| r.config.exposed_ports.as_ref().is_some_and(|e| e.contains_key(p) || e.contains_key(&format!("{p}/tcp")))))
                    && (!f.contains("publish") || f.get("publish").any(|p| r.ports.contains_key(p) || r.ports.contains_key(&format!("{p}/tcp"))))
                    // no container is a swarm task
                    && f.get("is-task").all(|v| v == "false")
                    && before.is_none_or(|b| t < b)
                    && since.is_none_or(|s| t > s)
            };
            if keep {
                each(self.summary(&c, t, opts.size));
                listed += 1;
                if opts.limit.is_some_and(|l| listed >= l) {
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Bytes used by regular files under `dir`, not following symlinks or leaving its filesystem.
pub fn du(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(top) = std::fs::symlink_metadata(dir) else { return 0 };
    let dev = top.dev();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() && m.dev() == dev {
                stack.push(e.path());
            } else if m.is_file() {
                total += m.len();
            }
        }
    }
    total
}

/// The id of a live container's endpoint in the pre-defined `host` or `none` network, which
/// dockerd makes at each start and drops at the end: berth keeps no such endpoint, so the id
/// is derived from the container, the network and the start (the same while it runs, another
/// after a restart), and empty when the container does not run.
pub(crate) fn predefined_endpoint_id(rec: &Record, network: &str) -> String {
    if !rec.state.status.is_live() {
        return String::new();
    }
    berth_image::Digest::sha256_of(format!("{}/{network}/{}", rec.id, rec.state.started_at).as_bytes()).hex().to_owned()
}
