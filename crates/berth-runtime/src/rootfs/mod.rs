//! The container's filesystem view, built inside its new mount namespace: the root bound onto
//! itself, every `mounts` entry attached with the new mount API onto a target resolved inside
//! the root (so a symlink in the image can never send a mount outside it), /dev populated,
//! pivot_root, then masked and read-only paths.

pub mod options;
pub mod resolve;

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Mount, Spec};
use rustix::fs::OFlags;
use rustix::mount::{
    FsMountFlags, FsOpenFlags, MountAttrFlags, MountPropagationFlags, MoveMountFlags, OpenTreeFlags,
    UnmountFlags,
};

use crate::process::init::{InitFail, StepExt};
use crate::sys::mount::{mount_setattr, MountAttr, MOUNT_ATTR_RDONLY};
use options::Options;
use resolve::{mkdir_all_in_root, open_in_root, touch_in_root};

/// What the rootfs setup needs besides the spec.
pub struct Context<'a> {
    pub rootfs: &'a Path,
    pub spec: &'a Spec,
    /// The init is in a new user namespace: device nodes are bound from the host, not made.
    pub userns: bool,
    /// A `cgroup` mount becomes a fresh cgroup2 mount (private cgroup namespace on a v2 host);
    /// otherwise the container's own cgroup directories are bound in.
    pub fresh_cgroup2: bool,
    /// (name below the mount point, host directory) for each cgroup hierarchy to bind.
    pub cgroup_binds: &'a [(String, PathBuf)],
    /// Idmapped binds made by the runtime, by index into `spec.mounts`.
    pub idmapped: &'a [(usize, OwnedFd)],
}

/// Indexes, sources and recursiveness of the `idmap`/`ridmap` bind mounts of `spec`.
pub fn idmapped_binds(spec: &Spec) -> Vec<(usize, PathBuf, bool)> {
    spec.mounts()
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, m)| {
            let opts = m.options().as_deref().unwrap_or(&[]);
            let o = Options::parse(opts);
            (o.idmap && o.bind).then(|| {
                let recursive = o.recursive_bind || opts.iter().any(|x| x == "ridmap");
                (i, m.source().clone().unwrap_or_default(), recursive)
            })
        })
        .collect()
}

/// A detached bind of `source` whose ids are mapped through the user namespace `userns`:
/// what the runtime makes (it is privileged over the source filesystem; the init is not) and
/// hands to the init for an `idmap` mount.
pub fn idmapped_tree(source: &Path, recursive: bool, userns: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    use std::os::fd::AsRawFd;
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= OpenTreeFlags::AT_RECURSIVE;
    }
    let tree = rustix::mount::open_tree(rustix::fs::CWD, source, flags)
        .map_err(|e| io::Error::new(io::Error::from(e).kind(), format!("source {}: {}", source.display(), io::Error::from(e))))?;
    let attr = MountAttr { attr_set: crate::sys::mount::MOUNT_ATTR_IDMAP, userns_fd: userns.as_raw_fd() as u64, ..MountAttr::default() };
    mount_setattr(tree.as_fd(), recursive, &attr)
        .map_err(|e| io::Error::new(e.kind(), format!("idmap {} (the filesystem may not support idmapped mounts): {e}", source.display())))?;
    Ok(tree)
}

const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// Everything up to (not including) pivot_root. Returns an O_PATH fd of the new root.
pub fn prepare(ctx: &Context<'_>) -> Result<OwnedFd, InitFail> {
    let linux = ctx.spec.linux().as_ref();
    let prop = linux.and_then(|l| l.rootfs_propagation().clone()).unwrap_or_default();
    // Nothing we mount may propagate back to the host: make the whole tree a slave (or what
    // rootfsPropagation asks for) before touching it.
    // As runc: the `r` forms apply to the whole tree, the others to / alone (the mounts under
    // it keep what they had, so a bind of a shared host mount can stay shared).
    let base = match prop.trim_start_matches('r') {
        "private" => MountPropagationFlags::PRIVATE,
        "shared" => MountPropagationFlags::SHARED,
        "unbindable" => MountPropagationFlags::UNBINDABLE,
        _ => MountPropagationFlags::DOWNSTREAM,
    };
    let whole_tree = prop.is_empty() || prop.starts_with('r');
    let rec = if whole_tree { MountPropagationFlags::REC } else { MountPropagationFlags::empty() };
    rustix::mount::mount_change("/", base | rec).step_with(|| format!("make / {}", if prop.is_empty() { "rslave" } else { &prop }))?;
    if !whole_tree || base == MountPropagationFlags::SHARED {
        // pivot_root refuses a new root whose parent mount is shared: the mount holding the
        // root filesystem becomes private (the first directory up from it that is a mount).
        let mut at = Some(ctx.rootfs);
        while let Some(p) = at {
            match rustix::mount::mount_change(p, MountPropagationFlags::PRIVATE) {
                Err(rustix::io::Errno::INVAL) => at = p.parent(),
                done => {
                    done.step_with(|| format!("make the mount holding {} private", p.display()))?;
                    break;
                }
            }
        }
    }
    rustix::mount::mount_bind_recursive(ctx.rootfs, ctx.rootfs)
        .step_with(|| format!("bind rootfs {} onto itself", ctx.rootfs.display()))?;
    // pivot_root needs the new root's parent mount not to be shared.
    rustix::mount::mount_change(ctx.rootfs, MountPropagationFlags::PRIVATE).step("make rootfs private")?;
    let root = rustix::fs::open(ctx.rootfs, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, rustix::fs::Mode::empty())
        .step_with(|| format!("open rootfs {}", ctx.rootfs.display()))?;

    let mut dev_is_tmpfs = false;
    for (i, m) in ctx.spec.mounts().iter().flatten().enumerate() {
        let what = || format!("mount {} on {}", m.source().as_deref().unwrap_or(Path::new("none")).display(), m.destination().display());
        let premade = ctx.idmapped.iter().find(|(j, _)| *j == i).map(|(_, fd)| fd);
        mount_one(ctx, root.as_fd(), m, premade).step_with(what)?;
        if m.destination() == Path::new("/dev") && !Options::parse(m.options().as_deref().unwrap_or(&[])).bind {
            dev_is_tmpfs = true;
        }
    }
    if dev_is_tmpfs {
        crate::devices::populate(root.as_fd(), ctx.spec, ctx.userns)?;
    }
    Ok(root)
}

fn mount_one(ctx: &Context<'_>, root: BorrowedFd<'_>, m: &Mount, premade: Option<&OwnedFd>) -> io::Result<()> {
    let opts = Options::parse(m.options().as_deref().unwrap_or(&[]));
    let typ = m.typ().as_deref().unwrap_or(if opts.bind { "bind" } else { "" });
    if opts.bind || typ == "bind" {
        let source = m.source().as_ref().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bind mount without source"))?;
        let source = if source.is_absolute() { source.clone() } else { std::env::current_dir()?.join(source) };
        let meta = std::fs::metadata(&source).map_err(|e| io::Error::new(e.kind(), format!("source {}: {e}", source.display())))?;
        let target = if meta.is_dir() { mkdir_all_in_root(root, m.destination())? } else { touch_in_root(root, m.destination())? };
        if opts.idmap {
            let tree = premade.ok_or_else(|| io::Error::other("the runtime made no idmapped mount for it"))?;
            if opts.attr_set != 0 || opts.attr_clr != 0 {
                mount_setattr(tree.as_fd(), opts.recursive_attr, &opts.mount_attr())?;
            }
            attach(tree, &target)?;
            return set_propagation(tree, &opts);
        }
        let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
        if opts.recursive_bind {
            flags |= OpenTreeFlags::AT_RECURSIVE;
        }
        let tree = rustix::mount::open_tree(rustix::fs::CWD, &source, flags)?;
        let recursive = opts.recursive_attr || (opts.recursive_bind && opts.attr_set & MOUNT_ATTR_RDONLY != 0);
        if opts.attr_set != 0 || opts.attr_clr != 0 {
            mount_setattr(tree.as_fd(), recursive, &opts.mount_attr())?;
        }
        attach(&tree, &target)?;
        set_propagation(&tree, &opts)?;
        return Ok(());
    }
    if typ == "cgroup" || typ == "cgroup2" {
        return mount_cgroup(ctx, root, m, &opts);
    }
    let target = mkdir_all_in_root(root, m.destination())?;
    let source = m.source().as_ref().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| typ.to_owned());
    let mnt = new_fs(typ, &source, &opts)?;
    attach(&mnt, &target)?;
    set_propagation(&mnt, &opts)?;
    if typ == "proc" {
        // Everything later written into /proc goes through this mount: make sure it is one.
        // (Resolve the path again: `target` still names the directory under the new mount.)
        let fd = open_in_root(root, m.destination(), OFlags::DIRECTORY)?;
        let st = rustix::fs::fstatfs(&fd)?;
        if st.f_type as i64 != PROC_SUPER_MAGIC {
            return Err(io::Error::other(format!("{} is not procfs after mounting it", m.destination().display())));
        }
    }
    Ok(())
}

/// A new, detached filesystem mount (fsopen/fsconfig/fsmount).
fn new_fs(typ: &str, source: &str, opts: &Options) -> io::Result<OwnedFd> {
    let fs = rustix::mount::fsopen(typ, FsOpenFlags::FSOPEN_CLOEXEC)
        .map_err(|e| io::Error::new(io::Error::from(e).kind(), format!("filesystem type {typ:?}: {}", io::Error::from(e))))?;
    let _ = rustix::mount::fsconfig_set_string(&fs, "source", source);
    for (k, v) in &opts.data {
        let r = match v {
            Some(v) => rustix::mount::fsconfig_set_string(&fs, k.as_str(), v.as_str()),
            None => rustix::mount::fsconfig_set_flag(&fs, k.as_str()),
        };
        r.map_err(|e| io::Error::other(format!("option {k}{}: {}", v.as_ref().map(|v| format!("={v}")).unwrap_or_default(), io::Error::from(e))))?;
    }
    rustix::mount::fsconfig_create(&fs)?;
    let attrs = MountAttrFlags::from_bits_retain(opts.attr_set as u32);
    Ok(rustix::mount::fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, attrs)?)
}

/// Binds `source` (a path in our current view, or with an empty path the file `dir` itself)
/// onto `target`, a descriptor resolved inside the container's root.
pub fn bind_onto(dir: BorrowedFd<'_>, source: &Path, target: &OwnedFd) -> io::Result<()> {
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    if source.as_os_str().is_empty() {
        flags |= OpenTreeFlags::AT_EMPTY_PATH;
    }
    let tree = rustix::mount::open_tree(dir, source, flags)?;
    attach(&tree, target)
}

fn attach(mnt: &OwnedFd, target: &OwnedFd) -> io::Result<()> {
    rustix::mount::move_mount(
        mnt,
        "",
        target,
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )?;
    Ok(())
}

fn set_propagation(mnt: &OwnedFd, opts: &Options) -> io::Result<()> {
    if opts.propagation != 0 {
        let attr = MountAttr { propagation: opts.propagation, ..MountAttr::default() };
        mount_setattr(mnt.as_fd(), opts.propagation_recursive, &attr)?;
    }
    Ok(())
}

fn mount_cgroup(ctx: &Context<'_>, root: BorrowedFd<'_>, m: &Mount, opts: &Options) -> io::Result<()> {
    let target = mkdir_all_in_root(root, m.destination())?;
    if ctx.fresh_cgroup2 {
        let mnt = new_fs("cgroup2", "cgroup2", &Options { data: vec![], ..opts.clone() })?;
        return attach(&mnt, &target);
    }
    if let [(name, dir)] = ctx.cgroup_binds {
        if name.is_empty() {
            // A v2 host without a private cgroup namespace: bind the container's own cgroup.
            let tree = rustix::mount::open_tree(rustix::fs::CWD, dir, OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC)?;
            mount_setattr(tree.as_fd(), false, &opts.mount_attr())?;
            return attach(&tree, &target);
        }
    }
    // v1 and hybrid: a tmpfs holding one bind of the container's cgroup per hierarchy.
    let tmpfs_opts = Options { data: vec![("mode".into(), Some("755".into()))], attr_set: opts.attr_set & !MOUNT_ATTR_RDONLY, ..Options::default() };
    let tmp = new_fs("tmpfs", "tmpfs", &tmpfs_opts)?;
    attach(&tmp, &target)?;
    let dir_fd = open_in_root(root, m.destination(), OFlags::PATH | OFlags::DIRECTORY)?;
    for (name, host_dir) in ctx.cgroup_binds {
        let dest = m.destination().join(name);
        let sub = mkdir_all_in_root(root, &dest)?;
        let tree = rustix::mount::open_tree(rustix::fs::CWD, host_dir, OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC)
            .map_err(|e| io::Error::other(format!("cgroup {}: {}", host_dir.display(), io::Error::from(e))))?;
        mount_setattr(tree.as_fd(), false, &opts.mount_attr())?;
        attach(&tree, &sub)?;
        // Combined hierarchies ("cpu,cpuacct") also answer to each of their names.
        if name.contains(',') {
            for part in name.split(',') {
                let _ = rustix::fs::symlinkat(name.as_str(), &dir_fd_reopen(&dir_fd)?, part);
            }
        }
    }
    if opts.attr_set & MOUNT_ATTR_RDONLY != 0 {
        mount_setattr(tmp.as_fd(), false, &MountAttr { attr_set: MOUNT_ATTR_RDONLY, ..MountAttr::default() })?;
    }
    Ok(())
}

fn dir_fd_reopen(fd: &OwnedFd) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(fd, ".", OFlags::DIRECTORY | OFlags::CLOEXEC, rustix::fs::Mode::empty())?)
}

/// Makes the prepared root the process's root. With `no_pivot` (a ramfs root cannot be
/// pivoted) the root is moved onto / and chrooted instead.
pub fn pivot(root: &OwnedFd, no_pivot: bool) -> Result<(), InitFail> {
    rustix::process::fchdir(root).step("chdir to rootfs")?;
    if no_pivot {
        rustix::mount::mount_move(".", "/").step("move rootfs onto /")?;
        rustix::process::chroot(".").step("chroot to rootfs")?;
    } else {
        let old_root = rustix::fs::open("/", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, rustix::fs::Mode::empty())
            .step("open old root")?;
        // pivot_root(".", ".") stacks the old root on top of the new one; unmounting it then
        // drops the old root without needing a directory for it in the image.
        rustix::process::pivot_root(".", ".").step("pivot_root")?;
        // "." would name the new root (a lookup of "." does not cross the mount stacked on
        // it), and making that a slave would undo the propagation of every container mount:
        // work on the old root through the descriptor opened before the pivot.
        rustix::process::fchdir(&old_root).step("chdir to old root")?;
        drop(old_root);
        rustix::mount::mount_change(".", MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC)
            .step("make old root a slave mount")?;
        rustix::mount::unmount(".", UnmountFlags::DETACH).step("detach old root")?;
    }
    rustix::process::chdir("/").step("chdir to /")?;
    Ok(())
}

/// After pivot_root: sysctls, then read-only and masked paths, then a read-only root.
pub fn finish(spec: &Spec) -> Result<(), InitFail> {
    let root = rustix::fs::open("/", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, rustix::fs::Mode::empty())
        .step("open new root")?;
    let linux = spec.linux().as_ref();
    if let Some(sysctl) = linux.and_then(|l| l.sysctl().as_ref()) {
        let procsys = open_in_root(root.as_fd(), Path::new("/proc/sys"), OFlags::DIRECTORY).step("open /proc/sys")?;
        let st = rustix::fs::fstatfs(&procsys).step("statfs /proc/sys")?;
        if st.f_type as i64 != PROC_SUPER_MAGIC {
            return Err(InitFail::msg("write sysctl", "/proc/sys is not procfs; refusing to write sysctls"));
        }
        for (k, v) in sysctl {
            let rel = k.replace('.', "/");
            let f = rustix::fs::openat(&procsys, rel.as_str(), OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW, rustix::fs::Mode::empty())
                .step_with(|| format!("open sysctl {k}"))?;
            rustix::io::write(&f, v.as_bytes()).step_with(|| format!("write sysctl {k}={v}"))?;
        }
    }
    // After the sysctls: /proc/sys is usually among the read-only paths.
    for p in linux.and_then(|l| l.readonly_paths().as_ref()).into_iter().flatten() {
        readonly_path(root.as_fd(), Path::new(p)).step_with(|| format!("make {p} read-only"))?;
    }
    for p in linux.and_then(|l| l.masked_paths().as_ref()).into_iter().flatten() {
        mask_path(root.as_fd(), Path::new(p)).step_with(|| format!("mask {p}"))?;
    }
    if spec.root().as_ref().is_some_and(|r| r.readonly() == Some(true)) {
        let attr = MountAttr { attr_set: MOUNT_ATTR_RDONLY, ..MountAttr::default() };
        let tree = open_in_root(root.as_fd(), Path::new("/"), OFlags::PATH | OFlags::DIRECTORY).step("open /")?;
        mount_setattr(tree.as_fd(), false, &attr).step("make root read-only")?;
    }
    Ok(())
}

fn readonly_path(root: BorrowedFd<'_>, p: &Path) -> io::Result<()> {
    let target = match open_in_root(root, p, OFlags::PATH) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let tree = rustix::mount::open_tree(&target, "", OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC | OpenTreeFlags::AT_RECURSIVE | OpenTreeFlags::AT_EMPTY_PATH)?;
    mount_setattr(tree.as_fd(), true, &MountAttr { attr_set: MOUNT_ATTR_RDONLY, ..MountAttr::default() })?;
    attach(&tree, &target)
}

fn mask_path(root: BorrowedFd<'_>, p: &Path) -> io::Result<()> {
    let target = match open_in_root(root, p, OFlags::PATH) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let st = rustix::fs::fstat(&target)?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir() {
        let opts = Options { attr_set: MOUNT_ATTR_RDONLY, ..Options::default() };
        let mnt = new_fs("tmpfs", "tmpfs", &opts)?;
        return attach(&mnt, &target);
    }
    // Bind our own /dev/null, checked to be the real device: an image that replaced /dev/null
    // with a link to a writable file must not get that file bound over a masked path
    // (CVE-2025-31133).
    let null = open_in_root(root, Path::new("/dev/null"), OFlags::PATH)?;
    let st = rustix::fs::fstat(&null)?;
    let is_null = rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::CharacterDevice
        && rustix::fs::major(st.st_rdev) == 1
        && rustix::fs::minor(st.st_rdev) == 3;
    if !is_null {
        return Err(io::Error::other("/dev/null in the container is not the null device; refusing to mask with it"));
    }
    let tree = rustix::mount::open_tree(&null, "", OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC | OpenTreeFlags::AT_EMPTY_PATH)?;
    attach(&tree, &target)
}
