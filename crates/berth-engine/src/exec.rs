//! Exec instances: `docker exec`. Each one runs under a shim of its own (`--exec-process`),
//! held until the client has attached, so no output is lost; its exit is read from the shim's
//! record when the shim ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use berth_api_types::exec::{ExecConfig, ExecInspect, ExecProcessConfig};
use berth_shim::protocol::Request;
use berth_shim::{LogDriver, ShimOptions};
use serde_json::{json, Value};
use tokio::net::UnixStream;

use crate::container::record::{Record, Status};
use crate::container::{shim, spec, user};
use crate::error::{Error, Result};
use crate::policy::Principal;
use crate::Engine;

#[derive(Debug, Clone, Default)]
struct ExecState {
    started: bool,
    running: bool,
    exit_code: Option<i64>,
    pid: i32,
}

pub struct Exec {
    pub id: String,
    pub container: String,
    config: ExecConfig,
    state: Mutex<ExecState>,
}

impl Exec {
    fn state(&self) -> MutexGuard<'_, ExecState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Exec instances kept per container, beyond which the oldest finished ones are dropped.
const KEPT_PER_CONTAINER: usize = 64;

/// An exec's command as dockerd names it in its events: the program, a space, the arguments
/// (`exec_create: true ` for a bare `true`).
fn event_command(cmd: &[String]) -> String {
    match cmd.split_first() {
        Some((program, args)) => format!("{program} {}", args.join(" ")),
        None => " ".to_owned(),
    }
}

impl Engine {
    fn execs(&self) -> MutexGuard<'_, HashMap<String, Arc<Exec>>> {
        self.execs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn find_exec(&self, principal: &Principal, id: &str) -> Result<Arc<Exec>> {
        let e = self.execs().get(id).cloned().ok_or_else(|| Error::NoSuchExec(id.to_owned()))?;
        // An exec is visible to whoever may see its container.
        self.find(principal, &e.container).map_err(|_| Error::NoSuchExec(id.to_owned()))?;
        Ok(e)
    }

    pub(crate) fn forget_execs(&self, container: &str) {
        self.execs().retain(|_, e| e.container != container);
    }

    /// `POST /containers/{id}/exec`.
    pub fn exec_create(&self, principal: &Principal, key: &str, config: ExecConfig) -> Result<String> {
        let ctr = self.find(principal, key)?;
        let status = ctr.rec().state.status;
        match status {
            Status::Running => {}
            Status::Paused => return Err(Error::Conflict(format!("Container {} is paused, unpause the container before exec", ctr.id))),
            Status::Restarting => return Err(Error::Conflict(format!("Container {} is restarting, wait until the container is running", ctr.id))),
            _ => return Err(Error::NotRunning(ctr.id.clone())),
        }
        if config.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            return Err(Error::InvalidParameter("No exec command specified".into()));
        }
        if config.privileged == Some(true) && *principal != Principal::Admin {
            return Err(Error::Refused { what: "exec --privileged".into(), why: "a scoped socket cannot grant more than its container holds" });
        }
        let id = loop {
            let id = crate::container::record::new_id();
            if !self.execs().keys().any(|k| k[..16] == id[..16]) {
                break id;
            }
        };
        let exec = Arc::new(Exec { id: id.clone(), container: ctr.id.clone(), config: config.clone(), state: Mutex::new(ExecState::default()) });
        {
            let mut r = ctr.rec();
            r.exec_ids.push(id.clone());
            if r.exec_ids.len() > KEPT_PER_CONTAINER {
                let old = r.exec_ids.remove(0);
                self.execs().remove(&old);
            }
        }
        self.execs().insert(id.clone(), exec);
        let cmd = event_command(config.cmd.as_deref().unwrap_or_default());
        self.container_event(&ctr, &format!("exec_create: {cmd}"), &[("execID", id.clone())]);
        // The process joins the container's cgroups: the kernel's wait for that begins now.
        if let Some(w) = &self.attach_warmer {
            w.after_create();
        }
        Ok(id)
    }

    /// The exec's process: the container's, with the exec's command, env, user and dir.
    fn exec_process(&self, rec: &Record, cfg: &ExecConfig) -> Result<Value> {
        let bundle = self.cfg.run_dir(&rec.id).join("bundle");
        let spec: Value = std::fs::read(bundle.join("config.json"))
            .ok()
            .and_then(|d| serde_json::from_slice(&d).ok())
            .ok_or_else(|| Error::NotRunning(rec.id.clone()))?;
        let mut p = spec["process"].clone();
        p["args"] = json!(cfg.cmd.clone().unwrap_or_default());
        p["terminal"] = json!(cfg.tty == Some(true));
        let mut env: Vec<String> = serde_json::from_value(p["env"].clone()).unwrap_or_default();
        for e in cfg.env.iter().flatten().filter(|e| e.contains('=')) {
            let key = e.split('=').next().unwrap_or("");
            env.retain(|x| x.split('=').next() != Some(key));
            env.push(e.clone());
        }
        if cfg.tty == Some(true) && !env.iter().any(|e| e.starts_with("TERM=")) {
            env.push("TERM=xterm".into());
        }
        p["env"] = json!(env);
        if let Some(w) = cfg.working_dir.as_deref().filter(|w| !w.is_empty()) {
            p["cwd"] = json!(w);
        }
        // The user is looked up again, as dockerd does: an exec sees /etc/group as it is now.
        let u = cfg.user.clone().filter(|u| !u.is_empty()).or_else(|| rec.config.user.clone()).unwrap_or_default();
        let (uid, gid, extra) = user::resolve(&bundle.join("rootfs"), &u, rec.host_config.group_add.as_deref().unwrap_or(&[]))?;
        p["user"] = json!({"uid": uid, "gid": gid, "additionalGids": extra});
        if cfg.privileged == Some(true) {
            let all = spec::all_caps();
            p["capabilities"] = json!({"bounding": all, "effective": all, "permitted": all});
        }
        // The container's rlimits and oom_score_adj stay: an exec gets them as its init did.
        if let Some(obj) = p.as_object_mut() {
            obj.remove("consoleSize");
        }
        // The client's terminal size from the start, so the first `stty size` is right.
        if let (true, Some([h, w])) = (cfg.tty == Some(true), cfg.console_size.as_deref().and_then(|c| <[u64; 2]>::try_from(c).ok())) {
            if h > 0 && w > 0 {
                p["consoleSize"] = json!({"height": h, "width": w});
            }
        }
        Ok(p)
    }

    /// `POST /exec/{id}/start`: runs the process; unless `detach`, returns the connection that
    /// carries its streams and whether it has a tty.
    pub async fn exec_start(self: &Arc<Self>, principal: &Principal, exec_id: &str, detach: bool) -> Result<Option<(UnixStream, bool)>> {
        let exec = self.find_exec(principal, exec_id)?;
        {
            let mut st = exec.state();
            if st.started {
                return Err(Error::Conflict(format!("Error: Exec command {exec_id} has already run")));
            }
            st.started = true;
        }
        let started = self.launch_exec(principal, &exec, exec_id, detach).await;
        if let Err(e) = &started {
            // A process that never ran has dockerd's codes: 127 when the program is not
            // there, 126 otherwise (a user that does not exist, a bad working directory).
            let m = crate::error::chain(e);
            let code = if m.contains("executable file not found") || (m.contains("no such file or directory") && m.contains("exec:")) { 127 } else { 126 };
            exec.state().exit_code.get_or_insert(code);
        }
        started
    }

    /// Launches a started exec's shim, attaches to it and starts its process.
    async fn launch_exec(self: &Arc<Self>, principal: &Principal, exec: &Arc<Exec>, exec_id: &str, detach: bool) -> Result<Option<(UnixStream, bool)>> {
        let ctr = self.find(principal, &exec.container)?;
        let rec = ctr.rec().clone();
        if rec.state.status != Status::Running {
            return Err(Error::NotRunning(rec.id.clone()));
        }
        let _warm = self.attach_warmer.as_ref().map(|w| w.hold());
        let cfg = &exec.config;
        let process = self.exec_process(&rec, cfg)?;
        let dir = self.cfg.exec_dir(&rec.id, exec_id);
        std::fs::create_dir_all(&dir).map_err(Error::io("create the exec's directory", &dir))?;
        let pfile = dir.join("process.json");
        std::fs::write(&pfile, serde_json::to_vec(&process).expect("process serializes")).map_err(Error::io("write the exec's process", &pfile))?;
        let tty = cfg.tty == Some(true);
        let stdin = !detach && cfg.attach_stdin == Some(true);
        let (runtime_root, runtime_path, runtime_args) = self.shim_runtime(rec.host_config.runtime.as_deref())?;
        let opts = ShimOptions {
            id: berth_runtime::ContainerId::parse(&rec.id).map_err(|e| Error::Internal(e.to_string()))?,
            bundle: self.cfg.run_dir(&rec.id).join("bundle"),
            state_dir: dir.join("shim"),
            runtime_root,
            runtime_path,
            runtime_args,
            log: LogDriver::None,
            tty,
            open_stdin: stdin,
            hold: true,
            exec_process: Some(pfile),
            log_rotate: None,
        };
        shim::launch(self.shim.clone(), opts.clone(), rec.id.clone()).await?;
        let sock = opts.socket_path();
        let shim_pid: i32 = std::fs::read_to_string(opts.pid_path()).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        let attached = if detach {
            None
        } else {
            let req = Request::Attach { stdin, stdout: cfg.attach_stdout != Some(false), stderr: cfg.attach_stderr != Some(false), stdin_once: !tty };
            match shim::request(&sock, &req, exec_id, "attach to exec").await {
                Ok((s, _)) => Some(s),
                Err(e) => {
                    // The held shim would wait for ever: cancel it.
                    let _ = shim::request(&sock, &Request::Kill { signal: 9 }, exec_id, "cancel exec").await;
                    shim::wait_gone(&sock, shim_pid).await;
                    let _ = self.trash.discard(&dir);
                    return Err(e);
                }
            }
        };
        let started = shim::request(&sock, &Request::Start, exec_id, "start exec").await;
        let (_, reply) = match started {
            Ok(r) => r,
            Err(e) => {
                // The runtime's reason alone (it names the container at every level), as
                // dockerd's message names no container either.
                let e = match e {
                    Error::ShimSaid { message, .. } => Error::Internal(shim::tidy(&rec.id, &message)),
                    e => e,
                };
                shim::wait_gone(&sock, shim_pid).await;
                let _ = self.trash.discard(&dir);
                return Err(e);
            }
        };
        {
            let mut st = exec.state();
            st.running = true;
            st.pid = reply["pid"].as_i64().unwrap_or(0) as i32;
        }
        let cmd = event_command(cfg.cmd.as_deref().unwrap_or_default());
        self.container_event(&ctr, &format!("exec_start: {cmd}"), &[("execID", exec_id.to_owned())]);
        let engine = self.clone();
        let exec2 = exec.clone();
        tokio::spawn(async move {
            shim::wait_gone(&sock, shim_pid).await;
            let code = berth_shim::exit::ExitRecord::read(&dir.join("shim/exit.json")).map(|e| i64::from(e.exit_code)).unwrap_or(255);
            {
                // Recorded before the files go: `exec_inspect` reads them while `running`.
                let mut st = exec2.state();
                st.running = false;
                st.exit_code = Some(code);
            }
            let _ = engine.trash.discard(&dir);
            if let Ok(ctr) = engine.find(&Principal::Admin, &exec2.container) {
                engine.container_event(&ctr, "exec_die", &[("execID", exec2.id.clone()), ("exitCode", code.to_string())]);
            }
        });
        Ok(attached.map(|s| (s, tty)))
    }

    /// Kills a running exec's process (a healthcheck past its timeout).
    pub(crate) fn kill_exec(&self, exec_id: &str) {
        let pid = self.execs().get(exec_id).map(|e| e.state().pid).unwrap_or(0);
        if let Some(pid) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }

    /// The exit code of an exec whose output has ended, once its shim has recorded it.
    pub(crate) async fn exec_exit_code(&self, exec_id: &str) -> Option<i64> {
        for _ in 0..1000 {
            let code = self.exec_inspect(&Principal::Admin, exec_id).ok().and_then(|i| if i.running { None } else { i.exit_code });
            if code.is_some() {
                return code;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        None
    }

    /// Drops an exec instance nobody will ask about (a healthcheck's).
    pub(crate) fn forget_exec(&self, exec_id: &str) {
        self.execs().remove(exec_id);
    }

    /// `GET /exec/{id}/json`.
    pub fn exec_inspect(&self, principal: &Principal, exec_id: &str) -> Result<ExecInspect> {
        let e = self.find_exec(principal, exec_id)?;
        let mut st = e.state().clone();
        if st.running {
            // The shim records the exit before it lets go of the client, which may ask at once.
            if let Ok(x) = berth_shim::exit::ExitRecord::read(&self.cfg.exec_dir(&e.container, exec_id).join("shim/exit.json")) {
                st.running = false;
                st.exit_code = Some(i64::from(x.exit_code));
            }
        }
        let cmd = e.config.cmd.clone().unwrap_or_default();
        Ok(ExecInspect {
            id: e.id.clone(),
            running: st.running,
            exit_code: st.exit_code,
            process_config: ExecProcessConfig {
                arguments: cmd.iter().skip(1).cloned().collect(),
                entrypoint: cmd.first().cloned().unwrap_or_default(),
                privileged: e.config.privileged == Some(true),
                tty: e.config.tty == Some(true),
                user: e.config.user.clone(),
            },
            open_stdin: e.config.attach_stdin == Some(true),
            open_stderr: e.config.attach_stderr == Some(true),
            open_stdout: e.config.attach_stdout == Some(true),
            container_id: e.container.clone(),
            pid: i64::from(st.pid),
            can_remove: Some(false),
            detach_keys: Some(String::new()),
        })
    }

    /// `POST /exec/{id}/resize`.
    pub async fn exec_resize(&self, principal: &Principal, exec_id: &str, height: u16, width: u16) -> Result<()> {
        let e = self.find_exec(principal, exec_id)?;
        if !e.state().running {
            return Err(Error::Conflict(format!("exec {exec_id} is not running")));
        }
        let sock = self.cfg.exec_dir(&e.container, exec_id).join("shim/shim.sock");
        shim::request(&sock, &Request::Resize { height, width }, exec_id, "resize exec").await.map(drop).map_err(|err| {
            if e.state().running && sock.exists() { err } else { Error::Conflict(format!("exec {exec_id} is not running")) }
        })
    }
}
