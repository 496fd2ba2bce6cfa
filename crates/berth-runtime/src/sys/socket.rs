//! What a connected socket still holds for its peer.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// How many bytes written to the Unix stream socket `fd` its peer has not read yet
/// (`SIOCOUTQ`, the same request number as `TIOCOUTQ`). A server that must not send more
/// until the peer has taken what it sent asks this.
pub fn unread_by_peer(fd: BorrowedFd<'_>) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ on a socket stores one int through the pointer, which points at `n`,
    // alive for the call; `fd` is a descriptor borrowed for the call's duration.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCOUTQ, &mut n as *mut libc::c_int) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    #[test]
    fn counts_what_the_peer_has_not_read() {
        let (mut a, mut b) = std::os::unix::net::UnixStream::pair().expect("pair");
        assert_eq!(unread_by_peer(a.as_fd()).expect("ioctl"), 0);
        a.write_all(b"HTTP/1.1 101\r\n\r\n").expect("write");
        assert!(unread_by_peer(a.as_fd()).expect("ioctl") > 0, "written, not read");
        let mut buf = [0u8; 64];
        let n = b.read(&mut buf).expect("read");
        assert_eq!(n, 16);
        assert_eq!(unread_by_peer(a.as_fd()).expect("ioctl"), 0, "read whole");
    }
}
