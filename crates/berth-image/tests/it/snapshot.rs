use std::fs;
use std::path::{Path, PathBuf};

use berth_image::snapshot::{unmount, Snapshot, SnapshotError};
use berth_image::unpack_layer_to;

use crate::common::Layer;

/// Unmounts on drop, so a failing assertion leaves no mount behind.
pub struct Mounted(pub PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Err(e) = unmount(&self.0, false) {
            let _ = unmount(&self.0, true);
            panic!("unmount {}: {e}", self.0.display());
        }
    }
}

pub fn mount(snap: &Snapshot, target: &Path) -> Mounted {
    mount_as(snap, target, false)
}

fn mount_as(snap: &Snapshot, target: &Path, volatile: bool) -> Mounted {
    fs::create_dir_all(target).expect("mountpoint");
    snap.mount(target, volatile).expect("mount overlay");
    Mounted(target.to_owned())
}

fn mount_options(target: &Path) -> String {
    let mounts = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let t = target.to_str().expect("utf-8 path");
    mounts.lines().find(|l| l.split(' ').nth(4) == Some(t)).unwrap_or_else(|| panic!("{t} is not mounted")).to_owned()
}

#[test]
fn a_volatile_snapshot_skips_syncs_and_mounts_again_after_a_clean_unmount() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut l = Layer::new();
    l.file("base", b"lower");
    unpack_layer_to(&dir.path().join("layers"), "l0", &l.finish()[..]).expect("unpack");
    let snap = Snapshot::prepare(dir.path().join("snap"), vec![dir.path().join("layers/l0")]).expect("prepare");
    let merged = dir.path().join("merged");
    let mark = snap.work().join("work/incompat/volatile");
    {
        let _m = mount_as(&snap, &merged, true);
        assert!(mount_options(&merged).contains("volatile"), "{}", mount_options(&merged));
        assert!(mark.is_dir(), "the kernel marks a volatile work directory");
        fs::write(merged.join("written"), b"upper").expect("write through overlay");
    }
    assert!(mark.is_dir(), "the mark outlives the unmount");
    // A second start of the same container, and a plain mount (docker cp of a stopped
    // container) both work: the mark of the cleanly unmounted volatile mount goes first.
    for volatile in [true, false] {
        let _m = mount_as(&snap, &merged, volatile);
        assert_eq!(mount_options(&merged).contains("volatile"), volatile);
        assert_eq!(fs::read(merged.join("written")).expect("earlier write"), b"upper");
        assert_eq!(fs::read(merged.join("base")).expect("lower file"), b"lower");
    }
    snap.remove().expect("remove snapshot");
}

#[test]
fn a_120_layer_chain_mounts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layers = dir.path().join("layers");
    let mut lowers = Vec::new();
    for i in 0..120u32 {
        let mut l = Layer::new();
        l.file(&format!("layer-{i:03}"), b"").file("common", i.to_string().as_bytes());
        if i == 60 {
            l.file(".wh.layer-010", b"");
        }
        if i == 90 {
            l.dir("d/", 0o755).file("d/.wh..wh..opq", b"").file("d/only90", b"");
        }
        if i == 5 {
            l.file("d/from5", b"");
        }
        // chain-id-like names, so the classic mount data could not hold them all
        let id = format!("{i:064x}");
        unpack_layer_to(&layers, &id, &l.finish()[..]).expect("unpack");
        lowers.push(layers.join(id));
    }
    lowers.reverse(); // top-most first
    let snap = Snapshot::prepare(dir.path().join("snap"), lowers).expect("prepare");
    assert!(matches!(snap.mount_data(), Err(SnapshotError::DataTooLong { .. })));

    let merged = dir.path().join("merged");
    {
        let _m = mount(&snap, &merged);
        assert_eq!(fs::read_to_string(merged.join("common")).expect("common"), "119", "top layer wins");
        assert!(merged.join("layer-000").exists() && merged.join("layer-119").exists());
        assert!(!merged.join("layer-010").exists(), "whiteout in layer 60 hides layer 10's file");
        assert!(merged.join("d/only90").exists());
        assert!(!merged.join("d/from5").exists(), "opaque dir in layer 90 hides layer 5's d/");
        fs::write(merged.join("written"), b"upper").expect("write through overlay");
        fs::remove_file(merged.join("layer-050")).expect("delete a lower file");
    }
    assert_eq!(fs::read(snap.upper().join("written")).expect("upper file"), b"upper");
    assert!(!merged.join("written").exists(), "unmounted");
    snap.remove().expect("remove snapshot");
    assert!(!dir.path().join("snap").exists());
}
