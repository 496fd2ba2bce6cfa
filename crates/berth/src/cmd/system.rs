//! `version`, `info` and `events`.

use clap::Args;
use http::Method;

use crate::client::{q, Client, CLIENT_API_VERSION};
use crate::error::{CliError, Result};
use crate::format::{bytes_size, now_secs, rfc3339_nanos};
use crate::template::{Template, Value};

#[derive(Debug, Args)]
#[command(override_usage = "berth version [OPTIONS]")]
pub struct VersionArgs {
    /// Format output using a custom template: 'json', 'TEMPLATE'
    #[arg(short = 'f', long, value_name = "string")]
    pub format: Option<String>,
}

fn client_version(api: &str) -> Value {
    Value::map([
        ("Platform", Value::map([("Name", Value::from("berth"))])),
        ("Version", Value::from(env!("CARGO_PKG_VERSION"))),
        ("ApiVersion", Value::from(api)),
        ("DefaultAPIVersion", Value::Str(format!("{}.{}", CLIENT_API_VERSION.0, CLIENT_API_VERSION.1))),
        ("GitCommit", Value::from("")),
        ("GoVersion", Value::from("n/a (Rust)")),
        ("Os", Value::from(std::env::consts::OS)),
        ("Arch", Value::from(go_arch())),
        ("BuildTime", Value::from("")),
        ("Context", Value::from("default")),
    ])
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn render(format: &str, v: &Value) -> Result<String> {
    if format == "json" {
        return Ok(v.to_json());
    }
    Template::parse(format).and_then(|t| t.render(v)).map_err(|e| CliError::new(e.to_string()))
}

pub async fn version(client: &Client, a: &VersionArgs) -> Result<i32> {
    let server = client.get_value("/version").await;
    let c = client_version(&client.api_version);
    if let Some(f) = &a.format {
        let all = Value::map([("Client", c), ("Server", server.as_ref().cloned().unwrap_or(Value::Null))]);
        println!("{}", render(f, &all)?);
        return server.map(|_| 0);
    }
    let s = |v: &Value, k: &str| v.get(k).to_string();
    println!("Client:");
    println!(" Version:           {}", s(&c, "Version"));
    println!(" API version:       {}", s(&c, "ApiVersion"));
    println!(" Go version:        {}", s(&c, "GoVersion"));
    println!(" OS/Arch:           {}/{}", s(&c, "Os"), s(&c, "Arch"));
    println!(" Context:           default");
    let server = server?;
    println!();
    println!("Server: {}", server.get("Platform").get("Name").as_str().unwrap_or(""));
    let engine = match server.get("Components") {
        Value::List(l) => l.iter().find(|c| c.get("Name").as_str() == Some("Engine")).cloned().unwrap_or(Value::Missing),
        _ => Value::Missing,
    };
    let d = engine.get("Details");
    let pick = |k: &str| match d.get(k) {
        Value::Missing | Value::Null => server.get(k).to_string(),
        v => v.to_string(),
    };
    println!(" Engine:");
    println!("  Version:          {}", s(&server, "Version"));
    println!("  API version:      {} (minimum version {})", s(&server, "ApiVersion"), pick("MinAPIVersion"));
    println!("  Go version:       {}", pick("GoVersion"));
    println!("  Git commit:       {}", pick("GitCommit"));
    println!("  Built:            {}", pick("BuildTime"));
    println!("  OS/Arch:          {}/{}", pick("Os"), pick("Arch"));
    println!("  Experimental:     {}", pick("Experimental"));
    Ok(0)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth info [OPTIONS]")]
pub struct InfoArgs {
    /// Format output using a custom template: 'json', 'TEMPLATE'
    #[arg(short = 'f', long, value_name = "string")]
    pub format: Option<String>,
}

pub async fn info(client: &Client, a: &InfoArgs) -> Result<i32> {
    let i = client.get_value("/info").await?;
    if let Some(f) = &a.format {
        println!("{}", render(f, &i)?);
        return Ok(0);
    }
    let s = |k: &str| i.get(k).to_string();
    println!("Client:");
    println!(" Version:    {}", env!("CARGO_PKG_VERSION"));
    println!(" Context:    default");
    println!(" Debug Mode: false");
    println!();
    println!("Server:");
    println!(" Containers: {}", s("Containers"));
    println!("  Running: {}", s("ContainersRunning"));
    println!("  Paused: {}", s("ContainersPaused"));
    println!("  Stopped: {}", s("ContainersStopped"));
    println!(" Images: {}", s("Images"));
    println!(" Server Version: {}", s("ServerVersion"));
    println!(" Storage Driver: {}", s("Driver"));
    println!(" Logging Driver: {}", s("LoggingDriver"));
    println!(" Cgroup Driver: {}", s("CgroupDriver"));
    println!(" Cgroup Version: {}", s("CgroupVersion"));
    if let Value::Map(r) = i.get("Runtimes") {
        println!(" Runtimes: {}", r.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(" "));
    }
    println!(" Default Runtime: {}", s("DefaultRuntime"));
    if let Value::List(opts) = i.get("SecurityOptions") {
        println!(" Security Options:");
        for o in opts {
            println!("  {}", o.to_string().trim_start_matches("name="));
        }
    }
    println!(" Kernel Version: {}", s("KernelVersion"));
    println!(" Operating System: {}", s("OperatingSystem"));
    println!(" OSType: {}", s("OSType"));
    println!(" Architecture: {}", s("Architecture"));
    println!(" CPUs: {}", s("NCPU"));
    println!(" Total Memory: {}", bytes_size(i.get("MemTotal").as_i64().unwrap_or(0) as f64));
    println!(" Name: {}", s("Name"));
    println!(" ID: {}", s("ID"));
    println!(" Docker Root Dir: {}", s("DockerRootDir"));
    println!(" Debug Mode: {}", s("Debug"));
    println!(" Experimental: {}", s("ExperimentalBuild"));
    println!(" Live Restore Enabled: {}", s("LiveRestoreEnabled"));
    if let Value::List(w) = i.get("Warnings") {
        if !w.is_empty() {
            println!();
        }
        for x in w {
            eprintln!("{x}");
        }
    }
    Ok(0)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth events [OPTIONS]")]
pub struct EventsArgs {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'json', 'TEMPLATE'
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    /// Show all events created since timestamp
    #[arg(long, value_name = "string")]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long, value_name = "string")]
    pub until: Option<String>,
}

/// docker's default line: `2026-11-23T22:40:05.000000007Z container start 3f2a… (image=busybox, name=web)`.
pub fn event_line(e: &Value) -> String {
    let nanos = e.get("timeNano").as_i64().unwrap_or_else(|| e.get("time").as_i64().unwrap_or(0) * 1_000_000_000);
    let actor = e.get("Actor");
    let mut line = format!("{} {} {} {}", rfc3339_nanos(nanos), e.get("Type"), e.get("Action"), actor.get("ID"));
    if let Value::Map(attrs) = actor.get("Attributes") {
        if !attrs.is_empty() {
            let mut kv: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            kv.sort();
            line.push_str(&format!(" ({})", kv.join(", ")));
        }
    }
    line
}

/// An event's members in the order of docker's `events.Message` struct, which is what its
/// `json` template function writes.
fn docker_order(e: Value) -> Value {
    const ORDER: [&str; 9] = ["status", "id", "from", "Type", "Action", "Actor", "scope", "time", "timeNano"];
    let Value::Map(mut m) = e else { return e };
    m.sort_by_key(|(k, _)| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
    Value::Map(m)
}

pub async fn events(client: &Client, a: &EventsArgs) -> Result<i32> {
    let template = match a.format.as_deref() {
        None | Some("") => None,
        Some("json") => Some(Template::parse("{{json .}}").expect("a fixed template parses")),
        Some(f) => Some(Template::parse(f).map_err(|e| CliError::new(e.to_string()))?),
    };
    let now = now_secs();
    let mut parts = Vec::new();
    if let Some(s) = &a.since {
        parts.push(format!("since={}", super::logs::timestamp_arg("--since", s, now)?));
    }
    if let Some(u) = &a.until {
        parts.push(format!("until={}", super::logs::timestamp_arg("--until", u, now)?));
    }
    if !a.filter.is_empty() {
        parts.push(format!("filters={}", q(&super::ps::filters_json(&a.filter)?)));
    }
    let path = if parts.is_empty() { "/events".to_owned() } else { format!("/events?{}", parts.join("&")) };
    let body = client.send(Method::GET, &path, None, &[]).await?.into_body();
    let mut reader_gone = false;
    crate::client::read_lines(body, "events", |line| {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(true);
        }
        let e = docker_order(serde_json::from_slice(line).map_err(|e| CliError::new(format!("read events: {e}")))?);
        let text = match &template {
            Some(t) => t.render(&e).map_err(|e| CliError::new(e.to_string()))?,
            None => event_line(&e),
        };
        use std::io::Write;
        let mut o = std::io::stdout().lock();
        reader_gone = writeln!(o, "{text}").and_then(|()| o.flush()).is_err();
        Ok(!reader_gone)
    })
    .await?;
    Ok(if reader_gone { 141 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines_like_docker() {
        let e: Value = serde_json::from_str(
            r#"{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"web","image":"busybox"}},"scope":"local","time":1,"timeNano":1000000007}"#,
        )
        .unwrap();
        assert_eq!(event_line(&e), "1970-01-01T00:00:01.000000007Z container start abc (image=busybox, name=web)");
        let e = docker_order(serde_json::from_str(r#"{"Type":"container","id":"abc","status":"start","time":1}"#).unwrap());
        assert_eq!(e.to_json(), r#"{"status":"start","id":"abc","Type":"container","time":1}"#);
    }
}
