//! `GET /containers/{id}/stats`: a sample of the container's cgroup in Docker's shape (the
//! runtime's read-only stats API does the reading, for v1, v2 and hybrid hosts alike).

use std::collections::BTreeMap;

use berth_api_types::container::stats::{BlkioStatEntry, BlkioStats, ContainerStats, CpuStats, CpuUsage, MemoryStats, NetworkStats, PidsStats, ThrottlingData};

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
pub fn docker_shape(s: &berth_runtime::cgroups::stats::Stats, machine_memory: u64, v1_blkio: bool) -> ContainerStats {
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
        if v1_blkio {
            // dockerd reads the other v1 lists too, empty where the kernel keeps none (the
            // CFQ ones): lists, not nulls.
            let b = &mut out.blkio_stats;
            for l in [&mut b.io_queue_recursive, &mut b.io_service_time_recursive, &mut b.io_wait_time_recursive, &mut b.io_merged_recursive, &mut b.io_time_recursive, &mut b.sectors_recursive] {
                *l = Some(Vec::new());
            }
        }
    }
    out
}

/// Per-interface counters of a `/proc/<pid>/net/dev` text, loopback left out (Docker's
/// `networks`).
fn parse_net_dev(text: &str) -> BTreeMap<String, NetworkStats> {
    let mut out = BTreeMap::new();
    for line in text.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else { continue };
        let name = name.trim();
        let v: Vec<u64> = counters.split_whitespace().filter_map(|c| c.parse().ok()).collect();
        if name == "lo" || v.len() < 12 {
            continue;
        }
        let s = NetworkStats { rx_bytes: v[0], rx_packets: v[1], rx_errors: v[2], rx_dropped: v[3], tx_bytes: v[8], tx_packets: v[9], tx_errors: v[10], tx_dropped: v[11] };
        out.insert(name.to_owned(), s);
    }
    out
}

impl Engine {
    /// One sample; zeros (with the time) when the container does not run, as Docker answers.
    pub async fn stats(&self, principal: &Principal, key: &str) -> Result<ContainerStats> {
        let ctr = self.find(principal, key)?;
        let (name, live, runtime, pid, host_net) = {
            let r = ctr.rec();
            let host_net = r.host_config.network_mode.as_deref() == Some("host");
            (format!("/{}", r.name), r.state.status.is_live(), r.host_config.runtime.clone(), r.state.pid, host_net)
        };
        let mut out = if live {
            match self.with_backend(runtime.as_deref(), &ctr.id, |rt, id| rt.stats(id)).await? {
                Ok(s) => docker_shape(&s, crate::system::machine_memory(), !self.pure_cgroup2),
                // It ended between the check and the read.
                Err(_) => ContainerStats::default(),
            }
        } else {
            ContainerStats::default()
        };
        // The interfaces of the container's own network namespace (the host's are not its).
        if live && pid > 0 && !host_net {
            let nets = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).map(|t| parse_net_dev(&t)).unwrap_or_default();
            out.networks = (!nets.is_empty()).then_some(nets);
        }
        out.name = Some(name);
        out.id = Some(ctr.id.clone());
        out.read = crate::time::now();
        out.preread = crate::container::record::ZERO_TIME.into();
        out.num_procs = 0;
        // Windows' counters; an empty object on Linux, as dockerd sends it.
        out.storage_stats = Some(BTreeMap::new());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use berth_runtime::cgroups::stats::{MemoryStats, Stats};

    #[test]
    fn interfaces_come_from_net_dev_without_loopback() {
        let text = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0\n  eth0:    5338      36    1    2    0     0          0         0      648       8    3    4    0     0       0          0\n";
        let n = super::parse_net_dev(text);
        assert_eq!(n.keys().collect::<Vec<_>>(), ["eth0"]);
        let e = &n["eth0"];
        assert_eq!((e.rx_bytes, e.rx_packets, e.rx_errors, e.rx_dropped, e.tx_bytes, e.tx_packets, e.tx_errors, e.tx_dropped), (5338, 36, 1, 2, 648, 8, 3, 4));
    }

    #[test]
    fn no_memory_limit_shows_the_machines_memory() {
        let with_limit = |limit| {
            let mut s = Stats { memory: Some(MemoryStats::default()), ..Default::default() };
            s.memory.as_mut().expect("memory").usage.limit = limit;
            super::docker_shape(&s, 8 << 30, true).memory_stats.limit
        };
        assert_eq!(with_limit(9_223_372_036_854_771_712), Some(8 << 30));
        assert_eq!(with_limit(64 << 20), Some(64 << 20));
    }
}
