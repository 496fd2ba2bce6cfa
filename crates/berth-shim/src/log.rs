//! Docker's json-file log: one `{"log","stream","time"}` object per line of output. Lines are
//! split on `\n`; a line longer than 16 KiB is written in pieces without the newline, as
//! Docker does, and a partial last line is written as is when its stream closes.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Docker's longest log entry; longer lines are split.
const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout = 1,
    Stderr = 2,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

#[derive(Serialize)]
struct Entry<'a> {
    log: &'a str,
    stream: &'static str,
    time: &'a str,
}

/// Docker's `max-size`/`max-file`: once the log has reached `max_size` bytes, before its next
/// entry, it is renamed to `LOG.1` (`LOG.1` to `LOG.2`, …, keeping `max_files` files in all)
/// and a new one begun; with one file it is emptied instead. As with dockerd, a file ends less
/// than one entry past `max_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotate {
    pub max_size: u64,
    pub max_files: u32,
}

/// The rotated files of the log at `path`, oldest first, then `path` itself: the order to
/// read them in.
pub fn log_files(path: &Path, max_files: u32) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = (1..max_files.max(1)).rev().map(|i| rotated(path, i)).filter(|p| p.exists()).collect();
    out.push(path.to_owned());
    out
}

fn rotated(path: &Path, i: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{i}"));
    PathBuf::from(s)
}

fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().create(true).append(true).mode(0o640).open(path)
}

/// Where a log writes: a file that rotation can replace, or memory in tests.
pub trait LogSink: Write + Sized {
    /// A fresh sink at `path` after the old one was rotated away.
    fn reopen(path: &Path) -> std::io::Result<Self>;
}

impl LogSink for std::fs::File {
    fn reopen(path: &Path) -> std::io::Result<Self> {
        open_append(path)
    }
}

impl LogSink for Vec<u8> {
    fn reopen(_: &Path) -> std::io::Result<Self> {
        Ok(Vec::new())
    }
}

struct Rotation {
    path: PathBuf,
    limits: Rotate,
    written: u64,
}

/// An open json-file log and each stream's unfinished line.
pub struct JsonLog<W: LogSink = std::fs::File> {
    out: W,
    partial: [Vec<u8>; 2],
    rotation: Option<Rotation>,
}

impl JsonLog {
    /// Opens (appending to) the log file, mode 0640, rotating it as `rotate` says.
    pub fn open(path: &Path, rotate: Option<Rotate>) -> std::io::Result<JsonLog> {
        Ok(JsonLog::with_rotation(open_append(path)?, path, rotate))
    }
    /// A log already open at `path` (appending), rotated as `rotate` says.
    pub fn with_rotation(out: std::fs::File, path: &Path, rotate: Option<Rotate>) -> JsonLog {
        let written = out.metadata().map(|m| m.len()).unwrap_or(0);
        let rotation = rotate.map(|limits| Rotation { path: path.to_owned(), limits, written });
        JsonLog { out, partial: [Vec::new(), Vec::new()], rotation }
    }
}

impl<W: LogSink> JsonLog<W> {
    pub fn new(out: W) -> Self {
        JsonLog { out, partial: [Vec::new(), Vec::new()], rotation: None }
    }


    /// Logs `data` read from `stream`: every complete line now, the rest when it completes.
    pub fn write(&mut self, stream: Stream, data: &[u8]) {
        let time = berth_runtime::state::now_rfc3339();
        let mut batch = Vec::new();
        let partial = &mut self.partial[stream as usize - 1];
        let mut rest = data;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(i + 1);
            partial.extend_from_slice(line);
            while partial.len() > MAX_LINE {
                let piece: Vec<u8> = partial.drain(..MAX_LINE).collect();
                encode(&mut batch, stream, &piece, &time);
            }
            encode(&mut batch, stream, partial, &time);
            partial.clear();
            rest = tail;
        }
        partial.extend_from_slice(rest);
        while partial.len() >= MAX_LINE {
            let piece: Vec<u8> = partial.drain(..MAX_LINE).collect();
            encode(&mut batch, stream, &piece, &time);
        }
        self.emit(&batch);
    }

    /// The stream ended: write its partial line as is.
    pub fn close(&mut self, stream: Stream) {
        let partial = std::mem::take(&mut self.partial[stream as usize - 1]);
        if !partial.is_empty() {
            let mut batch = Vec::new();
            encode(&mut batch, stream, &partial, &berth_runtime::state::now_rfc3339());
            self.emit(&batch);
        }
    }

    /// A full disk must not stop the container: a failed write loses those lines.
    fn emit(&mut self, batch: &[u8]) {
        if batch.is_empty() {
            return;
        }
        let Some(r) = &mut self.rotation else {
            let _ = self.out.write_all(batch);
            return;
        };
        // Entry by entry (each ends with a newline), rotating before one that would begin at
        // or past the limit; runs of entries that begin below it go out in one write.
        let mut rest = batch;
        while !rest.is_empty() {
            if r.written >= r.limits.max_size {
                if let Ok(fresh) = rotate(&r.path, r.limits.max_files).and_then(|_| W::reopen(&r.path)) {
                    self.out = fresh;
                }
                r.written = 0;
            }
            let mut take = 0;
            for line in rest.split_inclusive(|&b| b == b'\n') {
                if r.written + take as u64 >= r.limits.max_size {
                    break;
                }
                take += line.len();
            }
            let _ = self.out.write_all(&rest[..take]);
            r.written += take as u64;
            rest = &rest[take..];
        }
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Shifts `path.1`… up by one (the oldest falls off) and moves `path` to `path.1`; with one
/// file, empties `path`.
fn rotate(path: &Path, max_files: u32) -> std::io::Result<()> {
    if max_files <= 1 {
        return std::fs::OpenOptions::new().write(true).truncate(true).open(path).map(drop);
    }
    for i in (1..max_files - 1).rev() {
        match std::fs::rename(rotated(path, i), rotated(path, i + 1)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    std::fs::rename(path, rotated(path, 1))
}

fn encode(batch: &mut Vec<u8>, stream: Stream, line: &[u8], time: &str) {
    let log = String::from_utf8_lossy(line);
    serde_json::to_writer(&mut *batch, &Entry { log: &log, stream: stream.name(), time }).expect("log entry serializes");
    batch.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(out: &[u8]) -> Vec<(String, String)> {
        std::str::from_utf8(out)
            .expect("utf-8")
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
                assert!(v["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{l}");
                (v["log"].as_str().expect("log").to_owned(), v["stream"].as_str().expect("stream").to_owned())
            })
            .collect()
    }

    #[test]
    fn lines_are_split_joined_across_reads_and_kept_per_stream() {
        let mut log = JsonLog::new(Vec::new());
        log.write(Stream::Stdout, b"one\ntw");
        log.write(Stream::Stderr, b"err\n");
        log.write(Stream::Stdout, b"o\nthree");
        log.close(Stream::Stdout);
        let got = entries(&log.into_inner());
        let want = [("one\n", "stdout"), ("err\n", "stderr"), ("two\n", "stdout"), ("three", "stdout")];
        assert_eq!(got, want.map(|(a, b)| (a.to_owned(), b.to_owned())));
    }

    #[test]
    fn logs_rotate_at_max_size_keeping_max_files() {
        let dir = std::env::temp_dir().join(format!("berth-log-rot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("c-json.log");
        let mut log = JsonLog::open(&path, Some(Rotate { max_size: 300, max_files: 3 })).expect("open");
        for i in 0..40 {
            log.write(Stream::Stdout, format!("line {i}\n").as_bytes());
        }
        drop(log);
        let files = log_files(&path, 3);
        assert_eq!(files.len(), 3, "{files:?}");
        let all: Vec<String> = files.iter().flat_map(|f| entries(&std::fs::read(f).expect("read"))).map(|(l, _)| l).collect();
        assert!(all.last().is_some_and(|l| l == "line 39\n"), "{all:?}");
        assert!(!all.iter().any(|l| l == "line 0\n"), "the oldest lines went with the oldest file");
        let nums: Vec<u32> = all.iter().map(|l| l.trim()[5..].parse().expect("number")).collect();
        assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "in order, nothing lost in between: {nums:?}");
        // as with dockerd, a file ends with the entry that reached the limit
        let entry = r#"{"log":"line 39\n","stream":"stdout","time":"2026-01-01T00:00:00.000000000Z"}"#.len() as u64 + 1;
        for f in &files[..2] {
            let len = std::fs::metadata(f).expect("stat").len();
            assert!((300..300 + entry).contains(&len), "{}: {len} bytes", f.display());
        }
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn long_lines_are_cut_at_16k_and_quotes_are_escaped() {
        let mut log = JsonLog::new(Vec::new());
        let mut long = vec![b'x'; MAX_LINE + 10];
        long.extend_from_slice(b"\"q\"\n");
        log.write(Stream::Stdout, &long);
        let got = entries(&log.into_inner());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.len(), MAX_LINE);
        assert!(got[1].0.ends_with("x\"q\"\n"));
    }
}
