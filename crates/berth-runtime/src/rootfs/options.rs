//! Mount options of config.json, decided once: which go to mount attributes (`ro`, `nosuid`,
//! ...), which to propagation, which to the filesystem itself (`mode=755`, `size=64m`).

use crate::sys::mount::*;

/// One mount's options, sorted into what each syscall takes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Options {
    pub bind: bool,
    pub recursive_bind: bool,
    /// Attributes for mount_setattr / fsmount.
    pub attr_set: u64,
    pub attr_clr: u64,
    /// `rro`, `rnosuid`, ...: the attributes apply to every submount too.
    pub recursive_attr: bool,
    /// MS_PRIVATE / MS_SHARED / MS_SLAVE / MS_UNBINDABLE, or 0.
    pub propagation: u64,
    pub propagation_recursive: bool,
    /// Filesystem parameters, `key` or `key=value`, in order.
    pub data: Vec<(String, Option<String>)>,
    /// `idmap` / `ridmap`: map the bind through the container's user namespace.
    pub idmap: bool,
}

const MS_PRIVATE: u64 = 1 << 18;
const MS_SLAVE: u64 = 1 << 19;
const MS_SHARED: u64 = 1 << 20;
const MS_UNBINDABLE: u64 = 1 << 17;

impl Options {
    pub fn parse<S: AsRef<str>>(opts: &[S]) -> Options {
        let mut o = Options::default();
        for opt in opts {
            let opt = opt.as_ref();
            let mut set = |bit: u64| {
                o.attr_set |= bit;
                o.attr_clr &= !bit;
            };
            match opt {
                "bind" => o.bind = true,
                "rbind" => {
                    o.bind = true;
                    o.recursive_bind = true;
                }
                "ro" => set(MOUNT_ATTR_RDONLY),
                "nosuid" => set(MOUNT_ATTR_NOSUID),
                "nodev" => set(MOUNT_ATTR_NODEV),
                "noexec" => set(MOUNT_ATTR_NOEXEC),
                "nosymfollow" => set(MOUNT_ATTR_NOSYMFOLLOW),
                "nodiratime" => set(MOUNT_ATTR_NODIRATIME),
                "rw" => clear(&mut o, MOUNT_ATTR_RDONLY),
                "suid" => clear(&mut o, MOUNT_ATTR_NOSUID),
                "dev" => clear(&mut o, MOUNT_ATTR_NODEV),
                "exec" => clear(&mut o, MOUNT_ATTR_NOEXEC),
                "diratime" => clear(&mut o, MOUNT_ATTR_NODIRATIME),
                "relatime" | "noatime" | "strictatime" | "norelatime" => {
                    o.attr_clr |= MOUNT_ATTR__ATIME;
                    o.attr_set &= !MOUNT_ATTR__ATIME;
                    o.attr_set |= match opt {
                        "noatime" => MOUNT_ATTR_NOATIME,
                        "strictatime" => MOUNT_ATTR_STRICTATIME,
                        _ => MOUNT_ATTR_RELATIME,
                    };
                }
                "rro" | "rnosuid" | "rnodev" | "rnoexec" => {
                    o.recursive_attr = true;
                    set(match opt {
                        "rro" => MOUNT_ATTR_RDONLY,
                        "rnosuid" => MOUNT_ATTR_NOSUID,
                        "rnodev" => MOUNT_ATTR_NODEV,
                        _ => MOUNT_ATTR_NOEXEC,
                    });
                }
                "rrw" | "rsuid" | "rdev" | "rexec" => {
                    o.recursive_attr = true;
                    clear(&mut o, match opt {
                        "rrw" => MOUNT_ATTR_RDONLY,
                        "rsuid" => MOUNT_ATTR_NOSUID,
                        "rdev" => MOUNT_ATTR_NODEV,
                        _ => MOUNT_ATTR_NOEXEC,
                    });
                }
                "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "unbindable"
                | "runbindable" => {
                    o.propagation_recursive = opt.starts_with('r');
                    o.propagation = match opt.trim_start_matches('r') {
                        "private" => MS_PRIVATE,
                        "shared" => MS_SHARED,
                        "slave" => MS_SLAVE,
                        _ => MS_UNBINDABLE,
                    };
                }
                "idmap" | "ridmap" => o.idmap = true,
                // Accepted for compatibility; they change nothing a container can observe.
                "defaults" | "async" | "sync" | "dirsync" | "remount" | "mand" | "nomand"
                | "loud" | "silent" | "iversion" | "noiversion" | "lazytime" | "nolazytime"
                | "tmpcopyup" => {}
                other => match other.split_once('=') {
                    Some((k, v)) => o.data.push((k.to_owned(), Some(v.to_owned()))),
                    None => o.data.push((other.to_owned(), None)),
                },
            }
        }
        o
    }

    pub fn mount_attr(&self) -> MountAttr {
        MountAttr { attr_set: self.attr_set, attr_clr: self.attr_clr, propagation: 0, userns_fd: 0 }
    }
}

fn clear(o: &mut Options, bit: u64) {
    o.attr_clr |= bit;
    o.attr_set &= !bit;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_default_mount_options_sort_out() {
        let o = Options::parse(&["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert!(!o.bind);
        assert_eq!(o.attr_set, MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME);
        assert_eq!(o.data, vec![("mode".into(), Some("755".into())), ("size".into(), Some("65536k".into()))]);

        let o = Options::parse(&["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]);
        assert_eq!(o.data[0], ("newinstance".into(), None));
        assert_eq!(o.attr_set, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
    }

    #[test]
    fn bind_flags_and_recursive_forms() {
        let o = Options::parse(&["rbind", "rro", "rprivate"]);
        assert!(o.bind && o.recursive_bind && o.recursive_attr);
        assert_eq!(o.attr_set, MOUNT_ATTR_RDONLY);
        assert_eq!(o.propagation, MS_PRIVATE);
        assert!(o.propagation_recursive);
        let o = Options::parse(&["bind", "ro", "rw", "runbindable"]);
        assert_eq!(o.attr_set & MOUNT_ATTR_RDONLY, 0);
        assert_ne!(o.attr_clr & MOUNT_ATTR_RDONLY, 0);
        assert_eq!(o.propagation, MS_UNBINDABLE);
        assert_eq!(Options::parse(&["rslave"]).propagation, MS_SLAVE);
        assert_eq!(Options::parse(&["shared"]).propagation, MS_SHARED);
    }
}
