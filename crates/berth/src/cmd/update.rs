//! `update`: a running or stopped container's resources and restart policy.

use berth_api_types::container::{ContainerUpdate, ContainerUpdateResponse};
use clap::Args;
use http::Method;

use super::options::{ram_in_bytes, restart_policy};
use crate::client::{p, Client};
use crate::error::{CliError, Result};

#[derive(Debug, Args)]
#[command(override_usage = "berth update [OPTIONS] CONTAINER [CONTAINER...]")]
pub struct UpdateArgs {
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable
    #[arg(long = "blkio-weight", value_name = "uint16")]
    pub blkio_weight: Option<u16>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", value_name = "int")]
    pub cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", value_name = "int", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "int")]
    pub cpu_shares: Option<i64>,
    /// Number of CPUs
    #[arg(long, value_name = "decimal")]
    pub cpus: Option<f64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "string")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems", value_name = "string")]
    pub cpuset_mems: Option<String>,
    /// Memory limit
    #[arg(short = 'm', long, value_name = "bytes")]
    pub memory: Option<String>,
    /// Memory soft limit
    #[arg(long = "memory-reservation", value_name = "bytes")]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "bytes", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "int", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Restart policy to apply when a container exits
    #[arg(long, value_name = "string")]
    pub restart: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

impl UpdateArgs {
    fn body(&self) -> Result<ContainerUpdate> {
        let mem = |flag: &str, v: &Option<String>| -> Result<Option<i64>> {
            v.as_ref()
                .map(|s| if s == "-1" { Ok(-1) } else { ram_in_bytes(s) })
                .transpose()
                .map_err(|e| CliError::new(format!("invalid argument {:?} for \"--{flag}\" flag: {e}", v.as_deref().unwrap_or(""))))
        };
        let mut u = ContainerUpdate::default();
        let r = &mut u.resources;
        r.blkio_weight = self.blkio_weight;
        r.cpu_period = self.cpu_period;
        r.cpu_quota = self.cpu_quota;
        r.cpu_shares = self.cpu_shares;
        r.nano_cpus = self.cpus.map(|c| (c * 1e9).round() as i64);
        r.cpuset_cpus = self.cpuset_cpus.clone();
        r.cpuset_mems = self.cpuset_mems.clone();
        r.memory = mem("memory", &self.memory)?;
        r.memory_reservation = mem("memory-reservation", &self.memory_reservation)?;
        r.memory_swap = mem("memory-swap", &self.memory_swap)?;
        r.pids_limit = self.pids_limit;
        u.restart_policy = self.restart.as_deref().map(restart_policy).transpose().map_err(CliError::new)?;
        if u == ContainerUpdate::default() {
            return Err(CliError::new("you must provide one or more flags when using this command"));
        }
        Ok(u)
    }
}

pub async fn update(client: &Client, a: &UpdateArgs) -> Result<i32> {
    let body = serde_json::to_vec(&a.body()?).expect("an update serializes");
    let mut errors = Vec::new();
    for c in &a.containers {
        match client.json::<ContainerUpdateResponse>(Method::POST, &format!("/containers/{}/update", p(c)), Some(body.clone())).await {
            Ok(r) => {
                for w in r.warnings {
                    eprintln!("WARNING: {w}");
                }
                println!("{c}");
            }
            Err(e) => errors.push(e.message),
        }
    }
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(CliError::new(errors.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        u: UpdateArgs,
    }

    #[test]
    fn update_bodies() {
        let t = T::try_parse_from(["x", "-m", "32m", "--cpus", "0.5", "--restart", "on-failure:2", "web"]).unwrap();
        let b = t.u.body().unwrap();
        assert_eq!((b.resources.memory, b.resources.nano_cpus), (Some(32 << 20), Some(500_000_000)));
        assert_eq!(b.restart_policy.unwrap().maximum_retry_count, Some(2));
        let t = T::try_parse_from(["x", "web"]).unwrap();
        assert!(t.u.body().unwrap_err().message.contains("one or more flags"));
    }
}
