//! The API without a client library: version negotiation, errors, hostile requests.

use serde_json::json;

use crate::daemon;
use berth_testutil::daemon::{request, TestDaemon};

#[test]
fn ping_and_version_negotiate_like_docker() {
    let d = TestDaemon::start(crate::BERTHD, "ping");
    let r = d.api("GET", "/_ping", None);
    assert_eq!((r.status, r.text().as_str()), (200, "OK"));
    assert_eq!(r.header("Api-Version"), Some("1.51"));
    let r = d.api("HEAD", "/_ping", None);
    assert_eq!(r.status, 200);
    let v = d.api("GET", "/v1.45/version", None).json();
    assert_eq!(v["ApiVersion"], "1.51");
    assert_eq!(v["MinAPIVersion"], "1.24");
    let r = d.api("GET", "/v1.99/version", None);
    assert_eq!(r.status, 400);
    assert!(r.message().contains("client version 1.99 is too new"), "{}", r.message());
    let r = d.api("GET", "/v1.12/version", None);
    assert_eq!(r.status, 400);
    let r = d.api("GET", "/no/such/route", None);
    assert_eq!(r.status, 404);
}

#[test]
fn errors_have_dockers_codes_and_messages() {
    let d = daemon("errors");
    let r = d.api("GET", "/containers/nope/json", None);
    assert_eq!(r.status, 404);
    assert_eq!(r.message(), "No such container: nope");
    // As with dockerd, a network that is not there is an error at start, not at create.
    let r = d.api("POST", "/containers/create?name=nonet", Some(&json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "mynet"}})));
    assert_eq!(r.status, 201, "{}", r.text());
    let r = d.api("POST", "/containers/nonet/start", None);
    assert_eq!((r.status, r.message()), (404, "network mynet not found".to_owned()));
    let r = d.api("POST", "/containers/create", Some(&json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Links": ["a:b"]}})));
    assert_eq!(r.status, 501, "{}", r.text());
    let r = d.api("POST", "/containers/create", Some(&json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Memory": "64m"}})));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.message().contains("invalid JSON"), "{}", r.message());
    let r = request(&d.sock, "POST", "/containers/create", Some(br#"{"Image":"busybox","Image":"busybox"}"#), &[]);
    assert_eq!(r.status, 400, "duplicate keys: {}", r.text());
    let r = d.api("POST", "/containers/create?name=xx", Some(&json!({"Image": "busybox", "Cmd": ["sleep", "30"]})));
    assert_eq!(r.status, 201, "{}", r.text());
    let r = d.api("POST", "/containers/xx/start", None);
    assert_eq!(r.status, 204);
    let r = d.api("POST", "/containers/xx/start", None);
    assert_eq!(r.status, 304);
    let r = d.api("DELETE", "/containers/xx", None);
    assert_eq!(r.status, 409);
    let r = d.api("POST", "/containers/xx/kill?signal=NOPE", None);
    assert_eq!(r.status, 400);
    let r = d.api("DELETE", "/containers/xx?force=1", None);
    assert_eq!(r.status, 204);
    let r = d.api("POST", "/containers/xx/stop", None);
    assert_eq!(r.status, 404);
}

#[test]
fn inspect_sends_the_config_members_dockerd_always_sends() {
    let d = crate::daemon("inspectcfg");
    d.docker_ok(&["create", "--name", "plain", "busybox", "true"]);
    let v = d.api("GET", "/v1.50/containers/plain/json", None).json();
    let c = v["Config"].as_object().expect("Config");
    for k in ["Hostname", "Domainname", "User", "WorkingDir", "Tty", "OpenStdin", "Env", "Cmd", "Volumes", "Entrypoint", "OnBuild", "Labels"] {
        assert!(c.contains_key(k), "Config lacks {k}: {c:?}");
    }
    assert_eq!(c["User"], "");
    assert!(c["Entrypoint"].is_null() && c["OnBuild"].is_null());
    d.docker_ok(&["rm", "plain"]);
}
