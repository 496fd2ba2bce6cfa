//! cp, export, update, port and system df: berth and the docker CLI against one daemon.

use std::process::Command;

use berth_testutil::daemon::wait_until;

use crate::compare::{json_without_nulls, same};
use crate::{berth, berth_ok, daemon, text};

#[test]
fn cp_and_export_match_docker() {
    let d = daemon("files");
    d.docker_ok(&["run", "-d", "--name", "cc", "busybox", "sh", "-c", "echo hi > /tmp/f; mkdir -p /tmp/d/sub; echo deep > /tmp/d/sub/x; sleep 300"]);
    wait_until(10, "the files", || berth(&d, &["exec", "cc", "test", "-e", "/tmp/d/sub/x"]).status.success());
    let host = d.dir.join("host");
    std::fs::create_dir_all(host.join("b")).expect("mkdir");
    std::fs::create_dir_all(host.join("k")).expect("mkdir");
    let h = |p: &str| host.join(p).to_string_lossy().into_owned();
    // Out of the container: a file into a directory, a directory to a new name, the contents
    // of a directory; the same files and the same message as docker's.
    for (src, dest) in [("cc:/tmp/f", ""), ("cc:/tmp/d", "copy"), ("cc:/tmp/d/.", "")] {
        let b = berth(&d, &["cp", src, &format!("{}/{dest}", h("b"))]);
        let k = d.docker(&["cp", src, &format!("{}/{dest}", h("k"))]);
        assert_eq!(b.status.code(), Some(0), "{src}: {}", text(&b.stderr));
        assert_eq!(k.status.code(), Some(0), "{src}: {}", text(&k.stderr));
        assert_eq!(text(&b.stderr).replace(&h("b"), "X"), text(&k.stderr).replace(&h("k"), "X"), "{src}");
    }
    let tree = |dir: &str| {
        let out = Command::new("sh").arg("-c").arg(format!("cd {dir} && find . | sort && cat f copy/sub/x sub/x")).output().expect("find");
        text(&out.stdout)
    };
    assert_eq!(tree(&h("b")), tree(&h("k")));
    assert!(tree(&h("b")).ends_with("hi\ndeep\ndeep\n"), "{}", tree(&h("b")));
    // Into it: a file under a new name, a directory into a directory.
    std::fs::write(host.join("new.txt"), "from the host\n").expect("write");
    berth_ok(&d, &["cp", &h("new.txt"), "cc:/tmp/renamed.txt"]);
    berth_ok(&d, &["cp", &h("b"), "cc:/tmp/"]);
    assert_eq!(berth_ok(&d, &["exec", "cc", "cat", "/tmp/renamed.txt", "/tmp/b/copy/sub/x"]), "from the host\ndeep\n");
    assert_eq!(berth_ok(&d, &["exec", "cc", "stat", "-c", "%u:%g", "/tmp/renamed.txt"]), "0:0\n", "owned by the container's root");
    // Errors: docker's words.
    let (b, k) = (berth(&d, &["cp", "cc:/nope", &h("b")]), d.docker(&["cp", "cc:/nope", &h("k")]));
    assert_eq!((b.status.code(), text(&b.stderr)), (k.status.code(), text(&k.stderr)));
    // A tar on stdout.
    let out = berth(&d, &["cp", "cc:/tmp/f", "-"]);
    assert!(out.status.success() && out.stdout.len() >= 1024, "{}", text(&out.stderr));
    // A big file streams to the disk: the CLI never holds the archive (its peak RSS, measured
    // by a python parent, stays far below the 64 MiB copied).
    berth_ok(&d, &["exec", "cc", "dd", "if=/dev/zero", "of=/tmp/big", "bs=1M", "count=64"]);
    let measure = "import resource, subprocess, sys\nr = subprocess.run(sys.argv[1:])\nprint(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
    let out = Command::new("python3")
        .args(["-c", measure, crate::BERTH, "cp", "cc:/tmp/big", &h("big.copy")])
        .env("BERTH_HOST", format!("unix://{}", d.sock.display()))
        .output()
        .expect("python3");
    let (code, kib) = text(&out.stdout).trim().split_once(' ').map(|(c, k)| (c.to_owned(), k.parse::<u64>().unwrap_or(u64::MAX))).expect("python's line");
    assert_eq!(code, "0", "{}", text(&out.stderr));
    assert_eq!(std::fs::metadata(h("big.copy")).expect("copied").len(), 64 << 20);
    assert!(kib < 32 << 10, "berth cp held {kib} KiB at its peak");
    std::fs::remove_file(h("big.copy")).expect("rm");
    // export: the same files as docker's export.
    let list = |f: &str| {
        let out = Command::new("tar").args(["-tf", f]).output().expect("tar");
        let mut l: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
        l.sort();
        l
    };
    berth_ok(&d, &["export", "-o", &h("b.tar"), "cc"]);
    d.docker_ok(&["export", "-o", &h("k.tar"), "cc"]);
    let (b, k) = (list(&h("b.tar")), list(&h("k.tar")));
    assert!(b.iter().any(|l| l == "tmp/f" || l == "./tmp/f"), "{b:?}");
    assert_eq!(b, k);
    // import what was exported: the same image config as docker's import makes.
    let id = berth_ok(&d, &["import", "-m", "from berth", "-c", "CMD [\"cat\", \"/tmp/f\"]", &h("b.tar"), "imp:b"]);
    assert!(id.starts_with("sha256:") && id.trim().len() == 71, "{id}");
    d.docker_ok(&["import", "-m", "from berth", "-c", "CMD [\"cat\", \"/tmp/f\"]", &h("b.tar"), "imp:k"]);
    let f = "{{.Comment}} {{json .Config.Cmd}} {{.Size}} {{json .RootFS.Layers}}";
    assert_eq!(berth_ok(&d, &["image", "inspect", "-f", f, "imp:b"]), d.docker_ok(&["image", "inspect", "-f", f, "imp:k"]));
    assert_eq!(berth_ok(&d, &["run", "--rm", "imp:b"]), "hi\n");
    // system prune: stopped containers, unused networks, then dangling images (an import
    // without a name).
    let dangling = berth_ok(&d, &["import", &h("b.tar")]);
    berth_ok(&d, &["create", "--name", "stopped", "busybox", "true"]);
    berth_ok(&d, &["network", "create", "unused"]);
    let stopped = berth_ok(&d, &["inspect", "-f", "{{.Id}}", "stopped"]);
    let out = berth_ok(&d, &["system", "prune", "-f"]);
    assert!(out.starts_with(&format!("Deleted Containers:\n{stopped}\nDeleted Networks:\nunused\n\nDeleted Images:\n")), "{out}");
    assert!(out.contains(&format!("deleted: {}", dangling.trim())) && out.contains("\nTotal reclaimed space: "), "{out}");
    assert_eq!(berth_ok(&d, &["ps", "-a", "--format", "{{.Names}}"]), "cc\n");
}

#[test]
fn update_port_df_init_and_health() {
    let d = daemon("update");
    for n in ["bb", "kk"] {
        d.docker_ok(&["run", "-d", "--name", n, "busybox", "sleep", "600"]);
    }
    assert_eq!(berth_ok(&d, &["update", "-m", "64m", "--cpus", "1.5", "--pids-limit", "50", "--restart", "on-failure:2", "bb"]), "bb\n");
    d.docker_ok(&["update", "-m", "64m", "--cpus", "1.5", "--pids-limit", "50", "--restart", "on-failure:2", "kk"]);
    let f = "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}";
    assert_eq!(berth_ok(&d, &["inspect", "-f", f, "bb"]), d.docker_ok(&["inspect", "-f", f, "kk"]));
    assert_eq!(berth_ok(&d, &["inspect", "-f", f, "bb"]), "67108864 1500000000 50 on-failure 2\n");
    let out = berth(&d, &["update", "bb"]);
    assert!(!out.status.success() && text(&out.stderr).contains("one or more flags"), "{}", text(&out.stderr));
    // port: nothing published; asking for one names it as docker does.
    assert_eq!(berth_ok(&d, &["port", "bb"]), d.docker_ok(&["port", "bb"]));
    let (b, k) = (berth(&d, &["port", "bb", "80"]), d.docker(&["port", "bb", "80"]));
    assert_eq!((b.status.code(), text(&b.stderr)), (k.status.code(), text(&k.stderr)));
    // system df: docker's table, byte for byte.
    for args in [&["system", "df"][..], &["system", "df", "--format", "{{.Type}}: {{.TotalCount}} {{.Active}} {{.Reclaimable}}"]] {
        assert_eq!(berth_ok(&d, args), d.docker_ok(args), "{args:?}");
    }
    // --init: an init is pid 1, as with docker.
    let args = ["run", "--rm", "--init", "busybox", "sh", "-c", "cat /proc/1/comm; echo $$"];
    assert_eq!(berth_ok(&d, &args), d.docker_ok(&args));
    // Health checks: the same Healthcheck as docker's flags make, and it runs.
    let health = ["--health-cmd", "test -e /tmp/ok", "--health-interval", "200ms", "--health-retries", "2", "--health-start-period", "1s"];
    let mut bargs = vec!["run", "-d", "--name", "hb"];
    bargs.extend(health);
    bargs.extend(["busybox", "sh", "-c", "touch /tmp/ok; sleep 600"]);
    berth_ok(&d, &bargs);
    let mut kargs = bargs.clone();
    kargs[3] = "hk";
    d.docker_ok(&kargs);
    // (The same values; berthd writes the members in another order than dockerd.)
    let f = "{{json .Config.Healthcheck}}";
    assert_eq!(json_without_nulls(&berth_ok(&d, &["inspect", "-f", f, "hb"])), json_without_nulls(&d.docker_ok(&["inspect", "-f", f, "hk"])));
    wait_until(20, "healthy", || berth_ok(&d, &["inspect", "-f", "{{.State.Health.Status}}", "hb"]) == "healthy\n");
    let mut args = vec!["create", "--no-healthcheck"];
    args.extend(["--health-cmd", "true", "busybox"]);
    let out = berth(&d, &args);
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains("--no-healthcheck conflicts with --health-* options"), "{}", text(&out.stderr));
}

#[test]
fn volumes_match_docker() {
    let d = daemon("volumes");
    assert_eq!(berth_ok(&d, &["volume", "create", "--label", "team=a", "data"]), "data\n");
    assert_eq!(d.docker_ok(&["volume", "create", "--label", "team=b", "other"]), "other\n");
    berth_ok(&d, &["run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/f"]);
    assert_eq!(berth_ok(&d, &["run", "--rm", "--mount", "type=volume,source=data,target=/d", "busybox", "cat", "/d/f"]), "kept\n");
    // An anonymous volume, for prune.
    berth_ok(&d, &["create", "--name", "anon", "-v", "/scratch", "busybox", "true"]);
    for args in [
        &["volume", "ls"][..],
        &["volume", "ls", "-q"],
        &["volume", "ls", "--format", "json"],
        &["volume", "ls", "--format", "{{.Name}} {{.Driver}} {{.Labels}} {{.Label \"team\"}}"],
        &["volume", "ls", "--filter", "label=team=a"],
        &["volume", "inspect", "data"],
        &["volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Mountpoint}} {{json .Labels}}", "data", "other"],
    ] {
        let (b, k) = (berth(&d, args), d.docker(args));
        let sorted = |o: &std::process::Output| {
            let mut l: Vec<String> = text(&o.stdout).lines().map(str::to_owned).collect();
            l.sort();
            l
        };
        // (The daemon lists volumes in no fixed order; docker prints them as they come.)
        assert_eq!((sorted(&b), b.status.code()), (sorted(&k), k.status.code()), "{args:?}: {}", text(&b.stderr));
    }
    // In use: docker's refusal.
    berth_ok(&d, &["run", "-d", "--name", "user", "-v", "data:/data", "busybox", "sleep", "600"]);
    let (b, k) = (berth(&d, &["volume", "rm", "data"]), d.docker(&["volume", "rm", "data"]));
    assert_eq!((b.status.code(), text(&b.stderr)), (k.status.code(), text(&k.stderr)));
    berth_ok(&d, &["rm", "-f", "user", "anon"]);
    let out = berth_ok(&d, &["volume", "prune", "-f"]);
    assert!(out.starts_with("Deleted Volumes:\n") && out.contains("\nTotal reclaimed space: ") && !out.contains("data\n"), "{out}");
    let out = berth_ok(&d, &["volume", "prune", "-a", "-f"]);
    assert!(out.contains("data\n") && out.contains("other\n"), "{out}");
    assert_eq!(berth_ok(&d, &["volume", "ls", "-q"]), "");
    let (b, k) = (berth(&d, &["volume", "inspect", "nosuch"]), d.docker(&["volume", "inspect", "nosuch"]));
    assert_eq!((b.status.code(), text(&b.stdout)), (k.status.code(), text(&k.stdout)));
}

#[test]
fn system_df_verbose_matches_docker() {
    let d = daemon("df-v");
    d.docker_ok(&["volume", "create", "dfvol"]);
    d.docker_ok(&["run", "-d", "--name", "dfrun", "-v", "dfvol:/data", "--label", "k=v", "-p", "127.0.0.1::80", "busybox", "sh", "-c", "echo hi > /data/f; sleep 300"]);
    d.docker_ok(&["run", "--name", "dfdone", "busybox", "sh", "-c", "echo written > /f"]);
    d.docker_ok(&["create", "--name", "dfnew", "busybox", "true"]);
    d.docker_ok(&["tag", "busybox", "localhost:5000/tools/busybox:1"]);
    // docker's four tables, its raw and json layouts, and templates over the whole, run once.
    for args in [
        &["system", "df", "-v"][..],
        &["system", "df", "-v", "--format", "table"],
        &["system", "df", "--verbose", "--format", "json"],
        &["system", "df", "-v", "--format", "raw"],
        &["system", "df", "-v", "--format", "{{range .Containers}}{{.Names}}: {{.LocalVolumes}} {{.Size}}\n{{end}}"],
        &["system", "df", "-v", "--format", "table {{range .Images}}{{.ID}}\t{{.Repository}}{{end}}"],
        &["system", "df", "-v", "--format", "{{json .Volumes}}"],
    ] {
        let out = same(&d, args);
        assert!(!out.is_empty(), "{args:?}");
    }
    let out = same(&d, &["system", "df", "-v"]);
    for want in ["Images space usage:", "busybox ", "Containers space usage:", "dfrun", "Local Volumes space usage:", "dfvol", "Build cache usage: 0B"] {
        assert!(out.contains(want), "{want:?} missing:\n{out}");
    }
}
