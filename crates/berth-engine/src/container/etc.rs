//! The files a container gets at /etc/hostname, /etc/hosts and /etc/resolv.conf, written into
//! its directory and bind-mounted (DOCKER-DEFAULTS.md). What they say is decided here from the
//! record and the host's files; [`write`] puts them on disk.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use berth_api_types::container::HostConfig;

use crate::error::{Error, Result};

const HOSTS_BASE: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// The names a container's own addresses get in `/etc/hosts`, as Docker writes them: the
/// full name (hostname, with the domain name when there is one), then the bare hostname when
/// that differs.
pub fn own_names(hostname: &str, domainname: &str) -> String {
    let fqdn = if domainname.is_empty() { hostname.to_owned() } else { format!("{hostname}.{domainname}") };
    match fqdn.split_once('.') {
        Some((bare, _)) => format!("{fqdn} {bare}"),
        None => fqdn,
    }
}

/// `/etc/hosts`: the host's own for `--network host`, else loopback names; then `--add-host`,
/// where `host-gateway` means `gateway` (the default bridge's address); then each of the
/// container's own addresses with `names` ([`own_names`]).
pub fn hosts(host: &HostConfig, host_network: bool, host_hosts: &str, own: &[IpAddr], names: &str, gateway: Option<Ipv4Addr>) -> Result<String> {
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
    for ip in own {
        s.push_str(&format!("{ip}\t{names}\n"));
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

/// The three files of the container whose directory is `dir`: (host path, container path).
pub fn paths(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    [("hostname", "/etc/hostname"), ("hosts", "/etc/hosts"), ("resolv.conf", "/etc/resolv.conf")].into_iter().map(|(name, dest)| (dir.join(name), dest)).collect()
}

/// Writes the three files into `dir`; returns [`paths`].
pub fn write(dir: &Path, hostname: &str, hosts: &str, resolv: &str) -> Result<Vec<(PathBuf, &'static str)>> {
    let out = paths(dir);
    for ((p, _), content) in out.iter().zip([format!("{hostname}\n"), hosts.to_owned(), resolv.to_owned()]) {
        std::fs::write(p, content).map_err(Error::io("write the container's file", p))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_with_extra_entries() {
        let h = HostConfig { extra_hosts: Some(vec!["db:10.0.0.5".into(), "v6=::1".into()]), ..Default::default() };
        let s = hosts(&h, false, "ignored", &[], "", None).expect("hosts");
        assert!(s.starts_with("127.0.0.1\tlocalhost\n"), "{s}");
        assert!(s.ends_with("10.0.0.5\tdb\n::1\tv6\n"), "{s}");
        assert!(hosts(&HostConfig { extra_hosts: Some(vec!["x:nope".into()]), ..Default::default() }, false, "", &[], "", None).is_err());
        assert_eq!(hosts(&HostConfig::default(), true, "1.2.3.4 me", &[], "", None).expect("host"), "1.2.3.4 me\n");
        let gw = HostConfig { extra_hosts: Some(vec!["h:host-gateway".into()]), ..Default::default() };
        let own = [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), "fd00::2".parse().expect("v6")];
        let s = hosts(&gw, false, "", &own, &own_names("abc", ""), Some(Ipv4Addr::new(10, 0, 0, 1))).expect("gateway");
        assert!(s.ends_with("10.0.0.1\th\n10.0.0.2\tabc\nfd00::2\tabc\n"), "{s}");
        assert_eq!(own_names("web.example.org", ""), "web.example.org web");
        assert_eq!(own_names("web", "example.org"), "web.example.org web");
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
