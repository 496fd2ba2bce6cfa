//! The only code in berth that calls the kernel through raw `libc` rather than `rustix`: what
//! rustix does not wrap, or wraps only as `unsafe` (clone3, mount_setattr, close_range, execve,
//! signalfd, personality, fork, madvise of our own executable, `_exit`, the ioctl that counts
//! what a socket's peer has not read). Every `unsafe` block
//! of the workspace lives under this module.

pub mod bpf;
pub mod clone;
pub mod exe;
pub mod memory;
pub mod mount;
pub mod process;
pub mod seccomp;
pub mod signal;
pub mod socket;
