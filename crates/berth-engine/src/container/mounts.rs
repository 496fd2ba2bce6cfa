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
fn bind_parts(b: &str) -> Result<(&str, &str, &str)> {
    let parts: Vec<&str> = b.split(':').collect();
    match parts.as_slice() {
        [s, d] => Ok((s, d, "")),
        [s, d, o] => Ok((s, d, o)),
        _ => Err(Error::InvalidParameter(format!("invalid volume specification: '{b}'"))),
    }
}

impl Engine {
    /// The volumes a new container mounts, created as needed; `host.binds` gains the binds
    /// of `--volumes-from` containers.
    pub(crate) fn resolve_volumes(&self, principal: &Principal, host: &mut HostConfig, config: &Config) -> Result<Vec<VolumeMount>> {
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
            for mut v in vols {
                claim(&v.destination, &mut dests)?;
                if !mode.is_empty() {
                    v.read_only = mode == "ro";
                }
                out.push(v);
            }
            for b in binds.into_iter().filter(|b| b.starts_with('/')) {
                let (s, d, o) = bind_parts(&b)?;
                claim(d, &mut dests)?;
                let o = match mode {
                    "" => o.to_owned(),
                    m => o.split(',').filter(|x| !x.is_empty() && *x != "ro" && *x != "rw").chain([m]).collect::<Vec<_>>().join(","),
                };
                host.binds.get_or_insert_with(Vec::new).push(if o.is_empty() { format!("{s}:{d}") } else { format!("{s}:{d}:{o}") });
            }
        }
        for b in host.binds.clone().unwrap_or_default() {
            let (src, dst, opts) = bind_parts(&b)?;
            if src.starts_with('/') {
                if !out.iter().any(|v| v.destination == dst) && !dests.contains(&dst.trim_end_matches('/').to_owned()) {
                    claim(dst, &mut dests)?;
                }
                continue;
            }
            claim(dst, &mut dests)?;
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
            if m.kind != MountType::Volume {
                claim(&m.target, &mut dests)?;
                continue;
            }
            claim(&m.target, &mut dests)?;
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
