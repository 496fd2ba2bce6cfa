//! Archive bodies (`docker cp`, `load`, `import`, `export`) cross between an async connection and
//! a blocking tar reader: the daemon reads request bodies that way, the CLI response bodies.

use std::io::Read;

use tokio::sync::mpsc::Receiver;

/// One piece of a body as a task forwards it: its bytes, or why the body ended early.
pub type Chunk = Result<bytes::Bytes, String>;

/// A blocking reader over the chunks an async task forwards (read it on a blocking thread). The
/// body ends when the sender is dropped; an `Err` chunk ends it with that error.
pub struct ChunkReader {
    rx: Receiver<Chunk>,
    cur: bytes::Bytes,
}

impl ChunkReader {
    pub fn new(rx: Receiver<Chunk>) -> ChunkReader {
        ChunkReader { rx, cur: bytes::Bytes::new() }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_read_as_one_stream_and_an_error_ends_it() {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tx.try_send(Ok(bytes::Bytes::from_static(b"ab"))).unwrap();
        tx.try_send(Ok(bytes::Bytes::from_static(b"cde"))).unwrap();
        tx.try_send(Err("connection reset".to_owned())).unwrap();
        drop(tx);
        let mut r = ChunkReader::new(rx);
        let mut buf = [0u8; 4];
        assert_eq!(r.read(&mut buf).unwrap(), 2);
        assert_eq!(r.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"cde");
        assert_eq!(r.read(&mut buf).unwrap_err().to_string(), "connection reset");
        assert_eq!(r.read(&mut buf).unwrap(), 0);
    }
}
