//! The data a template sees: JSON as the daemon sent it, with object keys kept in the daemon's
//! order (so `{{json .Config}}` prints fields in Docker's order), and Go's `%v` printing.

use std::fmt::{self, Write};

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// Keys of data maps that hold a one-argument method (`()Label` for `{{.Label "key"}}`); they
/// are left out when a value is printed or turned into JSON.
pub const METHOD_PREFIX: &str = "()";

/// A JSON value with ordered object keys, plus Go's "no value" for a missing map key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A missing key: prints `<no value>`.
    Missing,
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Value {
    /// The value under `key` of a map ([`Value::Missing`] when absent or not a map).
    pub fn get(&self, key: &str) -> &Value {
        match self {
            Value::Map(m) => m.iter().find(|(k, _)| k == key).map_or(&Value::Missing, |(_, v)| v),
            _ => &Value::Missing,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
            _ => None,
        }
    }

    /// Go's truth: false, 0, nil, and empty strings, lists and maps are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Missing | Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
        }
    }

    /// Builds a map from pairs.
    pub fn map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Compact JSON in the daemon's key order, without HTML escaping: what docker's `json`
    /// template function prints for the typed objects it decodes inspect data into.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Value always serializes")
    }
}

impl Value {
    /// A copy with every map's keys sorted: how Go writes a struct whose fields are in
    /// alphabetical order (the API's generated types, such as volumes) and every map.
    pub fn sorted(&self) -> Value {
        match self {
            Value::List(l) => Value::List(l.iter().map(Value::sorted).collect()),
            Value::Map(m) => {
                let mut m: Vec<(String, Value)> = m.iter().map(|(k, v)| (k.clone(), v.sorted())).collect();
                m.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Map(m)
            }
            other => other.clone(),
        }
    }
}

/// Go's `json.Marshal` escaping of `<`, `>` and `&`.
pub fn escape_html(json: &str) -> String {
    json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

/// Go's `%v`: `[a b]` for lists, `map[k:v]` (keys sorted) for maps, `<nil>` for null.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Missing => f.write_str("<no value>"),
            Value::Null => f.write_str("<nil>"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => f.write_str(&go_float(*x)),
            Value::Str(s) => f.write_str(s),
            Value::List(l) => {
                f.write_char('[')?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_char(' ')?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_char(']')
            }
            Value::Map(m) => {
                let mut sorted: Vec<&(String, Value)> = m.iter().filter(|(k, _)| !k.starts_with(METHOD_PREFIX)).collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                f.write_str("map[")?;
                for (i, (k, v)) in sorted.into_iter().enumerate() {
                    if i > 0 {
                        f.write_char(' ')?;
                    }
                    write!(f, "{k}:{v}")?;
                }
                f.write_char(']')
            }
        }
    }
}

/// Go's `%v` of a float64: the shortest representation, exponent from 1e21.
fn go_float(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e21 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Missing | Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(x) => s.serialize_f64(*x),
            Value::Str(v) => s.serialize_str(v),
            Value::List(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for v in l {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Map(m) => {
                let shown: Vec<&(String, Value)> = m.iter().filter(|(k, _)| !k.starts_with(METHOD_PREFIX)).collect();
                let mut map = s.serialize_map(Some(shown.len()))?;
                for (k, v) in shown {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::List(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            out.push((k, v));
        }
        Ok(Value::Map(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_prints_like_go() {
        let v: Value = serde_json::from_str(r#"{"b":1,"a":[1,"x",null],"m":{"z":"1","y":true},"f":1.5}"#).unwrap();
        assert_eq!(v.to_json(), r#"{"b":1,"a":[1,"x",null],"m":{"z":"1","y":true},"f":1.5}"#);
        assert_eq!(v.sorted().to_json(), r#"{"a":[1,"x",null],"b":1,"f":1.5,"m":{"y":true,"z":"1"}}"#);
        assert_eq!(v.get("a").to_string(), "[1 x <nil>]");
        assert_eq!(v.get("m").to_string(), "map[y:true z:1]");
        assert_eq!(v.get("f").to_string(), "1.5");
        assert_eq!(v.get("nope").to_string(), "<no value>");
        assert_eq!(Value::from("<a&b>").to_json(), r#""<a&b>""#);
    }
}
