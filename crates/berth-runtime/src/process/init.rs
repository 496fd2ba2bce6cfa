//! The container's init between clone and execve: a fixed list of steps, each of which reports
//! its failure to the parent as (step, errno, detail) and exits.
//!
//! Stage 1 is the forked copy of the runtime. Unless the runtime already runs from a
//! write-protected file ([`crate::sys::exe::running_protected`]: berthd starts its shims so),
//! it first re-executes itself from a write-protected view of the runtime (a read-only
//! detached bind mount, or a sealed memfd copy), so that nothing inside the container can ever
//! write the runtime's binary (CVE-2019-5736). The steps ([`steps`]: namespaces, mounts, Ready,
//! the wait for start, privileges down to the user process's execve) then run in that second
//! stage ([`stage2_main`]), or in the fork itself.

use std::cell::Cell;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Process;
use rustix::fs::OFlags;

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use serde::{Deserialize, Serialize};

use super::sync::{Channel, FromChild, FromParent};
use super::InitArgs;
use crate::caps::{CapMasks, CapPlan};
use crate::seccomp::{Filter, FilterWire};
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

/// The first argument that makes the runtime binary run [`stage2_main`].
pub const STAGE2_ARG: &str = "__init";

/// What stage 2 needs, handed over in a memfd across the re-execution.
#[derive(Serialize, Deserialize)]
struct Handover {
    process: Process,
    in_userns: bool,
    /// The parent's Joined arrived before the re-execution.
    joined: bool,
    /// Namespaces to join, in order, by inherited descriptor number.
    joins: Vec<(LinuxNamespaceType, i32)>,
    /// Idmapped mounts made by the runtime: (index into spec.mounts, inherited descriptor).
    idmapped: Vec<(usize, i32)>,
    sync_fd: i32,
    /// `create`: the listening start socket; otherwise the parent sends Start.
    start_listener_fd: Option<i32>,
    caps: CapMasks,
    seccomp: Option<FilterWire>,
    preserve_fds: u32,
    new_keyring: bool,
    late_cgroupns: bool,
    container: Option<ContainerHandover>,
}

#[derive(Serialize, Deserialize)]
struct ContainerHandover {
    spec: Spec,
    rootfs: PathBuf,
    fresh_cgroup2: bool,
    cgroup_binds: Vec<(String, PathBuf)>,
    hooks_before_pivot: bool,
    no_pivot: bool,
    state_json: String,
}

/// Stage 1. Never returns: re-executes into stage 2, or exits with status 1 after reporting
/// the failed step to the parent.
pub fn run(args: InitArgs<'_>) -> ! {
    let sync = args.sync;
    let fail = match stage1(args) {
        Ok(never) => match never {},
        Err(f) => f,
    };
    report(sync, fail)
}

fn report(chan: &Channel, fail: InitFail) -> ! {
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
            Some((m @ FromParent::IdmappedMount { .. }, _)) => {
                return Err(InitFail::msg("wait for the runtime", format!("unexpected {m:?} after setup began")));
            }
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

/// Re-executes from the protected runtime, passing everything else along, or runs the steps
/// here when there is none to re-execute from. Runs while the parent joins us to our cgroup,
/// before any namespace is joined or the root changes.
fn stage1(a: InitArgs<'_>) -> Result<std::convert::Infallible, InitFail> {
    // Our parent may die (a killed `create`); the container must not linger half-made. The
    // signal survives the re-execution.
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL)).step("set parent death signal")?;
    // Id maps must be written before the re-execution: in a new user namespace without them
    // we are not root, and execve would drop every capability.
    let joined = Cell::new(false);
    // Continue, preceded by the idmapped mounts the runtime made for us, if any.
    let mut idmapped: Vec<(usize, OwnedFd)> = Vec::new();
    loop {
        match a.sync.recv::<FromParent>().step("wait for the runtime")? {
            Some((FromParent::Continue | FromParent::Start, _)) => break,
            Some((FromParent::Joined, _)) => joined.set(true),
            Some((FromParent::IdmappedMount { index }, Some(fd))) => idmapped.push((index, fd)),
            Some((FromParent::IdmappedMount { index }, None)) => {
                return Err(InitFail::msg("receive idmapped mount", format!("mount {index} came without its descriptor")));
            }
            None => return Err(InitFail::msg("wait for the runtime", "the runtime went away")),
        }
    }
    if a.ns.new_user {
        rustix::thread::set_thread_res_gid(rustix::fs::Gid::ROOT, rustix::fs::Gid::ROOT, rustix::fs::Gid::ROOT)
            .step("become gid 0 in the user namespace")?;
        rustix::thread::set_thread_res_uid(rustix::fs::Uid::ROOT, rustix::fs::Uid::ROOT, rustix::fs::Uid::ROOT)
            .step("become uid 0 in the user namespace")?;
    }
    let listener = match a.trigger {
        Trigger::Socket(fd) => Some(fd),
        Trigger::Parent => None,
    };
    let handover = Handover {
        process: a.process.clone(),
        in_userns: a.ns.in_userns,
        joined: joined.get(),
        joins: a.join_fds.iter().map(|(t, fd)| (*t, fd.as_raw_fd())).collect(),
        idmapped: idmapped.iter().map(|(i, fd)| (*i, fd.as_raw_fd())).collect(),
        sync_fd: a.sync.as_fd().as_raw_fd(),
        start_listener_fd: listener.as_ref().map(|l| l.as_raw_fd()),
        caps: CapMasks::from(a.caps),
        seccomp: a.seccomp.map(FilterWire::from),
        preserve_fds: a.preserve_fds,
        new_keyring: a.new_keyring,
        late_cgroupns: a.late_cgroupns,
        container: a.container.as_ref().map(|c| ContainerHandover {
            spec: c.plan.spec.clone(),
            rootfs: c.plan.rootfs.clone(),
            fresh_cgroup2: c.fresh_cgroup2,
            cgroup_binds: c.cgroup_binds.clone(),
            hooks_before_pivot: c.hooks_before_pivot,
            no_pivot: c.no_pivot,
            state_json: String::from_utf8_lossy(&c.state_json).into_owned(),
        }),
    };
    let Some(exe) = a.exe else {
        // This process runs from a protected file already: its image may become the container's.
        run_steps(&handover, a.sync, a.join_fds, &idmapped, listener)
    };
    let mut pass: Vec<std::os::fd::BorrowedFd<'_>> = vec![a.sync.as_fd()];
    pass.extend(listener.as_ref().map(|l| l.as_fd()));
    pass.extend(a.join_fds.iter().map(|(_, fd)| fd.as_fd()));
    pass.extend(idmapped.iter().map(|(_, fd)| fd.as_fd()));
    let data = rustix::fs::memfd_create("berth-init", rustix::fs::MemfdFlags::empty()).step("create handover memfd")?;
    let json = serde_json::to_vec(&handover).map_err(|e| InitFail::msg("encode handover", e.to_string()))?;
    let mut off = 0;
    while off < json.len() {
        off += rustix::io::write(&data, &json[off..]).step("write handover")?;
    }
    rustix::fs::seek(&data, rustix::fs::SeekFrom::Start(0)).step("rewind handover")?;
    for fd in pass {
        rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty()).step("pass descriptors to stage 2")?;
    }
    let argv = [
        CString::new("berth-runtime").expect("no NUL"),
        CString::new(STAGE2_ARG).expect("no NUL"),
        CString::new(data.as_raw_fd().to_string()).expect("no NUL"),
    ];
    let err = sys::exe::exec_fd(exe.as_fd(), &argv, &[]);
    Err(InitFail::io("re-execute the init from the protected runtime", err))
}

/// Stage 2: the init's entry point after re-executing from the protected runtime. The runtime
/// binary's `main` calls it when its first argument is [`STAGE2_ARG`]. Never returns.
pub fn stage2_main(data_fd: &str) -> ! {
    let fd = data_fd.parse::<i32>().map_err(|_| io::Error::other("bad handover descriptor")).and_then(sys::process::take_inherited_fd);
    let h: Handover = match fd.and_then(|fd| serde_json::from_reader(std::io::BufReader::new(std::fs::File::from(fd))).map_err(io::Error::other)) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("berth-runtime: {STAGE2_ARG} is the container init's second stage, not a command: {e}");
            sys::process::exit_now(1)
        }
    };
    let sync = match sys::process::take_inherited_fd(h.sync_fd) {
        Ok(fd) => Channel::from_fd(fd),
        Err(_) => sys::process::exit_now(1),
    };
    let taken: io::Result<Vec<(LinuxNamespaceType, OwnedFd)>> =
        h.joins.iter().map(|(t, n)| sys::process::take_inherited_fd(*n).map(|fd| (*t, fd))).collect();
    let listener = h.start_listener_fd.map(sys::process::take_inherited_fd).transpose();
    let idmapped: io::Result<Vec<(usize, OwnedFd)>> =
        h.idmapped.iter().map(|(i, n)| sys::process::take_inherited_fd(*n).map(|fd| (*i, fd))).collect();
    let (joins, listener, idmapped) = match (taken, listener, idmapped) {
        (Ok(j), Ok(l), Ok(m)) => (j, l, m),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => report(&sync, InitFail::io("take descriptors from stage 1", e)),
    };
    run_steps(&h, &sync, &joins, &idmapped, listener)
}

/// The home directory of `uid` in the container's /etc/passwd (read from inside the
/// container, as a regular file of bounded size), or "/".
fn home_of(uid: u32) -> String {
    let read = || -> Option<String> {
        let fd = rustix::fs::open("/etc/passwd", rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::CLOEXEC, rustix::fs::Mode::empty()).ok()?;
        let f = std::fs::File::from(fd);
        if !f.metadata().ok()?.is_file() {
            return None;
        }
        let mut s = String::new();
        io::Read::read_to_string(&mut io::Read::take(f, 4 << 20), &mut s).ok()?;
        Some(s)
    };
    let passwd = read().unwrap_or_default();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 6 && f[2].parse() == Ok(uid))
        .map(|f| f[5].to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".to_owned())
}

/// Runs [`steps`] to the user process's execve; a failure goes to whoever is listening then
/// (the `start` connection once it came, the sync channel before).
fn run_steps(
    h: &Handover,
    sync: &Channel,
    joins: &[(LinuxNamespaceType, OwnedFd)],
    idmapped: &[(usize, OwnedFd)],
    listener: Option<OwnedFd>,
) -> ! {
    let mut started: Option<Channel> = None;
    let fail = match steps(h, sync, joins, idmapped, listener, &mut started) {
        Ok(never) => match never {},
        Err(f) => f,
    };
    report(started.as_ref().unwrap_or(sync), fail)
}

fn steps(
    h: &Handover,
    sync: &Channel,
    joins: &[(LinuxNamespaceType, OwnedFd)],
    idmapped: &[(usize, OwnedFd)],
    listener: Option<OwnedFd>,
    started: &mut Option<Channel>,
) -> Result<std::convert::Infallible, InitFail> {
    let process = &h.process;
    for (t, fd) in joins {
        rustix::thread::move_into_link_name_space(fd.as_fd(), crate::namespaces::kind_of(*t))
            .step_with(|| format!("join {} namespace", crate::namespaces::proc_name(*t)))?;
    }
    let joined = Cell::new(h.joined);
    if h.new_keyring {
        // A kernel without keyrings (or a caller under seccomp) is no reason to fail.
        let _ = sys::process::join_new_session_keyring();
    }

    if let Some(c) = &h.container {
        let own_netns = c.spec.linux().as_ref().and_then(|l| l.namespaces().as_ref()).is_some_and(|ns| {
            ns.iter().any(|n| n.typ() == LinuxNamespaceType::Network && n.path().is_none())
        });
        if own_netns {
            crate::netns::loopback_up().step("bring up the loopback interface")?;
        }
        let ctx = crate::rootfs::Context {
            rootfs: &c.rootfs,
            spec: &c.spec,
            userns: h.in_userns,
            fresh_cgroup2: c.fresh_cgroup2,
            cgroup_binds: &c.cgroup_binds,
            idmapped,
        };
        let root = crate::rootfs::prepare(&ctx)?;
        if c.hooks_before_pivot {
            sync.send(&FromChild::RunHooks).step("ask for createRuntime hooks")?;
            wait_continue(sync, &joined)?;
        }
        if let Some(hk) = c.spec.hooks().as_ref().and_then(|hk| hk.create_container().as_ref()) {
            crate::hooks::run(hk, c.state_json.as_bytes()).map_err(|(p, e)| InitFail::io(format!("createContainer hook {}", p.display()), e))?;
        }
        crate::rootfs::pivot(&root, c.no_pivot)?;
        drop(root);
        if let Some(name) = c.spec.hostname().as_ref().filter(|n| !n.is_empty()) {
            rustix::system::sethostname(name.as_bytes()).step("set hostname")?;
        }
        if let Some(d) = c.spec.domainname().as_ref().filter(|d| !d.is_empty()) {
            rustix::system::setdomainname(d.as_bytes()).step("set domainname")?;
        }
        if process.terminal() == Some(true) {
            let size = process.console_size().map(|b| (b.height() as u16, b.width() as u16));
            let master = crate::tty::setup(size, true)?;
            sync.send_with_fd(&FromChild::Console, Some(master.as_fd())).step("send pty master")?;
        }
        crate::rootfs::finish(&c.spec)?;
        if let Some(p) = c.spec.linux().as_ref().and_then(|l| l.personality().as_ref()) {
            let persona = match p.domain() {
                oci_spec::runtime::LinuxPersonalityDomain::PerLinux32 => 0x0008,
                _ => 0,
            };
            sys::process::set_personality(persona).step("set personality")?;
        }
    } else if process.terminal() == Some(true) {
        let size = process.console_size().map(|b| (b.height() as u16, b.width() as u16));
        let master = crate::tty::setup(size, false)?;
        sync.send_with_fd(&FromChild::Console, Some(master.as_fd())).step("send pty master")?;
    }
    if process.terminal() != Some(true) {
        // A session and process group of its own (a terminal's setup made them above), as
        // runc gives it: a `kill 0` in the container then reaches the container's processes,
        // never its shim, whose group it would otherwise share.
        rustix::process::setsid().step("setsid")?;
    }
    crate::rlimits::apply(process.rlimits().as_deref().unwrap_or(&[])).step("set rlimits")?;
    wait_joined(sync, &joined)?;
    if h.late_cgroupns {
        sys::process::unshare_namespaces(rustix::thread::UnshareFlags::NEWCGROUP).step("unshare cgroup namespace")?;
    }

    // Ready: the runtime records the container as created; then wait for start. A created
    // container outlives its `create`: stop dying with the parent first (if the parent is
    // already gone, sending Ready fails and we exit).
    if listener.is_some() {
        rustix::process::set_parent_process_death_signal(None).step("clear parent death signal")?;
    }
    sync.send(&FromChild::Ready).step("report ready")?;
    // Privileges, in the order the kernel needs them: the bounding set and, without
    // no_new_privs, the seccomp filter while CAP_SYS_ADMIN is still held. Loading Docker's
    // profile costs the kernel over a millisecond, so a filter that allows everything left to do
    // here is loaded while the caller starts us (as runc does); a failure is reported then.
    let caps = CapPlan::from(h.caps);
    let seccomp: Option<Filter> = h.seccomp.clone().map(Filter::from);
    let nnp = process.no_new_privileges() == Some(true);
    let start_hooks = h.container.as_ref().is_some_and(|c| c.spec.hooks().as_ref().and_then(|hk| hk.start_container().as_ref()).is_some_and(|v| !v.is_empty()));
    let early = !nnp && !start_hooks && seccomp.as_ref().is_some_and(|f| f.allows_init_tail() && !f.needs_listener());
    let loaded_early = early.then(|| {
        caps.apply_bounding().map_err(|e| InitFail::msg("drop bounding capabilities", e.to_string()))?;
        load_seccomp(seccomp.as_ref(), sync)
    });
    let chan: &Channel = match &listener {
        None => {
            wait_continue(sync, &joined)?;
            sync
        }
        Some(listener) => {
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
    drop(listener);
    if let Some(c) = &h.container {
        if let Some(hk) = c.spec.hooks().as_ref().and_then(|hk| hk.start_container().as_ref()) {
            crate::hooks::run(hk, c.state_json.as_bytes())
                .map_err(|(p, e)| InitFail::io(format!("startContainer hook {}", p.display()), e))?;
        }
    }

    match loaded_early {
        Some(loaded) => loaded?,
        None => {
            caps.apply_bounding().map_err(|e| InitFail::msg("drop bounding capabilities", e.to_string()))?;
            if !nnp {
                load_seccomp(seccomp.as_ref(), chan)?;
            }
        }
    }
    // runc's rule, which Docker users rely on: HOME, when not given, is the user's from the
    // container's /etc/passwd ("/" for a user it does not list); read before the user changes.
    let given_home = process.env().iter().flatten().any(|e| e.starts_with("HOME="));
    let home = (!given_home).then(|| home_of(process.user().uid()));
    set_user(process, h.in_userns)?;
    caps.apply_rest().map_err(|e| InitFail::msg("set capabilities", e.to_string()))?;
    if nnp {
        rustix::thread::set_no_new_privs(true).step("set no_new_privs")?;
    }
    let cwd = open_cwd(process.cwd())?;
    rustix::process::fchdir(&cwd).step_with(|| format!("chdir to cwd {}", process.cwd().display()))?;
    drop(cwd);
    let mut env: Vec<CString> = process.env().iter().flatten().filter_map(|e| CString::new(e.as_bytes()).ok()).collect();
    env.extend(home.and_then(|h| CString::new(format!("HOME={h}")).ok()));
    let args: Vec<CString> = process.args().iter().flatten().filter_map(|a| CString::new(a.as_bytes()).ok()).collect();
    let prog = find_program(&args[0], process.env().as_deref().unwrap_or(&[]))?;
    // The death signal guarded the setup only: the user process outlives a detached `run` or
    // `exec` that started it (and, as under runc, a foreground one that is killed).
    rustix::process::set_parent_process_death_signal(None).step("clear parent death signal")?;
    sys::process::cloexec_from(3 + h.preserve_fds).step("close runtime descriptors")?;
    sys::signal::reset_for_exec().step("reset signals")?;
    if nnp {
        load_seccomp(seccomp.as_ref(), chan)?;
    }
    let err = sys::process::execve(&prog, &args, &env);
    // runc's words (`exec: "x": permission denied`): clients choose exit codes 126/127 by them.
    let why = match err.raw_os_error() {
        Some(libc::EACCES) => "permission denied".to_owned(),
        Some(libc::ENOENT) => "no such file or directory".to_owned(),
        Some(libc::ENOEXEC) => "exec format error".to_owned(),
        _ => err.to_string(),
    };
    Err(InitFail::io(format!("exec: {:?}", args[0].to_string_lossy()), io::Error::new(err.kind(), why)))
}

fn load_seccomp(filter: Option<&Filter>, chan: &Channel) -> Result<(), InitFail> {
    if let Some(filter) = filter {
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

/// The first executable file called `name` in the directories of `path` (Docker's default PATH
/// when there is none), as execvp searches.
pub(crate) fn lookup_path(name: &str, path: Option<&str>) -> Option<PathBuf> {
    let path = path.unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    path.split(':').filter(|d| !d.is_empty()).map(|dir| PathBuf::from(dir).join(name)).find(|cand| {
        rustix::fs::stat(cand).is_ok_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_file() && st.st_mode & 0o111 != 0)
    })
}

/// Finds the program as execvp would, in the container's PATH (from its env, else the default).
fn find_program(arg0: &CString, env: &[String]) -> Result<CString, InitFail> {
    let name = arg0.to_string_lossy();
    if name.contains('/') {
        return Ok(arg0.clone());
    }
    if let Some(cand) = lookup_path(&name, env.iter().find_map(|e| e.strip_prefix("PATH="))) {
        return CString::new(cand.into_os_string().into_encoded_bytes()).step("program path");
    }
    Err(InitFail::io(
        format!("exec: {name:?}"),
        io::Error::new(io::ErrorKind::NotFound, "executable file not found in $PATH"),
    ))
}
