//! `exec`: arguments, environment, working directory, user, exit codes, the container's
//! confinement, `ps`, and the refusals (stopped container, cwd outside the root).

use serde_json::Value;

use crate::fixture::{docker_cap_mask, docker_config, status_field, wait_until, Test};

#[test]
fn exec_runs_with_args_env_cwd_and_user_and_propagates_the_exit_code() {
    let t = Test::new("exec");
    let b = t.bundle(&docker_config(&["sleep", "1000"]));
    let id = t.id("c");
    t.start_detached(&b, &id);
    let out = t.exec(&["-e", "FOO=bar baz", "--cwd", "/tmp", "-u", "1000:1001", &id, "sh", "-c", "echo \"$FOO\"; pwd; id -u; id -g"]);
    assert_eq!(out.lines(), ["bar baz", "/tmp", "1000", "1001"], "{out:?}");
    assert_eq!(t.exec(&[&id, "sh", "-c", "exit 42"]).code, 42);
    // The exec'd process is confined like the init: same capabilities, seccomp, pid namespace.
    let status = t.exec(&[&id, "cat", "/proc/self/status"]);
    let status = status.ok();
    assert_eq!(status_field(status, "CapBnd"), format!("{:016x}", docker_cap_mask()));
    assert_eq!(status_field(status, "Seccomp"), "2");
    let ps = t.exec(&[&id, "ps", "-o", "pid,args"]);
    assert!(ps.ok().lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "sleep", "1000"]), "{ps:?}");
    t.rt(&["delete", "-f", &id]).ok();
}

#[test]
fn exec_into_a_stopped_container_is_refused() {
    let t = Test::new("execstopped");
    let b = t.bundle(&docker_config(&["true"]));
    let id = t.id("c");
    t.start_detached(&b, &id);
    wait_until(10, "the container to stop", || t.status(&id) == "stopped");
    t.exec(&[&id, "true"]).fails_with(&[&id, "stopped", "not running"]);
    t.rt(&["delete", &id]).ok();
}

#[test]
fn exec_detached_writes_its_pid_file_and_ps_lists_it() {
    let t = Test::new("execdetach");
    let b = t.bundle(&docker_config(&["sleep", "1000"]));
    let id = t.id("c");
    let init = t.start_detached(&b, &id);
    let pid_file = t.path("exec.pid");
    t.exec(&["-d", "--pid-file", &pid_file.to_string_lossy(), &id, "sleep", "999"]).ok();
    let pid: i32 = std::fs::read_to_string(&pid_file).expect("exec pid file").trim().parse().expect("pid file holds a pid");
    t.note_pid(pid);
    let ps = t.rt(&["ps", "--format", "json", &id]);
    let pids: Vec<i32> = serde_json::from_str(ps.ok()).expect("ps json is a list of pids");
    assert!(pids.contains(&init) && pids.contains(&pid), "{pids:?} should hold {init} and {pid}");
    let table = t.rt(&["ps", &id]);
    assert!(table.ok().lines().any(|l| l.contains("sleep 999")), "{table:?}");
    t.rt(&["delete", "-f", &id]).ok();
}

#[test]
fn exec_keeps_the_containers_process_defaults() {
    let t = Test::new("execdefaults");
    let mut cfg = docker_config(&["sleep", "1000"]);
    cfg["process"]["env"].as_array_mut().expect("env").push(Value::from("FROM_SPEC=1"));
    let b = t.bundle(&cfg);
    let id = t.id("c");
    t.start_detached(&b, &id);
    let out = t.exec(&[&id, "sh", "-c", "echo $FROM_SPEC; id -u; hostname"]);
    assert_eq!(out.lines(), ["1", "0", "it"], "{out:?}");
    t.rt(&["delete", "-f", &id]).ok();
}
