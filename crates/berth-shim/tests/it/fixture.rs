//! The test's world: a busybox rootfs (made once per run), one shim per [`Shim`] with its own
//! runtime root, state dir and log, and the check that nothing was left behind: on drop the
//! container is killed if still running, and the test fails if the shim, the container's
//! process, its runtime state or its cgroup remain.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_testutil::unpack_busybox;
use serde_json::{json, Value};

pub const SHIM: &str = env!("CARGO_BIN_EXE_berth-shim");


fn scratch_dir(what: &str) -> PathBuf {
    berth_testutil::scratch_dir("bsh", what)
}

/// A config.json for `ARGS` in a busybox container with Docker's namespaces and mounts
/// (without a seccomp profile: the runtime's own tests cover that).
pub fn config(args: &[&str], terminal: bool) -> Value {
    let mut cfg = berth_testutil::docker_base_config(args, "shim");
    cfg["process"]["terminal"] = json!(terminal);
    cfg["process"]["env"] = json!(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"]);
    cfg["process"]["noNewPrivileges"] = json!(true);
    cfg
}

/// One container under one shim, in its own directory. Drop cleans up and checks.
pub struct Shim {
    pub name: String,
    pub dir: PathBuf,
    pub id: String,
    /// The container's init, once started.
    pub pid: Option<i32>,
    /// The shim process, once started.
    pub shim_pid: Option<i32>,
}

impl Shim {
    pub fn new(name: &str) -> Shim {
        let dir = scratch_dir(name);
        let id = format!("bsh-{}-{}", name.replace('_', "-"), std::process::id());
        Shim { name: name.to_owned(), dir, id, pid: None, shim_pid: None }
    }

    pub fn runtime_root(&self) -> PathBuf {
        self.dir.join("rt")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.join("shim")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("ctr.log")
    }

    pub fn socket(&self) -> PathBuf {
        self.state_dir().join("shim.sock")
    }

    /// Writes a bundle (busybox rootfs + `config`) and returns `berth-shim start` arguments
    /// for it, followed by `extra`.
    pub fn start_args(&self, config: &Value, extra: &[&str]) -> Vec<String> {
        let bundle = self.dir.join("bundle");
        if !bundle.exists() {
            unpack_busybox(&bundle.join("rootfs"));
        }
        std::fs::write(bundle.join("config.json"), serde_json::to_vec_pretty(config).expect("config serializes")).expect("write config.json");
        let mut a: Vec<String> = vec!["start".into(), "--id".into(), self.id.clone()];
        for (flag, p) in [("--bundle", bundle), ("--state-dir", self.state_dir()), ("--runtime-root", self.runtime_root()), ("--log-path", self.log_path())] {
            a.push(flag.into());
            a.push(p.to_string_lossy().into_owned());
        }
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    }

    /// `berth-shim start`: asserts it prints the container's pid and exits 0 at once.
    pub fn start(&mut self, config: &Value, extra: &[&str]) -> i32 {
        let t = Instant::now();
        let out = Command::new(SHIM).args(self.start_args(config, extra)).stdin(Stdio::null()).output().expect("run berth-shim start");
        assert!(out.status.success(), "berth-shim start failed: {out:?}");
        assert!(t.elapsed() < Duration::from_secs(30), "berth-shim start took {:?}", t.elapsed());
        let pid: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or_else(|_| panic!("start prints a pid: {out:?}"));
        self.pid = Some(pid);
        self.read_shim_pid();
        pid
    }

    /// Reads `shim.pid` from the state dir.
    pub fn read_shim_pid(&mut self) -> i32 {
        let p = std::fs::read_to_string(self.state_dir().join("shim.pid")).expect("shim.pid is written before start returns");
        let pid = p.trim().parse().expect("shim.pid holds a pid");
        self.shim_pid = Some(pid);
        pid
    }

    pub fn connect(&self) -> Conn {
        Conn::connect(&self.socket())
    }

    /// Waits until the shim has exited; returns exit.json.
    pub fn wait_exit(&self) -> Value {
        let shim = self.shim_pid.expect("shim started");
        wait_until(30, "the shim to exit", || !alive(shim));
        let data = std::fs::read(self.state_dir().join("exit.json")).expect("exit.json is written");
        serde_json::from_slice(&data).expect("exit.json is JSON")
    }

    /// The json-file log's entries: (log, stream), each checked for a time.
    pub fn log_entries(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        text.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("log line is JSON ({e}): {l}"));
                let time = v["time"].as_str().unwrap_or_else(|| panic!("log line has a time: {l}"));
                assert!(is_rfc3339_nano(time), "time {time} is RFC 3339 with nanoseconds, UTC");
                (v["log"].as_str().expect("log").to_owned(), v["stream"].as_str().expect("stream").to_owned())
            })
            .collect()
    }

    fn cgroup_dirs(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let v2 = Path::new("/sys/fs/cgroup").join(&self.id);
        if v2.exists() {
            out.push(v2);
        }
        for h in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
            let d = h.path().join(&self.id);
            if d.exists() {
                out.push(d);
            }
        }
        out
    }

    /// What the shim and its container left behind.
    pub fn leftovers(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = self.shim_pid.filter(|p| alive(*p)) {
            out.push(format!("shim process {p}"));
        }
        if let Some(p) = self.pid.filter(|p| alive(*p)) {
            out.push(format!("container process {p}"));
        }
        if self.runtime_root().join(&self.id).exists() {
            out.push(format!("runtime state {}", self.runtime_root().join(&self.id).display()));
        }
        for d in self.cgroup_dirs() {
            out.push(format!("cgroup {}", d.display()));
        }
        if self.socket().exists() {
            out.push("control socket".into());
        }
        out
    }
}

impl Drop for Shim {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.filter(|p| alive(*p)) {
            kill(pid, 9);
        }
        if let Some(shim) = self.shim_pid {
            let deadline = Instant::now() + Duration::from_secs(15);
            while alive(shim) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if alive(shim) {
                kill(shim, 9);
            }
        }
        let problems = self.leftovers();
        for d in self.cgroup_dirs() {
            let _ = std::fs::remove_dir(d);
        }
        berth_testutil::conclude(&self.name, &self.dir, &problems, "");
    }
}

/// A control connection.
pub struct Conn {
    pub sock: UnixStream,
    pub reader: BufReader<UnixStream>,
}

impl Conn {
    pub fn connect(path: &Path) -> Conn {
        let sock = UnixStream::connect(path).unwrap_or_else(|e| panic!("connect to {}: {e}", path.display()));
        sock.set_read_timeout(Some(Duration::from_secs(20))).expect("read timeout");
        let reader = BufReader::new(sock.try_clone().expect("clone socket"));
        Conn { sock, reader }
    }

    /// Sends one request; returns the reply.
    pub fn request(&mut self, req: &Value) -> Value {
        let mut line = serde_json::to_vec(req).expect("request serializes");
        line.push(b'\n');
        self.sock.write_all(&line).expect("send request");
        self.reply()
    }

    pub fn reply(&mut self) -> Value {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read reply");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("reply is JSON ({e}): {line:?}"))
    }

    /// One multiplexed frame: (stream, payload).
    pub fn frame(&mut self) -> (u8, Vec<u8>) {
        let mut h = [0u8; 8];
        self.reader.read_exact(&mut h).expect("read frame header");
        assert_eq!(&h[1..4], &[0, 0, 0], "frame header {h:?}");
        let mut data = vec![0u8; u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize];
        self.reader.read_exact(&mut data).expect("read frame payload");
        (h[0], data)
    }

    /// Reads frames until `stream` has carried `want`; returns everything read per stream.
    pub fn frames_until(&mut self, stream: u8, want: &str) -> [String; 3] {
        let mut got = [String::new(), String::new(), String::new()];
        while !got[stream as usize].contains(want) {
            let (s, d) = self.frame();
            assert!(s == 1 || s == 2, "stream byte {s}");
            got[s as usize].push_str(&String::from_utf8_lossy(&d));
        }
        got
    }

    /// Reads raw bytes until the text contains `want`; returns it.
    pub fn raw_until(&mut self, want: &str) -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains(want) {
            let n = match self.reader.read(&mut buf) {
                // A socket with a read timeout returns EINTR after a stop and continue (signal(7)).
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => r.expect("read raw output"),
            };
            assert!(n > 0, "output ended before {want:?}: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&got).into_owned()
    }
}

pub fn is_rfc3339_nano(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 30 && b[4] == b'-' && b[10] == b'T' && b[19] == b'.' && b[29] == b'Z' && b[20..29].iter().all(u8::is_ascii_digit)
}

/// A live process (not a zombie) with this pid.
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| !s[i + 2..].starts_with('Z')))
        .unwrap_or(false)
}

pub fn kill(pid: i32, sig: i32) {
    if let (Some(p), Some(s)) = (rustix::process::Pid::from_raw(pid), rustix::process::Signal::from_named_raw(sig)) {
        let _ = rustix::process::kill_process(p, s);
    }
}

/// The value of `Key:` in /proc/PID/status.
pub fn status_field(pid: i32, key: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {key} in status of {pid}"))
}

pub use berth_testutil::wait_until;
