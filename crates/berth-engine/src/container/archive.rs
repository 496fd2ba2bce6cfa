//! A container's files from outside: `docker cp` (`HEAD`/`GET`/`PUT
//! /containers/{id}/archive`) and `docker export`.
//!
//! The root is the running container's own (`/proc/<pid>/root`: what its processes see, its
//! volumes and binds included), or, for a stopped one, its snapshot mounted for the operation
//! (the container's lifecycle lock is held meanwhile, so it cannot start or go). Paths are resolved inside that root with `openat2(RESOLVE_IN_ROOT)`: a symlink in the
//! container (`/etc -> /`, `x -> ../../..`) resolves as it would inside, never to the host.
//! Archives are written by walking directory descriptors without following symlinks, and
//! `PUT` extracts through berth-image's unpacker (nothing is written outside the target).
//! A stopped container's volumes and binds are not seen (they are mounted only while it runs).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};

use super::record::Record;
use crate::error::{Error, Result};
use crate::policy::Principal;
use crate::Engine;

pub use berth_api_types::container::ContainerPathStat as PathStat;

/// Go's `os.FileMode` for a `st_mode`.
pub fn go_file_mode(st_mode: u32) -> u32 {
    let mut m = st_mode & 0o777;
    m |= match FileType::from_raw_mode(st_mode) {
        FileType::Directory => 1 << 31,
        FileType::Symlink => 1 << 27,
        FileType::Fifo => 1 << 25,
        FileType::Socket => 1 << 24,
        FileType::BlockDevice => 1 << 26,
        FileType::CharacterDevice => (1 << 26) | (1 << 21),
        _ => 0,
    };
    if st_mode & 0o4000 != 0 {
        m |= 1 << 23;
    }
    if st_mode & 0o2000 != 0 {
        m |= 1 << 22;
    }
    if st_mode & 0o1000 != 0 {
        m |= 1 << 20;
    }
    m
}

/// How `docker cp` into a container extracts.
#[derive(Debug, Clone, Copy, Default)]
pub struct PutOptions {
    /// `copyUIDGID` (`docker cp -a`): everything is owned by the container's user and its
    /// primary group; else by the owners the archive names, as dockerd extracts it.
    pub copy_uid_gid: bool,
    /// `noOverwriteDirNonDir`.
    pub keep_kinds: bool,
}

fn not_found(id: &str, path: &str) -> Error {
    Error::NotFound(format!("Could not find the file {path} in container {id}"))
}

/// Opens the root directory at `root`.
fn open_root(root: &Path) -> Result<OwnedFd> {
    rustix::fs::open(root, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| Error::Io { what: "open the container's root", path: root.to_owned(), source: e.into() })
}

/// Splits a container path into (the directory to resolve in the root, the last name), the
/// way `docker cp` means it: `/etc/` and `/etc` name `etc` in `/`; `/` names the root itself.
fn split(path: &str) -> (String, Option<OsString>) {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() || trimmed == "." {
        return ("/".into(), None);
    }
    match trimmed.rsplit_once('/') {
        Some((dir, name)) if name != "." && name != ".." => (if dir.is_empty() { "/".into() } else { dir.to_owned() }, Some(name.into())),
        _ if !trimmed.contains('/') => ("/".into(), Some(trimmed.into())),
        _ => (trimmed.to_owned(), None),
    }
}

/// Opens directory `dir` inside the root, symlinks resolved within it.
fn open_dir_in(root: BorrowedFd<'_>, dir: &str) -> rustix::io::Result<OwnedFd> {
    let rel = dir.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    rustix::fs::openat2(root, rel, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty(), ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS)
}

/// For a `path` that ends with a slash and names a symlink (`dir/link/`): the directory the
/// link leads to, resolved inside the root, as dockerd follows it then (an error where it
/// leads to no directory there). None otherwise.
fn followed_dir(root: BorrowedFd<'_>, parent: BorrowedFd<'_>, name: &OsStr, path: &str) -> rustix::io::Result<Option<OwnedFd>> {
    if !path.ends_with('/') {
        return Ok(None);
    }
    let st = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Symlink {
        return Ok(None);
    }
    open_dir_in(root, path).map(Some)
}

/// Where the symlink at the container path `path` leads, every link on the way followed inside
/// the root, as a container path: what dockerd's stat gives as `linkTarget` (and `docker cp -L`
/// copies). None where it leads to nothing that exists.
fn resolved_link(root: &Path, rootfd: BorrowedFd<'_>, path: &str) -> Option<String> {
    use std::os::fd::AsRawFd;
    let fd = berth_runtime::rootfs::resolve::open_in_root(rootfd, Path::new(path), OFlags::PATH).ok()?;
    let host = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
    let root = std::fs::canonicalize(root).ok()?;
    let inside = host.strip_prefix(&root).ok()?;
    Some(format!("/{}", inside.display()))
}

fn stat_of(parent: BorrowedFd<'_>, name: &OsStr, shown: &str) -> rustix::io::Result<PathStat> {
    let st = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let link_target = if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
        rustix::fs::readlinkat(parent, name, Vec::new())?.to_string_lossy().into_owned()
    } else {
        String::new()
    };
    Ok(PathStat {
        name: shown.to_owned(),
        size: st.st_size,
        mode: go_file_mode(st.st_mode),
        mtime: berth_runtime::state::rfc3339_from_unix(st.st_mtime, st.st_mtime_nsec as u32),
        link_target,
    })
}

/// Writes the tree at `name` in `parent` into `tar` as `tar_name`, never following symlinks;
/// hard links within the tree become link entries.
struct Packer<W: Write> {
    tar: tar::Builder<W>,
    links: HashMap<(u64, u64), PathBuf>,
}

/// proc, sysfs, devpts, cgroup (v1 and v2), mqueue, debugfs, securityfs, bpf: kernel views.
fn is_pseudo_fs(dir: &OwnedFd) -> bool {
    const MAGICS: [i64; 9] = [0x9fa0, 0x6265_6572, 0x1cd1, 0x0027_e0eb, 0x6367_7270, 0x1980_0202, 0x6462_6720, 0x7363_6673, 0xcafe_4a11];
    rustix::fs::fstatfs(dir).is_ok_and(|s| MAGICS.contains(&s.f_type))
}

impl<W: Write> Packer<W> {
    /// A directory's entry, named with a trailing `/` as Docker's archives name them (the tar
    /// crate drops it from names that fit the header; longer ones keep it in their GNU long
    /// name).
    fn append_dir(&mut self, h: &mut tar::Header, tar_name: &Path) -> std::io::Result<()> {
        // `./sub` is `sub`, as the tar crate writes the names of files.
        let bytes = tar_name.as_os_str().as_bytes();
        let mut name = bytes.strip_prefix(b"./").filter(|rest| !rest.is_empty()).unwrap_or(bytes).to_vec();
        if name.last() != Some(&b'/') {
            name.push(b'/');
        }
        let field = &mut h.as_old_mut().name;
        if name.len() > field.len() {
            return self.tar.append_data(h, Path::new(OsStr::from_bytes(&name)), std::io::empty());
        }
        field[..name.len()].copy_from_slice(&name);
        h.set_cksum();
        self.tar.append(h, std::io::empty())
    }

    fn pack(&mut self, parent: BorrowedFd<'_>, name: &OsStr, tar_name: &Path) -> std::io::Result<()> {
        let st = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
        let kind = FileType::from_raw_mode(st.st_mode);
        let mut h = tar::Header::new_gnu();
        h.set_mode(st.st_mode & 0o7777);
        h.set_uid(u64::from(st.st_uid));
        h.set_gid(u64::from(st.st_gid));
        h.set_mtime(st.st_mtime.max(0) as u64);
        h.set_size(0);
        let key = (st.st_dev, st.st_ino);
        if kind != FileType::Directory && st.st_nlink > 1 {
            if let Some(first) = self.links.get(&key) {
                h.set_entry_type(tar::EntryType::Link);
                return self.tar.append_link(&mut h, tar_name, first);
            }
            self.links.insert(key, tar_name.to_owned());
        }
        match kind {
            FileType::RegularFile => {
                let fd = rustix::fs::openat(parent, name, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(st.st_size as u64);
                self.tar.append_data(&mut h, tar_name, File::from(fd).take(st.st_size as u64))
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(parent, name, Vec::new())?;
                h.set_entry_type(tar::EntryType::Symlink);
                self.tar.append_link(&mut h, tar_name, Path::new(OsStr::from_bytes(target.as_bytes())))
            }
            FileType::Directory => {
                h.set_entry_type(tar::EntryType::Directory);
                self.append_dir(&mut h, tar_name)?;
                let dir = rustix::fs::openat(parent, name, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
                if is_pseudo_fs(&dir) {
                    return Ok(()); // /proc, /sys and the like: the mount point, not the kernel's files
                }
                let mut names: Vec<OsString> = Vec::new();
                for e in rustix::fs::Dir::read_from(&dir)? {
                    let e = e?;
                    let n = e.file_name().to_bytes();
                    if n != b"." && n != b".." {
                        names.push(OsStr::from_bytes(n).to_owned());
                    }
                }
                names.sort();
                for n in names {
                    self.pack(dir.as_fd(), &n, &tar_name.join(&n))?;
                }
                Ok(())
            }
            FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
                h.set_entry_type(match kind {
                    FileType::CharacterDevice => tar::EntryType::Char,
                    FileType::BlockDevice => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                });
                h.set_device_major(rustix::fs::major(st.st_rdev))?;
                h.set_device_minor(rustix::fs::minor(st.st_rdev))?;
                self.tar.append_data(&mut h, tar_name, std::io::empty())
            }
            _ => Ok(()), // sockets and the like do not travel
        }
    }
}

/// Writes the entries of the directory `dir` (not the directory itself) as a tar to `out`,
/// without following symlinks; used by export and by the copy-up of volumes.
pub(crate) fn pack_dir_contents<W: Write>(dir: BorrowedFd<'_>, out: W) -> std::io::Result<()> {
    let mut names = Vec::new();
    for e in rustix::fs::Dir::read_from(dir)? {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(OsStr::from_bytes(n).to_owned());
        }
    }
    names.sort();
    let mut p = Packer { tar: tar::Builder::new(out), links: HashMap::new() };
    for n in &names {
        p.pack(dir, n, Path::new(n))?;
    }
    p.tar.finish()?;
    p.tar.get_mut().flush()
}

impl Engine {
    /// Runs `f` on the root directory of container `key` (see the module doc); `f` gets the
    /// container as the caller named it, for messages.
    /// With `mounts`, a running container is seen with its own mounts (volumes, binds), as
    /// `docker cp` sees it; without, only its root filesystem (`docker export`).
    async fn with_root<T: Send + 'static>(&self, principal: &Principal, key: &str, mounts: bool, f: impl FnOnce(&Path, &str) -> Result<T> + Send + 'static) -> Result<T> {
        let ctr = self.find(principal, key)?;
        let _op = ctr.op.lock().await;
        let (id, live, image, pid) = {
            let r = ctr.rec();
            (r.id.clone(), r.state.status.is_live(), r.image.clone(), r.state.pid)
        };
        let shown = key.to_owned();
        let join = |r: std::result::Result<Result<T>, tokio::task::JoinError>| r.unwrap_or_else(|e| Err(Error::Internal(format!("file task: {e}"))));
        if live {
            // The container's own root, as its processes see it: its volumes and binds
            // included (paths still resolve inside it); or its root filesystem alone.
            let root = if mounts && pid > 0 { PathBuf::from(format!("/proc/{pid}/root")) } else { self.cfg.run_dir(&id).join("bundle/rootfs") };
            return join(tokio::task::spawn_blocking(move || f(&root, &shown)).await);
        }
        let image = self.images.lookup(&image).map_err(|_| Error::Conflict(format!("the image of container {} is gone", &id[..12])))?;
        let lowers = self.images.container_lowers(&image).map_err(Error::Image)?;
        let snap = berth_image::Snapshot::prepare(Record::dir(&self.cfg.containers_dir(), &id).join("fs"), lowers)
            .map_err(|source| Error::Snapshot { id: id.clone(), what: "prepare the root filesystem", source })?;
        let mnt = self.cfg.exec_root.join("m").join(&id[..16]);
        std::fs::create_dir_all(&mnt).map_err(Error::io("create a mount point", &mnt))?;
        snap.mount(&mnt, false).map_err(|source| Error::Snapshot { id: id.clone(), what: "mount the root filesystem", source })?;
        // What a running container has mounted, as dockerd mounts it for a stopped one's copy:
        // its volumes, binds and /etc files. (The unmount below detaches them with the root.)
        let mounted = if mounts { self.mount_for_copy(&ctr, &mnt) } else { Ok(()) };
        let m = mnt.clone();
        let result = match mounted {
            Ok(()) => join(tokio::task::spawn_blocking(move || f(&m, &shown)).await),
            Err(e) => Err(e),
        };
        if berth_image::snapshot::unmount(&mnt, false).is_err() {
            let _ = berth_image::snapshot::unmount(&mnt, true);
        }
        let _ = std::fs::remove_dir(&mnt);
        result
    }

    /// Binds what a stopped container mounts when it runs (volumes, binds, its /etc files)
    /// into its root filesystem mounted at `root`; each target is made and opened inside the
    /// root first, so no path of the container's leads a mount outside it.
    fn mount_for_copy(&self, ctr: &super::Ctr, root: &Path) -> Result<()> {
        let (id, volumes, host) = {
            let r = ctr.rec();
            (r.id.clone(), r.volumes.clone(), r.host_config.clone())
        };
        // (source, destination, read-only)
        let mut binds: Vec<(PathBuf, String, bool)> = volumes.iter().map(|v| (self.volumes.data_dir(&v.name), v.destination.clone(), v.read_only)).collect();
        for b in host.binds.iter().flatten().filter(|b| b.starts_with('/')) {
            let (src, dst, opts) = super::mounts::bind_parts(b)?;
            binds.push((PathBuf::from(src), dst.to_owned(), opts.split(',').any(|o| o == "ro")));
        }
        for m in host.mounts.iter().flatten().filter(|m| m.kind == berth_api_types::container::MountType::Bind) {
            if let Some(src) = &m.source {
                binds.push((PathBuf::from(src), m.target.clone(), m.read_only == Some(true)));
            }
        }
        for (src, dst) in super::etc::paths(&Record::dir(&self.cfg.containers_dir(), &id)) {
            if src.exists() && !binds.iter().any(|(_, d, _)| d == dst) {
                binds.push((src, dst.to_owned(), host.readonly_rootfs == Some(true)));
            }
        }
        binds.sort_by_key(|(_, d, _)| Path::new(d).components().count());
        let rootfd = open_root(root)?;
        let fail = |dst: &str, e: std::io::Error| Error::Io { what: "mount for the copy", path: PathBuf::from(dst), source: e };
        for (src, dst, ro) in binds {
            let dir = std::fs::metadata(&src).map_err(|e| fail(&dst, e))?.is_dir();
            let target = if dir {
                berth_runtime::rootfs::resolve::mkdir_all_in_root(rootfd.as_fd(), Path::new(&dst))
            } else {
                berth_runtime::rootfs::resolve::touch_in_root(rootfd.as_fd(), Path::new(&dst))
            }
            .map_err(|e| fail(&dst, e))?;
            let at = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&target));
            rustix::mount::mount_bind_recursive(&src, &at).map_err(|e| fail(&dst, e.into()))?;
            if ro {
                let top = berth_runtime::rootfs::resolve::open_in_root(rootfd.as_fd(), Path::new(&dst), OFlags::PATH).map_err(|e| fail(&dst, e))?;
                let at = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&top));
                rustix::mount::mount_remount(&at, rustix::mount::MountFlags::BIND | rustix::mount::MountFlags::RDONLY, "").map_err(|e| fail(&dst, e.into()))?;
            }
        }
        Ok(())
    }

    /// `HEAD /containers/{id}/archive`: what `path` is, inside the container.
    pub async fn archive_stat(&self, principal: &Principal, key: &str, path: &str) -> Result<PathStat> {
        let path = path.to_owned();
        self.with_root(principal, key, true, move |root, id| {
            let rootfd = open_root(root)?;
            let (dir, name) = split(&path);
            let nf = |_| not_found(id, &path);
            let parent = open_dir_in(rootfd.as_fd(), &dir).map_err(nf)?;
            match name {
                Some(n) => match followed_dir(rootfd.as_fd(), parent.as_fd(), &n, &path).map_err(nf)? {
                    Some(target) => stat_of(target.as_fd(), OsStr::new("."), &n.to_string_lossy()).map_err(nf),
                    None => {
                        let mut st = stat_of(parent.as_fd(), &n, &n.to_string_lossy()).map_err(nf)?;
                        if !st.link_target.is_empty() {
                            st.link_target = resolved_link(root, rootfd.as_fd(), &path).unwrap_or(st.link_target);
                        }
                        Ok(st)
                    }
                },
                None => stat_of(parent.as_fd(), OsStr::new("."), "/").map_err(nf),
            }
        })
        .await
    }

    /// `GET /containers/{id}/archive`: `path` as a tar into `out` (named by its last
    /// component); a directory given as `dir/.` gives its contents.
    pub async fn archive_get(&self, principal: &Principal, key: &str, path: &str, out: impl Write + Send + 'static) -> Result<()> {
        let path = path.to_owned();
        self.with_root(principal, key, true, move |root, id| {
            let rootfd = open_root(root)?;
            let contents_only = path.ends_with("/.");
            let (dir, name) = split(path.trim_end_matches("/."));
            let parent = open_dir_in(rootfd.as_fd(), &dir).map_err(|_| not_found(id, &path))?;
            let (name, tar_name) = match &name {
                Some(n) if !contents_only => (n.as_os_str(), PathBuf::from(n)),
                Some(n) => (n.as_os_str(), PathBuf::from(".")),
                None => (OsStr::new("."), PathBuf::from(".")),
            };
            rustix::fs::statat(&parent, name, AtFlags::SYMLINK_NOFOLLOW).map_err(|_| not_found(id, &path))?;
            // `dir/link/`: the directory it leads to, under the link's name.
            let (parent, name) = match followed_dir(rootfd.as_fd(), parent.as_fd(), name, &path).map_err(|_| not_found(id, &path))? {
                Some(target) => (target, OsStr::new(".")),
                None => (parent, name),
            };
            let mut p = Packer { tar: tar::Builder::new(out), links: HashMap::new() };
            p.pack(parent.as_fd(), name, &tar_name).and_then(|_| p.tar.into_inner()).and_then(|mut w| w.flush()).map_err(|e| Error::Internal(format!("archive {path} of container {id}: {e}")))?;
            Ok(())
        })
        .await
    }

    /// `PUT /containers/{id}/archive`: extracts the tar `archive` into the directory `path`.
    pub async fn archive_put(&self, principal: &Principal, key: &str, path: &str, archive: impl Read + Send + 'static, opts: PutOptions) -> Result<()> {
        let ctr = self.find(principal, key)?;
        if ctr.rec().host_config.readonly_rootfs == Some(true) {
            return Err(Error::Conflict("container rootfs is marked read-only".into()));
        }
        let shown = path.to_owned();
        let path = path.to_owned();
        let user = ctr.rec().config.user.clone().unwrap_or_default();
        self.with_root(principal, key, true, move |root, id| {
            let owner = if opts.copy_uid_gid {
                let (uid, gid, _) = super::user::resolve(root, &user, &[]).map_err(|e| Error::InvalidParameter(format!("copy into container {id} as its user {user:?}: {}", crate::error::chain(&e))))?;
                Some((uid, gid))
            } else {
                None
            };
            let rootfd = open_root(root)?;
            let dir = open_dir_in(rootfd.as_fd(), &path).map_err(|e| match e {
                rustix::io::Errno::NOTDIR => Error::InvalidParameter(format!("extraction point is not a directory: {path} in container {id}")),
                _ => not_found(id, &path),
            })?;
            let unpack = berth_image::UnpackOptions { whiteouts: false, owner, keep_kinds: opts.keep_kinds };
            berth_image::unpack_at(archive, dir.as_fd(), unpack).map_err(|e| Error::InvalidParameter(format!("copy into {path} of container {id}: {}", crate::error::chain(&e))))?;
            Ok(())
        })
        .await?;
        self.container_event(&ctr, "extract-to-dir", &[("path", shown)]);
        Ok(())
    }

    /// `GET /containers/{id}/export`: the whole root filesystem as a tar.
    pub async fn export(&self, principal: &Principal, key: &str, out: impl Write + Send + 'static) -> Result<()> {
        let ctr = self.find(principal, key)?;
        self.with_root(principal, key, false, move |root, id| {
            let rootfd = open_root(root)?;
            pack_dir_contents(rootfd.as_fd(), out).map_err(|e| Error::Internal(format!("export container {id}: {e}")))
        })
        .await?;
        self.container_event(&ctr, "export", &[]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_paths_split_as_docker_cp_means_them() {
        let s = |p: &str| {
            let (d, n) = split(p);
            (d, n.map(|n| n.to_string_lossy().into_owned()))
        };
        assert_eq!(s("/etc/passwd"), ("/etc".into(), Some("passwd".into())));
        assert_eq!(s("/etc/"), ("/".into(), Some("etc".into())));
        assert_eq!(s("/"), ("/".into(), None));
        assert_eq!(s("tmp"), ("/".into(), Some("tmp".into())));
        assert_eq!(s("/a/.."), ("/a/..".into(), None));
    }

    #[test]
    fn go_file_modes() {
        assert_eq!(go_file_mode(0o040755), (1 << 31) | 0o755);
        assert_eq!(go_file_mode(0o100644), 0o644);
        assert_eq!(go_file_mode(0o120777), (1 << 27) | 0o777);
        assert_eq!(go_file_mode(0o104755), (1 << 23) | 0o755);
    }
}
