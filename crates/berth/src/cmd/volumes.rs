//! `volume create | ls | inspect | rm | prune`, with docker's output and formatter fields.

use std::collections::BTreeMap;

use berth_api_types::volume::{Volume, VolumeCreateRequest, VolumeListResponse, VolumePruneResponse};
use clap::{Args, Subcommand};
use http::Method;

use crate::client::{p, q, Client};
use crate::error::{CliError, Result};
use crate::format::{human_size, ListFormat};
use crate::template::Value;

#[derive(Debug, Subcommand)]
pub enum VolumeCmd {
    /// Create a volume
    Create(CreateArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove unused local volumes
    Prune(PruneArgs),
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
}

#[derive(Debug, Args)]
#[command(override_usage = "berth volume create [OPTIONS] [VOLUME]")]
pub struct CreateArgs {
    /// Specify volume driver name
    #[arg(short = 'd', long, value_name = "string", default_value = "local")]
    pub driver: String,
    /// Set metadata for a volume
    #[arg(long, value_name = "list")]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "map")]
    pub opt: Vec<String>,
    /// Specify volume name
    #[arg(long, value_name = "string", hide = true)]
    pub name: Option<String>,
    pub volume: Option<String>,
}

#[derive(Debug, Args)]
#[command(override_usage = "berth volume ls [OPTIONS]")]
pub struct LsArgs {
    /// Provide filter values (e.g. "dangling=true")
    #[arg(short = 'f', long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    /// Only display volume names
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
#[command(override_usage = "berth volume inspect [OPTIONS] VOLUME [VOLUME...]")]
pub struct InspectArgs {
    /// Format output using a custom template: 'json', 'TEMPLATE'
    #[arg(short = 'f', long, value_name = "string")]
    pub format: Option<String>,
    #[arg(required = true)]
    pub volumes: Vec<String>,
}

#[derive(Debug, Args)]
#[command(override_usage = "berth volume rm [OPTIONS] VOLUME [VOLUME...]")]
pub struct RmArgs {
    /// Force the removal of one or more volumes
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(required = true)]
    pub volumes: Vec<String>,
}

#[derive(Debug, Args)]
#[command(override_usage = "berth volume prune [OPTIONS]")]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=<label>")
    #[arg(long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

pub async fn run(client: &Client, cmd: &VolumeCmd) -> Result<i32> {
    match cmd {
        VolumeCmd::Create(a) => create(client, a).await,
        VolumeCmd::Inspect(a) => inspect(client, a).await,
        VolumeCmd::Ls(a) => ls(client, a).await,
        VolumeCmd::Prune(a) => prune(client, a).await,
        VolumeCmd::Rm(a) => rm(client, a).await,
    }
}

/// `--label a=b` / `-o k=v` flags as a map; `a` alone is `a=""` unless `need_value`.
pub fn key_values(flag: &str, items: &[String], need_value: bool) -> Result<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    for i in items {
        match i.split_once('=') {
            Some((k, v)) => m.insert(k.to_owned(), v.to_owned()),
            None if !need_value => m.insert(i.clone(), String::new()),
            None => return Err(CliError::new(format!("invalid argument \"{i}\" for \"{flag}\" flag: invalid key=value: {i}"))),
        };
    }
    Ok(m)
}

async fn create(client: &Client, a: &CreateArgs) -> Result<i32> {
    if a.name.is_some() && a.volume.is_some() {
        return Err(CliError::new("conflicting options: either specify --name or provide positional arg, not both"));
    }
    let req = VolumeCreateRequest {
        name: a.volume.clone().or_else(|| a.name.clone()),
        driver: Some(a.driver.clone()),
        driver_opts: Some(key_values("--opt", &a.opt, true)?),
        labels: Some(key_values("--label", &a.label, false)?),
    };
    let v: Volume = client.json(Method::POST, "/volumes/create", Some(serde_json::to_vec(&req).expect("a volume request serializes"))).await?;
    println!("{}", v.name);
    Ok(0)
}

/// One volume as docker's formatter shows it.
pub fn row(v: &Volume) -> Value {
    let mut labels: Vec<String> = v.labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    let (size, links) = match &v.usage_data {
        Some(u) if u.size >= 0 => (human_size(u.size), u.ref_count.to_string()),
        _ => ("N/A".to_owned(), "N/A".to_owned()),
    };
    Value::map([
        ("Availability", Value::from("N/A")),
        ("Driver", Value::Str(v.driver.clone())),
        ("Group", Value::from("N/A")),
        ("Labels", Value::Str(labels.join(","))),
        ("Links", Value::Str(links)),
        ("Mountpoint", Value::Str(v.mountpoint.clone())),
        ("Name", Value::Str(v.name.clone())),
        ("Scope", Value::Str(v.scope.clone())),
        ("Size", Value::Str(size)),
        ("Status", Value::from("N/A")),
        (
            &*format!("{}Label", crate::template::METHOD_PREFIX),
            Value::map(v.labels.iter().flatten().map(|(k, v)| (k.clone(), Value::from(v.as_str())))),
        ),
    ])
}

/// The column titles of docker's volume formatter.
pub fn headers() -> Value {
    Value::map(
        [
            ("Availability", "AVAILABILITY"),
            ("Driver", "DRIVER"),
            ("Group", "GROUP"),
            ("Labels", "LABELS"),
            ("Links", "LINKS"),
            ("Mountpoint", "MOUNTPOINT"),
            ("Name", "VOLUME NAME"),
            ("Scope", "SCOPE"),
            ("Size", "SIZE"),
            ("Status", "STATUS"),
        ]
        .map(|(k, v)| (k, Value::from(v))),
    )
}

async fn ls(client: &Client, a: &LsArgs) -> Result<i32> {
    let src = if a.quiet { "{{.Name}}".to_owned() } else { a.format.clone().unwrap_or_default() };
    let format = ListFormat::parse(&src, "table {{.Driver}}\t{{.Name}}").map_err(|e| CliError::new(e.to_string()))?.fields_of("*formatter.volumeContext", "template parsing error: ", &src);
    let mut path = "/volumes".to_owned();
    if !a.filter.is_empty() {
        path.push_str(&format!("?filters={}", q(&super::ps::filters_json(&a.filter)?)));
    }
    let list: VolumeListResponse = client.json(Method::GET, &path, None).await?;
    for w in list.warnings.iter().flatten() {
        eprintln!("WARNING: {w}");
    }
    let mut vols = list.volumes;
    vols.sort_by(|x, y| x.name.cmp(&y.name));
    let rows: Vec<Value> = vols.iter().map(row).collect();
    print!("{}", format.render(&rows, &headers()).map_err(|e| CliError::new(e.to_string()))?);
    Ok(0)
}

async fn inspect(client: &Client, a: &InspectArgs) -> Result<i32> {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for v in &a.volumes {
        match client.get_value(&format!("/volumes/{}", p(v))).await {
            // docker's volume type has its fields in alphabetical order.
            Ok(x) => items.push(x.sorted()),
            Err(e) if e.is_not_found() => errors.push(format!("get {v}: no such volume")),
            Err(e) => errors.push(e.message),
        }
    }
    super::inspect::print_inspected(&items, a.format.as_deref())?;
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(CliError::new(format!("Error: {}", errors.join("\n"))))
    }
}

async fn rm(client: &Client, a: &RmArgs) -> Result<i32> {
    let mut errors = Vec::new();
    for v in &a.volumes {
        match client.call(Method::DELETE, &format!("/volumes/{}?force={}", p(v), u8::from(a.force)), None).await {
            Ok(_) => println!("{v}"),
            Err(e) => errors.push(e.message),
        }
    }
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(CliError::new(errors.join("\n")))
    }
}

/// Prunes volumes (anonymous ones unless `all`), prints what went; returns the bytes reclaimed.
pub async fn prune_volumes(client: &Client, all: bool, filter: &[String]) -> Result<u64> {
    let mut filters = filter.to_vec();
    if all {
        filters.push("all=true".to_owned());
    }
    let r: VolumePruneResponse = client.json(Method::POST, &format!("/volumes/prune?filters={}", q(&super::ps::filters_json(&filters)?)), None).await?;
    let deleted = r.volumes_deleted.unwrap_or_default();
    if !deleted.is_empty() {
        println!("Deleted Volumes:");
        for v in deleted {
            println!("{v}");
        }
        println!();
    }
    Ok(r.space_reclaimed)
}

async fn prune(client: &Client, a: &PruneArgs) -> Result<i32> {
    let warning = if a.all {
        "WARNING! This will remove all local volumes not used by at least one container."
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    };
    if !a.force && !super::lifecycle::confirm(&format!("{warning}\nAre you sure you want to continue?")) {
        return Ok(0);
    }
    let reclaimed = prune_volumes(client, a.all, &a.filter).await?;
    println!("Total reclaimed space: {}", human_size(reclaimed as i64));
    Ok(0)
}
