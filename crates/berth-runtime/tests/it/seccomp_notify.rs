//! SCMP_ACT_NOTIFY through the runtime: the listener descriptor reaches the `listenerPath`
//! agent with the container process state, and the agent's answer is what the container's
//! syscall returns.

use std::io::IoSliceMut;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
use serde_json::{json, Value};

use crate::fixture::{docker_config, Test};

#[test]
fn a_notify_agent_answers_the_containers_mkdir() {
    let t = Test::new("notify");
    let sock = t.path("agent.sock");
    let listener = UnixListener::bind(&sock).expect("bind agent socket");
    let agent = std::thread::spawn(move || -> (Value, u32, i32) {
        let (conn, _) = listener.accept().expect("accept the runtime");
        let mut buf = vec![0u8; 64 * 1024];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut anc = RecvAncillaryBuffer::new(&mut space);
        let n = rustix::net::recvmsg(&conn, &mut [IoSliceMut::new(&mut buf)], &mut anc, RecvFlags::CMSG_CLOEXEC)
            .expect("receive the listener")
            .bytes;
        let mut fd: Option<OwnedFd> = None;
        for m in anc.drain() {
            if let RecvAncillaryMessage::ScmRights(mut fds) = m {
                fd = fds.next();
            }
        }
        let fd = fd.expect("the message carries the seccomp listener");
        let state: Value = serde_json::from_slice(&buf[..n]).expect("process state JSON");
        let req = libseccomp::ScmpNotifReq::receive(fd.as_raw_fd()).expect("receive a notification");
        let syscall = req.data.syscall.get_name().unwrap_or_default();
        libseccomp::ScmpNotifResp::new_error(req.id, -libc::ENOSPC, libseccomp::ScmpNotifRespFlags::empty())
            .respond(fd.as_raw_fd())
            .expect("answer the notification");
        (state, req.pid, if syscall == "mkdir" || syscall == "mkdirat" { 1 } else { 0 })
    });
    let mut cfg = docker_config(&["sh", "-c", "mkdir /tmp/x 2>&1; echo code=$?; ls /tmp"]);
    cfg["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": sock,
        "listenerMetadata": "from-the-test",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    });
    let b = t.bundle(&cfg);
    let id = t.id("c");
    let out = t.run(&b, &id);
    let (state, pid, was_mkdir) = agent.join().expect("agent thread");
    assert!(out.ok().contains("No space left on device"), "the agent's errno comes back: {out:?}");
    assert!(out.ok().contains("code=1"), "{out:?}");
    assert_eq!(was_mkdir, 1, "the notification was for mkdir");
    assert!(pid > 0);
    assert_eq!(state["fds"], json!(["seccompFd"]), "{state}");
    assert_eq!(state["metadata"], "from-the-test", "{state}");
    assert_eq!(state["state"]["id"], id.as_str(), "{state}");
    assert_eq!(state["state"]["bundle"], b.to_str().expect("utf-8"), "{state}");
}

#[test]
fn notify_without_a_listener_path_is_refused() {
    let t = Test::new("notifynopath");
    let mut cfg = docker_config(&["true"]);
    cfg["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
    });
    t.run_config(&cfg).fails_with(&["seccomp", "listenerPath"]);
}
