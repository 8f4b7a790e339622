//! Time units (the plan counts microseconds since the epoch, UTC) and the date and time texts
//! written into logs, file names and `ground_truth.json`.

use super::text::{put2, put4};

pub(crate) const US: i64 = 1_000_000;
pub(crate) const MS: i64 = 1_000;
pub(crate) const MIN_US: i64 = 60 * US;
pub(crate) const SLICE_US: i64 = 3600 * US;
pub(crate) const DAY_US: i64 = 24 * SLICE_US;

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

pub(crate) fn push_sql_datetime(b: &mut Vec<u8>, us: i64) {
    let sec = us.div_euclid(US);
    let (y, m, d) = civil_from_days(sec.div_euclid(86_400));
    let rem = sec.rem_euclid(86_400) as u32;
    let mut t = [0u8; 19];
    put4(&mut t[0..4], y as u32);
    t[4] = b'-';
    put2(&mut t[5..7], m);
    t[7] = b'-';
    put2(&mut t[8..10], d);
    t[10] = b' ';
    put2(&mut t[11..13], rem / 3600);
    t[13] = b':';
    put2(&mut t[14..16], rem / 60 % 60);
    t[16] = b':';
    put2(&mut t[17..19], rem % 60);
    b.extend_from_slice(&t);
}

pub(crate) fn fmt_sql_datetime(us: i64) -> String {
    let mut b = Vec::new();
    push_sql_datetime(&mut b, us);
    String::from_utf8(b).expect("ascii")
}

/// `YYYY-MM-DDTHH:MM:SSZ`, with `.mmm` only when the time has milliseconds.
pub(crate) fn fmt_rfc3339(us: i64) -> String {
    let s = fmt_sql_datetime(us).replacen(' ', "T", 1);
    let ms = us.rem_euclid(US) / MS;
    if ms == 0 {
        format!("{s}Z")
    } else {
        format!("{s}.{ms:03}Z")
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(fmt_rfc3339(1_772_323_200 * US), "2026-03-01T00:00:00Z");
        assert_eq!(
            fmt_rfc3339(1_772_323_200 * US + 1_500),
            "2026-03-01T00:00:00.001Z"
        );
    }
}
