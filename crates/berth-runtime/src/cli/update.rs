//! `update`: runc's per-resource flags, or a whole LinuxResources JSON with `--resources`.

use std::path::PathBuf;

use oci_spec::runtime::LinuxResources;
use serde_json::{json, Map, Value};

use crate::error::Error;

#[derive(clap::Args)]
pub struct UpdateArgs {
    pub id: String,
    /// A JSON file with a LinuxResources object ("-" for stdin)
    #[arg(short, long)]
    resources: Option<PathBuf>,
    #[arg(long)]
    memory: Option<String>,
    #[arg(long = "memory-reservation")]
    memory_reservation: Option<String>,
    #[arg(long = "memory-swap")]
    memory_swap: Option<String>,
    #[arg(long = "cpu-shares")]
    cpu_shares: Option<u64>,
    #[arg(long = "cpu-quota")]
    cpu_quota: Option<i64>,
    #[arg(long = "cpu-period")]
    cpu_period: Option<u64>,
    #[arg(long = "cpu-rt-runtime")]
    cpu_rt_runtime: Option<i64>,
    #[arg(long = "cpu-rt-period")]
    cpu_rt_period: Option<u64>,
    #[arg(long = "cpuset-cpus")]
    cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems")]
    cpuset_mems: Option<String>,
    #[arg(long = "pids-limit")]
    pids_limit: Option<i64>,
    #[arg(long = "blkio-weight")]
    blkio_weight: Option<u16>,
}

/// "512m", "1g", "1048576", "-1".
pub fn parse_bytes(s: &str) -> Result<i64, Error> {
    let bad = || Error::InvalidConfig(format!("invalid size {s:?}: use bytes or a number with k, m, g"));
    if s == "-1" {
        return Ok(-1);
    }
    let lower = s.to_ascii_lowercase();
    let t = lower.trim_end_matches('b');
    let (num, mul) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    if n < 0.0 {
        return Err(bad());
    }
    Ok((n * mul as f64) as i64)
}

impl UpdateArgs {
    pub fn resources(&self) -> Result<LinuxResources, Error> {
        if let Some(p) = &self.resources {
            let data = if p.as_os_str() == "-" {
                let mut v = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut v).map_err(|e| Error::ReadConfig { path: p.clone(), source: e })?;
                v
            } else {
                std::fs::read(p).map_err(|e| Error::ReadConfig { path: p.clone(), source: e })?
            };
            return serde_json::from_slice(&data).map_err(|e| Error::ParseConfig { path: p.clone(), source: e });
        }
        let mut memory = Map::new();
        if let Some(m) = &self.memory {
            memory.insert("limit".into(), json!(parse_bytes(m)?));
        }
        if let Some(m) = &self.memory_reservation {
            memory.insert("reservation".into(), json!(parse_bytes(m)?));
        }
        if let Some(m) = &self.memory_swap {
            memory.insert("swap".into(), json!(parse_bytes(m)?));
        }
        let mut cpu = Map::new();
        let pairs: [(&str, Option<Value>); 7] = [
            ("shares", self.cpu_shares.map(|v| json!(v))),
            ("quota", self.cpu_quota.map(|v| json!(v))),
            ("period", self.cpu_period.map(|v| json!(v))),
            ("realtimeRuntime", self.cpu_rt_runtime.map(|v| json!(v))),
            ("realtimePeriod", self.cpu_rt_period.map(|v| json!(v))),
            ("cpus", self.cpuset_cpus.clone().map(Value::String)),
            ("mems", self.cpuset_mems.clone().map(Value::String)),
        ];
        for (k, v) in pairs {
            if let Some(v) = v {
                cpu.insert(k.into(), v);
            }
        }
        let mut r = Map::new();
        if !memory.is_empty() {
            r.insert("memory".into(), Value::Object(memory));
        }
        if !cpu.is_empty() {
            r.insert("cpu".into(), Value::Object(cpu));
        }
        if let Some(p) = self.pids_limit {
            r.insert("pids".into(), json!({"limit": p}));
        }
        if let Some(w) = self.blkio_weight {
            r.insert("blockIO".into(), json!({"weight": w}));
        }
        if r.is_empty() {
            return Err(Error::InvalidConfig("update needs --resources or at least one resource flag".into()));
        }
        serde_json::from_value(Value::Object(r)).map_err(|e| Error::InvalidConfig(format!("resources: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("512m").expect("m"), 512 << 20);
        assert_eq!(parse_bytes("1g").expect("g"), 1 << 30);
        assert_eq!(parse_bytes("1024").expect("n"), 1024);
        assert_eq!(parse_bytes("-1").expect("-1"), -1);
        assert!(parse_bytes("lots").is_err());
    }
}
