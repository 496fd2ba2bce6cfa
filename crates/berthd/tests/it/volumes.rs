//! Volumes through the docker CLI: named and anonymous, copy-up, nocopy, in use, rm -v,
//! --volumes-from, driver options, prune, and data that outlives containers and the daemon.

use crate::daemon;

#[test]
fn volumes_keep_data_fill_from_the_image_and_go_with_rm_v() {
    let mut d = daemon("volumes");
    d.docker_ok(&["run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/f"]);
    assert_eq!(d.docker_ok(&["run", "--rm", "-v", "data:/data:ro", "busybox", "cat", "/data/f"]), "kept\n");
    let out = d.docker(&["run", "--rm", "-v", "data:/data:ro", "busybox", "touch", "/data/g"]);
    assert!(!out.status.success(), "a read-only volume took a write");
    assert_eq!(d.docker_ok(&["volume", "ls", "--format", "{{.Name}} {{.Driver}}"]), "data local\n");
    let mp = d.docker_ok(&["volume", "inspect", "--format", "{{.Mountpoint}}", "data"]);
    assert_eq!(std::fs::read_to_string(std::path::Path::new(mp.trim()).join("f")).expect("volume data on the host"), "kept\n");

    // copy-up: an empty volume mounted over image content gets that content, owners kept
    assert!(d.docker_ok(&["run", "--rm", "-v", "etc:/etc", "busybox", "cat", "/etc/passwd"]).starts_with("root:"));
    let mp = d.docker_ok(&["volume", "inspect", "--format", "{{.Mountpoint}}", "etc"]);
    assert!(std::path::Path::new(mp.trim()).join("passwd").is_file());
    // ... but not with nocopy
    let out = d.docker(&["run", "--rm", "--mount", "type=volume,src=bare,dst=/etc,volume-nocopy", "busybox", "ls", "/etc/passwd"]);
    assert!(!out.status.success(), "nocopy volume was filled");

    // in use: refused; after the container goes, removable
    d.docker_ok(&["create", "--name", "user", "-v", "data:/data", "busybox", "true"]);
    let out = d.docker(&["volume", "rm", "data"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("volume is in use"), "{out:?}");
    // the list filters that name volumes, networks and exposed ports
    assert_eq!(d.docker_ok(&["ps", "-aq", "--filter", "volume=data"]).lines().count(), 1);
    assert_eq!(d.docker_ok(&["ps", "-aq", "--filter", "volume=/data"]).lines().count(), 1);
    assert_eq!(d.docker_ok(&["ps", "-aq", "--filter", "volume=other"]).lines().count(), 0);
    assert_eq!(d.docker_ok(&["ps", "-aq", "--filter", "network=bridge"]).lines().count(), 1);
    assert_eq!(d.docker_ok(&["ps", "-aq", "--filter", "network=host"]).lines().count(), 0);
    d.docker_ok(&["create", "--name", "exposer", "--expose", "8080", "busybox", "true"]);
    assert_eq!(d.docker_ok(&["ps", "-aq", "--filter", "expose=8080/tcp"]).lines().count(), 1);
    d.docker_ok(&["rm", "exposer"]);
    // --volumes-from sees the same data
    assert_eq!(d.docker_ok(&["run", "--rm", "--volumes-from", "user", "busybox", "cat", "/data/f"]), "kept\n");
    d.docker_ok(&["rm", "user"]);

    // anonymous volumes: made for -v /path, gone with rm -v
    d.docker_ok(&["run", "-d", "--name", "anon", "-v", "/scratch", "busybox", "sleep", "300"]);
    let m = d.docker_ok(&["inspect", "--format", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}", "anon"]);
    let parts: Vec<&str> = m.split_whitespace().collect();
    assert_eq!((parts[0], parts[1].len(), parts[2]), ("volume", 64, "/scratch"), "{m}");
    let anon = parts[1].to_owned();
    d.docker_ok(&["rm", "-f", "-v", "anon"]);
    assert!(!d.docker_ok(&["volume", "ls", "-q"]).contains(&anon), "rm -v left the anonymous volume");

    // data survives a daemon restart
    d.stop_with("TERM");
    d.spawn();
    assert_eq!(d.docker_ok(&["run", "--rm", "-v", "data:/data", "busybox", "cat", "/data/f"]), "kept\n");

    // prune: anonymous ones only, unless --all
    d.docker_ok(&["create", "-v", "/x", "busybox", "true"]);
    let id = d.docker_ok(&["ps", "-aq"]).trim().to_owned();
    d.docker_ok(&["rm", &id]);
    let before = d.docker_ok(&["volume", "ls", "-q"]).lines().count();
    let pruned = d.docker_ok(&["volume", "prune", "-f"]);
    assert!(pruned.contains("Deleted Volumes"), "{pruned}");
    assert_eq!(d.docker_ok(&["volume", "ls", "-q"]).lines().count(), before - 1, "only the anonymous one went");
    d.docker_ok(&["volume", "prune", "-f", "--all"]);
    assert_eq!(d.docker_ok(&["volume", "ls", "-q"]), "");
}

#[test]
fn local_driver_options_mount_while_a_container_runs() {
    let d = daemon("volopts");
    d.docker_ok(&["volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=2m,mode=0770", "tv"]);
    let fs = d.docker_ok(&["run", "--rm", "-v", "tv:/t", "busybox", "sh", "-c", "df -k /t | tail -1; stat -c %a /t"]);
    assert!(fs.contains("2048") && fs.trim().ends_with("770"), "{fs}");
    let mp = d.docker_ok(&["volume", "inspect", "--format", "{{.Mountpoint}}", "tv"]).trim().to_owned();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!mounts.contains(&mp), "the tmpfs stayed mounted after the container ended");
    let out = d.docker(&["volume", "create", "--opt", "type=ext4", "noddev"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("device"), "{out:?}");
    d.docker_ok(&["volume", "rm", "tv"]);
}
