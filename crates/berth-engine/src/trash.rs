//! Directories whose removal is done once they are renamed out of the way: their contents are
//! deleted afterwards, by one background thread.
//!
//! A removed container's directories hold a few dozen files, and on a filesystem mounted with
//! `discard` (these machines' root) every file whose blocks are freed waits for a discard to
//! reach the disk: a `run --rm` spent about 5 ms in such waits before its removal was reported.
//! A rename into the trash is one metadata change on the same filesystem; what was renamed is
//! no longer the container's, whatever happens next. Whatever a crash leaves in the trash is
//! deleted when the engine opens it again.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;

/// What the background thread does, in the order it was asked.
enum Job {
    Delete(PathBuf),
    /// The last reference to a detached mount: dropping it ends the filesystem there (an
    /// overlay's unmount syncs its upper filesystem then).
    Release(OwnedFd),
}

/// The trash directories of the engine's roots (one per filesystem: the data root's and the
/// exec root's), and the thread that empties them.
pub(crate) struct Trash {
    /// (root, its trash directory)
    dirs: Vec<(PathBuf, PathBuf)>,
    /// Feeds the thread, started with the first job.
    queue: Mutex<Option<Sender<Job>>>,
    serial: AtomicU64,
}

impl Trash {
    /// A trash directory `root/.trash` for each of `roots` (created if missing); what an
    /// earlier daemon left there is deleted.
    /// Fails with the directory that could not be made or read.
    pub(crate) fn open(roots: &[&Path]) -> Result<Trash, (PathBuf, std::io::Error)> {
        let dirs: Vec<(PathBuf, PathBuf)> = roots.iter().map(|r| (r.to_path_buf(), r.join(".trash"))).collect();
        let trash = Trash { dirs, queue: Mutex::new(None), serial: AtomicU64::new(0) };
        for (_, dir) in &trash.dirs {
            let left = std::fs::create_dir_all(dir).and_then(|()| std::fs::read_dir(dir)).map_err(|e| (dir.clone(), e))?;
            for e in left.flatten() {
                trash.later(Job::Delete(e.path()));
            }
        }
        Ok(trash)
    }

    /// Removes the directory `path`: renamed into its root's trash at once, deleted later.
    /// Where that cannot be (a path under no root, a rename refused), it is deleted now. A
    /// missing `path` is no error.
    pub(crate) fn discard(&self, path: &Path) -> std::io::Result<()> {
        let renamed = self.dirs.iter().find(|(root, _)| path.starts_with(root)).map(|(_, dir)| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let serial = self.serial.fetch_add(1, Ordering::Relaxed);
            // The time keeps this daemon's names apart from those an earlier one left.
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            let dest = dir.join(format!("{name}.{nanos}.{serial}"));
            std::fs::rename(path, &dest).map(|()| dest)
        });
        match renamed {
            Some(Ok(dest)) => {
                self.later(Job::Delete(dest));
                Ok(())
            }
            Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            _ => match std::fs::remove_dir_all(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                r => r,
            },
        }
    }

    /// Drops `fd` (the last reference to a detached mount) on the background thread, before
    /// anything discarded after this call is deleted.
    pub(crate) fn release(&self, fd: OwnedFd) {
        self.later(Job::Release(fd));
    }

    fn later(&self, job: Job) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let sender = queue.get_or_insert_with(|| {
            let (tx, rx) = channel::<Job>();
            let spawned = std::thread::Builder::new().name("trash".into()).spawn(move || {
                for job in rx {
                    run(job);
                }
            });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "start the thread that deletes removed directories");
            }
            tx
        });
        if let Err(e) = sender.send(job) {
            // No thread: do it here.
            run(e.0);
        }
    }

    /// Waits until everything discarded so far is deleted.
    #[cfg(test)]
    fn settle(&self) {
        for _ in 0..500 {
            if self.dirs.iter().all(|(_, d)| std::fs::read_dir(d).map(|mut e| e.next().is_none()).unwrap_or(true)) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

fn run(job: Job) {
    match job {
        Job::Delete(p) => {
            if let Err(e) = std::fs::remove_dir_all(&p) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %p.display(), error = %e, "delete a removed directory");
                }
            }
        }
        Job::Release(fd) => drop(fd),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discarded_directories_leave_at_once_and_are_deleted_after() {
        let base = tempfile::tempdir().expect("tempdir");
        let left = base.path().join(".trash/left-by-a-crash");
        std::fs::create_dir_all(left.join("sub")).expect("leftover");
        std::fs::write(left.join("sub/f"), b"x").expect("leftover file");
        let trash = Trash::open(&[base.path()]).expect("open");
        let victim = base.path().join("ctr");
        std::fs::create_dir_all(victim.join("fs/upper")).expect("victim");
        std::fs::write(victim.join("fs/upper/data"), vec![7u8; 64 << 10]).expect("file");
        trash.discard(&victim).expect("discard");
        assert!(!victim.exists(), "gone from its place when discard returns");
        trash.discard(&victim).expect("a missing directory is no error");
        trash.settle();
        assert_eq!(std::fs::read_dir(base.path().join(".trash")).expect("trash").count(), 0, "the trash empties, leftovers included");
        let elsewhere = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(elsewhere.path().join("d/e")).expect("dir");
        trash.discard(&elsewhere.path().join("d")).expect("discard outside the roots");
        assert!(!elsewhere.path().join("d").exists(), "a directory under no root is deleted at once");
    }
}
