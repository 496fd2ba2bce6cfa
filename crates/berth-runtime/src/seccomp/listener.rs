//! Handing a `SCMP_ACT_NOTIFY` listener to the OCI `listenerPath` agent: the container process
//! state it receives and the `SCM_RIGHTS` message that carries both.

use std::io::{self, IoSlice};
use std::path::Path;

use oci_spec::runtime::LinuxSeccomp;
use rustix::fd::BorrowedFd;
use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};

use super::SeccompError;

/// Sends the listener to the OCI `listenerPath` agent: one `SCM_RIGHTS` message on a new
/// connection to the unix socket, whose payload is the container process state
/// (`process_state_json`, see [`ProcessState`]).
pub fn send_listener(
    listener_path: &Path,
    fd: BorrowedFd<'_>,
    process_state_json: &[u8],
) -> Result<(), SeccompError> {
    let connect_err = |source: io::Error| SeccompError::ConnectListener {
        path: listener_path.to_owned(),
        source,
    };
    let send_err = |source: io::Error| SeccompError::SendListener {
        path: listener_path.to_owned(),
        source,
    };
    let addr =
        rustix::net::SocketAddrUnix::new(listener_path).map_err(|e| connect_err(e.into()))?;
    let sock = rustix::net::socket_with(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::STREAM,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| connect_err(e.into()))?;
    rustix::net::connect(&sock, &addr).map_err(|e| connect_err(e.into()))?;

    if process_state_json.is_empty() {
        // Ancillary data needs at least one byte of payload on a stream socket.
        return Err(send_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "empty process state",
        )));
    }
    let fds = [fd];
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(send_err(io::Error::other(
            "control buffer too small for SCM_RIGHTS",
        )));
    }
    let mut sent = loop {
        match rustix::net::sendmsg(
            &sock,
            &[IoSlice::new(process_state_json)],
            &mut control,
            SendFlags::NOSIGNAL,
        ) {
            Err(rustix::io::Errno::INTR) => continue,
            other => break other.map_err(|e| send_err(e.into()))?,
        }
    };
    // A stream socket may take the payload in parts; the descriptor went with the first one.
    while sent < process_state_json.len() {
        match rustix::net::send(&sock, &process_state_json[sent..], SendFlags::NOSIGNAL) {
            Err(rustix::io::Errno::INTR) => continue,
            Ok(n) => sent += n,
            Err(e) => return Err(send_err(e.into())),
        }
    }
    Ok(())
}

/// The OCI "container process state" an agent receives with the listener.
pub type ProcessState = oci_spec::runtime::ContainerProcessState;

/// Builds the process state for [`send_listener`]: `fds` is `["seccompFd"]` and `metadata` is the
/// profile's `listenerMetadata`.
pub fn process_state(
    spec: &LinuxSeccomp,
    container_id: &str,
    pid: i32,
    bundle: &Path,
    annotations: Option<std::collections::HashMap<String, String>>,
) -> ProcessState {
    let mut state = oci_spec::runtime::State::default();
    state.set_version(OCI_VERSION.to_owned());
    state.set_id(container_id.to_owned());
    state.set_status(oci_spec::runtime::ContainerState::Creating);
    state.set_pid(Some(pid));
    state.set_bundle(bundle.to_owned());
    state.set_annotations(annotations);
    let mut ps = ProcessState::default();
    ps.set_version(OCI_VERSION.to_owned());
    ps.set_fds(vec![oci_spec::runtime::SECCOMP_FD_NAME.to_owned()]);
    ps.set_pid(pid);
    ps.set_metadata(spec.listener_metadata().clone());
    ps.set_state(state);
    ps
}

/// The runtime-spec version berth reports.
const OCI_VERSION: &str = "1.2.1";
