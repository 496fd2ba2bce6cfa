//! `berth`: docker's command line for berthd. It reaches the daemon only through the Docker
//! Engine API on its Unix socket ([`client`]), so whatever it does, the docker CLI could do too.
//!
//! A command flows like this: clap parses the arguments into a [`Cmd`]; `main` picks the
//! daemon address (`-H`, `BERTH_HOST`, `DOCKER_HOST`, the default socket), negotiates the API
//! version on a single-threaded tokio runtime, runs the command's function in [`cmd`], and
//! exits with its status: the container's for `run`, docker's 125/126/127 when berth or the
//! start failed, 1 for other errors.
//!
//! ```text
//! berth run --rm -it busybox sh
//! berth ps -a --format 'table {{.ID}}\t{{.Status}}'
//! berth inspect -f '{{.State.Pid}}' web
//! ```
#![forbid(unsafe_code)]

mod client;
mod cmd;
mod error;
mod format;
mod progress;
mod session;
mod template;
mod tls;
mod tty;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use cmd::{auth, df, exec, files, images, inspect, lifecycle, logs, networks, ps, run, system, update, volumes};
use error::CliError;

/// docker's help layout: usage, what the command does, then its options (or its commands).
const HELP: &str = "\nUsage:  {usage}\n\n{about}\n\nOptions:\n{options}\n";
const GROUP_HELP: &str = "\nUsage:  {usage}\n\n{about}\n\nCommands:\n{subcommands}\n\nOptions:\n{options}\n";

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    about = "A Docker-compatible container engine's command line",
    override_usage = "berth [OPTIONS] COMMAND",
    help_template = GROUP_HELP,
    disable_version_flag = true,
    subcommand_help_heading = "Commands",
    subcommand_value_name = "COMMAND",
    disable_help_subcommand = true
)]
struct Cli {
    /// Daemon socket to connect to (unix:///path)
    #[arg(short = 'H', long, value_name = "list")]
    host: Option<String>,
    /// Use TLS and verify the daemon's certificate (the only TLS berth speaks)
    #[arg(long)]
    tlsverify: bool,
    /// Trust certs signed only by this CA
    #[arg(long, value_name = "string")]
    tlscacert: Option<std::path::PathBuf>,
    /// Path to TLS certificate file
    #[arg(long, value_name = "string")]
    tlscert: Option<std::path::PathBuf>,
    /// Path to TLS key file
    #[arg(long, value_name = "string")]
    tlskey: Option<std::path::PathBuf>,
    /// Use TLS without verifying the daemon (refused: berth always verifies)
    #[arg(long, hide = true)]
    tls: bool,
    /// Enable debug mode (accepted for docker's sake)
    #[arg(short = 'D', long)]
    debug: bool,
    /// Set the logging level (accepted for docker's sake)
    #[arg(short = 'l', long = "log-level", value_name = "string", hide = true)]
    log_level: Option<String>,
    /// Print version information and quit
    #[arg(short = 'v', long)]
    version: bool,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Create and run a new container from an image
    Run(run::RunArgs),
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// List containers
    Ps(ps::PsArgs),
    /// List images
    Images(images::ImagesArgs),
    /// Download an image from a registry
    Pull(images::PullArgs),
    /// Upload an image to a registry
    Push(images::PushArgs),
    /// Show the berth version information
    Version(system::VersionArgs),
    /// Display system-wide information
    Info(system::InfoArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(run::AttachArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(files::CpArgs),
    /// Create a new container
    Create(run::CreateArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(inspect::DiffArgs),
    /// Get real time events from the server
    Events(system::EventsArgs),
    /// Export a container's filesystem as a tar archive
    Export(files::ExportArgs),
    /// Show the history of an image
    History(images::HistoryArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(images::ImportArgs),
    /// Return low-level information on berth objects
    Inspect(inspect::InspectArgs),
    /// Kill one or more running containers
    Kill(lifecycle::KillArgs),
    /// Load an image from a tar archive or STDIN
    Load(images::LoadArgs),
    /// Authenticate to a registry
    Login(auth::LoginArgs),
    /// Log out from a registry
    Logout(auth::LogoutArgs),
    /// Fetch the logs of a container
    Logs(logs::LogsArgs),
    /// Pause all processes within one or more containers
    Pause(lifecycle::ContainersArgs),
    /// List port mappings or a specific mapping for the container
    Port(inspect::PortArgs),
    /// Rename a container
    Rename(lifecycle::RenameArgs),
    /// Restart one or more containers
    Restart(lifecycle::StopArgs),
    /// Remove one or more containers
    Rm(lifecycle::RmArgs),
    /// Remove one or more images
    Rmi(images::RmiArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(images::SaveArgs),
    /// Start one or more stopped containers
    Start(run::StartArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(inspect::StatsArgs),
    /// Stop one or more running containers
    Stop(lifecycle::StopArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(images::TagArgs),
    /// Display the running processes of a container
    Top(inspect::TopArgs),
    /// Unpause all processes within one or more containers
    Unpause(lifecycle::ContainersArgs),
    /// Update configuration of one or more containers
    Update(update::UpdateArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(lifecycle::ContainersArgs),
    /// Manage containers
    #[command(subcommand, override_usage = "berth container COMMAND", disable_help_subcommand = true)]
    Container(ContainerCmd),
    /// Manage images
    #[command(subcommand, override_usage = "berth image COMMAND", disable_help_subcommand = true)]
    Image(ImageCmd),
    /// Manage networks
    #[command(subcommand, override_usage = "berth network COMMAND", disable_help_subcommand = true)]
    Network(networks::NetworkCmd),
    /// Manage berth
    #[command(subcommand, override_usage = "berth system COMMAND", disable_help_subcommand = true)]
    System(SystemCmd),
    /// Manage volumes
    #[command(subcommand, override_usage = "berth volume COMMAND", disable_help_subcommand = true)]
    Volume(volumes::VolumeCmd),
}

#[derive(Debug, Subcommand)]
enum ContainerCmd {
    /// Attach local standard input, output, and error streams to a running container
    Attach(run::AttachArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(files::CpArgs),
    /// Create a new container
    Create(run::CreateArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(inspect::DiffArgs),
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// Export a container's filesystem as a tar archive
    Export(files::ExportArgs),
    /// Display detailed information on one or more containers
    Inspect(inspect::InspectArgs),
    /// Kill one or more running containers
    Kill(lifecycle::KillArgs),
    /// Fetch the logs of a container
    Logs(logs::LogsArgs),
    /// List containers
    #[command(visible_aliases = ["ps", "list"])]
    Ls(ps::PsArgs),
    /// Pause all processes within one or more containers
    Pause(lifecycle::ContainersArgs),
    /// List port mappings or a specific mapping for the container
    Port(inspect::PortArgs),
    /// Remove all stopped containers
    Prune(lifecycle::PruneArgs),
    /// Rename a container
    Rename(lifecycle::RenameArgs),
    /// Restart one or more containers
    Restart(lifecycle::StopArgs),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(lifecycle::RmArgs),
    /// Create and run a new container from an image
    Run(run::RunArgs),
    /// Start one or more stopped containers
    Start(run::StartArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(inspect::StatsArgs),
    /// Stop one or more running containers
    Stop(lifecycle::StopArgs),
    /// Display the running processes of a container
    Top(inspect::TopArgs),
    /// Unpause all processes within one or more containers
    Unpause(lifecycle::ContainersArgs),
    /// Update configuration of one or more containers
    Update(update::UpdateArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(lifecycle::ContainersArgs),
}

#[derive(Debug, Subcommand)]
enum ImageCmd {
    /// Show the history of an image
    History(images::HistoryArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(images::ImportArgs),
    /// Display detailed information on one or more images
    Inspect(inspect::InspectArgs),
    /// Load an image from a tar archive or STDIN
    Load(images::LoadArgs),
    /// List images
    #[command(visible_alias = "list")]
    Ls(images::ImagesArgs),
    /// Remove unused images
    Prune(images::ImagePruneArgs),
    /// Download an image from a registry
    Pull(images::PullArgs),
    /// Upload an image to a registry
    Push(images::PushArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove")]
    Rm(images::RmiArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(images::SaveArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(images::TagArgs),
}

#[derive(Debug, Subcommand)]
enum SystemCmd {
    /// Show docker disk usage
    Df(df::DfArgs),
    /// Get real time events from the server
    Events(system::EventsArgs),
    /// Display system-wide information
    Info(system::InfoArgs),
    /// Remove unused data
    Prune(lifecycle::SystemPruneArgs),
}

impl Cmd {
    /// The exit status of berth's own failures: 125 for run and create, as docker.
    fn failure_status(&self) -> i32 {
        match self {
            Cmd::Run(_) | Cmd::Create(_) | Cmd::Container(ContainerCmd::Run(_) | ContainerCmd::Create(_)) => 125,
            _ => 1,
        }
    }

    /// `run` and `create` errors read `berth: <error>` and point at `--help`, as docker's do.
    fn help_hint(&self) -> Option<&'static str> {
        match self {
            Cmd::Run(_) | Cmd::Container(ContainerCmd::Run(_)) => Some("run"),
            Cmd::Create(_) | Cmd::Container(ContainerCmd::Create(_)) => Some("create"),
            _ => None,
        }
    }
}

async fn dispatch(client: &client::Client, cmd: &Cmd) -> error::Result<i32> {
    match cmd {
        Cmd::Run(a) | Cmd::Container(ContainerCmd::Run(a)) => run::run(client, a).await,
        Cmd::Create(a) | Cmd::Container(ContainerCmd::Create(a)) => run::create(client, a).await,
        Cmd::Start(a) | Cmd::Container(ContainerCmd::Start(a)) => run::start(client, a).await,
        Cmd::Attach(a) | Cmd::Container(ContainerCmd::Attach(a)) => run::attach(client, a).await,
        Cmd::Exec(a) | Cmd::Container(ContainerCmd::Exec(a)) => exec::exec(client, a).await,
        Cmd::Ps(a) | Cmd::Container(ContainerCmd::Ls(a)) => ps::ps(client, a).await,
        Cmd::Logs(a) | Cmd::Container(ContainerCmd::Logs(a)) => logs::logs(client, a).await,
        Cmd::Stop(a) | Cmd::Container(ContainerCmd::Stop(a)) => lifecycle::stop(client, a).await,
        Cmd::Restart(a) | Cmd::Container(ContainerCmd::Restart(a)) => lifecycle::restart(client, a).await,
        Cmd::Kill(a) | Cmd::Container(ContainerCmd::Kill(a)) => lifecycle::kill(client, a).await,
        Cmd::Rm(a) | Cmd::Container(ContainerCmd::Rm(a)) => lifecycle::rm(client, a).await,
        Cmd::Pause(a) | Cmd::Container(ContainerCmd::Pause(a)) => lifecycle::pause(client, a, true).await,
        Cmd::Unpause(a) | Cmd::Container(ContainerCmd::Unpause(a)) => lifecycle::pause(client, a, false).await,
        Cmd::Wait(a) | Cmd::Container(ContainerCmd::Wait(a)) => lifecycle::wait(client, a).await,
        Cmd::Rename(a) | Cmd::Container(ContainerCmd::Rename(a)) => lifecycle::rename(client, a).await,
        Cmd::Container(ContainerCmd::Prune(a)) => lifecycle::prune(client, a).await,
        Cmd::Cp(a) | Cmd::Container(ContainerCmd::Cp(a)) => files::cp(client, a).await,
        Cmd::Export(a) | Cmd::Container(ContainerCmd::Export(a)) => files::export(client, a).await,
        Cmd::Port(a) | Cmd::Container(ContainerCmd::Port(a)) => inspect::port(client, a).await,
        Cmd::Update(a) | Cmd::Container(ContainerCmd::Update(a)) => update::update(client, a).await,
        Cmd::System(SystemCmd::Df(a)) => df::df(client, a).await,
        Cmd::System(SystemCmd::Prune(a)) => lifecycle::system_prune(client, a).await,
        Cmd::Import(a) | Cmd::Image(ImageCmd::Import(a)) => images::import(client, a).await,
        Cmd::Login(a) => auth::login(client, a).await,
        Cmd::Volume(v) => volumes::run(client, v).await,
        Cmd::Network(n) => networks::run(client, n).await,
        Cmd::Logout(a) => auth::logout(a),
        Cmd::Inspect(a) => inspect::inspect(client, a, None).await,
        Cmd::Container(ContainerCmd::Inspect(a)) => inspect::inspect(client, a, Some("container")).await,
        Cmd::Image(ImageCmd::Inspect(a)) => inspect::inspect(client, a, Some("image")).await,
        Cmd::Top(a) | Cmd::Container(ContainerCmd::Top(a)) => inspect::top(client, a).await,
        Cmd::Diff(a) | Cmd::Container(ContainerCmd::Diff(a)) => inspect::diff(client, a).await,
        Cmd::Stats(a) | Cmd::Container(ContainerCmd::Stats(a)) => inspect::stats(client, a).await,
        Cmd::Images(a) | Cmd::Image(ImageCmd::Ls(a)) => images::images(client, a).await,
        Cmd::Tag(a) | Cmd::Image(ImageCmd::Tag(a)) => images::tag(client, a).await,
        Cmd::Rmi(a) | Cmd::Image(ImageCmd::Rm(a)) => images::rmi(client, a).await,
        Cmd::Load(a) | Cmd::Image(ImageCmd::Load(a)) => images::load(client, a).await,
        Cmd::Pull(a) | Cmd::Image(ImageCmd::Pull(a)) => images::pull(client, a).await,
        Cmd::Push(a) | Cmd::Image(ImageCmd::Push(a)) => images::push(client, a).await,
        Cmd::History(a) | Cmd::Image(ImageCmd::History(a)) => images::history(client, a).await,
        Cmd::Save(a) | Cmd::Image(ImageCmd::Save(a)) => images::save(client, a).await,
        Cmd::Image(ImageCmd::Prune(a)) => images::prune(client, a).await,
        Cmd::Version(a) => system::version(client, a).await,
        Cmd::Info(a) | Cmd::System(SystemCmd::Info(a)) => system::info(client, a).await,
        Cmd::Events(a) | Cmd::System(SystemCmd::Events(a)) => system::events(client, a).await,
    }
}

/// Docker's help layout for every subcommand, recursively.
fn docker_help(cmd: clap::Command) -> clap::Command {
    let template = if cmd.has_subcommands() { GROUP_HELP } else { HELP };
    cmd.help_template(template).mut_subcommands(docker_help)
}

fn main() {
    let matches = docker_help(Cli::command()).try_get_matches();
    let cli = match matches.and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(c) => c,
        Err(e) => std::process::exit(usage_error(&e)),
    };
    if cli.version {
        println!("berth version {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let Some(cmd) = cli.cmd else {
        let _ = docker_help(Cli::command()).print_help();
        return;
    };
    // The image takes hyphen values (its command's flags follow it), so a flag berth does not
    // know lands there: it is the unknown flag docker names.
    if let Cmd::Run(run::RunArgs { image_and_command: i, .. })
    | Cmd::Container(ContainerCmd::Run(run::RunArgs { image_and_command: i, .. }))
    | Cmd::Create(run::CreateArgs { image_and_command: i, .. })
    | Cmd::Container(ContainerCmd::Create(run::CreateArgs { image_and_command: i, .. })) = &cmd
    {
        if let Some(flag) = i.first().filter(|f| f.starts_with('-') && f.len() > 1) {
            std::process::exit(unknown_flag(flag));
        }
    }
    let rt = match tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth: start the I/O runtime: {e}");
            std::process::exit(cmd.failure_status());
        }
    };
    // logout only edits the credentials file: no daemon needed, as with docker.
    if let Cmd::Logout(a) = &cmd {
        std::process::exit(auth::logout(a).unwrap_or_else(|e| report(&cmd, &e)));
    }
    let host = client::choose_host(cli.host.as_deref());
    if cli.tls && !cli.tlsverify {
        eprintln!("berth does not speak TLS without verifying the daemon (--tls): use --tlsverify with --tlscacert");
        std::process::exit(cmd.failure_status());
    }
    let tls = tls::TlsFlags { verify: cli.tlsverify, ca: cli.tlscacert.clone(), cert: cli.tlscert.clone(), key: cli.tlskey.clone() }.with_env();
    quiet_broken_pipes();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            let client = client::Client::connect(&host, &tls).await?;
            dispatch(&client, &cmd).await
        })
    }));
    let code = match result {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => report(&cmd, &e),
        // A reader that went away (`berth info | head`): end quietly, with the status a shell
        // shows for a process that SIGPIPE ended, as docker's. Other panics were reported.
        Err(payload) if is_broken_pipe(payload.as_ref()) => 141,
        Err(_) => 101,
    };
    // Exit without dropping the runtime: a blocking read of stdin may still be pending.
    std::process::exit(code);
}

/// The subcommands named on the command line (`container ls`) and the last one's definition.
fn command_path() -> (String, clap::Command) {
    let mut cmd = docker_help(Cli::command());
    let mut names = Vec::new();
    for arg in std::env::args().skip(1) {
        if arg.starts_with('-') {
            continue;
        }
        let next = cmd.get_subcommands().find(|c| c.get_name() == arg || c.get_all_aliases().any(|a| a == arg)).cloned();
        match next {
            Some(c) => {
                names.push(c.get_name().to_owned());
                cmd = c;
            }
            None => break,
        }
    }
    (names.join(" "), cmd)
}

/// Prints a usage error in docker's words and returns docker's status: 125 for a flag, 1 for
/// a wrong number of arguments, 0 for help.
fn usage_error(e: &clap::Error) -> i32 {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let (path, cmd) = command_path();
    let usage = cmd.clone().render_usage().to_string();
    let usage = usage.trim_start_matches("Usage:").trim();
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.split_whitespace().next().unwrap_or("").to_owned(),
        _ => String::new(),
    };
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::DisplayVersion => {
            let _ = e.print();
            0
        }
        ErrorKind::UnknownArgument if arg.starts_with('-') => unknown_flag(&arg),
        ErrorKind::UnknownArgument | ErrorKind::MissingRequiredArgument | ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues
            if !path.is_empty() =>
        {
            let (what, verb) = wrong_arguments(&cmd).unwrap_or_else(|| ("accepts no arguments".to_owned(), "Run"));
            eprintln!("berth: 'berth {path}' {what}\n\nUsage:  {usage}\n\n{verb} 'berth {path} --help' for more information");
            1
        }
        _ => {
            let _ = e.print();
            125
        }
    }
}

/// docker's error for a flag the command does not have (`--bogus`, or `-Z` in a group); 125.
fn unknown_flag(arg: &str) -> i32 {
    let (path, cmd) = command_path();
    let usage = cmd.clone().render_usage().to_string();
    let usage = usage.trim_start_matches("Usage:").trim();
    let flag = arg.split('=').next().unwrap_or(arg);
    let what = match flag.strip_prefix("--") {
        Some(_) => format!("unknown flag: {flag}"),
        None => format!("unknown shorthand flag: '{}' in {flag}", flag.chars().nth(1).unwrap_or('-')),
    };
    eprintln!("{what}\n\nUsage:  {usage}\n\nRun 'berth {path} --help' for more information");
    125
}

/// docker's words for a wrong number of arguments to `cmd` (`requires 2 arguments`, `requires
/// at least 1 and at most 2 arguments`) and the verb of its closing line: "See" after a bare
/// "at least", "Run" otherwise. None when `cmd` takes no arguments.
fn wrong_arguments(cmd: &clap::Command) -> Option<(String, &'static str)> {
    let positionals: Vec<&clap::Arg> = cmd.get_positionals().collect();
    if positionals.is_empty() {
        return None;
    }
    let range = |a: &clap::Arg| a.get_num_args().unwrap_or_else(|| 1.into());
    let min: usize = positionals.iter().filter(|a| a.is_required_set()).map(|a| range(a).min_values()).sum();
    let unbounded = positionals.iter().any(|a| range(a).max_values() > 1);
    let max: usize = positionals.len();
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    Some(if unbounded {
        (format!("requires at least {} {}", min.max(1), plural(min.max(1))), "See")
    } else if min == max {
        (format!("requires {min} {}", plural(min)), "Run")
    } else if min == 0 {
        (format!("requires at most {max} {}", plural(max)), "Run")
    } else {
        (format!("requires at least {min} and at most {max} arguments"), "Run")
    })
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied()).unwrap_or("")
}

fn is_broken_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    panic_text(payload).contains("Broken pipe")
}

/// `println!` panics when stdout is a closed pipe (Rust ignores SIGPIPE); such a panic is not
/// a bug to report, so the hook stays silent for it. The unwinding still restores the terminal.
fn quiet_broken_pipes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_broken_pipe(info.payload()) {
            default(info);
        }
    }));
}

fn report(cmd: &Cmd, e: &CliError) -> i32 {
    if e.message.is_empty() {
        // Nothing to say (a closed pipe): the status tells.
        return e.status_for(cmd.failure_status());
    }
    // docker's create says what the daemon (or the platform's parse) answered as it is, with
    // status 1; only its own flag errors read as run's do.
    if matches!(cmd, Cmd::Create(_) | Cmd::Container(ContainerCmd::Create(_))) && e.status != Some(125) {
        eprintln!("{e}");
        return e.status.unwrap_or(1);
    }
    match cmd.help_hint() {
        Some(name) => eprintln!("berth: {e}\n\nRun 'berth {name} --help' for more information"),
        None => eprintln!("{e}"),
    }
    e.status_for(cmd.failure_status())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        // clap's own checks: unique short flags, valid defaults, in every subcommand.
        docker_help(Cli::command()).debug_assert();
        let cli = Cli::try_parse_from(["berth", "-H", "unix:///x", "run", "--rm", "-it", "busybox", "sh", "-c", "ls -l"]).unwrap();
        let Some(Cmd::Run(r)) = cli.cmd else { panic!("run") };
        assert_eq!(r.image_and_command, ["busybox", "sh", "-c", "ls -l"]);
        assert!(r.opts.rm && r.opts.interactive && r.opts.tty);
        // Everything after the image belongs to the container, as with docker.
        let cli = Cli::try_parse_from(["berth", "run", "busybox", "-d", "--rm"]).unwrap();
        let Some(Cmd::Run(r)) = cli.cmd else { panic!("run") };
        assert!(!r.detach && !r.opts.rm);
        assert_eq!(r.image_and_command, ["busybox", "-d", "--rm"]);
        let cli = Cli::try_parse_from(["berth", "exec", "-it", "web", "ls", "-la"]).unwrap();
        let Some(Cmd::Exec(e)) = cli.cmd else { panic!("exec") };
        assert_eq!(e.target, ["web", "ls", "-la"]);
        assert!(Cli::try_parse_from(["berth", "history", "-H=false", "busybox"]).is_ok());
    }
}
