//! The docker CLI against berthd: run, ps, logs, exec, inspect, stop, rm, wait, attach, top.

use std::io::Write;
use std::process::Stdio;

use crate::daemon;

#[test]
fn run_prints_output_and_exits_with_the_containers_status() {
    let d = daemon("run");
    assert_eq!(d.docker_ok(&["run", "--rm", "busybox", "echo", "hello", "world"]), "hello world\n");
    // The root of a --rm container is never synced (its overlay is volatile): it is deleted
    // after this run. A kept container's root is a plain overlay.
    let root_options = "grep ' / / ' /proc/self/mountinfo";
    assert!(d.docker_ok(&["run", "--rm", "busybox", "sh", "-c", root_options]).contains("volatile"));
    let out = d.docker(&["run", "--name", "three", "busybox", "sh", "-c", &format!("echo out; echo err >&2; {root_options} | grep -q volatile || exit 3")]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    let ps = d.docker_ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("three Exited (3) "), "{ps}");
    // --rm removed the first one.
    assert_eq!(ps.lines().count(), 1, "{ps}");
    assert_eq!(d.docker_ok(&["logs", "three"]), "out\n");
    let out = d.docker(&["logs", "three"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
}

#[test]
fn a_missing_command_exits_127_and_a_missing_image_says_so() {
    let d = daemon("missing");
    let out = d.docker(&["run", "--rm", "busybox", "no-such-command"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("executable file not found"), "{out:?}");
    let out = d.docker(&["create", "--pull", "never", "nosuchimage"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such image: nosuchimage:latest"), "{out:?}");
}

#[test]
fn detached_containers_exec_logs_top_inspect_stop_rm() {
    let d = daemon("detached");
    let id = d.docker_ok(&["run", "-d", "--name", "web", "-e", "GREETING=hi", "busybox", "sh", "-c", "trap 'exit 0' TERM; while true; do echo tick; sleep 0.1; done"]);
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    let out = d.docker(&["exec", "web", "sh", "-c", "echo $GREETING from exec; exit 4"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi from exec\n");
    let mut child = d.docker_cmd(&["exec", "-i", "web", "cat"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("docker exec -i");
    child.stdin.take().expect("stdin").write_all(b"through stdin\n").expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "through stdin\n");
    let top = d.docker_ok(&["top", "web"]);
    assert!(top.lines().next().is_some_and(|h| h.contains("PID")) && top.contains("sh -c"), "{top}");
    let state = d.docker_ok(&["inspect", "--format", "{{.State.Status}} {{.State.Running}} {{.Name}} {{.Config.Image}} {{.HostConfig.RestartPolicy.Name}}", "web"]);
    assert_eq!(state, "running true /web busybox no\n");
    berth_testutil::daemon::wait_until(10, "log lines", || d.docker_ok(&["logs", "web"]).lines().count() >= 3);
    assert_eq!(d.docker_ok(&["logs", "--tail", "1", "web"]), "tick\n");
    let rm = d.docker(&["rm", "web"]);
    assert!(!rm.status.success());
    assert!(String::from_utf8_lossy(&rm.stderr).contains("container is running: stop the container before removing or force remove"), "{rm:?}");
    let t = std::time::Instant::now();
    d.docker_ok(&["stop", "web"]);
    assert!(t.elapsed() < std::time::Duration::from_secs(5), "SIGTERM stopped it: {:?}", t.elapsed());
    assert_eq!(d.docker_ok(&["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "web"]), "exited 0\n");
    assert_eq!(d.docker_ok(&["wait", "web"]), "0\n");
    d.docker_ok(&["rm", "web"]);
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
}

#[test]
fn stdin_reaches_an_attached_run() {
    let d = daemon("stdin");
    let mut child = d.docker_cmd(&["run", "-i", "--rm", "busybox", "sh", "-c", "read a; echo got $a; cat"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("docker run -i");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"one\ntwo\nthree\n").expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got one\ntwo\nthree\n");
}

#[test]
fn docker_defaults_inside_the_container() {
    let d = daemon("defaults");
    let out = d.docker_ok(&["run", "--rm", "busybox", "sh", "-c", "grep -E '^(CapEff|Seccomp|NoNewPrivs):' /proc/self/status; hostname; cat /etc/hostname; ls /dev; ip link 2>/dev/null | grep -c '^[0-9]'"]);
    assert!(out.contains("CapEff:\t00000000a80425fb"), "{out}");
    assert!(out.contains("Seccomp:\t2"), "{out}");
    assert!(out.contains("NoNewPrivs:\t0"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[3], lines[4], "hostname matches /etc/hostname: {out}");
    assert_eq!(lines[3].len(), 12, "{out}");
    for dev in ["null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue"] {
        assert!(out.lines().any(|l| l == dev), "/dev/{dev} missing: {out}");
    }
    // The device cgroup holds Docker's rules: any node may be made, only the allowed ones
    // opened.
    let id = d.docker_ok(&["run", "-d", "busybox", "sleep", "60"]).trim().to_owned();
    let out = d.docker(&["exec", &id, "sh", "-c", "head -c1 /dev/zero | wc -c; mknod /tmp/disk b 8 0 && echo made; head -c1 /tmp/disk 2>&1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("1\nmade\n") && text.contains("Operation not permitted"), "{out:?}");
    // On a host with the v1 devices controller (a v2-only host has a BPF program instead).
    if std::path::Path::new("/sys/fs/cgroup/devices/devices.list").exists() {
        let dir = d.cgroups().into_iter().find(|c| c.starts_with("/sys/fs/cgroup/devices") && c.ends_with(&id)).expect("the container's devices cgroup");
        let list = std::fs::read_to_string(dir.join("devices.list")).unwrap();
        for rule in ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 136:* rwm", "c 10:200 rwm"] {
            assert!(list.lines().any(|l| l == rule), "{rule} missing from {}: {list}", dir.display());
        }
        assert!(!list.contains("a *:* rwm"), "{list}");
    }
    d.docker_ok(&["rm", "-f", &id]);
    // --blkio-weight: applied where the host's cgroups weigh block IO, else discarded with
    // dockerd's warning (this machine's kernel has no CFQ/BFQ weight file).
    let weighs = ["blkio.weight", "blkio.bfq.weight"].iter().any(|f| std::path::Path::new("/sys/fs/cgroup/blkio").join(f).exists());
    let out = d.docker(&["create", "--name", "weighed", "--blkio-weight", "300", "busybox", "true"]);
    assert!(out.status.success(), "{out:?}");
    let warned = String::from_utf8_lossy(&out.stderr).contains("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.");
    let kept = d.docker_ok(&["inspect", "-f", "{{.HostConfig.BlkioWeight}}", "weighed"]);
    if weighs {
        assert_eq!((warned, kept.as_str()), (false, "300\n"));
    } else {
        assert_eq!((warned, kept.as_str()), (true, "0\n"));
    }
    // inspect shows the masked and read-only paths an unprivileged container gets, as dockerd
    // records them at create; --privileged gets none, systempaths=unconfined empty lists.
    let paths = d.docker_ok(&["inspect", "-f", "{{json .HostConfig.MaskedPaths}} {{json .HostConfig.ReadonlyPaths}}", "weighed"]);
    assert!(paths.starts_with(r#"["/proc/asound","/proc/acpi","/proc/interrupts","/proc/kcore""#), "{paths}");
    assert!(paths.ends_with(" [\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\"]\n"), "{paths}");
    d.docker_ok(&["rm", "weighed"]);
    d.docker_ok(&["create", "--name", "priv", "--privileged", "busybox", "true"]);
    d.docker_ok(&["create", "--name", "open", "--security-opt", "systempaths=unconfined", "busybox", "true"]);
    let fmt = "{{json .HostConfig.MaskedPaths}} {{json .HostConfig.ReadonlyPaths}}";
    assert_eq!(d.docker_ok(&["inspect", "-f", fmt, "priv", "open"]), "null null\n[] []\n");
    let probe = "head -c 10 /proc/timer_list | wc -c; grep -c ' /proc/sys ' /proc/mounts";
    assert_eq!(d.docker(&["run", "--rm", "busybox", "sh", "-c", probe]).stdout, b"0\n1\n", "masked, and a read-only /proc/sys");
    let out = d.docker(&["run", "--rm", "--security-opt", "systempaths=unconfined", "busybox", "sh", "-c", probe]);
    assert_eq!(out.stdout, b"10\n0\n", "nothing masked or read-only: {out:?}");
    d.docker_ok(&["rm", "priv", "open"]);
    let out = d.docker(&["create", "--blkio-weight", "5", "busybox", "true"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Range of blkio weight is from 10 to 1000"), "{out:?}");
    // No AppArmor profile is applied: asking for none is granted, asking for one is refused.
    d.docker_ok(&["run", "--rm", "--security-opt", "apparmor=unconfined", "busybox", "true"]);
    // the runtime names dockerd gives runc run on the built-in one
    assert_eq!(d.docker_ok(&["run", "--rm", "--runtime", "io.containerd.runc.v2", "busybox", "echo", "ok"]), "ok\n");
    let out = d.docker(&["run", "--rm", "--security-opt", "apparmor=docker-default", "busybox", "true"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--security-opt apparmor (no LSM support) is not supported by berth yet"), "{out:?}");
    let out = d.docker_ok(&["run", "--rm", "--cap-drop", "ALL", "--cap-add", "CHOWN", "--security-opt", "no-new-privileges", "busybox", "grep", "-E", "^(CapEff|NoNewPrivs):", "/proc/self/status"]);
    assert_eq!(out, "CapEff:\t0000000000000001\nNoNewPrivs:\t1\n");
    let out = d.docker_ok(&["run", "--rm", "--memory", "64m", "--pids-limit", "42", "busybox", "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max"]);
    assert_eq!(out, "67108864\n42\n");
    // Limits are checked at create, as dockerd checks them, not first at start.
    for (args, says) in [
        (&["--memory", "1k"][..], "Minimum memory limit allowed is 6MB"),
        (&["--memory", "8m", "--memory-swap", "4m"][..], "Minimum memoryswap limit should be larger than memory limit"),
        (&["--cpus", "1000"], "Range of CPUs is from 0.01 to"),
        (&["--cpu-quota", "100"], "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
        (&["--cpu-period", "100"], "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"),
        (&["--cpuset-cpus", "0-4095"], "Requested CPUs are not available - requested 0-4095, available: "),
        (&["--oom-score-adj", "5000"], "Invalid value 5000, range for oom score adj is [-1000, 1000]"),
    ] {
        let mut cmd = vec!["create"];
        cmd.extend_from_slice(args);
        cmd.extend(["busybox", "true"]);
        let out = d.docker(&cmd);
        assert_eq!(out.status.code(), Some(1), "docker create's status for a daemon error: {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(says), "{out:?}");
    }
    assert_eq!(d.docker_ok(&["ps", "-aq", "--filter", "status=created"]).trim(), "", "no container was made");
}

#[test]
fn names_conflict_with_dockers_message() {
    let d = daemon("names");
    d.docker_ok(&["create", "--name", "same", "busybox", "true"]);
    let out = d.docker(&["create", "--name", "same", "busybox", "true"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Conflict. The container name \"/same\" is already in use by container"), "{out:?}");
    d.docker_ok(&["rename", "same", "other"]);
    // dockerd's words for the refusals of rename and kill
    d.docker_ok(&["create", "--name", "third", "busybox", "true"]);
    let out = d.docker(&["rename", "third", "other"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Error when allocating new name: Conflict. The container name \"/other\" is already in use"), "{out:?}");
    let out = d.docker(&["kill", "third"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Cannot kill container: third: Container ") && String::from_utf8_lossy(&out.stderr).contains("is not running"), "{out:?}");
    d.docker_ok(&["rm", "third"]);
    assert_eq!(d.docker_ok(&["ps", "-a", "--format", "{{.Names}} {{.State}}"]), "other created\n");
    assert_eq!(d.docker_ok(&["start", "-a", "other"]), "");
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "other"]), "exited 0\n");
    // ps's name filter is a regular expression, matched with and without the leading slash.
    d.docker_ok(&["create", "--name", "other2", "busybox", "true"]);
    d.docker_ok(&["create", "--name", "third2", "--pids-limit", "0", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(d.docker_ok(&["ps", "-a", "--no-trunc", "--filter", "name=third2", "--format", "{{.Command}}"]), "\"sh -c 'exit 3'\"\n", "quoted as dockerd quotes it");
    for (filter, want) in [("name=^other$", "other\n"), ("name=^/other$", "other\n"), ("name=r2$", "other2\n"), ("name=oth", "other\nother2\n"), ("name=[", "")] {
        let mut got: Vec<String> = d.docker_ok(&["ps", "-a", "--filter", filter, "--format", "{{.Names}}"]).lines().map(str::to_owned).collect();
        got.sort();
        assert_eq!(got.iter().map(|n| format!("{n}\n")).collect::<String>(), want, "{filter}");
    }
    // A one-string Cmd, which dockerd takes as a list of one.
    let made = d.api("POST", "/containers/create", Some(&serde_json::json!({"Image": "busybox", "Cmd": "pwd"})));
    let id = made.json()["Id"].as_str().unwrap_or_else(|| panic!("{}", made.text())).to_owned();
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{json .Config.Cmd}}", &id]), "[\"pwd\"]\n");
    // dockerd's defaults as inspect shows them
    let cgns = if std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| m.lines().any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "))) { "private" } else { "host" };
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.HostConfig.IpcMode}} {{.HostConfig.CgroupnsMode}} {{.HostConfig.PidsLimit}}", "third2"]), format!("private {cgns} <nil>\n"));
    // What scripts check before swarm commands.
    assert_eq!(d.docker_ok(&["info", "--format", "{{.Swarm.LocalNodeState}}"]), "inactive\n");
    // The keys docker-py's users read: no containerd, the built-in runtime and init.
    let version = d.docker_ok(&["version", "--format", "{{.Server.Version}}"]);
    assert_eq!(d.docker_ok(&["info", "--format", "[{{.ContainerdCommit.ID}}] {{.RuncCommit.ID}} {{.InitCommit.ID}}"]), format!("[] {0} {0}\n", version.trim()));
}

#[test]
fn diff_and_container_prune() {
    let d = daemon("diff");
    d.docker_ok(&["run", "--name", "ch", "busybox", "sh", "-c", "mkdir -p /new/sub && echo x > /new/sub/f && rm /bin/vi && echo y >> /etc/passwd"]);
    let diff = d.docker_ok(&["diff", "ch"]);
    for line in ["A /new", "A /new/sub", "A /new/sub/f", "C /bin", "D /bin/vi", "C /etc", "C /etc/passwd"] {
        assert!(diff.lines().any(|l| l == line), "{line:?} missing from docker diff:\n{diff}");
    }
    // The mount targets the runtime made (busybox has no /etc/hosts) are no change, as in
    // Docker, where they live in the init layer; a change of their directory still shows.
    for line in ["A /etc/hosts", "A /etc/hostname", "A /etc/resolv.conf"] {
        assert!(!diff.lines().any(|l| l == line), "{line:?} in docker diff:\n{diff}");
    }
    d.docker_ok(&["run", "--name", "untouched", "busybox", "true"]);
    assert_eq!(d.docker_ok(&["diff", "untouched"]), "", "a container that changed nothing has no changes");
    d.docker_ok(&["create", "--name", "fresh", "busybox", "true"]);
    d.docker_ok(&["run", "-d", "--name", "live", "busybox", "sleep", "600"]);
    let out = d.docker_ok(&["container", "prune", "-f"]);
    assert!(out.contains("Deleted Containers:"), "{out}");
    assert_eq!(d.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]), "live\n");
}

#[test]
fn update_changes_limits_of_a_running_container_and_system_df_counts() {
    let d = daemon("update");
    d.docker_ok(&["run", "-d", "--name", "up", "-m", "64m", "busybox", "sleep", "300"]);
    let limit = || d.docker_ok(&["stats", "--no-stream", "--format", "{{.MemUsage}}", "up"]);
    assert!(limit().trim().ends_with("/ 64MiB"), "{}", limit());
    // recorded as dockerd records them: swap twice the limit, swappiness unset, and the lists
    // nobody gave as nulls (docker-py users index attrs["HostConfig"]["Binds"])
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.HostConfig.MemorySwap}} {{.HostConfig.MemorySwappiness}}", "up"]), "134217728 <nil>\n");
    let host = d.api("GET", "/containers/up/json", None).json()["HostConfig"].clone();
    for key in ["Binds", "CapAdd", "CapDrop", "Links", "ExtraHosts", "SecurityOpt", "VolumesFrom", "GroupAdd", "DeviceCgroupRules", "DeviceRequests"] {
        assert_eq!(host.get(key), Some(&serde_json::Value::Null), "{key}: {host}");
    }
    d.docker_ok(&["update", "--memory", "128m", "--memory-swap", "256m", "--cpus", "0.5", "--pids-limit", "50", "--restart", "on-failure:3", "up"]);
    assert!(limit().trim().ends_with("/ 128MiB"), "the cgroup has the new limit: {}", limit());
    let h = d.docker_ok(&["inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}", "up"]);
    assert_eq!(h.trim(), "134217728 268435456 500000000 50 on-failure:3");
    // --blkio-weight: applied where the kernel weighs block IO, else discarded with a warning
    let weighs = ["blkio.weight", "blkio.bfq.weight"].iter().any(|f| std::path::Path::new("/sys/fs/cgroup/blkio").join(f).exists());
    let out = d.docker(&["update", "--blkio-weight", "300", "up"]);
    assert!(out.status.success(), "{out:?}");
    // (docker update prints the daemon's warnings on stdout)
    assert_eq!(String::from_utf8_lossy(&out.stdout).contains("Weight discarded"), !weighs, "{out:?}");
    let kept = d.docker_ok(&["inspect", "-f", "{{.HostConfig.BlkioWeight}}", "up"]);
    assert_eq!(kept, if weighs { "300\n" } else { "0\n" });
    let out = d.docker(&["run", "--rm", "--blkio-weight-device", "/dev/null:300", "busybox", "true"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not supported by berth yet"), "{out:?}");
    // A later update changes only what it names (the CLI sends zeros and an empty policy for
    // the rest), and what was set survives a restart, as with dockerd.
    d.docker_ok(&["update", "--pids-limit", "77", "up"]);
    let h = d.docker_ok(&["inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}", "up"]);
    assert_eq!(h.trim(), "134217728 268435456 500000000 77 on-failure:3");
    d.docker_ok(&["restart", "-t", "0", "up"]);
    assert!(limit().trim().ends_with("/ 128MiB"), "the limit survives a restart: {}", limit());
    let out = d.docker(&["update", "--cpu-quota", "20000", "up"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"), "{out:?}");

    let df = d.docker_ok(&["system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}"]);
    assert!(df.lines().any(|l| l == "Images 1 1"), "{df}");
    assert!(df.lines().any(|l| l == "Containers 1 1"), "{df}");
    d.docker_ok(&["rm", "-f", "up"]);
}

#[test]
fn userns_host_runs_and_endpoints_not_served_yet_are_named() {
    let d = daemon("notyet");
    // `--userns host` is what every berth container gets: accepted, as by a dockerd without
    // userns-remap.
    assert_eq!(d.docker_ok(&["run", "--rm", "--userns", "host", "busybox", "echo", "ok"]), "ok\n");
    d.docker_ok(&["run", "--name", "c1", "busybox", "true"]);
    let out = d.docker(&["commit", "c1", "mine:1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("docker commit (POST /") && err.contains("not supported by berth yet"), "{out:?}");
    // No builds, so no build cache: pruning it succeeds and frees nothing, and `docker system
    // prune` (which asks for it last) succeeds.
    assert!(d.docker_ok(&["builder", "prune", "-f"]).contains("Total reclaimed space: 0B"));
    assert!(d.docker_ok(&["system", "prune", "-f"]).contains("Total reclaimed space:"));
    // An endpoint Docker does not have either stays a 404.
    let r = d.api("GET", "/v1.45/nosuch", None);
    assert_eq!(r.status, 404, "{}", r.text());
    let r = d.api("GET", "/v1.45/swarm", None);
    assert_eq!((r.status, r.message().as_str()), (501, "swarm mode (GET /swarm) is not supported by berth yet"));
}

#[test]
fn privileged_gets_every_capability_the_daemon_holds() {
    let d = daemon("privileged");
    // Root here may lack some capabilities in its bounding set (this VM's lacks
    // CAP_SYS_RESOURCE): `--privileged` hands on what the daemon holds, and the container runs.
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let bnd = status.lines().find_map(|l| l.strip_prefix("CapBnd:")).expect("CapBnd").trim().to_owned();
    let caps = |out: &str| out.lines().map(|l| l.split_whitespace().nth(1).unwrap_or("").to_owned()).collect::<Vec<_>>();
    let out = d.docker_ok(&["run", "--rm", "--privileged", "busybox", "grep", "-E", "^Cap(Eff|Bnd):", "/proc/self/status"]);
    assert_eq!(caps(&out), [bnd.clone(), bnd.clone()], "{out}");
    // /sys is writable and the host's devices are there.
    d.docker_ok(&["run", "--rm", "--privileged", "busybox", "sh", "-c", "grep -q ' /sys sysfs rw' /proc/mounts && test -c /dev/kmsg"]);
    let out = d.docker_ok(&["run", "--rm", "--cap-add", "ALL", "busybox", "grep", "^CapEff:", "/proc/self/status"]);
    assert_eq!(caps(&out), std::slice::from_ref(&bnd), "{out}");
    d.docker_ok(&["run", "-d", "--name", "plain", "busybox", "sleep", "60"]);
    let out = d.docker_ok(&["exec", "--privileged", "plain", "grep", "^CapEff:", "/proc/self/status"]);
    assert_eq!(caps(&out), [bnd], "{out}");
}

#[test]
fn run_platform_picks_the_local_image_or_is_refused_as_by_dockerd() {
    let d = daemon("platform");
    // The fixture is linux/amd64: asked for by that name or another spelling of it, it runs.
    assert_eq!(d.docker_ok(&["run", "--rm", "--platform", "linux/amd64", "busybox", "echo", "ok"]), "ok\n");
    assert_eq!(d.docker_ok(&["run", "--rm", "--platform", "linux/x86_64", "busybox", "echo", "ok"]), "ok\n");
    // Another platform, with --pull never: dockerd's 404 and message, docker's 125.
    let out = d.docker(&["run", "--rm", "--pull", "never", "--platform", "linux/arm64", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "docker: Error response from daemon: image with reference busybox was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64\n\nRun 'docker run --help' for more information\n"
    );
    // By default the 404 makes docker pull busybox for arm64, which fails here (no hub).
    let out = d.docker(&["run", "--rm", "--platform", "linux/arm64", "busybox", "true"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.starts_with("Unable to find image 'busybox:latest' locally\ndocker: Error response from daemon: "), "{err}");
    // The API: the daemon normalises, refuses what does not parse with a 400, and reads the
    // parameter only from API 1.41 on, as dockerd.
    let body = serde_json::json!({"Image": "busybox", "Cmd": ["true"]});
    let r = d.api("POST", "/v1.51/containers/create?platform=Linux/X86_64", Some(&body));
    assert_eq!(r.status, 201, "{}", r.text());
    d.docker_ok(&["rm", r.json()["Id"].as_str().expect("an ID")]);
    let r = d.api("POST", "/v1.51/containers/create?platform=linux/arm64/v8", Some(&body));
    assert_eq!((r.status, r.message()), (404, "image with reference busybox was found but does not match the specified platform: wanted linux/arm64/v8, actual: linux/amd64".to_owned()));
    let r = d.api("POST", "/v1.51/containers/create?platform=nonsense", Some(&body));
    assert_eq!((r.status, r.message()), (400, r#""nonsense": unknown operating system or architecture: invalid argument"#.to_owned()));
    let r = d.api("POST", "/v1.40/containers/create?platform=linux/arm64", Some(&body));
    assert_eq!(r.status, 201, "{}", r.text());
    d.docker_ok(&["rm", r.json()["Id"].as_str().expect("an ID")]);
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
}

/// What a process in a Docker container may count on: a session of its own (so `kill 0`
/// reaches the container, never its shim), HOME, its primary group among its groups, a
/// working directory made when missing; and an exec that gets the container's limits, looks
/// the user up again, and says why it could not start, with dockerd's exit codes.
#[test]
fn processes_get_what_docker_gives_them() {
    let d = daemon("procenv");
    let out = d.docker_ok(&["run", "--rm", "busybox", "sh", "-c", "trap 'echo got TERM' TERM; kill -TERM 0; echo after; cut -d' ' -f5,6 /proc/1/stat"]);
    assert_eq!(out, "got TERM\nafter\n1 1\n", "the container's init leads its own session and group");
    let out = d.docker_ok(&["run", "--rm", "--group-add", "10", "-w", "/made/here", "busybox", "sh", "-c", "echo $HOME; id; pwd"]);
    assert_eq!(out, "/root\nuid=0(root) gid=0(root) groups=0(root),10\n/made/here\n");
    assert_eq!(d.docker_ok(&["run", "--rm", "-u", "nobody", "busybox", "sh", "-c", "echo $HOME; id -G"]), "/\n65534\n");
    // Docker's init layer: /.dockerenv (how programs tell they run in a container), /etc/mtab.
    assert_eq!(d.docker_ok(&["run", "--rm", "busybox", "sh", "-c", "stat -c '%a %s' /.dockerenv; readlink /etc/mtab"]), "755 0\n/proc/mounts\n");
    let out = d.docker(&["create", "-w", "relative", "busybox", "true"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("the working directory 'relative' is invalid, it needs to be an absolute path"), "{out:?}");

    d.docker_ok(&["run", "-d", "--name", "lim", "--ulimit", "nofile=100:200", "--oom-score-adj", "100", "busybox", "sleep", "600"]);
    assert_eq!(d.docker_ok(&["exec", "lim", "sh", "-c", "ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; cut -d' ' -f6 /proc/self/stat | grep -vx 1 >/dev/null && echo own-session"]), "100\n200\n100\nown-session\n");
    // /etc/group as it is at the exec
    d.docker_ok(&["exec", "lim", "sh", "-c", "echo wheel:x:10:nobody >> /etc/group"]);
    assert_eq!(d.docker_ok(&["exec", "-u", "nobody", "lim", "id", "-G"]), "65534 10\n");
    for (args, code, says) in [
        (&["exec", "lim", "nosuchcmd"][..], 127, "executable file not found in $PATH"),
        (&["exec", "-u", "nosuch", "lim", "id"], 126, "unable to find user nosuch"),
        (&["exec", "-w", "/nonexist", "lim", "pwd"], 126, "/nonexist"),
    ] {
        let out = d.docker(args);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(code), "{args:?}: {text}");
        assert!(text.contains("OCI runtime exec failed") && text.contains(says), "{args:?}: {text}");
    }
    d.docker_ok(&["rm", "-f", "lim"]);
}
