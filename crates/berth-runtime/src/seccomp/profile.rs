//! Docker's seccomp profile format and its conversion to the OCI `linux.seccomp` form for one
//! container. The format adds `archMap` (host architecture → the architectures to filter) and,
//! per rule, `includes`/`excludes` on capabilities, architectures and the kernel version. The
//! conversion keeps the rules that apply to this container and this host, and drops the rest.

use std::path::PathBuf;

use oci_spec::runtime::{
    Arch as OciArch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSyscall,
};
use serde::Deserialize;

use super::SeccompError;

/// Docker's default profile (Docker Engine 28.5.2, moby/profiles `seccomp/default.json`).
pub fn docker_default_profile() -> &'static str {
    include_str!("docker-default-seccomp.json")
}

/// A host architecture, as Docker's profiles name it in `archMap` and `arches`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    X86,
    Aarch64,
    Arm,
    Mips,
    Mipsle,
    Mips64,
    Mips64le,
    Ppc64,
    Ppc64le,
    S390x,
    Riscv64,
    Loongarch64,
}

impl Arch {
    /// The architecture this program was built for.
    pub fn native() -> Option<Self> {
        let little = cfg!(target_endian = "little");
        Some(match std::env::consts::ARCH {
            "x86_64" => Self::X86_64,
            "x86" => Self::X86,
            "aarch64" => Self::Aarch64,
            "arm" => Self::Arm,
            "mips" if little => Self::Mipsle,
            "mips" => Self::Mips,
            "mips64" if little => Self::Mips64le,
            "mips64" => Self::Mips64,
            "powerpc64" if little => Self::Ppc64le,
            "powerpc64" => Self::Ppc64,
            "s390x" => Self::S390x,
            "riscv64" => Self::Riscv64,
            "loongarch64" => Self::Loongarch64,
            _ => return None,
        })
    }

    /// Parses `uname -m` (the `machine` field of uname(2)).
    pub fn from_uname_machine(machine: &str) -> Option<Self> {
        let little = cfg!(target_endian = "little");
        Some(match machine {
            "x86_64" | "amd64" => Self::X86_64,
            "i386" | "i486" | "i586" | "i686" => Self::X86,
            "aarch64" | "arm64" | "aarch64_be" => Self::Aarch64,
            m if m.starts_with("arm") => Self::Arm,
            "mips" if little => Self::Mipsle,
            "mips" => Self::Mips,
            "mips64" if little => Self::Mips64le,
            "mips64" => Self::Mips64,
            "ppc64le" => Self::Ppc64le,
            "ppc64" => Self::Ppc64,
            "s390x" => Self::S390x,
            "riscv64" => Self::Riscv64,
            "loongarch64" => Self::Loongarch64,
            _ => return None,
        })
    }

    /// Docker's name, used in a rule's `includes.arches` and `excludes.arches` (Go's `GOARCH`,
    /// except `x86`, `mipsel` and `mipsel64`, which Docker spells as libseccomp does).
    pub fn docker_name(self) -> &'static str {
        match self {
            Self::X86_64 => "amd64",
            Self::X86 => "x86",
            Self::Aarch64 => "arm64",
            Self::Arm => "arm",
            Self::Mips => "mips",
            Self::Mipsle => "mipsel",
            Self::Mips64 => "mips64",
            Self::Mips64le => "mipsel64",
            Self::Ppc64 => "ppc64",
            Self::Ppc64le => "ppc64le",
            Self::S390x => "s390x",
            Self::Riscv64 => "riscv64",
            Self::Loongarch64 => "loong64",
        }
    }

    /// The seccomp architecture of this host arch, the key of Docker's `archMap`.
    pub fn seccomp_arch(self) -> OciArch {
        match self {
            Self::X86_64 => OciArch::ScmpArchX86_64,
            Self::X86 => OciArch::ScmpArchX86,
            Self::Aarch64 => OciArch::ScmpArchAarch64,
            Self::Arm => OciArch::ScmpArchArm,
            Self::Mips => OciArch::ScmpArchMips,
            Self::Mipsle => OciArch::ScmpArchMipsel,
            Self::Mips64 => OciArch::ScmpArchMips64,
            Self::Mips64le => OciArch::ScmpArchMipsel64,
            Self::Ppc64 => OciArch::ScmpArchPpc64,
            Self::Ppc64le => OciArch::ScmpArchPpc64le,
            Self::S390x => OciArch::ScmpArchS390x,
            Self::Riscv64 => OciArch::ScmpArchRiscv64,
            Self::Loongarch64 => OciArch::ScmpArchLoongarch64,
        }
    }
}

/// Parses the (major, minor) of a kernel release such as `6.1.0-18-amd64` (uname `release`).
pub fn parse_kernel_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerProfile {
    default_action: LinuxSeccompAction,
    default_errno_ret: Option<u32>,
    #[serde(default)]
    architectures: Option<Vec<OciArch>>,
    #[serde(default)]
    arch_map: Option<Vec<ArchMapEntry>>,
    #[serde(default)]
    syscalls: Option<Vec<DockerSyscall>>,
    #[serde(default)]
    flags: Option<Vec<LinuxSeccompFilterFlag>>,
    #[serde(default)]
    listener_path: Option<PathBuf>,
    #[serde(default)]
    listener_metadata: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMapEntry {
    architecture: OciArch,
    #[serde(default)]
    sub_architectures: Option<Vec<OciArch>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerSyscall {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    names: Option<Vec<String>>,
    action: LinuxSeccompAction,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Option<Vec<LinuxSeccompArg>>,
    #[serde(default)]
    includes: Option<Condition>,
    #[serde(default)]
    excludes: Option<Condition>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Condition {
    #[serde(default)]
    caps: Option<Vec<String>>,
    #[serde(default)]
    arches: Option<Vec<String>>,
    #[serde(default)]
    min_kernel: Option<String>,
}

/// What a rule's `includes`/`excludes` are matched against.
struct Container<'a> {
    caps: &'a [String],
    arch: Arch,
    kernel: (u32, u32),
}

impl Container<'_> {
    fn has_cap(&self, cap: &str) -> bool {
        let want = cap_name(cap);
        self.caps.iter().any(|c| cap_name(c) == want)
    }
}

/// `CAP_SYS_ADMIN`, `cap_sys_admin` and `SYS_ADMIN` all name the same capability.
fn cap_name(cap: &str) -> String {
    let upper = cap.to_ascii_uppercase();
    match upper.strip_prefix("CAP_") {
        Some(_) => upper,
        None => format!("CAP_{upper}"),
    }
}

/// Converts a profile in Docker's format to the OCI form for one container: `caps` are the
/// capabilities it holds (Docker matches its bounding set; names like `CAP_SYS_ADMIN`), `arch` the
/// host architecture and `kernel` the host kernel's (major, minor).
///
/// A rule is kept when all of its `includes.caps` are held, the host arch is in `includes.arches`
/// (Docker's names: `amd64`, `arm64`, ...), the kernel is at least `includes.minKernel`, none of
/// `excludes.caps` is held, the arch is not in `excludes.arches` and the kernel is below
/// `excludes.minKernel`. `archMap` gives `architectures`: the host's own and its sub-architectures.
pub fn docker_profile_to_oci(
    profile_json: &str,
    caps: &[String],
    arch: Arch,
    kernel: (u32, u32),
) -> Result<LinuxSeccomp, SeccompError> {
    let profile: DockerProfile =
        serde_json::from_str(profile_json).map_err(SeccompError::ParseProfile)?;
    let container = Container { caps, arch, kernel };

    let architectures = match (profile.architectures, profile.arch_map) {
        (Some(a), Some(m)) if !a.is_empty() && !m.is_empty() => {
            return Err(SeccompError::ProfileArchitecturesAndArchMap)
        }
        (_, Some(map)) if !map.is_empty() => {
            let host = arch.seccomp_arch();
            let mut out = Vec::new();
            for entry in map.into_iter().filter(|e| e.architecture == host) {
                out.push(entry.architecture);
                out.extend(entry.sub_architectures.unwrap_or_default());
            }
            out
        }
        (Some(a), _) => a,
        (None, _) => Vec::new(),
    };

    let mut syscalls = Vec::new();
    for (index, rule) in profile.syscalls.unwrap_or_default().into_iter().enumerate() {
        let names = match (rule.name, rule.names) {
            (Some(name), Some(names)) if !name.is_empty() && !names.is_empty() => {
                return Err(SeccompError::ProfileNameAndNames { index })
            }
            (Some(name), _) if !name.is_empty() => vec![name],
            (_, names) => names.unwrap_or_default(),
        };
        let includes = rule.includes.unwrap_or_default();
        let excludes = rule.excludes.unwrap_or_default();
        if !applies(&container, &includes, &excludes, index)? {
            continue;
        }
        let mut syscall = LinuxSyscall::default();
        syscall.set_names(names);
        syscall.set_action(rule.action);
        syscall.set_errno_ret(rule.errno_ret);
        syscall.set_args(rule.args.filter(|a| !a.is_empty()));
        syscalls.push(syscall);
    }

    let mut spec = LinuxSeccomp::default();
    spec.set_default_action(profile.default_action);
    spec.set_default_errno_ret(profile.default_errno_ret);
    spec.set_architectures(Some(architectures).filter(|a| !a.is_empty()));
    spec.set_flags(profile.flags.filter(|f| !f.is_empty()));
    spec.set_listener_path(profile.listener_path);
    spec.set_listener_metadata(profile.listener_metadata);
    spec.set_syscalls(Some(syscalls));
    Ok(spec)
}

fn applies(
    c: &Container<'_>,
    includes: &Condition,
    excludes: &Condition,
    index: usize,
) -> Result<bool, SeccompError> {
    let arch = c.arch.docker_name();
    if let Some(caps) = &includes.caps {
        if !caps.iter().all(|cap| c.has_cap(cap)) {
            return Ok(false);
        }
    }
    if let Some(arches) = &includes.arches {
        if !arches.is_empty() && !arches.iter().any(|a| a == arch) {
            return Ok(false);
        }
    }
    if let Some(min) = &includes.min_kernel {
        if c.kernel < parse_min_kernel(min, index)? {
            return Ok(false);
        }
    }
    if let Some(caps) = &excludes.caps {
        if caps.iter().any(|cap| c.has_cap(cap)) {
            return Ok(false);
        }
    }
    if let Some(arches) = &excludes.arches {
        if arches.iter().any(|a| a == arch) {
            return Ok(false);
        }
    }
    if let Some(min) = &excludes.min_kernel {
        if c.kernel >= parse_min_kernel(min, index)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `minKernel` is `major.minor`, as Docker writes it.
fn parse_min_kernel(value: &str, index: usize) -> Result<(u32, u32), SeccompError> {
    let invalid = || SeccompError::ProfileMinKernel {
        index,
        value: value.to_owned(),
    };
    let (major, minor) = value.split_once('.').ok_or_else(invalid)?;
    Ok((
        major.parse().map_err(|_| invalid())?,
        minor.parse().map_err(|_| invalid())?,
    ))
}

#[cfg(test)]
mod tests;
