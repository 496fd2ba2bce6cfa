//! berthd's flags and daemon.json, resolved into one validated [`Settings`] at start.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context};
use berth_api_types::container::Ulimit;
use clap::Parser;
use serde_json::Value;

#[derive(Parser, Debug, Default)]
#[command(name = "berthd", version, about = "berth's daemon: serves the Docker Engine API on a Unix socket")]
pub struct Flags {
    /// Socket to listen on (repeatable): unix:///path, or tcp://host:port with --tlsverify.
    #[arg(short = 'H', long = "host")]
    pub hosts: Vec<String>,
    /// Persistent state: images, container records, logs.
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// Runtime state: shim sockets, bundles (lost on reboot).
    #[arg(long)]
    pub exec_root: Option<PathBuf>,
    #[arg(long, short = 'p')]
    pub pidfile: Option<PathBuf>,
    /// Group that owns the socket (created if missing); the socket is mode 0660.
    #[arg(long, short = 'G')]
    pub group: Option<String>,
    /// daemon.json with the same keys as the flags.
    #[arg(long)]
    pub config_file: Option<PathBuf>,
    /// debug, info, warn, error or fatal.
    #[arg(long, short = 'l')]
    pub log_level: Option<String>,
    /// The runtime of containers that name none: `berth` (built in; also answers to `runc`
    /// unless a runtime is added under that name) or an added one.
    #[arg(long)]
    pub default_runtime: Option<String>,
    /// NAME=PATH of another OCI runtime binary (runc, crun, youki, …); repeatable.
    #[arg(long)]
    pub add_runtime: Vec<String>,
    /// daemon.json `runtimes.NAME.runtimeArgs`.
    #[arg(skip)]
    pub runtime_args: BTreeMap<String, Vec<String>>,
    /// A mirror for Docker Hub images (http(s)://host[:port]); repeatable, tried in order.
    #[arg(long)]
    pub registry_mirror: Vec<String>,
    /// A registry (host[:port] or CIDR) that may be reached over plain HTTP; loopback always may.
    #[arg(long)]
    pub insecure_registry: Vec<String>,
    /// Layers downloaded at once per pull.
    #[arg(long)]
    pub max_concurrent_downloads: Option<usize>,
    /// Layers uploaded at once per push.
    #[arg(long)]
    pub max_concurrent_uploads: Option<usize>,
    /// NAME=SOFT[:HARD], applied to containers that set no ulimit of that name.
    #[arg(long)]
    pub default_ulimit: Vec<String>,
    /// Accepted for compatibility: containers always outlive berthd.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub live_restore: Option<bool>,
    /// Parent cgroup of containers.
    #[arg(long)]
    pub cgroup_parent: Option<String>,
    #[arg(long)]
    pub tlsverify: bool,
    #[arg(long)]
    pub tlscacert: Option<PathBuf>,
    #[arg(long)]
    pub tlscert: Option<PathBuf>,
    #[arg(long)]
    pub tlskey: Option<PathBuf>,
    /// Name of the default bridge's link (default berth0); also tags this daemon's links and
    /// iptables chains.
    #[arg(long, short = 'b')]
    pub bridge: Option<String>,
    /// The default bridge's address with prefix (e.g. 172.26.0.1/16).
    #[arg(long)]
    pub bip: Option<String>,
    /// base=CIDR,size=N: where subnets of new networks come from (repeatable).
    #[arg(long)]
    pub default_address_pool: Vec<String>,
    /// Manage iptables rules (masquerading, isolation, published ports).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub iptables: Option<bool>,
    /// The berth-shim binary (default: next to berthd).
    #[arg(long, hide = true)]
    pub shim_path: Option<PathBuf>,
    /// Docker Hub's endpoint (default https://registry-1.docker.io); tests point it at a
    /// closed loopback port so nothing they do can reach the internet.
    #[arg(long, hide = true)]
    pub hub_endpoint: Option<String>,
}

/// Everything berthd runs with.
#[derive(Debug)]
pub struct Settings {
    pub unix_sockets: Vec<PathBuf>,
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub pidfile: PathBuf,
    pub group: String,
    pub log_level: tracing::Level,
    pub cgroup_parent: String,
    pub default_ulimits: Vec<Ulimit>,
    pub runtimes: BTreeMap<String, berth_engine::container::runtime::RuntimeConfig>,
    pub default_runtime: String,
    pub shim_bin: PathBuf,
    pub registry: berth_image::registry::RegistryConfig,
    pub network: berth_engine::network::NetConfig,
    /// `tcp://` listeners (mutual TLS) and the TLS files they use.
    pub tcp: Vec<std::net::SocketAddr>,
    pub tls: Option<TlsFiles>,
}

/// `--tlscacert`, `--tlscert`, `--tlskey`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// daemon.json keys berthd knows, and the flag each stands for.
const KEYS: &[(&str, &str)] = &[
    ("hosts", "--host"),
    ("data-root", "--data-root"),
    ("exec-root", "--exec-root"),
    ("pidfile", "--pidfile"),
    ("group", "--group"),
    ("log-level", "--log-level"),
    ("default-runtime", "--default-runtime"),
    ("runtimes", "--add-runtime"),
    ("registry-mirrors", "--registry-mirror"),
    ("insecure-registries", "--insecure-registry"),
    ("max-concurrent-downloads", "--max-concurrent-downloads"),
    ("max-concurrent-uploads", "--max-concurrent-uploads"),
    ("default-ulimits", "--default-ulimit"),
    ("live-restore", "--live-restore"),
    ("cgroup-parent", "--cgroup-parent"),
    ("tlsverify", "--tlsverify"),
    ("tlscacert", "--tlscacert"),
    ("tlscert", "--tlscert"),
    ("tlskey", "--tlskey"),
    ("bridge", "--bridge"),
    ("bip", "--bip"),
    ("default-address-pools", "--default-address-pool"),
    ("iptables", "--iptables"),
];

fn parse_ulimit(s: &str) -> anyhow::Result<Ulimit> {
    let (name, vals) = s.split_once('=').with_context(|| format!("invalid --default-ulimit {s:?}: want NAME=SOFT[:HARD]"))?;
    let (soft, hard) = vals.split_once(':').unwrap_or((vals, vals));
    let soft: i64 = soft.parse().with_context(|| format!("invalid --default-ulimit {s:?}: soft limit is not a number"))?;
    let hard: i64 = hard.parse().with_context(|| format!("invalid --default-ulimit {s:?}: hard limit is not a number"))?;
    if soft > hard {
        bail!("invalid --default-ulimit {s:?}: soft limit {soft} is above hard limit {hard}");
    }
    Ok(Ulimit { name: name.to_owned(), soft, hard })
}

impl Flags {
    /// Applies daemon.json (refusing a key also given as a flag, as dockerd does), then checks.
    pub fn resolve(mut self) -> anyhow::Result<Settings> {
        if let Some(path) = self.config_file.clone() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("read the config file {}", path.display()))?;
            let v: Value = serde_json::from_str(&text).with_context(|| format!("parse the config file {}", path.display()))?;
            let obj = v.as_object().with_context(|| format!("the config file {} is not a JSON object", path.display()))?;
            self.merge_file(obj).with_context(|| format!("config file {}", path.display()))?;
        }
        let (runtimes, default_runtime) = self.runtimes()?;
        let registry = self.registry_config()?;
        let network = self.network_config()?;
        let mut unix_sockets = Vec::new();
        let mut tcp = Vec::new();
        for h in if self.hosts.is_empty() { vec!["unix:///run/berth/berth.sock".to_owned()] } else { self.hosts.clone() } {
            if let Some(p) = h.strip_prefix("unix://") {
                unix_sockets.push(PathBuf::from(if p.is_empty() { "/run/berth/berth.sock" } else { p }));
            } else if let Some(addr) = h.strip_prefix("tcp://") {
                if !self.tlsverify {
                    bail!("refusing to listen on {h} without --tlsverify: plain TCP gives root on this host to anyone who can reach the port (and to any web page, by cross-site requests); use --tlsverify --tlscacert --tlscert --tlskey for mutual TLS");
                }
                let addr = if addr.starts_with(':') { format!("0.0.0.0{addr}") } else { addr.to_owned() };
                tcp.push(addr.parse().with_context(|| format!("invalid --host {h:?}: want tcp://IP:PORT"))?);
            } else if h.starts_with('/') {
                unix_sockets.push(PathBuf::from(h));
            } else {
                bail!("invalid --host {h:?}: want unix:///path or tcp://host:port");
            }
        }
        let log_level = match self.log_level.as_deref().unwrap_or("info") {
            "debug" => tracing::Level::DEBUG,
            "info" => tracing::Level::INFO,
            "warn" => tracing::Level::WARN,
            "error" | "fatal" => tracing::Level::ERROR,
            other => bail!("invalid --log-level {other:?}: want debug, info, warn, error or fatal"),
        };
        let default_ulimits = self.default_ulimit.iter().map(|u| parse_ulimit(u)).collect::<anyhow::Result<_>>()?;
        let exe = std::env::current_exe().context("find berthd's own path")?;
        let shim_bin = self.shim_path.clone().unwrap_or_else(|| exe.with_file_name("berth-shim"));
        let data_root = self.data_root.clone().unwrap_or_else(|| "/var/lib/berth".into());
        let exec_root = self.exec_root.clone().unwrap_or_else(|| "/run/berth".into());
        for (flag, p) in [("--data-root", &data_root), ("--exec-root", &exec_root)] {
            if !p.is_absolute() {
                bail!("{flag} {} must be an absolute path", p.display());
            }
        }
        Ok(Settings {
            unix_sockets,
            pidfile: self.pidfile.clone().unwrap_or_else(|| exec_root.join("berthd.pid")),
            data_root,
            exec_root,
            group: self.group.clone().unwrap_or_else(|| "berth".into()),
            log_level,
            cgroup_parent: self.cgroup_parent.clone().unwrap_or_else(|| "berth".into()),
            default_ulimits,
            runtimes,
            default_runtime,
            shim_bin,
            registry,
            network,
            tls: match (&self.tlscacert, &self.tlscert, &self.tlskey) {
                (Some(ca), Some(cert), Some(key)) => Some(TlsFiles { ca: ca.clone(), cert: cert.clone(), key: key.clone() }),
                (None, None, None) if !self.tlsverify => None,
                _ => bail!("--tlsverify needs all of --tlscacert, --tlscert and --tlskey"),
            },
            tcp,
        })
    }

    /// `--add-runtime` (and daemon.json `runtimes`) resolved to binaries that exist, and the
    /// default runtime's canonical name.
    fn runtimes(&self) -> anyhow::Result<(BTreeMap<String, berth_engine::container::runtime::RuntimeConfig>, String)> {
        use berth_engine::container::runtime::{canonical_name, RuntimeConfig, BUILT_IN};
        let mut out = BTreeMap::new();
        for r in &self.add_runtime {
            let (name, path) = r.split_once('=').with_context(|| format!("invalid --add-runtime {r:?}: want NAME=PATH"))?;
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
                bail!("invalid --add-runtime {r:?}: the name must be letters, digits, '-', '_' or '.'");
            }
            if name == BUILT_IN {
                bail!("invalid --add-runtime {r:?}: the name {BUILT_IN:?} is reserved for berth's built-in runtime");
            }
            if path.is_empty() {
                bail!("invalid --add-runtime {r:?}: the path of the runtime binary is missing");
            }
            let found = if path.contains('/') {
                Some(PathBuf::from(path)).filter(|p| p.is_file())
            } else {
                std::env::var_os("PATH").and_then(|dirs| std::env::split_paths(&dirs).map(|d| d.join(path)).find(|p| p.is_file()))
            };
            let Some(found) = found else { bail!("--add-runtime {r}: no runtime binary at {path:?}; install it or give its full path") };
            let config = RuntimeConfig { path: std::path::absolute(&found).unwrap_or(found), args: self.runtime_args.get(name).cloned().unwrap_or_default() };
            if out.insert(name.to_owned(), config).is_some() {
                bail!("--add-runtime: the runtime {name:?} is given twice");
            }
        }
        let asked = self.default_runtime.as_deref().unwrap_or(BUILT_IN);
        let Some(default) = canonical_name(asked, &out) else {
            bail!("--default-runtime {asked}: no such runtime (known: {})", std::iter::once(BUILT_IN).chain(out.keys().map(String::as_str)).collect::<Vec<_>>().join(", "))
        };
        Ok((out, default))
    }

    fn network_config(&self) -> anyhow::Result<berth_engine::network::NetConfig> {
        use berth_engine::network::{ipam::Pool, NetConfig};
        let mut cfg = NetConfig::default();
        if let Some(b) = &self.bridge {
            if b.is_empty() || b.len() > 15 || b.contains(['/', ' ', ':']) || b == "none" {
                bail!("invalid --bridge {b:?}: a link name of at most 15 characters");
            }
            cfg.bridge = b.clone();
        }
        if let Some(bip) = &self.bip {
            let net: ipnet::Ipv4Net = bip.parse().with_context(|| format!("invalid --bip {bip:?}: want an address with its prefix, such as 172.26.0.1/16"))?;
            if net.addr() == net.network() || net.prefix_len() > 30 {
                bail!("invalid --bip {bip:?}: give the bridge's own address (not the network's) in a subnet of /30 or larger");
            }
            cfg.bip = Some(net);
        }
        if !self.default_address_pool.is_empty() {
            cfg.pools = self.default_address_pool.iter().map(|p| Pool::parse(p).map_err(|e| anyhow::anyhow!("invalid --default-address-pool: {e}"))).collect::<anyhow::Result<_>>()?;
        }
        cfg.iptables = self.iptables.unwrap_or(true);
        Ok(cfg)
    }

    fn registry_config(&self) -> anyhow::Result<berth_image::registry::RegistryConfig> {
        use berth_image::registry::{Endpoint, RegistryConfig};
        let mut cfg = RegistryConfig::default();
        for m in &self.registry_mirror {
            if !(m.starts_with("http://") || m.starts_with("https://")) {
                bail!("invalid --registry-mirror {m:?}: want http://host[:port] or https://host[:port]");
            }
            cfg.mirrors.push(Endpoint::parse(m.trim_end_matches('/')).map_err(|e| anyhow::anyhow!("invalid --registry-mirror {m:?}: {e}"))?);
        }
        for r in &self.insecure_registry {
            if r.contains("://") {
                bail!("invalid --insecure-registry {r:?}: give host[:port] or a CIDR, without a scheme");
            }
        }
        cfg.insecure_registries = self.insecure_registry.clone();
        if let Some(h) = &self.hub_endpoint {
            cfg.hub_endpoint = Endpoint::parse(h).map_err(|e| anyhow::anyhow!("invalid --hub-endpoint {h:?}: {e}"))?;
        }
        for (flag, v, slot) in [
            ("--max-concurrent-downloads", self.max_concurrent_downloads, &mut cfg.max_concurrent_downloads),
            ("--max-concurrent-uploads", self.max_concurrent_uploads, &mut cfg.max_concurrent_uploads),
        ] {
            match v {
                Some(0) => bail!("{flag} must be at least 1"),
                Some(n) => *slot = n,
                None => {}
            }
        }
        Ok(cfg)
    }

    fn merge_file(&mut self, obj: &serde_json::Map<String, Value>) -> anyhow::Result<()> {
        let mut both = Vec::new();
        for (k, v) in obj {
            let Some((_, flag)) = KEYS.iter().find(|(key, _)| key == k) else {
                bail!("unknown key {k:?} (berthd knows: {})", KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", "));
            };
            let s = |v: &Value| -> anyhow::Result<String> { v.as_str().map(str::to_owned).with_context(|| format!("{k} must be a string")) };
            let list = |v: &Value| -> anyhow::Result<Vec<String>> {
                v.as_array().with_context(|| format!("{k} must be a list"))?.iter().map(|x| x.as_str().map(str::to_owned).with_context(|| format!("{k} must be a list of strings"))).collect()
            };
            let taken = match k.as_str() {
                "hosts" => set_list(&mut self.hosts, list(v)?),
                "data-root" => set(&mut self.data_root, PathBuf::from(s(v)?)),
                "exec-root" => set(&mut self.exec_root, PathBuf::from(s(v)?)),
                "pidfile" => set(&mut self.pidfile, PathBuf::from(s(v)?)),
                "group" => set(&mut self.group, s(v)?),
                "log-level" => set(&mut self.log_level, s(v)?),
                "default-runtime" => set(&mut self.default_runtime, s(v)?),
                "cgroup-parent" => set(&mut self.cgroup_parent, s(v)?),
                "tlscacert" => set(&mut self.tlscacert, PathBuf::from(s(v)?)),
                "tlscert" => set(&mut self.tlscert, PathBuf::from(s(v)?)),
                "tlskey" => set(&mut self.tlskey, PathBuf::from(s(v)?)),
                "registry-mirrors" => set_list(&mut self.registry_mirror, list(v)?),
                "insecure-registries" => set_list(&mut self.insecure_registry, list(v)?),
                "max-concurrent-downloads" => set(&mut self.max_concurrent_downloads, v.as_u64().context("max-concurrent-downloads must be a number")? as usize),
                "max-concurrent-uploads" => set(&mut self.max_concurrent_uploads, v.as_u64().context("max-concurrent-uploads must be a number")? as usize),
                "runtimes" => {
                    let m: BTreeMap<String, Value> = serde_json::from_value(v.clone()).context("runtimes must be an object")?;
                    let mut named = Vec::new();
                    for (n, r) in m {
                        if let Some(other) = r.as_object().and_then(|o| o.keys().find(|k| !matches!(k.as_str(), "path" | "runtimeArgs"))) {
                            bail!("runtimes.{n}.{other}: berth runs OCI runtime binaries only (give \"path\" and optionally \"runtimeArgs\")");
                        }
                        let path = r["path"].as_str().with_context(|| format!("runtimes.{n}.path must be a string"))?;
                        if let Some(a) = r.get("runtimeArgs") {
                            let args = serde_json::from_value(a.clone()).with_context(|| format!("runtimes.{n}.runtimeArgs must be a list of strings"))?;
                            self.runtime_args.insert(n.clone(), args);
                        }
                        named.push(format!("{n}={path}"));
                    }
                    set_list(&mut self.add_runtime, named)
                }
                "default-ulimits" => {
                    let m: BTreeMap<String, Value> = serde_json::from_value(v.clone()).context("default-ulimits must be an object")?;
                    let named: Vec<String> = m.into_iter().map(|(n, u)| format!("{n}={}:{}", u["Soft"], u["Hard"])).collect();
                    set_list(&mut self.default_ulimit, named)
                }
                "bridge" => set(&mut self.bridge, s(v)?),
                "bip" => set(&mut self.bip, s(v)?),
                "iptables" => set(&mut self.iptables, v.as_bool().context("iptables must be true or false")?),
                "default-address-pools" => {
                    let pools = v.as_array().context("default-address-pools must be a list of {\"base\": CIDR, \"size\": N}")?;
                    let named = pools
                        .iter()
                        .map(|p| Ok(format!("base={},size={}", p["base"].as_str().context("a pool needs \"base\"")?, p["size"].as_u64().context("a pool needs \"size\"")?)))
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    set_list(&mut self.default_address_pool, named)
                }
                "live-restore" => set(&mut self.live_restore, v.as_bool().context("live-restore must be true or false")?),
                "tlsverify" => {
                    let b = v.as_bool().context("tlsverify must be true or false")?;
                    let was = self.tlsverify;
                    self.tlsverify |= b;
                    !was
                }
                _ => unreachable!("every key of KEYS is handled"),
            };
            if !taken {
                both.push(format!("{k} (flag {flag})"));
            }
        }
        if !both.is_empty() {
            bail!("the following directives are specified both as a flag and in the configuration file: {}", both.join(", "));
        }
        Ok(())
    }
}

/// Sets `slot` unless a flag already did; false when it had.
fn set<T>(slot: &mut Option<T>, v: T) -> bool {
    if slot.is_some() {
        return false;
    }
    *slot = Some(v);
    true
}

fn set_list(slot: &mut Vec<String>, v: Vec<String>) -> bool {
    if !slot.is_empty() {
        return false;
    }
    *slot = v;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_berths() {
        let s = Flags::default().resolve().expect("resolves");
        assert_eq!(s.unix_sockets, [PathBuf::from("/run/berth/berth.sock")]);
        assert_eq!(s.data_root, PathBuf::from("/var/lib/berth"));
        assert_eq!(s.group, "berth");
        assert_eq!(s.pidfile, PathBuf::from("/run/berth/berthd.pid"));
    }

    #[test]
    fn registry_flags_configure_the_client() {
        let f = Flags {
            registry_mirror: vec!["http://127.0.0.1:5001/".into()],
            insecure_registry: vec!["10.0.0.0/8".into()],
            max_concurrent_downloads: Some(6),
            ..Default::default()
        };
        let r = f.resolve().expect("resolves").registry;
        assert_eq!(r.mirrors.iter().map(|m| m.to_string()).collect::<Vec<_>>(), ["http://127.0.0.1:5001"]);
        assert_eq!(r.insecure_registries, ["10.0.0.0/8"]);
        assert_eq!(r.max_concurrent_downloads, 6);
        let bad = Flags { registry_mirror: vec!["127.0.0.1:5001".into()], ..Default::default() };
        assert!(format!("{:#}", bad.resolve().expect_err("no scheme")).contains("want http://host[:port]"));
        let zero = Flags { max_concurrent_uploads: Some(0), ..Default::default() };
        assert!(format!("{:#}", zero.resolve().expect_err("zero")).contains("at least 1"));
    }

    #[test]
    fn plain_tcp_is_refused_with_the_reason() {
        let f = Flags { hosts: vec!["tcp://0.0.0.0:2375".into()], ..Default::default() };
        let e = f.resolve().expect_err("refused").to_string();
        assert!(e.contains("without --tlsverify") && e.contains("root on this host"), "{e}");
    }

    #[test]
    fn the_config_file_merges_and_conflicts_are_refused() {
        let dir = std::env::temp_dir().join(format!("berthd-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let p = dir.join("daemon.json");
        std::fs::write(&p, r#"{"data-root": "/srv/berth", "default-ulimits": {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048}}, "live-restore": true}"#).expect("write");
        let s = Flags { config_file: Some(p.clone()), ..Default::default() }.resolve().expect("resolves");
        assert_eq!(s.data_root, PathBuf::from("/srv/berth"));
        assert_eq!(s.default_ulimits, [Ulimit { name: "nofile".into(), soft: 1024, hard: 2048 }]);
        let e = Flags { config_file: Some(p.clone()), data_root: Some("/x".into()), ..Default::default() }.resolve().expect_err("conflict");
        assert!(format!("{e:#}").contains("specified both as a flag and in the configuration file: data-root"), "{e:#}");
        std::fs::write(&p, r#"{"bogus": 1}"#).expect("write");
        let e = Flags { config_file: Some(p), ..Default::default() }.resolve().expect_err("unknown");
        assert!(format!("{e:#}").contains("unknown key \"bogus\""), "{e:#}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn runtimes_resolve_to_binaries_and_bad_ones_are_refused() {
        let s = Flags { add_runtime: vec!["other=/bin/true".into(), "plain=true".into()], default_runtime: Some("other".into()), ..Default::default() }.resolve().expect("resolves");
        assert_eq!(s.runtimes["other"].path, PathBuf::from("/bin/true"));
        assert!(s.runtimes["plain"].path.is_absolute() && s.runtimes["plain"].path.ends_with("true"), "{:?}", s.runtimes["plain"]);
        assert_eq!(s.default_runtime, "other");
        // Without a runtime of that name, `runc` is the built-in runtime.
        assert_eq!(Flags { default_runtime: Some("runc".into()), ..Default::default() }.resolve().expect("resolves").default_runtime, "berth");
        let refused = |f: Flags, want: &str| {
            let e = format!("{:#}", f.resolve().expect_err(want));
            assert!(e.contains(want), "{e}");
        };
        refused(Flags { add_runtime: vec!["berth=/bin/true".into()], ..Default::default() }, "reserved for berth's built-in runtime");
        refused(Flags { add_runtime: vec!["crun=/nonexistent/crun".into()], ..Default::default() }, "no runtime binary at \"/nonexistent/crun\"");
        refused(Flags { add_runtime: vec!["crun".into()], ..Default::default() }, "want NAME=PATH");
        refused(Flags { default_runtime: Some("youki".into()), ..Default::default() }, "--default-runtime youki: no such runtime (known: berth)");

        let dir = std::env::temp_dir().join(format!("berthd-rt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let p = dir.join("daemon.json");
        std::fs::write(&p, r#"{"runtimes": {"other": {"path": "/bin/true", "runtimeArgs": ["--debug"]}}, "default-runtime": "other"}"#).expect("write");
        let s = Flags { config_file: Some(p.clone()), ..Default::default() }.resolve().expect("resolves");
        assert_eq!((s.runtimes["other"].args.as_slice(), s.default_runtime.as_str()), (&["--debug".to_owned()][..], "other"));
        std::fs::write(&p, r#"{"runtimes": {"shimv2": {"runtimeType": "io.containerd.runc.v2"}}}"#).expect("write");
        refused(Flags { config_file: Some(p), ..Default::default() }, "runtimes.shimv2.runtimeType: berth runs OCI runtime binaries only");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn default_ulimits_parse() {
        assert!(parse_ulimit("nofile=10:5").is_err());
        assert_eq!(parse_ulimit("nproc=7").expect("ok"), Ulimit { name: "nproc".into(), soft: 7, hard: 7 });
    }
}
