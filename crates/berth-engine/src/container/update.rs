//! `POST /containers/{id}/update` (docker update): resource limits and the restart policy of a
//! container, applied to its cgroup at once when it runs and recorded for its next start.

use berth_api_types::container::{ContainerUpdate, ContainerUpdateResponse, Resources};

use super::spec::{self, listed};
use super::Restart;
use crate::error::{Error, Result};
use crate::policy::Principal;
use crate::Engine;

/// Applies the limits `from` sets onto `to`, as dockerd does: a number only when not zero, a
/// CPU set only when not empty, the pids limit when given (the docker CLI sends every field,
/// zero for those not asked for). Refuses options `update` cannot change, and a `--cpus`
/// where a period or quota is set (or the reverse), with dockerd's messages.
fn merge(to: &mut Resources, from: &Resources) -> Result<()> {
    if let Some(what) = spec::unsupported_limit(from) {
        return Err(Error::NotImplemented(what.to_owned()));
    }
    if listed(&from.devices) || listed(&from.device_cgroup_rules) || listed(&from.device_requests) || listed(&from.ulimits) || from.cgroup_parent.as_deref().is_some_and(|c| !c.is_empty()) {
        return Err(Error::InvalidParameter("docker update changes resource limits and the restart policy only; devices, ulimits and the cgroup parent are fixed at create".into()));
    }
    let set = |v: Option<i64>| v.filter(|n| *n != 0);
    let has = |v: Option<i64>| v.is_some_and(|n| n > 0);
    let conflict = |what: &str| Err(Error::Conflict(format!("Conflicting options: {what}")));
    if has(from.nano_cpus) && has(to.cpu_period) {
        return conflict("Nano CPUs cannot be updated as CPU Period has already been set");
    }
    if has(from.nano_cpus) && has(to.cpu_quota) {
        return conflict("Nano CPUs cannot be updated as CPU Quota has already been set");
    }
    if has(from.cpu_period) && has(to.nano_cpus) {
        return conflict("CPU Period cannot be updated as NanoCPUs has already been set");
    }
    if has(from.cpu_quota) && has(to.nano_cpus) {
        return conflict("CPU Quota cannot be updated as NanoCPUs has already been set");
    }
    if let Some(m) = set(from.memory) {
        if has(to.memory_swap) && m > to.memory_swap.unwrap_or(0) && set(from.memory_swap).is_none() {
            return conflict("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time");
        }
        to.memory = Some(m);
    }
    macro_rules! nonzero {
        ($($f:ident),*) => { $( if let Some(v) = set(from.$f) { to.$f = Some(v); } )* };
    }
    nonzero!(memory_swap, memory_reservation, nano_cpus, cpu_shares, cpu_quota, cpu_period);
    if let Some(w) = from.blkio_weight.filter(|w| *w != 0) {
        to.blkio_weight = Some(w);
    }
    for (to, from) in [(&mut to.cpuset_cpus, &from.cpuset_cpus), (&mut to.cpuset_mems, &from.cpuset_mems)] {
        if let Some(v) = from.as_ref().filter(|v| !v.is_empty()) {
            *to = Some(v.clone());
        }
    }
    if from.pids_limit.is_some() {
        to.pids_limit = from.pids_limit;
    }
    Ok(())
}

impl Engine {
    /// `POST /containers/{id}/update`.
    pub async fn update(&self, principal: &Principal, key: &str, upd: &ContainerUpdate) -> Result<ContainerUpdateResponse> {
        let ctr = self.find(principal, key)?;
        let _op = ctr.op.lock().await;
        let (mut host, live) = {
            let r = ctr.rec();
            (r.host_config.clone(), r.state.status.is_live())
        };
        merge(&mut host.resources, &upd.resources).map_err(|e| match e {
            Error::Conflict(why) => Error::Conflict(format!("Cannot update container {}: {why}", ctr.id)),
            e => e,
        })?;
        let mut warnings = Vec::new();
        if upd.resources.blkio_weight.is_some_and(|w| w != 0) && !spec::blkio_weight_supported(self.pure_cgroup2) {
            spec::limits(&upd.resources)?;
            host.resources.blkio_weight = Some(0);
            warnings.push(spec::BLKIO_WEIGHT_DISCARDED.to_owned());
        }
        let limits = spec::limits(&host.resources)?;
        // The docker CLI always sends a policy; an empty name leaves the container's.
        if let Some(p) = upd.restart_policy.as_ref().filter(|p| !p.name.as_deref().unwrap_or("").is_empty()) {
            Restart::of(Some(p))?;
            if host.auto_remove == Some(true) && !matches!(p.name.as_deref(), None | Some("") | Some("no")) {
                return Err(Error::InvalidParameter("Restart policy cannot be updated because AutoRemove is enabled for the container".into()));
            }
            host.restart_policy = Some(p.clone());
        }
        if live {
            let resources: oci_spec::runtime::LinuxResources = serde_json::from_value(serde_json::Value::Object(limits))
                .map_err(|e| Error::Internal(format!("limits of container {}: {e}", ctr.id)))?;
            self.with_backend(host.runtime.as_deref(), &ctr.id, move |rt, id| rt.update(id, &resources))
                .await?
                .map_err(|e| Error::InvalidParameter(format!("Cannot update container {}: {}", ctr.id, crate::error::chain(&e))))?;
        }
        {
            let mut r = ctr.rec();
            let old = std::mem::replace(&mut r.host_config, host);
            if let Err(e) = r.save(&self.cfg.containers_dir()) {
                r.host_config = old;
                return Err(e);
            }
        }
        self.container_event(&ctr, "update", &[]);
        Ok(ContainerUpdateResponse { warnings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_merge_like_dockers() {
        let mut r = Resources { memory: Some(64 << 20), cpu_quota: Some(50_000), ..Default::default() };
        // what the docker CLI sends for `update --pids-limit 10`: zeros for the rest
        let zeros = Resources { memory: Some(0), memory_swap: Some(0), cpu_quota: Some(0), cpu_shares: Some(0), cpuset_cpus: Some(String::new()), pids_limit: Some(10), ..Default::default() };
        merge(&mut r, &zeros).expect("merge");
        assert_eq!((r.memory, r.cpu_quota, r.pids_limit), (Some(64 << 20), Some(50_000), Some(10)));
        // --cpus where a quota is set: dockerd's conflict
        let e = merge(&mut r, &Resources { nano_cpus: Some(1_500_000_000), ..Default::default() }).expect_err("conflict");
        assert_eq!(e.kind(), crate::ErrorKind::Conflict);
        merge(&mut r, &Resources { blkio_weight: Some(300), ..Default::default() }).expect("merge");
        assert_eq!(r.blkio_weight, Some(300));
        let e = merge(&mut r, &Resources { blkio_weight_device: Some(vec![Default::default()]), ..Default::default() }).expect_err("per-device weights");
        assert_eq!(e.kind(), crate::ErrorKind::NotImplemented);
        assert!(merge(&mut r, &Resources { ulimits: Some(vec![Default::default()]), ..Default::default() }).is_err());
    }
}
