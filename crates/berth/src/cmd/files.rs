//! A container's files: `cp` both ways through the archive endpoints (tar streams; the stat of
//! a path in `X-Docker-Container-Path-Stat`), and `export`.
//!
//! What a copy means follows docker's rules: into an existing directory the source keeps its
//! name; to a path that does not exist the source takes that name (its parent must exist);
//! `SRC/.` copies a directory's contents; a directory never replaces a file; `-` is a tar
//! stream on stdin or stdout.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use berth_api_types::body::ChunkReader;
use berth_api_types::container::ContainerPathStat;
use clap::Args;
use http::{Method, StatusCode};
use http_body_util::BodyExt;

use crate::client::{p, q, ChannelBody, Client};
use crate::error::{CliError, Result};
use crate::format::human_size;

#[derive(Debug, Args)]
#[command(override_usage = "berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n        berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH")]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long = "follow-link")]
    pub follow_link: bool,
    /// Suppress progress output during copy (shown only on a terminal, as docker's)
    #[arg(short = 'q', long)]
    pub quiet: bool,
    pub src: String,
    pub dest: String,
}

/// `ctr:/path` → (ctr, /path); a local path (`./a:b` or `/a:b` stays local, as docker).
fn split_container(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with('/') || arg.starts_with('.') {
        return None;
    }
    arg.split_once(':').filter(|(c, _)| !c.is_empty())
}

/// Go's `os.ModeDir`, as the stat's mode carries it.
const MODE_DIR: u32 = 1 << 31;

async fn stat(client: &Client, ctr: &str, path: &str) -> Result<Option<ContainerPathStat>> {
    let resp = client.send(Method::HEAD, &format!("/containers/{}/archive?path={}", p(ctr), q(path)), None, &[]).await;
    let resp = match resp {
        Ok(r) => r,
        Err(e) if e.is_not_found() && !e.message.contains("No such container") => return Ok(None),
        Err(e) => return Err(e),
    };
    let header = resp.headers().get("x-docker-container-path-stat").and_then(|v| v.to_str().ok()).unwrap_or("");
    ContainerPathStat::from_header(header).map(Some).map_err(|e| CliError::new(format!("read the stat of {ctr}:{path}: {e}")))
}

pub async fn cp(client: &Client, a: &CpArgs) -> Result<i32> {
    match (split_container(&a.src), split_container(&a.dest)) {
        (Some((ctr, src)), None) => copy_out(client, a, ctr, src).await,
        (None, Some((ctr, dest))) => copy_in(client, a, ctr, dest).await,
        (Some(_), Some(_)) => Err(CliError::new("copying between containers is not supported")),
        (None, None) => Err(CliError::new("must specify at least one container source")),
    }
}

/// How the entries of a copied-out archive are renamed on their way to the disk.
enum Rewrite {
    Keep,
    /// `SRC/.`: the contents, without their top directory.
    StripTop(String),
    /// To a path that does not exist yet: the top entry takes its name.
    RenameTop { from: String, to: String },
}

impl Rewrite {
    /// The new name of an entry (and of a hard link's target); None drops the entry.
    fn map(&self, path: &Path) -> Option<PathBuf> {
        match self {
            Rewrite::Keep => Some(path.to_owned()),
            Rewrite::StripTop(top) => {
                // `dir/.` may come back named under `dir/` or `./` (which reads as relative already).
                let rest = path.strip_prefix(top).unwrap_or(path);
                (!rest.as_os_str().is_empty() && rest != Path::new(".")).then(|| rest.to_owned())
            }
            Rewrite::RenameTop { from, to } => Some(match path.strip_prefix(from) {
                Ok(rest) if rest.as_os_str().is_empty() => PathBuf::from(to),
                Ok(rest) => Path::new(to).join(rest),
                Err(_) => path.to_owned(),
            }),
        }
    }
}

/// Copies the tar `input` to `out` entry by entry, renamed by `rw` (nothing is held whole).
fn rewrite(input: impl Read, out: impl Write, rw: &Rewrite) -> Result<()> {
    let bad_in = |e: std::io::Error| CliError::new(format!("read the archive: {e}"));
    let bad_out = |e: std::io::Error| CliError::new(format!("write the archive: {e}"));
    let mut archive = tar::Archive::new(input);
    let mut out = tar::Builder::new(out);
    for entry in archive.entries().map_err(bad_in)? {
        let mut entry = entry.map_err(bad_in)?;
        let path = entry.path().map_err(bad_in)?.into_owned();
        let Some(renamed) = rw.map(&path) else { continue };
        let mut header = entry.header().clone();
        match entry.link_name().map_err(bad_in)?.map(|l| l.into_owned()) {
            Some(l) if header.entry_type().is_hard_link() => {
                let l = rw.map(&l).unwrap_or(l);
                out.append_link(&mut header, &renamed, &l)
            }
            Some(l) => out.append_link(&mut header, &renamed, &l),
            None => out.append_data(&mut header, &renamed, &mut entry),
        }
        .map_err(bad_out)?;
    }
    out.finish().map_err(bad_out)
}

/// Extracts the tar `input` below `target_dir`, entry by entry.
fn unpack(input: impl Read, target_dir: &Path, owners: bool) -> Result<()> {
    let mut archive = tar::Archive::new(input);
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    archive.set_preserve_ownerships(owners);
    for entry in archive.entries().map_err(|e| CliError::new(format!("read the archive: {e}")))? {
        let mut entry = entry.map_err(|e| CliError::new(format!("read the archive: {e}")))?;
        // unpack_in refuses entries that would land outside `target_dir` (`..`, symlinked parents).
        entry.unpack_in(target_dir).map_err(|e| CliError::new(format!("extract into {}: {e}", target_dir.display())))?;
    }
    Ok(())
}

/// Renames (when it must) and extracts at once: the renaming writes into a pipe that a second
/// thread extracts from. The extraction's error comes first (the renaming then only sees the
/// pipe closed).
fn rewrite_and_unpack(input: impl Read, rw: Rewrite, target_dir: PathBuf, owners: bool) -> Result<()> {
    if matches!(rw, Rewrite::Keep) {
        return unpack(input, &target_dir, owners);
    }
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| CliError::new(format!("make a pipe: {e}")))?;
    let extract = std::thread::spawn(move || unpack(std::fs::File::from(r), &target_dir, owners));
    let renamed = rewrite(input, std::fs::File::from(w), &rw);
    let extracted = extract.join().unwrap_or_else(|_| Err(CliError::new("the extracting thread failed")));
    extracted.and(renamed)
}

async fn copy_out(client: &Client, a: &CpArgs, ctr: &str, src: &str) -> Result<i32> {
    let resp = client.send(Method::GET, &format!("/containers/{}/archive?path={}", p(ctr), q(src)), None, &[]).await?;
    let header = resp.headers().get("x-docker-container-path-stat").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let st = ContainerPathStat::from_header(&header).map_err(|e| CliError::new(format!("read the stat of {ctr}:{src}: {e}")))?;
    // Where it goes, decided before a byte is read.
    let src_is_dir = st.mode & MODE_DIR != 0;
    let dest = Path::new(&a.dest);
    let target = if a.dest == "-" {
        None
    } else {
        let contents_only = src.ends_with("/.") && src_is_dir;
        Some(match std::fs::metadata(dest) {
            Ok(m) if m.is_dir() => (dest.to_path_buf(), if contents_only { Rewrite::StripTop(st.name.clone()) } else { Rewrite::Keep }),
            Ok(_) if src_is_dir => return Err(CliError::new(format!("cannot copy a directory to a file: {}", a.dest))),
            Ok(_) | Err(_) => {
                if a.dest.ends_with('/') {
                    return Err(CliError::new(format!("destination directory \"{}\" must exist", a.dest)));
                }
                let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                if !parent.is_dir() {
                    return Err(CliError::new(format!("destination \"{}\" does not exist or is not a directory", parent.display())));
                }
                let name = dest.file_name().and_then(|n| n.to_str()).ok_or_else(|| CliError::new(format!("invalid destination {}", a.dest)))?;
                (parent.to_path_buf(), Rewrite::RenameTop { from: st.name.clone(), to: name.to_owned() })
            }
        })
    };
    // The archive streams from the socket to stdout or the disk: a few chunks in flight, never
    // the whole of it in memory.
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let count = Arc::new(AtomicU64::new(0));
    let input = Counting { inner: ChunkReader::new(rx), count: count.clone() };
    let owners = a.archive;
    let sink = tokio::task::spawn_blocking(move || -> Result<i32> {
        let mut input = input;
        match target {
            None => {
                let mut o = std::io::stdout().lock();
                match std::io::copy(&mut input, &mut o).and_then(|_| o.flush()) {
                    Ok(()) => Ok(0),
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(141),
                    Err(e) => Err(CliError::new(format!("write the archive: {e}"))),
                }
            }
            Some((dir, rw)) => rewrite_and_unpack(input, rw, dir, owners).map(|()| 0),
        }
    });
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        let chunk = match frame {
            Ok(f) => match f.into_data() {
                Ok(d) => Ok(d),
                Err(_) => continue,
            },
            Err(e) => Err(format!("read {ctr}:{src}: {e}")),
        };
        let failed = chunk.is_err();
        // The other side has stopped (an error, or stdout closed): it says why.
        if tx.send(chunk).await.is_err() || failed {
            break;
        }
    }
    drop(tx);
    let code = sink.await.map_err(|e| CliError::new(format!("copy task: {e}")))??;
    if code == 0 && a.dest != "-" && !a.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!("Successfully copied {} to {}", human_size(count.load(Ordering::Relaxed) as i64), a.dest);
    }
    Ok(code)
}

/// Where a thread leaves what went wrong, for after the upload.
type Failure = Arc<Mutex<Option<String>>>;

/// Counts the bytes read through it (for docker's "Successfully copied" line).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Archives `src` as `name` (or its contents) on a thread of its own, into a pipe whose read
/// end is returned: the tar streams to the daemon as it is made. A failure is left in the
/// returned slot for after the upload.
fn archive_on_thread(src: PathBuf, name: String, contents_only: bool, follow: bool) -> Result<(std::fs::File, Failure)> {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| CliError::new(format!("make a pipe: {e}")))?;
    let failure = Arc::new(Mutex::new(None));
    let slot = failure.clone();
    std::thread::spawn(move || {
        let mut b = tar::Builder::new(std::fs::File::from(w));
        b.follow_symlinks(follow);
        let done = if contents_only {
            b.append_dir_all(".", &src)
        } else if src.symlink_metadata().is_ok_and(|m| m.is_dir()) || (follow && src.is_dir()) {
            b.append_dir_all(&name, &src)
        } else {
            b.append_path_with_name(&src, &name)
        }
        .and_then(|()| b.finish());
        if let Err(e) = done {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("archive {}: {e}", src.display()));
        }
    });
    Ok((std::fs::File::from(r), failure))
}

async fn copy_in(client: &Client, a: &CpArgs, ctr: &str, dest: &str) -> Result<i32> {
    let dest_stat = stat(client, ctr, dest).await?;
    let is_dir = |s: &Option<ContainerPathStat>| s.as_ref().is_some_and(|s| s.mode & MODE_DIR != 0);
    let (input, failure, put_dir, shown): (Box<dyn Read + Send>, Option<Failure>, String, String) = if a.src == "-" {
        if !is_dir(&dest_stat) {
            return Err(CliError::new(format!("destination \"{ctr}:{dest}\" must be a directory")));
        }
        (Box::new(std::io::stdin()), None, dest.to_owned(), format!("{ctr}:{dest}"))
    } else {
        let src = Path::new(&a.src);
        let meta = if a.follow_link { std::fs::metadata(src) } else { std::fs::symlink_metadata(src) }
            .map_err(|e| CliError::new(format!("could not find the file {} in the host: {e}", a.src)))?;
        let base = src.file_name().and_then(|n| n.to_str()).unwrap_or(".").to_owned();
        let contents_only = a.src.ends_with("/.") && meta.is_dir();
        let (name, put_dir) = match &dest_stat {
            Some(s) if s.mode & MODE_DIR != 0 => (base, dest.to_owned()),
            Some(_) if meta.is_dir() => return Err(CliError::new(format!("cannot copy a directory to a file: {ctr}:{dest}"))),
            _ => {
                if dest.ends_with('/') {
                    return Err(CliError::new(format!("destination directory \"{ctr}:{dest}\" must exist")));
                }
                let d = Path::new(dest);
                let parent = d.parent().map(|p| p.to_string_lossy().into_owned()).filter(|p| !p.is_empty()).unwrap_or_else(|| "/".to_owned());
                (d.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned(), parent)
            }
        };
        let (pipe, failure) = archive_on_thread(src.to_path_buf(), name, contents_only, a.follow_link)?;
        (Box::new(pipe), Some(failure), put_dir, format!("{ctr}:{dest}"))
    };
    let count = Arc::new(AtomicU64::new(0));
    let body = ChannelBody::from_reader(Counting { inner: input, count: count.clone() });
    let path = format!("/containers/{}/archive?path={}&noOverwriteDirNonDir=1&copyUIDGID={}", p(ctr), q(&put_dir), u8::from(a.archive));
    let sent = client.send_stream(Method::PUT, &path, body, &[("Content-Type", "application/x-tar")]).await;
    if let Some(msg) = failure.and_then(|f| f.lock().unwrap_or_else(|p| p.into_inner()).take()) {
        return Err(CliError::new(msg));
    }
    let resp = sent?;
    if resp.status() != StatusCode::OK {
        return Err(CliError::new(format!("copy to {shown}: the daemon answered {}", resp.status())));
    }
    if !a.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!("Successfully copied {} to {shown}", human_size(count.load(Ordering::Relaxed) as i64));
    }
    Ok(0)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth export [OPTIONS] CONTAINER")]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long, value_name = "string")]
    pub output: Option<String>,
    pub container: String,
}

pub async fn export(client: &Client, a: &ExportArgs) -> Result<i32> {
    if a.output.is_none() && crate::tty::stdout_is_terminal() {
        return Err(CliError::new("cowardly refusing to save to a terminal. Use the -o flag or redirect"));
    }
    let body = client.send(Method::GET, &format!("/containers/{}/export", p(&a.container)), None, &[]).await?.into_body();
    super::images::write_body(body, a.output.as_deref(), "the container's files").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_arguments_and_renames() {
        assert_eq!(split_container("web:/tmp/x"), Some(("web", "/tmp/x")));
        assert_eq!(split_container("/tmp/a:b"), None);
        assert_eq!(split_container("./a:b"), None);
        assert_eq!(split_container("plain"), None);
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o644);
        b.append_data(&mut h, "d/f", &b"hi"[..]).unwrap();
        let t = b.into_inner().unwrap();
        let names = |rw: Rewrite| {
            let mut out = Vec::new();
            rewrite(t.as_slice(), &mut out, &rw).unwrap();
            tar::Archive::new(out.as_slice()).entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect::<Vec<_>>()
        };
        assert_eq!(names(Rewrite::RenameTop { from: "d".into(), to: "e".into() }), ["e/f"]);
        assert_eq!(names(Rewrite::StripTop("d".into())), ["f"]);
        assert_eq!(names(Rewrite::Keep), ["d/f"]);
    }
}
