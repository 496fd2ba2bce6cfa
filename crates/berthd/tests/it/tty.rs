//! Terminals: `docker run -it` through a real pty (script(1)): raw mode, the window size, and
//! the detach keys; `docker attach` to a running container; pause, restart.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_testutil::daemon::wait_until;

use crate::daemon;

/// Runs `cmd` (a shell command line) under script(1), feeding it `input` after `delay`.
pub(crate) fn in_pty(d: &berth_testutil::daemon::TestDaemon, cmd: &str, input: &[(u64, &[u8])]) -> String {
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

/// `GET /containers/{id}/attach/ws`: a WebSocket client types into `cat` and reads it back.
#[test]
fn attach_over_a_websocket() {
    use std::io::{Read, Write};
    let d = crate::daemon("ws");
    d.docker_ok(&["run", "-d", "-i", "--name", "wscat", "busybox", "cat"]);
    let mut s = std::os::unix::net::UnixStream::connect(&d.sock).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
    s.write_all(b"GET /v1.50/containers/wscat/attach/ws?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").expect("handshake");
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).expect("read head");
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.to_ascii_lowercase().contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="), "{head}");
    // a masked text frame, as clients must send
    let payload = b"hello over ws\n";
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, c)| c ^ mask[i % 4]));
    s.write_all(&frame).expect("send frame");
    let mut got = Vec::new();
    while got.len() < payload.len() {
        let mut h = [0u8; 2];
        s.read_exact(&mut h).expect("frame header");
        assert_eq!(h[0], 0x81, "a final text frame");
        let mut data = vec![0u8; (h[1] & 0x7f) as usize];
        s.read_exact(&mut data).expect("frame payload");
        got.extend_from_slice(&data);
    }
    assert_eq!(got, payload);
    // close
    s.write_all(&[0x88, 0x80, 0, 0, 0, 0]).expect("close");
    let mut h = [0u8; 2];
    s.read_exact(&mut h).expect("close answer");
    assert_eq!(h[0], 0x88);
    d.docker_ok(&["rm", "-f", "wscat"]);
}

/// `docker exec -it`: a terminal of the caller's size with stdin, and no shim left behind.
#[test]
fn exec_it_gets_a_sized_terminal_and_stdin() {
    let d = daemon("execit");
    d.docker_ok(&["run", "-d", "--name", "box", "busybox", "sleep", "300"]);
    let out = in_pty(&d, "stty cols 91 rows 27; docker exec -it box sh -c 'stty size; read x; echo got $x'", &[(1500, b"typed\r")]);
    assert!(out.contains("27 91\r\n") && out.contains("got typed"), "{out:?}");
    // a failing exec -it (no such command) leaves no held shim behind
    let _ = in_pty(&d, "docker exec -it box no-such-command", &[]);
    d.docker_ok(&["rm", "-f", "box"]);
}
