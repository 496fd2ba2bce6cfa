//! Pulls (and pushes) against a real registry (Debian's docker-registry) on loopback, started
//! per test on a port of its own through ../shared/fixtures/registry.sh and stopped on drop.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_image::registry::{Credentials, Endpoint, Progress, ProgressStatus, PullOptions, PushOptions, Registry, RegistryConfig, RegistryError, RetryPolicy};
use berth_image::{Digest, ImageRef, ImageStore};

use crate::common::names;

use berth_testutil::registry::{free_port, TestRegistry};

fn make_image(args: &[&str], out: &Path) {
    let status = Command::new("python3")
        .arg(berth_testutil::MAKE_IMAGE)
        .arg(args[0])
        .arg(out)
        .args(&args[1..])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run make-image.py");
    assert!(status.success(), "make-image.py {args:?}");
}

/// The manifest and config digests of a layout's (only) image.
fn layout_digests(layout: &Path) -> (Digest, Digest) {
    let index: serde_json::Value = serde_json::from_slice(&fs::read(layout.join("index.json")).expect("index")).expect("json");
    let manifest = Digest::parse(index["manifests"][0]["digest"].as_str().expect("digest")).expect("manifest digest");
    let m: serde_json::Value = serde_json::from_slice(&fs::read(layout.join("blobs/sha256").join(manifest.hex())).expect("manifest")).expect("json");
    let config = Digest::parse(m["config"]["digest"].as_str().expect("config")).expect("config digest");
    (manifest, config)
}

/// A client with short retries, Docker Hub pointed at a closed loopback port (never the
/// internet), and an empty certs dir.
fn config(tmp: &Path) -> RegistryConfig {
    RegistryConfig {
        certs_dir: tmp.join("certs.d"),
        hub_endpoint: Endpoint::http(&format!("127.0.0.1:{}", free_port())),
        retry: RetryPolicy { attempts: 3, first_delay: Duration::from_millis(50), max_delay: Duration::from_millis(200) },
        stall_timeout: Duration::from_secs(20),
        ..RegistryConfig::default()
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
}

fn r(s: &str) -> ImageRef {
    ImageRef::parse(s).expect("reference")
}

/// Collects progress events.
fn recorder() -> (Arc<Mutex<Vec<Progress>>>, berth_image::registry::ProgressFn) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    (events, Arc::new(move |p: &Progress| sink.lock().expect("events").push(p.clone())))
}

fn statuses(events: &Mutex<Vec<Progress>>, id: &str) -> Vec<ProgressStatus> {
    let mut v: Vec<ProgressStatus> = events.lock().expect("events").iter().filter(|p| p.id == id).map(|p| p.status).collect();
    v.dedup();
    v
}

fn nothing_half_written(store: &ImageStore) {
    assert!(names(&store.content().root().join("ingest")).is_empty(), "ingest not empty");
    let tmp: Vec<String> = names(&store.layers_dir()).into_iter().filter(|n| n.starts_with(".tmp-")).collect();
    assert!(tmp.is_empty(), "temporary layer dirs left: {tmp:?}");
}

#[test]
fn pull_busybox_and_synthetic_by_tag_and_digest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (bb, syn) = (tmp.path().join("bb"), tmp.path().join("syn"));
    make_image(&["busybox"], &bb);
    make_image(&["synthetic", "--layers", "3", "--mib", "2"], &syn);
    let reg = TestRegistry::start(None);
    reg.push(&bb, "test/busybox:1");
    reg.push(&syn, "test/synthetic:latest");
    let store = Arc::new(ImageStore::open(tmp.path().join("root")).expect("store"));
    let client = Registry::new(config(tmp.path()));
    let rt = rt();

    let (events, sink) = recorder();
    let opts = PullOptions { progress: Some(sink), ..PullOptions::default() };
    let bb_ref = r(&format!("{}/test/busybox:1", reg.addr()));
    let pulled = rt.block_on(client.pull(&store, &bb_ref, &opts)).expect("pull busybox");
    let (bb_manifest, bb_config) = layout_digests(&bb);
    assert_eq!(pulled.digest, bb_manifest, "the registry served the layout's manifest");
    assert_eq!(pulled.image.manifest, bb_manifest);
    assert_eq!(pulled.image.id, bb_config);
    assert_eq!(pulled.endpoint, Endpoint::http(&reg.addr()), "plain HTTP after HTTPS failed, on loopback");
    let layer = &pulled.image.layers[0];
    let root = store.layer_dir(&layer.chain_id);
    assert!(fs::read(root.join("bin/busybox")).expect("busybox").starts_with(b"\x7fELF"));
    assert_eq!(fs::read_link(root.join("bin/sh")).expect("sh").to_str(), Some("busybox"));
    assert!(store.content().exists(&layer.blob) && store.content().exists(&bb_config) && store.content().exists(&bb_manifest));
    assert_eq!(store.lookup(&bb_ref.to_string()).expect("recorded").id, bb_config);
    let id = layer.blob.short();
    let seen = statuses(&events, id);
    use ProgressStatus::*;
    for want in [PullingFsLayer, Downloading, VerifyingChecksum, DownloadComplete, Extracting, PullComplete] {
        assert!(seen.contains(&want), "{want} missing from {seen:?}");
    }
    let last = events.lock().expect("events").iter().rev().find(|p| p.id == id && p.status == Downloading).cloned().expect("downloading");
    assert_eq!((last.current, last.total), (layer.size, layer.size));

    // the synthetic image shares busybox's layer: not downloaded again
    let (events, sink) = recorder();
    let opts = PullOptions { progress: Some(sink), ..PullOptions::default() };
    let syn_ref = r(&format!("{}/test/synthetic", reg.addr()));
    let pulled = rt.block_on(client.pull(&store, &syn_ref, &opts)).expect("pull synthetic");
    let (syn_manifest, syn_config) = layout_digests(&syn);
    assert_eq!((pulled.digest.clone(), pulled.image.id.clone()), (syn_manifest.clone(), syn_config));
    assert_eq!(pulled.image.layers.len(), 4);
    assert_eq!(statuses(&events, id), [AlreadyExists]);
    for l in &pulled.image.layers[1..] {
        assert!(statuses(&events, l.blob.short()).contains(&PullComplete));
        assert!(store.content().exists(&l.blob));
    }
    assert!(store.layer_dir(&pulled.image.layers[1].chain_id).join("data/layer001/f000000").is_file());
    nothing_half_written(&store);

    // by digest, into a fresh store: the digest is checked and becomes the name
    let store2 = Arc::new(ImageStore::open(tmp.path().join("root2")).expect("store2"));
    let by_digest = r(&format!("{}/test/synthetic@{syn_manifest}", reg.addr()));
    let pulled2 = rt.block_on(client.pull(&store2, &by_digest, &PullOptions::default())).expect("pull by digest");
    assert_eq!(pulled2.image, pulled.image);
    assert_eq!(store2.lookup(&by_digest.to_string()).expect("by digest").id, pulled.image.id);

    // a digest the registry does not have
    let wrong = r(&format!("{}/test/synthetic@{}", reg.addr(), Digest::sha256_of(b"nothing")));
    let err = rt.block_on(client.pull(&store2, &wrong, &PullOptions::default())).expect_err("unknown digest");
    assert!(matches!(err, RegistryError::ManifestUnknown { .. }), "{err}");
}

#[test]
fn a_missing_tag_names_the_reference() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bb = tmp.path().join("bb");
    make_image(&["busybox"], &bb);
    let reg = TestRegistry::start(None);
    reg.push(&bb, "test/busybox:1");
    let store = Arc::new(ImageStore::open(tmp.path().join("root")).expect("store"));
    let client = Registry::new(config(tmp.path()));
    let missing = r(&format!("{}/test/busybox:nope", reg.addr()));
    let err = rt().block_on(client.pull(&store, &missing, &PullOptions::default())).expect_err("missing tag");
    assert_eq!(err.to_string(), format!("manifest for {}/test/busybox:nope not found: manifest unknown: manifest unknown", reg.addr()));
    assert!(store.list().is_empty());
}

#[test]
fn htpasswd_registry_takes_the_right_password_only() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bb = tmp.path().join("bb");
    make_image(&["busybox"], &bb);
    let reg = TestRegistry::start(Some("alice:right-pass"));
    reg.push(&bb, "private/busybox:1");
    let store = Arc::new(ImageStore::open(tmp.path().join("root")).expect("store"));
    let client = Registry::new(config(tmp.path()));
    let reference = r(&format!("{}/private/busybox:1", reg.addr()));
    let rt = rt();

    let err = rt.block_on(client.pull(&store, &reference, &PullOptions::default())).expect_err("anonymous");
    assert!(err.to_string().starts_with(&format!("pull access denied for {}/private/busybox, repository does not exist or may require 'docker login'", reg.addr())), "{err}");

    let wrong = PullOptions { credentials: Some(Credentials::new("alice", "wrong-pass")), ..PullOptions::default() };
    let err = rt.block_on(client.pull(&store, &reference, &wrong)).expect_err("wrong password");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("{}: GET manifest 1: unauthorized:", reg.addr())), "{err}");
    assert!(!format!("{err:?}{err}").contains("wrong-pass"), "the password never shows");

    let right = PullOptions { credentials: Some(Credentials::new("alice", "right-pass")), ..PullOptions::default() };
    let pulled = rt.block_on(client.pull(&store, &reference, &right)).expect("right password");
    assert_eq!(pulled.digest, layout_digests(&bb).0);
    nothing_half_written(&store);
}

/// A Bearer-token front for a registry: a token server and a proxy that lets through only
/// requests bearing the token it issued, answering others with a Bearer challenge.
struct TokenFront {
    stop: Arc<AtomicBool>,
    proxy_port: u16,
    token_port: u16,
    tokens_issued: Arc<AtomicUsize>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

const TOKEN: &str = "tok-3f9a";

impl TokenFront {
    fn start(upstream: u16, user: &'static str, pass: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let tokens_issued = Arc::new(AtomicUsize::new(0));
        let token_listener = TcpListener::bind("127.0.0.1:0").expect("bind token server");
        let proxy_listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let token_port = token_listener.local_addr().expect("addr").port();
        let proxy_port = proxy_listener.local_addr().expect("addr").port();
        let expected_basic = format!("Basic {}", b64(format!("{user}:{pass}").as_bytes()));
        let issued = tokens_issued.clone();
        let token_thread = serve(token_listener, stop.clone(), move |mut conn, head| {
            let auth_ok = header(&head, "authorization").as_deref() == Some(expected_basic.as_str());
            let first = head.lines().next().unwrap_or("");
            let asks_scope = first.contains("scope=repository%3Aauth%2Fbusybox%3Apull") && first.contains("service=test-registry");
            if auth_ok && asks_scope {
                issued.fetch_add(1, Ordering::SeqCst);
                let body = format!(r#"{{"token":"{TOKEN}","expires_in":300}}"#);
                let _ = write!(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            } else {
                let body = r#"{"details":"incorrect username or password"}"#;
                let _ = write!(conn, "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            }
        });
        let challenge = format!(r#"Bearer realm="http://127.0.0.1:{token_port}/token",service="test-registry",scope="repository:auth/busybox:pull""#);
        let proxy_thread = serve(proxy_listener, stop.clone(), move |mut conn, head| {
            if header(&head, "authorization").as_deref() != Some(&format!("Bearer {TOKEN}")) {
                let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
                let _ = write!(conn, "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {challenge}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                return;
            }
            // forward the request (GET/HEAD: no body) and copy the answer back
            let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream)) else { return };
            let mut fwd = String::new();
            for line in head.split("\r\n").filter(|l| !l.is_empty()) {
                let lower = line.to_ascii_lowercase();
                if !lower.starts_with("connection:") && !lower.starts_with("authorization:") {
                    fwd.push_str(line);
                    fwd.push_str("\r\n");
                }
            }
            fwd.push_str("Connection: close\r\n\r\n");
            if up.write_all(fwd.as_bytes()).is_ok() {
                let _ = std::io::copy(&mut up, &mut conn);
            }
        });
        TokenFront { stop, proxy_port, token_port, tokens_issued, threads: vec![token_thread, proxy_thread] }
    }
}

impl Drop for TokenFront {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for port in [self.proxy_port, self.token_port] {
            let _ = TcpStream::connect(("127.0.0.1", port)); // wake the accept loop
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Accepts connections until `stop`, one request per connection, each on its own thread.
fn serve(listener: TcpListener, stop: Arc<AtomicBool>, handle: impl Fn(TcpStream, String) + Send + Sync + 'static) -> std::thread::JoinHandle<()> {
    let handle = Arc::new(handle);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(conn) = conn else { continue };
            let handle = handle.clone();
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                let mut reader = BufReader::new(conn.try_clone().expect("clone stream"));
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    match reader.read_line(&mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                handle(conn, head);
            });
        }
    })
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

fn b64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= c.len() { A[(n >> (18 - 6 * i)) as usize & 63] as char } else { '=' });
        }
    }
    out
}

#[test]
fn bearer_token_flow_through_a_token_server() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bb = tmp.path().join("bb");
    make_image(&["busybox"], &bb);
    let reg = TestRegistry::start(None);
    reg.push(&bb, "auth/busybox:1");
    let front = TokenFront::start(reg.port, "bob", "hunter2");
    let store = Arc::new(ImageStore::open(tmp.path().join("root")).expect("store"));
    let client = Registry::new(config(tmp.path()));
    let reference = r(&format!("127.0.0.1:{}/auth/busybox:1", front.proxy_port));
    let rt = rt();

    let wrong = PullOptions { credentials: Some(Credentials::new("bob", "nope")), ..PullOptions::default() };
    let err = rt.block_on(client.pull(&store, &reference, &wrong)).expect_err("wrong password");
    let msg = berth_image::error_chain(&err);
    assert!(msg.contains(&format!("fetch token from http://127.0.0.1:{}/token", front.token_port)) && msg.contains("incorrect username or password"), "{msg}");

    let right = PullOptions { credentials: Some(Credentials::new("bob", "hunter2")), ..PullOptions::default() };
    let pulled = rt.block_on(client.pull(&store, &reference, &right)).expect("pull with a token");
    assert_eq!(pulled.digest, layout_digests(&bb).0);
    assert_eq!(front.tokens_issued.load(Ordering::SeqCst), 1, "one token, cached for the scope");
    // a second pull reuses the cached token
    rt.block_on(client.pull(&store, &reference, &right)).expect("pull again");
    assert_eq!(front.tokens_issued.load(Ordering::SeqCst), 1);
    nothing_half_written(&store);
}


#[test]
fn docker_hub_images_come_from_a_mirror() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bb = tmp.path().join("bb");
    make_image(&["busybox"], &bb);
    let reg = TestRegistry::start(None);
    reg.push(&bb, "library/busybox:latest");
    let store = Arc::new(ImageStore::open(tmp.path().join("root")).expect("store"));
    let dead_mirror = Endpoint::parse(&format!("http://127.0.0.1:{}", free_port())).expect("endpoint");
    let mirror = Endpoint::parse(&format!("http://{}/", reg.addr())).expect("endpoint");
    let client = Registry::new(RegistryConfig { mirrors: vec![dead_mirror, mirror.clone()], ..config(tmp.path()) });
    let pulled = rt().block_on(client.pull(&store, &r("busybox"), &PullOptions::default())).expect("pull busybox through the mirror");
    assert_eq!(pulled.endpoint, mirror, "the dead mirror was skipped");
    assert_eq!(pulled.digest, layout_digests(&bb).0);
    assert_eq!(store.lookup("busybox").expect("named busybox").id, pulled.image.id);
    assert_eq!(store.lookup("docker.io/library/busybox:latest").expect("full name").id, pulled.image.id);
}

#[test]
fn an_interrupted_pull_leaves_nothing_half_written_and_resumes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let syn = tmp.path().join("syn");
    make_image(&["synthetic", "--layers", "3", "--mib", "24"], &syn);
    let reg = Arc::new(TestRegistry::start(None));
    reg.push(&syn, "big/synthetic:1");
    let store = Arc::new(ImageStore::open(tmp.path().join("root")).expect("store"));
    let client = Registry::new(RegistryConfig { max_concurrent_downloads: 2, ..config(tmp.path()) });
    let reference = r(&format!("{}/big/synthetic:1", reg.addr()));
    let rt = rt();

    // kill the registry as soon as a big layer is a little way in
    let killed = Arc::new(AtomicBool::new(false));
    let (k, reg2) = (killed.clone(), reg.clone());
    let opts = PullOptions {
        progress: Some(Arc::new(move |p: &Progress| {
            if p.status == ProgressStatus::Downloading && p.total > 4 << 20 && p.current > 0 && !k.swap(true, Ordering::SeqCst) {
                reg2.kill();
            }
        })),
        ..PullOptions::default()
    };
    let err = rt.block_on(client.pull(&store, &reference, &opts)).expect_err("registry killed mid-pull");
    assert!(killed.load(Ordering::SeqCst), "the registry was killed during a download");
    // A broken download is retried; the registry then refuses connections, which is final.
    let chain = berth_image::error_chain(&err);
    assert!(err.is_transient() || matches!(err, RegistryError::BlobSize { .. }) || chain.contains("refused"), "{chain}");
    assert!(berth_image::error_chain(&err).contains(&reg.addr()), "the error names the registry: {}", berth_image::error_chain(&err));
    assert!(store.list().is_empty(), "no image recorded");
    nothing_half_written(&store);
    let (manifest, config_digest) = layout_digests(&syn);
    let m: serde_json::Value = serde_json::from_slice(&fs::read(syn.join("blobs/sha256").join(manifest.hex())).expect("manifest")).expect("json");
    let layer_blobs: Vec<Digest> = m["layers"].as_array().expect("layers").iter()
        .map(|l| Digest::parse(l["digest"].as_str().expect("digest")).expect("digest")).collect();
    let missing = layer_blobs.iter().filter(|d| !store.content().exists(d)).count();
    assert!(missing > 0, "the pull stopped before every layer was in");
    // every blob that is visible is whole
    for d in store.content().list().expect("list") {
        let data = fs::read(store.content().blob_path(&d)).expect("blob");
        assert_eq!(Digest::sha256_of(&data), d, "a visible blob is complete and verified");
    }

    // the registry comes back: the pull resumes and completes
    reg.stop();
    reg.run_start();
    let (events, sink) = recorder();
    let opts = PullOptions { progress: Some(sink), ..PullOptions::default() };
    let pulled = rt.block_on(client.pull(&store, &reference, &opts)).expect("resumed pull");
    assert_eq!((pulled.digest, pulled.image.id.clone()), (manifest, config_digest));
    let already = events.lock().expect("events").iter().filter(|p| p.status == ProgressStatus::AlreadyExists).count();
    assert_eq!(already, layer_blobs.len() - missing, "what the first pull completed is not fetched again");
    for l in &pulled.image.layers {
        assert!(store.layer_dir(&l.chain_id).is_dir() && store.content().exists(&l.blob));
    }
    nothing_half_written(&store);
}

#[test]
fn push_with_a_mount_and_pull_back() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let syn = tmp.path().join("syn");
    make_image(&["synthetic", "--layers", "2", "--mib", "1"], &syn);
    let reg = TestRegistry::start(Some("carol:pw"));
    reg.push(&syn, "src/synthetic:1");
    let creds = Some(Credentials::new("carol", "pw"));
    let store = Arc::new(ImageStore::open(tmp.path().join("root")).expect("store"));
    let client = Registry::new(config(tmp.path()));
    let rt = rt();
    let pull_opts = PullOptions { credentials: creds.clone(), ..PullOptions::default() };
    let source = rt.block_on(client.pull(&store, &r(&format!("{}/src/synthetic:1", reg.addr())), &pull_opts)).expect("pull source");

    // under a new name in the same registry: every blob is mounted from the source repository
    let (events, sink) = recorder();
    let opts = PushOptions { credentials: creds.clone(), progress: Some(sink), mount_from: vec!["src/synthetic".into()] };
    let target = r(&format!("{}/copy/synthetic:v2", reg.addr()));
    let pushed = rt.block_on(client.push(&store, &source.image, &target, &opts)).expect("push with mounts");
    assert_eq!(pushed.digest, source.image.manifest);
    for l in &source.image.layers {
        assert_eq!(statuses(&events, l.blob.short()), [ProgressStatus::Preparing, ProgressStatus::Mounted], "layer {}", l.blob);
    }

    // under a third name without mounts: uploaded; a second push finds everything there
    let (events, sink) = recorder();
    let opts = PushOptions { credentials: creds.clone(), progress: Some(sink), mount_from: Vec::new() };
    let target3 = r(&format!("{}/up/synthetic:v3", reg.addr()));
    rt.block_on(client.push(&store, &source.image, &target3, &opts)).expect("push with uploads");
    let first = source.image.layers[1].blob.short();
    assert!(statuses(&events, first).contains(&ProgressStatus::Pushed), "{:?}", statuses(&events, first));
    let (events, sink) = recorder();
    let opts = PushOptions { credentials: creds.clone(), progress: Some(sink), mount_from: Vec::new() };
    rt.block_on(client.push(&store, &source.image, &target3, &opts)).expect("push again");
    assert!(statuses(&events, first).contains(&ProgressStatus::LayerAlreadyExists));

    // without credentials the registry refuses
    let err = rt.block_on(client.push(&store, &source.image, &target3, &PushOptions::default())).expect_err("anonymous push");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");

    // pull both back into a fresh store: same digests
    let fresh = Arc::new(ImageStore::open(tmp.path().join("fresh")).expect("fresh store"));
    for t in [&target, &target3] {
        let back = rt.block_on(client.pull(&fresh, t, &pull_opts)).expect("pull back");
        assert_eq!(back.digest, source.digest);
        assert_eq!(back.image, source.image);
    }
    nothing_half_written(&fresh);
}
