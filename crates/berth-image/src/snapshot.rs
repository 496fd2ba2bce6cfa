//! Container snapshots: an overlay of an image's unpacked layers (read-only lowers) plus the
//! container's own `upper/` and `work/` directories.
//!
//! Mounting uses the new mount API, one `fsconfig(FSCONFIG_SET_STRING, "lowerdir+", dir)` per
//! layer (Linux 6.8+; this machine runs 6.18). Chosen over the classic `mount(2)` data string
//! because that string must fit in one page (4095 bytes), which 100+ layers of 64-hex-named
//! directories overflow, and the usual workaround (short symlink names and a `chdir` to their
//! directory) changes the process's working directory, which a multi-threaded daemon cannot do
//! safely. With `lowerdir+` each path travels alone (up to 256 bytes each), there is no escaping
//! of `:` or `,`, and the stack may hold as many layers as overlayfs allows (500).
//! [`Snapshot::mount_data`] still renders the classic string for callers that need one (an
//! OCI runtime's `mounts` entry), and says when it would not fit.
//!
//! Lower directories are given top-most first, the order of `lowerdir=top:...:bottom`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rustix::mount::{FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, UnmountFlags};

/// Longest classic mount data string the kernel accepts (one page, with its NUL).
pub const MOUNT_DATA_MAX: usize = 4095;
/// Overlayfs' limit on the number of lower layers.
pub const MAX_LOWERS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("prepare snapshot directory {path}")]
    Prepare { path: PathBuf, #[source] source: io::Error },
    #[error("snapshot has {count} lower layers, more than overlayfs allows ({MAX_LOWERS})")]
    TooManyLayers { count: usize },
    #[error("overlay mount data is {len} bytes, more than the {MOUNT_DATA_MAX} a mount(2) call accepts")]
    DataTooLong { len: usize },
    #[error("overlay layer path {path} is not valid UTF-8")]
    NonUtf8Path { path: PathBuf },
    #[error("mount overlay on {target}: {step}")]
    Mount { target: PathBuf, step: &'static str, #[source] source: io::Error },
    #[error("unmount {target}")]
    Unmount { target: PathBuf, #[source] source: io::Error },
    #[error("remove snapshot directory {path}")]
    Remove { path: PathBuf, #[source] source: io::Error },
}

/// One container's filesystem: its own writable directories over an image's layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    dir: PathBuf,
    lowers: Vec<PathBuf>,
}

impl Snapshot {
    /// Creates (or reuses) `dir/upper` and `dir/work` over `lowers` (top-most first).
    pub fn prepare(dir: impl Into<PathBuf>, lowers: Vec<PathBuf>) -> Result<Self, SnapshotError> {
        if lowers.len() > MAX_LOWERS {
            return Err(SnapshotError::TooManyLayers { count: lowers.len() });
        }
        let snap = Snapshot { dir: dir.into(), lowers };
        for d in [snap.upper(), snap.work()] {
            fs::create_dir_all(&d).map_err(|source| SnapshotError::Prepare { path: d.clone(), source })?;
        }
        Ok(snap)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }

    pub fn work(&self) -> PathBuf {
        self.dir.join("work")
    }

    /// Lower layer directories, top-most first.
    pub fn lowers(&self) -> &[PathBuf] {
        &self.lowers
    }

    /// The classic `mount(2)` data string, with `:`, `,` and `\` in paths escaped; an error when
    /// it exceeds one page.
    pub fn mount_data(&self) -> Result<String, SnapshotError> {
        let esc = |p: &Path| -> Result<String, SnapshotError> {
            let s = p.to_str().ok_or_else(|| SnapshotError::NonUtf8Path { path: p.to_owned() })?;
            Ok(s.replace('\\', "\\\\").replace(':', "\\:").replace(',', "\\,"))
        };
        let lowers = self.lowers.iter().map(|p| esc(p)).collect::<Result<Vec<_>, _>>()?;
        let data = format!(
            "lowerdir={},upperdir={},workdir={}",
            lowers.join(":"),
            esc(&self.upper())?,
            esc(&self.work())?
        );
        if data.len() > MOUNT_DATA_MAX {
            return Err(SnapshotError::DataTooLong { len: data.len() });
        }
        Ok(data)
    }

    /// Mounts the overlay on `target` (an existing directory), one `lowerdir+` per layer.
    ///
    /// `volatile` is for a snapshot that no crash may outlive (an auto-removed container's):
    /// overlayfs then omits every sync of the upper filesystem, including the whole-filesystem
    /// sync its unmount does otherwise (milliseconds here, and more while the disk is busy).
    /// The kernel marks such a work directory and refuses to mount it again. The mark of an
    /// earlier volatile mount is removed first: that mount is gone, and only a crash could have
    /// left its upper directory unsynced, after which an auto-removed container is deleted.
    pub fn mount(&self, target: &Path, volatile: bool) -> Result<(), SnapshotError> {
        let err = |step: &'static str| {
            move |e: rustix::io::Errno| SnapshotError::Mount { target: target.to_owned(), step, source: e.into() }
        };
        let mark = self.work().join("work/incompat/volatile");
        match fs::remove_dir_all(&mark) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(SnapshotError::Prepare { path: mark, source }),
        }
        let fs_fd = rustix::mount::fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC).map_err(err("open overlay filesystem"))?;
        if volatile {
            rustix::mount::fsconfig_set_flag(&fs_fd, "volatile").map_err(err("set volatile"))?;
        }
        for lower in &self.lowers {
            rustix::mount::fsconfig_set_string(&fs_fd, "lowerdir+", lower).map_err(err("add lower layer"))?;
        }
        rustix::mount::fsconfig_set_string(&fs_fd, "upperdir", self.upper()).map_err(err("set upper directory"))?;
        rustix::mount::fsconfig_set_string(&fs_fd, "workdir", self.work()).map_err(err("set work directory"))?;
        rustix::mount::fsconfig_create(&fs_fd).map_err(err("create overlay"))?;
        let mnt = rustix::mount::fsmount(&fs_fd, FsMountFlags::FSMOUNT_CLOEXEC, MountAttrFlags::empty())
            .map_err(err("make mount"))?;
        rustix::mount::move_mount(&mnt, "", rustix::fs::CWD, target, MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH)
            .map_err(err("attach mount"))?;
        Ok(())
    }

    /// Removes the snapshot's own directories (the layers stay). Unmount first.
    pub fn remove(self) -> Result<(), SnapshotError> {
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(SnapshotError::Remove { path: self.dir, source }),
        }
    }
}

/// Unmounts `target`; `detach` makes it lazy (for a busy mount at shutdown).
pub fn unmount(target: &Path, detach: bool) -> Result<(), SnapshotError> {
    let flags = if detach { UnmountFlags::DETACH } else { UnmountFlags::empty() };
    rustix::mount::unmount(target, flags | UnmountFlags::NOFOLLOW)
        .map_err(|e| SnapshotError::Unmount { target: target.to_owned(), source: e.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_data_escapes_and_orders() {
        let snap = Snapshot { dir: PathBuf::from("/s/c1"), lowers: vec!["/l/top".into(), "/l/a:b,c".into()] };
        assert_eq!(
            snap.mount_data().expect("fits"),
            "lowerdir=/l/top:/l/a\\:b\\,c,upperdir=/s/c1/upper,workdir=/s/c1/work"
        );
    }

    #[test]
    fn mount_data_reports_overflow() {
        let lowers = (0..120).map(|i| PathBuf::from(format!("/var/lib/berth/layers/{i:064x}"))).collect();
        let snap = Snapshot { dir: PathBuf::from("/s"), lowers };
        assert!(matches!(snap.mount_data(), Err(SnapshotError::DataTooLong { .. })));
    }
}
