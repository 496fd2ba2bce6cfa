//! Layer unpack: one layer tar (plain, gzip or zstd) applied to an empty directory in one
//! streaming pass, producing the layer's diff_id (sha256 of the uncompressed tar) for the caller
//! to check against the image config.
//!
//! The result is an overlayfs lower directory: OCI whiteouts (`.wh.NAME`) become whiteout
//! devices (char 0:0 named NAME) and opaque markers (`.wh..wh..opq`) become the
//! `trusted.overlay.opaque=y` xattr on their directory. Hard links, symlinks, device nodes,
//! fifos, xattrs (PAX `SCHILY.xattr.*`), owners, modes (setuid, sticky) and mtimes are kept;
//! directory mtimes are set after their contents.
//!
//! The tar is untrusted. Entries are refused when their name is absolute or has a `..`
//! component, and every parent directory is opened through the layer directory's descriptor with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`, so a symlink that leads out (`a -> /etc`
//! then `a/passwd`, or `b -> ..` chains) or a hard link to a target outside fails with an error
//! naming the entry; relative symlinks that stay inside the layer are followed as Docker does.
//! The last component is never followed: whatever is in the way is removed first (a directory
//! is kept only when the entry is a directory too) and the new object is created exclusively.
//! `trusted.overlay.*` xattrs from the tar are dropped: they would steer overlayfs.
//!
//! [`unpack_layer_to`] wraps this for the layer store: unpack into a temporary directory, sync,
//! rename into place; a failure removes the temporary directory, so nothing half-made is seen.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{
    AtFlags, FileType, Mode, OFlags, ResolveFlags, Timespec, Timestamps, XattrFlags,
};
use rustix::io::Errno;

use crate::digest::{Algorithm, Digest, DigestReader};

const WHITEOUT_PREFIX: &str = ".wh.";
const WHITEOUT_META_PREFIX: &str = ".wh..wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";
const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
const COPY_BUF: usize = 128 * 1024;

/// How a layer blob is compressed, as told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Detects the compression from the magic bytes at the start of a blob.
    pub fn detect(head: &[u8]) -> Result<Self, UnpackError> {
        match head {
            [0x1f, 0x8b, ..] => Ok(Compression::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Ok(Compression::Zstd),
            [b'B', b'Z', b'h', ..] => Err(UnpackError::UnsupportedCompression { format: "bzip2" }),
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Err(UnpackError::UnsupportedCompression { format: "xz" }),
            _ => Ok(Compression::None),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("unsupported layer compression: {format}")]
    UnsupportedCompression { format: &'static str },
    #[error("read layer")]
    Read { #[source] source: io::Error },
    #[error("layer entry {entry:?}: {reason}")]
    Refused { entry: String, reason: &'static str },
    #[error("layer entry {entry:?}: path escapes the layer directory")]
    Escape { entry: String },
    #[error("layer entry {entry:?}: {step}")]
    Entry { entry: String, step: &'static str, #[source] source: io::Error },
    #[error("prepare layer directory {path}")]
    Prepare { path: PathBuf, #[source] source: io::Error },
    #[error("commit layer directory {path}")]
    Commit { path: PathBuf, #[source] source: io::Error },
    #[error("invalid layer id {id:?}")]
    InvalidLayerId { id: String },
}

/// Unpacks the layer read from `reader` into `dest` (an existing, empty directory) and returns
/// the diff_id. Does not sync: [`unpack_layer_to`] syncs once at the end.
pub fn unpack_layer(reader: impl Read, dest: &Path) -> Result<Digest, UnpackError> {
    let root: OwnedFd = File::open(dest)
        .map_err(|source| UnpackError::Prepare { path: dest.to_owned(), source })?
        .into();
    unpack_layer_at(reader, root.as_fd())
}

/// Unpacks into `<store_dir>/<layer_id>` through a temporary directory in `store_dir`: on
/// success the directory is synced and renamed into place; on failure nothing remains. When
/// another writer finished the same layer first, its directory is kept and ours discarded.
pub fn unpack_layer_to(store_dir: &Path, layer_id: &str, reader: impl Read) -> Result<Digest, UnpackError> {
    unpack_layer_pending(store_dir, layer_id, reader)?.commit()
}

/// Like [`unpack_layer_to`], but stops before the rename: the caller checks the diff_id (and
/// the compressed blob's digest) and then calls [`PendingLayer::commit`]. Dropping the
/// [`PendingLayer`] removes the temporary directory.
pub fn unpack_layer_pending(store_dir: &Path, layer_id: &str, reader: impl Read) -> Result<PendingLayer, UnpackError> {
    let id_ok = !layer_id.is_empty()
        && !layer_id.starts_with('.')
        && layer_id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !id_ok {
        return Err(UnpackError::InvalidLayerId { id: layer_id.to_owned() });
    }
    let tmp = create_temp_dir(store_dir, layer_id)?;
    let mut pending = PendingLayer { tmp, target: store_dir.join(layer_id), diff_id: None };
    let root: OwnedFd = File::open(&pending.tmp)
        .map_err(|source| UnpackError::Prepare { path: pending.tmp.clone(), source })?
        .into();
    let diff_id = unpack_layer_at(reader, root.as_fd())?;
    rustix::fs::syncfs(&root).map_err(|e| UnpackError::Commit { path: pending.tmp.clone(), source: e.into() })?;
    pending.diff_id = Some(diff_id);
    Ok(pending)
}

/// A fully unpacked and synced layer in its temporary directory, not yet visible.
#[derive(Debug)]
pub struct PendingLayer {
    tmp: PathBuf,
    target: PathBuf,
    diff_id: Option<Digest>,
}

impl PendingLayer {
    /// The sha256 of the uncompressed tar.
    pub fn diff_id(&self) -> &Digest {
        self.diff_id.as_ref().expect("a pending layer is returned only once unpacked")
    }

    /// Renames the layer into place and syncs the store directory. Returns the diff_id.
    pub fn commit(mut self) -> Result<Digest, UnpackError> {
        let diff_id = self.diff_id.take().expect("a pending layer is returned only once unpacked");
        let commit = |source: io::Error| UnpackError::Commit { path: self.target.clone(), source };
        match std::fs::rename(&self.tmp, &self.target) {
            Ok(()) => {}
            // someone else committed this layer first: theirs stays, ours goes (on drop)
            Err(e)
                if self.target.is_dir()
                    && [Errno::NOTEMPTY, Errno::EXIST].iter().any(|x| e.raw_os_error() == Some(x.raw_os_error())) => {}
            Err(e) => return Err(commit(e)),
        }
        let dir = self.target.parent().expect("a layer directory has a parent");
        crate::store::sync_dir(dir).map_err(commit)?;
        Ok(diff_id)
    }
}

impl Drop for PendingLayer {
    fn drop(&mut self) {
        if self.tmp.exists() {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

fn create_temp_dir(store_dir: &Path, layer_id: &str) -> Result<PathBuf, UnpackError> {
    std::fs::create_dir_all(store_dir)
        .map_err(|source| UnpackError::Prepare { path: store_dir.to_owned(), source })?;
    for n in 0u32.. {
        let tmp = store_dir.join(format!(".tmp-{layer_id}-{}-{n}", std::process::id()));
        match std::fs::create_dir(&tmp) {
            Ok(()) => return Ok(tmp),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(UnpackError::Prepare { path: tmp, source }),
        }
    }
    unreachable!("u32 range of temporary names exhausted")
}

/// How [`unpack_at`] treats what it extracts; the default is a layer's.
#[derive(Debug, Clone, Copy)]
pub struct UnpackOptions {
    /// Turn OCI whiteouts into overlayfs ones (a layer); off, `.wh.*` are plain files.
    pub whiteouts: bool,
    /// Owner of everything created, instead of the tar's (`docker cp` without `-a`).
    pub owner: Option<(u32, u32)>,
    /// Refuse to replace a directory with a non-directory or the reverse (`docker cp`'s
    /// `noOverwriteDirNonDir`), instead of removing what is in the way.
    pub keep_kinds: bool,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        UnpackOptions { whiteouts: true, owner: None, keep_kinds: false }
    }
}

/// Unpacks into the directory open at `root`; see [`unpack_layer`].
pub fn unpack_layer_at(reader: impl Read, root: BorrowedFd<'_>) -> Result<Digest, UnpackError> {
    unpack_at(reader, root, UnpackOptions::default())
}

/// Unpacks an archive into the directory open at `root`, with `opts`: what `docker cp` into a
/// container uses (no whiteouts; the archive's owners, or one owner for all). The same
/// refusals as a layer apply: nothing is
/// written outside `root`.
pub fn unpack_at(reader: impl Read, root: BorrowedFd<'_>, opts: UnpackOptions) -> Result<Digest, UnpackError> {
    let read_err = |source| UnpackError::Read { source };
    let mut buffered = BufReader::with_capacity(COPY_BUF, reader);
    let head = buffered.fill_buf().map_err(read_err)?;
    let decoded: Box<dyn Read> = match Compression::detect(head)? {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered).map_err(read_err)?),
    };
    let mut archive = tar::Archive::new(DigestReader::new(decoded, Algorithm::Sha256));
    let mut unpacker = Unpacker { root, opts, parent_cache: None, dirs: Vec::new(), buf: vec![0u8; COPY_BUF] };
    for entry in archive.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        unpacker.apply(&mut entry)?;
    }
    unpacker.finish_dirs()?;
    // The diff_id covers the whole tar, including the end-of-archive blocks the parser skips.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(read_err)?;
    Ok(rest.finish().0)
}

/// What the header and PAX records say about an entry's metadata.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: Timespec,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

struct Unpacker<'r> {
    root: BorrowedFd<'r>,
    opts: UnpackOptions,
    /// The last parent directory opened, reused while nothing has been removed or replaced.
    parent_cache: Option<(PathBuf, OwnedFd)>,
    /// Directories whose mtime is set at the end, after their contents.
    dirs: Vec<(PathBuf, Timespec)>,
    buf: Vec<u8>,
}

impl Unpacker<'_> {
    fn apply<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), UnpackError> {
        use tar::EntryType as T;
        let raw_name = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw_name).into_owned();
        let kind = entry.header().entry_type();
        if matches!(kind, T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink) {
            return Ok(());
        }
        let rel = clean_path(&raw_name).ok_or_else(|| UnpackError::Escape { entry: name.clone() })?;
        let mut meta = read_meta(entry, &name)?;
        if let Some((uid, gid)) = self.opts.owner {
            (meta.uid, meta.gid) = (uid, gid);
        }

        let Some(file_name) = rel.file_name().map(OsStr::to_owned) else {
            // the layer root itself ("./")
            if kind != T::Directory {
                return Err(UnpackError::Refused { entry: name, reason: "the layer root must be a directory" });
            }
            apply_fd_meta(self.root, &meta, &name)?;
            self.dirs.push((PathBuf::new(), meta.mtime));
            return Ok(());
        };
        let parent_path = rel.parent().unwrap_or(Path::new("")).to_owned();
        let fname = file_name.to_string_lossy();

        // Whiteouts: opaque markers, metadata files and file whiteouts.
        if self.opts.whiteouts && fname.starts_with(WHITEOUT_PREFIX) {
            let parent = self.parent(&parent_path, &name)?;
            if fname == OPAQUE_MARKER {
                let dir = rustix::fs::openat(&parent, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
                    .map_err(|e| entry_err(&name, "open directory for opaque marker", e))?;
                rustix::fs::fsetxattr(&dir, OPAQUE_XATTR, b"y", XattrFlags::empty())
                    .map_err(|e| entry_err(&name, "set opaque xattr", e))?;
                return Ok(());
            }
            if fname.starts_with(WHITEOUT_META_PREFIX) {
                return Ok(()); // other AUFS metadata: nothing to apply on overlayfs
            }
            let hidden = &file_name.as_bytes()[WHITEOUT_PREFIX.len()..];
            let hidden = OsStr::from_bytes(hidden);
            if hidden.is_empty() || hidden == "." || hidden == ".." {
                return Err(UnpackError::Refused { entry: name, reason: "whiteout names no file" });
            }
            self.clear_slot(&parent, hidden, false, &name)?;
            rustix::fs::mknodat(&parent, hidden, FileType::CharacterDevice, Mode::empty(), rustix::fs::makedev(0, 0))
                .map_err(|e| entry_err(&name, "create whiteout device", e))?;
            rustix::fs::chownat(&parent, hidden, Some(uid(meta.uid)), Some(gid(meta.gid)), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| entry_err(&name, "set whiteout owner", e))?;
            return Ok(());
        }

        let parent = self.parent(&parent_path, &name)?;
        let fname = file_name.as_os_str();
        match kind {
            T::Directory => {
                let existing_dir = self.clear_slot(&parent, fname, true, &name)?;
                if !existing_dir {
                    rustix::fs::mkdirat(&parent, fname, Mode::from_raw_mode(0o700))
                        .map_err(|e| entry_err(&name, "create directory", e))?;
                }
                let dir = rustix::fs::openat(&parent, fname, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
                    .map_err(|e| entry_err(&name, "open directory", e))?;
                apply_fd_meta(dir.as_fd(), &meta, &name)?;
                self.dirs.push((rel, meta.mtime));
            }
            T::Regular | T::Continuous | T::GNUSparse => {
                self.clear_slot(&parent, fname, false, &name)?;
                let fd = rustix::fs::openat(&parent, fname, OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::from_raw_mode(0o600))
                    .map_err(|e| entry_err(&name, "create file", e))?;
                let mut file = File::from(fd);
                loop {
                    let n = match entry.read(&mut self.buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(source) => return Err(UnpackError::Read { source }),
                    };
                    file.write_all(&self.buf[..n]).map_err(|source| UnpackError::Entry { entry: name.clone(), step: "write file", source })?;
                }
                apply_fd_meta(file.as_fd(), &meta, &name)?;
                rustix::fs::futimens(&file, &times(meta.mtime)).map_err(|e| entry_err(&name, "set mtime", e))?;
            }
            T::Symlink => {
                let target = entry.link_name_bytes().ok_or_else(|| UnpackError::Refused { entry: name.clone(), reason: "symlink without a target" })?.into_owned();
                self.clear_slot(&parent, fname, false, &name)?;
                rustix::fs::symlinkat(OsStr::from_bytes(&target), &parent, fname)
                    .map_err(|e| entry_err(&name, "create symlink", e))?;
                self.parent_cache = None; // a new symlink may change how later parents resolve
                rustix::fs::chownat(&parent, fname, Some(uid(meta.uid)), Some(gid(meta.gid)), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|e| entry_err(&name, "set owner", e))?;
                rustix::fs::utimensat(&parent, fname, &times(meta.mtime), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|e| entry_err(&name, "set mtime", e))?;
            }
            T::Link => {
                let target = entry.link_name_bytes().ok_or_else(|| UnpackError::Refused { entry: name.clone(), reason: "hard link without a target" })?.into_owned();
                let target = clean_path(&target).ok_or_else(|| UnpackError::Escape { entry: name.clone() })?;
                let Some(target_name) = target.file_name() else {
                    return Err(UnpackError::Refused { entry: name, reason: "hard link to the layer root" });
                };
                let target_parent = open_beneath(self.root, target.parent().unwrap_or(Path::new("")), &name)?;
                if target == rel {
                    return Err(UnpackError::Refused { entry: name, reason: "hard link to itself" });
                }
                self.clear_slot(&parent, fname, false, &name)?;
                rustix::fs::linkat(&target_parent, target_name, &parent, fname, AtFlags::empty())
                    .map_err(|e| entry_err(&name, "create hard link", e))?;
            }
            T::Char | T::Block | T::Fifo => {
                let (ft, dev) = match kind {
                    T::Fifo => (FileType::Fifo, 0),
                    _ => {
                        let h = entry.header();
                        let major = h.device_major().ok().flatten().unwrap_or(0);
                        let minor = h.device_minor().ok().flatten().unwrap_or(0);
                        let ft = if kind == T::Char { FileType::CharacterDevice } else { FileType::BlockDevice };
                        (ft, rustix::fs::makedev(major, minor))
                    }
                };
                self.clear_slot(&parent, fname, false, &name)?;
                rustix::fs::mknodat(&parent, fname, ft, Mode::from_raw_mode(0o600), dev)
                    .map_err(|e| entry_err(&name, "create device node", e))?;
                rustix::fs::chownat(&parent, fname, Some(uid(meta.uid)), Some(gid(meta.gid)), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|e| entry_err(&name, "set owner", e))?;
                // The node was just made here and is not a symlink: following cannot happen.
                rustix::fs::chmodat(&parent, fname, Mode::from_raw_mode(meta.mode), AtFlags::empty())
                    .map_err(|e| entry_err(&name, "set mode", e))?;
                rustix::fs::utimensat(&parent, fname, &times(meta.mtime), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|e| entry_err(&name, "set mtime", e))?;
            }
            _ => return Err(UnpackError::Refused { entry: name, reason: "unsupported tar entry type" }),
        }
        Ok(())
    }

    /// Opens the parent directory of an entry, creating missing directories (0755, root).
    fn parent(&mut self, parent: &Path, entry: &str) -> Result<OwnedFd, UnpackError> {
        if let Some((path, fd)) = &self.parent_cache {
            if path == parent {
                return fd.try_clone().map_err(|source| UnpackError::Entry { entry: entry.to_owned(), step: "open parent directory", source });
            }
        }
        let fd = ensure_dir(self.root, parent, entry)?;
        let dup = fd.try_clone().map_err(|source| UnpackError::Entry { entry: entry.to_owned(), step: "open parent directory", source })?;
        self.parent_cache = Some((parent.to_owned(), dup));
        Ok(fd)
    }

    /// Makes room for a new object at `parent/name`. A directory stays when the new entry is a
    /// directory too (returns true); anything else in the way is removed.
    fn clear_slot(&mut self, parent: &OwnedFd, name: &OsStr, want_dir: bool, entry: &str) -> Result<bool, UnpackError> {
        let st = match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Ok(false),
            Err(e) => return Err(entry_err(entry, "inspect existing file", e)),
        };
        let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
        if is_dir && want_dir {
            return Ok(true);
        }
        if self.opts.keep_kinds && is_dir != want_dir {
            return Err(UnpackError::Refused {
                entry: entry.to_owned(),
                reason: if is_dir { "cannot overwrite a directory with a non-directory" } else { "cannot overwrite a non-directory with a directory" },
            });
        }
        self.parent_cache = None;
        if is_dir {
            remove_tree_at(parent.as_fd(), name).map_err(|e| entry_err(entry, "remove existing directory", e))?;
        } else {
            rustix::fs::unlinkat(parent, name, AtFlags::empty()).map_err(|e| entry_err(entry, "remove existing file", e))?;
        }
        Ok(false)
    }

    fn finish_dirs(&mut self) -> Result<(), UnpackError> {
        self.parent_cache = None;
        for (path, mtime) in std::mem::take(&mut self.dirs).into_iter().rev() {
            let entry = path.to_string_lossy().into_owned();
            match path.file_name() {
                None => rustix::fs::futimens(self.root, &times(mtime)).map_err(|e| entry_err(&entry, "set mtime", e))?,
                Some(name) => {
                    let parent = open_beneath(self.root, path.parent().unwrap_or(Path::new("")), &entry)?;
                    rustix::fs::utimensat(&parent, name, &times(mtime), AtFlags::SYMLINK_NOFOLLOW)
                        .map_err(|e| entry_err(&entry, "set mtime", e))?;
                }
            }
        }
        Ok(())
    }
}

/// Turns a tar name into a relative path with normal components only; `None` when it is
/// absolute or has a `..` component. `.` components and trailing slashes are dropped.
fn clean_path(raw: &[u8]) -> Option<PathBuf> {
    let p = Path::new(OsStr::from_bytes(raw));
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) | Component::ParentDir => return None,
        }
    }
    Some(out)
}

fn read_meta<R: Read>(entry: &mut tar::Entry<'_, R>, name: &str) -> Result<Meta, UnpackError> {
    let h = entry.header();
    let bad = |reason| UnpackError::Refused { entry: name.to_owned(), reason };
    // An empty numeric field (all NUL or spaces) reads as 0, as Go's archive/tar does.
    let old = h.as_old();
    let field = |parsed: io::Result<u64>, raw: &[u8], reason| match parsed {
        Ok(v) => Ok(v),
        Err(_) if raw.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        Err(_) => Err(bad(reason)),
    };
    let mode = field(h.mode().map(u64::from), &old.mode, "invalid mode field")? as u32 & 0o7777;
    let mut uid = field(h.uid(), &old.uid, "invalid uid field")?;
    let mut gid = field(h.gid(), &old.gid, "invalid gid field")?;
    let mtime_secs = field(h.mtime(), &old.mtime, "invalid mtime field")?;
    let mut mtime = Timespec { tv_sec: i64::try_from(mtime_secs).map_err(|_| bad("invalid mtime field"))?, tv_nsec: 0 };
    let mut xattrs = Vec::new();
    if let Some(pax) = entry.pax_extensions().map_err(|source| UnpackError::Read { source })? {
        for ext in pax {
            let ext = ext.map_err(|source| UnpackError::Read { source })?;
            let key = ext.key_bytes();
            let value = ext.value_bytes();
            let num = |v: &[u8]| std::str::from_utf8(v).ok().and_then(|s| s.parse::<u64>().ok());
            match key {
                b"uid" => uid = num(value).ok_or_else(|| bad("invalid PAX uid"))?,
                b"gid" => gid = num(value).ok_or_else(|| bad("invalid PAX gid"))?,
                b"mtime" => mtime = parse_pax_time(value).ok_or_else(|| bad("invalid PAX mtime"))?,
                _ => {
                    if let Some(xname) = key.strip_prefix(b"SCHILY.xattr.") {
                        if !xname.starts_with(b"trusted.overlay.") {
                            xattrs.push((xname.to_vec(), value.to_vec()));
                        }
                    }
                }
            }
        }
    }
    // u32::MAX is "no change" to chown(2): never a real owner.
    let uid = u32::try_from(uid).ok().filter(|&u| u != u32::MAX).ok_or_else(|| bad("invalid owner uid"))?;
    let gid = u32::try_from(gid).ok().filter(|&g| g != u32::MAX).ok_or_else(|| bad("invalid owner gid"))?;
    Ok(Meta { mode, uid, gid, mtime, xattrs })
}

/// PAX times are decimal seconds with an optional fraction: "1700000000.123456789".
fn parse_pax_time(v: &[u8]) -> Option<Timespec> {
    let s = std::str::from_utf8(v).ok()?;
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let tv_sec = secs.parse::<i64>().ok()?;
    let digits: String = frac.chars().take(9).collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let tv_nsec = if digits.is_empty() { 0 } else { format!("{digits:0<9}").parse::<i64>().ok()? };
    Some(Timespec { tv_sec, tv_nsec: if tv_sec < 0 { 0 } else { tv_nsec } })
}

/// Owner, then mode (chown clears setuid), then xattrs, on an open file or directory.
fn apply_fd_meta(fd: BorrowedFd<'_>, meta: &Meta, entry: &str) -> Result<(), UnpackError> {
    rustix::fs::fchown(fd, Some(uid(meta.uid)), Some(gid(meta.gid))).map_err(|e| entry_err(entry, "set owner", e))?;
    rustix::fs::fchmod(fd, Mode::from_raw_mode(meta.mode)).map_err(|e| entry_err(entry, "set mode", e))?;
    for (name, value) in &meta.xattrs {
        match rustix::fs::fsetxattr(fd, OsStr::from_bytes(name), value, XattrFlags::empty()) {
            Ok(()) | Err(Errno::OPNOTSUPP) => {}
            Err(e) => return Err(entry_err(entry, "set xattr", e)),
        }
    }
    Ok(())
}

fn uid(raw: u32) -> rustix::fs::Uid {
    rustix::fs::Uid::from_raw(raw)
}

fn gid(raw: u32) -> rustix::fs::Gid {
    rustix::fs::Gid::from_raw(raw)
}

fn times(mtime: Timespec) -> Timestamps {
    Timestamps { last_access: mtime, last_modification: mtime }
}

fn entry_err(entry: &str, step: &'static str, e: Errno) -> UnpackError {
    UnpackError::Entry { entry: entry.to_owned(), step, source: e.into() }
}

/// Opens the directory `path` under `root`; symlinks are followed only while they stay inside.
fn open_beneath(root: BorrowedFd<'_>, path: &Path, entry: &str) -> Result<OwnedFd, UnpackError> {
    let path = if path.as_os_str().is_empty() { Path::new(".") } else { path };
    rustix::fs::openat2(
        root,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
    )
    .map_err(|e| match e {
        Errno::XDEV => UnpackError::Escape { entry: entry.to_owned() },
        e => entry_err(entry, "open parent directory", e),
    })
}

/// [`open_beneath`], creating missing directories on the way.
fn ensure_dir(root: BorrowedFd<'_>, path: &Path, entry: &str) -> Result<OwnedFd, UnpackError> {
    match open_beneath(root, path, entry) {
        Err(UnpackError::Entry { source, .. }) if source.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {}
        other => return other,
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return open_beneath(root, path, entry);
    };
    let parent_fd = ensure_dir(root, parent, entry)?;
    match rustix::fs::mkdirat(&parent_fd, name, Mode::from_raw_mode(0o755)) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => return Err(entry_err(entry, "create parent directory", e)),
    }
    rustix::fs::openat(&parent_fd, name, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| entry_err(entry, "open parent directory", e))
}

/// Removes `name` under `parent` and everything below it, never following symlinks.
fn remove_tree_at(parent: BorrowedFd<'_>, name: &OsStr) -> Result<(), Errno> {
    let dir = rustix::fs::openat(parent, name, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
    let mut children = Vec::new();
    for ent in rustix::fs::Dir::read_from(&dir)? {
        let ent = ent?;
        let n = ent.file_name().to_bytes();
        if n == b"." || n == b".." {
            continue;
        }
        children.push((OsStr::from_bytes(n).to_owned(), ent.file_type() == FileType::Directory));
    }
    for (child, is_dir) in children {
        if is_dir {
            remove_tree_at(dir.as_fd(), &child)?;
        } else {
            rustix::fs::unlinkat(&dir, &*child, AtFlags::empty())?;
        }
    }
    rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_path_refuses_escapes() {
        assert_eq!(clean_path(b"./a/b/"), Some(PathBuf::from("a/b")));
        assert_eq!(clean_path(b"a/./b"), Some(PathBuf::from("a/b")));
        assert_eq!(clean_path(b"./"), Some(PathBuf::new()));
        assert_eq!(clean_path(b"../x"), None);
        assert_eq!(clean_path(b"a/../../x"), None);
        assert_eq!(clean_path(b"/etc/passwd"), None);
    }

    #[test]
    fn detects_compression() {
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8]).ok(), Some(Compression::Gzip));
        assert_eq!(Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd]).ok(), Some(Compression::Zstd));
        assert_eq!(Compression::detect(b"bin/").ok(), Some(Compression::None));
        assert!(Compression::detect(b"BZh91AY").is_err());
    }

    #[test]
    fn parses_pax_times() {
        assert_eq!(parse_pax_time(b"1700000000").map(|t| (t.tv_sec, t.tv_nsec)), Some((1_700_000_000, 0)));
        assert_eq!(parse_pax_time(b"1700000000.5").map(|t| (t.tv_sec, t.tv_nsec)), Some((1_700_000_000, 500_000_000)));
        assert!(parse_pax_time(b"17x").is_none());
    }
}
