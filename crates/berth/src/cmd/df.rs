//! `system df`: the daemon's disk usage, as docker's table of totals or, with `-v`, as its
//! four tables (images, containers, local volumes, build cache) or one `--format` template
//! run once over all four lists.

use berth_api_types::image::ImageSummary;
use berth_api_types::system::SystemDf;
use clap::Args;
use http::Method;
use serde::Deserialize;

use super::ps::Listed;
use crate::client::{decode, Client};
use crate::error::{CliError, Result};
use crate::format::{go_time_rfc3339, human_duration, human_size, human_size_precise, now_secs, parse_rfc3339, short_id, ListFormat};
use crate::template::{Template, Value};

#[derive(Debug, Args)]
#[command(override_usage = "berth system df [OPTIONS]")]
pub struct DfArgs {
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    /// Show detailed information on space usage
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// `"1.98MB (100%)"`: what can go, and its share of `total`.
fn reclaimable(reclaim: i64, total: i64) -> String {
    if total > 0 {
        format!("{} ({}%)", human_size_precise(reclaim), reclaim * 100 / total)
    } else {
        human_size_precise(reclaim)
    }
}

/// The rows of `system df`, as docker's disk-usage formatter computes them.
pub fn df_rows(df: &SystemDf) -> Vec<Value> {
    let row = |kind: &str, total: usize, active: usize, size: i64, reclaim: String| {
        Value::map([
            ("Active", Value::Str(active.to_string())),
            ("Reclaimable", Value::Str(reclaim)),
            ("Size", Value::Str(human_size_precise(size))),
            ("TotalCount", Value::Str(total.to_string())),
            ("Type", Value::from(kind)),
        ])
    };
    let images = df.images.as_deref().unwrap_or_default();
    let layers = df.layers_size.unwrap_or(0);
    let used: i64 = images.iter().filter(|i| i.containers > 0 && i.size >= 0 && i.shared_size >= 0).map(|i| i.size - i.shared_size).sum();
    let containers = df.containers.as_deref().unwrap_or_default();
    let active = |s: &str| matches!(s, "running" | "paused" | "restarting");
    let csize: i64 = containers.iter().map(|c| c.size_rw.unwrap_or(0)).sum();
    let creclaim: i64 = containers.iter().filter(|c| !active(&c.state)).map(|c| c.size_rw.unwrap_or(0)).sum();
    let volumes = df.volumes.as_deref().unwrap_or_default();
    let vol = |v: &berth_api_types::volume::Volume| v.usage_data.as_ref().map_or((0, -1), |u| (u.ref_count, u.size));
    let vsize: i64 = volumes.iter().map(|v| vol(v).1.max(0)).sum();
    let vreclaim: i64 = volumes.iter().filter(|v| vol(v).0 == 0).map(|v| vol(v).1.max(0)).sum();
    let cache = df.build_cache.as_deref().unwrap_or_default();
    let in_use = |c: &serde_json::Value| c["InUse"].as_bool().unwrap_or(false);
    let bsize = build_cache_size(cache);
    let breclaim: i64 = cache.iter().filter(|c| !in_use(c)).map(cache_size).sum();
    vec![
        row("Images", images.len(), images.iter().filter(|i| i.containers > 0).count(), layers, reclaimable(layers - used, layers)),
        row("Containers", containers.len(), containers.iter().filter(|c| active(&c.state)).count(), csize, reclaimable(creclaim, csize)),
        row("Local Volumes", volumes.len(), volumes.iter().filter(|v| vol(v).0 > 0).count(), vsize, reclaimable(vreclaim, vsize)),
        row("Build Cache", cache.len(), cache.iter().filter(|c| in_use(c)).count(), bsize, human_size_precise(breclaim)),
    ]
}

/// A build cache record's size.
fn cache_size(c: &serde_json::Value) -> i64 {
    c["Size"].as_i64().unwrap_or(0)
}

/// What the build cache takes, as docker counts it: records not shared with others.
fn build_cache_size(cache: &[serde_json::Value]) -> i64 {
    cache.iter().filter(|c| !c["Shared"].as_bool().unwrap_or(false)).map(cache_size).sum()
}

const TOTALS_TABLE: &str = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const IMAGES_TABLE: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}";
const CONTAINERS_TABLE: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}";
const VOLUMES_TABLE: &str = "table {{.Name}}\t{{.Links}}\t{{.Size}}";
const CACHE_TABLE: &str = "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}";

/// `-v --format raw`: docker's raw format of each kind, each item under a `type:` line and
/// followed by a blank line.
const RAW_VERBOSE: &str = "{{range .Images}}type: Image
repository: {{ .Repository }}
tag: {{.Tag}}
digest: {{.Digest}}
image_id: {{.ID}}
created_at: {{.CreatedAt}}
virtual_size: {{.Size}}

{{end -}}
{{range .Containers}}type: Container
container_id: {{.ID}}
image: {{.Image}}
command: {{.Command}}
created_at: {{.CreatedAt}}
state: {{- pad .State 1 0}}
status: {{- pad .Status 1 0}}
names: {{.Names}}
labels: {{- pad .Labels 1 0}}
ports: {{- pad .Ports 1 0}}
size: {{.Size}}

{{end -}}
{{range .Volumes}}type: Volume
name: {{.Name}}
driver: {{.Driver}}

{{end -}}
{{range .BuildCache}}type: Build Cache
build_cache_id: {{.ID}}
parent_id: {{.Parent}}
build_cache_type: {{.CacheType}}
description: {{.Description}}
created_at: {{.CreatedAt}}
created_since: {{.CreatedSince}}
last_used_at: {{.LastUsedAt}}
last_used_since: {{.LastUsedSince}}
usage_count: {{.UsageCount}}
in_use: {{.InUse}}
shared: {{.Shared}}

{{end -}}";

/// How `-v` prints, from `--format` as docker reads it there: its four tables for `table` (or
/// nothing), else one template run once over `{Images, Containers, Volumes, BuildCache}`
/// (`json` is `{{json .}}`); IDs and commands are cut short for `table ...` only.
enum Verbose {
    Tables,
    Template { template: Template, trunc: bool },
}

impl Verbose {
    fn parse(format: &str) -> Result<Verbose> {
        let (src, trunc) = match format {
            "" | "table" => return Ok(Verbose::Tables),
            "raw" => (RAW_VERBOSE, false),
            "json" => ("{{json .}}", false),
            f => match f.strip_prefix("table") {
                Some(rest) => (rest, true),
                None => (f, false),
            },
        };
        let src = src.trim_matches(' ').replace("\\t", "\t").replace("\\n", "\n");
        let template = Template::parse(&src).map_err(|e| CliError::new(e.to_string()))?;
        Ok(Verbose::Template { template, trunc })
    }
}

/// The containers of `GET /system/df`, read as `ps` reads its list.
#[derive(Deserialize)]
struct DfContainers<'a> {
    #[serde(rename = "Containers", borrow, default)]
    containers: Option<Vec<Listed<'a>>>,
}

pub async fn df(client: &Client, a: &DfArgs) -> Result<i32> {
    let format = a.format.as_deref().unwrap_or("");
    if a.verbose {
        let verbose = Verbose::parse(format)?;
        let body = client.get_bytes(Method::GET, "/system/df", None).await?;
        let df: SystemDf = decode("/system/df", &body)?;
        let containers = decode::<DfContainers<'_>>("/system/df", &body)?.containers.unwrap_or_default();
        print!("{}", render_verbose(&verbose, &df, containers, now_secs())?);
        return Ok(0);
    }
    let totals = ListFormat::parse(format, TOTALS_TABLE).map_err(|e| CliError::new(e.to_string()))?;
    let df: SystemDf = client.json(Method::GET, "/system/df", None).await?;
    let headers = Value::map(
        [("Active", "ACTIVE"), ("Reclaimable", "RECLAIMABLE"), ("Size", "SIZE"), ("TotalCount", "TOTAL"), ("Type", "TYPE")].map(|(k, v)| (k, Value::from(v))),
    );
    print!("{}", totals.render(&df_rows(&df), &headers).map_err(|e| CliError::new(e.to_string()))?);
    Ok(0)
}

/// `system df -v` as docker prints it.
fn render_verbose(v: &Verbose, df: &SystemDf, containers: Vec<Listed<'_>>, now: i64) -> Result<String> {
    let err = |e: crate::template::TemplateError| CliError::new(e.to_string());
    let (template, trunc) = match v {
        Verbose::Template { template, trunc } => (template, *trunc),
        Verbose::Tables => return verbose_tables(&verbose_data(df, containers, true, now), df),
    };
    let mut out = String::new();
    template.render_row(&verbose_data(df, containers, trunc, now), &mut out).map_err(err)?;
    Ok(out)
}

/// docker's four tables, each aligned on its own, under their titles.
fn verbose_tables(data: &Value, df: &SystemDf) -> Result<String> {
    let table = |format: &str, key: &str, headers: &Value| -> Result<String> {
        let rows = match data.get(key) {
            Value::List(l) => l.as_slice(),
            _ => &[],
        };
        ListFormat::parse(format, "").and_then(|f| f.render(rows, headers)).map_err(|e| CliError::new(e.to_string()))
    };
    let cache = df.build_cache.as_deref().unwrap_or_default();
    let mut out = String::from("Images space usage:\n\n");
    out.push_str(&table(IMAGES_TABLE, "Images", &super::images::image_headers())?);
    out.push_str("\nContainers space usage:\n\n");
    out.push_str(&table(CONTAINERS_TABLE, "Containers", &super::ps::headers())?);
    out.push_str("\nLocal Volumes space usage:\n\n");
    out.push_str(&table(VOLUMES_TABLE, "Volumes", &super::volumes::headers())?);
    out.push_str(&format!("\nBuild cache usage: {}\n\n", human_size_precise(build_cache_size(cache))));
    out.push_str(&table(CACHE_TABLE, "BuildCache", &cache_headers())?);
    Ok(out)
}

/// What `-v` shows, as docker's formatter fields: `{Images, Containers, Volumes, BuildCache}`,
/// each a list of rows.
fn verbose_data(df: &SystemDf, mut containers: Vec<Listed<'_>>, trunc: bool, now: i64) -> Value {
    let images = df.images.iter().flatten().filter_map(|i| image_row(i, trunc, now)).collect();
    let containers = containers
        .iter_mut()
        .map(|c| {
            c.hide_virtual_size();
            super::ps::row(c, trunc, now, None)
        })
        .collect();
    let volumes = df.volumes.iter().flatten().map(super::volumes::row).collect();
    let mut cache: Vec<&serde_json::Value> = df.build_cache.iter().flatten().collect();
    // docker's order: never used first, then least recently used, ties by ID.
    let last_used = |c: &serde_json::Value| c["LastUsedAt"].as_str().map(|t| (parse_rfc3339(t).unwrap_or(0), t.to_owned()));
    cache.sort_by(|a, b| last_used(a).cmp(&last_used(b)).then_with(|| a["ID"].as_str().cmp(&b["ID"].as_str())));
    let cache = cache.into_iter().map(|c| cache_row(c, trunc, now)).collect();
    Value::map([("Images", Value::List(images)), ("Containers", Value::List(containers)), ("Volumes", Value::List(volumes)), ("BuildCache", Value::List(cache))])
}

/// An image as `-v` shows it: its first tag only and no digest. `None` for an image whose
/// first tag is no reference (`<none>:<none>` beside a real digest), which docker leaves out.
fn image_row(i: &ImageSummary, trunc: bool, now: i64) -> Option<Value> {
    let dangling = (i.repo_tags.is_empty() && i.repo_digests.is_empty()) || (i.repo_tags == ["<none>:<none>"] && i.repo_digests == ["<none>@<none>"]);
    let (mut repo, mut tag) = ("<none>".to_owned(), "<none>".to_owned());
    if let Some(first) = i.repo_tags.first().filter(|_| !dangling) {
        if first.contains('<') {
            return None;
        }
        let name = first.split('@').next().unwrap_or(first);
        if let (name, Some(t)) = super::images::split_tag(name) {
            (repo, tag) = (familiar_name(name).to_owned(), t.to_owned());
        }
    }
    let id = if trunc { short_id(&i.id) } else { i.id.clone() };
    Some(super::images::image_row(i, &id, repo, tag, String::new(), now))
}

/// A repository as docker shows it: `busybox` for `docker.io/library/busybox`.
fn familiar_name(name: &str) -> &str {
    match name.strip_prefix("docker.io/").or_else(|| name.strip_prefix("index.docker.io/")) {
        Some(path) => path.strip_prefix("library/").filter(|p| !p.contains('/')).unwrap_or(path),
        None => name,
    }
}

/// A build cache record (`GET /system/df`'s `BuildCache` item) as docker's formatter shows it.
fn cache_row(c: &serde_json::Value, trunc: bool, now: i64) -> Value {
    let s = |k: &str| c[k].as_str().unwrap_or("").to_owned();
    let flag = |k: &str| c[k].as_bool().unwrap_or(false);
    let cut = |id: String| if trunc { short_id(id.split_once(':').map_or(id.as_str(), |(_, h)| h)) } else { id };
    let since = |t: &str| parse_rfc3339(t).map(|t| format!("{} ago", human_duration(now - t))).unwrap_or_default();
    let parents: Vec<&str> = c["Parents"].as_array().into_iter().flatten().filter_map(serde_json::Value::as_str).collect();
    let last_used = c["LastUsedAt"].as_str();
    let id = cut(s("ID")) + if flag("InUse") { "*" } else { "" };
    Value::map([
        ("CacheType", Value::Str(s("Type"))),
        ("CreatedAt", Value::Str(go_time_rfc3339(&s("CreatedAt")))),
        ("CreatedSince", Value::Str(since(&s("CreatedAt")))),
        ("Description", Value::Str(s("Description"))),
        ("ID", Value::Str(id)),
        ("InUse", Value::Str(flag("InUse").to_string())),
        ("LastUsedAt", Value::Str(last_used.map(go_time_rfc3339).unwrap_or_default())),
        ("LastUsedSince", Value::Str(last_used.map(since).unwrap_or_default())),
        ("Parent", Value::Str(cut(parents.join(", ")))),
        ("Shared", Value::Str(flag("Shared").to_string())),
        ("Size", Value::Str(human_size(cache_size(c)))),
        ("UsageCount", Value::Str(c["UsageCount"].as_i64().unwrap_or(0).to_string())),
    ])
}

fn cache_headers() -> Value {
    Value::map(
        [
            ("CacheType", "CACHE TYPE"),
            ("CreatedSince", "CREATED"),
            ("Description", "DESCRIPTION"),
            ("ID", "CACHE ID"),
            ("InUse", "IN USE"),
            ("LastUsedSince", "LAST USED"),
            ("Parent", "PARENT"),
            ("Shared", "SHARED"),
            ("Size", "SIZE"),
            ("UsageCount", "USAGE"),
        ]
        .map(|(k, v)| (k, Value::from(v))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(tags: &[&str], digests: &[&str]) -> ImageSummary {
        ImageSummary {
            id: "sha256:21c1f7f683b5cd33e7e9cd6e15b09c102721c956d9c514549f7f40b5f7b96d60".into(),
            repo_tags: tags.iter().map(|t| t.to_string()).collect(),
            repo_digests: digests.iter().map(|t| t.to_string()).collect(),
            created: 1_700_000_000,
            size: 1_982_362,
            shared_size: -1,
            containers: 2,
            ..ImageSummary::default()
        }
    }

    #[test]
    fn images_show_their_first_tag_familiar_and_no_digest() {
        let repo_tag = |i: &ImageSummary| image_row(i, true, 1_700_000_000).map(|r| (r.get("Repository").to_string(), r.get("Tag").to_string()));
        let pair = |r: &str, t: &str| Some((r.to_owned(), t.to_owned()));
        assert_eq!(repo_tag(&image(&["busybox:latest", "b:2"], &[])), pair("busybox", "latest"));
        assert_eq!(repo_tag(&image(&["docker.io/library/busybox:1"], &[])), pair("busybox", "1"));
        assert_eq!(repo_tag(&image(&["docker.io/me/tool:1"], &[])), pair("me/tool", "1"));
        assert_eq!(repo_tag(&image(&["localhost:5000/a/b:1"], &[])), pair("localhost:5000/a/b", "1"));
        assert_eq!(repo_tag(&image(&[], &[])), pair("<none>", "<none>"));
        assert_eq!(repo_tag(&image(&["<none>:<none>"], &["<none>@<none>"])), pair("<none>", "<none>"));
        // Not a reference, and not dangling: docker leaves the image out.
        assert_eq!(repo_tag(&image(&["<none>:<none>"], &["busybox@sha256:ab"])), None);
        let r = image_row(&image(&["busybox:latest"], &[]), true, 1_700_000_000).expect("a row");
        assert_eq!((r.get("ID").to_string(), r.get("Digest").to_string(), r.get("SharedSize").to_string(), r.get("Containers").to_string()), ("21c1f7f683b5".into(), String::new(), "N/A".into(), "2".into()));
        let r = image_row(&image(&["busybox:latest"], &[]), false, 1_700_000_000).expect("a row");
        assert!(r.get("ID").to_string().starts_with("sha256:"));
    }

    #[test]
    fn formats_with_v_are_read_as_dockers() {
        assert!(matches!(Verbose::parse("").unwrap(), Verbose::Tables));
        assert!(matches!(Verbose::parse("table").unwrap(), Verbose::Tables));
        assert!(matches!(Verbose::parse("json").unwrap(), Verbose::Template { trunc: false, .. }));
        assert!(matches!(Verbose::parse("table {{.Images}}").unwrap(), Verbose::Template { trunc: true, .. }));
        assert!(matches!(Verbose::parse("{{range .Volumes}}{{.Name}}{{end}}").unwrap(), Verbose::Template { trunc: false, .. }));
        assert!(Verbose::parse("{{range .Volumes}").is_err());
        // Empty lists: four titled tables of headers only.
        let df = SystemDf { images: Some(vec![]), containers: Some(vec![]), volumes: Some(vec![]), build_cache: Some(vec![]), layers_size: Some(0) };
        let out = render_verbose(&Verbose::Tables, &df, Vec::new(), 0).unwrap();
        assert_eq!(
            out,
            "Images space usage:\n\nREPOSITORY   TAG       IMAGE ID   CREATED   SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS\n\n\
             Containers space usage:\n\nCONTAINER ID   IMAGE     COMMAND   LOCAL VOLUMES   SIZE      CREATED   STATUS    NAMES\n\n\
             Local Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\n\n\
             Build cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n"
        );
        let out = render_verbose(&Verbose::parse("json").unwrap(), &df, Vec::new(), 0).unwrap();
        assert_eq!(out, r#"{"Images":[],"Containers":[],"Volumes":[],"BuildCache":[]}"#);
    }

    #[test]
    fn build_cache_records_as_docker_shows_them() {
        let records: Vec<serde_json::Value> = serde_json::from_str(
            r#"[{"ID":"sha256:bbbbbbbbbbbbbbbbbbbb","Parents":["p1"],"Type":"regular","Description":"step","InUse":true,"Shared":false,"Size":2000,
                 "CreatedAt":"2026-11-23T22:40:00Z","LastUsedAt":"2026-11-23T22:40:05Z","UsageCount":3},
                {"ID":"cccc","Type":"source.local","InUse":false,"Shared":true,"Size":500,"CreatedAt":"2026-11-23T22:40:00Z","LastUsedAt":null,"UsageCount":1}]"#,
        )
        .unwrap();
        let df = SystemDf { build_cache: Some(records), ..SystemDf::default() };
        let data = verbose_data(&df, Vec::new(), true, 1_795_473_605 + 120);
        let Value::List(rows) = data.get("BuildCache") else { panic!("a list") };
        // Never used first.
        assert_eq!(rows.iter().map(|r| r.get("ID").to_string()).collect::<Vec<_>>(), ["cccc", "bbbbbbbbbbbb*"]);
        let r = &rows[1];
        assert_eq!(r.get("LastUsedSince").to_string(), "2 minutes ago");
        assert_eq!(r.get("CreatedAt").to_string(), "2026-11-23 22:40:00 +0000 UTC");
        assert_eq!((r.get("Size").to_string(), r.get("UsageCount").to_string(), r.get("Shared").to_string()), ("2kB".into(), "3".into(), "false".into()));
        assert_eq!(rows[0].get("LastUsedAt").to_string(), "");
        // Shared records do not count towards the size in the title.
        assert!(render_verbose(&Verbose::Tables, &df, Vec::new(), 0).unwrap().contains("\nBuild cache usage: 2kB\n"));
    }
}
