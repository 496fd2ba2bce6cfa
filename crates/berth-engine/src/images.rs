//! Images as the API shows them: list, inspect, history, tag, remove, prune, and `save` and
//! `load` of image archives (Docker's: an OCI image layout plus `manifest.json` since Docker
//! 25, `manifest.json` alone before). The store itself is berth-image's; registries are in
//! `distribution`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path};
use std::sync::Arc;

use berth_api_types::container::inspect::GraphDriver;
use berth_api_types::filters::Filters;
use berth_api_types::image::{HistoryItem, ImageConfig, ImageDeleteResponseItem, ImageInspect, ImagePruneResponse, ImageSummary, RootFs};
use berth_image::{Digest, Image, ImageRef};
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
                // A repository pulled by tag has its pulled digest as a name (an index's);
                // others show the manifest's.
                let repo = n.repository();
                if !names.iter().any(|m| m.digest().is_some() && m.repository() == repo) {
                    digests.push(format!("{}@{}", n.familiar_repository(), image.manifest));
                }
            }
        }
        tags.sort();
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

    /// `docker system df`'s counts of the images in `list`: the containers using each, and
    /// the size of its layers that other images share.
    pub(crate) fn count_image_uses(&self, list: &mut [ImageSummary]) {
        let uses = self.image_use_counts();
        let all: std::collections::HashMap<String, Image> = self.images.list().into_iter().map(|(i, _)| (i.id.to_string(), i)).collect();
        let mut holders: std::collections::HashMap<&Digest, usize> = std::collections::HashMap::new();
        for image in all.values() {
            for l in &image.layers {
                *holders.entry(&l.chain_id).or_insert(0) += 1;
            }
        }
        // Each shared layer's directory is walked once, however many images hold it.
        let mut sizes: std::collections::HashMap<&Digest, i64> = std::collections::HashMap::new();
        for summary in list.iter_mut() {
            summary.containers = uses.get(&summary.id).copied().unwrap_or(0);
            let Some(image) = all.get(&summary.id) else { continue };
            summary.shared_size = image
                .layers
                .iter()
                .filter(|l| holders.get(&l.chain_id).is_some_and(|n| *n > 1))
                .map(|l| *sizes.entry(&l.chain_id).or_insert_with(|| crate::container::inspect::du(&self.images.layer_dir(&l.chain_id)) as i64))
                .sum();
        }
    }

    /// How many containers use each image, by image id.
    fn image_use_counts(&self) -> std::collections::HashMap<String, i64> {
        let mut m = std::collections::HashMap::new();
        for c in self.visible(&Principal::Admin) {
            *m.entry(c.rec().image.clone()).or_insert(0) += 1;
        }
        m
    }

    /// `GET /images/json`, newest first. Filters: `dangling`, `label`, `before`/`since` (an
    /// image they name), `reference` (a name, `*` matching within a path component).
    pub fn image_list(&self, _principal: &Principal, all: bool, filters: &Filters) -> Result<Vec<ImageSummary>> {
        // berth has no intermediate images, so `all` lists the same.
        let _ = all;
        filters.validate(&["reference", "dangling", "label", "before", "since"]).map_err(|e| Error::InvalidParameter(e.to_string()))?;
        let dangling = filters.boolean("dangling").map_err(|e| Error::InvalidParameter(e.to_string()))?;
        let created_of = |name: &str| -> Result<i64> {
            let image = self.images.lookup(name)?;
            let v = self.image_json(&image);
            Ok(created_secs(&v))
        };
        let before = filters.get("before").next().map(created_of).transpose()?;
        let since = filters.get("since").next().map(created_of).transpose()?;
        let refs: Vec<&str> = filters.get("reference").collect();
        let mut out = Vec::new();
        for (image, names) in self.images.list() {
            let v = self.image_json(&image);
            let (repo_tags, repo_digests) = Self::tags_and_digests(&image, &names);
            let labels: Option<BTreeMap<String, String>> = serde_json::from_value(v["config"]["Labels"].clone()).ok();
            let created = created_secs(&v);
            let keep = dangling.is_none_or(|d| d == repo_tags.is_empty())
                && filters.labels_match(labels.as_ref().unwrap_or(&BTreeMap::new()))
                && before.is_none_or(|b| created < b)
                && since.is_none_or(|s| created > s)
                && (refs.is_empty() || names.iter().any(|n| refs.iter().any(|r| reference_matches(r, n))));
            if !keep {
                continue;
            }
            out.push(ImageSummary {
                id: image.id.to_string(),
                parent_id: String::new(),
                repo_tags,
                repo_digests,
                created,
                size: self.image_size(&image),
                virtual_size: None,
                // Not counted for a list, as dockerd leaves them (`docker system df` has them).
                shared_size: -1,
                labels,
                containers: -1,
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
            container: Some(v["container"].as_str().unwrap_or("").to_owned()),
            container_config: Some(serde_json::from_value(v["container_config"].clone()).unwrap_or_default()),
            docker_version: Some(String::new()),
            author: Some(v["author"].as_str().unwrap_or("").to_owned()),
            config,
            architecture: v["architecture"].as_str().unwrap_or("").to_owned(),
            variant: v["variant"].as_str().map(str::to_owned),
            os: v["os"].as_str().unwrap_or("").to_owned(),
            os_version: None,
            size: self.image_size(&image),
            virtual_size: None,
            // The layer directories, as overlay2's `UpperDir` (the top one) and `LowerDir`.
            graph_driver: {
                let dirs: Vec<String> = self.images.lower_dirs(&image).iter().map(|d| d.to_string_lossy().into_owned()).collect();
                let mut data = BTreeMap::new();
                if let Some((upper, lower)) = dirs.split_first() {
                    data.insert("UpperDir".to_owned(), upper.clone());
                    if !lower.is_empty() {
                        data.insert("LowerDir".to_owned(), lower.join(":"));
                    }
                }
                GraphDriver { name: "overlay2".into(), data: Some(data) }
            },
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
    /// blobs once nothing uses them). An image a container uses is a conflict unless `force`,
    /// and even then only loses its names: its layers stay under the container, as in Docker.
    pub fn image_remove(&self, _principal: &Principal, name: &str, force: bool) -> Result<Vec<ImageDeleteResponseItem>> {
        let (image, names) = self.lookup_named(name)?;
        let users = self.containers_using(&image);
        let by_name = ImageRef::parse(name).ok().filter(|r| {
            let want = r.to_string();
            names.iter().any(|n| n.to_string() == want)
        });
        let mut out = Vec::new();
        let (tags, _) = Self::tags_and_digests(&image, &names);
        let untagged = |r: &ImageRef| ImageDeleteResponseItem { untagged: Some(r.familiar()), deleted: None };
        // dockerd's conflicts when the image itself would go (by id, or its last tag): a
        // running container's image cannot go even forced; a stopped one's must be forced.
        let would_go = by_name.is_none() || tags.len() <= 1;
        let short = &image.id.hex()[..12];
        let running = users.iter().filter(|_| would_go).find(|id| self.by_id(id).is_some_and(|c| c.rec().state.status.is_live()));
        if let Some(c) = running {
            return Err(Error::Conflict(format!("conflict: unable to delete {short} (cannot be forced) - image is being used by running container {}", &c[..12])));
        }
        if !users.is_empty() && !force && would_go {
            return Err(Error::Conflict(format!("conflict: unable to delete {short} (must be forced) - image is being used by stopped container {}", &users[0][..12])));
        }
        match (by_name, users.is_empty()) {
            (Some(r), true) => {
                let left: Vec<&ImageRef> = names.iter().filter(|n| n.to_string() != r.to_string()).collect();
                if r.tag().is_some() && !left.is_empty() && left.iter().all(|n| n.digest().is_some()) {
                    // The last tag goes, and with it the digests it was pulled by: the image
                    // goes (Docker's rmi of the last tag).
                    for n in self.images.remove(&image.id)? {
                        out.push(untagged(&n));
                    }
                    out.push(ImageDeleteResponseItem { untagged: None, deleted: Some(image.id.to_string()) });
                } else {
                    let u = self.images.untag(&r)?;
                    out.push(untagged(&r));
                    if u.deleted {
                        out.push(ImageDeleteResponseItem { untagged: None, deleted: Some(image.id.to_string()) });
                    }
                }
            }
            (Some(r), false) => {
                self.images.unname(&r)?;
                out.push(untagged(&r));
            }
            (None, true) => {
                for n in self.images.remove(&image.id)? {
                    out.push(untagged(&n));
                }
                out.push(ImageDeleteResponseItem { untagged: None, deleted: Some(image.id.to_string()) });
            }
            (None, false) => {
                for n in &names {
                    self.images.unname(n)?;
                    out.push(untagged(n));
                }
            }
        }
        if users.is_empty() {
            let _ = self.images.gc();
        }
        // dockerd names the image by its id in these events' `name`.
        self.events.publish("image", if out.iter().any(|i| i.deleted.is_some()) { "delete" } else { "untag" }, &image.id.to_string(), BTreeMap::from([("name".to_owned(), image.id.to_string())]));
        Ok(out)
    }

    /// `GET /images/{name}/history`: the config's history, newest first, with the size of
    /// each step's layer (steps that made none have 0).
    pub fn image_history(&self, _principal: &Principal, name: &str) -> Result<Vec<HistoryItem>> {
        let (image, names) = self.lookup_named(name)?;
        let v = self.image_json(&image);
        let mut layer_sizes = image.layers.iter().map(|l| crate::container::inspect::du(&self.images.layer_dir(&l.chain_id)) as i64);
        let mut out = Vec::new();
        match v["history"].as_array().filter(|h| !h.is_empty()) {
            Some(history) => {
                for h in history {
                    let size = if h["empty_layer"].as_bool().unwrap_or(false) { 0 } else { layer_sizes.next().unwrap_or(0) };
                    out.push(HistoryItem {
                        id: "<missing>".into(),
                        created: created_secs(h),
                        created_by: h["created_by"].as_str().unwrap_or("").to_owned(),
                        tags: None,
                        size,
                        comment: h["comment"].as_str().unwrap_or("").to_owned(),
                    });
                }
            }
            None => {
                for size in layer_sizes {
                    out.push(HistoryItem { id: "<missing>".into(), created: created_secs(&v), created_by: String::new(), tags: None, size, comment: String::new() });
                }
            }
        }
        out.reverse();
        if let Some(top) = out.first_mut() {
            top.id = image.id.to_string();
            let (tags, _) = Self::tags_and_digests(&image, &names);
            top.tags = (!tags.is_empty()).then_some(tags);
        }
        Ok(out)
    }

    /// The images `GET /images/get?names=` saves, each with the names to save it under: a
    /// tagged name saves that name, a bare repository all its tags, an id the image unnamed.
    pub fn images_to_save(&self, _principal: &Principal, names: &[String]) -> Result<Vec<(Image, Vec<ImageRef>)>> {
        if names.is_empty() {
            return Err(Error::InvalidParameter("no image named: give at least one name or id".into()));
        }
        let all = self.images.list();
        let mut out: Vec<(Image, Vec<ImageRef>)> = Vec::new();
        let mut add = |image: Image, name: Option<ImageRef>| match out.iter_mut().find(|(i, _)| i.id == image.id) {
            Some((_, n)) => n.extend(name.filter(|x| !n.contains(x))),
            None => out.push((image, name.into_iter().collect())),
        };
        for name in names {
            let named = ImageRef::parse_named(name).ok();
            if let Some(r) = named.as_ref().filter(|r| r.tag().is_none() && r.digest().is_none()) {
                let tagged: Vec<_> = all.iter().flat_map(|(i, ns)| ns.iter().filter(|n| n.repository() == r.repository() && n.tag().is_some()).map(move |n| (i, n))).collect();
                if !tagged.is_empty() {
                    for (i, n) in tagged {
                        add(i.clone(), Some(n.clone()));
                    }
                    continue;
                }
            }
            let (image, image_names) = self.lookup_named(name)?;
            let exact = ImageRef::parse(name).ok().filter(|r| image_names.contains(r) && r.tag().is_some());
            add(image, exact);
        }
        Ok(out)
    }

    /// Writes the archive of `images` (from [`Engine::images_to_save`]) to `out`.
    pub fn image_save(&self, images: &[(Image, Vec<ImageRef>)], out: impl std::io::Write) -> Result<()> {
        berth_image::write_archive(&self.images, images, out).map_err(|e| Error::Internal(format!("save images: {}", crate::error::chain(&e))))?;
        for (image, _) in images {
            self.events.publish("image", "save", &image.id.to_string(), BTreeMap::new());
        }
        Ok(())
    }

    /// `POST /images/prune`: removes images no container uses that have no tag (`dangling`,
    /// the default) or, with `dangling=false`, every such image; `until` and `label` narrow it.
    pub fn image_prune(&self, _principal: &Principal, filters: &Filters) -> Result<ImagePruneResponse> {
        filters.validate(&["dangling", "until", "label", "label!"]).map_err(|e| Error::InvalidParameter(e.to_string()))?;
        let dangling_only = filters.boolean("dangling").map_err(|e| Error::InvalidParameter(e.to_string()))?.unwrap_or(true);
        let until = crate::time::until_filter(filters)?;
        let used = self.image_use_counts();
        let before = crate::container::inspect::du(&self.images.layers_dir());
        let mut deleted = Vec::new();
        for (image, names) in self.images.list() {
            let v = self.image_json(&image);
            let labels: BTreeMap<String, String> = serde_json::from_value(v["config"]["Labels"].clone()).unwrap_or_default();
            let created = v["created"].as_str().and_then(crate::time::parse_rfc3339).unwrap_or(0);
            let tagged = names.iter().any(|n| n.tag().is_some());
            if used.contains_key(&image.id.to_string()) || (dangling_only && tagged) || until.is_some_and(|u| created > u) || !filters.labels_match(&labels) {
                continue;
            }
            for n in self.images.remove(&image.id)? {
                deleted.push(ImageDeleteResponseItem { untagged: Some(n.familiar()), deleted: None });
            }
            deleted.push(ImageDeleteResponseItem { untagged: None, deleted: Some(image.id.to_string()) });
            self.events.publish("image", "delete", &image.id.to_string(), BTreeMap::new());
        }
        if !deleted.is_empty() {
            self.images.gc()?;
        }
        let after = crate::container::inspect::du(&self.images.layers_dir());
        self.events.publish("image", "prune", "", BTreeMap::from([("reclaimed".to_owned(), before.saturating_sub(after).to_string())]));
        Ok(ImagePruneResponse { images_deleted: (!deleted.is_empty()).then_some(deleted), space_reclaimed: before.saturating_sub(after) })
    }

    /// `POST /images/create?fromSrc=-` (`docker import`): the body is a filesystem archive
    /// (tar, plain or compressed) that becomes a one-layer image, named `repo[:tag]` when
    /// given; `changes` are Dockerfile instructions for its config. Returns the image id.
    pub async fn image_import(self: &Arc<Self>, _principal: &Principal, archive: impl Read + Send + 'static, req: ImportRequest) -> Result<String> {
        self.check_serving()?;
        let names = match req.repo.as_str() {
            "" => Vec::new(),
            repo => {
                let full = if req.tag.is_empty() { repo.to_owned() } else { format!("{repo}:{}", req.tag) };
                vec![ImageRef::parse(&full).map_err(|e| Error::InvalidParameter(format!("invalid reference format: {full}: {e}")))?]
            }
        };
        let platform = if req.platform.is_empty() {
            berth_image::Platform::host()
        } else {
            berth_image::Platform::parse(&req.platform).map_err(|_| Error::InvalidParameter(format!("invalid platform {:?}: want os/arch[/variant]", req.platform)))?
        };
        let mut config = serde_json::json!({});
        for c in &req.changes {
            apply_change(&mut config, c)?;
        }
        let now = crate::time::now();
        let comment = if req.message.is_empty() { "Imported from -".to_owned() } else { req.message.clone() };
        let mut image_config = serde_json::json!({
            "architecture": platform.architecture,
            "os": platform.os,
            "created": now,
            "config": config,
            "history": [{"created": now, "comment": comment}],
        });
        if let Some(v) = &platform.variant {
            image_config["variant"] = Value::String(v.clone());
        }
        // Docker's image JSON has the message as the image's comment too (inspect's Comment).
        if !req.message.is_empty() {
            image_config["comment"] = Value::String(req.message.clone());
        }
        let engine = self.clone();
        tokio::task::spawn_blocking(move || {
            let tmp = engine.cfg.data_root.join("tmp").join(format!("import-{}", &crate::container::record::new_id()[..16]));
            std::fs::create_dir_all(&tmp).map_err(Error::io("create a directory for the import", &tmp))?;
            let result = (|| {
                let layer = tmp.join("layer");
                let mut f = std::fs::File::create(&layer).map_err(Error::io("write the imported archive", &layer))?;
                let mut archive = archive;
                std::io::copy(&mut archive, &mut f).map_err(|e| Error::InvalidParameter(format!("read the archive to import: {e}")))?;
                drop(f);
                berth_image::rootfs_to_layout(&tmp, &layer, image_config, &names).map_err(Error::Load)?;
                let loaded = berth_image::import_layout_all(&engine.images, &tmp, &platform).map_err(Error::Load)?;
                let (image, _) = loaded.into_iter().next().ok_or_else(|| Error::Internal("the import produced no image".into()))?;
                let id = image.id.to_string();
                engine.events.publish("image", "import", &id, names.first().map(|n| BTreeMap::from([("name".to_owned(), n.familiar())])).unwrap_or_default());
                Ok(id)
            })();
            let _ = std::fs::remove_dir_all(&tmp);
            result
        })
        .await
        .map_err(|e| Error::Internal(format!("import task: {e}")))?
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
            // An archive made for older and newer dockerd both may name its images in
            // manifest.json alone, as dockerd before 25 reads them. (An archive with
            // manifest.json only is converted with those names.)
            let mut repo_tags = Vec::new();
            if berth_image::is_docker_archive(&tmp) {
                berth_image::docker_archive_to_layout(&tmp).map_err(Error::Load)?;
            } else {
                repo_tags = berth_image::archive_repo_tags(&tmp).map_err(Error::Load)?;
            }
            if !tmp.join("index.json").exists() {
                return Err(Error::InvalidParameter(
                    "the archive is not an image archive: it has neither index.json (an OCI layout, what `docker save` writes since Docker 25) nor manifest.json (older `docker save`)".into(),
                ));
            }
            let loaded = berth_image::import_layout_all(&self.images, &tmp, &berth_image::Platform::host()).map_err(Error::Load)?;
            let mut lines = Vec::new();
            for (image, mut names) in loaded {
                if names.is_empty() {
                    for (_, tags) in repo_tags.iter().filter(|(config, _)| config.to_string() == image.id.to_string()) {
                        for t in tags {
                            self.images.tag(&image.id.to_string(), t)?;
                            names.push(t.clone());
                        }
                    }
                }
                let (tags, _) = Self::tags_and_digests(&image, &names);
                for t in &tags {
                    self.events.publish("image", "load", &image.id.to_string(), BTreeMap::from([("name".to_owned(), t.clone())]));
                    lines.push(format!("Loaded image: {t}"));
                }
                if tags.is_empty() {
                    lines.push(format!("Loaded image ID: {}", image.id));
                }
            }
            Ok(lines)
        })();
        let _ = std::fs::remove_dir_all(&tmp);
        loaded
    }
}

/// What `docker import` asks for.
#[derive(Debug, Default, Clone)]
pub struct ImportRequest {
    pub repo: String,
    pub tag: String,
    pub message: String,
    /// Dockerfile instructions (`CMD ["sh"]`, `ENV A=1`, …) applied to the config.
    pub changes: Vec<String>,
    pub platform: String,
}

/// Applies one Dockerfile instruction of `docker import --change` to an image's `config`.
fn apply_change(config: &mut Value, change: &str) -> Result<()> {
    let change = change.trim();
    let (instr, rest) = change.split_once(char::is_whitespace).map(|(i, r)| (i, r.trim())).unwrap_or((change, ""));
    let bad = |why: &str| Error::InvalidParameter(format!("invalid change {change:?}: {why}"));
    // JSON form (`["a","b"]`), or shell form run by /bin/sh -c.
    let command = |rest: &str| -> Result<Value> {
        if rest.starts_with('[') {
            let v: Vec<String> = serde_json::from_str(rest).map_err(|_| bad("not a JSON array of strings"))?;
            return Ok(serde_json::json!(v));
        }
        Ok(serde_json::json!(["/bin/sh", "-c", rest]))
    };
    // `k=v k2=v2`, or the old `k v` form for one pair.
    let pairs = |rest: &str| -> Result<Vec<(String, String)>> {
        if !rest.contains('=') {
            let (k, v) = rest.split_once(char::is_whitespace).ok_or_else(|| bad("want KEY=VALUE"))?;
            return Ok(vec![(k.to_owned(), v.trim().to_owned())]);
        }
        rest.split_whitespace()
            .map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned())).ok_or_else(|| bad("want KEY=VALUE")))
            .collect()
    };
    match instr.to_ascii_uppercase().as_str() {
        "CMD" => config["Cmd"] = command(rest)?,
        "ENTRYPOINT" => config["Entrypoint"] = command(rest)?,
        "WORKDIR" => config["WorkingDir"] = Value::String(rest.to_owned()),
        "USER" => config["User"] = Value::String(rest.to_owned()),
        "STOPSIGNAL" => config["StopSignal"] = Value::String(rest.to_owned()),
        "ENV" => {
            let env = config["Env"].as_array().cloned().unwrap_or_default();
            let mut env: Vec<String> = env.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
            for (k, v) in pairs(rest)? {
                env.retain(|e| e.split('=').next() != Some(k.as_str()));
                env.push(format!("{k}={v}"));
            }
            config["Env"] = serde_json::json!(env);
        }
        "LABEL" => {
            for (k, v) in pairs(rest)? {
                if !config["Labels"].is_object() {
                    config["Labels"] = serde_json::json!({});
                }
                config["Labels"][k] = Value::String(v);
            }
        }
        "EXPOSE" => {
            for p in rest.split_whitespace() {
                let p = if p.contains('/') { p.to_owned() } else { format!("{p}/tcp") };
                if !config["ExposedPorts"].is_object() {
                    config["ExposedPorts"] = serde_json::json!({});
                }
                config["ExposedPorts"][p] = serde_json::json!({});
            }
        }
        "VOLUME" => {
            let vols: Vec<String> = if rest.starts_with('[') { serde_json::from_str(rest).map_err(|_| bad("not a JSON array of strings"))? } else { rest.split_whitespace().map(str::to_owned).collect() };
            for v in vols {
                if !config["Volumes"].is_object() {
                    config["Volumes"] = serde_json::json!({});
                }
                config["Volumes"][v] = serde_json::json!({});
            }
        }
        other => return Err(bad(&format!("{other} is not one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR"))),
    }
    Ok(())
}

/// An image config's (or history entry's) `created`, in Unix seconds; 0 when absent.
fn created_secs(v: &Value) -> i64 {
    v["created"].as_str().and_then(crate::time::parse_rfc3339).map(|n| (n / 1_000_000_000) as i64).unwrap_or(0)
}

/// Whether the `reference` filter `pattern` (`busybox`, `busybox:1.*`, `*/app`) selects `name`:
/// a pattern without a tag matches the repository, one with a tag the whole name; `*` matches
/// within one path component, as Docker's path matching does.
fn reference_matches(pattern: &str, name: &ImageRef) -> bool {
    let repo = name.familiar_repository();
    let full = name.familiar();
    let has_tag = pattern.rsplit('/').next().is_some_and(|last| last.contains(':'));
    glob(pattern, if has_tag { &full } else { &repo })
}

/// `*` (any run of characters but `/`) and `?` (one such character); all else literal.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len()).take_while(|&i| i == 0 || t[i - 1] != '/').any(|i| go(&p[1..], &t[i..])),
            Some('?') => t.first().is_some_and(|c| *c != '/') && go(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
}

/// The path a relative symlink at `link` (inside the archive) points to, when it stays inside.
fn link_target(link: &Path, target: &Path) -> Option<std::path::PathBuf> {
    let mut out = std::path::PathBuf::new();
    for c in link.parent()?.join(target).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Unpacks an image archive: directories and regular files with plain relative names, and
/// symlinks to files inside the archive (older `docker save` links layers it lists twice),
/// which become hard links to those files. Anything else (devices, `..`, absolute names,
/// links out) is refused: an image archive has no need for them, and each is a way out of
/// `dest`.
fn extract_archive(archive: impl Read, dest: &Path) -> Result<()> {
    let mut links = Vec::new();
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
            tar::EntryType::Symlink => {
                let target = entry.link_name().ok().flatten().map(|t| t.into_owned()).unwrap_or_default();
                let inside = link_target(&rel, &target)
                    .ok_or_else(|| Error::InvalidParameter(format!("image archive entry {} links to {}, outside the archive", rel.display(), target.display())))?;
                links.push((rel, inside));
            }
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => {}
            other => return Err(Error::InvalidParameter(format!("image archive entry {} is a {other:?}; only files, directories and links inside the archive are allowed", rel.display()))),
        }
    }
    // Links to links resolve over a few rounds; what is left points at nothing usable.
    for _ in 0..8 {
        let before = links.len();
        links.retain(|(rel, inside): &(std::path::PathBuf, std::path::PathBuf)| {
            let (src, dst) = (dest.join(inside), dest.join(rel));
            let is_file = std::fs::symlink_metadata(&src).is_ok_and(|m| m.is_file());
            let linked = is_file && dst.parent().is_some_and(|p| std::fs::create_dir_all(p).is_ok()) && std::fs::hard_link(&src, &dst).is_ok();
            !linked
        });
        if links.is_empty() || links.len() == before {
            break;
        }
    }
    if let Some((rel, inside)) = links.first() {
        return Err(Error::InvalidParameter(format!("image archive entry {} links to {}, which is not a file in the archive", rel.display(), inside.display())));
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
    fn import_changes_set_the_config() {
        let mut c = serde_json::json!({});
        for ch in ["CMD [\"/bin/sh\", \"-c\", \"echo hi\"]", "ENTRYPOINT /init", "ENV A=1 B=two", "ENV C 3", "ENV A=9", "WORKDIR /srv", "USER nobody", "LABEL k=v", "EXPOSE 80 53/udp", "VOLUME /data"] {
            apply_change(&mut c, ch).expect(ch);
        }
        assert_eq!(c["Cmd"], serde_json::json!(["/bin/sh", "-c", "echo hi"]));
        assert_eq!(c["Entrypoint"], serde_json::json!(["/bin/sh", "-c", "/init"]));
        assert_eq!(c["Env"], serde_json::json!(["B=two", "C=3", "A=9"]));
        assert_eq!((c["WorkingDir"].as_str(), c["User"].as_str(), c["Labels"]["k"].as_str()), (Some("/srv"), Some("nobody"), Some("v")));
        assert!(c["ExposedPorts"]["80/tcp"].is_object() && c["ExposedPorts"]["53/udp"].is_object() && c["Volumes"]["/data"].is_object());
        assert!(apply_change(&mut c, "RUN rm -rf /").is_err());
        assert!(apply_change(&mut c, "CMD [not json").is_err());
    }

    #[test]
    fn reference_filters_match_like_dockers() {
        let n = |s: &str| ImageRef::parse(s).expect("ref");
        assert!(reference_matches("busybox", &n("busybox:latest")));
        assert!(reference_matches("busybox:latest", &n("busybox")));
        assert!(reference_matches("busy*", &n("busybox:1")));
        assert!(reference_matches("busybox:1.*", &n("busybox:1.36")));
        assert!(!reference_matches("busybox:1.*", &n("busybox:latest")));
        assert!(reference_matches("*/app", &n("myorg/app:2")));
        assert!(!reference_matches("*", &n("myorg/app:2")), "* stays within a component");
        assert!(!reference_matches("busybox", &n("busybox2")));
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
        assert!(link_target(Path::new("a/layer.tar"), Path::new("../b/layer.tar")) == Some("b/layer.tar".into()));
        assert!(link_target(Path::new("a/layer.tar"), Path::new("../../etc/passwd")).is_none());
        assert!(link_target(Path::new("a/layer.tar"), Path::new("/etc/passwd")).is_none());
        std::fs::remove_dir_all(&base).expect("cleanup");
    }
}
