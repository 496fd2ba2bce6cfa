//! `run`, `create`, `start` and `attach`: making a container and being attached to it.
//!
//! `run` does what docker's does, in its order: create (pulling a missing image), attach
//! *before* start so no output is lost, ask the daemon to report the exit (`wait` with
//! `next-exit`, or `removed` with `--rm`) before start, start, copy the streams, and exit with
//! the container's status.

use berth_api_types::container::{ContainerCreateResponse, ContainerWaitResponse};
use berth_api_types::platform::Platform;
use clap::{ArgAction, Args};
use http::Method;
use http_body_util::BodyExt;

use super::options::ContainerOpts;
use crate::client::{p, q, Client};
use crate::error::{CliError, Result};
use crate::session::{self, Ended};
use crate::template::Value;

#[derive(Debug, Args)]
#[command(disable_help_flag = true, override_usage = "berth run [OPTIONS] IMAGE [COMMAND] [ARG...]")]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Proxy received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, action = ArgAction::Set, value_name = "bool")]
    pub sig_proxy: bool,
    #[command(flatten)]
    pub opts: ContainerOpts,
    /// The image, then the command and its arguments: nothing after the image is a flag of
    /// berth's, as with docker.
    #[arg(value_name = "IMAGE [COMMAND] [ARG...]", required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub image_and_command: Vec<String>,
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true, override_usage = "berth create [OPTIONS] IMAGE [COMMAND] [ARG...]")]
pub struct CreateArgs {
    #[command(flatten)]
    pub opts: ContainerOpts,
    /// The image, then the command and its arguments: nothing after the image is a flag of
    /// berth's, as with docker.
    #[arg(value_name = "IMAGE [COMMAND] [ARG...]", required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub image_and_command: Vec<String>,
}

/// Docker's exit status for a start that failed: 127 not found, 126 cannot be invoked, else 125.
pub fn start_error_status(message: &str) -> i32 {
    if message.contains("executable file not found") || message.contains("no such file or directory") {
        127
    } else if message.to_ascii_lowercase().contains("permission denied") || message.contains("is a directory") {
        126
    } else {
        125
    }
}

/// `image` with `:latest` when it names no tag or digest.
pub fn with_tag(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') || image.contains('@') {
        image.to_owned()
    } else {
        format!("{image}:latest")
    }
}

/// Creates the container, pulling its image when the daemon does not have it (as `--pull`
/// says). Returns the ID.
async fn create_container(client: &Client, opts: &ContainerOpts, image: &str, command: &[String], run: bool, detach: bool) -> Result<String> {
    let req = opts.to_request(image, command, run, detach)?;
    let body = serde_json::to_vec(&req).expect("a create request serializes");
    let mut query = Vec::new();
    if let Some(n) = &opts.name {
        query.push(format!("name={}", q(n)));
    }
    // As docker's: the platform is checked here, sent to create in its normal form (API 1.41
    // added it), and to a pull as it was typed.
    let platform = opts.platform.as_deref().filter(|p| !p.is_empty());
    if let Some(p) = platform {
        let parsed = Platform::parse(p).map_err(|e| CliError::new(format!("error parsing specified platform: {e}")))?;
        if client.api_at_least(1, 41) {
            query.push(format!("platform={}", q(&parsed.to_string().to_lowercase())));
        }
    }
    let path = if query.is_empty() { "/containers/create".to_owned() } else { format!("/containers/create?{}", query.join("&")) };
    if opts.pull == "always" {
        super::images::pull_image(client, image, platform, opts.quiet, true).await?;
    }
    let created: ContainerCreateResponse = match client.json(Method::POST, &path, Some(body.clone())).await {
        Ok(c) => c,
        // A missing image, or (with --platform) one of another platform: dockerd answers 404
        // for both, and docker pulls the image for that platform.
        Err(e) if e.is_not_found() && (e.message.contains("No such image") || e.message.contains("does not match the specified platform")) && opts.pull == "missing" => {
            if !opts.quiet {
                eprintln!("Unable to find image '{}' locally", with_tag(image));
            }
            super::images::pull_image(client, image, platform, opts.quiet, true).await?;
            client.json(Method::POST, &path, Some(body)).await?
        }
        Err(e) => return Err(e),
    };
    for w in &created.warnings {
        eprintln!("WARNING: {w}");
    }
    if let Some(f) = &opts.cidfile {
        std::fs::write(f, &created.id).map_err(|e| CliError::new(format!("write the container ID file {f}: {e}")))?;
    }
    Ok(created.id)
}

pub async fn create(client: &Client, a: &CreateArgs) -> Result<i32> {
    let (image, command) = a.image_and_command.split_first().expect("clap requires the image");
    let id = create_container(client, &a.opts, image, command, false, false).await?;
    println!("{id}");
    Ok(0)
}

/// A wait request whose answer head is in: the daemon is watching from now on.
struct PendingWait(hyper::body::Incoming);

impl PendingWait {
    async fn register(client: &Client, id: &str, condition: &str) -> Result<PendingWait> {
        let resp = client.send(Method::POST, &format!("/containers/{id}/wait?condition={condition}"), None, &[]).await?;
        Ok(PendingWait(resp.into_body()))
    }

    async fn status(self) -> Result<i32> {
        let bytes = self.0.collect().await.map(|c| c.to_bytes()).map_err(|e| CliError::new(format!("wait for the container: {e}")))?;
        let w: ContainerWaitResponse = serde_json::from_slice(&bytes).map_err(|e| CliError::new(format!("read the wait answer: {e}: {}", String::from_utf8_lossy(&bytes))))?;
        if let Some(err) = w.error {
            return Err(CliError::new(format!("Error waiting for container: {}", err.message)));
        }
        Ok(w.status_code as i32)
    }
}

pub async fn run(client: &Client, a: &RunArgs) -> Result<i32> {
    let o = &a.opts;
    if o.interactive && o.tty && !crate::tty::stdin_is_terminal() && !a.detach {
        return Err(CliError::new("the input device is not a TTY").with_status(1));
    }
    let keys = session::parse_detach_keys(a.detach_keys.as_deref().unwrap_or(session::DEFAULT_DETACH_KEYS)).map_err(|e| e.with_status(125))?;
    let (image, command) = a.image_and_command.split_first().expect("clap requires the image");
    let id = create_container(client, o, image, command, true, a.detach).await?;
    if a.detach {
        client.call(Method::POST, &format!("/containers/{id}/start"), None).await?;
        println!("{id}");
        return Ok(0);
    }
    let keys_q = q(a.detach_keys.as_deref().unwrap_or(session::DEFAULT_DETACH_KEYS));
    let conn = client
        .hijack(&format!("/containers/{id}/attach?stream=1&stdin={}&stdout=1&stderr=1&detachKeys={keys_q}", u8::from(o.interactive)), None)
        .await?;
    let wait = PendingWait::register(client, &id, if o.rm { "removed" } else { "next-exit" }).await?;
    let raw = if o.tty && o.interactive { crate::tty::RawMode::enter() } else { None };
    if let Err(e) = client.call(Method::POST, &format!("/containers/{id}/start"), None).await {
        drop(raw);
        let status = start_error_status(&e.message);
        if o.rm {
            let _ = wait.status().await;
        }
        return Err(e.with_status(status));
    }
    let resize = (o.tty && crate::tty::stdout_is_terminal()).then(|| tokio::spawn(session::follow_size(client.clone(), format!("/containers/{id}/resize"))));
    if !o.tty && a.sig_proxy {
        session::proxy_signals(client, &id);
    }
    let ended = session::pump(conn, o.tty, o.interactive, &keys).await;
    if let Some(r) = resize {
        r.abort();
    }
    drop(raw);
    if ended? == Ended::Detached {
        return Ok(0);
    }
    wait.status().await
}

#[derive(Debug, Args)]
#[command(override_usage = "berth start [OPTIONS] CONTAINER [CONTAINER...]")]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long)]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub async fn start(client: &Client, a: &StartArgs) -> Result<i32> {
    if a.attach || a.interactive {
        if a.containers.len() > 1 {
            return Err(CliError::new("you cannot start and attach multiple containers at once"));
        }
        return attach_and(client, &a.containers[0], a.interactive, a.detach_keys.as_deref(), true, true).await;
    }
    let mut failed = Vec::new();
    for c in &a.containers {
        match client.call(Method::POST, &format!("/containers/{}/start", p(c)), None).await {
            Ok(_) => println!("{c}"),
            Err(e) => {
                eprintln!("{e}");
                failed.push(c.as_str());
            }
        }
    }
    if !failed.is_empty() {
        return Err(CliError::new(format!("Error: failed to start containers: {}", failed.join(", "))));
    }
    Ok(0)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth attach [OPTIONS] CONTAINER")]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, action = ArgAction::Set, value_name = "bool")]
    pub sig_proxy: bool,
    pub container: String,
}

pub async fn attach(client: &Client, a: &AttachArgs) -> Result<i32> {
    attach_and(client, &a.container, !a.no_stdin, a.detach_keys.as_deref(), false, a.sig_proxy).await
}

/// Attaches to `name`, starts it when `start` (start -a), follows it to its end.
async fn attach_and(client: &Client, name: &str, want_stdin: bool, detach_keys: Option<&str>, start: bool, sig_proxy: bool) -> Result<i32> {
    let info: Value = client.get_value(&format!("/containers/{}/json", p(name))).await?;
    let id = info.get("Id").as_str().unwrap_or(name).to_owned();
    let config = info.get("Config");
    let tty = config.get("Tty").truthy();
    let stdin = want_stdin && config.get("OpenStdin").truthy();
    let state = info.get("State");
    if !start {
        if !state.get("Running").truthy() {
            return Err(CliError::new("You cannot attach to a stopped container, start it first"));
        }
        if state.get("Paused").truthy() {
            return Err(CliError::new("You cannot attach to a paused container, unpause it first"));
        }
    }
    let keys_spec = detach_keys.unwrap_or(session::DEFAULT_DETACH_KEYS);
    let keys = session::parse_detach_keys(keys_spec)?;
    let conn = client.hijack(&format!("/containers/{id}/attach?stream=1&stdin={}&stdout=1&stderr=1&detachKeys={}", u8::from(stdin), q(keys_spec)), None).await?;
    let auto_remove = info.get("HostConfig").get("AutoRemove").truthy();
    let wait = PendingWait::register(client, &id, if auto_remove { "removed" } else { "next-exit" }).await?;
    let raw = if tty && stdin { crate::tty::RawMode::enter() } else { None };
    if start {
        if let Err(e) = client.call(Method::POST, &format!("/containers/{id}/start"), None).await {
            drop(raw);
            return Err(e);
        }
    }
    let resize = (tty && crate::tty::stdout_is_terminal()).then(|| tokio::spawn(session::follow_size(client.clone(), format!("/containers/{id}/resize"))));
    if !tty && sig_proxy {
        session::proxy_signals(client, &id);
    }
    let ended = session::pump(conn, tty, stdin, &keys).await;
    if let Some(r) = resize {
        r.abort();
    }
    drop(raw);
    if ended? == Ended::Detached {
        // docker's attach reports the detach as an error; start -a, like run, does not.
        return if start { Ok(0) } else { Err(CliError::new("read escape sequence")) };
    }
    wait.status().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_failures_map_to_dockers_statuses() {
        assert_eq!(start_error_status(r#"exec: "nope": executable file not found in $PATH"#), 127);
        assert_eq!(start_error_status("exec /etc: is a directory"), 126);
        assert_eq!(start_error_status("exec /x: permission denied"), 126);
        assert_eq!(start_error_status("cgroup: out of memory"), 125);
        assert_eq!(with_tag("busybox"), "busybox:latest");
        assert_eq!(with_tag("localhost:5000/busybox"), "localhost:5000/busybox:latest");
        assert_eq!(with_tag("busybox:1"), "busybox:1");
    }
}
