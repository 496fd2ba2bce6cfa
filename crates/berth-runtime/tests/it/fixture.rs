//! The test's world: the busybox rootfs (made once per run), bundles, a per-test state root and
//! container ids, the runtime binary, and the check that a test left nothing behind.
//!
//! Every test makes a [`Test`]; dropping it deletes its containers (`delete -f`), unmounts what it
//! mounted on the host, and — unless the test is already failing — fails when one of its
//! containers left a cgroup directory, a process or a mount, or its state root is not empty.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use berth_testutil::unpack_busybox;
use serde_json::{json, Value};

/// The runtime under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_berth-runtime");

/// Docker's default capabilities (../shared/DOCKER-DEFAULTS.md) and their bit numbers.
pub const DOCKER_CAPS: [(&str, u32); 14] = [
    ("CAP_CHOWN", 0),
    ("CAP_DAC_OVERRIDE", 1),
    ("CAP_FSETID", 4),
    ("CAP_FOWNER", 3),
    ("CAP_MKNOD", 27),
    ("CAP_NET_RAW", 13),
    ("CAP_SETGID", 6),
    ("CAP_SETUID", 7),
    ("CAP_SETFCAP", 31),
    ("CAP_SETPCAP", 8),
    ("CAP_NET_BIND_SERVICE", 10),
    ("CAP_SYS_CHROOT", 18),
    ("CAP_KILL", 5),
    ("CAP_AUDIT_WRITE", 29),
];

/// The bit mask /proc/self/status shows for [`DOCKER_CAPS`].
pub fn docker_cap_mask() -> u64 {
    DOCKER_CAPS.iter().fold(0, |m, (_, bit)| m | 1 << bit)
}


fn scratch_dir(what: &str) -> PathBuf {
    berth_testutil::scratch_dir("bit", what)
}

/// Docker's default seccomp profile converted for [`DOCKER_CAPS`] on this host, in OCI form.
pub fn docker_seccomp() -> Value {
    static PROFILE: OnceLock<Value> = OnceLock::new();
    PROFILE
        .get_or_init(|| {
            use berth_runtime::seccomp;
            let caps: Vec<String> = DOCKER_CAPS.iter().map(|(c, _)| c.to_string()).collect();
            let uname = rustix::system::uname();
            let release = uname.release().to_string_lossy();
            let kernel = seccomp::parse_kernel_release(&release).expect("kernel release parses");
            let arch = seccomp::Arch::native().expect("a known architecture");
            let oci = seccomp::docker_profile_to_oci(seccomp::docker_default_profile(), &caps, arch, kernel).expect("convert docker profile");
            serde_json::to_value(oci).expect("seccomp serializes")
        })
        .clone()
}

/// A config.json as Docker would make it for `docker run busybox ARGS`: its namespaces, mounts,
/// capabilities, seccomp profile, masked and read-only paths; no terminal.
pub fn docker_config(args: &[&str]) -> Value {
    let caps: Vec<&str> = DOCKER_CAPS.iter().map(|(c, _)| *c).collect();
    let mut cfg = berth_testutil::docker_base_config(args, "it");
    cfg["process"]["env"] = json!(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=it"]);
    cfg["process"]["capabilities"] = json!({"bounding": caps, "effective": caps, "permitted": caps});
    cfg["linux"]["seccomp"] = docker_seccomp();
    cfg
}

/// What one runtime command did.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "runtime failed: {self:?}");
        &self.stdout
    }

    /// Asserts failure with a message on stderr that contains each of `words`.
    #[track_caller]
    pub fn fails_with(&self, words: &[&str]) {
        assert_ne!(self.code, 0, "expected a failure: {self:?}");
        for w in words {
            assert!(self.stderr.contains(w), "stderr should mention {w:?}: {self:?}");
        }
    }

    /// The stdout lines, trimmed.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().map(str::trim).collect()
    }
}

/// One test's state root, bundles and containers. Drop cleans up and checks.
pub struct Test {
    pub name: String,
    pub dir: PathBuf,
    pub root: PathBuf,
    ids: RefCell<Vec<String>>,
    pids: RefCell<Vec<(i32, u64)>>,
    host_mounts: RefCell<Vec<PathBuf>>,
    seq: std::cell::Cell<usize>,
}

impl Test {
    pub fn new(name: &str) -> Test {
        let dir = scratch_dir(name);
        let root = dir.join("state");
        Test {
            name: name.to_owned(),
            dir,
            root,
            ids: RefCell::default(),
            pids: RefCell::default(),
            host_mounts: RefCell::default(),
            seq: std::cell::Cell::new(0),
        }
    }

    fn next(&self) -> usize {
        let n = self.seq.get();
        self.seq.set(n + 1);
        n
    }

    /// A container id unique on this host, deleted (and checked) when the test ends.
    pub fn id(&self, suffix: &str) -> String {
        let id = format!("it-{}-{}-{suffix}", self.name.replace('_', "-"), std::process::id());
        self.ids.borrow_mut().push(id.clone());
        id
    }

    /// A bundle with a fresh busybox rootfs and `config` as config.json.
    pub fn bundle(&self, config: &Value) -> PathBuf {
        self.bundle_with(config, |_| {})
    }

    /// Like [`Test::bundle`], letting `edit` change the rootfs first.
    pub fn bundle_with(&self, config: &Value, edit: impl FnOnce(&Path)) -> PathBuf {
        let b = self.dir.join(format!("b{}", self.next()));
        unpack_busybox(&b.join("rootfs"));
        edit(&b.join("rootfs"));
        self.write_config(&b, config);
        b
    }

    pub fn write_config(&self, bundle: &Path, config: &Value) {
        std::fs::write(bundle.join("config.json"), serde_json::to_vec_pretty(config).expect("config serializes")).expect("write config.json");
    }

    /// A path in the test's own directory (a bind source, a socket, a hook's output).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Mounts on the host that the test made itself and that Drop unmounts.
    pub fn note_host_mount(&self, p: &Path) {
        self.host_mounts.borrow_mut().push(p.to_owned());
    }

    /// A process to check is gone at the end.
    pub fn note_pid(&self, pid: i32) {
        if let Some(start) = start_time(pid) {
            self.pids.borrow_mut().push((pid, start));
        }
    }

    /// `berth-runtime --root ROOT ARGS`, with a deadline.
    pub fn rt<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Out {
        let mut cmd = Command::new(BIN);
        cmd.arg("--root").arg(&self.root).args(args);
        self.output(cmd)
    }

    /// Runs `cmd` with stdout and stderr sent to files (a detached container may keep a pipe
    /// open for ever) and waits at most 60 s for it.
    pub fn output(&self, mut cmd: Command) -> Out {
        let n = self.next();
        let (o, e) = (self.dir.join(format!("out{n}")), self.dir.join(format!("err{n}")));
        cmd.stdin(Stdio::null())
            .stdout(std::fs::File::create(&o).expect("stdout file"))
            .stderr(std::fs::File::create(&e).expect("stderr file"));
        let mut child = cmd.spawn().expect("spawn command");
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(st) = child.try_wait().expect("wait for command") {
                break st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{cmd:?} did not finish in 60 s");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let read = |p: &Path| {
            let s = std::fs::read_to_string(p).unwrap_or_default();
            let _ = std::fs::remove_file(p);
            s
        };
        let code = status.code().unwrap_or_else(|| 128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0));
        Out { code, stdout: read(&o), stderr: read(&e) }
    }

    /// Foreground `run`: the container's output and exit code.
    pub fn run(&self, bundle: &Path, id: &str) -> Out {
        self.rt(&[Path::new("run").as_os_str(), "-b".as_ref(), bundle.as_os_str(), id.as_ref()])
    }

    /// Builds a bundle for `config` and runs it in the foreground.
    pub fn run_config(&self, config: &Value) -> Out {
        let b = self.bundle(config);
        let id = self.id(&format!("r{}", self.next()));
        self.run(&b, &id)
    }

    /// Runs `sh -c SCRIPT` in a Docker-default container; asserts success; returns stdout.
    pub fn sh(&self, script: &str) -> String {
        let out = self.run_config(&docker_config(&["sh", "-c", script]));
        out.ok().to_owned()
    }

    /// `create` + `start` of a long-running container; returns its host pid.
    pub fn start_detached(&self, bundle: &Path, id: &str) -> i32 {
        self.rt(&["create", "-b", &bundle.to_string_lossy(), id]).ok();
        self.rt(&["start", id]).ok();
        let pid = self.state(id)["pid"].as_i64().expect("state has a pid") as i32;
        self.note_pid(pid);
        pid
    }

    /// `state ID` as JSON.
    pub fn state(&self, id: &str) -> Value {
        serde_json::from_str(self.rt(&["state", id]).ok()).expect("state is JSON")
    }

    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap_or_default().to_owned()
    }

    /// `exec ID ARGS` (options may precede the id in `args`).
    pub fn exec(&self, args: &[&str]) -> Out {
        let mut a = vec!["exec"];
        a.extend_from_slice(args);
        self.rt(&a)
    }
}

impl Drop for Test {
    fn drop(&mut self) {
        for id in self.ids.borrow().iter() {
            let _ = Command::new(BIN).arg("--root").arg(&self.root).args(["delete", "-f", id]).stderr(Stdio::null()).status();
        }
        for m in self.host_mounts.borrow().iter().rev() {
            let _ = rustix::mount::unmount(m, rustix::mount::UnmountFlags::DETACH);
        }
        let problems = leftovers(&self.dir, &self.root, &self.ids.borrow(), &self.pids.borrow());
        berth_testutil::conclude(&self.name, &self.dir, &problems, "");
    }
}

/// Field 22 of /proc/PID/stat: tells a pid from a later process that reuses it.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// The mount points of the calling process, from /proc/self/mountinfo.
pub fn mount_points() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("read mountinfo")
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_owned))
        .collect()
}

/// What a test's containers left: mounts under its directory, cgroup directories named after
/// its ids in any hierarchy, processes in those cgroups or still alive from its list, and
/// containers still in its state root.
fn leftovers(dir: &Path, root: &Path, ids: &[String], pids: &[(i32, u64)]) -> Vec<String> {
    let mut out = Vec::new();
    let prefix = dir.to_string_lossy().into_owned();
    for m in mount_points() {
        if m.starts_with(&prefix) {
            out.push(format!("mount {m}"));
        }
    }
    // Processes may take a moment to be reaped after `delete -f`.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut alive: Vec<String> = Vec::new();
    loop {
        alive.clear();
        for (pid, start) in pids {
            if start_time(*pid) == Some(*start) && !is_zombie(*pid) {
                alive.push(format!("process {pid}"));
            }
        }
        for p in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
            let cg = std::fs::read_to_string(p.path().join("cgroup")).unwrap_or_default();
            if ids.iter().any(|id| cg.lines().any(|l| l.ends_with(&format!("/{id}")))) && !is_zombie(pid) {
                alive.push(format!("process {pid} in a container cgroup: {}", cmdline(pid)));
            }
        }
        if alive.is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    out.extend(alive);
    for h in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
        for id in ids {
            let d = h.path().join(id);
            if d.exists() {
                out.push(format!("cgroup {}", d.display()));
            }
        }
    }
    for e in std::fs::read_dir(root).into_iter().flatten().flatten() {
        out.push(format!("state {}", e.path().display()));
    }
    out
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| s[i + 2..].starts_with('Z')))
        .unwrap_or(true)
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline")).map(|b| String::from_utf8_lossy(&b).replace('\0', " ")).unwrap_or_default()
}

pub use berth_testutil::wait_until;

/// The value of `Key:` in a /proc/PID/status text.
pub fn status_field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {key} in status:\n{status}"))
}

impl Test {
    /// Runs `config` in the foreground; asserts success; returns stdout.
    pub fn sh_config(&self, config: &Value) -> String {
        self.run_config(config).ok().to_owned()
    }
}
