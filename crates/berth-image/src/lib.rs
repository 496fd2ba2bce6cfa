//! berth-image: everything berth knows about images, below the engine.
//!
//! Principal types:
//! - [`ImageRef`] and [`Digest`]: references and digests, parsed once, Docker's rules and words.
//! - [`ContentStore`]: immutable blobs by digest; nothing unverified is ever visible.
//! - [`unpack_layer_to`]: a layer tar (plain, gzip, zstd) into an overlayfs lower directory in
//!   one pass, with its diff_id; hostile tars cannot write outside the layer.
//! - [`ImageStore`]: images, names, unpacked layers by chain id, reference counts, GC.
//! - [`import_layout`] / [`export_layout`]: OCI image layouts in and out; [`write_archive`] and
//!   [`docker_archive_to_layout`]: the archives `docker save` writes (`save`, `load`).
//! - [`Snapshot`]: a container's overlay (upper + work over the image's layers), any depth.
//!
//! A `load` flows: layout → manifest and config copied into the content store (verified) →
//! each layer streamed once into the content store and a pending layer directory (blob digest
//! and diff_id checked before either becomes visible) → the image recorded under its names.
//! A container then gets `Snapshot::prepare(dir, store.lower_dirs(&image))` and `mount`.
//!
//! ```no_run
//! use berth_image::{import_layout, ImageRef, ImageStore, ImportOptions, Snapshot};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = ImageStore::open("/var/lib/berth/image")?;
//! let opts = ImportOptions { names: vec![ImageRef::parse("busybox")?], ..Default::default() };
//! let image = import_layout(&store, "/tmp/busybox-layout".as_ref(), &opts)?;
//! let snap = Snapshot::prepare("/var/lib/berth/containers/c1", store.lower_dirs(&image))?;
//! snap.mount("/run/berth/c1/rootfs".as_ref(), false)?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod archive;
pub mod digest;
pub mod images;
mod init_layer;
pub mod layer;
pub mod layout;
pub mod reference;
pub mod registry;
pub mod snapshot;
pub mod store;
pub mod unpack;

pub use digest::{Algorithm, Digest, DigestError};

/// An error and its sources joined with ": ", the way berth shows errors.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
pub use images::{chain_id, GcReport, Image, ImageStore, ImageStoreError, Layer, Lease, Untagged};
pub use layer::{LayerError, LayerPlan, LayerSpec};
pub use archive::{archive_repo_tags, docker_archive_to_layout, is_docker_archive, rootfs_to_layout, write_archive};
pub use layout::{export_layout, import_layout, import_layout_all, ImportOptions, LayoutError, Platform};
pub use reference::{ImageRef, ReferenceError};
pub use snapshot::{Snapshot, SnapshotError};
pub use store::{ContentStore, StoreError};
pub use unpack::{unpack_at, unpack_layer, unpack_layer_pending, unpack_layer_to, Compression, PendingLayer, UnpackError, UnpackOptions};
