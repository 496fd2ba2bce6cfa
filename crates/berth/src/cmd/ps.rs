//! `ps`: the container list, with docker's formatter fields (`.ID .Image .Command .CreatedAt
//! .RunningFor .Ports .Status .Names .Labels .Size .Mounts .Networks .State .LocalVolumes`),
//! its default table and its truncation.

use berth_api_types::container::ContainerSummary;
use berth_api_types::Filters;
use clap::Args;
use http::Method;

use crate::client::{q, Client};
use crate::error::{CliError, Result};
use crate::format::{ellipsis, go_quote, go_time, human_duration, human_size, now_secs, short_id, ListFormat};
use crate::template::Value;

#[derive(Debug, Args)]
#[command(override_usage = "berth ps [OPTIONS]")]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", value_name = "int", default_value_t = -1, allow_hyphen_values = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only display container IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Display total file sizes
    #[arg(short = 's', long)]
    pub size: bool,
}

/// `--filter key=value` flags as the API's `filters` JSON.
pub fn filters_json(flags: &[String]) -> Result<String> {
    let mut f = Filters::new();
    for flag in flags {
        let (k, v) = flag.split_once('=').ok_or_else(|| CliError::new(format!("invalid filter '{flag}'")).with_status(125))?;
        f.add(k.trim().to_lowercase(), v);
    }
    Ok(f.to_json())
}

const DEFAULT_TABLE: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

pub async fn ps(client: &Client, a: &PsArgs) -> Result<i32> {
    let format_flag = a.format.clone().unwrap_or_default();
    let default = if a.size { format!("{DEFAULT_TABLE}\t{{{{.Size}}}}") } else { DEFAULT_TABLE.to_owned() };
    let fmt_src = if a.quiet { "{{.ID}}".to_owned() } else { format_flag.clone() };
    let format = ListFormat::parse(&fmt_src, &default).map_err(|e| CliError::new(e.to_string()))?;
    let size = a.size || (!a.quiet && format.wants(".Size", &format_flag));
    let limit = if a.latest { 1 } else { a.last };
    let mut path = format!("/containers/json?all={}&size={}", u8::from(a.all || limit > 0), u8::from(size));
    if limit > 0 {
        path.push_str(&format!("&limit={limit}"));
    }
    if !a.filter.is_empty() {
        path.push_str(&format!("&filters={}", q(&filters_json(&a.filter)?)));
    }
    let list: Vec<ContainerSummary> = client.json(Method::GET, &path, None).await?;
    let now = now_secs();
    let rows: Vec<Value> = list.iter().map(|c| row(c, !a.no_trunc, now)).collect();
    let out = format.render(&rows, &headers()).map_err(|e| CliError::new(e.to_string()))?;
    print!("{out}");
    Ok(0)
}

fn headers() -> Value {
    Value::map(
        [
            ("Command", "COMMAND"),
            ("CreatedAt", "CREATED AT"),
            ("ID", "CONTAINER ID"),
            ("Image", "IMAGE"),
            ("Labels", "LABELS"),
            ("LocalVolumes", "LOCAL VOLUMES"),
            ("Mounts", "MOUNTS"),
            ("Names", "NAMES"),
            ("Networks", "NETWORKS"),
            ("Ports", "PORTS"),
            ("RunningFor", "CREATED"),
            ("Size", "SIZE"),
            ("State", "STATE"),
            ("Status", "STATUS"),
        ]
        .map(|(k, v)| (k, Value::from(v))),
    )
}

/// One container as docker's formatter shows it: every field a string, keys in the order
/// docker's `json` format writes them (sorted).
pub fn row(c: &ContainerSummary, trunc: bool, now: i64) -> Value {
    let id = if trunc { short_id(&c.id) } else { c.id.clone() };
    let image = if c.image.is_empty() {
        "<no image>".to_owned()
    } else if trunc && (c.image.starts_with("sha256:") || short_id(&c.image_id) == short_id(&c.image)) {
        short_id(&c.image)
    } else if trunc && c.image.contains('@') && c.image.split('@').next().is_some_and(|n| n.rsplit('/').next().is_some_and(|l| l.contains(':'))) {
        c.image.split('@').next().unwrap_or_default().to_owned()
    } else {
        c.image.clone()
    };
    let command = if trunc { ellipsis(&c.command, 20) } else { c.command.clone() };
    let mut names: Vec<&str> = c.names.iter().map(|n| n.trim_start_matches('/')).collect();
    if trunc {
        if let Some(n) = names.iter().find(|n| !n.contains('/')) {
            names = vec![*n];
        }
    }
    let mut labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    let mounts: Vec<String> = c.mounts.iter().map(|m| m.name.clone().unwrap_or_default()).map(|n| if trunc { ellipsis(&n, 15) } else { n }).collect();
    let local_volumes = c.mounts.iter().filter(|m| m.kind == "volume").count();
    let networks: Vec<&str> = c.network_settings.networks.keys().map(String::as_str).collect();
    let size = {
        let rw = human_size(c.size_rw.unwrap_or(0));
        match c.size_root_fs {
            Some(v) if v > 0 => format!("{rw} (virtual {})", human_size(v)),
            _ => rw,
        }
    };
    Value::map([
        ("Command", Value::Str(go_quote(&command))),
        ("CreatedAt", Value::Str(go_time(c.created))),
        ("ID", Value::Str(id)),
        ("Image", Value::Str(image)),
        ("Labels", Value::Str(labels.join(","))),
        (&*format!("{}Label", crate::template::METHOD_PREFIX), Value::map(c.labels.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))))),
        ("LocalVolumes", Value::Str(local_volumes.to_string())),
        ("Mounts", Value::Str(mounts.join(","))),
        ("Names", Value::Str(names.join(","))),
        ("Networks", Value::Str(networks.join(","))),
        ("Platform", Value::Null),
        ("Ports", Value::Str(super::ports::displayable(&c.ports))),
        ("RunningFor", Value::Str(format!("{} ago", human_duration(now - c.created)))),
        ("Size", Value::Str(size)),
        ("State", Value::Str(c.state.clone())),
        ("Status", Value::Str(c.status.clone())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_truncate_like_docker() {
        let c: ContainerSummary = serde_json::from_value(serde_json::json!({
            "Id": "0123456789abcdef0123", "Names": ["/web", "/other/alias"], "Image": "busybox", "ImageID": "sha256:ffff",
            "Command": "sleep 60000000000000000", "Created": 100, "Ports": [], "Labels": {"b": "2", "a": "1"},
            "State": "running", "Status": "Up 3 seconds", "HostConfig": {"NetworkMode": "none"},
            "NetworkSettings": {"Networks": {"none": {}}}, "Mounts": []
        }))
        .unwrap();
        let r = row(&c, true, 103);
        assert_eq!(r.get("ID").as_str(), Some("0123456789ab"));
        assert_eq!(r.get("Command").as_str(), Some("\"sleep 6000000000000…\""));
        assert_eq!(r.get("Names").as_str(), Some("web"));
        assert_eq!(r.get("Labels").as_str(), Some("a=1,b=2"));
        assert_eq!(r.get("RunningFor").as_str(), Some("3 seconds ago"));
        assert_eq!(r.get("Size").as_str(), Some("0B"));
        assert_eq!(r.get("Networks").as_str(), Some("none"));
        let r = row(&c, false, 103);
        assert_eq!(r.get("Names").as_str(), Some("web,other/alias"));
        assert_eq!(r.get("Command").as_str(), Some("\"sleep 60000000000000000\""));
        let f = ListFormat::parse("", DEFAULT_TABLE).unwrap();
        let out = f.render(&[row(&c, true, 103)], &headers()).unwrap();
        assert_eq!(
            out,
            "CONTAINER ID   IMAGE     COMMAND                  CREATED         STATUS         PORTS     NAMES\n\
             0123456789ab   busybox   \"sleep 6000000000000…\"   3 seconds ago   Up 3 seconds             web\n"
        );
        assert_eq!(filters_json(&["label=a=b".into(), "status=exited".into()]).unwrap(), r#"{"label":{"a=b":true},"status":{"exited":true}}"#);
    }
}
