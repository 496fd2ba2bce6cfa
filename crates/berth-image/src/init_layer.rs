//! Docker's init layer: a read-only directory between an image's layers and a container's
//! writable one, holding the targets of the mounts every container gets (`/etc/hosts`,
//! `/etc/hostname`, `/etc/resolv.conf`, `/proc`, `/sys`, `/dev` and what Docker puts under it)
//! that the image lacks, Docker's `/.dockerenv` (by which programs tell they run in a
//! container) and `/etc/mtab -> /proc/mounts`. Without
//! it the runtime makes them in the writable layer of every container, which `docker diff`
//! would then show, and which costs a copy-up of `/etc` at each first start. One per image,
//! made at its first container's start and shared by all of them.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What an entry of the init layer is.
#[derive(Clone, Copy)]
enum Kind {
    /// An empty file with this mode.
    File(u32),
    Dir,
    Link(&'static str),
}

/// Bumped whenever [`TARGETS`] changes: an image's init layer is named with it, so starts get
/// a layer with every entry while containers that run on an older one keep theirs (it goes with
/// the image).
pub(crate) const VERSION: u32 = 2;

/// The entries, as Docker's init layer has them.
const TARGETS: [(&str, Kind); 11] = [
    (".dockerenv", Kind::File(0o755)),
    ("etc/hostname", Kind::File(0o644)),
    ("etc/hosts", Kind::File(0o644)),
    ("etc/resolv.conf", Kind::File(0o644)),
    ("etc/mtab", Kind::Link("/proc/mounts")),
    ("proc", Kind::Dir),
    ("sys", Kind::Dir),
    ("dev", Kind::Dir),
    ("dev/pts", Kind::Dir),
    ("dev/shm", Kind::Dir),
    ("dev/console", Kind::File(0o755)),
];

/// Makes the init layer of an image with these lower directories (top-most first) at `dir`,
/// unless it is there already. Built under a temporary name and renamed into place, so a
/// container never sees half of one, and two starts racing both succeed.
pub(crate) fn ensure(dir: &Path, lowers: &[PathBuf]) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let parent = dir.parent().expect("an init layer has a parent directory");
    let name = dir.file_name().expect("an init layer has a name").to_string_lossy();
    // Unique among this process's threads and other processes (leftovers go at the store's
    // next open).
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = parent.join(format!(".tmp-{name}-{}-{n}", std::process::id()));
    let made = fill(&tmp, lowers).and_then(|()| fs::rename(&tmp, dir));
    match made {
        Ok(()) => Ok(()),
        // Another start made it first.
        Err(_) if dir.is_dir() => {
            let _ = fs::remove_dir_all(&tmp);
            Ok(())
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

fn fill(root: &Path, lowers: &[PathBuf]) -> io::Result<()> {
    let mut dirs = fs::DirBuilder::new();
    dirs.mode(0o755).recursive(true);
    dirs.create(root)?;
    for (rel, kind) in TARGETS {
        if !missing(rel, lowers) {
            continue;
        }
        let at = root.join(rel);
        dirs.create(at.parent().expect("targets are below the root"))?;
        match kind {
            Kind::Dir => dirs.create(&at)?,
            Kind::File(mode) => {
                let f = fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&at)?;
                // The umask took its share of the mode.
                f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
            }
            Kind::Link(to) => std::os::unix::fs::symlink(to, &at)?,
        }
    }
    Ok(())
}

/// The image has nothing at `rel`, and every directory above it is a real one (a target under
/// a symlinked `/etc` is left to the runtime: a directory here would hide the image's).
fn missing(rel: &str, lowers: &[PathBuf]) -> bool {
    let path = Path::new(rel);
    let parents_are_dirs = path.ancestors().skip(1).filter(|a| !a.as_os_str().is_empty()).all(|a| entry(a, lowers).is_none_or(|m| m.is_dir()));
    parents_are_dirs && entry(path, lowers).is_none()
}

/// What the image has at `rel`: the top-most layer's entry there, None where there is none or
/// it is a whiteout.
fn entry(rel: &Path, lowers: &[PathBuf]) -> Option<fs::Metadata> {
    let m = lowers.iter().find_map(|l| fs::symlink_metadata(l.join(rel)).ok())?;
    let whiteout = m.file_type().is_char_device() && m.rdev() == 0;
    (!whiteout).then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_the_image_lacks_and_nothing_it_has() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (top, bottom) = (tmp.path().join("top"), tmp.path().join("bottom"));
        fs::create_dir_all(bottom.join("etc")).expect("mkdir");
        fs::write(bottom.join("etc/hosts"), "image's").expect("write");
        fs::create_dir_all(bottom.join("proc")).expect("mkdir");
        fs::create_dir_all(&top).expect("mkdir");
        // The top layer deletes /proc: a whiteout.
        rustix::fs::mknodat(rustix::fs::CWD, top.join("proc"), rustix::fs::FileType::CharacterDevice, rustix::fs::Mode::empty(), 0).expect("whiteout");
        let init = tmp.path().join("init/img");
        fs::create_dir_all(tmp.path().join("init")).expect("mkdir");
        ensure(&init, &[top.clone(), bottom.clone()]).expect("made");
        let mut got: Vec<String> = walk(&init);
        got.sort();
        assert_eq!(got, [".dockerenv", "dev/", "dev/console", "dev/pts/", "dev/shm/", "etc/", "etc/hostname", "etc/mtab", "etc/resolv.conf", "proc/", "sys/"]);
        assert_eq!(fs::read_link(init.join("etc/mtab")).expect("a link"), Path::new("/proc/mounts"));
        assert_eq!(fs::metadata(init.join(".dockerenv")).expect("stat").mode() & 0o7777, 0o755);
        assert_eq!(fs::metadata(init.join("etc/hostname")).expect("stat").mode() & 0o7777, 0o644);
        // Made once: a second call keeps it, and leaves no temporary directory.
        ensure(&init, &[top, bottom]).expect("kept");
        assert_eq!(fs::read_dir(tmp.path().join("init")).expect("list").count(), 1);
    }

    #[test]
    fn racing_makers_all_succeed_with_one_layer() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let layer = tmp.path().join("layer");
        fs::create_dir_all(layer.join("etc")).expect("mkdir");
        let parent = tmp.path().join("init");
        fs::create_dir_all(&parent).expect("mkdir");
        let init = parent.join("img");
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| ensure(&init, std::slice::from_ref(&layer)).expect("made or found"));
            }
        });
        assert_eq!(fs::read_dir(&parent).expect("list").count(), 1, "one layer, no temporary left");
        assert!(init.join("etc/hosts").is_file());
    }

    #[test]
    fn a_symlinked_etc_is_left_alone() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let layer = tmp.path().join("layer");
        fs::create_dir_all(layer.join("usr/etc")).expect("mkdir");
        std::os::unix::fs::symlink("usr/etc", layer.join("etc")).expect("symlink");
        let init = tmp.path().join("img");
        ensure(&init, &[layer]).expect("made");
        assert!(!init.join("etc").exists(), "no directory hides the image's /etc symlink");
        assert!(init.join("proc").is_dir());
    }

    fn walk(root: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_owned()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).expect("list").flatten() {
                let rel = e.path().strip_prefix(root).expect("below").to_string_lossy().into_owned();
                if e.file_type().expect("type").is_dir() {
                    out.push(format!("{rel}/"));
                    stack.push(e.path());
                } else {
                    out.push(rel);
                }
            }
        }
        out
    }
}
