//! The same command lines through `docker` and `berth` against one daemon: same output, same
//! exit status.

use berth_testutil::daemon::TestDaemon;

use crate::{berth, berth_ok, daemon, text};

/// Runs `args` with both CLIs; asserts equal stdout and status. Output that shows times ("3
/// seconds ago") may straddle a second, so a mismatch is retried twice before it counts.
#[track_caller]
pub fn same(d: &TestDaemon, args: &[&str]) -> String {
    let mut last = None;
    for _ in 0..3 {
        let b = berth(d, args);
        let k = d.docker(args);
        if b.stdout == k.stdout && b.status.code() == k.status.code() {
            return text(&b.stdout);
        }
        last = Some((b, k));
    }
    let (b, k) = last.expect("ran at least once");
    panic!(
        "`{}` differs:\n--- docker ({}):\n{}{}\n--- berth ({}):\n{}{}",
        args.join(" "),
        k.status,
        text(&k.stdout),
        text(&k.stderr),
        b.status,
        text(&b.stdout),
        text(&b.stderr)
    );
}

/// Parsed JSON with `null` and `""` members dropped (dockerd always sends every field of its
/// structs, berthd leaves some empty ones out), for comparing values whatever the key order.
pub fn json_without_nulls(s: &str) -> serde_json::Value {
    fn strip(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => serde_json::Value::Object(m.into_iter().filter(|(_, v)| !v.is_null() && v.as_str() != Some("")).map(|(k, v)| (k, strip(v))).collect()),
            serde_json::Value::Array(a) => serde_json::Value::Array(a.into_iter().map(strip).collect()),
            v => v,
        }
    }
    strip(serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {s}")))
}

/// Container IDs differ between two runs: hex runs of 12 or more become `<id>`.
fn mask_ids(s: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in s.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() && c.is_ascii_lowercase() || c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() >= 12 { "<id>" } else { &run });
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

#[test]
fn run_output_and_exit_statuses_match_docker() {
    let d = daemon("cmp-run");
    for args in [
        &["run", "--rm", "busybox", "echo", "hello", "world"][..],
        &["run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"],
        &["run", "--rm", "-e", "A=1", "-w", "/tmp", "-u", "nobody", "busybox", "sh", "-c", "echo $A; pwd; id -un"],
        &["run", "--rm", "--entrypoint", "echo", "busybox", "via", "entrypoint"],
        &["run", "--rm", "--read-only", "busybox", "touch", "/x"],
        &["run", "--rm", "--network", "none", "--hostname", "h1", "busybox", "hostname"],
        &["run", "--rm", "--tmpfs", "/t:size=1m", "busybox", "sh", "-c", "grep ' /t ' /proc/mounts | cut -d' ' -f1-3"],
        &["run", "--rm", "--mount", "type=tmpfs,target=/m", "busybox", "sh", "-c", "grep ' /m ' /proc/mounts | cut -d' ' -f1-3"],
        &["run", "--rm", "--ulimit", "nofile=100:200", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn"],
        &["run", "--rm", "--cap-drop", "ALL", "--cap-add", "CHOWN", "busybox", "grep", "CapEff", "/proc/self/status"],
    ] {
        same(&d, args);
    }
    // Failures of the command itself: not found 127, cannot be invoked 126; docker's words.
    for (args, status) in [(&["run", "--rm", "busybox", "no-such-command"][..], 127), (&["run", "--rm", "busybox", "/etc"], 126)] {
        let b = berth(&d, args);
        let k = d.docker(args);
        assert_eq!(b.status.code(), Some(status), "berth {args:?}: {}", text(&b.stderr));
        // berthd words EACCES "Permission denied (os error 13)"; the docker CLI looks for
        // "permission denied" and so exits 125 there. berth matches either case.
        if status == 127 {
            assert_eq!(k.status.code(), Some(status), "docker {args:?}: {}", text(&k.stderr));
        }
        let (bs, ks) = (mask_ids(&text(&b.stderr)), mask_ids(&text(&k.stderr)));
        assert_eq!(bs.replace("berth", "docker"), ks, "the same message as docker's");
    }
    // -it without a terminal: docker's refusal, status and words.
    let (b, k) = (berth(&d, &["run", "-it", "--rm", "busybox", "true"]), d.docker(&["run", "-it", "--rm", "busybox", "true"]));
    assert_eq!(b.status.code(), k.status.code(), "{}", text(&b.stderr));
    assert!(text(&k.stderr).contains("the input device is not a TTY") && text(&b.stderr).contains("the input device is not a TTY"), "{}", text(&b.stderr));
    // berth's own failure: 125, as docker's.
    let args = ["run", "--rm", "--pull", "never", "nosuchimage"];
    let (b, k) = (berth(&d, &args), d.docker(&args));
    assert_eq!((b.status.code(), k.status.code()), (Some(125), Some(125)));
    assert!(text(&b.stderr).contains("No such image: nosuchimage:latest"), "{}", text(&b.stderr));
    // --rm removed every one of them.
    assert_eq!(berth_ok(&d, &["ps", "-aq"]), "");
}

#[test]
fn ps_inspect_and_logs_match_docker() {
    let d = daemon("cmp-ps");
    berth_ok(&d, &["run", "-d", "--name", "web", "-l", "tier=front", "-l", "k=v", "busybox", "sh", "-c", "echo to-out; echo to-err >&2; sleep 600"]);
    assert_eq!(berth(&d, &["run", "--name", "three", "busybox", "sh", "-c", "exit 3"]).status.code(), Some(3));
    let mut c = berth(&d, &["create", "--name", "fresh", "-e", "X=1", "busybox", "sleep", "60000000000000000"]);
    assert!(c.status.success(), "{}", text(&c.stderr));
    c.stdout.pop();
    assert_eq!(c.stdout.len(), 64, "create prints the full ID");
    // A bind mount has no name: MOUNTS shows its source.
    berth_ok(&d, &["create", "--name", "bound", "-v", "/tmp:/hosttmp:ro", "busybox", "true"]);
    berth_testutil::daemon::wait_until(10, "logs of web", || berth_ok(&d, &["logs", "web"]) == "to-out\n");
    for args in [
        &["ps"][..],
        &["ps", "-a"],
        &["ps", "-a", "-q"],
        &["ps", "-aq", "--no-trunc"],
        &["ps", "-a", "--no-trunc"],
        &["ps", "-n", "2"],
        &["ps", "-l", "--format", "{{.Names}}"],
        &["ps", "-a", "--format", "{{.ID}} {{.Image}} {{.Command}} {{.Names}} {{.State}} {{.Labels}} {{.Networks}} {{.Mounts}} {{.Ports}}|"],
        &["ps", "-a", "--format", "table {{.Names}}\t{{.Status}}\t{{.State}}"],
        &["ps", "-a", "--format", "json"],
        &["ps", "-a", "--format", "{{json .}}"],
        &["ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}"],
        &["ps", "-a", "--filter", "label=tier=front", "--format", "{{.Names}} {{.Labels}}"],
        &["ps", "-a", "--format", "{{.Names}}:{{.Label \"tier\"}}:{{.Label \"nope\"}}"],
        &["ps", "-a", "-s", "--format", "{{.Names}} {{.Size}}"],
        &["inspect", "web"],
        &["inspect", "-f", "{{.State.Pid}} {{.State.Status}} {{.Name}} {{.State.Running}}", "web"],
        &["inspect", "-f", "{{json .Config.Labels}} {{index .Config.Labels \"tier\"}} [{{index .Config.Labels \"nope\"}}] {{.Config.Labels}}", "web"],
        &["inspect", "-f", "{{range .Config.Env}}[{{.}}]{{end}} {{len .Config.Cmd}}", "fresh"],
        &["inspect", "-f", "{{if eq .State.ExitCode 3}}three{{else}}other{{end}} {{.State.ExitCode}}", "three"],
        &["inspect", "--type", "container", "-f", "{{.Id}}", "three", "fresh"],
        &["container", "inspect", "-f", "{{.HostConfig.NetworkMode}} {{.HostConfig.RestartPolicy.Name}}", "web"],
        &["logs", "web"],
        &["logs", "--tail", "1", "web"],
        &["logs", "-t", "web"],
        &["logs", "--since", "0", "web"],
        &["logs", "-f", "three"],
        &["inspect", "busybox"],
        &["inspect", "-f", "{{.Id}} {{.Created}}", "busybox", "web"],
        &["top", "web"],
        &["wait", "three"],
        &["diff", "three"],
        &["info", "--format", "{{.Containers}} {{.ContainersRunning}} {{.ContainersStopped}} {{.Images}} {{.Driver}} {{.NCPU}} {{json .SecurityOptions}}"],
        &["version", "--format", "{{.Server.Version}} {{.Server.Os}}/{{.Server.Arch}} {{.Server.KernelVersion}}"],
    ] {
        same(&d, args);
    }
    // `{{json .Config}}`: the same values.
    let (b, k) = (berth_ok(&d, &["inspect", "-f", "{{json .Config}}", "web"]), d.docker_ok(&["inspect", "-f", "{{json .Config}}", "web"]));
    assert_eq!(json_without_nulls(&b), json_without_nulls(&k));
    // Errors: both fail, and berth names the missing container as docker does.
    let (b, k) = (berth(&d, &["inspect", "nosuch"]), d.docker(&["inspect", "nosuch"]));
    assert_eq!((b.status.code(), text(&b.stdout)), (k.status.code(), text(&k.stdout)));
    assert!(text(&b.stderr).contains("No such object: nosuch"), "{}", text(&b.stderr));
    let (b, k) = (berth(&d, &["logs", "nosuch"]), d.docker(&["logs", "nosuch"]));
    assert_eq!(b.status.code(), k.status.code());
    assert_eq!(text(&b.stderr).trim(), text(&k.stderr).trim());
    let (b, k) = (berth(&d, &["attach", "three"]), d.docker(&["attach", "three"]));
    assert_eq!((b.status.code(), text(&b.stderr)), (k.status.code(), text(&k.stderr)));
    // stderr of logs stays on stderr.
    let out = berth(&d, &["logs", "web"]);
    assert_eq!(text(&out.stderr), "to-err\n");
}

#[test]
fn the_same_flags_make_the_same_container() {
    let d = daemon("cmp-create");
    let flags = [
        "--memory", "64m", "--cpus", "1.5", "--pids-limit", "42", "--cap-add", "NET_ADMIN", "--cap-drop", "MKNOD", "--read-only",
        "--tmpfs", "/run:size=1m", "--ulimit", "nofile=100:200", "--restart", "on-failure:3", "--label", "a=b", "-e", "E=1",
        "-u", "nobody", "-w", "/tmp", "--stop-signal", "SIGINT", "--stop-timeout", "5", "--network", "none",
        "--security-opt", "no-new-privileges", "--hostname", "hh", "--entrypoint", "sh", "--shm-size", "32m",
    ];
    let mk = |cli: &str, name: &str| {
        let mut args = vec!["create", "--name", name];
        args.extend(flags);
        args.extend(["busybox", "-c", "true"]);
        if cli == "berth" {
            berth_ok(&d, &args)
        } else {
            d.docker_ok(&args)
        }
    };
    mk("berth", "bb");
    mk("docker", "kk");
    // Each field on its own: docker falls back from its typed view to a map (sorted keys) when
    // a template names a field by its JSON spelling, so JSON is compared as values.
    for f in [
        "{{json .Config.Labels}}", "{{json .Config.Env}}", "{{json .Config.Cmd}}", "{{json .Config.Entrypoint}}", "{{.Config.User}}",
        "{{.Config.WorkingDir}}", "{{.Config.StopSignal}}", "{{.Config.StopTimeout}}", "{{.Config.Hostname}}", "{{.Config.Tty}}",
        "{{.Config.OpenStdin}}", "{{.Config.StdinOnce}}", "{{.Config.AttachStdout}}", "{{.Config.AttachStdin}}", "{{.HostConfig.Memory}}",
        "{{.HostConfig.NanoCpus}}", "{{.HostConfig.PidsLimit}}", "{{json .HostConfig.CapAdd}}", "{{json .HostConfig.CapDrop}}",
        "{{.HostConfig.ReadonlyRootfs}}", "{{json .HostConfig.Tmpfs}}", "{{json .HostConfig.Ulimits}}", "{{json .HostConfig.RestartPolicy}}",
        "{{.HostConfig.NetworkMode}}", "{{json .HostConfig.SecurityOpt}}", "{{.HostConfig.ShmSize}}", "{{.HostConfig.AutoRemove}}",
    ] {
        let (b, k) = (berth_ok(&d, &["inspect", "-f", f, "bb"]), d.docker_ok(&["inspect", "-f", f, "kk"]));
        if f.starts_with("{{json") {
            assert_eq!(json_without_nulls(&b), json_without_nulls(&k), "{f}");
        } else {
            assert_eq!(b, k, "{f}");
        }
    }
}

#[test]
fn lifecycle_commands_match_docker() {
    let d = daemon("cmp-life");
    for n in ["bb", "kk"] {
        d.docker_ok(&["run", "-d", "--name", n, "busybox", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]);
    }
    for (verb, extra) in [("pause", &[][..]), ("unpause", &[]), ("restart", &["-t", "1"]), ("kill", &["-s", "SIGUSR1"])] {
        let mut bargs = vec![verb];
        bargs.extend(extra);
        let mut kargs = bargs.clone();
        bargs.push("bb");
        kargs.push("kk");
        assert_eq!(berth_ok(&d, &bargs), "bb\n");
        assert_eq!(d.docker_ok(&kargs), "kk\n");
    }
    // exec: status, stdin, environment, user, working directory.
    for args in [
        &["exec", "bb", "sh", "-c", "echo $HOME; exit 4"][..],
        &["exec", "-e", "V=x", "-u", "nobody", "-w", "/tmp", "bb", "sh", "-c", "echo $V; id -un; pwd"],
        &["exec", "bb", "no-such-command"],
    ] {
        let b = berth(&d, args);
        let mut kargs = args.to_vec();
        let i = kargs.iter().position(|a| *a == "bb").expect("container argument");
        kargs[i] = "kk";
        let k = d.docker(&kargs);
        assert_eq!((b.status.code(), text(&b.stdout)), (k.status.code(), text(&k.stdout)), "{args:?}: {}", text(&b.stderr));
    }
    let mut child = crate::berth_cmd(&d, &["exec", "-i", "bb", "cat"]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().expect("berth exec -i");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), b"through stdin\n").expect("write");
    assert_eq!(text(&child.wait_with_output().expect("wait").stdout), "through stdin\n");
    assert_eq!(berth_ok(&d, &["exec", "-d", "bb", "touch", "/detached"]), "");
    berth_testutil::daemon::wait_until(10, "the detached exec", || berth(&d, &["exec", "bb", "test", "-e", "/detached"]).status.success());
    // rm of a running container: docker's refusal, then -f.
    let (b, k) = (berth(&d, &["rm", "bb"]), d.docker(&["rm", "kk"]));
    assert_eq!((b.status.code(), text(&b.stderr).replace("\"/bb\"", "")), (k.status.code(), text(&k.stderr).replace("\"/kk\"", "")));
    let t = std::time::Instant::now();
    assert_eq!(berth_ok(&d, &["stop", "-t", "5", "bb"]), "bb\n");
    assert!(t.elapsed() < std::time::Duration::from_secs(4), "SIGTERM stopped it: {:?}", t.elapsed());
    assert_eq!(berth_ok(&d, &["rename", "bb", "b2"]), "");
    assert_eq!(berth_ok(&d, &["wait", "b2"]), "0\n");
    assert_eq!(berth_ok(&d, &["rm", "-f", "b2", "kk"]), "b2\nkk\n");
    // start -a and start of a created container.
    berth_ok(&d, &["create", "--name", "cc", "busybox", "sh", "-c", "echo started; exit 2"]);
    let out = berth(&d, &["start", "-a", "cc"]);
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(2), "started\n".to_owned()));
    assert_eq!(berth_ok(&d, &["start", "cc"]), "cc\n");
    assert_eq!(berth_ok(&d, &["wait", "cc"]), "2\n");
    let out = berth_ok(&d, &["container", "prune", "-f"]);
    assert!(out.starts_with("Deleted Containers:\n") && out.ends_with("\nTotal reclaimed space: 0B\n"), "{out}");
    assert_eq!(berth_ok(&d, &["ps", "-aq"]), "");
}
