//! API versions: parsing and ordering of `1.45`-style versions, and the range berth serves.
//!
//! Clients pick a version as follows, and berth must serve every version they can land on:
//! - docker CLI 28 sends `HEAD /_ping`, reads the `Api-Version` response header and uses the lower
//!   of that and its own maximum (docker 28.2 speaks up to 1.50, 28.3+ up to 1.51), prefixing
//!   every path with it (`/v1.50/containers/create`). With no header it falls back to 1.24.
//! - docker-py 7 (`docker.from_env()`, `version=None`) calls `GET /version` and uses the
//!   server's `ApiVersion`; it refuses anything below 1.24 (`MINIMUM_DOCKER_API_VERSION`). With an
//!   explicit version it uses that one (its default constant is 1.44).
//!
//! So berth serves [`MIN_API_VERSION`] 1.24 to [`MAX_API_VERSION`] 1.51, the same range as
//! dockerd 28, and answers `/_ping` and `/version` with 1.51.

use std::fmt;
use std::str::FromStr;

/// The oldest API version berth accepts in a `/vX.Y/` path prefix (dockerd 28's minimum too).
pub const MIN_API_VERSION: ApiVersion = ApiVersion::new(1, 24);
/// The API version berth implements and advertises (`Api-Version` header, `/version`).
pub const MAX_API_VERSION: ApiVersion = ApiVersion::new(1, 51);

/// A Docker API version, `MAJOR.MINOR`, ordered numerically (1.9 < 1.24 < 1.51).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    major: u16,
    minor: u16,
}

/// Why a string is not an API version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid API version {0:?}: expected MAJOR.MINOR, such as 1.45")]
pub struct ParseApiVersionError(String);

impl ApiVersion {
    pub const fn new(major: u16, minor: u16) -> Self {
        ApiVersion { major, minor }
    }

    pub const fn major(self) -> u16 {
        self.major
    }

    pub const fn minor(self) -> u16 {
        self.minor
    }

    /// Whether berth serves this version (between [`MIN_API_VERSION`] and [`MAX_API_VERSION`]).
    pub fn is_supported(self) -> bool {
        (MIN_API_VERSION..=MAX_API_VERSION).contains(&self)
    }
}

impl FromStr for ApiVersion {
    type Err = ParseApiVersionError;

    /// Parses `1.45`; an optional leading `v` (as in a path prefix, `v1.45`) is accepted.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseApiVersionError(s.to_owned());
        let digits = s.strip_prefix('v').unwrap_or(s);
        let (major, minor) = digits.split_once('.').ok_or_else(err)?;
        let number = |part: &str| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            part.parse::<u16>().map_err(|_| err())
        };
        Ok(ApiVersion::new(number(major)?, number(minor)?))
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl serde::Serialize for ApiVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ApiVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_numerically_not_as_strings() {
        let v = |s: &str| s.parse::<ApiVersion>().unwrap();
        assert!(v("1.9") < v("1.24"));
        assert!(v("1.24") < v("1.45"));
        assert!(v("1.45") < v("1.51"));
        assert!(v("1.51") < v("2.0"));
        assert_eq!(v("v1.44"), ApiVersion::new(1, 44));
        let mut all = vec![v("1.51"), v("1.9"), v("1.24"), v("1.40")];
        all.sort();
        assert_eq!(all, vec![v("1.9"), v("1.24"), v("1.40"), v("1.51")]);
    }

    #[test]
    fn malformed_versions_are_refused() {
        for bad in [
            "", "1", "1.", ".1", "1.x", "1.2.3", "+1.2", "1. 2", "99999.1",
        ] {
            assert!(bad.parse::<ApiVersion>().is_err(), "{bad:?} parsed");
        }
        let e = "abc".parse::<ApiVersion>().unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"invalid API version "abc": expected MAJOR.MINOR, such as 1.45"#
        );
    }

    #[test]
    fn supported_range_is_what_docker_clients_negotiate() {
        assert!(ApiVersion::new(1, 24).is_supported());
        assert!(ApiVersion::new(1, 44).is_supported()); // docker-py's default
        assert!(ApiVersion::new(1, 50).is_supported()); // docker CLI 28.2
        assert!(ApiVersion::new(1, 51).is_supported());
        assert!(!ApiVersion::new(1, 23).is_supported());
        assert!(!ApiVersion::new(1, 52).is_supported());
        assert_eq!(MAX_API_VERSION.to_string(), "1.51");
    }

    #[test]
    fn serializes_as_a_string() {
        assert_eq!(
            serde_json::to_string(&MIN_API_VERSION).unwrap(),
            r#""1.24""#
        );
        let v: ApiVersion = serde_json::from_str(r#""1.41""#).unwrap();
        assert_eq!(v, ApiVersion::new(1, 41));
        assert!(serde_json::from_str::<ApiVersion>("1.41").is_err());
    }
}
