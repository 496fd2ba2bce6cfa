//! `exec`: a process in a running container, attached or detached, with or without a TTY;
//! exits with the process's status.

use berth_api_types::exec::{ExecConfig, ExecCreateResponse, ExecStartConfig};
use clap::Args;
use http::Method;

use crate::client::{p, Client};
use crate::error::{CliError, Result};
use crate::session::{self, Ended};

#[derive(Debug, Args)]
#[command(override_usage = "berth exec [OPTIONS] CONTAINER COMMAND [ARG...]")]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "list")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Give extended privileges to the command
    #[arg(long)]
    pub privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long, value_name = "string")]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long, value_name = "string")]
    pub workdir: Option<String>,
    /// The container, then the command and its arguments (never flags of berth's).
    #[arg(value_name = "CONTAINER COMMAND [ARG...]", required = true, num_args = 2.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub target: Vec<String>,
}

pub async fn exec(client: &Client, a: &ExecArgs) -> Result<i32> {
    let (container, command) = a.target.split_first().expect("clap requires the container and a command");
    if a.interactive && a.tty && !crate::tty::stdin_is_terminal() && !a.detach {
        return Err(CliError::new("the input device is not a TTY"));
    }
    let mut env = Vec::new();
    for f in &a.env_file {
        let text = std::fs::read_to_string(f).map_err(|e| CliError::new(format!("open env file {f}: {e}")))?;
        env.extend(text.lines().map(str::trim_start).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned));
    }
    env.extend(a.env.iter().cloned());
    let console = crate::tty::size().filter(|_| a.tty).map(|(h, w)| vec![u64::from(h), u64::from(w)]);
    let cfg = ExecConfig {
        attach_stdin: Some(a.interactive && !a.detach),
        attach_stdout: Some(!a.detach),
        attach_stderr: Some(!a.detach),
        console_size: console.clone(),
        detach_keys: a.detach_keys.clone(),
        tty: Some(a.tty),
        env: (!env.is_empty()).then_some(env),
        cmd: Some(command.to_vec()),
        privileged: Some(a.privileged),
        user: a.user.clone(),
        working_dir: a.workdir.clone(),
        detach: Some(a.detach),
    };
    let created: ExecCreateResponse =
        client.json(Method::POST, &format!("/containers/{}/exec", p(container)), Some(serde_json::to_vec(&cfg).expect("exec config serializes"))).await?;
    let id = created.id;
    let start = ExecStartConfig { detach: Some(a.detach), tty: Some(a.tty), console_size: console };
    let body = serde_json::to_vec(&start).expect("exec start serializes");
    if a.detach {
        client.call(Method::POST, &format!("/exec/{id}/start"), Some(body)).await?;
        return Ok(0);
    }
    let keys = session::parse_detach_keys(a.detach_keys.as_deref().unwrap_or(session::DEFAULT_DETACH_KEYS))?;
    let conn = match client.hijack(&format!("/exec/{id}/start"), Some(body)).await {
        Ok(c) => c,
        Err(e) => {
            let status = super::run::start_error_status(&e.message);
            return Err(e.with_status(status));
        }
    };
    let raw = if a.tty && a.interactive { crate::tty::RawMode::enter() } else { None };
    let resize = (a.tty && crate::tty::stdout_is_terminal()).then(|| tokio::spawn(session::follow_size(client.clone(), format!("/exec/{id}/resize"))));
    let ended = session::pump(conn, a.tty, a.interactive, &keys).await;
    if let Some(r) = resize {
        r.abort();
    }
    drop(raw);
    if ended? == Ended::Detached {
        return Ok(0);
    }
    // The stream ends as the process does; its exit may be recorded a moment later.
    for _ in 0..200 {
        let info = client.get_value(&format!("/exec/{id}/json")).await?;
        if !info.get("Running").truthy() {
            return match info.get("ExitCode").as_i64() {
                Some(code) => Ok(code as i32),
                // Never started (no pid, no status): say so rather than report success.
                None => Err(CliError::new(format!("exec {} in {container}: the daemon reports the process never ran (no exit status)", &id[..12.min(id.len())]))),
            };
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    Err(CliError::new(format!("exec {id}: the process's output ended but it still runs after 2 s")))
}
