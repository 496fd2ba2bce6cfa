//! Which OCI runtime runs a container: berth's built-in one (`berth`, also answering to `runc`
//! unless a runtime of that name is configured) or a binary configured with `--add-runtime` /
//! daemon.json `runtimes`. A container keeps its runtime's name in `HostConfig.Runtime`.

use std::path::PathBuf;

use berth_runtime::{Backend, ContainerId, External, Runtime};

use crate::error::{Error, Result};
use crate::Engine;

/// The built-in runtime's name.
pub const BUILT_IN: &str = "berth";

/// An OCI runtime binary berthd may run containers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub path: PathBuf,
    /// Global options before every subcommand (daemon.json's `runtimeArgs`).
    pub args: Vec<String>,
}

/// The canonical name of the runtime `name` among the `configured` ones: a configured name is
/// itself; `berth`, and `runc` unless a runtime is configured under that name, are the
/// built-in runtime; anything else is None.
pub fn canonical_name(name: &str, configured: &std::collections::BTreeMap<String, RuntimeConfig>) -> Option<String> {
    match name {
        n if configured.contains_key(n) => Some(n.to_owned()),
        // The names dockerd gives runc (compose files and scripts name them).
        BUILT_IN | "runc" | "io.containerd.runc.v2" => Some(BUILT_IN.to_owned()),
        _ => None,
    }
}

impl Engine {
    /// The runtime a create asks for, by its canonical name ([`canonical_name`]); none → the
    /// daemon's default.
    pub(crate) fn runtime_name(&self, asked: Option<&str>) -> Result<String> {
        let name = asked.filter(|n| !n.is_empty()).unwrap_or(&self.cfg.default_runtime);
        canonical_name(name, &self.cfg.runtimes).ok_or_else(|| Error::InvalidParameter(format!("unknown or invalid runtime name: {name}")))
    }

    /// `Info.Runtimes`: the built-in runtime and every configured one.
    pub(crate) fn runtimes_info(&self) -> std::collections::BTreeMap<String, berth_api_types::system::Runtime> {
        let mut out: std::collections::BTreeMap<_, _> = self
            .cfg
            .runtimes
            .iter()
            .map(|(n, c)| (n.clone(), berth_api_types::system::Runtime { path: Some(c.path.display().to_string()), runtime_args: (!c.args.is_empty()).then(|| c.args.clone()) }))
            .collect();
        out.insert(BUILT_IN.to_owned(), berth_api_types::system::Runtime { path: Some("built-in".into()), runtime_args: None });
        out
    }

    /// The external binary behind a runtime name, if it is one, and the state root of the
    /// runtime (each external runtime has its own under the exec root).
    fn runtime_parts(&self, name: Option<&str>) -> Result<(Option<&RuntimeConfig>, PathBuf)> {
        let name = self.runtime_name(name)?;
        Ok(match self.cfg.runtimes.get(&name) {
            Some(c) => (Some(c), self.cfg.exec_root.join("runtimes").join(&name)),
            None => (None, self.cfg.runtime_root()),
        })
    }

    /// The runtime named `runtime` (a container's `HostConfig.Runtime`).
    pub(crate) fn backend(&self, runtime: Option<&str>) -> Result<Backend> {
        let (external, root) = self.runtime_parts(runtime)?;
        Ok(match external {
            Some(c) => Backend::External(External { path: c.path.clone(), args: c.args.clone(), root }),
            None => Backend::BuiltIn(Runtime::new(root)),
        })
    }

    /// The runtime fields of a shim's options: the state root, and the binary with its global
    /// options for an external runtime.
    pub(crate) fn shim_runtime(&self, runtime: Option<&str>) -> Result<(PathBuf, Option<PathBuf>, Vec<String>)> {
        let (external, root) = self.runtime_parts(runtime)?;
        Ok((root, external.map(|c| c.path.clone()), external.map(|c| c.args.clone()).unwrap_or_default()))
    }

    /// Runs `op` on the runtime of a container off the async threads (every runtime call
    /// touches files or runs a binary).
    pub(crate) async fn with_backend<T: Send + 'static>(
        &self,
        runtime: Option<&str>,
        id: &str,
        op: impl FnOnce(&Backend, &ContainerId) -> std::result::Result<T, berth_runtime::Error> + Send + 'static,
    ) -> Result<std::result::Result<T, berth_runtime::Error>> {
        let backend = self.backend(runtime)?;
        let id = ContainerId::parse(id).map_err(|e| Error::Internal(format!("container id {id}: {e}")))?;
        tokio::task::spawn_blocking(move || op(&backend, &id)).await.map_err(|e| Error::Internal(format!("runtime task: {e}")))
    }
}
