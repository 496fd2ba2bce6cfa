//! The image store: which images exist, their names, and what they hold on disk.
//!
//! Layout under the store's root:
//! ```text
//! content/        blobs by digest (see `store`)
//! layers/<hex>    unpacked layers, one directory per chain id (shared layers stored once)
//! images.json     names → image id, and per image its manifest, config and layers
//! ```
//! `images.json` is rewritten whole on every change (temporary file, fsync, rename, fsync of
//! the directory). One found corrupt at open is moved aside and reported through
//! [`ImageStore::recovered`]; the store then starts empty rather than refusing to start.
//!
//! An image's id is its config digest, as in Docker. Layer reference counts are derived from
//! the image records ([`ImageStore::layer_refs`]) rather than stored, so they cannot drift;
//! [`ImageStore::gc`] removes blobs and layer directories that no image refers to. Imports
//! hold a shared lease ([`ImageStore::lease`]) that GC waits for, so a GC never removes what an
//! import has written but not yet recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::digest::{Digest, Digester};
use crate::reference::ImageRef;
use crate::store::{sync_dir, ContentStore, StoreError};

const METADATA_FILE: &str = "images.json";
const METADATA_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ImageStoreError {
    #[error("open image store at {path}")]
    Open { path: PathBuf, #[source] source: io::Error },
    #[error("open content store")]
    Content { #[source] source: StoreError },
    #[error("save image metadata to {path}")]
    Save { path: PathBuf, #[source] source: io::Error },
    #[error("No such image: {name}")]
    NotFound { name: String },
    #[error("garbage collection: remove blob")]
    GcBlob { #[source] source: StoreError },
    #[error("garbage collection: {path}")]
    GcLayer { path: PathBuf, #[source] source: io::Error },
    #[error("make the init layer {path}")]
    InitLayer { path: PathBuf, #[source] source: io::Error },
}

/// One layer of an image, bottom first in [`Image::layers`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// The compressed blob as the manifest lists it.
    pub blob: Digest,
    pub media_type: String,
    pub size: u64,
    /// sha256 of the uncompressed tar (from the image config, checked at unpack).
    pub diff_id: Digest,
    /// Identity of this layer on top of the ones below it; names its directory.
    pub chain_id: Digest,
}

/// A stored image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The config digest, which is the image id.
    pub id: Digest,
    pub manifest: Digest,
    pub manifest_media_type: String,
    pub manifest_size: u64,
    pub config_size: u64,
    pub layers: Vec<Layer>,
}

impl Image {
    /// Every blob this image needs: manifest, config and layer blobs.
    pub fn blobs(&self) -> impl Iterator<Item = &Digest> {
        [&self.manifest, &self.id].into_iter().chain(self.layers.iter().map(|l| &l.blob))
    }
}

/// What `untag` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untagged {
    pub image: Digest,
    /// True when that was the image's last name and the image record went with it.
    pub deleted: bool,
}

/// What `gc` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub blobs: Vec<Digest>,
    pub layers: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Metadata {
    version: u32,
    images: BTreeMap<Digest, Image>,
    /// Full reference (`docker.io/library/busybox:latest`) → image id.
    names: BTreeMap<String, Digest>,
}

/// Images, their names, their blobs and their unpacked layers under one root.
#[derive(Debug)]
pub struct ImageStore {
    root: PathBuf,
    content: ContentStore,
    meta: Mutex<Metadata>,
    gate: GcGate,
    recovered: Option<PathBuf>,
}

/// Keeps GC out while imports and pulls run: any number of leases, or one GC.
#[derive(Debug, Default)]
struct GcGate {
    /// (leases held, GC running)
    state: Mutex<(usize, bool)>,
    changed: Condvar,
}

impl GcGate {
    fn state(&self) -> MutexGuard<'_, (usize, bool)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'g>(&self, guard: MutexGuard<'g, (usize, bool)>) -> MutexGuard<'g, (usize, bool)> {
        self.changed.wait(guard).unwrap_or_else(|p| p.into_inner())
    }
}

/// A shared hold on the store that GC waits for (see [`ImageStore::lease`]). Unlike a lock
/// guard it may be held across `.await` and moved between threads.
#[derive(Debug)]
pub struct Lease<'s> {
    gate: &'s GcGate,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut st = self.gate.state();
        st.0 -= 1;
        if st.0 == 0 {
            self.gate.changed.notify_all();
        }
    }
}

/// GC's exclusive hold; leases wait while it lives.
struct GcHold<'s> {
    gate: &'s GcGate,
}

impl Drop for GcHold<'_> {
    fn drop(&mut self) {
        self.gate.state().1 = false;
        self.gate.changed.notify_all();
    }
}

/// The chain id of a layer whose diff_id is `diff_id` on top of the chain `parent`.
pub fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(p) => {
            let mut d = Digester::new(crate::digest::Algorithm::Sha256);
            d.update(format!("{p} {diff_id}").as_bytes());
            d.finish()
        }
    }
}

impl ImageStore {
    /// Opens (creating if needed) the store at `root`. Unfinished layer unpacks are removed; a
    /// corrupt `images.json` is moved aside (see [`ImageStore::recovered`]).
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, ImageStoreError> {
        let root = root.into();
        let open_err = |path: &Path| {
            let path = path.to_owned();
            move |source| ImageStoreError::Open { path, source }
        };
        for dir in [root.join("layers"), root.join("init")] {
            fs::create_dir_all(&dir).map_err(open_err(&dir))?;
            for entry in fs::read_dir(&dir).map_err(open_err(&dir))? {
                let entry = entry.map_err(open_err(&dir))?;
                if entry.file_name().to_string_lossy().starts_with(".tmp-") {
                    fs::remove_dir_all(entry.path()).map_err(open_err(&entry.path()))?;
                }
            }
        }
        let content = ContentStore::open(root.join("content")).map_err(|source| ImageStoreError::Content { source })?;
        let path = root.join(METADATA_FILE);
        let mut recovered = None;
        let meta = match fs::read(&path) {
            Ok(data) => match serde_json::from_slice::<Metadata>(&data) {
                Ok(m) if m.version == METADATA_VERSION => m,
                _ => {
                    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
                    let aside = root.join(format!("{METADATA_FILE}.corrupt-{secs}"));
                    fs::rename(&path, &aside).map_err(open_err(&path))?;
                    recovered = Some(aside);
                    Metadata { version: METADATA_VERSION, ..Metadata::default() }
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Metadata { version: METADATA_VERSION, ..Metadata::default() },
            Err(e) => return Err(open_err(&path)(e)),
        };
        Ok(ImageStore { root, content, meta: Mutex::new(meta), gate: GcGate::default(), recovered })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn content(&self) -> &ContentStore {
        &self.content
    }

    /// Where a corrupt metadata file found at open was moved, if one was.
    pub fn recovered(&self) -> Option<&Path> {
        self.recovered.as_deref()
    }

    /// The directory holding unpacked layers.
    pub fn layers_dir(&self) -> PathBuf {
        self.root.join("layers")
    }

    /// The unpacked directory of the layer with this chain id.
    pub fn layer_dir(&self, chain_id: &Digest) -> PathBuf {
        self.layers_dir().join(chain_id.hex())
    }

    /// The lower directories of a container of `image`, top-most first: its init layer
    /// ([`crate::init_layer`], made now if this is the image's first container), then the
    /// image's layers.
    pub fn container_lowers(&self, image: &Image) -> Result<Vec<PathBuf>, ImageStoreError> {
        let init = self.root.join("init").join(format!("{}.v{}", image.id.hex(), crate::init_layer::VERSION));
        let mut lowers = self.lower_dirs(image);
        crate::init_layer::ensure(&init, &lowers).map_err(|source| ImageStoreError::InitLayer { path: init.clone(), source })?;
        lowers.insert(0, init);
        Ok(lowers)
    }

    /// Overlay lower directories of `image`, top-most first.
    pub fn lower_dirs(&self, image: &Image) -> Vec<PathBuf> {
        image.layers.iter().rev().map(|l| self.layer_dir(&l.chain_id)).collect()
    }

    /// A lease that keeps GC away while an import writes blobs and layers not yet recorded.
    pub fn lease(&self) -> Lease<'_> {
        let mut st = self.gate.state();
        while st.1 {
            st = self.gate.wait(st);
        }
        st.0 += 1;
        Lease { gate: &self.gate }
    }

    fn hold_for_gc(&self) -> GcHold<'_> {
        let mut st = self.gate.state();
        while st.1 || st.0 > 0 {
            st = self.gate.wait(st);
        }
        st.1 = true;
        GcHold { gate: &self.gate }
    }

    fn meta(&self) -> MutexGuard<'_, Metadata> {
        // A panic while holding the lock left the in-memory copy as valid as the file.
        self.meta.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records `image` and points each of `names` at it (taking them from other images).
    pub fn record(&self, image: Image, names: &[ImageRef]) -> Result<(), ImageStoreError> {
        let mut meta = self.meta();
        for n in names {
            meta.names.insert(n.to_string(), image.id.clone());
        }
        meta.images.insert(image.id.clone(), image);
        self.save(&meta)
    }

    /// Finds an image by reference (`busybox`, `busybox:1`, `reg:5000/x@sha256:…`) or by id
    /// (`sha256:<hex>`, full hex, or a unique hex prefix).
    pub fn lookup(&self, name: &str) -> Result<Image, ImageStoreError> {
        let meta = self.meta();
        Self::find(&meta, name).cloned().ok_or_else(|| ImageStoreError::NotFound { name: name.to_owned() })
    }

    fn find<'m>(meta: &'m Metadata, name: &str) -> Option<&'m Image> {
        if let Ok(r) = ImageRef::parse(name) {
            if let Some(id) = meta.names.get(&r.to_string()) {
                return meta.images.get(id);
            }
            if let Some(d) = r.digest() {
                // by repository digest: the manifest digest of an image with that repository
                let repo = r.repository();
                let named = meta.names.iter().any(|(n, id)| {
                    ImageRef::parse_named(n).is_ok_and(|n| n.repository() == repo)
                        && meta.images.get(id).is_some_and(|i| &i.manifest == d)
                });
                if named {
                    return meta.images.values().find(|i| &i.manifest == d);
                }
            }
        }
        let hex = name.strip_prefix("sha256:").unwrap_or(name);
        if hex.is_empty() || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut found = meta.images.values().filter(|i| i.id.hex().starts_with(hex));
        match (found.next(), found.next()) {
            (Some(i), None) => Some(i),
            _ => None,
        }
    }

    /// Gives the image found by `target` (see [`ImageStore::lookup`]) the name `name`.
    pub fn tag(&self, target: &str, name: &ImageRef) -> Result<(), ImageStoreError> {
        let mut meta = self.meta();
        let id = Self::find(&meta, target).ok_or_else(|| ImageStoreError::NotFound { name: target.to_owned() })?.id.clone();
        meta.names.insert(name.to_string(), id);
        self.save(&meta)
    }

    /// Removes the name `name`; the image goes too when that was its last name.
    pub fn untag(&self, name: &ImageRef) -> Result<Untagged, ImageStoreError> {
        let mut meta = self.meta();
        let id = meta.names.remove(&name.to_string()).ok_or_else(|| ImageStoreError::NotFound { name: name.familiar() })?;
        let deleted = !meta.names.values().any(|i| i == &id);
        if deleted {
            meta.images.remove(&id);
        }
        self.save(&meta)?;
        Ok(Untagged { image: id, deleted })
    }

    /// Removes the name `name` but keeps its image, even when that was its last name (an
    /// image a container still uses stays, untagged, as Docker keeps it).
    pub fn unname(&self, name: &ImageRef) -> Result<Digest, ImageStoreError> {
        let mut meta = self.meta();
        let id = meta.names.remove(&name.to_string()).ok_or_else(|| ImageStoreError::NotFound { name: name.familiar() })?;
        self.save(&meta)?;
        Ok(id)
    }

    /// Removes the image `id` and all its names. Returns the names removed.
    pub fn remove(&self, id: &Digest) -> Result<Vec<ImageRef>, ImageStoreError> {
        let mut meta = self.meta();
        if meta.images.remove(id).is_none() {
            return Err(ImageStoreError::NotFound { name: id.to_string() });
        }
        let names: Vec<String> = meta.names.iter().filter(|(_, i)| *i == id).map(|(n, _)| n.clone()).collect();
        for n in &names {
            meta.names.remove(n);
        }
        self.save(&meta)?;
        Ok(names.iter().filter_map(|n| ImageRef::parse_named(n).ok()).collect())
    }

    /// Every image with its names, by id.
    pub fn list(&self) -> Vec<(Image, Vec<ImageRef>)> {
        let meta = self.meta();
        meta.images
            .values()
            .map(|img| {
                let names = meta.names.iter()
                    .filter(|(_, id)| **id == img.id)
                    .filter_map(|(n, _)| ImageRef::parse_named(n).ok())
                    .collect();
                (img.clone(), names)
            })
            .collect()
    }

    /// How many images use each layer (by chain id).
    pub fn layer_refs(&self) -> BTreeMap<Digest, usize> {
        let meta = self.meta();
        let mut refs = BTreeMap::new();
        for img in meta.images.values() {
            for l in &img.layers {
                *refs.entry(l.chain_id.clone()).or_insert(0) += 1;
            }
        }
        refs
    }

    /// Removes blobs, layer directories and init layers that no image refers to, and leftovers
    /// of unfinished unpacks. Waits for running imports (leases) to finish first.
    pub fn gc(&self) -> Result<GcReport, ImageStoreError> {
        let _exclusive = self.hold_for_gc();
        let (blobs, layers, ids): (BTreeSet<Digest>, BTreeSet<String>, BTreeSet<String>) = {
            let meta = self.meta();
            let blobs = meta.images.values().flat_map(|i| i.blobs().cloned()).collect();
            let layers = meta.images.values().flat_map(|i| i.layers.iter().map(|l| l.chain_id.hex().to_owned())).collect();
            let ids = meta.images.values().map(|i| i.id.hex().to_owned()).collect();
            (blobs, layers, ids)
        };
        let mut report = GcReport::default();
        for d in self.content.list().map_err(|source| ImageStoreError::GcBlob { source })? {
            if !blobs.contains(&d) {
                self.content.delete(&d).map_err(|source| ImageStoreError::GcBlob { source })?;
                report.blobs.push(d);
            }
        }
        let dir = self.layers_dir();
        let gc_err = |path: &Path| {
            let path = path.to_owned();
            move |source| ImageStoreError::GcLayer { path, source }
        };
        for entry in fs::read_dir(&dir).map_err(gc_err(&dir))? {
            let entry = entry.map_err(gc_err(&dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !layers.contains(&name) {
                fs::remove_dir_all(entry.path()).map_err(gc_err(&entry.path()))?;
                report.layers.push(name);
            }
        }
        let init = self.root.join("init");
        for entry in fs::read_dir(&init).map_err(gc_err(&init))? {
            let entry = entry.map_err(gc_err(&init))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // `<image id>.v<version>`, or `<image id>` (before versions)
            let image = name.split('.').next().unwrap_or_default();
            if !ids.contains(image) && !name.starts_with(".tmp-") {
                fs::remove_dir_all(entry.path()).map_err(gc_err(&entry.path()))?;
            }
        }
        report.layers.sort();
        Ok(report)
    }

    fn save(&self, meta: &Metadata) -> Result<(), ImageStoreError> {
        let path = self.root.join(METADATA_FILE);
        let tmp = self.root.join(format!("{METADATA_FILE}.tmp"));
        let save_err = |source| ImageStoreError::Save { path: path.clone(), source };
        let data = serde_json::to_vec_pretty(meta).map_err(|e| save_err(io::Error::other(e)))?;
        let mut f = File::create(&tmp).map_err(save_err)?;
        f.write_all(&data).map_err(save_err)?;
        f.sync_all().map_err(save_err)?;
        drop(f);
        fs::rename(&tmp, &path).map_err(save_err)?;
        sync_dir(&self.root).map_err(save_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(n: u8, layers: &[u8]) -> Image {
        let d = |x: u8| Digest::sha256_of(&[x]);
        let mut parent: Option<Digest> = None;
        let layers = layers
            .iter()
            .map(|&l| {
                let chain = chain_id(parent.as_ref(), &d(l));
                parent = Some(chain.clone());
                Layer { blob: d(l + 100), media_type: "x".into(), size: 1, diff_id: d(l), chain_id: chain }
            })
            .collect();
        Image { id: d(200 + n), manifest: d(250 - n), manifest_media_type: "m".into(), manifest_size: 1, config_size: 1, layers }
    }

    #[test]
    fn chain_id_follows_the_oci_rule() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        assert_eq!(chain_id(None, &a), a);
        assert_eq!(chain_id(Some(&a), &b), Digest::sha256_of(format!("{a} {b}").as_bytes()));
    }

    #[test]
    fn tag_untag_lookup_and_persistence() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ImageStore::open(dir.path()).expect("open");
        let img = image(1, &[1, 2]);
        let busybox = ImageRef::parse("busybox").expect("ref");
        store.record(img.clone(), std::slice::from_ref(&busybox)).expect("record");
        assert_eq!(store.lookup("busybox").expect("by name").id, img.id);
        assert_eq!(store.lookup("docker.io/library/busybox:latest").expect("by full name").id, img.id);
        assert_eq!(store.lookup(&img.id.hex()[..12]).expect("by short id").id, img.id);
        assert_eq!(store.lookup(&img.id.to_string()).expect("by id").id, img.id);
        assert_eq!(store.lookup(&format!("busybox@{}", img.manifest)).expect("by repo digest").id, img.id);
        assert_eq!(store.lookup("nope").expect_err("missing").to_string(), "No such image: nope");
        store.tag("busybox", &ImageRef::parse("me/bb:v1").expect("ref")).expect("tag");
        drop(store);

        let store = ImageStore::open(dir.path()).expect("reopen");
        assert!(store.recovered().is_none());
        let names = &store.list()[0].1;
        assert_eq!(names.iter().map(ImageRef::familiar).collect::<Vec<_>>(), ["busybox:latest", "me/bb:v1"]);
        let u = store.untag(&busybox).expect("untag");
        assert!(!u.deleted);
        let u = store.untag(&ImageRef::parse("me/bb:v1").expect("ref")).expect("untag last");
        assert!(u.deleted);
        assert!(store.list().is_empty());
    }

    #[test]
    fn layer_refs_count_shared_layers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ImageStore::open(dir.path()).expect("open");
        let a = image(1, &[1, 2]);
        let b = image(2, &[1, 3]);
        store.record(a.clone(), &[]).expect("record a");
        store.record(b.clone(), &[]).expect("record b");
        let refs = store.layer_refs();
        assert_eq!(refs[&a.layers[0].chain_id], 2);
        assert_eq!(refs[&a.layers[1].chain_id], 1);
        store.remove(&a.id).expect("remove");
        assert_eq!(store.layer_refs()[&b.layers[0].chain_id], 1);
        assert!(!store.layer_refs().contains_key(&a.layers[1].chain_id));
    }

    #[test]
    fn corrupt_metadata_is_moved_aside() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(METADATA_FILE), b"{ not json").expect("write");
        let store = ImageStore::open(dir.path()).expect("open despite corruption");
        let aside = store.recovered().expect("reported").to_owned();
        assert_eq!(fs::read(&aside).expect("kept aside"), b"{ not json");
        assert!(store.list().is_empty());
    }
}
