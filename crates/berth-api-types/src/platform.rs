//! Platforms as Docker names them (`linux/amd64`, `linux/arm64/v8`): the `--platform`
//! specifier that the CLI parses and the API takes as the `platform` query parameter of
//! `POST /containers/create` and `POST /images/create`, with the normalisation and matching
//! rules of containerd's `platforms` package, which Docker uses on both sides.
//!
//! ```
//! use berth_api_types::platform::Platform;
//!
//! let want = Platform::parse("linux/aarch64").unwrap();
//! assert_eq!(want.to_string(), "linux/arm64");
//! let image = Platform { os: "linux".into(), architecture: "arm64".into(), variant: Some("v8".into()) };
//! assert!(want.accepts(&image));
//! ```

use std::fmt;

/// An OS/architecture/variant triple, as in `--platform linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

/// A platform specifier that does not parse; the message is containerd's, which Docker's CLI
/// and daemon show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}: invalid argument")]
pub struct InvalidPlatform(String);

/// containerd's pattern for the first component, `<os>[(<os version>[+<os feature>]...)]`,
/// as its error messages quote it.
const OS_PATTERN: &str = r"^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$";
/// containerd's pattern for the other components.
const COMPONENT_PATTERN: &str = "^[A-Za-z0-9_.-]+$";

impl Platform {
    /// The platform this program runs on, in OCI's (Go's) names.
    pub fn host() -> Self {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "x86" => ("386", None),
            "aarch64" => ("arm64", Some("v8")),
            "arm" => ("arm", Some("v7")),
            "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", None),
            "riscv64" => ("riscv64", None),
            "s390x" => ("s390x", None),
            other => (other, None),
        };
        Platform { os: "linux".into(), architecture: architecture.into(), variant: variant.map(Into::into) }
    }

    /// Parses a specifier as Docker does: `os/arch[/variant]`, or an OS alone (the host's
    /// architecture) or an architecture alone (linux). Names are normalised (`x86_64` is
    /// `amd64`, `aarch64` is `arm64`, `armhf` is `arm/v7`). An OS version in parentheses
    /// (`windows(10.0.17763)`) is accepted and dropped: it means nothing for Linux images.
    pub fn parse(s: &str) -> Result<Platform, InvalidPlatform> {
        let bad = |why: String| Err(InvalidPlatform(why));
        if s.contains('*') {
            return bad(format!("{}: wildcards not yet supported", go_quote(s)));
        }
        let parts: Vec<&str> = s.splitn(4, '/').collect();
        let Some(os) = os_name(parts[0]) else {
            return bad(format!(
                "{} is an invalid OS component of {}: OSAndVersion specifier component must match {}",
                go_quote(parts[0]),
                go_quote(s),
                go_quote(OS_PATTERN)
            ));
        };
        if let Some(part) = parts[1..].iter().find(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))) {
            return bad(format!(
                "{} is an invalid component of {}: platform specifier component must match {}",
                go_quote(part),
                go_quote(s),
                go_quote(COMPONENT_PATTERN)
            ));
        }
        let os = normalize_os(os);
        let platform = |os: String, (architecture, variant): (String, String)| Platform { os, architecture, variant: Some(variant).filter(|v| !v.is_empty()) };
        match parts[..] {
            [_] if KNOWN_OS.contains(&os.as_str()) => {
                let host = Platform::host();
                let variant = host.variant.filter(|v| host.architecture == "arm" && v != "v7");
                Ok(Platform { os, architecture: host.architecture, variant })
            }
            [arch] => {
                let (arch, variant) = normalize_arch(arch, "");
                let variant = if arch == "arm" && variant == "v7" { String::new() } else { variant };
                if !KNOWN_ARCH.contains(&arch.as_str()) {
                    return bad(format!("{}: unknown operating system or architecture", go_quote(s)));
                }
                Ok(platform("linux".to_owned(), (arch, variant)))
            }
            [_, arch] => {
                let (arch, variant) = normalize_arch(arch, "");
                let variant = if arch == "arm" && variant == "v7" { String::new() } else { variant };
                Ok(platform(os, (arch, variant)))
            }
            [_, arch, variant] => {
                let (arch, variant) = normalize_arch(arch, variant);
                let variant = if arch == "arm64" && variant.is_empty() { "v8".to_owned() } else { variant };
                Ok(platform(os, (arch, variant)))
            }
            _ => bad(format!("{}: cannot parse platform specifier", go_quote(s))),
        }
    }

    /// Whether a descriptor's platform satisfies this one, when choosing from a manifest list.
    /// A missing variant matches any, and arm64's default variant is v8.
    pub fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        let norm = |arch: &str, v: Option<&str>| match (arch, v) {
            ("arm64", None) => Some("v8".to_owned()),
            (_, v) => v.map(str::to_owned),
        };
        if self.os != os || self.architecture != architecture {
            return false;
        }
        match (norm(&self.architecture, self.variant.as_deref()), norm(architecture, variant)) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        }
    }

    /// Whether an image whose config says `image` can serve a request for this platform, as
    /// dockerd decides it for a local image: the same platform once both are normalised, or one
    /// this platform runs natively (amd64 runs 386, arm64 runs arm/v8 and below, arm/v7 runs
    /// arm/v6), or the same OS and architecture when the image names no variant.
    pub fn accepts(&self, image: &Platform) -> bool {
        let want = self.normalized();
        let have = image.normalized();
        if want.compatible().iter().any(|p| p.normalized() == have) {
            return true;
        }
        image.variant.as_deref().unwrap_or("").is_empty() && want.os == have.os && want.architecture == have.architecture
    }

    /// The canonical names: lower case, `x86_64` as `amd64`, arm64's `v8` and amd64's `v1`
    /// left out, arm's default `v7` spelt out.
    pub fn normalized(&self) -> Platform {
        let (architecture, variant) = normalize_arch(&self.architecture, self.variant.as_deref().unwrap_or(""));
        Platform { os: normalize_os(&self.os), architecture, variant: Some(variant).filter(|v| !v.is_empty()) }
    }

    /// This platform, then the ones its machines also run, best first (containerd's
    /// `platformVector`).
    fn compatible(&self) -> Vec<Platform> {
        let with = |architecture: &str, variant: Option<String>| Platform { os: self.os.clone(), architecture: architecture.to_owned(), variant };
        let version = |v: &str| v.strip_prefix('v').unwrap_or(v).parse::<u32>().ok();
        let mut out = vec![self.clone()];
        let variant = self.variant.as_deref().unwrap_or("");
        match self.architecture.as_str() {
            "amd64" => {
                if let Some(n) = version(variant).filter(|n| *n > 1) {
                    out.extend((1..n).rev().map(|v| with("amd64", Some(format!("v{v}")))));
                }
                out.push(with("386", None));
            }
            "arm" => {
                if let Some(n) = version(variant).filter(|n| *n > 5) {
                    out.extend((5..n).rev().map(|v| with("arm", Some(format!("v{v}")))));
                }
            }
            "arm64" => {
                let variant = if variant.is_empty() { "v8" } else { variant };
                let (major, minor) = variant.split_once('.').map_or((variant, None), |(a, b)| (a, Some(b)));
                if let Some(mut major) = version(major).filter(|m| *m >= 8) {
                    let mut minor = minor.filter(|_| variant.len() == 4).and_then(|m| m.parse::<u32>().ok()).unwrap_or(0);
                    let named = |major: u32, minor: u32| if minor == 0 { format!("v{major}") } else { format!("v{major}.{minor}") };
                    if major == 9 {
                        out.extend((0..minor).rev().map(|m| with("arm64", Some(named(9, m)))));
                        // v9.0 branched from v8.5: v9.x runs v8.(x+5).
                        minor += 5;
                        major = 8;
                        out.push(with("arm64", Some(format!("v8.{minor}"))));
                    }
                    out.extend((0..minor).rev().map(|m| with("arm64", Some(named(major, m)))));
                }
                let arm = if variant.starts_with("v8.") || variant.starts_with("v9.") { "v8" } else { variant };
                out.extend(with("arm", Some(arm.to_owned())).compatible());
            }
            _ => {}
        }
        out
    }
}

/// containerd's `Format`: `os/arch[/variant]`, `unknown` without an OS.
impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.os.is_empty() {
            return f.write_str("unknown");
        }
        let parts = [self.os.as_str(), self.architecture.as_str(), self.variant.as_deref().unwrap_or("")];
        f.write_str(&parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join("/"))
    }
}

const KNOWN_OS: &[&str] = &[
    "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "windows", "zos",
];

const KNOWN_ARCH: &[&str] = &[
    "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le", "loong64", "mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc",
    "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm",
];

/// The OS name of a first component that matches [`OS_PATTERN`].
fn os_name(part: &str) -> Option<&str> {
    let name_end = part.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(part.len());
    let (name, rest) = part.split_at(name_end);
    if name.is_empty() {
        return None;
    }
    if rest.is_empty() {
        return Some(name);
    }
    let options = rest.strip_prefix('(')?.strip_suffix(')')?;
    let option_char = |c: char| c.is_ascii_alphanumeric() || "_.%-".contains(c);
    let mut items = options.split('+');
    let version_ok = items.next().is_some_and(|v| v.chars().all(option_char));
    let features_ok = items.all(|f| !f.is_empty() && f.chars().all(option_char));
    (version_ok && features_ok).then_some(name)
}

fn normalize_os(os: &str) -> String {
    match os.to_ascii_lowercase().as_str() {
        "" => "linux".to_owned(),
        "macos" => "darwin".to_owned(),
        other => other.to_owned(),
    }
}

/// containerd's `normalizeArch`: canonical (architecture, variant), variant `""` for none.
fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let (arch, variant) = (arch.to_ascii_lowercase(), variant.to_ascii_lowercase());
    match arch.as_str() {
        "i386" => ("386".to_owned(), String::new()),
        "x86_64" | "x86-64" | "amd64" => ("amd64".to_owned(), if variant == "v1" { String::new() } else { variant }),
        "aarch64" | "arm64" => ("arm64".to_owned(), if matches!(variant.as_str(), "8" | "v8") { String::new() } else { variant }),
        "armhf" => ("arm".to_owned(), "v7".to_owned()),
        "armel" => ("arm".to_owned(), "v6".to_owned()),
        "arm" => {
            let variant = match variant.as_str() {
                "" | "7" => "v7".to_owned(),
                "5" | "6" | "8" => format!("v{variant}"),
                _ => variant,
            };
            (arch, variant)
        }
        _ => (arch, variant),
    }
}

/// Go's `%q` for the specifiers quoted in error messages.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(os: &str, arch: &str, variant: Option<&str>) -> Platform {
        Platform { os: os.into(), architecture: arch.into(), variant: variant.map(Into::into) }
    }

    #[test]
    fn specifiers_parse_and_normalise_like_dockers() {
        let ok = |s: &str| Platform::parse(s).map(|p| p.to_string()).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(ok("linux/amd64"), "linux/amd64");
        assert_eq!(ok("Linux/X86_64"), "linux/amd64");
        assert_eq!(ok("linux/aarch64"), "linux/arm64");
        assert_eq!(ok("linux/arm64/v8"), "linux/arm64/v8");
        assert_eq!(ok("linux/amd64/v1"), "linux/amd64");
        assert_eq!(ok("linux/arm"), "linux/arm");
        assert_eq!(ok("linux/armhf"), "linux/arm");
        assert_eq!(ok("linux/armel"), "linux/arm/v6");
        assert_eq!(ok("linux/arm/7"), "linux/arm/v7");
        assert_eq!(ok("arm64"), "linux/arm64");
        assert_eq!(ok("macos/arm64"), "darwin/arm64");
        assert_eq!(ok("linux(5.10)/amd64"), "linux/amd64");
        assert_eq!(Platform::parse("linux").expect("an OS alone").architecture, Platform::host().architecture);
        // containerd's words, which Docker's CLI prints after "error parsing specified platform: ".
        let err = |s: &str| Platform::parse(s).expect_err(s).to_string();
        assert_eq!(err("nonsense"), r#""nonsense": unknown operating system or architecture: invalid argument"#);
        assert_eq!(err("a/b/c/d"), r#""a/b/c/d": cannot parse platform specifier: invalid argument"#);
        assert_eq!(err("linux/*"), r#""linux/*": wildcards not yet supported: invalid argument"#);
        assert_eq!(err("linux/a b"), r#""a b" is an invalid component of "linux/a b": platform specifier component must match "^[A-Za-z0-9_.-]+$": invalid argument"#);
        assert_eq!(err("linux/"), r#""" is an invalid component of "linux/": platform specifier component must match "^[A-Za-z0-9_.-]+$": invalid argument"#);
        assert!(err("li nux/amd64").starts_with(r#""li nux" is an invalid OS component of "li nux/amd64": OSAndVersion specifier component must match "^([A-Za-z0-9_-]+)"#));
        assert!(Platform::parse("").is_err());
    }

    #[test]
    fn images_serve_the_platforms_docker_lets_them() {
        let want = |s: &str| Platform::parse(s).expect("parses");
        assert!(want("linux/amd64").accepts(&p("linux", "amd64", None)));
        assert!(want("linux/amd64").accepts(&p("linux", "x86_64", None)));
        assert!(want("linux/amd64").accepts(&p("linux", "386", None)));
        assert!(!want("linux/arm64").accepts(&p("linux", "amd64", None)));
        assert!(!want("linux/amd64").accepts(&p("windows", "amd64", None)));
        assert!(want("linux/arm64").accepts(&p("linux", "arm64", Some("v8"))));
        assert!(want("linux/arm64").accepts(&p("linux", "arm64", None)));
        assert!(want("linux/arm64/v8").accepts(&p("linux", "arm64", None)));
        assert!(want("linux/arm64").accepts(&p("linux", "arm", Some("v7"))));
        assert!(want("linux/arm/v7").accepts(&p("linux", "arm", Some("v6"))));
        assert!(!want("linux/arm/v6").accepts(&p("linux", "arm", Some("v7"))));
        // No variant in the image config: the OS and architecture decide (dockerd's fallback).
        assert!(want("linux/arm/v6").accepts(&p("linux", "arm", None)));
        assert!(want("linux/amd64/v3").accepts(&p("linux", "amd64", Some("v2"))));
        assert!(!want("linux/amd64").accepts(&p("linux", "amd64", Some("v3"))));
        assert!(want("linux/arm64/v9.1").accepts(&p("linux", "arm64", Some("v8.6"))));
        assert!(!want("linux/arm64/v8.1").accepts(&p("linux", "arm64", Some("v8.2"))));
    }

    #[test]
    fn manifest_entries_match_like_docker() {
        let amd64 = Platform::parse("linux/amd64").expect("parse");
        assert!(amd64.matches("linux", "amd64", None));
        assert!(!amd64.matches("linux", "arm64", None));
        assert!(!amd64.matches("windows", "amd64", None));
        let arm64 = Platform::parse("linux/arm64").expect("parse");
        assert!(arm64.matches("linux", "arm64", Some("v8")));
        let armv7 = Platform::parse("linux/arm/v7").expect("parse");
        assert!(armv7.matches("linux", "arm", Some("v7")));
        assert!(!armv7.matches("linux", "arm", Some("v6")));
        assert_eq!(armv7.to_string(), "linux/arm/v7");
        assert_eq!(p("", "amd64", None).to_string(), "unknown");
    }
}
