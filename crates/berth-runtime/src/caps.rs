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
        let bits = |set: &CapsHashSet| {
            rustix::thread::CapabilitySet::from_bits_retain(set.iter().fold(0u64, |acc, c| acc | 1u64 << c.index()))
        };
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
