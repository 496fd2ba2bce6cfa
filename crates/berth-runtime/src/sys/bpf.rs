//! The bpf(2) calls behind cgroup v2's device controller: load a `BPF_PROG_TYPE_CGROUP_DEVICE`
//! program, attach it to a cgroup directory with `BPF_F_ALLOW_MULTI`, and detach the programs
//! it replaces. rustix has no bpf(2) wrapper, so this calls it through libc.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use crate::cgroups::devices_bpf::Insn;
use crate::cgroups::CgroupError;

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_PROG_QUERY: libc::c_int = 16;

const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

const LICENSE: &[u8] = b"Apache-2.0\0";
const PROG_NAME: &[u8] = b"berth_devices";

/// The `BPF_PROG_LOAD` prefix of `union bpf_attr`. All fields are naturally aligned: no padding.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

/// The `BPF_PROG_ATTACH` / `BPF_PROG_DETACH` prefix.
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

/// The `BPF_PROG_QUERY` prefix (up to and including `prog_cnt` and its padding).
#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

/// The `BPF_PROG_GET_FD_BY_ID` prefix.
#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// Calls bpf(2) with `attr` as the first `size_of::<A>()` bytes of `union bpf_attr`.
///
/// # Safety
/// `A` must be one of the `#[repr(C)]` attr structs above, matching the kernel's layout for
/// `cmd`, and every address stored in `attr` must point to memory that is valid, for reads and
/// for writes where the kernel writes, for the length given next to it, until the call returns.
unsafe fn bpf<A>(cmd: libc::c_int, attr: &mut A) -> io::Result<libc::c_long> {
    let size = std::mem::size_of::<A>() as libc::c_uint;
    // SAFETY: `attr` is a live, exclusively borrowed struct of `size` bytes with no padding
    // (all the attr structs are naturally aligned u32/u64/byte-array fields), so the kernel
    // reads initialized memory and sees zero in every field we leave unset. The addresses
    // inside it are valid per this function's contract.
    let ret = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut A, size) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn owned_fd(raw: libc::c_long) -> OwnedFd {
    let raw = i32::try_from(raw).expect("bpf(2) returns descriptors as int");
    // SAFETY: `raw` was just returned by a successful BPF_PROG_LOAD or BPF_PROG_GET_FD_BY_ID,
    // which creates a new descriptor (with O_CLOEXEC) that nothing else in this process owns.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

fn load(insns: &[Insn], log: Option<&mut Vec<u8>>) -> io::Result<OwnedFd> {
    let mut name = [0u8; 16];
    name[..PROG_NAME.len()].copy_from_slice(PROG_NAME);
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(insns.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
        insns: insns.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        prog_name: name,
        ..ProgLoadAttr::default()
    };
    if let Some(buf) = log {
        attr.log_level = 1;
        attr.log_size = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        attr.log_buf = buf.as_mut_ptr() as u64;
    }
    // SAFETY: `insns` points to `insn_cnt` live `Insn`s (laid out as struct bpf_insn), `license`
    // to a NUL-terminated static string, and `log_buf` (when set) to `log_size` writable bytes
    // of `buf`; all borrowed for the whole call.
    unsafe { bpf(BPF_PROG_LOAD, &mut attr) }.map(owned_fd)
}

fn attached_ids(cgroup: BorrowedFd<'_>) -> io::Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    let mut attr = QueryAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..QueryAttr::default()
    };
    // SAFETY: `prog_ids` points to `prog_cnt` writable u32s of `ids`, borrowed for the call.
    unsafe { bpf(BPF_PROG_QUERY, &mut attr) }?;
    ids.truncate(attr.prog_cnt as usize);
    Ok(ids)
}

fn prog_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut attr = GetFdByIdAttr { prog_id: id, ..GetFdByIdAttr::default() };
    // SAFETY: the attr holds no addresses.
    unsafe { bpf(BPF_PROG_GET_FD_BY_ID, &mut attr) }.map(owned_fd)
}

fn attach_or_detach(cmd: libc::c_int, cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>, flags: u32) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: flags,
    };
    // SAFETY: the attr holds only descriptors, both open for the duration of the borrows.
    unsafe { bpf(cmd, &mut attr) }.map(drop)
}

/// Loads `insns`, attaches the program to the cgroup directory `dir`, then detaches the device
/// programs that were attached there before. Between the two steps both apply, and the kernel
/// allows an access only when every program allows it, so the container never gets more than
/// either rule set grants.
pub fn replace_device_program(dir: &Path, insns: &[Insn]) -> Result<(), CgroupError> {
    let step = |step: &'static str, log: String| {
        move |source: io::Error| CgroupError::Bpf { step, path: dir.to_owned(), log, source }
    };
    let cgroup = rustix::fs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| CgroupError::Open { path: dir.to_owned(), source: e.into() })?;
    let prog = match load(insns, None) {
        Ok(fd) => fd,
        Err(first) => {
            // Load again with the verifier log on, to say why.
            let mut buf = vec![0u8; 64 * 1024];
            let _ = load(insns, Some(&mut buf));
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            let log = String::from_utf8_lossy(&buf[..end]).into_owned();
            return Err(step("load", log)(first));
        }
    };
    let old = attached_ids(cgroup.as_fd()).map_err(step("query", String::new()))?;
    attach_or_detach(BPF_PROG_ATTACH, cgroup.as_fd(), prog.as_fd(), BPF_F_ALLOW_MULTI)
        .map_err(step("attach", String::new()))?;
    for id in old {
        let old_prog = match prog_by_id(id) {
            Ok(fd) => fd,
            // Detached by someone else meanwhile.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(step("find attached", String::new())(e)),
        };
        match attach_or_detach(BPF_PROG_DETACH, cgroup.as_fd(), old_prog.as_fd(), 0) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(step("detach", String::new())(e)),
        }
    }
    Ok(())
}

/// How many device programs are attached directly to `dir` (for tests and diagnostics).
pub fn attached_device_programs(dir: &Path) -> Result<usize, CgroupError> {
    let cgroup = rustix::fs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| CgroupError::Open { path: dir.to_owned(), source: e.into() })?;
    attached_ids(cgroup.as_fd())
        .map(|ids| ids.len())
        .map_err(|source| CgroupError::Bpf { step: "query", path: dir.to_owned(), log: String::new(), source })
}
