//! The runc CVEs of issue 3, each attempted for real:
//! CVE-2019-5736 (overwrite the runtime through /proc/self/exe), CVE-2024-21626 (a leaked
//! descriptor as the working directory), symlinked mount targets (CVE-2019-19921,
//! CVE-2023-27561, CVE-2025-31133, CVE-2025-52565) and CVE-2022-0492 (release_agent).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::fixture::{docker_config, mount_points, Test, BIN};

/// Busybox as pid 1: for a few seconds, tries to append to the executable of every process it
/// can see that is not busybox, and records what it saw in /seen.
fn overwriter() -> String {
    berth_testutil::exe_overwriter_loop(4) + "sleep 1000\n"
}

#[test]
fn cve_2019_5736_the_runtime_binary_cannot_be_overwritten_from_inside() {
    let t = Test::new("cve-2019-5736");
    let before = std::fs::read(BIN).expect("read runtime binary");
    let b = t.bundle_with(&docker_config(&["/bin/busybox", "sh", "-c", &overwriter()]), |root| {
        std::fs::remove_file(root.join("bin/sh")).expect("remove /bin/sh");
        std::fs::write(root.join("bin/sh"), "#!/proc/self/exe\n").expect("write evil /bin/sh");
        std::fs::set_permissions(root.join("bin/sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    });
    let id = t.id("c");
    t.start_detached(&b, &id);
    // Each exec of /bin/sh makes the kernel run the interpreter /proc/self/exe of the process
    // doing the exec: the runtime itself, now inside the container.
    for _ in 0..5 {
        let out = t.exec(&[&id, "/bin/sh"]);
        assert_ne!(out.code, 0, "the runtime ran as /bin/sh's interpreter and refused its arguments: {out:?}");
    }
    // A created container's init is the runtime too, waiting in the container as pid 1.
    let c2 = t.bundle(&docker_config(&["true"]));
    let id2 = t.id("created");
    t.rt(&["create", "-b", &c2.to_string_lossy(), &id2]).ok();
    let init = t.state(&id2)["pid"].as_i64().expect("pid") as i32;
    t.note_pid(init);
    let host_view = std::fs::read_link(format!("/proc/{init}/exe")).expect("readlink init exe");
    // The init runs from a detached read-only bind of the runtime (shown as "/") or a sealed
    // memfd, never from the binary's path.
    let shown = host_view.to_string_lossy();
    assert!(shown == "/" || shown.starts_with("/memfd:"), "the created container's init runs from {shown}");
    // With Docker's capabilities the runtime's /proc/1/exe cannot even be read (ptrace
    // checks); with CAP_SYS_PTRACE it can, and writing through it fails.
    let out = t.exec(&[&id2, "sh", "-c", "readlink /proc/1/exe || echo UNREADABLE"]);
    assert_eq!(out.ok().trim(), "UNREADABLE", "{out:?}");
    let out = t.exec(&["--cap", "CAP_SYS_PTRACE", &id2, "sh", "-c", "readlink /proc/1/exe; exec 3< /proc/1/exe; echo pwned >> /proc/1/exe && echo WROTE; echo pwned >> /proc/self/fd/3 && echo WROTE; true"]);
    let text = out.ok();
    let first = text.lines().next().unwrap_or_default();
    assert!(first == "/" || first.starts_with("/memfd:"), "the runtime in the container is protected: {out:?}");
    assert!(!text.contains("WROTE"), "the protected runtime took a write: {out:?}");
    t.rt(&["delete", "-f", &id2]).ok();
    std::thread::sleep(std::time::Duration::from_secs(4));
    let seen = std::fs::read_to_string(b.join("rootfs/seen")).unwrap_or_default();
    eprintln!("the container saw:\n{seen}");
    t.rt(&["delete", "-f", &id]).ok();
    assert!(!seen.contains("wrote"), "the container wrote to an executable outside it:\n{seen}");
    for line in seen.lines().filter(|l| l.starts_with("saw ")) {
        assert!(line == "saw /" || line.starts_with("saw /memfd:"), "a runtime process showed its on-disk binary: {line}");
    }
    assert!(std::fs::read(BIN).expect("read runtime binary") == before, "the runtime binary changed");
}

#[test]
fn cve_2024_21626_a_descriptor_cannot_be_the_working_directory() {
    let t = Test::new("cve-2024-21626");
    for n in 3..=10 {
        let mut cfg = docker_config(&["sh", "-c", "ls -d ../../../../etc/hostname; echo ESCAPED"]);
        cfg["process"]["cwd"] = json!(format!("/proc/self/fd/{n}"));
        let b = t.bundle(&cfg);
        let id = t.id(&format!("c{n}"));
        let out = t.run(&b, &id);
        assert!(!out.stdout.contains("ESCAPED"), "cwd /proc/self/fd/{n} ran: {out:?}");
        out.fails_with(&["cwd", &format!("/proc/self/fd/{n}")]);
    }
    let b = t.bundle(&docker_config(&["sleep", "1000"]));
    let id = t.id("exec");
    t.start_detached(&b, &id);
    for n in 3..=10 {
        let cwd = format!("/proc/self/fd/{n}");
        let out = t.exec(&["--cwd", &cwd, &id, "sh", "-c", "echo ESCAPED"]);
        assert!(!out.stdout.contains("ESCAPED"), "exec --cwd {cwd} ran: {out:?}");
        out.fails_with(&["cwd", &cwd]);
    }
    // And nothing but stdio reaches an exec'd process either.
    let out = t.exec(&[&id, "sh", "-c", "ls /proc/$$/fd; true"]);
    assert_eq!(out.lines(), ["0", "1", "2"], "{out:?}");
    t.rt(&["delete", "-f", &id]).ok();
}

/// A host directory and file outside every rootfs that the attacks aim at.
struct Canary {
    dir: PathBuf,
    file: PathBuf,
}

impl Canary {
    fn new(t: &Test) -> Canary {
        let dir = t.path("outside");
        std::fs::create_dir_all(&dir).expect("mkdir canary");
        let file = dir.join("canary");
        std::fs::write(&file, "untouched\n").expect("write canary");
        Canary { dir, file }
    }

    #[track_caller]
    fn check(&self, case: &str, mounts_before: &[String]) {
        assert_eq!(std::fs::read_to_string(&self.file).expect("read canary"), "untouched\n", "{case}: canary file changed");
        let names: Vec<_> = std::fs::read_dir(&self.dir).expect("list canary dir").flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, ["canary"], "{case}: files appeared next to the canary");
        let mut before: Vec<&String> = mounts_before.iter().collect();
        let mut new = Vec::new();
        for m in mount_points() {
            match before.iter().position(|b| **b == m) {
                Some(i) => {
                    before.swap_remove(i);
                }
                // Other tests' own host mounts live under their /tmp/bit-* directories.
                None if m.starts_with("/tmp/bit-") && !m.starts_with(&self.dir.to_string_lossy().into_owned()) => {}
                None => new.push(m),
            }
        }
        assert!(new.is_empty(), "{case}: the host got new mounts: {new:?}");
    }
}

fn symlink(root: &Path, path: &str, target: &str) {
    let p = root.join(path.trim_start_matches('/'));
    if p.is_dir() && !p.is_symlink() {
        std::fs::remove_dir_all(&p).expect("remove image dir");
    } else {
        let _ = std::fs::remove_file(&p);
    }
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("mkdir parent");
    }
    std::os::unix::fs::symlink(target, &p).expect("make symlink in image");
}

/// A config without a tmpfs on /dev, so the image's own /dev is used.
fn without_dev_tmpfs(mut cfg: Value) -> Value {
    cfg["mounts"].as_array_mut().expect("mounts").retain(|m| m["destination"] != "/dev");
    cfg
}

#[test]
fn symlinks_in_the_image_cannot_send_mounts_outside_the_rootfs() {
    let t = Test::new("symlinks");
    let canary = Canary::new(&t);
    let outside = canary.dir.to_string_lossy().into_owned();
    let outside_file = canary.file.to_string_lossy().into_owned();
    let with_target = |dest: &str| {
        let mut cfg = docker_config(&["sh", "-c", "echo ran"]);
        cfg["mounts"].as_array_mut().expect("mounts").push(json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
        cfg
    };
    type Edit = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Value, Edit)> = vec![
        ("/proc -> outside dir", docker_config(&["sh", "-c", "echo ran"]), Box::new({ let o = outside.clone(); move |r: &Path| symlink(r, "/proc", &o) })),
        ("/proc -> ../../../../etc", docker_config(&["sh", "-c", "echo ran"]), Box::new(|r: &Path| symlink(r, "/proc", "../../../../etc"))),
        ("/dev -> outside dir", docker_config(&["sh", "-c", "echo ran"]), Box::new({ let o = outside.clone(); move |r: &Path| symlink(r, "/dev", &o) })),
        ("/dev/null -> host file", without_dev_tmpfs(docker_config(&["sh", "-c", "echo ran"])), Box::new({ let f = outside_file.clone(); move |r: &Path| symlink(r, "/dev/null", &f) })),
        ("/dev/null -> host file, under a /dev tmpfs", docker_config(&["sh", "-c", "echo ran"]), Box::new({ let f = outside_file.clone(); move |r: &Path| symlink(r, "/dev/null", &f) })),
        ("/dev/pts -> outside dir", without_dev_tmpfs(docker_config(&["sh", "-c", "echo ran"])), Box::new({ let o = outside.clone(); move |r: &Path| symlink(r, "/dev/pts", &o) })),
        ("mount target -> /", with_target("/target"), Box::new(|r: &Path| symlink(r, "/target", "/"))),
        ("mount target -> ..", with_target("/target"), Box::new(|r: &Path| symlink(r, "/target", ".."))),
        ("mount target -> ../../../..", with_target("/a/target"), Box::new(|r: &Path| symlink(r, "/a/target", "../../../.."))),
        ("mount target -> outside dir", with_target("/target"), Box::new({ let o = outside.clone(); move |r: &Path| symlink(r, "/target", &o) })),
    ];
    for (n, (case, cfg, edit)) in cases.into_iter().enumerate() {
        let mounts_before = mount_points();
        let b = t.bundle_with(&cfg, |r| edit(r));
        let id = t.id(&format!("c{n}"));
        let out = t.run(&b, &id);
        if out.code != 0 {
            // Failing is fine, but cleanly: with a message that says what.
            assert!(out.stderr.contains(&id), "{case}: {out:?}");
            eprintln!("{case}: refused: {}", out.stderr.trim());
        } else {
            eprintln!("{case}: ran, contained");
        }
        canary.check(case, &mounts_before);
        assert!(t.rt(&["state", &id]).code != 0, "{case}: the container is gone");
    }
}

#[test]
fn cve_2022_0492_release_agent_cannot_be_set_from_a_default_container() {
    let t = Test::new("cve-2022-0492");
    let agents = || -> Vec<(PathBuf, String)> {
        let mut v: Vec<_> = glob_release_agents().into_iter().map(|p| { let s = std::fs::read_to_string(&p).unwrap_or_default(); (p, s) }).collect();
        v.sort();
        v
    };
    let before = agents();
    assert!(!before.is_empty(), "this hybrid host has v1 hierarchies with release_agent files");
    // busybox's unshare has no -C; the cgroup namespace changes nothing for the attack, which
    // needs the mount and the write.
    let attack = "unshare -Urm sh -c 'mkdir -p /tmp/cg && mount -t cgroup -o memory cgroup /tmp/cg && echo /evil > /tmp/cg/release_agent && echo ESCAPED' 2>&1; \
                  mkdir -p /tmp/cg2; mount -t cgroup -o memory cgroup /tmp/cg2 2>&1 && echo /evil > /tmp/cg2/release_agent && echo ESCAPED; true";
    // Docker's defaults: its capabilities and its seccomp profile.
    let out = t.sh(attack);
    assert!(!out.contains("ESCAPED"), "{out}");
    assert!(out.contains("Operation not permitted"), "seccomp refuses unshare: {out}");
    // Capabilities alone, no seccomp: the kernel must still refuse.
    let mut cfg = docker_config(&["sh", "-c", attack]);
    cfg["linux"].as_object_mut().expect("linux").remove("seccomp");
    let out = t.sh_config(&cfg);
    assert!(!out.contains("ESCAPED"), "{out}");
    assert_eq!(agents(), before, "a host release_agent changed");
}

fn glob_release_agents() -> Vec<PathBuf> {
    std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("release_agent"))
        .filter(|p| p.exists())
        .collect()
}
