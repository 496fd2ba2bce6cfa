//! OCI hooks: each kind runs at its moment with the state on stdin; a failing one that may fail
//! the container does, naming itself; a hook that overruns its timeout is killed.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::fixture::{docker_config, Test};

/// A hook that copies its stdin (the state JSON) to `out`, using the host's shell.
fn save_state(out: &std::path::Path) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", out.display())]})
}

#[test]
fn every_hook_kind_runs_with_the_state_on_stdin() {
    let t = Test::new("hooks");
    let out = |k: &str| t.path(&format!("{k}.json"));
    let mut cfg = docker_config(&["sh", "-c", "cat /started; echo; echo ran"]);
    cfg["hooks"] = json!({
        "prestart": [save_state(&out("prestart"))],
        "createRuntime": [save_state(&out("createRuntime"))],
        // createContainer runs in the container's namespaces before pivot_root: host paths
        // still resolve.
        "createContainer": [save_state(&out("createContainer"))],
        // startContainer runs inside the container: busybox's shell, the container's paths.
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /started"]}],
        "poststart": [save_state(&out("poststart"))],
        "poststop": [save_state(&out("poststop"))]
    });
    let b = t.bundle(&cfg);
    let id = t.id("c");
    let run = t.run(&b, &id);
    let text = run.ok();
    assert!(text.ends_with("ran\n"), "{run:?}");
    let started: Value = serde_json::from_str(text.lines().next().unwrap_or_default()).expect("startContainer saw the state");
    assert_eq!(started["id"], id.as_str());
    for (kind, status) in [("prestart", "creating"), ("createRuntime", "creating"), ("createContainer", "creating"), ("poststart", "running"), ("poststop", "stopped")] {
        let text = std::fs::read_to_string(out(kind)).unwrap_or_else(|e| panic!("{kind} hook did not run: {e}"));
        let st: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{kind} state {text:?}: {e}"));
        assert_eq!(st["id"], id.as_str(), "{kind}: {st}");
        assert_eq!(st["status"], status, "{kind}: {st}");
        assert_eq!(st["bundle"], b.to_string_lossy().as_ref(), "{kind}: {st}");
        if kind != "poststop" {
            assert!(st["pid"].as_i64().is_some_and(|p| p > 0), "{kind}: {st}");
        }
    }
}

#[test]
fn a_failing_prestart_hook_fails_create_and_names_itself() {
    let t = Test::new("hookfail");
    let hook = t.path("failing-hook.sh");
    std::fs::write(&hook, "#!/bin/sh\necho broken on purpose >&2\nexit 3\n").expect("write hook");
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod hook");
    let mut cfg = docker_config(&["true"]);
    cfg["hooks"] = json!({"prestart": [{"path": hook}]});
    let b = t.bundle(&cfg);
    let id = t.id("c");
    let out = t.rt(&["create", "-b", &b.to_string_lossy(), &id]);
    out.fails_with(&["prestart", &hook.to_string_lossy(), &id, "broken on purpose"]);
    t.rt(&["state", &id]).fails_with(&[&id]);
}

#[test]
fn a_hook_past_its_timeout_is_killed_and_fails_create() {
    let t = Test::new("hooktimeout");
    let mut cfg = docker_config(&["true"]);
    cfg["hooks"] = json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]});
    let b = t.bundle(&cfg);
    let id = t.id("c");
    let started = Instant::now();
    let out = t.rt(&["create", "-b", &b.to_string_lossy(), &id]);
    out.fails_with(&["createRuntime", "/bin/sleep", "timed out"]);
    assert!(started.elapsed() < Duration::from_secs(10), "the timeout was not enforced: {:?}", started.elapsed());
}
