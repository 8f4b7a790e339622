//! [`Clock`]: how a file's times and lines are read (the plugin's UTC offset, a custom
//! timestamp layout, a PostgreSQL `log_line_prefix`), attached to each file's format.

use crate::time::{TimeLayout, UtcOffset};

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
    /// PostgreSQL stderr logs: the `log_line_prefix` their lines are read with
    /// (`--pg-log-line-prefix`, or the one recognised when the file was sniffed); `None` is
    /// RDS's `%t:%r:%u@%d:[%p]:`, read by the fast parser.
    pub pg_prefix: Option<&'static super::pg_prefix::LinePrefix>,
}

impl Clock {
    /// The clock of a run: one layout for the whole run, shared by every worker, so it is
    /// leaked once here rather than reference-counted on the hot path.
    pub(crate) fn new(layout: Option<TimeLayout>, offset: UtcOffset) -> Clock {
        Clock {
            layout: layout.map(|l| &*Box::leak(Box::new(l))),
            offset_us: offset.0,
            pg_prefix: None,
        }
    }

    /// The same clock, reading PostgreSQL lines with `prefix` (`--pg-log-line-prefix`).
    pub(crate) fn with_pg_prefix(
        self,
        prefix: Option<&'static super::pg_prefix::LinePrefix>,
    ) -> Clock {
        Clock {
            pg_prefix: prefix,
            ..self
        }
    }

    /// A local plugin time as UTC.
    #[inline]
    pub(crate) fn to_utc(self, local_us: i64) -> i64 {
        local_us - self.offset_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_is_subtracted() {
        let h = 3_600_000_000i64;
        let clock = Clock {
            layout: None,
            offset_us: 2 * h,
            ..Clock::default()
        };
        assert_eq!(clock.to_utc(12 * h), 10 * h);
    }
}
