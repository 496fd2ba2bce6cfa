//! A container's files through the docker CLI: `docker cp` both ways, running and stopped,
//! symlinks that would lead out of the container, and `docker export`.

use std::process::Command;

use crate::daemon;

#[test]
fn docker_cp_both_ways_stays_inside_the_container() {
    let d = daemon("cp");
    let host = d.dir.join("host");
    std::fs::create_dir_all(&host).expect("mkdir");
    // a host file and directory a symlink inside the container names by absolute path
    let secret = d.dir.join("secret.txt");
    std::fs::write(&secret, "host secret\n").expect("write");
    let hostdir = d.dir.join("hostdir");
    std::fs::create_dir_all(&hostdir).expect("mkdir");
    let script = format!(
        "echo hi > /tmp/f; mkdir -p /tmp/d/sub; echo deep > /tmp/d/sub/x; ln -s d /tmp/dl; ln -s / /tmp/up; ln -s {} /tmp/out; sleep 300",
        hostdir.display()
    );
    d.docker_ok(&["run", "-d", "--name", "cc", "busybox", "sh", "-c", &script]);
    berth_testutil::daemon::wait_until(10, "the files", || d.docker(&["exec", "cc", "test", "-L", "/tmp/out"]).status.success());

    // out of a running container: a file, a directory
    d.docker_ok(&["cp", "cc:/tmp/f", &host.to_string_lossy()]);
    assert_eq!(std::fs::read_to_string(host.join("f")).expect("copied file"), "hi\n");
    d.docker_ok(&["cp", "cc:/tmp/d", &host.join("d").to_string_lossy()]);
    assert_eq!(std::fs::read_to_string(host.join("d/sub/x")).expect("copied tree"), "deep\n");
    // a symlink is copied as one; with a trailing slash, the directory it leads to
    d.docker_ok(&["cp", "cc:/tmp/dl", &host.join("dl").to_string_lossy()]);
    assert_eq!(std::fs::read_link(host.join("dl")).expect("a symlink"), std::path::Path::new("d"));
    d.docker_ok(&["cp", "cc:/tmp/dl/", &host.join("dl2").to_string_lossy()]);
    assert_eq!(std::fs::read_to_string(host.join("dl2/sub/x")).expect("the tree behind the link"), "deep\n");

    // into it
    std::fs::write(host.join("new.txt"), "from the host\n").expect("write");
    d.docker_ok(&["cp", &host.join("new.txt").to_string_lossy(), "cc:/tmp/"]);
    assert_eq!(d.docker_ok(&["exec", "cc", "cat", "/tmp/new.txt"]), "from the host\n");
    assert_eq!(d.docker_ok(&["exec", "cc", "stat", "-c", "%u:%g", "/tmp/new.txt"]), "0:0\n", "owned by the container's root");

    // symlinks resolve inside the container: /tmp/up/<host path> is not the host's file ...
    let out = d.docker(&["cp", &format!("cc:/tmp/up{}", secret.display()), &host.join("stolen").to_string_lossy()]);
    assert!(!out.status.success(), "read a host file through a symlink");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Could not find the file"), "{out:?}");
    assert!(!host.join("stolen").exists());
    let out = d.docker(&["cp", "cc:/tmp/out/", &host.join("stolen2").to_string_lossy()]);
    assert!(!out.status.success() && !host.join("stolen2").exists(), "read a host directory through a symlink: {out:?}");
    // ... and /tmp/out/ (a symlink to a host directory's path) does not lead there
    let out = d.docker(&["cp", &host.join("new.txt").to_string_lossy(), "cc:/tmp/out/"]);
    assert!(!out.status.success(), "wrote through a symlink: {out:?}");
    assert_eq!(std::fs::read_dir(&hostdir).expect("hostdir").count(), 0, "nothing was written to the host");

    // a missing path is named
    let out = d.docker(&["cp", "cc:/nope", &host.to_string_lossy()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Could not find the file /nope in container cc"), "{out:?}");

    // a stopped container: its snapshot is mounted for the copy
    d.docker_ok(&["stop", "-t", "0", "cc"]);
    d.docker_ok(&["cp", "cc:/tmp/f", &host.join("f2").to_string_lossy()]);
    assert_eq!(std::fs::read_to_string(host.join("f2")).expect("copied file"), "hi\n");
    std::fs::write(host.join("later.txt"), "while stopped\n").expect("write");
    d.docker_ok(&["cp", &host.join("later.txt").to_string_lossy(), "cc:/"]);
    d.docker_ok(&["start", "cc"]);
    assert_eq!(d.docker_ok(&["exec", "cc", "cat", "/later.txt"]), "while stopped\n");

    // -L through a chain of relative links: the stat names the end of the chain, as dockerd's
    d.docker_ok(&["exec", "cc", "sh", "-c", "mkdir -p /tmp/c1/sub && ln -s ../../f /tmp/c1/sub/lnk && ln -s c1/sub/lnk /tmp/l2"]);
    d.docker_ok(&["cp", "-L", "cc:/tmp/l2", &host.join("chained").to_string_lossy()]);
    assert_eq!(std::fs::read_to_string(host.join("chained")).expect("copied through the chain"), "hi\n");
    // owners: the archive's (the host file's), as dockerd extracts it; with -a the
    // container's user's
    let owned = host.join("owned");
    std::fs::write(&owned, "mine\n").expect("write");
    std::os::unix::fs::lchown(&owned, Some(1234), Some(4321)).expect("chown");
    d.docker_ok(&["cp", &owned.to_string_lossy(), "cc:/tmp/owned"]);
    assert_eq!(d.docker_ok(&["exec", "cc", "stat", "-c", "%u:%g", "/tmp/owned"]), "1234:4321\n");
    d.docker_ok(&["run", "-d", "--name", "cu", "-u", "1000:1000", "busybox", "sleep", "60"]);
    d.docker_ok(&["cp", "-a", &owned.to_string_lossy(), "cu:/tmp/owned"]);
    assert_eq!(d.docker_ok(&["exec", "cu", "stat", "-c", "%u:%g", "/tmp/owned"]), "1000:1000\n");
    d.docker_ok(&["rm", "-f", "cu"]);

    // export: the whole root as a tar
    let tar = d.dir.join("export.tar");
    d.docker_ok(&["export", "-o", &tar.to_string_lossy(), "cc"]);
    let list = Command::new("tar").arg("-tf").arg(&tar).output().expect("tar -tf");
    let list = String::from_utf8_lossy(&list.stdout);
    for want in ["bin/busybox", "etc/passwd", "tmp/f", "later.txt", "tmp/up", "tmp/d/sub/", "bin/", "tmp/"] {
        assert!(list.lines().any(|l| l == want), "export lacks {want} (directories end with `/`, as in Docker's): {list}");
    }
    // a long directory name keeps its `/` too (GNU long name)
    let long = format!("/tmp/{}", "d".repeat(120));
    d.docker_ok(&["exec", "cc", "mkdir", "-p", &long]);
    let out = d.docker(&["cp", &format!("cc:{long}"), "-"]);
    let out = Command::new("tar").arg("-tf").arg("-").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().and_then(|mut t| {
        std::io::Write::write_all(&mut t.stdin.take().expect("stdin"), &out.stdout)?;
        t.wait_with_output()
    }).expect("tar -tf");
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{}/\n", &long[5..]), "{out:?}");
    d.docker_ok(&["rm", "-f", "cc"]);
}

#[test]
fn docker_cp_reaches_a_running_containers_volumes() {
    let d = daemon("cpvol");
    d.docker_ok(&["run", "-d", "--name", "vc", "-v", "shared:/data", "busybox", "sleep", "300"]);
    let f = d.dir.join("in.txt");
    std::fs::write(&f, "into the volume\n").expect("write");
    d.docker_ok(&["cp", &f.to_string_lossy(), "vc:/data/"]);
    assert_eq!(d.docker_ok(&["run", "--rm", "-v", "shared:/v", "busybox", "cat", "/v/in.txt"]), "into the volume\n");
    d.docker_ok(&["exec", "vc", "sh", "-c", "echo from inside > /data/out.txt"]);
    let out = d.dir.join("out.txt");
    d.docker_ok(&["cp", "vc:/data/out.txt", &out.to_string_lossy()]);
    assert_eq!(std::fs::read_to_string(&out).expect("copied out"), "from inside\n");
    d.docker_ok(&["rm", "-f", "-v", "vc"]);
    d.docker_ok(&["volume", "rm", "shared"]);

    // A stopped container's copy sees what it mounts when it runs, as dockerd mounts it then:
    // results a test run left in a volume, its own /etc/hostname, a read-only bind.
    let hostdir = d.dir.join("bound");
    std::fs::create_dir_all(&hostdir).expect("mkdir");
    std::fs::write(hostdir.join("b.txt"), "bound\n").expect("write");
    d.docker_ok(&["run", "--name", "tests", "-v", "/results", "-v", &format!("{}:/bound:ro", hostdir.display()), "busybox", "sh", "-c", "echo passed > /results/report"]);
    let report = d.dir.join("report");
    d.docker_ok(&["cp", "tests:/results/report", &report.to_string_lossy()]);
    assert_eq!(std::fs::read_to_string(&report).expect("copied out of the stopped container's volume"), "passed\n");
    let short = d.docker_ok(&["inspect", "-f", "{{.Id}}", "tests"])[..12].to_owned();
    let hostname = d.dir.join("hostname");
    d.docker_ok(&["cp", "tests:/etc/hostname", &hostname.to_string_lossy()]);
    assert_eq!(std::fs::read_to_string(&hostname).expect("its /etc/hostname"), format!("{short}\n"));
    d.docker_ok(&["cp", "tests:/bound/b.txt", &d.dir.join("b.txt").to_string_lossy()]);
    assert_eq!(std::fs::read_to_string(d.dir.join("b.txt")).expect("through the bind"), "bound\n");
    let out = d.docker(&["cp", &f.to_string_lossy(), "tests:/bound/"]);
    assert!(!out.status.success(), "a read-only bind stays read-only: {out:?}");
    d.docker_ok(&["cp", &f.to_string_lossy(), "tests:/results/"]);
    assert_eq!(d.docker_ok(&["start", "-a", "tests"]), "");
    assert_eq!(d.docker_ok(&["run", "--rm", "--volumes-from", "tests", "busybox", "cat", "/results/in.txt"]), "into the volume\n");
    d.docker_ok(&["rm", "-v", "tests"]);
    // (the exec root's own tmpfs aside)
    let left: Vec<String> = d.mounts().into_iter().filter(|m| std::path::Path::new(m) != d.exec_root()).collect();
    assert!(left.is_empty(), "nothing left mounted: {left:?}");
}
