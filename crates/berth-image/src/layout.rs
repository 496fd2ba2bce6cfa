//! OCI image layouts (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`): import into an
//! [`ImageStore`] (for `load`) and export from it (for `save`).
//!
//! Import picks a manifest by its `org.opencontainers.image.ref.name` annotation and by
//! platform (descending into nested indexes), copies manifest and config into the content
//! store (verifying each digest and size), and stores and unpacks each layer in one pass: the
//! blob is read once, hashed into the content store and decompressed into a pending layer
//! directory; the layer becomes visible only when both its blob digest and its diff_id (from the
//! config) check out. A layer already present (same chain id) is not unpacked again.
//!
//! Nothing is trusted because it sits in the layout: every blob is verified on the way in.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};
use serde_json::json;

use crate::digest::{Digest, DigestError};
use crate::images::{chain_id, Image, ImageStore, ImageStoreError, Layer};
use crate::reference::ImageRef;
use crate::layer::{ingest_layer, plan_layer, store_blob, unpack_stored, LayerError, LayerPlan, LayerSpec};
use crate::store::StoreError;
use crate::unpack::UnpackError;

pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
pub const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub(crate) const MEDIA_DOCKER_SCHEMA1: &[&str] = &[
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];
/// Largest manifest, index or config accepted.
pub(crate) const JSON_LIMIT: u64 = 8 << 20;
const MAX_INDEX_DEPTH: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("read OCI layout {path}")]
    Read { path: PathBuf, #[source] source: io::Error },
    #[error("OCI layout {path}: parse {what}")]
    Parse { path: PathBuf, what: String, #[source] source: oci_spec::OciSpecError },
    #[error("OCI layout {path}: no image matches {wanted}")]
    NoMatch { path: PathBuf, wanted: String },
    #[error("manifest {digest}: Docker Image manifest version 2, schema 1 is not supported: push the image again as an OCI or Docker schema 2 image")]
    Schema1 { digest: Digest },
    #[error("manifest {digest}: unsupported media type {media_type}")]
    UnsupportedMediaType { digest: Digest, media_type: String },
    #[error("OCI layout {path}: nested indexes deeper than {MAX_INDEX_DEPTH}")]
    TooDeep { path: PathBuf },
    #[error("invalid digest in {what}")]
    Digest { what: String, #[source] source: DigestError },
    #[error("copy blob {digest} into the content store")]
    Blob { digest: Digest, #[source] source: StoreError },
    #[error("image config {config}: {layers} layers in the manifest but {diff_ids} diff_ids")]
    LayerCount { config: Digest, layers: usize, diff_ids: usize },
    #[error("layer {blob}: unpack")]
    Unpack { blob: Digest, #[source] source: UnpackError },
    #[error("layer {blob}: diff_id mismatch: the config says {expected}, the content is {actual}")]
    DiffId { blob: Digest, expected: Digest, actual: Digest },
    #[error("record image {id}")]
    Record { id: Digest, #[source] source: ImageStoreError },
    #[error("write OCI layout {path}")]
    Write { path: PathBuf, #[source] source: io::Error },
}

pub use berth_api_types::platform::Platform;

/// Which image of a layout to import, and what to call it.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The `org.opencontainers.image.ref.name` to pick (`latest`); any when `None`.
    pub ref_name: Option<String>,
    pub platform: Platform,
    /// Names to give the image. When empty, the layout's own full name annotation is used
    /// (`io.containerd.image.name`, or a ref.name that is a full reference).
    pub names: Vec<ImageRef>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { ref_name: None, platform: Platform::host(), names: Vec::new() }
    }
}

/// Imports one image from the OCI layout at `dir` into `store` and records it.
pub fn import_layout(store: &ImageStore, dir: &Path, opts: &ImportOptions) -> Result<Image, LayoutError> {
    let _lease = store.lease();
    let index_path = dir.join("index.json");
    let index_data = read_limited(&index_path)?;
    let index = ImageIndex::from_reader(&index_data[..])
        .map_err(|source| LayoutError::Parse { path: index_path.clone(), what: "index.json".into(), source })?;

    let candidates: Vec<&Descriptor> = index
        .manifests()
        .iter()
        .filter(|d| match &opts.ref_name {
            None => true,
            Some(want) => annotation(d, ANNOTATION_REF_NAME) == Some(want.as_str()),
        })
        .collect();
    let wanted = || match &opts.ref_name {
        Some(r) => format!("{r} ({})", opts.platform),
        None => opts.platform.to_string(),
    };
    let mut chosen = None;
    for desc in candidates {
        if let Some(found) = select(store, dir, desc, &opts.platform, 0)? {
            chosen = Some((desc.clone(), found));
            break;
        }
    }
    let Some((top, manifest_desc)) = chosen else {
        return Err(LayoutError::NoMatch { path: dir.to_owned(), wanted: wanted() });
    };
    let names = if opts.names.is_empty() { layout_names(&top, &manifest_desc) } else { opts.names.clone() };
    import_manifest(store, dir, &manifest_desc, &names)
}

/// Imports every image of the layout at `dir` for `platform` (what `docker load` does with a
/// saved archive of several images or names), each under the names the layout gives it.
/// Entries of other platforms are skipped; none left is [`LayoutError::NoMatch`].
pub fn import_layout_all(store: &ImageStore, dir: &Path, platform: &Platform) -> Result<Vec<(Image, Vec<ImageRef>)>, LayoutError> {
    let _lease = store.lease();
    let index_path = dir.join("index.json");
    let index_data = read_limited(&index_path)?;
    let index = ImageIndex::from_reader(&index_data[..])
        .map_err(|source| LayoutError::Parse { path: index_path.clone(), what: "index.json".into(), source })?;
    let mut out: Vec<(Image, Vec<ImageRef>)> = Vec::new();
    for top in index.manifests() {
        let Some(manifest_desc) = select(store, dir, top, platform, 0)? else { continue };
        let names = layout_names(top, &manifest_desc);
        let image = import_manifest(store, dir, &manifest_desc, &names)?;
        match out.iter_mut().find(|(i, _)| i.id == image.id) {
            Some((_, n)) => n.extend(names),
            None => out.push((image, names)),
        }
    }
    if out.is_empty() {
        return Err(LayoutError::NoMatch { path: dir.to_owned(), wanted: platform.to_string() });
    }
    Ok(out)
}

/// Imports the image of one manifest (already selected, so in the content store) and names it.
fn import_manifest(store: &ImageStore, dir: &Path, manifest_desc: &Descriptor, names: &[ImageRef]) -> Result<Image, LayoutError> {
    let manifest_digest = digest_of(manifest_desc, "manifest descriptor")?;
    let manifest_data = store.content().read_blob(&manifest_digest, JSON_LIMIT)
        .map_err(|source| LayoutError::Blob { digest: manifest_digest.clone(), source })?;
    let manifest = ImageManifest::from_reader(&manifest_data[..])
        .map_err(|source| LayoutError::Parse { path: dir.to_owned(), what: format!("manifest {manifest_digest}"), source })?;

    let config_digest = digest_of(manifest.config(), "config descriptor")?;
    copy_blob(store, dir, &config_digest, manifest.config().size())?;
    let config_data = store.content().read_blob(&config_digest, JSON_LIMIT)
        .map_err(|source| LayoutError::Blob { digest: config_digest.clone(), source })?;
    let config = ImageConfiguration::from_reader(&config_data[..])
        .map_err(|source| LayoutError::Parse { path: dir.to_owned(), what: format!("config {config_digest}"), source })?;
    let diff_ids = config.rootfs().diff_ids();
    if diff_ids.len() != manifest.layers().len() {
        return Err(LayoutError::LayerCount { config: config_digest, layers: manifest.layers().len(), diff_ids: diff_ids.len() });
    }

    let mut layers = Vec::with_capacity(diff_ids.len());
    let mut parent: Option<Digest> = None;
    for (desc, diff_id) in manifest.layers().iter().zip(diff_ids) {
        let blob = digest_of(desc, "layer descriptor")?;
        let diff_id = Digest::parse(diff_id).map_err(|source| LayoutError::Digest { what: format!("diff_id of layer {blob}"), source })?;
        let chain = chain_id(parent.as_ref(), &diff_id);
        import_layer(store, dir, LayerSpec { blob: &blob, size: desc.size(), diff_id: &diff_id, chain_id: &chain })?;
        layers.push(Layer { blob, media_type: desc.media_type().to_string(), size: desc.size(), diff_id, chain_id: chain.clone() });
        parent = Some(chain);
    }

    let image = Image {
        id: config_digest.clone(),
        manifest: manifest_digest,
        manifest_media_type: manifest_desc.media_type().to_string(),
        manifest_size: manifest_desc.size(),
        config_size: manifest.config().size(),
        layers,
    };
    store.record(image.clone(), names).map_err(|source| LayoutError::Record { id: config_digest, source })?;
    Ok(image)
}

/// Resolves `desc` to an image manifest descriptor for `platform`, copying manifests and
/// indexes into the content store on the way.
fn select(store: &ImageStore, dir: &Path, desc: &Descriptor, platform: &Platform, depth: usize) -> Result<Option<Descriptor>, LayoutError> {
    if depth > MAX_INDEX_DEPTH {
        return Err(LayoutError::TooDeep { path: dir.to_owned() });
    }
    if let Some(p) = desc.platform() {
        if !platform.matches(&p.os().to_string(), &p.architecture().to_string(), p.variant().as_deref()) {
            return Ok(None);
        }
    }
    let digest = digest_of(desc, "descriptor")?;
    let media = desc.media_type().to_string();
    match media.as_str() {
        MEDIA_OCI_MANIFEST | MEDIA_DOCKER_MANIFEST => {
            copy_blob(store, dir, &digest, desc.size())?;
            Ok(Some(desc.clone()))
        }
        MEDIA_OCI_INDEX | MEDIA_DOCKER_LIST => {
            copy_blob(store, dir, &digest, desc.size())?;
            let data = store.content().read_blob(&digest, JSON_LIMIT).map_err(|source| LayoutError::Blob { digest: digest.clone(), source })?;
            let index = ImageIndex::from_reader(&data[..])
                .map_err(|source| LayoutError::Parse { path: dir.to_owned(), what: format!("index {digest}"), source })?;
            for m in index.manifests() {
                if let Some(found) = select(store, dir, m, platform, depth + 1)? {
                    return Ok(Some(found));
                }
            }
            Ok(None)
        }
        m if MEDIA_DOCKER_SCHEMA1.contains(&m) => Err(LayoutError::Schema1 { digest }),
        _ => Err(LayoutError::UnsupportedMediaType { digest, media_type: media }),
    }
}

/// Stores and unpacks one layer unless it is already there; see the module doc.
fn import_layer(store: &ImageStore, dir: &Path, layer: LayerSpec<'_>) -> Result<(), LayoutError> {
    match plan_layer(store, layer) {
        LayerPlan::Present => {}
        LayerPlan::BlobOnly => store_blob(store, open_layout_blob(dir, layer.blob)?, layer)?,
        LayerPlan::UnpackStored => unpack_stored(store, layer)?,
        LayerPlan::Fetch => ingest_layer(store, open_layout_blob(dir, layer.blob)?, layer)?,
    }
    Ok(())
}

impl From<LayerError> for LayoutError {
    fn from(e: LayerError) -> Self {
        match e {
            LayerError::Blob { digest, source } => LayoutError::Blob { digest, source },
            LayerError::Unpack { blob, source } => LayoutError::Unpack { blob, source },
            LayerError::DiffId { blob, expected, actual } => LayoutError::DiffId { blob, expected, actual },
        }
    }
}

fn open_layout_blob(dir: &Path, digest: &Digest) -> Result<File, LayoutError> {
    // The digest was validated, so this path has no separators or dots of its own.
    let path = dir.join("blobs").join(digest.algorithm().as_str()).join(digest.hex());
    File::open(&path).map_err(|source| LayoutError::Read { path, source })
}

fn copy_blob(store: &ImageStore, dir: &Path, digest: &Digest, size: u64) -> Result<(), LayoutError> {
    if store.content().exists(digest) {
        return Ok(());
    }
    let src = open_layout_blob(dir, digest)?;
    store.content().ingest(src, digest, Some(size)).map_err(|source| LayoutError::Blob { digest: digest.clone(), source })?;
    Ok(())
}

fn read_limited(path: &Path) -> Result<Vec<u8>, LayoutError> {
    let read_err = |source| LayoutError::Read { path: path.to_owned(), source };
    let mut data = Vec::new();
    File::open(path).map_err(read_err)?.take(JSON_LIMIT + 1).read_to_end(&mut data).map_err(read_err)?;
    if data.len() as u64 > JSON_LIMIT {
        return Err(read_err(io::Error::other("file too large")));
    }
    Ok(data)
}

fn annotation<'d>(desc: &'d Descriptor, key: &str) -> Option<&'d str> {
    desc.annotations().as_ref()?.get(key).map(String::as_str)
}

fn digest_of(desc: &Descriptor, what: &str) -> Result<Digest, LayoutError> {
    Digest::try_from(desc.digest()).map_err(|source| LayoutError::Digest { what: what.to_owned(), source })
}

/// The full names a layout gives its image, if any.
fn layout_names(top: &Descriptor, manifest: &Descriptor) -> Vec<ImageRef> {
    for d in [manifest, top] {
        if let Some(r) = annotation(d, ANNOTATION_IMAGE_NAME).and_then(|n| ImageRef::parse(n).ok()) {
            return vec![r];
        }
        if let Some(n) = annotation(d, ANNOTATION_REF_NAME).filter(|n| n.contains([':', '/'])) {
            if let Ok(r) = ImageRef::parse(n) {
                return vec![r];
            }
        }
    }
    Vec::new()
}

/// Writes `images` to an OCI layout at `dir` (created if needed). Each image's manifest is
/// listed in `index.json` once per name given, annotated with the tag and the full name, or
/// once without annotations when it has no name.
pub fn export_layout(store: &ImageStore, images: &[(Image, Vec<ImageRef>)], dir: &Path) -> Result<(), LayoutError> {
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| LayoutError::Write { path, source }
    };
    for (image, _) in images {
        for blob in image.blobs() {
            export_blob(store, blob, dir)?;
        }
    }
    let index_path = dir.join("index.json");
    fs::write(&index_path, index_json(store, images)?).map_err(write_err(&index_path))?;
    let layout_path = dir.join("oci-layout");
    fs::write(&layout_path, OCI_LAYOUT_FILE).map_err(write_err(&layout_path))?;
    Ok(())
}

/// The `oci-layout` file.
pub(crate) const OCI_LAYOUT_FILE: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// The `index.json` of a layout holding `images`: each manifest once per name, annotated with
/// the tag and the full name, or once without annotations when it has no name.
pub(crate) fn index_json(store: &ImageStore, images: &[(Image, Vec<ImageRef>)]) -> Result<Vec<u8>, LayoutError> {
    let mut manifests = Vec::new();
    for (image, names) in images {
        let config = store.content().read_blob(&image.id, JSON_LIMIT).map_err(|source| LayoutError::Blob { digest: image.id.clone(), source })?;
        let platform = ImageConfiguration::from_reader(&config[..])
            .ok()
            .map(|c| json!({"os": c.os().to_string(), "architecture": c.architecture().to_string()}));
        let mut desc = json!({
            "mediaType": image.manifest_media_type,
            "digest": image.manifest.to_string(),
            "size": image.manifest_size,
        });
        if let Some(p) = platform {
            desc["platform"] = p;
        }
        if names.is_empty() {
            manifests.push(desc.clone());
        }
        for name in names {
            let mut d = desc.clone();
            let mut ann = HashMap::new();
            ann.insert(ANNOTATION_IMAGE_NAME, name.to_string());
            if let Some(tag) = name.tag() {
                ann.insert(ANNOTATION_REF_NAME, tag.to_owned());
            }
            d["annotations"] = json!(ann);
            manifests.push(d);
        }
    }
    let index = json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": manifests});
    Ok(serde_json::to_vec(&index).expect("a JSON value always serializes"))
}

fn export_blob(store: &ImageStore, digest: &Digest, dir: &Path) -> Result<(), LayoutError> {
    let blobs = dir.join("blobs").join(digest.algorithm().as_str());
    let target = blobs.join(digest.hex());
    if target.is_file() {
        return Ok(());
    }
    let write_err = |source| LayoutError::Write { path: target.clone(), source };
    fs::create_dir_all(&blobs).map_err(write_err)?;
    let mut src = store.content().open_blob(digest).map_err(|source| LayoutError::Blob { digest: digest.clone(), source })?;
    let tmp = blobs.join(format!(".{}.tmp", digest.hex()));
    let result = (|| {
        let mut dst = File::create(&tmp)?;
        io::copy(&mut src, &mut dst)?;
        dst.sync_all()?;
        fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(write_err)
}
