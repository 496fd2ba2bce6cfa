use std::fs;
use std::path::Path;
use std::process::Command;

use berth_image::{
    export_layout, import_layout, Digest, ImageRef, ImageStore, ImportOptions, LayoutError, Snapshot, UnpackError,
};
use serde_json::json;

use crate::common::{gzip, names, Layer};
use crate::snapshot::mount;

fn make_image(args: &[&str], out: &Path) {
    let status = Command::new("python3")
        .arg(berth_testutil::MAKE_IMAGE)
        .args(&args[..1])
        .arg(out)
        .args(&args[1..])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run make-image.py (needs python3 and busybox-static)");
    assert!(status.success(), "make-image.py {args:?} failed");
}

fn opts(name: &str) -> ImportOptions {
    ImportOptions { ref_name: Some("latest".into()), names: vec![ImageRef::parse(name).expect("ref")], ..Default::default() }
}

fn layer_dirs(store: &ImageStore) -> Vec<String> {
    names(&store.layers_dir())
}

/// Writes a one-image OCI layout from uncompressed layer tars; `diff_ids` overrides the config.
fn write_layout(dir: &Path, tars: &[Vec<u8>], diff_ids: Option<Vec<String>>) -> Vec<Digest> {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).expect("blobs dir");
    let put = |data: &[u8]| {
        let d = Digest::sha256_of(data);
        fs::write(blobs.join(d.hex()), data).expect("write blob");
        (d, data.len())
    };
    let diff_ids = diff_ids.unwrap_or_else(|| tars.iter().map(|t| Digest::sha256_of(t).to_string()).collect());
    let mut layer_blobs = Vec::new();
    let layers: Vec<_> = tars
        .iter()
        .map(|t| {
            let (d, size) = put(&gzip(t));
            layer_blobs.push(d.clone());
            json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d.to_string(), "size": size})
        })
        .collect();
    let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}});
    let (cd, cs) = put(&serde_json::to_vec(&config).expect("config"));
    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": cs},
        "layers": layers});
    let (md, ms) = put(&serde_json::to_vec(&manifest).expect("manifest"));
    let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": md.to_string(), "size": ms, "annotations": {"org.opencontainers.image.ref.name": "latest"},
        "platform": {"os": "linux", "architecture": "amd64"}}]});
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).expect("index")).expect("index.json");
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).expect("oci-layout");
    layer_blobs
}

#[test]
fn busybox_and_synthetic_share_a_layer_mount_and_gc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (bb_dir, syn_dir) = (dir.path().join("bb"), dir.path().join("syn"));
    make_image(&["busybox"], &bb_dir);
    make_image(&["synthetic", "--layers", "3", "--mib", "2"], &syn_dir);
    let store = ImageStore::open(dir.path().join("root")).expect("open store");

    let bb = import_layout(&store, &bb_dir, &opts("busybox")).expect("import busybox");
    assert_eq!(bb.layers.len(), 1);
    let bb_root = store.layer_dir(&bb.layers[0].chain_id);
    assert_eq!(fs::read_link(bb_root.join("bin/sh")).expect("bin/sh").to_str(), Some("busybox"));
    assert!(fs::read(bb_root.join("bin/busybox")).expect("busybox").starts_with(b"\x7fELF"));
    assert_eq!(store.lookup("busybox:latest").expect("lookup").id, bb.id);

    let syn = import_layout(&store, &syn_dir, &opts("synthetic")).expect("import synthetic");
    assert_eq!(syn.layers.len(), 4);
    assert_eq!(syn.layers[0].chain_id, bb.layers[0].chain_id, "same base layer, same chain id");
    assert_eq!(layer_dirs(&store).len(), 4, "the shared base layer is stored once");
    assert_eq!(store.layer_refs()[&bb.layers[0].chain_id], 2);

    // a second import of the same layout changes nothing
    assert_eq!(import_layout(&store, &syn_dir, &opts("synthetic")).expect("re-import"), syn);

    // the synthetic image as a container sees it: its layers under its init layer, which holds
    // the mount targets the image lacks
    let lowers = store.container_lowers(&syn).expect("container lowers");
    assert_eq!(lowers[1..], store.lower_dirs(&syn)[..], "the init layer is on top of the image's");
    let snap = Snapshot::prepare(dir.path().join("snap"), lowers).expect("snapshot");
    {
        let merged = dir.path().join("merged");
        let _m = mount(&snap, &merged);
        for target in ["etc/hosts", "etc/hostname", "etc/resolv.conf"] {
            assert!(merged.join(target).is_file(), "{target} is a mount target");
        }
        assert!(merged.join("proc").is_dir() && merged.join("sys").is_dir() && merged.join("dev").is_dir());
        assert!(merged.join("data/layer001/f000000").is_file());
        assert!(!merged.join("data/layer001/f000001").exists(), "layer 2's whiteout hides it");
        assert!(fs::symlink_metadata(store.layer_dir(&syn.layers[2].chain_id).join("data/layer001/f000001")).is_ok(),
            "the whiteout device is in layer 2's directory");
        assert!(merged.join("data/layer003").is_dir());
        assert_eq!(fs::read_link(merged.join("bin/sh")).expect("sh").to_str(), Some("busybox"));
    }
    snap.remove().expect("remove snapshot");

    // save and load round trip into a fresh store
    let saved = dir.path().join("saved");
    export_layout(&store, &[(syn.clone(), vec![ImageRef::parse("synthetic").expect("ref")])], &saved).expect("export");
    let other = ImageStore::open(dir.path().join("root2")).expect("open second store");
    let loaded = import_layout(&other, &saved, &ImportOptions::default()).expect("load saved layout");
    assert_eq!(loaded, syn);
    assert_eq!(other.lookup("synthetic").expect("named from the layout").id, syn.id);

    // remove busybox: GC keeps everything synthetic uses, including the shared layer
    let bb_init = store.container_lowers(&bb).expect("busybox's container lowers")[0].clone();
    let syn_init = store.container_lowers(&syn).expect("synthetic's container lowers")[0].clone();
    // an init layer made by a berth before init layers had versions
    fs::create_dir_all(store.root().join("init").join(syn.id.hex())).expect("old init layer");
    store.remove(&bb.id).expect("remove busybox");
    let report = store.gc().expect("gc");
    let mut want = vec![bb.manifest.clone(), bb.id.clone()];
    want.sort();
    assert_eq!(report.blobs, want, "only busybox's manifest and config go");
    assert!(report.layers.is_empty());
    assert_eq!(layer_dirs(&store).len(), 4);
    assert!(store.layer_dir(&syn.layers[0].chain_id).join("bin/busybox").is_file());
    assert!(!bb_init.exists(), "a removed image's init layer goes");
    assert!(syn_init.is_dir(), "a kept image's init layer stays");
    assert!(store.root().join("init").join(syn.id.hex()).is_dir(), "and one of an earlier version, which containers may still run on");

    store.untag(&ImageRef::parse("synthetic").expect("ref")).expect("untag last name");
    let report = store.gc().expect("gc all");
    assert_eq!(report.layers.len(), 4);
    assert!(store.content().list().expect("list").is_empty());
    assert!(layer_dirs(&store).is_empty());
    assert_eq!(fs::read_dir(store.root().join("init")).expect("list init layers").count(), 0);
}

#[test]
fn a_wrong_diff_id_or_corrupt_blob_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ImageStore::open(dir.path().join("root")).expect("open");
    let tar = Layer::new().file("hello", b"world").finish();

    let wrong = dir.path().join("wrong");
    write_layout(&wrong, std::slice::from_ref(&tar), Some(vec![Digest::sha256_of(b"other").to_string()]));
    let err = import_layout(&store, &wrong, &opts("wrong")).expect_err("diff_id mismatch");
    assert!(matches!(err, LayoutError::DiffId { .. }), "{err}");

    let corrupt = dir.path().join("corrupt");
    let blobs = write_layout(&corrupt, std::slice::from_ref(&tar), None);
    let path = corrupt.join("blobs/sha256").join(blobs[0].hex());
    let mut data = fs::read(&path).expect("blob");
    let last = data.len() - 1;
    data[last] ^= 0xff; // the gzip trailer's size byte: decompression still runs
    fs::write(&path, data).expect("corrupt blob");
    let err = import_layout(&store, &corrupt, &opts("corrupt")).expect_err("corrupt blob");
    assert!(matches!(err, LayoutError::Blob { .. } | LayoutError::Unpack { .. }), "{err}");

    assert!(layer_dirs(&store).is_empty(), "no layer left: {:?}", layer_dirs(&store));
    assert!(!store.content().exists(&blobs[0]), "no unverified layer blob");
    assert!(names(&store.content().root().join("ingest")).is_empty());
    assert!(store.list().is_empty());
}

#[test]
fn a_hostile_layer_fails_the_import() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ImageStore::open(dir.path().join("root")).expect("open");
    let evil = dir.path().join("evil");
    let tar = Layer::new().symlink("etc", "/").file("etc/pwned", b"x").finish();
    write_layout(&evil, &[tar], None);
    let err = import_layout(&store, &evil, &opts("evil")).expect_err("hostile");
    match &err {
        LayoutError::Unpack { source: UnpackError::Escape { entry }, .. } => assert_eq!(entry, "etc/pwned"),
        other => panic!("expected an escape, got {other:?}"),
    }
    assert!(!Path::new("/pwned").exists());
    assert!(layer_dirs(&store).is_empty());
}

#[test]
fn no_matching_image_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ImageStore::open(dir.path().join("root")).expect("open");
    let layout = dir.path().join("l");
    write_layout(&layout, &[Layer::new().file("a", b"").finish()], None);
    let o = ImportOptions { ref_name: Some("v2".into()), ..Default::default() };
    let err = import_layout(&store, &layout, &o).expect_err("no v2");
    assert!(err.to_string().ends_with(": no image matches v2 (linux/amd64)"), "{err}");
    let o = ImportOptions { platform: berth_image::Platform::parse("linux/arm64").expect("p"), ..Default::default() };
    assert!(matches!(import_layout(&store, &layout, &o), Err(LayoutError::NoMatch { .. })));
}
