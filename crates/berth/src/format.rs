//! How docker prints things for people: durations ("About a minute"), sizes ("4.26MB"),
//! truncated IDs and commands, Go's time format, and `--format` lists (`table ...` with
//! aligned columns and headers, `json`, or a plain template per row).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::template::{Template, Value};

/// Docker's `units.HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let minutes = s / 60;
    let hours = (s as f64 / 3600.0 + 0.5) as i64;
    if s < 1 {
        "Less than a second".to_owned()
    } else if s == 1 {
        "1 second".to_owned()
    } else if s < 60 {
        format!("{s} seconds")
    } else if minutes == 1 {
        "About a minute".to_owned()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if hours == 1 {
        "About an hour".to_owned()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", s / 3600 / 24 / 365)
    }
}

/// Docker's `units.HumanSizeWithPrecision(n, 3)`: decimal units, `4.26MB`, `0B`.
pub fn human_size(n: i64) -> String {
    berth_api_types::units::human_size(n, 3)
}

/// Docker's `units.HumanSize`: as [`human_size`] with 4 significant digits (`1.982MB`).
pub fn human_size_precise(n: i64) -> String {
    berth_api_types::units::human_size(n, 4)
}

pub use berth_api_types::units::bytes_size;

/// The first 12 characters of an ID, without its `sha256:`.
pub fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// Docker's `Ellipsis`: at most `max` characters, the last one `…` when cut.
pub fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// A Unix instant (nanoseconds) as the clock on the wall shows it in `tz`: the civil date and
/// time, and the offset in seconds with the zone's abbreviation.
fn in_zone(nanos: i64, tz: &jiff::tz::TimeZone) -> (jiff::civil::DateTime, i32, String) {
    let ts = jiff::Timestamp::new(nanos.div_euclid(1_000_000_000), nanos.rem_euclid(1_000_000_000) as i32).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let info = tz.to_offset_info(ts);
    (tz.to_datetime(ts), info.offset().seconds(), info.abbreviation().to_owned())
}

/// The user's zone, as Go's `time.Local`: `$TZ`, else /etc/localtime; UTC when neither names
/// one. Looked up once per run, not once per row.
fn local_zone() -> &'static jiff::tz::TimeZone {
    static LOCAL: std::sync::OnceLock<jiff::tz::TimeZone> = std::sync::OnceLock::new();
    LOCAL.get_or_init(|| jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC))
}

/// `+0100` (Go's `-0700`), or `+01:00` with `colon`.
fn offset_text(secs: i32, colon: bool) -> String {
    let (sign, a) = if secs < 0 { ('-', -secs) } else { ('+', secs) };
    if colon {
        format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60)
    } else {
        format!("{sign}{:02}{:02}", a / 3600, a / 60 % 60)
    }
}

/// Go's `time.Time.String()` of a Unix time in the local zone: `2026-11-23 22:40:05 +0000 UTC`.
pub fn go_time(secs: i64) -> String {
    go_time_in(secs, local_zone())
}

fn go_time_in(secs: i64, tz: &jiff::tz::TimeZone) -> String {
    let (t, off, abbr) = in_zone(secs.saturating_mul(1_000_000_000), tz);
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02} {} {abbr}", t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second(), offset_text(off, false))
}

/// RFC 3339 with nanoseconds in the local zone (`Z` for UTC), as docker prints the times of
/// events.
pub fn rfc3339_nanos(nanos: i64) -> String {
    rfc3339_nanos_in(nanos, local_zone())
}

fn rfc3339_nanos_in(nanos: i64, tz: &jiff::tz::TimeZone) -> String {
    let (t, off, _) = in_zone(nanos, tz);
    let zone = if off == 0 { "Z".to_owned() } else { offset_text(off, true) };
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}{zone}", t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second(), t.subsec_nanosecond())
}

/// Parses RFC 3339 (`2026-11-23T22:40:05.123Z`, offsets allowed) into Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let (date, time) = s.split_once('T')?;
    let mut dp = date.splitn(3, '-').map(|p| p.parse::<i64>());
    let (y, mo, d) = (dp.next()?.ok()?, dp.next()?.ok()?, dp.next()?.ok()?);
    let (clock, offset) = match time.find(['Z', '+', '-']) {
        Some(i) => (&time[..i], &time[i..]),
        None => (time, "Z"),
    };
    let mut tp = clock.split('.').next()?.splitn(3, ':').map(|p| p.parse::<i64>());
    let (h, mi, se) = (tp.next()?.ok()?, tp.next()?.ok()?, tp.next().unwrap_or(Ok(0)).ok()?);
    // Days from civil (inverse of `civil`).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let mut secs = days * 86_400 + h * 3600 + mi * 60 + se;
    if offset != "Z" && offset.len() >= 6 {
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let oh: i64 = offset[1..3].parse().ok()?;
        let om: i64 = offset[4..6].parse().ok()?;
        secs -= sign * (oh * 3600 + om * 60);
    }
    Some(secs)
}

/// Go's `time.Time.String()` of an RFC 3339 timestamp as the API sends it (network `Created`):
/// `2026-11-23 22:40:05.1234 +0000 UTC`, the fraction without its trailing zeros, the time in
/// its own offset (`+0100 +0100` for a `+01:00` one). The text as it came when it is not RFC 3339.
pub fn go_time_rfc3339(s: &str) -> String {
    let Some((date, time)) = s.split_once(['T', 't']) else { return s.to_owned() };
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(i) => (&time[..i], &time[i..]),
        None => return s.to_owned(),
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let frac = frac.trim_end_matches('0');
    let zone = match offset {
        "Z" | "z" | "+00:00" | "-00:00" => "+0000 UTC".to_owned(),
        o if o.len() == 6 => {
            let o = o.replace(':', "");
            format!("{o} {o}")
        }
        _ => return s.to_owned(),
    };
    let frac = if frac.is_empty() { String::new() } else { format!(".{frac}") };
    format!("{date} {hms}{frac} {zone}")
}

/// Go's `net.JoinHostPort`: `0.0.0.0:8080`, `[::]:8080`.
pub fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The "natural" order docker sorts names and port lines in (`net9` before `net10`, `80/tcp`
/// before `443/tcp`): runs of digits compare by value, digits before other bytes, and of two
/// equal numbers the one with fewer leading zeros first.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (da, db) = (a[i].is_ascii_digit(), b[j].is_ascii_digit());
        if da != db {
            return if da { Ordering::Less } else { Ordering::Greater };
        }
        if !da {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
            continue;
        }
        let (za, zb) = (skip_zeros(a, i), skip_zeros(b, j));
        let (ea, eb) = (digits_end(a, za), digits_end(b, zb));
        let by_value = (ea - za).cmp(&(eb - zb)).then_with(|| a[za..ea].cmp(&b[zb..eb])).then_with(|| za.cmp(&zb));
        if by_value != Ordering::Equal {
            return by_value;
        }
        (i, j) = (ea, eb);
    }
    a.len().cmp(&b.len())
}

fn skip_zeros(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i] == b'0' {
        i += 1;
    }
    i
}

fn digits_end(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Go's tabwriter as docker sets it up (minwidth 10, padding 3, spaces): cells end at tabs,
/// each column as wide as its widest cell plus 3.
pub fn align(text: &str) -> String {
    align_min(text, 10)
}

/// [`align`] with another minimum column width (`top` uses 20).
pub fn align_min(text: &str, min: usize) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for line in text.lines() {
        let mut cells = line.split('\t').peekable();
        let mut i = 0;
        while let Some(c) = cells.next() {
            // The last cell of a line is not tab-terminated and takes no part in alignment.
            if cells.peek().is_none() {
                break;
            }
            if widths.len() <= i {
                widths.push(min);
            }
            widths[i] = widths[i].max(c.chars().count() + 3);
            i += 1;
        }
    }
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    for line in text.lines() {
        let mut cells = line.split('\t').peekable();
        let mut i = 0;
        while let Some(c) = cells.next() {
            out.push_str(c);
            if cells.peek().is_some() {
                pad(&mut out, widths[i].saturating_sub(c.chars().count()));
            }
            i += 1;
        }
        out.push('\n');
    }
    out
}

/// Appends `n` spaces.
fn pad(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// A `--format` value as docker reads it for lists (ps, images, ...).
pub enum ListFormat {
    /// `table ...` or the default: a header row, then aligned rows.
    Table(Template),
    /// `json`: one JSON object per row.
    Json,
    /// Any other template, one rendering per row.
    Raw(Template),
}

impl ListFormat {
    /// Parses `format` (empty for `default`). Docker turns `\t` and `\n` typed literally into
    /// tab and newline.
    pub fn parse(format: &str, default: &str) -> Result<ListFormat, crate::template::TemplateError> {
        let f = if format.is_empty() || format == "table" { default } else { format };
        if f == "json" {
            return Ok(ListFormat::Json);
        }
        let f = f.replace("\\t", "\t").replace("\\n", "\n");
        match f.strip_prefix("table") {
            Some(rest) => Ok(ListFormat::Table(Template::parse(rest.trim_start())?)),
            None => Ok(ListFormat::Raw(Template::parse(&f)?)),
        }
    }

    /// Makes a field the rows do not have an error naming docker's formatter type (its lists
    /// execute templates over Go structs); `typed` is the format as the user gave it.
    pub fn fields_of(self, type_name: &'static str, prefix: &'static str, typed: &str) -> ListFormat {
        let strict = crate::template::Strict::Fields { type_name, prefix };
        match self {
            ListFormat::Table(t) => ListFormat::Table(t.strict(strict, typed)),
            ListFormat::Raw(t) => ListFormat::Raw(t.strict(strict, typed)),
            json => json,
        }
    }

    /// Whether the template uses `field` (`.Size`: docker then asks the daemon for sizes),
    /// directly or through `{{json .}}`, which shows every field; `json` alone does not.
    pub fn wants(&self, field: &str, raw: &str) -> bool {
        !matches!(self, ListFormat::Json) && (raw.contains(field) || raw.replace(' ', "").contains("json.}}"))
    }

    /// The top-level fields of a row that rendering reads, or `None` when it may read every
    /// field (`json`, `{{json .}}`): a list need not compute the others.
    pub fn fields_read(&self) -> Option<Vec<&str>> {
        match self {
            ListFormat::Json => None,
            ListFormat::Table(t) | ListFormat::Raw(t) => t.fields_read(),
        }
    }

    /// Renders `rows` (each the map of docker's formatter fields), with `headers` giving each
    /// field's column title.
    pub fn render(&self, rows: &[Value], headers: &Value) -> Result<String, crate::template::TemplateError> {
        let mut out = String::new();
        match self {
            ListFormat::Json => {
                for r in rows {
                    out.push_str(&crate::template::escape_html(&r.to_json()));
                    out.push('\n');
                }
            }
            ListFormat::Raw(t) => {
                for r in rows {
                    t.render_row(r, &mut out)?;
                    out.push('\n');
                }
            }
            ListFormat::Table(t) => {
                let mut text = String::new();
                t.render_row(headers, &mut text)?;
                text.push('\n');
                for r in rows {
                    t.render_row(r, &mut text)?;
                    text.push('\n');
                }
                out = align(&text);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_docker() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(3), "3 seconds");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(60), "About a minute");
        assert_eq!(human_duration(119), "About a minute");
        assert_eq!(human_duration(120), "2 minutes");
        assert_eq!(human_duration(3599), "59 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(3 * 3600), "3 hours");
        assert_eq!(human_duration(50 * 3600), "2 days");
        assert_eq!(human_duration(20 * 86400), "2 weeks");
        assert_eq!(human_duration(70 * 86400), "2 months");
        assert_eq!(human_duration(90 * 86400), "3 months");
        assert_eq!(human_duration(800 * 86400), "2 years");
    }

    #[test]
    fn sizes_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(4_261_234), "4.26MB");
        assert_eq!(human_size(12_345), "12.3kB");
        assert_eq!(human_size(123_456_789), "123MB");
        assert_eq!(human_size(1_500_000_000), "1.5GB");
        assert_eq!(human_size_precise(1_982_123), "1.982MB");
        assert_eq!(bytes_size(1536.0 * 1024.0), "1.5MiB");
        assert_eq!(bytes_size(0.0), "0B");
        assert_eq!(bytes_size(2.0 * 1024.0 * 1024.0 * 1024.0), "2GiB");
    }

    #[test]
    fn ids_commands_and_times() {
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(ellipsis("sleep 60000000000000000", 20), "sleep 6000000000000…");
        assert_eq!(ellipsis("true", 20), "true");
        assert_eq!(go_quote("sh -c \"echo\"\t"), r#""sh -c \"echo\"\t""#);
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(go_time_in(0, &utc), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(go_time_in(1_795_473_605, &utc), "2026-11-23 22:40:05 +0000 UTC");
        // Other zones, as Go's time.Local prints them.
        let berlin = jiff::tz::TimeZone::get("Europe/Berlin").expect("tzdata has Europe/Berlin");
        assert_eq!(go_time_in(1_795_473_605, &berlin), "2026-11-23 23:40:05 +0100 CET");
        assert_eq!(go_time_in(1_784_000_000, &berlin), "2026-07-14 05:33:20 +0200 CEST");
        assert_eq!(rfc3339_nanos_in(1_795_473_605_000_000_007, &berlin), "2026-11-23T23:40:05.000000007+01:00");
        let sao_paulo = jiff::tz::TimeZone::get("America/Sao_Paulo").expect("tzdata has America/Sao_Paulo");
        assert_eq!(go_time_in(1_795_473_605, &sao_paulo), "2026-11-23 19:40:05 -0300 -03");
        assert_eq!(parse_rfc3339("2026-11-23T22:40:05.123456Z"), Some(1_795_473_605));
        assert_eq!(parse_rfc3339("2026-11-23T23:40:05+01:00"), Some(1_795_473_605));
        assert_eq!(rfc3339_nanos_in(1_795_473_605_000_000_007, &utc), "2026-11-23T22:40:05.000000007Z");
    }

    #[test]
    fn network_times_host_ports_and_natural_order() {
        assert_eq!(go_time_rfc3339("2026-11-23T22:40:05.123400Z"), "2026-11-23 22:40:05.1234 +0000 UTC");
        assert_eq!(go_time_rfc3339("2026-11-23T22:40:05Z"), "2026-11-23 22:40:05 +0000 UTC");
        assert_eq!(go_time_rfc3339("2026-11-23T22:40:05.000000001+01:00"), "2026-11-23 22:40:05.000000001 +0100 +0100");
        assert_eq!(go_time_rfc3339("yesterday"), "yesterday");
        assert_eq!(join_host_port("0.0.0.0", "8080"), "0.0.0.0:8080");
        assert_eq!(join_host_port("::", "8080"), "[::]:8080");
        assert_eq!(join_host_port("", "5353"), ":5353");
        let mut names = vec!["net10", "bridge", "net9", "net09", "Net1", "1a", "a"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["1a", "Net1", "a", "bridge", "net9", "net09", "net10"]);
        let mut lines = vec!["1000/tcp -> 0.0.0.0:10", "80/tcp -> [::]:8080", "443/tcp -> 127.0.0.1:9443", "53/udp -> :5353", "80/tcp -> 0.0.0.0:8080"];
        lines.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(lines, ["53/udp -> :5353", "80/tcp -> 0.0.0.0:8080", "80/tcp -> [::]:8080", "443/tcp -> 127.0.0.1:9443", "1000/tcp -> 0.0.0.0:10"]);
    }

    #[test]
    fn tables_align_like_go_tabwriter() {
        let t = align("CONTAINER ID\tIMAGE\tNAMES\nabc\tbusybox\tweb\n");
        assert_eq!(t, "CONTAINER ID   IMAGE     NAMES\nabc            busybox   web\n");
        let f = ListFormat::parse("table {{.ID}}\\t{{.Name}}", "").unwrap();
        let headers = Value::map([("ID", Value::from("ID")), ("Name", Value::from("NAME"))]);
        let rows = vec![Value::map([("ID", Value::from("1")), ("Name", Value::from("a"))])];
        assert_eq!(f.render(&rows, &headers).unwrap(), "ID        NAME\n1         a\n");
        let f = ListFormat::parse("json", "").unwrap();
        assert_eq!(f.render(&rows, &headers).unwrap(), "{\"ID\":\"1\",\"Name\":\"a\"}\n");
    }
}
