//! Images as the API shows them: list, inspect, tag, remove, and `load` of an image archive
//! (an OCI image layout in a tar, which is also what `docker save` writes since Docker 25).
//! The store itself is berth-image's.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path};
use std::sync::Arc;

use berth_api_types::container::inspect::GraphDriver;
use berth_api_types::image::{ImageConfig, ImageDeleteResponseItem, ImageInspect, ImageSummary, RootFs};
use berth_image::{Image, ImageRef};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::policy::Principal;
use crate::Engine;

/// Largest file a loaded archive may hold.
const LOAD_FILE_MAX: u64 = 64 << 30;

impl Engine {
    fn image_json(&self, image: &Image) -> Value {
        self.images.content().read_blob(&image.id, 16 << 20).ok().and_then(|d| serde_json::from_slice(&d).ok()).unwrap_or(Value::Null)
    }

    /// The stored image `name` finds, with its names.
    fn lookup_named(&self, name: &str) -> Result<(Image, Vec<ImageRef>)> {
        let image = self.images.lookup(name)?;
        let names = self.images.list().into_iter().find(|(i, _)| i.id == image.id).map(|(_, n)| n).unwrap_or_default();
        Ok((image, names))
    }

    /// (RepoTags, RepoDigests) of `image` called `names`.
    fn tags_and_digests(image: &Image, names: &[ImageRef]) -> (Vec<String>, Vec<String>) {
        let mut tags = Vec::new();
        let mut digests = Vec::new();
        for n in names {
            if n.digest().is_some() {
                digests.push(n.familiar());
            } else {
                tags.push(n.familiar());
                digests.push(format!("{}@{}", n.familiar_repository(), image.manifest));
            }
        }
        digests.sort();
        digests.dedup();
        (tags, digests)
    }

    fn image_size(&self, image: &Image) -> i64 {
        self.images.lower_dirs(image).iter().map(|d| crate::container::inspect::du(d) as i64).sum()
    }

    fn containers_using(&self, image: &Image) -> Vec<String> {
        let id = image.id.to_string();
        self.visible(&Principal::Admin).into_iter().filter(|c| c.rec().image == id).map(|c| c.id.clone()).collect()
    }

    /// How many containers use each image, by image id.
    fn image_use_counts(&self) -> std::collections::HashMap<String, i64> {
        let mut m = std::collections::HashMap::new();
        for c in self.visible(&Principal::Admin) {
            *m.entry(c.rec().image.clone()).or_insert(0) += 1;
        }
        m
    }

    /// `GET /images/json`.
    pub fn image_list(&self, _principal: &Principal, all: bool) -> Result<Vec<ImageSummary>> {
        let _ = all;
        let mut out = Vec::new();
        let uses = self.image_use_counts();
        for (image, names) in self.images.list() {
            let v = self.image_json(&image);
            let (repo_tags, repo_digests) = Self::tags_and_digests(&image, &names);
            out.push(ImageSummary {
                id: image.id.to_string(),
                parent_id: String::new(),
                repo_tags,
                repo_digests,
                created: v["created"].as_str().and_then(crate::time::parse_rfc3339).map(|n| (n / 1_000_000_000) as i64).unwrap_or(0),
                size: self.image_size(&image),
                shared_size: -1,
                labels: serde_json::from_value(v["config"]["Labels"].clone()).ok(),
                containers: uses.get(&image.id.to_string()).copied().unwrap_or(0),
                descriptor: None,
            });
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.created));
        Ok(out)
    }

    /// `GET /images/{name}/json`.
    pub fn image_inspect(&self, _principal: &Principal, name: &str) -> Result<ImageInspect> {
        let (image, names) = self.lookup_named(name)?;
        let v = self.image_json(&image);
        let (repo_tags, repo_digests) = Self::tags_and_digests(&image, &names);
        let config: Option<ImageConfig> = serde_json::from_value(v["config"].clone()).ok();
        Ok(ImageInspect {
            id: image.id.to_string(),
            descriptor: None,
            repo_tags,
            repo_digests,
            parent: Some(String::new()),
            comment: Some(v["comment"].as_str().unwrap_or("").to_owned()),
            created: v["created"].as_str().map(str::to_owned),
            docker_version: Some(String::new()),
            author: Some(v["author"].as_str().unwrap_or("").to_owned()),
            config,
            architecture: v["architecture"].as_str().unwrap_or("").to_owned(),
            variant: v["variant"].as_str().map(str::to_owned),
            os: v["os"].as_str().unwrap_or("").to_owned(),
            os_version: None,
            size: self.image_size(&image),
            graph_driver: GraphDriver { name: "overlay2".into(), data: None },
            root_fs: RootFs { kind: "layers".into(), layers: Some(image.layers.iter().map(|l| l.diff_id.to_string()).collect()) },
            metadata: None,
        })
    }

    /// `POST /images/{name}/tag`.
    pub fn image_tag(&self, _principal: &Principal, source: &str, repo: &str, tag: &str) -> Result<()> {
        let full = if tag.is_empty() { repo.to_owned() } else { format!("{repo}:{tag}") };
        let r = ImageRef::parse_named(&full).map_err(|e| Error::InvalidParameter(format!("invalid reference format: {full}: {e}")))?;
        if r.digest().is_some() {
            return Err(Error::InvalidParameter("refusing to create a tag with a digest reference".into()));
        }
        let r = if r.tag().is_none() { r.with_tag("latest").map_err(|e| Error::InvalidParameter(e.to_string()))? } else { r };
        self.images.tag(source, &r)?;
        let image = self.images.lookup(source)?;
        self.events.publish("image", "tag", &image.id.to_string(), BTreeMap::from([("name".to_owned(), r.familiar())]));
        Ok(())
    }

    /// `DELETE /images/{name}`: untags a name, or removes an image by id (and its layers'
    /// blobs once nothing uses them). An image a container uses is a conflict unless `force`.
    pub fn image_remove(&self, _principal: &Principal, name: &str, force: bool) -> Result<Vec<ImageDeleteResponseItem>> {
        let (image, names) = self.lookup_named(name)?;
        let users = self.containers_using(&image);
        let by_name = ImageRef::parse(name).ok().filter(|r| {
            let want = r.to_string();
            names.iter().any(|n| n.to_string() == want)
        });
        let mut out = Vec::new();
        let (tags, _) = Self::tags_and_digests(&image, &names);
        if let Some(r) = by_name.filter(|_| tags.len() > 1 || users.is_empty() || force) {
            let u = self.images.untag(&r)?;
            out.push(ImageDeleteResponseItem { untagged: Some(r.familiar()), deleted: None });
            if u.deleted {
                out.push(ImageDeleteResponseItem { untagged: None, deleted: Some(image.id.to_string()) });
            }
        } else {
            if !users.is_empty() && !force {
                return Err(Error::Conflict(format!(
                    "conflict: unable to delete {} (must be forced) - image is being used by stopped container {}",
                    name,
                    &users[0][..12]
                )));
            }
            for n in self.images.remove(&image.id)? {
                out.push(ImageDeleteResponseItem { untagged: Some(n.familiar()), deleted: None });
            }
            out.push(ImageDeleteResponseItem { untagged: None, deleted: Some(image.id.to_string()) });
        }
        if users.is_empty() {
            let _ = self.images.gc();
        }
        self.events.publish("image", "delete", &image.id.to_string(), BTreeMap::from([("name".to_owned(), name.to_owned())]));
        Ok(out)
    }

    /// `POST /images/load`: reads an image archive from `archive`; returns the lines to
    /// report (`Loaded image: busybox:latest`).
    pub async fn image_load(self: &Arc<Self>, _principal: &Principal, archive: impl Read + Send + 'static) -> Result<Vec<String>> {
        let engine = self.clone();
        tokio::task::spawn_blocking(move || engine.load_blocking(archive)).await.map_err(|e| Error::Internal(format!("load task: {e}")))?
    }

    fn load_blocking(&self, archive: impl Read) -> Result<Vec<String>> {
        let tmp = self.cfg.data_root.join("tmp").join(format!("load-{}", &crate::container::record::new_id()[..16]));
        std::fs::create_dir_all(&tmp).map_err(Error::io("create a directory for the archive", &tmp))?;
        let loaded = (|| {
            extract_archive(archive, &tmp)?;
            if !tmp.join("index.json").exists() {
                return Err(Error::InvalidParameter(
                    "the archive is not an OCI image layout (no index.json); berth loads OCI layouts and the archives `docker save` writes since Docker 25".into(),
                ));
            }
            let image = berth_image::import_layout(&self.images, &tmp, &Default::default()).map_err(Error::Load)?;
            let (image, names) = self.lookup_named(&image.id.to_string())?;
            let (tags, _) = Self::tags_and_digests(&image, &names);
            for t in &tags {
                self.events.publish("image", "load", &image.id.to_string(), BTreeMap::from([("name".to_owned(), t.clone())]));
            }
            Ok(if tags.is_empty() { vec![format!("Loaded image ID: {}", image.id)] } else { tags.iter().map(|t| format!("Loaded image: {t}")).collect() })
        })();
        let _ = std::fs::remove_dir_all(&tmp);
        loaded
    }
}

/// Unpacks an image archive: directories and regular files only, with plain relative names.
/// Anything else (links, devices, `..`, absolute names) is refused: an image archive has no
/// need for them, and each is a way out of `dest`.
fn extract_archive(archive: impl Read, dest: &Path) -> Result<()> {
    let mut ar = tar::Archive::new(archive);
    let entries = ar.entries().map_err(|e| Error::InvalidParameter(format!("read the image archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::InvalidParameter(format!("read the image archive: {e}")))?;
        let path = entry.path().map_err(|e| Error::InvalidParameter(format!("image archive entry name: {e}")))?.into_owned();
        let mut rel = std::path::PathBuf::new();
        for c in path.components() {
            match c {
                Component::Normal(n) => rel.push(n),
                Component::CurDir => {}
                _ => return Err(Error::InvalidParameter(format!("image archive entry {} leaves the archive", path.display()))),
            }
        }
        if rel.as_os_str().is_empty() {
            continue;
        }
        let target = dest.join(&rel);
        match entry.header().entry_type() {
            tar::EntryType::Directory => std::fs::create_dir_all(&target).map_err(Error::io("unpack the image archive", &target))?,
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if entry.size() > LOAD_FILE_MAX {
                    return Err(Error::InvalidParameter(format!("image archive entry {} is too large", rel.display())));
                }
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(Error::io("unpack the image archive", parent))?;
                }
                // Parents were made here from plain names, so no symlink is on the way.
                let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&target).map_err(Error::io("unpack the image archive", &target))?;
                std::io::copy(&mut entry, &mut f).map_err(Error::io("unpack the image archive", &target))?;
            }
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => {}
            other => return Err(Error::InvalidParameter(format!("image archive entry {} is a {other:?}; only files and directories are allowed", rel.display()))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            if *kind == tar::EntryType::Symlink {
                h.set_link_name("/etc").expect("link name");
            }
            // Write the name unchecked, as a hostile archive would.
            let raw = &mut h.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            b.append(&h, *data).expect("append");
        }
        b.into_inner().expect("finish")
    }

    #[test]
    fn hostile_archives_are_refused_and_write_nothing_outside() {
        let base = std::env::temp_dir().join(format!("berth-load-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dest = base.join("d");
        std::fs::create_dir_all(&dest).expect("mkdir");
        for (name, kind) in [("../escape", tar::EntryType::Regular), ("/abs", tar::EntryType::Regular), ("link", tar::EntryType::Symlink)] {
            let e = extract_archive(&tar_of(&[(name, kind, b"x")])[..], &dest).expect_err(name);
            assert_eq!(e.kind(), crate::ErrorKind::InvalidParameter, "{e}");
        }
        assert!(!base.join("escape").exists());
        extract_archive(&tar_of(&[("blobs/", tar::EntryType::Directory, b""), ("blobs/x", tar::EntryType::Regular, b"data")])[..], &dest).expect("plain archive");
        assert_eq!(std::fs::read(dest.join("blobs/x")).expect("read"), b"data");
        std::fs::remove_dir_all(&base).expect("cleanup");
    }
}
