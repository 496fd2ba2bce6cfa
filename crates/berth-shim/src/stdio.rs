//! The container's stdio as the shim makes it: pipes whose child ends the init inherits as
//! fds 0/1/2, or a pty master received over a console socket; and the shim's own /dev/null.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
use rustix::pipe::PipeFlags;

use crate::error::Error;

/// The shim's ends: output to read, and stdin to write when it is kept open.
pub(crate) struct ShimEnds {
    pub stdin: Option<OwnedFd>,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// The ends the init inherits; dropped once it has them.
pub(crate) struct ChildEnds {
    stdin: Option<OwnedFd>,
    stdout: OwnedFd,
    stderr: OwnedFd,
}

pub(crate) fn pipes(open_stdin: bool) -> io::Result<(ShimEnds, ChildEnds)> {
    let (out_r, out_w) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?;
    let (err_r, err_w) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?;
    let (in_r, in_w) = if open_stdin {
        let (r, w) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?;
        (Some(r), Some(w))
    } else {
        (None, None)
    };
    for fd in [out_r.as_fd(), err_r.as_fd()].into_iter().chain(in_w.as_ref().map(|f| f.as_fd())) {
        set_nonblocking(fd)?;
    }
    Ok((ShimEnds { stdin: in_w, stdout: out_r, stderr: err_r }, ChildEnds { stdin: in_r, stdout: out_w, stderr: err_w }))
}

impl ChildEnds {
    /// Puts the child ends on our fds 0/1/2 (stdin stays /dev/null without `--open-stdin`), for
    /// the init to inherit.
    pub(crate) fn install(&self) -> io::Result<()> {
        if let Some(i) = &self.stdin {
            rustix::stdio::dup2_stdin(i)?;
        }
        rustix::stdio::dup2_stdout(&self.stdout)?;
        rustix::stdio::dup2_stderr(&self.stderr)?;
        Ok(())
    }
}

/// Points our fds 0/1/2 at /dev/null.
pub(crate) fn to_dev_null() -> io::Result<()> {
    let null = rustix::fs::open("/dev/null", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())?;
    rustix::stdio::dup2_stdin(&null)?;
    rustix::stdio::dup2_stdout(&null)?;
    rustix::stdio::dup2_stderr(&null)?;
    Ok(())
}

pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    rustix::io::ioctl_fionbio(fd, true)?;
    Ok(())
}

/// Binds a filesystem unix socket readable and writable by root alone (mode 0600 from the
/// start: the umask is tightened around bind).
pub(crate) fn bind_private(path: &Path) -> io::Result<UnixListener> {
    let old = rustix::process::umask(Mode::from_bits_truncate(0o077));
    let bound = UnixListener::bind(path);
    rustix::process::umask(old);
    let l = bound?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(l)
}

/// Takes the pty master the runtime sent to `listener` during create.
pub(crate) fn receive_console(listener: &UnixListener) -> Result<OwnedFd, Error> {
    listener.set_nonblocking(true).map_err(Error::sys("console socket"))?;
    let (conn, _) = match listener.accept() {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(Error::NoConsole),
        Err(e) => return Err(Error::Sys { what: "accept on the console socket", source: e }),
    };
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut anc = RecvAncillaryBuffer::new(&mut space);
    let mut name = [0u8; 64];
    rustix::net::recvmsg(&conn, &mut [io::IoSliceMut::new(&mut name)], &mut anc, RecvFlags::CMSG_CLOEXEC)
        .map_err(|e| Error::Sys { what: "receive the pty master", source: e.into() })?;
    let master = anc.drain().find_map(|m| match m {
        RecvAncillaryMessage::ScmRights(mut fds) => fds.next(),
        _ => None,
    });
    let master = master.ok_or(Error::NoConsole)?;
    set_nonblocking(master.as_fd()).map_err(Error::sys("make the pty master non-blocking"))?;
    Ok(master)
}
