//! Reads a bundle's config.json once, validates it, and produces the checked [`Plan`] the rest
//! of the runtime works from.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::Error;

/// A container id as runc accepts it: letters, digits, `_+-.`, not `.` or `..`, at most 1024
/// bytes. Parsed once; everything after takes this type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContainerId(String);

impl ContainerId {
    pub fn parse(s: &str) -> Result<Self, Error> {
        let ok = !s.is_empty()
            && s.len() <= 1024
            && s != "."
            && s != ".."
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b));
        if ok { Ok(ContainerId(s.to_owned())) } else { Err(Error::InvalidId(s.to_owned())) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ContainerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated bundle: the spec plus what was derived from it.
pub struct Plan {
    pub id: ContainerId,
    pub bundle: PathBuf,
    /// Absolute path of the root filesystem.
    pub rootfs: PathBuf,
    pub spec: Spec,
    /// The raw config.json, kept in the state dir so `exec` and `delete` never reread the bundle.
    pub raw: Vec<u8>,
}

/// Reads and checks `bundle/config.json`.
pub fn load(id: ContainerId, bundle: &Path) -> Result<Plan, Error> {
    let bundle = std::path::absolute(bundle)
        .map_err(|e| Error::ReadConfig { path: bundle.to_owned(), source: e })?;
    let path = bundle.join("config.json");
    let raw = std::fs::read(&path).map_err(|e| Error::ReadConfig { path: path.clone(), source: e })?;
    let spec: Spec =
        serde_json::from_slice(&raw).map_err(|e| Error::ParseConfig { path: path.clone(), source: e })?;
    let root = spec.root().as_ref().ok_or_else(|| Error::InvalidConfig("root is missing".into()))?;
    let rootfs = if root.path().is_absolute() { root.path().clone() } else { bundle.join(root.path()) };
    match std::fs::metadata(&rootfs) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(Error::InvalidConfig(format!("root.path {} is not a directory", rootfs.display()))),
        Err(e) => {
            return Err(Error::ReadConfig { path: rootfs, source: e });
        }
    }
    validate(&spec)?;
    Ok(Plan { id, bundle, rootfs, spec, raw })
}

/// Checks what can be checked before anything is created, so a bad config fails with nothing
/// to clean up.
pub fn validate(spec: &Spec) -> Result<(), Error> {
    let process = spec.process().as_ref().ok_or_else(|| Error::InvalidConfig("process is missing".into()))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::InvalidConfig("process.args must name the program to run".into()));
    }
    if !process.cwd().is_absolute() {
        return Err(Error::InvalidConfig(format!("process.cwd {} must be an absolute path", process.cwd().display())));
    }
    let linux = spec.linux().as_ref().ok_or_else(|| Error::InvalidConfig("linux is missing".into()))?;
    let mut seen = Vec::new();
    for ns in linux.namespaces().iter().flatten() {
        if seen.contains(&ns.typ()) {
            return Err(Error::InvalidConfig(format!("namespace {} is listed twice", ns.typ())));
        }
        seen.push(ns.typ());
        if let Some(p) = ns.path() {
            if !p.is_absolute() {
                return Err(Error::InvalidConfig(format!("namespace {} path {} is not absolute", ns.typ(), p.display())));
            }
        }
    }
    let has_userns = seen.contains(&LinuxNamespaceType::User);
    if has_userns
        && linux.namespaces().iter().flatten().any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none())
        && linux.uid_mappings().as_ref().is_none_or(|m| m.is_empty())
    {
        return Err(Error::InvalidConfig("a new user namespace needs linux.uidMappings and gidMappings".into()));
    }
    if !has_userns && (linux.uid_mappings().is_some() || linux.gid_mappings().is_some()) {
        let any = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
            || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
        if any {
            return Err(Error::InvalidConfig("uidMappings/gidMappings given without a user namespace".into()));
        }
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !seen.contains(&LinuxNamespaceType::Uts) {
        return Err(Error::InvalidConfig("hostname needs a new uts namespace".into()));
    }
    let new_userns = linux.namespaces().iter().flatten().any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    for m in spec.mounts().iter().flatten() {
        if !m.destination().is_absolute() {
            return Err(Error::InvalidConfig(format!("mount destination {} is not absolute", m.destination().display())));
        }
        let idmap = m.options().iter().flatten().any(|o| o == "idmap" || o == "ridmap");
        if m.uid_mappings().is_some() || m.gid_mappings().is_some() {
            return Err(Error::Unsupported {
                what: format!("uidMappings/gidMappings on mount {}", m.destination().display()),
                why: "idmapped mounts use the container's own user namespace; drop the per-mount mappings".into(),
            });
        }
        if idmap && !new_userns {
            return Err(Error::InvalidConfig(format!(
                "mount {} is idmapped, which needs a new user namespace (linux.namespaces with type user and uidMappings)",
                m.destination().display()
            )));
        }
    }
    for s in linux.sysctl().iter().flat_map(|m| m.keys()) {
        if s.contains('/') || s.contains("..") {
            return Err(Error::InvalidConfig(format!("sysctl name {s:?} is not valid")));
        }
    }
    crate::rlimits::check(process.rlimits().as_deref().unwrap_or(&[]))?;
    if let Some(p) = process.apparmor_profile() {
        if !p.is_empty() && !Path::new("/sys/kernel/security/apparmor").exists() {
            return Err(Error::Unsupported {
                what: format!("apparmor profile {p:?}"),
                why: "AppArmor is not enabled in this kernel; remove process.apparmorProfile".into(),
            });
        }
    }
    if let Some(l) = process.selinux_label() {
        if !l.is_empty() && !Path::new("/sys/fs/selinux/enforce").exists() {
            return Err(Error::Unsupported {
                what: format!("selinux label {l:?}"),
                why: "SELinux is not enabled on this host; remove process.selinuxLabel".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids_follow_runc_rules() {
        for ok in ["a", "web-1", "x_y.z+1", &"a".repeat(1024)] {
            assert!(ContainerId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "ä", &"a".repeat(1025)] {
            assert!(ContainerId::parse(bad).is_err(), "{bad}");
        }
    }

    fn spec(json: &str) -> Spec {
        serde_json::from_str(json).expect("test json")
    }

    #[test]
    fn validate_rejects_bad_configs_with_their_reason() {
        let base = r#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},"process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"},"linux":{"namespaces":[{"type":"pid"},{"type":"mount"}]}}"#;
        assert!(validate(&spec(base)).is_ok());
        let cases = [
            (base.replace(r#""args":["sh"]"#, r#""args":[]"#), "process.args"),
            (base.replace(r#""cwd":"/""#, r#""cwd":"rel""#), "absolute"),
            (base.replace(r#"{"type":"mount"}"#, r#"{"type":"pid"}"#), "twice"),
            (base.replace(r#"{"type":"mount"}"#, r#"{"type":"user"}"#), "uidMappings"),
            (base.replace(r#""linux":{"#, r#""hostname":"h","linux":{"#), "uts"),
        ];
        for (json, want) in cases {
            let err = validate(&spec(&json)).expect_err(&json).to_string();
            assert!(err.contains(want), "{err} should mention {want}");
        }
    }
}
