//! The cgroup filesystem as plain files and directories: read or write one value, create a
//! path below a mount, remove a subtree, list the processes of a subtree.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::CgroupError;

pub(crate) fn read_file(path: &Path) -> Result<String, CgroupError> {
    super::detect::read_text(path)
}

/// Writes `value` in one write(2), as cgroup files want.
pub(crate) fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    Writer::default().write(path, value)
}

/// Writes values to cgroup files, one write(2) each, keeping the last file open: a run of
/// values for the same file (a container's twenty-odd `devices.allow` rules) costs one open.
/// The kernel takes each write(2) to a cgroup file as a value of its own.
#[derive(Default)]
pub(crate) struct Writer {
    open: Option<(PathBuf, std::fs::File)>,
}

impl Writer {
    pub(crate) fn write(&mut self, path: &Path, value: &str) -> Result<(), CgroupError> {
        let err = |source| CgroupError::Write { path: path.to_owned(), value: value.to_owned(), source };
        let f = match &mut self.open {
            Some((p, f)) if p == path => f,
            slot => &mut slot.insert((path.to_owned(), std::fs::OpenOptions::new().write(true).open(path).map_err(err)?)).1,
        };
        f.write_all(value.as_bytes()).map_err(err)
    }
}

fn create_dir(path: &Path) -> Result<bool, CgroupError> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(source) => Err(CgroupError::Create { path: path.to_owned(), source }),
    }
}

/// Creates `dir` and its missing parents below `mount_dir`, calling `each(parent, child)` for
/// every level below the mount. Newly created directories are appended to `created`.
pub(crate) fn create_below(
    mount_dir: &Path,
    dir: &Path,
    created: &mut Vec<PathBuf>,
    mut each: impl FnMut(&Path, &Path) -> Result<(), CgroupError>,
) -> Result<(), CgroupError> {
    let rel = dir.strip_prefix(mount_dir).map_err(|_| CgroupError::InvalidPath {
        path: dir.display().to_string(),
        reason: "outside its hierarchy's mount",
    })?;
    let mut cur = mount_dir.to_path_buf();
    for c in rel.components() {
        let parent = cur.clone();
        cur.push(c);
        if create_dir(&cur)? {
            created.push(cur.clone());
        }
        each(&parent, &cur)?;
    }
    Ok(())
}

/// Enables every controller the parent offers in each ancestor's `cgroup.subtree_control`,
/// from the mount down to `dir`'s parent.
pub(crate) fn enable_v2_controllers(mount_dir: &Path, dir: &Path) -> Result<(), CgroupError> {
    let Ok(rel) = dir.strip_prefix(mount_dir) else { return Ok(()) };
    let mut cur = mount_dir.to_path_buf();
    let comps: Vec<_> = rel.components().collect();
    for c in comps {
        let available = read_file(&cur.join("cgroup.controllers"))?;
        let enabled = read_file(&cur.join("cgroup.subtree_control"))?;
        let enabled: Vec<&str> = enabled.split_whitespace().collect();
        for ctrl in available.split_whitespace().filter(|c| !enabled.contains(c)) {
            write_file(&cur.join("cgroup.subtree_control"), &format!("+{ctrl}"))?;
        }
        cur.push(c);
    }
    Ok(())
}

pub(crate) fn read_v2_controllers(dir: &Path) -> Result<Vec<String>, CgroupError> {
    Ok(read_file(&dir.join("cgroup.controllers"))?.split_whitespace().map(str::to_owned).collect())
}

pub(crate) fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<(), CgroupError> {
    let procs = match std::fs::read_to_string(dir.join("cgroup.procs")) {
        Ok(s) => s,
        // The sub-cgroup went away while walking.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(CgroupError::Read { path: dir.join("cgroup.procs"), source }),
    };
    out.extend(procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    for sub in sub_cgroups(dir)? {
        collect_pids(&sub, out)?;
    }
    Ok(())
}

fn sub_cgroups(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(CgroupError::Read { path: dir.to_owned(), source }),
    };
    Ok(entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect())
}

pub(crate) fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    for sub in sub_cgroups(dir)? {
        remove_tree(&sub)?;
    }
    let start = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && start.elapsed() < Duration::from_secs(2) => {
                // A process that joined this hierarchy late (an exec racing the delete, which
                // saw the others empty) keeps it busy: end it.
                let mut late = Vec::new();
                let _ = collect_pids(dir, &mut late);
                for pid in late.into_iter().filter_map(rustix::process::Pid::from_raw) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(source) => return Err(CgroupError::Remove { path: dir.to_owned(), source }),
        }
    }
}
