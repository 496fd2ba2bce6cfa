//! berth-runtime: an OCI runtime (bundle → running process) with runc's command line, usable
//! as a library by berth's shim and as a binary by any engine that speaks runc.
//!
//! A container is made in one fork: [`spec::load`] reads and checks `config.json` into a
//! [`spec::Plan`]; [`Runtime::create`] creates its cgroup, compiles its seccomp filter and
//! forks the init with clone3 in its new namespaces. The init ([`process::init`]) walks a fixed
//! list of steps (id maps, mounts, pivot_root, devices, hostname, terminal, rlimits,
//! capabilities, seccomp) and reports each failure to the parent over the sync socket; it then
//! waits until [`Runtime::start`] lets it exec the user process.
//!
//! The init re-executes the calling program from a write-protected view of it (so no container can
//! reach a runtime binary on disk): a program that creates containers through this library must
//! start its `main` by handing `[STAGE2_ARG, fd]` arguments to [`process::init::stage2_main`],
//! as the berth-runtime binary does.
//!
//! ```no_run
//! use berth_runtime::{ContainerId, CreateOptions, Runtime};
//! let rt = Runtime::new("/run/berth-runtime");
//! let id = ContainerId::parse("web")?;
//! let code = rt.run(&id, &CreateOptions { bundle: "/srv/bundle".into(), ..Default::default() }, false)?;
//! # Ok::<(), berth_runtime::Error>(())
//! ```

pub mod caps;
#[cfg(feature = "cli")]
pub mod cli;
pub mod cgroups;
pub mod container;
pub mod devices;
pub mod error;
pub mod external;
pub mod hooks;
pub mod namespaces;
pub mod netns;
pub mod process;
pub mod rlimits;
pub mod rootfs;
pub mod seccomp;
pub mod spec;
pub mod state;
pub mod sys;
pub mod tty;

pub use container::{CreateOptions, ExecOptions, Runtime, StateView};
pub use error::Error;
pub use external::{Backend, External};
pub use spec::ContainerId;
