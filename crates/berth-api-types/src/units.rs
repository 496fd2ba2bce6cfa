//! Sizes as Docker writes them in API text (pull progress) and its CLI prints them
//! (go-units' `HumanSize`, `HumanSizeWithPrecision`, `BytesSize`); Go's durations, which
//! the CLI's flags and the API's filters take.

/// Go's `%.Ng` for a value below 1000: N significant digits, trailing zeros dropped.
fn sig(x: f64, digits: i32) -> String {
    if x == 0.0 {
        return "0".to_owned();
    }
    let before = (x.abs().log10().floor() as i32 + 1).max(1);
    let decimals = (digits - before).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

fn scaled(mut x: f64, step: f64, units: &[&str], digits: i32) -> String {
    let mut i = 0;
    while x >= step && i < units.len() - 1 {
        x /= step;
        i += 1;
    }
    format!("{}{}", sig(x, digits), units[i])
}

/// Decimal units with `digits` significant digits: `human_size(4_260_000, 3)` is `4.26MB`,
/// with 4 (Docker's `HumanSize`) `1.982MB`.
pub fn human_size(n: i64, digits: i32) -> String {
    scaled(n as f64, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"], digits)
}

/// Binary units, 4 significant digits: `1.5MiB` (Docker's `BytesSize`, as `stats` shows).
pub fn bytes_size(n: f64) -> String {
    scaled(n, 1024.0, &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"], 4)
}

/// Go's `time.ParseDuration` (`1m30s`, `500ms`, `1.5h`) in nanoseconds.
pub fn go_duration(s: &str) -> Result<i64, String> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(format!("time: invalid duration \"{s}\""));
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let num: f64 = rest[..n].parse().map_err(|_| format!("time: invalid duration \"{s}\""))?;
        rest = &rest[n..];
        let u = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration \"{s}\"")),
            other => return Err(format!("time: unknown unit \"{other}\" in duration \"{s}\"")),
        };
        rest = &rest[u..];
        total += num * unit;
    }
    Ok(if neg { -(total as i64) } else { total as i64 })
}

