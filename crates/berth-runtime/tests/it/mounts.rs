//! The container's filesystem: tmpfs options, bind mounts read-only and recursively read-only,
//! propagation flags, masked and read-only paths, a read-only root, --no-pivot.

use serde_json::json;

use crate::fixture::{docker_config, Test};

/// The mountinfo line inside the container whose mount point is `dest`.
fn line_for<'a>(mountinfo: &'a str, dest: &str) -> &'a str {
    mountinfo
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some(dest))
        .unwrap_or_else(|| panic!("no mount on {dest} in:\n{mountinfo}"))
}

#[test]
fn tmpfs_gets_its_size_and_mode() {
    let t = Test::new("tmpfs");
    let mut cfg = docker_config(&["sh", "-c", "stat -c %a /scratch; cat /proc/self/mountinfo"]);
    cfg["mounts"].as_array_mut().expect("mounts").push(json!(
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m", "mode=1770"]}
    ));
    let out = t.run_config(&cfg);
    let text = out.ok();
    assert_eq!(text.lines().next(), Some("1770"), "{text}");
    let line = line_for(text, "/scratch");
    assert!(line.contains("size=1024k") && line.contains("mode=1770"), "{line}");
    assert!(line.contains("nosuid") && line.contains("nodev"), "{line}");
}

#[test]
fn bind_mounts_ro_and_rro() {
    let t = Test::new("bind");
    let src = t.path("src");
    std::fs::create_dir_all(src.join("sub")).expect("mkdir src/sub");
    std::fs::write(src.join("file"), "from the host\n").expect("write file");
    // A submount in the source: `ro` on a plain bind leaves it out, `rro` reaches it.
    rustix::mount::mount("tmpfs", src.join("sub"), "tmpfs", rustix::mount::MountFlags::empty(), None).expect("mount tmpfs on src/sub");
    t.note_host_mount(&src.join("sub"));
    let mut cfg = docker_config(&[
        "sh",
        "-c",
        "cat /ro/file; touch /ro/x 2>&1; touch /rro/sub/x 2>&1; touch /rw/sub/x && echo rw-ok; cat /proc/self/mountinfo",
    ]);
    let mounts = cfg["mounts"].as_array_mut().expect("mounts");
    let s = src.to_string_lossy();
    mounts.push(json!({"destination": "/ro", "type": "bind", "source": s, "options": ["bind", "ro"]}));
    mounts.push(json!({"destination": "/rro", "type": "bind", "source": s, "options": ["rbind", "rro"]}));
    mounts.push(json!({"destination": "/rw", "type": "bind", "source": s, "options": ["rbind", "rw"]}));
    let out = t.run_config(&cfg);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "from the host", "{text}");
    assert!(lines[1].contains("Read-only file system"), "ro bind: {}", lines[1]);
    assert!(lines[2].contains("Read-only file system"), "rro reaches the submount: {}", lines[2]);
    assert_eq!(lines[3], "rw-ok");
    assert!(line_for(text, "/ro").split(' ').nth(5).is_some_and(|o| o.starts_with("ro")), "{}", line_for(text, "/ro"));
    assert!(line_for(text, "/rro/sub").split(' ').nth(5).is_some_and(|o| o.starts_with("ro")), "{}", line_for(text, "/rro/sub"));
    assert!(src.join("sub/x").exists(), "the rw bind wrote through to the host");
}

#[test]
fn propagation_flags_show_in_mountinfo() {
    let t = Test::new("propagation");
    let src = t.path("src");
    std::fs::create_dir_all(&src).expect("mkdir src");
    let mut cfg = docker_config(&["cat", "/proc/self/mountinfo"]);
    let s = src.to_string_lossy();
    let mounts = cfg["mounts"].as_array_mut().expect("mounts");
    mounts.push(json!({"destination": "/shared", "type": "bind", "source": s, "options": ["rbind", "rshared"]}));
    mounts.push(json!({"destination": "/private", "type": "bind", "source": s, "options": ["rbind", "rprivate"]}));
    mounts.push(json!({"destination": "/unbindable", "type": "bind", "source": s, "options": ["rbind", "runbindable"]}));
    let out = t.run_config(&cfg);
    let text = out.ok();
    let optional = |dest: &str| -> Vec<String> {
        let line = line_for(text, dest);
        let fields: Vec<&str> = line.split(' ').collect();
        let end = fields.iter().position(|f| *f == "-").expect("mountinfo separator");
        fields[6..end].iter().map(|s| s.to_string()).collect()
    };
    assert!(optional("/shared").iter().any(|f| f.starts_with("shared:")), "{:?}", optional("/shared"));
    assert!(optional("/private").is_empty(), "{:?}", optional("/private"));
    assert_eq!(optional("/unbindable"), ["unbindable"]);
}

#[test]
fn masked_paths_read_empty_and_readonly_paths_refuse_writes() {
    let t = Test::new("masked");
    let out = t.sh(concat!(
        "for f in /proc/kcore /proc/keys /proc/timer_list; do [ -e $f ] && echo \"$f $(wc -c < $f)\" || echo \"$f absent\"; done; ",
        "echo \"firmware [$(ls -A /sys/firmware)]\"; ",
        "{ echo 1 > /proc/sys/kernel/domainname; } 2>&1; echo done; cat /proc/self/mountinfo"
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0] == "/proc/kcore 0" || lines[0] == "/proc/kcore absent", "{out}");
    assert_eq!(lines[1], "/proc/keys 0", "{out}");
    assert_eq!(lines[2], "/proc/timer_list 0", "{out}");
    assert_eq!(lines[3], "firmware []", "{out}");
    assert!(lines[4].contains("Read-only file system"), "/proc/sys: {out}");
    // The other read-only paths (/proc/sysrq-trigger does not exist on every kernel).
    for p in ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"] {
        let opts = line_for(&out, p).split(' ').nth(5).unwrap_or_default();
        assert!(opts.split(',').any(|o| o == "ro"), "{p} is not read-only: {opts}");
    }
}

#[test]
fn readonly_root_refuses_writes() {
    let t = Test::new("roroot");
    let mut cfg = docker_config(&["sh", "-c", "touch /x 2>&1; touch /dev/shm/x && echo shm-ok"]);
    cfg["root"]["readonly"] = json!(true);
    let out = t.run_config(&cfg);
    let lines = out.lines();
    assert!(lines[0].contains("Read-only file system"), "{out:?}");
    assert_eq!(lines[1], "shm-ok", "mounts on a read-only root stay writable");
}

#[test]
fn no_pivot_runs_with_the_rootfs_moved_onto_slash() {
    let t = Test::new("nopivot");
    let b = t.bundle(&docker_config(&["sh", "-c", "echo hi; ls /"]));
    let id = t.id("c");
    let out = t.rt(&["run", "--no-pivot", "-b", &b.to_string_lossy(), &id]);
    let text = out.ok();
    assert!(text.starts_with("hi\n") && text.contains("proc"), "{text}");
}
