//! Other OCI runtimes: containers run by Debian's runc binary (`--add-runtime`), managed
//! through the same API as those of the built-in runtime, across a kill -9 of the daemon.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use berth_testutil::daemon::{wait_until, TestDaemon};

const RUNC: &str = "/usr/sbin/runc";

fn runc_daemon(name: &str, extra: &[&str]) -> TestDaemon {
    assert!(Path::new(RUNC).exists(), "{RUNC} is missing: install Debian's runc package (scripts/test.sh does)");
    let mut args = vec!["--add-runtime", "runc=/usr/sbin/runc"];
    args.extend_from_slice(extra);
    let d = TestDaemon::start_with(crate::BERTHD, name, &args);
    d.load_busybox();
    d
}

/// What runc itself says about the containers under the daemon's state root for it.
fn runc_list(d: &TestDaemon) -> String {
    let out = Command::new(RUNC).arg("--root").arg(d.exec_root().join("runtimes/runc")).args(["list", "-q"]).output().expect("run runc list");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn runc_runs_containers_the_daemon_manages() {
    let d = runc_daemon("runc", &[]);
    let info = d.docker_ok(&["info", "--format", "{{json .Runtimes}} {{.DefaultRuntime}}"]);
    assert!(info.contains("\"runc\":{\"path\":\"/usr/sbin/runc\"}") && info.contains("\"berth\"") && info.ends_with(" berth\n"), "{info}");

    // Output, the exit code, the runtime's name in inspect.
    let out = d.docker(&["run", "--name", "once", "--runtime", "runc", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!((out.status.code(), String::from_utf8_lossy(&out.stdout).as_ref(), String::from_utf8_lossy(&out.stderr).as_ref()), (Some(3), "out\n", "err\n"));
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.HostConfig.Runtime}} {{.State.ExitCode}}", "once"]), "runc 3\n");
    assert_eq!(d.docker_ok(&["logs", "once"]), "out\n");
    d.docker_ok(&["rm", "once"]);
    assert_eq!(runc_list(&d), "", "runc's record goes with the container");

    // A running container is runc's: runc lists it; exec, top, stats, pause, update work.
    let id = d.docker_ok(&["run", "-d", "--name", "svc", "--runtime", "runc", "busybox", "sleep", "600"]).trim().to_owned();
    assert_eq!(runc_list(&d), format!("{id}\n"));
    assert_eq!(d.docker_ok(&["exec", "svc", "sh", "-c", "echo in $(hostname); grep -c Seccomp: /proc/self/status"]), format!("in {}\n1\n", &id[..12]));
    let out = d.docker(&["exec", "svc", "nope"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    let top = d.docker_ok(&["top", "svc"]);
    assert!(top.lines().count() == 2 && top.contains("sleep 600"), "{top}");
    d.docker_ok(&["update", "--memory", "64m", "--memory-swap", "128m", "svc"]);
    let stats = d.docker_ok(&["stats", "--no-stream", "--format", "{{.MemUsage}} {{.PIDs}}", "svc"]);
    assert!(stats.contains(" / 64MiB 1"), "{stats}");
    d.docker_ok(&["pause", "svc"]);
    let state = Command::new(RUNC).arg("--root").arg(d.exec_root().join("runtimes/runc")).args(["state", &id]).output().expect("runc state");
    assert!(String::from_utf8_lossy(&state.stdout).contains("\"status\": \"paused\""), "{state:?}");
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.State.Status}}", "svc"]), "paused\n");
    d.docker_ok(&["unpause", "svc"]);
    d.docker_ok(&["exec", "svc", "true"]);

    // A terminal: raw, sized, through runc's console socket.
    let out = crate::tty::in_pty(&d, "stty cols 91 rows 13; docker run -it --rm --runtime runc busybox sh -c 'tty; stty size'", &[]);
    assert!(out.contains("/dev/pts/0\r\n13 91\r\n"), "{out:?}");

    // What runc refuses is the client's error, with runc's words and docker's exit codes.
    let out = d.docker(&["run", "--rm", "--runtime", "runc", "busybox", "nope"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(127), "{err}");
    assert!(err.contains("/usr/sbin/runc create: ") && err.contains("exec: \"nope\": executable file not found in $PATH"), "{err}");
    let out = d.docker(&["run", "--rm", "--runtime", "crun", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown or invalid runtime name: crun"), "{out:?}");

    d.docker_ok(&["stop", "-t", "1", "svc"]);
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "svc"]), "exited 137\n");
    d.docker_ok(&["start", "svc"]);
    d.docker_ok(&["rm", "-f", "svc"]);
    assert_eq!(runc_list(&d), "");
}

#[test]
fn the_default_runtime_survives_a_kill_9_of_the_daemon() {
    let mut d = runc_daemon("runc-kill9", &["--default-runtime", "runc"]);
    d.docker_ok(&["run", "-d", "--name", "chatty", "busybox", "sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.02; done"]);
    d.docker_ok(&["run", "-d", "--name", "ender", "busybox", "sh", "-c", "sleep 1; echo bye; exit 7"]);
    d.docker_ok(&["run", "-d", "--name", "builtin", "--runtime", "berth", "busybox", "sleep", "600"]);
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.HostConfig.Runtime}}", "chatty", "builtin"]), "runc\nberth\n");
    assert_eq!(runc_list(&d).lines().count(), 2, "only the containers of the default runtime are runc's");
    let pid = d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", "chatty"]);
    let before = d.docker_ok(&["logs", "chatty"]).lines().count();
    assert!(!d.stop_with("KILL").success());
    std::thread::sleep(Duration::from_secs(2));
    d.spawn();
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.State.Status}} {{.State.Pid}}", "chatty"]), format!("running {}", pid));
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "ender"]), "exited 7\n");
    assert_eq!(d.docker_ok(&["logs", "ender"]), "bye\n");
    let logs = d.docker_ok(&["logs", "chatty"]);
    let n: Vec<u64> = logs.lines().map(|l| l.trim_start_matches("line ").parse().expect("a counter line")).collect();
    assert!(n.len() > before + 20 && n.iter().enumerate().all(|(i, v)| *v == i as u64), "every line once, in order, also while the daemon was down");
    d.docker_ok(&["exec", "chatty", "true"]);
    // ender's runc record went when it ended.
    wait_until(10, "runc to list only chatty", || runc_list(&d).lines().count() == 1);
    d.docker_ok(&["rm", "-f", "chatty", "ender", "builtin"]);
    assert_eq!(runc_list(&d), "");
}
