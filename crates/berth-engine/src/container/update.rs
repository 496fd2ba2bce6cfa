//! `POST /containers/{id}/update` (docker update): resource limits and the restart policy of a
//! container, applied to its cgroup at once when it runs and recorded for its next start.

use berth_api_types::container::{ContainerUpdate, ContainerUpdateResponse, Resources};

use super::spec::{self, listed};
use super::Restart;
use crate::error::{Error, Result};
use crate::policy::Principal;
use crate::Engine;

/// Copies every limit `from` sets onto `to`; refuses options `update` cannot change.
fn merge(to: &mut Resources, from: &Resources) -> Result<()> {
    if let Some(what) = spec::unsupported_limit(from) {
        return Err(Error::NotImplemented(what.to_owned()));
    }
    if listed(&from.devices) || listed(&from.device_cgroup_rules) || listed(&from.device_requests) || listed(&from.ulimits) || from.cgroup_parent.as_deref().is_some_and(|c| !c.is_empty()) {
        return Err(Error::InvalidParameter("docker update changes resource limits and the restart policy only; devices, ulimits and the cgroup parent are fixed at create".into()));
    }
    macro_rules! take {
        ($($f:ident),*) => { $( if from.$f.is_some() { to.$f = from.$f.clone(); } )* };
    }
    take!(memory, memory_reservation, memory_swap, memory_swappiness, nano_cpus, cpu_shares, cpu_quota, cpu_period, cpuset_cpus, cpuset_mems, pids_limit, oom_kill_disable, blkio_weight);
    // A new --cpus replaces a quota and the reverse, as in Docker.
    if from.nano_cpus.is_some_and(|n| n > 0) {
        to.cpu_quota = None;
        to.cpu_period = None;
    } else if from.cpu_quota.is_some_and(|q| q > 0) || from.cpu_period.is_some_and(|p| p > 0) {
        to.nano_cpus = None;
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
        merge(&mut host.resources, &upd.resources)?;
        let mut warnings = Vec::new();
        if upd.resources.blkio_weight.is_some_and(|w| w != 0) && !spec::blkio_weight_supported(self.pure_cgroup2) {
            spec::limits(&upd.resources)?;
            host.resources.blkio_weight = Some(0);
            warnings.push(spec::BLKIO_WEIGHT_DISCARDED.to_owned());
        }
        let limits = spec::limits(&host.resources)?;
        if let Some(p) = &upd.restart_policy {
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
        merge(&mut r, &Resources { nano_cpus: Some(1_500_000_000), pids_limit: Some(10), ..Default::default() }).expect("merge");
        assert_eq!((r.memory, r.nano_cpus, r.cpu_quota, r.pids_limit), (Some(64 << 20), Some(1_500_000_000), None, Some(10)));
        merge(&mut r, &Resources { blkio_weight: Some(300), ..Default::default() }).expect("merge");
        assert_eq!(r.blkio_weight, Some(300));
        let e = merge(&mut r, &Resources { blkio_weight_device: Some(vec![Default::default()]), ..Default::default() }).expect_err("per-device weights");
        assert_eq!(e.kind(), crate::ErrorKind::NotImplemented);
        assert!(merge(&mut r, &Resources { ulimits: Some(vec![Default::default()]), ..Default::default() }).is_err());
    }
}
