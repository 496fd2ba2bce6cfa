//! Terminals: `docker run -it` through a real pty (script(1)): raw mode, the window size, and
//! the detach keys; `docker attach` to a running container; pause, restart.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_testutil::daemon::wait_until;

use crate::daemon;

/// Runs `cmd` (a shell command line) under script(1), feeding it `input` after `delay`.
fn in_pty(d: &berth_testutil::daemon::TestDaemon, cmd: &str, input: &[(u64, &[u8])]) -> String {
    let mut child = Command::new("script")
        .args(["-qec", cmd, "/dev/null"])
        .env("DOCKER_HOST", format!("unix://{}", d.sock.display()))
        .env("DOCKER_CONFIG", d.dir.join("docker-config"))
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
fn run_it_gets_a_terminal_of_the_callers_size() {
    let d = daemon("tty");
    let out = in_pty(&d, "stty cols 77 rows 22; docker run -it --rm busybox sh -c 'tty; stty size; echo $TERM'", &[]);
    assert!(out.contains("/dev/pts/0\r\n22 77\r\nxterm\r\n"), "{out:?}");
}

#[test]
fn the_detach_keys_leave_the_container_running() {
    let d = daemon("detach");
    let out = in_pty(&d, "docker run -it --name dk busybox sh", &[(1500, b"echo inside\r"), (500, b"\x10\x11"), (500, b"")]);
    assert!(out.contains("inside\r\n"), "{out:?}");
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.State.Status}}", "dk"]), "running\n");
    // Attach again and end the shell.
    let out = in_pty(&d, "docker attach dk", &[(1000, b"echo back\r"), (300, b"exit 5\r")]);
    assert!(out.contains("back\r\n"), "{out:?}");
    wait_until(10, "the container to exit", || d.docker_ok(&["inspect", "-f", "{{.State.Status}}", "dk"]) == "exited\n");
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.State.ExitCode}}", "dk"]), "5\n");
}

#[test]
fn pause_unpause_and_restart() {
    let d = daemon("pause");
    d.docker_ok(&["run", "-d", "--name", "pp", "busybox", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]);
    let pid = d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", "pp"]);
    d.docker_ok(&["pause", "pp"]);
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "pp"]), "paused true\n");
    assert!(d.docker_ok(&["ps", "--format", "{{.Status}}"]).contains("(Paused)"));
    let out = d.docker(&["exec", "pp", "true"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("is paused"), "{out:?}");
    d.docker_ok(&["unpause", "pp"]);
    d.docker_ok(&["restart", "-t", "2", "pp"]);
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.State.Status}}", "pp"]), "running\n");
    assert_ne!(d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", "pp"]), pid, "a new process");
}
