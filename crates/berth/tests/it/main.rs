//! berth against a real berthd: each test starts its own daemon (own data root, exec root,
//! socket and cgroup parent) with busybox loaded, runs command lines with `berth` and with the
//! real `docker` CLI against that same daemon, and compares what they print and how they exit.

mod compare;
mod containers;
mod errors;
mod files;
mod images;
mod networks;
mod tls;
mod tty;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use berth_testutil::daemon::TestDaemon;

pub const BERTH: &str = env!("CARGO_BIN_EXE_berth");

/// berthd, built into the same target directory as `berth`.
pub fn berthd() -> PathBuf {
    let p = PathBuf::from(BERTH).with_file_name("berthd");
    assert!(p.exists(), "{} is not built: run `cargo build -p berthd -p berth-shim --bins` first (scripts/test.sh does)", p.display());
    p
}

/// A daemon with busybox:latest loaded.
pub fn daemon(name: &str) -> TestDaemon {
    let d = TestDaemon::start(&berthd().to_string_lossy(), name);
    d.load_busybox();
    d
}

/// `berth` aimed at `d` through BERTH_HOST (DOCKER_HOST is cleared so it cannot be the one used).
pub fn berth_cmd(d: &TestDaemon, args: &[&str]) -> Command {
    let mut c = Command::new(BERTH);
    c.args(args)
        .env("BERTH_HOST", format!("unix://{}", d.sock.display()))
        .env_remove("DOCKER_HOST")
        .stdin(Stdio::null());
    c
}

pub fn berth(d: &TestDaemon, args: &[&str]) -> Output {
    berth_cmd(d, args).output().expect("run berth")
}

#[track_caller]
pub fn berth_ok(d: &TestDaemon, args: &[&str]) -> String {
    let out = berth(d, args);
    assert!(
        out.status.success(),
        "berth {} failed ({}):\nstdout: {}\nstderr: {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
