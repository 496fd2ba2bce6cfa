//! Base64-encoded JSON headers: `X-Registry-Auth` (base64url, see
//! [`crate::image::AuthConfig::to_header`]) and `X-Docker-Container-Path-Stat` (standard base64,
//! see [`crate::container::ContainerPathStat::to_header`]).
//!
//! A few lines of base64 here rather than a dependency: headers are small and this is not a hot
//! path.

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Why a header value could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    #[error("invalid base64")]
    Base64,
    #[error("invalid JSON")]
    Json(#[source] serde_json::Error),
}

/// Standard alphabet with `=` padding (Go's `base64.StdEncoding`).
pub fn encode_std(bytes: &[u8]) -> String {
    encode(bytes, STD)
}

/// URL-safe alphabet with `=` padding (Go's `base64.URLEncoding`, what docker CLI and
/// docker-py use for `X-Registry-Auth`).
pub fn encode_url(bytes: &[u8]) -> String {
    encode(bytes, URL)
}

fn encode(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes either alphabet, with or without padding (clients differ); `None` if malformed.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // A single leftover character (6 bits) cannot encode a byte; leftover bits must be zero.
    if bits >= 6 || acc != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        for (plain, std) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode_std(plain.as_bytes()), std);
            assert_eq!(decode(std).unwrap(), plain.as_bytes());
            assert_eq!(decode(std.trim_end_matches('=')).unwrap(), plain.as_bytes());
        }
        assert_eq!(encode_url(&[0xfb, 0xff]), "-_8=");
        assert_eq!(encode_std(&[0xfb, 0xff]), "+/8=");
        assert_eq!(decode("-_8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode("+/8").unwrap(), [0xfb, 0xff]);
    }

    #[test]
    fn malformed_is_refused() {
        for bad in ["Z", "Zh==", "a b", "Zm9v!", "Zm9vY"] {
            assert!(decode(bad).is_none(), "{bad}");
        }
    }
}
