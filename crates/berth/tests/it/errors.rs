//! Finding the daemon, refusing what berth does not support, usage errors and help.

use std::process::{Command, Stdio};

use crate::{berth, berth_ok, daemon, text, BERTH};

fn bare(args: &[&str]) -> Command {
    let mut c = Command::new(BERTH);
    c.args(args).env_remove("BERTH_HOST").env_remove("DOCKER_HOST").stdin(Stdio::null());
    c
}

#[test]
fn daemon_discovery_order_and_the_message_when_none_answers() {
    let d = daemon("discover");
    let good = format!("unix://{}", d.sock.display());
    let bad = format!("unix://{}", d.dir.join("nothing.sock").display());
    let ps = |c: &mut Command| c.output().expect("run berth");
    // Nothing answers: which socket, how to start berthd; 1 for ps, 125 for run.
    let out = ps(bare(&["ps"]).env("BERTH_HOST", &bad));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains(&bad) && err.contains("Is berthd running?") && err.contains("berthd"), "{err}");
    let out = ps(bare(&["run", "busybox", "true"]).env("BERTH_HOST", &bad));
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
    // -H beats BERTH_HOST, which beats DOCKER_HOST.
    assert!(ps(bare(&["-H", &good, "ps"]).env("BERTH_HOST", &bad)).status.success());
    assert!(ps(bare(&["ps"]).env("BERTH_HOST", &good).env("DOCKER_HOST", &bad)).status.success());
    assert!(!ps(bare(&["ps"]).env("BERTH_HOST", &bad).env("DOCKER_HOST", &good)).status.success());
    assert!(ps(bare(&["ps"]).env("DOCKER_HOST", &good)).status.success());
    // The default socket is named when nothing is set (and nothing listens there in tests).
    if !std::path::Path::new("/run/berth/berth.sock").exists() {
        let out = ps(&mut bare(&["ps"]));
        assert!(text(&out.stderr).contains("unix:///run/berth/berth.sock"), "{}", text(&out.stderr));
    }
    let out = ps(bare(&["ps"]).env("BERTH_HOST", "tcp://127.0.0.1:2375"));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("berthd serves TCP only with mutual TLS: add --tlsverify"), "{}", text(&out.stderr));
}

#[test]
fn unsupported_flags_are_refused_by_name() {
    let d = daemon("refuse");
    for (args, name) in [
        (&["run", "--link", "db:db", "busybox", "true"][..], "--link"),
        (&["run", "--gpus", "all", "busybox", "true"], "--gpus"),
        (&["run", "--no-such-flag", "busybox", "true"], "--no-such-flag"),
    ] {
        let out = berth(&d, args);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(name), "{args:?}: {}", text(&out.stderr));
    }
    let out = berth(&d, &["run", "--link", "db:db", "busybox", "true"]);
    assert!(text(&out.stderr).contains("user-defined network"), "--link says what to do instead: {}", text(&out.stderr));
    // What network create does not support: refused by name, before anything is made.
    for (args, name) in [
        (&["network", "create", "--aux-address", "a=10.9.0.5", "n"][..], "--aux-address"),
        (&["network", "create", "--config-from", "other", "n"], "--config-from"),
        (&["network", "create", "--config-only", "n"], "--config-only"),
        (&["network", "create", "--ingress", "n"], "--ingress"),
        (&["network", "create", "--ipam-opt", "a=b", "n"], "--ipam-opt"),
        (&["network", "create", "--scope", "swarm", "n"], "--scope"),
        (&["network", "connect", "--link", "a:b", "n", "c"], "--link"),
    ] {
        let out = berth(&d, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(name), "{args:?}: {}", text(&out.stderr));
    }
    // Bad port and network flags: docker's words and status, before anything is sent.
    for args in [
        &["run", "-p", "x", "busybox", "true"][..],
        &["run", "-p", "8000-8001:80-82", "busybox", "true"],
        &["create", "-p", "1.2.3:80:80", "busybox"],
        &["create", "--expose", "80:90", "busybox"],
        &["create", "--network-alias", "a", "busybox"],
        &["create", "--network", "mynet", "--network", "bridge", "busybox"],
        &["network", "create", "--subnet", "10.0.0.0/8", "--gateway", "11.0.0.1", "n"],
        &["network", "create", "--gateway", "10.0.0.1", "n"],
    ] {
        let (b, k) = (berth(&d, args), d.docker(args));
        assert_eq!((b.status.code(), text(&b.stderr)), (k.status.code(), text(&k.stderr).replace("docker", "berth")), "{args:?}");
    }
    // --expose works: the port is in the container's config, as docker's CLI puts it.
    berth_ok(&d, &["create", "--name", "exposed", "--expose", "8080", "busybox", "true"]);
    assert_eq!(berth_ok(&d, &["inspect", "--format", "{{json .Config.ExposedPorts}}", "exposed"]).trim(), r#"{"8080/tcp":{}}"#);
    berth_ok(&d, &["rm", "exposed"]);
    // A network the daemon does not have comes back with its name.
    let out = berth(&d, &["run", "--rm", "--network", "mynet", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains("mynet"), "{}", text(&out.stderr));
    // Nothing was left half-made by the refusals.
    assert_eq!(text(&berth(&d, &["ps", "-aq"]).stdout), "");
    let out = berth(&d, &["rm", "-l", "x"]);
    assert!(!out.status.success() && text(&out.stderr).contains("--link"), "{}", text(&out.stderr));
    // A reader that goes away ends berth quietly, with the status of SIGPIPE, as docker.
    for args in [&["image", "inspect", "busybox"][..], &["save", "busybox"]] {
        let mut child = crate::berth_cmd(&d, args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("berth");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(141), "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "", "{args:?}");
    }
}

#[test]
fn help_in_dockers_shape() {
    let out = bare(&["run", "--help"]).output().expect("berth run --help");
    assert_eq!(out.status.code(), Some(0));
    let h = text(&out.stdout);
    assert!(h.trim_start().starts_with("Usage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nCreate and run a new container from an image\n"), "{h}");
    for flag in ["-d, --detach", "-i, --interactive", "-t, --tty", "--rm", "-e, --env", "-h, --hostname", "--memory", "--mount"] {
        assert!(h.contains(flag), "{flag} missing from:\n{h}");
    }
    for cmd in ["ps", "images", "logs", "exec", "inspect", "events", "pull", "container", "image", "network", "port"] {
        let out = bare(&[cmd, "--help"]).output().expect("help");
        assert_eq!(out.status.code(), Some(0), "{cmd}");
        assert!(text(&out.stdout).trim_start().starts_with(&format!("Usage:  berth {cmd}")), "{cmd}: {}", text(&out.stdout));
    }
    let out = bare(&["network", "create", "--help"]).output().expect("berth network create --help");
    let h = text(&out.stdout);
    assert!(h.trim_start().starts_with("Usage:  berth network create [OPTIONS] NETWORK\n\nCreate a network\n"), "{h}");
    for flag in ["-d, --driver", "--subnet", "--gateway", "--ip-range", "--ipv6", "--internal", "--attachable", "--label", "-o, --opt", "--ipam-driver"] {
        assert!(h.contains(flag), "{flag} missing from:\n{h}");
    }
    let out = bare(&["run", "--help"]).output().expect("berth run --help");
    for flag in ["-p, --publish", "-P, --publish-all", "--network ", "--network-alias", "--ip ", "--ip6", "--expose"] {
        assert!(text(&out.stdout).contains(flag), "{flag} missing from run --help");
    }
    let out = bare(&["--help"]).output().expect("berth --help");
    assert!(text(&out.stdout).contains("Commands:") && text(&out.stdout).contains("run "), "{}", text(&out.stdout));
    let out = bare(&["--version"]).output().expect("berth --version");
    assert!(text(&out.stdout).starts_with("berth version "), "{}", text(&out.stdout));
    // Usage errors: docker's words and statuses (125 for a flag, 1 for the arguments).
    for args in [
        &["ps", "--bogus"][..],
        &["ps", "-z"],
        &["stop"],
        &["run"],
        &["rename", "a"],
        &["logs"],
        &["ps", "extra"],
        &["exec", "web"],
        &["top"],
        &["port"],
        &["port", "a", "b", "c"],
        &["network", "rm"],
        &["network", "create", "a", "b"],
        &["network", "connect", "a"],
        &["network", "ls", "extra"],
    ] {
        let b = bare(args).output().expect("berth");
        let k = Command::new("docker").args(args).env("DOCKER_HOST", "unix:///nonexistent").stdin(Stdio::null()).output().expect("docker");
        assert_eq!(b.status.code(), k.status.code(), "{args:?}: {}", text(&b.stderr));
        assert_eq!(text(&b.stderr), text(&k.stderr).replace("docker", "berth"), "{args:?}");
    }
}

#[test]
fn a_field_that_is_not_there_fails_as_in_docker() {
    let d = daemon("tmplerr");
    berth_ok(&d, &["create", "--name", "t1", "--label", "a=b", "busybox", "true"]);
    berth_ok(&d, &["volume", "create", "v1"]);
    // Lists run templates over Go structs: a wrong name fails, naming the formatter's type and
    // where the name is in the text. Inspect fails for a wrong field, not for a missing label.
    for args in [
        &["ps", "-a", "--format", "{{.Foo}}"][..],
        &["ps", "-a", "--format", "table {{.Names}}\\t{{.Config.Nope}}"],
        &["images", "--format", "{{.Repository}} {{.Foo}}"],
        &["network", "ls", "--format", "{{.Foo}}"],
        &["volume", "ls", "--format", "{{.Foo}}"],
        &["stats", "--no-stream", "--format", "{{.Foo}}", "t1"],
        &["inspect", "-f", "{{.Config.Foo}} {{.Id}}", "t1"],
        &["inspect", "-f", "{{.Config.Labels.nope}}|{{.Config.Labels.a}}|{{.State.Status}}", "t1"],
        &["ps", "-a", "--format", "{{.Label \"nope\"}}|{{.Names}}"],
    ] {
        let (b, k) = (berth(&d, args), d.docker(args));
        assert_eq!((b.status.code(), text(&b.stdout), text(&b.stderr)), (k.status.code(), text(&k.stdout), text(&k.stderr)), "{args:?}");
    }
    berth_ok(&d, &["rm", "t1"]);
    berth_ok(&d, &["volume", "rm", "v1"]);
}

#[test]
fn create_and_run_errors_read_as_dockers() {
    let d = daemon("createerr");
    // create says what the daemon answered as it is (status 1); its own flag errors and all of
    // run's read `…: error` and point at --help (125); a flag berth does not know is named.
    for args in [
        &["create", "--pull", "never", "nosuch"][..],
        &["create", "--platform", "nonsense", "busybox"],
        &["run", "--platform", "nonsense", "busybox"],
        &["create", "--bogus", "busybox"],
        &["run", "-Z", "busybox"],
        &["run", "--bogus=3", "busybox"],
        &["create", "--restart", "bogus", "busybox"],
        &["run", "--restart", "always:3", "busybox"],
        &["create", "--restart", ":3", "busybox"],
        &["create", "--pull", "bogus", "busybox"],
    ] {
        let (b, k) = (berth(&d, args), d.docker(args));
        let berth_words = text(&b.stderr).replace("berth", "docker");
        assert_eq!((b.status.code(), berth_words.as_str()), (k.status.code(), text(&k.stderr).as_str()), "{args:?}");
    }
}
