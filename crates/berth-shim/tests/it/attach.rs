//! Attach over the control socket: live multiplexed output, stdin to the container, several
//! clients at once, and a client that stops reading never holds up the container or its log.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::fixture::{config, Shim};

#[test]
fn attach_gets_live_output_and_sends_stdin() {
    let mut s = Shim::new("attach");
    s.start(&config(&["sh", "-c", "cat; echo done >&2; exit 5"], false), &["--open-stdin"]);
    let mut both = s.connect();
    assert_eq!(both.request(&json!({"op": "attach", "stdin": true, "stdout": true, "stderr": true})), json!({"ok": true}));
    let mut out_only = s.connect();
    assert_eq!(out_only.request(&json!({"op": "attach", "stdout": true})), json!({"ok": true}));

    both.sock.write_all(b"hello shim\n").expect("write stdin");
    let got = both.frames_until(1, "hello shim\n");
    assert_eq!(got[1], "hello shim\n");
    assert_eq!(out_only.frames_until(1, "hello shim\n")[1], "hello shim\n");

    // stdin closes through another control connection: cat ends, sh reports on stderr.
    assert_eq!(s.connect().request(&json!({"op": "close_stdin"})), json!({"ok": true}));
    let got = both.frames_until(2, "done\n");
    assert_eq!(got[2], "done\n");
    assert_eq!(s.wait_exit()["exit_code"], 5);
    let log = s.log_entries();
    assert!(log.contains(&("hello shim\n".to_owned(), "stdout".to_owned())), "{log:?}");
    assert!(log.contains(&("done\n".to_owned(), "stderr".to_owned())), "{log:?}");
}

#[test]
fn attaching_stdin_needs_open_stdin() {
    let mut s = Shim::new("nostdin");
    s.start(&config(&["sleep", "1000"], false), &[]);
    let mut c = s.connect();
    let r = c.request(&json!({"op": "attach", "stdin": true, "stdout": true}));
    assert_eq!(r["ok"], false, "{r}");
    assert!(r["error"].as_str().is_some_and(|e| e.contains("--open-stdin")), "{r}");
    assert_eq!(c.request(&json!({"op": "kill", "signal": 9}))["ok"], true);
    s.wait_exit();
}

#[test]
fn a_client_that_stops_reading_does_not_block_the_container() {
    let mut s = Shim::new("stuck");
    // About 3 MB of output, far beyond what the socket and the shim buffer for one client.
    let script = "sleep 0.5; yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456 | head -n 30000; echo end";
    s.start(&config(&["sh", "-c", script], false), &[]);
    let mut stuck = s.connect();
    assert_eq!(stuck.request(&json!({"op": "attach", "stdout": true, "stderr": true})), json!({"ok": true}));
    let t = Instant::now();
    let exit = s.wait_exit();
    assert_eq!(exit["exit_code"], 0, "{exit}");
    assert!(t.elapsed() < Duration::from_secs(20), "the container ran to the end in {:?}", t.elapsed());
    let log = s.log_entries();
    assert_eq!(log.len(), 30001, "every line is logged");
    assert_eq!(log.last().map(|(l, _)| l.as_str()), Some("end\n"));
    drop(stuck);
}
