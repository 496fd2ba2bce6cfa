//! Principals and what each may do: the only place such decisions are made.
//!
//! Every request reaches the engine with the [`Principal`] of the socket it came in on. Today
//! only the host's admin socket exists, and the admin may do everything; a container's scoped
//! socket (a later issue) will be [`Principal::Container`], which sees only the containers it
//! created and may not ask for more than it holds. The rules for it are written here already,
//! so that the engine calls them at every operation and nothing needs rewiring later.

use std::fmt;

use berth_api_types::container::HostConfig;

use crate::error::{Error, Result};

/// Who a request acts for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Principal {
    /// The host's admin socket: root on the host.
    Admin,
    /// A container's own scoped socket: acts for that container (its full id).
    Container(String),
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Admin => f.write_str("admin"),
            Principal::Container(id) => write!(f, "container:{}", &id[..id.len().min(12)]),
        }
    }
}

/// Whether `principal` may see (and so act on) an object created by `owner`. A principal that
/// may not gets the same "no such" error as for a missing object.
pub fn can_see(principal: &Principal, owner: &Principal) -> bool {
    match principal {
        Principal::Admin => true,
        Principal::Container(_) => principal == owner,
    }
}

/// Whether `principal` may create a container with this host configuration.
pub fn check_create(principal: &Principal, host: &HostConfig) -> Result<()> {
    let Principal::Container(_) = principal else { return Ok(()) };
    let refuse = |what: &str, why: &'static str| Err(Error::Refused { what: what.to_owned(), why });
    if host.privileged == Some(true) {
        return refuse("--privileged", "a scoped socket cannot grant more than its container holds");
    }
    if host.cap_add.as_ref().is_some_and(|c| !c.is_empty()) {
        return refuse("--cap-add", "a scoped socket cannot grant more than its container holds");
    }
    if host.resources.devices.as_ref().is_some_and(|d| !d.is_empty()) {
        return refuse("--device", "a scoped socket cannot grant host devices");
    }
    for (flag, mode) in [("--pid", &host.pid_mode), ("--ipc", &host.ipc_mode), ("--uts", &host.uts_mode), ("--network", &host.network_mode)] {
        if mode.as_deref() == Some("host") {
            return refuse(flag, "a scoped socket cannot join the host's namespaces");
        }
    }
    if host.binds.as_ref().is_some_and(|b| b.iter().any(|b| b.starts_with('/'))) {
        return refuse("a host path bind mount", "bind paths through a scoped socket are not supported yet");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_may_do_everything() {
        let host = HostConfig { privileged: Some(true), pid_mode: Some("host".into()), ..Default::default() };
        assert!(check_create(&Principal::Admin, &host).is_ok());
        assert!(can_see(&Principal::Admin, &Principal::Container("x".into())));
    }

    #[test]
    fn a_container_sees_only_its_own_and_cannot_escalate() {
        let me = Principal::Container("a".repeat(64));
        assert!(can_see(&me, &me));
        assert!(!can_see(&me, &Principal::Admin));
        assert!(!can_see(&me, &Principal::Container("b".repeat(64))));
        let e = check_create(&me, &HostConfig { privileged: Some(true), ..Default::default() }).expect_err("refused");
        assert_eq!(e.kind(), crate::ErrorKind::Forbidden);
        assert!(e.to_string().starts_with("--privileged is not allowed on this socket"), "{e}");
        let e = check_create(&me, &HostConfig { network_mode: Some("host".into()), ..Default::default() }).expect_err("refused");
        assert!(e.to_string().contains("--network"), "{e}");
        assert!(check_create(&me, &HostConfig::default()).is_ok());
    }

    #[test]
    fn principals_display_short() {
        assert_eq!(Principal::Admin.to_string(), "admin");
        assert_eq!(Principal::Container("0123456789abcdef".into()).to_string(), "container:0123456789ab");
    }
}
