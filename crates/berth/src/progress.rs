//! Docker's JSON progress stream (pull, push, load) shown as docker shows it: on a terminal, one
//! line per layer, rewritten in place; otherwise plain status lines, without progress bars.

use std::collections::HashMap;
use std::io::Write;

use berth_api_types::image::ProgressMessage;
use hyper::body::Incoming;

use crate::error::{CliError, Result};
use crate::format::human_size;

/// Renders messages to `out`, tracking which line each layer ID is on.
pub struct Display<W: Write> {
    out: W,
    terminal: bool,
    /// Layer ID → its line, counted from the first.
    lines: HashMap<String, usize>,
    count: usize,
}

impl<W: Write> Display<W> {
    pub fn new(out: W, terminal: bool) -> Display<W> {
        Display { out, terminal, lines: HashMap::new(), count: 0 }
    }

    /// Shows one message; a message carrying an error ends the stream with it.
    pub fn show(&mut self, m: &ProgressMessage) -> Result<()> {
        if let Some(d) = &m.error_detail {
            return Err(CliError::new(d.message.clone()));
        }
        if let Some(e) = &m.error {
            return Err(CliError::new(e.clone()));
        }
        let bar = bar(m);
        if !self.terminal && !bar.is_empty() {
            // Progress bars only on a terminal.
            return Ok(());
        }
        let mut text = String::new();
        if let Some(id) = &m.id {
            text.push_str(id);
            text.push_str(": ");
        }
        match (&m.stream, &m.status) {
            (Some(s), _) => text.push_str(s),
            (None, Some(st)) if self.terminal && !bar.is_empty() => text.push_str(&format!("{st} {bar}")),
            (None, Some(st)) => text.push_str(st),
            (None, None) => {
                if m.aux.is_some() && m.id.is_none() {
                    return Ok(());
                }
            }
        }
        let w = &mut self.out;
        match m.id.as_ref().filter(|_| self.terminal && m.stream.is_none()) {
            Some(id) => {
                // One line per ID: go up to it, rewrite it, come back down.
                let line = match self.lines.get(id) {
                    Some(l) => *l,
                    None => {
                        self.lines.insert(id.clone(), self.count);
                        self.count += 1;
                        let _ = writeln!(w);
                        self.count - 1
                    }
                };
                let up = self.count - line;
                let _ = write!(w, "\x1b[{up}A\x1b[2K\r{text}\r\x1b[{up}B");
            }
            None => {
                if text.ends_with('\n') {
                    let _ = write!(w, "{text}");
                } else {
                    let _ = writeln!(w, "{text}");
                }
                if self.terminal && m.stream.is_none() {
                    // Lines printed below the layer lines move them up by one.
                    self.count += 1;
                } else if self.terminal {
                    self.count += text.matches('\n').count().max(1);
                }
            }
        }
        let _ = w.flush();
        Ok(())
    }
}

/// docker's progress bar, `[=====>      ]  1.2MB/3.4MB`, or the daemon's own rendering.
fn bar(m: &ProgressMessage) -> String {
    if let Some(p) = m.progress.as_ref().filter(|p| !p.is_empty()) {
        return p.clone();
    }
    let Some(d) = &m.progress_detail else { return String::new() };
    let (Some(cur), Some(total)) = (d.current, d.total) else {
        return d.current.map(human_size).unwrap_or_default();
    };
    if total <= 0 {
        return human_size(cur);
    }
    let width = 50i64;
    let filled = (cur.min(total) * width / total).max(0);
    let mut s = String::from("[");
    s.push_str(&"=".repeat(filled as usize));
    if filled < width {
        s.push('>');
        s.push_str(&" ".repeat((width - filled - 1) as usize));
    }
    s.push_str(&format!("] {:>8}/{}", human_size(cur), human_size(total)));
    s
}

/// Reads a progress stream to its end, showing each message; the last `aux` value is returned
/// (push's digest, for instance).
pub async fn follow<W: Write>(body: Incoming, display: &mut Display<W>) -> Result<Option<serde_json::Value>> {
    let mut aux = None;
    let mut handle = |line: &[u8], display: &mut Display<W>| -> Result<()> {
        let line = String::from_utf8_lossy(line);
        let line = line.trim();
        if line.is_empty() {
            return Ok(());
        }
        let m: ProgressMessage = serde_json::from_str(line).map_err(|e| CliError::new(format!("read the daemon's progress: {e}: {line}")))?;
        if m.aux.is_some() {
            aux = m.aux.clone();
        }
        display.show(&m)
    };
    let rest = crate::client::read_lines(body, "the daemon's progress", |line| handle(line, display).map(|()| true)).await?;
    handle(&rest, display)?;
    Ok(aux)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(json: &str) -> ProgressMessage {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn plain_output_skips_bars_and_keeps_statuses() {
        let mut out = Vec::new();
        let mut d = Display::new(&mut out, false);
        d.show(&msg(r#"{"status":"Pulling from library/busybox","id":"latest"}"#)).unwrap();
        d.show(&msg(r#"{"status":"Downloading","id":"abc","progressDetail":{"current":10,"total":100}}"#)).unwrap();
        d.show(&msg(r#"{"status":"Pull complete","id":"abc","progressDetail":{}}"#)).unwrap();
        d.show(&msg(r#"{"stream":"Loaded image: busybox:latest\n"}"#)).unwrap();
        let e = d.show(&msg(r#"{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}"#)).unwrap_err();
        assert_eq!(e.message, "manifest unknown");
        assert_eq!(String::from_utf8(out).unwrap(), "latest: Pulling from library/busybox\nabc: Pull complete\nLoaded image: busybox:latest\n");
    }

    #[test]
    fn terminal_output_rewrites_one_line_per_layer() {
        let mut out = Vec::new();
        let mut d = Display::new(&mut out, true);
        d.show(&msg(r#"{"status":"Pulling fs layer","id":"a"}"#)).unwrap();
        d.show(&msg(r#"{"status":"Pulling fs layer","id":"b"}"#)).unwrap();
        d.show(&msg(r#"{"status":"Downloading","id":"a","progressDetail":{"current":50,"total":100}}"#)).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("\x1b[2A\x1b[2K\ra: Downloading [=========================>"), "{s:?}");
        assert!(s.contains("50B/100B"), "{s:?}");
    }
}
