//! The parent↔child sync socket: a SOCK_SEQPACKET pair, one small JSON message per packet,
//! descriptors (a pty master, a seccomp listener) riding along with SCM_RIGHTS.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};
use serde::{Deserialize, Serialize};

/// What the container's init tells the runtime.
#[derive(Debug, Serialize, Deserialize)]
pub enum FromChild {
    /// Namespaces exist; run the createRuntime/prestart hooks now, then answer Continue.
    RunHooks,
    /// A pty master for the console socket follows as a descriptor.
    Console,
    /// A seccomp notify listener follows as a descriptor.
    SeccompListener,
    /// Setup is done; the init waits to be started.
    Ready,
    /// A step failed; the init exits after sending this.
    Failed { step: String, errno: i32, detail: String },
}

/// What the runtime tells the container's init.
#[derive(Debug, Serialize, Deserialize)]
pub enum FromParent {
    /// Go on: ids are mapped, hooks have run, start was asked for.
    Continue,
    /// The init is in its cgroup now. Sent while the init sets up its rootfs: joining a v1
    /// cgroup can wait milliseconds for an RCU grace period, and that wait overlaps the
    /// mounts instead of preceding them.
    Joined,
    /// Exec the user process now (foreground `run` and `exec`).
    Start,
    /// The detached, idmapped mount for `mounts[index]` follows as a descriptor: only the
    /// runtime, privileged over the filesystem, can make it.
    IdmappedMount { index: usize },
}

pub struct Channel {
    fd: OwnedFd,
}

pub fn pair() -> io::Result<(Channel, Channel)> {
    let (a, b) = rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    pub fn from_fd(fd: OwnedFd) -> Self {
        Channel { fd }
    }

    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub fn send<T: Serialize>(&self, msg: &T) -> io::Result<()> {
        self.send_with_fd(msg, None)
    }

    pub fn send_with_fd<T: Serialize>(&self, msg: &T, fd: Option<BorrowedFd<'_>>) -> io::Result<()> {
        let data = serde_json::to_vec(msg).map_err(io::Error::other)?;
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut anc = SendAncillaryBuffer::new(&mut space);
        let fds;
        if let Some(fd) = fd {
            fds = [fd];
            anc.push(SendAncillaryMessage::ScmRights(&fds));
        }
        rustix::net::sendmsg(&self.fd, &[io::IoSlice::new(&data)], &mut anc, SendFlags::NOSIGNAL)?;
        Ok(())
    }

    /// Receives one message; None when the other side closed (the child exec'd or died).
    pub fn recv<T: for<'de> Deserialize<'de>>(&self) -> io::Result<Option<(T, Option<OwnedFd>)>> {
        let mut buf = [0u8; 8192];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut anc = RecvAncillaryBuffer::new(&mut space);
        let mut reset_seen = false;
        let n = loop {
            match rustix::net::recvmsg(&self.fd, &mut [io::IoSliceMut::new(&mut buf)], &mut anc, RecvFlags::CMSG_CLOEXEC) {
                Ok(r) => break r.bytes,
                Err(rustix::io::Errno::INTR) => continue,
                // The peer closed with our messages unread: the kernel reports that once, ahead
                // of what the peer had sent before closing (its last words, e.g. Failed).
                Err(rustix::io::Errno::CONNRESET) if !reset_seen => {
                    reset_seen = true;
                    continue;
                }
                Err(rustix::io::Errno::CONNRESET) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        };
        let mut fd = None;
        for m in anc.drain() {
            if let RecvAncillaryMessage::ScmRights(mut fds) = m {
                fd = fds.next();
            }
        }
        if n == 0 {
            return Ok(None);
        }
        let msg = serde_json::from_slice(&buf[..n]).map_err(io::Error::other)?;
        Ok(Some((msg, fd)))
    }
}
