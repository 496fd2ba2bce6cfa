//! Namespaces: a user namespace with its id maps, joining another container's network namespace
//! by path, and a time namespace with clock offsets.

use serde_json::json;

use crate::fixture::{docker_config, Test};

#[test]
fn user_namespace_maps_root_to_100000() {
    let t = Test::new("userns");
    let cfg = userns_config(&["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox"]);
    let b = t.bundle(&cfg);
    // The image's files must belong to the mapped root, as an engine would lay them out.
    let out = std::process::Command::new("chown").args(["-R", "-h", "100000:100000"]).arg(b.join("rootfs")).output().expect("chown rootfs");
    assert!(out.status.success(), "chown rootfs: {out:?}");
    let id = t.id("c");
    let run = t.run(&b, &id);
    let lines: Vec<Vec<&str>> = run.ok().lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines[0], ["0", "100000", "65536"], "uid_map: {run:?}");
    assert_eq!(lines[1], ["0", "100000", "65536"], "gid_map: {run:?}");
    assert_eq!(lines[2], ["0"], "root inside");
    assert_eq!(lines[3], ["0"], "the image's files belong to the mapped root");
}

fn userns_config(args: &[&str]) -> serde_json::Value {
    let mut cfg = docker_config(args);
    let mut ns = cfg["linux"]["namespaces"].as_array().expect("namespaces").clone();
    ns.push(json!({"type": "user"}));
    cfg["linux"]["namespaces"] = json!(ns);
    cfg["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    cfg["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    cfg
}

#[test]
fn idmapped_bind_mounts_show_host_owners_through_the_containers_mapping() {
    let t = Test::new("idmap");
    let data = t.path("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::write(data.join("f0"), "x").expect("f0");
    std::fs::write(data.join("f1000"), "x").expect("f1000");
    std::os::unix::fs::chown(data.join("f1000"), Some(1000), Some(1000)).expect("chown f1000");
    let mut cfg = userns_config(&["sh", "-c", "stat -c %u /idm/f0 /idm/f1000 /plain/f0; touch /idm/new && stat -c %u /idm/new"]);
    let mut mounts = cfg["mounts"].as_array().expect("mounts").clone();
    mounts.push(json!({"destination": "/idm", "type": "bind", "source": data, "options": ["bind", "idmap"]}));
    mounts.push(json!({"destination": "/plain", "type": "bind", "source": data, "options": ["bind"]}));
    cfg["mounts"] = json!(mounts);
    let b = t.bundle(&cfg);
    let out = std::process::Command::new("chown").args(["-R", "-h", "100000:100000"]).arg(b.join("rootfs")).output().expect("chown rootfs");
    assert!(out.status.success(), "chown rootfs: {out:?}");
    let run = t.run(&b, &t.id("c"));
    // Through the idmapped mount host uid 0 is the container's root and 1000 its 1000; through
    // the plain bind host root is unmapped (the overflow uid).
    assert_eq!(run.ok().lines().collect::<Vec<_>>(), ["0", "1000", "65534", "0"], "{run:?}");
    // A file the container's root creates belongs to host root on disk.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(data.join("new")).expect("new file").uid(), 0);
}

#[test]
fn idmap_without_a_user_namespace_is_refused_by_name() {
    let t = Test::new("idmapnouserns");
    let data = t.path("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let mut cfg = docker_config(&["true"]);
    let mut mounts = cfg["mounts"].as_array().expect("mounts").clone();
    mounts.push(json!({"destination": "/idm", "type": "bind", "source": data, "options": ["bind", "idmap"]}));
    cfg["mounts"] = json!(mounts);
    t.run_config(&cfg).fails_with(&["/idm", "idmapped", "user namespace"]);
}

#[test]
fn joining_another_containers_network_namespace_by_path() {
    let t = Test::new("joinns");
    let a = t.bundle(&docker_config(&["sleep", "1000"]));
    let a_id = t.id("a");
    let a_pid = t.start_detached(&a, &a_id);
    let a_net = std::fs::read_link(format!("/proc/{a_pid}/ns/net")).expect("ns of A");
    let own_net = std::fs::read_link("/proc/self/ns/net").expect("own ns");
    let mut cfg = docker_config(&["readlink", "/proc/self/ns/net"]);
    cfg["linux"]["namespaces"] = json!([
        {"type": "mount"}, {"type": "uts"}, {"type": "pid"}, {"type": "ipc"},
        {"type": "network", "path": format!("/proc/{a_pid}/ns/net")}
    ]);
    let out = t.run_config(&cfg);
    let seen = out.ok().trim().to_owned();
    assert_eq!(seen, a_net.to_string_lossy(), "B is in A's network namespace");
    assert_ne!(seen, own_net.to_string_lossy());
    t.rt(&["delete", "-f", &a_id]).ok();
}

#[test]
fn time_namespace_offsets_the_clocks() {
    let t = Test::new("timens");
    let days = 10 * 86400;
    let mut cfg = docker_config(&["cat", "/proc/uptime"]);
    let mut ns = cfg["linux"]["namespaces"].as_array().expect("namespaces").clone();
    ns.push(json!({"type": "time"}));
    cfg["linux"]["namespaces"] = json!(ns);
    cfg["linux"]["timeOffsets"] = json!({"boottime": {"secs": days, "nanosecs": 0}, "monotonic": {"secs": days, "nanosecs": 0}});
    let host_before = uptime(&std::fs::read_to_string("/proc/uptime").expect("host uptime"));
    let out = t.run_config(&cfg);
    let inside = uptime(out.ok());
    let host_after = uptime(&std::fs::read_to_string("/proc/uptime").expect("host uptime"));
    assert!(inside >= host_before + days as f64 && inside <= host_after + days as f64 + 1.0, "uptime inside {inside}, host {host_before}..{host_after}");
}

fn uptime(text: &str) -> f64 {
    text.split_whitespace().next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("uptime {text:?}"))
}
