//! The files a container gets at /etc/hostname, /etc/hosts and /etc/resolv.conf, written into
//! its directory and bind-mounted (DOCKER-DEFAULTS.md). What they say is decided here from the
//! record and the host's files; [`write`] puts them on disk.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use berth_api_types::container::HostConfig;

use crate::error::{Error, Result};

const HOSTS_BASE: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

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

/// The host's resolver configuration as Docker reads it: `/etc/resolv.conf`, unless that only
/// names systemd-resolved's local stub (127.0.0.53), which no container can reach: then the
/// upstream servers systemd-resolved lists in `/run/systemd/resolve/resolv.conf`.
pub fn host_resolv_conf() -> String {
    let etc = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let servers: Vec<&str> = etc.lines().filter_map(|l| l.strip_prefix("nameserver")).map(str::trim).collect();
    if servers == ["127.0.0.53"] {
        if let Ok(upstream) = std::fs::read_to_string("/run/systemd/resolve/resolv.conf") {
            return upstream;
        }
    }
    etc
}

fn is_loopback(ip: &str) -> bool {
    ip.parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
}

/// `/etc/resolv.conf`, as Docker writes it from the host's (`host_resolv`):
/// - with no `--dns`, `--dns-search` or `--dns-option` and no embedded server: the host's
///   file, verbatim with the host's network, else without its loopback name servers (they
///   would mean the container itself), and Google's two when none is left;
/// - otherwise rebuilt, in Docker's order (`search`, `nameserver`, `options`), the flags
///   replacing the host's parts. On user-defined networks the one name server is the
///   embedded one (127.0.0.11), which forwards to the others, with `ndots:0`.
pub fn resolv_conf(host: &HostConfig, host_network: bool, embedded_dns: bool, host_resolv: &str) -> String {
    let given = |v: &Option<Vec<String>>| v.as_ref().filter(|v| !v.is_empty()).cloned();
    let (dns, dns_search, dns_options) = (given(&host.dns), given(&host.dns_search), given(&host.dns_options));
    if dns.is_none() && dns_search.is_none() && dns_options.is_none() && !embedded_dns {
        if host_network {
            return host_resolv.to_owned();
        }
        let kept: Vec<&str> = host_resolv
            .lines()
            .filter(|l| {
                let mut w = l.split_whitespace();
                !(w.next() == Some("nameserver") && w.next().is_some_and(is_loopback))
            })
            .collect();
        let mut s = kept.join("\n");
        if !s.is_empty() {
            s.push('\n');
        }
        if !kept.iter().any(|l| l.split_whitespace().next() == Some("nameserver")) {
            s.push_str("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
        }
        return s;
    }
    let mut servers: Vec<String> = Vec::new();
    let mut search: Vec<String> = Vec::new();
    let mut options: Vec<String> = Vec::new();
    for line in host_resolv.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => servers.extend(words.next().filter(|ip| host_network || !is_loopback(ip)).map(str::to_owned)),
            Some("search") | Some("domain") => search = words.map(str::to_owned).collect(),
            Some("options") => options = words.map(str::to_owned).collect(),
            _ => {}
        }
    }
    if let Some(d) = dns {
        servers = d;
    }
    if let Some(d) = dns_search {
        search = d.into_iter().filter(|s| s != ".").collect();
    }
    if let Some(d) = dns_options {
        options = d;
    }
    if embedded_dns {
        servers = vec!["127.0.0.11".into()];
        if !options.iter().any(|o| o.starts_with("ndots:")) {
            options.push("ndots:0".into());
        }
    }
    let mut s = String::new();
    if !search.is_empty() {
        s.push_str(&format!("search {}\n", search.join(" ")));
    }
    for ns in &servers {
        s.push_str(&format!("nameserver {ns}\n"));
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
    fn resolv_conf_as_docker_writes_it() {
        let host = "# made by hand\nnameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch corp.example\noptions edns0\n";
        let none = HostConfig::default();
        // the host's file, its comments and order kept, without loopback name servers
        assert_eq!(resolv_conf(&none, false, false, host), "# made by hand\nnameserver 10.1.1.1\nsearch corp.example\noptions edns0\n");
        assert_eq!(resolv_conf(&none, true, false, host), host, "the host's network: the host's file");
        // none left: Docker's defaults
        assert_eq!(resolv_conf(&none, false, false, "nameserver 127.0.0.1\nsearch x\n"), "search x\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n");
        // rebuilt in Docker's order
        assert_eq!(resolv_conf(&none, false, true, host), "search corp.example\nnameserver 127.0.0.11\noptions edns0 ndots:0\n");
        let h = HostConfig { dns: Some(vec!["9.9.9.9".into()]), dns_search: Some(vec!["a.b".into()]), dns_options: Some(vec!["ndots:2".into()]), ..Default::default() };
        assert_eq!(resolv_conf(&h, false, false, host), "search a.b\nnameserver 9.9.9.9\noptions ndots:2\n");
        let only_search = HostConfig { dns_search: Some(vec!["a.b".into()]), ..Default::default() };
        assert_eq!(resolv_conf(&only_search, false, false, host), "search a.b\nnameserver 10.1.1.1\noptions edns0\n");
    }
}
