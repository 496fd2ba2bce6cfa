//! The networks of `run` and `create`: `--network` (a name, or docker's long form
//! `name=n1,alias=a,ip=10.0.0.5`), `--network-alias`, `--ip` and `--ip6` become
//! `HostConfig.NetworkMode` and `NetworkingConfig.EndpointsConfig` as docker CLI 28 makes them,
//! with its checks and words. Addresses are passed on as given: the daemon judges them.

use std::collections::BTreeMap;

use berth_api_types::network::{EndpointIpamConfig, EndpointSettings};

/// One `--network` value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attachment {
    pub network: String,
    pub aliases: Vec<String>,
    pub ipv4: String,
    pub ipv6: String,
    pub driver_opts: BTreeMap<String, String>,
    pub gw_priority: i64,
}

/// Whether `value` is in the long form: docker's test is the pattern `\w+=\w+` anywhere in it.
fn is_long_form(value: &str) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = value.as_bytes();
    (1..b.len().saturating_sub(1)).any(|i| b[i] == b'=' && word(b[i - 1]) && word(b[i + 1]))
}

/// Parses a `--network` value. As docker's CLI does, the long form's keys and values are taken
/// in lower case. Its `mac-address` and `link-local-ip` are refused (berth does not set MAC
/// addresses or link-local addresses).
pub fn parse_attachment(value: &str) -> Result<Attachment, String> {
    if !is_long_form(value) {
        return Ok(Attachment { network: value.to_owned(), ..Attachment::default() });
    }
    let invalid = |why: String| format!("invalid argument \"{value}\" for \"--network\" flag: {why}");
    let mut a = Attachment::default();
    for field in value.split(',') {
        let field = field.to_lowercase();
        let (key, val) = match field.split_once('=') {
            Some((k, v)) if !k.is_empty() => (k.trim(), v.trim()),
            _ => return Err(invalid(format!("invalid field {field}"))),
        };
        match key {
            "name" => a.network = val.to_owned(),
            "alias" => a.aliases.push(val.to_owned()),
            "ip" => a.ipv4 = val.to_owned(),
            "ip6" => a.ipv6 = val.to_owned(),
            "driver-opt" => match val.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    a.driver_opts.insert(k.trim().to_owned(), v.trim().to_owned());
                }
                _ => return Err(invalid("invalid key value pair format in driver options".to_owned())),
            },
            "gw-priority" => a.gw_priority = val.parse().map_err(|_| invalid(format!("invalid gw-priority: strconv.Atoi: parsing \"{val}\": invalid syntax")))?,
            "mac-address" | "link-local-ip" => return Err(format!("berth does not support --network {key}=...")),
            other => return Err(invalid(format!("invalid field key {other}"))),
        }
    }
    Ok(a)
}

/// `default`, `bridge`, `host`, `none` and `container:<id>` are docker's own modes; any other
/// name is a user-defined network.
pub fn is_user_defined(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && mode.split_once(':').is_none_or(|(kind, _)| kind != "container")
}

/// The flags of run/create that shape the first network's endpoint.
#[derive(Debug, Default)]
pub struct EndpointFlags<'a> {
    pub aliases: &'a [String],
    pub ipv4: Option<&'a str>,
    pub ipv6: Option<&'a str>,
}

/// `HostConfig.NetworkMode` and `NetworkingConfig.EndpointsConfig` for the `--network` values
/// (in order) and the endpoint flags, which apply to the first network. Without `--network`
/// the mode is `default` and its endpoint is sent (empty unless flags fill it); a single
/// network without options gets no endpoint entry, as with docker's CLI.
pub fn networking(networks: &[Attachment], flags: &EndpointFlags<'_>) -> Result<(String, BTreeMap<String, EndpointSettings>), String> {
    let mut endpoints = BTreeMap::new();
    let default = [Attachment { network: "default".to_owned(), ..Attachment::default() }];
    let given = !networks.is_empty();
    let list = if given { networks } else { &default[..] };
    let (mut user_defined, mut builtin) = (false, false);
    for (i, n) in list.iter().enumerate() {
        if is_user_defined(&n.network) {
            user_defined = true;
        } else {
            builtin = true;
        }
        let mut n = n.clone();
        if i == 0 {
            apply_flags(&mut n, flags)?;
        }
        let ep = endpoint(&n)?;
        if endpoints.contains_key(&n.network) {
            return Err(format!("network {} is specified multiple times", crate::format::go_quote(&n.network)));
        }
        if given && i == 0 && list.len() == 1 && ep == EndpointSettings::default() {
            continue;
        }
        endpoints.insert(n.network.clone(), ep);
    }
    if user_defined && builtin {
        return Err("conflicting options: cannot attach both user-defined and non-user-defined network-modes".to_owned());
    }
    Ok((list[0].network.clone(), endpoints))
}

/// Puts `--network-alias`, `--ip` and `--ip6` on the first network, refusing them next to the
/// same setting in the long form.
fn apply_flags(n: &mut Attachment, flags: &EndpointFlags<'_>) -> Result<(), String> {
    if !n.aliases.is_empty() && !flags.aliases.is_empty() {
        return Err("conflicting options: cannot specify both --network-alias and per-network alias".to_owned());
    }
    if !n.ipv4.is_empty() && flags.ipv4.is_some_and(|ip| !ip.is_empty()) {
        return Err("conflicting options: cannot specify both --ip and per-network IPv4 address".to_owned());
    }
    if !n.ipv6.is_empty() && flags.ipv6.is_some_and(|ip| !ip.is_empty()) {
        return Err("conflicting options: cannot specify both --ip6 and per-network IPv6 address".to_owned());
    }
    if !flags.aliases.is_empty() {
        n.aliases = flags.aliases.to_vec();
    }
    if let Some(ip) = flags.ipv4.filter(|ip| !ip.is_empty()) {
        n.ipv4 = ip.to_owned();
    }
    if let Some(ip) = flags.ipv6.filter(|ip| !ip.is_empty()) {
        n.ipv6 = ip.to_owned();
    }
    Ok(())
}

/// The endpoint settings of one attachment.
fn endpoint(n: &Attachment) -> Result<EndpointSettings, String> {
    if n.network.trim().is_empty() {
        return Err("no name set for network".to_owned());
    }
    if !is_user_defined(&n.network) && !n.aliases.is_empty() {
        return Err("network-scoped aliases are only supported for user-defined networks".to_owned());
    }
    let ipam = !n.ipv4.is_empty() || !n.ipv6.is_empty();
    Ok(EndpointSettings {
        ipam_config: ipam.then(|| EndpointIpamConfig {
            ipv4_address: Some(n.ipv4.clone()).filter(|s| !s.is_empty()),
            ipv6_address: Some(n.ipv6.clone()).filter(|s| !s.is_empty()),
            link_local_ips: None,
        }),
        aliases: (!n.aliases.is_empty()).then(|| n.aliases.clone()),
        driver_opts: (!n.driver_opts.is_empty()).then(|| n.driver_opts.clone()),
        gw_priority: (n.gw_priority != 0).then_some(n.gw_priority),
        ..EndpointSettings::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(values: &[&str], aliases: &[&str], ipv4: Option<&str>, ipv6: Option<&str>) -> Result<(String, String), String> {
        let networks = values.iter().map(|v| parse_attachment(v)).collect::<Result<Vec<_>, _>>()?;
        let aliases: Vec<String> = aliases.iter().map(|a| a.to_string()).collect();
        let (mode, eps) = networking(&networks, &EndpointFlags { aliases: &aliases, ipv4, ipv6 })?;
        Ok((mode, serde_json::to_string(&eps).expect("serializes")))
    }

    fn ok(mode: &str, endpoints: &str) -> Result<(String, String), String> {
        Ok((mode.to_owned(), endpoints.to_owned()))
    }

    #[test]
    fn networks_as_docker_sends_them() {
        // Each case is what docker CLI 28.2 sent for the same flags (empty fields left out).
        assert_eq!(net(&[], &[], None, None), ok("default", r#"{"default":{}}"#));
        assert_eq!(net(&["n1"], &[], None, None), ok("n1", "{}"));
        assert_eq!(net(&["none"], &[], None, None), ok("none", "{}"));
        assert_eq!(net(&["container:c"], &[], None, None), ok("container:c", "{}"));
        assert_eq!(net(&["n1"], &["a", "b"], None, None), ok("n1", r#"{"n1":{"Aliases":["a","b"]}}"#));
        assert_eq!(
            net(&["n1"], &[], Some("10.0.0.5"), Some("fd00::5")),
            ok("n1", r#"{"n1":{"IPAMConfig":{"IPv4Address":"10.0.0.5","IPv6Address":"fd00::5"}}}"#)
        );
        assert_eq!(net(&["n1", "n2"], &[], None, None), ok("n1", r#"{"n1":{},"n2":{}}"#));
        assert_eq!(net(&["n1", "n2"], &["x"], None, None), ok("n1", r#"{"n1":{"Aliases":["x"]},"n2":{}}"#));
        assert_eq!(
            net(&["name=n1,alias=x,alias=y,ip=10.0.0.5,driver-opt=a=b"], &[], None, None),
            ok("n1", r#"{"n1":{"IPAMConfig":{"IPv4Address":"10.0.0.5"},"Aliases":["x","y"],"DriverOpts":{"a":"b"}}}"#)
        );
        assert_eq!(net(&["name=n1,gw-priority=5"], &[], None, None), ok("n1", r#"{"n1":{"GwPriority":5}}"#));
        assert_eq!(net(&["name=N1,alias=A"], &[], None, None), ok("n1", r#"{"n1":{"Aliases":["a"]}}"#));
        assert_eq!(net(&[], &[], Some("10.0.0.5"), None), ok("default", r#"{"default":{"IPAMConfig":{"IPv4Address":"10.0.0.5"}}}"#));
        assert_eq!(net(&["default"], &[], None, None), ok("default", "{}"));
    }

    #[test]
    fn bad_networks_get_dockers_words() {
        for (values, aliases, err) in [
            (&["bridge"][..], &["x"][..], "network-scoped aliases are only supported for user-defined networks"),
            (&[], &["a"], "network-scoped aliases are only supported for user-defined networks"),
            (&["n1", "bridge"], &[], "conflicting options: cannot attach both user-defined and non-user-defined network-modes"),
            (&["n1", "n1"], &[], "network \"n1\" is specified multiple times"),
            (&[""], &[], "no name set for network"),
            (&["name=n1,alias=a"], &["b"], "conflicting options: cannot specify both --network-alias and per-network alias"),
            (&["name=n1,foo=bar"], &[], "invalid argument \"name=n1,foo=bar\" for \"--network\" flag: invalid field key foo"),
            (&["name=n1,mac-address=x"], &[], "berth does not support --network mac-address=..."),
        ] {
            assert_eq!(net(values, aliases, None, None), Err(err.to_owned()), "{values:?} {aliases:?}");
        }
        assert_eq!(net(&["name=n1,ip=10.0.0.1"], &[], Some("10.0.0.2"), None), Err("conflicting options: cannot specify both --ip and per-network IPv4 address".to_owned()));
        assert!(is_user_defined("mynet") && is_user_defined("containers") && !is_user_defined("container:web") && !is_user_defined("host"));
        assert!(is_long_form("name=a") && !is_long_form("my-net") && !is_long_form("=a") && !is_long_form("a="));
    }
}
