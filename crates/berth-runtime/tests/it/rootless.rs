//! A rootless container: berth-runtime run by an unprivileged user, with the config
//! `spec --rootless` writes (a user namespace mapping that user to root, no cgroup).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::fixture::{Out, Test, BIN};

const UID: &str = "1000";

fn as_user(t: &Test, args: &[&str]) -> Out {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid", UID, "--regid", UID, "--clear-groups", BIN, "--root"]).arg(&t.root).args(args);
    t.output(cmd)
}

/// A bundle owned by the unprivileged user, with the rootless spec running `args`.
fn rootless_bundle(t: &Test, args: &[&str], edit: impl FnOnce(&mut Value)) -> std::path::PathBuf {
    let b = t.bundle(&serde_json::json!({}));
    std::fs::remove_file(b.join("config.json")).expect("remove placeholder config");
    std::fs::create_dir_all(&t.root).expect("state root");
    for p in [t.dir.as_path(), &t.root, &b] {
        let out = Command::new("chown").args(["-R", &format!("{UID}:{UID}")]).arg(p).output().expect("chown");
        assert!(out.status.success(), "chown {}: {out:?}", p.display());
    }
    let mut spec = Command::new("setpriv");
    spec.args(["--reuid", UID, "--regid", UID, "--clear-groups", BIN, "spec", "--rootless", "-b"]).arg(&b);
    t.output(spec).ok();
    let path = b.join("config.json");
    let mut cfg: Value = serde_json::from_slice(&std::fs::read(&path).expect("read rootless spec")).expect("spec json");
    cfg["process"]["terminal"] = Value::Bool(false);
    cfg["process"]["args"] = serde_json::json!(args);
    edit(&mut cfg);
    std::fs::write(&path, serde_json::to_vec(&cfg).expect("json")).expect("write config");
    b
}

fn run(t: &Test, b: &Path, id: &str) -> Out {
    as_user(t, &["run", "-b", b.to_str().expect("utf-8 path"), id])
}

#[test]
fn an_unprivileged_user_runs_a_container_as_root_inside() {
    let t = Test::new("rootless");
    let b = rootless_bundle(&t, &["sh", "-c", "id -u; cat /proc/self/uid_map; stat -c %u /bin/busybox; echo > /dev/null && echo devnull-ok"], |_| {});
    let id = t.id("c");
    let out = run(&t, &b, &id);
    let lines: Vec<Vec<&str>> = out.ok().lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines[0], ["0"], "root inside: {out:?}");
    assert_eq!(lines[1], ["0", UID, "1"], "the user's own uid mapped to root: {out:?}");
    assert_eq!(lines[2], ["0"], "the user's files belong to root inside: {out:?}");
    assert_eq!(lines[3], ["devnull-ok"], "host device nodes bound in: {out:?}");
}

#[test]
fn rootless_create_start_state_delete() {
    let t = Test::new("rootlesscycle");
    let b = rootless_bundle(&t, &["sleep", "1000"], |_| {});
    let id = t.id("c");
    as_user(&t, &["create", "-b", b.to_str().expect("utf-8"), &id]).ok();
    as_user(&t, &["start", &id]).ok();
    let state: Value = serde_json::from_str(as_user(&t, &["state", &id]).ok()).expect("state json");
    assert_eq!(state["status"], "running");
    // No cgroup without delegation: what needs one says so.
    as_user(&t, &["pause", &id]).fails_with(&["rootless", "cgroup"]);
    as_user(&t, &["kill", &id, "KILL"]).ok();
    crate::fixture::wait_until(10, "container stops", || {
        serde_json::from_str::<Value>(as_user(&t, &["state", &id]).ok()).map(|s| s["status"] == "stopped").unwrap_or(false)
    });
    as_user(&t, &["delete", &id]).ok();
}

#[test]
fn rootless_limits_without_a_cgroup_are_refused_clearly() {
    let t = Test::new("rootlesslimits");
    let b = rootless_bundle(&t, &["true"], |cfg| {
        cfg["linux"]["resources"] = serde_json::json!({"memory": {"limit": 64 << 20}});
    });
    run(&t, &b, &t.id("c")).fails_with(&["rootless", "cgroup", "linux.resources"]);
}

/// Gives the test user a subordinate id range in /etc/subuid and /etc/subgid for as long as
/// it lives, restoring the files after.
struct SubIds {
    saved: Vec<(&'static str, Option<String>)>,
}

impl SubIds {
    fn grant(start: u32, count: u32) -> SubIds {
        let mut saved = Vec::new();
        for path in ["/etc/subuid", "/etc/subgid"] {
            let old = std::fs::read_to_string(path).ok();
            let mut text = old.clone().unwrap_or_default();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("{UID}:{start}:{count}\n"));
            std::fs::write(path, text).expect("write subordinate ids");
            saved.push((path, old));
        }
        SubIds { saved }
    }
}

impl Drop for SubIds {
    fn drop(&mut self) {
        for (path, old) in &self.saved {
            match old {
                Some(text) => std::fs::write(path, text).expect("restore subordinate ids"),
                None => std::fs::remove_file(path).expect("remove subordinate ids"),
            }
        }
    }
}

#[test]
fn rootless_mappings_beyond_the_users_own_id_go_through_newuidmap() {
    assert!(Path::new("/usr/bin/newuidmap").exists(), "newuidmap is missing: scripts/deps.sh installs Debian's uidmap");
    let _ids = SubIds::grant(300_000, 65536);
    let t = Test::new("rootlessmap");
    let b = rootless_bundle(&t, &["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u"], |cfg| {
        let maps = serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 1}, {"containerID": 1, "hostID": 300000, "size": 65536}]);
        cfg["linux"]["uidMappings"] = maps.clone();
        cfg["linux"]["gidMappings"] = maps;
    });
    let out = run(&t, &b, &t.id("c"));
    let lines: Vec<Vec<&str>> = out.ok().lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines[0], ["0", UID, "1"], "{out:?}");
    assert_eq!(lines[1], ["1", "300000", "65536"], "{out:?}");
    assert_eq!(lines[2], ["0", UID, "1"], "{out:?}");
    assert_eq!(lines[3], ["1", "300000", "65536"], "{out:?}");
    assert_eq!(lines[4], ["0"], "{out:?}");
}
