use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use berth_image::{unpack_layer, unpack_layer_to, Digest, UnpackError};
use tar::EntryType;

use crate::common::{gzip, names, zstd, Layer, MTIME};

fn normal_tree() -> Vec<u8> {
    Layer::new()
        .pax(&[("mtime", b"1700000000.25")])
        .dir("./", 0o755)
        .dir("bin/", 0o755)
        .raw("bin/su", EntryType::Regular, "", b"#!setuid", 0o4755, (1000, 1001))
        .symlink("bin/sh", "busybox")
        .file("bin/busybox", b"ELF...")
        .hardlink("bin/ls", "bin/busybox")
        .dir("tmp/", 0o1777)
        .device("dev/null", EntryType::Char, 1, 3)
        .device("dev/fifo", EntryType::Fifo, 0, 0)
        .pax(&[("SCHILY.xattr.user.berth", b"kept"), ("SCHILY.xattr.trusted.overlay.redirect", b"/etc")])
        .file("etc/with-xattr", b"x")
        .dir("gone/", 0o755)
        .file("gone/.wh.oldfile", b"")
        .dir("opaque/", 0o750)
        .file("opaque/.wh..wh..opq", b"")
        .file("opaque/new", b"fresh")
        .file("opaque/.wh..wh.plnk", b"")
        .file("deep/implicit/parents/file", b"deep")
        .finish()
}

fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    let n = rustix::fs::lgetxattr(path, name, &mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

fn check_normal_tree(root: &Path) {
    let meta = |p: &str| fs::symlink_metadata(root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    assert_eq!(fs::read(root.join("bin/busybox")).expect("busybox"), b"ELF...");
    let su = meta("bin/su");
    assert_eq!(su.permissions().mode() & 0o7777, 0o4755, "setuid kept");
    assert_eq!((su.uid(), su.gid()), (1000, 1001));
    assert_eq!(su.mtime(), MTIME as i64);
    assert_eq!(fs::read_link(root.join("bin/sh")).expect("sh").to_str(), Some("busybox"));
    assert_eq!(meta("bin/ls").ino(), meta("bin/busybox").ino(), "hard link shares the inode");
    assert_eq!(meta("tmp").permissions().mode() & 0o7777, 0o1777, "sticky kept");
    let null = meta("dev/null");
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), rustix::fs::makedev(1, 3));
    assert!(meta("dev/fifo").file_type().is_fifo());
    assert_eq!(xattr(&root.join("etc/with-xattr"), "user.berth").as_deref(), Some(&b"kept"[..]));
    assert_eq!(xattr(&root.join("etc/with-xattr"), "trusted.overlay.redirect"), None, "overlay xattrs dropped");
    let wh = meta("gone/oldfile");
    assert!(wh.file_type().is_char_device() && wh.rdev() == 0, "whiteout is a 0:0 char device");
    assert!(!root.join("gone/.wh.oldfile").exists());
    assert_eq!(xattr(&root.join("opaque"), "trusted.overlay.opaque").as_deref(), Some(&b"y"[..]));
    assert_eq!(names(&root.join("opaque")), vec!["new"], "markers are not files");
    assert_eq!(fs::read(root.join("deep/implicit/parents/file")).expect("deep"), b"deep");
    assert_eq!(meta("deep/implicit").permissions().mode() & 0o777, 0o755);
    // directory mtimes are set after their contents; the PAX fraction is kept on the root
    assert_eq!(meta("opaque").mtime(), MTIME as i64);
    assert_eq!(meta("bin").mtime(), MTIME as i64);
    let rootm = fs::metadata(root).expect("root");
    assert_eq!((rootm.mtime(), rootm.mtime_nsec()), (MTIME as i64, 250_000_000));
}

#[test]
fn normal_tree_with_whiteouts_plain_gzip_and_zstd() {
    let tar = normal_tree();
    let want = Digest::sha256_of(&tar);
    for (kind, blob) in [("plain", tar.clone()), ("gzip", gzip(&tar)), ("zstd", zstd(&tar))] {
        let dir = tempfile::tempdir().expect("tempdir");
        let diff_id = unpack_layer(&blob[..], dir.path()).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
        assert_eq!(diff_id, want, "{kind}: diff_id is the sha256 of the uncompressed tar");
        check_normal_tree(dir.path());
    }
}

#[test]
fn later_entries_replace_earlier_ones_without_following_links() {
    let dir = tempfile::tempdir().expect("tempdir");
    let canary = dir.path().join("canary");
    fs::write(&canary, b"safe").expect("canary");
    let store = dir.path().join("layers");
    let tar = Layer::new()
        .symlink("x", canary.to_str().expect("utf8"))
        .file("x", b"replaced")
        .file("d/inner", b"1")
        .file("d", b"now a file")
        .finish();
    unpack_layer_to(&store, "l1", &tar[..]).expect("unpack");
    assert_eq!(fs::read(store.join("l1/x")).expect("x"), b"replaced");
    assert_eq!(fs::read(store.join("l1/d")).expect("d"), b"now a file");
    assert_eq!(fs::read(&canary).expect("canary"), b"safe");
    assert_eq!(names(&store), vec!["l1"]);
    // a second writer of the same layer keeps the first one's directory
    let again = unpack_layer_to(&store, "l1", &tar[..]).expect("unpack again");
    assert_eq!(again, Digest::sha256_of(&tar));
    assert_eq!(names(&store), vec!["l1"]);
}

#[test]
fn hostile_layers_fail_and_leave_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = dir.path();
    let canary = outside.join("canary");
    let out = outside.to_str().expect("utf8").to_owned();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("dot-dot", Layer::new().file("../canary", b"pwned").finish(), "../canary"),
        ("deep dot-dot", Layer::new().file("a/../../canary", b"pwned").finish(), "a/../../canary"),
        ("absolute", Layer::new().file(&format!("{out}/canary"), b"pwned").finish(), &*Box::leak(format!("{out}/canary").into_boxed_str())),
        ("absolute symlink then through it", Layer::new().symlink("a", &out).file("a/canary", b"pwned").finish(), "a/canary"),
        ("symlink to .. chain", Layer::new().symlink("b", "..").symlink("c", "b/b").file("c/canary", b"pwned").finish(), "c/canary"),
        ("relative symlink escaping", Layer::new().dir("d/", 0o755).symlink("d/up", "../..").file("d/up/canary", b"pwned").finish(), "d/up/canary"),
        ("hard link to outside", Layer::new().hardlink("h", "../canary").finish(), "h"),
        ("hard link to absolute", Layer::new().hardlink("h", &format!("{out}/canary")).finish(), "h"),
        ("hard link through symlink", Layer::new().symlink("s", &out).hardlink("h", "s/canary").finish(), "h"),
        ("whiteout outside", Layer::new().file("../.wh.canary", b"").finish(), "../.wh.canary"),
        ("opaque through symlink", Layer::new().symlink("s", &out).file("s/.wh..wh..opq", b"").finish(), "s/.wh..wh..opq"),
    ];
    for (what, tar, entry) in cases {
        fs::write(&canary, b"safe").expect("canary");
        let store = outside.join("layers");
        let err = unpack_layer_to(&store, "layer", &tar[..]).expect_err(what);
        match &err {
            UnpackError::Escape { entry: e } => assert_eq!(e, entry, "{what}"),
            other => panic!("{what}: expected an escape error, got {other:?}"),
        }
        assert_eq!(err.to_string(), format!("layer entry {entry:?}: path escapes the layer directory"));
        assert_eq!(fs::read(&canary).expect("canary"), b"safe", "{what}: canary untouched");
        assert_eq!(names(outside), vec!["canary", "layers"], "{what}: nothing new outside");
        assert!(names(&store).is_empty(), "{what}: no temp dir or layer left: {:?}", names(&store));
    }
}

#[test]
fn corrupt_input_fails_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("layers");
    let tar = normal_tree();
    let gz = gzip(&tar);
    let err = unpack_layer_to(&store, "l", &gz[..gz.len() / 2]).expect_err("truncated gzip");
    assert!(matches!(err, UnpackError::Read { .. }), "{err:?}");
    assert!(matches!(unpack_layer_to(&store, "../x", &tar[..]), Err(UnpackError::InvalidLayerId { .. })));
    assert!(names(&store).is_empty(), "{:?}", names(&store));
}
