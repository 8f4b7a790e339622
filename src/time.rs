//! Time, UTC everywhere: fixed-format timestamp parsing for the hot path and the `--since`/
//! `--until` forms of the command line, with the one duration grammar that those and every
//! window setting (`--brute-force-window`, ...) share.
//!
//! Log timestamps have fixed layouts (`YYYYMMDD HH:MM:SS`, 16-digit epoch microseconds, ISO
//! 8601 with `Z`), so they are parsed digit by digit with a days-from-civil formula instead of a
//! general date parser: this runs once per line. A date is checked against the calendar when
//! it differs from the last one read on the thread (then remembered), the time of day by three
//! compares; what does not exist is refused with the field at fault ([`TimeError`]).

use chrono::{DateTime, NaiveDate, Utc};

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `YYYY-MM-DD` of a day number, for partition names.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

pub(crate) const US_PER_DAY: i64 = 86_400_000_000;

/// The UTC day number of an epoch-microsecond time.
pub(crate) fn day_of(time_us: i64) -> i64 {
    time_us.div_euclid(US_PER_DAY)
}

/// `YYYY-MM-DD` for a day number.
pub(crate) fn date_string(day: i64) -> String {
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

/// Why a timestamp was not read: it is not in the layout at all, or one of its fields names
/// a date or a time that does not exist (`20260231`, `24:00:00`, month 13).
///
/// Second 60 is accepted, as a leap second: ISO 8601 and RFC 3339 allow it, and a server
/// whose zone is one of the `right/` (leap-second-aware) zones writes it from `localtime()`.
/// POSIX time has no leap seconds, so it is read as the first second of the next minute, as
/// `mktime()` and chrono (used for `--since`/`--until` and custom layouts) read it. Rejecting
/// it would drop a real event over a second; second 61 and above are rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeError {
    /// Not this timestamp layout (wrong length, separators or non-digits).
    Layout,
    /// Month 00 or over 12.
    Month,
    /// Day 00, or past the end of its month (February 30, February 29 outside a leap year).
    Day,
    /// Hour over 23.
    Hour,
    /// Minute over 59.
    Minute,
    /// Second over 60.
    Second,
}

/// Whether `y` is a leap year in the proleptic Gregorian calendar (2000 and 2024 are, 1900
/// and 2026 are not).
pub(crate) fn is_leap_year(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// The number of days of month `m` (1 to 12) of year `y`.
pub(crate) fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap_year(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Checks that `y-m-d` is a day of the calendar.
pub(crate) fn check_date(y: i64, m: u32, d: u32) -> Result<(), TimeError> {
    if !(1..=12).contains(&m) {
        Err(TimeError::Month)
    } else if d == 0 || d > days_in_month(y, m) {
        Err(TimeError::Day)
    } else {
        Ok(())
    }
}

/// `h:mi:s` as microseconds since midnight, checked with three compares (see [`TimeError`]
/// for second 60).
#[inline(always)]
fn time_of_day(h: u32, mi: u32, s: u32) -> Result<i64, TimeError> {
    if h > 23 {
        return Err(TimeError::Hour);
    }
    if mi > 59 {
        return Err(TimeError::Minute);
    }
    if s > 60 {
        return Err(TimeError::Second);
    }
    Ok((h as i64 * 3600 + mi as i64 * 60 + s as i64) * 1_000_000)
}

#[inline(always)]
fn two(b: &[u8]) -> Result<u32, TimeError> {
    digits(b).ok_or(TimeError::Layout)
}

thread_local! {
    /// The last date read on this thread (its eight `YYYYMMDD` digits as one key, whatever the
    /// layout wrote between them) and its day's start (epoch µs): consecutive log lines nearly
    /// always share the date, and the calendar arithmetic and checks are most of the cost of a
    /// timestamp. Only a valid date is ever remembered, so the calendar is checked exactly
    /// when the day changes. A memo of a pure function, so results do not depend on which
    /// thread parses what.
    static LAST_DAY: std::cell::Cell<Option<(u64, i64)>> = const { std::cell::Cell::new(None) };
}

/// The start (epoch µs) of the day whose `YYYYMMDD` digits are `key`'s bytes in order.
#[inline(always)]
fn day_start(key: u64) -> Result<i64, TimeError> {
    match LAST_DAY.get() {
        Some((last, day_us)) if last == key => Ok(day_us),
        _ => {
            let day_us = civil_day_start(key)?;
            LAST_DAY.set(Some((key, day_us)));
            Ok(day_us)
        }
    }
}

/// [`day_start`] when the day changed: digits, then the calendar.
#[inline(never)]
fn civil_day_start(key: u64) -> Result<i64, TimeError> {
    let b = key.to_le_bytes();
    let (y, m, d) = (two(&b[0..4])? as i64, two(&b[4..6])?, two(&b[6..8])?);
    check_date(y, m, d)?;
    Ok(days_from_civil(y, m, d) * US_PER_DAY)
}

/// The `YYYYMMDD` key of an ISO `YYYY-MM-DD` date.
#[inline(always)]
fn iso_key(b: &[u8]) -> u64 {
    let mut k = [0u8; 8];
    k[..4].copy_from_slice(&b[0..4]);
    k[4..6].copy_from_slice(&b[5..7]);
    k[6..8].copy_from_slice(&b[8..10]);
    u64::from_le_bytes(k)
}

/// `YYYYMMDD HH:MM:SS` (MariaDB/RDS MySQL audit), exactly 17 bytes.
#[inline]
pub(crate) fn parse_compact(b: &[u8]) -> Result<i64, TimeError> {
    if b.len() != 17 || b[8] != b' ' || b[11] != b':' || b[14] != b':' {
        return Err(TimeError::Layout);
    }
    let (h, mi, s) = (two(&b[9..11])?, two(&b[12..14])?, two(&b[15..17])?);
    let day_us = day_start(u64::from_le_bytes(b[..8].try_into().expect("8 bytes")))?;
    Ok(day_us + time_of_day(h, mi, s)?)
}

/// A user-supplied strftime pattern for the timestamp field of MariaDB audit lines.
#[derive(Clone, Debug)]
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

/// `--timestamp-format` and the `timestamp_format` key: checked as [`TimeLayout::new`] does.
impl std::str::FromStr for TimeLayout {
    type Err = String;
    fn from_str(s: &str) -> Result<TimeLayout, String> {
        TimeLayout::new(s)
    }
}

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
            Ok(us) if us == probe.and_utc().timestamp_micros() => Ok(layout),
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
    pub fn read<'a>(&self, line: &'a [u8]) -> Result<(i64, &'a [u8]), TimeError> {
        let (field, rest) = self.split(line).ok_or(TimeError::Layout)?;
        Ok((self.parse(field)?, rest))
    }

    /// The field as local epoch microseconds. A field in the layout that names a date or time
    /// that does not exist (chrono refuses it) is reported by the field at fault.
    pub fn parse(&self, field: &[u8]) -> Result<i64, TimeError> {
        LAST_CUSTOM.with_borrow_mut(|last| {
            // Lines of one second share the field: read it once.
            if let Some((pattern, text, us)) = last.as_ref() {
                if text.as_slice() == field && *pattern == self.pattern {
                    return Ok(*us);
                }
            }
            let text = std::str::from_utf8(field).map_err(|_| TimeError::Layout)?;
            let mut parsed = chrono::format::Parsed::new();
            let us = match chrono::format::parse(&mut parsed, text, self.items.iter()) {
                Ok(()) => match parsed.to_naive_datetime_with_offset(0) {
                    Ok(t) => t.and_utc().timestamp_micros(),
                    Err(_) => return Err(self.field_at_fault(text)),
                },
                Err(e) if e.kind() == chrono::format::ParseErrorKind::OutOfRange => {
                    return Err(self.field_at_fault(text))
                }
                Err(_) => return Err(TimeError::Layout),
            };
            *last = Some((self.pattern.clone(), field.to_vec(), us));
            Ok(us)
        })
    }

    /// Why chrono refused `text` though it may be in the layout: the items are read again one
    /// by one, and the first out of range names the field; when all are in range, the day of
    /// the month is checked against the month. Anything else is [`TimeError::Layout`]. Runs
    /// only for a refused field.
    #[cold]
    fn field_at_fault(&self, text: &str) -> TimeError {
        use chrono::format::{Fixed, Item, Numeric, ParseErrorKind};
        let mut parsed = chrono::format::Parsed::new();
        let mut rest = text;
        for item in &self.items {
            match chrono::format::parse_and_remainder(&mut parsed, rest, std::iter::once(item)) {
                Ok(r) => rest = r,
                Err(e) if e.kind() == ParseErrorKind::OutOfRange => {
                    return match item {
                        Item::Numeric(Numeric::Month, _)
                        | Item::Fixed(Fixed::ShortMonthName | Fixed::LongMonthName) => {
                            TimeError::Month
                        }
                        Item::Numeric(Numeric::Day | Numeric::Ordinal, _) => TimeError::Day,
                        Item::Numeric(Numeric::Hour | Numeric::Hour12, _) => TimeError::Hour,
                        Item::Numeric(Numeric::Minute, _) => TimeError::Minute,
                        Item::Numeric(Numeric::Second, _) => TimeError::Second,
                        _ => TimeError::Layout,
                    }
                }
                Err(_) => return TimeError::Layout,
            }
        }
        match (parsed.year(), parsed.month(), parsed.day()) {
            (Some(y), Some(m), Some(d)) => check_date(y as i64, m, d).err(),
            _ => None,
        }
        .unwrap_or(TimeError::Layout)
    }
}

thread_local! {
    /// The last field read by [`TimeLayout::parse`] on this thread (a memo of a pure
    /// function, keyed by the layout it was read with).
    static LAST_CUSTOM: std::cell::RefCell<Option<(String, Vec<u8>, i64)>> =
        const { std::cell::RefCell::new(None) };
}

/// `+HH:MM` or `-HH:MM` of an offset in microseconds.
pub(crate) fn offset_string(offset_us: i64) -> String {
    let minutes = offset_us.abs() / 60_000_000;
    let sign = if offset_us < 0 { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `--utc-offset` and the `utc_offset` key: local time minus UTC, read by
/// [`parse_utc_offset`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct UtcOffset(pub(crate) i64);

impl std::str::FromStr for UtcOffset {
    type Err = String;
    fn from_str(s: &str) -> Result<UtcOffset, String> {
        parse_utc_offset(s).map(UtcOffset)
    }
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
pub(crate) fn parse_iso_space(b: &[u8]) -> Result<i64, TimeError> {
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(TimeError::Layout);
    }
    iso_date_time(b)
}

/// The date and time of `YYYY-MM-DD?HH:MM:SS` whose separators are already checked.
#[inline(always)]
fn iso_date_time(b: &[u8]) -> Result<i64, TimeError> {
    let (h, mi, s) = (two(&b[11..13])?, two(&b[14..16])?, two(&b[17..19])?);
    Ok(day_start(iso_key(b))? + time_of_day(h, mi, s)?)
}

/// The CloudWatch S3-export prefix `YYYY-MM-DDTHH:MM:SS[.fff]Z ` at the start of a line: its
/// time, and the length of the prefix including the space. `None` when the line does not
/// start with the prefix's shape; a prefix of that shape naming a date or time that does not
/// exist still has its length (it is still the prefix, to strip or to reject the line by),
/// with the field at fault as the time.
#[inline]
pub(crate) fn parse_cloudwatch_prefix(b: &[u8]) -> Option<(Result<i64, TimeError>, usize)> {
    if b.len() < 21
        || b[10] != b'T'
        || b[4] != b'-'
        || b[7] != b'-'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    const DIGITS: [usize; 14] = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    if !DIGITS.iter().all(|&i| b[i].is_ascii_digit()) {
        return None;
    }
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
    Some((iso_date_time(b).map(|t| t + frac_us), i + 2))
}

/// A CloudTrail `eventTime`: `YYYY-MM-DDTHH:MM:SS[.fff]Z` (UTC, as CloudTrail writes it),
/// or `YYYY-MM-DD HH:MM:SS` (UTC; CloudTrail Lake and some exports).
pub(crate) fn parse_rfc3339_utc(b: &[u8]) -> Result<i64, TimeError> {
    if b.len() == 19 && b[10] == b' ' {
        return parse_iso_space(b);
    }
    // The CloudWatch prefix reader takes the same layout followed by a space.
    let mut buf = [0u8; 40];
    if b.len() + 1 > buf.len() {
        return Err(TimeError::Layout);
    }
    buf[..b.len()].copy_from_slice(b);
    buf[b.len()] = b' ';
    match parse_cloudwatch_prefix(&buf[..b.len() + 1]) {
        Some((t, n)) if n == b.len() + 1 => t,
        _ => Err(TimeError::Layout),
    }
}

/// 16-digit epoch microseconds (Aurora MySQL).
#[inline]
pub(crate) fn parse_epoch_us(b: &[u8]) -> Option<i64> {
    if b.len() != 16 {
        return None;
    }
    digits(&b[..8]).and_then(|hi| digits(&b[8..]).map(|lo| hi as i64 * 100_000_000 + lo as i64))
}

/// The one duration grammar of the command line and the config file: a whole number and a
/// unit, `s`, `m`, `h`, `d` or `w` (`30s`, `90m`, `24h`, `7d`, `2w`), or a bare number of
/// seconds (`300`); blanks around it are ignored. `--since 24h` and `--brute-force-window 5m`
/// are both read here, so a span means the same everywhere. `None` when `s` is not one, or
/// when it does not fit in epoch microseconds (about 292,000 years), the unit every duration
/// ends up in.
pub(crate) fn parse_duration_secs(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, unit_secs) = match s.as_bytes().last()? {
        b's' => (&s[..s.len() - 1], 1),
        b'm' => (&s[..s.len() - 1], 60),
        b'h' => (&s[..s.len() - 1], 3600),
        b'd' => (&s[..s.len() - 1], 86_400),
        b'w' => (&s[..s.len() - 1], 7 * 86_400),
        _ => (s, 1),
    };
    let secs = num.parse::<u64>().ok()?.checked_mul(unit_secs)?;
    i64::try_from(secs)
        .ok()
        .filter(|&secs| secs <= i64::MAX / 1_000_000)
}

/// `--since`/`--until` as written: an instant, or a duration back from the start of the run
/// (resolved by [`TimeArg::resolve`] with one `now` for both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimeArg {
    /// Epoch microseconds.
    At(i64),
    /// Seconds before now.
    Ago(i64),
}

/// RFC 3339, a date (00:00 UTC), or a duration ([`parse_duration_secs`]) back from now.
impl std::str::FromStr for TimeArg {
    type Err = String;
    fn from_str(s: &str) -> Result<TimeArg, String> {
        let s = s.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(TimeArg::At(t.with_timezone(&Utc).timestamp_micros()));
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(TimeArg::At(
                days_from_civil(
                    chrono::Datelike::year(&d) as i64,
                    chrono::Datelike::month(&d),
                    chrono::Datelike::day(&d),
                ) * US_PER_DAY,
            ));
        }
        if let Some(why) = calendar_problem(s) {
            return Err(format!("cannot read time {s:?}: {why}"));
        }
        // A bare number is more likely a year or an epoch time than seconds back from now.
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "cannot read time {s:?}: give a unit for a duration back from now (e.g. {s}s), or a date (2026-03-01)"
            ));
        }
        parse_duration_secs(s).map(TimeArg::Ago).ok_or_else(|| {
            format!(
                "cannot read time {s:?}: use RFC 3339 (2026-03-01T12:00:00Z), a date (2026-03-01) or a duration back from now (90m, 24h, 7d)"
            )
        })
    }
}

impl TimeArg {
    /// Epoch microseconds, durations counted back from `now_us`.
    pub(crate) fn resolve(self, now_us: i64) -> i64 {
        match self {
            TimeArg::At(us) => us,
            TimeArg::Ago(secs) => now_us.saturating_sub(secs * 1_000_000),
        }
    }
}

/// `--since`/`--until` of one run as epoch microseconds: durations count back from one
/// shared `now`, so `--since 2h --until 1h` is exactly an hour.
pub(crate) fn time_window(
    since: Option<TimeArg>,
    until: Option<TimeArg>,
) -> (Option<i64>, Option<i64>) {
    let now_us = Utc::now().timestamp_micros();
    (
        since.map(|t| t.resolve(now_us)),
        until.map(|t| t.resolve(now_us)),
    )
}

/// A `--since`/`--until` argument as epoch microseconds: RFC 3339, a date (00:00 UTC), or a
/// duration back from `now` (`90m`, `24h`, `7d`, `30s`, `2w`).
pub fn parse_time_arg(s: &str, now: DateTime<Utc>) -> Result<i64, String> {
    Ok(s.parse::<TimeArg>()?.resolve(now.timestamp_micros()))
}

/// For a time argument chrono refused: when it has the shape of a date (and time) whose
/// field names a day or time that does not exist, which field and why.
fn calendar_problem(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| b.get(r).and_then(digits);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    match check_date(y as i64, m, d) {
        Err(TimeError::Month) => return Some(format!("month {m:02} does not exist (01 to 12)")),
        Err(_) => {
            const NAMES: [&str; 12] = [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ];
            return Some(format!(
                "day {d:02} does not exist in {} {y:04} (it has {} days)",
                NAMES[m as usize - 1],
                days_in_month(y as i64, m)
            ));
        }
        Ok(()) => {}
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return None;
    }
    let (h, mi) = (num(11..13)?, num(14..16)?);
    let sec = if b.get(16) == Some(&b':') {
        num(17..19)?
    } else {
        0
    };
    match time_of_day(h, mi, sec) {
        Err(TimeError::Hour) => Some(format!("hour {h:02} does not exist (00 to 23)")),
        Err(TimeError::Minute) => Some(format!("minute {mi:02} does not exist (00 to 59)")),
        Err(_) => Some(format!(
            "second {sec:02} does not exist (00 to 59, or 60 for a leap second)"
        )),
        Ok(_) => None,
    }
}

/// RFC 3339 with microseconds, for the summary.
pub(crate) fn rfc3339(time_us: i64) -> String {
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
            Ok(1_682_935_339_000_000)
        );
        assert_eq!(parse_compact(b"20231301 10:02:19"), Err(TimeError::Month));
        // The remembered day: the same date again, another date, back, and bad times on it.
        let at = |s: &[u8]| parse_compact(s).ok().map(|t| t / 1_000_000);
        assert_eq!(at(b"20230501 10:02:20"), Some(1_682_935_340));
        assert_eq!(at(b"20230502 00:00:00"), Some(1_682_985_600));
        assert_eq!(at(b"20230501 23:59:59"), Some(1_682_985_599));
        assert_eq!(at(b"20230501 24:00:00"), None);
        assert_eq!(at(b"20230501 10:6x:00"), None);
        assert_eq!(at(b"\0\0\0\0\0\0\0\0 10:00:00"), None);
        assert_eq!(parse_compact(b"2023050110:02:19x"), Err(TimeError::Layout));
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
        assert_eq!(t, Ok(1_682_935_339_123_000));
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

    /// The grammar `--since 24h` and `--brute-force-window 5m` share: every unit, bare
    /// seconds, blanks around it; nothing else, and nothing that overflows microseconds.
    #[test]
    fn one_duration_grammar_reads_units_and_bare_seconds() {
        for (s, secs) in [
            ("30s", 30),
            ("5m", 300),
            ("1h", 3600),
            ("2d", 172_800),
            ("2w", 1_209_600),
            ("300", 300),
            (" 90m ", 5400),
            ("+5m", 300),
            ("0s", 0),
            ("15250284w", 15_250_284 * 604_800),
        ] {
            assert_eq!(parse_duration_secs(s), Some(secs), "{s}");
        }
        for bad in [
            "",
            "m",
            "5x",
            "5M",
            "-5m",
            "5 m",
            "1.5h",
            "5mm",
            "15250285w",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration_secs(bad), None, "{bad}");
        }
        // As a time argument, the same spans count back from now.
        let now = DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let day = parse_time_arg("2026-03-01", now).unwrap();
        for s in ["86400s", "1440m", "24h", "1d"] {
            assert_eq!(parse_time_arg(s, now), Ok(day), "{s}");
        }
        // A bare number is a window's seconds, never a time: `--since 2026` is refused.
        assert!(parse_time_arg("2026", now)
            .unwrap_err()
            .contains("give a unit"));
        assert_eq!(
            parse_time_arg("1w", now).unwrap(),
            parse_time_arg("2026-02-23", now).unwrap()
        );
        assert!(parse_time_arg("5x", now)
            .unwrap_err()
            .starts_with("cannot read time \"5x\""));
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
            assert_eq!(layout.parse(got_field), Ok(want), "{pattern}");
            // Twice (the memo), then another layout on the same text.
            assert_eq!(layout.parse(got_field), Ok(want), "{pattern}");
        }
        let a = TimeLayout::new("%Y-%m-%d %H:%M:%S").unwrap();
        let b = TimeLayout::new("%Y-%d-%m %H:%M:%S").unwrap();
        assert_eq!(a.parse(b"2026-03-01 00:00:00"), Ok(t("2026-03-01")));
        assert_eq!(b.parse(b"2026-03-01 00:00:00"), Ok(t("2026-01-03")));
        assert_eq!(a.parse(b"2026-03-01 00:00:0x"), Err(TimeError::Layout));
        assert_eq!(a.parse(b"\xff\xfe"), Err(TimeError::Layout));
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
    }

    /// The calendar in every fixed layout: leap years (2024 and 2000 have February 29, 2026
    /// and 1900 do not), month and day bounds, and each time field, with the field at fault.
    #[test]
    fn impossible_dates_and_times_are_refused_by_field() {
        use TimeError::*;
        let cases: [(&str, Result<(), TimeError>); 21] = [
            ("2024-02-29 10:00:00", Ok(())),
            ("2000-02-29 10:00:00", Ok(())),
            ("2026-02-28 10:00:00", Ok(())),
            ("2026-02-29 10:00:00", Err(Day)),
            ("1900-02-29 10:00:00", Err(Day)),
            ("2026-02-31 10:00:00", Err(Day)),
            ("2026-04-31 10:00:00", Err(Day)),
            ("2026-04-30 10:00:00", Ok(())),
            ("2026-12-31 23:59:59", Ok(())),
            ("2026-01-32 10:00:00", Err(Day)),
            ("2026-01-00 10:00:00", Err(Day)),
            ("2026-13-01 10:00:00", Err(Month)),
            ("2026-00-01 10:00:00", Err(Month)),
            ("2026-03-01 24:00:00", Err(Hour)),
            ("2026-03-01 24:61:00", Err(Hour)),
            ("2026-03-01 23:60:00", Err(Minute)),
            ("2026-03-01 23:61:00", Err(Minute)),
            ("2026-03-01 23:59:61", Err(Second)),
            ("2026-03-01 23:59:99", Err(Second)),
            // A leap second: the first second of the next minute (here, of the next day).
            ("2026-12-31 23:59:60", Ok(())),
            ("2026-03-01 12:34:60", Ok(())),
        ];
        for (iso, want) in cases {
            let compact = format!("{}{}{} {}", &iso[0..4], &iso[5..7], &iso[8..10], &iso[11..]);
            let export = format!("{}T{}.250Z message", &iso[..10], &iso[11..]);
            // Twice each: once as a new day, once with the day remembered.
            for _ in 0..2 {
                let c = parse_compact(compact.as_bytes());
                let i = parse_iso_space(iso.as_bytes());
                let (e, n) = parse_cloudwatch_prefix(export.as_bytes()).expect("prefix shape");
                assert_eq!(n, 25, "{iso}");
                assert_eq!(c.map(|_| ()), want, "{compact}");
                assert_eq!(i.map(|_| ()), want, "{iso}");
                assert_eq!(e.map(|_| ()), want, "{export}");
                if want.is_ok() {
                    assert_eq!(c, i, "{iso}");
                    assert_eq!(e, i.map(|t| t + 250_000), "{iso}");
                }
            }
        }
        let at = |s: &[u8]| parse_iso_space(s).unwrap();
        assert_eq!(
            at(b"2026-12-31 23:59:60"),
            at(b"2027-01-01 00:00:00"),
            "a leap second is read as the next minute's first"
        );
        // The remembered day never lets a bad date through, and a bad date is never
        // remembered: a valid day, an impossible one, then the valid one again.
        assert!(parse_compact(b"20260228 10:00:00").is_ok());
        assert_eq!(parse_compact(b"20260229 10:00:00"), Err(Day));
        assert_eq!(parse_compact(b"20260229 10:00:00"), Err(Day));
        assert!(parse_compact(b"20260228 10:00:01").is_ok());
        // Shapes that are not the layout stay `Layout`, and are not a prefix at all.
        assert_eq!(parse_compact(b"2026022x 10:00:00"), Err(Layout));
        assert_eq!(parse_iso_space(b"2026-02-2x 10:00:00"), Err(Layout));
        assert!(parse_cloudwatch_prefix(b"2026-02-2xT10:00:00Z x").is_none());
        assert!(parse_cloudwatch_prefix(b"2026-02-31T10:00:00.Z x").is_none());
    }

    #[test]
    fn leap_years_and_month_lengths() {
        for (y, leap) in [
            (2024, true),
            (2000, true),
            (2400, true),
            (2026, false),
            (1900, false),
            (2100, false),
        ] {
            assert_eq!(is_leap_year(y), leap, "{y}");
            assert_eq!(days_in_month(y, 2), if leap { 29 } else { 28 }, "{y}");
        }
        let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        for (m, len) in (1..=12).zip(lengths) {
            assert_eq!(days_in_month(2026, m), len, "{m}");
            assert_eq!(check_date(2026, m, len), Ok(()));
            assert_eq!(check_date(2026, m, len + 1), Err(TimeError::Day));
        }
    }

    /// Custom layouts: chrono refuses what does not exist; the field at fault is named.
    #[test]
    fn custom_layouts_name_the_field_of_an_impossible_time() {
        use TimeError::*;
        let a = TimeLayout::new("%Y-%m-%d %H:%M:%S").unwrap();
        let b = TimeLayout::new("%d/%b/%Y:%H:%M:%S").unwrap();
        for (layout, field, want) in [
            (&a, "2026-02-31 10:00:00", Err(Day)),
            (&a, "2026-02-29 10:00:00", Err(Day)),
            (&a, "2024-02-29 10:00:00", Ok(())),
            (&a, "2026-13-01 10:00:00", Err(Month)),
            (&a, "2026-00-01 10:00:00", Err(Month)),
            (&a, "2026-01-32 10:00:00", Err(Day)),
            (&a, "2026-03-01 24:00:00", Err(Hour)),
            (&a, "2026-03-01 23:61:00", Err(Minute)),
            (&a, "2026-03-01 23:59:61", Err(Second)),
            (&a, "2026-03-01 23:59:60", Ok(())),
            (&a, "2026-03-01 23:59", Err(Layout)),
            (&b, "31/Feb/2026:10:00:00", Err(Day)),
            (&b, "29/Feb/2024:10:00:00", Ok(())),
            (&b, "01/Mar/2026:25:00:00", Err(Hour)),
        ] {
            assert_eq!(layout.parse(field.as_bytes()).map(|_| ()), want, "{field}");
        }
    }

    /// `--since`/`--until`: an impossible date or time is refused with the field named.
    #[test]
    fn time_arguments_name_the_field_of_an_impossible_time() {
        let now = chrono::Utc::now();
        for (arg, says) in [
            (
                "2026-02-31",
                "day 31 does not exist in February 2026 (it has 28 days)",
            ),
            ("2026-02-29", "day 29 does not exist in February 2026"),
            (
                "1900-02-29T00:00:00Z",
                "day 29 does not exist in February 1900",
            ),
            ("2026-13-01", "month 13 does not exist"),
            ("2026-03-01T24:00:00Z", "hour 24 does not exist"),
            ("2026-03-01T23:61:00Z", "minute 61 does not exist"),
            ("2026-03-01T23:59:61Z", "second 61 does not exist"),
        ] {
            let err = parse_time_arg(arg, now).unwrap_err();
            assert!(err.contains(says), "{arg}: {err}");
        }
        for ok in ["2024-02-29", "2000-02-29T12:00:00Z", "2026-12-31T23:59:60Z"] {
            assert!(parse_time_arg(ok, now).is_ok(), "{ok}");
        }
        // A leap second is the next minute's first, here as in the log layouts.
        assert_eq!(
            parse_time_arg("2026-12-31T23:59:60Z", now),
            parse_time_arg("2027-01-01", now)
        );
        let layout = TimeLayout::new("%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(
            layout.parse(b"2026-12-31 23:59:60").ok(),
            parse_time_arg("2027-01-01", now).ok()
        );
    }
}
