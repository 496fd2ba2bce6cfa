//! A container's life under its shim: output logged in json-file format, exit recorded,
//! everything removed when it ends; kill through the control socket.

use serde_json::json;

use crate::fixture::{alive, config, is_rfc3339_nano, Shim};

#[test]
fn exit_code_logs_and_cleanup() {
    let mut s = Shim::new("exit3");
    let script = "echo out1; echo err1 >&2; echo out2; printf partial; exit 3";
    let pid = s.start(&config(&["sh", "-c", script], false), &[]);
    assert!(pid > 0);
    let exit = s.wait_exit();
    assert_eq!(exit["exit_code"], 3, "{exit}");
    assert!(exit["signal"].is_null(), "{exit}");
    assert_eq!(exit["oom_killed"], false, "{exit}");
    assert!(is_rfc3339_nano(exit["finished_at"].as_str().expect("finished_at")), "{exit}");

    let mut entries = s.log_entries();
    let stderr: Vec<_> = entries.iter().filter(|(_, st)| st == "stderr").cloned().collect();
    entries.retain(|(_, st)| st == "stdout");
    let stdout: Vec<&str> = entries.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(stdout, ["out1\n", "out2\n", "partial"]);
    assert_eq!(stderr, [("err1\n".to_owned(), "stderr".to_owned())]);

    assert!(!alive(pid), "the container's init is gone");
    assert!(!s.runtime_root().join(&s.id).exists(), "the runtime state is removed");
    assert!(s.leftovers().is_empty(), "{:?}", s.leftovers());
}

#[test]
fn kill_through_the_socket() {
    let mut s = Shim::new("kill");
    let pid = s.start(&config(&["sleep", "1000"], false), &["--log-driver", "none"]);
    let mut c = s.connect();
    let st = c.request(&json!({"op": "state"}));
    assert_eq!(st["ok"], true, "{st}");
    assert_eq!(st["pid"], pid, "{st}");
    assert_eq!(st["status"], "running", "{st}");
    assert_eq!(st["shim_pid"], s.shim_pid.expect("shim pid"), "{st}");
    assert_eq!(c.request(&json!({"op": "kill", "signal": 9})), json!({"ok": true}));
    let exit = s.wait_exit();
    assert_eq!(exit["exit_code"], 137, "{exit}");
    assert_eq!(exit["signal"], 9, "{exit}");
    assert!(!s.log_path().exists(), "--log-driver none writes no log");
}

#[test]
fn a_bad_bundle_fails_start_with_a_message_and_leaves_nothing() {
    let s = Shim::new("badbundle");
    let mut cfg = config(&["true"], false);
    cfg["root"]["path"] = json!("no-such-rootfs");
    let out = std::process::Command::new(crate::fixture::SHIM).args(s.start_args(&cfg, &[])).output().expect("run berth-shim");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&s.id), "stderr names the container: {err}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(!s.socket().exists(), "no control socket is left");
}

#[test]
fn an_oom_kill_is_recorded() {
    let mut s = Shim::new("oom");
    let mut cfg = config(&["dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"], false);
    cfg["linux"]["resources"] = json!({"memory": {"limit": 16 << 20}});
    s.start(&cfg, &[]);
    let exit = s.wait_exit();
    assert_eq!(exit["exit_code"], 137, "a 256 MiB buffer under a 16 MiB limit: {exit}");
    assert_eq!(exit["signal"], 9, "{exit}");
    assert_eq!(exit["oom_killed"], true, "{exit}");
}
