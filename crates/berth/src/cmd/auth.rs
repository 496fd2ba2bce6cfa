//! `login` and `logout`, and the credentials pull and push send: the same `config.json` as
//! docker's (`$BERTH_CONFIG`, else `$DOCKER_CONFIG`, else `~/.docker`), so a login with either
//! CLI serves both. The file is read only by the commands that need it. Where it names a
//! credential helper (`credHelpers` for the registry, else `credsStore`), the credentials live
//! with `docker-credential-<name>` (its `get`, `store` and `erase`), as docker's do.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use berth_api_types::image::{AuthConfig, AuthResponse};
use clap::Args;
use http::Method;
use serde_json::{Map, Value};

use crate::client::Client;
use crate::error::{CliError, Result};

/// The registry docker means when a reference names none.
pub const DOCKER_HUB: &str = "https://index.docker.io/v1/";

fn config_dir() -> PathBuf {
    for var in ["BERTH_CONFIG", "DOCKER_CONFIG"] {
        if let Some(d) = std::env::var_os(var).filter(|d| !d.is_empty()) {
            return PathBuf::from(d);
        }
    }
    PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".docker")
}

fn config_path() -> PathBuf {
    config_dir().join("config.json")
}

fn read_config() -> Result<Map<String, Value>> {
    let path = config_path();
    match std::fs::read(&path) {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
        Ok(b) => match serde_json::from_slice(&b) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(CliError::new(format!("{} is not a JSON object: fix or remove it", path.display()))),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(CliError::new(format!("read {}: {e}", path.display()))),
    }
}

/// Writes the config crash-safely (temporary file, then rename), readable by its owner only.
fn write_config(m: &Map<String, Value>) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = config_dir();
    std::fs::create_dir_all(&dir).map_err(|e| CliError::new(format!("create {}: {e}", dir.display())))?;
    let path = config_path();
    let tmp = dir.join(".config.json.berth-tmp");
    let text = serde_json::to_string_pretty(m).expect("a JSON map serializes");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| CliError::new(format!("write {}: {e}", tmp.display())))?;
    f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).map_err(|e| CliError::new(format!("write {}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, &path).map_err(|e| CliError::new(format!("rename {} to {}: {e}", tmp.display(), path.display())))
}

/// The registry of an image reference: its first component when that names a host.
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => first.to_owned(),
        _ => DOCKER_HUB.to_owned(),
    }
}

/// The credential helper the config names for `registry`, if any.
fn helper_for(config: &Map<String, Value>, registry: &str) -> Option<String> {
    config
        .get("credHelpers")
        .and_then(|h| h.get(registry))
        .or_else(|| config.get("credsStore"))
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
}

/// Runs `docker-credential-<helper> <action>` with `input` on its stdin; its stdout, or `None`
/// when it says it has nothing for that server.
fn run_helper(helper: &str, action: &str, input: &[u8]) -> Result<Option<Vec<u8>>> {
    let program = format!("docker-credential-{helper}");
    let mut child = std::process::Command::new(&program)
        .arg(action)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| CliError::new(format!("error getting credentials - err: exec: \"{program}\": {e}: install it or remove it from {}", config_path().display())))?;
    child.stdin.take().expect("stdin is piped").write_all(input).map_err(|e| CliError::new(format!("{program} {action}: {e}")))?;
    let out = child.wait_with_output().map_err(|e| CliError::new(format!("{program} {action}: {e}")))?;
    if out.status.success() {
        return Ok(Some(out.stdout));
    }
    let said = String::from_utf8_lossy(&out.stdout).trim().to_owned() + String::from_utf8_lossy(&out.stderr).trim();
    if said.contains("credentials not found") {
        return Ok(None);
    }
    Err(CliError::new(format!("{program} {action}: {said}")))
}

/// What a helper holds for `registry`.
fn helper_get(helper: &str, registry: &str) -> Result<Option<AuthConfig>> {
    let Some(out) = run_helper(helper, "get", registry.as_bytes())? else { return Ok(None) };
    let v: Value = serde_json::from_slice(&out).map_err(|e| CliError::new(format!("docker-credential-{helper} get: not JSON: {e}")))?;
    let user = v["Username"].as_str().unwrap_or("").to_owned();
    let secret = v["Secret"].as_str().unwrap_or("").to_owned();
    let mut auth = AuthConfig { server_address: Some(registry.to_owned()), ..AuthConfig::default() };
    if user == "<token>" {
        auth.identity_token = Some(secret);
    } else {
        auth.username = Some(user);
        auth.password = Some(secret);
    }
    Ok(Some(auth))
}

/// The `X-Registry-Auth` value for pulling or pushing `image`: what the config (or its
/// credential helper) holds for its registry, or empty credentials.
pub fn header_for(image: &str) -> Result<String> {
    let config = read_config()?;
    let registry = registry_of(image);
    if let Some(helper) = helper_for(&config, &registry) {
        return Ok(helper_get(&helper, &registry)?.unwrap_or_default().to_header());
    }
    let Some(entry) = config.get("auths").and_then(|a| a.get(&registry)) else {
        return Ok(AuthConfig::default().to_header());
    };
    let mut auth = AuthConfig { server_address: Some(registry.clone()), ..AuthConfig::default() };
    if let Some(token) = entry.get("identitytoken").and_then(Value::as_str) {
        auth.identity_token = Some(token.to_owned());
    }
    if let Some(b64) = entry.get("auth").and_then(Value::as_str).filter(|a| !a.is_empty()) {
        let raw = berth_api_types::header::decode(b64).ok_or_else(|| CliError::new(format!("the credentials for {registry} in {} are not base64", config_path().display())))?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (user, pass) = text.split_once(':').ok_or_else(|| CliError::new(format!("the credentials for {registry} in {} are not user:password", config_path().display())))?;
        auth.username = Some(user.to_owned());
        auth.password = Some(pass.to_owned());
    }
    Ok(auth.to_header())
}

#[derive(Debug, Args)]
#[command(override_usage = "berth login [OPTIONS] [SERVER]")]
pub struct LoginArgs {
    /// Password
    #[arg(short = 'p', long, value_name = "string")]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long = "password-stdin")]
    pub password_stdin: bool,
    /// Username
    #[arg(short = 'u', long, value_name = "string")]
    pub username: Option<String>,
    pub server: Option<String>,
}

/// Reads one line from the terminal with echo off (the password prompt).
fn read_secret(prompt: &str) -> Result<String> {
    use std::os::fd::AsFd;
    eprint!("{prompt}");
    let stdin = std::io::stdin();
    let saved = rustix::termios::tcgetattr(stdin.as_fd()).ok();
    if let Some(t) = &saved {
        let mut quiet = t.clone();
        quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
        let _ = rustix::termios::tcsetattr(stdin.as_fd(), rustix::termios::OptionalActions::Now, &quiet);
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(t) = &saved {
        let _ = rustix::termios::tcsetattr(stdin.as_fd(), rustix::termios::OptionalActions::Now, t);
        eprintln!();
    }
    read.map_err(|e| CliError::new(format!("read the password: {e}")))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

pub async fn login(client: &Client, a: &LoginArgs) -> Result<i32> {
    let server = a.server.clone().unwrap_or_else(|| DOCKER_HUB.to_owned());
    let mut config = read_config()?;
    let helper = helper_for(&config, &server);
    if a.password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
        if a.password_stdin {
            return Err(CliError::new("--password and --password-stdin are mutually exclusive"));
        }
    }
    let username = match &a.username {
        Some(u) => u.clone(),
        None if a.password_stdin => return Err(CliError::new("Must provide --username with --password-stdin")),
        None => {
            eprint!("Username: ");
            let mut u = String::new();
            std::io::stdin().lock().read_line(&mut u).map_err(|e| CliError::new(format!("read the username: {e}")))?;
            u.trim().to_owned()
        }
    };
    let password = match (&a.password, a.password_stdin) {
        (Some(p), _) => p.clone(),
        (None, true) => {
            let mut p = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut p).map_err(|e| CliError::new(format!("read the password from stdin: {e}")))?;
            p.trim_end_matches(['\n', '\r']).to_owned()
        }
        (None, false) => read_secret("Password: ")?,
    };
    if username.is_empty() || password.is_empty() {
        return Err(CliError::new("Error: Cannot perform an interactive login from a non TTY device"));
    }
    let auth = AuthConfig { username: Some(username.clone()), password: Some(password.clone()), server_address: Some(server.clone()), ..AuthConfig::default() };
    let resp: AuthResponse = client.json(Method::POST, "/auth", Some(serde_json::to_vec(&auth).expect("credentials serialize"))).await?;
    if let Some(h) = &helper {
        let (user, secret) = match resp.identity_token.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => ("<token>".to_owned(), token.to_owned()),
            None => (username.clone(), password.clone()),
        };
        let creds = serde_json::json!({"ServerURL": server, "Username": user, "Secret": secret});
        run_helper(h, "store", &serde_json::to_vec(&creds).expect("credentials serialize"))?;
        // As docker does with a store: an empty entry says "logged in, ask the helper".
        let auths = config.entry("auths").or_insert_with(|| Value::Object(Map::new()));
        if let Some(a) = auths.as_object_mut() {
            a.insert(server, Value::Object(Map::new()));
        }
        write_config(&config)?;
        println!("{}", if resp.status.is_empty() { "Login Succeeded" } else { &resp.status });
        return Ok(0);
    }
    let mut entry = Map::new();
    match resp.identity_token.filter(|t| !t.is_empty()) {
        Some(token) => {
            entry.insert("auth".to_owned(), Value::from(berth_api_types::header::encode_std(format!("{username}:").as_bytes())));
            entry.insert("identitytoken".to_owned(), Value::from(token));
        }
        None => {
            entry.insert("auth".to_owned(), Value::from(berth_api_types::header::encode_std(format!("{username}:{password}").as_bytes())));
        }
    }
    let auths = config.entry("auths").or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    auths.as_object_mut().expect("made an object above").insert(server, Value::Object(entry));
    write_config(&config)?;
    eprintln!(
        "WARNING! Your credentials are stored unencrypted in '{}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n",
        config_path().display()
    );
    println!("{}", if resp.status.is_empty() { "Login Succeeded" } else { &resp.status });
    Ok(0)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth logout [SERVER]")]
pub struct LogoutArgs {
    pub server: Option<String>,
}

pub fn logout(a: &LogoutArgs) -> Result<i32> {
    let server = a.server.clone().unwrap_or_else(|| DOCKER_HUB.to_owned());
    let mut config = read_config()?;
    let mut removed = config.get_mut("auths").and_then(Value::as_object_mut).and_then(|auths| auths.remove(&server)).is_some();
    if let Some(h) = helper_for(&config, &server) {
        removed |= helper_get(&h, &server)?.is_some();
        run_helper(&h, "erase", server.as_bytes())?;
    }
    if !removed {
        println!("Not logged in to {server}");
        return Ok(0);
    }
    println!("Removing login credentials for {server}");
    write_config(&config)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_of_references() {
        assert_eq!(registry_of("busybox"), DOCKER_HUB);
        assert_eq!(registry_of("me/app:1"), DOCKER_HUB);
        assert_eq!(registry_of("127.0.0.1:5000/app"), "127.0.0.1:5000");
        assert_eq!(registry_of("localhost/app"), "localhost");
        assert_eq!(registry_of("reg.example/a/b"), "reg.example");
    }
}
