//! berth-shim's integration tests: the real binary starts real busybox containers, as root, in
//! parallel, each test with its own directories and container id (see `fixture`).

mod attach;
mod daemon;
mod fixture;
mod held;
mod lifecycle;
mod socket;
mod tty;
