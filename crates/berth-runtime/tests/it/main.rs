//! berth-runtime's integration tests: the real binary on real containers built from the busybox
//! image, each feature observed from inside the container. Run as root; tests run in parallel,
//! each with its own state root and container ids, and each checks that it left nothing behind
//! (see `fixture`).

mod cgroups;
mod cli;
mod errors;
mod exec;
mod fixture;
mod hooks;
mod mounts;
mod namespaces;
mod process;
mod rootless;
mod safety;
mod seccomp_notify;
mod tty;
