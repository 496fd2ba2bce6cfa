//! A berthd per test: its own data root, exec root, socket and cgroup parent under a short
//! scratch directory. [`TestDaemon::docker`] runs the real docker CLI against it,
//! [`TestDaemon::api`] speaks raw HTTP to it. Dropping it removes every container, stops the
//! daemon and fails the test if anything of it is left: a process, a mount, a cgroup.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One berthd and its directories.
pub struct TestDaemon {
    pub name: String,
    pub dir: PathBuf,
    pub sock: PathBuf,
    pub cgroup_parent: String,
    /// The default bridge's link, which also names the daemon's iptables chains.
    pub bridge: String,
    berthd: PathBuf,
    /// More berthd flags, given at every start.
    extra: Vec<String>,
    child: Option<Child>,
}

/// A raw HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("response body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The `message` of an error body.
    pub fn message(&self) -> String {
        self.json()["message"].as_str().unwrap_or_default().to_owned()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn decode_chunked(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = b.windows(2).position(|w| w == b"\r\n") else { return out };
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..end]).split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
        b = &b[end + 2..];
        if size == 0 || b.len() < size {
            out.extend_from_slice(&b[..size.min(b.len())]);
            return out;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[(size + 2).min(b.len())..];
    }
}

/// Sends one request on a fresh connection to `sock` and reads the whole response.
pub fn request(sock: &Path, method: &str, path: &str, body: Option<&[u8]>, headers: &[(&str, &str)]) -> Response {
    let mut s = UnixStream::connect(sock).unwrap_or_else(|e| panic!("connect to {}: {e}", sock.display()));
    s.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    let mut data = req.into_bytes();
    data.extend_from_slice(body.unwrap_or_default());
    s.write_all(&data).expect("send request");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw)
}

pub fn parse_response(raw: &[u8]) -> Response {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).expect("status line");
    let headers: Vec<(String, String)> = lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))).collect();
    let rest = &raw[end + 4..];
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { decode_chunked(rest) } else { rest.to_vec() };
    Response { status, headers, body }
}

pub use crate::wait_until;

impl TestDaemon {
    /// Starts `berthd` (the binary at `berthd`, with `berth-shim` next to it).
    pub fn start(berthd: &str, name: &str) -> TestDaemon {
        Self::start_with(berthd, name, &[])
    }

    /// Starts `berthd` with more flags (`--registry-mirror …`).
    pub fn start_with(berthd: &str, name: &str, extra: &[&str]) -> TestDaemon {
        let berthd = PathBuf::from(berthd);
        let shim = berthd.with_file_name("berth-shim");
        assert!(
            shim.exists() && ["berth-shim-serve", "berth-proxy"].iter().all(|b| berthd.with_file_name(b).exists()),
            "{} is not built: run `cargo build -p berth-shim` first (scripts/test.sh does)",
            shim.display()
        );
        // Short: the runtime's sockets live below the exec root, and a socket path has 108 bytes.
        let dir = crate::scratch_dir("bt", "d");
        let id = dir.file_name().and_then(|n| n.to_str()).unwrap_or("bt").to_owned();
        let bridge = format!("bt{}", id.trim_start_matches("bt-").trim_end_matches("-d").replace('-', "x"));
        let mut d = TestDaemon {
            name: name.to_owned(),
            bridge,
            sock: dir.join("s.sock"),
            cgroup_parent: id,
            dir,
            berthd,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        d.spawn();
        d
    }

    pub fn data_root(&self) -> PathBuf {
        self.dir.join("d")
    }

    pub fn exec_root(&self) -> PathBuf {
        self.dir.join("r")
    }

    /// Starts the daemon process and waits until it answers.
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("berthd.log")).expect("open the daemon log");
        let child = Command::new(&self.berthd)
            .arg("--data-root")
            .arg(self.data_root())
            .arg("--exec-root")
            .arg(self.exec_root())
            .arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .arg("--pidfile")
            .arg(self.dir.join("berthd.pid"))
            .arg("--cgroup-parent")
            .arg(&self.cgroup_parent)
            .arg("--log-level")
            .arg("debug")
            // Docker Hub is a closed loopback port: no test reaches the internet.
            .arg("--hub-endpoint")
            .arg("http://127.0.0.1:9")
            // Own link and chain names; subnets from a pool of their own, which the daemons of
            // parallel tests share (berthd takes a host-wide lock to pick a free one).
            .arg("--bridge")
            .arg(&self.bridge)
            .args(if self.extra.iter().any(|a| a.starts_with("--default-address-pool") || a == "--bip") { vec![] } else { vec!["--default-address-pool", "base=10.213.0.0/16,size=24"] })
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("run berthd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if UnixStream::connect(&self.sock).is_ok() {
                return;
            }
            if let Some(st) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("berthd exited at start ({st}):\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "berthd did not listen within 20 s:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("berthd.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).expect("the daemon runs")
    }

    /// Sends `signal` to the daemon and reaps it; returns its exit status.
    pub fn stop_with(&mut self, signal: &str) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("the daemon runs");
        let _ = Command::new("kill").arg(format!("-{signal}")).arg(c.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = c.try_wait().expect("wait for berthd") {
                return st;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("berthd did not exit 30 s after SIG{signal}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The docker CLI against this daemon.
    pub fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("docker");
        c.args(args)
            .env("DOCKER_HOST", format!("unix://{}", self.sock.display()))
            .env("DOCKER_CONFIG", self.dir.join("docker-config"))
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_API_VERSION")
            .stdin(Stdio::null());
        c
    }

    pub fn docker(&self, args: &[&str]) -> Output {
        self.docker_cmd(args).output().expect("run docker")
    }

    /// Runs docker and asserts success; returns stdout.
    #[track_caller]
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(out.status.success(), "docker {} failed ({}):\nstdout: {}\nstderr: {}\ndaemon log tail:\n{}", args.join(" "), out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr), self.log_tail());
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn log_tail(&self) -> String {
        let l = self.log();
        let lines: Vec<&str> = l.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Loads the busybox fixture and names it `busybox:latest`.
    pub fn load_busybox(&self) {
        let out = self.docker_ok(&["load", "-i", &crate::busybox_archive().to_string_lossy()]);
        let id = out.trim().rsplit(' ').next().expect("docker load names the image").to_owned();
        self.docker_ok(&["tag", &id, "busybox:latest"]);
    }

    pub fn api(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        let b = body.map(|v| serde_json::to_vec(v).expect("serializes"));
        request(&self.sock, method, path, b.as_deref(), &[])
    }

    /// Processes of this daemon still alive: berthd, its shims, and containers (found by the
    /// exec root on their command line or in their cgroup).
    pub fn processes(&self) -> Vec<String> {
        let root = self.exec_root().to_string_lossy().into_owned();
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            if pid == std::process::id() {
                continue;
            }
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            let cg = std::fs::read_to_string(e.path().join("cgroup")).unwrap_or_default();
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let zombie = stat.rfind(')').is_some_and(|i| stat[i + 2..].starts_with('Z'));
            if !zombie && (cmd.contains(&root) || cg.contains(&format!("/{}/", self.cgroup_parent))) {
                out.push(format!("{pid}: {}", cmd.trim()));
            }
        }
        out
    }

    /// Mounts under this daemon's directories.
    pub fn mounts(&self) -> Vec<String> {
        let dir = self.dir.to_string_lossy().into_owned();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| m.starts_with(&dir))
            .map(str::to_owned)
            .collect()
    }

    /// Cgroup directories of this daemon's containers (its parent's children).
    pub fn cgroups(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for h in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
            let p = h.path().join(&self.cgroup_parent);
            for c in std::fs::read_dir(&p).into_iter().flatten().flatten() {
                if c.file_type().is_ok_and(|t| t.is_dir()) {
                    out.push(c.path());
                }
            }
        }
        let v2 = Path::new("/sys/fs/cgroup").join(&self.cgroup_parent);
        for c in std::fs::read_dir(&v2).into_iter().flatten().flatten() {
            if c.file_type().is_ok_and(|t| t.is_dir()) {
                out.push(c.path());
            }
        }
        out
    }

    /// Links this daemon made (tagged with its bridge name in their alias), its bridge included.
    pub fn links(&self) -> Vec<String> {
        let tag = format!("berth:{}:", self.bridge);
        let mut out = Vec::new();
        for e in std::fs::read_dir("/sys/class/net").into_iter().flatten().flatten() {
            let alias = std::fs::read_to_string(e.path().join("ifalias")).unwrap_or_default();
            if alias.starts_with(&tag) {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        out
    }

    /// Rules of this daemon's chains that outlived what they were for: any published port, and
    /// any rule about a bridge other than the default one (its networks are all gone by now).
    pub fn stale_rules(&self) -> Vec<String> {
        let tag: String = self.bridge.chars().take(15).collect();
        let mut out = Vec::new();
        for tool in ["iptables", "ip6tables"] {
            for (table, chain) in [("nat", format!("BERTH-{tag}-DNAT")), ("nat", format!("BERTH-{tag}-POST")), ("filter", format!("BERTH-{tag}-FWD"))] {
                let Ok(o) = Command::new(tool).args(["-w", "-t", table, "-S", &chain]).stderr(Stdio::null()).output() else { continue };
                for rule in String::from_utf8_lossy(&o.stdout).lines().filter(|l| l.starts_with("-A ")) {
                    let other_bridge = rule.split_whitespace().collect::<Vec<_>>().windows(2).any(|w| matches!(w[0], "-i" | "-o") && w[1] != self.bridge);
                    if chain.ends_with("-DNAT") || other_bridge {
                        out.push(format!("({tool} {table}) {rule}"));
                    }
                }
            }
        }
        out
    }

    /// What a daemon leaves by design when it stops (as dockerd leaves docker0 and its chains):
    /// its default bridge and its iptables chains.
    fn remove_network_state(&self) {
        for l in self.links() {
            let _ = Command::new("ip").args(["link", "del", &l]).status();
        }
        let tag: String = self.bridge.chars().take(15).collect();
        let chains = [("nat", format!("BERTH-{tag}-DNAT")), ("nat", format!("BERTH-{tag}-POST")), ("filter", format!("BERTH-{tag}-FWD"))];
        for tool in ["iptables", "ip6tables"] {
            for (table, builtin, m, chain) in [
                ("nat", "PREROUTING", "-m addrtype --dst-type LOCAL", &chains[0].1),
                ("nat", "OUTPUT", "-m addrtype --dst-type LOCAL", &chains[0].1),
                ("nat", "POSTROUTING", "", &chains[1].1),
                ("filter", "FORWARD", "", &chains[2].1),
            ] {
                let mut args = vec!["-w", "-t", table, "-D", builtin];
                args.extend(m.split_whitespace());
                args.extend(["-j", chain]);
                while Command::new(tool).args(&args).stderr(Stdio::null()).status().is_ok_and(|s| s.success()) {}
            }
            for (table, chain) in &chains {
                let _ = Command::new(tool).args(["-w", "-t", table, "-F", chain]).stderr(Stdio::null()).status();
                let _ = Command::new(tool).args(["-w", "-t", table, "-X", chain]).stderr(Stdio::null()).status();
            }
        }
    }

    fn remove_cgroup_parents(&self) {
        for h in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
            let _ = std::fs::remove_dir(h.path().join(&self.cgroup_parent));
        }
        let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(&self.cgroup_parent));
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        let mut problems = Vec::new();
        if self.child.is_none() {
            self.spawn();
        }
        // Every container goes, through the API, as a user would remove them.
        let list = self.api("GET", "/containers/json?all=1", None);
        if list.status == 200 {
            for c in list.json().as_array().cloned().unwrap_or_default() {
                let id = c["Id"].as_str().unwrap_or_default().to_owned();
                let r = self.api("DELETE", &format!("/containers/{id}?force=1"), None);
                if r.status != 204 && r.status != 404 {
                    problems.push(format!("remove container {id}: {} {}", r.status, r.text()));
                }
            }
        }
        // And every network the test made.
        let nets = self.api("GET", "/networks", None);
        if nets.status == 200 {
            for n in nets.json().as_array().cloned().unwrap_or_default() {
                if matches!(n["Name"].as_str(), Some("bridge" | "host" | "none")) {
                    continue;
                }
                let id = n["Id"].as_str().unwrap_or_default().to_owned();
                let r = self.api("DELETE", &format!("/networks/{id}"), None);
                if r.status != 204 && r.status != 404 {
                    problems.push(format!("remove network {id}: {} {}", r.status, r.text()));
                }
            }
        }
        let st = self.stop_with("TERM");
        if !st.success() {
            problems.push(format!("berthd exited with {st} on SIGTERM"));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.processes().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        problems.extend(self.processes().into_iter().map(|p| format!("process {p}")));
        // berthd's own tmpfs on its exec root stays, as /run would: it goes below.
        let exec_root = self.exec_root().to_string_lossy().into_owned();
        problems.extend(self.mounts().into_iter().filter(|m| *m != exec_root).map(|m| format!("mount {m}")));
        problems.extend(self.cgroups().into_iter().map(|c| format!("cgroup {}", c.display())));
        // A container's links go with its namespace, which the kernel frees a moment later.
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.links().iter().any(|l| *l != self.bridge) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        problems.extend(self.links().into_iter().filter(|l| *l != self.bridge).map(|l| format!("link {l}")));
        problems.extend(self.stale_rules().into_iter().map(|r| format!("iptables rule {r}")));
        self.remove_network_state();
        for p in self.processes() {
            if let Some(pid) = p.split(':').next() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        for m in self.mounts().iter().rev() {
            let _ = Command::new("umount").args(["-l", m]).status();
        }
        for c in self.cgroups() {
            let _ = std::fs::remove_dir(c);
        }
        self.remove_cgroup_parents();
        let log = self.log();
        if std::thread::panicking() {
            eprintln!("berthd log of {}:\n{log}", self.name);
        }
        crate::conclude(&self.name, &self.dir, &problems, &format!("\nberthd log:\n{log}"));
    }
}
