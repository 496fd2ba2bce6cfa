//! Network endpoints: create, inspect/list, connect, disconnect, prune; and `EndpointSettings`,
//! which containers also carry (create's `NetworkingConfig`, inspect's `NetworkSettings`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `POST /networks/create` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkCreateRequest {
    pub name: String,
    /// `bridge` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_from: Option<ConfigReference>,
    #[serde(rename = "IPAM", default, skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Ipam>,
    #[serde(
        rename = "EnableIPv4",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_ipv4: Option<bool>,
    #[serde(
        rename = "EnableIPv6",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_ipv6: Option<bool>,
    /// Driver options (`com.docker.network.bridge.name`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigReference {
    pub network: String,
}

/// `201` answer to create. `Warning` is `""` when there is none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkCreateResponse {
    pub id: String,
    #[serde(default)]
    pub warning: String,
}

/// `GET /networks/{id}` and the items of `GET /networks`. The list leaves `Containers` empty
/// (`{}`); inspect fills it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Network {
    pub name: String,
    pub id: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    /// `local`, `global`, `swarm`.
    pub scope: String,
    pub driver: String,
    #[serde(
        rename = "EnableIPv4",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_ipv4: Option<bool>,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    pub ipam: Ipam,
    pub internal: bool,
    pub attachable: bool,
    pub ingress: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_from: Option<ConfigReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_only: Option<bool>,
    /// Container ID → endpoint.
    #[serde(default)]
    pub containers: BTreeMap<String, NetworkContainer>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `IPAM`. `Config` may be `[]` (driver picks a subnet) or `null` in older answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ipam {
    /// `default` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Vec<IpamConfig>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpamConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(rename = "IPRange", default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auxiliary_addresses: Option<BTreeMap<String, String>>,
}

/// A container in `Network.Containers`. Addresses carry their prefix: `172.18.0.2/16`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkContainer {
    pub name: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub mac_address: String,
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
}

/// A container's endpoint on one network. On input (create, connect) only the configuration
/// fields matter (`IPAMConfig`, `Aliases`, `MacAddress`, `DriverOpts`, `GwPriority`); the
/// address fields are filled by the daemon on output. docker CLI 28 sends all of them, empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointSettings {
    #[serde(
        rename = "IPAMConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ipam_config: Option<EndpointIpamConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_opts: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw_priority: Option<i64>,
    #[serde(rename = "NetworkID", default, skip_serializing_if = "Option::is_none")]
    pub network_id: Option<String>,
    #[serde(
        rename = "EndpointID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub endpoint_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(rename = "IPAddress", default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(
        rename = "IPPrefixLen",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ip_prefix_len: Option<i64>,
    #[serde(
        rename = "IPv6Gateway",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv6_gateway: Option<String>,
    #[serde(
        rename = "GlobalIPv6Address",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub global_ipv6_address: Option<String>,
    #[serde(
        rename = "GlobalIPv6PrefixLen",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub global_ipv6_prefix_len: Option<i64>,
    #[serde(rename = "DNSNames", default, skip_serializing_if = "Option::is_none")]
    pub dns_names: Option<Vec<String>>,
}

/// The endpoint members dockerd sends as `null` when unset, in its answers (docker-py users
/// index `attrs["NetworkSettings"]["Networks"]["bridge"]["Aliases"]`). Not in
/// [`EndpointSettings`] itself: it also carries the docker CLI's requests, which leave them out.
const NULL_WHEN_UNSET: [&str; 4] = ["IPAMConfig", "Links", "Aliases", "DriverOpts"];

/// Serializes a container's endpoints (network name → endpoint) as dockerd answers them: with
/// [`NULL_WHEN_UNSET`]'s members present. For response types: `serialize_with`.
pub fn endpoints_as_answered<S: serde::Serializer>(endpoints: &BTreeMap<String, EndpointSettings>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::{Error, SerializeMap};
    let mut map = s.serialize_map(Some(endpoints.len()))?;
    for (name, endpoint) in endpoints {
        let mut v = serde_json::to_value(endpoint).map_err(S::Error::custom)?;
        if let Some(members) = v.as_object_mut() {
            for k in NULL_WHEN_UNSET {
                members.entry(k).or_insert(serde_json::Value::Null);
            }
        }
        map.serialize_entry(name, &v)?;
    }
    map.end()
}

/// [`endpoints_as_answered`] for an optional map (absent stays absent: `skip_serializing_if`).
pub fn some_endpoints_as_answered<S: serde::Serializer>(endpoints: &Option<BTreeMap<String, EndpointSettings>>, s: S) -> Result<S::Ok, S::Error> {
    match endpoints {
        Some(e) => endpoints_as_answered(e, s),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointIpamConfig {
    #[serde(
        rename = "IPv4Address",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv4_address: Option<String>,
    #[serde(
        rename = "IPv6Address",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv6_address: Option<String>,
    #[serde(
        rename = "LinkLocalIPs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub link_local_ips: Option<Vec<String>>,
}

/// `POST /networks/{id}/connect` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkConnectRequest {
    pub container: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_config: Option<EndpointSettings>,
}

/// `POST /networks/{id}/disconnect` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkDisconnectRequest {
    pub container: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
}

/// `POST /networks/prune` answer. Network names, `null` when none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkPruneResponse {
    #[serde(default)]
    pub networks_deleted: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::round_trip;

    #[test]
    fn answers_carry_dockers_null_endpoint_members_and_requests_do_not() {
        let ep = EndpointSettings { aliases: Some(vec!["db".into()]), ip_address: Some("10.0.0.2".into()), ..Default::default() };
        let summary = crate::container::SummaryNetworkSettings { networks: BTreeMap::from([("net".to_owned(), ep.clone())]) };
        let v = serde_json::to_value(&summary).expect("serializes");
        let answered = &v["Networks"]["net"];
        assert_eq!(answered["Aliases"], serde_json::json!(["db"]), "{v}");
        assert_eq!(answered["IPAddress"], "10.0.0.2", "{v}");
        for k in ["IPAMConfig", "Links", "DriverOpts"] {
            assert_eq!(answered.get(k), Some(&serde_json::Value::Null), "{k} in {v}");
        }
        // A request (what the CLI sends) leaves them out.
        let request = serde_json::to_value(&ep).expect("serializes");
        assert!(request.get("Links").is_none() && request.get("IPAMConfig").is_none(), "{request}");
        // And an answer reads back as it was.
        let back: crate::container::SummaryNetworkSettings = serde_json::from_value(v).expect("reads back");
        assert_eq!(back, summary);
    }

    #[test]
    fn docker_cli_network_create() {
        // `docker network create --subnet 10.9.0.0/24 --gateway 10.9.0.1
        //  -o com.docker.network.bridge.name=br9 --label a=b net9`, captured from docker 28.2.2.
        let req: NetworkCreateRequest = round_trip(include_str!(
            "../testdata/docker-cli-28-network-create.json"
        ));
        assert_eq!(req.name, "net9");
        assert_eq!(req.driver.as_deref(), Some("bridge"));
        let ipam = req.ipam.as_ref().unwrap();
        let cfg = &ipam.config.as_ref().unwrap()[0];
        assert_eq!(cfg.subnet.as_deref(), Some("10.9.0.0/24"));
        assert_eq!(cfg.gateway.as_deref(), Some("10.9.0.1"));
        assert_eq!(
            req.options.as_ref().unwrap()["com.docker.network.bridge.name"],
            "br9"
        );
        assert_eq!(req.config_from, None);
    }

    #[test]
    fn network_inspect_round_trips() {
        let json = r#"{"Name":"my_network","Id":"7d86d31b1478e7cca9ebed7e73aa0fdeec46c5ca29497431d3007d2d9e15ed99",
          "Created":"2016-10-19T04:33:30.360899459Z","Scope":"local","Driver":"bridge","EnableIPv4":true,"EnableIPv6":false,
          "IPAM":{"Driver":"default","Config":[{"Subnet":"172.19.0.0/16","IPRange":"172.19.1.0/24","Gateway":"172.19.0.1"}],"Options":{}},
          "Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,
          "Containers":{"19a4d5d687db25203351ed79d478946f861258f018fe384f229f2efa4b23513c":{"Name":"test",
            "EndpointID":"628cadb8bcb92de107b2a1e516cbffe463e321f548feb37697cce00ad694f21a","MacAddress":"02:42:ac:13:00:02",
            "IPv4Address":"172.19.0.2/16","IPv6Address":""}},
          "Options":{"com.docker.network.bridge.default_bridge":"true"},"Labels":{"com.example.some-label":"some-value"}}"#;
        let n: Network = round_trip(json);
        assert_eq!(
            n.ipam.config.as_ref().unwrap()[0].ip_range.as_deref(),
            Some("172.19.1.0/24")
        );
        assert_eq!(
            n.containers.values().next().unwrap().ipv4_address,
            "172.19.0.2/16"
        );
        assert!(!n.enable_ipv6);
    }

    #[test]
    fn connect_disconnect_prune_create_response() {
        let c: NetworkConnectRequest = round_trip(
            r#"{"Container":"web","EndpointConfig":{"IPAMConfig":{"IPv4Address":"172.24.56.89"},"Aliases":["db"]}}"#,
        );
        assert_eq!(
            c.endpoint_config
                .unwrap()
                .ipam_config
                .unwrap()
                .ipv4_address
                .as_deref(),
            Some("172.24.56.89")
        );
        let d: NetworkDisconnectRequest = round_trip(r#"{"Container":"web","Force":true}"#);
        assert_eq!(d.force, Some(true));
        let _: NetworkPruneResponse = round_trip(r#"{"NetworksDeleted":["net9"]}"#);
        let r: NetworkCreateResponse = round_trip(r#"{"Id":"22be93d5babb","Warning":""}"#);
        assert_eq!(r.id, "22be93d5babb");
    }
}
