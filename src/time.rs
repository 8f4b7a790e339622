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

/// How the MySQL-family plugin timestamps of a scan are read (formats.md §7 items 13 and 16).
///
/// The plugin writes server-local time with no zone marker: UTC on RDS, so the default reads
/// it as UTC, and `offset_us` is the user's override for a server kept at another fixed
/// offset. MariaDB ≥ 12 can also write its own layout (`server_audit_timestamp_format`);
/// `layout` holds the user's strftime pattern for it. Aurora's epoch microseconds are UTC and
/// never shifted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    pub layout: Option<&'static TimeLayout>,
    /// Local time minus UTC, in microseconds (`+02:00` is 7,200,000,000).
    pub offset_us: i64,
}

impl Clock {
    /// A local plugin time as UTC.
    #[inline]
    pub fn to_utc(&self, local_us: i64) -> i64 {
        local_us - self.offset_us
    }
}

/// A user-supplied strftime pattern for the timestamp field of MariaDB audit lines.
#[derive(Debug)]
pub struct TimeLayout {
    pattern: String,
    items: Vec<chrono::format::Item<'static>>,
    /// Commas the pattern itself writes: the field ends at the comma after them.
    commas: usize,
}

impl PartialEq for TimeLayout {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for TimeLayout {}

impl TimeLayout {
    /// Checks `pattern` (chrono's strftime syntax: `%Y-%m-%d %H:%M:%S`, `%d/%b/%Y:%T`, `%.f`
    /// for a fraction, ...): it must name a date and a time to the second, which is checked
    /// by writing a known time with it and reading it back.
    pub fn new(pattern: &str) -> Result<TimeLayout, String> {
        use chrono::format::{Item, StrftimeItems};
        let items = StrftimeItems::new(pattern)
            .parse_to_owned()
            .map_err(|_| format!("timestamp format {pattern:?}: not a strftime pattern"))?;
        if items.iter().any(|i| matches!(i, Item::Error)) {
            return Err(format!(
                "timestamp format {pattern:?}: not a strftime pattern"
            ));
        }
        let probe = NaiveDate::from_ymd_opt(2026, 3, 1)
            .and_then(|d| d.and_hms_opt(21, 34, 56))
            .expect("valid probe time");
        // A field the probe cannot write (`%z`: a naive time has no zone) is an error of
        // `Display`, which `to_string` would turn into a panic.
        let mut written = String::new();
        if std::fmt::Write::write_fmt(
            &mut written,
            format_args!("{}", probe.format_with_items(items.iter())),
        )
        .is_err()
        {
            return Err(format!(
                "timestamp format {pattern:?}: names a field a plugin timestamp does not have (a time zone?)"
            ));
        }
        let layout = TimeLayout {
            pattern: pattern.to_string(),
            commas: written.bytes().filter(|&b| b == b',').count(),
            items,
        };
        match layout.parse(written.as_bytes()) {
            Some(us) if us == probe.and_utc().timestamp_micros() => Ok(layout),
            _ => Err(format!(
                "timestamp format {pattern:?} does not give a date and a time to the second \
                 (it writes 2026-03-01 21:34:56 as {written:?})"
            )),
        }
    }

    /// The pattern as given.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Splits a line into its timestamp field and the rest after the field's comma.
    #[inline]
    pub fn split<'a>(&self, line: &'a [u8]) -> Option<(&'a [u8], &'a [u8])> {
        let mut commas = memchr::memchr_iter(b',', line);
        let end = commas.nth(self.commas)?;
        Some((&line[..end], &line[end + 1..]))
    }

    /// The local time at the start of `line` in this layout (epoch microseconds), and the
    /// rest of the line after the field's comma.
    #[inline]
    pub fn read<'a>(&self, line: &'a [u8]) -> Option<(i64, &'a [u8])> {
        let (field, rest) = self.split(line)?;
        Some((self.parse(field)?, rest))
    }

    /// The field as local epoch microseconds.
    pub fn parse(&self, field: &[u8]) -> Option<i64> {
        LAST_CUSTOM.with_borrow_mut(|last| {
            // Lines of one second share the field: read it once.
            if let Some((pattern, text, us)) = last.as_ref() {
                if text.as_slice() == field && *pattern == self.pattern {
                    return Some(*us);
                }
            }
            let text = std::str::from_utf8(field).ok()?;
            let mut parsed = chrono::format::Parsed::new();
            chrono::format::parse(&mut parsed, text, self.items.iter()).ok()?;
            let us = parsed
                .to_naive_datetime_with_offset(0)
                .ok()?
                .and_utc()
                .timestamp_micros();
            *last = Some((self.pattern.clone(), field.to_vec(), us));
            Some(us)
        })
    }
}

thread_local! {
    /// The last field read by [`TimeLayout::parse`] on this thread (a memo of a pure
    /// function, keyed by the layout it was read with).
    static LAST_CUSTOM: std::cell::RefCell<Option<(String, Vec<u8>, i64)>> =
        const { std::cell::RefCell::new(None) };
}

/// `+HH:MM` or `-HH:MM` of an offset in microseconds.
pub fn offset_string(offset_us: i64) -> String {
    let minutes = offset_us.abs() / 60_000_000;
    let sign = if offset_us < 0 { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `+HH:MM`, `-HH:MM`, `+HHMM`, `+HH`, `Z` or `UTC`: a fixed offset from UTC, in
/// microseconds.
pub fn parse_utc_offset(s: &str) -> Result<i64, String> {
    let bad = || format!("UTC offset {s:?}: expected +HH:MM, -HH:MM or Z");
    let t = s.trim();
    if t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("utc") {
        return Ok(0);
    }
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let digits_only: String = rest.chars().filter(|&c| c != ':').collect();
    if !digits_only.bytes().all(|b| b.is_ascii_digit()) || rest.matches(':').count() > 1 {
        return Err(bad());
    }
    let (h, m) = match digits_only.len() {
        2 => (&digits_only[..2], "00"),
        4 => (&digits_only[..2], &digits_only[2..]),
        _ => return Err(bad()),
    };
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60) * 1_000_000)
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
                'm' => n.checked_mul(60),
                'h' => n.checked_mul(3600),
                'd' => n.checked_mul(86_400),
                'w' => n.checked_mul(7 * 86_400),
                _ => None,
            };
            // A duration too long to count back from now is not a time.
            let back = secs
                .and_then(|s| i64::try_from(s).ok())
                .and_then(|s| s.checked_mul(1_000_000))
                .and_then(|us| now.timestamp_micros().checked_sub(us));
            if let Some(t) = back {
                return Ok(t);
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

    /// Custom MariaDB layouts: each reads what it writes, to the microsecond where it has a
    /// fraction; the field ends after the commas the layout itself writes; the memo of the
    /// last field never leaks between layouts.
    #[test]
    fn custom_layouts_read_their_own_timestamps() {
        let t = |s: &str| parse_time_arg(s, chrono::Utc::now()).unwrap();
        let cases = [
            (
                "%Y-%m-%d %H:%M:%S",
                "2026-03-01 21:34:56",
                t("2026-03-01T21:34:56Z"),
            ),
            (
                "%d/%b/%Y:%H:%M:%S",
                "01/Mar/2026:21:34:56",
                t("2026-03-01T21:34:56Z"),
            ),
            (
                "%Y-%m-%dT%H:%M:%S%.f",
                "2026-03-01T21:34:56.123456",
                t("2026-03-01T21:34:56Z") + 123_456,
            ),
            (
                "%Y-%m-%d %H:%M:%S,%3f",
                "2026-03-01 21:34:56,250",
                t("2026-03-01T21:34:56Z") + 250_000,
            ),
        ];
        for (pattern, field, want) in cases {
            let layout = TimeLayout::new(pattern).unwrap();
            let line = format!("{field},db1,app,10.0.0.5,1,0,CONNECT,,,0");
            let (got_field, rest) = layout.split(line.as_bytes()).unwrap();
            assert_eq!(got_field, field.as_bytes(), "{pattern}");
            assert!(rest.starts_with(b"db1,"), "{pattern}");
            assert_eq!(layout.parse(got_field), Some(want), "{pattern}");
            // Twice (the memo), then another layout on the same text.
            assert_eq!(layout.parse(got_field), Some(want), "{pattern}");
        }
        let a = TimeLayout::new("%Y-%m-%d %H:%M:%S").unwrap();
        let b = TimeLayout::new("%Y-%d-%m %H:%M:%S").unwrap();
        assert_eq!(a.parse(b"2026-03-01 00:00:00"), Some(t("2026-03-01")));
        assert_eq!(b.parse(b"2026-03-01 00:00:00"), Some(t("2026-01-03")));
        assert_eq!(a.parse(b"2026-03-01 00:00:0x"), None);
        assert_eq!(a.parse(b"\xff\xfe"), None);
        for bad in ["%Y-%m-%d", "%H:%M:%S", "%Y-%m-%d %H:%M", "%Q", "plain"] {
            assert!(TimeLayout::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn utc_offsets_parse_and_print() {
        let h = 3_600_000_000i64;
        for (s, want) in [
            ("+02:00", 2 * h),
            ("-05:30", -(5 * h + h / 2)),
            ("+0545", 5 * h + 45 * h / 60),
            ("+09", 9 * h),
            ("Z", 0),
            ("utc", 0),
        ] {
            assert_eq!(parse_utc_offset(s), Ok(want), "{s}");
        }
        for bad in ["2", "+2", "+25:00", "+02:60", "02:00", "+02:00:00", ""] {
            assert!(parse_utc_offset(bad).is_err(), "{bad}");
        }
        assert_eq!(offset_string(-(5 * h + h / 2)), "-05:30");
        assert_eq!(offset_string(0), "+00:00");
        let clock = Clock {
            layout: None,
            offset_us: 2 * h,
        };
        assert_eq!(clock.to_utc(12 * h), 10 * h);
    }
}
