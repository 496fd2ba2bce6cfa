//! Resolving a container's `User` (`name`, `uid`, `name:group`, `uid:gid`) in its image's
//! /etc/passwd and /etc/group, read inside the container's root (symlinks cannot lead out),
//! as Docker does; and the supplementary groups the user belongs to.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::error::{Error, Result};

/// Longest passwd or group file read.
const MAX: u64 = 4 << 20;

/// (uid, gid, supplementary gids) for `user` in the root at `rootfs`, plus `group_add`.
pub fn resolve(rootfs: &Path, user: &str, group_add: &[String]) -> Result<(u32, u32, Vec<u32>)> {
    let root = rustix::fs::open(rootfs, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| Error::io("open the container's root", rootfs)(e.into()))?;
    let passwd = read_in_root(&root, "etc/passwd");
    let group = read_in_root(&root, "etc/group");
    resolve_in(user, group_add, passwd.as_deref(), group.as_deref())
}

fn read_in_root(root: &OwnedFd, path: &str) -> Option<String> {
    let fd = rustix::fs::openat2(root.as_fd(), path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty(), ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS).ok()?;
    let mut s = String::new();
    std::fs::File::from(fd).take(MAX).read_to_string(&mut s).ok()?;
    Some(s)
}

/// The deciding half of [`resolve`], on file contents.
pub fn resolve_in(user: &str, group_add: &[String], passwd: Option<&str>, group: Option<&str>) -> Result<(u32, u32, Vec<u32>)> {
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let users: Vec<Vec<&str>> = passwd.unwrap_or("").lines().map(|l| l.split(':').collect::<Vec<_>>()).filter(|f| f.len() >= 4).collect();
    let groups: Vec<Vec<&str>> = group.unwrap_or("").lines().map(|l| l.split(':').collect::<Vec<_>>()).filter(|f| f.len() >= 3).collect();
    let (uid, mut gid, name) = if u.is_empty() {
        (0, 0, Some("root".to_owned()))
    } else if let Ok(n) = u.parse::<u32>() {
        let entry = users.iter().find(|f| f[2].parse() == Ok(n));
        (n, entry.and_then(|f| f[3].parse().ok()).unwrap_or(0), entry.map(|f| f[0].to_owned()))
    } else {
        let entry = users
            .iter()
            .find(|f| f[0] == u)
            .ok_or_else(|| Error::InvalidParameter(format!("unable to find user {u}: no matching entries in passwd file")))?;
        let uid = entry[2].parse().map_err(|_| Error::InvalidParameter(format!("user {u}: bad uid in /etc/passwd")))?;
        (uid, entry[3].parse().unwrap_or(0), Some(u.to_owned()))
    };
    let find_group = |g: &str| -> Result<u32> {
        if let Ok(n) = g.parse::<u32>() {
            return Ok(n);
        }
        groups
            .iter()
            .find(|f| f[0] == g)
            .and_then(|f| f[2].parse().ok())
            .ok_or_else(|| Error::InvalidParameter(format!("unable to find group {g}: no matching entries in group file")))
    };
    // The primary group is a supplementary one too, as under Docker (`id`: groups=0(root)).
    let mut extra = Vec::new();
    match g {
        Some(g) => gid = find_group(g)?,
        None => {
            // Supplementary groups from /etc/group, only when no group was named (Docker's rule).
            if let Some(name) = &name {
                for f in &groups {
                    if f.len() >= 4 && f[3].split(',').any(|m| m == name) {
                        if let Ok(n) = f[2].parse::<u32>() {
                            if !extra.contains(&n) {
                                extra.push(n);
                            }
                        }
                    }
                }
            }
        }
    }
    for g in group_add {
        let n = find_group(g)?;
        if !extra.contains(&n) {
            extra.push(n);
        }
    }
    extra.retain(|n| *n != gid);
    extra.insert(0, gid);
    Ok((uid, gid, extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\nweb:x:1000:1000::/home/web:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:web,root\nweb:x:1000:\nnogroup:x:65534:\n";

    #[test]
    fn users_resolve_like_docker() {
        assert_eq!(resolve_in("", &[], Some(PASSWD), Some(GROUP)).expect("root"), (0, 0, vec![0, 10]));
        assert_eq!(resolve_in("web", &[], Some(PASSWD), Some(GROUP)).expect("web"), (1000, 1000, vec![1000, 10]));
        assert_eq!(resolve_in("1000:nogroup", &[], Some(PASSWD), Some(GROUP)).expect("uid:group"), (1000, 65534, vec![65534]));
        assert_eq!(resolve_in("4242", &[], Some(PASSWD), Some(GROUP)).expect("unknown uid"), (4242, 0, vec![0]));
        assert_eq!(resolve_in("nobody", &["web".into(), "7".into()], Some(PASSWD), Some(GROUP)).expect("group add"), (65534, 65534, vec![65534, 1000, 7]));
        let e = resolve_in("ghost", &[], Some(PASSWD), None).expect_err("no such user");
        assert!(e.to_string().contains("unable to find user ghost"), "{e}");
        assert!(resolve_in("web:ghosts", &[], Some(PASSWD), Some(GROUP)).is_err());
        assert_eq!(resolve_in("5:6", &[], None, None).expect("numeric without files"), (5, 6, vec![6]));
    }
}
