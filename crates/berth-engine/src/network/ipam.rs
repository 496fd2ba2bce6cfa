//! Address management: subnets for new networks from the daemon's pools (skipping any that
//! overlap a host route or another network), and addresses for endpoints inside a subnet.
//! Pure: the callers pass what is in use.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

use crate::error::{Error, Result};

/// One `default-address-pools` entry: `base` split into subnets of prefix `size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub base: Ipv4Net,
    pub size: u8,
}

impl Pool {
    /// Parses dockerd's `--default-address-pool base=172.30.0.0/16,size=24`.
    pub fn parse(s: &str) -> std::result::Result<Pool, String> {
        let (mut base, mut size) = (None, None);
        for kv in s.split(',') {
            match kv.split_once('=') {
                Some(("base", v)) => base = Some(v.parse::<Ipv4Net>().map_err(|_| format!("invalid address pool base {v:?}: want an IPv4 CIDR"))?),
                Some(("size", v)) => size = Some(v.parse::<u8>().ok().filter(|n| *n <= 30).ok_or_else(|| format!("invalid address pool size {v:?}: want a prefix length up to 30"))?),
                _ => return Err(format!("invalid address pool {s:?}: want base=CIDR,size=N")),
            }
        }
        let (base, size) = (base.ok_or("an address pool needs base=")?, size.ok_or("an address pool needs size=")?);
        if size < base.prefix_len() {
            return Err(format!("invalid address pool {s:?}: size /{size} is larger than the base {base}"));
        }
        Ok(Pool { base: base.trunc(), size })
    }

    /// Docker's defaults: 172.17–172.31 as /16s, then 192.168.0.0/16 as /20s.
    pub fn docker_defaults() -> Vec<Pool> {
        vec![
            Pool { base: "172.17.0.0/16".parse().expect("literal"), size: 16 },
            Pool { base: "172.18.0.0/15".parse().expect("literal"), size: 16 },
            Pool { base: "172.20.0.0/14".parse().expect("literal"), size: 16 },
            Pool { base: "172.24.0.0/14".parse().expect("literal"), size: 16 },
            Pool { base: "172.28.0.0/14".parse().expect("literal"), size: 16 },
            Pool { base: "192.168.0.0/16".parse().expect("literal"), size: 20 },
        ]
    }
}

pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The first subnet of `pools` that overlaps nothing in `taken` (host routes and the subnets
/// of existing networks).
pub fn free_subnet(pools: &[Pool], taken: &[Ipv4Net]) -> Result<Ipv4Net> {
    for p in pools {
        let Ok(subnets) = p.base.subnets(p.size) else { continue };
        if let Some(s) = subnets.into_iter().find(|s| !taken.iter().any(|t| overlaps(s, t))) {
            return Ok(s);
        }
    }
    Err(Error::Conflict("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into()))
}

/// The host's IPv4 routes (main table, from /proc/net/route), without the default route.
pub fn host_routes() -> Vec<Ipv4Net> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    parse_proc_route(&text)
}

fn parse_proc_route(text: &str) -> Vec<Ipv4Net> {
    let hex = |s: &str| u32::from_str_radix(s, 16).ok().map(|v| Ipv4Addr::from(v.swap_bytes()));
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (dest, mask) = (hex(f.get(1)?)?, hex(f.get(7)?)?);
            let prefix = u32::from(mask).leading_ones() as u8;
            (prefix > 0).then(|| Ipv4Net::new(dest, prefix).ok()).flatten()
        })
        .collect()
}

/// The gateway a subnet gets when none is given: its first address.
pub fn default_gateway(subnet: &Ipv4Net) -> Result<Ipv4Addr> {
    subnet.hosts().next().ok_or_else(|| Error::InvalidParameter(format!("subnet {subnet} has no room for a gateway")))
}

/// The first free address for an endpoint: inside `range` (or the subnet), not the network or
/// broadcast address, not the gateway, not in `used`.
pub fn free_address(subnet: &Ipv4Net, range: Option<&Ipv4Net>, gateway: Ipv4Addr, used: &[Ipv4Addr]) -> Result<Ipv4Addr> {
    let within = range.unwrap_or(subnet);
    within
        .hosts()
        .filter(|a| subnet.contains(a) && *a != subnet.network() && *a != subnet.broadcast())
        .find(|a| *a != gateway && !used.contains(a))
        .ok_or_else(|| Error::Conflict(format!("no available IPv4 addresses on this network's address pools: {subnet}")))
}

/// The host's IPv6 routes (from /proc/net/ipv6_route), without the default route.
pub fn host_routes6() -> Vec<Ipv6Net> {
    let text = std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let addr = u128::from_str_radix(f.first()?, 16).ok()?;
            let prefix = u8::from_str_radix(f.get(1)?, 16).ok()?;
            (prefix > 0 && prefix < 128).then(|| Ipv6Net::new(Ipv6Addr::from(addr), prefix).ok()).flatten()
        })
        .collect()
}

/// A /64 for a network with `--ipv6` and no subnet given: a random unique local prefix
/// (fd00::/8 with a random 40-bit global id and subnet 0), overlapping nothing in `taken`.
pub fn free_subnet6(taken: &[Ipv6Net]) -> Result<Ipv6Net> {
    for _ in 0..64 {
        let mut b = [0u8; 16];
        rustix::rand::getrandom(&mut b[1..6], rustix::rand::GetRandomFlags::empty()).map_err(|e| Error::Internal(format!("getrandom: {e}")))?;
        b[0] = 0xfd;
        let net = Ipv6Net::new(Ipv6Addr::from(b), 64).expect("a /64 is valid").trunc();
        if !taken.iter().any(|t| t.contains(&net.network()) || net.contains(&t.network())) {
            return Ok(net);
        }
    }
    Err(Error::Conflict("could not find a free IPv6 subnet: give one with --subnet".into()))
}

/// The first free IPv6 address of `subnet` (from ::2, not the gateway, not in `used`).
pub fn free_address6(subnet: &Ipv6Net, gateway: Ipv6Addr, used: &[Ipv6Addr]) -> Result<Ipv6Addr> {
    subnet
        .hosts()
        .skip(1)
        .take(1 << 20)
        .find(|a| *a != gateway && !used.contains(a))
        .ok_or_else(|| Error::Conflict(format!("no available IPv6 addresses on this network's address pools: {subnet}")))
}

/// Checks a static address (`--ip`) for an endpoint of `subnet`.
pub fn check_static(subnet: &Ipv4Net, gateway: Ipv4Addr, ip: Ipv4Addr, used: &[Ipv4Addr]) -> Result<()> {
    if !subnet.contains(&ip) || ip == subnet.network() || ip == subnet.broadcast() {
        return Err(Error::InvalidParameter(format!("invalid endpoint settings: the address {ip} is not in the network's subnet {subnet}")));
    }
    if ip == gateway || used.contains(&ip) {
        return Err(Error::Conflict(format!("Address already in use: {ip}")));
    }
    Ok(())
}

/// A MAC address derived from the IPv4 address, as Docker made them: 02:42 and the four bytes.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

pub fn mac_string(mac: &[u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().expect("cidr")
    }

    #[test]
    fn pools_parse_like_dockerd() {
        assert_eq!(Pool::parse("base=10.10.0.0/16,size=24").expect("pool"), Pool { base: net("10.10.0.0/16"), size: 24 });
        assert!(Pool::parse("base=10.10.0.0/16").is_err());
        assert!(Pool::parse("base=10.10.0.0/24,size=16").is_err());
        assert!(Pool::parse("base=nope,size=24").is_err());
    }

    #[test]
    fn free_subnet_skips_routes_and_networks() {
        let pools = vec![Pool { base: net("10.10.0.0/22"), size: 24 }, Pool { base: net("192.168.0.0/16"), size: 20 }];
        assert_eq!(free_subnet(&pools, &[]).expect("subnet"), net("10.10.0.0/24"));
        assert_eq!(free_subnet(&pools, &[net("10.10.0.0/24"), net("10.10.1.128/25")]).expect("subnet"), net("10.10.2.0/24"));
        // A wide host route covers the whole first pool.
        assert_eq!(free_subnet(&pools, &[net("10.0.0.0/8")]).expect("subnet"), net("192.168.0.0/20"));
        assert!(free_subnet(&pools[..1], &[net("10.10.0.0/22")]).is_err());
        assert_eq!(Pool::docker_defaults()[0].base.subnets(16).expect("subnets").next(), Some(net("172.17.0.0/16")));
    }

    #[test]
    fn proc_route_is_read_without_the_default_route() {
        let text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\neth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        assert_eq!(parse_proc_route(text), vec![net("192.0.2.0/24")]);
    }

    #[test]
    fn addresses_skip_gateway_used_and_stay_in_range() {
        let s = net("10.1.0.0/24");
        let gw = default_gateway(&s).expect("gw");
        assert_eq!(gw, Ipv4Addr::new(10, 1, 0, 1));
        assert_eq!(free_address(&s, None, gw, &[]).expect("ip"), Ipv4Addr::new(10, 1, 0, 2));
        assert_eq!(free_address(&s, None, gw, &[Ipv4Addr::new(10, 1, 0, 2)]).expect("ip"), Ipv4Addr::new(10, 1, 0, 3));
        assert_eq!(free_address(&s, Some(&net("10.1.0.128/25")), gw, &[]).expect("ip"), Ipv4Addr::new(10, 1, 0, 129));
        let tiny = net("10.2.0.0/30");
        assert!(free_address(&tiny, None, Ipv4Addr::new(10, 2, 0, 1), &[Ipv4Addr::new(10, 2, 0, 2)]).is_err());
        assert!(check_static(&s, gw, Ipv4Addr::new(10, 1, 0, 9), &[]).is_ok());
        assert!(matches!(check_static(&s, gw, Ipv4Addr::new(10, 1, 0, 9), &[Ipv4Addr::new(10, 1, 0, 9)]), Err(Error::Conflict(_))));
        assert!(matches!(check_static(&s, gw, Ipv4Addr::new(10, 9, 0, 9), &[]), Err(Error::InvalidParameter(_))));
        assert_eq!(mac_string(&mac_for(Ipv4Addr::new(172, 17, 0, 2))), "02:42:ac:11:00:02");
    }

    #[test]
    fn ipv6_subnets_are_unique_local_and_addresses_skip_the_gateway() {
        let taken: Vec<Ipv6Net> = vec!["fd00::/64".parse().expect("net")];
        let s = free_subnet6(&taken).expect("subnet");
        assert_eq!((s.prefix_len(), s.network().octets()[0]), (64, 0xfd));
        assert_ne!(s, taken[0]);
        let net: Ipv6Net = "fd12::/64".parse().expect("net");
        let gw: Ipv6Addr = "fd12::1".parse().expect("gw");
        assert_eq!(free_address6(&net, gw, &[]).expect("ip"), "fd12::2".parse::<Ipv6Addr>().expect("ip"));
        assert_eq!(free_address6(&net, gw, &["fd12::2".parse().expect("ip")]).expect("ip"), "fd12::3".parse::<Ipv6Addr>().expect("ip"));
    }
}
