//! The shim does not depend on whoever started it: with the "daemon" killed -9, the container
//! keeps running and its log keeps growing, with nothing lost.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::fixture::{alive, config, wait_until, Shim, SHIM};

/// The stdout lines of the log, as numbers; asserts they count up from 0 without a gap.
fn counted(s: &Shim) -> usize {
    let entries = s.log_entries();
    for (i, (line, stream)) in entries.iter().enumerate() {
        assert_eq!(stream, "stdout");
        assert_eq!(line, &format!("{i}\n"), "log entry {i}");
    }
    entries.len()
}

#[test]
fn chatty_container_keeps_logging_after_the_daemon_is_killed() {
    let mut s = Shim::new("chatty");
    let script = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.01; done";
    let args = s.start_args(&config(&["sh", "-c", script], false), &[]);
    let out = s.dir.join("daemon.out");
    // The "daemon": a process that starts the shim and stays around until it is killed.
    let mut daemon = Command::new("sh")
        .arg("-c")
        .arg("\"$0\" \"$@\" && exec sleep 1000")
        .arg(SHIM)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("daemon stdout"))
        .spawn()
        .expect("start the daemon");
    wait_until(30, "the shim to report the container's pid", || std::fs::read_to_string(&out).is_ok_and(|t| t.ends_with('\n')));
    s.pid = Some(std::fs::read_to_string(&out).expect("read").trim().parse().expect("a pid"));
    let shim = s.read_shim_pid();
    let ppid = crate::fixture::status_field(shim, "PPid");
    assert_ne!(ppid, daemon.id().to_string(), "the shim is not the daemon's child");
    assert_ne!(ppid, std::process::id().to_string(), "the shim is not the test's child");

    wait_until(30, "the first lines in the log", || counted(&s) >= 5);
    daemon.kill().expect("kill -9 the daemon");
    daemon.wait().expect("reap the daemon");
    let n1 = counted(&s);
    std::thread::sleep(Duration::from_millis(500));
    let n2 = counted(&s);
    assert!(n2 > n1 + 5, "the log grows with the daemon gone: {n1} then {n2}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(counted(&s) > n2, "and keeps growing");
    assert!(alive(shim) && alive(s.pid.expect("pid")), "shim and container still run");

    // A later "daemon" finds the shim and stops the container.
    let mut c = s.connect();
    assert_eq!(c.request(&json!({"op": "state"}))["status"], "running");
    assert_eq!(c.request(&json!({"op": "kill", "signal": 9}))["ok"], true);
    assert_eq!(s.wait_exit()["exit_code"], 137);
    counted(&s);
}
