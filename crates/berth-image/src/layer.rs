//! One layer into an [`ImageStore`]: its compressed blob into the content store and its
//! unpacked directory under `layers/`, from a single read of the blob.
//!
//! Every importer (an OCI layout, a registry pull) goes through here. The blob stream is
//! hashed into the content store while it is decompressed into a pending layer directory; the
//! layer becomes visible only once the blob's digest and size and the tar's diff_id (from the
//! image config) all check out, and a failure leaves neither blob nor directory behind.
//! [`plan_layer`] says what a store still needs, so a caller fetches only what is missing.

use std::io::{BufReader, Read};

use crate::digest::Digest;
use crate::images::ImageStore;
use crate::store::{StoreError, TeeReader};
use crate::unpack::{unpack_layer_pending, UnpackError};

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("copy blob {digest} into the content store")]
    Blob { digest: Digest, #[source] source: StoreError },
    #[error("layer {blob}: unpack")]
    Unpack { blob: Digest, #[source] source: UnpackError },
    #[error("layer {blob}: diff_id mismatch: the config says {expected}, the content is {actual}")]
    DiffId { blob: Digest, expected: Digest, actual: Digest },
}

/// One layer as a manifest and its config describe it.
#[derive(Debug, Clone, Copy)]
pub struct LayerSpec<'a> {
    /// The compressed blob's digest and size (from the manifest).
    pub blob: &'a Digest,
    pub size: u64,
    /// The uncompressed tar's digest (from the config).
    pub diff_id: &'a Digest,
    /// Names the unpacked directory.
    pub chain_id: &'a Digest,
}

/// What a store still needs for one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerPlan {
    /// Blob and unpacked directory are both there.
    Present,
    /// The directory is there but not the blob: fetch the blob with [`store_blob`] only.
    BlobOnly,
    /// The blob is there: unpack it with [`unpack_stored`], nothing to fetch.
    UnpackStored,
    /// Nothing is there: stream the blob through [`ingest_layer`].
    Fetch,
}

/// Decides what `store` lacks for `layer`.
pub fn plan_layer(store: &ImageStore, layer: LayerSpec<'_>) -> LayerPlan {
    match (store.layer_dir(layer.chain_id).is_dir(), store.content().exists(layer.blob)) {
        (true, true) => LayerPlan::Present,
        (true, false) => LayerPlan::BlobOnly,
        (false, true) => LayerPlan::UnpackStored,
        (false, false) => LayerPlan::Fetch,
    }
}

/// Stores the blob read from `src` and unpacks it in the same pass (see the module doc).
pub fn ingest_layer(store: &ImageStore, src: impl Read, layer: LayerSpec<'_>) -> Result<(), LayerError> {
    let blob_err = |source| LayerError::Blob { digest: layer.blob.clone(), source };
    let writer = store.content().begin(layer.blob.clone(), Some(layer.size)).map_err(blob_err)?;
    let mut tee = TeeReader::new(src, writer);
    let pending = unpack_layer_pending(&store.layers_dir(), layer.chain_id.hex(), &mut tee)
        .map_err(|source| LayerError::Unpack { blob: layer.blob.clone(), source })?;
    check_diff_id(layer, pending.diff_id())?;
    tee.commit().map_err(blob_err)?;
    pending.commit().map_err(|source| LayerError::Unpack { blob: layer.blob.clone(), source })?;
    Ok(())
}

/// Unpacks a layer whose blob is already in the content store.
pub fn unpack_stored(store: &ImageStore, layer: LayerSpec<'_>) -> Result<(), LayerError> {
    let file = store.content().open_blob(layer.blob).map_err(|source| LayerError::Blob { digest: layer.blob.clone(), source })?;
    let unpack_err = |source| LayerError::Unpack { blob: layer.blob.clone(), source };
    let pending = unpack_layer_pending(&store.layers_dir(), layer.chain_id.hex(), BufReader::new(file)).map_err(unpack_err)?;
    check_diff_id(layer, pending.diff_id())?;
    pending.commit().map_err(unpack_err)?;
    Ok(())
}

/// Stores only the blob (its layer directory already exists).
pub fn store_blob(store: &ImageStore, src: impl Read, layer: LayerSpec<'_>) -> Result<(), LayerError> {
    store.content().ingest(src, layer.blob, Some(layer.size))
        .map_err(|source| LayerError::Blob { digest: layer.blob.clone(), source })?;
    Ok(())
}

fn check_diff_id(layer: LayerSpec<'_>, actual: &Digest) -> Result<(), LayerError> {
    if actual != layer.diff_id {
        return Err(LayerError::DiffId { blob: layer.blob.clone(), expected: layer.diff_id.clone(), actual: actual.clone() });
    }
    Ok(())
}
