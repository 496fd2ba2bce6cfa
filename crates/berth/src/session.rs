//! An attached session over a hijacked connection (run, start -a, attach, exec): local stdin
//! to the container, its output to ours (raw with a TTY, demultiplexed from Docker's 8-byte
//! frames without), window sizes followed on SIGWINCH, signals forwarded without a TTY
//! (docker's sig-proxy), and the detach keys noticed so the caller knows not to wait.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http::Method;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::client::{Client, Hijacked};
use crate::error::{CliError, Result};

/// Docker's default detach keys.
pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

/// Docker's `detachKeys` spelling (`ctrl-p,ctrl-q`, `a`, `ctrl-@`) as bytes.
pub fn parse_detach_keys(spec: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for key in spec.split(',') {
        let k = key.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let b = match c.as_bytes() {
                [b'@'] => 0,
                [c @ b'a'..=b'z'] => c - b'a' + 1,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => return Err(CliError::new(format!("Unknown character: '{k}'"))),
            };
            out.push(b);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            return Err(CliError::new(format!("Unknown character: '{k}'")));
        }
    }
    Ok(out)
}

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The container's output ended.
    Eof,
    /// The user typed the detach keys: the container goes on.
    Detached,
}

/// Copies local stdin (when `stdin`) to `conn` and `conn` to stdout/stderr until the output
/// ends.
pub async fn pump(conn: Hijacked, tty: bool, stdin: bool, detach_keys: &[u8]) -> Result<Ended> {
    let (mut rd, mut wr) = tokio::io::split(conn);
    let detached = Arc::new(AtomicBool::new(false));
    let _input = if stdin {
        let keys = detach_keys.to_vec();
        let flag = detached.clone();
        Some(tokio::spawn(async move {
            let mut input = tokio::io::stdin();
            let mut buf = vec![0u8; 32 * 1024];
            let mut matched = 0;
            loop {
                let n = match input.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if !keys.is_empty() {
                    for &b in &buf[..n] {
                        if b == keys[matched] {
                            matched += 1;
                            if matched == keys.len() {
                                flag.store(true, Ordering::SeqCst);
                                matched = 0;
                            }
                        } else {
                            matched = usize::from(b == keys[0]);
                        }
                    }
                }
                if wr.write_all(&buf[..n]).await.is_err() || wr.flush().await.is_err() {
                    return;
                }
            }
            // End of our input: half-close, so the container sees end of file on its stdin.
            let _ = wr.shutdown().await;
        }))
    } else {
        // Keep the write half (and so the connection) open until the output ends.
        Some(tokio::spawn(async move {
            std::future::pending::<()>().await;
            drop(wr);
        }))
    };
    if tty {
        // A signal that would end us must not leave the terminal raw: the caller's guard
        // restores it when we return.
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).ok();
        let mut hup = signal(SignalKind::hangup()).ok();
        let mut int = signal(SignalKind::interrupt()).ok();
        async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            r = copy_raw(&mut rd) => r?,
            () = next(&mut term) => return Err(CliError::new("berth: terminated (SIGTERM)").with_status(143)),
            () = next(&mut hup) => return Err(CliError::new("berth: hung up (SIGHUP)").with_status(129)),
            () = next(&mut int) => return Err(CliError::new("berth: interrupted (SIGINT)").with_status(130)),
        }
    } else {
        demux(&mut rd).await?;
    }
    Ok(if detached.load(Ordering::SeqCst) { Ended::Detached } else { Ended::Eof })
}

async fn copy_raw<R: AsyncRead + Unpin>(rd: &mut R) -> Result<()> {
    let mut buf = vec![0u8; 32 * 1024];
    let mut out = std::io::stdout();
    loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(()),
            Err(e) => return Err(CliError::new(format!("read the container's output: {e}"))),
        };
        if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
            return Err(output_closed());
        }
    }
}

/// Our stdout or stderr is gone (`berth run ... | head`): end as SIGPIPE ends docker, 141,
/// with nothing more to say.
pub fn output_closed() -> CliError {
    CliError::new("").with_status(141)
}

/// Docker's multiplexed stream: `[stream, 0, 0, 0, len(4, big endian)]` then `len` bytes;
/// stream 1 is stdout, 2 stderr (0, stdin, is written to stdout as docker does).
pub async fn demux<R: AsyncRead + Unpin>(rd: &mut R) -> Result<()> {
    let mut header = [0u8; 8];
    let mut buf = Vec::new();
    loop {
        match rd.read_exact(&mut header).await {
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset) => return Ok(()),
            Err(e) => return Err(CliError::new(format!("read the container's output: {e}"))),
        }
        let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        buf.resize(len, 0);
        if rd.read_exact(&mut buf).await.is_err() {
            return Ok(());
        }
        let written = if header[0] == 2 {
            let mut e = std::io::stderr();
            e.write_all(&buf).and_then(|()| e.flush())
        } else {
            let mut o = std::io::stdout();
            o.write_all(&buf).and_then(|()| o.flush())
        };
        if written.is_err() {
            return Err(output_closed());
        }
    }
}

/// Sends our terminal's size to `resize_path` (`/containers/{id}/resize` or
/// `/exec/{id}/resize`) now and on every SIGWINCH, until the task is dropped.
pub async fn follow_size(client: Client, resize_path: String) {
    let send = |c: &Client, p: &str| {
        let (c, p) = (c.clone(), p.to_owned());
        async move {
            if let Some((h, w)) = crate::tty::size() {
                let _ = c.call(Method::POST, &format!("{p}?h={h}&w={w}"), None).await;
            }
        }
    };
    send(&client, &resize_path).await;
    let Ok(mut winch) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()) else { return };
    while winch.recv().await.is_some() {
        send(&client, &resize_path).await;
    }
}

/// docker's sig-proxy: signals that reach us go to the container.
pub fn proxy_signals(client: &Client, id: &str) {
    use tokio::signal::unix::{signal, SignalKind};
    let kinds = [
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "SIGHUP"),
        (SignalKind::quit(), "SIGQUIT"),
        (SignalKind::user_defined1(), "SIGUSR1"),
        (SignalKind::user_defined2(), "SIGUSR2"),
    ];
    for (kind, name) in kinds {
        let Ok(mut sig) = signal(kind) else { continue };
        let c = client.clone();
        let path = format!("/containers/{id}/kill?signal={name}");
        tokio::spawn(async move {
            while sig.recv().await.is_some() {
                let _ = c.call(Method::POST, &path, None).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_key_spellings() {
        assert_eq!(parse_detach_keys(DEFAULT_DETACH_KEYS).unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys("ctrl-@,a,ctrl-\\").unwrap(), vec![0, b'a', 28]);
        assert!(parse_detach_keys("ctrl-pq").is_err());
    }
}
