//! Packet filtering and NAT with iptables: masquerading out of bridge networks, isolation
//! between them, `--internal` networks without a way out, and published ports (DNAT, also on
//! loopback). Each daemon owns three chains named after its tag; every change rewrites their
//! whole content from the engine's state in one `iptables-restore --noflush`, so what is there
//! is always exactly what the state says, also after a restart or a crash.

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use ipnet::IpNet;

use crate::error::{Error, Result};

/// A bridge network, as the rules see it.
#[derive(Debug, Clone)]
pub struct NetRule {
    pub bridge: String,
    /// The subnet of the family the rules are for.
    pub subnet: IpNet,
    pub internal: bool,
}

/// Which tables: iptables or ip6tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    fn tool(self) -> &'static str {
        match self {
            Family::V4 => "iptables",
            Family::V6 => "ip6tables",
        }
    }
}

/// One published port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRule {
    pub proto: String,
    /// None: every local address.
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub ctr_ip: Ipv4Addr,
    pub ctr_port: u16,
}

/// The daemon's chain names.
pub struct Chains {
    pub dnat: String,
    pub post: String,
    pub fwd: String,
}

impl Chains {
    pub fn of(tag: &str) -> Chains {
        let tag: String = tag.chars().take(15).collect();
        Chains { dnat: format!("BERTH-{tag}-DNAT"), post: format!("BERTH-{tag}-POST"), fwd: format!("BERTH-{tag}-FWD") }
    }

    /// (table, built-in chain, match, our chain): the jumps into our chains.
    fn jumps(&self) -> [(&'static str, &'static str, &'static [&'static str], &str); 4] {
        [
            ("nat", "PREROUTING", &["-m", "addrtype", "--dst-type", "LOCAL"], &self.dnat),
            ("nat", "OUTPUT", &["-m", "addrtype", "--dst-type", "LOCAL"], &self.dnat),
            ("nat", "POSTROUTING", &[], &self.post),
            ("filter", "FORWARD", &[], &self.fwd),
        ]
    }
}

/// The `iptables-restore` input that sets our chains to `nets` and `ports`.
pub fn render(c: &Chains, nets: &[NetRule], ports: &[PortRule]) -> String {
    let mut nat = format!("*nat\n:{} - [0:0]\n:{} - [0:0]\n", c.dnat, c.post);
    for p in ports {
        let dst = p.host_ip.map(|ip| format!(" -d {ip}/32")).unwrap_or_default();
        nat.push_str(&format!("-A {} -p {}{dst} --dport {} -j DNAT --to-destination {}:{}\n", c.dnat, p.proto, p.host_port, p.ctr_ip, p.ctr_port));
    }
    for n in nets {
        // Published ports reached from loopback, or from a container of the same network
        // through the host's address: the container must answer through the host.
        if matches!(n.subnet, IpNet::V4(_)) {
            nat.push_str(&format!("-A {} -s 127.0.0.0/8 -o {} -j MASQUERADE\n", c.post, n.bridge));
        }
        nat.push_str(&format!("-A {} -s {} -o {} -m conntrack --ctstate DNAT -j MASQUERADE\n", c.post, n.subnet, n.bridge));
        if !n.internal {
            nat.push_str(&format!("-A {} -s {} ! -o {} -j MASQUERADE\n", c.post, n.subnet, n.bridge));
        }
    }
    nat.push_str("COMMIT\n");
    let mut filter = format!("*filter\n:{} - [0:0]\n", c.fwd);
    for n in nets {
        let b = &n.bridge;
        if n.internal {
            filter.push_str(&format!("-A {} -i {b} -o {b} -j ACCEPT\n", c.fwd));
            filter.push_str(&format!("-A {} -i {b} ! -o {b} -j DROP\n", c.fwd));
            filter.push_str(&format!("-A {} -o {b} ! -i {b} -j DROP\n", c.fwd));
        }
    }
    for n in nets.iter().filter(|n| !n.internal) {
        let b = &n.bridge;
        filter.push_str(&format!("-A {} -o {b} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n", c.fwd));
        filter.push_str(&format!("-A {} -o {b} -m conntrack --ctstate DNAT -j ACCEPT\n", c.fwd));
        filter.push_str(&format!("-A {} -i {b} -o {b} -j ACCEPT\n", c.fwd));
    }
    // Isolation: nothing crosses from one of our bridges to another, unless published.
    for a in nets {
        for b in nets.iter().filter(|b| b.bridge != a.bridge) {
            filter.push_str(&format!("-A {} -i {} -o {} -j DROP\n", c.fwd, a.bridge, b.bridge));
        }
    }
    for n in nets.iter().filter(|n| !n.internal) {
        filter.push_str(&format!("-A {} -i {} ! -o {} -j ACCEPT\n", c.fwd, n.bridge, n.bridge));
    }
    filter.push_str("COMMIT\n");
    nat + &filter
}

fn iptables(family: Family, args: &[&str]) -> std::io::Result<std::process::Output> {
    Command::new(family.tool()).arg("-w").args(args).stdin(Stdio::null()).output()
}

fn not_found(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::Internal("iptables is not installed: install it (apt-get install iptables) or start berthd with --iptables=false".into())
    } else {
        Error::Internal(format!("run iptables: {e}"))
    }
}

/// Writes our chains of `family` (creating them); with `jumps`, also makes sure the built-in
/// chains jump to them (once per daemon is enough: the jumps do not change with the state).
pub fn apply(family: Family, c: &Chains, nets: &[NetRule], ports: &[PortRule], jumps: bool) -> Result<()> {
    let text = render(c, nets, ports);
    let mut child = Command::new(format!("{}-restore", family.tool())).args(["-w", "--noflush"]).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().map_err(not_found)?;
    child.stdin.take().expect("piped").write_all(text.as_bytes()).map_err(|e| Error::Internal(format!("write to iptables-restore: {e}")))?;
    let out = child.wait_with_output().map_err(|e| Error::Internal(format!("wait for iptables-restore: {e}")))?;
    if !out.status.success() {
        return Err(Error::Internal(format!("iptables-restore refused the rules: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    if !jumps {
        return Ok(());
    }
    for (table, builtin, m, chain) in c.jumps() {
        let rule: Vec<&str> = m.iter().copied().chain(["-j", chain]).collect();
        let check = iptables(family, &[&["-t", table, "-C", builtin][..], &rule].concat()).map_err(not_found)?;
        if !check.status.success() {
            let ins = iptables(family, &[&["-t", table, "-I", builtin, "1"][..], &rule].concat()).map_err(not_found)?;
            if !ins.status.success() {
                return Err(Error::Internal(format!("iptables: add the jump from {builtin} to {chain}: {}", String::from_utf8_lossy(&ins.stderr).trim())));
            }
        }
    }
    Ok(())
}

/// Sets the FORWARD chain's policy to DROP (after berth turned forwarding on, as dockerd does).
pub fn forward_policy_drop(family: Family) {
    let _ = iptables(family, &["-P", "FORWARD", "DROP"]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_say_what_the_state_says() {
        let c = Chains::of("berth0");
        let nets = vec![
            NetRule { bridge: "berth0".into(), subnet: "10.5.0.0/24".parse().expect("net"), internal: false },
            NetRule { bridge: "br-aaa".into(), subnet: "10.6.0.0/24".parse().expect("net"), internal: true },
            NetRule { bridge: "br-bbb".into(), subnet: "fd01::/64".parse().expect("net"), internal: false },
        ];
        let ports = vec![PortRule { proto: "tcp".into(), host_ip: Some(Ipv4Addr::LOCALHOST), host_port: 8080, ctr_ip: "10.5.0.2".parse().expect("ip"), ctr_port: 80 }];
        let t = render(&c, &nets, &ports);
        assert!(t.starts_with("*nat\n:BERTH-berth0-DNAT - [0:0]\n:BERTH-berth0-POST - [0:0]\n"), "{t}");
        assert!(t.contains("-A BERTH-berth0-DNAT -p tcp -d 127.0.0.1/32 --dport 8080 -j DNAT --to-destination 10.5.0.2:80\n"), "{t}");
        assert!(t.contains("-A BERTH-berth0-POST -s 10.5.0.0/24 ! -o berth0 -j MASQUERADE\n"), "{t}");
        assert!(!t.contains("-s 10.6.0.0/24 ! -o br-aaa -j MASQUERADE"), "an internal network has no way out: {t}");
        assert!(t.contains("-A BERTH-berth0-FWD -i br-aaa ! -o br-aaa -j DROP\n"), "{t}");
        assert!(t.contains("-A BERTH-berth0-FWD -i berth0 -o br-aaa -j DROP\n") && t.contains("-A BERTH-berth0-FWD -i br-aaa -o berth0 -j DROP\n"), "{t}");
        let isolation = t.find("-i berth0 -o br-aaa -j DROP").expect("isolation");
        let out = t.find("-i berth0 ! -o berth0 -j ACCEPT").expect("way out");
        assert!(isolation < out, "isolation comes before the way out: {t}");
        assert!(t.ends_with("COMMIT\n"));
        assert!(t.contains("-A BERTH-berth0-POST -s fd01::/64 ! -o br-bbb -j MASQUERADE\n") && !t.contains("127.0.0.0/8 -o br-bbb"), "{t}");
        assert!(Chains::of("a-very-long-bridge-name-indeed").fwd.len() <= 28);
    }
}
