//! `--hold`: a shim that creates the container (or prepares an exec) and starts it only on a
//! `start` request, so a client attached before it sees every byte; and exec shims, which run
//! a process in a running container and leave the container alone when it ends.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::fixture::{alive, config, wait_until, Shim, SHIM};

/// `berth-shim start --hold --exec-process` for `process` in the running container of `s`, with
/// its state under `exec_dir/state`.
fn start_held_exec(s: &Shim, exec_dir: &std::path::Path, process: &serde_json::Value) -> std::process::Output {
    let pfile = exec_dir.join("process.json");
    std::fs::write(&pfile, process.to_string()).expect("write process.json");
    Command::new(SHIM)
        .args(["start", "--id", &s.id, "--bundle"])
        .arg(s.dir.join("bundle"))
        .arg("--state-dir")
        .arg(exec_dir.join("state"))
        .arg("--runtime-root")
        .arg(s.runtime_root())
        .args(["--log-driver", "none", "--hold", "--exec-process"])
        .arg(&pfile)
        .stdin(Stdio::null())
        .output()
        .expect("run berth-shim start --exec-process")
}

#[test]
fn a_held_container_starts_on_request_and_attached_clients_miss_nothing() {
    let mut s = Shim::new("hold");
    let pid = s.start(&config(&["sh", "-c", "echo first; read line; echo got $line; exit 4"], false), &["--hold", "--open-stdin"]);
    let st = s.connect().request(&json!({"op": "state"}));
    assert_eq!(st["pid"], pid, "{st}");
    let mut att = s.connect();
    assert_eq!(att.request(&json!({"op": "attach", "stdin": true, "stdout": true, "stderr": true})), json!({"ok": true}));
    // Nothing runs before start: the init still waits in the runtime.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(s.log_entries().is_empty(), "no output before start: {:?}", s.log_entries());
    let r = s.connect().request(&json!({"op": "start"}));
    assert_eq!(r, json!({"ok": true, "pid": pid}));
    assert_eq!(att.frames_until(1, "first\n")[1], "first\n");
    att.sock.write_all(b"ping\n").expect("write stdin");
    assert_eq!(att.frames_until(1, "got ping\n")[1], "got ping\n");
    assert_eq!(s.wait_exit()["exit_code"], 4);
    let again = s.leftovers();
    assert!(again.is_empty(), "{again:?}");
}

/// A held container killed before its start (a start that failed, a daemon that died before
/// it said start): the shim records the death and ends, leaving nothing behind. It used to
/// wait for ever once the init was gone.
#[test]
fn a_held_container_killed_before_its_start_ends_its_shim() {
    let mut s = Shim::new("heldkill");
    let pid = s.start(&config(&["true"], false), &["--hold"]);
    assert_eq!(s.connect().request(&json!({"op": "kill", "signal": 9})), json!({"ok": true}));
    assert_eq!(s.wait_exit()["exit_code"], 137);
    assert!(!alive(pid));
    let left = s.leftovers();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn an_exec_shim_runs_a_process_and_leaves_the_container_running() {
    let mut s = Shim::new("exec");
    let init = s.start(&config(&["sleep", "1000"], false), &["--log-driver", "none"]);
    let exec_dir = s.dir.join("exec1");
    std::fs::create_dir_all(&exec_dir).expect("exec dir");
    let process = json!({
        "args": ["sh", "-c", "echo in exec; echo oops >&2; exit 7"],
        "cwd": "/",
        "env": ["PATH=/bin:/usr/bin"],
        "user": {"uid": 0, "gid": 0},
    });
    let out = start_held_exec(&s, &exec_dir, &process);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0", "a held exec has no pid yet");
    let sock = exec_dir.join("state/shim.sock");
    let mut att = crate::fixture::Conn::connect(&sock);
    assert_eq!(att.request(&json!({"op": "attach", "stdout": true, "stderr": true})), json!({"ok": true}));
    let r = crate::fixture::Conn::connect(&sock).request(&json!({"op": "start"}));
    assert_eq!(r["ok"], true, "{r}");
    assert!(r["pid"].as_i64().is_some_and(|p| p > 0 && p != i64::from(init)), "{r}");
    let got = att.frames_until(2, "oops\n");
    assert!(got[1].contains("in exec\n"), "{got:?}");
    wait_until(20, "the exec shim to finish", || exec_dir.join("state/exit.json").exists() && !sock.exists());
    let exit: serde_json::Value = serde_json::from_slice(&std::fs::read(exec_dir.join("state/exit.json")).expect("exit.json")).expect("JSON");
    assert_eq!(exit["exit_code"], 7, "{exit}");
    assert!(alive(init), "the container still runs");
    assert_eq!(s.connect().request(&json!({"op": "kill", "signal": 9}))["ok"], true);
    s.wait_exit();
}

#[test]
fn a_held_exec_killed_before_start_records_that_it_never_ran() {
    let mut s = Shim::new("execcancel");
    s.start(&config(&["sleep", "1000"], false), &["--log-driver", "none"]);
    let exec_dir = s.dir.join("exec2");
    std::fs::create_dir_all(&exec_dir).expect("exec dir");
    let out = start_held_exec(&s, &exec_dir, &json!({"args": ["true"], "cwd": "/", "user": {"uid": 0, "gid": 0}}));
    assert!(out.status.success(), "{out:?}");
    let sock = exec_dir.join("state/shim.sock");
    assert_eq!(crate::fixture::Conn::connect(&sock).request(&json!({"op": "kill", "signal": 9}))["ok"], true);
    wait_until(20, "the exec shim to finish", || !sock.exists());
    let exit: serde_json::Value = serde_json::from_slice(&std::fs::read(exec_dir.join("state/exit.json")).expect("exit.json")).expect("JSON");
    assert_eq!(exit["exit_code"], 126, "{exit}");
    assert_eq!(s.connect().request(&json!({"op": "kill", "signal": 9}))["ok"], true);
    s.wait_exit();
}

#[test]
fn an_exec_in_a_container_that_has_ended_is_refused_and_leaves_no_shim() {
    let mut s = Shim::new("execgone");
    s.start(&config(&["sleep", "1000"], false), &["--log-driver", "none"]);
    assert_eq!(s.connect().request(&json!({"op": "kill", "signal": 9}))["ok"], true);
    s.wait_exit();
    // A health probe racing `rm -f` asks for this: it must fail now, not wait for a start forever.
    let exec_dir = s.dir.join("exec3");
    std::fs::create_dir_all(&exec_dir).expect("exec dir");
    let out = start_held_exec(&s, &exec_dir, &json!({"args": ["true"], "cwd": "/", "user": {"uid": 0, "gid": 0}}));
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&s.id), "the error names the container: {err}");
    assert!(!exec_dir.join("state/shim.sock").exists(), "no control socket is left");
    // The monitor exits right after its report, which the launcher may print first.
    let monitors = || Command::new("pgrep").arg("-f").arg(exec_dir.join("process.json")).output().expect("pgrep").stdout;
    wait_until(20, "no exec monitor to be left", || monitors().is_empty());
    let left = s.leftovers();
    assert!(left.is_empty(), "{left:?}");
}

/// CVE-2019-5736 with the init in the shim's image: a shim started by `berth-shim start` runs
/// from a read-only view of its binary, so the held init (a fork of the shim, not re-executed)
/// runs from it too. What an attacker in the container does — keep a descriptor from
/// /proc/<init>/exe, and write through it once the init is gone — fails, and the binary on
/// disk is unchanged.
#[test]
fn a_held_init_stays_in_the_shims_read_only_image() {
    let before = std::fs::read(SHIM).expect("read berth-shim");
    let mut s = Shim::new("roexe");
    let pid = s.start(&config(&["true"], false), &["--hold"]);
    assert_eq!(std::fs::read_link(format!("/proc/{pid}/exe")).expect("readlink exe"), std::path::Path::new("/"), "the init runs from the detached view");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline");
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(cmdline.contains("__detach") && !cmdline.contains("__init"), "the init did not re-execute itself: {cmdline}");
    let kept = std::fs::File::open(format!("/proc/{pid}/exe")).expect("open the init's exe");
    let through = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&kept));
    assert_eq!(s.connect().request(&json!({"op": "start"})), json!({"ok": true, "pid": pid}));
    s.wait_exit();
    let err = std::fs::OpenOptions::new().append(true).open(&through).expect_err("the view took a write");
    // EROFS; or ETXTBSY while other tests' shims execute the same binary, which the kernel
    // checks first. The mount is read-only either way.
    let refused = [rustix::io::Errno::ROFS, rustix::io::Errno::TXTBSY].map(|e| Some(e.raw_os_error()));
    assert!(refused.contains(&err.raw_os_error()), "{err}");
    let st = rustix::fs::fstatvfs(&kept).expect("fstatvfs");
    assert!(st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY), "the view is a read-only mount");
    assert!(std::fs::read(SHIM).expect("read berth-shim") == before, "berth-shim changed");
}
