//! The files a container gets at /etc/hostname, /etc/hosts and /etc/resolv.conf, written into
//! its directory and bind-mounted (DOCKER-DEFAULTS.md). What they say is decided here from the
//! record and the host's files; [`write`] puts them on disk.

use std::path::{Path, PathBuf};

use berth_api_types::container::HostConfig;

use crate::error::{Error, Result};

const HOSTS_BASE: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// `/etc/hosts`: the host's own for `--network host`, else loopback names; then `--add-host`.
pub fn hosts(host: &HostConfig, host_network: bool, host_hosts: &str) -> Result<String> {
    let mut s = if host_network { host_hosts.to_owned() } else { HOSTS_BASE.to_owned() };
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    for e in host.extra_hosts.iter().flatten() {
        let (name, ip) = e.split_once('=').or_else(|| e.split_once(':')).ok_or_else(|| Error::InvalidParameter(format!("invalid extra host {e:?}: want host:ip")))?;
        if ip == "host-gateway" {
            return Err(Error::NotImplemented("--add-host ...:host-gateway (bridge networks)".into()));
        }
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(Error::InvalidParameter(format!("invalid IP address in add-host: {ip:?}")));
        }
        s.push_str(&format!("{ip}\t{name}\n"));
    }
    Ok(s)
}

/// `/etc/resolv.conf`: the host's, with `--dns`, `--dns-search`, `--dns-option` replacing its
/// parts; loopback name servers are dropped when the container has its own network namespace
/// (they would mean the container itself).
pub fn resolv_conf(host: &HostConfig, host_network: bool, host_resolv: &str) -> String {
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
        let s = hosts(&h, false, "ignored").expect("hosts");
        assert!(s.starts_with("127.0.0.1\tlocalhost\n"), "{s}");
        assert!(s.ends_with("10.0.0.5\tdb\n::1\tv6\n"), "{s}");
        assert!(hosts(&HostConfig { extra_hosts: Some(vec!["x:nope".into()]), ..Default::default() }, false, "").is_err());
        assert_eq!(hosts(&HostConfig::default(), true, "1.2.3.4 me").expect("host"), "1.2.3.4 me\n");
    }

    #[test]
    fn resolv_conf_drops_loopback_and_honours_flags() {
        let host = "nameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch corp.example\noptions edns0\n";
        assert_eq!(resolv_conf(&HostConfig::default(), false, host), "nameserver 10.1.1.1\nsearch corp.example\noptions edns0\n");
        assert!(resolv_conf(&HostConfig::default(), true, host).contains("127.0.0.53"));
        let h = HostConfig { dns: Some(vec!["9.9.9.9".into()]), dns_search: Some(vec!["a.b".into()]), dns_options: Some(vec!["ndots:2".into()]), ..Default::default() };
        assert_eq!(resolv_conf(&h, false, host), "nameserver 9.9.9.9\nsearch a.b\noptions ndots:2\n");
    }
}
