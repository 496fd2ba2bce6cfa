//! The container's process: capabilities, no_new_privs, seccomp, user and groups, umask,
//! rlimits, oom_score_adj, hostname, sysctls, exit codes, preserved descriptors.

use serde_json::json;

use crate::fixture::{docker_cap_mask, docker_config, status_field, Test};

#[test]
fn default_container_has_dockers_capabilities_and_seccomp_and_no_nnp() {
    let t = Test::new("caps");
    let status = t.sh("cat /proc/self/status");
    let mask = format!("{:016x}", docker_cap_mask());
    for key in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(status_field(&status, key), mask, "{key}");
    }
    assert_eq!(status_field(&status, "CapInh"), "0000000000000000");
    assert_eq!(status_field(&status, "CapAmb"), "0000000000000000");
    assert_eq!(status_field(&status, "NoNewPrivs"), "0");
    assert_eq!(status_field(&status, "Seccomp"), "2", "filter mode");
}

#[test]
fn no_new_privileges_is_set_and_seccomp_still_loads() {
    let t = Test::new("nnp");
    let mut cfg = docker_config(&["cat", "/proc/self/status"]);
    cfg["process"]["noNewPrivileges"] = json!(true);
    let out = t.run_config(&cfg);
    let status = out.ok();
    assert_eq!(status_field(status, "NoNewPrivs"), "1");
    assert_eq!(status_field(status, "Seccomp"), "2");
}

#[test]
fn docker_seccomp_profile_blocks_unshare_with_eperm() {
    let t = Test::new("seccomp-eperm");
    let out = t.run_config(&docker_config(&["unshare", "-U", "true"]));
    assert_ne!(out.code, 0, "unshare must fail under the default profile: {out:?}");
    assert!(out.stderr.contains("Operation not permitted"), "{out:?}");
    // Without the profile the same call succeeds: it was seccomp that refused it.
    let mut cfg = docker_config(&["unshare", "-U", "true"]);
    cfg["linux"].as_object_mut().expect("linux").remove("seccomp");
    let out = t.run_config(&cfg);
    assert_eq!(out.code, 0, "unshare -U without seccomp: {out:?}");
}

#[test]
fn a_profile_that_refuses_the_inits_waiting_is_loaded_after_the_start() {
    // Docker's profile is loaded while the init waits for its start; this one refuses the
    // syscalls of that wait, so the init must load it only once started, in `run` and in
    // `create` + `start` alike.
    let t = Test::new("seccomp-late");
    let mut cfg = docker_config(&["sh", "-c", "grep Seccomp: /proc/self/status; sleep 30"]);
    cfg["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["accept", "accept4", "recvmsg", "recvfrom"], "action": "SCMP_ACT_ERRNO"}]});
    let mut quick = cfg.clone();
    quick["process"]["args"] = json!(["grep", "Seccomp:", "/proc/self/status"]);
    assert_eq!(status_field(t.run_config(&quick).ok(), "Seccomp"), "2");
    let b = t.bundle(&cfg);
    let id = t.id("late");
    let pid = t.start_detached(&b, &id);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the container runs");
    assert_eq!(status_field(&status, "Seccomp"), "2");
    t.rt(&["kill", &id, "KILL"]);
}

#[test]
fn user_groups_and_umask_apply() {
    let t = Test::new("user");
    let mut cfg = docker_config(&["sh", "-c", "id -u; id -g; grep Groups /proc/self/status; umask; touch /tmp/f; stat -c %a /tmp/f"]);
    cfg["process"]["user"] = json!({"uid": 1000, "gid": 1001, "additionalGids": [10, 20], "umask": 0o077});
    let out = t.run_config(&cfg);
    let lines = out.lines();
    assert_eq!(lines[0], "1000", "{out:?}");
    assert_eq!(lines[1], "1001");
    let groups: Vec<&str> = lines[2].trim_start_matches("Groups:").split_whitespace().collect();
    assert_eq!(groups, ["10", "20"], "{}", lines[2]);
    assert_eq!(lines[3], "0077");
    assert_eq!(lines[4], "600", "a file made under umask 077");
    // A non-root user keeps no capabilities.
    let mut cfg = docker_config(&["grep", "CapEff", "/proc/self/status"]);
    cfg["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    assert!(t.run_config(&cfg).ok().contains("0000000000000000"));
}

#[test]
fn rlimits_apply_and_one_above_the_runtimes_hard_limit_is_refused() {
    let t = Test::new("rlimits");
    let mut cfg = docker_config(&["sh", "-c", "ulimit -n; grep 'Max open files' /proc/self/limits"]);
    cfg["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]);
    let out = t.run_config(&cfg);
    let lines = out.lines();
    assert_eq!(lines[0], "123", "{out:?}");
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>()[3..5], ["123", "456"], "{}", lines[1]);

    let own = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum.expect("a finite nofile hard limit");
    cfg["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": own + 1}]);
    let out = t.run_config(&cfg);
    out.fails_with(&["RLIMIT_NOFILE", "hard limit", &(own + 1).to_string()]);
}

#[test]
fn oom_score_adj_hostname_and_domainname_apply() {
    let t = Test::new("ident");
    let mut cfg = docker_config(&["sh", "-c", "cat /proc/self/oom_score_adj; hostname; cat /proc/sys/kernel/domainname"]);
    cfg["process"]["oomScoreAdj"] = json!(500);
    cfg["hostname"] = json!("web");
    cfg["domainname"] = json!("example.org");
    let out = t.run_config(&cfg);
    assert_eq!(out.lines(), ["500", "web", "example.org"], "{out:?}");
}

#[test]
fn sysctl_is_written_in_the_containers_network_namespace() {
    let t = Test::new("sysctl");
    let host = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start").expect("host sysctl");
    let mut cfg = docker_config(&["cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start", "/proc/sys/net/ipv4/ping_group_range"]);
    cfg["linux"]["sysctl"] = json!({"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647"});
    let out = t.run_config(&cfg);
    let lines = out.lines();
    assert_eq!(lines.first(), Some(&"0"), "{out:?}");
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["0", "2147483647"]);
    assert_eq!(std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start").expect("host sysctl"), host, "the host's value is untouched");
}

#[test]
fn run_exits_with_the_containers_code_or_128_plus_its_signal() {
    let t = Test::new("exitcode");
    assert_eq!(t.run_config(&docker_config(&["sh", "-c", "exit 7"])).code, 7);
    // Without a pid namespace the shell is not an init and can be killed by its own signal.
    let mut cfg = docker_config(&["sh", "-c", "kill -USR1 $$"]);
    cfg["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "uts"}, {"type": "ipc"}]);
    assert_eq!(t.run_config(&cfg).code, 128 + 10);
}

#[test]
fn preserve_fds_passes_exactly_the_extra_descriptors() {
    let t = Test::new("preserve");
    let secret = t.path("secret");
    std::fs::write(&secret, "passed through\n").expect("write secret");
    // No pipeline (the shell would hold its pipe) and not last (the shell would exec `ls`).
    let b = t.bundle(&docker_config(&["sh", "-c", "ls /proc/$$/fd; cat <&3"]));
    let id = t.id("c");
    // A shell opens fd 3 for the runtime, as a caller of runc would.
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(r#"exec 3<"$1"; exec "$2" --root "$3" run --preserve-fds 1 -b "$4" "$5""#)
        .arg("sh")
        .args([secret.as_os_str(), crate::fixture::BIN.as_ref(), t.root.as_os_str(), b.as_os_str(), id.as_ref()]);
    let out = t.output(cmd);
    assert_eq!(out.lines(), ["0", "1", "2", "3", "passed through"], "{out:?}");
}

#[test]
fn only_stdio_is_open_in_the_container() {
    let t = Test::new("fds");
    // No pipeline (the shell would hold its pipe) and not last (the shell would exec `ls`).
    let out = t.sh("ls /proc/$$/fd; true");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["0", "1", "2"], "{out}");
}

#[test]
fn personality_linux32_shows_a_32_bit_machine() {
    let t = Test::new("personality");
    let mut cfg = docker_config(&["uname", "-m"]);
    cfg["linux"]["personality"] = json!({"domain": "LINUX32"});
    let out = t.run_config(&cfg);
    assert_eq!(out.ok().trim(), "i686", "{out:?}");
}

#[test]
fn apparmor_and_selinux_labels_are_refused_where_the_host_lacks_them() {
    let t = Test::new("lsm");
    assert!(!std::path::Path::new("/sys/kernel/security/apparmor").exists(), "this test expects a host without AppArmor");
    let mut cfg = docker_config(&["true"]);
    cfg["process"]["apparmorProfile"] = json!("docker-default");
    t.run_config(&cfg).fails_with(&["apparmor profile", "docker-default", "not enabled"]);
    let mut cfg = docker_config(&["true"]);
    cfg["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0");
    t.run_config(&cfg).fails_with(&["selinux label", "not enabled"]);
}

#[test]
fn annotations_appear_in_the_state() {
    let t = Test::new("annotations");
    let mut cfg = docker_config(&["sleep", "1000"]);
    cfg["annotations"] = json!({"org.example.owner": "tests"});
    let b = t.bundle(&cfg);
    let id = t.id("c");
    t.start_detached(&b, &id);
    assert_eq!(t.state(&id)["annotations"]["org.example.owner"], "tests");
}
