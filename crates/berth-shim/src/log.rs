//! Docker's json-file log: one `{"log","stream","time"}` object per line of output. Lines are
//! split on `\n`; a line longer than 16 KiB is written in pieces without the newline, as
//! Docker does, and a partial last line is written as is when its stream closes.

use std::io::Write;

use serde::Serialize;

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

/// An open json-file log and each stream's unfinished line.
pub struct JsonLog<W: Write = std::fs::File> {
    out: W,
    partial: [Vec<u8>; 2],
}

impl JsonLog {
    /// Opens (appending to) the log file, mode 0640.
    pub fn open(path: &std::path::Path) -> std::io::Result<JsonLog> {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new().create(true).append(true).mode(0o640).open(path)?;
        Ok(JsonLog::new(f))
    }
}

impl<W: Write> JsonLog<W> {
    pub fn new(out: W) -> Self {
        JsonLog { out, partial: [Vec::new(), Vec::new()] }
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
        if !batch.is_empty() {
            let _ = self.out.write_all(batch);
        }
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }
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
