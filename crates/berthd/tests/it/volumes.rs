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
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{range .Mounts}}[{{.Mode}}]{{end}}", &id]), "[]\n", "an anonymous volume has no mode, as with dockerd");
    d.docker_ok(&["rm", &id]);
    let before = d.docker_ok(&["volume", "ls", "-q"]).lines().count();
    let pruned = d.docker_ok(&["volume", "prune", "-f"]);
    // An empty volume frees nothing, as dockerd counts: its data, not the record of it.
    assert!(pruned.contains("Deleted Volumes") && pruned.ends_with("Total reclaimed space: 0B\n"), "{pruned}");
    assert_eq!(d.docker_ok(&["volume", "ls", "-q"]).lines().count(), before - 1, "only the anonymous one went");
    // a client of API 1.41 (dockerd 20.10's) prunes named ones too, as it always did
    d.docker_ok(&["volume", "create", "oldstyle"]);
    let r = d.api("POST", "/v1.41/volumes/prune", None).json();
    assert!(r["VolumesDeleted"].as_array().is_some_and(|v| v.iter().any(|n| n == "oldstyle")), "{r}");
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

/// Unmounts (recursively) a mount a test made, also when the test fails.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-R").arg(&self.0).status();
    }
}

#[test]
fn binds_follow_dockers_rules() {
    let d = daemon("binds");
    // `-v` with a host path that does not exist makes it (a directory, parents too).
    let missing = d.dir.join("host/a/b");
    d.docker_ok(&["run", "--rm", "-v", &format!("{}:/x", missing.display()), "busybox", "touch", "/x/made"]);
    assert!(missing.join("made").is_file(), "the -v source was not made");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&missing).expect("made").permissions().mode() & 0o7777, 0o755);
    // `--mount` is stricter, and checked at create as dockerd does.
    let gone = d.dir.join("gone");
    let cases = [
        (format!("type=bind,src={},dst=/p", gone.display()), format!("invalid mount config for type \"bind\": bind source path does not exist: {}", gone.display())),
        (format!("type=bind,src={},dst=/p,bind-propagation=bogus", missing.display()), "invalid mount config for type \"bind\": invalid propagation mode: bogus".to_owned()),
        ("type=tmpfs,src=x,dst=/t".to_owned(), "invalid mount config for type \"tmpfs\": field Source must not be specified".to_owned()),
    ];
    for (spec, want) in cases {
        let out = d.docker(&["create", "--mount", &spec, "busybox", "true"]);
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().next(), Some(format!("Error response from daemon: {want}").as_str()), "{spec}");
    }
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "", "a refused create left a container");
    // ... unless it asks for the source to be made (what compose sends).
    let body = serde_json::json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Mounts": [
        {"Type": "bind", "Source": gone.to_str(), "Target": "/p", "BindOptions": {"CreateMountpoint": true}}
    ]}});
    let r = d.api("POST", "/v1.45/containers/create", Some(&body));
    assert_eq!(r.status, 201, "{}", r.text());
    d.docker_ok(&["start", "-a", r.json()["Id"].as_str().expect("id")]);
    assert!(gone.is_dir(), "bind-create-mountpoint did not make the source");

    // Propagation: a shared bind needs a shared host mount, and then mounts made inside the
    // container appear on the host; a private host mount is refused by name.
    let out = d.docker(&["run", "--rm", "-v", &format!("{}:/p:rshared", missing.display()), "busybox", "true"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("path {} is mounted on", missing.display())) && err.contains("but it is not a shared mount"), "{err}");
    let shared = d.dir.join("shared");
    std::fs::create_dir_all(&shared).expect("mkdir");
    let _unmount = Unmount(shared.clone());
    for args in [&["-t", "tmpfs", "tmpfs"][..], &["--make-shared"]] {
        assert!(std::process::Command::new("mount").args(args).arg(&shared).status().expect("mount").success());
    }
    d.docker_ok(&[
        "run", "--rm", "--privileged", "--mount", &format!("type=bind,src={},dst=/p,bind-propagation=rshared", shared.display()),
        "busybox", "sh", "-c", "mkdir /p/sub && mount -t tmpfs none /p/sub && touch /p/sub/from-the-container",
    ]);
    assert!(shared.join("sub/from-the-container").is_file(), "the container's mount did not propagate to the host");
    // rslave: the host's later mounts reach the running container.
    d.docker_ok(&["run", "-d", "--name", "slave", "-v", &format!("{}:/p:rslave", shared.display()), "busybox", "sleep", "60"]);
    std::fs::create_dir_all(shared.join("late")).expect("mkdir");
    assert!(std::process::Command::new("mount").args(["-t", "tmpfs", "late"]).arg(shared.join("late")).status().expect("mount").success());
    std::fs::write(shared.join("late/f"), "from the host").expect("write");
    assert_eq!(d.docker_ok(&["exec", "slave", "cat", "/p/late/f"]), "from the host");
    d.docker_ok(&["rm", "-f", "slave"]);

    // A container's own -v wins over a --volumes-from mount at the same place.
    d.docker_ok(&["create", "--name", "src", "-v", "shared:/shared", "busybox", "true"]);
    d.docker_ok(&["run", "--rm", "-v", "shared:/shared", "busybox", "touch", "/shared/from-the-volume"]);
    let out = d.docker_ok(&["run", "--rm", "--volumes-from", "src", "-v", &format!("{}:/shared", missing.display()), "busybox", "ls", "/shared"]);
    assert_eq!(out, "made\n");
    assert_eq!(d.docker_ok(&["run", "--rm", "--volumes-from", "src", "busybox", "ls", "/shared"]), "from-the-volume\n");
}
