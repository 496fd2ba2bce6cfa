//! Capabilities: the five sets of `process.capabilities` turned into the `caps` crate's sets and
//! applied in the order the kernel needs (bounding first, ambient last).

use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::LinuxCapabilities;

/// The sets to apply, parsed once in the parent.
#[derive(Debug, Default, Clone)]
pub struct CapPlan {
    pub bounding: CapsHashSet,
    pub effective: CapsHashSet,
    pub permitted: CapsHashSet,
    pub inheritable: CapsHashSet,
    pub ambient: CapsHashSet,
    /// Every capability this kernel knows.
    pub supported: CapsHashSet,
}

fn convert(set: &Option<oci_spec::runtime::Capabilities>, supported: &CapsHashSet) -> CapsHashSet {
    set.iter()
        .flatten()
        .filter_map(|c| format!("CAP_{c}").parse::<Capability>().ok())
        // A capability this kernel does not know is skipped, as runc does.
        .filter(|c| supported.contains(c))
        .collect()
}

/// The five sets as bit masks (bit N = capability N): how the plan crosses the init's
/// re-execution.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct CapMasks {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
    pub supported: u64,
}

fn mask(set: &CapsHashSet) -> u64 {
    set.iter().fold(0u64, |acc, c| acc | 1u64 << c.index())
}

fn unmask(m: u64) -> CapsHashSet {
    caps::all().into_iter().filter(|c| m & (1u64 << c.index()) != 0).collect()
}

impl From<&CapPlan> for CapMasks {
    fn from(p: &CapPlan) -> Self {
        CapMasks {
            bounding: mask(&p.bounding),
            effective: mask(&p.effective),
            permitted: mask(&p.permitted),
            inheritable: mask(&p.inheritable),
            ambient: mask(&p.ambient),
            supported: mask(&p.supported),
        }
    }
}

impl From<CapMasks> for CapPlan {
    fn from(m: CapMasks) -> Self {
        CapPlan {
            bounding: unmask(m.bounding),
            effective: unmask(m.effective),
            permitted: unmask(m.permitted),
            inheritable: unmask(m.inheritable),
            ambient: unmask(m.ambient),
            supported: unmask(m.supported),
        }
    }
}

impl CapPlan {
    pub fn from_spec(c: Option<&LinuxCapabilities>) -> Self {
        // Probing what the kernel supports costs one prctl per capability: do it once.
        let supported = caps::runtime::thread_all_supported();
        let mut plan = match c {
            None => CapPlan::default(),
            Some(c) => CapPlan {
                bounding: convert(c.bounding(), &supported),
                effective: convert(c.effective(), &supported),
                permitted: convert(c.permitted(), &supported),
                inheritable: convert(c.inheritable(), &supported),
                ambient: convert(c.ambient(), &supported),
                supported: CapsHashSet::new(),
            },
        };
        plan.supported = supported;
        plan
    }

    /// Drops from the bounding set what the container may not have. Needs CAP_SETPCAP, so it
    /// runs while the init still holds every capability.
    pub fn apply_bounding(&self) -> Result<(), caps::errors::CapsError> {
        for cap in self.supported.difference(&self.bounding) {
            caps::drop(None, CapSet::Bounding, *cap)?;
        }
        Ok(())
    }

    /// Sets effective, permitted and inheritable in one capset (set one at a time, an
    /// intermediate state such as "effective not within permitted" would be refused), then
    /// ambient. Runs after the uid change.
    pub fn apply_rest(&self) -> Result<(), caps::errors::CapsError> {
        let bits = |set: &CapsHashSet| rustix::thread::CapabilitySet::from_bits_retain(mask(set));
        let sets = rustix::thread::CapabilitySets {
            effective: bits(&self.effective),
            permitted: bits(&self.permitted),
            inheritable: bits(&self.inheritable),
        };
        rustix::thread::set_capabilities(None, sets)
            .map_err(|e| caps::errors::CapsError::from(format!("capset: {}", std::io::Error::from(e))))?;
        caps::clear(None, CapSet::Ambient)?;
        for cap in &self.ambient {
            // Raising an ambient capability needs it in permitted and inheritable; runc
            // skips the ones that fail, and so do we.
            let _ = caps::raise(None, CapSet::Ambient, *cap);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_round_trip() {
        let mut p = CapPlan::default();
        p.bounding.insert(Capability::CAP_CHOWN);
        p.bounding.insert(Capability::CAP_SYS_ADMIN);
        p.ambient.insert(Capability::CAP_NET_RAW);
        let m = CapMasks::from(&p);
        assert_eq!(m.bounding, 1 << 0 | 1 << 21);
        let back = CapPlan::from(m);
        assert_eq!(back.bounding, p.bounding);
        assert_eq!(back.ambient, p.ambient);
    }
}
