//! Networks (`docker network`, `--network`, `-p`): the pre-defined `bridge`, `host` and `none`
//! networks and user-defined bridge networks.
//!
//! A bridge network is a Linux bridge holding the gateway address of its subnet. A container on
//! bridge networks gets a network namespace made by the engine before it starts
//! (`<run dir>/netns`, joined through the spec) with one veth pair per network; its addresses
//! are given at start and released when it stops, as Docker does. Records live in
//! `<data-root>/networks/<id>.json`; the addresses in use are the running containers' records.
//! Filtering and NAT are iptables chains of this daemon ([`firewall`]), rewritten from this
//! state at every change. Containers on user-defined networks resolve each other through the
//! embedded DNS server at 127.0.0.11 ([`crate::dns`]), served from a socket the engine opens
//! inside their namespace.

pub mod firewall;
pub mod ipam;
pub mod link;
mod proxy;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use berth_api_types::container::{HostConfig, NetworkingConfig, PortBinding, PortMap};
use berth_api_types::network::{
    EndpointSettings, Ipam, IpamConfig, Network, NetworkConnectRequest, NetworkContainer, NetworkCreateRequest, NetworkCreateResponse,
    NetworkPruneResponse,
};
use berth_api_types::Filters;
use berth_shim::proxy::{Failure, Proto, Request, Want};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::container::record::Record;
use crate::container::Ctr;
use crate::error::{Error, Result};
use crate::policy::Principal;
use crate::Engine;

/// The daemon's network settings (flags and daemon.json).
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// The default bridge's link name (`--bridge`), also the tag of this daemon's links and
    /// iptables chains.
    pub bridge: String,
    /// The default bridge's address and prefix (`--bip`); else the first free pool subnet.
    pub bip: Option<Ipv4Net>,
    /// `--default-address-pool` / `default-address-pools`.
    pub pools: Vec<ipam::Pool>,
    /// `--iptables`: manage filtering and NAT (published ports need it).
    pub iptables: bool,
    /// Where the host-wide lock for choosing subnets lives (shared by every berthd).
    pub lock_dir: PathBuf,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig { bridge: "berth0".into(), bip: None, pools: ipam::Pool::docker_defaults(), iptables: true, lock_dir: "/run/lock".into() }
    }
}

/// The links and name server of a container being started, made in the background by
/// [`Engine::network_up`].
pub(crate) struct Wiring(tokio::task::JoinHandle<Result<()>>);

impl Wiring {
    /// Waits until the links are made; their error, if any.
    pub(crate) async fn done(self) -> Result<()> {
        self.0.await.map_err(|e| Error::Internal(format!("network setup: {e}")))?
    }
}

/// A network's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Net {
    pub id: String,
    pub name: String,
    pub created: String,
    /// `bridge`, `host`, `null`.
    pub driver: String,
    pub internal: bool,
    pub attachable: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub subnet: Option<Ipv4Net>,
    pub gateway: Option<Ipv4Addr>,
    pub ip_range: Option<Ipv4Net>,
    /// The user gave the subnet (static addresses are allowed only then, as in Docker).
    pub user_subnet: bool,
    /// The bridge link (bridge driver only).
    pub bridge: String,
    /// `bridge`, `host`, `none`: made by the daemon, never removed.
    pub predefined: bool,
    /// `com.docker.network.driver.mtu`: of the bridge and every link on it.
    #[serde(default)]
    pub mtu: Option<u32>,
    /// `--ipv6`: the IPv6 subnet and gateway.
    #[serde(default)]
    pub subnet6: Option<Ipv6Net>,
    #[serde(default)]
    pub gateway6: Option<Ipv6Addr>,
}

impl Net {
    fn is_bridge(&self) -> bool {
        self.driver == "bridge"
    }

    /// The default `bridge` network: no name resolution, no aliases.
    pub fn is_default_bridge(&self) -> bool {
        self.predefined && self.is_bridge()
    }

    fn alias(&self, tag: &str) -> String {
        format!("berth:{tag}:net:{}", self.id)
    }
}

/// A container's attachment to one network, as its record keeps it. The address fields are
/// set while it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub static_ip: Option<Ipv4Addr>,
    #[serde(default)]
    pub endpoint_id: String,
    #[serde(default)]
    pub ip: Option<Ipv4Addr>,
    /// The link in the container (`eth0`) and its host end.
    #[serde(default)]
    pub ifname: String,
    #[serde(default)]
    pub host_if: String,
    /// On `--ipv6` networks: the static address asked for, and the one given.
    #[serde(default)]
    pub static_ip6: Option<Ipv6Addr>,
    #[serde(default)]
    pub ip6: Option<Ipv6Addr>,
}

/// What the firewall rewrites of this daemon run have done so far.
#[derive(Default)]
struct FwDone {
    /// The built-in chains jump to ours (checked once per run).
    v4_jumps: bool,
    /// IPv6 rules were written: they are kept current from then on, also when the last IPv6
    /// network goes (and their jumps are in place).
    v6: bool,
}

/// The networks of one daemon.
pub struct Networks {
    dir: PathBuf,
    pub cfg: NetConfig,
    chains: firewall::Chains,
    nets: Mutex<BTreeMap<String, Net>>,
    /// Serialises create, remove, connect and address choice.
    alloc: Mutex<()>,
    /// Serialises firewall rewrites, and remembers what this daemon already did.
    fw: Mutex<FwDone>,
    dns: Mutex<HashMap<String, crate::dns::Served>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn random_hex(n: usize) -> String {
    crate::container::record::new_id()[..n].to_owned()
}

/// Holds the host-wide lock for choosing subnets while `f` runs: two daemons on one host
/// must not pick the same free subnet at once.
fn with_host_lock<T>(dir: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let _ = std::fs::create_dir_all(dir);
    let path = dir.join("berth-subnets.lock");
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(Error::io("open the subnet lock", &path))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).map_err(|e| Error::Io { what: "lock", path: path.clone(), source: e.into() })?;
    f()
}


impl Networks {
    /// Loads the records under `<data-root>/networks`; makes the pre-defined networks (and the
    /// default bridge's link) when they are not there.
    pub fn open(data_root: &Path, cfg: NetConfig) -> Result<Networks> {
        let dir = data_root.join("networks");
        std::fs::create_dir_all(&dir).map_err(Error::io("create the networks directory", &dir))?;
        let mut nets = BTreeMap::new();
        for e in std::fs::read_dir(&dir).map_err(Error::io("read the networks directory", &dir))?.flatten() {
            let p = e.path();
            if p.extension().is_none_or(|x| x != "json") {
                continue;
            }
            match std::fs::read(&p).ok().and_then(|d| serde_json::from_slice::<Net>(&d).ok()) {
                Some(n) => {
                    nets.insert(n.id.clone(), n);
                }
                None => {
                    let aside = p.with_extension(format!("corrupt-{}", std::process::id()));
                    tracing::warn!(path = %p.display(), "a network record does not parse; moved aside");
                    let _ = std::fs::rename(&p, aside);
                }
            }
        }
        let chains = firewall::Chains::of(&cfg.bridge);
        let this = Networks { dir, cfg, chains, nets: Mutex::new(nets), alloc: Mutex::new(()), fw: Mutex::default(), dns: Mutex::default() };
        if this.cfg.iptables {
            // As dockerd does: containers reach beyond their bridge through the host.
            enable_forwarding("/proc/sys/net/ipv4/ip_forward");
        }
        for (name, driver) in [("bridge", "bridge"), ("host", "host"), ("none", "null")] {
            if this.by_name(name).is_some_and(|n| n.predefined) {
                continue;
            }
            let mut n = Net {
                id: crate::container::record::new_id(),
                name: name.into(),
                created: crate::time::now(),
                driver: driver.into(),
                internal: false,
                attachable: false,
                labels: BTreeMap::new(),
                options: BTreeMap::new(),
                subnet: None,
                gateway: None,
                ip_range: None,
                user_subnet: false,
                bridge: String::new(),
                predefined: true,
                mtu: None,
                subnet6: None,
                gateway6: None,
            };
            if driver == "bridge" {
                n.bridge = this.cfg.bridge.clone();
                n.options.insert("com.docker.network.bridge.name".into(), n.bridge.clone());
                n.options.insert("com.docker.network.bridge.default_bridge".into(), "true".into());
                if let Some(bip) = this.cfg.bip {
                    n.subnet = Some(bip.trunc());
                    n.gateway = Some(bip.addr());
                    n.user_subnet = true;
                }
                this.make_bridge(&mut n)?;
            }
            this.save(&n)?;
            lock(&this.nets).insert(n.id.clone(), n);
        }
        Ok(this)
    }

    fn save(&self, n: &Net) -> Result<()> {
        let p = self.dir.join(format!("{}.json", n.id));
        berth_shim::exit::write_durable(&p, &serde_json::to_vec(n).expect("a network serializes")).map_err(Error::io("save the network record", &p))
    }

    fn by_name(&self, name: &str) -> Option<Net> {
        lock(&self.nets).values().find(|n| n.name == name).cloned()
    }

    /// A network by full id, name, or unique id prefix (Docker's order).
    pub fn find(&self, key: &str) -> Result<Net> {
        let nets = lock(&self.nets);
        if let Some(n) = nets.get(key) {
            return Ok(n.clone());
        }
        if let Some(n) = nets.values().find(|n| n.name == key) {
            return Ok(n.clone());
        }
        let hits: Vec<&Net> = nets.values().filter(|n| !key.is_empty() && n.id.starts_with(key)).collect();
        match hits.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Error::NotFound(format!("network {key} not found"))),
            _ => Err(Error::InvalidParameter(format!("network {key} is ambiguous ({} matches found based on ID prefix)", hits.len()))),
        }
    }

    pub fn get(&self, id: &str) -> Option<Net> {
        lock(&self.nets).get(id).cloned()
    }

    /// `f` of the network `id`, read under the lock rather than copied out.
    pub fn with<T>(&self, id: &str, f: impl FnOnce(&Net) -> T) -> Option<T> {
        lock(&self.nets).get(id).map(f)
    }

    pub fn all(&self) -> Vec<Net> {
        lock(&self.nets).values().cloned().collect()
    }

    /// The default bridge network.
    pub fn default_bridge(&self) -> Net {
        lock(&self.nets).values().find(|n| n.is_default_bridge()).cloned().expect("the default bridge is made at open")
    }

    /// Picks a subnet when the record has none, and makes its bridge link.
    fn make_bridge(&self, n: &mut Net) -> Result<()> {
        with_host_lock(&self.cfg.lock_dir, || {
            if n.subnet.is_none() {
                let mut taken = ipam::host_routes();
                taken.extend(lock(&self.nets).values().filter_map(|o| o.subnet));
                let s = ipam::free_subnet(&self.cfg.pools, &taken)?;
                n.subnet = Some(s);
                n.gateway = Some(ipam::default_gateway(&s)?);
            }
            self.ensure_link(n)
        })
    }

    fn ensure_link(&self, n: &Net) -> Result<()> {
        let (Some(subnet), Some(gw)) = (n.subnet, n.gateway) else { return Ok(()) };
        let gw6 = n.subnet6.zip(n.gateway6).map(|(s, g)| (g, s.prefix_len()));
        link::ensure_bridge(&n.bridge, &n.alias(&self.cfg.bridge), gw, subnet.prefix_len(), gw6, n.mtu).map_err(Error::io("make the bridge", Path::new(&n.bridge)))
    }

    /// Rewrites this daemon's iptables chains for `ports` (every published port of running
    /// containers).
    fn apply_firewall(&self, ports: &[firewall::PortRule]) -> Result<()> {
        if !self.cfg.iptables {
            return Ok(());
        }
        let mut done = lock(&self.fw);
        let bridges: Vec<Net> = self.all().into_iter().filter(|n| n.is_bridge()).collect();
        let nets: Vec<firewall::NetRule> =
            bridges.iter().filter_map(|n| Some(firewall::NetRule { bridge: n.bridge.clone(), subnet: IpNet::V4(n.subnet?), internal: n.internal })).collect();
        firewall::apply(firewall::Family::V4, &self.chains, &nets, ports, !done.v4_jumps)?;
        done.v4_jumps = true;
        let nets6: Vec<firewall::NetRule> =
            bridges.iter().filter_map(|n| Some(firewall::NetRule { bridge: n.bridge.clone(), subnet: IpNet::V6(n.subnet6?), internal: n.internal })).collect();
        if !nets6.is_empty() || done.v6 {
            if !done.v6 {
                enable_forwarding("/proc/sys/net/ipv6/conf/all/forwarding");
            }
            firewall::apply(firewall::Family::V6, &self.chains, &nets6, &[], !done.v6)?;
            done.v6 = true;
        }
        Ok(())
    }

    pub fn netns_path(run_dir: &Path) -> PathBuf {
        run_dir.join("netns")
    }
}

/// Turns on forwarding (`path` is its sysctl) when it is off. When berth turned it on, the
/// FORWARD chain's policy becomes DROP, as dockerd does, so the host does not start routing
/// for everyone: berth's own chain accepts what its networks need.
fn enable_forwarding(path: &str) {
    if std::fs::read_to_string(path).is_ok_and(|v| v.trim() == "1") {
        return;
    }
    if let Err(e) = std::fs::write(path, "1") {
        tracing::warn!(path, error = %e, "could not turn on IP forwarding: containers will not reach beyond their bridge");
        return;
    }
    firewall::forward_policy_drop(if path.contains("ipv6") { firewall::Family::V6 } else { firewall::Family::V4 });
    tracing::info!(path, "turned on IP forwarding (FORWARD policy DROP)");
}

fn proto_of(proto: &str) -> Proto {
    if proto == "udp" {
        Proto::Udp
    } else {
        Proto::Tcp
    }
}

/// Parses `-p` bindings of one container port key (`80/tcp`): (port, proto).
fn port_key(k: &str) -> Result<(u16, String)> {
    let (p, proto) = k.split_once('/').unwrap_or((k, "tcp"));
    let port = p.parse::<u16>().map_err(|_| Error::InvalidParameter(format!("invalid containerPort: {p}")))?;
    match proto {
        "tcp" | "udp" => Ok((port, proto.to_owned())),
        "sctp" => Err(Error::NotImplemented("publishing sctp ports".into())),
        _ => Err(Error::InvalidParameter(format!("invalid proto: {proto}"))),
    }
}

/// One binding a container asks for, from PortBindings and, with -P, the exposed ports:
/// container port and protocol, host address (None: every IPv4 and IPv6 one) and host port as
/// given (empty for any, or a range).
type Wanted = (u16, String, Option<IpAddr>, String);

fn wanted_ports(host: &HostConfig, config: &berth_api_types::container::Config) -> Result<Vec<Wanted>> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (k, binds) in host.port_bindings.iter().flatten() {
        let (port, proto) = port_key(k)?;
        seen.insert((port, proto.clone()));
        let binds = binds.clone().unwrap_or_default();
        let binds = if binds.is_empty() { vec![PortBinding::default()] } else { binds };
        for b in binds {
            let ip = match b.host_ip.as_deref().unwrap_or("") {
                "" => None,
                s => match s.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
                    Ok(a) => Some(a),
                    Err(_) => return Err(Error::InvalidParameter(format!("invalid host IP {s:?} in the binding of {k}"))),
                },
            };
            out.push((port, proto.clone(), ip, b.host_port.clone().unwrap_or_default()));
        }
    }
    if host.publish_all_ports == Some(true) {
        for k in config.exposed_ports.iter().flat_map(|e| e.keys()) {
            let (port, proto) = port_key(k)?;
            if seen.insert((port, proto.clone())) {
                out.push((port, proto, None, String::new()));
            }
        }
    }
    Ok(out)
}

/// Checks a create request's port bindings (and `-P`'s exposed ports) before anything is
/// made; returns dockerd's warnings.
pub(crate) fn check_ports(host: &HostConfig, config: &berth_api_types::container::Config) -> Result<Vec<String>> {
    let wanted = wanted_ports(host, config)?;
    for (_, _, _, hp) in &wanted {
        host_port_range(hp)?;
    }
    let publishes = !wanted.is_empty() && host.port_bindings.iter().flatten().next().is_some();
    let mode = host.network_mode.as_deref().unwrap_or("");
    if publishes && mode.starts_with("container:") {
        return Err(Error::InvalidParameter("conflicting options: port publishing and the container type network mode".into()));
    }
    if publishes && mode == "none" {
        return Err(Error::InvalidParameter("a container with --network none has no network to publish ports on: drop -p or choose a network".into()));
    }
    Ok(if publishes && mode == "host" { vec!["Published ports are discarded when using host network mode".into()] } else { Vec::new() })
}

/// dockerd's checks of what a container sharing another's network (`container:`) may not
/// set: that container's hostname, name servers and hosts are its.
pub(crate) fn check_network_mode(user: &berth_api_types::container::Config, host: &HostConfig) -> Result<()> {
    if !host.network_mode.as_deref().unwrap_or("").starts_with("container:") {
        return Ok(());
    }
    let set = |v: &Option<Vec<String>>| v.as_ref().is_some_and(|v| !v.is_empty());
    let conflicts = [
        (user.hostname.as_deref().is_some_and(|h| !h.is_empty()), "hostname and the network mode"),
        (set(&host.dns), "dns and the network mode"),
        (set(&host.extra_hosts), "custom host-to-IP mapping and the network mode"),
        (user.exposed_ports.as_ref().is_some_and(|p| !p.is_empty()), "port exposing and the container type network mode"),
    ];
    match conflicts.iter().find(|(set, _)| *set) {
        Some((_, what)) => Err(Error::InvalidParameter(format!("conflicting options: {what}"))),
        None => Ok(()),
    }
}

/// Parses a HostPort: empty (any), `8080`, or a range `8000-8010` (the first free one).
fn host_port_range(s: &str) -> Result<(u16, u16)> {
    let bad = || Error::InvalidParameter(format!("invalid hostPort: {s}"));
    match s {
        "" | "0" => Ok((0, 0)),
        _ => match s.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (a.parse::<u16>().map_err(|_| bad())?, b.parse::<u16>().map_err(|_| bad())?);
                if a == 0 || a > b {
                    return Err(bad());
                }
                Ok((a, b))
            }
            None => s.parse::<u16>().map(|p| (p, p)).map_err(|_| bad()),
        },
    }
}

/// The names a container answers to on `net` (its name, short id, aliases), for DNS and
/// inspect's `DNSNames`.
fn dns_names(rec: &Record, ep: &Endpoint) -> Vec<String> {
    let mut v = vec![rec.name.clone()];
    v.extend(ep.aliases.iter().cloned());
    v.push(rec.id[..12].to_owned());
    v
}

/// Answers the embedded DNS server's questions from the engine's containers.
struct EngineNames(Weak<Engine>);

impl crate::dns::Names for EngineNames {
    fn lookup(&self, from: &str, name: &str) -> Option<Vec<IpAddr>> {
        let engine = self.0.upgrade()?;
        let mine = engine.user_networks_of(from);
        if mine.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        for ctr in engine.all_containers() {
            let r = ctr.rec();
            if !r.state.status.is_live() {
                continue;
            }
            for (net, ep) in &r.endpoints {
                let Some(ip) = ep.ip else { continue };
                if !mine.contains(net) {
                    continue;
                }
                let hit = r.name.eq_ignore_ascii_case(name)
                    || ep.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
                    || (name.len() >= 12 && r.id.starts_with(name));
                for a in std::iter::once(IpAddr::V4(ip)).chain(ep.ip6.map(IpAddr::V6)) {
                    if hit && !out.contains(&a) {
                        out.push(a);
                    }
                }
            }
        }
        (!out.is_empty()).then_some(out)
    }

    fn reverse(&self, from: &str, ip: IpAddr) -> Option<String> {
        let engine = self.0.upgrade()?;
        let mine = engine.user_networks_of(from);
        for ctr in engine.all_containers() {
            let r = ctr.rec();
            for (net, ep) in &r.endpoints {
                if mine.contains(net) && (ep.ip.map(IpAddr::V4) == Some(ip) || ep.ip6.map(IpAddr::V6) == Some(ip)) && r.state.status.is_live() {
                    let n = engine.networks.get(net).map(|n| n.name).unwrap_or_default();
                    return Some(format!("{}.{n}", r.name));
                }
            }
        }
        None
    }

    /// A container only on `--internal` networks has no way out: no names from outside either,
    /// as dockerd does not forward for it.
    fn forwards(&self, from: &str) -> bool {
        let Some(engine) = self.0.upgrade() else { return false };
        let Some(ctr) = engine.by_id(from) else { return false };
        let nets: Vec<String> = ctr.rec().endpoints.keys().cloned().collect();
        nets.iter().any(|n| engine.networks.get(n).is_some_and(|n| !n.internal))
    }
}

/// The name servers the embedded DNS server forwards to: the container's `--dns`, else the
/// host's ([`crate::container::etc::host_resolv_conf`]; loopback ones included: the server
/// forwards from the host's namespace).
fn upstream(host: &HostConfig) -> Vec<std::net::SocketAddr> {
    let given: Vec<String> = host.dns.clone().unwrap_or_default();
    let list = if given.is_empty() {
        crate::container::etc::host_resolv_conf()
            .lines()
            .filter_map(|l| l.strip_prefix("nameserver").map(|s| s.trim().to_owned()))
            .collect()
    } else {
        given
    };
    list.iter().filter_map(|s| s.parse::<IpAddr>().ok()).map(|ip| std::net::SocketAddr::new(ip, 53)).collect()
}

impl Engine {
    /// The networks a create request attaches to: `NetworkMode` and `NetworkingConfig`.
    /// Empty for `host`, `none` and `container:`.
    pub(crate) fn endpoints_for_create(&self, host: &HostConfig, nc: Option<&NetworkingConfig>, strict: bool) -> Result<BTreeMap<String, Endpoint>> {
        let mode = host.network_mode.as_deref().unwrap_or("");
        let mut out = BTreeMap::new();
        if matches!(mode, "host" | "none") || mode.starts_with("container:") {
            if nc.and_then(|c| c.endpoints_config.as_ref()).is_some_and(|e| e.keys().any(|k| k != mode && k != "default")) {
                return Err(Error::InvalidParameter(format!("conflicting options: a container on network {mode:?} cannot join other networks")));
            }
            return Ok(out);
        }
        let primary = match mode {
            "" | "default" | "bridge" => self.networks.default_bridge(),
            // As dockerd does, a network that is not there yet is looked up again at start.
            m => match self.networks.find(m) {
                Err(Error::NotFound(_)) if !strict => return Ok(out),
                found => found?,
            },
        };
        if !primary.is_bridge() {
            return Err(Error::InvalidParameter(format!("network {} cannot be joined this way", primary.name)));
        }
        let mut add = |net: &Net, es: Option<&EndpointSettings>| -> Result<()> {
            let mut ep = Endpoint::default();
            if let Some(es) = es {
                ep.aliases = es.aliases.clone().unwrap_or_default();
                if let Some(ip) = es.ipam_config.as_ref().and_then(|c| c.ipv4_address.as_deref()).filter(|s| !s.is_empty()) {
                    let ip: Ipv4Addr = ip.parse().map_err(|_| Error::InvalidParameter(format!("invalid IPv4 address: {ip}")))?;
                    if net.is_default_bridge() {
                        return Err(Error::InvalidParameter("user specified IP address is supported on user defined networks only".into()));
                    }
                    if !net.user_subnet {
                        return Err(Error::InvalidParameter("user specified IP address is supported only when connecting to networks with user configured subnets".into()));
                    }
                    let (subnet, gw) = (net.subnet.expect("bridge networks have subnets"), net.gateway.expect("and gateways"));
                    ipam::check_static(&subnet, gw, ip, &[])?;
                    ep.static_ip = Some(ip);
                }
                if let Some(ip6) = es.ipam_config.as_ref().and_then(|c| c.ipv6_address.as_deref()).filter(|s| !s.is_empty()) {
                    let ip6: Ipv6Addr = ip6.parse().map_err(|_| Error::InvalidParameter(format!("invalid IPv6 address: {ip6}")))?;
                    match net.subnet6 {
                        Some(s) if s.contains(&ip6) && Some(ip6) != net.gateway6 => ep.static_ip6 = Some(ip6),
                        Some(s) => return Err(Error::InvalidParameter(format!("invalid endpoint settings: the address {ip6} is not a host address of the network's subnet {s}"))),
                        None => return Err(Error::InvalidParameter(format!("network {} has no IPv6 (create it with --ipv6) for --ip6 {ip6}", net.name))),
                    }
                }
                if es.mac_address.as_deref().is_some_and(|s| !s.is_empty()) {
                    return Err(Error::NotImplemented("--mac-address".into()));
                }
                if es.links.as_ref().is_some_and(|l| !l.is_empty()) {
                    return Err(Error::NotImplemented("--link".into()));
                }
            }
            if net.is_default_bridge() && !ep.aliases.is_empty() {
                return Err(Error::InvalidParameter("network-scoped alias is supported only for containers in user defined networks".into()));
            }
            out.insert(net.id.clone(), ep);
            Ok(())
        };
        let configs = nc.and_then(|c| c.endpoints_config.as_ref());
        let primary_cfg = configs.and_then(|e| e.get(mode).or_else(|| e.get(&primary.name)).or_else(|| e.get(&primary.id)).or_else(|| e.get("default")));
        add(&primary, primary_cfg)?;
        for (k, es) in configs.into_iter().flatten() {
            if k == mode || k == "default" || k == &primary.name || k == &primary.id {
                continue;
            }
            let net = self.networks.find(k)?;
            if !net.is_bridge() || net.is_default_bridge() {
                return Err(Error::InvalidParameter(format!("a container cannot join network {} and {} at once", primary.name, net.name)));
            }
            add(&net, Some(es))?;
        }
        Ok(out)
    }

    /// The user-defined networks container `id` is on while it runs.
    fn user_networks_of(&self, id: &str) -> Vec<String> {
        let Some(ctr) = self.by_id(id) else { return Vec::new() };
        let r = ctr.rec();
        r.endpoints.keys().filter(|n| self.networks.get(n).is_some_and(|n| !n.is_default_bridge())).cloned().collect()
    }

    /// Addresses (IPv4, IPv6) taken on `net` by running containers (the ones being set up
    /// included), but not by `except`.
    fn used_addresses(&self, net: &str, except: &str) -> (Vec<Ipv4Addr>, Vec<Ipv6Addr>) {
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for c in self.all_containers().into_iter().filter(|c| c.id != except) {
            let r = c.rec();
            if let Some(e) = r.endpoints.get(net) {
                v4.extend(e.ip);
                v6.extend(e.ip6);
            }
        }
        (v4, v6)
    }

    /// Every published port of running containers, for the firewall.
    fn port_rules(&self) -> Vec<firewall::PortRule> {
        let mut out = Vec::new();
        for c in self.all_containers() {
            let r = c.rec();
            let Some(ip) = self.primary_ip(&r) else { continue };
            for (k, binds) in &r.ports {
                let Ok((ctr_port, proto)) = port_key(k) else { continue };
                for b in binds {
                    // IPv6 bindings are the proxy's: the kernel cannot take them to IPv4.
                    let host_ip = match b.host_ip.as_deref().unwrap_or("").parse::<IpAddr>() {
                        Ok(IpAddr::V4(a)) => Some(a).filter(|a| !a.is_unspecified()),
                        Ok(IpAddr::V6(_)) => continue,
                        Err(_) => None,
                    };
                    if let Some(hp) = b.host_port.as_deref().and_then(|p| p.parse().ok()) {
                        out.push(firewall::PortRule { proto: proto.clone(), host_ip, host_port: hp, ctr_ip: ip, ctr_port });
                    }
                }
            }
        }
        out
    }

    /// The address ports are published to: the first non-internal network's.
    fn primary_ip(&self, r: &Record) -> Option<Ipv4Addr> {
        r.endpoints.iter().filter(|(n, _)| self.networks.get(n).is_some_and(|n| !n.internal)).find_map(|(_, e)| e.ip)
    }

    pub(crate) fn refresh_firewall(&self) -> Result<()> {
        self.networks.apply_firewall(&self.port_rules())
    }

    /// Gives a container about to start its namespace, addresses and published ports, and starts
    /// making its links and name server in the background: the shim can create the container
    /// meanwhile, as long as [`Wiring::done`] comes before the container runs. Returns the
    /// namespace to join, or None when it has no bridge networks.
    pub(crate) async fn network_up(self: &Arc<Self>, ctr: &Arc<Ctr>) -> Result<Option<(PathBuf, Wiring)>> {
        let (empty, host) = {
            let r = ctr.rec();
            (r.endpoints.is_empty(), r.host_config.clone())
        };
        if empty {
            // A user network named at create that did not exist then.
            let eps = self.endpoints_for_create(&host, None, true)?;
            if eps.is_empty() {
                return Ok(None);
            }
            ctr.rec().endpoints = eps;
        }
        let engine = self.clone();
        let c = ctr.clone();
        let planned = tokio::task::spawn_blocking(move || engine.network_plan(&c)).await.map_err(|e| Error::Internal(format!("network setup: {e}")))?;
        let (ns, order) = match planned {
            Ok(p) => p,
            Err(e) => {
                self.network_down(&ctr.id);
                return Err(e);
            }
        };
        // dockerd's events for a start: the container joins each of its networks.
        for (net_id, _) in &order {
            if let Some(n) = self.networks.get(net_id) {
                self.net_event("connect", &n, &[("container", ctr.id.clone())]);
            }
        }
        let (engine, c, path) = (self.clone(), ctr.clone(), ns.clone());
        let wiring = tokio::task::spawn_blocking(move || {
            for (net_id, ifname) in &order {
                engine.endpoint_wire(&c, &path, net_id, ifname)?;
            }
            engine.serve_dns(&c, &path);
            Ok(())
        });
        Ok(Some((ns, Wiring(wiring))))
    }

    /// The namespace, every endpoint's address (in the record) and the published ports; returns
    /// the namespace and the endpoints' networks and interface names, eth0 first.
    fn network_plan(self: &Arc<Self>, ctr: &Arc<Ctr>) -> Result<(PathBuf, Vec<(String, String)>)> {
        let id = ctr.id.clone();
        let ns = Networks::netns_path(&self.cfg.run_dir(&id));
        berth_runtime::netns::create(&ns).map_err(Error::io("create the network namespace", &ns))?;
        let (endpoints, mode) = {
            let r = ctr.rec();
            (r.endpoints.clone(), r.host_config.network_mode.clone().unwrap_or_default())
        };
        // The network the container was made for comes first: eth0, with the default route.
        let primary = match mode.as_str() {
            "" | "default" | "bridge" => Some(self.networks.default_bridge().id),
            m => self.networks.find(m).ok().map(|n| n.id),
        };
        let mut endpoints: Vec<(String, Endpoint)> = endpoints.into_iter().collect();
        endpoints.sort_by_key(|(id, _)| Some(id) != primary.as_ref());
        let mut order = Vec::new();
        for (i, (net_id, ep)) in endpoints.into_iter().enumerate() {
            let ifname = format!("eth{i}");
            self.endpoint_address(ctr, &net_id, ep, &ifname)?;
            order.push((net_id, ifname));
        }
        self.publish_ports(ctr)?;
        Ok((ns, order))
    }

    /// Makes one endpoint: an address on `net_id`, a veth pair, the container end `ifname`.
    fn endpoint_up(&self, ctr: &Arc<Ctr>, ns: &Path, net_id: &str, ep: Endpoint, ifname: &str) -> Result<()> {
        self.endpoint_address(ctr, net_id, ep, ifname)?;
        self.endpoint_wire(ctr, ns, net_id, ifname)
    }

    fn network_of(&self, net_id: &str) -> Result<Net> {
        self.networks.get(net_id).ok_or_else(|| Error::NotFound(format!("network {} not found: the container's network was removed; disconnect it (`docker network disconnect -f {} CONTAINER`) and connect it to another", &net_id[..12.min(net_id.len())], &net_id[..12.min(net_id.len())])))
    }

    /// Gives the endpoint on `net_id` its addresses and names and records it.
    fn endpoint_address(&self, ctr: &Arc<Ctr>, net_id: &str, mut ep: Endpoint, ifname: &str) -> Result<()> {
        let net = self.network_of(net_id)?;
        let (subnet, gw) = (net.subnet.expect("bridge networks have subnets"), net.gateway.expect("and gateways"));
        {
            let _g = lock(&self.networks.alloc);
            let (used, used6) = self.used_addresses(net_id, &ctr.id);
            let ip = match ep.static_ip {
                Some(ip) => {
                    ipam::check_static(&subnet, gw, ip, &used)?;
                    ip
                }
                None => ipam::free_address(&subnet, net.ip_range.as_ref(), gw, &used)?,
            };
            ep.ip = Some(ip);
            if let (Some(s6), Some(g6)) = (net.subnet6, net.gateway6) {
                ep.ip6 = Some(match ep.static_ip6 {
                    Some(a) if used6.contains(&a) => return Err(Error::Conflict(format!("Address already in use: {a}"))),
                    Some(a) => a,
                    None => ipam::free_address6(&s6, g6, &used6)?,
                });
            }
            ep.ifname = ifname.to_owned();
            ep.host_if = format!("veth{}", random_hex(7));
            ep.endpoint_id = crate::container::record::new_id();
            ctr.rec().endpoints.insert(net_id.to_owned(), ep);
        }
        Ok(())
    }

    /// Makes the veth pair of the recorded endpoint on `net_id`, the container end `ifname` in
    /// the namespace `ns` with its addresses and routes.
    fn endpoint_wire(&self, ctr: &Arc<Ctr>, ns: &Path, net_id: &str, ifname: &str) -> Result<()> {
        let net = self.network_of(net_id)?;
        let ep = ctr.rec().endpoints.get(net_id).cloned().ok_or_else(|| Error::Internal(format!("container {} has no address on network {net_id}", &ctr.id[..12])))?;
        let (subnet, gw) = (net.subnet.expect("bridge networks have subnets"), net.gateway.expect("and gateways"));
        let ip = ep.ip.expect("given by endpoint_address");
        let alias = format!("berth:{}:{}", self.networks.cfg.bridge, ctr.id);
        link::attach(&link::Veth {
            netns: ns,
            bridge: &net.bridge,
            host_if: &ep.host_if,
            alias: &alias,
            ifname,
            ip,
            prefix: subnet.prefix_len(),
            mac: ipam::mac_for(ip),
            gateway: (!net.internal && ifname == "eth0").then_some(gw),
            ip6: ep.ip6.zip(net.subnet6).map(|(a, s)| (a, s.prefix_len())),
            gateway6: net.gateway6.filter(|_| !net.internal && ifname == "eth0"),
            mtu: net.mtu,
        })
        .map_err(Error::io("connect the container to its network", Path::new(&ep.host_if)))?;
        let _ = std::fs::write(format!("/sys/class/net/{}/brport/hairpin_mode", ep.host_if), "1");
        Ok(())
    }

    /// The published ports: bound by the container's berth-proxy, which holds them while it
    /// runs (and relays the IPv6 ones); then the firewall rewritten for the IPv4 ones.
    fn publish_ports(&self, ctr: &Arc<Ctr>) -> Result<()> {
        let rec = ctr.rec().clone();
        let wanted = wanted_ports(&rec.host_config, &rec.config)?;
        if wanted.is_empty() {
            return Ok(());
        }
        if !self.networks.cfg.iptables {
            return Err(Error::InvalidParameter("publishing ports needs iptables, and this daemon runs with --iptables=false".into()));
        }
        let Some(to) = self.primary_ip(&rec) else {
            return Err(Error::InvalidParameter("ports cannot be published from a container that is only on internal networks".into()));
        };
        let mut ports = Vec::new();
        for (port, proto, ip, host_port) in &wanted {
            let (lo, hi) = host_port_range(host_port)?;
            ports.push(Want { proto: proto_of(proto), ip: *ip, lo, hi, ctr_port: *port });
        }
        let bound = match proxy::start(&self.proxy_bin(), &self.cfg.run_dir(&ctr.id), &ctr.id, &Request { to, ports })? {
            Ok(b) => b,
            Err(f) => return Err(self.publish_failure(&rec, &wanted, f)),
        };
        let mut ports: BTreeMap<String, Vec<PortBinding>> = BTreeMap::new();
        for ((port, proto, ..), (ips, p)) in wanted.iter().zip(bound) {
            let binds = ports.entry(format!("{port}/{proto}")).or_default();
            binds.extend(ips.into_iter().map(|ip| PortBinding { host_ip: Some(ip.to_string()), host_port: Some(p.to_string()) }));
        }
        ctr.rec().ports = ports;
        self.refresh_firewall()
    }

    fn proxy_bin(&self) -> PathBuf {
        self.shim.path().with_file_name(berth_shim::proxy::BINARY)
    }

    /// dockerd's words for a port that could not be published: "port is already allocated"
    /// when another container has it (or no port of a range was free), the bind's own error
    /// otherwise.
    fn publish_failure(&self, rec: &Record, wanted: &[Wanted], f: Failure) -> Error {
        let proto = wanted.get(f.want).map_or("tcp", |w| w.1.as_str());
        let port = f.addr.rsplit(':').next().unwrap_or_default().to_owned();
        let ours = |c: &Arc<Ctr>| c.id != rec.id && c.rec().ports.iter().any(|(k, b)| k.ends_with(&format!("/{proto}")) && b.iter().any(|b| b.host_port.as_deref() == Some(port.as_str())));
        let why = if f.in_use && (port.contains('-') || self.all_containers().iter().any(ours)) {
            format!("Bind for {} failed: port is already allocated", f.addr)
        } else if f.in_use {
            let family = if f.addr.starts_with('[') { 6 } else { 4 };
            format!("Error starting userland proxy: listen {proto}{family} {}: bind: address already in use", f.addr)
        } else {
            format!("Error starting userland proxy: {} {}", f.addr, f.error)
        };
        Error::Internal(format!("driver failed programming external connectivity on endpoint {}: {why}", rec.name))
    }

    /// Starts the embedded DNS server in the container's namespace when it is on a
    /// user-defined network. A failure is logged: the container runs without it.
    fn serve_dns(self: &Arc<Self>, ctr: &Arc<Ctr>, ns: &Path) {
        if self.user_networks_of(&ctr.id).is_empty() {
            return;
        }
        let sockets = berth_runtime::netns::run_in(ns, || {
            let udp = std::net::UdpSocket::bind("127.0.0.11:53")?;
            let tcp = std::net::TcpListener::bind("127.0.0.11:53")?;
            udp.set_nonblocking(true)?;
            tcp.set_nonblocking(true)?;
            Ok((udp, tcp))
        });
        let served = sockets.and_then(|(udp, tcp)| {
            let names: Arc<dyn crate::dns::Names> = Arc::new(EngineNames(Arc::downgrade(self)));
            crate::dns::serve(udp, tcp, ctr.id.clone(), names, upstream(&ctr.rec().host_config))
        });
        match served {
            Ok(s) => {
                lock(&self.networks.dns).insert(ctr.id.clone(), s);
            }
            Err(e) => tracing::warn!(container = &ctr.id[..12], error = %e, "the embedded DNS server could not start"),
        }
    }

    /// Undoes [`network_up`](Self::network_up): name server, ports, links, namespace; clears
    /// the addresses in the record (the caller saves it). Safe to call when nothing is up.
    pub(crate) fn network_down(&self, id: &str) {
        lock(&self.networks.dns).remove(id);
        proxy::stop(&self.cfg.run_dir(id), id);
        let ctr = self.by_id(id);
        let mut had_ports = false;
        let mut links = Vec::new();
        let mut left = Vec::new();
        if let Some(ctr) = &ctr {
            let mut r = ctr.rec();
            for (net_id, ep) in r.endpoints.iter_mut() {
                if ep.ip.is_some() || ep.ip6.is_some() {
                    left.push(net_id.clone());
                }
                if !ep.host_if.is_empty() {
                    links.push(std::mem::take(&mut ep.host_if));
                }
                let keep = Endpoint { aliases: std::mem::take(&mut ep.aliases), static_ip: ep.static_ip, static_ip6: ep.static_ip6, ..Default::default() };
                *ep = keep;
            }
            had_ports = !r.ports.is_empty();
            r.ports.clear();
        }
        // ... and leaves those it was on when it ends, as dockerd reports it.
        for net_id in &left {
            if let Some(n) = self.networks.get(net_id) {
                self.net_event("disconnect", &n, &[("container", id.to_owned())]);
            }
        }
        let ns = Networks::netns_path(&self.cfg.run_dir(id));
        if let Err(e) = berth_runtime::netns::remove(&ns) {
            tracing::warn!(container = &id[..12], error = %e, "could not remove the network namespace");
        }
        // The kernel removes the pairs with the namespace once nothing is in it; deleting them
        // here too covers a namespace another container still shares (`container:`). Deleting
        // a link waits for the network-wide synchronisation (tens of milliseconds): off the
        // path of the container's end.
        if !links.is_empty() {
            let short = id[..12].to_owned();
            std::thread::spawn(move || {
                for l in links {
                    if let Err(e) = link::delete(&l) {
                        tracing::warn!(container = short, link = l, error = %e, "could not delete the container's link");
                    }
                }
            });
        }
        if had_ports {
            if let Err(e) = self.refresh_firewall() {
                tracing::warn!(error = %crate::error::chain(&e), "could not rewrite the firewall rules");
            }
        }
    }

    /// At start: bridges for every network, the firewall from the state, ports held and name
    /// servers for running containers; links and namespaces that belong to nothing removed.
    pub(crate) async fn network_recover(self: &Arc<Self>) {
        let engine = self.clone();
        let _ = tokio::task::spawn_blocking(move || engine.network_recover_blocking()).await;
    }

    fn network_recover_blocking(self: &Arc<Self>) {
        for n in self.networks.all().into_iter().filter(|n| n.is_bridge()) {
            if let Err(e) = self.networks.ensure_link(&n) {
                tracing::warn!(network = n.name, error = %crate::error::chain(&e), "could not restore the network's bridge");
            }
        }
        let live: Vec<Arc<Ctr>> = self.all_containers().into_iter().filter(|c| c.rec().state.status.is_live()).collect();
        let tag = format!("berth:{}:", self.networks.cfg.bridge);
        let nets = self.networks.all();
        for (name, alias) in link::tagged(&tag).unwrap_or_default() {
            let owner = &alias[tag.len()..];
            let ours = match owner.strip_prefix("net:") {
                Some(net) => nets.iter().any(|n| n.id == net),
                None => live.iter().any(|c| c.id == owner && c.rec().endpoints.values().any(|e| e.host_if == name)),
            };
            if !ours {
                tracing::info!(link = name, "removing a link that belongs to nothing");
                let _ = link::delete(&name);
            }
        }
        for ctr in &live {
            let ns = Networks::netns_path(&self.cfg.run_dir(&ctr.id));
            if !berth_runtime::netns::exists(&ns) {
                continue;
            }
            self.keep_ports(ctr);
            self.serve_dns(ctr, &ns);
        }
        if let Err(e) = self.refresh_firewall() {
            tracing::warn!(error = %crate::error::chain(&e), "could not write the firewall rules");
        }
    }

    /// A running container's published ports after a restart (or a disconnect from the
    /// network they led to): its proxy kept them, or one is started again for the ports it had.
    fn keep_ports(&self, ctr: &Arc<Ctr>) {
        let rec = ctr.rec().clone();
        let run = self.cfg.run_dir(&ctr.id);
        if rec.ports.is_empty() || proxy::running(&run, &ctr.id) {
            return;
        }
        let Some(to) = self.primary_ip(&rec) else { return };
        let mut ports = Vec::new();
        for (k, binds) in &rec.ports {
            let Ok((ctr_port, proto)) = port_key(k) else { continue };
            for b in binds {
                let (Some(Ok(ip)), Some(Ok(p))) = (b.host_ip.as_deref().map(str::parse), b.host_port.as_deref().map(str::parse::<u16>)) else { continue };
                ports.push(Want { proto: proto_of(&proto), ip: Some(ip), lo: p, hi: p, ctr_port });
            }
        }
        match proxy::start(&self.proxy_bin(), &run, &ctr.id, &Request { to, ports }) {
            Ok(Ok(_)) => {}
            Ok(Err(f)) => tracing::warn!(container = &ctr.id[..12], addr = f.addr, error = f.error, "could not take the container's published port again"),
            Err(e) => tracing::warn!(container = &ctr.id[..12], error = %crate::error::chain(&e), "could not take the container's published ports again"),
        }
    }

    fn net_event(&self, action: &str, n: &Net, extra: &[(&str, String)]) {
        let mut attrs = BTreeMap::from([("name".to_owned(), n.name.clone()), ("type".to_owned(), n.driver.clone())]);
        for (k, v) in extra {
            attrs.insert((*k).to_owned(), v.clone());
        }
        self.events.publish("network", action, &n.id, attrs);
    }

    /// The API's view of a network; `containers` fills `Containers` (inspect).
    fn network_view(&self, n: &Net, containers: bool) -> Network {
        let mut config = match (n.subnet, n.gateway) {
            (Some(s), Some(g)) => vec![IpamConfig { subnet: Some(s.to_string()), ip_range: n.ip_range.map(|r| r.to_string()), gateway: Some(g.to_string()), auxiliary_addresses: None }],
            _ => Vec::new(),
        };
        if let (Some(s), Some(g)) = (n.subnet6, n.gateway6) {
            config.push(IpamConfig { subnet: Some(s.to_string()), ip_range: None, gateway: Some(g.to_string()), auxiliary_addresses: None });
        }
        let mut out = Network {
            name: n.name.clone(),
            id: n.id.clone(),
            created: n.created.clone(),
            scope: "local".into(),
            driver: n.driver.clone(),
            enable_ipv4: Some(true),
            enable_ipv6: n.subnet6.is_some(),
            ipam: Ipam { driver: Some("default".into()), config: Some(config), options: None },
            internal: n.internal,
            attachable: n.attachable,
            ingress: false,
            config_from: Some(berth_api_types::network::ConfigReference { network: String::new() }),
            config_only: Some(false),
            containers: BTreeMap::new(),
            options: n.options.clone(),
            labels: n.labels.clone(),
        };
        if containers {
            for c in self.all_containers() {
                let r = c.rec();
                if !r.state.status.is_live() {
                    continue;
                }
                let Some(ep) = r.endpoints.get(&n.id) else { continue };
                let prefix = n.subnet.map(|s| s.prefix_len()).unwrap_or(0);
                out.containers.insert(
                    r.id.clone(),
                    NetworkContainer {
                        name: r.name.clone(),
                        endpoint_id: ep.endpoint_id.clone(),
                        mac_address: ep.ip.map(|ip| ipam::mac_string(&ipam::mac_for(ip))).unwrap_or_default(),
                        ipv4_address: ep.ip.map(|ip| format!("{ip}/{prefix}")).unwrap_or_default(),
                        ipv6_address: ep.ip6.zip(n.subnet6).map(|(ip, s)| format!("{ip}/{}", s.prefix_len())).unwrap_or_default(),
                    },
                );
            }
            if n.driver == "host" || n.driver == "null" {
                for c in self.all_containers() {
                    let r = c.rec();
                    if r.state.status.is_live() && r.host_config.network_mode.as_deref() == Some(n.name.as_str()) {
                        out.containers.insert(r.id.clone(), NetworkContainer { name: r.name.clone(), endpoint_id: crate::container::inspect::predefined_endpoint_id(&r, &n.name), ..Default::default() });
                    }
                }
            }
        }
        out
    }

    /// A container's endpoint on one network, as inspect and list show it.
    pub(crate) fn endpoint_view(&self, r: &Record, net_id: &str, ep: &Endpoint) -> (String, EndpointSettings) {
        // Read in place: the list of a thousand containers makes a view for each, and a copy
        // of the network's record (its options and labels) cost more than the view.
        match self.networks.with(net_id, |net| Self::endpoint_view_on(r, net_id, Some(net), ep)) {
            Some(view) => view,
            None => Self::endpoint_view_on(r, net_id, None, ep),
        }
    }

    fn endpoint_view_on(r: &Record, net_id: &str, net: Option<&Net>, ep: &Endpoint) -> (String, EndpointSettings) {
        let name = net.map(|n| n.name.clone()).unwrap_or_else(|| net_id.to_owned());
        let prefix = net.and_then(|n| n.subnet).map(|s| s.prefix_len() as i64);
        let up = ep.ip.is_some();
        let s = EndpointSettings {
            ipam_config: (ep.static_ip.is_some() || ep.static_ip6.is_some()).then(|| berth_api_types::network::EndpointIpamConfig {
                ipv4_address: ep.static_ip.map(|ip| ip.to_string()),
                ipv6_address: ep.static_ip6.map(|ip| ip.to_string()),
                ..Default::default()
            }),
            links: None,
            mac_address: Some(ep.ip.map(|ip| ipam::mac_string(&ipam::mac_for(ip))).unwrap_or_default()),
            aliases: (!ep.aliases.is_empty()).then(|| ep.aliases.clone()),
            driver_opts: None,
            gw_priority: Some(0),
            network_id: Some(net_id.to_owned()),
            endpoint_id: Some(ep.endpoint_id.clone()),
            gateway: Some(if up { net.and_then(|n| n.gateway).map(|g| g.to_string()).unwrap_or_default() } else { String::new() }),
            ip_address: Some(ep.ip.map(|ip| ip.to_string()).unwrap_or_default()),
            ip_prefix_len: Some(if up { prefix.unwrap_or(0) } else { 0 }),
            ipv6_gateway: Some(ep.ip6.and(net.and_then(|n| n.gateway6)).map(|g| g.to_string()).unwrap_or_default()),
            global_ipv6_address: Some(ep.ip6.map(|a| a.to_string()).unwrap_or_default()),
            global_ipv6_prefix_len: Some(ep.ip6.and(net.and_then(|n| n.subnet6)).map(|s| s.prefix_len() as i64).unwrap_or(0)),
            dns_names: net.filter(|n| !n.is_default_bridge()).map(|_| dns_names(r, ep)),
        };
        (name, s)
    }

    pub(crate) fn network_name(&self, id: &str) -> Option<String> {
        self.networks.get(id).map(|n| n.name)
    }

    pub(crate) fn network_id(&self, key: &str) -> Option<String> {
        self.networks.find(key).ok().map(|n| n.id)
    }

    /// The bridge gateway, for `--add-host name:host-gateway`.
    pub(crate) fn host_gateway(&self) -> Option<Ipv4Addr> {
        self.networks.default_bridge().gateway
    }

    /// `POST /networks/create`.
    pub async fn network_create(self: &Arc<Self>, _principal: &Principal, req: NetworkCreateRequest) -> Result<NetworkCreateResponse> {
        let engine = self.clone();
        tokio::task::spawn_blocking(move || engine.network_create_blocking(req)).await.map_err(|e| Error::Internal(format!("network create: {e}")))?
    }

    fn network_create_blocking(&self, req: NetworkCreateRequest) -> Result<NetworkCreateResponse> {
        let name = req.name.trim().to_owned();
        let valid = !name.is_empty() && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !valid {
            return Err(Error::InvalidParameter(format!("invalid network name {:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", req.name)));
        }
        let driver = req.driver.clone().filter(|d| !d.is_empty()).unwrap_or_else(|| "bridge".into());
        match driver.as_str() {
            "bridge" => {}
            "host" | "null" => return Err(Error::Forbidden(format!("only one instance of \"{driver}\" network is allowed"))),
            d => return Err(Error::NotImplemented(format!("network driver {d:?} (berth has bridge networks)"))),
        }
        if req.enable_ipv4 == Some(false) {
            return Err(Error::NotImplemented("networks without IPv4".into()));
        }
        if req.ingress == Some(true) || req.config_only == Some(true) || req.config_from.as_ref().is_some_and(|c| !c.network.is_empty()) {
            return Err(Error::NotImplemented("swarm networks (--ingress, --config-only, --config-from)".into()));
        }
        if req.scope.as_deref().is_some_and(|s| !s.is_empty() && s != "local") {
            return Err(Error::NotImplemented(format!("network scope {:?}", req.scope.as_deref().unwrap_or(""))));
        }
        let ipam = req.ipam.clone().unwrap_or_default();
        if ipam.driver.as_deref().is_some_and(|d| !d.is_empty() && d != "default") {
            return Err(Error::NotImplemented(format!("IPAM driver {:?}", ipam.driver.as_deref().unwrap_or(""))));
        }
        if ipam.options.as_ref().is_some_and(|o| !o.is_empty()) {
            return Err(Error::NotImplemented("IPAM options (--ipam-opt)".into()));
        }
        let is_v6 = |c: &IpamConfig| c.subnet.as_deref().is_some_and(|s| s.contains(':'));
        let all_configs = ipam.config.unwrap_or_default();
        let (configs6, configs): (Vec<IpamConfig>, Vec<IpamConfig>) = all_configs.into_iter().partition(is_v6);
        if configs.len() > 1 || configs6.len() > 1 {
            return Err(Error::NotImplemented("more than one subnet of a family per network".into()));
        }
        let ipv6 = req.enable_ipv6 == Some(true);
        if !configs6.is_empty() && !ipv6 {
            return Err(Error::InvalidParameter("an IPv6 subnet needs --ipv6 (EnableIPv6)".into()));
        }
        let (mut subnet6, mut gateway6) = (None, None);
        if let Some(c) = configs6.first() {
            if c.ip_range.as_deref().is_some_and(|r| !r.is_empty()) || c.auxiliary_addresses.as_ref().is_some_and(|a| !a.is_empty()) {
                return Err(Error::NotImplemented("--ip-range and --aux-address for IPv6 subnets".into()));
            }
            let sub = c.subnet.as_deref().unwrap_or("");
            let n: Ipv6Net = sub.parse().map_err(|_| Error::InvalidParameter(format!("invalid subnet: {sub:?}: want a CIDR such as fd00:1::/64")))?;
            if n.trunc() != n || n.prefix_len() > 124 {
                return Err(Error::InvalidParameter(format!("invalid IPv6 subnet {sub}: host bits set, or too small")));
            }
            subnet6 = Some(n);
            if let Some(g) = c.gateway.as_deref().filter(|g| !g.is_empty()) {
                let g: Ipv6Addr = g.parse().map_err(|_| Error::InvalidParameter(format!("invalid gateway address: {g:?}")))?;
                if !n.contains(&g) || g == n.network() {
                    return Err(Error::InvalidParameter(format!("invalid gateway {g}: it is not a host address of the subnet {n}")));
                }
                gateway6 = Some(g);
            }
        }
        let options = req.options.clone().unwrap_or_default();
        const MTU: &str = "com.docker.network.driver.mtu";
        for k in options.keys() {
            if k != "com.docker.network.bridge.name" && k != MTU {
                return Err(Error::NotImplemented(format!("network option {k:?} (berth takes com.docker.network.bridge.name and {MTU})")));
            }
        }
        let mtu = match options.get(MTU) {
            None => None,
            Some(v) => Some(v.parse::<u32>().ok().filter(|m| (68..=65535).contains(m)).ok_or_else(|| Error::InvalidParameter(format!("invalid {MTU} {v:?}: want a number from 68 to 65535")))?),
        };
        let id = crate::container::record::new_id();
        let bridge = options.get("com.docker.network.bridge.name").cloned().unwrap_or_else(|| format!("br-{}", &id[..12]));
        if bridge.is_empty() || bridge.len() > 15 || bridge.contains(['/', ' ', ':']) {
            return Err(Error::InvalidParameter(format!("invalid bridge name {bridge:?}: at most 15 characters, no '/', ':' or space")));
        }
        let (mut subnet, mut gateway, mut ip_range) = (None, None, None);
        if let Some(c) = configs.first() {
            if c.auxiliary_addresses.as_ref().is_some_and(|a| !a.is_empty()) {
                return Err(Error::NotImplemented("auxiliary addresses (--aux-address)".into()));
            }
            let parse_net = |s: &str, what: &str| -> Result<Ipv4Net> {
                match s.parse::<ipnet::IpNet>() {
                    Ok(ipnet::IpNet::V4(n)) => Ok(n),
                    Ok(ipnet::IpNet::V6(_)) => Err(Error::NotImplemented("IPv6 subnets".into())),
                    Err(_) => Err(Error::InvalidParameter(format!("invalid {what}: {s:?}: want a CIDR such as 10.1.0.0/24"))),
                }
            };
            if let Some(s) = c.subnet.as_deref().filter(|s| !s.is_empty()) {
                let n = parse_net(s, "subnet")?;
                if n.trunc() != n {
                    return Err(Error::InvalidParameter(format!("invalid subnet {s}: it has host bits set (did you mean {}?)", n.trunc())));
                }
                if n.prefix_len() > 30 {
                    return Err(Error::InvalidParameter(format!("invalid subnet {s}: too small for a network")));
                }
                subnet = Some(n);
            }
            if let Some(r) = c.ip_range.as_deref().filter(|s| !s.is_empty()) {
                let r = parse_net(r, "ip-range")?;
                match subnet {
                    Some(s) if s.contains(&r) => ip_range = Some(r.trunc()),
                    Some(_) => return Err(Error::InvalidParameter(format!("invalid pool request: the ip-range {r} is not within the subnet"))),
                    None => return Err(Error::InvalidParameter("an ip-range needs a subnet (--subnet)".into())),
                }
            }
            if let Some(g) = c.gateway.as_deref().filter(|s| !s.is_empty()) {
                let g: Ipv4Addr = g.parse().map_err(|_| Error::InvalidParameter(format!("invalid gateway address: {g:?}")))?;
                match subnet {
                    Some(s) if s.contains(&g) && g != s.network() && g != s.broadcast() => gateway = Some(g),
                    Some(s) => return Err(Error::InvalidParameter(format!("invalid gateway {g}: it is not a host address of the subnet {s}"))),
                    None => return Err(Error::InvalidParameter("a gateway needs a subnet (--subnet)".into())),
                }
            }
        }
        let _g = lock(&self.networks.alloc);
        if self.networks.by_name(&name).is_some() {
            return Err(Error::Conflict(format!("network with name {name} already exists")));
        }
        if self.networks.all().iter().any(|n| n.bridge == bridge && n.is_bridge()) {
            return Err(Error::Conflict(format!("bridge name {bridge} is already used by another network")));
        }
        if ipv6 {
            let others: Vec<Ipv6Net> = self.networks.all().iter().filter_map(|n| n.subnet6).collect();
            let s6 = match subnet6 {
                Some(s) if others.iter().any(|o| o.contains(&s.network()) || s.contains(&o.network())) => {
                    return Err(Error::Forbidden("invalid pool request: Pool overlaps with other one on this address space".into()));
                }
                Some(s) => s,
                None => ipam::free_subnet6(&[others, ipam::host_routes6()].concat())?,
            };
            subnet6 = Some(s6);
            if gateway6.is_none() {
                gateway6 = s6.hosts().nth(1);
            }
        }
        if let Some(s) = subnet {
            if self.networks.all().iter().filter_map(|n| n.subnet).any(|o| ipam::overlaps(&o, &s)) {
                return Err(Error::Forbidden("invalid pool request: Pool overlaps with other one on this address space".into()));
            }
            if gateway.is_none() {
                gateway = Some(ipam::default_gateway(&s)?);
            }
        }
        let mut n = Net {
            id: id.clone(),
            name,
            created: crate::time::now(),
            driver,
            internal: req.internal == Some(true),
            attachable: req.attachable == Some(true),
            labels: req.labels.clone().unwrap_or_default(),
            options,
            subnet,
            gateway,
            ip_range,
            user_subnet: subnet.is_some(),
            bridge,
            predefined: false,
            mtu,
            subnet6,
            gateway6,
        };
        self.networks.make_bridge(&mut n)?;
        if let Err(e) = self.networks.save(&n) {
            let _ = link::delete(&n.bridge);
            return Err(e);
        }
        lock(&self.networks.nets).insert(n.id.clone(), n.clone());
        drop(_g);
        if let Err(e) = self.refresh_firewall() {
            let _ = self.network_delete_record(&n);
            return Err(e);
        }
        self.net_event("create", &n, &[]);
        Ok(NetworkCreateResponse { id, warning: String::new() })
    }

    fn network_delete_record(&self, n: &Net) -> Result<()> {
        lock(&self.networks.nets).remove(&n.id);
        let p = self.networks.dir.join(format!("{}.json", n.id));
        let _ = std::fs::remove_file(&p);
        if n.is_bridge() {
            link::delete(&n.bridge).map_err(Error::io("delete the bridge", Path::new(&n.bridge)))?;
        }
        Ok(())
    }

    /// `GET /networks`.
    pub fn network_list(&self, _principal: &Principal, filters: &Filters) -> Result<Vec<Network>> {
        filters.validate(&["driver", "id", "label", "name", "scope", "type", "dangling"]).map_err(|e| Error::InvalidParameter(e.to_string()))?;
        let dangling = filters.boolean("dangling").map_err(|e| Error::InvalidParameter(e.to_string()))?;
        let in_use = self.networks_in_use();
        let mut out: Vec<Network> = self
            .networks
            .all()
            .into_iter()
            .filter(|n| !filters.contains("driver") || filters.get("driver").any(|d| d == n.driver))
            .filter(|n| !filters.contains("id") || filters.get("id").any(|i| n.id.starts_with(i)))
            .filter(|n| !filters.contains("name") || filters.get("name").any(|x| n.name.contains(x)))
            .filter(|_| !filters.contains("scope") || filters.get("scope").any(|s| s == "local"))
            .filter(|n| !filters.contains("type") || filters.get("type").any(|t| (t == "builtin") == n.predefined))
            .filter(|n| filters.labels_match(&n.labels))
            .filter(|n| dangling.is_none_or(|d| d == (!n.predefined && !in_use.contains(&n.id))))
            .map(|n| self.network_view(&n, false))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Networks with a running container on them.
    fn networks_in_use(&self) -> Vec<String> {
        let mut v = Vec::new();
        for c in self.all_containers() {
            let r = c.rec();
            if r.state.status.is_live() {
                v.extend(r.endpoints.keys().cloned());
            }
        }
        v
    }

    /// `GET /networks/{id}`.
    pub fn network_inspect(&self, _principal: &Principal, key: &str) -> Result<Network> {
        let n = self.networks.find(key)?;
        Ok(self.network_view(&n, true))
    }

    /// `DELETE /networks/{id}`.
    pub async fn network_remove(self: &Arc<Self>, _principal: &Principal, key: &str) -> Result<()> {
        let n = self.networks.find(key)?;
        if n.predefined {
            return Err(Error::Forbidden(format!("{} is a pre-defined network and cannot be removed", n.name)));
        }
        let engine = self.clone();
        tokio::task::spawn_blocking(move || engine.network_remove_blocking(&n)).await.map_err(|e| Error::Internal(format!("network remove: {e}")))?
    }

    fn network_remove_blocking(&self, n: &Net) -> Result<()> {
        let _g = lock(&self.networks.alloc);
        let users: Vec<String> = self
            .all_containers()
            .into_iter()
            .filter(|c| {
                let r = c.rec();
                r.state.status.is_live() && r.endpoints.contains_key(&n.id)
            })
            .map(|c| c.rec().name.clone())
            .collect();
        if !users.is_empty() {
            return Err(Error::Conflict(format!("error while removing network: network {} has active endpoints (name:{:?} id:{:?}): stop or disconnect {}", n.name, users[0], &n.id[..12], users.join(", "))));
        }
        self.network_delete_record(n)?;
        drop(_g);
        if let Err(e) = self.refresh_firewall() {
            tracing::warn!(error = %crate::error::chain(&e), "could not rewrite the firewall rules");
        }
        self.net_event("destroy", n, &[]);
        Ok(())
    }

    /// `POST /networks/prune`: user-defined networks no running container is on.
    pub async fn network_prune(self: &Arc<Self>, principal: &Principal, filters: &Filters) -> Result<NetworkPruneResponse> {
        filters.validate(&["until", "label", "label!"]).map_err(|e| Error::InvalidParameter(e.to_string()))?;
        let until = crate::time::until_filter(filters)?;
        let in_use = self.networks_in_use();
        let mut deleted = Vec::new();
        for n in self.networks.all() {
            if n.predefined || in_use.contains(&n.id) || !filters.labels_match(&n.labels) {
                continue;
            }
            if until.is_some_and(|u| crate::time::parse_rfc3339(&n.created).is_some_and(|c| c > u)) {
                continue;
            }
            if self.network_remove(principal, &n.id).await.is_ok() {
                deleted.push(n.name.clone());
            }
        }
        // null when none went, as dockerd answers
        Ok(NetworkPruneResponse { networks_deleted: (!deleted.is_empty()).then_some(deleted) })
    }

    /// `POST /networks/{id}/connect`.
    pub async fn network_connect(self: &Arc<Self>, principal: &Principal, key: &str, req: NetworkConnectRequest) -> Result<()> {
        let n = self.networks.find(key)?;
        let ctr = self.find(principal, &req.container)?;
        let _op = ctr.op.lock().await;
        let (mode, has) = {
            let r = ctr.rec();
            (r.host_config.network_mode.clone().unwrap_or_default(), r.endpoints.contains_key(&n.id))
        };
        if mode == "host" || mode == "none" || mode.starts_with("container:") || !n.is_bridge() {
            return Err(Error::Forbidden(format!("container cannot be connected to network {} while it uses network mode {mode:?}", n.name)));
        }
        if has {
            return Err(Error::Forbidden(format!("endpoint with name {} already exists in network {}", ctr.rec().name, n.name)));
        }
        let nc = NetworkingConfig { endpoints_config: Some(BTreeMap::from([(n.name.clone(), req.endpoint_config.clone().unwrap_or_default())])) };
        let host = HostConfig { network_mode: Some(n.name.clone()), ..Default::default() };
        let mut eps = self.endpoints_for_create(&host, Some(&nc), true)?;
        let ep = eps.remove(&n.id).expect("the network was added");
        let running = ctr.rec().state.status.is_live();
        if running {
            let engine = self.clone();
            let c = ctr.clone();
            let net_id = n.id.clone();
            tokio::task::spawn_blocking(move || -> Result<()> {
                let ns = Networks::netns_path(&engine.cfg.run_dir(&c.id));
                let used: Vec<String> = c.rec().endpoints.values().map(|e| e.ifname.clone()).collect();
                let ifname = (0..).map(|i| format!("eth{i}")).find(|n| !used.contains(n)).expect("a free name");
                let had_dns = lock(&engine.networks.dns).contains_key(&c.id);
                engine.endpoint_up(&c, &ns, &net_id, ep, &ifname)?;
                if !had_dns {
                    engine.serve_dns(&c, &ns);
                }
                // Its new address in /etc/hosts, and the embedded name server in resolv.conf
                // once it is on a user network, as dockerd updates them.
                let rec = c.rec().clone();
                engine.write_etc_files(&rec, false)?;
                Ok(())
            })
            .await
            .map_err(|e| Error::Internal(format!("network connect: {e}")))??;
        } else {
            ctr.rec().endpoints.insert(n.id.clone(), ep);
        }
        ctr.rec().save(&self.cfg.containers_dir())?;
        self.net_event("connect", &n, &[("container", ctr.id.clone())]);
        Ok(())
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn network_disconnect(self: &Arc<Self>, principal: &Principal, key: &str, container: &str, force: bool) -> Result<()> {
        let n = match self.networks.find(key) {
            Err(Error::NotFound(_)) if force => return self.disconnect_removed_network(principal, key, container).await,
            found => found?,
        };
        let ctr = self.find(principal, container)?;
        let _op = ctr.op.lock().await;
        let ep = ctr.rec().endpoints.get(&n.id).cloned();
        let Some(ep) = ep else {
            return Err(Error::Forbidden(format!("container {} is not connected to network {}", &ctr.id[..12], n.name)));
        };
        if !ep.host_if.is_empty() {
            let name = ep.host_if.clone();
            tokio::task::spawn_blocking(move || link::delete(&name)).await.map_err(|e| Error::Internal(format!("network disconnect: {e}")))?.map_err(Error::io("delete the container's link", Path::new(&ep.host_if)))?;
        }
        let (had_ports, running) = {
            let mut r = ctr.rec();
            r.endpoints.remove(&n.id);
            r.save(&self.cfg.containers_dir())?;
            (!r.ports.is_empty(), r.state.status.is_live())
        };
        if running {
            let rec = ctr.rec().clone();
            self.write_etc_files(&rec, false)?;
        }
        if had_ports {
            self.refresh_firewall()?;
            // The proxy may have relayed to the address that just went (the one the container
            // had when it started): it starts again for the address ports now lead to.
            if running && ep.ip.is_some() {
                let (engine, c) = (self.clone(), ctr.clone());
                tokio::task::spawn_blocking(move || {
                    proxy::stop(&engine.cfg.run_dir(&c.id), &c.id);
                    engine.keep_ports(&c);
                })
                .await
                .map_err(|e| Error::Internal(format!("network disconnect: {e}")))?;
            }
        }
        self.net_event("disconnect", &n, &[("container", ctr.id.clone())]);
        Ok(())
    }

    /// `network disconnect -f` of a network that was removed while the container was stopped
    /// (its id, or a prefix of it, as the start's error names it): the container forgets it,
    /// as dockerd lets it, so it can start again.
    async fn disconnect_removed_network(&self, principal: &Principal, key: &str, container: &str) -> Result<()> {
        let ctr = self.find(principal, container)?;
        let _op = ctr.op.lock().await;
        let mut r = ctr.rec();
        let gone: Vec<String> = r.endpoints.keys().filter(|id| id.starts_with(key) && self.networks.get(id).is_none()).cloned().collect();
        if gone.len() != 1 || r.state.status.is_live() {
            return Err(Error::NotFound(format!("network {key} not found")));
        }
        r.endpoints.remove(&gone[0]);
        r.save(&self.cfg.containers_dir())
    }

    /// Ports as inspect shows them: every exposed or published container port, with its
    /// bindings while the container runs on a bridge network (`null` for one that is not
    /// published).
    pub(crate) fn ports_view(r: &Record) -> PortMap {
        let mut out: PortMap = BTreeMap::new();
        // Without a network of its own (none, host, container:) a container has no ports to
        // show, as dockerd shows none.
        if !r.state.status.is_live() || r.endpoints.is_empty() {
            return out;
        }
        for k in r.config.exposed_ports.iter().flat_map(|e| e.keys()) {
            out.insert(k.clone(), None);
        }
        for (k, v) in &r.ports {
            out.insert(k.clone(), Some(v.clone()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ports_parse() {
        assert_eq!(host_port_range("").expect("any"), (0, 0));
        assert_eq!(host_port_range("8080").expect("one"), (8080, 8080));
        assert_eq!(host_port_range("8000-8010").expect("range"), (8000, 8010));
        assert!(host_port_range("9-1").is_err() && host_port_range("x").is_err() && host_port_range("70000").is_err());
        assert_eq!(port_key("53/udp").expect("udp"), (53, "udp".to_owned()));
        assert_eq!(port_key("80").expect("tcp"), (80, "tcp".to_owned()));
        assert!(matches!(port_key("80/sctp"), Err(Error::NotImplemented(_))));
        assert!(port_key("x/tcp").is_err());
    }
}
