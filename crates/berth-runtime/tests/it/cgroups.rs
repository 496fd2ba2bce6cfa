//! cgroups on this (hybrid) host: limits seen from inside the container, an OOM kill, `update`,
//! `events --stats`, `pause`/`resume`, and the cgroup removed on delete (checked by `Test`).

use std::time::Duration;

use serde_json::{json, Value};

use crate::fixture::{docker_config, wait_until, Test};

fn limited(args: &[&str]) -> Value {
    let mut cfg = docker_config(args);
    cfg["linux"]["resources"] = json!({
        "memory": {"limit": 64 << 20},
        "pids": {"limit": 64},
        "cpu": {"shares": 512}
    });
    cfg
}

#[test]
fn limits_are_visible_from_inside() {
    let t = Test::new("cglimits");
    let out = t.sh_config(&limited(&[
        "cat",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "/sys/fs/cgroup/pids/pids.max",
        "/sys/fs/cgroup/cpu/cpu.shares",
    ]));
    assert_eq!(out.lines().collect::<Vec<_>>(), [(64u64 << 20).to_string().as_str(), "64", "512"], "{out}");
}

#[test]
fn memory_limit_oom_kills_with_137() {
    let t = Test::new("oom");
    let mut cfg = docker_config(&["dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"]);
    cfg["linux"]["resources"] = json!({"memory": {"limit": 16 << 20}});
    let out = t.run_config(&cfg);
    assert_eq!(out.code, 137, "a 256 MiB buffer under a 16 MiB limit: {out:?}");
}

#[test]
fn update_changes_the_limit_files() {
    let t = Test::new("update");
    let b = t.bundle(&limited(&["sleep", "1000"]));
    let id = t.id("c");
    t.start_detached(&b, &id);
    t.rt(&["update", "--memory", "32m", "--pids-limit", "10", &id]).ok();
    let out = t.exec(&[&id, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max"]);
    assert_eq!(out.lines(), [(32u64 << 20).to_string().as_str(), "10"], "{out:?}");
    assert_eq!(std::fs::read_to_string(format!("/sys/fs/cgroup/pids/{id}/pids.max")).expect("host pids.max").trim(), "10");
    // A whole LinuxResources document works too.
    let res = t.path("res.json");
    std::fs::write(&res, r#"{"pids": {"limit": 20}}"#).expect("write resources");
    t.rt(&["update", "--resources", &res.to_string_lossy(), &id]).ok();
    assert_eq!(std::fs::read_to_string(format!("/sys/fs/cgroup/pids/{id}/pids.max")).expect("host pids.max").trim(), "20");
    t.rt(&["delete", "-f", &id]).ok();
}

#[test]
fn events_stats_report_memory_cpu_and_pids() {
    let t = Test::new("events");
    let b = t.bundle(&limited(&["sleep", "1000"]));
    let id = t.id("c");
    t.start_detached(&b, &id);
    let out = t.rt(&["events", "--stats", &id]);
    let ev: Value = serde_json::from_str(out.ok().trim()).expect("events line is JSON");
    assert_eq!(ev["type"], "stats");
    assert_eq!(ev["id"], id.as_str());
    let data = &ev["data"];
    for key in ["memory", "cpu", "pids"] {
        assert!(data.get(key).is_some_and(|v| !v.is_null()), "no {key} in {data}");
    }
    assert_eq!(data["pids"]["current"], 1, "{data}");
    assert_eq!(data["pids"]["limit"], 64, "{data}");
    assert!(data["memory"]["usage"]["usage"].as_u64().is_some_and(|u| u > 0), "{data}");
    assert_eq!(data["memory"]["usage"]["limit"], 64u64 << 20, "{data}");
    assert!(data["cpu"]["total_ns"].as_u64().is_some(), "{data}");
    t.rt(&["delete", "-f", &id]).ok();
}

#[test]
fn pause_stops_the_container_and_resume_lets_it_go_on() {
    let t = Test::new("pause");
    let b = t.bundle(&docker_config(&["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/n.new; mv /tmp/n.new /tmp/n; done"]));
    let counter = b.join("rootfs/tmp/n");
    let read = || std::fs::read_to_string(&counter).ok().and_then(|s| s.trim().parse::<u64>().ok()).unwrap_or(0);
    let id = t.id("c");
    t.start_detached(&b, &id);
    wait_until(10, "the counter to start", || read() > 0);
    t.rt(&["pause", &id]).ok();
    assert_eq!(t.status(&id), "paused");
    let frozen = read();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(read(), frozen, "a paused container does not advance");
    t.rt(&["pause", &id]).fails_with(&[&id, "paused"]);
    t.rt(&["resume", &id]).ok();
    assert_eq!(t.status(&id), "running");
    wait_until(10, "the counter to advance after resume", || read() > frozen);
    t.rt(&["resume", &id]).fails_with(&[&id, "running"]);
    t.rt(&["delete", "-f", &id]).ok();
}
