//! Looking at containers: `inspect` (JSON or `--format`), `top`, `diff`, `stats`.

use berth_api_types::container::{ContainerChange, ContainerStats, ContainerSummary, ContainerTop};
use std::sync::{Arc, Mutex};

use clap::Args;
use http::Method;
use serde::Serialize;

use crate::client::{p, q, Client};
use crate::error::{CliError, Result};
use crate::format::{align_min, bytes_size, human_size, short_id, ListFormat};
use crate::template::{Template, Value};

#[derive(Debug, Args)]
#[command(override_usage = "berth inspect [OPTIONS] NAME|ID [NAME|ID...]")]
pub struct InspectArgs {
    /// Format output using a custom template: 'json', 'TEMPLATE'
    #[arg(short = 'f', long, value_name = "string")]
    pub format: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short = 's', long)]
    pub size: bool,
    /// Return JSON for specified type (container, image)
    #[arg(long = "type", value_name = "string")]
    pub kind: Option<String>,
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// Docker's indented JSON: four spaces.
pub fn pretty(v: &impl Serialize) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, serde_json::ser::PrettyFormatter::with_indent(b"    "));
    v.serialize(&mut ser).expect("JSON values serialize");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Prints `items` as docker's inspect does: a JSON array, or the template once per item.
pub fn print_inspected(items: &[Value], format: Option<&str>) -> Result<()> {
    match format.unwrap_or("") {
        "" | "json" => println!("{}", pretty(&items.to_vec())),
        f => {
            // Docker executes inspect templates with missingkey=error.
            let t = Template::parse(f).map_err(|e| CliError::new(e.to_string()))?.strict(crate::template::Strict::MapKeys, f);
            for i in items {
                match t.render(i) {
                    Ok(out) => println!("{out}"),
                    Err(e) => {
                        // docker ends the line it was writing before it says why.
                        println!();
                        return Err(CliError::new(e.to_string()));
                    }
                }
            }
        }
    }
    Ok(())
}

pub async fn inspect(client: &Client, a: &InspectArgs, forced: Option<&str>) -> Result<i32> {
    let kind = forced.or(a.kind.as_deref());
    if let Some(k) = kind.filter(|k| !matches!(*k, "container" | "image")) {
        return Err(CliError::new(format!("\"{k}\" is not a valid value for --type")));
    }
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for n in &a.names {
        let cpath = format!("/containers/{}/json?size={}", p(n), u8::from(a.size));
        let ipath = format!("/images/{}/json", p(n));
        let got = match kind {
            Some("container") => client.get_value(&cpath).await,
            Some("image") => client.get_value(&ipath).await,
            _ => match client.get_value(&cpath).await {
                Err(e) if e.is_not_found() => client.get_value(&ipath).await,
                other => other,
            },
        };
        match got {
            Ok(v) => items.push(v),
            Err(e) if e.is_not_found() => errors.push(match kind {
                Some("container") => format!("No such container: {n}"),
                Some("image") => format!("No such image: {n}"),
                _ => format!("No such object: {n}"),
            }),
            Err(e) => errors.push(e.message),
        }
    }
    print_inspected(&items, a.format.as_deref())?;
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(CliError::new(format!("Error: {}", errors.join("\n"))))
    }
}

#[derive(Debug, Args)]
#[command(override_usage = "berth top CONTAINER [ps OPTIONS]")]
pub struct TopArgs {
    pub container: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

pub async fn top(client: &Client, a: &TopArgs) -> Result<i32> {
    let mut path = format!("/containers/{}/top", p(&a.container));
    if !a.ps_args.is_empty() {
        path.push_str(&format!("?ps_args={}", q(&a.ps_args.join(" "))));
    }
    let t: ContainerTop = client.json(Method::GET, &path, None).await?;
    let mut text = t.titles.join("\t");
    text.push('\n');
    for p in &t.processes {
        text.push_str(&p.join("\t"));
        text.push('\n');
    }
    print!("{}", align_min(&text, 20));
    Ok(0)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth port CONTAINER [PRIVATE_PORT[/PROTO]]")]
pub struct PortArgs {
    pub container: String,
    pub port: Option<String>,
}

pub async fn port(client: &Client, a: &PortArgs) -> Result<i32> {
    let info = client.get_value(&format!("/containers/{}/json", p(&a.container))).await?;
    for line in super::ports::port_lines(&info, a.port.as_deref(), &a.container).map_err(CliError::new)? {
        println!("{line}");
    }
    Ok(0)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth diff CONTAINER")]
pub struct DiffArgs {
    pub container: String,
}

pub async fn diff(client: &Client, a: &DiffArgs) -> Result<i32> {
    let changes: Option<Vec<ContainerChange>> = client.json(Method::GET, &format!("/containers/{}/changes", p(&a.container)), None).await?;
    for c in changes.unwrap_or_default() {
        let k = match c.kind {
            1 => 'A',
            2 => 'D',
            _ => 'C',
        };
        println!("{k} {}", c.path);
    }
    Ok(0)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth stats [OPTIONS] [CONTAINER...]")]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    pub containers: Vec<String>,
}

const STATS_TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/// One stats sample as docker's formatter fields.
pub fn stats_row(given: &str, s: &ContainerStats, trunc: bool) -> Value {
    let id = s.id.clone().unwrap_or_default();
    let cpu_delta = s.cpu_stats.cpu_usage.total_usage as f64 - s.precpu_stats.cpu_usage.total_usage as f64;
    let sys_delta = s.cpu_stats.system_cpu_usage.unwrap_or(0) as f64 - s.precpu_stats.system_cpu_usage.unwrap_or(0) as f64;
    let cpus = s.cpu_stats.online_cpus.map(f64::from).or_else(|| s.cpu_stats.cpu_usage.percpu_usage.as_ref().map(|p| p.len() as f64)).unwrap_or(1.0);
    let cpu = if cpu_delta > 0.0 && sys_delta > 0.0 { cpu_delta / sys_delta * cpus * 100.0 } else { 0.0 };
    let m = &s.memory_stats;
    let stats = m.stats.clone().unwrap_or_default();
    let cache = stats.get("total_inactive_file").or_else(|| stats.get("inactive_file")).copied().unwrap_or(0);
    let usage = m.usage.unwrap_or(0).saturating_sub(cache) as f64;
    let limit = m.limit.unwrap_or(0) as f64;
    let mem_pct = if limit > 0.0 { usage / limit * 100.0 } else { 0.0 };
    let (rx, tx) = s.networks.iter().flatten().fold((0, 0), |(r, t), (_, n)| (r + n.rx_bytes, t + n.tx_bytes));
    let (br, bw) = s.blkio_stats.io_service_bytes_recursive.iter().flatten().fold((0, 0), |(r, w), e| match e.op.to_lowercase().as_str() {
        "read" => (r + e.value, w),
        "write" => (r, w + e.value),
        _ => (r, w),
    });
    Value::map([
        ("BlockIO", Value::Str(format!("{} / {}", human_size(br as i64), human_size(bw as i64)))),
        ("CPUPerc", Value::Str(format!("{cpu:.2}%"))),
        ("Container", Value::Str(given.to_owned())),
        ("ID", Value::Str(if trunc { short_id(&id) } else { id })),
        ("MemPerc", Value::Str(format!("{mem_pct:.2}%"))),
        ("MemUsage", Value::Str(format!("{} / {}", bytes_size(usage), bytes_size(limit)))),
        ("Name", Value::Str(s.name.clone().unwrap_or_default().trim_start_matches('/').to_owned())),
        ("NetIO", Value::Str(format!("{} / {}", human_size(rx as i64), human_size(tx as i64)))),
        ("PIDs", Value::Str(s.pids_stats.current.unwrap_or(0).to_string())),
    ])
}

fn stats_headers() -> Value {
    Value::map(
        [
            ("BlockIO", "BLOCK I/O"),
            ("CPUPerc", "CPU %"),
            ("Container", "CONTAINER"),
            ("ID", "CONTAINER ID"),
            ("MemPerc", "MEM %"),
            ("MemUsage", "MEM USAGE / LIMIT"),
            ("Name", "NAME"),
            ("NetIO", "NET I/O"),
            ("PIDs", "PIDS"),
        ]
        .map(|(k, v)| (k, Value::from(v))),
    )
}

pub async fn stats(client: &Client, a: &StatsArgs) -> Result<i32> {
    let format = ListFormat::parse(a.format.as_deref().unwrap_or(""), STATS_TABLE)
        .map_err(|e| CliError::new(e.to_string()))?
        .fields_of("*container.statsContext", "template parsing error: ", a.format.as_deref().unwrap_or(""));
    let names: Vec<String> = if a.containers.is_empty() {
        let list: Vec<ContainerSummary> = client.json(Method::GET, &format!("/containers/json?all={}", u8::from(a.all)), None).await?;
        list.into_iter().map(|c| c.id).collect()
    } else {
        a.containers.clone()
    };
    let render = |samples: &[(String, ContainerStats)]| -> Result<String> {
        let rows: Vec<Value> = samples.iter().map(|(n, s)| stats_row(n, s, !a.no_trunc)).collect();
        format.render(&rows, &stats_headers()).map_err(|e| CliError::new(e.to_string()))
    };
    if a.no_stream {
        // One sample each (the daemon takes a second for the CPU delta), all asked at once.
        let mut set = tokio::task::JoinSet::new();
        for (i, n) in names.iter().enumerate() {
            let (c, path) = (client.clone(), format!("/containers/{}/stats?stream=0", p(n)));
            set.spawn(async move { (i, c.json::<ContainerStats>(Method::GET, &path, None).await) });
        }
        let mut got: Vec<Option<ContainerStats>> = vec![None; names.len()];
        while let Some(done) = set.join_next().await {
            let (i, s) = done.map_err(|e| CliError::new(format!("stats task: {e}")))?;
            got[i] = Some(s?);
        }
        let samples: Vec<(String, ContainerStats)> = names.iter().cloned().zip(got.into_iter().flatten()).collect();
        print!("{}", render(&samples)?);
        return Ok(0);
    }
    // Live: one streaming request per container keeps its latest sample; the table is drawn
    // from those every half second. A container whose stream ends leaves the table. Without
    // names, the events add containers as they start (as they are created, with -a) and drop
    // them as they die (unless -a) or go.
    let table: Table = Arc::new(Mutex::new(Vec::new()));
    let events = if a.containers.is_empty() {
        let filters = q(r#"{"type":["container"]}"#);
        Some(client.send(Method::GET, &format!("/events?filters={filters}"), None, &[]).await?)
    } else {
        None
    };
    for n in &names {
        let resp = client.send(Method::GET, &format!("/containers/{}/stats?stream=1", p(n)), None, &[]).await?;
        watch(&table, n.clone(), resp);
    }
    if let Some(resp) = events {
        let (client, table, all) = (client.clone(), table.clone(), a.all);
        tokio::spawn(async move {
            each_line(resp, |line| {
                let Ok(e) = serde_json::from_slice::<serde_json::Value>(line) else { return };
                let id = e["Actor"]["ID"].as_str().or(e["id"].as_str()).unwrap_or("").to_owned();
                let action = e["Action"].as_str().or(e["status"].as_str()).unwrap_or("");
                match action {
                    "start" | "create" if action == "start" || all => {
                        let known = table.lock().expect("stats lock").iter().any(|en| en.id_or_name == id && !en.gone);
                        if !known && !id.is_empty() {
                            let (client, table) = (client.clone(), table.clone());
                            tokio::spawn(async move {
                                if let Ok(resp) = client.send(Method::GET, &format!("/containers/{}/stats?stream=1", p(&id)), None, &[]).await {
                                    watch(&table, id, resp);
                                }
                            });
                        }
                    }
                    "die" | "destroy" if action == "destroy" || !all => {
                        for en in table.lock().expect("stats lock").iter_mut().filter(|en| en.id_or_name == id) {
                            en.gone = true;
                        }
                    }
                    _ => {}
                }
            })
            .await;
        });
    }
    let terminal = crate::tty::stdout_is_terminal();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let samples: Vec<(String, ContainerStats)> =
            table.lock().expect("stats lock").iter().filter(|en| !en.gone).filter_map(|en| en.sample.clone().map(|s| (en.id_or_name.clone(), s))).collect();
        let out = render(&samples)?;
        if terminal {
            print!("\x1b[2J\x1b[H");
        }
        print!("{out}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
    }
}

/// One row of the live stats table.
struct Entry {
    /// As given, or the id of a container the list or the events brought.
    id_or_name: String,
    sample: Option<ContainerStats>,
    gone: bool,
}

type Table = Arc<Mutex<Vec<Entry>>>;

/// Adds a row and keeps its sample current from the streaming stats answer `resp`.
fn watch(table: &Table, id_or_name: String, resp: http::Response<hyper::body::Incoming>) {
    let i = {
        let mut t = table.lock().expect("stats lock");
        t.push(Entry { id_or_name, sample: None, gone: false });
        t.len() - 1
    };
    let table = table.clone();
    tokio::spawn(async move {
        each_line(resp, |line| {
            if let Ok(s) = serde_json::from_slice::<ContainerStats>(line) {
                table.lock().expect("stats lock")[i].sample = Some(s);
            }
        })
        .await;
        table.lock().expect("stats lock")[i].gone = true;
    });
}

/// Calls `f` with each line of a streaming answer until it ends (or fails).
async fn each_line(resp: http::Response<hyper::body::Incoming>, mut f: impl FnMut(&[u8])) {
    let _ = crate::client::read_lines(resp.into_body(), "stats", |line| {
        f(line);
        Ok(true)
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_like_docker() {
        let s: ContainerStats = serde_json::from_value(serde_json::json!({
            "name": "/web", "id": "0123456789abcdef", "read": "", "preread": "", "num_procs": 0,
            "pids_stats": {"current": 3}, "blkio_stats": {"io_service_bytes_recursive": [{"major": 8, "minor": 0, "op": "Read", "value": 2000}]},
            "cpu_stats": {"cpu_usage": {"total_usage": 300, "usage_in_kernelmode": 0, "usage_in_usermode": 0}, "system_cpu_usage": 2000, "online_cpus": 2, "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}},
            "precpu_stats": {"cpu_usage": {"total_usage": 100, "usage_in_kernelmode": 0, "usage_in_usermode": 0}, "system_cpu_usage": 1000, "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}},
            "memory_stats": {"usage": 2097152, "limit": 8388608, "stats": {"total_inactive_file": 1048576}}
        }))
        .unwrap();
        let r = stats_row("web", &s, true);
        assert_eq!(r.get("CPUPerc").as_str(), Some("40.00%"));
        assert_eq!(r.get("MemUsage").as_str(), Some("1MiB / 8MiB"));
        assert_eq!(r.get("MemPerc").as_str(), Some("12.50%"));
        assert_eq!(r.get("BlockIO").as_str(), Some("2kB / 0B"));
        assert_eq!(r.get("PIDs").as_str(), Some("3"));
        assert_eq!(r.get("Name").as_str(), Some("web"));
        assert_eq!(r.get("ID").as_str(), Some("0123456789ab"));
        assert_eq!(pretty(&Value::List(vec![Value::map([("a", Value::Int(1))])])), "[\n    {\n        \"a\": 1\n    }\n]");
    }
}
