//! `network create | ls | inspect | rm | connect | disconnect | prune`, with docker's flags,
//! output and words. Flags of docker's that berth's networks do not have (swarm's ingress and
//! scope, configuration-only networks, auxiliary addresses, IPAM options) are accepted by the
//! parser and refused by name, so they are never silently dropped.

use std::collections::BTreeMap;

use berth_api_types::network::{
    EndpointIpamConfig, EndpointSettings, Ipam, Network, NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse,
    NetworkDisconnectRequest, NetworkPruneResponse,
};
use clap::{Args, Subcommand};
use http::Method;

use super::volumes::key_values;
use crate::client::{p, q, Client};
use crate::error::{CliError, Result};
use crate::format::{go_time_rfc3339, natural_cmp, short_id, ListFormat};
use crate::template::Value;

#[derive(Debug, Subcommand)]
pub enum NetworkCmd {
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Create a network
    Create(CreateArgs),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove all unused networks
    Prune(PruneArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
}

/// Go's `strconv.ParseBool`, for `--ipv4=false`.
fn go_bool(s: &str) -> std::result::Result<bool, String> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("strconv.ParseBool: parsing {}: invalid syntax", crate::format::go_quote(s))),
    }
}

#[derive(Debug, Args)]
#[command(override_usage = "berth network create [OPTIONS] NETWORK")]
pub struct CreateArgs {
    /// Enable manual container attachment
    #[arg(long)]
    pub attachable: bool,
    /// Driver to manage the Network
    #[arg(short = 'd', long, value_name = "string", default_value = "bridge")]
    pub driver: String,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long, value_name = "strings", value_delimiter = ',')]
    pub gateway: Vec<String>,
    /// Restrict external access to the network
    #[arg(long)]
    pub internal: bool,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range", value_name = "strings", value_delimiter = ',')]
    pub ip_range: Vec<String>,
    /// IP Address Management Driver
    #[arg(long = "ipam-driver", value_name = "string", default_value = "default")]
    pub ipam_driver: String,
    /// Enable or disable IPv4 address assignment (default true)
    #[arg(long, value_name = "bool", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub ipv4: Option<bool>,
    /// Enable or disable IPv6 address assignment
    #[arg(long, value_name = "bool", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub ipv6: Option<bool>,
    /// Set metadata on a network
    #[arg(long, value_name = "list")]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "map")]
    pub opt: Vec<String>,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long, value_name = "strings", value_delimiter = ',')]
    pub subnet: Vec<String>,
    // Docker's flags that berth's networks do not have: accepted here, refused by name.
    #[arg(long = "aux-address", hide = true)]
    pub aux_address: Vec<String>,
    #[arg(long = "config-from", hide = true)]
    pub config_from: Option<String>,
    #[arg(long = "config-only", hide = true)]
    pub config_only: bool,
    #[arg(long, hide = true)]
    pub ingress: bool,
    #[arg(long = "ipam-opt", hide = true)]
    pub ipam_opt: Vec<String>,
    #[arg(long, hide = true)]
    pub scope: Option<String>,
    pub network: String,
}

#[derive(Debug, Args)]
#[command(override_usage = "berth network ls [OPTIONS]")]
pub struct LsArgs {
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short = 'f', long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only display network IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
#[command(override_usage = "berth network inspect [OPTIONS] NETWORK [NETWORK...]")]
pub struct InspectArgs {
    /// Format output using a custom template: 'json', 'TEMPLATE'
    #[arg(short = 'f', long, value_name = "string")]
    pub format: Option<String>,
    /// Verbose output for diagnostics
    #[arg(short = 'v', long)]
    pub verbose: bool,
    #[arg(required = true)]
    pub networks: Vec<String>,
}

#[derive(Debug, Args)]
#[command(override_usage = "berth network rm NETWORK [NETWORK...]")]
pub struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(required = true)]
    pub networks: Vec<String>,
}

#[derive(Debug, Args)]
#[command(override_usage = "berth network connect [OPTIONS] NETWORK CONTAINER")]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long, value_name = "strings", value_delimiter = ',')]
    pub alias: Vec<String>,
    /// driver options for the network
    #[arg(long = "driver-opt", value_name = "strings", value_delimiter = ',')]
    pub driver_opt: Vec<String>,
    /// Highest gw-priority provides the default gateway. Accepts positive and negative values.
    #[arg(long = "gw-priority", value_name = "int", default_value_t = 0, allow_hyphen_values = true)]
    pub gw_priority: i64,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long, value_name = "string")]
    pub ip: Option<String>,
    /// IPv6 address (e.g., "2001:db8::33")
    #[arg(long, value_name = "string")]
    pub ip6: Option<String>,
    // Docker's flags that berth's networks do not have: accepted here, refused by name.
    #[arg(long, hide = true)]
    pub link: Vec<String>,
    #[arg(long = "link-local-ip", hide = true)]
    pub link_local_ip: Vec<String>,
    pub network: String,
    pub container: String,
}

#[derive(Debug, Args)]
#[command(override_usage = "berth network disconnect [OPTIONS] NETWORK CONTAINER")]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short = 'f', long)]
    pub force: bool,
    pub network: String,
    pub container: String,
}

#[derive(Debug, Args)]
#[command(override_usage = "berth network prune [OPTIONS]")]
pub struct PruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

pub async fn run(client: &Client, cmd: &NetworkCmd) -> Result<i32> {
    match cmd {
        NetworkCmd::Connect(a) => connect(client, a).await,
        NetworkCmd::Create(a) => create(client, a).await,
        NetworkCmd::Disconnect(a) => disconnect(client, a).await,
        NetworkCmd::Inspect(a) => inspect(client, a).await,
        NetworkCmd::Ls(a) => ls(client, a).await,
        NetworkCmd::Prune(a) => prune(client, a).await,
        NetworkCmd::Rm(a) => rm(client, a).await,
    }
}

impl CreateArgs {
    /// The first flag set that berth's networks do not have, with why.
    fn unsupported(&self) -> Option<&'static str> {
        [
            ("--aux-address (addresses reserved for the driver)", !self.aux_address.is_empty()),
            ("--config-from (configuration-only networks)", self.config_from.is_some()),
            ("--config-only (configuration-only networks)", self.config_only),
            ("--ingress (swarm's routing mesh)", self.ingress),
            ("--ipam-opt (IPAM driver options)", !self.ipam_opt.is_empty()),
            ("--scope (berth's networks are local)", self.scope.is_some()),
        ]
        .into_iter()
        .find(|(_, on)| *on)
        .map(|(name, _)| name)
    }

    /// The create body, as docker CLI 28 sends it.
    pub fn to_request(&self) -> Result<NetworkCreateRequest> {
        if let Some(flag) = self.unsupported() {
            return Err(CliError::new(format!("berth does not support {flag}")));
        }
        let config = super::ipam::ipam_config(&self.subnet, &self.ip_range, &self.gateway).map_err(CliError::new)?;
        Ok(NetworkCreateRequest {
            name: self.network.clone(),
            driver: Some(self.driver.clone()),
            scope: Some(String::new()),
            internal: Some(self.internal),
            attachable: Some(self.attachable),
            ingress: Some(false),
            config_only: Some(false),
            config_from: None,
            ipam: Some(Ipam { driver: Some(self.ipam_driver.clone()), config: Some(config), options: Some(BTreeMap::new()) }),
            enable_ipv4: self.ipv4,
            enable_ipv6: self.ipv6,
            options: Some(key_values("--opt", &self.opt, false)?),
            labels: Some(key_values("--label", &self.label, false)?),
        })
    }
}

async fn create(client: &Client, a: &CreateArgs) -> Result<i32> {
    let body = serde_json::to_vec(&a.to_request()?).expect("a network request serializes");
    let r: NetworkCreateResponse = client.json(Method::POST, "/networks/create", Some(body)).await?;
    if !r.warning.is_empty() {
        eprintln!("WARNING: {}", r.warning);
    }
    println!("{}", r.id);
    Ok(0)
}

const TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";

/// One network as docker's formatter shows it.
fn row(n: &Network, trunc: bool) -> Value {
    let mut labels: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    Value::map([
        ("CreatedAt", Value::Str(go_time_rfc3339(&n.created))),
        ("Driver", Value::Str(n.driver.clone())),
        ("ID", Value::Str(if trunc { short_id(&n.id) } else { n.id.clone() })),
        ("IPv4", Value::Str(n.enable_ipv4.unwrap_or(false).to_string())),
        ("IPv6", Value::Str(n.enable_ipv6.to_string())),
        ("Internal", Value::Str(n.internal.to_string())),
        ("Labels", Value::Str(labels.join(","))),
        ("Name", Value::Str(n.name.clone())),
        ("Scope", Value::Str(n.scope.clone())),
        (&*format!("{}Label", crate::template::METHOD_PREFIX), Value::map(n.labels.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))))),
    ])
}

fn headers() -> Value {
    Value::map(
        [
            ("CreatedAt", "CREATED AT"),
            ("Driver", "DRIVER"),
            ("ID", "NETWORK ID"),
            ("IPv4", "IPV4"),
            ("IPv6", "IPV6"),
            ("Internal", "INTERNAL"),
            ("Labels", "LABELS"),
            ("Name", "NAME"),
            ("Scope", "SCOPE"),
        ]
        .map(|(k, v)| (k, Value::from(v))),
    )
}

/// The `ls` output for `networks` (sorted here, in docker's natural order of names).
fn render_list(mut networks: Vec<Network>, a: &LsArgs) -> Result<String> {
    // As docker's: -q replaces only the default table; an explicit template still counts.
    let default = if a.quiet { "{{.ID}}" } else { TABLE };
    let format = ListFormat::parse(a.format.as_deref().unwrap_or(""), default)
        .map_err(|e| CliError::new(e.to_string()))?
        .fields_of("*network.networkContext", "template parsing error: ", a.format.as_deref().unwrap_or(""));
    networks.sort_by(|x, y| natural_cmp(&x.name, &y.name));
    let rows: Vec<Value> = networks.iter().map(|n| row(n, !a.no_trunc)).collect();
    format.render(&rows, &headers()).map_err(|e| CliError::new(e.to_string()))
}

async fn ls(client: &Client, a: &LsArgs) -> Result<i32> {
    let mut path = "/networks".to_owned();
    if !a.filter.is_empty() {
        path.push_str(&format!("?filters={}", q(&super::ps::filters_json(&a.filter)?)));
    }
    let list: Vec<Network> = client.json(Method::GET, &path, None).await?;
    print!("{}", render_list(list, a)?);
    Ok(0)
}

async fn inspect(client: &Client, a: &InspectArgs) -> Result<i32> {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for n in &a.networks {
        let path = format!("/networks/{}{}", p(n), if a.verbose { "?verbose=true" } else { "" });
        match client.get_value(&path).await {
            Ok(v) => items.push(v),
            Err(e) => errors.push(e.message),
        }
    }
    match a.format.as_deref() {
        // docker's `json` is the same array, compact.
        Some("json") => println!("{}", Value::List(items).to_json()),
        f => super::inspect::print_inspected(&items, f)?,
    }
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(CliError::new(errors.join("\n")))
    }
}

async fn rm(client: &Client, a: &RmArgs) -> Result<i32> {
    let mut failed = false;
    for n in &a.networks {
        match client.call(Method::DELETE, &format!("/networks/{}", p(n)), None).await {
            Ok(_) => println!("{n}"),
            Err(e) if a.force && e.is_not_found() => {}
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    // docker's closing line for a partial failure.
    if failed {
        Err(CliError::new("exit status 1").with_status(1))
    } else {
        Ok(0)
    }
}

/// docker's `key=value` driver options of `connect`.
fn driver_opts(items: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for i in items {
        match i.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => out.insert(k.trim().to_owned(), v.trim().to_owned()),
            _ => return Err(CliError::new("invalid key/value pair format in driver options")),
        };
    }
    Ok(out)
}

impl ConnectArgs {
    /// The connect body, as docker CLI 28 sends it.
    pub fn to_request(&self) -> Result<NetworkConnectRequest> {
        if !self.link.is_empty() {
            return Err(CliError::new("berth does not support --link (legacy container links): a network's containers reach each other by name and --alias"));
        }
        if !self.link_local_ip.is_empty() {
            return Err(CliError::new("berth does not support --link-local-ip"));
        }
        let ip = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        Ok(NetworkConnectRequest {
            container: self.container.clone(),
            endpoint_config: Some(EndpointSettings {
                ipam_config: Some(EndpointIpamConfig { ipv4_address: ip(&self.ip), ipv6_address: ip(&self.ip6), link_local_ips: None }),
                aliases: Some(self.alias.clone()),
                driver_opts: Some(driver_opts(&self.driver_opt)?),
                gw_priority: Some(self.gw_priority),
                ..EndpointSettings::default()
            }),
        })
    }
}

async fn connect(client: &Client, a: &ConnectArgs) -> Result<i32> {
    let body = serde_json::to_vec(&a.to_request()?).expect("a connect request serializes");
    client.call(Method::POST, &format!("/networks/{}/connect", p(&a.network)), Some(body)).await?;
    Ok(0)
}

async fn disconnect(client: &Client, a: &DisconnectArgs) -> Result<i32> {
    let req = NetworkDisconnectRequest { container: a.container.clone(), force: Some(a.force) };
    let body = serde_json::to_vec(&req).expect("a disconnect request serializes");
    client.call(Method::POST, &format!("/networks/{}/disconnect", p(&a.network)), Some(body)).await?;
    Ok(0)
}

/// Prunes unused networks and prints the ones that went, as docker does.
pub async fn prune_networks(client: &Client, filter: &[String]) -> Result<()> {
    let mut path = "/networks/prune".to_owned();
    if !filter.is_empty() {
        path.push_str(&format!("?filters={}", q(&super::ps::filters_json(filter)?)));
    }
    let r: NetworkPruneResponse = client.json(Method::POST, &path, None).await?;
    let deleted = r.networks_deleted.unwrap_or_default();
    if !deleted.is_empty() {
        println!("Deleted Networks:");
        for n in deleted {
            println!("{n}");
        }
        println!();
    }
    Ok(())
}

async fn prune(client: &Client, a: &PruneArgs) -> Result<i32> {
    let warning = "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?";
    if !a.force && !super::lifecycle::confirm(warning) {
        return Ok(0);
    }
    prune_networks(client, &a.filter).await?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: NetworkCmd,
    }

    fn parse(args: &[&str]) -> NetworkCmd {
        Cli::try_parse_from(std::iter::once("network").chain(args.iter().copied())).expect("parses").cmd
    }

    fn create_body(args: &[&str]) -> Result<String> {
        let NetworkCmd::Create(a) = parse(&[&["create"][..], args].concat()) else { panic!("create") };
        a.to_request().map(|r| serde_json::to_string(&r).expect("serializes"))
    }

    #[test]
    fn create_sends_what_docker_sends() {
        // The bodies docker CLI 28.2 sent for the same command lines (same fields, same values).
        let same = |args: &[&str], docker: &str| {
            let ours: serde_json::Value = serde_json::from_str(&create_body(args).expect("valid")).expect("JSON");
            let theirs: serde_json::Value = serde_json::from_str(docker).expect("JSON");
            assert_eq!(ours, theirs, "{args:?}");
        };
        same(
            &["n1"],
            r#"{"Driver":"bridge","Scope":"","IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"Options":{},"Labels":{},"Name":"n1"}"#,
        );
        same(
            &[
                "-d", "bridge", "--subnet", "10.9.0.0/24", "--gateway", "10.9.0.1", "--ip-range", "10.9.0.128/25", "--ipv6", "--internal", "--attachable", "--label",
                "a=b", "--label", "c", "-o", "com.docker.network.bridge.name=br9", "-o", "x=y", "--ipam-driver", "default", "n2",
            ],
            r#"{"Driver":"bridge","Scope":"","EnableIPv6":true,"IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.9.0.0/24","IPRange":"10.9.0.128/25","Gateway":"10.9.0.1"}]},"Internal":true,"Attachable":true,"Ingress":false,"ConfigOnly":false,"Options":{"com.docker.network.bridge.name":"br9","x":"y"},"Labels":{"a":"b","c":""},"Name":"n2"}"#,
        );
        same(
            &["--ipv4=false", "--ipv6=false", "n3"],
            r#"{"Driver":"bridge","Scope":"","EnableIPv4":false,"EnableIPv6":false,"IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"Options":{},"Labels":{},"Name":"n3"}"#,
        );
        same(
            &["--subnet", "10.1.0.0/16,fd00::/64", "--gateway", "fd00::1", "-o", "x", "n4"],
            r#"{"Driver":"bridge","Scope":"","IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.1.0.0/16"},{"Subnet":"fd00::/64","Gateway":"fd00::1"}]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"Options":{"x":""},"Labels":{},"Name":"n4"}"#,
        );
        assert_eq!(create_body(&["--gateway", "10.0.0.1", "n"]).unwrap_err().message, "every ip-range or gateway must have a corresponding subnet");
        assert!(Cli::try_parse_from(["network", "create", "--ipv6=maybe", "n"]).is_err());
    }

    #[test]
    fn create_refuses_what_berth_lacks_by_name() {
        for (flags, name) in [
            (&["--aux-address", "host1=10.0.0.5"][..], "--aux-address"),
            (&["--config-from", "other"], "--config-from"),
            (&["--config-only"], "--config-only"),
            (&["--ingress"], "--ingress"),
            (&["--ipam-opt", "a=b"], "--ipam-opt"),
            (&["--scope", "swarm"], "--scope"),
        ] {
            let e = create_body(&[flags, &["n"]].concat()).unwrap_err();
            assert!(e.message.starts_with("berth does not support ") && e.message.contains(name), "{flags:?}: {e}");
        }
    }

    #[test]
    fn connect_sends_what_docker_sends() {
        let body = |args: &[&str]| {
            let NetworkCmd::Connect(a) = parse(&[&["connect"][..], args].concat()) else { panic!("connect") };
            a.to_request().map(|r| serde_json::to_string(&r).expect("serializes"))
        };
        assert_eq!(
            body(&["n1", "c"]).unwrap(),
            r#"{"Container":"c","EndpointConfig":{"IPAMConfig":{},"Aliases":[],"DriverOpts":{},"GwPriority":0}}"#
        );
        assert_eq!(
            body(&["--alias", "a1", "--alias", "a2,a3", "--ip", "10.9.0.5", "--ip6", "fd00::5", "n1", "c"]).unwrap(),
            r#"{"Container":"c","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.9.0.5","IPv6Address":"fd00::5"},"Aliases":["a1","a2","a3"],"DriverOpts":{},"GwPriority":0}}"#
        );
        assert_eq!(body(&["--driver-opt", "x", "n1", "c"]).unwrap_err().message, "invalid key/value pair format in driver options");
        assert!(body(&["--link", "a:b", "n1", "c"]).unwrap_err().message.contains("--link"));
    }

    fn network(name: &str, id: &str, created: &str, labels: &[(&str, &str)]) -> Network {
        Network {
            name: name.to_owned(),
            id: id.repeat(64),
            created: created.to_owned(),
            scope: "local".to_owned(),
            driver: "bridge".to_owned(),
            enable_ipv4: Some(true),
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Network::default()
        }
    }

    #[test]
    fn ls_prints_what_docker_prints() {
        // docker CLI 28.2's output for the same list.
        let list = || {
            vec![
                network("net10", "1", "2026-11-23T22:40:05.123400Z", &[("a", "b")]),
                network("net9", "2", "2026-11-23T22:40:05Z", &[]),
                network("bridge", "3", "2026-11-23T22:40:05.000000001+01:00", &[]),
            ]
        };
        let ls = |args: &[&str]| {
            let NetworkCmd::Ls(a) = parse(&[&["ls"][..], args].concat()) else { panic!("ls") };
            render_list(list(), &a).expect("renders")
        };
        assert_eq!(
            ls(&[]),
            "NETWORK ID     NAME      DRIVER    SCOPE\n333333333333   bridge    bridge    local\n222222222222   net9      bridge    local\n111111111111   net10     bridge    local\n"
        );
        assert_eq!(ls(&["-q"]), "333333333333\n222222222222\n111111111111\n");
        assert_eq!(ls(&["-q", "--format", "{{.Name}}"]), "bridge\nnet9\nnet10\n");
        assert!(ls(&["--no-trunc", "-q"]).starts_with(&format!("{}\n", "3".repeat(64))));
        assert_eq!(
            ls(&["--format", "{{.CreatedAt}}|{{.IPv4}}|{{.IPv6}}|{{.Internal}}|{{.Labels}}|{{.Label \"a\"}}"]),
            "2026-11-23 22:40:05.000000001 +0100 +0100|true|false|false||\n2026-11-23 22:40:05 +0000 UTC|true|false|false||\n2026-11-23 22:40:05.1234 +0000 UTC|true|false|false|a=b|b\n"
        );
        assert_eq!(
            ls(&["--format", "json"]).lines().last().unwrap(),
            r#"{"CreatedAt":"2026-11-23 22:40:05.1234 +0000 UTC","Driver":"bridge","ID":"111111111111","IPv4":"true","IPv6":"false","Internal":"false","Labels":"a=b","Name":"net10","Scope":"local"}"#
        );
    }
}
