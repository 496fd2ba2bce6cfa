//! Docker's `filters` query parameter (`GET /containers/json?filters=...` and friends).
//!
//! The value is JSON in one of two forms, and a server must accept both:
//! - `{"status":{"running":true},"label":{"a=b":true}}`: the map form, what docker CLI 28 and
//!   dockerd's own `filters.ToJSON` send today;
//! - `{"status":["running"],"label":["a=b"]}`: the list form, older clients' and docker-py's.
//!
//! Both become one [`Filters`]: each key with its set of values. As in dockerd, the boolean of the
//! map form is not consulted (`{"running":false}` still filters on `running`). This module checks
//! the shape and the keys; what a value means is the route's business.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

/// Parsed `filters`: key → set of values, both kept in sorted order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    fields: BTreeMap<String, BTreeSet<String>>,
}

/// Why a `filters` parameter was refused. The texts are dockerd's (a 400 with that message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Neither the map form nor the list form, or not JSON at all.
    #[error("invalid filter")]
    Malformed,
    /// A key the route does not know.
    #[error("invalid filter '{0}'")]
    UnknownKey(String),
    /// A known key with a value the route cannot use (raised by routes, not by this module).
    #[error("invalid filter '{key}' value '{value}'")]
    InvalidValue { key: String, value: String },
    /// A true/false filter with another value (dockerd's words).
    #[error("invalid filter '{key}={value}'")]
    NotBoolean { key: String, value: String },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Values {
    Map(BTreeMap<String, bool>),
    List(Vec<String>),
}

impl Filters {
    pub fn new() -> Self {
        Filters::default()
    }

    /// Parses the query parameter's (already URL-decoded) value. An empty string means no filters,
    /// as in dockerd.
    pub fn parse(json: &str) -> Result<Self, FilterError> {
        if json.trim().is_empty() {
            return Ok(Filters::new());
        }
        let raw: BTreeMap<String, Values> =
            serde_json::from_str(json).map_err(|_| FilterError::Malformed)?;
        let fields = raw
            .into_iter()
            .map(|(key, values)| {
                let set = match values {
                    Values::Map(map) => map.into_keys().collect(),
                    Values::List(list) => list.into_iter().collect(),
                };
                (key, set)
            })
            .collect();
        Ok(Filters { fields })
    }

    /// Adds `value` under `key` (the CLI side: `--filter key=value`).
    pub fn add(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.fields
            .entry(key.into())
            .or_default()
            .insert(value.into());
        self
    }

    /// The values given for `key`, in sorted order; empty when the key is absent.
    pub fn get(&self, key: &str) -> impl Iterator<Item = &str> + '_ {
        self.fields
            .get(key)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Whether `key` was given at all.
    pub fn contains(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    /// Whether `key` was given with exactly this `value`.
    pub fn has_value(&self, key: &str, value: &str) -> bool {
        self.fields.get(key).is_some_and(|set| set.contains(value))
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// A true/false filter (`dangling=true`, `1`, `false`, `0`); `None` when not given.
    pub fn boolean(&self, key: &str) -> Result<Option<bool>, FilterError> {
        match self.get(key).next() {
            None => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(v) => Err(FilterError::NotBoolean { key: key.to_owned(), value: v.to_owned() }),
        }
    }

    /// Whether `labels` pass the `label` filters (each `key` or `key=value` present) and the
    /// `label!` ones (none present), as dockerd matches them.
    pub fn labels_match(&self, labels: &BTreeMap<String, String>) -> bool {
        let has = |l: &str| match l.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
            None => labels.contains_key(l),
        };
        self.get("label").all(has) && !self.get("label!").any(has)
    }

    /// The keys given, in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.fields.keys().map(String::as_str)
    }

    /// Refuses any key not in `allowed`, with dockerd's message (`invalid filter 'x'`). The first
    /// unknown key in sorted order is named.
    pub fn validate(&self, allowed: &[&str]) -> Result<(), FilterError> {
        match self.keys().find(|key| !allowed.contains(key)) {
            Some(key) => Err(FilterError::UnknownKey(key.to_owned())),
            None => Ok(()),
        }
    }

    /// The map form, `{"key":{"value":true}}`, as dockerd's `filters.ToJSON` writes it.
    pub fn to_json(&self) -> String {
        let map: BTreeMap<&str, BTreeMap<&str, bool>> = self
            .fields
            .iter()
            .map(|(k, vs)| (k.as_str(), vs.iter().map(|v| (v.as_str(), true)).collect()))
            .collect();
        serde_json::to_string(&map).expect("a map of strings to maps of bools always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTAINER_KEYS: &[&str] = &[
        "id", "name", "label", "status", "ancestor", "exited", "before", "since",
    ];

    #[test]
    fn map_form_as_docker_cli_28_sends_it() {
        // Captured from `docker ps -a --filter status=running --filter label=a=b`.
        let f = Filters::parse(r#"{"label":{"a=b":true},"status":{"running":true}}"#).unwrap();
        assert_eq!(f.get("status").collect::<Vec<_>>(), ["running"]);
        assert_eq!(f.get("label").collect::<Vec<_>>(), ["a=b"]);
        assert!(f.has_value("label", "a=b"));
        assert!(f.validate(CONTAINER_KEYS).is_ok());
    }

    #[test]
    fn list_form_as_docker_py_sends_it() {
        // Captured from docker-py 7.1 `containers.list(all=True, filters={'status': 'exited',
        // 'label': ['a=b']})`, URL-decoded.
        let f = Filters::parse(r#"{"status": ["exited"], "label": ["a=b"]}"#).unwrap();
        assert_eq!(f.get("status").collect::<Vec<_>>(), ["exited"]);
        assert!(f.has_value("label", "a=b"));
    }

    #[test]
    fn list_form_and_map_form_parse_alike() {
        let list = Filters::parse(r#"{"status":["running","exited"],"name":["web"]}"#).unwrap();
        let map =
            Filters::parse(r#"{"status":{"exited":true,"running":true},"name":{"web":true}}"#)
                .unwrap();
        assert_eq!(list, map);
        assert_eq!(
            list.get("status").collect::<Vec<_>>(),
            ["exited", "running"]
        );
        assert_eq!(list.get("missing").count(), 0);
        assert!(!list.contains("missing"));
    }

    #[test]
    fn the_bool_of_the_map_form_is_not_consulted() {
        let f = Filters::parse(r#"{"status":{"running":false}}"#).unwrap();
        assert!(f.has_value("status", "running"));
    }

    #[test]
    fn empty_parameter_is_no_filters() {
        assert!(Filters::parse("").unwrap().is_empty());
        assert!(Filters::parse("{}").unwrap().is_empty());
    }

    #[test]
    fn bad_json_and_bad_shapes_are_invalid_filter() {
        for bad in [
            "{",
            "[]",
            r#""status""#,
            r#"{"status":"running"}"#,
            r#"{"status":[1]}"#,
            r#"{"status":{"running":"yes"}}"#,
            "null",
        ] {
            let err = Filters::parse(bad).unwrap_err();
            assert_eq!(err, FilterError::Malformed, "{bad}");
            assert_eq!(err.to_string(), "invalid filter");
        }
    }

    #[test]
    fn unknown_key_names_the_key_as_dockerd_does() {
        let f = Filters::parse(r#"{"status":["running"],"colour":["red"]}"#).unwrap();
        let err = f.validate(CONTAINER_KEYS).unwrap_err();
        assert_eq!(err.to_string(), "invalid filter 'colour'");
        let value = FilterError::InvalidValue {
            key: "status".into(),
            value: "sleepy".into(),
        };
        assert_eq!(value.to_string(), "invalid filter 'status' value 'sleepy'");
    }

    #[test]
    fn built_filters_serialize_in_the_map_form() {
        let mut f = Filters::new();
        f.add("label", "a=b")
            .add("status", "running")
            .add("status", "exited");
        assert_eq!(
            f.to_json(),
            r#"{"label":{"a=b":true},"status":{"exited":true,"running":true}}"#
        );
        assert_eq!(Filters::parse(&f.to_json()).unwrap(), f);
    }
}
