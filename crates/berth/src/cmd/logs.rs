//! `logs`: a container's json-file log through the API, demultiplexed unless it has a TTY.

use std::io::Write;

use clap::Args;
use http::Method;
use http_body_util::BodyExt;

use crate::client::{p, q, Client};
use crate::error::{CliError, Result};
use crate::format::{now_secs, parse_rfc3339};

#[derive(Debug, Args)]
#[command(override_usage = "berth logs [OPTIONS] CONTAINER")]
pub struct LogsArgs {
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    /// Follow log output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long, value_name = "string")]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, value_name = "string", default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long, value_name = "string")]
    pub until: Option<String>,
    pub container: String,
}

/// Docker's `--since`/`--until` values: Unix seconds (`1700000000`, `1700000000.5`), RFC 3339,
/// or a duration before now (`10s`, `42m`, `1h30m`); the API wants Unix seconds.
pub fn timestamp_arg(flag: &str, v: &str, now: i64) -> Result<String> {
    if v.chars().all(|c| c.is_ascii_digit() || c == '.') && !v.is_empty() {
        return Ok(v.to_owned());
    }
    if let Some(t) = parse_rfc3339(v) {
        return Ok(t.to_string());
    }
    if let Some(t) = parse_rfc3339(&format!("{v}T00:00:00Z")).filter(|_| v.len() == 10) {
        return Ok(t.to_string());
    }
    let mut total = 0f64;
    let mut num = String::new();
    let mut any = false;
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let n: f64 = num.parse().map_err(|_| CliError::new(format!("invalid value for \"{flag}\": {v:?}: use a Unix time, an RFC 3339 time or a duration such as 42m")))?;
        num.clear();
        let unit = match c {
            'h' => 3600.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            's' => 1.0,
            _ => return Err(CliError::new(format!("invalid value for \"{flag}\": {v:?}: unknown unit {c:?}"))),
        };
        total += n * unit;
        any = true;
    }
    if !any || !num.is_empty() {
        return Err(CliError::new(format!("invalid value for \"{flag}\": {v:?}: use a Unix time, an RFC 3339 time or a duration such as 42m")));
    }
    Ok((now - total as i64).to_string())
}

/// Splits Docker's multiplexed stream as chunks arrive, writing each frame to stdout or stderr.
#[derive(Default)]
pub struct Demuxer {
    buf: Vec<u8>,
}

impl Demuxer {
    /// Writes every complete frame; fails when stdout or stderr is closed.
    pub fn feed(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(data);
        loop {
            if self.buf.len() < 8 {
                return Ok(());
            }
            let len = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
            if self.buf.len() < 8 + len {
                return Ok(());
            }
            let payload = &self.buf[8..8 + len];
            if self.buf[0] == 2 {
                let mut e = std::io::stderr().lock();
                e.write_all(payload).and_then(|()| e.flush())
            } else {
                let mut o = std::io::stdout().lock();
                o.write_all(payload).and_then(|()| o.flush())
            }?;
            self.buf.drain(..8 + len);
        }
    }
}

pub async fn logs(client: &Client, a: &LogsArgs) -> Result<i32> {
    let info = client.get_value(&format!("/containers/{}/json", p(&a.container))).await?;
    let tty = info.get("Config").get("Tty").truthy();
    let id = info.get("Id").as_str().unwrap_or(&a.container).to_owned();
    let now = now_secs();
    let mut path = format!(
        "/containers/{id}/logs?stdout=1&stderr=1&follow={}&timestamps={}&details={}&tail={}",
        u8::from(a.follow),
        u8::from(a.timestamps),
        u8::from(a.details),
        q(&a.tail)
    );
    if let Some(s) = &a.since {
        path.push_str(&format!("&since={}", timestamp_arg("--since", s, now)?));
    }
    if let Some(u) = &a.until {
        path.push_str(&format!("&until={}", timestamp_arg("--until", u, now)?));
    }
    let mut body = client.send(Method::GET, &path, None, &[]).await?.into_body();
    let mut demux = Demuxer::default();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| CliError::new(format!("read the logs of {}: {e}", a.container)))?;
        let Some(data) = frame.data_ref() else { continue };
        let written = if tty {
            let mut o = std::io::stdout().lock();
            o.write_all(data).and_then(|()| o.flush())
        } else {
            demux.feed(data)
        };
        if written.is_err() {
            // The reader went away (`berth logs -f web | head`): end as SIGPIPE would.
            return Ok(141);
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_and_until_spellings() {
        assert_eq!(timestamp_arg("--since", "1700000000", 0).unwrap(), "1700000000");
        assert_eq!(timestamp_arg("--since", "10m", 1000).unwrap(), "400");
        assert_eq!(timestamp_arg("--since", "1h30m", 10_000).unwrap(), "4600");
        assert_eq!(timestamp_arg("--since", "1970-01-01T00:01:00Z", 0).unwrap(), "60");
        assert!(timestamp_arg("--since", "soon", 0).is_err());
        assert!(timestamp_arg("--since", "10", 0).is_ok());
        assert!(timestamp_arg("--since", "10x", 0).is_err());
    }
}
