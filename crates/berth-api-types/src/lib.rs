//! The Docker Engine API's wire types, as serde structs, shared by `berth-api` (the server) and
//! `berth` (the CLI).
//!
//! Every type here is the JSON body of a request or a response of the Docker Engine API
//! (reference: the API's OpenAPI definition, v1.51), with Docker's exact field names: mostly
//! PascalCase, with explicit renames where Docker's spelling is irregular (`Id`, `NanoCpus`,
//! `OomScoreAdj`, `UTSMode`, the snake_case of stats, the camelCase of events and progress lines).
//!
//! Conventions that hold across the crate:
//! - A field that clients may leave out is an `Option<T>` with `#[serde(default,
//!   skip_serializing_if = "Option::is_none")]`. JSON `null` and an absent field both become
//!   `None`; an empty list or map stays `Some(empty)`. Docker's Go clients send `null` for an unset
//!   slice (`"Env":null`) and `[]`/`{}` for an empty one, and some clients read the two differently,
//!   so a server should keep the distinction where it echoes a value back.
//! - Unknown fields are ignored (newer clients send fields older servers do not know), but a field
//!   of the wrong type is an error: `"Memory":"64m"` does not deserialize.
//! - Maps are `BTreeMap`, so serialized output is deterministic.
//! - Nothing here validates values: the types carry what the client said; the server decides.
//!
//! Modules by resource: [`system`] (version, info, events, df, errors), [`container`] (create,
//! inspect, list, stats, ...), [`exec`], [`image`] (including the progress stream and
//! `X-Registry-Auth`), [`network`], [`volume`]; plus [`filters`] (the `filters` query parameter),
//! [`platform`] (the `platform` query parameter), [`version`] (API version negotiation bounds)
//! and [`body`] (archive bodies read on blocking threads).
//!
//! A request flows through them like this: `berth-api` reads the body, deserializes it into (say)
//! [`container::ContainerCreateRequest`], hands the typed request to the engine, and serializes
//! the engine's answer as [`container::ContainerCreateResponse`]; the CLI does the reverse.
//!
//! ```
//! use berth_api_types::container::ContainerCreateRequest;
//!
//! let body = r#"{"Image":"busybox","Cmd":["sh"],"HostConfig":{"Memory":67108864,"NanoCpus":1500000000}}"#;
//! let req: ContainerCreateRequest = serde_json::from_str(body).unwrap();
//! assert_eq!(req.config.image.as_deref(), Some("busybox"));
//! let host = req.host_config.as_ref().unwrap();
//! assert_eq!(host.resources.memory, Some(64 << 20));
//! let out = serde_json::to_string(&req).unwrap();
//! assert!(out.contains(r#""NanoCpus":1500000000"#));
//! ```
#![forbid(unsafe_code)]

pub mod body;
pub mod container;
pub mod error;
pub mod exec;
pub mod filters;
pub mod header;
pub mod image;
pub mod network;
pub mod platform;
pub mod system;
pub mod units;
pub mod version;
pub mod volume;

pub use error::ErrorResponse;
pub use filters::Filters;
pub use version::ApiVersion;

use serde::{Deserialize, Serialize};

/// A JSON object with no fields, `{}`: the value type of Docker's "set" maps such as
/// `ExposedPorts` (`{"80/tcp": {}}`) and `Volumes` (`{"/data": {}}`).
///
/// Any fields inside are ignored on input; it always serializes as `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmptyObject {}

#[cfg(test)]
pub(crate) mod test_support {
    use serde::{de::DeserializeOwned, Serialize};

    /// Deserializes `json` as `T`, serializes it back, and checks that the result equals the
    /// input as JSON values (same names, same nesting, same values; key order aside). An object
    /// field that is `null` counts as absent on both sides: `Option` reads both as `None`.
    pub fn round_trip<T: DeserializeOwned + Serialize>(json: &str) -> T {
        let value: T = serde_json::from_str(json).expect("fixture deserializes");
        let back = strip_nulls(serde_json::to_value(&value).expect("serializes"));
        let orig = strip_nulls(serde_json::from_str(json).expect("fixture is JSON"));
        assert_eq!(back, orig, "round trip changed the JSON");
        value
    }

    fn strip_nulls(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k, strip_nulls(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
            other => other,
        }
    }
}
