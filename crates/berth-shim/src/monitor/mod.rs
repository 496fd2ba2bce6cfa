//! The shim process itself: create and start the container, then one poll loop over its
//! output, its pidfd and the control socket until it ends; then record the exit and delete it.
//!
//! Nothing here waits for a reader: output is read as soon as it arrives, logged, and copied
//! to attached clients only as far as each one's bounded buffer allows (a slow or stuck client
//! loses output; the container and the log never wait for it).

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use berth_runtime::cgroups::Cgroup;
use berth_runtime::state::StateDir;
use berth_runtime::{Backend, CreateOptions};
use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, PidfdFlags, Signal, WaitOptions, WaitStatus};

mod handover;

pub use handover::{finish_inherited, own_path, serve_inherited, FINISH_ARG, SERVE_ARG};
use handover::{finish, FinishInfo};

use crate::detach::Report;
use crate::error::{chain, Error};
use crate::exit::ExitRecord;
use crate::log::{JsonLog, Stream};
use crate::protocol::{frame_header, Request};
use crate::{stdio, LogDriver, ShimOptions};

/// What a new process's stdio is made of: a console socket (tty) or the shim's and the
/// process's ends of its pipes.
type Stdio = (Option<UnixListener>, Option<stdio::ShimEnds>, Option<stdio::ChildEnds>);

/// Largest read from the container at once.
const READ_BUF: usize = 32 * 1024;
/// Output kept for one attached client that is not reading; beyond it, output is dropped.
const CLIENT_OUT_MAX: usize = 256 * 1024;
/// Longest control request line.
const REQUEST_MAX: usize = 64 * 1024;
/// Stdin bytes waiting for the container; beyond it, clients are not read.
const STDIN_MAX: usize = 64 * 1024;
/// How long output is still read after the init ended.
const DRAIN: Duration = Duration::from_secs(2);
/// How long a started container is served from the full image before the shim moves into the
/// small one: most `run --rm` containers end sooner, and then the two execs (into the small
/// image and back to finish) would cost more than their whole life.
const YOUNG: Duration = Duration::from_millis(200);

/// The monitor's entry point, in the detached process (forked by `berth-shim __detach`):
/// report to the launcher, serve the container until it ends, return the process exit code.
pub fn run(opts: &ShimOptions) -> i32 {
    let _ = rustix::process::setsid();
    // Hold no directory busy (the caller's may be unmounted later); paths are absolute.
    let _ = std::env::set_current_dir("/");
    let mut report = match Report::take_stdout() {
        Ok(r) => r,
        Err(_) => return 1,
    };
    if let Err(e) = stdio::to_dev_null() {
        report.send(&format!("error redirect stdio to /dev/null: {e}"));
        return 1;
    }
    match Monitor::start(opts) {
        Ok(mut m) => {
            report.send(&format!("ok {}", m.pid));
            drop(report);
            if m.held.is_some() {
                // Serve attach requests until `start` (this image can start; the small one
                // cannot), then continue as usual.
                m.pump(Until::Started);
                if m.held.is_some() || m.cancelled {
                    m.serve_and_finish();
                    return 0;
                }
            }
            if m.pump(Until::EndedOr(Instant::now() + YOUNG)) {
                m.finish_here();
                return 0;
            }
            // Only the loop's code should stay resident: continue in a fresh image of this
            // binary. Should that fail, serve from this one.
            let m = match m.exec_serve() {
                Ok(never) => match never {},
                Err(m) => m,
            };
            m.serve_and_finish();
            0
        }
        Err(e) => {
            report.send(&format!("error {}", chain(&e)));
            1
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Control,
    Attach { stdin: bool, stdout: bool, stderr: bool, once: bool },
}

struct Client {
    sock: UnixStream,
    mode: Mode,
    input: Vec<u8>,
    out: Vec<u8>,
    read_closed: bool,
    dead: bool,
}

impl Client {
    /// Queues `data` unless the client is too far behind; then writes what it can.
    fn send(&mut self, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if self.out.len() + len > CLIENT_OUT_MAX {
            return;
        }
        for p in parts {
            self.out.extend_from_slice(p);
        }
        self.flush();
    }

    fn flush(&mut self) {
        while !self.out.is_empty() && !self.dead {
            match self.sock.write(&self.out) {
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => self.dead = true,
            }
        }
        if self.out.is_empty() && self.out.capacity() > 64 * 1024 {
            // A burst is over: give its memory back.
            self.out = Vec::new();
        }
        if self.read_closed && self.out.is_empty() && self.mode == Mode::Control {
            self.dead = true;
        }
    }

    fn wants(&self, stream: Stream) -> bool {
        match self.mode {
            Mode::Control => false,
            Mode::Attach { stdout, stderr, .. } => match stream {
                Stream::Stdout => stdout,
                Stream::Stderr => stderr,
            },
        }
    }
}

struct Output {
    fd: OwnedFd,
    stream: Stream,
}

#[derive(Clone, Copy)]
enum Slot {
    Listener,
    Pid,
    /// The container of a held exec ended: the exec will never run.
    ContainerGone,
    Output(usize),
    Stdin,
    Client(usize),
}

/// When [`Monitor::pump`] returns.
#[derive(Clone, Copy)]
enum Until {
    /// A held start has happened.
    Started,
    /// The process has ended and its output is drained.
    Ended,
    /// That, or the instant has come while the process still runs.
    EndedOr(Instant),
}

/// What a shim started with `--hold` does on `start`.
enum Held {
    /// The container is created; `start` lets its init run.
    Container,
    /// Nothing runs yet; `start` executes the process in the container.
    Exec { child_ends: Option<stdio::ChildEnds>, console: Option<UnixListener> },
}

/// A container (or exec process) and everything the shim holds for it.
pub struct Monitor {
    opts: ShimOptions,
    /// The process served; 0 while a held exec has not started.
    pub pid: i32,
    pidfd: Option<OwnedFd>,
    outputs: Vec<Output>,
    tty: Option<OwnedFd>,
    stdin: Option<OwnedFd>,
    stdin_pending: Vec<u8>,
    log: Option<JsonLog>,
    listener: UnixListener,
    clients: Vec<Client>,
    finish: FinishInfo,
    status: Option<WaitStatus>,
    held: Option<Held>,
    /// A held exec was killed before it started: nothing to serve.
    cancelled: bool,
    /// A held exec's container init, watched so that the exec does not wait for a start that
    /// can no longer come.
    container_pidfd: Option<OwnedFd>,
    /// An attached client whose input closes the container's stdin has ended it: close stdin
    /// once what it sent has been written.
    closing_stdin: bool,
}

impl Monitor {
    /// Creates the container (or prepares the exec), its stdio on pipes (or a pty), its control
    /// socket bound; starts it unless the options say hold.
    pub fn start(opts: &ShimOptions) -> Result<Monitor, Error> {
        if opts.runtime_path.is_some() {
            // Another runtime's binary exits once the process runs; the process must then
            // become this shim's child, to be reaped and its status read here.
            rustix::process::set_child_subreaper(Some(rustix::process::getpid())).map_err(|e| Error::Sys { what: "become a child subreaper", source: e.into() })?;
        }
        std::fs::create_dir_all(&opts.state_dir).map_err(Error::io("create the shim state dir", &opts.state_dir))?;
        let sock_path = opts.socket_path();
        let listener = stdio::bind_private(&sock_path).map_err(Error::io("bind the control socket", &sock_path))?;
        listener.set_nonblocking(true).map_err(Error::sys("control socket"))?;
        let made = match &opts.exec_process {
            Some(_) => Self::prepare_exec(opts, listener),
            None => Self::create_container(opts, listener),
        };
        let started = made.and_then(|mut m| {
            if !opts.hold {
                m.start_held()?;
            }
            let pid_path = opts.pid_path();
            berth_runtime::state::write_atomic(&pid_path, std::process::id().to_string().as_bytes()).map_err(Error::io("write the shim pid file", &pid_path))?;
            Ok(m)
        });
        if started.is_err() {
            let _ = std::fs::remove_file(&sock_path);
        }
        started
    }

    fn open_log(opts: &ShimOptions) -> Result<Option<JsonLog>, Error> {
        match &opts.log {
            LogDriver::JsonFile(p) => Ok(Some(JsonLog::open(p, opts.log_rotate).map_err(Error::io("open the log file", p))?)),
            LogDriver::None => Ok(None),
        }
    }

    fn console_path(opts: &ShimOptions) -> std::path::PathBuf {
        opts.state_dir.join("console.sock")
    }

    /// A console socket (tty) or stdio pipes for the process about to be made.
    fn make_stdio(opts: &ShimOptions) -> Result<Stdio, Error> {
        if opts.tty {
            let path = Self::console_path(opts);
            let _ = std::fs::remove_file(&path);
            let l = stdio::bind_private(&path).map_err(Error::io("bind the console socket", &path))?;
            Ok((Some(l), None, None))
        } else {
            let (s, c) = stdio::pipes(opts.open_stdin).map_err(Error::sys("make the container's stdio pipes"))?;
            Ok((None, Some(s), Some(c)))
        }
    }

    fn prepare_exec(opts: &ShimOptions, listener: UnixListener) -> Result<Monitor, Error> {
        let log = Self::open_log(opts)?;
        let (console, shim_ends, child_ends) = Self::make_stdio(opts)?;
        let mut m = Monitor::new(opts, 0, None, listener, log, FinishInfo::new(opts, None, 0)?);
        if let Some(e) = shim_ends {
            m.take_pipes(e);
        }
        // Watch the container's init from here on; one that has already ended (a race with a
        // kill or rm) gets no exec that would wait for a start that can no longer come.
        let gone = |what| Error::Runtime { id: opts.id.to_string(), source: Box::new(berth_runtime::Error::WrongState { id: opts.id.to_string(), status: "not running".into(), what }) };
        let init = opts.backend().init_pid(&opts.id).map_err(|source| Error::Runtime { id: opts.id.to_string(), source: Box::new(source) })?;
        m.container_pidfd = Some(open_pidfd(init).map_err(|_| gone("its init has ended"))?);
        m.held = Some(Held::Exec { child_ends, console });
        Ok(m)
    }

    fn create_container(opts: &ShimOptions, listener: UnixListener) -> Result<Monitor, Error> {
        let log = Self::open_log(opts)?;
        let rt = opts.backend();
        let console_path = Self::console_path(opts);
        let (console, shim_ends, child_ends) = Self::make_stdio(opts)?;
        let create = CreateOptions {
            bundle: opts.bundle.clone(),
            console_socket: console.as_ref().map(|_| console_path.clone()),
            ..Default::default()
        };
        // The init inherits our fds 0/1/2: put the child ends there for the duration of create.
        if let Some(c) = &child_ends {
            c.install().map_err(Error::sys("put the container's stdio on fds 0-2"))?;
        }
        let created = rt.create(&opts.id, &create, &opts.state_dir.join("init.pid"));
        stdio::to_dev_null().map_err(Error::sys("redirect stdio to /dev/null"))?;
        drop(child_ends);
        let pid = created.map_err(|source| Error::Runtime { id: opts.id.to_string(), source: Box::new(source) })?;
        let made = (|| {
            let pidfd = open_pidfd(pid)?;
            let cgroup = match &rt {
                Backend::BuiltIn(_) => StateDir::new(&opts.runtime_root, &opts.id).load().ok().and_then(|s| s.cgroup).and_then(|p| Cgroup::open(&p).ok()),
                Backend::External(_) => Cgroup::of_process(pid).ok(),
            };
            let oom_kills = cgroup.as_ref().and_then(|c| c.oom_kills().ok()).unwrap_or(0);
            let finish = FinishInfo::new(opts, cgroup.map(|c| c.paths()), oom_kills)?;
            let mut m = Monitor::new(opts, pid, Some(pidfd), listener, log, finish);
            match (console.as_ref(), shim_ends) {
                (Some(l), _) => m.take_console(l)?,
                (None, Some(e)) => m.take_pipes(e),
                (None, None) => unreachable!("either a console or pipes"),
            }
            m.held = Some(Held::Container);
            Ok(m)
        })();
        if console.is_some() {
            let _ = std::fs::remove_file(&console_path);
        }
        if made.is_err() {
            let _ = rt.delete(&opts.id, true);
            if let Some(p) = Pid::from_raw(pid) {
                let _ = rustix::process::waitpid(Some(p), WaitOptions::empty());
            }
        }
        made
    }

    fn new(opts: &ShimOptions, pid: i32, pidfd: Option<OwnedFd>, listener: UnixListener, log: Option<JsonLog>, finish: FinishInfo) -> Monitor {
        Monitor {
            opts: opts.clone(),
            pid,
            pidfd,
            outputs: Vec::new(),
            tty: None,
            stdin: None,
            stdin_pending: Vec::new(),
            log,
            listener,
            clients: Vec::new(),
            finish,
            status: None,
            held: None,
            cancelled: false,
            container_pidfd: None,
            closing_stdin: false,
        }
    }

    fn take_pipes(&mut self, e: stdio::ShimEnds) {
        self.outputs = vec![Output { fd: e.stdout, stream: Stream::Stdout }, Output { fd: e.stderr, stream: Stream::Stderr }];
        self.stdin = e.stdin;
    }

    fn take_console(&mut self, l: &UnixListener) -> Result<(), Error> {
        let master = stdio::receive_console(l)?;
        let dup = |m: &OwnedFd| rustix::io::fcntl_dupfd_cloexec(m, 3).map_err(|e| Error::Sys { what: "dup the pty master", source: e.into() });
        if self.opts.open_stdin {
            self.stdin = Some(dup(&master)?);
        }
        self.outputs = vec![Output { fd: dup(&master)?, stream: Stream::Stdout }];
        self.tty = Some(master);
        Ok(())
    }

    /// Starts what is held: lets the created init run, or runs the exec process.
    fn start_held(&mut self) -> Result<(), Error> {
        let rt = self.opts.backend();
        let runtime_err = |source| Error::Runtime { id: self.opts.id.to_string(), source: Box::new(source) };
        match self.held.take() {
            None => Ok(()),
            Some(Held::Container) => rt.start(&self.opts.id).map_err(runtime_err),
            Some(Held::Exec { child_ends, console }) => {
                let path = self.opts.exec_process.clone().expect("an exec shim has a process");
                let pid_file = self.opts.state_dir.join("exec.pid");
                let console_path = Self::console_path(&self.opts);
                if let Some(c) = &child_ends {
                    c.install().map_err(Error::sys("put the process's stdio on fds 0-2"))?;
                }
                let ran = rt.exec(&self.opts.id, &path, console.as_ref().map(|_| console_path.as_path()), &pid_file);
                stdio::to_dev_null().map_err(Error::sys("redirect stdio to /dev/null"))?;
                drop(child_ends);
                let ran = ran.map_err(runtime_err);
                let pid = ran?;
                self.pid = pid;
                self.pidfd = Some(open_pidfd(pid)?);
                if let Some(l) = &console {
                    let got = self.take_console(l);
                    let _ = std::fs::remove_file(&console_path);
                    got?;
                }
                Ok(())
            }
        }
    }

    /// Serves the container until it has ended and its output is drained, and records its
    /// exit; returns what [`finish`] needs.
    fn serve(mut self) -> FinishInfo {
        self.pump(Until::Ended);
        self.end()
    }

    /// The poll loop, until `until`; true when it ended because the process has ended (and its
    /// output is drained) or a held exec was cancelled.
    fn pump(&mut self, until: Until) -> bool {
        let mut buf = vec![0u8; READ_BUF];
        // A process that ended in an earlier loop (a held container killed before its start)
        // has only its output left to drain: without this the loop would wait for ever.
        let mut drain_until: Option<Instant> = self.status.is_some().then(|| Instant::now() + DRAIN);
        loop {
            if self.cancelled {
                return true;
            }
            match until {
                Until::Started if self.held.is_none() => return false,
                Until::EndedOr(at) if self.status.is_none() && Instant::now() >= at => return false,
                _ => {}
            }
            if let Some(d) = drain_until {
                if self.outputs.is_empty() || Instant::now() >= d {
                    return true;
                }
            }
            let mut slots = Vec::new();
            let mut fds = Vec::new();
            slots.push(Slot::Listener);
            fds.push(PollFd::new(&self.listener, PollFlags::IN));
            if let (None, Some(pidfd)) = (&self.status, &self.pidfd) {
                slots.push(Slot::Pid);
                fds.push(PollFd::new(pidfd, PollFlags::IN));
            }
            if let (Some(Held::Exec { .. }), Some(c)) = (&self.held, &self.container_pidfd) {
                slots.push(Slot::ContainerGone);
                fds.push(PollFd::new(c, PollFlags::IN));
            }
            for (i, o) in self.outputs.iter().enumerate() {
                slots.push(Slot::Output(i));
                fds.push(PollFd::new(&o.fd, PollFlags::IN));
            }
            if let (Some(s), false) = (&self.stdin, self.stdin_pending.is_empty()) {
                slots.push(Slot::Stdin);
                fds.push(PollFd::new(s, PollFlags::OUT));
            }
            let stdin_room = self.stdin_pending.len() < STDIN_MAX;
            for (i, c) in self.clients.iter().enumerate() {
                let mut flags = PollFlags::empty();
                let reads_stdin = matches!(c.mode, Mode::Attach { stdin: true, .. });
                if !c.read_closed && (!reads_stdin || stdin_room) {
                    flags |= PollFlags::IN;
                }
                if !c.out.is_empty() {
                    flags |= PollFlags::OUT;
                }
                slots.push(Slot::Client(i));
                fds.push(PollFd::new(&c.sock, flags));
            }
            let wake = match (drain_until, until) {
                (Some(d), _) => Some(d),
                (None, Until::EndedOr(at)) => Some(at),
                (None, _) => None,
            };
            let timeout = wake.map(|d| {
                let left = d.saturating_duration_since(Instant::now());
                rustix::time::Timespec { tv_sec: left.as_secs() as i64, tv_nsec: i64::from(left.subsec_nanos()) }
            });
            match rustix::event::poll(&mut fds, timeout.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
            let ready: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
            drop(fds);
            let mut closed_outputs = Vec::new();
            for (slot, r) in slots.into_iter().zip(ready) {
                if r.is_empty() {
                    continue;
                }
                match slot {
                    Slot::Listener => self.accept(),
                    Slot::Pid => {
                        self.reap();
                        if self.status.is_some() {
                            drain_until = Some(Instant::now() + DRAIN);
                        }
                    }
                    Slot::Output(i) => {
                        if !self.read_output(i, &mut buf) {
                            closed_outputs.push(i);
                        }
                    }
                    Slot::Stdin => self.flush_stdin(),
                    Slot::ContainerGone => self.cancelled = true,
                    Slot::Client(i) => self.client_ready(i, r, &mut buf),
                }
            }
            for i in closed_outputs.into_iter().rev() {
                let o = self.outputs.remove(i);
                if let Some(log) = &mut self.log {
                    log.close(o.stream);
                }
            }
            self.clients.retain(|c| !c.dead);
        }
    }

    /// Serves the container in this image, then ends it: the path when the small serving
    /// binary cannot be executed.
    pub fn serve_and_finish(mut self) {
        self.pump(Until::Ended);
        self.finish_here();
    }

    /// Ends what [`Monitor::pump`] has served to its end, in this image.
    fn finish_here(self) {
        let opts = self.opts.clone();
        self.end();
        finish(&opts);
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((sock, _)) => {
                    if sock.set_nonblocking(true).is_ok() {
                        self.clients.push(Client { sock, mode: Mode::Control, input: Vec::new(), out: Vec::new(), read_closed: false, dead: false });
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn reap(&mut self) {
        let Some(p) = Pid::from_raw(self.pid) else { return };
        if let Ok(Some((_, st))) = rustix::process::waitpid(Some(p), WaitOptions::NOHANG) {
            if st.exited() || st.signaled() {
                self.status = Some(st);
            }
        }
    }

    /// One read from an output; false when it has ended.
    fn read_output(&mut self, i: usize, buf: &mut [u8]) -> bool {
        let stream = self.outputs[i].stream;
        match rustix::io::read(&self.outputs[i].fd, &mut *buf) {
            Ok(0) => false,
            Ok(n) => {
                self.on_output(stream, &buf[..n]);
                true
            }
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => true,
            // EIO: every slave of the pty is closed.
            Err(_) => false,
        }
    }

    fn on_output(&mut self, stream: Stream, data: &[u8]) {
        if let Some(log) = &mut self.log {
            log.write(stream, data);
        }
        let header = frame_header(stream as u8, data.len());
        let tty = self.tty.is_some();
        for c in self.clients.iter_mut().filter(|c| c.wants(stream)) {
            if tty {
                c.send(&[data]);
            } else {
                c.send(&[&header, data]);
            }
        }
    }

    fn flush_stdin(&mut self) {
        let Some(fd) = &self.stdin else {
            self.stdin_pending.clear();
            return;
        };
        while !self.stdin_pending.is_empty() {
            match rustix::io::write(fd, &self.stdin_pending) {
                Ok(n) => {
                    self.stdin_pending.drain(..n);
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => return,
                Err(_) => {
                    // The container closed its stdin.
                    self.stdin = None;
                    self.stdin_pending.clear();
                    return;
                }
            }
        }
        if self.closing_stdin {
            self.stdin = None;
        }
    }

    fn client_ready(&mut self, i: usize, r: PollFlags, buf: &mut [u8]) {
        if r.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) && !self.clients[i].read_closed {
            let c = &mut self.clients[i];
            match c.sock.read(buf) {
                Ok(0) => {
                    c.read_closed = true;
                    // A half-close is the end of the client's input; a whole close (HUP: a
                    // detach, a client gone) is not, and leaves stdin open for the next one.
                    if !r.contains(PollFlags::HUP) && matches!(c.mode, Mode::Attach { stdin: true, once: true, .. }) {
                        self.closing_stdin = true;
                        self.flush_stdin();
                    }
                }
                Ok(n) => self.client_input(i, &buf[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) => {}
                Err(_) => c.dead = true,
            }
        } else if r.intersects(PollFlags::HUP | PollFlags::ERR) {
            self.clients[i].dead = true;
        }
        self.clients[i].flush();
    }

    fn client_input(&mut self, i: usize, data: &[u8]) {
        match self.clients[i].mode {
            Mode::Attach { stdin: true, .. } => {
                self.stdin_pending.extend_from_slice(data);
                self.flush_stdin();
            }
            Mode::Attach { .. } => {}
            Mode::Control => {
                let mut input = std::mem::take(&mut self.clients[i].input);
                input.extend_from_slice(data);
                while self.clients[i].mode == Mode::Control {
                    let Some(end) = input.iter().position(|&b| b == b'\n') else { break };
                    let line: Vec<u8> = input.drain(..=end).collect();
                    let reply = self.handle(i, &line);
                    let mut bytes = serde_json::to_vec(&reply).expect("reply serializes");
                    bytes.push(b'\n');
                    self.clients[i].send(&[&bytes]);
                }
                if self.clients[i].mode == Mode::Control {
                    if input.len() > REQUEST_MAX {
                        self.clients[i].dead = true;
                    }
                    self.clients[i].input = input;
                } else if !input.is_empty() {
                    // Bytes that followed the attach request are already the client's stdin.
                    self.client_input(i, &input);
                }
            }
        }
    }

    fn handle(&mut self, i: usize, line: &[u8]) -> serde_json::Value {
        use serde_json::json;
        let req = match serde_json::from_slice::<Request>(line) {
            Ok(r) => r,
            Err(e) => return json!({"ok": false, "error": format!("bad request: {e}")}),
        };
        let fail = |msg: String| json!({"ok": false, "error": msg});
        match req {
            Request::State => json!({
                "ok": true,
                "id": self.opts.id.as_str(),
                "pid": self.pid,
                "shim_pid": std::process::id(),
                "status": if self.status.is_some() { "stopped" } else { "running" },
            }),
            Request::Kill { signal } => {
                let Some(sig) = Signal::from_named_raw(signal) else { return fail(format!("unknown signal {signal}")) };
                if matches!(self.held, Some(Held::Exec { .. })) {
                    self.cancelled = true;
                    return json!({"ok": true});
                }
                let Some(pidfd) = self.pidfd.as_ref().filter(|_| self.status.is_none()) else {
                    return fail("container is not running".into());
                };
                match rustix::process::pidfd_send_signal(pidfd, sig) {
                    Ok(()) => json!({"ok": true}),
                    Err(e) => fail(format!("send signal {signal}: {e}")),
                }
            }
            Request::Resize { height, width } => {
                let Some(master) = &self.tty else { return fail("the container has no tty".into()) };
                let ws = rustix::termios::Winsize { ws_row: height, ws_col: width, ws_xpixel: 0, ws_ypixel: 0 };
                match rustix::termios::tcsetwinsize(master.as_fd(), ws) {
                    Ok(()) => json!({"ok": true}),
                    Err(e) => fail(format!("resize the tty: {e}")),
                }
            }
            Request::Attach { stdin, stdout, stderr, stdin_once } => {
                // A held tty exec gets its stdin (the pty) only when it starts.
                if stdin && !self.opts.open_stdin {
                    return fail("the container's stdin is not open (start the shim with --open-stdin)".into());
                }
                self.clients[i].mode = Mode::Attach { stdin, stdout, stderr, once: stdin_once };
                json!({"ok": true})
            }
            Request::Start => {
                if self.held.is_none() {
                    return fail("already started".into());
                }
                match self.start_held() {
                    Ok(()) => json!({"ok": true, "pid": self.pid}),
                    Err(e) => {
                        // A held process that fails to start is not coming back: end it.
                        if self.pid > 0 {
                            if let Some(fd) = &self.pidfd {
                                let _ = rustix::process::pidfd_send_signal(fd, Signal::KILL);
                            }
                        } else {
                            self.cancelled = true;
                        }
                        fail(chain(&e))
                    }
                }
            }
            Request::CloseStdin => {
                self.flush_stdin();
                self.stdin = None;
                self.stdin_pending.clear();
                json!({"ok": true})
            }
        }
    }

    fn end(mut self) -> FinishInfo {
        for o in std::mem::take(&mut self.outputs) {
            if let Some(log) = &mut self.log {
                log.close(o.stream);
            }
        }
        if self.status.is_none() {
            // The drain ended without the pidfd: wait for the init itself.
            if let Some(p) = Pid::from_raw(self.pid) {
                self.status = rustix::process::waitpid(Some(p), WaitOptions::empty()).ok().flatten().map(|(_, s)| s);
            }
        }
        for c in &mut self.clients {
            c.flush();
        }
        let exit = if self.cancelled {
            // A held exec that never ran: record that it did not.
            Some(ExitRecord { exit_code: 126, signal: None, finished_at: berth_runtime::state::now_rfc3339(), oom_killed: false })
        } else {
            self.status.map(|st| ExitRecord::from_status(st, self.finish.oom_killed()))
        };
        // Recorded once, before the clients are let go, so one that asks at once finds it.
        if let Some(e) = &exit {
            let _ = e.write(&self.opts.exit_path());
        }
        self.finish
    }
}

fn open_pidfd(pid: i32) -> Result<OwnedFd, Error> {
    let p = Pid::from_raw(pid).ok_or(Error::Sys { what: "process pid", source: std::io::ErrorKind::InvalidData.into() })?;
    rustix::process::pidfd_open(p, PidfdFlags::empty()).map_err(|e| Error::Sys { what: "open the process's pidfd", source: e.into() })
}
