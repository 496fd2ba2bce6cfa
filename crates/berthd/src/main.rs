//! berthd: resolves its settings, takes the data root (one daemon per root), opens the engine,
//! and serves the Docker Engine API on its sockets until SIGTERM or SIGINT, when it stops
//! serving and exits 0, leaving containers running.

mod config;
mod tls;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use berth_engine::{Engine, Principal};
use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};

fn main() -> ExitCode {
    let flags = config::Flags::parse();
    let settings = match flags.resolve() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("berthd: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_max_level(settings.log_level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().worker_threads(2).max_blocking_threads(64).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berthd: start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(run(settings));
    // A client still being served from the blocking pool (a long log read) must not hold the
    // exit: containers keep running anyway.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berthd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Holds `<data-root>/berthd.lock` for the daemon's life: a second daemon on the same root is
/// refused, naming the first.
fn lock_data_root(data_root: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(data_root).with_context(|| format!("create the data root {}", data_root.display()))?;
    let path = data_root.join("berthd.lock");
    let f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).with_context(|| format!("open {}", path.display()))?;
    if rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        let other = std::fs::read_to_string(&path).unwrap_or_default();
        bail!("another berthd (pid {}) is already using the data root {}; stop it first, or give this one its own --data-root", other.trim(), data_root.display());
    }
    f.set_len(0).context("truncate the lock file")?;
    std::fs::write(&path, std::process::id().to_string()).context("write the lock file")?;
    Ok(f)
}

/// The gid of `group`, creating it (`groupadd --system`) when it does not exist.
fn socket_gid(group: &str) -> Option<u32> {
    let find = || {
        std::fs::read_to_string("/etc/group").ok().and_then(|s| {
            s.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() >= 3 && f[0] == group).then(|| f[2].parse().ok()).flatten()
            })
        })
    };
    if let Some(g) = find() {
        return Some(g);
    }
    let made = std::process::Command::new("groupadd").arg("--system").arg(group).status();
    match made {
        Ok(s) if s.success() => find(),
        _ => {
            tracing::warn!(group, "could not create the socket group; the socket stays root's alone");
            None
        }
    }
}

fn bind(path: &Path, gid: Option<u32>) -> anyhow::Result<tokio::net::UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    // We hold the data root's lock, so a socket file here is a dead daemon's.
    let _ = std::fs::remove_file(path);
    let l = tokio::net::UnixListener::bind(path).with_context(|| format!("listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).with_context(|| format!("chmod {}", path.display()))?;
    if let Some(g) = gid {
        rustix::fs::chown(path, None, Some(rustix::fs::Gid::from_raw(g))).with_context(|| format!("chown {}", path.display()))?;
    }
    Ok(l)
}

/// The exec root holds per-boot state (shim sockets, pid files, bundles, network namespaces),
/// as `/run` does where it is a tmpfs, as on most hosts. Where it is on a persistent file
/// system instead (this project's machines keep `/run` on the root disk), a new, empty exec
/// root gets a tmpfs of its own: nothing in it may outlive a reboot, and every container made
/// and removed would otherwise create and delete about fifteen inodes on that disk. An exec
/// root that already holds something (a running daemon's containers) is left as it is, and so
/// is one where no tmpfs can be mounted.
fn exec_root_in_memory(exec_root: &Path) -> anyhow::Result<()> {
    const TMPFS_MAGIC: u64 = 0x0102_1994;
    const RAMFS_MAGIC: u64 = 0x8584_58f6;
    std::fs::create_dir_all(exec_root).with_context(|| format!("create the exec root {}", exec_root.display()))?;
    let st = rustix::fs::statfs(exec_root).with_context(|| format!("statfs {}", exec_root.display()))?;
    #[allow(clippy::unnecessary_cast)] // f_type is signed on some targets
    let kind = st.f_type as u64;
    if kind == TMPFS_MAGIC || kind == RAMFS_MAGIC {
        return Ok(());
    }
    let empty = std::fs::read_dir(exec_root).with_context(|| format!("read {}", exec_root.display()))?.next().is_none();
    if !empty {
        tracing::info!(exec_root = %exec_root.display(), "the exec root is on a persistent file system and holds state: kept there");
        return Ok(());
    }
    match rustix::mount::mount("tmpfs", exec_root, "tmpfs", rustix::mount::MountFlags::NOSUID, Some(c"mode=0711")) {
        Ok(()) => tracing::info!(exec_root = %exec_root.display(), "the exec root was on a persistent file system: mounted a tmpfs there"),
        Err(e) => tracing::info!(exec_root = %exec_root.display(), error = %e, "the exec root stays on its persistent file system (no tmpfs could be mounted)"),
    }
    Ok(())
}

async fn run(s: config::Settings) -> anyhow::Result<()> {
    let _lock = lock_data_root(&s.data_root)?;
    exec_root_in_memory(&s.exec_root)?;
    let cfg = berth_engine::Config {
        data_root: s.data_root.clone(),
        exec_root: s.exec_root.clone(),
        shim_bin: s.shim_bin.clone(),
        cgroup_parent: s.cgroup_parent.clone(),
        default_ulimits: s.default_ulimits.clone(),
        default_stop_timeout: 10,
        runtimes: s.runtimes.clone(),
        default_runtime: s.default_runtime.clone(),
        registry: s.registry.clone(),
        network: s.network.clone(),
    };
    let (engine, warnings) = Engine::open(cfg).await.map_err(|e| anyhow::anyhow!(berth_engine::error::chain(&e))).context("open the engine")?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    let gid = socket_gid(&s.group);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut servers = Vec::new();
    for path in &s.unix_sockets {
        let l = bind(path, gid)?;
        servers.push(tokio::spawn(berth_api::serve(l, engine.clone(), Principal::Admin, stop_rx.clone())));
        println!("berthd: listening on unix://{}", path.display());
        tracing::info!(socket = %path.display(), "API listening");
    }
    if let Some(files) = &s.tls {
        let config = tls::server_config(&files.ca, &files.cert, &files.key)?;
        for addr in &s.tcp {
            let l = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listen on tcp://{addr}"))?;
            servers.push(tokio::spawn(tls::serve(l, config.clone(), engine.clone(), stop_rx.clone())));
            println!("berthd: listening on tcp://{addr} (mutual TLS)");
            tracing::info!(%addr, "API listening with mutual TLS");
        }
    }
    std::fs::write(&s.pidfile, std::process::id().to_string()).with_context(|| format!("write the pid file {}", s.pidfile.display()))?;
    let mut term = signal(SignalKind::terminate()).context("handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("handle SIGINT")?;
    let _ = signal(SignalKind::pipe());
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tracing::info!("shutting down: containers keep running");
    engine.shut_down();
    let _ = stop_tx.send(true);
    for path in &s.unix_sockets {
        let _ = std::fs::remove_file(path);
    }
    let _ = std::fs::remove_file(&s.pidfile);
    for srv in servers {
        let _ = srv.await;
    }
    Ok(())
}

