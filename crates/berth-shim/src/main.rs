//! The berth-shim binary: `berth-shim start …` starts a detached per-container monitor and
//! prints the container's pid. The container init's second stage also enters here.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "berth-shim", about = "berth's per-container monitor")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start a container under a detached shim; print its pid.
    Start(StartArgs),
    /// The intermediate process of `start`: forks the monitor and exits.
    #[command(name = "__detach", hide = true)]
    Detach(StartArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Driver {
    JsonFile,
    None,
}

#[derive(Args)]
struct StartArgs {
    #[arg(long)]
    id: String,
    #[arg(long)]
    bundle: PathBuf,
    #[arg(long)]
    state_dir: PathBuf,
    #[arg(long)]
    runtime_root: PathBuf,
    /// Run the container with this OCI runtime binary instead of the built-in runtime.
    #[arg(long)]
    runtime_path: Option<PathBuf>,
    /// A global option for that binary (repeatable).
    #[arg(long, allow_hyphen_values = true)]
    runtime_arg: Vec<String>,
    #[arg(long)]
    log_path: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "json-file")]
    log_driver: Driver,
    #[arg(long)]
    tty: bool,
    #[arg(long)]
    open_stdin: bool,
    /// Create the container, then wait for a `start` request on the control socket.
    #[arg(long)]
    hold: bool,
    /// Run this OCI process (JSON) in the running container instead of creating one.
    #[arg(long)]
    exec_process: Option<PathBuf>,
    /// Rotate the json-file log when it would pass this many bytes.
    #[arg(long)]
    log_max_size: Option<u64>,
    /// Log files kept when rotating (the live one included).
    #[arg(long, default_value_t = 1)]
    log_max_files: u32,
}

impl StartArgs {
    fn resolve(self) -> Result<berth_shim::ShimOptions, String> {
        let id = berth_runtime::ContainerId::parse(&self.id).map_err(|e| format!("bad --id: {e}"))?;
        let log = match (self.log_driver, self.log_path) {
            (Driver::JsonFile, Some(p)) => berth_shim::LogDriver::JsonFile(p),
            (Driver::JsonFile, None) => return Err("--log-path is needed for the json-file log driver (or use --log-driver none)".into()),
            (Driver::None, _) => berth_shim::LogDriver::None,
        };
        // The shim runs in `/`: make every path absolute first.
        let abs = |p: PathBuf| std::path::absolute(&p).map_err(|e| format!("resolve {}: {e}", p.display()));
        let log = match log {
            berth_shim::LogDriver::JsonFile(p) => berth_shim::LogDriver::JsonFile(abs(p)?),
            none => none,
        };
        Ok(berth_shim::ShimOptions {
            id,
            bundle: abs(self.bundle)?,
            state_dir: abs(self.state_dir)?,
            runtime_root: abs(self.runtime_root)?,
            runtime_path: self.runtime_path,
            runtime_args: self.runtime_arg,
            log,
            tty: self.tty,
            open_stdin: self.open_stdin,
            hold: self.hold,
            exec_process: self.exec_process.map(abs).transpose()?,
            log_rotate: self.log_max_size.map(|max_size| berth_shim::log::Rotate { max_size, max_files: self.log_max_files.max(1) }),
        })
    }
}

fn main() -> ExitCode {
    // Started by the path /proc/self/fd/N (see ShimBinary), the kernel named us "N".
    let _ = rustix::thread::set_name(c"berth-shim");
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() == Some(std::ffi::OsStr::new(berth_runtime::process::init::STAGE2_ARG)) {
        let fd = args.next().map(|a| a.to_string_lossy().into_owned()).unwrap_or_default();
        berth_runtime::process::init::stage2_main(&fd);
    }
    let mut args = std::env::args().skip(1);
    let first = args.next();
    match first.as_deref() {
        // The container ended under the small serving binary: record and delete it.
        Some(berth_shim::monitor::FINISH_ARG) => {
            return ExitCode::from(berth_shim::monitor::finish_inherited(&args.next().unwrap_or_default()) as u8);
        }
        // Serving needs no more than the small binary has; this one can do it too.
        Some(berth_shim::monitor::SERVE_ARG) => {
            return ExitCode::from(berth_shim::monitor::serve_inherited(&args.next().unwrap_or_default()) as u8);
        }
        _ => {}
    }
    let cli = Cli::parse();
    let (cmd, start) = match cli.cmd {
        Cmd::Start(a) => ("start", a),
        Cmd::Detach(a) => ("detach", a),
    };
    let opts = match start.resolve() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("berth-shim: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cmd {
        "start" => match berth_shim::monitor::own_path().map(berth_shim::detach::ShimBinary::new).and_then(|bin| berth_shim::detach::launch(&bin, &opts)) {
            Ok(pid) => {
                println!("{pid}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("berth-shim: start container {}: {}", opts.id, berth_shim::error::chain(&e));
                ExitCode::FAILURE
            }
        },
        _ => match berth_shim::detach::intermediate(&opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        },
    }
}
