//! Image commands: images, image inspect, tag, rmi, load, pull, push, history, save,
//! image prune.

use std::io::Write;

use berth_api_types::image::{HistoryItem, ImageDeleteResponseItem, ImagePruneResponse, ImageSummary};
use clap::Args;
use http::Method;
use http_body_util::BodyExt;

use crate::client::{p, q, ChannelBody, Client};
use crate::error::{CliError, Result};
use crate::format::{ellipsis, go_time, human_duration, human_size, human_size_precise, now_secs, rfc3339_nanos, short_id, ListFormat};
use crate::progress::{self, Display};
use crate::template::Value;

#[derive(Debug, Args)]
#[command(override_usage = "berth images [OPTIONS] [REPOSITORY[:TAG]]")]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    pub reference: Option<String>,
}

const IMAGES_TABLE: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const IMAGES_DIGESTS_TABLE: &str = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

pub fn image_headers() -> Value {
    Value::map(
        [
            ("Containers", "CONTAINERS"),
            ("CreatedAt", "CREATED AT"),
            ("CreatedSince", "CREATED"),
            ("Digest", "DIGEST"),
            ("ID", "IMAGE ID"),
            ("Repository", "REPOSITORY"),
            ("SharedSize", "SHARED SIZE"),
            ("Size", "SIZE"),
            ("Tag", "TAG"),
            ("UniqueSize", "UNIQUE SIZE"),
            ("VirtualSize", "VIRTUAL SIZE"),
        ]
        .map(|(k, v)| (k, Value::from(v))),
    )
}

/// `repo:tag` → (repo, tag); a `:` before the last `/` is a registry port.
pub fn split_tag(r: &str) -> (&str, Option<&str>) {
    let slash = r.rfind('/').map_or(0, |i| i + 1);
    match r[slash..].rfind(':') {
        Some(i) => (&r[..slash + i], Some(&r[slash + i + 1..])),
        None => (r, None),
    }
}

/// The rows of `images`: one per tag, `<none>` for untagged images.
pub fn image_rows(list: &[ImageSummary], trunc: bool, digests: bool, now: i64) -> Vec<Value> {
    let mut rows = Vec::new();
    for i in list {
        let id = if trunc { short_id(&i.id) } else { i.id.clone() };
        let digest_of = |repo: &str| i.repo_digests.iter().find_map(|d| d.split_once('@').filter(|(r, _)| *r == repo).map(|(_, d)| d.to_owned()));
        let mut pairs: Vec<(String, String, String)> = i
            .repo_tags
            .iter()
            .filter(|t| t.as_str() != "<none>:<none>")
            .map(|t| {
                let (repo, tag) = split_tag(t);
                (repo.to_owned(), tag.unwrap_or("<none>").to_owned(), digest_of(repo).unwrap_or_else(|| "<none>".to_owned()))
            })
            .collect();
        if pairs.is_empty() {
            pairs = i
                .repo_digests
                .iter()
                .filter_map(|d| d.split_once('@'))
                .map(|(r, d)| (r.to_owned(), "<none>".to_owned(), d.to_owned()))
                .collect();
        }
        if pairs.is_empty() {
            pairs.push(("<none>".to_owned(), "<none>".to_owned(), "<none>".to_owned()));
        }
        for (repo, tag, digest) in pairs {
            // docker fills Digest only for --digests.
            rows.push(image_row(i, &id, repo, tag, if digests { digest } else { "<none>".to_owned() }, now));
        }
    }
    rows
}

/// One image as docker's formatter shows it (`id` as it is to be shown, cut short or not).
pub fn image_row(i: &ImageSummary, id: &str, repo: String, tag: String, digest: String, now: i64) -> Value {
    let count = |n: i64| if n < 0 { "N/A".to_owned() } else { n.to_string() };
    let size = |n: i64| if n < 0 { "N/A".to_owned() } else { human_size(n) };
    Value::map([
        ("Containers", Value::Str(count(i.containers))),
        ("CreatedAt", Value::Str(go_time(i.created))),
        ("CreatedSince", Value::Str(format!("{} ago", human_duration(now - i.created)))),
        ("Digest", Value::Str(digest)),
        ("ID", Value::Str(id.to_owned())),
        ("Repository", Value::Str(repo)),
        ("SharedSize", Value::Str(size(i.shared_size))),
        ("Size", Value::Str(human_size(i.size))),
        ("Tag", Value::Str(tag)),
        // (four digits here, three for the other sizes, as docker's formatter has them)
        ("UniqueSize", Value::Str(if i.shared_size < 0 { "N/A".to_owned() } else { human_size_precise(i.size - i.shared_size) })),
        ("VirtualSize", Value::Str(human_size_precise(i.size))),
    ])
}

pub async fn images(client: &Client, a: &ImagesArgs) -> Result<i32> {
    let default = if a.digests { IMAGES_DIGESTS_TABLE } else { IMAGES_TABLE };
    let src = if a.quiet { "{{.ID}}".to_owned() } else { a.format.clone().unwrap_or_default() };
    let format = ListFormat::parse(&src, default).map_err(|e| CliError::new(e.to_string()))?.fields_of("*formatter.imageContext", "template parsing error: ", &src);
    let mut filters = a.filter.clone();
    if let Some(r) = &a.reference {
        filters.push(format!("reference={r}"));
    }
    let mut path = format!("/images/json?all={}", u8::from(a.all));
    if !filters.is_empty() {
        path.push_str(&format!("&filters={}", q(&super::ps::filters_json(&filters)?)));
    }
    let list: Vec<ImageSummary> = client.json(Method::GET, &path, None).await?;
    let rows = image_rows(&list, !a.no_trunc, a.digests, now_secs());
    print!("{}", format.render(&rows, &image_headers()).map_err(|e| CliError::new(e.to_string()))?);
    Ok(0)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")]
pub struct TagArgs {
    pub source: String,
    pub target: String,
}

pub async fn tag(client: &Client, a: &TagArgs) -> Result<i32> {
    let (repo, tag) = split_tag(&a.target);
    let tag = tag.unwrap_or("latest");
    client.call(Method::POST, &format!("/images/{}/tag?repo={}&tag={}", p(&a.source), q(repo), q(tag)), None).await?;
    Ok(0)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth rmi [OPTIONS] IMAGE [IMAGE...]")]
pub struct RmiArgs {
    /// Force removal of the image
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long = "no-prune")]
    pub no_prune: bool,
    #[arg(required = true)]
    pub images: Vec<String>,
}

pub async fn rmi(client: &Client, a: &RmiArgs) -> Result<i32> {
    let mut errors = Vec::new();
    for i in &a.images {
        let path = format!("/images/{}?force={}&noprune={}", p(i), u8::from(a.force), u8::from(a.no_prune));
        match client.json::<Vec<ImageDeleteResponseItem>>(Method::DELETE, &path, None).await {
            Ok(items) => {
                for it in items {
                    if let Some(u) = it.untagged {
                        println!("Untagged: {u}");
                    }
                    if let Some(d) = it.deleted {
                        println!("Deleted: {d}");
                    }
                }
            }
            Err(e) => errors.push(e.message),
        }
    }
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(CliError::new(errors.join("\n")))
    }
}

#[derive(Debug, Args)]
#[command(override_usage = "berth load [OPTIONS]")]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short = 'i', long, value_name = "string")]
    pub input: Option<String>,
    /// Suppress the load output
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

pub async fn load(client: &Client, a: &LoadArgs) -> Result<i32> {
    let body = match &a.input {
        Some(f) => ChannelBody::from_reader(std::fs::File::open(f).map_err(|e| CliError::new(format!("open {f}: {e}")))?),
        None => {
            if crate::tty::stdin_is_terminal() {
                return Err(CliError::new("requested load from stdin, but stdin is empty"));
            }
            ChannelBody::from_reader(std::io::stdin())
        }
    };
    let resp = client.send_stream(Method::POST, &format!("/images/load?quiet={}", u8::from(a.quiet)), body, &[("Content-Type", "application/x-tar")]).await?;
    let mut d = Display::new(std::io::stdout(), false);
    progress::follow(resp.into_body(), &mut d).await?;
    Ok(0)
}

/// Docker's normalised form of a reference: `busybox` → `docker.io/library/busybox:latest`.
pub fn normalized(r: &str) -> String {
    let r = super::run::with_tag(r);
    let first = r.split('/').next().unwrap_or("");
    if !r.contains('/') {
        format!("docker.io/library/{r}")
    } else if first.contains('.') || first.contains(':') || first == "localhost" {
        r
    } else {
        format!("docker.io/{r}")
    }
}

/// Pulls `image` through the daemon, showing progress on stdout (or stderr for `run`).
pub async fn pull_image(client: &Client, image: &str, platform: Option<&str>, quiet: bool, to_stderr: bool) -> Result<()> {
    let (name, tag) = match image.split_once('@') {
        Some((n, d)) => (n.to_owned(), d.to_owned()),
        None => {
            let (n, t) = split_tag(image);
            (n.to_owned(), t.unwrap_or("latest").to_owned())
        }
    };
    let auth = super::auth::header_for(&name)?;
    let mut path = format!("/images/create?fromImage={}&tag={}", q(&name), q(&tag));
    if let Some(p) = platform {
        path.push_str(&format!("&platform={}", q(p)));
    }
    let resp = client.send(Method::POST, &path, None, &[("X-Registry-Auth", &auth)]).await?;
    let terminal = if to_stderr { std::io::IsTerminal::is_terminal(&std::io::stderr()) } else { crate::tty::stdout_is_terminal() };
    if quiet {
        let mut d = Display::new(std::io::sink(), false);
        progress::follow(resp.into_body(), &mut d).await?;
    } else if to_stderr {
        let mut d = Display::new(std::io::stderr(), terminal);
        progress::follow(resp.into_body(), &mut d).await?;
    } else {
        let mut d = Display::new(std::io::stdout(), terminal);
        progress::follow(resp.into_body(), &mut d).await?;
    }
    Ok(())
}

#[derive(Debug, Args)]
#[command(override_usage = "berth pull [OPTIONS] NAME[:TAG|@DIGEST]")]
pub struct PullArgs {
    /// Download all tagged images in the repository (not supported by berth yet)
    #[arg(short = 'a', long = "all-tags", hide = true)]
    pub all_tags: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long, hide = true)]
    pub platform: Option<String>,
    /// Suppress verbose output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    pub name: String,
}

pub async fn pull(client: &Client, a: &PullArgs) -> Result<i32> {
    if a.all_tags {
        return Err(CliError::new("berth does not support pull --all-tags (-a) yet"));
    }
    pull_image(client, &a.name, a.platform.as_deref(), a.quiet, false).await?;
    println!("{}", normalized(&a.name));
    Ok(0)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth push [OPTIONS] NAME[:TAG]")]
pub struct PushArgs {
    /// Push all tags of an image to the repository (not supported by berth yet)
    #[arg(short = 'a', long = "all-tags", hide = true)]
    pub all_tags: bool,
    /// Suppress verbose output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    pub name: String,
}

pub async fn push(client: &Client, a: &PushArgs) -> Result<i32> {
    if a.all_tags {
        return Err(CliError::new("berth does not support push --all-tags (-a) yet"));
    }
    let (name, tag) = split_tag(&a.name);
    let tag = tag.unwrap_or("latest");
    let auth = super::auth::header_for(name)?;
    let resp = client.send(Method::POST, &format!("/images/{}/push?tag={}", p(name), q(tag)), None, &[("X-Registry-Auth", &auth)]).await?;
    if a.quiet {
        progress::follow(resp.into_body(), &mut Display::new(std::io::sink(), false)).await?;
        println!("{}", a.name);
    } else {
        let terminal = crate::tty::stdout_is_terminal();
        progress::follow(resp.into_body(), &mut Display::new(std::io::stdout(), terminal)).await?;
    }
    Ok(0)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth history [OPTIONS] IMAGE")]
pub struct HistoryArgs {
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, value_name = "bool")]
    pub human: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    pub image: String,
}

const HISTORY_TABLE: &str = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";

pub async fn history(client: &Client, a: &HistoryArgs) -> Result<i32> {
    let src = if a.quiet { "{{.ID}}".to_owned() } else { a.format.clone().unwrap_or_default() };
    let format = ListFormat::parse(&src, HISTORY_TABLE).map_err(|e| CliError::new(e.to_string()))?;
    let items: Vec<HistoryItem> = client.json(Method::GET, &format!("/images/{}/history", p(&a.image)), None).await?;
    let now = now_secs();
    let trunc = !a.no_trunc;
    let rows: Vec<Value> = items
        .iter()
        .map(|h| {
            let id = if h.id == "<missing>" || !trunc { h.id.clone() } else { short_id(&h.id) };
            let by = h.created_by.replace('\t', " ");
            let by = if trunc { ellipsis(&by, 45) } else { by };
            let created = if a.human { format!("{} ago", human_duration(now - h.created)) } else { rfc3339_nanos(h.created * 1_000_000_000).replace(".000000000", "") };
            Value::map([
                ("Comment", Value::Str(h.comment.clone())),
                ("CreatedAt", Value::Str(rfc3339_nanos(h.created * 1_000_000_000).replace(".000000000", ""))),
                ("CreatedBy", Value::Str(by)),
                ("CreatedSince", Value::Str(created)),
                ("ID", Value::Str(id)),
                ("Size", Value::Str(if a.human { human_size(h.size) } else { h.size.to_string() })),
            ])
        })
        .collect();
    let headers = Value::map(
        [("Comment", "COMMENT"), ("CreatedAt", "CREATED AT"), ("CreatedBy", "CREATED BY"), ("CreatedSince", "CREATED"), ("ID", "IMAGE"), ("Size", "SIZE")].map(|(k, v)| (k, Value::from(v))),
    );
    print!("{}", format.render(&rows, &headers).map_err(|e| CliError::new(e.to_string()))?);
    Ok(0)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth save [OPTIONS] IMAGE [IMAGE...]")]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long, value_name = "string")]
    pub output: Option<String>,
    #[arg(required = true)]
    pub images: Vec<String>,
}

pub async fn save(client: &Client, a: &SaveArgs) -> Result<i32> {
    if a.output.is_none() && crate::tty::stdout_is_terminal() {
        return Err(CliError::new("cowardly refusing to save to a terminal. Use the -o flag or redirect"));
    }
    let names: Vec<String> = a.images.iter().map(|i| format!("names={}", q(i))).collect();
    let body = client.send(Method::GET, &format!("/images/get?{}", names.join("&")), None, &[]).await?.into_body();
    write_body(body, a.output.as_deref(), "the image archive").await
}

/// Streams a body to `output` (written beside it, then renamed into place) or to stdout; a
/// reader that goes away ends it as SIGPIPE would (141).
pub async fn write_body(mut body: hyper::body::Incoming, output: Option<&str>, what: &str) -> Result<i32> {
    let (mut out, tmp): (Box<dyn Write>, Option<(String, &str)>) = match output {
        Some(f) => {
            let tmp = format!("{f}.berth-tmp");
            let file = std::fs::File::create(&tmp).map_err(|e| CliError::new(format!("create {tmp}: {e}")))?;
            (Box::new(std::io::BufWriter::new(file)), Some((tmp, f)))
        }
        None => (Box::new(std::io::stdout().lock()), None),
    };
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| CliError::new(format!("read {what}: {e}")))?;
        if let Some(d) = frame.data_ref() {
            match out.write_all(d) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(141),
                Err(e) => return Err(CliError::new(format!("write {what}: {e}"))),
            }
        }
    }
    out.flush().map_err(|e| CliError::new(format!("write {what}: {e}")))?;
    drop(out);
    if let Some((tmp, dest)) = tmp {
        std::fs::rename(&tmp, dest).map_err(|e| CliError::new(format!("rename {tmp} to {dest}: {e}")))?;
    }
    Ok(0)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]")]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change", value_name = "list")]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short = 'm', long, value_name = "string")]
    pub message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long, hide = true)]
    pub platform: Option<String>,
    pub source: String,
    pub reference: Option<String>,
}

pub async fn import(client: &Client, a: &ImportArgs) -> Result<i32> {
    let mut query = Vec::new();
    if let Some(p) = &a.platform {
        query.push(format!("platform={}", q(p)));
    }
    let body = if a.source == "-" {
        query.push("fromSrc=-".to_owned());
        Some(ChannelBody::from_reader(std::io::stdin()))
    } else if a.source.contains("://") {
        query.push(format!("fromSrc={}", q(&a.source)));
        None
    } else {
        query.push("fromSrc=-".to_owned());
        Some(ChannelBody::from_reader(std::fs::File::open(&a.source).map_err(|e| CliError::new(format!("open {}: {e}", a.source)))?))
    };
    if let Some(r) = &a.reference {
        let (repo, tag) = split_tag(r);
        query.push(format!("repo={}", q(repo)));
        if let Some(t) = tag {
            query.push(format!("tag={}", q(t)));
        }
    }
    if let Some(m) = &a.message {
        query.push(format!("message={}", q(m)));
    }
    query.extend(a.change.iter().map(|c| format!("changes={}", q(c))));
    let path = format!("/images/create?{}", query.join("&"));
    let resp = match body {
        Some(b) => client.send_stream(Method::POST, &path, b, &[("Content-Type", "application/x-tar")]).await?,
        None => client.send(Method::POST, &path, None, &[]).await?,
    };
    progress::follow(resp.into_body(), &mut Display::new(std::io::stdout(), false)).await?;
    Ok(0)
}

#[derive(Debug, Args)]
#[command(override_usage = "berth image prune [OPTIONS]")]
pub struct ImagePruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

pub async fn prune(client: &Client, a: &ImagePruneArgs) -> Result<i32> {
    let warning = if a.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !a.force && !super::lifecycle::confirm(&format!("{warning}\nAre you sure you want to continue?")) {
        return Ok(0);
    }
    let reclaimed = prune_images(client, a.all, &a.filter).await?;
    println!("Total reclaimed space: {}", human_size(reclaimed as i64));
    Ok(0)
}

/// Prunes images (dangling ones unless `all`), prints what went; returns the bytes reclaimed.
pub async fn prune_images(client: &Client, all: bool, filter: &[String]) -> Result<u64> {
    let mut filters = filter.to_vec();
    filters.push(format!("dangling={}", !all));
    let r: ImagePruneResponse = client.json(Method::POST, &format!("/images/prune?filters={}", q(&super::ps::filters_json(&filters)?)), None).await?;
    let deleted = r.images_deleted.unwrap_or_default();
    if !deleted.is_empty() {
        println!("Deleted Images:");
        for it in deleted {
            if let Some(u) = it.untagged {
                println!("untagged: {u}");
            }
            if let Some(d) = it.deleted {
                println!("deleted: {d}");
            }
        }
        println!();
    }
    Ok(r.space_reclaimed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_rows_and_references() {
        assert_eq!(split_tag("localhost:5000/busybox:1"), ("localhost:5000/busybox", Some("1")));
        assert_eq!(split_tag("localhost:5000/busybox"), ("localhost:5000/busybox", None));
        assert_eq!(normalized("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(normalized("localhost:5000/b:2"), "localhost:5000/b:2");
        assert_eq!(normalized("me/app"), "docker.io/me/app:latest");
        let list: Vec<ImageSummary> = serde_json::from_value(serde_json::json!([
            {"Id": "sha256:0123456789abcdef", "ParentId": "", "RepoTags": ["busybox:latest", "bb:1"], "RepoDigests": ["busybox@sha256:dd"],
             "Created": 0, "Size": 4261234, "SharedSize": -1, "Labels": null, "Containers": -1},
            {"Id": "sha256:fedcba9876543210", "ParentId": "", "RepoTags": [], "RepoDigests": [], "Created": 0, "Size": 0, "SharedSize": -1, "Labels": null, "Containers": -1}
        ]))
        .unwrap();
        let rows = image_rows(&list, true, true, 3);
        assert_eq!(rows.len(), 3);
        let f = ListFormat::parse("", IMAGES_TABLE).unwrap();
        assert_eq!(
            f.render(&rows, &image_headers()).unwrap(),
            "REPOSITORY   TAG       IMAGE ID       CREATED         SIZE\n\
             busybox      latest    0123456789ab   3 seconds ago   4.26MB\n\
             bb           1         0123456789ab   3 seconds ago   4.26MB\n\
             <none>       <none>    fedcba987654   3 seconds ago   0B\n"
        );
        assert_eq!(rows[0].get("Digest").as_str(), Some("sha256:dd"));
        assert_eq!(rows[1].get("Digest").as_str(), Some("<none>"));
    }
}
