//! The address part of `network create`: `--subnet`, `--ip-range` and `--gateway` grouped into
//! one `IPAM.Config` entry per subnet, with the checks and words of docker's CLI. Values are
//! sent as written (a host address in a subnet, `10.0.0.5/8`, stays so): the daemon judges them.

use std::net::IpAddr;

use berth_api_types::network::IpamConfig;

/// Go's `net.ParseCIDR`: the address and prefix length of `10.0.0.0/8` (host bits allowed).
fn parse_cidr(s: &str) -> Result<(IpAddr, u32), String> {
    let err = || format!("invalid CIDR address: {s}");
    let (ip, len) = s.split_once('/').ok_or_else(err)?;
    let ip: IpAddr = ip.parse().map_err(|_| err())?;
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    let len: u32 = len.parse().map_err(|_| err())?;
    if len > bits {
        return Err(err());
    }
    Ok((ip, len))
}

/// Whether `ip` is inside the network `addr/len` (an IPv4-mapped IPv6 address counts as IPv4).
fn contains((addr, len): (IpAddr, u32), ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match (addr, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// Whether `data` (an address, or an `address/len` whose address counts) lies in `subnet`.
/// An address that does not parse lies nowhere; a subnet that does not parse is an error.
fn subnet_matches(subnet: &str, data: &str) -> Result<bool, String> {
    let net = parse_cidr(subnet).map_err(|e| format!("invalid subnet: {e}"))?;
    let ip = if data.contains('/') { Some(parse_cidr(data)?.0) } else { data.parse().ok() };
    Ok(ip.is_some_and(|ip| contains(net, ip)))
}

/// Groups `subnets`, `ranges` and `gateways` per subnet, in the order the subnets were given.
pub fn ipam_config(subnets: &[String], ranges: &[String], gateways: &[String]) -> Result<Vec<IpamConfig>, String> {
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        return Err("every ip-range or gateway must have a corresponding subnet".to_owned());
    }
    let mut configs: Vec<IpamConfig> = Vec::new();
    for s in subnets {
        for k in configs.iter().filter_map(|c| c.subnet.as_deref()) {
            if subnet_matches(s, k)? || subnet_matches(k, s)? {
                return Err("multiple overlapping subnet configuration is not supported".to_owned());
            }
        }
        configs.push(IpamConfig { subnet: Some(s.clone()), ..IpamConfig::default() });
    }
    for r in ranges {
        parse_cidr(r)?;
        assign(subnets, &mut configs, r, |c| &mut c.ip_range, |had, s| format!("cannot configure multiple ranges ({r}, {had}) on the same subnet ({s})"), || format!("no matching subnet for range {r}"))?;
    }
    for g in gateways {
        assign(subnets, &mut configs, g, |c| &mut c.gateway, |had, s| format!("cannot configure multiple gateways ({g}, {had}) for the same subnet ({s})"), || format!("no matching subnet for gateway {g}"))?;
    }
    Ok(configs)
}

/// Puts `value` (a range or gateway) into the `slot` of the config of every subnet that holds
/// it, as docker does: docker's words when a subnet already has one, or none holds it.
fn assign(
    subnets: &[String],
    configs: &mut [IpamConfig],
    value: &str,
    slot: impl Fn(&mut IpamConfig) -> &mut Option<String>,
    twice: impl Fn(&str, &str) -> String,
    unmatched: impl Fn() -> String,
) -> Result<(), String> {
    let mut matched = false;
    for (s, c) in subnets.iter().zip(configs.iter_mut()) {
        if !subnet_matches(s, value)? {
            continue;
        }
        let slot = slot(c);
        if let Some(had) = slot {
            return Err(twice(had, s));
        }
        *slot = Some(value.to_owned());
        matched = true;
    }
    if matched { Ok(()) } else { Err(unmatched()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipam(subnets: &[&str], ranges: &[&str], gateways: &[&str]) -> Result<String, String> {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ipam_config(&v(subnets), &v(ranges), &v(gateways)).map(|c| serde_json::to_string(&c).expect("serializes"))
    }

    #[test]
    fn subnets_ranges_and_gateways_as_docker_sends_them() {
        // What docker CLI 28.2 sent for the same flags.
        assert_eq!(ipam(&[], &[], &[]), Ok("[]".to_owned()));
        assert_eq!(
            ipam(&["10.9.0.0/24"], &["10.9.0.128/25"], &["10.9.0.1"]),
            Ok(r#"[{"Subnet":"10.9.0.0/24","IPRange":"10.9.0.128/25","Gateway":"10.9.0.1"}]"#.to_owned())
        );
        assert_eq!(ipam(&["10.1.0.0/16", "fd00::/64"], &[], &["fd00::1"]), Ok(r#"[{"Subnet":"10.1.0.0/16"},{"Subnet":"fd00::/64","Gateway":"fd00::1"}]"#.to_owned()));
        assert_eq!(ipam(&["fd00::/64"], &["fd00::/80"], &["fd00::1"]), Ok(r#"[{"Subnet":"fd00::/64","IPRange":"fd00::/80","Gateway":"fd00::1"}]"#.to_owned()));
        // One subnet is not checked: the daemon judges it.
        assert_eq!(ipam(&["x"], &[], &[]), Ok(r#"[{"Subnet":"x"}]"#.to_owned()));
        assert_eq!(ipam(&["10.0.0.0/8"], &["10.0.0.5/24"], &[]), Ok(r#"[{"Subnet":"10.0.0.0/8","IPRange":"10.0.0.5/24"}]"#.to_owned()));
    }

    #[test]
    fn bad_combinations_get_dockers_words() {
        for (subnets, ranges, gateways, err) in [
            (&["10.0.0.0/8", "10.1.0.0/16"][..], &[][..], &[][..], "multiple overlapping subnet configuration is not supported"),
            (&["10.0.0.0/8", "10.0.0.0/8"], &[], &[], "multiple overlapping subnet configuration is not supported"),
            (&[], &[], &["10.0.0.1"], "every ip-range or gateway must have a corresponding subnet"),
            (&["10.0.0.0/8"], &[], &["10.0.0.1", "10.0.0.2"], "every ip-range or gateway must have a corresponding subnet"),
            (&["10.0.0.0/8"], &[], &["11.0.0.1"], "no matching subnet for gateway 11.0.0.1"),
            (&["10.0.0.0/8"], &[], &["x"], "no matching subnet for gateway x"),
            (&["10.0.0.0/8"], &["11.0.0.0/24"], &[], "no matching subnet for range 11.0.0.0/24"),
            (&["10.0.0.0/8"], &["x"], &[], "invalid CIDR address: x"),
            (&["x", "y"], &[], &[], "invalid subnet: invalid CIDR address: y"),
            (&["10.0.0.0/8", "y"], &[], &[], "invalid subnet: invalid CIDR address: y"),
            (&["x"], &[], &["10.0.0.1"], "invalid subnet: invalid CIDR address: x"),
            (&["10.0.0.0/8", "11.0.0.0/8"], &["10.1.0.0/16", "10.2.0.0/16"], &[], "cannot configure multiple ranges (10.2.0.0/16, 10.1.0.0/16) on the same subnet (10.0.0.0/8)"),
            (&["10.0.0.0/8", "11.0.0.0/8"], &[], &["10.0.0.1", "10.0.0.2"], "cannot configure multiple gateways (10.0.0.2, 10.0.0.1) for the same subnet (10.0.0.0/8)"),
        ] {
            assert_eq!(ipam(subnets, ranges, gateways), Err(err.to_owned()), "{subnets:?} {ranges:?} {gateways:?}");
        }
    }

    #[test]
    fn cidr_containment() {
        let net = |s: &str| parse_cidr(s).expect("CIDR");
        assert!(contains(net("10.0.0.0/8"), "10.200.1.1".parse().unwrap()));
        assert!(!contains(net("10.0.0.0/8"), "11.0.0.1".parse().unwrap()));
        assert!(contains(net("0.0.0.0/0"), "1.2.3.4".parse().unwrap()));
        assert!(contains(net("10.0.0.0/8"), "::ffff:10.0.0.1".parse().unwrap()));
        assert!(contains(net("fd00::/64"), "fd00::1".parse().unwrap()));
        assert!(!contains(net("fd00::/64"), "10.0.0.1".parse().unwrap()));
        assert!(parse_cidr("10.0.0.0/33").is_err() && parse_cidr("10.0.0.0").is_err() && parse_cidr("10.0.0.0/+8").is_err());
    }
}
