//! /dev inside the container: the default nodes every container gets (as runc and Docker give
//! them), `linux.devices`, and the standard links. Inside a user namespace nodes cannot be
//! made, so the host's are bound instead.

use std::io;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, Spec};
use rustix::fs::{FileType, Mode, OFlags};

use crate::process::init::{InitFail, StepExt};
use crate::rootfs::resolve::{mkdir_all_in_root, open_in_root, touch_in_root};

/// A device node to create: path in the container, type, major, minor, mode, uid, gid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub path: PathBuf,
    pub kind: FileType,
    pub major: u32,
    pub minor: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// The nodes every container gets (Docker's defaults), before `linux.devices`.
pub fn default_nodes() -> Vec<Node> {
    [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)]
        .into_iter()
        .map(|(n, ma, mi)| Node {
            path: PathBuf::from("/dev").join(n),
            kind: FileType::CharacterDevice,
            major: ma,
            minor: mi,
            mode: 0o666,
            uid: 0,
            gid: 0,
        })
        .collect()
}

/// Default nodes plus the spec's, later entries replacing earlier ones of the same path.
pub fn plan(spec: &Spec) -> Vec<Node> {
    let mut nodes = default_nodes();
    for d in spec.linux().as_ref().and_then(|l| l.devices().as_ref()).into_iter().flatten() {
        let kind = match d.typ() {
            LinuxDeviceType::B => FileType::BlockDevice,
            LinuxDeviceType::P => FileType::Fifo,
            _ => FileType::CharacterDevice,
        };
        let node = Node {
            path: d.path().clone(),
            kind,
            major: d.major() as u32,
            minor: d.minor() as u32,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        nodes.retain(|n| n.path != node.path);
        nodes.push(node);
    }
    nodes
}

/// The device cgroup rules a container gets: the spec's own rules, then allow rules for what
/// every container needs (mknod of any node, the default nodes, the console, ptys, tun) and for
/// each `linux.devices` node. runc adds the same, so configs written for it behave alike.
pub fn cgroup_rules(spec: &Spec) -> Vec<LinuxDeviceCgroup> {
    let linux = spec.linux().as_ref();
    let mut rules: Vec<LinuxDeviceCgroup> =
        linux.and_then(|l| l.resources().as_ref()).and_then(|r| r.devices().clone()).unwrap_or_default();
    let rule = |typ: LinuxDeviceType, major: Option<i64>, minor: Option<i64>, access: &str| {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true);
        r.set_typ(Some(typ));
        r.set_major(major);
        r.set_minor(minor);
        r.set_access(Some(access.to_owned()));
        r
    };
    rules.push(rule(LinuxDeviceType::C, None, None, "m"));
    rules.push(rule(LinuxDeviceType::B, None, None, "m"));
    for (major, minor) in [(1, Some(3)), (1, Some(5)), (1, Some(7)), (1, Some(8)), (1, Some(9)), (5, Some(0)), (5, Some(1)), (5, Some(2)), (136, None), (10, Some(200))] {
        rules.push(rule(LinuxDeviceType::C, Some(major), minor, "rwm"));
    }
    for d in linux.and_then(|l| l.devices().as_ref()).into_iter().flatten() {
        rules.push(LinuxDeviceCgroup::from(d));
    }
    rules
}

/// Fills the freshly mounted /dev tmpfs.
pub fn populate(root: BorrowedFd<'_>, spec: &Spec, userns: bool) -> Result<(), InitFail> {
    let old = rustix::process::umask(Mode::empty());
    let r = populate_inner(root, spec, userns);
    rustix::process::umask(old);
    r
}

fn populate_inner(root: BorrowedFd<'_>, spec: &Spec, userns: bool) -> Result<(), InitFail> {
    for node in plan(spec) {
        make_node(root, &node, userns).step_with(|| format!("create device {}", node.path.display()))?;
    }
    let dev = open_in_root(root, Path::new("/dev"), OFlags::DIRECTORY).step("open /dev")?;
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    let has_pts = spec.mounts().iter().flatten().any(|m| m.destination() == Path::new("/dev/pts"));
    if has_pts {
        links.push(("pts/ptmx", "ptmx"));
    }
    for (target, name) in links {
        match rustix::fs::symlinkat(target, &dev, name) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(InitFail::io(format!("link /dev/{name}"), e.into())),
        }
    }
    Ok(())
}

fn make_node(root: BorrowedFd<'_>, node: &Node, userns: bool) -> io::Result<()> {
    let parent = node.path.parent().unwrap_or(Path::new("/dev"));
    let name = node.path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "device path has no name"))?;
    if userns {
        // No mknod in a user namespace: bind the host's node onto an empty file.
        let target = touch_in_root(root, &node.path)?;
        crate::rootfs::bind_onto(rustix::fs::CWD, &node.path, &target)?;
        return Ok(());
    }
    let dir = mkdir_all_in_root(root, parent)?;
    let dir = rustix::fs::openat(&dir, ".", OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    match rustix::fs::unlinkat(&dir, name, rustix::fs::AtFlags::empty()) {
        Ok(()) | Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(e.into()),
    }
    rustix::fs::mknodat(&dir, name, node.kind, Mode::from_raw_mode(node.mode), rustix::fs::makedev(node.major, node.minor))?;
    rustix::fs::chownat(
        &dir,
        name,
        Some(rustix::fs::Uid::from_raw(node.uid)),
        Some(rustix::fs::Gid::from_raw(node.gid)),
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_devices_extend_and_override_the_defaults() {
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.2.0","linux":{"devices":[
                {"path":"/dev/fuse","type":"c","major":10,"minor":229,"fileMode":432},
                {"path":"/dev/null","type":"c","major":1,"minor":3,"fileMode":438,"uid":5}]}}"#,
        )
        .expect("test json");
        let nodes = plan(&spec);
        assert_eq!(nodes.len(), 7);
        let fuse = nodes.iter().find(|n| n.path == Path::new("/dev/fuse")).expect("fuse");
        assert_eq!((fuse.major, fuse.minor, fuse.mode), (10, 229, 0o660));
        let null: Vec<_> = nodes.iter().filter(|n| n.path == Path::new("/dev/null")).collect();
        assert_eq!(null.len(), 1);
        assert_eq!(null[0].uid, 5);
    }
}
