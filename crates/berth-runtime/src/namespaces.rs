//! Namespaces: which to create (clone flags), which to join (by path, opened in the parent),
//! and the user namespace's id maps (written by the parent, directly as root or through
//! newuidmap/newgidmap when rootless).

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Linux, LinuxIdMapping, LinuxNamespaceType};
use rustix::thread::LinkNameSpaceType;

/// The namespaces of one container, decided from the spec.
#[derive(Debug, Default)]
pub struct NsPlan {
    /// CLONE_NEW* bits for clone3 (never CLONE_NEWTIME: see `new_time`).
    pub clone_flags: u64,
    /// Namespaces to join, in the order they must be entered (user first, mount last).
    pub join: Vec<(LinuxNamespaceType, PathBuf)>,
    pub new_user: bool,
    pub new_time: bool,
    /// The init lives in a user namespace, new or joined.
    pub in_userns: bool,
}

pub fn kind_of(t: LinuxNamespaceType) -> Option<LinkNameSpaceType> {
    Some(match t {
        LinuxNamespaceType::Mount => LinkNameSpaceType::Mount,
        LinuxNamespaceType::Cgroup => LinkNameSpaceType::ControlGroup,
        LinuxNamespaceType::Uts => LinkNameSpaceType::HostNameAndNISDomainName,
        LinuxNamespaceType::Ipc => LinkNameSpaceType::InterProcessCommunication,
        LinuxNamespaceType::User => LinkNameSpaceType::User,
        LinuxNamespaceType::Pid => LinkNameSpaceType::ProcessID,
        LinuxNamespaceType::Network => LinkNameSpaceType::Network,
        LinuxNamespaceType::Time => LinkNameSpaceType::Time,
    })
}

/// The /proc/PID/ns/ name of a namespace type.
pub fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

/// Order of entry: user first (it grants the rights to enter the rest), mount last (it changes
/// how later paths resolve).
pub fn entry_rank(t: LinuxNamespaceType) -> u8 {
    match t {
        LinuxNamespaceType::User => 0,
        LinuxNamespaceType::Mount => 9,
        _ => 5,
    }
}

pub fn plan(linux: &Linux) -> NsPlan {
    let mut p = NsPlan::default();
    for ns in linux.namespaces().iter().flatten() {
        match ns.path() {
            Some(path) => {
                p.join.push((ns.typ(), path.clone()));
                if ns.typ() == LinuxNamespaceType::User {
                    p.in_userns = true;
                }
            }
            None => match ns.typ() {
                LinuxNamespaceType::Time => p.new_time = true,
                t => {
                    p.clone_flags |= t as u64;
                    if t == LinuxNamespaceType::User {
                        p.new_user = true;
                        p.in_userns = true;
                    }
                }
            },
        }
    }
    p.join.sort_by_key(|(t, _)| entry_rank(*t));
    p
}

/// Opens every namespace to join, before anything is forked, so a wrong path fails early.
pub fn open_joins(plan: &NsPlan) -> io::Result<Vec<(LinuxNamespaceType, OwnedFd)>> {
    plan.join
        .iter()
        .map(|(t, path)| {
            File::open(path)
                .map(|f| (*t, OwnedFd::from(f)))
                .map_err(|e| io::Error::new(e.kind(), format!("open {} namespace {}: {e}", proc_name(*t), path.display())))
        })
        .collect()
}

fn map_lines(maps: &[LinuxIdMapping]) -> String {
    maps.iter().map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size())).collect()
}

/// Writes the id maps of `pid`'s new user namespace.
pub fn write_id_maps(pid: i32, uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> io::Result<()> {
    if rustix::process::geteuid().is_root() {
        // As root we keep setgroups usable in the container.
        write_map(pid, "uid_map", uid)?;
        write_map(pid, "gid_map", gid)
    } else if maps_only_self(uid, rustix::process::geteuid().as_raw()) && maps_only_self(gid, rustix::process::getegid().as_raw()) {
        // An unprivileged process may map just itself, once setgroups is denied.
        write_map(pid, "uid_map", uid)?;
        let path = format!("/proc/{pid}/setgroups");
        std::fs::write(&path, "deny").map_err(|e| io::Error::new(e.kind(), format!("write {path}: {e}")))?;
        write_map(pid, "gid_map", gid)
    } else {
        helper_map(pid, "newuidmap", uid)?;
        helper_map(pid, "newgidmap", gid)
    }
}

/// True when `maps` is one line mapping one id: ours.
fn maps_only_self(maps: &[LinuxIdMapping], own: u32) -> bool {
    matches!(maps, [m] if m.size() == 1 && m.host_id() == own)
}

fn write_map(pid: i32, file: &str, maps: &[LinuxIdMapping]) -> io::Result<()> {
    let path = format!("/proc/{pid}/{file}");
    std::fs::write(&path, map_lines(maps)).map_err(|e| io::Error::new(e.kind(), format!("write {path}: {e}")))
}

fn helper_map(pid: i32, helper: &str, maps: &[LinuxIdMapping]) -> io::Result<()> {
    let mut cmd = std::process::Command::new(helper);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([m.container_id().to_string(), m.host_id().to_string(), m.size().to_string()]);
    }
    let out = cmd.output().map_err(|e| io::Error::new(e.kind(), format!("run {helper} (install the uidmap package): {e}")))?;
    if !out.status.success() {
        return Err(io::Error::other(format!("{helper} {pid}: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(())
}

/// True when `pid`'s namespace of kind `t` is the same as ours (nothing to enter).
pub fn same_as_ours(pid: i32, t: LinuxNamespaceType) -> bool {
    let n = proc_name(t);
    let a = std::fs::metadata(format!("/proc/{pid}/ns/{n}"));
    let b = std::fs::metadata(format!("/proc/self/ns/{n}"));
    use std::os::unix::fs::MetadataExt;
    matches!((a, b), (Ok(a), Ok(b)) if a.ino() == b.ino() && a.dev() == b.dev())
}

/// Namespace files of a running container's init, for `exec`.
pub fn of_pid(pid: i32) -> Vec<(LinuxNamespaceType, PathBuf)> {
    use LinuxNamespaceType as T;
    let mut v: Vec<_> = [T::User, T::Ipc, T::Uts, T::Network, T::Pid, T::Cgroup, T::Time, T::Mount]
        .into_iter()
        .filter(|t| Path::new(&format!("/proc/{pid}/ns/{}", proc_name(*t))).exists() && !same_as_ours(pid, *t))
        .map(|t| (t, PathBuf::from(format!("/proc/{pid}/ns/{}", proc_name(t)))))
        .collect();
    v.sort_by_key(|(t, _)| entry_rank(*t));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_splits_new_and_joined_namespaces_and_orders_entry() {
        let linux: Linux = serde_json::from_str(
            r#"{"namespaces":[{"type":"mount","path":"/proc/1/ns/mnt"},{"type":"pid"},{"type":"network","path":"/var/run/netns/x"},
                {"type":"user","path":"/proc/1/ns/user"},{"type":"time"},{"type":"uts"}]}"#,
        )
        .expect("test json");
        let p = plan(&linux);
        assert_eq!(p.clone_flags, libc::CLONE_NEWPID as u64 | libc::CLONE_NEWUTS as u64);
        assert!(p.new_time && !p.new_user && p.in_userns);
        let order: Vec<_> = p.join.iter().map(|(t, _)| proc_name(*t)).collect();
        assert_eq!(order, ["user", "net", "mnt"]);
    }

    #[test]
    fn id_maps_are_written_one_line_each() {
        let m: Vec<LinuxIdMapping> = serde_json::from_str(r#"[{"containerID":0,"hostID":100000,"size":65536},{"containerID":65536,"hostID":5,"size":1}]"#).expect("json");
        assert_eq!(map_lines(&m), "0 100000 65536\n65536 5 1\n");
    }
}
