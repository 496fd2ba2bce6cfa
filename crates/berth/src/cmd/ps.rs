//! `ps`: the container list, with docker's formatter fields (`.ID .Image .Command .CreatedAt
//! .RunningFor .Ports .Status .Names .Labels .Size .Mounts .Networks .State .LocalVolumes`),
//! its default table and its truncation.

use std::borrow::Cow;
use std::collections::BTreeMap;

use berth_api_types::container::Port;
use berth_api_types::Filters;
use clap::Args;
use http::Method;
use serde::de::{Deserializer, IgnoredAny, Visitor};
use serde::Deserialize;

use crate::client::{decode, q, Client};
use crate::error::{CliError, Result};
use crate::format::{ellipsis, go_quote, go_time, human_duration, human_size, now_secs, short_id, ListFormat};
use crate::template::{Value, METHOD_PREFIX};

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
    let format = ListFormat::parse(&fmt_src, &default).map_err(|e| CliError::new(e.to_string()))?.fields_of("*formatter.ContainerContext", "failed to execute template: ", &fmt_src);
    let size = a.size || (!a.quiet && format.wants(".Size", &format_flag));
    let limit = if a.latest { 1 } else { a.last };
    let mut path = format!("/containers/json?all={}&size={}", u8::from(a.all || limit > 0), u8::from(size));
    if limit > 0 {
        path.push_str(&format!("&limit={limit}"));
    }
    if !a.filter.is_empty() {
        path.push_str(&format!("&filters={}", q(&filters_json(&a.filter)?)));
    }
    let body = client.get_bytes(Method::GET, &path, None).await?;
    let list: Vec<Listed<'_>> = decode(&path, &body)?;
    let now = now_secs();
    let fields = format.fields_read();
    let rows: Vec<Value> = list.iter().map(|c| row(c, !a.no_trunc, now, fields.as_deref())).collect();
    let out = format.render(&rows, &headers()).map_err(|e| CliError::new(e.to_string()))?;
    print!("{out}");
    Ok(0)
}

/// The column titles of docker's container formatter.
pub fn headers() -> Value {
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

/// One item of `GET /containers/json`: what `ps` shows of it, borrowed from the daemon's
/// answer. A thousand containers decode here, so what `ps` never shows (each network's
/// endpoint, each mount's source) is skipped rather than built.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Listed<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    /// With leading slashes: `["/web"]`.
    #[serde(borrow)]
    names: Vec<Text<'a>>,
    #[serde(borrow)]
    image: Text<'a>,
    #[serde(rename = "ImageID", borrow)]
    image_id: Text<'a>,
    #[serde(borrow)]
    command: Text<'a>,
    /// Unix seconds.
    created: i64,
    ports: Vec<Port>,
    #[serde(default)]
    size_rw: Option<i64>,
    #[serde(default)]
    size_root_fs: Option<i64>,
    #[serde(borrow)]
    labels: BTreeMap<Text<'a>, Text<'a>>,
    #[serde(borrow)]
    state: Text<'a>,
    #[serde(borrow)]
    status: Text<'a>,
    #[serde(borrow)]
    network_settings: ListedNetworks<'a>,
    #[serde(borrow)]
    mounts: Vec<ListedMount<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListedNetworks<'a> {
    /// Only the names: `ps` shows no endpoint.
    #[serde(borrow)]
    networks: BTreeMap<Text<'a>, IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListedMount<'a> {
    #[serde(rename = "Type", borrow)]
    kind: Text<'a>,
    /// Volume name, for volumes.
    #[serde(default, borrow)]
    name: Option<Text<'a>>,
    /// Shown for a mount without a name (a bind mount's host path).
    #[serde(default, borrow)]
    source: Option<Text<'a>>,
}

impl Listed<'_> {
    /// Leaves out the size of the image below the container, which `system df -v` does not
    /// show.
    pub fn hide_virtual_size(&mut self) {
        self.size_root_fs = None;
    }
}

/// A string of the daemon's answer: borrowed from it, unless JSON escapes in it made the text
/// differ from its bytes.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Text<'a>(Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Text<'a>, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }

        d.deserialize_str(TextVisitor)
    }
}

/// One container as docker's formatter shows it: every field a string, keys in the order
/// docker's `json` format writes them (sorted). Only the `fields` named are computed (all of
/// them for `None`): what a template does not read is left out of the row.
pub fn row(c: &Listed<'_>, trunc: bool, now: i64, fields: Option<&[&str]>) -> Value {
    let wants = |key: &str| fields.is_none_or(|f| f.contains(&key.strip_prefix(METHOD_PREFIX).unwrap_or(key)));
    let mut out: Vec<(String, Value)> = Vec::with_capacity(fields.map_or(16, <[&str]>::len));
    let mut put = |key: &str, make: &dyn Fn() -> Value| {
        if wants(key) {
            out.push((key.to_owned(), make()));
        }
    };
    put("Command", &|| Value::Str(go_quote(&if trunc { ellipsis(&c.command, 20) } else { c.command.to_string() })));
    put("CreatedAt", &|| Value::Str(go_time(c.created)));
    put("ID", &|| Value::Str(if trunc { short_id(&c.id) } else { c.id.to_string() }));
    put("Image", &|| Value::Str(image(c, trunc)));
    put("Labels", &|| {
        let mut labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{}={}", &**k, &**v)).collect();
        labels.sort();
        Value::Str(labels.join(","))
    });
    put(&format!("{METHOD_PREFIX}Label"), &|| Value::map(c.labels.iter().map(|(k, v)| (k.to_string(), Value::from(&**v)))));
    put("LocalVolumes", &|| Value::Str(c.mounts.iter().filter(|m| &*m.kind == "volume").count().to_string()));
    put("Mounts", &|| {
        // As docker's formatter: the name, or the source when there is none.
        let name = |m: &ListedMount<'_>| m.name.as_deref().filter(|n| !n.is_empty()).or(m.source.as_deref()).unwrap_or_default().to_owned();
        let mounts: Vec<String> = c.mounts.iter().map(name).map(|n| if trunc { ellipsis(&n, 15) } else { n }).collect();
        Value::Str(mounts.join(","))
    });
    put("Names", &|| {
        let mut names: Vec<&str> = c.names.iter().map(|n| n.trim_start_matches('/')).collect();
        if trunc {
            if let Some(n) = names.iter().find(|n| !n.contains('/')) {
                names = vec![*n];
            }
        }
        Value::Str(names.join(","))
    });
    put("Networks", &|| Value::Str(c.network_settings.networks.keys().map(|k| &**k).collect::<Vec<&str>>().join(",")));
    put("Platform", &|| Value::Null);
    put("Ports", &|| Value::Str(super::ports::displayable(&c.ports)));
    put("RunningFor", &|| Value::Str(format!("{} ago", human_duration(now - c.created))));
    put("Size", &|| {
        let rw = human_size(c.size_rw.unwrap_or(0));
        Value::Str(match c.size_root_fs {
            Some(v) if v > 0 => format!("{rw} (virtual {})", human_size(v)),
            _ => rw,
        })
    });
    put("State", &|| Value::Str(c.state.to_string()));
    put("Status", &|| Value::Str(c.status.to_string()));
    Value::Map(out)
}

/// The IMAGE column: the image as the container was created from it, its ID cut short when
/// truncating, and a digest dropped where a tag already names it.
fn image(c: &Listed<'_>, trunc: bool) -> String {
    if c.image.is_empty() {
        "<no image>".to_owned()
    } else if trunc && (c.image.starts_with("sha256:") || short_id(&c.image_id) == short_id(&c.image)) {
        short_id(&c.image)
    } else if trunc && c.image.contains('@') && c.image.split('@').next().is_some_and(|n| n.rsplit('/').next().is_some_and(|l| l.contains(':'))) {
        c.image.split('@').next().unwrap_or_default().to_owned()
    } else {
        c.image.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_truncate_like_docker() {
        let json = serde_json::json!({
            "Id": "0123456789abcdef0123", "Names": ["/web", "/other/alias"], "Image": "busybox", "ImageID": "sha256:ffff",
            "Command": "sleep 60000000000000000", "Created": 100, "Ports": [], "Labels": {"b": "2", "a": "1"},
            "State": "running", "Status": "Up 3 seconds", "HostConfig": {"NetworkMode": "none"},
            "NetworkSettings": {"Networks": {"none": {}}},
            "Mounts": [{"Type": "volume", "Name": "0123456789abcdef", "Source": "/var/lib/v"}, {"Type": "bind", "Source": "/srv/data"}]
        })
        .to_string();
        let c: Listed<'_> = serde_json::from_str(&json).unwrap();
        let r = row(&c, true, 103, None);
        assert_eq!(r.get("ID").as_str(), Some("0123456789ab"));
        assert_eq!(r.get("Command").as_str(), Some("\"sleep 6000000000000…\""));
        assert_eq!(r.get("Names").as_str(), Some("web"));
        assert_eq!(r.get("Labels").as_str(), Some("a=1,b=2"));
        assert_eq!(r.get("RunningFor").as_str(), Some("3 seconds ago"));
        assert_eq!(r.get("Size").as_str(), Some("0B"));
        assert_eq!(r.get("Networks").as_str(), Some("none"));
        assert_eq!(r.get("Mounts").as_str(), Some("0123456789abcd…,/srv/data"));
        assert_eq!(r.get("LocalVolumes").as_str(), Some("1"));
        let r = row(&c, false, 103, None);
        assert_eq!(r.get("Names").as_str(), Some("web,other/alias"));
        assert_eq!(r.get("Command").as_str(), Some("\"sleep 60000000000000000\""));
        let f = ListFormat::parse("", DEFAULT_TABLE).unwrap();
        let out = f.render(&[row(&c, true, 103, None)], &headers()).unwrap();
        assert_eq!(
            out,
            "CONTAINER ID   IMAGE     COMMAND                  CREATED         STATUS         PORTS     NAMES\n\
             0123456789ab   busybox   \"sleep 6000000000000…\"   3 seconds ago   Up 3 seconds             web\n"
        );
        // Only what the template reads is computed.
        let f = ListFormat::parse("{{.ID}} {{.Label \"a\"}}", DEFAULT_TABLE).unwrap();
        let r = row(&c, true, 103, f.fields_read().as_deref());
        assert_eq!(r.to_json(), r#"{"ID":"0123456789ab"}"#);
        assert_eq!(f.render(&[r], &headers()).unwrap(), "0123456789ab 1\n");
        assert_eq!(filters_json(&["label=a=b".into(), "status=exited".into()]).unwrap(), r#"{"label":{"a=b":true},"status":{"exited":true}}"#);
    }
}
