//! The query string, as Docker's handlers read it: percent-decoded values, Docker's booleans
//! (`1`, `true`, anything but `""`, `0`, `no`, `false`, `none`), and typed numbers with a 400
//! naming the parameter when one does not parse.

use std::collections::BTreeMap;

use berth_api_types::Filters;

use crate::error::bad_request;
use crate::body::Resp;

#[derive(Debug, Default)]
pub struct Query(BTreeMap<String, Vec<String>>);

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Query {
    pub fn parse(q: Option<&str>) -> Query {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            m.entry(decode(k)).or_default().push(decode(v));
        }
        Query(m)
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).and_then(|v| v.first()).map(String::as_str)
    }

    pub fn all(&self, k: &str) -> &[String] {
        self.0.get(k).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn flag(&self, k: &str) -> bool {
        let v = self.get(k).unwrap_or("").trim().to_ascii_lowercase();
        !matches!(v.as_str(), "" | "0" | "no" | "false" | "none")
    }

    /// A flag that defaults to true when absent (`stdout` of logs in old clients, ...).
    pub fn flag_or(&self, k: &str, default: bool) -> bool {
        if self.0.contains_key(k) {
            self.flag(k)
        } else {
            default
        }
    }

    pub fn int<T: std::str::FromStr>(&self, k: &str) -> Result<Option<T>, Resp> {
        match self.get(k).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| bad_request(format!("invalid value for {k}: {v:?}"))),
        }
    }

    pub fn filters(&self) -> Result<Filters, Resp> {
        match self.get("filters").filter(|f| !f.is_empty()) {
            None => Ok(Filters::new()),
            Some(f) => Filters::parse(f).map_err(|e| bad_request(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_like_docker() {
        let q = Query::parse(Some("name=%2Fweb&force=1&v=false&t=5&filters=%7B%22status%22%3A%7B%22running%22%3Atrue%7D%7D&x=a+b&bad=%zz"));
        assert_eq!(q.get("name"), Some("/web"));
        assert!(q.flag("force"));
        assert!(!q.flag("v"));
        assert!(!q.flag("missing"));
        assert_eq!(q.int::<i64>("t").ok().flatten(), Some(5));
        assert!(q.int::<i64>("name").is_err());
        assert!(q.filters().expect("filters").has_value("status", "running"));
        assert_eq!(q.get("x"), Some("a b"));
        assert_eq!(q.get("bad"), Some("%zz"));
    }
}
