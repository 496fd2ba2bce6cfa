//! The container's init between clone and execve: a fixed list of steps, each of which reports
//! its failure to the parent as (step, errno, detail) and exits. Runs in a forked copy of a
//! single-threaded process, so it may allocate, but never returns into the caller.

use std::cell::Cell;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Process;
use rustix::fs::OFlags;

use super::sync::{Channel, FromChild, FromParent};
use super::InitArgs;
use crate::sys;

/// A failed init step: what was being done, and the kernel's (or our) word on why.
#[derive(Debug)]
pub struct InitFail {
    pub step: String,
    pub source: io::Error,
}

impl InitFail {
    pub fn io(step: impl Into<String>, source: io::Error) -> Self {
        InitFail { step: step.into(), source }
    }
    pub fn msg(step: impl Into<String>, msg: impl Into<String>) -> Self {
        InitFail { step: step.into(), source: io::Error::other(msg.into()) }
    }
}

/// Attaches the step name to an error on its way up.
pub trait StepExt<T> {
    fn step(self, step: &str) -> Result<T, InitFail>;
    fn step_with(self, step: impl FnOnce() -> String) -> Result<T, InitFail>;
}

impl<T, E: Into<io::Error>> StepExt<T> for Result<T, E> {
    fn step(self, step: &str) -> Result<T, InitFail> {
        self.map_err(|e| InitFail::io(step, e.into()))
    }
    fn step_with(self, step: impl FnOnce() -> String) -> Result<T, InitFail> {
        self.map_err(|e| InitFail::io(step(), e.into()))
    }
}

impl From<InitFail> for io::Error {
    fn from(f: InitFail) -> io::Error {
        io::Error::new(f.source.kind(), format!("{}: {}", f.step, f.source))
    }
}

/// How the init learns it may exec the user process.
pub enum Trigger {
    /// `create`: wait for a `start` to connect to this listening SOCK_SEQPACKET socket.
    Socket(OwnedFd),
    /// foreground `run` and `exec`: the parent sends Start on the sync channel.
    Parent,
}

/// Runs the init's steps. Never returns: execs the user process or exits with status 1 after
/// reporting the failed step on whichever channel is current.
pub fn run(args: InitArgs<'_>) -> ! {
    let mut chan: &Channel = args.sync;
    let mut started: Option<Channel> = None;
    let res = steps(&args, &mut started);
    if let Some(c) = &started {
        chan = c;
    }
    let fail = match res {
        Ok(never) => match never {},
        Err(f) => f,
    };
    let _ = chan.send(&FromChild::Failed {
        step: fail.step,
        errno: fail.source.raw_os_error().unwrap_or(0),
        detail: fail.source.to_string(),
    });
    sys::process::exit_now(1)
}

/// Waits for Continue (or Start); a Joined met on the way is noted in `joined`.
fn wait_continue(chan: &Channel, joined: &Cell<bool>) -> Result<(), InitFail> {
    loop {
        match chan.recv::<FromParent>().step("wait for the runtime")? {
            Some((FromParent::Continue | FromParent::Start, _)) => return Ok(()),
            Some((FromParent::Joined, _)) => joined.set(true),
            None => return Err(InitFail::msg("wait for the runtime", "the runtime went away")),
        }
    }
}

fn wait_joined(chan: &Channel, joined: &Cell<bool>) -> Result<(), InitFail> {
    while !joined.get() {
        match chan.recv::<FromParent>().step("wait for the cgroup")? {
            Some((FromParent::Joined, _)) => joined.set(true),
            Some((m, _)) => return Err(InitFail::msg("wait for the cgroup", format!("unexpected {m:?}"))),
            None => return Err(InitFail::msg("wait for the cgroup", "the runtime went away")),
        }
    }
    Ok(())
}

fn steps(a: &InitArgs<'_>, started: &mut Option<Channel>) -> Result<std::convert::Infallible, InitFail> {
    let process: &Process = a.process;
    // Our parent may die (a killed `create`); the container must not linger half-made.
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL)).step("set parent death signal")?;
    for (t, fd) in a.join_fds {
        rustix::thread::move_into_link_name_space(fd.as_fd(), crate::namespaces::kind_of(*t))
            .step_with(|| format!("join {} namespace", crate::namespaces::proc_name(*t)))?;
    }
    let joined = Cell::new(false);
    wait_continue(a.sync, &joined)?;
    if a.new_keyring {
        // A kernel without keyrings (or a caller under seccomp) is no reason to fail.
        let _ = sys::process::join_new_session_keyring();
    }
    if a.ns.new_user {
        rustix::thread::set_thread_res_gid(rustix::fs::Gid::ROOT, rustix::fs::Gid::ROOT, rustix::fs::Gid::ROOT)
            .step("become gid 0 in the user namespace")?;
        rustix::thread::set_thread_res_uid(rustix::fs::Uid::ROOT, rustix::fs::Uid::ROOT, rustix::fs::Uid::ROOT)
            .step("become uid 0 in the user namespace")?;
    }

    if let Some(c) = &a.container {
        let ctx = crate::rootfs::Context {
            rootfs: &c.plan.rootfs,
            spec: &c.plan.spec,
            userns: a.ns.in_userns,
            fresh_cgroup2: c.fresh_cgroup2,
            cgroup_binds: &c.cgroup_binds,
        };
        let root = crate::rootfs::prepare(&ctx)?;
        if c.hooks_before_pivot {
            a.sync.send(&FromChild::RunHooks).step("ask for createRuntime hooks")?;
            wait_continue(a.sync, &joined)?;
        }
        if let Some(h) = c.plan.spec.hooks().as_ref().and_then(|h| h.create_container().as_ref()) {
            crate::hooks::run(h, &c.state_json).map_err(|(p, e)| InitFail::io(format!("createContainer hook {}", p.display()), e))?;
        }
        crate::rootfs::pivot(&root, c.no_pivot)?;
        drop(root);
        if let Some(h) = c.plan.spec.hostname().as_ref().filter(|h| !h.is_empty()) {
            rustix::system::sethostname(h.as_bytes()).step("set hostname")?;
        }
        if let Some(d) = c.plan.spec.domainname().as_ref().filter(|d| !d.is_empty()) {
            rustix::system::setdomainname(d.as_bytes()).step("set domainname")?;
        }
        if process.terminal() == Some(true) {
            let size = process.console_size().map(|b| (b.height() as u16, b.width() as u16));
            let master = crate::tty::setup(size, true)?;
            a.sync.send_with_fd(&FromChild::Console, Some(master.as_fd())).step("send pty master")?;
        }
        crate::rootfs::finish(&c.plan.spec)?;
        if let Some(p) = c.plan.spec.linux().as_ref().and_then(|l| l.personality().as_ref()) {
            let persona = match p.domain() {
                oci_spec::runtime::LinuxPersonalityDomain::PerLinux32 => 0x0008,
                _ => 0,
            };
            sys::process::set_personality(persona).step("set personality")?;
        }
    } else if process.terminal() == Some(true) {
        let size = process.console_size().map(|b| (b.height() as u16, b.width() as u16));
        let master = crate::tty::setup(size, false)?;
        a.sync.send_with_fd(&FromChild::Console, Some(master.as_fd())).step("send pty master")?;
    }
    crate::rlimits::apply(process.rlimits().as_deref().unwrap_or(&[])).step("set rlimits")?;
    wait_joined(a.sync, &joined)?;
    if a.late_cgroupns {
        sys::process::unshare_namespaces(rustix::thread::UnshareFlags::NEWCGROUP).step("unshare cgroup namespace")?;
    }

    // Ready: the runtime records the container as created; then wait for start. A created
    // container outlives its `create`: stop dying with the parent first (if the parent is
    // already gone, sending Ready fails and we exit).
    if matches!(a.trigger, Trigger::Socket(_)) {
        rustix::process::set_parent_process_death_signal(None).step("clear parent death signal")?;
    }
    a.sync.send(&FromChild::Ready).step("report ready")?;
    let chan: &Channel = match &a.trigger {
        Trigger::Parent => {
            wait_continue(a.sync, &joined)?;
            a.sync
        }
        Trigger::Socket(listener) => {
            let conn = loop {
                match rustix::net::accept_with(listener, rustix::net::SocketFlags::CLOEXEC) {
                    Err(rustix::io::Errno::INTR) => continue,
                    r => break r.step("wait for start")?,
                }
            };
            let c = Channel::from_fd(conn);
            wait_continue(&c, &joined)?;
            *started = Some(c);
            started.as_ref().expect("just set")
        }
    };
    if let Some(c) = &a.container {
        if let Some(h) = c.plan.spec.hooks().as_ref().and_then(|h| h.start_container().as_ref()) {
            crate::hooks::run(h, &c.state_json).map_err(|(p, e)| InitFail::io(format!("startContainer hook {}", p.display()), e))?;
        }
    }

    // Privileges, in the order the kernel needs them.
    a.caps.apply_bounding().map_err(|e| InitFail::msg("drop bounding capabilities", e.to_string()))?;
    let nnp = process.no_new_privileges() == Some(true);
    if !nnp {
        load_seccomp(a, chan)?;
    }
    set_user(process, a.ns.in_userns)?;
    a.caps.apply_rest().map_err(|e| InitFail::msg("set capabilities", e.to_string()))?;
    if nnp {
        rustix::thread::set_no_new_privs(true).step("set no_new_privs")?;
    }
    let cwd = open_cwd(process.cwd())?;
    rustix::process::fchdir(&cwd).step_with(|| format!("chdir to cwd {}", process.cwd().display()))?;
    drop(cwd);
    let env: Vec<CString> = process.env().iter().flatten().filter_map(|e| CString::new(e.as_bytes()).ok()).collect();
    let args: Vec<CString> = process.args().iter().flatten().filter_map(|a| CString::new(a.as_bytes()).ok()).collect();
    let prog = find_program(&args[0], process.env().as_deref().unwrap_or(&[]))?;
    // The death signal guarded the setup only: the user process outlives a detached `run` or
    // `exec` that started it (and, as under runc, a foreground one that is killed).
    rustix::process::set_parent_process_death_signal(None).step("clear parent death signal")?;
    sys::process::cloexec_from(3 + a.preserve_fds).step("close runtime descriptors")?;
    sys::signal::reset_for_exec().step("reset signals")?;
    if nnp {
        load_seccomp(a, chan)?;
    }
    let err = sys::process::execve(&prog, &args, &env);
    Err(InitFail::io(format!("exec {:?}", args[0].to_string_lossy()), err))
}

fn load_seccomp(a: &InitArgs<'_>, chan: &Channel) -> Result<(), InitFail> {
    if let Some(filter) = a.seccomp {
        if let Some(listener) = filter.load().map_err(|e| InitFail::msg("load seccomp filter", crate::error::chain(&e)))? {
            chan.send_with_fd(&FromChild::SeccompListener, Some(listener.as_fd())).step("send seccomp listener")?;
        }
    }
    Ok(())
}

fn set_user(process: &Process, in_userns: bool) -> Result<(), InitFail> {
    let user = process.user();
    let gid = rustix::fs::Gid::from_raw(user.gid());
    let uid = rustix::fs::Uid::from_raw(user.uid());
    let groups: Vec<rustix::fs::Gid> = user.additional_gids().iter().flatten().map(|g| rustix::fs::Gid::from_raw(*g)).collect();
    // In a user namespace whose setgroups is denied, only an empty list is allowed.
    let setgroups_denied = in_userns
        && std::fs::read_to_string("/proc/self/setgroups").map(|s| s.trim() == "deny").unwrap_or(false);
    if !setgroups_denied {
        rustix::thread::set_thread_groups(&groups).step("set supplementary groups")?;
    } else if !groups.is_empty() {
        return Err(InitFail::msg("set supplementary groups", "setgroups is denied in this user namespace"));
    }
    rustix::thread::set_thread_res_gid(gid, gid, gid).step_with(|| format!("set gid {}", user.gid()))?;
    rustix::thread::set_keep_capabilities(true).step("keep capabilities")?;
    rustix::thread::set_thread_res_uid(uid, uid, uid).step_with(|| format!("set uid {}", user.uid()))?;
    rustix::thread::set_keep_capabilities(false).step("keep capabilities")?;
    if let Some(mask) = user.umask() {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask));
    }
    Ok(())
}

/// Opens the working directory inside the container's root; `..`, absolute links and magic
/// links such as /proc/self/fd/N cannot lead outside it (CVE-2024-21626).
fn open_cwd(cwd: &Path) -> Result<OwnedFd, InitFail> {
    let root = rustix::fs::open("/", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, rustix::fs::Mode::empty())
        .step("open root")?;
    crate::rootfs::resolve::open_in_root(root.as_fd(), cwd, OFlags::PATH | OFlags::DIRECTORY)
        .step_with(|| format!("open cwd {}", cwd.display()))
}

/// Finds the program as execvp would, in the container's PATH (from its env, else the default).
fn find_program(arg0: &CString, env: &[String]) -> Result<CString, InitFail> {
    let name = arg0.to_string_lossy();
    if name.contains('/') {
        return Ok(arg0.clone());
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let cand = PathBuf::from(dir).join(name.as_ref());
        if let Ok(st) = rustix::fs::stat(&cand) {
            let ft = rustix::fs::FileType::from_raw_mode(st.st_mode);
            if ft.is_file() && st.st_mode & 0o111 != 0 {
                return CString::new(cand.into_os_string().into_encoded_bytes()).step("program path");
            }
        }
    }
    Err(InitFail::io(
        format!("exec: {name:?}"),
        io::Error::new(io::ErrorKind::NotFound, "executable file not found in $PATH"),
    ))
}
