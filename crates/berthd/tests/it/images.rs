//! Images through the docker CLI and berthd against a real registry on loopback: pull, push,
//! history, save, load (both archive formats), prune, login, mirrors.

use std::path::Path;
use std::process::{Command, Stdio};

use berth_testutil::busybox_layout;
use berth_testutil::daemon::TestDaemon;
use berth_testutil::registry::TestRegistry;

use crate::BERTHD;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn pull_run_push_pull_back_save_load_and_prune() {
    let reg = TestRegistry::start(None);
    reg.push(busybox_layout(), "tools/busybox:1");
    let d = TestDaemon::start(BERTHD, "pull");
    let img = format!("{}/tools/busybox:1", reg.addr());

    let out = d.docker_ok(&["pull", &img]);
    for want in ["1: Pulling from tools/busybox", "Pull complete", "Digest: sha256:", &format!("Status: Downloaded newer image for {img}")] {
        assert!(out.contains(want), "pull output lacks {want:?}:\n{out}");
    }
    let again = d.docker_ok(&["pull", &img]);
    assert!(again.contains(&format!("Status: Image is up to date for {img}")), "{again}");
    assert_eq!(d.docker_ok(&["run", "--rm", &img, "echo", "pulled"]), "pulled\n");
    let id = d.docker_ok(&["image", "inspect", "--format", "{{.Id}}", &img]).trim().to_owned();
    assert!(id.starts_with("sha256:"), "{id}");

    let history = d.docker_ok(&["history", "--no-trunc", "--format", "{{.ID}}|{{.Size}}", &img]);
    let first = history.lines().next().unwrap_or_default();
    assert!(first.starts_with(&format!("{id}|")), "the newest step is the image: {history}");

    // push under a new name, drop it, pull it back: same image
    let copy = format!("{}/copy:v2", reg.addr());
    d.docker_ok(&["tag", &img, &copy]);
    let pushed = d.docker_ok(&["push", &copy]);
    assert!(pushed.contains(&format!("The push refers to repository [{}/copy]", reg.addr())), "{pushed}");
    let digest_line = pushed.lines().find(|l| l.starts_with("v2: digest: sha256:")).unwrap_or_else(|| panic!("no digest line: {pushed}"));
    let digest = digest_line.split_whitespace().nth(2).expect("digest").to_owned();
    let dist = d.api("GET", &format!("/distribution/{copy}/json"), None);
    assert_eq!(dist.status, 200, "{}", dist.text());
    assert_eq!(dist.json()["Descriptor"]["digest"], digest.as_str());
    assert_eq!(dist.json()["Platforms"][0]["architecture"], "amd64");
    d.docker_ok(&["rmi", &copy]);
    d.docker_ok(&["pull", &copy]);
    assert_eq!(d.docker_ok(&["image", "inspect", "--format", "{{.Id}}", &copy]).trim(), id);

    // save both names, remove the image, load it back
    let saved = d.dir.join("saved.tar");
    d.docker_ok(&["save", "-o", &saved.to_string_lossy(), &img, &copy]);
    let listing = Command::new("tar").arg("-tf").arg(&saved).output().expect("tar -tf");
    let listing = String::from_utf8_lossy(&listing.stdout);
    for want in ["index.json", "manifest.json", "oci-layout", "repositories"] {
        assert!(listing.lines().any(|l| l == want), "the archive has {want}: {listing}");
    }
    d.docker_ok(&["rmi", &img, &copy]);
    assert_eq!(d.docker_ok(&["images", "-q"]), "");
    let loaded = d.docker_ok(&["load", "-i", &saved.to_string_lossy()]);
    assert!(loaded.contains(&format!("Loaded image: {img}")) && loaded.contains(&format!("Loaded image: {copy}")), "{loaded}");
    assert_eq!(d.docker_ok(&["run", "--rm", &copy, "echo", "loaded"]), "loaded\n");

    // a missing tag is named; nothing was stored for it
    let out = d.docker(&["pull", &format!("{}/tools/busybox:nope", reg.addr())]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("manifest for {}/tools/busybox:nope not found", reg.addr())), "{}", stderr(&out));

    // --platform: an image of one manifest must be of that platform
    let out = d.docker(&["pull", "--platform", "linux/arm64", &img]);
    assert!(!out.status.success() && stderr(&out).contains("does not match the specified platform: wanted linux/arm64, actual: linux/amd64"), "{}", stderr(&out));
    d.docker_ok(&["pull", "--platform", "linux/amd64", &img]);

    // dangling prune keeps tagged images; -a removes every unused one
    let kept = d.docker_ok(&["image", "prune", "-f"]);
    assert!(!kept.contains("Deleted"), "{kept}");
    let pruned = d.docker_ok(&["image", "prune", "-a", "-f"]);
    assert!(pruned.contains(&format!("deleted: {id}")) || pruned.contains(&format!("Deleted: {id}")), "{pruned}");
    assert_eq!(d.docker_ok(&["images", "-q"]), "");
    let layers = d.data_root().join("image/layers");
    assert_eq!(std::fs::read_dir(&layers).map(|r| r.count()).unwrap_or(0), 0, "prune left layers in {}", layers.display());
}

#[test]
fn hub_images_come_from_the_mirror_and_logins_are_checked() {
    let mirror = TestRegistry::start(None);
    mirror.push(busybox_layout(), "library/busybox:latest");
    let private = TestRegistry::start(Some("alice:right-pass"));
    private.push(busybox_layout(), "team/bb:1");
    let mirror_url = format!("http://{}", mirror.addr());
    let d = TestDaemon::start_with(BERTHD, "mirror", &["--registry-mirror", &mirror_url, "--insecure-registry", "10.9.0.0/16", "--insecure-registry", "reg.example:5000"]);
    // docker info shows them as dockerd does (loopback is always insecure)
    let info = d.docker_ok(&["info", "--format", "{{json .RegistryConfig}}"]);
    let reg: serde_json::Value = serde_json::from_str(&info).expect("json");
    assert_eq!(reg["Mirrors"], serde_json::json!([format!("{mirror_url}/")]), "{info}");
    assert_eq!(reg["InsecureRegistryCIDRs"], serde_json::json!(["::1/128", "127.0.0.0/8", "10.9.0.0/16"]), "{info}");
    assert_eq!(reg["IndexConfigs"]["docker.io"], serde_json::json!({"Name": "docker.io", "Mirrors": [format!("{mirror_url}/")], "Secure": true, "Official": true}));
    assert_eq!(reg["IndexConfigs"]["reg.example:5000"]["Secure"], false, "{info}");
    let plain = d.docker_ok(&["info"]);
    assert!(plain.contains(" Registry Mirrors:\n") && plain.contains(&format!("  {mirror_url}/\n")) && plain.contains("  reg.example:5000\n"), "{plain}");

    let out = d.docker_ok(&["pull", "busybox"]);
    assert!(out.contains("Status: Downloaded newer image for busybox:latest"), "{out}");
    assert_eq!(d.docker_ok(&["run", "--rm", "busybox", "echo", "from the mirror"]), "from the mirror\n");

    let img = format!("{}/team/bb:1", private.addr());
    let out = d.docker(&["pull", &img]);
    assert!(!out.status.success(), "an anonymous pull of a private image fails");
    assert!(stderr(&out).contains("pull access denied") || stderr(&out).contains("unauthorized"), "{}", stderr(&out));

    let login = |pass: &str| {
        let mut c = d.docker_cmd(&["login", "-u", "alice", "--password-stdin", &private.addr()]);
        let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("docker login");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), pass.as_bytes()).expect("password");
        child.wait_with_output().expect("docker login")
    };
    let wrong = login("wrong-pass");
    assert!(!wrong.status.success(), "a wrong password is refused");
    assert!(stderr(&wrong).to_lowercase().contains("unauthorized"), "{}", stderr(&wrong));
    let right = login("right-pass");
    assert!(right.status.success(), "{}", stderr(&right));
    assert!(String::from_utf8_lossy(&right.stdout).contains("Login Succeeded"));

    d.docker_ok(&["pull", &img]);
    let pushed_name = format!("{}/team/bb:2", private.addr());
    d.docker_ok(&["tag", &img, &pushed_name]);
    let pushed = d.docker_ok(&["push", &pushed_name]);
    assert!(pushed.contains("2: digest: sha256:"), "{pushed}");
}

/// An archive as `docker save` wrote it before Docker 25: `manifest.json`, `<id>.json`,
/// `<dir>/layer.tar` (uncompressed), and a second image entry whose layer is a symlink to the
/// first's.
fn legacy_archive(out: &Path) {
    let script = r#"
import json, sys, tarfile, io, gzip, hashlib
layout, out = sys.argv[1], sys.argv[2]
blob = lambda d: open(f"{layout}/blobs/sha256/{d.split(':')[1]}", "rb").read()
index = json.load(open(f"{layout}/index.json"))
manifest = json.loads(blob(index["manifests"][0]["digest"]))
config = blob(manifest["config"]["digest"])
layer = gzip.decompress(blob(manifest["layers"][0]["digest"]))
lid = hashlib.sha256(layer).hexdigest()
cid = manifest["config"]["digest"].split(":")[1]
with tarfile.open(out, "w") as t:
    def add(name, data):
        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
    d = tarfile.TarInfo(lid); d.type = tarfile.DIRTYPE; t.addfile(d)
    add(f"{lid}/layer.tar", layer)
    d = tarfile.TarInfo("dup"); d.type = tarfile.DIRTYPE; t.addfile(d)
    s = tarfile.TarInfo("dup/layer.tar"); s.type = tarfile.SYMTYPE; s.linkname = f"../{lid}/layer.tar"; t.addfile(s)
    add(f"{cid}.json", config)
    m = [{"Config": f"{cid}.json", "RepoTags": ["old:one"], "Layers": [f"{lid}/layer.tar"]},
         {"Config": f"{cid}.json", "RepoTags": ["old:two"], "Layers": ["dup/layer.tar"]}]
    add("manifest.json", json.dumps(m).encode())
    add("repositories", json.dumps({"old": {"one": lid, "two": lid}}).encode())
"#;
    let st = Command::new("python3").arg("-c").arg(script).arg(busybox_layout()).arg(out).status().expect("python3");
    assert!(st.success(), "make the legacy archive");
}

#[test]
fn archives_from_docker_before_25_load_and_hostile_ones_do_not() {
    let d = TestDaemon::start(BERTHD, "legacy");
    let archive = d.dir.join("legacy.tar");
    legacy_archive(&archive);
    let out = d.docker_ok(&["load", "-i", &archive.to_string_lossy()]);
    assert!(out.contains("Loaded image: old:one") && out.contains("Loaded image: old:two"), "{out}");
    assert_eq!(d.docker_ok(&["run", "--rm", "old:two", "echo", "legacy"]), "legacy\n");
    let mut tags: Vec<String> = d.docker_ok(&["images", "--filter", "reference=old:*", "--format", "{{.Tag}}"]).lines().map(str::to_owned).collect();
    tags.sort();
    assert_eq!(tags, ["one", "two"]);
    assert_eq!(d.docker_ok(&["images", "-q", "--filter", "reference=other"]), "");
    assert_eq!(d.docker_ok(&["images", "-q", "--filter", "label=no.such.label"]), "");
    // an image a container uses loses only its names to rmi -f; its layers stay for the container
    d.docker_ok(&["create", "--name", "keep", "old:one", "echo", "still here"]);
    // one of two names goes; the last one needs -f
    let out = d.docker(&["rmi", "old:one", "old:two"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Untagged: old:one"), "{out:?}");
    assert!(stderr(&out).contains(" (must be forced) - image is being used by stopped container"), "{}", stderr(&out));
    // a running container's image cannot go, even forced (dockerd's hard conflict)
    d.docker_ok(&["run", "-d", "--name", "runner", "old:two", "sleep", "60"]);
    let out = d.docker(&["rmi", "-f", "old:two"]);
    assert!(stderr(&out).contains(" (cannot be forced) - image is being used by running container"), "{}", stderr(&out));
    d.docker_ok(&["rm", "-f", "runner"]);
    let out = d.docker_ok(&["rmi", "-f", "old:two"]);
    assert!(out.contains("Untagged: old:two") && !out.contains("Deleted"), "{out}");
    assert_eq!(d.docker_ok(&["start", "-a", "keep"]), "still here\n");
    assert_eq!(d.docker_ok(&["images", "-q", "--filter", "dangling=true"]).lines().count(), 1);
    d.docker_ok(&["rm", "keep"]);
    assert!(d.docker_ok(&["image", "prune", "-f"]).contains("Deleted"), "the dangling image goes once unused");
    assert_eq!(d.docker_ok(&["images", "-q"]), "");
    let bad = d.docker(&["images", "--filter", "dangling=maybe"]);
    assert!(!bad.status.success() && stderr(&bad).contains("invalid filter 'dangling=maybe'"), "{}", stderr(&bad));

    // an archive for dockerd before and after 25 both: an unnamed index.json, names in manifest.json
    let both = d.dir.join("both.tar");
    let script = r#"
import json, os, sys, tarfile
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
blob = lambda dg: "blobs/sha256/" + dg.split(":", 1)[1]
m = json.load(open(os.path.join(d, blob(idx["manifests"][0]["digest"]))))
for e in idx["manifests"]:
    e.pop("annotations", None)
with tarfile.open(sys.argv[2], "w") as t:
    for root, _, files in os.walk(d):
        for f in files:
            if f != "index.json":
                p = os.path.join(root, f); t.add(p, os.path.relpath(p, d))
    for name, data in (("index.json", idx), ("manifest.json", [{"Config": blob(m["config"]["digest"]), "RepoTags": ["both:tagged"], "Layers": [blob(l["digest"]) for l in m["layers"]]}])):
        b = json.dumps(data).encode(); i = tarfile.TarInfo(name); i.size = len(b)
        import io; t.addfile(i, io.BytesIO(b))
"#;
    assert!(Command::new("python3").arg("-c").arg(script).arg(busybox_layout()).arg(&both).status().expect("python3").success());
    let out = d.docker_ok(&["load", "-i", &both.to_string_lossy()]);
    assert!(out.contains("Loaded image: both:tagged"), "{out}");
    assert_eq!(d.docker_ok(&["run", "--rm", "both:tagged", "echo", "named"]), "named\n");
    d.docker_ok(&["rmi", "both:tagged"]);

    // a manifest.json naming a file outside the archive is refused, and nothing is stored
    let hostile = d.dir.join("hostile.tar");
    let script = r#"
import json, sys, tarfile, io
with tarfile.open(sys.argv[1], "w") as t:
    data = json.dumps([{"Config": "../../../etc/passwd", "RepoTags": ["evil:1"], "Layers": []}]).encode()
    i = tarfile.TarInfo("manifest.json"); i.size = len(data); t.addfile(i, io.BytesIO(data))
"#;
    assert!(Command::new("python3").arg("-c").arg(script).arg(&hostile).status().expect("python3").success());
    let out = d.docker(&["load", "-i", &hostile.to_string_lossy()]);
    assert!(!out.status.success(), "hostile archive loaded");
    assert!(stderr(&out).contains("not a plain path inside the archive"), "{}", stderr(&out));
    let images = d.docker_ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(!images.contains("evil"), "{images}");
}

#[test]
fn import_makes_an_image_from_a_filesystem_archive() {
    let d = TestDaemon::start(BERTHD, "import");
    let rootfs = d.dir.join("rootfs");
    berth_testutil::unpack_busybox(&rootfs);
    let tar = d.dir.join("rootfs.tar.gz");
    let st = Command::new("tar").arg("-czf").arg(&tar).arg("-C").arg(&rootfs).arg(".").status().expect("tar");
    assert!(st.success());
    let out = d.docker_ok(&["import", "--change", r#"CMD ["echo", "imported"]"#, "--change", "ENV X=1", "-m", "from a test", &tar.to_string_lossy(), "imp:1"]);
    assert!(out.trim().starts_with("sha256:") && out.trim().len() == 71, "{out}");
    assert_eq!(d.docker_ok(&["run", "--rm", "imp:1"]), "imported\n");
    assert_eq!(d.docker_ok(&["run", "--rm", "imp:1", "sh", "-c", "echo $X"]), "1\n");
    assert_eq!(d.docker_ok(&["history", "--format", "{{.Comment}}", "imp:1"]), "from a test\n");
    assert_eq!(d.docker_ok(&["image", "inspect", "-f", "{{.Comment}}", "imp:1"]), "from a test\n", "the image's comment, as dockerd sets it");
    // clients of API versions before 1.44 get VirtualSize; the layer directories are named
    let old = d.api("GET", "/v1.41/images/imp:1/json", None).json();
    assert_eq!(old["VirtualSize"], old["Size"], "{old}");
    assert!(old["GraphDriver"]["Data"]["UpperDir"].is_string(), "{old}");
    // ... and, before 1.45, the container it was committed from (none here) and its config
    assert!(old["Container"] == "" && old["ContainerConfig"].is_object(), "{old}");
    let new = d.api("GET", "/v1.45/images/imp:1/json", None).json();
    assert!(new.get("Container").is_none() && new.get("ContainerConfig").is_none() && new.get("VirtualSize").is_none(), "{new}");
    assert!(d.api("GET", "/v1.41/images/json", None).json()[0]["VirtualSize"].is_i64());
    assert!(d.api("GET", "/v1.51/images/json", None).json()[0].get("VirtualSize").is_none());
    let bad = d.docker(&["import", "--change", "RUN rm -rf /", &tar.to_string_lossy(), "imp:2"]);
    assert!(!bad.status.success() && stderr(&bad).contains("RUN is not one of"), "{}", stderr(&bad));
}

#[test]
fn a_daemon_killed_mid_pull_restarts_consistent_and_parallel_pulls_share_one() {
    let reg = TestRegistry::start(None);
    let syn = berth_testutil::scratch_dir("syn", "layout");
    let st = Command::new("python3").arg(berth_testutil::MAKE_IMAGE).arg("synthetic").arg(&syn).args(["--layers", "3", "--mib", "24"]).stdout(Stdio::null()).status().expect("make-image.py");
    assert!(st.success());
    reg.push(&syn, "big/syn:1");
    let _ = std::fs::remove_dir_all(&syn);
    let img = format!("{}/big/syn:1", reg.addr());
    let mut d = TestDaemon::start(BERTHD, "midpull");

    // kill -9 berthd as soon as bytes flow
    let mut pull = d.docker_cmd(&["pull", &img]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("docker pull");
    let reader = std::io::BufReader::new(pull.stdout.take().expect("stdout"));
    for l in std::io::BufRead::lines(reader).map_while(Result::ok) {
        if l.contains("Downloading") || l.contains("Extracting") || l.contains("Download complete") {
            break;
        }
    }
    d.stop_with("KILL");
    let _ = pull.wait();
    d.spawn();
    // nothing half-written is visible: every blob in the store matches its name
    let blobs = d.data_root().join("image/content/blobs/sha256");
    for e in std::fs::read_dir(&blobs).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let out = Command::new("sha256sum").arg(e.path()).output().expect("sha256sum");
        assert!(String::from_utf8_lossy(&out.stdout).starts_with(&name), "blob {name} does not match its digest");
    }

    // two pulls at once both succeed; the second waits for the first
    let a = d.docker_cmd(&["pull", "-q", &img]).stdout(Stdio::piped()).spawn().expect("pull a");
    let b = d.docker_cmd(&["pull", "-q", &img]).stdout(Stdio::piped()).spawn().expect("pull b");
    for p in [a, b] {
        let out = p.wait_with_output().expect("wait");
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), img);
    }
    assert_eq!(d.docker_ok(&["run", "--rm", &img, "echo", "whole"]), "whole\n");
}

/// A tag that names an index (a multi-platform image): the pull picks the host's entry, and
/// the index's digest is the repo digest, as with Docker; removing the last tag removes it.
#[test]
fn pulling_an_index_by_tag_records_the_index_digest() {
    let reg = TestRegistry::start(None);
    reg.push(busybox_layout(), "multi/bb:single");
    let base = format!("http://{}/v2/multi/bb/manifests", reg.addr());
    let head = Command::new("curl")
        .args(["-sI", "-H", "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json", &format!("{base}/single")])
        .output()
        .expect("curl");
    let head = String::from_utf8_lossy(&head.stdout).to_ascii_lowercase();
    let field = |name: &str| head.lines().find_map(|l| l.strip_prefix(&format!("{name}: "))).map(|v| v.trim().to_owned()).unwrap_or_else(|| panic!("no {name}: {head}"));
    let (digest, size, media) = (field("docker-content-digest"), field("content-length"), field("content-type"));
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"{media}","digest":"{digest}","size":{size},"platform":{{"os":"linux","architecture":"amd64"}}}},{{"mediaType":"{media}","digest":"{digest}","size":{size},"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}}]}}"#
    );
    let put = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", "Content-Type: application/vnd.oci.image.index.v1+json", "--data-binary", &index, &format!("{base}/multi")])
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&put.stdout), "201", "the registry took the index");
    let index_digest = {
        use std::io::Write;
        let mut c = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("sha256sum");
        c.stdin.take().expect("stdin").write_all(index.as_bytes()).expect("write");
        format!("sha256:{}", String::from_utf8_lossy(&c.wait_with_output().expect("wait").stdout).split_whitespace().next().expect("sum"))
    };

    let d = TestDaemon::start(BERTHD, "index");
    let img = format!("{}/multi/bb:multi", reg.addr());
    let out = d.docker_ok(&["pull", &img]);
    assert!(out.contains(&format!("Digest: {index_digest}")), "{out}");
    let digests = d.docker_ok(&["image", "inspect", "--format", "{{json .RepoDigests}}", &img]);
    assert_eq!(digests.trim(), format!(r#"["{}/multi/bb@{index_digest}"]"#, reg.addr()));
    assert_eq!(d.docker_ok(&["run", "--rm", &format!("{}/multi/bb@{index_digest}", reg.addr()), "echo", "by digest"]), "by digest\n");
    let out = d.docker_ok(&["rmi", &img]);
    assert!(out.contains(&format!("Untagged: {img}")) && out.contains(&format!("Untagged: {}/multi/bb@{index_digest}", reg.addr())) && out.contains("Deleted: sha256:"), "{out}");
    assert_eq!(d.docker_ok(&["images", "-q"]), "");
}
