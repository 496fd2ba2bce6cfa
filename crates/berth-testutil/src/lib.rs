//! Test fixtures shared by berth's integration tests (a dev-dependency only): the busybox
//! image of `../shared/fixtures/make-image.py` unpacked into root filesystems, and scratch
//! directories short enough for socket paths.
//!
//! ```no_run
//! let dir = berth_testutil::scratch_dir("bit", "mytest");
//! berth_testutil::unpack_busybox(&dir.join("rootfs"));
//! ```
#![forbid(unsafe_code)]

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

/// The busybox image's single layer, uncompressed, made once per test run.
fn busybox_tar() -> &'static [u8] {
    static TAR: OnceLock<Vec<u8>> = OnceLock::new();
    TAR.get_or_init(|| {
        let dir = scratch_dir("btu", "img");
        let layout = dir.join("layout");
        let out = Command::new("python3").arg(MAKE_IMAGE).arg("busybox").arg(&layout).output().expect("run python3 make-image.py");
        assert!(out.status.success(), "make-image.py busybox failed: {}", String::from_utf8_lossy(&out.stderr));
        let blob = |digest: &str| layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:"));
        let read_json = |p: PathBuf| -> Value { serde_json::from_slice(&std::fs::read(&p).expect("read image json")).expect("image json parses") };
        let index = read_json(layout.join("index.json"));
        let manifest = read_json(blob(index["manifests"][0]["digest"].as_str().expect("index has a manifest")));
        let layers = manifest["layers"].as_array().expect("manifest has layers");
        assert_eq!(layers.len(), 1, "the busybox image has one layer");
        let gz = blob(layers[0]["digest"].as_str().expect("layer digest"));
        let out = Command::new("gzip").arg("-dc").arg(&gz).output().expect("run gzip -dc");
        assert!(out.status.success(), "gunzip busybox layer: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::remove_dir_all(&dir).expect("remove image scratch dir");
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
