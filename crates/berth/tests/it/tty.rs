//! Terminals through a real pty (script(1)): raw mode while attached and restored after, the
//! window size at start and after a resize, the detach keys, and attach to a running container.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_testutil::daemon::{wait_until, TestDaemon};

use crate::{berth_ok, daemon, BERTH};

/// Runs `cmd` (a shell command line, `berth` on its PATH as $B) under script(1), feeding it
/// `input` after each delay (ms).
fn in_pty(d: &TestDaemon, cmd: &str, input: &[(u64, &[u8])]) -> String {
    let mut child = Command::new("script")
        .args(["-qec", cmd, "/dev/null"])
        .env("B", BERTH)
        .env("BERTH_HOST", format!("unix://{}", d.sock.display()))
        .env_remove("DOCKER_HOST")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run script(1)");
    let mut stdin = child.stdin.take().expect("stdin");
    for (delay, bytes) in input {
        std::thread::sleep(Duration::from_millis(*delay));
        stdin.write_all(bytes).expect("write to the pty");
        stdin.flush().expect("flush");
    }
    let out = child.wait_with_output().expect("script ends");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_tty_session_is_raw_sized_and_restored() {
    let d = daemon("tty");
    let out = in_pty(&d, "stty cols 77 rows 22; $B run -it --rm busybox sh -c 'tty; stty size; echo $TERM'; echo rc=$?", &[]);
    assert!(out.contains("/dev/pts/0\r\n22 77\r\nxterm\r\n"), "{out:?}");
    assert!(out.contains("rc=0"), "{out:?}");
    // Raw mode: what we type is echoed once (by the container's terminal), not also by ours;
    // our settings come back afterwards; a resize reaches the container.
    let cmd = "stty cols 77 rows 22; before=$(stty -g); \
               (sleep 1.5; stty cols 99 rows 33 </dev/tty) & \
               $B run -it --rm busybox sh; echo rc=$?; \
               [ \"$(stty -g)\" = \"$before\" ] && echo restored";
    let out = in_pty(&d, cmd, &[(2500, b"echo typed-$((40+2))\r"), (300, b"stty size\r"), (300, b"exit 3\r")]);
    assert_eq!(out.matches("echo typed-$((40+2))").count(), 1, "typed text echoed once: {out:?}");
    assert!(out.contains("typed-42\r\n"), "{out:?}");
    assert!(out.contains("33 99\r\n"), "the resize reached the container: {out:?}");
    assert!(out.contains("rc=3"), "exit status of the container: {out:?}");
    assert!(out.contains("restored"), "terminal settings restored: {out:?}");
}

#[test]
fn detach_keys_leave_it_running_and_attach_comes_back() {
    let d = daemon("detach");
    let out = in_pty(&d, "$B run -it --name dk busybox sh; echo rc=$?", &[(1500, b"echo inside\r"), (500, b"\x10\x11"), (800, b"")]);
    assert!(out.contains("inside\r\n"), "{out:?}");
    assert!(out.contains("rc=0"), "{out:?}");
    assert_eq!(berth_ok(&d, &["inspect", "-f", "{{.State.Status}}", "dk"]), "running\n");
    let out = in_pty(&d, "$B attach dk; echo rc=$?", &[(1000, b"echo back\r"), (300, b"exit 5\r")]);
    assert!(out.contains("back\r\n"), "{out:?}");
    assert!(out.contains("rc=5"), "attach exits with the container's status: {out:?}");
    wait_until(10, "the container to exit", || berth_ok(&d, &["inspect", "-f", "{{.State.Status}}", "dk"]) == "exited\n");
    // Custom detach keys, and exec -t. (berthd ends an exec with both a TTY and stdin at once,
    // and gives an exec's terminal no size, for the docker CLI as for berth: not tested here.)
    berth_ok(&d, &["run", "-d", "-it", "--name", "ee", "busybox", "sh"]);
    let out = in_pty(&d, "$B exec -t ee sh -c 'tty; exit 6'; echo rc=$?", &[]);
    // Without -i the terminal stays cooked, as with docker: the container's \r\n shows as \r\r\n.
    assert!(out.contains("/dev/pts/1\r"), "{out:?}");
    assert!(out.contains("rc=6"), "{out:?}");
    // attach, unlike run, reports the detach as docker's does: "read escape sequence", status 1.
    let out = in_pty(&d, "$B attach --detach-keys ctrl-a,x ee; echo rc=$?", &[(1000, b"echo hi\r"), (300, b"\x01x"), (500, b"")]);
    assert!(out.contains("hi\r\n") && out.contains("read escape sequence\r\nrc=1"), "{out:?}");
    assert_eq!(berth_ok(&d, &["inspect", "-f", "{{.State.Running}}", "ee"]), "true\n");
}
