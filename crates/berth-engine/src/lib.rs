//! berth-engine: the model and its rules, below the API and above the shim, runtime and image
//! store. It knows nothing of HTTP.
//!
//! Principal types:
//! - [`Engine`]: containers (an in-memory index over crash-safe records), exec instances,
//!   images, events. Every operation takes the [`Principal`] it acts for; [`policy`] decides
//!   what that principal may see and do.
//! - [`container::Ctr`]: one container; its lifecycle runs through a shim per container
//!   ([`container::shim`]), which the engine starts held, attaches to, then starts; the shim's
//!   end (a pidfd) tells the engine the container exited, even across daemon restarts.
//! - [`Error`] with an [`ErrorKind`], which `berth-api` maps to a status code.
//!
//! A `docker run` flows: `create` (image config merged, record written) → `attach` (waits for
//! the start) → `start` (overlay mounted, config.json built from Docker's defaults, held shim
//! launched, attaches connected, shim told to start) → `wait` → the shim ends → `on_exit`
//! records the exit, unmounts, and applies AutoRemove or the restart policy.
//!
//! ```no_run
//! # async fn demo() -> Result<(), berth_engine::Error> {
//! use berth_engine::{Config, Engine, Principal};
//! let cfg = Config {
//!     data_root: "/var/lib/berth".into(),
//!     exec_root: "/run/berth".into(),
//!     shim_bin: "/usr/local/bin/berth-shim".into(),
//!     cgroup_parent: "berth".into(),
//!     default_ulimits: vec![],
//!     default_stop_timeout: 10,
//!     registry: Default::default(),
//!     network: Default::default(), // bridge berth0, Docker's address pools, iptables on
//!     runtimes: Default::default(),  // only the built-in runtime
//!     default_runtime: "berth".into(),
//! };
//! let (engine, _warnings) = Engine::open(cfg).await?;
//! let list = engine.list(&Principal::Admin, &Default::default())?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod config;
pub mod container;
pub mod dns;
pub mod distribution;
pub mod error;
pub mod events;
pub mod exec;
pub mod images;
pub mod logs;
pub mod network;
pub mod policy;
pub mod system;
pub mod time;
mod trash;
pub mod volumes;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub use config::Config;
pub use error::{Error, ErrorKind, Result};
pub use policy::Principal;

/// The engine: one per daemon.
pub struct Engine {
    cfg: Config,
    images: Arc<berth_image::ImageStore>,
    volumes: volumes::Volumes,
    networks: network::Networks,
    registry: berth_image::registry::Registry,
    /// Pulls under way, by reference: a second pull of one waits for the first.
    pulls: distribution::Pulls,
    index: Mutex<container::Index>,
    execs: Mutex<HashMap<String, Arc<exec::Exec>>>,
    pub events: events::Events,
    shutting_down: AtomicBool,
    /// The host kernel's (major, minor), for seccomp profile rules.
    kernel: (u32, u32),
    /// A cgroup v2-only host (containers get a private cgroup namespace, as Docker does).
    pure_cgroup2: bool,
    /// Where the host has v1 cgroup hierarchies: keeps the kernel's cgroup moves ready around
    /// creates and starts ([`container::early`]).
    attach_warmer: Option<Arc<container::early::AttachWarmer>>,
    /// Docker's default seccomp profile in OCI form, by the capability set it was made for.
    seccomp_cache: Mutex<HashMap<Vec<String>, serde_json::Value>>,
    /// Auto-removed containers whose shims are still finishing (see `Engine::watch`).
    finishing: Mutex<std::collections::HashSet<String>>,
    /// Where removed containers' directories go to be deleted after the removal is reported.
    trash: trash::Trash,
    /// The berth-shim binary, as shims are started from it.
    shim: Arc<berth_shim::detach::ShimBinary>,
}

impl Engine {
    /// Opens the stores under the configured roots and takes over the containers found there
    /// (watching those whose shims still run, recording the exits of those that ended). Returns
    /// warnings for the operator: records that were corrupt and moved aside.
    pub async fn open(cfg: Config) -> Result<(Arc<Engine>, Vec<String>)> {
        for d in [cfg.containers_dir(), cfg.exec_root.join("c"), cfg.runtime_root()] {
            std::fs::create_dir_all(&d).map_err(Error::io("create the directory", &d))?;
        }
        let _ = std::fs::remove_dir_all(cfg.data_root.join("tmp"));
        let trash = trash::Trash::open(&[&cfg.data_root, &cfg.exec_root]).map_err(|(path, source)| Error::Io { what: "open the trash directory", path, source })?;
        if !cfg.shim_bin.exists() {
            return Err(Error::Io {
                what: "find berth-shim (install it next to berthd)",
                path: cfg.shim_bin.clone(),
                source: std::io::ErrorKind::NotFound.into(),
            });
        }
        let image_root = cfg.image_root();
        let images = tokio::task::spawn_blocking(move || berth_image::ImageStore::open(image_root))
            .await
            .map_err(|e| Error::Internal(format!("open image store: {e}")))??;
        let mut warnings = Vec::new();
        // Blobs and layers no image refers to (a pull cut short by a crash, say) go now.
        match images.gc() {
            Ok(r) if !r.blobs.is_empty() || !r.layers.is_empty() => {
                tracing::info!(blobs = r.blobs.len(), layers = r.layers.len(), "removed image data no image refers to");
            }
            Ok(_) => {}
            Err(e) => warnings.push(format!("cleaning unreferenced image data failed: {}", error::chain(&e))),
        }
        if let Some(p) = images.recovered() {
            warnings.push(format!("the image metadata was damaged and has been rebuilt; the damaged copy is at {}", p.display()));
        }
        let loaded = container::record::load_all(&cfg.containers_dir())?;
        for (path, why) in &loaded.moved_aside {
            warnings.push(format!("a container record could not be read ({why}); it was moved aside to {}", path.display()));
        }
        let kernel = rustix::system::uname().release().to_str().ok().and_then(berth_runtime::seccomp::parse_kernel_release).unwrap_or((0, 0));
        let hierarchies = berth_runtime::cgroups::Hierarchies::detect().ok();
        let pure_cgroup2 = hierarchies.as_ref().is_some_and(|h| h.mode() == berth_runtime::cgroups::Mode::V2);
        let attach_warmer = container::early::AttachWarmer::new(hierarchies.filter(|_| rustix::process::geteuid().is_root()));
        let registry = berth_image::registry::Registry::new(cfg.registry.clone());
        let shim_bin = cfg.shim_bin.clone();
        let data_root = cfg.data_root.clone();
        let net_cfg = cfg.network.clone();
        let nets_root = data_root.clone();
        let networks = tokio::task::spawn_blocking(move || network::Networks::open(&nets_root, net_cfg))
            .await
            .map_err(|e| Error::Internal(format!("open networks: {e}")))??;
        let engine = Arc::new(Engine {
            cfg,
            registry,
            images: Arc::new(images),
            volumes: volumes::Volumes::open(data_root.join("volumes"))?,
            networks,
            pulls: Default::default(),
            index: Mutex::new(Default::default()),
            execs: Mutex::new(HashMap::new()),
            events: Default::default(),
            shutting_down: AtomicBool::new(false),
            kernel,
            pure_cgroup2,
            attach_warmer,
            seccomp_cache: Mutex::new(HashMap::new()),
            finishing: Mutex::default(),
            trash,
            shim: Arc::new(berth_shim::detach::ShimBinary::new(shim_bin)),
        });
        for r in loaded.records {
            engine.insert(container::Ctr::new(r));
        }
        // Links, rules and name servers first: recovering containers may end or restart them.
        engine.network_recover().await;
        engine.recover().await;
        Ok((engine, warnings))
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn images(&self) -> &berth_image::ImageStore {
        &self.images
    }

    /// Refuses new work from now on; containers keep running (berthd's SIGTERM).
    pub fn shut_down(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    fn check_serving(&self) -> Result<()> {
        if self.shutting_down() {
            return Err(Error::ShuttingDown);
        }
        Ok(())
    }
}
