//! `GET /containers/{id}/stats`: Docker's stats JSON, one object per second when streaming.
//!
//! Unlike the rest of the API these names are snake_case. The shape is the same on cgroup v1 and
//! v2 hosts, but what is filled differs: on v2, `memory_stats.max_usage`/`failcnt`,
//! `cpu_usage.percpu_usage` and all `blkio_stats` lists except `io_service_bytes_recursive` and
//! `io_serviced_recursive` are absent or `null`, and `memory_stats.stats` carries v2's keys
//! (`anon`, `file`, `inactive_file`, ...) instead of v1's (`cache`, `total_inactive_file`, ...).
//! The docker CLI computes "MEM USAGE" as `usage - stats.inactive_file` (v2) or
//! `usage - stats.total_inactive_file` (v1), so those keys matter.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One stats sample.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerStats {
    /// With the leading slash: `/web`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// RFC 3339 with nanoseconds.
    pub read: String,
    /// Time of the previous sample; Go's zero time `0001-01-01T00:00:00Z` for the first one.
    pub preread: String,
    #[serde(default)]
    pub pids_stats: PidsStats,
    #[serde(default)]
    pub blkio_stats: BlkioStats,
    /// Windows only; 0 on Linux.
    #[serde(default)]
    pub num_procs: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_stats: Option<BTreeMap<String, u64>>,
    #[serde(default)]
    pub cpu_stats: CpuStats,
    /// The previous sample's `cpu_stats`; all zero for the first one (and with `one-shot=1`).
    #[serde(default)]
    pub precpu_stats: CpuStats,
    #[serde(default)]
    pub memory_stats: MemoryStats,
    /// Interface name (`eth0`) → counters; absent for `--network none`/`host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networks: Option<BTreeMap<String, NetworkStats>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidsStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<u64>,
    /// Absent when unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// Each list is `null` when the host does not provide it (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioStats {
    #[serde(default)]
    pub io_service_bytes_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_serviced_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_queue_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_service_time_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_wait_time_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_merged_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_time_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub sectors_recursive: Option<Vec<BlkioStatEntry>>,
}

/// `{"major":8,"minor":0,"op":"read","value":4096}`; `op` is capitalised on v1 (`Read`),
/// lower case on v2 (`read`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioStatEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuStats {
    #[serde(default)]
    pub cpu_usage: CpuUsage,
    /// Host CPU time in nanoseconds (from /proc/stat), all CPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_cpu_usage: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online_cpus: Option<u32>,
    #[serde(default)]
    pub throttling_data: ThrottlingData,
}

/// Nanoseconds of CPU time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuUsage {
    pub total_usage: u64,
    /// cgroup v1 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percpu_usage: Option<Vec<u64>>,
    pub usage_in_kernelmode: u64,
    pub usage_in_usermode: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottlingData {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time: u64,
}

/// Bytes. `usage` and `limit` are present on both cgroup versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<u64>,
    /// cgroup v1 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_usage: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<BTreeMap<String, u64>>,
    /// cgroup v1 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failcnt: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::round_trip;

    /// The shape dockerd 28 answers on a cgroup v2 host.
    const V2: &str = r#"{"name":"/web","id":"4fa6e0f0c678","read":"2025-01-16T13:55:22.165243637Z",
      "preread":"2025-01-16T13:55:21.160452595Z",
      "pids_stats":{"current":5,"limit":18446744073709551615},
      "blkio_stats":{"io_service_bytes_recursive":[{"major":254,"minor":0,"op":"read","value":7593984},
        {"major":254,"minor":0,"op":"write","value":100}],"io_serviced_recursive":null,"io_queue_recursive":null,
        "io_service_time_recursive":null,"io_wait_time_recursive":null,"io_merged_recursive":null,
        "io_time_recursive":null,"sectors_recursive":null},
      "num_procs":0,"storage_stats":{},
      "cpu_stats":{"cpu_usage":{"total_usage":29912000,"usage_in_kernelmode":21994000,"usage_in_usermode":7918000},
        "system_cpu_usage":5007090000000,"online_cpus":8,"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},
      "precpu_stats":{"cpu_usage":{"total_usage":29912000,"usage_in_kernelmode":21994000,"usage_in_usermode":7918000},
        "system_cpu_usage":4999080000000,"online_cpus":8,"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},
      "memory_stats":{"usage":11096064,"stats":{"anon":360448,"file":10256384,"inactive_file":7626752},"limit":8217579520},
      "networks":{"eth0":{"rx_bytes":5338,"rx_packets":36,"rx_errors":0,"rx_dropped":0,"tx_bytes":648,
        "tx_packets":8,"tx_errors":0,"tx_dropped":0}}}"#;

    /// A cgroup v1 sample: percpu_usage, max_usage, failcnt, capitalised blkio ops.
    const V1: &str = r#"{"read":"2025-01-16T13:55:22.165243637Z","preread":"0001-01-01T00:00:00Z",
      "pids_stats":{"current":1},
      "blkio_stats":{"io_service_bytes_recursive":[{"major":8,"minor":0,"op":"Read","value":4096}],
        "io_serviced_recursive":[],"io_queue_recursive":[],"io_service_time_recursive":[],"io_wait_time_recursive":[],
        "io_merged_recursive":[],"io_time_recursive":[],"sectors_recursive":[]},
      "num_procs":0,
      "cpu_stats":{"cpu_usage":{"total_usage":100,"percpu_usage":[60,40],"usage_in_kernelmode":10,"usage_in_usermode":90},
        "system_cpu_usage":1000,"online_cpus":2,"throttling_data":{"periods":1,"throttled_periods":0,"throttled_time":0}},
      "precpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},
        "throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},
      "memory_stats":{"usage":6537216,"max_usage":6651904,"stats":{"cache":0,"total_inactive_file":4096},"failcnt":0,"limit":67108864}}"#;

    #[test]
    fn cgroup_v2_sample_round_trips() {
        let s: ContainerStats = round_trip(V2);
        assert_eq!(s.pids_stats.limit, Some(u64::MAX));
        assert_eq!(s.cpu_stats.online_cpus, Some(8));
        assert_eq!(
            s.memory_stats.stats.as_ref().unwrap()["inactive_file"],
            7626752
        );
        assert_eq!(
            s.blkio_stats.io_service_bytes_recursive.as_ref().unwrap()[1].op,
            "write"
        );
        assert!(s.blkio_stats.sectors_recursive.is_none());
        assert_eq!(s.networks.as_ref().unwrap()["eth0"].rx_packets, 36);
    }

    #[test]
    fn cgroup_v1_sample_round_trips() {
        let s: ContainerStats = round_trip(V1);
        assert_eq!(
            s.cpu_stats.cpu_usage.percpu_usage.as_deref(),
            Some(&[60, 40][..])
        );
        assert_eq!(s.memory_stats.max_usage, Some(6651904));
        assert!(s.networks.is_none());
        assert!(s.precpu_stats.system_cpu_usage.is_none());
    }
}
