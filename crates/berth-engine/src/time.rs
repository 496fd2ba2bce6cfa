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

/// A date or time as Docker's filters take it: `2006-01-02`, `2006-01-02T15`,
/// `2006-01-02T15:04`, `2006-01-02T15:04:05[.999999999]`, each with `Z`, a `±07:00` offset or
/// no zone (read as UTC: berthd keeps no time zone of its own).
fn parse_date(s: &str) -> Option<i128> {
    let num = |t: &str| t.parse::<i64>().ok();
    let (date, time) = s.split_once('T').unwrap_or((s, ""));
    let mut d = date.splitn(3, '-');
    let (y, mo, da) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    if date.len() != 10 || !(1..=12).contains(&mo) || !(1..=31).contains(&da) || y < 1970 {
        return None;
    }
    let (clock, offset) = match time.find(['Z', '+', '-']) {
        Some(i) if &time[i..] == "Z" => (&time[..i], 0),
        Some(i) => {
            let (h, m) = time[i + 1..].split_once(':')?;
            let off = num(h)? * 3600 + num(m)? * 60;
            (&time[..i], if time.as_bytes()[i] == b'-' { -off } else { off })
        }
        None => (time, 0),
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = hms.split(':').filter(|p| !p.is_empty());
    let mut field = |max: i64| -> Option<i64> { parts.next().map_or(Some(0), |p| num(p).filter(|v| (0..=max).contains(v))) };
    let (h, mi, se) = (field(23)?, field(59)?, field(60)?);
    if parts.next().is_some() || (!frac.is_empty() && !frac.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let nanos: i64 = if frac.is_empty() { 0 } else { format!("{:0<9}", &frac[..frac.len().min(9)]).parse().ok()? };
    let secs = days_from_civil(y, mo, da) * 86400 + h * 3600 + mi * 60 + se - offset;
    Some(i128::from(secs) * 1_000_000_000 + i128::from(nanos))
}

/// A `since`/`until` query value as dockerd takes it: Unix seconds (with an optional
/// fraction), RFC 3339 or a shorter date or time, or a duration before now (`24h`).
pub fn parse_timestamp(s: &str) -> Option<i128> {
    if let Some(n) = parse_rfc3339(s).or_else(|| parse_date(s)) {
        return Some(n);
    }
    if let Ok(d) = berth_api_types::units::go_duration(s) {
        return Some(now_nanos() - i128::from(d));
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
    fn filter_times_take_dockers_forms() {
        assert_eq!(parse_timestamp("2026-11-24"), parse_rfc3339("2026-11-24T00:00:00Z"));
        assert_eq!(parse_timestamp("2026-11-24T16:34"), parse_rfc3339("2026-11-24T16:34:00Z"));
        assert_eq!(parse_timestamp("2026-11-24T16:34:16"), parse_rfc3339("2026-11-24T16:34:16Z"));
        assert_eq!(parse_timestamp("2026-11-24T17:34:16+01:00"), parse_rfc3339("2026-11-24T16:34:16Z"));
        assert_eq!(parse_timestamp("1700000000.5"), Some(1_700_000_000_500_000_000));
        let hour_ago = parse_timestamp("1h").expect("a duration");
        let want = now_nanos() - 3_600_000_000_000;
        assert!((want - hour_ago).abs() < 5_000_000_000, "{hour_ago} vs {want}");
        for bad in ["h", "1x", "2026-13-01", "yesterday", "2026-11-24T25"] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

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
