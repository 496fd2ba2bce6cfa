//! `Config`: the portable part of a container's configuration (what an image's config also
//! carries), as sent flattened in `POST /containers/create` and returned under `Config` by inspect.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::EmptyObject;

/// Docker's `StrSlice`: `Cmd` and `Entrypoint` may come as one string (`"Cmd": "top"`) where
/// they are usually a list; dockerd takes both, and API clients other than the CLI send it.
fn str_slice<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Option::<OneOrMany>::deserialize(d)?.map(|v| match v {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    }))
}

/// A container's `Config`.
///
/// docker CLI 28 sends every field, with `""`/`false` for unset scalars, `null` for unset lists
/// (`"Env":null`, `"Entrypoint":null`) and `{}` for unset maps (`"Volumes":{}`, `"Labels":{}`).
/// Note `Entrypoint: null` (use the image's) differs from `Entrypoint: [""]` (`--entrypoint ""`,
/// clear the image's); a server must not collapse them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    /// `user`, `uid`, `user:group` or `uid:gid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdout: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stderr: Option<bool>,
    /// `{"80/tcp": {}, "53/udp": {}}`: a set encoded as a map of empty objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, EmptyObject>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_stdin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin_once: Option<bool>,
    /// `KEY=value` strings; a bare `KEY` unsets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "str_slice")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Anonymous volumes: a set of container paths, `{"/data": {}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, EmptyObject>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "str_slice")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_disabled: Option<bool>,
    /// Deprecated since 1.44 in favour of `EndpointSettings.MacAddress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// `SIGTERM`, `TERM` or a number, as the user wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Seconds; absent means the daemon default (10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

/// `Healthcheck`. Durations are nanoseconds; 0 means "inherit" (from the image, then the default).
///
/// `Test`: `[]` inherit, `["NONE"]` disable, `["CMD", args...]` exec, `["CMD-SHELL", command]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmd_and_entrypoint_take_a_string_or_a_list() {
        let c: Config = serde_json::from_str(r#"{"Cmd":"top","Entrypoint":["sh","-c"]}"#).expect("parses");
        assert_eq!(c.cmd, Some(vec!["top".to_owned()]));
        assert_eq!(c.entrypoint, Some(vec!["sh".to_owned(), "-c".to_owned()]));
        let c: Config = serde_json::from_str(r#"{"Cmd":null}"#).expect("parses");
        assert_eq!(c.cmd, None);
        assert!(serde_json::from_str::<Config>(r#"{"Cmd":5}"#).is_err());
    }
}
