//! Image commands against berthd and, for pull and push, a real registry on loopback; compared
//! with the docker CLI's output against the same daemon.

use berth_testutil::busybox_layout;
use berth_testutil::registry::TestRegistry;

use crate::{berth, berth_ok, daemon, text};

#[test]
fn listing_inspect_tag_rmi_history_save_load_match_docker() {
    let d = daemon("images");
    // berthd lists an image's tags in no fixed order (a map inside), so one image's rows may
    // come in another order from one call to the next: rows are compared as sets, the header
    // (first line) as is.
    let rows = |s: &str| {
        let table = s.starts_with("REPOSITORY") || s.starts_with("IMAGE ");
        let mut l: Vec<String> = s.lines().skip(usize::from(table)).map(str::to_owned).collect();
        l.sort();
        (s.lines().next().filter(|_| table).map(str::to_owned), l)
    };
    let same = |args: &[&str]| {
        let (b, k) = (berth(&d, args), d.docker(args));
        assert_eq!((rows(&text(&b.stdout)), b.status.code()), (rows(&text(&k.stdout)), k.status.code()), "{args:?}\nberth stderr: {}", text(&b.stderr));
        text(&b.stdout)
    };
    berth_ok(&d, &["tag", "busybox", "mine:1"]);
    berth_ok(&d, &["tag", "busybox:latest", "localhost:5000/other"]);
    for args in [
        &["images"][..],
        &["images", "-a"],
        &["images", "-q"],
        &["images", "--digests"],
        &["images", "--no-trunc"],
        &["images", "--format", "json"],
        &["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}"],
        &["images", "--format", "table {{.Repository}}\t{{.Tag}}"],
        &["images", "mine"],
        &["image", "ls", "--filter", "reference=busybox"],
        &["image", "inspect", "-f", "{{.Id}} {{json .RepoTags}} {{.Os}}/{{.Architecture}}", "busybox"],
        &["image", "inspect", "busybox"],
        &["history", "busybox"],
        &["history", "--no-trunc", "--format", "{{.ID}}|{{.Size}}|{{.CreatedBy}}", "busybox"],
        &["history", "-q", "busybox"],
    ] {
        same(args);
    }
    assert!(same(&["images"]).starts_with("REPOSITORY "), "a table");
    assert_eq!(berth_ok(&d, &["rmi", "mine:1"]), "Untagged: mine:1\n");
    let (b, k) = (berth(&d, &["rmi", "nosuch"]), d.docker(&["rmi", "nosuch"]));
    assert_eq!((b.status.code(), text(&b.stderr)), (k.status.code(), text(&k.stderr)));

    // save and load through berth, and docker can read what berth saved.
    let tar = d.dir.join("bb.tar");
    berth_ok(&d, &["save", "-o", &tar.to_string_lossy(), "busybox"]);
    let id = berth_ok(&d, &["image", "inspect", "-f", "{{.Id}}", "busybox"]);
    berth_ok(&d, &["rmi", "busybox", "localhost:5000/other"]);
    assert_eq!(berth_ok(&d, &["images", "-q"]), "");
    let loaded = berth_ok(&d, &["load", "-i", &tar.to_string_lossy()]);
    assert_eq!(loaded, "Loaded image: busybox:latest\n");
    assert_eq!(berth_ok(&d, &["image", "inspect", "-f", "{{.Id}}", "busybox"]), id);
    let out = berth(&d, &["save", "busybox"]);
    assert!(out.status.success() && out.stdout.len() > 100_000, "save to a pipe: {} bytes, {}", out.stdout.len(), text(&out.stderr));
    // prune: nothing dangling.
    assert_eq!(same(&["image", "prune", "-f"]), "Total reclaimed space: 0B\n");
}

#[test]
fn pull_and_push_through_a_registry() {
    let reg = TestRegistry::start(None);
    reg.push(busybox_layout(), "tools/busybox:1");
    let d = berth_testutil::daemon::TestDaemon::start(&crate::berthd().to_string_lossy(), "pull");
    let img = format!("{}/tools/busybox:1", reg.addr());
    // The same plain (not a terminal) output as docker's: statuses, no progress bars.
    let b = berth_ok(&d, &["pull", &img]);
    for want in ["1: Pulling from tools/busybox", "Pull complete", "Digest: sha256:", &format!("Status: Downloaded newer image for {img}")] {
        assert!(b.contains(want), "pull output lacks {want:?}:\n{b}");
    }
    assert!(b.ends_with(&format!("\n{img}\n")), "{b}");
    berth_ok(&d, &["rmi", &img]);
    let k = d.docker_ok(&["pull", &img]);
    assert_eq!(b, k);
    assert_eq!(berth_ok(&d, &["pull", "-q", &img]), format!("{img}\n"));
    // --platform goes to the daemon (the host's platform: the same image)
    assert_eq!(berth_ok(&d, &["pull", "-q", "--platform", "linux/amd64", &img]), format!("{img}\n"));
    let bad = berth(&d, &["pull", "--platform", "nonsense", &img]);
    assert!(!bad.status.success() && text(&bad.stderr).contains("invalid platform"), "{}", text(&bad.stderr));
    // run pulls a missing image, on stderr, as docker does.
    let other = format!("{}/tools/busybox:2", reg.addr());
    reg.push(busybox_layout(), "tools/busybox:2");
    let out = berth(&d, &["run", "--rm", &other, "echo", "pulled"]);
    assert_eq!(text(&out.stdout), "pulled\n", "{}", text(&out.stderr));
    assert!(text(&out.stderr).starts_with(&format!("Unable to find image '{other}' locally\n")), "{}", text(&out.stderr));
    // --pull always pulls even what is there (quietly with -q), then runs.
    let out = berth(&d, &["run", "--rm", "--pull", "always", "-q", &other, "echo", "again"]);
    assert_eq!((text(&out.stdout), text(&out.stderr)), ("again\n".to_owned(), String::new()));
    let out = berth(&d, &["run", "--rm", "--pull", "sometimes", &other, "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains("invalid pull option: 'sometimes'"), "{}", text(&out.stderr));
    // push under a new name, drop it, pull it back.
    let copy = format!("{}/copy:v2", reg.addr());
    berth_ok(&d, &["tag", &img, &copy]);
    let pushed = berth_ok(&d, &["push", &copy]);
    assert!(pushed.contains(&format!("The push refers to repository [{}/copy]", reg.addr())), "{pushed}");
    assert!(pushed.lines().any(|l| l.starts_with("v2: digest: sha256:")), "{pushed}");
    berth_ok(&d, &["rmi", &copy]);
    berth_ok(&d, &["pull", "-q", &copy]);
    // A missing tag: docker's message and status.
    let missing = format!("{}/tools/busybox:nope", reg.addr());
    let (b, k) = (berth(&d, &["pull", &missing]), d.docker(&["pull", &missing]));
    assert_eq!(b.status.code(), k.status.code());
    assert!(text(&b.stderr).contains(&format!("manifest for {missing} not found")), "{}", text(&b.stderr));
}

#[test]
fn login_stores_credentials_docker_can_use_too() {
    let reg = TestRegistry::start(Some("tester:s3cret"));
    reg.push(busybox_layout(), "private/busybox:1");
    let d = berth_testutil::daemon::TestDaemon::start(&crate::berthd().to_string_lossy(), "login");
    let img = format!("{}/private/busybox:1", reg.addr());
    let config = d.dir.join("docker-config");
    let with_config = |args: &[&str], stdin: &[u8]| {
        let mut c = crate::berth_cmd(&d, args);
        c.env("DOCKER_CONFIG", &config).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let mut child = c.spawn().expect("berth");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), stdin).expect("write");
        child.wait_with_output().expect("wait")
    };
    // Without credentials the registry says no, through the daemon.
    let out = with_config(&["pull", &img], b"");
    assert_eq!(out.status.code(), Some(1));
    // A wrong password: the daemon's answer, nothing stored.
    let out = with_config(&["login", "-u", "tester", "--password-stdin", &reg.addr()], b"wrong\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!config.join("config.json").exists());
    let out = with_config(&["login", "-u", "tester", "--password-stdin", &reg.addr()], b"s3cret\n");
    assert_eq!(text(&out.stdout), "Login Succeeded\n", "{}", text(&out.stderr));
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(config.join("config.json")).expect("config written")).expect("JSON");
    assert_eq!(stored["auths"][reg.addr()]["auth"], "dGVzdGVyOnMzY3JldA==", "docker's format: base64 of user:password");
    // berth pulls with them, and so does the docker CLI, from the same file.
    let out = with_config(&["pull", "-q", &img], b"");
    assert_eq!(text(&out.stdout), format!("{img}\n"), "{}", text(&out.stderr));
    d.docker_ok(&["rmi", &img]);
    d.docker_ok(&["pull", "-q", &img]);
    // push too.
    let copy = format!("{}/private/copy:2", reg.addr());
    berth_ok(&d, &["tag", &img, &copy]);
    let out = with_config(&["push", &copy], b"");
    assert!(out.status.success() && text(&out.stdout).contains("2: digest: sha256:"), "{}{}", text(&out.stdout), text(&out.stderr));
    let out = with_config(&["logout", &reg.addr()], b"");
    assert_eq!(text(&out.stdout), format!("Removing login credentials for {}\n", reg.addr()));
    let out = with_config(&["logout", &reg.addr()], b"");
    assert_eq!(text(&out.stdout), format!("Not logged in to {}\n", reg.addr()));
}

/// A credential helper (`credsStore`) keeps the login: `store` at login, `get` for pull,
/// `erase` at logout, through the docker-credential-helpers protocol.
#[test]
fn credential_helpers_hold_the_login() {
    let reg = TestRegistry::start(Some("helped:pw0rd"));
    reg.push(busybox_layout(), "private/busybox:1");
    let d = berth_testutil::daemon::TestDaemon::start(&crate::berthd().to_string_lossy(), "credhelper");
    let img = format!("{}/private/busybox:1", reg.addr());
    let config = d.dir.join("helper-config");
    let bin = d.dir.join("bin");
    std::fs::create_dir_all(&config).expect("mkdir");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::fs::write(config.join("config.json"), r#"{"credsStore":"berthtest"}"#).expect("config");
    // A helper that keeps one credential in a file beside it.
    let store = d.dir.join("helper-store.json");
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in\n store) cat > {s} ;;\n get) read server; if [ -f {s} ]; then sed 's/\"ServerURL\"/\"ServerURL\"/' {s}; else echo 'credentials not found in native keychain'; exit 1; fi ;;\n erase) rm -f {s} ;;\nesac\n",
        s = store.display()
    );
    let helper = bin.join("docker-credential-berthtest");
    std::fs::write(&helper, script).expect("helper");
    std::process::Command::new("chmod").arg("+x").arg(&helper).status().expect("chmod");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let run = |args: &[&str], stdin: &[u8]| {
        let mut c = crate::berth_cmd(&d, args);
        c.env("DOCKER_CONFIG", &config).env("PATH", &path).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let mut child = c.spawn().expect("berth");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), stdin).expect("write");
        child.wait_with_output().expect("wait")
    };
    let out = run(&["login", "-u", "helped", "--password-stdin", &reg.addr()], b"pw0rd\n");
    assert_eq!(text(&out.stdout), "Login Succeeded\n", "{}", text(&out.stderr));
    let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(&store).expect("the helper stored it")).expect("JSON");
    assert_eq!((kept["Username"].as_str(), kept["Secret"].as_str()), (Some("helped"), Some("pw0rd")));
    let written = std::fs::read_to_string(config.join("config.json")).expect("config");
    assert!(!written.contains("pw0rd"), "the password stays out of config.json: {written}");
    let out = run(&["pull", "-q", &img], b"");
    assert_eq!(text(&out.stdout), format!("{img}\n"), "{}", text(&out.stderr));
    let out = run(&["logout", &reg.addr()], b"");
    assert_eq!(text(&out.stdout), format!("Removing login credentials for {}\n", reg.addr()));
    assert!(!store.exists(), "erase removed it");
}
