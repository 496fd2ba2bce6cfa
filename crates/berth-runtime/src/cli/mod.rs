//! runc's command line, so containerd, Docker, Podman and conmon can call berth-runtime where
//! they call runc. Only parsing and printing live here; every operation is a [`Runtime`] call.

mod features;
mod update;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::container::{CreateOptions, ExecOptions, Runtime};
use crate::error::{chain, Error};
use crate::spec::ContainerId;

#[derive(Parser)]
#[command(name = "berth-runtime", version, about = "An OCI runtime with runc's command line", disable_help_subcommand = true)]
struct Cli {
    /// Directory for container state [default: /run/berth-runtime; when not root,
    /// $XDG_RUNTIME_DIR/berth-runtime]
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// Write log lines to this file as well as stderr
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// Log format: text or json
    #[arg(long = "log-format", global = true, default_value = "text")]
    log_format: String,
    /// Log more
    #[arg(long, global = true)]
    debug: bool,
    /// Manage cgroups through systemd (not supported yet)
    #[arg(long = "systemd-cgroup", global = true)]
    systemd_cgroup: bool,
    /// Accepted for runc compatibility: berth-runtime detects rootless mode itself
    #[arg(long)]
    rootless: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args)]
struct CreateArgs {
    id: String,
    /// Path to the bundle directory
    #[arg(short, long, default_value = ".")]
    bundle: PathBuf,
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when process.terminal is true
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// Move the root onto / and chroot instead of pivot_root (for ramfs roots)
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    /// Do not give the container its own session keyring
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    /// Pass this many extra descriptors (from fd 3) to the container
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
}

impl CreateArgs {
    fn options(&self) -> CreateOptions {
        CreateOptions {
            bundle: self.bundle.clone(),
            pid_file: self.pid_file.clone(),
            console_socket: self.console_socket.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Write a default config.json
    Spec {
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        /// A config for a rootless container
        #[arg(long = "rootless")]
        rootless_spec: bool,
    },
    /// Create a container; its process waits for `start`
    Create(CreateArgs),
    /// Start a created container
    Start { id: String },
    /// Create and start a container; in the foreground, wait for it and exit with its status
    Run {
        #[command(flatten)]
        args: CreateArgs,
        #[arg(short, long)]
        detach: bool,
        /// Accepted for runc compatibility; the container is always deleted after a foreground run
        #[arg(long)]
        keep: bool,
    },
    /// Print a container's OCI state
    State { id: String },
    /// Send a signal to a container's init (or all its processes)
    Kill {
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
        #[arg(short, long)]
        all: bool,
    },
    /// Delete a container
    Delete {
        id: String,
        #[arg(short, long)]
        force: bool,
    },
    /// Freeze every process of a container
    Pause { id: String },
    /// Thaw a paused container
    Resume { id: String },
    /// Run a process in a running container
    Exec(ExecArgs),
    /// List a container's processes
    Ps {
        id: String,
        #[arg(short, long, default_value = "table")]
        format: String,
        /// Options for ps(1) (default -ef)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// List containers
    #[command(alias = "ls")]
    List {
        #[arg(short, long, default_value = "table")]
        format: String,
        #[arg(short, long)]
        quiet: bool,
    },
    /// Print resource statistics (--stats once, else every --interval)
    Events {
        id: String,
        #[arg(long)]
        stats: bool,
        #[arg(long, default_value = "5s")]
        interval: String,
    },
    /// Change a running container's resource limits
    Update(update::UpdateArgs),
    /// Print the features this runtime supports (OCI features JSON)
    Features,
}

#[derive(clap::Args)]
struct ExecArgs {
    id: String,
    /// A process.json with the process to run
    #[arg(short, long)]
    process: Option<PathBuf>,
    #[arg(short, long)]
    tty: bool,
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    #[arg(long)]
    cwd: Option<PathBuf>,
    #[arg(short, long)]
    env: Vec<String>,
    /// UID[:GID]
    #[arg(short, long)]
    user: Option<String>,
    #[arg(short = 'g', long = "additional-gids")]
    additional_gids: Vec<u32>,
    #[arg(short, long)]
    cap: Vec<String>,
    #[arg(long = "no-new-privs")]
    no_new_privs: bool,
    #[arg(short, long)]
    detach: bool,
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    #[arg(long)]
    apparmor: Option<String>,
    #[arg(long = "process-label")]
    process_label: Option<String>,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// Exit status for a failure of the runtime itself.
const FAILED: i32 = 1;

/// Parses the command line, runs the command, and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            log(&cli, "error", &chain(&e));
            FAILED
        }
    }
}

fn log(cli: &Cli, level: &str, msg: &str) {
    let line = if cli.log_format == "json" {
        serde_json::json!({"level": level, "msg": msg, "time": crate::state::now_rfc3339()}).to_string()
    } else {
        format!("{level}: {msg}")
    };
    if let Some(path) = &cli.log {
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(f, "{line}");
        }
    }
    if level != "debug" || cli.debug {
        eprintln!("berth-runtime: {msg}");
    }
}

fn id(s: &str) -> Result<ContainerId, Error> {
    ContainerId::parse(s)
}

fn print_json<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).expect("serializable"));
}

fn dispatch(cli: &Cli) -> Result<i32, Error> {
    if cli.systemd_cgroup {
        return Err(Error::Unsupported {
            what: "--systemd-cgroup".into(),
            why: "berth-runtime manages cgroups through cgroupfs only; drop the flag".into(),
        });
    }
    let rt = Runtime::new(state_root(cli.root.as_deref()));
    match &cli.cmd {
        Cmd::Spec { bundle, rootless_spec } => {
            write_spec(bundle, *rootless_spec)?;
            Ok(0)
        }
        Cmd::Create(a) => rt.create(&id(&a.id)?, &a.options()).map(|_| 0),
        Cmd::Start { id: i } => rt.start(&id(i)?).map(|_| 0),
        Cmd::Run { args, detach, keep: _ } => rt.run(&id(&args.id)?, &args.options(), *detach),
        Cmd::State { id: i } => {
            print_json(&rt.state(&id(i)?)?);
            Ok(0)
        }
        Cmd::Kill { id: i, signal, all } => rt.kill(&id(i)?, parse_signal(signal)?, *all).map(|_| 0),
        Cmd::Delete { id: i, force } => {
            let cid = id(i)?;
            match rt.delete(&cid, *force) {
                // runc's delete --force of a missing container succeeds.
                Err(Error::NotFound(_)) if *force => Ok(0),
                r => r.map(|_| 0),
            }
        }
        Cmd::Pause { id: i } => rt.pause(&id(i)?).map(|_| 0),
        Cmd::Resume { id: i } => rt.resume(&id(i)?).map(|_| 0),
        Cmd::Exec(a) => exec(&rt, a),
        Cmd::Ps { id: i, format, ps_args } => ps(&rt, &id(i)?, format, ps_args),
        Cmd::List { format, quiet } => {
            let all = rt.list()?;
            if *quiet {
                all.iter().for_each(|s| println!("{}", s.id));
            } else if format == "json" {
                println!("{}", serde_json::to_string(&all).expect("serializable"));
            } else {
                println!("{:<12} {:<8} {:<10} {:<40} {:<32} OWNER", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
                for s in all {
                    println!("{:<12} {:<8} {:<10} {:<40} {:<32} {}", s.id, s.pid, s.status, s.bundle.display(), s.created, if s.owner.is_empty() { "root" } else { &s.owner });
                }
            }
            Ok(0)
        }
        Cmd::Events { id: i, stats, interval } => events(&rt, &id(i)?, *stats, interval),
        Cmd::Update(a) => {
            let r = a.resources()?;
            rt.update(&id(&a.id)?, &r).map(|_| 0)
        }
        Cmd::Features => {
            print_json(&features::features());
            Ok(0)
        }
    }
}

fn state_root(given: Option<&std::path::Path>) -> PathBuf {
    if let Some(p) = given {
        return p.to_owned();
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !rustix::process::geteuid().is_root() => PathBuf::from(dir).join("berth-runtime"),
        _ => PathBuf::from("/run/berth-runtime"),
    }
}

fn write_spec(bundle: &std::path::Path, rootless: bool) -> Result<(), Error> {
    let path = bundle.join("config.json");
    if path.exists() {
        return Err(Error::InvalidConfig(format!("{} exists already; remove it first", path.display())));
    }
    let mut spec = if rootless {
        oci_spec::runtime::Spec::rootless(rustix::process::getuid().as_raw(), rustix::process::getgid().as_raw())
    } else {
        oci_spec::runtime::Spec::default()
    };
    if let Some(p) = spec.process_mut() {
        // runc's default process runs a shell on a terminal.
        p.set_terminal(Some(true));
    }
    let json = serde_json::to_vec_pretty(&spec).expect("spec serializes");
    std::fs::write(&path, json).map_err(|e| Error::ReadConfig { path, source: e })
}

/// `SIGTERM`, `TERM`, `15`.
pub fn parse_signal(s: &str) -> Result<rustix::process::Signal, Error> {
    let bad = || Error::InvalidConfig(format!("unknown signal {s:?}"));
    if let Ok(n) = s.parse::<i32>() {
        return rustix::process::Signal::from_named_raw(n).ok_or_else(bad);
    }
    let name = s.to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    let n = match name {
        "HUP" => libc::SIGHUP, "INT" => libc::SIGINT, "QUIT" => libc::SIGQUIT, "ILL" => libc::SIGILL,
        "TRAP" => libc::SIGTRAP, "ABRT" | "IOT" => libc::SIGABRT, "BUS" => libc::SIGBUS, "FPE" => libc::SIGFPE,
        "KILL" => libc::SIGKILL, "USR1" => libc::SIGUSR1, "SEGV" => libc::SIGSEGV, "USR2" => libc::SIGUSR2,
        "PIPE" => libc::SIGPIPE, "ALRM" => libc::SIGALRM, "TERM" => libc::SIGTERM, "STKFLT" => libc::SIGSTKFLT,
        "CHLD" => libc::SIGCHLD, "CONT" => libc::SIGCONT, "STOP" => libc::SIGSTOP, "TSTP" => libc::SIGTSTP,
        "TTIN" => libc::SIGTTIN, "TTOU" => libc::SIGTTOU, "URG" => libc::SIGURG, "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ, "VTALRM" => libc::SIGVTALRM, "PROF" => libc::SIGPROF, "WINCH" => libc::SIGWINCH,
        "IO" | "POLL" => libc::SIGIO, "PWR" => libc::SIGPWR, "SYS" => libc::SIGSYS,
        _ => return Err(bad()),
    };
    rustix::process::Signal::from_named_raw(n).ok_or_else(bad)
}

fn exec(rt: &Runtime, a: &ExecArgs) -> Result<i32, Error> {
    let cid = id(&a.id)?;
    let mut process: oci_spec::runtime::Process = match &a.process {
        Some(p) => {
            let data = std::fs::read(p).map_err(|e| Error::ReadConfig { path: p.clone(), source: e })?;
            serde_json::from_slice(&data).map_err(|e| Error::ParseConfig { path: p.clone(), source: e })?
        }
        None => {
            if a.args.is_empty() {
                return Err(Error::InvalidConfig("exec needs --process or the command to run".into()));
            }
            // Like runc: start from the container's own process (env, user, caps, cwd).
            let sd = crate::state::StateDir::open(&rt.root, &cid)?;
            let mut p = sd.load_config()?.process().clone().unwrap_or_default();
            p.set_args(Some(a.args.clone()));
            p.set_terminal(Some(a.tty));
            p
        }
    };
    if let Some(cwd) = &a.cwd {
        process.set_cwd(cwd.clone());
    }
    if !a.env.is_empty() {
        let mut env = process.env().clone().unwrap_or_default();
        for kv in &a.env {
            let key = kv.split('=').next().unwrap_or(kv);
            env.retain(|e| e.split('=').next() != Some(key));
            env.push(kv.clone());
        }
        process.set_env(Some(env));
    }
    if let Some(u) = &a.user {
        let (uid, gid) = u.split_once(':').unwrap_or((u, "0"));
        let uid = uid.parse().map_err(|_| Error::InvalidConfig(format!("--user {u}: uid must be a number")))?;
        let gid = gid.parse().map_err(|_| Error::InvalidConfig(format!("--user {u}: gid must be a number")))?;
        process.user_mut().set_uid(uid);
        process.user_mut().set_gid(gid);
    }
    if !a.additional_gids.is_empty() {
        process.user_mut().set_additional_gids(Some(a.additional_gids.clone()));
    }
    if !a.cap.is_empty() {
        let mut caps = process.capabilities().clone().unwrap_or_default();
        let extra: Vec<oci_spec::runtime::Capability> = a
            .cap
            .iter()
            .map(|c| serde_json::from_value(serde_json::Value::String(c.clone())).map_err(|_| Error::InvalidConfig(format!("unknown capability {c}"))))
            .collect::<Result<_, _>>()?;
        for set in ["bounding", "effective", "permitted", "inheritable", "ambient"] {
            let mut cur = match set {
                "bounding" => caps.bounding().clone(),
                "effective" => caps.effective().clone(),
                "permitted" => caps.permitted().clone(),
                "inheritable" => caps.inheritable().clone(),
                _ => caps.ambient().clone(),
            }
            .unwrap_or_default();
            cur.extend(extra.iter().copied());
            match set {
                "bounding" => caps.set_bounding(Some(cur)),
                "effective" => caps.set_effective(Some(cur)),
                "permitted" => caps.set_permitted(Some(cur)),
                "inheritable" => caps.set_inheritable(Some(cur)),
                _ => caps.set_ambient(Some(cur)),
            };
        }
        process.set_capabilities(Some(caps));
    }
    if a.no_new_privs {
        process.set_no_new_privileges(Some(true));
    }
    if a.apparmor.as_deref().is_some_and(|p| !p.is_empty()) || a.process_label.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(Error::Unsupported { what: "--apparmor / --process-label".into(), why: "this host has neither AppArmor nor SELinux enabled".into() });
    }
    rt.exec(&cid, ExecOptions { process, console_socket: a.console_socket.clone(), pid_file: a.pid_file.clone(), detach: a.detach, preserve_fds: a.preserve_fds })
}

fn ps(rt: &Runtime, cid: &ContainerId, format: &str, ps_args: &[String]) -> Result<i32, Error> {
    let pids = rt.pids(cid)?;
    if format == "json" {
        println!("{}", serde_json::to_string(&pids).expect("serializable"));
        return Ok(0);
    }
    let args: Vec<String> = if ps_args.is_empty() { vec!["-ef".into()] } else { ps_args.to_vec() };
    let out = std::process::Command::new("ps").args(&args).output().map_err(|e| Error::io(cid.as_str(), "run ps", e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let Some(header) = lines.next() else { return Ok(0) };
    let pid_col = header.split_whitespace().position(|h| h == "PID").ok_or_else(|| Error::InvalidConfig("ps output has no PID column".into()))?;
    println!("{header}");
    for l in lines {
        if l.split_whitespace().nth(pid_col).and_then(|p| p.parse::<i32>().ok()).is_some_and(|p| pids.contains(&p)) {
            println!("{l}");
        }
    }
    Ok(0)
}

fn parse_interval(s: &str) -> Result<std::time::Duration, Error> {
    let bad = || Error::InvalidConfig(format!("--interval {s:?}: use a duration such as 5s or 500ms"));
    let (num, unit) = s.find(|c: char| !c.is_ascii_digit() && c != '.').map(|i| s.split_at(i)).unwrap_or((s, "s"));
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        _ => return Err(bad()),
    };
    if secs <= 0.0 {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

fn events(rt: &Runtime, cid: &ContainerId, once: bool, interval: &str) -> Result<i32, Error> {
    let every = parse_interval(interval)?;
    loop {
        let stats = rt.stats(cid)?;
        let line = serde_json::json!({"type": "stats", "id": cid.as_str(), "data": stats});
        if writeln!(std::io::stdout(), "{line}").is_err() {
            return Ok(0);
        }
        if once {
            return Ok(0);
        }
        std::thread::sleep(every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        for s in ["TERM", "SIGTERM", "term", "15"] {
            assert_eq!(parse_signal(s).expect(s).as_raw(), libc::SIGTERM);
        }
        assert_eq!(parse_signal("KILL").expect("kill").as_raw(), 9);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("0").is_err());
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5s").expect("5s").as_secs(), 5);
        assert_eq!(parse_interval("250ms").expect("ms").as_millis(), 250);
        assert!(parse_interval("x").is_err());
    }

    #[test]
    fn runc_style_command_lines_parse() {
        let c = Cli::try_parse_from(["berth-runtime", "--root", "/r", "--log", "/l", "--log-format", "json", "create", "--bundle", "/b", "--pid-file", "/p", "--console-socket", "/s", "x"]).expect("create");
        assert!(matches!(c.cmd, Cmd::Create(ref a) if a.id == "x" && a.bundle == std::path::Path::new("/b")));
        let c = Cli::try_parse_from(["berth-runtime", "exec", "-t", "--cwd", "/tmp", "-e", "A=1", "x", "sh", "-c", "echo hi"]).expect("exec");
        assert!(matches!(c.cmd, Cmd::Exec(ref a) if a.args == ["sh", "-c", "echo hi"] && a.tty));
        let c = Cli::try_parse_from(["berth-runtime", "kill", "--all", "x", "KILL"]).expect("kill");
        assert!(matches!(c.cmd, Cmd::Kill { all: true, .. }));
    }
}
