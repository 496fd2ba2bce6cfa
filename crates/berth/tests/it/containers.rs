//! What `run` does beyond printing: stdin, --rm, -d, signals forwarded (docker's sig-proxy),
//! events, stats.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

use berth_testutil::daemon::wait_until;

use crate::{berth, berth_cmd, berth_ok, daemon, text};

#[test]
fn stdin_rm_and_detached_runs() {
    let d = daemon("run-io");
    let mut child = berth_cmd(&d, &["run", "-i", "--rm", "busybox", "sh", "-c", "read a; echo got $a; cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("berth run -i");
    child.stdin.take().expect("stdin").write_all(b"one\ntwo\nthree\n").expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stdout), "got one\ntwo\nthree\n");
    // -d --rm: the ID at once, the container gone once it ends.
    let id = berth_ok(&d, &["run", "-d", "--rm", "busybox", "sleep", "0.3"]);
    assert_eq!(id.trim().len(), 64, "{id}");
    wait_until(10, "the --rm container to go", || berth_ok(&d, &["ps", "-aq"]).is_empty());
    // Output written at once is not lost: attach comes before start.
    for _ in 0..5 {
        assert_eq!(berth_ok(&d, &["run", "--rm", "busybox", "echo", "first"]), "first\n");
    }
    // logs -f follows a container to its end.
    berth_ok(&d, &["run", "-d", "--name", "counter", "busybox", "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.3; done"]);
    assert_eq!(berth_ok(&d, &["logs", "-f", "counter"]), "1\n2\n3\n");
    // --cidfile and --name.
    let cid = d.dir.join("cid");
    berth_ok(&d, &["run", "--name", "named", "--cidfile", &cid.to_string_lossy(), "busybox", "true"]);
    let id = std::fs::read_to_string(&cid).expect("cidfile written");
    assert_eq!(berth_ok(&d, &["inspect", "-f", "{{.Id}}", "named"]).trim(), id);
}

/// Waits up to 20 s for `child` to end.
fn wait_ended(child: &mut std::process::Child, what: &str) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return st;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not end after its reader went away");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_reader_that_goes_away_ends_run_and_logs_f() {
    let d = daemon("epipe");
    // `berth run busybox yes | head -1`: berth ends (141, as SIGPIPE ends docker's CLI); the
    // container, not removed, goes on as it does with docker.
    // (A line every 10 ms: `yes` itself would fill the disk with its log.)
    let mut child = berth_cmd(&d, &["run", "--name", "yes", "busybox", "sh", "-c", "while true; do echo y; usleep 10000; done"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("berth run");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read");
    assert_eq!(line, "y\n");
    drop(out);
    let st = wait_ended(&mut child, "berth run");
    assert_eq!(st.code(), Some(141));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err).expect("stderr");
    assert_eq!(err, "", "nothing to say");
    let mut child = berth_cmd(&d, &["logs", "-f", "yes"]).stdout(Stdio::piped()).spawn().expect("berth logs -f");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    line.clear();
    out.read_line(&mut line).expect("read");
    drop(out);
    assert_eq!(wait_ended(&mut child, "berth logs -f").code(), Some(141));
    berth_ok(&d, &["rm", "-f", "yes"]);
}

#[test]
fn ctrl_c_is_forwarded_to_the_container() {
    let d = daemon("sigproxy");
    let mut child = berth_cmd(&d, &["run", "--rm", "busybox", "sh", "-c", "trap 'echo got INT; exit 7' INT; echo ready; while true; do sleep 0.1; done"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("berth run");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read");
    assert_eq!(line, "ready\n");
    let st = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(st.success());
    line.clear();
    out.read_line(&mut line).expect("read");
    assert_eq!(line, "got INT\n");
    let st = child.wait().expect("wait");
    assert_eq!(st.code(), Some(7), "berth exits with the container's status");
}

#[test]
fn events_and_stats() {
    let d = daemon("events");
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let since = (now() - 1).to_string();
    berth_ok(&d, &["run", "--name", "ev", "busybox", "true"]);
    berth_ok(&d, &["rm", "ev"]);
    let until = (now() + 1).to_string();
    std::thread::sleep(Duration::from_millis(2100));
    // A closed time range: both CLIs print the same events and end.
    for format in [None, Some("{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"), Some("json")] {
        let mut args = vec!["events", "--since", &since, "--until", &until, "--filter", "container=ev"];
        if let Some(f) = format {
            args.extend(["--format", f]);
        }
        let b = berth_ok(&d, &args);
        assert_eq!(b, d.docker_ok(&args), "{args:?}");
        assert!(b.lines().count() >= 4, "{b}");
    }
    let out = berth_ok(&d, &["events", "--since", &since, "--until", &until, "--filter", "event=die"]);
    assert!(out.contains("Z container die ") && out.contains("exitCode=0") && out.contains("name=ev"), "{out}");
    // stats --no-stream: docker's columns.
    berth_ok(&d, &["run", "-d", "--name", "busy", "busybox", "sleep", "600"]);
    let s = berth_ok(&d, &["stats", "--no-stream"]);
    let mut rows = s.lines();
    let head = rows.next().unwrap_or("");
    for col in ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"] {
        assert!(head.contains(col), "{col} missing: {s}");
    }
    let row = rows.next().unwrap_or("");
    assert!(row.contains(" busy ") && row.contains('%') && row.trim_end().ends_with(" 1"), "{s}");
    let s = berth_ok(&d, &["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "busy"]);
    assert_eq!(s, "busy 1\n");
    // Live: the table is redrawn from each container's stream, whose CPU delta is its own.
    berth_ok(&d, &["run", "-d", "--name", "spin", "--cpus", "0.5", "busybox", "sh", "-c", "while :; do :; done"]);
    let s = berth_ok(&d, &["stats", "--no-stream", "--format", "{{.Name}}", "busy", "spin"]);
    assert_eq!(s, "busy\nspin\n", "one row per container, in the order given");
    let child = berth_cmd(&d, &["stats", "--format", "{{.Name}} {{.CPUPerc}}", "spin", "busy"]).stdout(Stdio::piped()).spawn().expect("berth stats");
    std::thread::sleep(Duration::from_millis(3200));
    let _ = std::process::Command::new("kill").arg(child.id().to_string()).status();
    let out = child.wait_with_output().expect("berth stats ends");
    let live = text(&out.stdout);
    let spins: Vec<f64> = live.lines().filter_map(|l| l.strip_prefix("spin ")).filter_map(|v| v.trim_end_matches('%').parse().ok()).collect();
    assert!(spins.len() >= 2 && live.lines().filter(|l| l.starts_with("busy ")).count() >= 2, "the table was drawn again: {live}");
    assert!(spins.last().is_some_and(|c| *c > 5.0), "a busy container shows its CPU share: {live}");
    berth_ok(&d, &["rm", "-f", "spin"]);
    // Without names the live table follows the events: a container that starts joins it, one
    // that dies leaves it.
    let child = berth_cmd(&d, &["stats", "--format", "table {{.Name}}"]).stdout(Stdio::piped()).spawn().expect("berth stats");
    std::thread::sleep(Duration::from_millis(1800));
    berth_ok(&d, &["run", "-d", "--name", "late", "busybox", "sleep", "60"]);
    berth_ok(&d, &["kill", "busy"]);
    std::thread::sleep(Duration::from_millis(2500));
    let _ = std::process::Command::new("kill").arg(child.id().to_string()).status();
    let out = text(&child.wait_with_output().expect("berth stats ends").stdout);
    let tables: Vec<&str> = out.split("NAME\n").filter(|t| !t.is_empty()).collect();
    assert!(tables.first().is_some_and(|t| t.lines().any(|l| l == "busy")), "busy at first: {out}");
    assert_eq!(tables.last().map(|t| t.lines().collect::<Vec<_>>()), Some(vec!["late"]), "late joined, busy left: {out}");
    berth_ok(&d, &["rm", "-f", "late"]);
}

#[test]
fn run_and_create_platform_as_docker() {
    let d = daemon("platform");
    // The same output, messages and status as docker's: the local linux/amd64 fixture runs;
    // for arm64 dockerd's 404 makes both pull (which fails here: no hub), or stop with
    // --pull never; a specifier that does not parse stops before the daemon is asked.
    for args in [
        &["run", "--rm", "--platform", "linux/amd64", "busybox", "echo", "ok"][..],
        &["run", "--rm", "--platform", "Linux/x86_64", "busybox", "echo", "ok"],
        &["run", "--rm", "--pull", "never", "--platform", "linux/arm64", "busybox", "true"],
        &["run", "--rm", "--platform", "linux/arm64", "busybox", "true"],
        &["run", "--rm", "-q", "--platform", "linux/arm64", "busybox", "true"],
        &["run", "--rm", "--platform", "nonsense", "busybox", "true"],
        &["run", "--rm", "--platform", "linux/a b", "busybox", "true"],
    ] {
        let b = berth(&d, args);
        let k = d.docker(args);
        assert_eq!(
            (b.status.code(), text(&b.stdout), text(&b.stderr)),
            (k.status.code(), text(&k.stdout), text(&k.stderr).replace("docker", "berth")),
            "{args:?}"
        );
    }
    let out = berth(&d, &["run", "--rm", "--pull", "never", "--platform", "linux/arm64", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("image with reference busybox was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64"),
        "{}",
        text(&out.stderr)
    );
    // create: the container is made from the image that matches.
    let id = berth_ok(&d, &["create", "--platform", "linux/amd64", "busybox", "true"]);
    assert_eq!(berth_ok(&d, &["inspect", "-f", "{{.Id}}", id.trim()]), id);
    berth_ok(&d, &["rm", id.trim()]);
    let out = berth(&d, &["create", "--pull", "never", "--platform", "linux/arm64", "busybox", "true"]);
    assert!(!out.status.success() && text(&out.stderr).contains("does not match the specified platform: wanted linux/arm64"), "{}", text(&out.stderr));
    assert_eq!(berth_ok(&d, &["ps", "-aq"]), "");
}

#[test]
fn times_print_in_the_local_zone_as_docker_prints_them() {
    let d = daemon("tz");
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let since = (now() - 1).to_string();
    berth_ok(&d, &["run", "--name", "tz", "busybox", "true"]);
    let until = (now() + 1).to_string();
    std::thread::sleep(Duration::from_millis(2100));
    for tz in ["Europe/Berlin", "America/Sao_Paulo", "UTC"] {
        for args in [
            &["ps", "-a", "--format", "{{.CreatedAt}} {{.Names}}"][..],
            &["images", "--format", "{{.Repository}} {{.CreatedAt}}"],
            &["history", "--human=false", "--format", "{{.CreatedAt}}", "busybox"],
            &["events", "--since", &since, "--until", &until, "--filter", "container=tz"],
        ] {
            let b = berth_cmd(&d, args).env("TZ", tz).output().expect("berth");
            let k = d.docker_cmd(args).env("TZ", tz).output().expect("docker");
            assert!(k.status.success(), "{args:?}: {}", text(&k.stderr));
            assert_eq!(text(&b.stdout), text(&k.stdout), "TZ={tz} {args:?}");
        }
    }
    berth_ok(&d, &["rm", "tz"]);
}
