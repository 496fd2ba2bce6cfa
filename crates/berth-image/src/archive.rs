//! Image archives, as `docker save` writes and `docker load` reads them.
//!
//! - [`write_archive`] streams images as one tar that both kinds of reader take: an OCI image
//!   layout (`oci-layout`, `index.json`, `blobs/sha256/…`) plus Docker's `manifest.json` and
//!   `repositories`, whose paths point at the same blobs (the format of Docker 25 and later,
//!   which older dockerd loads through `manifest.json`).
//! - [`docker_archive_to_layout`] turns an unpacked archive that has only `manifest.json`
//!   (Docker before 25: `<id>.json` configs and `<id>/layer.tar` layers) into an OCI layout in
//!   place, so one verified import path ([`crate::layout`]) loads both.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use serde_json::json;

use crate::digest::{Algorithm, Digest, Digester};
use crate::images::{Image, ImageStore};
use crate::layout::{index_json, LayoutError, ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, JSON_LIMIT, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST, OCI_LAYOUT_FILE};
use crate::reference::ImageRef;
use crate::unpack::Compression;

/// Docker's `manifest.json` entry.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm().as_str(), d.hex())
}

fn append(tar: &mut tar::Builder<impl Write>, path: &str, size: u64, data: impl Read) -> io::Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    tar.append_data(&mut h, path, data)
}

fn append_dir(tar: &mut tar::Builder<impl Write>, path: &str) -> io::Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_size(0);
    h.set_mode(0o755);
    h.set_mtime(0);
    tar.append_data(&mut h, path, io::empty())
}

/// Writes `images` (each with the names to save it under) to `out` as one archive; see the
/// module doc. Blobs stream from the content store; each is written once.
pub fn write_archive(store: &ImageStore, images: &[(Image, Vec<ImageRef>)], out: impl Write) -> Result<(), LayoutError> {
    let werr = |source| LayoutError::Write { path: PathBuf::from("<archive>"), source };
    let mut tar = tar::Builder::new(out);
    append_dir(&mut tar, "blobs").map_err(werr)?;
    append_dir(&mut tar, "blobs/sha256").map_err(werr)?;
    let mut written = HashSet::new();
    let mut entries = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (image, names) in images {
        for blob in image.blobs() {
            if !written.insert(blob.clone()) {
                continue;
            }
            let size = store.content().size(blob).map_err(|source| LayoutError::Blob { digest: blob.clone(), source })?;
            let f = store.content().open_blob(blob).map_err(|source| LayoutError::Blob { digest: blob.clone(), source })?;
            append(&mut tar, &blob_path(blob), size, f.take(size)).map_err(werr)?;
        }
        let tags: Vec<String> = names.iter().filter(|n| n.tag().is_some()).map(ImageRef::familiar).collect();
        for n in names.iter().filter(|n| n.tag().is_some()) {
            let top = image.layers.last().map(|l| l.blob.hex().to_owned()).unwrap_or_default();
            repositories.entry(n.familiar_repository()).or_default().insert(n.tag().unwrap_or_default().to_owned(), top);
        }
        entries.push(ArchiveEntry {
            config: blob_path(&image.id),
            repo_tags: Some(tags),
            layers: image.layers.iter().map(|l| blob_path(&l.blob)).collect(),
        });
    }
    let index = index_json(store, images)?;
    append(&mut tar, "index.json", index.len() as u64, &index[..]).map_err(werr)?;
    let manifest = serde_json::to_vec(&entries).expect("plain structs serialize");
    append(&mut tar, "manifest.json", manifest.len() as u64, &manifest[..]).map_err(werr)?;
    append(&mut tar, "oci-layout", OCI_LAYOUT_FILE.len() as u64, OCI_LAYOUT_FILE).map_err(werr)?;
    if !repositories.is_empty() {
        let repos = serde_json::to_vec(&repositories).expect("maps of strings serialize");
        append(&mut tar, "repositories", repos.len() as u64, &repos[..]).map_err(werr)?;
    }
    tar.into_inner().map_err(werr)?.flush().map_err(werr)?;
    Ok(())
}

/// A path inside the archive, as `manifest.json` names it: relative, no `..`.
fn inside(dir: &Path, name: &str) -> Result<PathBuf, LayoutError> {
    let p = Path::new(name);
    if name.is_empty() || p.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(LayoutError::Read { path: dir.join("manifest.json"), source: io::Error::other(format!("{name:?} is not a plain path inside the archive")) });
    }
    Ok(dir.join(p))
}

/// How the layer file at `path` is compressed, from its first bytes.
fn sniff(path: &Path) -> Result<Compression, LayoutError> {
    let rerr = |source| LayoutError::Read { path: path.to_owned(), source };
    let mut head = Vec::with_capacity(8);
    fs::File::open(path).map_err(rerr)?.take(8).read_to_end(&mut head).map_err(rerr)?;
    Compression::detect(&head).map_err(|e| rerr(io::Error::other(e.to_string())))
}

/// The OCI media type of a layer so compressed.
fn layer_media_type(c: Compression) -> &'static str {
    match c {
        Compression::None => "application/vnd.oci.image.layer.v1.tar",
        Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// The digest and size of `file`, which must be a regular file (a symlink could lead out of
/// the archive).
fn digest_file(file: &Path) -> Result<(Digest, u64), LayoutError> {
    let rerr = |source| LayoutError::Read { path: file.to_owned(), source };
    let meta = fs::symlink_metadata(file).map_err(rerr)?;
    if !meta.is_file() {
        return Err(rerr(io::Error::other("not a regular file")));
    }
    let mut f = fs::File::open(file).map_err(rerr)?;
    let mut hasher = Digester::new(Algorithm::Sha256);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(rerr)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok((hasher.finish(), meta.len()))
}

/// Moves `file` to `blobs/sha256/<its digest>` and returns the digest and size.
fn to_blob(dir: &Path, file: &Path) -> Result<(Digest, u64), LayoutError> {
    let (digest, size) = digest_file(file)?;
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).map_err(|source| LayoutError::Write { path: blobs.clone(), source })?;
    let target = blobs.join(digest.hex());
    if !target.exists() {
        fs::rename(file, &target).map_err(|source| LayoutError::Write { path: target.clone(), source })?;
    }
    Ok((digest, size))
}

/// The entries of the archive's `manifest.json`, and its path (for messages).
fn read_entries(dir: &Path) -> Result<(PathBuf, Vec<ArchiveEntry>), LayoutError> {
    let manifest_path = dir.join("manifest.json");
    let bad = |source| LayoutError::Read { path: manifest_path.clone(), source };
    let data = fs::read(&manifest_path).map_err(bad)?;
    if data.len() as u64 > JSON_LIMIT {
        return Err(bad(io::Error::other("manifest.json is too large")));
    }
    let entries = serde_json::from_slice(&data).map_err(|e| bad(io::Error::other(format!("parse manifest.json: {e}"))))?;
    Ok((manifest_path, entries))
}

/// An entry's `RepoTags`, parsed.
fn entry_names(entry: &ArchiveEntry, manifest_path: &Path) -> Result<Vec<ImageRef>, LayoutError> {
    let bad = |t: &str, e| LayoutError::Read { path: manifest_path.to_owned(), source: io::Error::other(format!("RepoTags {t:?}: {e}")) };
    entry.repo_tags.iter().flatten().map(|t| ImageRef::parse(t).map_err(|e| bad(t, e))).collect()
}

/// Whether `dir` is an unpacked archive with only Docker's `manifest.json` (no `index.json`).
pub fn is_docker_archive(dir: &Path) -> bool {
    !dir.join("index.json").exists() && dir.join("manifest.json").is_file()
}

/// The `RepoTags` of an unpacked archive's `manifest.json`, by the digest of each entry's
/// config (an image's id): for an archive that has an OCI `index.json` too whose entries carry
/// no names, as archives made for both older and newer dockerd do. Empty without
/// `manifest.json`.
pub fn archive_repo_tags(dir: &Path) -> Result<Vec<(Digest, Vec<ImageRef>)>, LayoutError> {
    if !dir.join("manifest.json").is_file() {
        return Ok(Vec::new());
    }
    let (manifest_path, entries) = read_entries(dir)?;
    entries.iter().map(|e| Ok((digest_file(&inside(dir, &e.config)?)?.0, entry_names(e, &manifest_path)?))).collect()
}

/// Converts the unpacked Docker archive at `dir` into an OCI layout in place: configs and
/// layers become blobs named by their digests, and each `manifest.json` entry an OCI manifest
/// named by its `RepoTags`. The import that follows verifies every blob as usual.
pub fn docker_archive_to_layout(dir: &Path) -> Result<(), LayoutError> {
    let (manifest_path, entries) = read_entries(dir)?;
    let mut descriptors = Vec::new();
    // Files already moved, by the name manifest.json gives them: images share layer files.
    let mut moved: HashMap<String, (Digest, u64)> = HashMap::new();
    let mut blob_of = |name: &str| -> Result<(Digest, u64), LayoutError> {
        if let Some(b) = moved.get(name) {
            return Ok(b.clone());
        }
        let b = to_blob(dir, &inside(dir, name)?)?;
        moved.insert(name.to_owned(), b.clone());
        Ok(b)
    };
    for entry in &entries {
        let (config, config_size) = blob_of(&entry.config)?;
        let mut layers = Vec::new();
        for l in &entry.layers {
            let (digest, size) = blob_of(l)?;
            let compression = sniff(&dir.join("blobs/sha256").join(digest.hex()))?;
            layers.push(json!({"mediaType": layer_media_type(compression), "digest": digest.to_string(), "size": size}));
        }
        let (manifest, size) = write_json_blob(dir, &oci_manifest(&config, config_size, layers))?;
        descriptors.extend(named_descriptors(&manifest, size, &entry_names(entry, &manifest_path)?));
    }
    write_index(dir, descriptors)
}

/// An OCI manifest of `config` and `layers` (descriptors).
fn oci_manifest(config: &Digest, config_size: u64, layers: Vec<serde_json::Value>) -> serde_json::Value {
    json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": config_size},
        "layers": layers,
    })
}

/// Writes `v` as a blob of the layout at `dir`; its digest and size.
fn write_json_blob(dir: &Path, v: &serde_json::Value) -> Result<(Digest, u64), LayoutError> {
    let data = serde_json::to_vec(v).expect("a JSON value always serializes");
    let mut h = Digester::new(Algorithm::Sha256);
    h.update(&data);
    let d = h.finish();
    let path = dir.join("blobs/sha256").join(d.hex());
    fs::write(&path, &data).map_err(|source| LayoutError::Write { path, source })?;
    Ok((d, data.len() as u64))
}

/// The index entries of one manifest: one per name (annotated with it and its tag), or one
/// unannotated when it has none.
fn named_descriptors(manifest: &Digest, size: u64, names: &[ImageRef]) -> Vec<serde_json::Value> {
    let desc = json!({"mediaType": MEDIA_OCI_MANIFEST, "digest": manifest.to_string(), "size": size});
    if names.is_empty() {
        return vec![desc];
    }
    names
        .iter()
        .map(|r| {
            let mut d = desc.clone();
            d["annotations"] = json!({ANNOTATION_IMAGE_NAME: r.to_string(), ANNOTATION_REF_NAME: r.tag().unwrap_or("latest")});
            d
        })
        .collect()
}

/// Writes the layout's `index.json` (listing `descriptors`) and `oci-layout`.
fn write_index(dir: &Path, descriptors: Vec<serde_json::Value>) -> Result<(), LayoutError> {
    let index = json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": descriptors});
    let index_path = dir.join("index.json");
    fs::write(&index_path, serde_json::to_vec(&index).expect("a JSON value always serializes")).map_err(|source| LayoutError::Write { path: index_path, source })?;
    let layout_path = dir.join("oci-layout");
    fs::write(&layout_path, OCI_LAYOUT_FILE).map_err(|source| LayoutError::Write { path: layout_path, source })
}

/// Turns a filesystem archive (`docker import`: a tar, plain or compressed) at `layer` into a
/// one-layer image in an OCI layout at `dir`, named `names`. `config` is the image config
/// without `rootfs`, which is filled in from the layer's uncompressed digest. The import that
/// follows ([`crate::import_layout_all`]) unpacks and verifies it as any other layer.
pub fn rootfs_to_layout(dir: &Path, layer: &Path, mut config: serde_json::Value, names: &[ImageRef]) -> Result<(), LayoutError> {
    let rerr = |source| LayoutError::Read { path: layer.to_owned(), source };
    let compression = sniff(layer)?;
    let file = io::BufReader::new(fs::File::open(layer).map_err(rerr)?);
    let decoded: Box<dyn Read> = match compression {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(file)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(file).map_err(rerr)?),
    };
    let mut reader = crate::digest::DigestReader::new(decoded, Algorithm::Sha256);
    io::copy(&mut reader, &mut io::sink()).map_err(rerr)?;
    let (diff_id, _) = reader.finish();
    let (blob, size) = to_blob(dir, layer)?;
    config["rootfs"] = json!({"type": "layers", "diff_ids": [diff_id.to_string()]});
    let (config_digest, config_size) = write_json_blob(dir, &config)?;
    let layers = vec![json!({"mediaType": layer_media_type(compression), "digest": blob.to_string(), "size": size})];
    let (manifest, manifest_size) = write_json_blob(dir, &oci_manifest(&config_digest, config_size, layers))?;
    write_index(dir, named_descriptors(&manifest, manifest_size, names))
}
