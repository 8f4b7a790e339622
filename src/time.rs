//! Time, UTC everywhere: fixed-format timestamp parsing for the hot path and the `--since`/
//! `--until` forms of the command line.
//!
//! Log timestamps have fixed layouts (`YYYYMMDD HH:MM:SS`, 16-digit epoch microseconds, ISO
//! 8601 with `Z`), so they are parsed digit by digit with a days-from-civil formula instead of a
//! general date parser: this runs once per line.

use chrono::{DateTime, NaiveDate, Utc};

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `YYYY-MM-DD` of a day number, for partition names.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub const US_PER_DAY: i64 = 86_400_000_000;

/// The UTC day number of an epoch-microsecond time.
pub fn day_of(time_us: i64) -> i64 {
    time_us.div_euclid(US_PER_DAY)
}

/// `YYYY-MM-DD` for a day number.
pub fn date_string(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

#[inline]
fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as u32;
    }
    Some(v)
}

fn epoch_us(y: u32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    if !(1..=12).contains(&mo) || d == 0 || d > 31 || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y as i64, mo, d);
    Some((days * 86_400 + h as i64 * 3600 + mi as i64 * 60 + s as i64) * 1_000_000)
}

thread_local! {
    /// The last `YYYYMMDD` read by [`parse_compact`] on this thread and its day's start
    /// (epoch µs): consecutive audit lines nearly always share the date, and the calendar
    /// arithmetic is most of the cost of a timestamp. A memo of a pure function, so results
    /// do not depend on which thread parses what.
    static LAST_DAY: std::cell::Cell<Option<(u64, i64)>> = const { std::cell::Cell::new(None) };
}

/// `YYYYMMDD HH:MM:SS` (MariaDB/RDS MySQL audit), exactly 17 bytes.
#[inline]
pub fn parse_compact(b: &[u8]) -> Option<i64> {
    if b.len() != 17 || b[8] != b' ' || b[11] != b':' || b[14] != b':' {
        return None;
    }
    let (h, mi, s) = (digits(&b[9..11])?, digits(&b[12..14])?, digits(&b[15..17])?);
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // The eight date bytes as one key; only a valid date is ever remembered.
    let key = u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
    let day_us = match LAST_DAY.get() {
        Some((last, day_us)) if last == key => day_us,
        _ => {
            let day_us = epoch_us(
                digits(&b[0..4])?,
                digits(&b[4..6])?,
                digits(&b[6..8])?,
                0,
                0,
                0,
            )?;
            LAST_DAY.set(Some((key, day_us)));
            day_us
        }
    };
    Some(day_us + (h as i64 * 3600 + mi as i64 * 60 + s as i64) * 1_000_000)
}

/// `YYYY-MM-DD HH:MM:SS` (PostgreSQL `%t` without the zone), exactly 19 bytes.
#[inline]
pub fn parse_iso_space(b: &[u8]) -> Option<i64> {
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    epoch_us(
        digits(&b[0..4])?,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    )
}

/// The CloudWatch S3-export prefix `YYYY-MM-DDTHH:MM:SS[.fff]Z ` at the start of a line.
/// Returns the time and the length of the prefix including the space.
#[inline]
pub fn parse_cloudwatch_prefix(b: &[u8]) -> Option<(i64, usize)> {
    if b.len() < 21
        || b[10] != b'T'
        || b[4] != b'-'
        || b[7] != b'-'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let base = epoch_us(
        digits(&b[0..4])?,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    )?;
    let mut i = 19;
    let mut frac_us = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &b[start..i];
        if frac.is_empty() {
            return None;
        }
        let mut scale = 100_000i64;
        for &c in frac.iter().take(6) {
            frac_us += (c - b'0') as i64 * scale;
            scale /= 10;
        }
    }
    if b.get(i) != Some(&b'Z') || b.get(i + 1) != Some(&b' ') {
        return None;
    }
    Some((base + frac_us, i + 2))
}

/// 16-digit epoch microseconds (Aurora MySQL).
#[inline]
pub fn parse_epoch_us(b: &[u8]) -> Option<i64> {
    if b.len() != 16 {
        return None;
    }
    digits(&b[..8]).and_then(|hi| digits(&b[8..]).map(|lo| hi as i64 * 100_000_000 + lo as i64))
}

/// `--since`/`--until`: RFC 3339, a date (00:00 UTC), or a duration back from `now`
/// (`90m`, `24h`, `7d`, `30s`, `2w`).
pub fn parse_time_arg(s: &str, now: DateTime<Utc>) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc).timestamp_micros());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(days_from_civil(
            chrono::Datelike::year(&d) as i64,
            chrono::Datelike::month(&d),
            chrono::Datelike::day(&d),
        ) * US_PER_DAY);
    }
    if let Some(unit) = s.chars().last() {
        let num = &s[..s.len() - unit.len_utf8()];
        if let Ok(n) = num.parse::<u64>() {
            let secs = match unit {
                's' => Some(n),
                'm' => Some(n * 60),
                'h' => Some(n * 3600),
                'd' => Some(n * 86_400),
                'w' => Some(n * 7 * 86_400),
                _ => None,
            };
            if let Some(secs) = secs {
                return Ok(now.timestamp_micros() - secs as i64 * 1_000_000);
            }
        }
    }
    Err(format!(
        "cannot read time {s:?}: use RFC 3339 (2026-03-01T12:00:00Z), a date (2026-03-01) or a duration back from now (90m, 24h, 7d)"
    ))
}

/// RFC 3339 with microseconds, for the summary.
pub fn rfc3339(time_us: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(time_us) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        None => format!("@{time_us}us"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_audit_timestamp_is_utc_epoch() {
        assert_eq!(
            parse_compact(b"20230501 10:02:19"),
            Some(1_682_935_339_000_000)
        );
        assert_eq!(parse_compact(b"20231301 10:02:19"), None);
        // The remembered day: the same date again, another date, back, and bad times on it.
        let at = |s: &[u8]| parse_compact(s).map(|t| t / 1_000_000);
        assert_eq!(at(b"20230501 10:02:20"), Some(1_682_935_340));
        assert_eq!(at(b"20230502 00:00:00"), Some(1_682_985_600));
        assert_eq!(at(b"20230501 23:59:59"), Some(1_682_985_599));
        assert_eq!(at(b"20230501 24:00:00"), None);
        assert_eq!(at(b"20230501 10:6x:00"), None);
        assert_eq!(at(b"\0\0\0\0\0\0\0\0 10:00:00"), None);
        assert_eq!(parse_compact(b"2023050110:02:19x"), None);
    }

    #[test]
    fn civil_round_trips() {
        for day in [-800_000i64, -1, 0, 1, 19_000, 20_513, 2_000_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(date_string(day_of(1_682_935_339_000_000)), "2023-05-01");
        assert_eq!(date_string(day_of(-1)), "1969-12-31");
    }

    #[test]
    fn cloudwatch_prefix_keeps_milliseconds() {
        let (t, n) = parse_cloudwatch_prefix(b"2023-05-01T10:02:19.123Z 20230501 ...").unwrap();
        assert_eq!(t, 1_682_935_339_123_000);
        assert_eq!(n, 25);
        assert!(parse_cloudwatch_prefix(b"2023-05-01T10:02:19.123 x").is_none());
    }

    #[test]
    fn time_arguments_accept_three_forms() {
        let now = DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let day = parse_time_arg("2026-03-01", now).unwrap();
        assert_eq!(parse_time_arg("2026-03-01T00:00:00Z", now).unwrap(), day);
        assert_eq!(parse_time_arg("24h", now).unwrap(), day);
        assert_eq!(parse_time_arg("1d", now).unwrap(), day);
        assert!(parse_time_arg("yesterday", now).is_err());
    }

    #[test]
    fn aurora_epoch_needs_sixteen_digits() {
        assert_eq!(
            parse_epoch_us(b"1653053459680124"),
            Some(1_653_053_459_680_124)
        );
        assert_eq!(parse_epoch_us(b"165305345968012"), None);
        assert_eq!(parse_epoch_us(b"16530534596801x4"), None);
    }
}
