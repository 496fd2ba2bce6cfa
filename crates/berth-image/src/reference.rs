//! Image references (`busybox`, `myreg:5000/team/app:1.2`, `name@sha256:…`), parsed and
//! normalized the way Docker does, with Docker's error texts.
//!
//! Grammar (Docker's distribution reference):
//! ```text
//! reference  := name [ ":" tag ] [ "@" digest ]
//! name       := [ domain "/" ] path
//! domain     := host [ ":" port ]          host: dns labels, IPv4, or "[" IPv6 "]"
//! path       := component ( "/" component )*
//! component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//! ```
//! The first `/`-separated part is a domain when it contains `.` or `:`, is `localhost`, or
//! has an uppercase letter; otherwise the name is on Docker Hub (`docker.io`), and a one-part
//! Hub name gets the `library/` prefix. The whole name is at most 255 characters.

use std::fmt;
use std::str::FromStr;

use crate::digest::{is_digest_grammar, Digest, DigestError};

/// Docker Hub's canonical domain.
pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_PREFIX: &str = "library/";
/// The tag given to a reference that has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
const NAME_MAX: usize = 255;
const TAG_MAX: usize = 128;

/// Why a string is not an image reference. Texts are Docker's, which clients match on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format")]
    InvalidFormat { input: String },
    #[error("invalid reference format: repository name ({repository}) must be lowercase")]
    Uppercase { repository: String },
    #[error("repository name must have at least one component")]
    Empty,
    #[error("repository name must not be more than 255 characters")]
    NameTooLong { name: String },
    #[error("invalid repository name ({input}), cannot specify 64-byte hexadecimal strings")]
    HexName { input: String },
    #[error(transparent)]
    Digest(#[from] DigestError),
}

/// A fully qualified image reference: domain, path, and an optional tag and digest.
///
/// `Display` gives the full form (`docker.io/library/busybox:latest`); [`ImageRef::familiar`]
/// gives the short form users see (`busybox:latest`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl ImageRef {
    /// Parses and normalizes `s`, adding the `latest` tag when it has neither tag nor digest
    /// (what `docker pull` and `docker run` do).
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        let mut r = Self::parse_named(s)?;
        if r.tag.is_none() && r.digest.is_none() {
            r.tag = Some(DEFAULT_TAG.to_owned());
        }
        Ok(r)
    }

    /// Parses and normalizes `s` without adding a default tag (what `docker images NAME` and
    /// filters use).
    pub fn parse_named(s: &str) -> Result<Self, ReferenceError> {
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ReferenceError::HexName { input: s.to_owned() });
        }
        let (domain, remainder) = split_domain(s);
        // Docker checks case on the part before the first ':' of what follows the domain.
        let remote = remainder.split(':').next().unwrap_or_default();
        if remote.to_lowercase() != remote {
            return Err(ReferenceError::Uppercase { repository: remote.to_owned() });
        }
        parse_qualified(s, domain, &remainder)
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path inside the registry (`library/busybox`).
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `domain/path`, without tag or digest (`docker.io/library/busybox`).
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The repository as users see it: Hub's domain and `library/` dropped (`busybox`).
    pub fn familiar_repository(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            match self.path.strip_prefix(OFFICIAL_PREFIX) {
                Some(rest) if !rest.contains('/') => rest.to_owned(),
                _ => self.path.clone(),
            }
        } else {
            self.repository()
        }
    }

    /// The short form users see: `busybox:latest`, `myreg:5000/x:1`, `alpine@sha256:…`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_repository();
        self.push_suffix(&mut s);
        s
    }

    /// The same repository with `tag` (keeps no digest).
    pub fn with_tag(&self, tag: &str) -> Result<Self, ReferenceError> {
        if !is_tag(tag) {
            return Err(ReferenceError::InvalidFormat { input: tag.to_owned() });
        }
        Ok(ImageRef { tag: Some(tag.to_owned()), digest: None, ..self.clone() })
    }

    /// The same repository pinned to `digest` (keeps no tag): what `RepoDigests` lists.
    pub fn with_digest(&self, digest: Digest) -> Self {
        ImageRef { tag: None, digest: Some(digest), ..self.clone() }
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(&d.to_string());
        }
    }
}

/// Splits off the domain the way Docker decides it (see the module doc).
fn split_domain(s: &str) -> (&str, String) {
    let (domain, remainder) = match s.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first == "localhost" || first.to_lowercase() != first =>
        {
            (first, rest)
        }
        _ => (DEFAULT_DOMAIN, s),
    };
    let domain = if domain == LEGACY_DEFAULT_DOMAIN { DEFAULT_DOMAIN } else { domain };
    let remainder = if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        format!("{OFFICIAL_PREFIX}{remainder}")
    } else {
        remainder.to_owned()
    };
    (domain, remainder)
}

/// Checks `domain` and `remainder` (`path[:tag][@digest]`) against the grammar.
fn parse_qualified(input: &str, domain: &str, remainder: &str) -> Result<ImageRef, ReferenceError> {
    let invalid = || ReferenceError::InvalidFormat { input: input.to_owned() };
    if input.is_empty() {
        return Err(ReferenceError::Empty);
    }
    let (name_tag, digest) = match remainder.split_once('@') {
        Some((left, d)) => {
            if !is_digest_grammar(d) {
                return Err(invalid());
            }
            (left, Some(d))
        }
        None => (remainder, None),
    };
    // The path has no ':', so a ':' here starts the tag.
    let (path, tag) = match name_tag.split_once(':') {
        Some((p, t)) => (p, Some(t)),
        None => (name_tag, None),
    };
    if !is_domain(domain) || !is_path(path) || !tag.is_none_or(is_tag) {
        return Err(invalid());
    }
    if domain.len() + 1 + path.len() > NAME_MAX {
        return Err(ReferenceError::NameTooLong { name: format!("{domain}/{path}") });
    }
    let digest = digest.map(Digest::parse).transpose()?;
    Ok(ImageRef { domain: domain.to_owned(), path: path.to_owned(), tag: tag.map(str::to_owned), digest })
}

fn is_tag(t: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut bytes = t.bytes();
    matches!(bytes.next(), Some(b) if word(b))
        && t.len() <= TAG_MAX
        && bytes.all(|b| word(b) || b == b'.' || b == b'-')
}

fn is_path(p: &str) -> bool {
    p.split('/').all(is_path_component)
}

fn is_path_component(c: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = c.as_bytes();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    // Separators between alphanumeric runs: ".", "_", "__" or any number of "-".
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        // "[v6]" or "[v6]:port"
        let Some((v6, after)) = rest.split_once(']') else { return false };
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = d.starts_with('[')
        || host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
        });
    port_ok && host_ok
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.repository();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

impl fmt::Debug for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImageRef({self})")
    }
}

impl FromStr for ImageRef {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImageRef::parse(s)
    }
}

impl serde::Serialize for ImageRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ImageRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ImageRef::parse_named(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn valid_references_normalize_like_docker() {
        let d = format!("sha256:{HEX}");
        // input, full normalized form, familiar form
        let cases: Vec<(String, String, String)> = vec![
            ("busybox".into(), "docker.io/library/busybox:latest".into(), "busybox:latest".into()),
            ("busybox:1.36".into(), "docker.io/library/busybox:1.36".into(), "busybox:1.36".into()),
            ("library/busybox".into(), "docker.io/library/busybox:latest".into(), "busybox:latest".into()),
            ("docker.io/busybox".into(), "docker.io/library/busybox:latest".into(), "busybox:latest".into()),
            ("index.docker.io/busybox".into(), "docker.io/library/busybox:latest".into(), "busybox:latest".into()),
            ("user/app:v1".into(), "docker.io/user/app:v1".into(), "user/app:v1".into()),
            ("docker.io/library/a/b".into(), "docker.io/library/a/b:latest".into(), "library/a/b:latest".into()),
            ("myreg:5000/x:1".into(), "myreg:5000/x:1".into(), "myreg:5000/x:1".into()),
            ("host:5000/a/b:tag".into(), "host:5000/a/b:tag".into(), "host:5000/a/b:tag".into()),
            ("localhost/x".into(), "localhost/x:latest".into(), "localhost/x:latest".into()),
            ("localhost:5000/x".into(), "localhost:5000/x:latest".into(), "localhost:5000/x:latest".into()),
            ("example.com/a_b/c__d/e-f/g--h.i".into(), "example.com/a_b/c__d/e-f/g--h.i:latest".into(), "example.com/a_b/c__d/e-f/g--h.i:latest".into()),
            ("127.0.0.1:5000/x".into(), "127.0.0.1:5000/x:latest".into(), "127.0.0.1:5000/x:latest".into()),
            ("[::1]:5000/x".into(), "[::1]:5000/x:latest".into(), "[::1]:5000/x:latest".into()),
            ("Foo/bar".into(), "Foo/bar:latest".into(), "Foo/bar:latest".into()),
            // "localhost:5000" alone is library/localhost with tag 5000, as in Docker
            ("localhost:5000".into(), "docker.io/library/localhost:5000".into(), "localhost:5000".into()),
            (format!("busybox@{d}"), format!("docker.io/library/busybox@{d}"), format!("busybox@{d}")),
            (format!("busybox:1@{d}"), format!("docker.io/library/busybox:1@{d}"), format!("busybox:1@{d}")),
            (format!("r.io:443/a/b:T_a.g-1@{d}"), format!("r.io:443/a/b:T_a.g-1@{d}"), format!("r.io:443/a/b:T_a.g-1@{d}")),
            (format!("x:{}", "t".repeat(128)), format!("docker.io/library/x:{}", "t".repeat(128)), format!("x:{}", "t".repeat(128))),
        ];
        for (input, full, familiar) in cases {
            let r = ImageRef::parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.to_string(), full, "{input}");
            assert_eq!(r.familiar(), familiar, "{input}");
            assert_eq!(ImageRef::parse(&full).expect("full form parses"), r, "{input} round trip");
        }
    }

    #[test]
    fn parts_are_exposed() {
        let r = ImageRef::parse(&format!("myreg:5000/team/app:1.2@sha256:{HEX}")).expect("valid");
        assert_eq!(r.domain(), "myreg:5000");
        assert_eq!(r.path(), "team/app");
        assert_eq!(r.tag(), Some("1.2"));
        assert_eq!(r.digest().map(|d| d.hex()), Some(HEX));
        assert_eq!(r.repository(), "myreg:5000/team/app");
        let named = ImageRef::parse_named("busybox").expect("valid");
        assert_eq!(named.tag(), None);
        assert_eq!(named.with_tag("1").expect("tag").familiar(), "busybox:1");
        assert!(named.with_tag(".bad").is_err());
    }

    #[test]
    fn invalid_references_fail_with_dockers_words() {
        let long_name = format!("a/{}", "b".repeat(250));
        let hex_msg = format!("invalid repository name ({HEX}), cannot specify 64-byte hexadecimal strings");
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "repository name must have at least one component"),
            ("Foo".into(), "invalid reference format: repository name (library/Foo) must be lowercase"),
            ("docker.io/Foo/bar".into(), "invalid reference format: repository name (Foo/bar) must be lowercase"),
            ("reg.io/App:tag".into(), "invalid reference format: repository name (App) must be lowercase"),
            (HEX.into(), &hex_msg),
            ("busybox:".into(), "invalid reference format"),
            ("busybox:.tag".into(), "invalid reference format"),
            ("busybox:-tag".into(), "invalid reference format"),
            (format!("busybox:{}", "t".repeat(129)), "invalid reference format"),
            ("busybox:a:b".into(), "invalid reference format"),
            ("bus box".into(), "invalid reference format"),
            ("-busybox".into(), "invalid reference format"),
            ("busybox-".into(), "invalid reference format"),
            ("a___b".into(), "invalid reference format"),
            ("a._b".into(), "invalid reference format"),
            ("a//b".into(), "invalid reference format"),
            ("/busybox".into(), "invalid reference format"),
            ("busybox/".into(), "invalid reference format"),
            ("reg.io:/x".into(), "invalid reference format"),
            ("reg.io:50a/x".into(), "invalid reference format"),
            ("-reg.io/x".into(), "invalid reference format"),
            ("reg..io/x".into(), "invalid reference format"),
            ("busybox@sha256:abc".into(), "invalid reference format"),
            ("busybox@".into(), "invalid reference format"),
            (format!("busybox@sha256:{}", &HEX[..40]), "invalid checksum digest length"),
            (format!("busybox@md5:{}", &HEX[..32]), "unsupported digest algorithm"),
            (format!("busybox@sha256:{}", HEX.to_uppercase()), "invalid checksum digest format"),
            (long_name, "repository name must not be more than 255 characters"),
        ];
        for (input, want) in cases {
            let err = ImageRef::parse(&input).expect_err(&input);
            assert_eq!(err.to_string(), want, "{input:?}");
        }
    }

    #[test]
    fn name_limit_counts_domain() {
        // docker.io/ + library/ + 237 = 255: allowed; one more is not.
        let ok = "b".repeat(255 - "docker.io/library/".len());
        assert!(ImageRef::parse(&ok).is_ok());
        assert!(matches!(ImageRef::parse(&format!("{ok}b")), Err(ReferenceError::NameTooLong { .. })));
    }

    #[test]
    fn serde_uses_the_full_form() {
        let r = ImageRef::parse("busybox").expect("valid");
        let json = serde_json::to_string(&r).expect("serialize");
        assert_eq!(json, "\"docker.io/library/busybox:latest\"");
        assert_eq!(serde_json::from_str::<ImageRef>(&json).expect("deserialize"), r);
    }
}
