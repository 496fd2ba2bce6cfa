//! Reading a container's json-file log for `GET /containers/{id}/logs`: stream selection,
//! since/until, tail, timestamps, and follow (new lines as the shim appends them, until the
//! container has stopped and the file is drained).

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::mpsc;

pub use berth_shim::protocol::frame_header;

use crate::error::{Error, Result};
use crate::policy::Principal;
use crate::Engine;

#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub stdout: bool,
    pub stderr: bool,
    pub follow: bool,
    /// Unix nanoseconds.
    pub since: Option<i128>,
    pub until: Option<i128>,
    pub timestamps: bool,
    /// Only the last N lines (None: all).
    pub tail: Option<usize>,
}

/// One log entry: stream 1 (stdout) or 2 (stderr), its bytes (with the timestamp prefix when
/// asked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk {
    pub stream: u8,
    pub data: Vec<u8>,
}

#[derive(Deserialize)]
struct Line {
    log: String,
    stream: String,
    time: String,
}

/// How often a followed log is checked for growth.
const POLL: Duration = Duration::from_millis(50);

fn chunk_of(line: &str, opts: &LogOptions) -> Option<LogChunk> {
    let l: Line = serde_json::from_str(line).ok()?;
    let stream = match l.stream.as_str() {
        "stdout" if opts.stdout => 1,
        "stderr" if opts.stderr => 2,
        _ => return None,
    };
    let t = crate::time::parse_rfc3339(&l.time);
    if opts.since.is_some_and(|s| t.is_some_and(|t| t <= s)) || opts.until.is_some_and(|u| t.is_some_and(|t| t > u)) {
        return None;
    }
    let mut data = Vec::with_capacity(l.log.len() + 32);
    if opts.timestamps {
        data.extend_from_slice(l.time.as_bytes());
        data.push(b' ');
    }
    data.extend_from_slice(l.log.as_bytes());
    Some(LogChunk { stream, data })
}

/// Reads the next complete line into `line`; false at the end of what is written so far. A
/// line still being written is left to be read again later.
fn next_line(reader: &mut BufReader<std::fs::File>, line: &mut String, pos: &mut u64) -> bool {
    line.clear();
    match reader.read_line(line) {
        Ok(n) if n > 0 && line.ends_with('\n') => {
            *pos += n as u64;
            true
        }
        Ok(0) | Err(_) => false,
        Ok(_) => {
            let _ = reader.seek(SeekFrom::Start(*pos));
            false
        }
    }
}

impl Engine {
    /// Starts reading the log; returns the chunks as they come and whether the container has a
    /// tty (then the API sends them raw, else in multiplexed frames).
    pub fn logs(&self, principal: &Principal, key: &str, opts: LogOptions) -> Result<(mpsc::Receiver<LogChunk>, bool)> {
        if !opts.stdout && !opts.stderr {
            return Err(Error::InvalidParameter("Bad parameters: you must choose at least one stream".into()));
        }
        let ctr = self.find(principal, key)?;
        let (tty, driver) = {
            let r = ctr.rec();
            (r.config.tty == Some(true), r.host_config.log_config.as_ref().and_then(|l| l.kind.clone()).unwrap_or_default())
        };
        if driver == "none" {
            return Err(Error::InvalidParameter("configured logging driver does not support reading".into()));
        }
        let path = self.log_path(&ctr.id);
        let (tx, rx) = mpsc::channel(64);
        let ctr = ctr.clone();
        tokio::task::spawn_blocking(move || {
            let Ok(file) = std::fs::File::open(&path) else { return };
            let mut reader = BufReader::new(file);
            let mut line = String::new();
            // The whole file first, with `tail` applied.
            let mut first: std::collections::VecDeque<LogChunk> = Default::default();
            let mut pos = 0u64;
            while next_line(&mut reader, &mut line, &mut pos) {
                if let Some(c) = chunk_of(line.trim_end(), &opts) {
                    first.push_back(c);
                    if opts.tail.is_some_and(|t| first.len() > t) {
                        first.pop_front();
                    }
                }
            }
            for c in first {
                if tx.blocking_send(c).is_err() {
                    return;
                }
            }
            if !opts.follow {
                return;
            }
            loop {
                let live = ctr.rec().state.status.is_live();
                let mut got = false;
                while next_line(&mut reader, &mut line, &mut pos) {
                    got = true;
                    if let Some(c) = chunk_of(line.trim_end(), &opts) {
                        if tx.blocking_send(c).is_err() {
                            return;
                        }
                    }
                }
                if opts.until.is_some_and(|u| crate::time::now_nanos() > u) || tx.is_closed() {
                    return;
                }
                if !got && !live {
                    return;
                }
                std::thread::sleep(POLL);
            }
        });
        Ok((rx, tty))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_filter_by_stream_and_time() {
        let opts = LogOptions { stdout: true, stderr: false, timestamps: true, since: Some(1_000_000_000), ..Default::default() };
        let l = r#"{"log":"hi\n","stream":"stdout","time":"1970-01-01T00:00:02.000000000Z"}"#;
        assert_eq!(chunk_of(l, &opts), Some(LogChunk { stream: 1, data: b"1970-01-01T00:00:02.000000000Z hi\n".to_vec() }));
        let e = r#"{"log":"x","stream":"stderr","time":"1970-01-01T00:00:02.000000000Z"}"#;
        assert_eq!(chunk_of(e, &opts), None);
        let old = r#"{"log":"x","stream":"stdout","time":"1970-01-01T00:00:00.500000000Z"}"#;
        assert_eq!(chunk_of(old, &opts), None);
        assert_eq!(chunk_of("not json", &opts), None);
    }
}
