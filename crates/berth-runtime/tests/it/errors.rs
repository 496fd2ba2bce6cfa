//! Error paths: each fails with a non-zero exit, says what failed on which object, and leaves
//! nothing behind (checked when the `Test` drops).

use serde_json::json;

use crate::fixture::{docker_config, Test};

#[test]
fn missing_bundle() {
    let t = Test::new("nobundle");
    let id = t.id("c");
    let missing = t.path("no-such-bundle");
    t.rt(&["run", "-b", &missing.to_string_lossy(), &id]).fails_with(&[&missing.to_string_lossy(), "No such file"]);
}

#[test]
fn bad_config_json() {
    let t = Test::new("badjson");
    let b = t.bundle(&json!({}));
    std::fs::write(b.join("config.json"), "{\"ociVersion\": \"1.2.0\", \"process\": ").expect("write bad json");
    let id = t.id("c");
    t.rt(&["run", "-b", &b.to_string_lossy(), &id]).fails_with(&["config.json", "parse"]);
}

#[test]
fn config_without_a_process() {
    let t = Test::new("noprocess");
    let mut cfg = docker_config(&["true"]);
    cfg.as_object_mut().expect("object").remove("process");
    let b = t.bundle(&cfg);
    let id = t.id("c");
    t.rt(&["run", "-b", &b.to_string_lossy(), &id]).fails_with(&["process"]);
}

#[test]
fn missing_rootfs() {
    let t = Test::new("norootfs");
    let mut cfg = docker_config(&["true"]);
    cfg["root"]["path"] = json!("not-there");
    let b = t.bundle(&cfg);
    let id = t.id("c");
    t.rt(&["run", "-b", &b.to_string_lossy(), &id]).fails_with(&["not-there", "No such file"]);
}

#[test]
fn unknown_program() {
    let t = Test::new("noprog");
    let b = t.bundle(&docker_config(&["no-such-program", "arg"]));
    let id = t.id("c");
    t.rt(&["run", "-b", &b.to_string_lossy(), &id]).fails_with(&["no-such-program", "executable file not found in $PATH", &id]);
    // By path, too.
    let b = t.bundle(&docker_config(&["/bin/no-such-program"]));
    t.rt(&["run", "-b", &b.to_string_lossy(), &id]).fails_with(&["/bin/no-such-program", &id]);
}

#[test]
fn duplicate_id() {
    let t = Test::new("dupid");
    let b = t.bundle(&docker_config(&["sleep", "1000"]));
    let id = t.id("c");
    t.rt(&["create", "-b", &b.to_string_lossy(), &id]).ok();
    t.rt(&["create", "-b", &b.to_string_lossy(), &id]).fails_with(&[&id, "exists"]);
    assert_eq!(t.status(&id), "created", "the first container is untouched");
    t.rt(&["delete", "-f", &id]).ok();
}

#[test]
fn unknown_id() {
    let t = Test::new("unknownid");
    let id = t.id("ghost");
    for cmd in ["state", "start", "pause", "resume", "ps", "delete"] {
        t.rt(&[cmd, &id]).fails_with(&[&id, "does not exist"]);
    }
    t.rt(&["kill", &id, "KILL"]).fails_with(&[&id, "does not exist"]);
    t.rt(&["exec", &id, "true"]).fails_with(&[&id, "does not exist"]);
    t.rt(&["delete", "-f", &id]).ok();
    t.rt(&["state", "../etc"]).fails_with(&["invalid container id", "../etc"]);
}

#[test]
fn relative_cwd_is_refused() {
    let t = Test::new("relcwd");
    let mut cfg = docker_config(&["true"]);
    cfg["process"]["cwd"] = json!("tmp");
    let b = t.bundle(&cfg);
    let id = t.id("c");
    t.rt(&["run", "-b", &b.to_string_lossy(), &id]).fails_with(&["cwd", "absolute"]);
}

#[test]
fn a_failing_init_step_names_itself() {
    let t = Test::new("initstep");
    // Each fails inside the container's init, at a different step; the runtime must report the
    // step and its object, not a broken sync channel.
    let missing = t.path("no-such-source");
    let mut bind = docker_config(&["true"]);
    bind["mounts"].as_array_mut().expect("mounts").push(json!({"destination": "/data", "type": "bind", "source": missing, "options": ["bind"]}));
    let mut sysctl = docker_config(&["true"]);
    sysctl["linux"]["sysctl"] = json!({"net.ipv4.no_such_sysctl": "1"});
    let mut fstype = docker_config(&["true"]);
    fstype["mounts"].as_array_mut().expect("mounts").push(json!({"destination": "/x", "type": "nosuchfs", "source": "none"}));
    let missing = missing.to_string_lossy();
    let cases = [
        (bind, vec!["/data", &*missing]),
        (sysctl, vec!["net.ipv4.no_such_sysctl"]),
        (fstype, vec!["nosuchfs", "/x"]),
    ];
    for (n, (cfg, words)) in cases.iter().enumerate() {
        let b = t.bundle(cfg);
        let id = t.id(&format!("c{n}"));
        let mut want: Vec<&str> = words.iter().map(|w| &**w).collect();
        want.push(&id);
        t.rt(&["run", "-b", &b.to_string_lossy(), &id]).fails_with(&want);
    }
}
