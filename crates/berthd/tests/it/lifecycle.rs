//! Containers outlive the daemon: kill -9 of berthd, then a new berthd finds running
//! containers running, their logs complete, and the exits of those that ended meanwhile.
//! Restart policies, events, stats, logs follow.

use std::time::Duration;

use berth_testutil::daemon::wait_until;

use crate::daemon;

#[test]
fn kill_9_of_the_daemon_loses_nothing() {
    let mut d = daemon("kill9");
    d.docker_ok(&["run", "-d", "--name", "chatty", "busybox", "sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.02; done"]);
    d.docker_ok(&["run", "-d", "--name", "sleeper", "busybox", "sleep", "600"]);
    d.docker_ok(&["run", "-d", "--name", "ender", "busybox", "sh", "-c", "sleep 1; echo bye; exit 7"]);
    // Auto-removed containers that do not run when the daemon starts go, as under dockerd:
    // one never started, and one that ended while the daemon was down.
    d.docker_ok(&["create", "--rm", "--name", "never", "busybox", "true"]);
    d.docker_ok(&["run", "-d", "--rm", "--name", "brief", "busybox", "sleep", "1"]);
    let pid = d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", "sleeper"]);
    let before = d.docker_ok(&["logs", "chatty"]).lines().count();
    let st = d.stop_with("KILL");
    assert!(!st.success());
    std::thread::sleep(Duration::from_secs(2));
    d.spawn();
    // Still running, same process.
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.State.Status}}", "sleeper"]), "running\n");
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", "sleeper"]), pid);
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "ender"]), "exited 7\n");
    assert_eq!(d.docker_ok(&["logs", "ender"]), "bye\n");
    assert_eq!(d.docker_ok(&["wait", "ender"]), "7\n");
    let names = d.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!names.contains("never") && !names.contains("brief"), "{names}");
    // Output written while the daemon was down is in the log, in order, without a gap.
    let logs = d.docker_ok(&["logs", "chatty"]);
    let n: Vec<u64> = logs.lines().map(|l| l.trim_start_matches("line ").parse().expect("a counter line")).collect();
    assert!(n.len() > before + 20, "the container kept writing while the daemon was down: {} then {}", before, n.len());
    assert!(n.iter().enumerate().all(|(i, v)| *v == i as u64), "the log has every line once, in order");
    // The recovered containers are fully manageable.
    d.docker_ok(&["exec", "sleeper", "true"]);
    d.docker_ok(&["stop", "-t", "1", "chatty"]);
    d.docker_ok(&["rm", "-f", "sleeper", "chatty", "ender"]);
}

#[test]
fn sigterm_stops_the_daemon_and_leaves_containers_running() {
    let mut d = daemon("sigterm");
    d.docker_ok(&["run", "-d", "--name", "stay", "busybox", "sleep", "600"]);
    let st = d.stop_with("TERM");
    assert!(st.success(), "berthd exits 0 on SIGTERM: {st}");
    assert!(!d.sock.exists(), "the socket is removed");
    // What a removed container's shim, still finishing when the daemon stopped, left: its run
    // directory goes at the next start; a running container's stays.
    let orphan = d.exec_root().join("c/0123456789abcdef");
    std::fs::create_dir_all(orphan.join("shim")).unwrap();
    std::fs::write(orphan.join("shim/exit.json"), "{}").unwrap();
    d.spawn();
    assert!(!orphan.exists(), "the run directory of a container that is gone is removed");
    let id = d.docker_ok(&["inspect", "-f", "{{.Id}}", "stay"]);
    assert!(d.exec_root().join("c").join(&id[..16]).join("shim/shim.sock").exists(), "a running container's run directory stays");
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.State.Status}}", "stay"]), "running\n");
}

#[test]
fn a_second_daemon_on_the_same_root_is_refused() {
    let d = daemon("second");
    let out = std::process::Command::new(crate::BERTHD)
        .arg("--data-root")
        .arg(d.data_root())
        .arg("--exec-root")
        .arg(d.dir.join("r2"))
        .arg("-H")
        .arg(format!("unix://{}", d.dir.join("s2.sock").display()))
        .output()
        .expect("run a second berthd");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another berthd") && err.contains(&d.pid().to_string()), "{err}");
}

#[test]
fn restart_policies_bring_containers_back() {
    let d = daemon("restart");
    d.docker_ok(&["run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3"]);
    wait_until(20, "two restarts", || d.docker_ok(&["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "flaky"]) == "2 exited\n");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.RestartCount}} {{.State.ExitCode}}", "flaky"]), "2 3\n");
    d.docker_ok(&["run", "-d", "--name", "always", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2; exit 0"]);
    wait_until(20, "a restart", || d.docker_ok(&["inspect", "-f", "{{.RestartCount}}", "always"]).trim() != "0");
    d.docker_ok(&["stop", "always"]);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.State.Status}}", "always"]), "exited\n", "a stopped container stays stopped");
    // ... until a user starts it: the policy applies again, counting from zero (dockerd resets
    // its restart manager on a start); a policy restart is a `start` event, not `restart`.
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs().to_string();
    d.docker_ok(&["start", "always"]);
    // (the count goes up when a restart is scheduled: at 2, the first one has run)
    wait_until(20, "restarts after the user's start", || d.docker_ok(&["inspect", "-f", "{{.RestartCount}}", "always"]).trim().parse::<u32>().is_ok_and(|n| n >= 2));
    d.docker_ok(&["stop", "-t", "1", "always"]);
    let now = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() + 1).to_string();
    let ev = d.docker_ok(&["events", "--since", &since, "--until", &now, "--filter", "container=always", "--format", "{{.Action}}"]);
    assert!(ev.lines().filter(|l| *l == "start").count() >= 2 && !ev.lines().any(|l| l == "restart"), "{ev}");
    // a container waiting out its backoff: rm and exec refused with dockerd's messages, rm -f
    // cancels the restart and removes it
    d.docker_ok(&["run", "-d", "--name", "crashy", "--restart", "always", "busybox", "sh", "-c", "exit 1"]);
    wait_until(30, "a long backoff", || d.docker_ok(&["inspect", "-f", "{{.RestartCount}}", "crashy"]).trim().parse::<u32>().is_ok_and(|n| n >= 5));
    wait_until(10, "restarting", || d.docker_ok(&["inspect", "-f", "{{.State.Status}}", "crashy"]) == "restarting\n");
    let out = d.docker(&["rm", "crashy"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("You cannot remove a restarting container"), "{out:?}");
    let out = d.docker(&["exec", "crashy", "true"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is restarting, wait until the container is running"), "{out:?}");
    d.docker_ok(&["rm", "-f", "crashy"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!d.docker_ok(&["ps", "-aq", "--filter", "name=crashy"]).contains(char::is_alphanumeric), "removed, and not brought back");
    // docker stop sends its signal as a `kill` event, as dockerd does
    d.docker_ok(&["run", "-d", "--name", "stopme", "busybox", "sleep", "60"]);
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs().to_string();
    d.docker_ok(&["stop", "-t", "1", "stopme"]);
    let now = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() + 1).to_string();
    let ev = d.docker_ok(&["events", "--since", &since, "--until", &now, "--filter", "container=stopme", "--format", "{{.Action}} {{.Actor.Attributes.signal}}"]);
    // (`--since` counts whole seconds: the run's own events may come first)
    let ev: Vec<&str> = ev.lines().skip_while(|l| *l != "kill 15").collect();
    assert_eq!(ev, ["kill 15", "kill 9", "die <no value>", "stop <no value>"], "sleep as pid 1 ignores TERM");
    // A kill that names no signal returns once the container is dead, so a plain remove
    // right after it works (docker-py and testcontainers do this); and a wait right after
    // an exit reports that exit's code.
    for i in 0..20 {
        let name = format!("k{i}");
        d.docker_ok(&["run", "-d", "--name", &name, "busybox", "sleep", "60"]);
        let r = d.api("POST", &format!("/containers/{name}/kill"), None);
        assert_eq!(r.status, 204, "{}", r.text());
        let r = d.api("DELETE", &format!("/containers/{name}"), None);
        assert_eq!(r.status, 204, "removed right after the kill: {}", r.text());
        let made = d.api("POST", "/containers/create", Some(&serde_json::json!({"Image": "busybox", "Cmd": ["sh", "-c", "exit 2"]})));
        let id = made.json()["Id"].as_str().expect("id").to_owned();
        assert_eq!(d.api("POST", &format!("/containers/{id}/start"), None).status, 204);
        let _ = d.api("GET", &format!("/containers/{id}/logs?follow=1&stdout=1&stderr=1"), None);
        let w = d.api("POST", &format!("/containers/{id}/wait"), None).json();
        assert_eq!(w["StatusCode"], 2, "run {i}: {w}");
        assert_eq!(d.api("DELETE", &format!("/containers/{id}"), None).status, 204);
    }
}

#[test]
fn events_stats_and_following_logs() {
    let d = daemon("events");
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs();
    d.docker_ok(&["run", "--name", "ev", "busybox", "true"]);
    d.docker_ok(&["rm", "ev"]);
    let until = since + 600;
    let ev = d.docker_ok(&["events", "--since", &since.to_string(), "--until", &(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() + 1).to_string(), "--filter", "type=container", "--format", "{{.Action}} {{.Actor.Attributes.name}}"]);
    let _ = until;
    let actions: Vec<&str> = ev.lines().collect();
    assert_eq!(actions, ["create ev", "attach ev", "start ev", "die ev", "destroy ev"], "{ev}");

    d.docker_ok(&["run", "-d", "--name", "busy", "--memory", "64m", "busybox", "sh", "-c", "while true; do echo x; sleep 0.1; done"]);
    let st = d.docker_ok(&["stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", "busy"]);
    assert!(st.starts_with("busy ") && st.contains("64MiB"), "{st}");
    let api = d.api("GET", "/containers/busy/stats?stream=0", None).json();
    assert!(api["cpu_stats"]["cpu_usage"]["total_usage"].as_u64().is_some_and(|v| v > 0), "{api}");
    assert!(api["precpu_stats"]["cpu_usage"]["total_usage"].as_u64().is_some(), "{api}");
    assert_eq!(api["memory_stats"]["limit"], 64 << 20);
    assert_eq!(api["storage_stats"], serde_json::json!({}), "{api}");
    // on v1 blkio, the lists the kernel keeps no entries in are empty lists, as dockerd's
    let pure_v2 = std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| m.lines().any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 ")));
    if !pure_v2 {
        assert_eq!(api["blkio_stats"]["io_queue_recursive"], serde_json::json!([]), "{api}");
    }
    // The container's own interfaces (eth0 on the default bridge), loopback left out.
    assert!(api["networks"]["eth0"]["rx_bytes"].is_u64() && api["networks"].get("lo").is_none(), "{api}");
    d.docker_ok(&["run", "-d", "--name", "quiet", "--network", "none", "busybox", "sleep", "60"]);
    let api = d.api("GET", "/containers/quiet/stats?stream=0", None).json();
    assert!(api.get("networks").is_none_or(|n| n.is_null()), "only loopback: no networks, as dockerd: {api}");
    // No memory limit: the machine's memory, as dockerd shows it.
    let total: u64 = std::fs::read_to_string("/proc/meminfo").expect("meminfo").lines().find_map(|l| l.strip_prefix("MemTotal:")).and_then(|v| v.trim().trim_end_matches(" kB").parse().ok()).expect("MemTotal");
    assert_eq!(api["memory_stats"]["limit"].as_u64(), Some(total * 1024), "{api}");
    d.docker_ok(&["rm", "-f", "quiet"]);

    // logs -f streams new lines and ends when the container does.
    let follow = d.docker_cmd(&["logs", "-f", "busy"]).stdout(std::process::Stdio::piped()).spawn().expect("logs -f");
    std::thread::sleep(Duration::from_millis(600));
    d.docker_ok(&["kill", "busy"]);
    let out = follow.wait_with_output().expect("logs -f ends");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() >= 5, "{out:?}");
    let ts = d.docker_ok(&["logs", "-t", "--tail", "1", "busy"]);
    assert!(ts.len() > 32 && ts.as_bytes()[4] == b'-' && ts.contains("Z x"), "{ts}");
}

#[test]
fn healthchecks_set_the_status_ps_shows_and_filters_select() {
    let d = crate::daemon("health");
    d.docker_ok(&["run", "-d", "--name", "hc", "--health-cmd", "test -f /tmp/ok && echo fine", "--health-interval", "200ms", "--health-retries", "2", "busybox", "sleep", "300"]);
    let status = || d.docker_ok(&["inspect", "--format", "{{.State.Health.Status}}", "hc"]).trim().to_owned();
    assert_eq!(status(), "starting");
    berth_testutil::daemon::wait_until(20, "unhealthy after two failed probes", || status() == "unhealthy");
    let ps = d.docker_ok(&["ps", "--format", "{{.Status}}"]);
    assert!(ps.trim().ends_with("(unhealthy)"), "{ps}");
    d.docker_ok(&["exec", "hc", "touch", "/tmp/ok"]);
    berth_testutil::daemon::wait_until(20, "healthy once the probe passes", || status() == "healthy");
    assert!(d.docker_ok(&["ps", "--format", "{{.Status}}"]).trim().ends_with("(healthy)"));
    assert_eq!(d.docker_ok(&["ps", "-q", "--filter", "health=healthy"]).lines().count(), 1);
    assert_eq!(d.docker_ok(&["ps", "-q", "--filter", "health=unhealthy"]).lines().count(), 0);
    let last = d.docker_ok(&["inspect", "--format", "{{range .State.Health.Log}}{{.ExitCode}}:{{.Output}}|{{end}}", "hc"]);
    assert!(last.contains("0:fine\n|"), "{last}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs();
    let events = d.docker_ok(&["events", "--since", &(now - 120).to_string(), "--until", &(now + 1).to_string(), "--filter", "event=health_status", "--format", "{{.Action}}"]);
    assert!(events.contains("health_status: unhealthy") && events.contains("health_status: healthy"), "{events}");

    // a probe past its timeout is killed and counts as a failure
    d.docker_ok(&["run", "-d", "--name", "slow", "--health-cmd", "sleep 10", "--health-interval", "200ms", "--health-timeout", "300ms", "--health-retries", "1", "busybox", "sleep", "300"]);
    berth_testutil::daemon::wait_until(20, "the slow probe times out", || d.docker_ok(&["inspect", "--format", "{{.State.Health.Status}}", "slow"]).trim() == "unhealthy");
    let out = d.docker_ok(&["inspect", "--format", "{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}{{end}}", "slow"]);
    assert!(out.contains("-1 Health check exceeded timeout"), "{out}");
    // no healthcheck: no Health
    d.docker_ok(&["run", "-d", "--name", "none", "--no-healthcheck", "busybox", "sleep", "300"]);
    assert_eq!(d.docker_ok(&["ps", "-q", "--filter", "health=none"]).lines().count(), 1);
    let bad = d.docker(&["run", "--rm", "--health-cmd", "true", "--health-interval", "10us", "busybox", "true"]);
    assert!(!bad.status.success(), "{bad:?}");
    d.docker_ok(&["rm", "-f", "hc", "slow", "none"]);
}

#[test]
fn init_reaps_zombies_forwards_signals_and_passes_the_exit_code() {
    let d = crate::daemon("init");
    // PID 1 is the init; the command runs under it
    let out = d.docker_ok(&["run", "--rm", "--init", "busybox", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo"]).to_string();
    assert!(out.starts_with("/sbin/docker-init -- sh -c"), "{out}");
    let out = d.docker(&["run", "--rm", "--init", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    // orphans are reaped: a grandchild whose parent exits leaves no zombie behind
    d.docker_ok(&["run", "-d", "--name", "reaper", "--init", "busybox", "sh", "-c", "(sleep 0.2 &) ; sleep 300"]);
    std::thread::sleep(std::time::Duration::from_millis(800));
    let ps = d.docker_ok(&["exec", "reaper", "ps", "-o", "stat,comm"]);
    assert!(!ps.lines().any(|l| l.trim_start().starts_with('Z')), "a zombie is left: {ps}");
    // SIGTERM goes to the command: sh as a child (not PID 1) dies of it at once
    let t = std::time::Instant::now();
    d.docker_ok(&["stop", "-t", "10", "reaper"]);
    assert!(t.elapsed() < std::time::Duration::from_secs(5), "the TERM reached the command: {:?}", t.elapsed());
    assert_eq!(d.docker_ok(&["inspect", "--format", "{{.State.ExitCode}}", "reaper"]).trim(), "143");
    d.docker_ok(&["rm", "reaper"]);
}

#[test]
fn json_file_logs_rotate_and_read_back_in_order() {
    let d = crate::daemon("logrot");
    let script = "i=0; while [ $i -lt 400 ]; do echo line $i; i=$((i+1)); done; echo done; sleep 300";
    let id = d.docker_ok(&["run", "-d", "--name", "rot", "--log-opt", "max-size=2k", "--log-opt", "max-file=3", "busybox", "sh", "-c", script]).trim().to_owned();
    berth_testutil::daemon::wait_until(20, "all lines logged", || d.docker_ok(&["logs", "--tail", "1", "rot"]) == "done\n");
    let dir = d.data_root().join("containers").join(&id);
    let log = dir.join(format!("{id}-json.log"));
    // as with dockerd, a file is rotated once it has reached max-size: it ends with the entry
    // that reached it (these are under 100 bytes)
    for f in [log.clone(), dir.join(format!("{id}-json.log.1")), dir.join(format!("{id}-json.log.2"))] {
        let len = std::fs::metadata(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display())).len();
        assert!(len < 2100, "{} is {len} bytes", f.display());
    }
    assert!(!dir.join(format!("{id}-json.log.3")).exists(), "max-file=3 keeps three files");
    // what is left reads back contiguous and in order, ending with the last line
    let out = d.docker_ok(&["logs", "rot"]);
    let nums: Vec<u32> = out.lines().filter_map(|l| l.strip_prefix("line ")).map(|n| n.parse().expect("number")).collect();
    assert!(!nums.is_empty() && nums.windows(2).all(|w| w[1] == w[0] + 1) && *nums.last().expect("last") == 399, "{out}");
    assert_eq!(d.docker_ok(&["logs", "--tail", "2", "rot"]), "line 399\ndone\n");
    // a tail longer than the live file reaches into the rotated ones
    let tail = d.docker_ok(&["logs", "--tail", "40", "rot"]);
    let lines: Vec<&str> = tail.lines().collect();
    assert_eq!(lines.len(), 40, "{tail}");
    assert_eq!((lines[0], lines[38], lines[39]), ("line 361", "line 399", "done"));
    // local: readable, rotated by default
    d.docker_ok(&["run", "--name", "loc", "--log-driver", "local", "busybox", "echo", "local log"]);
    assert_eq!(d.docker_ok(&["logs", "loc"]), "local log\n");
    assert_eq!(d.docker_ok(&["inspect", "-f", "[{{.LogPath}}]", "loc"]), "[]\n", "only json-file's file is named, as by dockerd");
    // --tail -1 is everything; --since a line's own time includes that line, as with dockerd
    assert_eq!(d.docker_ok(&["logs", "--tail", "-1", "loc"]), "local log\n");
    assert_eq!(d.docker_ok(&["logs", "--tail", "bogus", "loc"]), "local log\n", "not a number: everything, as with dockerd");
    // --details: the entry's attributes (none: the options that add them are refused) and a space
    assert_eq!(d.docker_ok(&["logs", "--details", "loc"]), " local log\n");
    let stamped = d.docker_ok(&["logs", "-t", "loc"]);
    let at = stamped.split_whitespace().next().expect("a timestamp").to_owned();
    assert_eq!(d.docker_ok(&["logs", "--since", &at, "loc"]), "local log\n", "since {at}");
    let bad = d.docker(&["run", "--rm", "--log-opt", "max-file=2", "busybox", "true"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("max-file can only be set when max-size is set"), "{bad:?}");
    let bad = d.docker(&["run", "--rm", "--log-driver", "syslog", "busybox", "true"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("log driver \"syslog\""), "{bad:?}");
    d.docker_ok(&["rm", "-f", "rot", "loc"]);
}

/// A paused container: `start` refuses it and `kill` ends it at once, as with dockerd; `rm -f`
/// does not wait for a `stop` that is waiting out its timeout.
#[test]
fn kill_start_and_rm_f_of_paused_and_stopping_containers() {
    let d = daemon("pausekill");
    d.docker_ok(&["run", "-d", "--name", "paused", "busybox", "sleep", "600"]);
    d.docker_ok(&["pause", "paused"]);
    let out = d.docker(&["start", "paused"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("cannot start a paused container, try unpause instead"), "{out:?}");
    d.docker_ok(&["kill", "paused"]);
    wait_until(10, "the killed paused container to exit", || d.docker_ok(&["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "paused"]) == "exited 137\n");

    d.docker_ok(&["run", "-d", "--name", "stubborn", "busybox", "sh", "-c", "trap '' TERM; while true; do sleep 1; done"]);
    let mut stop = d.docker_cmd(&["stop", "-t", "60", "stubborn"]).spawn().expect("docker stop");
    std::thread::sleep(Duration::from_millis(500));
    let began = std::time::Instant::now();
    d.docker_ok(&["rm", "-f", "stubborn"]);
    assert!(began.elapsed() < Duration::from_secs(15), "rm -f waited for the stop: {:?}", began.elapsed());
    let _ = stop.wait();
    d.docker_ok(&["rm", "-f", "paused"]);
}
