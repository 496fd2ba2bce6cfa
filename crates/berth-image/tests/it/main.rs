//! berth-image integration tests: real files, real xattrs and device nodes, real overlay mounts.
//! They run as root (mknod, trusted.* xattrs, mount).

mod common;
mod layout;
mod registry;
mod snapshot;
mod unpack;
