//! berthd end to end: a daemon per test, driven by the real docker CLI and by raw HTTP.

mod cli;
mod lifecycle;
mod tty;
mod api;
mod hostile;
mod dockerpy;
mod images;
mod files;
mod tls;
mod volumes;
mod networks;
mod runtimes;

use berth_testutil::daemon::TestDaemon;

pub const BERTHD: &str = env!("CARGO_BIN_EXE_berthd");

/// A daemon with busybox:latest loaded.
pub fn daemon(name: &str) -> TestDaemon {
    let d = TestDaemon::start(BERTHD, name);
    d.load_busybox();
    d
}
