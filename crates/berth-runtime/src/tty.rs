//! The container's terminal: a pty made from the container's own devpts instance, the slave as
//! its controlling terminal and stdio, the master handed out over the console socket.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::OFlags;
use rustix::pty::OpenptFlags;

use crate::process::init::{InitFail, StepExt};

/// Opens a pty in the current mount namespace; makes the slave the controlling terminal and
/// stdin/stdout/stderr of this process; binds it on /dev/console when `console` is set.
/// Returns the master.
pub fn setup(size: Option<(u16, u16)>, console: bool) -> Result<OwnedFd, InitFail> {
    let master = rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).step("open /dev/ptmx")?;
    rustix::pty::unlockpt(&master).step("unlock pty")?;
    let slave = rustix::pty::ioctl_tiocgptpeer(&master, OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .step("open pty slave")?;
    if let Some((rows, cols)) = size {
        let ws = rustix::termios::Winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        rustix::termios::tcsetwinsize(&slave, ws).step("set console size")?;
    }
    if console {
        bind_console(slave.as_fd()).step("bind pty on /dev/console")?;
    }
    rustix::process::setsid().step("setsid")?;
    rustix::process::ioctl_tiocsctty(&slave).step("make pty the controlling terminal")?;
    rustix::stdio::dup2_stdin(&slave).step("dup pty to stdin")?;
    rustix::stdio::dup2_stdout(&slave).step("dup pty to stdout")?;
    rustix::stdio::dup2_stderr(&slave).step("dup pty to stderr")?;
    Ok(master)
}

fn bind_console(slave: BorrowedFd<'_>) -> io::Result<()> {
    let root = rustix::fs::open("/", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, rustix::fs::Mode::empty())?;
    let target = crate::rootfs::resolve::touch_in_root(root.as_fd(), Path::new("/dev/console"))?;
    // The slave fd is a real open file of the container's devpts: clone a mount of it.
    crate::rootfs::bind_onto(slave, Path::new(""), &target)?;
    Ok(())
}

/// Sends a pty master to a console socket (`--console-socket`), as runc does: one SCM_RIGHTS
/// message whose payload is the pty's name.
pub fn send_to_console_socket(path: &Path, master: BorrowedFd<'_>) -> io::Result<()> {
    use std::mem::MaybeUninit;
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
    let sock = std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| io::Error::new(e.kind(), format!("connect to console socket {}: {e}", path.display())))?;
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut anc = SendAncillaryBuffer::new(&mut space);
    let fds = [master];
    anc.push(SendAncillaryMessage::ScmRights(&fds));
    rustix::net::sendmsg(&sock, &[io::IoSlice::new(b"/dev/ptmx")], &mut anc, SendFlags::NOSIGNAL)?;
    Ok(())
}
