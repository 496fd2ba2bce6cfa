//! Hostile clients over raw Unix sockets: each gets a 4xx or a closed connection, never a hang,
//! and the daemon keeps serving everyone else meanwhile and afterwards. And a hostile container
//! that tries to overwrite the shim's binary (CVE-2019-5736).

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
use serde_json::json;

use crate::daemon;
use berth_testutil::daemon::{parse_response, wait_until, Response, TestDaemon};

/// The longest any single read or write may take before the test calls the daemon hung.
const WAIT: Duration = Duration::from_secs(20);

/// Connects to `sock` without ever blocking on a full listen backlog: retries until `deadline`.
fn connect_by(sock: &Path, deadline: Instant) -> std::io::Result<UnixStream> {
    let addr = SocketAddrUnix::new(sock)?;
    loop {
        let fd = rustix::net::socket_with(AddressFamily::UNIX, SocketType::STREAM, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC, None)?;
        match rustix::net::connect(&fd, &addr) {
            Ok(()) => {
                let s = UnixStream::from(fd);
                s.set_nonblocking(false)?;
                return Ok(s);
            }
            Err(Errno::AGAIN) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => return Err(e.into()),
        }
    }
}

/// A connection with bounded reads and writes.
#[track_caller]
fn connect(sock: &Path) -> UnixStream {
    let s = connect_by(sock, Instant::now() + WAIT).unwrap_or_else(|e| panic!("connect to {} within {WAIT:?}: {e}", sock.display()));
    s.set_read_timeout(Some(WAIT)).expect("read timeout");
    s.set_write_timeout(Some(WAIT)).expect("write timeout");
    s
}

/// One `read`, retried when interrupted: a socket with a read timeout returns EINTR after the
/// test process is stopped and continued, even without a signal handler (signal(7)).
fn read_some(s: &mut UnixStream, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match s.read(buf) {
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

/// `GET /_ping` on a fresh connection: asserts 200 "OK" and returns how long it took.
#[track_caller]
fn ping(sock: &Path) -> Duration {
    let t = Instant::now();
    let mut s = connect(sock);
    s.write_all(b"GET /_ping HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n\r\n").expect("send /_ping");
    let mut raw = Vec::new();
    if let Err(e) = s.read_to_end(&mut raw) {
        assert!(!matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "the daemon did not answer /_ping within {WAIT:?}");
    }
    let r = parse_response(&raw);
    assert_eq!((r.status, r.text().as_str()), (200, "OK"), "/_ping");
    t.elapsed()
}

/// What a hostile request got back.
#[derive(Debug)]
enum Outcome {
    /// The daemon closed the connection without a response (the reason, if the read failed).
    Closed(String),
    Resp(Response),
}

/// Reads everything the daemon sends until it closes the connection; panics if it neither
/// answers nor closes within [`WAIT`].
#[track_caller]
fn outcome(s: &mut UnixStream) -> Outcome {
    let mut raw = Vec::new();
    let mut why = String::from("end of stream");
    loop {
        let mut buf = [0u8; 64 * 1024];
        match read_some(s, &mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("the daemon neither answered nor closed the connection within {WAIT:?}; got so far: {:?}", String::from_utf8_lossy(&raw))
            }
            // A reset after (or instead of) the response: whatever arrived counts.
            Err(e) => {
                why = e.to_string();
                break;
            }
        }
    }
    if raw.is_empty() {
        Outcome::Closed(why)
    } else {
        Outcome::Resp(parse_response(&raw))
    }
}

/// Sends `bytes` on a fresh connection (tolerating a write error: the daemon may hang up
/// first) and returns what came back.
#[track_caller]
fn send(sock: &Path, bytes: &[u8]) -> Outcome {
    let mut s = connect(sock);
    let _ = s.write_all(bytes);
    outcome(&mut s)
}

/// [`send`], then half-closes the connection: the daemon sees the end of the stream and cannot
/// wait for the rest of an incomplete request.
#[track_caller]
fn send_and_close(sock: &Path, bytes: &[u8]) -> Outcome {
    let mut s = connect(sock);
    let _ = s.write_all(bytes);
    let _ = s.shutdown(Shutdown::Write);
    outcome(&mut s)
}

fn post_head(path: &str, len: usize) -> String {
    format!("POST {path} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n")
}

fn create_with(body: &[u8]) -> Vec<u8> {
    let mut b = post_head("/containers/create", body.len()).into_bytes();
    b.extend_from_slice(body);
    b
}

/// A 400 with a JSON error body whose message contains `want`.
#[track_caller]
fn assert_400(o: &Outcome, want: &str, what: &str) {
    let Outcome::Resp(r) = o else { panic!("{what}: the daemon closed the connection instead of answering 400: {o:?}") };
    assert_eq!(r.status, 400, "{what}: {}", r.text());
    let m = r.message();
    assert!(m.contains(want), "{what}: message {m:?} does not contain {want:?}");
}

/// A 4xx (one of `statuses`) or a closed connection.
#[track_caller]
fn assert_refused(o: &Outcome, statuses: &[u16], what: &str) {
    match o {
        Outcome::Closed(why) => eprintln!("{what}: connection closed without a response ({why})"),
        Outcome::Resp(r) => assert!(statuses.contains(&r.status), "{what}: want {statuses:?} or a closed connection, got {} {}", r.status, r.text()),
    }
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

#[test]
fn bad_json_bodies_are_400s_with_a_message() {
    let d = TestDaemon::start(crate::BERTHD, "hostile-json");
    let malformed: [&[u8]; 6] = [
        br#"{"Image": "busybox", "Cmd": ["true"]"#,
        br#"{"Image": busybox}"#,
        b"not json at all",
        b"[1, 2",
        b"{\"Image\": \"\xff\xfe\"}",
        br#"{"Image": "busybox"} trailing"#,
    ];
    for body in malformed {
        let what = format!("malformed body {:?}", String::from_utf8_lossy(body));
        assert_400(&send(&d.sock, &create_with(body)), "invalid JSON", &what);
        ping(&d.sock);
    }
    let wrong_type = serde_json::to_vec(&json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Memory": "64m"}})).expect("json");
    assert_400(&send(&d.sock, &create_with(&wrong_type)), "invalid JSON", "\"Memory\":\"64m\"");
    ping(&d.sock);
    let o = send(&d.sock, &create_with(br#"{"Image": "busybox", "Cmd": ["true"], "Image": "busybox"}"#));
    assert_400(&o, "duplicate", "duplicate keys");
    ping(&d.sock);
    // a body declared as something else, and a negative memory limit, as dockerd refuses them
    let body = br#"{"Image": "busybox", "Cmd": ["true"]}"#;
    let r = berth_testutil::daemon::request(&d.sock, "POST", "/containers/create", Some(body), &[("Content-Type", "text/plain")]);
    assert_eq!((r.status, r.message()), (400, "Content-Type specified (text/plain) must be 'application/json'".to_owned()));
    let r = d.api("POST", "/containers/create", Some(&json!({"Image": "busybox", "HostConfig": {"Memory": -5}})));
    assert_eq!((r.status, r.message()), (400, "Minimum memory limit allowed is 6MB".to_owned()));
    // Nothing was created by any of them.
    assert_eq!(d.api("GET", "/containers/json?all=1", None).json(), json!([]));
}

#[test]
fn a_body_over_the_limit_is_refused_while_others_are_served() {
    let d = TestDaemon::start(crate::BERTHD, "hostile-huge");
    const SIZE: usize = 20 << 20;
    let mut s = connect(&d.sock);
    let mut w = s.try_clone().expect("clone the stream");
    let (half_tx, half_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    // A JSON document that would be valid if the daemon read it all: 20 MiB of one string.
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let prefix = br#"{"Image":"busybox","Cmd":["true"],"Env":["X="#;
        let suffix = br#""]}"#;
        w.write_all(post_head("/containers/create", SIZE).as_bytes())?;
        w.write_all(prefix)?;
        let filler = vec![b'a'; 1 << 20];
        let mut left = SIZE - prefix.len() - suffix.len();
        let mut paused = false;
        while left > 0 {
            if !paused && left < SIZE / 2 {
                paused = true;
                let _ = half_tx.send(());
                let _ = go_rx.recv_timeout(WAIT);
            }
            let n = left.min(filler.len());
            w.write_all(&filler[..n])?;
            left -= n;
        }
        w.write_all(suffix)
    });
    // Half the body is in: the daemon answers someone else meanwhile.
    let halfway = half_rx.recv_timeout(WAIT);
    let during = ping(&d.sock);
    assert!(during < Duration::from_secs(5), "/_ping took {during:?} while a huge body was arriving");
    drop(go_tx);
    let o = outcome(&mut s);
    drop(s);
    let written = writer.join().expect("the writer thread");
    if let Outcome::Resp(r) = &o {
        assert_eq!(r.status, 413, "{}", r.text());
        assert!(r.message().contains("larger than"), "{}", r.message());
    }
    eprintln!("20 MiB body: halfway {halfway:?}, writer {written:?}, outcome {o:?}");
    ping(&d.sock);
    assert_eq!(d.api("GET", "/containers/json?all=1", None).json(), json!([]));
}

#[test]
fn a_truncated_chunked_body_is_refused_while_others_are_served() {
    let d = TestDaemon::start(crate::BERTHD, "hostile-chunk");
    let head = "POST /containers/create HTTP/1.1\r\nHost: berth\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    // 0x20 bytes announced, 12 sent, then the client stops writing.
    let mut s = connect(&d.sock);
    s.write_all(head.as_bytes()).expect("send head");
    s.write_all(b"20\r\n{\"Image\":\"b").expect("send a partial chunk");
    let during = ping(&d.sock);
    assert!(during < Duration::from_secs(5), "/_ping took {during:?} while a chunked body was pending");
    s.shutdown(Shutdown::Write).expect("half-close");
    let o = outcome(&mut s);
    assert_refused(&o, &[400], "truncated chunk");
    ping(&d.sock);
    // A chunk size that is not hex.
    let o = send(&d.sock, format!("{head}zz\r\n{{}}\r\n0\r\n\r\n").as_bytes());
    assert_refused(&o, &[400], "chunk size zz");
    ping(&d.sock);
    assert_eq!(d.api("GET", "/containers/json?all=1", None).json(), json!([]));
}

#[test]
fn garbage_instead_of_a_request_is_closed_or_400() {
    let d = TestDaemon::start(crate::BERTHD, "hostile-garbage");
    let garbage: [&[u8]; 6] = [
        b"\x00\x01\x02\xff\xfe\xfd garbage",
        b"HELLO THERE\r\n\r\n",
        b"GET\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 a TLS hello on a plain socket",
        b"GET /_ping HTTP/1.1\r\nHost berth no colon\r\n\r\n",
        b"\r\n\r\n\r\n",
    ];
    for g in garbage {
        let o = send_and_close(&d.sock, g);
        assert_refused(&o, &[400], &format!("{:?}", String::from_utf8_lossy(g)));
        ping(&d.sock);
    }
    // A request line longer than the daemon's read buffer (1 MiB).
    let mut long = b"GET /".to_vec();
    long.resize(2 << 20, b'a');
    let o = send_and_close(&d.sock, &long);
    assert_refused(&o, &[400, 414, 431], "a 2 MiB request line");
    ping(&d.sock);
}

#[test]
fn a_dropped_hijacked_attach_leaves_the_container_running() {
    let d = daemon("hostile-attach");
    let r = d.api(
        "POST",
        "/containers/create?name=att",
        Some(&json!({
            "Image": "busybox",
            "Cmd": ["sh", "-c", "while true; do echo tick; sleep 0.1; done"],
            "OpenStdin": true,
            "AttachStdin": true,
            "AttachStdout": true,
            "AttachStderr": true,
            "StdinOnce": false,
        })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = d.api("POST", "/containers/att/start", None);
    assert_eq!(r.status, 204, "{}", r.text());

    let mut s = connect(&d.sock);
    s.write_all(b"POST /containers/att/attach?stream=1&stdout=1&stderr=1&stdin=1 HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n").expect("send the attach request");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = read_some(&mut s, &mut buf).unwrap_or_else(|e| panic!("read the attach response: {e}; got {:?}", String::from_utf8_lossy(&got)));
        assert!(n > 0, "the daemon closed the attach connection: {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&got[..head_end]).into_owned();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let mut stream = got[head_end + 4..].to_vec();
    let deadline = Instant::now() + WAIT;
    while count(&stream, b"tick") < 2 {
        assert!(Instant::now() < deadline, "no output on the attach stream: {stream:?}");
        let n = read_some(&mut s, &mut buf).expect("read the attach stream");
        assert!(n > 0, "the attach stream ended early");
        stream.extend_from_slice(&buf[..n]);
    }
    // The client writes a little stdin, half-closes, and output still flows afterwards.
    s.write_all(b"ignored input\n").expect("write stdin");
    s.shutdown(Shutdown::Write).expect("half-close the attach connection");
    let before = count(&stream, b"tick");
    let deadline = Instant::now() + WAIT;
    while count(&stream, b"tick") < before + 2 {
        assert!(Instant::now() < deadline, "output stopped after the client half-closed");
        let n = read_some(&mut s, &mut buf).expect("read the attach stream after the half-close");
        assert!(n > 0, "the daemon ended the attach stream when the client half-closed its input");
        stream.extend_from_slice(&buf[..n]);
    }
    ping(&d.sock);
    // Now the client vanishes without reading what the container keeps writing.
    drop(s);
    std::thread::sleep(Duration::from_millis(500));
    ping(&d.sock);
    let logs = |d: &TestDaemon| count(&d.api("GET", "/containers/att/logs?stdout=1", None).body, b"tick");
    let seen = logs(&d);
    wait_until(10, "the container's log to keep growing after the attach client went", || logs(&d) > seen + 3);
    let st = d.api("GET", "/containers/att/json", None).json();
    assert_eq!((st["State"]["Status"].as_str(), st["State"]["Running"].as_bool()), (Some("running"), Some(true)), "{}", st["State"]);
    ping(&d.sock);
    let r = d.api("DELETE", "/containers/att?force=1", None);
    assert_eq!(r.status, 204, "{}", r.text());
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn ten_thousand_idle_connections_do_not_starve_a_new_one() {
    // The daemon inherits this process's limit: raise it first (soft up to hard).
    let lim = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    if lim.current != lim.maximum {
        rustix::process::setrlimit(rustix::process::Resource::Nofile, rustix::process::Rlimit { current: lim.maximum, maximum: lim.maximum }).expect("raise RLIMIT_NOFILE to its hard limit");
    }
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current.unwrap_or(u64::MAX);
    let soft = usize::try_from(soft).unwrap_or(usize::MAX);
    let d = TestDaemon::start(crate::BERTHD, "hostile-idle");
    let pid = d.pid();
    // The daemon's own fds, once the connections of its start-up probe and a ping are gone.
    ping(&d.sock);
    let mut baseline = open_fds(pid);
    let mut stable_since = Instant::now();
    wait_until(10, "the daemon's fd count to settle", || {
        let now = open_fds(pid);
        if now != baseline {
            (baseline, stable_since) = (now, Instant::now());
        }
        stable_since.elapsed() > Duration::from_millis(300)
    });
    // Room for this process's other fds (parallel tests) and the daemon's own.
    let n = 10_000.min(soft.saturating_sub(open_fds(std::process::id()).max(baseline) + 512));
    assert!(n >= 1000, "RLIMIT_NOFILE is {soft}: too low for this test");
    if n < 10_000 {
        eprintln!("RLIMIT_NOFILE is {soft}: opening {n} idle connections, not 10000");
    }
    let t = Instant::now();
    let deadline = t + Duration::from_secs(60);
    let mut idle = Vec::with_capacity(n);
    for i in 0..n {
        let s = connect_by(&d.sock, deadline).unwrap_or_else(|e| panic!("idle connection {i} of {n} after {:?}: {e}", t.elapsed()));
        idle.push(s);
    }
    eprintln!("{n} idle connections opened in {:?}", t.elapsed());
    wait_until(30, "the daemon to accept every idle connection", || open_fds(pid) >= baseline + n);
    let took = ping(&d.sock);
    assert!(took < Duration::from_secs(5), "/_ping took {took:?} with {n} idle connections open");
    // Idle connections are still open: none was dropped to make room.
    assert!(open_fds(pid) >= baseline + n, "the daemon has {} fds, want at least {}", open_fds(pid), baseline + n);
    drop(idle);
    wait_until(30, "the daemon to release the idle connections", || open_fds(pid) < baseline + 50);
    ping(&d.sock);
}

#[test]
fn a_client_that_half_closes_after_its_request_still_gets_the_response() {
    // Allowed by HTTP/1.1 (RFC 9112 §9.6) and answered by Docker's Go server: `nc -N`, socat
    // and some SDKs shut down their write side once the request is out.
    let d = daemon("hostile-halfclose");
    let r = d.api("POST", "/containers/create?name=hc", Some(&json!({"Image": "busybox", "Cmd": ["sleep", "1"]})));
    assert_eq!(r.status, 201, "{}", r.text());
    let r = d.api("POST", "/containers/hc/start", None);
    assert_eq!(r.status, 204, "{}", r.text());
    // The response comes a second after the client's end of stream.
    let o = send_and_close(&d.sock, b"POST /containers/hc/wait HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n\r\n");
    let Outcome::Resp(r) = o else { panic!("POST /containers/hc/wait, then a half-close: the daemon closed the connection without a response: {o:?}") };
    assert_eq!(r.status, 200, "{}", r.text());
    let body: Option<serde_json::Value> = serde_json::from_slice(&r.body).ok();
    assert_eq!(body.as_ref().map(|b| &b["StatusCode"]), Some(&json!(0)), "POST /containers/hc/wait, then a half-close: the body was cut: {r:?}");
    ping(&d.sock);
}

/// A container with CAP_SYS_PTRACE whose /bin/sh is `#!/proc/self/exe`: each `docker exec sh`
/// runs the interpreter /proc/self/exe of the exec's init, a fork of the shim, inside the
/// container; a loop appends to every executable it sees there. berthd starts shims from a
/// read-only view of berth-shim, so its inits need not re-execute themselves: the binary
/// on disk stays as it was, and what the container sees of it is the view ("/").
#[test]
fn a_container_cannot_overwrite_the_shim_binary_through_proc_self_exe() {
    let d = daemon("cve5736");
    let shim = std::path::Path::new(crate::BERTHD).with_file_name("berth-shim");
    let before = std::fs::read(&shim).expect("read berth-shim");
    let overwriter = "rm /bin/sh && printf '#!/proc/self/exe\\n' > /bin/sh && chmod 755 /bin/sh && touch /ready\n".to_owned()
        + &berth_testutil::exe_overwriter_loop(6)
        + "sleep 1000";
    d.docker_ok(&["run", "-d", "--name", "evil", "--cap-add", "SYS_PTRACE", "busybox", "/bin/busybox", "sh", "-c", &overwriter]);
    wait_until(20, "the evil /bin/sh", || d.docker(&["exec", "evil", "/bin/busybox", "test", "-e", "/ready"]).status.success());
    for _ in 0..8 {
        // The kernel ran berth-shim, the exec's init, as the interpreter inside the container;
        // it refused the script's path as a subcommand.
        let out = d.docker(&["exec", "evil", "/bin/sh"]);
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand '/bin/sh'"), "{out:?}");
    }
    wait_until(20, "the attack loop to end", || d.docker(&["exec", "evil", "/bin/busybox", "test", "-e", "/done"]).status.success());
    let seen = d.docker(&["exec", "evil", "/bin/busybox", "cat", "/seen"]);
    let seen = String::from_utf8_lossy(&seen.stdout);
    assert!(!seen.contains("wrote"), "the container wrote to an executable outside it:\n{seen}");
    assert!(seen.lines().all(|l| l == "saw /"), "a shim's process showed its on-disk binary:\n{seen}");
    assert!(std::fs::read(&shim).expect("read berth-shim") == before, "berth-shim changed");
    d.docker_ok(&["rm", "-f", "evil"]);
}
