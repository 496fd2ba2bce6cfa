//! Resource limits (`process.rlimits`): checked against the runtime's own hard limits before
//! anything is created, applied in the container's init.

use oci_spec::runtime::{PosixRlimit, PosixRlimitType};
use rustix::process::{Resource, Rlimit};

use crate::error::Error;

fn resource(t: PosixRlimitType) -> Resource {
    use PosixRlimitType as T;
    match t {
        T::RlimitCpu => Resource::Cpu,
        T::RlimitFsize => Resource::Fsize,
        T::RlimitData => Resource::Data,
        T::RlimitStack => Resource::Stack,
        T::RlimitCore => Resource::Core,
        T::RlimitRss => Resource::Rss,
        T::RlimitNproc => Resource::Nproc,
        T::RlimitNofile => Resource::Nofile,
        T::RlimitMemlock => Resource::Memlock,
        T::RlimitAs => Resource::As,
        T::RlimitLocks => Resource::Locks,
        T::RlimitSigpending => Resource::Sigpending,
        T::RlimitMsgqueue => Resource::Msgqueue,
        T::RlimitNice => Resource::Nice,
        T::RlimitRtprio => Resource::Rtprio,
        T::RlimitRttime => Resource::Rttime,
    }
}

fn name(t: PosixRlimitType) -> String {
    serde_json::to_value(t).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| format!("{t:?}"))
}

/// Refuses limits the container could not get: soft above hard, or a hard limit above the one
/// this runtime holds itself (raising it would need privileges the caller may not mean to use).
pub fn check(limits: &[PosixRlimit]) -> Result<(), Error> {
    let mut seen = Vec::new();
    for l in limits {
        let n = name(l.typ());
        if seen.contains(&l.typ()) {
            return Err(Error::InvalidConfig(format!("rlimit {n} is listed twice")));
        }
        seen.push(l.typ());
        if l.soft() > l.hard() {
            return Err(Error::InvalidConfig(format!("rlimit {n}: soft limit {} is above hard limit {}", l.soft(), l.hard())));
        }
        let own = rustix::process::getrlimit(resource(l.typ()));
        if let Some(max) = own.maximum {
            if l.hard() > max {
                return Err(Error::InvalidConfig(format!(
                    "rlimit {n}: hard limit {} is above the runtime's own hard limit {max}; lower it or raise the caller's limit",
                    l.hard()
                )));
            }
        }
    }
    Ok(())
}

fn as_limit(v: u64) -> Option<u64> {
    if v == u64::MAX { None } else { Some(v) }
}

/// Sets every limit on the calling process (the container's init, before execve).
pub fn apply(limits: &[PosixRlimit]) -> std::io::Result<()> {
    for l in limits {
        rustix::process::setrlimit(
            resource(l.typ()),
            Rlimit { current: as_limit(l.soft()), maximum: as_limit(l.hard()) },
        )
        .map_err(|e| std::io::Error::other(format!("setrlimit {}: {}", name(l.typ()), std::io::Error::from(e))))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(json: &str) -> Vec<PosixRlimit> {
        serde_json::from_str(json).expect("test json")
    }

    #[test]
    fn limits_above_our_own_hard_limit_are_refused_by_name() {
        let own = rustix::process::getrlimit(Resource::Nofile).maximum.expect("nofile is finite");
        let l = lim(&format!(r#"[{{"type":"RLIMIT_NOFILE","soft":10,"hard":{}}}]"#, own + 1));
        let err = check(&l).expect_err("above hard").to_string();
        assert!(err.contains("RLIMIT_NOFILE") && err.contains("hard limit"), "{err}");
        assert!(check(&lim(r#"[{"type":"RLIMIT_NOFILE","soft":10,"hard":20}]"#)).is_ok());
        assert!(check(&lim(r#"[{"type":"RLIMIT_CORE","soft":30,"hard":20}]"#)).is_err());
    }
}
