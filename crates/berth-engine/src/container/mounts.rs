//! A container's volumes: which it mounts (named ones from `-v name:/path` and `--mount
//! type=volume`, anonymous ones for the image's `VOLUME`s and nameless `--mount`s, those of
//! `--volumes-from`), created on demand at `create`; and, at each start, the driver-option
//! mounts they need and Docker's copy-up: an empty volume is filled from the image's content
//! at its destination (unless `nocopy`), keeping owners, modes and links.

use std::os::fd::AsFd;
use std::path::Path;

use berth_api_types::container::{Config, HostConfig, MountType};

use crate::error::{Error, Result};
use crate::policy::Principal;
use crate::volumes::VolumeMount;
use crate::Engine;

/// Splits a `-v` bind into (source, destination, options).
pub(crate) fn bind_parts(b: &str) -> Result<(&str, &str, &str)> {
    let parts: Vec<&str> = b.split(':').collect();
    match parts.as_slice() {
        [s, d] => Ok((s, d, "")),
        [s, d, o] => Ok((s, d, o)),
        _ => Err(Error::InvalidParameter(format!("invalid volume specification: '{b}'"))),
    }
}

/// The propagation modes a bind may ask for.
pub(crate) const PROPAGATIONS: [&str; 6] = ["private", "rprivate", "shared", "rshared", "slave", "rslave"];

/// Whether a `--mount` bind asks for its missing source to be made
/// (`BindOptions.CreateMountpoint`, what compose sends).
fn made_on_demand(m: &berth_api_types::container::Mount) -> bool {
    m.kind == MountType::Bind && m.bind_options.as_ref().and_then(|b| b.create_mountpoint) == Some(true)
}

/// Checks `--mount`s as dockerd does at create, with its messages (400).
fn check_mounts(host: &HostConfig) -> Result<()> {
    for m in host.mounts.iter().flatten() {
        let kind = match m.kind {
            MountType::Bind => "bind",
            MountType::Volume => "volume",
            MountType::Tmpfs => "tmpfs",
            _ => continue, // refused by name at start
        };
        let bad = |why: String| Error::InvalidParameter(format!("invalid mount config for type \"{kind}\": {why}"));
        if !m.target.starts_with('/') {
            return Err(bad(format!("invalid mount path: '{}' mount path must be absolute", m.target)));
        }
        let source = m.source.as_deref().unwrap_or("");
        let present = [("BindOptions", m.bind_options.is_some()), ("VolumeOptions", m.volume_options.is_some()), ("TmpfsOptions", m.tmpfs_options.is_some())];
        let own = match m.kind {
            MountType::Bind => "BindOptions",
            MountType::Volume => "VolumeOptions",
            _ => "TmpfsOptions",
        };
        if let Some((field, _)) = present.iter().find(|(f, set)| *set && *f != own) {
            return Err(bad(format!("field {field} must not be specified")));
        }
        match m.kind {
            MountType::Bind => {
                if source.is_empty() {
                    return Err(bad("field Source must not be empty".into()));
                }
                if !source.starts_with('/') {
                    return Err(bad(format!("invalid mount path: '{source}' mount path must be absolute")));
                }
                if !made_on_demand(m) && std::fs::symlink_metadata(source).is_err() {
                    return Err(bad(format!("bind source path does not exist: {source}")));
                }
                if let Some(p) = m.bind_options.as_ref().and_then(|b| b.propagation.as_deref()).filter(|p| !p.is_empty() && !PROPAGATIONS.contains(p)) {
                    return Err(bad(format!("invalid propagation mode: {p}")));
                }
            }
            MountType::Tmpfs if !source.is_empty() => return Err(bad("field Source must not be specified".into())),
            _ => {}
        }
    }
    Ok(())
}

/// The propagation each bind asks for (`-v`'s option, `--mount`'s `bind-propagation`):
/// (host path, mode).
pub(crate) fn bind_propagations(host: &HostConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for b in host.binds.iter().flatten() {
        if let Ok((src, _, opts)) = bind_parts(b) {
            if let Some(p) = opts.split(',').find(|o| PROPAGATIONS.contains(o)) {
                out.push((src.to_owned(), p.to_owned()));
            }
        }
    }
    for m in host.mounts.iter().flatten().filter(|m| m.kind == MountType::Bind) {
        if let (Some(src), Some(p)) = (&m.source, m.bind_options.as_ref().and_then(|b| b.propagation.clone()).filter(|p| !p.is_empty())) {
            out.push((src.clone(), p));
        }
    }
    out
}

/// The mount `path` is on, from this process's mountinfo: (mount point, shared, slave).
fn mount_of(path: &Path) -> std::io::Result<(String, bool, bool)> {
    let path = std::fs::canonicalize(path)?;
    let info = std::fs::read_to_string("/proc/self/mountinfo")?;
    let unescape = |s: &str| s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    let mut best: Option<(String, bool, bool)> = None;
    for line in info.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(point) = fields.get(4).map(|p| unescape(p)) else { continue };
        if !path.starts_with(&point) || best.as_ref().is_some_and(|(b, _, _)| b.len() > point.len()) {
            continue;
        }
        let optional = fields.iter().skip(6).take_while(|f| **f != "-");
        let (mut shared, mut slave) = (false, false);
        for f in optional {
            shared |= f.starts_with("shared:");
            slave |= f.starts_with("master:");
        }
        best = Some((point, shared, slave));
    }
    best.ok_or_else(|| std::io::Error::other(format!("no mount holds {}", path.display())))
}

impl Engine {
    /// The volumes a new container mounts, created as needed; `host.binds` gains the binds
    /// of `--volumes-from` containers.
    pub(crate) fn resolve_volumes(&self, principal: &Principal, host: &mut HostConfig, config: &Config) -> Result<Vec<VolumeMount>> {
        check_mounts(host)?;
        let mut out: Vec<VolumeMount> = Vec::new();
        let mut dests: Vec<String> = Vec::new();
        let claim = |d: &str, dests: &mut Vec<String>| -> Result<()> {
            let d = d.trim_end_matches('/').to_owned();
            let d = if d.is_empty() { "/".to_owned() } else { d };
            if dests.contains(&d) {
                return Err(Error::InvalidParameter(format!("Duplicate mount point: {d}")));
            }
            dests.push(d);
            Ok(())
        };
        for b in host.binds.clone().unwrap_or_default() {
            let (src, dst, opts) = bind_parts(&b)?;
            claim(dst, &mut dests)?;
            if src.starts_with('/') {
                continue;
            }
            let mut ro = false;
            let mut nocopy = false;
            for o in opts.split(',').filter(|o| !o.is_empty()) {
                match o {
                    "ro" => ro = true,
                    "rw" => ro = false,
                    "nocopy" => nocopy = true,
                    "z" | "Z" => {} // SELinux relabelling: no SELinux here, as dockerd ignores it
                    other => return Err(Error::InvalidParameter(format!("invalid mode: {other}"))),
                }
            }
            let name = self.volume_for_container(src)?;
            out.push(VolumeMount { name, destination: dst.to_owned(), read_only: ro, nocopy });
        }
        for m in host.mounts.clone().unwrap_or_default() {
            claim(&m.target, &mut dests)?;
            if m.kind != MountType::Volume {
                continue;
            }
            let vo = m.volume_options.clone().unwrap_or_default();
            if vo.subpath.as_deref().is_some_and(|s| !s.is_empty()) {
                return Err(Error::NotImplemented("--mount volume-subpath".into()));
            }
            if let Some(dc) = &vo.driver_config {
                if dc.name.as_deref().is_some_and(|n| !n.is_empty() && n != "local") {
                    return Err(Error::NotImplemented(format!("volume driver {:?}", dc.name.as_deref().unwrap_or(""))));
                }
            }
            let source = m.source.clone().unwrap_or_default();
            let name = match (&vo.driver_config, &vo.labels) {
                (None, None) => self.volume_for_container(&source)?,
                (dc, labels) => {
                    let req = berth_api_types::volume::VolumeCreateRequest {
                        name: Some(source.clone()),
                        driver: Some("local".into()),
                        driver_opts: dc.as_ref().and_then(|d| d.options.clone()),
                        labels: labels.clone(),
                    };
                    self.volume_create(principal, &req)?.name
                }
            };
            out.push(VolumeMount { name, destination: m.target.clone(), read_only: m.read_only == Some(true), nocopy: vo.no_copy == Some(true) });
        }
        for dst in host.tmpfs.clone().unwrap_or_default().keys() {
            claim(dst, &mut dests)?;
        }
        // `--volumes-from` after the container's own mounts: a destination one of those takes
        // is not mounted from the other container, as in Docker.
        let own = dests.clone();
        let taken = |d: &str| own.iter().any(|o| o == d.trim_end_matches('/'));
        for spec in host.volumes_from.clone().unwrap_or_default() {
            let (name, mode) = spec.split_once(':').unwrap_or((&spec, ""));
            if !matches!(mode, "" | "ro" | "rw") {
                return Err(Error::InvalidParameter(format!("invalid mode for volumes-from: {mode}")));
            }
            let other = self.find(principal, name)?;
            let (vols, binds) = {
                let r = other.rec();
                (r.volumes.clone(), r.host_config.binds.clone().unwrap_or_default())
            };
            for mut v in vols.into_iter().filter(|v| !taken(&v.destination)) {
                claim(&v.destination, &mut dests)?;
                if !mode.is_empty() {
                    v.read_only = mode == "ro";
                }
                out.push(v);
            }
            for b in binds.into_iter().filter(|b| b.starts_with('/')) {
                let (s, d, o) = bind_parts(&b)?;
                if taken(d) {
                    continue;
                }
                claim(d, &mut dests)?;
                let o = match mode {
                    "" => o.to_owned(),
                    m => o.split(',').filter(|x| !x.is_empty() && *x != "ro" && *x != "rw").chain([m]).collect::<Vec<_>>().join(","),
                };
                host.binds.get_or_insert_with(Vec::new).push(if o.is_empty() { format!("{s}:{d}") } else { format!("{s}:{d}:{o}") });
            }
        }
        // The image's VOLUMEs not mounted otherwise get anonymous volumes.
        for dst in config.volumes.clone().unwrap_or_default().keys() {
            let d = dst.trim_end_matches('/');
            if dests.iter().any(|x| x == d) {
                continue;
            }
            claim(dst, &mut dests)?;
            let name = self.volume_for_container("")?;
            out.push(VolumeMount { name, destination: dst.clone(), read_only: false, nocopy: false });
        }
        Ok(out)
    }

    /// Before a start: mounts volumes with driver options, and fills empty volumes from the
    /// image at `rootfs` (copy-up). Returns the (source, destination, read-only) binds.
    pub(crate) fn prepare_volumes(&self, vols: &[VolumeMount], rootfs: &Path) -> Result<Vec<(std::path::PathBuf, String, bool)>> {
        let mut out = Vec::new();
        let mut acquired: Vec<&str> = Vec::new();
        for v in vols {
            if let Err(e) = self.volumes.acquire(&v.name) {
                for a in acquired {
                    self.volumes.release(a);
                }
                return Err(e);
            }
            acquired.push(&v.name);
            let data = self.volumes.data_dir(&v.name);
            if !v.nocopy {
                copy_up(rootfs, &v.destination, &data).map_err(|e| Error::Internal(format!("fill volume {} from the image at {}: {e}", v.name, v.destination)))?;
            }
            out.push((data, v.destination.clone(), v.read_only));
        }
        Ok(out)
    }

    /// Before a start, Docker's rules for binds. A `-v /host/path:/dest` whose host path does
    /// not exist makes it, as a directory (mode 0755, parents too); `--mount type=bind` is
    /// stricter: there a missing source is an error, unless [`made_on_demand`]. A bind that
    /// propagates mounts back (`shared`) needs a shared host mount, one that receives them
    /// (`slave`) a shared or slave one.
    pub(crate) fn prepare_binds(host: &HostConfig) -> Result<()> {
        let on_demand = host.mounts.iter().flatten().filter(|m| made_on_demand(m)).filter_map(|m| m.source.as_deref());
        let sources: Vec<&str> = host.binds.iter().flatten().filter_map(|b| bind_parts(b).ok().map(|(src, _, _)| src)).chain(on_demand).collect();
        for src in sources {
            if !src.starts_with('/') {
                continue;
            }
            match std::fs::symlink_metadata(src) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    use std::os::unix::fs::DirBuilderExt;
                    std::fs::DirBuilder::new().recursive(true).mode(0o755).create(src).map_err(Error::io("create the bind mount's host directory", Path::new(src)))?;
                }
                Err(e) => return Err(Error::io("look up the bind mount's host path", Path::new(src))(e)),
                Ok(_) => {}
            }
        }
        for (src, mode) in bind_propagations(host) {
            let (want_shared, name) = match mode.trim_start_matches('r') {
                "shared" => (true, "a shared mount"),
                "slave" => (false, "a shared or slave mount"),
                _ => continue,
            };
            let (point, shared, slave) = mount_of(Path::new(&src)).map_err(Error::io("find the mount of the bind's host path", Path::new(&src)))?;
            if !(shared || (!want_shared && slave)) {
                return Err(Error::InvalidParameter(format!("path {src} is mounted on {point} but it is not {name}")));
            }
        }
        Ok(())
    }

    /// After a container's end: its volumes' driver-option mounts may go.
    pub(crate) fn release_volumes(&self, vols: &[VolumeMount]) {
        for v in vols {
            self.volumes.release(&v.name);
        }
    }
}

/// Docker's copy-up: when `data` is empty and the image has a directory at `dest`, its
/// content is copied in (tar through a pipe: the same walker as `docker cp`, the same
/// extraction as layers, so nothing leads out of either side).
fn copy_up(rootfs: &Path, dest: &str, data: &Path) -> std::io::Result<()> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    if std::fs::read_dir(data)?.next().is_some() {
        return Ok(());
    }
    let root = rustix::fs::open(rootfs, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    let rel = dest.trim_start_matches('/');
    let src = match rustix::fs::openat2(&root, if rel.is_empty() { "." } else { rel }, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty(), ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let target = rustix::fs::open(data, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    // The volume's root takes the owner and mode of the image's directory.
    let st = rustix::fs::fstat(&src)?;
    rustix::fs::fchown(&target, Some(rustix::fs::Uid::from_raw(st.st_uid)), Some(rustix::fs::Gid::from_raw(st.st_gid)))?;
    rustix::fs::fchmod(&target, Mode::from_raw_mode(st.st_mode & 0o7777))?;
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let writer = std::thread::spawn(move || super::archive::pack_dir_contents(src.as_fd(), std::fs::File::from(w)));
    let unpacked = berth_image::unpack_at(std::fs::File::from(r), target.as_fd(), berth_image::UnpackOptions { whiteouts: false, owner: None, keep_kinds: false });
    let packed = writer.join().map_err(|_| std::io::Error::other("the copy thread panicked"))?;
    packed?;
    unpacked.map_err(|e| std::io::Error::other(crate::error::chain(&e)))?;
    Ok(())
}
