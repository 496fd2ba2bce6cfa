//! `GET /containers/{id}/stats`: a sample of the container's cgroup in Docker's shape (the
//! runtime's read-only stats API does the reading, for v1, v2 and hybrid hosts alike).

use berth_api_types::container::stats::{BlkioStatEntry, BlkioStats, ContainerStats, CpuStats, CpuUsage, MemoryStats, PidsStats, ThrottlingData};

use crate::error::Result;
use crate::policy::Principal;
use crate::Engine;

/// The host's CPU time in nanoseconds, as Docker's `system_cpu_usage` (from /proc/stat).
fn system_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: u64 = line.split_whitespace().skip(1).take(7).filter_map(|v| v.parse::<u64>().ok()).sum();
    // USER_HZ is 100 on every Linux architecture Docker supports.
    Some(ticks * 10_000_000)
}

/// Converts the runtime's sample into Docker's shape. A memory limit above the machine's
/// memory (none set) is shown as the machine's memory, as dockerd does.
pub fn docker_shape(s: &berth_runtime::cgroups::stats::Stats, machine_memory: u64) -> ContainerStats {
    let mut out = ContainerStats::default();
    if let Some(c) = &s.cpu {
        out.cpu_stats = CpuStats {
            cpu_usage: CpuUsage {
                total_usage: c.total_ns,
                percpu_usage: (!c.per_cpu_ns.is_empty()).then(|| c.per_cpu_ns.clone()),
                usage_in_kernelmode: c.system_ns,
                usage_in_usermode: c.user_ns,
            },
            system_cpu_usage: system_cpu_ns(),
            online_cpus: std::thread::available_parallelism().ok().map(|n| n.get() as u32),
            throttling_data: ThrottlingData { periods: c.throttling.periods, throttled_periods: c.throttling.throttled_periods, throttled_time: c.throttling.throttled_time_ns },
        };
    }
    if let Some(m) = &s.memory {
        out.memory_stats = MemoryStats {
            usage: Some(m.usage.usage),
            max_usage: (m.usage.max_usage > 0).then_some(m.usage.max_usage),
            stats: Some(m.stat.clone()),
            failcnt: (m.usage.failcnt > 0).then_some(m.usage.failcnt),
            limit: Some(if machine_memory > 0 && m.usage.limit > machine_memory { machine_memory } else { m.usage.limit }),
        };
    }
    if let Some(p) = &s.pids {
        out.pids_stats = PidsStats { current: Some(p.current), limit: p.limit };
    }
    if let Some(b) = &s.blkio {
        let conv = |v: &[berth_runtime::cgroups::stats::BlkioEntry]| v.iter().map(|e| BlkioStatEntry { major: e.major, minor: e.minor, op: e.op.clone(), value: e.value }).collect::<Vec<_>>();
        out.blkio_stats = BlkioStats { io_service_bytes_recursive: Some(conv(&b.io_service_bytes_recursive)), io_serviced_recursive: Some(conv(&b.io_serviced_recursive)), ..Default::default() };
    }
    out
}

impl Engine {
    /// One sample; zeros (with the time) when the container does not run, as Docker answers.
    pub async fn stats(&self, principal: &Principal, key: &str) -> Result<ContainerStats> {
        let ctr = self.find(principal, key)?;
        let (name, live, runtime) = {
            let r = ctr.rec();
            (format!("/{}", r.name), r.state.status.is_live(), r.host_config.runtime.clone())
        };
        let mut out = if live {
            match self.with_backend(runtime.as_deref(), &ctr.id, |rt, id| rt.stats(id)).await? {
                Ok(s) => docker_shape(&s, crate::system::machine_memory()),
                // It ended between the check and the read.
                Err(_) => ContainerStats::default(),
            }
        } else {
            ContainerStats::default()
        };
        out.name = Some(name);
        out.id = Some(ctr.id.clone());
        out.read = crate::time::now();
        out.preread = crate::container::record::ZERO_TIME.into();
        out.num_procs = 0;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use berth_runtime::cgroups::stats::{MemoryStats, Stats};

    #[test]
    fn no_memory_limit_shows_the_machines_memory() {
        let with_limit = |limit| {
            let mut s = Stats { memory: Some(MemoryStats::default()), ..Default::default() };
            s.memory.as_mut().expect("memory").usage.limit = limit;
            super::docker_shape(&s, 8 << 30).memory_stats.limit
        };
        assert_eq!(with_limit(9_223_372_036_854_771_712), Some(8 << 30));
        assert_eq!(with_limit(64 << 20), Some(64 << 20));
    }
}
