//! The lifecycle through runc's commands: create, start, state, kill (names, numbers, --all),
//! delete, list, features, --pid-file.

use serde_json::Value;

use crate::fixture::{docker_config, wait_until, Test};

#[test]
fn create_start_state_kill_delete() {
    let t = Test::new("lifecycle");
    let b = t.bundle(&docker_config(&["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.05; done"]));
    let id = t.id("c");
    let pid_file = t.path("pid");
    t.rt(&["create", "-b", &b.to_string_lossy(), "--pid-file", &pid_file.to_string_lossy(), &id]).ok();
    let st = t.state(&id);
    assert_eq!(st["status"], "created", "{st}");
    assert_eq!(st["id"], id.as_str());
    assert_eq!(st["bundle"], b.to_string_lossy().as_ref());
    assert!(st["ociVersion"].as_str().is_some_and(|v| v.starts_with("1.")), "{st}");
    let pid = st["pid"].as_i64().expect("pid") as i32;
    t.note_pid(pid);
    assert_eq!(std::fs::read_to_string(&pid_file).expect("pid file").trim(), pid.to_string());
    t.rt(&["start", &id]).ok();
    assert_eq!(t.status(&id), "running");
    t.rt(&["start", &id]).fails_with(&[&id, "running"]);
    t.rt(&["delete", &id]).fails_with(&[&id, "running"]);
    t.rt(&["kill", &id, "TERM"]).ok();
    wait_until(10, "the container to stop after TERM", || t.status(&id) == "stopped");
    assert_eq!(t.state(&id)["pid"], 0);
    t.rt(&["kill", &id, "KILL"]).fails_with(&[&id, "stopped"]);
    t.rt(&["delete", &id]).ok();
    t.rt(&["state", &id]).fails_with(&[&id, "does not exist"]);
}

#[test]
fn kill_takes_names_and_numbers() {
    let t = Test::new("killsig");
    for (n, sig) in ["SIGKILL", "9", "KILL"].iter().enumerate() {
        let b = t.bundle(&docker_config(&["sleep", "1000"]));
        let id = t.id(&format!("c{n}"));
        t.start_detached(&b, &id);
        t.rt(&["kill", &id, sig]).ok();
        wait_until(10, &format!("kill {sig} to stop the container"), || t.status(&id) == "stopped");
        t.rt(&["delete", &id]).ok();
    }
    let b = t.bundle(&docker_config(&["sleep", "1000"]));
    let id = t.id("bad");
    t.start_detached(&b, &id);
    t.rt(&["kill", &id, "SIGNOPE"]).fails_with(&["SIGNOPE"]);
    t.rt(&["delete", "-f", &id]).ok();
}

#[test]
fn kill_all_reaches_every_process() {
    let t = Test::new("killall");
    // Without a pid namespace, killing the init alone would leave its children running.
    let mut cfg = docker_config(&["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
    cfg["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "uts"}, {"type": "ipc"}]);
    let b = t.bundle(&cfg);
    let id = t.id("c");
    t.start_detached(&b, &id);
    let mut pids: Vec<i32> = Vec::new();
    wait_until(10, "three processes in the container", || {
        pids = serde_json::from_str(t.rt(&["ps", "--format", "json", &id]).ok()).expect("ps json");
        pids.len() == 3
    });
    pids.iter().for_each(|p| t.note_pid(*p));
    t.rt(&["kill", "--all", &id, "KILL"]).ok();
    wait_until(10, "every process to die", || pids.iter().all(|p| crate::fixture::start_time(*p).is_none() || is_zombie(*p)));
    wait_until(10, "the container to stop", || t.status(&id) == "stopped");
    t.rt(&["delete", &id]).ok();
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map(|s| s.contains(") Z ")).unwrap_or(true)
}

#[test]
fn list_shows_every_container_as_json() {
    let t = Test::new("list");
    let ids = [t.id("a"), t.id("b")];
    let b = t.bundle(&docker_config(&["sleep", "1000"]));
    t.rt(&["create", "-b", &b.to_string_lossy(), &ids[0]]).ok();
    let b = t.bundle(&docker_config(&["sleep", "1000"]));
    t.start_detached(&b, &ids[1]);
    let out = t.rt(&["list", "--format", "json"]);
    let all: Vec<Value> = serde_json::from_str(out.ok()).expect("list json");
    let status: Vec<(String, String)> = all.iter().map(|s| (s["id"].as_str().unwrap_or("").to_owned(), s["status"].as_str().unwrap_or("").to_owned())).collect();
    assert_eq!(status, [(ids[0].clone(), "created".to_owned()), (ids[1].clone(), "running".to_owned())]);
    assert!(all.iter().all(|s| s["pid"].as_i64().is_some_and(|p| p > 0) && s["bundle"].is_string()), "{all:?}");
    let quiet = t.rt(&["list", "-q"]);
    assert_eq!(quiet.lines(), [ids[0].as_str(), ids[1].as_str()]);
    for id in &ids {
        t.rt(&["delete", "-f", id]).ok();
    }
    assert_eq!(t.rt(&["list", "--format", "json"]).ok().trim(), "[]");
}

#[test]
fn features_reports_the_oci_features_document() {
    let t = Test::new("features");
    let out = t.rt(&["features"]);
    let f: Value = serde_json::from_str(out.ok()).expect("features json");
    assert_eq!(f["ociVersionMax"], "1.2.0");
    let list = |v: &Value| -> Vec<String> { v.as_array().expect("a list").iter().filter_map(|s| s.as_str().map(str::to_owned)).collect() };
    let hooks = list(&f["hooks"]);
    for h in ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] {
        assert!(hooks.iter().any(|x| x == h), "hook {h} missing: {hooks:?}");
    }
    let ns = list(&f["linux"]["namespaces"]);
    for n in ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"] {
        assert!(ns.iter().any(|x| x == n), "namespace {n} missing: {ns:?}");
    }
    assert!(list(&f["mountOptions"]).iter().any(|o| o == "rro"));
    assert_eq!(f["linux"]["seccomp"]["enabled"], true);
    assert!(list(&f["linux"]["seccomp"]["actions"]).iter().any(|a| a == "SCMP_ACT_NOTIFY"));
    assert_eq!(f["linux"]["cgroup"]["v1"], true, "this host is hybrid");
    assert!(list(&f["linux"]["capabilities"]).iter().any(|c| c == "CAP_SYS_ADMIN"));
}

#[test]
fn systemd_cgroup_is_refused_clearly() {
    let t = Test::new("systemd");
    t.rt(&["--systemd-cgroup", "list"]).fails_with(&["--systemd-cgroup", "not supported"]);
}

#[test]
fn run_detached_leaves_the_container_running() {
    let t = Test::new("rundetach");
    let b = t.bundle(&docker_config(&["sleep", "1000"]));
    let id = t.id("c");
    let pid_file = t.path("pid");
    t.rt(&["run", "-d", "--pid-file", &pid_file.to_string_lossy(), "-b", &b.to_string_lossy(), &id]).ok();
    let pid: i32 = std::fs::read_to_string(&pid_file).expect("pid file").trim().parse().expect("a pid");
    t.note_pid(pid);
    // The container must outlive the `run -d` that started it.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let st = t.state(&id);
    assert_eq!(st["status"], "running", "{st}");
    assert_eq!(st["pid"], pid);
    assert_eq!(t.exec(&[&id, "true"]).code, 0);
    t.rt(&["delete", "-f", &id]).ok();
}
