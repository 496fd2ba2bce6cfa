//! Test fixtures shared by berth's integration tests (a dev-dependency only): the busybox
//! image of `../shared/fixtures/make-image.py` unpacked into root filesystems, and scratch
//! directories short enough for socket paths.
//!
//! ```no_run
//! let dir = berth_testutil::scratch_dir("bit", "mytest");
//! berth_testutil::unpack_busybox(&dir.join("rootfs"));
//! ```
#![forbid(unsafe_code)]

pub mod daemon;
pub mod registry;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use serde_json::Value;

/// The project's shared image maker, beside the checkout (`../shared`).
pub const MAKE_IMAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/make-image.py");

/// A fresh directory `/tmp/<prefix>-<pid>-<n>-<what>`, short enough for socket paths.
pub fn scratch_dir(prefix: &str, what: &str) -> PathBuf {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let dir = PathBuf::from(format!("/tmp/{prefix}-{}-{n}-{what}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Polls `f` every 10 ms until it holds or `secs` pass; panics naming `what`.
#[track_caller]
pub fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The end of a test fixture: removes `dir`, then, unless the test has already failed, fails it
/// when anything was `left` behind (`context` follows the list) or `dir` would not go.
#[track_caller]
pub fn conclude(name: &str, dir: &Path, left: &[String], context: &str) {
    let removed = std::fs::remove_dir_all(dir);
    if std::thread::panicking() {
        return;
    }
    assert!(left.is_empty(), "test {name} left behind:\n{}{context}", left.join("\n"));
    if let Err(e) = removed {
        panic!("test {name} could not remove {}: {e}", dir.display());
    }
}

/// Where fixtures made from ../shared are kept between test runs (they never change).
const FIXTURES: &str = "/tmp/berth-fixtures";

/// Makes `name` under [`FIXTURES`] with `make` (given a fresh path to fill) unless a previous
/// run did; the result appears atomically, so parallel test binaries never see half of it.
fn fixture(name: &str, make: impl FnOnce(&Path)) -> PathBuf {
    let dest = Path::new(FIXTURES).join(name);
    if !dest.exists() {
        std::fs::create_dir_all(FIXTURES).expect("create the fixtures directory");
        let tmp = Path::new(FIXTURES).join(format!(".{name}.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let _ = std::fs::remove_file(&tmp);
        make(&tmp);
        if std::fs::rename(&tmp, &dest).is_err() {
            // Another test binary got there first.
            let _ = std::fs::remove_dir_all(&tmp);
            let _ = std::fs::remove_file(&tmp);
        }
    }
    dest
}

/// The busybox image as an OCI layout (`make-image.py busybox`).
pub fn busybox_layout() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        fixture("busybox-layout", |dir| {
            let out = Command::new("python3").arg(MAKE_IMAGE).arg("busybox").arg(dir).output().expect("run python3 make-image.py");
            assert!(out.status.success(), "make-image.py busybox failed: {}", String::from_utf8_lossy(&out.stderr));
        })
    })
}

/// The busybox layout as a tar archive (what `docker load` takes).
pub fn busybox_archive() -> &'static Path {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        let layout = busybox_layout();
        fixture("busybox.tar", |tar| {
            let out = Command::new("tar").arg("-cf").arg(tar).arg("-C").arg(layout).arg(".").output().expect("run tar");
            assert!(out.status.success(), "tar of the busybox layout failed: {}", String::from_utf8_lossy(&out.stderr));
        })
    })
}

/// The busybox image's single layer, uncompressed, read once per test run.
fn busybox_tar() -> &'static [u8] {
    static TAR: OnceLock<Vec<u8>> = OnceLock::new();
    TAR.get_or_init(|| {
        let layout = busybox_layout();
        let blob = |digest: &str| layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:"));
        let read_json = |p: PathBuf| -> Value { serde_json::from_slice(&std::fs::read(&p).expect("read image json")).expect("image json parses") };
        let index = read_json(layout.join("index.json"));
        let manifest = read_json(blob(index["manifests"][0]["digest"].as_str().expect("index has a manifest")));
        let layers = manifest["layers"].as_array().expect("manifest has layers");
        assert_eq!(layers.len(), 1, "the busybox image has one layer");
        let gz = blob(layers[0]["digest"].as_str().expect("layer digest"));
        let out = Command::new("gzip").arg("-dc").arg(&gz).output().expect("run gzip -dc");
        assert!(out.status.success(), "gunzip busybox layer: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    })
}

/// Unpacks the busybox layer into `dest` (created if missing), keeping owners and modes.
pub fn unpack_busybox(dest: &Path) {
    std::fs::create_dir_all(dest).expect("create rootfs dir");
    let mut child = Command::new("tar")
        .args(["-x", "--numeric-owner", "-p", "-C"])
        .arg(dest)
        .stdin(Stdio::piped())
        .spawn()
        .expect("run tar");
    child.stdin.take().expect("tar stdin").write_all(busybox_tar()).expect("feed tar");
    assert!(child.wait().expect("wait for tar").success(), "tar -x of the busybox layer failed");
}

/// A config.json for `ARGS` in a busybox container as Docker lays it out: its namespaces,
/// mounts, masked and read-only paths; root user, no terminal, no capabilities and no seccomp
/// profile (callers add what their tests need).
pub fn docker_base_config(args: &[&str], hostname: &str) -> Value {
    serde_json::json!({
        "ociVersion": "1.2.0",
        "root": {"path": "rootfs", "readonly": false},
        "hostname": hostname,
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "noNewPrivileges": false
        },
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro", "nosuid", "noexec", "nodev"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]}
        ],
        "linux": {
            "namespaces": [{"type": "mount"}, {"type": "network"}, {"type": "uts"}, {"type": "pid"}, {"type": "ipc"}],
            "maskedPaths": [
                "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                "/sys/devices/virtual/powercap"
            ],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// CVE-2019-5736 tests: a loop for busybox `sh` in a container that, for `secs` seconds, tries
/// to append to the executable of every process it can see that is not busybox, and records in
/// /seen each binary it saw (`saw PATH`, once) and each write that went through (`wrote PID
/// PATH`). Then it touches /done.
pub fn exe_overwriter_loop(secs: u32) -> String {
    format!(
        r#"end=$(( $(date +%s) + {secs} ))
while [ $(date +%s) -lt $end ]; do
  for p in /proc/[0-9]*; do
    l=$(readlink $p/exe 2>/dev/null) || continue
    case "$l" in
      */busybox|"") ;;
      *) grep -qx "saw $l" /seen 2>/dev/null || echo "saw $l" >> /seen; echo pwned >> $p/exe 2>/dev/null && echo "wrote $p $l" >> /seen ;;
    esac
  done
done
touch /done
"#
    )
}
