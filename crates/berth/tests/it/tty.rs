//! Terminals through a real pty (script(1)): raw mode while attached and restored after, the
//! window size at start and after a resize, the detach keys, and attach to a running container.
//! Input is typed only once the output shows what it answers (a prompt), not after a delay, so
//! a slow machine does not type into a terminal that is not raw yet.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_testutil::daemon::{wait_until, TestDaemon};

use crate::{berth_ok, daemon, BERTH};

/// A shell command line under script(1), `berth` as $B, the test's directory as $DIR.
struct Pty {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    fn start(d: &TestDaemon, cmd: &str) -> Pty {
        let mut child = Command::new("script")
            .args(["-qec", cmd, "/dev/null"])
            .env("B", BERTH)
            .env("DIR", &d.dir)
            .env("BERTH_HOST", format!("unix://{}", d.sock.display()))
            .env_remove("DOCKER_HOST")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run script(1)");
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().expect("stdout");
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("output lock").extend_from_slice(&buf[..n]);
            }
        });
        Pty { child, stdin, out }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().expect("output lock")).into_owned()
    }

    /// Waits until the output holds `want` `times` times in all.
    #[track_caller]
    fn wait_for(&self, want: &str, times: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.text().matches(want).count() < times {
            assert!(Instant::now() < deadline, "waited 30 s for {want:?} (x{times}) in {:?}", self.text());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).expect("write to the pty");
        stdin.flush().expect("flush");
    }

    /// Waits for the command line to end; returns all it printed.
    fn finish(mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.child.try_wait().expect("wait for script").is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "script did not end: {:?}", self.text());
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(self.stdin.take());
        std::thread::sleep(Duration::from_millis(50));
        self.text()
    }
}

const PROMPT: &str = "/ # ";

#[test]
fn a_tty_session_is_raw_sized_and_restored() {
    let d = daemon("tty");
    let p = Pty::start(&d, "stty cols 77 rows 22; $B run -it --rm busybox sh -c 'tty; stty size; echo $TERM'; echo rc=$?");
    let out = p.finish();
    assert!(out.contains("/dev/pts/0\r\n22 77\r\nxterm\r\n"), "{out:?}");
    assert!(out.contains("rc=0"), "{out:?}");
    // Raw mode: what we type is echoed once (by the container's terminal), not also by ours;
    // a resize reaches the container; our settings come back afterwards.
    let cmd = "stty cols 77 rows 22; before=$(stty -g); \
               (while [ ! -e $DIR/go ]; do sleep 0.05; done; stty cols 99 rows 33 </dev/tty; touch $DIR/done) & \
               $B run -it --rm busybox sh; echo rc=$?; \
               [ \"$(stty -g)\" = \"$before\" ] && echo restored";
    let mut p = Pty::start(&d, cmd);
    p.wait_for(PROMPT, 1);
    p.send(b"echo typed-$((40+2))\r");
    p.wait_for("typed-42\r\n", 1);
    std::fs::write(d.dir.join("go"), "").expect("signal the resize");
    wait_until(20, "the resize", || d.dir.join("done").exists());
    p.wait_for(PROMPT, 2);
    // SIGWINCH reaches berth at once; its resize request is asynchronous: ask until it shows.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut asked = 0;
    while !p.text().contains("33 99\r\n") {
        assert!(Instant::now() < deadline, "the resize did not reach the container: {:?}", p.text());
        p.send(b"stty size\r");
        asked += 1;
        p.wait_for(PROMPT, 2 + asked);
    }
    p.send(b"exit 3\r");
    let out = p.finish();
    assert_eq!(out.matches("echo typed-$((40+2))").count(), 1, "typed text echoed once: {out:?}");
    assert!(out.contains("rc=3"), "exit status of the container: {out:?}");
    assert!(out.contains("restored"), "terminal settings restored: {out:?}");
}

#[test]
fn detach_keys_leave_it_running_and_attach_comes_back() {
    let d = daemon("detach");
    let mut p = Pty::start(&d, "$B run -it --name dk busybox sh; echo rc=$?");
    p.wait_for(PROMPT, 1);
    p.send(b"echo inside\r");
    p.wait_for("inside\r\n", 1);
    p.send(b"\x10\x11");
    p.wait_for("rc=", 1);
    let out = p.finish();
    assert!(out.contains("rc=0"), "{out:?}");
    assert_eq!(berth_ok(&d, &["inspect", "-f", "{{.State.Status}}", "dk"]), "running\n");
    let mut p = Pty::start(&d, "$B attach dk; echo rc=$?");
    std::thread::sleep(Duration::from_millis(300));
    p.send(b"echo back\r");
    p.wait_for("back\r\n", 1);
    p.send(b"exit 5\r");
    let out = p.finish();
    assert!(out.contains("rc=5"), "attach exits with the container's status: {out:?}");
    wait_until(10, "the container to exit", || berth_ok(&d, &["inspect", "-f", "{{.State.Status}}", "dk"]) == "exited\n");
    // exec -it: raw, sized, its own status; exec -t without stdin.
    berth_ok(&d, &["run", "-d", "-it", "--name", "ee", "busybox", "sh"]);
    let mut p = Pty::start(&d, "stty cols 50 rows 20; $B exec -it ee sh; echo rc=$?");
    p.wait_for(PROMPT, 1);
    p.send(b"stty size\r");
    p.wait_for("20 50\r\n", 1);
    p.send(b"exit 7\r");
    let out = p.finish();
    assert!(out.contains("rc=7"), "{out:?}");
    let out = Pty::start(&d, "$B exec -t ee sh -c 'tty; exit 6'; echo rc=$?").finish();
    // Without -i the terminal stays cooked, as with docker: the container's \r\n shows as \r\r\n.
    assert!(out.contains("/dev/pts/1\r"), "{out:?}");
    assert!(out.contains("rc=6"), "{out:?}");
    // Custom detach keys; attach, unlike run, reports the detach as docker's does.
    let mut p = Pty::start(&d, "$B attach --detach-keys ctrl-a,x ee; echo rc=$?");
    std::thread::sleep(Duration::from_millis(300));
    p.send(b"echo hi\r");
    p.wait_for("hi\r\n", 1);
    p.send(b"\x01x");
    p.wait_for("rc=", 1);
    let out = p.finish();
    assert!(out.contains("read escape sequence\r\nrc=1"), "{out:?}");
    assert_eq!(berth_ok(&d, &["inspect", "-f", "{{.State.Running}}", "ee"]), "true\n");
}
