//! Content digests (`sha256:<hex>`): parsed once, then passed around as a [`Digest`].
//!
//! Also owns [`Digester`], the streaming hasher every writer in this crate feeds while it copies,
//! so a blob or a layer is verified in the same pass that stores it.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use sha2::digest::DynDigest;

/// A digest algorithm berth can compute and check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    /// The name used in digests and in the content store's directory names.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Length of the hex encoding.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha384 => 96,
            Algorithm::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha384" => Some(Algorithm::Sha384),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not a digest. The texts are those of Docker (go-digest), which clients show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("invalid checksum digest format")]
    InvalidFormat { input: String },
    #[error("invalid checksum digest length")]
    InvalidLength { input: String },
    #[error("unsupported digest algorithm")]
    Unsupported { input: String },
}

/// A validated content digest: a known algorithm and lowercase hex of the right length.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parses `algorithm:hex` exactly as Docker does (lowercase hex only).
    pub fn parse(s: &str) -> Result<Self, DigestError> {
        let invalid_format = || DigestError::InvalidFormat { input: s.to_owned() };
        let (alg, hex) = match s.find(':') {
            Some(i) if i > 0 && i + 1 < s.len() => (&s[..i], &s[i + 1..]),
            _ => return Err(invalid_format()),
        };
        let Some(algorithm) = Algorithm::from_name(alg) else {
            return Err(if is_digest_grammar(s) {
                DigestError::Unsupported { input: s.to_owned() }
            } else {
                invalid_format()
            });
        };
        if hex.len() != algorithm.hex_len() {
            return Err(DigestError::InvalidLength { input: s.to_owned() });
        }
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid_format());
        }
        Ok(Digest { algorithm, hex: hex.to_owned() })
    }

    /// The sha256 digest of `data`.
    pub fn sha256_of(data: &[u8]) -> Self {
        let mut d = Digester::new(Algorithm::Sha256);
        d.update(data);
        d.finish()
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex part, without the algorithm.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The first 12 hex characters, as Docker shows ids.
    pub fn short(&self) -> &str {
        &self.hex[..12]
    }
}

/// True when `s` matches the reference grammar's digest production
/// (`alg-component([+._-]alg-component)*:[0-9a-fA-F]{32,}`), whatever the algorithm.
pub(crate) fn is_digest_grammar(s: &str) -> bool {
    let Some((alg, hex)) = s.split_once(':') else { return false };
    let alg_ok = !alg.is_empty()
        && alg.split(['+', '.', '_', '-']).all(|c| {
            let mut b = c.bytes();
            matches!(b.next(), Some(x) if x.is_ascii_alphabetic()) && b.all(|x| x.is_ascii_alphanumeric())
        });
    alg_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<&oci_spec::image::Digest> for Digest {
    type Error = DigestError;
    fn try_from(d: &oci_spec::image::Digest) -> Result<Self, Self::Error> {
        Digest::parse(d.as_ref())
    }
}

impl From<&Digest> for oci_spec::image::Digest {
    fn from(d: &Digest) -> Self {
        oci_spec::image::Digest::from_str(&d.to_string())
            .expect("a berth Digest is always a valid OCI digest")
    }
}

/// A streaming hasher for one [`Algorithm`].
pub struct Digester {
    algorithm: Algorithm,
    inner: Box<dyn DynDigest + Send>,
    len: u64,
}

impl Digester {
    pub fn new(algorithm: Algorithm) -> Self {
        let inner: Box<dyn DynDigest + Send> = match algorithm {
            Algorithm::Sha256 => Box::new(sha2::Sha256::default()),
            Algorithm::Sha384 => Box::new(sha2::Sha384::default()),
            Algorithm::Sha512 => Box::new(sha2::Sha512::default()),
        };
        Digester { algorithm, inner, len: 0 }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
        self.len += data.len() as u64;
    }

    /// Bytes hashed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn finish(self) -> Digest {
        let hex = hex::encode(self.inner.finalize());
        Digest { algorithm: self.algorithm, hex }
    }
}

/// A reader that hashes everything read through it.
pub struct DigestReader<R> {
    inner: R,
    digester: Digester,
}

impl<R: Read> DigestReader<R> {
    pub fn new(inner: R, algorithm: Algorithm) -> Self {
        DigestReader { inner, digester: Digester::new(algorithm) }
    }

    /// Bytes read so far.
    pub fn len(&self) -> u64 {
        self.digester.len()
    }

    pub fn is_empty(&self) -> bool {
        self.digester.is_empty()
    }

    pub fn finish(self) -> (Digest, u64) {
        let len = self.digester.len();
        (self.digester.finish(), len)
    }
}

impl<R: Read> Read for DigestReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digester.update(&buf[..n]);
        Ok(n)
    }
}

/// A writer that hashes everything written through it.
pub struct DigestWriter<W> {
    inner: W,
    digester: Digester,
}

impl<W: Write> DigestWriter<W> {
    pub fn new(inner: W, algorithm: Algorithm) -> Self {
        DigestWriter { inner, digester: Digester::new(algorithm) }
    }

    pub fn finish(self) -> (W, Digest, u64) {
        let len = self.digester.len();
        (self.inner, self.digester.finish(), len)
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digester.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_prints() {
        let d = Digest::parse(EMPTY).expect("valid");
        assert_eq!(d.to_string(), EMPTY);
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.short(), "e3b0c44298fc");
        assert_eq!(Digest::sha256_of(b""), d);
        let sha512 = format!("sha512:{}", "a".repeat(128));
        assert_eq!(Digest::parse(&sha512).expect("valid").algorithm(), Algorithm::Sha512);
    }

    #[test]
    fn rejects_with_dockers_words() {
        let cases = [
            ("sha256", "invalid checksum digest format"),
            (":abc", "invalid checksum digest format"),
            ("sha256:", "invalid checksum digest format"),
            ("sha256:abc", "invalid checksum digest length"),
            (&format!("sha256:{}", "A".repeat(64)), "invalid checksum digest format"),
            (&format!("sha256:{}", "g".repeat(64)), "invalid checksum digest format"),
            (&format!("md5:{}", "a".repeat(32)), "unsupported digest algorithm"),
            (&format!("5md:{}", "a".repeat(32)), "invalid checksum digest format"),
        ];
        for (input, want) in cases {
            let err = Digest::parse(input).expect_err(input);
            assert_eq!(err.to_string(), want, "{input}");
        }
    }

    #[test]
    fn serde_round_trip() {
        let d = Digest::parse(EMPTY).expect("valid");
        let json = serde_json::to_string(&d).expect("serialize");
        assert_eq!(json, format!("\"{EMPTY}\""));
        let back: Digest = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, d);
        assert!(serde_json::from_str::<Digest>("\"sha256:zz\"").is_err());
    }
}
