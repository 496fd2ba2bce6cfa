//! Sizes as Docker writes them in API text (pull progress) and its CLI prints them
//! (go-units' `HumanSize`, `HumanSizeWithPrecision`, `BytesSize`).

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
