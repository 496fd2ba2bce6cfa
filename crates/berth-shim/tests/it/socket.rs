//! The control socket is a private filesystem socket (never abstract: CVE-2020-15257), it
//! survives bad requests, and the shim stays small.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};

use serde_json::json;

use crate::fixture::{config, status_field, Shim};

#[test]
fn control_socket_is_private_and_not_abstract() {
    let mut s = Shim::new("sockmode");
    s.start(&config(&["sleep", "1000"], false), &["--log-driver", "none"]);
    let meta = std::fs::metadata(s.socket()).expect("stat shim.sock");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
    let unix = std::fs::read_to_string("/proc/net/unix").expect("read /proc/net/unix");
    let path = s.socket().to_string_lossy().into_owned();
    assert!(unix.lines().any(|l| l.ends_with(&path)), "a filesystem socket at {path}");
    assert!(!unix.lines().any(|l| l.contains('@') && l.contains(&s.id)), "no abstract socket names the container");

    let mut c = s.connect();
    for bad in ["not json", r#"{"op":"reboot"}"#, r#"{"op":"kill","signal":"x"}"#] {
        use std::io::Write;
        c.sock.write_all(format!("{bad}\n").as_bytes()).expect("send");
        let r = c.reply();
        assert_eq!(r["ok"], false, "{bad}: {r}");
    }
    assert_eq!(c.request(&json!({"op": "state"}))["status"], "running", "the connection still works");
    assert_eq!(c.request(&json!({"op": "kill", "signal": 9}))["ok"], true);
    s.wait_exit();
}

#[test]
fn shim_rss_is_measured() {
    let mut s = Shim::new("rss");
    s.start(&config(&["sleep", "1000"], false), &[]);
    let shim = s.shim_pid.expect("shim pid");
    // Let it settle into its loop, with a client served once.
    assert_eq!(s.connect().request(&json!({"op": "state"}))["ok"], true);
    // A young container is served from the full image; then the shim moves to the small one.
    let exe = || std::fs::read_link(format!("/proc/{shim}/exe")).expect("read the shim's exe");
    crate::fixture::wait_until(20, "the shim to serve from the small binary", || exe().ends_with("berth-shim-serve"));
    let rss = status_field(shim, "VmRSS");
    let kib: u64 = rss.trim_end_matches(" kB").trim().parse().expect("VmRSS in kB");
    let parts = ["RssAnon", "RssFile", "RssShmem"].map(|k| format!("{k} {}", status_field(shim, k)));
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    eprintln!("berth-shim VmRSS: {kib} KiB ({build} build; {})", parts.join(", "));
    // The goal (under 2 MiB) is for the release build; an unoptimised one maps a larger binary.
    let limit = if cfg!(debug_assertions) { 16 * 1024 } else { 2 * 1024 };
    assert!(kib < limit, "shim RSS {kib} KiB is over {limit} KiB");
    assert_eq!(s.connect().request(&json!({"op": "kill", "signal": 9}))["ok"], true);
    s.wait_exit();
}
