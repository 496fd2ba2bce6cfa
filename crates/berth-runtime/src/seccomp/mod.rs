//! Seccomp: an OCI `linux.seccomp` section becomes a BPF program once, in the runtime's parent
//! (libseccomp does the compiling); the container's init installs it with one raw `seccomp(2)`
//! call right before execve, and hands the notification listener, if any, to the OCI
//! `listenerPath` agent.
//!
//! Docker's profile format (`archMap`, `includes`/`excludes`) is turned into the OCI form by
//! [`profile::docker_profile_to_oci`]; this module knows only the OCI form.
//!
//! ```no_run
//! use berth_runtime::seccomp::{self, Arch};
//! let caps = vec!["CAP_CHOWN".to_string()];
//! let spec = seccomp::docker_profile_to_oci(seccomp::docker_default_profile(), &caps, Arch::X86_64, (6, 1))?;
//! let filter = seccomp::compile(&spec)?;          // parent, before fork
//! // ... in the forked, single-threaded init, right before execve:
//! let listener = filter.load()?;
//! # Ok::<(), seccomp::SeccompError>(())
//! ```

mod listener;
pub mod profile;

use std::io::{self, Read, Seek};
use std::path::PathBuf;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    Arch as OciArch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator,
};
use rustix::fd::OwnedFd;

use crate::sys::seccomp::{self as sys, flag, Installed, SockFilter};

pub use listener::{process_state, send_listener, ProcessState};
pub use profile::{docker_default_profile, docker_profile_to_oci, parse_kernel_release, Arch};

/// `EPERM`, the errno of `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE` when `errnoRet` is not set.
const DEFAULT_ERRNO: u32 = libc::EPERM as u32;

/// Everything that can go wrong turning a profile into a loaded filter.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("parse seccomp profile")]
    ParseProfile(#[source] serde_json::Error),
    #[error("seccomp profile sets both architectures and archMap")]
    ProfileArchitecturesAndArchMap,
    #[error("seccomp profile rule {index} sets both name and names")]
    ProfileNameAndNames { index: usize },
    #[error("seccomp profile rule {index}: invalid minKernel {value:?}: expected major.minor")]
    ProfileMinKernel { index: usize, value: String },
    #[error("SCMP_ACT_NOTIFY cannot be the default seccomp action")]
    NotifyAsDefaultAction,
    #[error("seccomp profile uses SCMP_ACT_NOTIFY but sets no listenerPath")]
    NotifyWithoutListenerPath,
    #[error("seccomp rule for {syscall}: errnoRet {value} is out of range (0-65535)")]
    ErrnoOutOfRange { syscall: String, value: u32 },
    #[error("seccomp rule for {syscall}: argument index {index} is out of range (0-5)")]
    ArgIndexOutOfRange { syscall: String, index: usize },
    #[error("create seccomp filter")]
    CreateFilter(#[source] libseccomp::error::SeccompError),
    #[error("add architecture {arch} to seccomp filter")]
    AddArch {
        arch: String,
        #[source]
        source: libseccomp::error::SeccompError,
    },
    #[error("add seccomp rule for {syscall}")]
    AddRule {
        syscall: String,
        #[source]
        source: libseccomp::error::SeccompError,
    },
    #[error("export seccomp filter as bpf")]
    Export(#[source] io::Error),
    #[error("export seccomp filter as bpf: {len} bytes is not a whole number of instructions")]
    ExportTruncated { len: usize },
    #[error("seccomp filter has {len} bpf instructions, more than the kernel's limit of 4096")]
    TooManyInstructions { len: usize },
    #[error(
        "load seccomp filter: permission denied: no_new_privs is off and CAP_SYS_ADMIN is gone"
    )]
    LoadPermissionDenied,
    #[error("load seccomp filter with flags [{flags}]")]
    Load {
        flags: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "load seccomp filter: thread {tid} could not be synchronized (SECCOMP_FILTER_FLAG_TSYNC)"
    )]
    LoadTsync { tid: i32 },
    #[error("connect to seccomp listener socket {}", path.display())]
    ConnectListener {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("send seccomp listener fd to {}", path.display())]
    SendListener {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The syscalls a container's init makes between waiting for its start and executing the
/// user's program: what a filter must allow for [`Filter::allows_init_tail`].
const INIT_TAIL: &[&str] = &[
    "accept", "accept4", "recvmsg", "recvfrom", "read", "sendmsg", "sendto", "write", "close", "close_range", "fcntl",
    "prctl", "capget", "capset", "setgroups", "setresgid", "setresuid", "setgid", "setuid", "open", "openat", "openat2",
    "fchdir", "stat", "newfstatat", "statx", "fstat", "getdents64", "lseek", "rt_sigprocmask", "rt_sigaction",
    "rt_sigreturn", "sigaltstack", "brk", "mmap", "munmap", "mremap", "madvise", "futex", "getpid", "gettid", "poll",
    "ppoll", "execve", "execveat", "exit", "exit_group",
];

/// A filter compiled once, in the runtime's parent, before fork. Loading it needs no libseccomp.
#[derive(Clone)]
pub struct Filter {
    program: Vec<SockFilter>,
    flags: u64,
    needs_listener: bool,
    allows_init_tail: bool,
    skipped_syscalls: Vec<String>,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("instructions", &self.program.len())
            .field("flags", &flag_names(self.flags))
            .field("needs_listener", &self.needs_listener)
            .field("skipped_syscalls", &self.skipped_syscalls)
            .finish()
    }
}

impl Filter {
    /// Installs the filter on the calling thread and returns the notification listener when the
    /// profile uses `SCMP_ACT_NOTIFY` (`SECCOMP_FILTER_FLAG_NEW_LISTENER`).
    ///
    /// Call it in the container's init (a forked, single-threaded child) right before execve, or
    /// earlier, while the init still has CAP_SYS_ADMIN, when no_new_privs is off. Setting
    /// no_new_privs is the caller's decision. No libseccomp here; it allocates only on error.
    ///
    /// With a listener, every syscall the init makes after this call that the profile sends to
    /// `SCMP_ACT_NOTIFY` waits for the agent: hand the descriptor over before making any.
    pub fn load(&self) -> Result<Option<OwnedFd>, SeccompError> {
        match sys::set_mode_filter(&self.program, self.flags) {
            Ok(Installed::Done) => Ok(None),
            Ok(Installed::Listener(fd)) => Ok(Some(fd)),
            Ok(Installed::TsyncFailed(tid)) => Err(SeccompError::LoadTsync { tid }),
            Err(err) if err.raw_os_error() == Some(libc::EACCES) => {
                Err(SeccompError::LoadPermissionDenied)
            }
            Err(source) => Err(SeccompError::Load {
                flags: flag_names(self.flags).join(", "),
                source,
            }),
        }
    }

    /// Whether [`Filter::load`] returns a listener that must be sent to the `listenerPath` agent.
    pub fn needs_listener(&self) -> bool {
        self.needs_listener
    }

    /// Whether the profile allows, whatever their arguments, every syscall a container's init
    /// makes from waiting for its start to executing the user's program: the init may then load
    /// it while it waits, instead of after the start (Docker's default profile does).
    pub fn allows_init_tail(&self) -> bool {
        self.allows_init_tail
    }

    /// Number of BPF instructions in the program.
    pub fn instructions(&self) -> usize {
        self.program.len()
    }

    /// The `SECCOMP_FILTER_FLAG_*` bits [`Filter::load`] passes to the kernel.
    pub fn kernel_flags(&self) -> u64 {
        self.flags
    }

    /// Syscall names of the profile that libseccomp does not know on this architecture; they
    /// were left out, as runc does (they fall to the default action).
    pub fn skipped_syscalls(&self) -> &[String] {
        &self.skipped_syscalls
    }

    /// The program as the kernel reads it (`struct sock_filter[]`, native byte order).
    pub fn to_bpf_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.program.len() * 8);
        for insn in &self.program {
            out.extend_from_slice(&insn.code.to_ne_bytes());
            out.push(insn.jt);
            out.push(insn.jf);
            out.extend_from_slice(&insn.k.to_ne_bytes());
        }
        out
    }
}

/// A compiled filter as it crosses the init's re-execution (no libseccomp on the far side).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FilterWire {
    bpf: Vec<u8>,
    flags: u64,
    needs_listener: bool,
    allows_init_tail: bool,
}

impl From<&Filter> for FilterWire {
    fn from(f: &Filter) -> Self {
        FilterWire { bpf: f.to_bpf_bytes(), flags: f.flags, needs_listener: f.needs_listener, allows_init_tail: f.allows_init_tail }
    }
}

impl From<FilterWire> for Filter {
    fn from(w: FilterWire) -> Self {
        let program = w
            .bpf
            .chunks_exact(8)
            .map(|c| SockFilter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        Filter { program, flags: w.flags, needs_listener: w.needs_listener, allows_init_tail: w.allows_init_tail, skipped_syscalls: Vec::new() }
    }
}

/// What [`compile_cached`] keeps per profile: the profile itself (compared in full on use, so
/// a hash collision can never hand one profile another's program) and the compiled filter.
#[derive(serde::Serialize, serde::Deserialize)]
struct Cached {
    key: String,
    filter: FilterWire,
    skipped_syscalls: Vec<String>,
}

/// [`compile`], with the program kept in `dir` for the next container with the same profile:
/// compiling Docker's default profile takes libseccomp about 20 ms, reading it back well
/// under one. A missing, unreadable or stale entry is compiled again; failing to store one
/// is not an error.
pub fn compile_cached(spec: &LinuxSeccomp, dir: &std::path::Path) -> Result<Filter, SeccompError> {
    use std::hash::{Hash, Hasher};
    let version = libseccomp::ScmpVersion::current().map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro)).unwrap_or_default();
    // The format's version too (3 since programs are binary trees): an entry written by an
    // older build may lack fields or hold the slower program.
    let key = format!("{} 3 {version} {}", env!("CARGO_PKG_VERSION"), serde_json::to_string(spec).unwrap_or_default());
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    let path = dir.join(format!("{:016x}.json", h.finish()));
    if let Some(c) = std::fs::read(&path).ok().and_then(|d| serde_json::from_slice::<Cached>(&d).ok()).filter(|c| c.key == key) {
        let mut f = Filter::from(c.filter);
        f.skipped_syscalls = c.skipped_syscalls;
        return Ok(f);
    }
    let f = compile(spec)?;
    let entry = Cached { key, filter: FilterWire::from(&f), skipped_syscalls: f.skipped_syscalls.clone() };
    if std::fs::create_dir_all(dir).is_ok() {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, serde_json::to_vec(&entry).unwrap_or_default()).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    Ok(f)
}

/// Compiles `spec` into a BPF program with libseccomp. Call it in the parent, before fork.
///
/// The program finds a syscall's rules by a binary search on its number (libseccomp's
/// optimization level 2), not by a run of comparisons: for Docker's default profile the kernel
/// takes 0.21 ms rather than 0.56 ms to install it (its install runs the program once per
/// syscall number to find the ones always allowed), and a syscall it must check costs a few
/// comparisons rather than hundreds. A profile whose tree would exceed the kernel's 4096
/// instructions is compiled as a run instead.
pub fn compile(spec: &LinuxSeccomp) -> Result<Filter, SeccompError> {
    match compile_at(spec, 2) {
        Err(SeccompError::TooManyInstructions { .. }) => compile_at(spec, 1),
        other => other,
    }
}

/// [`compile`] at libseccomp's optimization level `optimize` (1: a run of comparisons ordered
/// by priority; 2: a binary tree).
fn compile_at(spec: &LinuxSeccomp, optimize: u32) -> Result<Filter, SeccompError> {
    let default_action = spec.default_action();
    if default_action == LinuxSeccompAction::ScmpActNotify {
        return Err(SeccompError::NotifyAsDefaultAction);
    }
    let syscalls = spec.syscalls().as_deref().unwrap_or_default();
    let needs_listener = syscalls
        .iter()
        .any(|s| s.action() == LinuxSeccompAction::ScmpActNotify);
    if needs_listener && spec.listener_path().is_none() {
        return Err(SeccompError::NotifyWithoutListenerPath);
    }

    let default = scmp_action(
        default_action,
        spec.default_errno_ret(),
        "the default action",
    )?;
    let mut ctx = ScmpFilterContext::new(default).map_err(SeccompError::CreateFilter)?;
    ctx.set_ctl_optimize(optimize).map_err(SeccompError::CreateFilter)?;
    for arch in spec.architectures().as_deref().unwrap_or_default() {
        let scmp = scmp_arch(*arch);
        let present = ctx
            .is_arch_present(scmp)
            .map_err(|source| arch_error(*arch, source))?;
        if !present {
            ctx.add_arch(scmp)
                .map_err(|source| arch_error(*arch, source))?;
        }
    }

    let mut skipped_syscalls = Vec::new();
    for rule in syscalls {
        let label = rule.names().join(",");
        let action = scmp_action(rule.action(), rule.errno_ret(), &label)?;
        // libseccomp refuses a rule whose action is the default one; it would change nothing.
        if action == default {
            continue;
        }
        let args = rule.args().as_deref().unwrap_or_default();
        let conditions = arg_conditions(args, &label)?;
        let one_rule_per_condition = shares_an_index(args);
        for name in rule.names() {
            let Ok(syscall) = ScmpSyscall::from_name(name) else {
                skipped_syscalls.push(name.clone());
                continue;
            };
            add_rule(
                &mut ctx,
                action,
                syscall,
                &conditions,
                one_rule_per_condition,
            )
            .map_err(|source| SeccompError::AddRule {
                syscall: name.clone(),
                source,
            })?;
        }
    }

    let program = export_bpf(&ctx)?;
    Ok(Filter {
        program,
        flags: kernel_flags(spec.flags().as_deref().unwrap_or_default(), needs_listener),
        needs_listener,
        allows_init_tail: allows_unconditionally(spec, INIT_TAIL),
        skipped_syscalls,
    })
}

/// Whether `spec` lets every syscall in `names` through whatever its arguments: every rule that
/// names one allows it, and one of them (or the default action) does so without conditions.
fn allows_unconditionally(spec: &LinuxSeccomp, names: &[&str]) -> bool {
    let allows = |a: LinuxSeccompAction| matches!(a, LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog);
    let rules = spec.syscalls().as_deref().unwrap_or_default();
    names.iter().all(|name| {
        let naming: Vec<_> = rules.iter().filter(|r| r.names().iter().any(|n| n == name)).collect();
        naming.iter().all(|r| allows(r.action()))
            && (allows(spec.default_action()) || naming.iter().any(|r| r.args().as_deref().unwrap_or_default().is_empty()))
    })
}

/// Adds one syscall's rule. Several conditions on different arguments form one rule (all must
/// hold). libseccomp refuses two conditions on the same argument in one rule, so when they share
/// an index each condition becomes a rule of its own (any may hold), as runtimes do.
fn add_rule(
    ctx: &mut ScmpFilterContext,
    action: ScmpAction,
    syscall: ScmpSyscall,
    conditions: &[ScmpArgCompare],
    one_rule_per_condition: bool,
) -> Result<(), libseccomp::error::SeccompError> {
    if conditions.is_empty() {
        ctx.add_rule(action, syscall)?;
    } else if one_rule_per_condition {
        for condition in conditions {
            ctx.add_rule_conditional(action, syscall, std::slice::from_ref(condition))?;
        }
    } else {
        ctx.add_rule_conditional(action, syscall, conditions)?;
    }
    Ok(())
}

/// Whether two conditions test the same argument (indices are checked to be 0-5 before).
fn shares_an_index(args: &[LinuxSeccompArg]) -> bool {
    let mut seen = [false; 6];
    args.iter().any(|arg| {
        seen.get_mut(arg.index())
            .is_some_and(|s| std::mem::replace(s, true))
    })
}

fn arg_conditions(
    args: &[LinuxSeccompArg],
    label: &str,
) -> Result<Vec<ScmpArgCompare>, SeccompError> {
    args.iter()
        .map(|arg| {
            let index = arg.index();
            if index > 5 {
                return Err(SeccompError::ArgIndexOutOfRange {
                    syscall: label.to_owned(),
                    index,
                });
            }
            let op = match arg.op() {
                LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
                LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
                LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
                LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
                LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
                LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
                // OCI: `value` is the mask and `valueTwo` the value the masked argument must equal.
                LinuxSeccompOperator::ScmpCmpMaskedEq => {
                    let datum = arg.value_two().unwrap_or(0);
                    let cmp = ScmpArgCompare::new(
                        index as u32,
                        ScmpCompareOp::MaskedEqual(arg.value()),
                        datum,
                    );
                    return Ok(cmp);
                }
            };
            Ok(ScmpArgCompare::new(index as u32, op, arg.value()))
        })
        .collect()
}

fn scmp_action(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    label: &str,
) -> Result<ScmpAction, SeccompError> {
    let errno = || {
        let value = errno_ret.unwrap_or(DEFAULT_ERRNO);
        u16::try_from(value).map_err(|_| SeccompError::ErrnoOutOfRange {
            syscall: label.to_owned(),
            value,
        })
    };
    Ok(match action {
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(i32::from(errno()?)),
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno()?),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
    })
}

fn scmp_arch(arch: OciArch) -> ScmpArch {
    match arch {
        OciArch::ScmpArchNative => ScmpArch::Native,
        OciArch::ScmpArchX86 => ScmpArch::X86,
        OciArch::ScmpArchX86_64 => ScmpArch::X8664,
        OciArch::ScmpArchX32 => ScmpArch::X32,
        OciArch::ScmpArchArm => ScmpArch::Arm,
        OciArch::ScmpArchAarch64 => ScmpArch::Aarch64,
        OciArch::ScmpArchMips => ScmpArch::Mips,
        OciArch::ScmpArchMips64 => ScmpArch::Mips64,
        OciArch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        OciArch::ScmpArchMipsel => ScmpArch::Mipsel,
        OciArch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        OciArch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        OciArch::ScmpArchPpc => ScmpArch::Ppc,
        OciArch::ScmpArchPpc64 => ScmpArch::Ppc64,
        OciArch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        OciArch::ScmpArchS390 => ScmpArch::S390,
        OciArch::ScmpArchS390x => ScmpArch::S390X,
        OciArch::ScmpArchParisc => ScmpArch::Parisc,
        OciArch::ScmpArchParisc64 => ScmpArch::Parisc64,
        OciArch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        OciArch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        OciArch::ScmpArchM68k => ScmpArch::M68k,
        OciArch::ScmpArchSh => ScmpArch::Sh,
        OciArch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

fn arch_error(arch: OciArch, source: libseccomp::error::SeccompError) -> SeccompError {
    let arch = serde_json::to_value(arch)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{arch:?}"));
    SeccompError::AddArch { arch, source }
}

/// The kernel flags for the OCI `flags`. A filter with a listener gets NEW_LISTENER; the kernel
/// refuses NEW_LISTENER with plain TSYNC (both want the return value), so TSYNC then comes with
/// TSYNC_ESRCH (Linux 5.7). WAIT_KILLABLE_RECV is meaningless, and refused, without a listener,
/// so it is dropped there.
fn kernel_flags(flags: &[LinuxSeccompFilterFlag], needs_listener: bool) -> u64 {
    let mut bits = 0;
    for f in flags {
        bits |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => flag::TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => flag::LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => flag::SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => flag::WAIT_KILLABLE_RECV,
        };
    }
    if needs_listener {
        bits |= flag::NEW_LISTENER;
        if bits & flag::TSYNC != 0 {
            bits |= flag::TSYNC_ESRCH;
        }
    } else {
        bits &= !flag::WAIT_KILLABLE_RECV;
    }
    bits
}

fn flag_names(bits: u64) -> Vec<&'static str> {
    [
        (flag::TSYNC, "SECCOMP_FILTER_FLAG_TSYNC"),
        (flag::LOG, "SECCOMP_FILTER_FLAG_LOG"),
        (flag::SPEC_ALLOW, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"),
        (flag::NEW_LISTENER, "SECCOMP_FILTER_FLAG_NEW_LISTENER"),
        (flag::TSYNC_ESRCH, "SECCOMP_FILTER_FLAG_TSYNC_ESRCH"),
        (
            flag::WAIT_KILLABLE_RECV,
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        ),
    ]
    .into_iter()
    .filter(|(bit, _)| bits & bit != 0)
    .map(|(_, name)| name)
    .collect()
}

/// libseccomp 2.5 can only export to a descriptor: export into a memfd and read it back.
fn export_bpf(ctx: &ScmpFilterContext) -> Result<Vec<SockFilter>, SeccompError> {
    let memfd = rustix::fs::memfd_create("berth-seccomp-bpf", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|errno| SeccompError::Export(errno.into()))?;
    ctx.export_bpf(&memfd)
        .map_err(|e| SeccompError::Export(io::Error::other(e)))?;
    let mut file = std::fs::File::from(memfd);
    let mut bytes = Vec::new();
    file.rewind().map_err(SeccompError::Export)?;
    file.read_to_end(&mut bytes).map_err(SeccompError::Export)?;
    if bytes.is_empty() || bytes.len() % 8 != 0 {
        return Err(SeccompError::ExportTruncated { len: bytes.len() });
    }
    let program: Vec<SockFilter> = bytes
        .chunks_exact(8)
        .map(|insn| SockFilter {
            code: u16::from_ne_bytes([insn[0], insn[1]]),
            jt: insn[2],
            jf: insn[3],
            k: u32::from_ne_bytes([insn[4], insn[5], insn[6], insn[7]]),
        })
        .collect();
    if program.len() > sys::BPF_MAXINSNS {
        return Err(SeccompError::TooManyInstructions { len: program.len() });
    }
    Ok(program)
}

#[cfg(test)]
mod tests;
