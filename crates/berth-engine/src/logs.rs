//! Log drivers and reading a container's log for `GET /containers/{id}/logs`: stream
//! selection, since/until, tail, timestamps, and follow (new lines as the shim appends them,
//! across rotations, until the container has stopped and the file is drained).
//!
//! Drivers: `json-file` (Docker's format; `max-size`/`max-file` rotate it), `local` (stored
//! in the same format, rotated at 20 MB × 5 files by default, as Docker's `local` is sized;
//! not compressed), `none`.

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::mpsc;

pub use berth_shim::protocol::frame_header;

/// Takes the complete multiplexed frames (8-byte header, then the payload) from the front of
/// `buf` and returns their payloads joined; a partial frame stays for more bytes.
pub fn take_frames(buf: &mut Vec<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    while buf.len() - at >= 8 {
        let len = u32::from_be_bytes([buf[at + 4], buf[at + 5], buf[at + 6], buf[at + 7]]) as usize;
        if buf.len() - at < 8 + len {
            break;
        }
        out.extend_from_slice(&buf[at + 8..at + 8 + len]);
        at += 8 + len;
    }
    buf.drain(..at);
    out
}

use berth_api_types::container::HostConfig;
use berth_shim::log::Rotate;

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
    /// `--details`: each line after the entry's attributes and a space, as dockerd writes it.
    /// berth's entries have none (the log options that add them are refused), so a space.
    pub details: bool,
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
    // `since` is inclusive (dockerd shows a line stamped exactly then), `until` too.
    if opts.since.is_some_and(|s| t.is_some_and(|t| t < s)) || opts.until.is_some_and(|u| t.is_some_and(|t| t > u)) {
        return None;
    }
    let mut data = Vec::with_capacity(l.log.len() + 32);
    if opts.timestamps {
        data.extend_from_slice(l.time.as_bytes());
        data.push(b' ');
    }
    if opts.details {
        data.push(b' ');
    }
    data.extend_from_slice(l.log.as_bytes());
    Some(LogChunk { stream, data })
}

/// How a container's output is logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// `json-file`, `local` or `none`.
    pub driver: String,
    pub rotate: Option<Rotate>,
}

/// `max-size` as Docker reads it: a number with an optional decimal unit (`10m` is 10 MB).
fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim().to_ascii_lowercase();
    let v = v.strip_suffix('b').unwrap_or(&v);
    let (num, mult) = match v.chars().last()? {
        'k' => (&v[..v.len() - 1], 1e3),
        'm' => (&v[..v.len() - 1], 1e6),
        'g' => (&v[..v.len() - 1], 1e9),
        't' => (&v[..v.len() - 1], 1e12),
        _ => (v, 1.0),
    };
    let n: f64 = num.trim().parse().ok()?;
    (n > 0.0).then_some((n * mult) as u64)
}

/// The log driver and rotation `host` asks for, checked; unknown drivers and options are
/// refused by name.
pub fn log_settings(host: &HostConfig) -> Result<LogSettings> {
    let lc = host.log_config.as_ref();
    let driver = match lc.and_then(|l| l.kind.as_deref()).unwrap_or("") {
        "" | "json-file" => "json-file",
        "local" => "local",
        "none" => "none",
        other => return Err(Error::NotImplemented(format!("log driver {other:?} (berth has json-file, local and none)"))),
    };
    let opts = lc.and_then(|l| l.config.clone()).unwrap_or_default();
    let (mut max_size, mut max_files) = if driver == "local" { (Some(20 << 20), 5u32) } else { (None, 1u32) };
    for (k, v) in &opts {
        match (driver, k.as_str()) {
            ("none", _) => return Err(Error::InvalidParameter(format!("unknown log opt '{k}' for none log driver"))),
            (_, "max-size") => max_size = Some(parse_size(v).ok_or_else(|| Error::InvalidParameter(format!("invalid max-size {v:?}: want a size such as 10m")))?),
            (_, "max-file") => {
                max_files = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| Error::InvalidParameter(format!("invalid max-file {v:?}: want a number of at least 1")))?;
            }
            (_, "compress") if v == "false" => {}
            (_, "compress") => return Err(Error::NotImplemented("compressed rotated logs (--log-opt compress)".into())),
            (_, "labels" | "labels-regex" | "env" | "env-regex" | "tag" | "mode" | "max-buffer-size") => {
                return Err(Error::NotImplemented(format!("log option {k}")));
            }
            (d, _) => return Err(Error::InvalidParameter(format!("unknown log opt '{k}' for {d} log driver"))),
        }
    }
    if max_files > 1 && max_size.is_none() {
        return Err(Error::InvalidParameter("max-file can only be set when max-size is set".into()));
    }
    Ok(LogSettings { driver: driver.to_owned(), rotate: max_size.map(|max_size| Rotate { max_size, max_files }) })
}

/// Reads `file` from `start`, adding the chunks the filters keep to `out` (only the last
/// `tail` when there is one); returns the reader and where it stopped, for follow.
fn read_chunks(file: &Path, start: u64, opts: &LogOptions, out: &mut std::collections::VecDeque<LogChunk>, line: &mut String) -> Option<(BufReader<std::fs::File>, u64)> {
    let mut r = BufReader::new(std::fs::File::open(file).ok()?);
    let mut pos = start;
    r.seek(SeekFrom::Start(start)).ok()?;
    while next_line(&mut r, line, &mut pos) {
        if let Some(c) = chunk_of(line.trim_end(), opts) {
            out.push_back(c);
            if opts.tail.is_some_and(|t| out.len() > t) {
                out.pop_front();
            }
        }
    }
    Some((r, pos))
}

/// Where the last `n` lines of `file` begin (0 when it has no more than that).
fn tail_offset(file: &mut std::fs::File, n: usize) -> std::io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata()?.len();
    let mut end = len;
    let mut seen = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    while end > 0 {
        let step = end.min(buf.len() as u64) as usize;
        let start = end - step as u64;
        file.read_exact_at(&mut buf[..step], start)?;
        for i in (0..step).rev() {
            let at = start + i as u64;
            if buf[i] == b'\n' && at + 1 != len {
                seen += 1;
                if seen == n {
                    return Ok(at + 1);
                }
            }
        }
        end = start;
    }
    Ok(0)
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
        let (tty, settings) = {
            let r = ctr.rec();
            (r.config.tty == Some(true), log_settings(&r.host_config)?)
        };
        if settings.driver == "none" {
            return Err(Error::InvalidParameter("configured logging driver does not support reading".into()));
        }
        let path = self.log_path(&ctr.id);
        let max_files = settings.rotate.map(|r| r.max_files).unwrap_or(1);
        let (tx, rx) = mpsc::channel(64);
        let ctr = ctr.clone();
        tokio::task::spawn_blocking(move || {
            use std::os::unix::fs::MetadataExt;
            let mut line = String::new();
            // Everything logged so far, rotated files first, with `tail` applied. With a tail,
            // reading starts that many lines before the end of the live file (further back
            // only when filters leave fewer), so `--tail 10` of a huge log is quick.
            let mut first: std::collections::VecDeque<LogChunk> = Default::default();
            // The tail, found in the live file alone: start `want` lines before its end and
            // go further back while the filters keep fewer than asked.
            let mut live = None;
            if let Some(tail) = opts.tail {
                let mut want = tail.max(1);
                loop {
                    let start = std::fs::File::open(&path).ok().and_then(|mut f| tail_offset(&mut f, want).ok()).unwrap_or(0);
                    if start == 0 {
                        break; // the whole log is needed: below
                    }
                    first.clear();
                    let Some(r) = read_chunks(&path, start, &opts, &mut first, &mut line) else { break };
                    if first.len() >= tail {
                        live = Some(r);
                        break;
                    }
                    want = want.saturating_mul(4);
                }
            }
            // Else everything, rotated files first; the reader ends on the live file.
            let (mut reader, mut pos) = match live {
                Some(r) => r,
                None => {
                    first.clear();
                    let files = berth_shim::log::log_files(&path, max_files);
                    let mut last = None;
                    for f in &files {
                        if let Some(r) = read_chunks(f, 0, &opts, &mut first, &mut line) {
                            last = Some((f == &path, r));
                        }
                    }
                    match last {
                        Some((true, r)) => r,
                        _ => return,
                    }
                }
            };
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
                // Rotated away: the file we hold is done; go on with the new one.
                let ours = reader.get_ref().metadata().map(|m| m.ino()).ok();
                if std::fs::metadata(&path).map(|m| m.ino()).ok() != ours {
                    // what reached the old file between our last read and the rotation
                    while next_line(&mut reader, &mut line, &mut pos) {
                        if let Some(c) = chunk_of(line.trim_end(), &opts) {
                            if tx.blocking_send(c).is_err() {
                                return;
                            }
                        }
                    }
                    if let Ok(file) = std::fs::File::open(&path) {
                        reader = BufReader::new(file);
                        pos = 0;
                        continue;
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
    fn tails_start_that_many_lines_from_the_end() {
        let p = std::env::temp_dir().join(format!("berth-tail-{}", std::process::id()));
        std::fs::write(&p, "a\nb\nc\nd\n").expect("write");
        let mut f = std::fs::File::open(&p).expect("open");
        assert_eq!(tail_offset(&mut f, 1).expect("1"), 6);
        assert_eq!(tail_offset(&mut f, 3).expect("3"), 2);
        assert_eq!(tail_offset(&mut f, 4).expect("4"), 0);
        assert_eq!(tail_offset(&mut f, 9).expect("9"), 0);
        std::fs::remove_file(&p).expect("cleanup");
    }

    #[test]
    fn log_settings_follow_dockers_options() {
        let host = |driver: &str, opts: &[(&str, &str)]| HostConfig {
            log_config: Some(berth_api_types::container::LogConfig {
                kind: Some(driver.into()),
                config: Some(opts.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            }),
            ..Default::default()
        };
        let s = log_settings(&host("json-file", &[("max-size", "10m"), ("max-file", "3")])).expect("json-file");
        assert_eq!(s.rotate, Some(Rotate { max_size: 10_000_000, max_files: 3 }));
        assert_eq!(log_settings(&HostConfig::default()).expect("default").rotate, None);
        assert_eq!(log_settings(&host("local", &[])).expect("local").rotate, Some(Rotate { max_size: 20 << 20, max_files: 5 }));
        assert_eq!(log_settings(&host("json-file", &[("max-size", "1.5k")])).expect("k").rotate.map(|r| r.max_size), Some(1500));
        assert!(log_settings(&host("json-file", &[("max-file", "3")])).is_err(), "max-file needs max-size");
        assert_eq!(log_settings(&host("syslog", &[])).expect_err("syslog").kind(), crate::ErrorKind::NotImplemented);
        assert_eq!(log_settings(&host("json-file", &[("tag", "x")])).expect_err("tag").kind(), crate::ErrorKind::NotImplemented);
        assert!(log_settings(&host("json-file", &[("max-size", "lots")])).is_err());
        assert!(log_settings(&host("none", &[("max-size", "1m")])).is_err());
    }

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
        let details = LogOptions { details: true, ..opts };
        assert_eq!(chunk_of(l, &details), Some(LogChunk { stream: 1, data: b"1970-01-01T00:00:02.000000000Z  hi\n".to_vec() }), "no attributes, then a space");
    }
}
