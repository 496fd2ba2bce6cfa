//! A container with a terminal: raw output over attach, and resize changing what `stty size`
//! reports inside.

use serde_json::json;

use crate::fixture::{config, Shim};

#[test]
fn tty_output_and_resize() {
    let mut s = Shim::new("tty");
    let script = "while true; do stty size; sleep 0.1; done";
    s.start(&config(&["sh", "-c", script], true), &["--tty"]);
    let mut c = s.connect();
    assert_eq!(c.request(&json!({"op": "attach", "stdout": true})), json!({"ok": true}));
    assert_eq!(s.connect().request(&json!({"op": "resize", "height": 40, "width": 120})), json!({"ok": true}));
    c.raw_until("40 120\r\n");
    assert_eq!(s.connect().request(&json!({"op": "resize", "height": 25, "width": 77})), json!({"ok": true}));
    c.raw_until("25 77\r\n");
    assert_eq!(s.connect().request(&json!({"op": "kill", "signal": 9}))["ok"], true);
    assert_eq!(s.wait_exit()["signal"], 9);
    let log = s.log_entries();
    assert!(log.iter().all(|(_, st)| st == "stdout"), "a tty has one stream");
    assert!(log.iter().any(|(l, _)| l == "40 120\r\n"), "{log:?}");
}

#[test]
fn resize_without_a_tty_is_refused() {
    let mut s = Shim::new("notty");
    s.start(&config(&["sleep", "1000"], false), &["--log-driver", "none"]);
    let mut c = s.connect();
    let r = c.request(&json!({"op": "resize", "height": 40, "width": 120}));
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(c.request(&json!({"op": "kill", "signal": 9}))["ok"], true);
    s.wait_exit();
}
