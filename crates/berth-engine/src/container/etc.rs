//! The files a container gets at /etc/hostname, /etc/hosts and /etc/resolv.conf, written into
//! its directory and bind-mounted (DOCKER-DEFAULTS.md). What they say is decided here from the
//! record and the host's files; [`write`] puts them on disk.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use berth_api_types::container::HostConfig;

use crate::error::{Error, Result};

const HOSTS_BASE: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// `/etc/hosts`: the host's own for `--network host`, else loopback names and the
/// container's own address and hostname (`own`); then `--add-host`, where `host-gateway` means
/// `gateway` (the default bridge's address).
pub fn hosts(host: &HostConfig, host_network: bool, host_hosts: &str, own: Option<(Ipv4Addr, &str)>, gateway: Option<Ipv4Addr>) -> Result<String> {
    let mut s = if host_network { host_hosts.to_owned() } else { HOSTS_BASE.to_owned() };
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    for e in host.extra_hosts.iter().flatten() {
        let (name, ip) = e.split_once('=').or_else(|| e.split_once(':')).ok_or_else(|| Error::InvalidParameter(format!("invalid extra host {e:?}: want host:ip")))?;
        let ip = match (ip, gateway) {
            ("host-gateway", Some(g)) => g.to_string(),
            ("host-gateway", None) => return Err(Error::InvalidParameter("--add-host ...:host-gateway: the default bridge has no address".into())),
            (ip, _) if ip.parse::<std::net::IpAddr>().is_ok() => ip.to_owned(),
            (ip, _) => return Err(Error::InvalidParameter(format!("invalid IP address in add-host: {ip:?}"))),
        };
        s.push_str(&format!("{ip}\t{name}\n"));
    }
    if let Some((ip, name)) = own {
        s.push_str(&format!("{ip}\t{name}\n"));
    }
    Ok(s)
}

/// `/etc/resolv.conf`: the host's, with `--dns`, `--dns-search`, `--dns-option` replacing its
/// parts; loopback name servers are dropped when the container has its own network namespace
/// (they would mean the container itself). On user-defined networks the one name server is
/// the embedded one (127.0.0.11), which forwards to the others, as in Docker.
pub fn resolv_conf(host: &HostConfig, host_network: bool, embedded_dns: bool, host_resolv: &str) -> String {
    let mut servers: Vec<String> = Vec::new();
    let mut search: Vec<String> = Vec::new();
    let mut options: Vec<String> = Vec::new();
    for line in host_resolv.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(ip) = words.next() {
                    let loopback = ip.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback());
                    if host_network || !loopback {
                        servers.push(ip.to_owned());
                    }
                }
            }
            Some("search") | Some("domain") => search = words.map(str::to_owned).collect(),
            Some("options") => options.extend(words.map(str::to_owned)),
            _ => {}
        }
    }
    let given = |v: &Option<Vec<String>>| v.as_ref().filter(|v| !v.is_empty()).cloned();
    if let Some(d) = given(&host.dns) {
        servers = d;
    }
    if let Some(d) = given(&host.dns_search) {
        search = d.into_iter().filter(|s| s != ".").collect();
    }
    if let Some(d) = given(&host.dns_options) {
        options = d;
    }
    if embedded_dns {
        servers = vec!["127.0.0.11".into()];
        if !options.iter().any(|o| o.starts_with("ndots:")) {
            options.push("ndots:0".into());
        }
    }
    let mut s = String::new();
    for ns in &servers {
        s.push_str(&format!("nameserver {ns}\n"));
    }
    if !search.is_empty() {
        s.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        s.push_str(&format!("options {}\n", options.join(" ")));
    }
    s
}

/// Writes the three files into `dir`; returns (host path, container path) pairs.
pub fn write(dir: &Path, hostname: &str, hosts: &str, resolv: &str) -> Result<Vec<(PathBuf, &'static str)>> {
    let mut out = Vec::new();
    for (name, content, dest) in [("hostname", format!("{hostname}\n"), "/etc/hostname"), ("hosts", hosts.to_owned(), "/etc/hosts"), ("resolv.conf", resolv.to_owned(), "/etc/resolv.conf")] {
        let p = dir.join(name);
        std::fs::write(&p, content).map_err(Error::io("write the container's file", &p))?;
        out.push((p, dest));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_with_extra_entries() {
        let h = HostConfig { extra_hosts: Some(vec!["db:10.0.0.5".into(), "v6=::1".into()]), ..Default::default() };
        let s = hosts(&h, false, "ignored", None, None).expect("hosts");
        assert!(s.starts_with("127.0.0.1\tlocalhost\n"), "{s}");
        assert!(s.ends_with("10.0.0.5\tdb\n::1\tv6\n"), "{s}");
        assert!(hosts(&HostConfig { extra_hosts: Some(vec!["x:nope".into()]), ..Default::default() }, false, "", None, None).is_err());
        assert_eq!(hosts(&HostConfig::default(), true, "1.2.3.4 me", None, None).expect("host"), "1.2.3.4 me\n");
        let gw = HostConfig { extra_hosts: Some(vec!["h:host-gateway".into()]), ..Default::default() };
        let s = hosts(&gw, false, "", Some((Ipv4Addr::new(10, 0, 0, 2), "abc")), Some(Ipv4Addr::new(10, 0, 0, 1))).expect("gateway");
        assert!(s.ends_with("10.0.0.1\th\n10.0.0.2\tabc\n"), "{s}");
    }

    #[test]
    fn resolv_conf_drops_loopback_and_honours_flags() {
        let host = "nameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch corp.example\noptions edns0\n";
        assert_eq!(resolv_conf(&HostConfig::default(), false, false, host), "nameserver 10.1.1.1\nsearch corp.example\noptions edns0\n");
        assert!(resolv_conf(&HostConfig::default(), true, false, host).contains("127.0.0.53"));
        assert_eq!(resolv_conf(&HostConfig::default(), false, true, host), "nameserver 127.0.0.11\nsearch corp.example\noptions edns0 ndots:0\n");
        let h = HostConfig { dns: Some(vec!["9.9.9.9".into()]), dns_search: Some(vec!["a.b".into()]), dns_options: Some(vec!["ndots:2".into()]), ..Default::default() };
        assert_eq!(resolv_conf(&h, false, false, host), "nameserver 9.9.9.9\nsearch a.b\noptions ndots:2\n");
    }
}
