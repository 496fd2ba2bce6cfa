//! Commands that act on containers by name: stop, restart, kill, rm, pause, unpause, wait,
//! rename, container prune. Like docker's, each prints the name it was given on success; the
//! errors are collected and printed at the end, with exit status 1.

use berth_api_types::container::{ContainerPruneResponse, ContainerWaitResponse};
use clap::Args;
use http::Method;

use crate::client::{p, q, Client};
use crate::error::{CliError, Result};

#[derive(Debug, Args)]
#[command(override_usage = "berth stop [OPTIONS] CONTAINER [CONTAINER...]")]
pub struct StopArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, value_name = "string")]
    pub signal: Option<String>,
    /// Seconds to wait before killing the container
    #[arg(short = 't', long = "timeout", visible_alias = "time", value_name = "int", allow_hyphen_values = true)]
    pub timeout: Option<i64>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
#[command(override_usage = "berth kill [OPTIONS] CONTAINER [CONTAINER...]")]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, value_name = "string")]
    pub signal: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
#[command(override_usage = "berth rm [OPTIONS] CONTAINER [CONTAINER...]")]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Remove the specified link (not supported by berth)
    #[arg(short = 'l', long, hide = true)]
    pub link: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ContainersArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
#[command(override_usage = "berth rename CONTAINER NEW_NAME")]
pub struct RenameArgs {
    pub container: String,
    pub new_name: String,
}

#[derive(Debug, Args)]
#[command(override_usage = "berth container prune [OPTIONS]")]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long, value_name = "filter")]
    pub filter: Vec<String>,
}

/// Runs `path_of(container)` for each container; prints each name that worked, then the
/// errors (exit 1) if any.
async fn each(client: &Client, containers: &[String], method: Method, path_of: impl Fn(&str) -> String) -> Result<i32> {
    let mut errors = Vec::new();
    for c in containers {
        match client.call(method.clone(), &path_of(&p(c)), None).await {
            Ok(_) => println!("{c}"),
            Err(e) => errors.push(e.message),
        }
    }
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(CliError::new(errors.join("\n")))
    }
}

fn stop_query(a: &StopArgs) -> String {
    let mut parts = Vec::new();
    if let Some(t) = a.timeout {
        parts.push(format!("t={t}"));
    }
    if let Some(s) = &a.signal {
        parts.push(format!("signal={}", q(s)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

pub async fn stop(client: &Client, a: &StopArgs) -> Result<i32> {
    let query = stop_query(a);
    each(client, &a.containers, Method::POST, |c| format!("/containers/{c}/stop{query}")).await
}

pub async fn restart(client: &Client, a: &StopArgs) -> Result<i32> {
    let query = stop_query(a);
    each(client, &a.containers, Method::POST, |c| format!("/containers/{c}/restart{query}")).await
}

pub async fn kill(client: &Client, a: &KillArgs) -> Result<i32> {
    let query = a.signal.as_ref().map(|s| format!("?signal={}", q(s))).unwrap_or_default();
    each(client, &a.containers, Method::POST, |c| format!("/containers/{c}/kill{query}")).await
}

pub async fn rm(client: &Client, a: &RmArgs) -> Result<i32> {
    if a.link {
        return Err(CliError::new("berth does not support --link (-l) yet: it has no container links"));
    }
    let query = format!("?force={}&v={}", u8::from(a.force), u8::from(a.volumes));
    each(client, &a.containers, Method::DELETE, |c| format!("/containers/{c}{query}")).await
}

pub async fn pause(client: &Client, a: &ContainersArgs, pause: bool) -> Result<i32> {
    let verb = if pause { "pause" } else { "unpause" };
    each(client, &a.containers, Method::POST, |c| format!("/containers/{c}/{verb}")).await
}

pub async fn wait(client: &Client, a: &ContainersArgs) -> Result<i32> {
    let mut errors = Vec::new();
    for c in &a.containers {
        match client.json::<ContainerWaitResponse>(Method::POST, &format!("/containers/{}/wait?condition=not-running", p(c)), None).await {
            Ok(w) => println!("{}", w.status_code),
            Err(e) => errors.push(e.message),
        }
    }
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(CliError::new(errors.join("\n")))
    }
}

pub async fn rename(client: &Client, a: &RenameArgs) -> Result<i32> {
    if a.new_name.trim().is_empty() {
        return Err(CliError::new("Error: Neither old nor new names may be empty"));
    }
    client.call(Method::POST, &format!("/containers/{}/rename?name={}", p(&a.container), q(&a.new_name)), None).await?;
    Ok(0)
}

/// Asks `question` on the terminal; true for `y`/`yes`.
pub fn confirm(question: &str) -> bool {
    use std::io::Write;
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    matches!(line.trim().to_lowercase().as_str(), "y" | "yes")
}

pub async fn prune(client: &Client, a: &PruneArgs) -> Result<i32> {
    if !a.force && !confirm("WARNING! This will remove all stopped containers.\nAre you sure you want to continue?") {
        return Ok(0);
    }
    let reclaimed = prune_containers(client, &a.filter).await?;
    println!("Total reclaimed space: {}", crate::format::human_size(reclaimed as i64));
    Ok(0)
}

/// Prunes stopped containers, prints what went; returns the bytes reclaimed.
pub async fn prune_containers(client: &Client, filter: &[String]) -> Result<u64> {
    let filters = super::ps::filters_json(filter)?;
    let r: ContainerPruneResponse = client.json(Method::POST, &format!("/containers/prune?filters={}", q(&filters)), None).await?;
    let deleted = r.containers_deleted.unwrap_or_default();
    if !deleted.is_empty() {
        println!("Deleted Containers:");
        for id in deleted {
            println!("{id}");
        }
        println!();
    }
    Ok(r.space_reclaimed)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth system prune [OPTIONS]")]
pub struct SystemPruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Prune anonymous volumes
    #[arg(long)]
    pub volumes: bool,
}

/// `system prune`: stopped containers, networks no container uses, anonymous volumes
/// (`--volumes`), then images, in docker's order. berth has no build cache yet, so that part
/// of docker's prune has nothing to remove.
pub async fn system_prune(client: &Client, a: &SystemPruneArgs) -> Result<i32> {
    let images = if a.all { "all images without at least one container associated to them" } else { "all dangling images" };
    let volumes = if a.volumes { "  - all anonymous volumes not used by at least one container\n" } else { "" };
    let warning = format!(
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n{volumes}  - {images}\n  - {}build cache\n\nAre you sure you want to continue?",
        if a.all { "all " } else { "unused " }
    );
    if !a.force && !confirm(&warning) {
        return Ok(0);
    }
    let mut reclaimed = prune_containers(client, &a.filter).await?;
    super::networks::prune_networks(client, &a.filter).await?;
    if a.volumes {
        reclaimed += super::volumes::prune_volumes(client, false, &a.filter).await?;
    }
    reclaimed += super::images::prune_images(client, a.all, &a.filter).await?;
    println!("Total reclaimed space: {}", crate::format::human_size(reclaimed as i64));
    Ok(0)
}
