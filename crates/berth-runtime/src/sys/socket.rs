//! What a connected socket still holds for its peer.

use std::io;
use std::os::fd::RawFd;

/// How many bytes written to the Unix stream socket `fd` its peer has not read yet
/// (`SIOCOUTQ`, the same request number as `TIOCOUTQ`). A server that must not send more
/// until the peer has taken what it sent asks this. A descriptor number, not a borrowed
/// descriptor: a server keeps one per connection, and a duplicate each would double its
/// descriptors; the caller keeps the socket open while it asks.
pub fn unread_by_peer(fd: RawFd) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: the ioctl stores one int through the pointer, which points at `n`, alive for
    // the call. A number that names no socket (closed, or reused) gets an error or another
    // descriptor's count: a wrong answer, never a write anywhere else.
    let r = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n as *mut libc::c_int) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;

    #[test]
    fn counts_what_the_peer_has_not_read() {
        let (mut a, mut b) = std::os::unix::net::UnixStream::pair().expect("pair");
        assert_eq!(unread_by_peer(a.as_raw_fd()).expect("ioctl"), 0);
        a.write_all(b"HTTP/1.1 101\r\n\r\n").expect("write");
        assert!(unread_by_peer(a.as_raw_fd()).expect("ioctl") > 0, "written, not read");
        let mut buf = [0u8; 64];
        let n = b.read(&mut buf).expect("read");
        assert_eq!(n, 16);
        assert_eq!(unread_by_peer(a.as_raw_fd()).expect("ioctl"), 0, "read whole");
    }
}
