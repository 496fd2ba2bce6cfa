//! Terminals: the pty master handed to `--console-socket` over SCM_RIGHTS, a shell session
//! through it, its window size, and `exec -t`.

use std::io::{Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
use serde_json::json;

use crate::fixture::{docker_config, Test, BIN};

/// Accepts one connection on `listener` and receives the descriptor it carries.
fn receive_pty(listener: &UnixListener, runtime: &mut Child) -> OwnedFd {
    listener.set_nonblocking(true).expect("nonblocking listener");
    let deadline = Instant::now() + Duration::from_secs(30);
    let conn = loop {
        match listener.accept() {
            Ok((c, _)) => break c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(st) = runtime.try_wait().expect("poll runtime") {
                    panic!("the runtime exited ({st}) without connecting to the console socket");
                }
                assert!(Instant::now() < deadline, "no connection on the console socket in 30 s");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept on console socket: {e}"),
        }
    };
    conn.set_nonblocking(false).expect("blocking conn");
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut anc = RecvAncillaryBuffer::new(&mut space);
    let mut name = [0u8; 64];
    rustix::net::recvmsg(&conn, &mut [std::io::IoSliceMut::new(&mut name)], &mut anc, RecvFlags::CMSG_CLOEXEC).expect("recvmsg on console socket");
    let fd = anc
        .drain()
        .find_map(|m| match m {
            RecvAncillaryMessage::ScmRights(mut fds) => fds.next(),
            _ => None,
        })
        .expect("the console socket message carries a descriptor");
    fd
}

/// Writes `input` to the pty master and reads until the other side closes.
fn converse(master: OwnedFd, input: &str) -> String {
    let mut f = std::fs::File::from(master);
    f.write_all(input.as_bytes()).expect("write to pty");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // EIO: the last slave descriptor closed.
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
            Err(e) => panic!("read pty: {e}"),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn wait_code(mut child: Child) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(st) = child.try_wait().expect("wait runtime") {
            return st.code().expect("runtime exited normally");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the runtime did not exit in 30 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `berth-runtime CMD --console-socket SOCKET ARGS...`
fn spawn(t: &Test, cmd: &str, args: &[&str], socket: &Path) -> Child {
    Command::new(BIN)
        .arg("--root")
        .arg(&t.root)
        .arg(cmd)
        .arg("--console-socket")
        .arg(socket)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn runtime")
}

#[test]
fn shell_session_through_the_console_socket() {
    let t = Test::new("console");
    let mut cfg = docker_config(&["sh"]);
    cfg["process"]["terminal"] = json!(true);
    cfg["process"]["consoleSize"] = json!({"height": 40, "width": 120});
    let b = t.bundle(&cfg);
    let id = t.id("c");
    let sock = t.path("console.sock");
    let listener = UnixListener::bind(&sock).expect("bind console socket");
    let mut rt = spawn(&t, "run", &["-b", &b.to_string_lossy(), &id], &sock);
    let master = receive_pty(&listener, &mut rt);
    let out = converse(master, "stty size; tty; echo hi; exit 3\n");
    assert_eq!(wait_code(rt), 3, "the shell's exit status: {out}");
    assert!(out.contains("\r\nhi\r\n") || out.contains("\nhi\r\n"), "{out:?}");
    assert!(out.contains("40 120"), "consoleSize: {out:?}");
    assert!(out.contains("/dev/pts/0"), "the shell's stdin is the pty: {out:?}");
}

#[test]
fn exec_with_a_terminal_through_the_console_socket() {
    let t = Test::new("exectty");
    let b = t.bundle(&docker_config(&["sleep", "1000"]));
    let id = t.id("c");
    t.start_detached(&b, &id);
    let sock = t.path("console.sock");
    let listener = UnixListener::bind(&sock).expect("bind console socket");
    let mut rt = spawn(&t, "exec", &["-t", &id, "sh"], &sock);
    let master = receive_pty(&listener, &mut rt);
    let out = converse(master, "tty; echo hi; exit 5\n");
    assert_eq!(wait_code(rt), 5, "{out:?}");
    assert!(out.contains("hi\r\n") && out.contains("/dev/pts/"), "{out:?}");
    t.rt(&["delete", "-f", &id]).ok();
}

/// Foreground `run` of a terminal container without a console socket: the runtime itself
/// copies between its own terminal (here a pty made by script(1)) and the container's.
#[test]
fn foreground_run_proxies_its_own_terminal() {
    let t = Test::new("fgtty");
    let mut cfg = docker_config(&["sh"]);
    cfg["process"]["terminal"] = json!(true);
    let b = t.bundle(&cfg);
    let id = t.id("c");
    let cmd = format!("{BIN} --root {} run -b {} {id}", t.root.display(), b.display());
    let mut script = Command::new("script")
        .args(["-qefc", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn script");
    let mut stdin = script.stdin.take().expect("stdin");
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(b"echo proxied-$((6*7)); tty; exit 3\n").expect("type into the terminal");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = script.try_wait().expect("wait for script") {
            break st;
        }
        assert!(Instant::now() < deadline, "the terminal session did not end");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    script.stdout.take().expect("stdout").read_to_string(&mut out).expect("read output");
    assert!(out.contains("proxied-42"), "the container's output came through the proxy: {out:?}");
    assert!(out.contains("/dev/pts/0"), "the container has its own pty: {out:?}");
    assert_eq!(status.code(), Some(3), "run exits with the shell's status: {out:?}");
}
