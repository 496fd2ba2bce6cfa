//! Times as the API shows them: RFC 3339 with nanoseconds (formatted by the runtime's
//! `rfc3339_from_unix`), parsed back to Unix time, and Docker's human durations ("Up 2 minutes").

/// Unix nanoseconds of an RFC 3339 UTC time (`2026-11-23T20:00:00.123456789Z`, fraction
/// optional); None for anything else, including Docker's zero time before 1970.
pub fn parse_rfc3339(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let rest = &s[19..];
    let (frac, tz) = match rest.strip_prefix('.') {
        Some(r) => {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            // The first nine digits, as nanoseconds: `.5` is 500000000.
            let digits = &r.as_bytes()[..end.min(9)];
            let value = digits.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
            (value * 10i64.pow(9 - digits.len() as u32), &r[end..])
        }
        None => (0, rest),
    };
    if tz != "Z" || y < 1970 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86400 + h * 3600 + mi * 60 + se;
    Some(i128::from(secs) * 1_000_000_000 + i128::from(frac))
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn now_nanos() -> i128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i128).unwrap_or(0)
}

pub fn now() -> String {
    berth_runtime::state::now_rfc3339()
}

/// Docker's `HumanDuration`: "Less than a second", "5 seconds", "About a minute", "2 hours"...
pub fn human_duration(nanos: i128) -> String {
    let secs = (nanos / 1_000_000_000).max(0) as i64;
    let mins = secs / 60;
    let hours = mins / 60;
    match () {
        _ if secs < 1 => "Less than a second".into(),
        _ if secs == 1 => "1 second".into(),
        _ if secs < 60 => format!("{secs} seconds"),
        _ if mins == 1 => "About a minute".into(),
        _ if mins < 60 => format!("{mins} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", hours / 24 / 365),
    }
}

/// A `since`/`until` query value: Unix seconds (with an optional fraction), or RFC 3339.
pub fn parse_timestamp(s: &str) -> Option<i128> {
    if let Some(n) = parse_rfc3339(s) {
        return Some(n);
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = whole.parse().ok()?;
    let nanos: i64 = if frac.is_empty() { 0 } else { format!("{:0<9}", &frac[..frac.len().min(9)]).parse().ok()? };
    Some(i128::from(secs) * 1_000_000_000 + i128::from(nanos))
}

/// The `until` filter of a prune, as Unix nanoseconds.
pub fn until_filter(filters: &berth_api_types::Filters) -> crate::Result<Option<i128>> {
    match filters.get("until").next() {
        Some(u) => parse_timestamp(u).map(Some).ok_or_else(|| crate::Error::InvalidParameter(format!("invalid until value: {u:?}"))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        let s = berth_runtime::state::rfc3339_from_unix(1_795_464_000, 123_456_789);
        assert_eq!(parse_rfc3339(&s), Some(1_795_464_000_123_456_789));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Some(1_500_000_000));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.1234567891Z"), Some(1_123_456_789));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.Z"), Some(1_000_000_000));
    }

    #[test]
    fn timestamps_and_durations() {
        assert_eq!(parse_timestamp("10.5"), Some(10_500_000_000));
        assert_eq!(parse_timestamp("1970-01-01T00:00:02.5Z"), Some(2_500_000_000));
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(5_000_000_000), "5 seconds");
        assert_eq!(human_duration(90_000_000_000), "About a minute");
        assert_eq!(human_duration(3 * 3600 * 1_000_000_000), "3 hours");
    }
}
