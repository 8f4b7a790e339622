//! PostgreSQL logs written with any `log_line_prefix`, as pgBadger reads them
//! (`--pg-log-line-prefix`): the prefix is compiled once into a small matcher, and the
//! common prefixes are recognised on their own when a file is sniffed.
//!
//! A compiled prefix is a sequence of literals and fields. Fields with a fixed shape (`%t`
//! `%m` `%s` times, `%n` epoch, `%p` `%l` numbers) are read by that shape; the others (`%u`
//! `%d` `%h` `%r` `%a` `%c` `%e` `%v` `%x` `%i` `%b` `%Q` ...) run up to the literal that
//! follows them, trying each place it occurs until the rest of the prefix and a severity
//! (`LOG:`, `FATAL:` ...) match: a small backtracking matcher, bounded, where pgBadger builds
//! a regular expression. Everything after `%q` is optional (PostgreSQL prints it only in
//! session processes), so `%m [%p] %q%u@%d ` reads both `... [4974] LOG:` and
//! `... [4980] app@orders LOG:`.
//!
//! The RDS prefix `%t:%r:%u@%d:[%p]:` is not read here: [`compile`] gives `None` for it,
//! and the fast parser of [`super::postgres`] keeps it.

use std::sync::{Mutex, OnceLock};

/// The prefixes recognised without `--pg-log-line-prefix`, most specific first (a file that
/// two of them read is read with the earlier one). `%t` and `%m` read the same times (with or
/// without milliseconds), so each form is listed once.
pub const KNOWN: &[&str] = &[
    // pgBadger's recommended stderr prefix, and its `db=,user=` variants.
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: [%l-1] db=%d,user=%u,app=%a,client=%h ",
    "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: db=%d,user=%u,app=%a,client=%h ",
    "%t [%p]: [%l-1] user=%u,db=%d ",
    "%t [%p]: [%l-1] db=%d,user=%u ",
    // Debian / Ubuntu defaults (PostgreSQL >= 10, then 9.x).
    "%m [%p] %q%u@%d ",
    "%t [%p-%l] %q%u@%d ",
    // PostgreSQL's own default since 13.
    "%m [%p] ",
];

/// One part of a compiled prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Lit(Vec<u8>),
    Field(Field),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    /// `%t`, `%m`: `YYYY-MM-DD HH:MM:SS[.fff] TZ`.
    Time,
    /// `%s`: the session's start time, same shape; not the event's time.
    SessionStart,
    /// `%n`: epoch seconds with milliseconds.
    Epoch,
    /// `%p`.
    Pid,
    /// `%l` and other plain numbers.
    Number,
    /// `%h`: host or address, or `[local]`.
    Host,
    /// `%r`: host with `(port)`.
    HostPort,
    User,
    Db,
    /// `%c`: session id, `hex(start).hex(pid)`.
    Session,
    /// Anything else (`%a`, `%e`, `%i`, `%b`, `%v`, `%x`, `%Q`, padded fields): any text on
    /// the line.
    Text,
}

impl Field {
    /// Whether the value can hold `c`: names and hosts hold no white space.
    fn holds(self, c: u8) -> bool {
        match self {
            Field::Host | Field::HostPort | Field::User | Field::Db | Field::Session => {
                !c.is_ascii_whitespace()
            }
            _ => c != b'\n',
        }
    }
}

/// A compiled `log_line_prefix`.
#[derive(Debug, PartialEq, Eq)]
pub struct LinePrefix {
    text: String,
    items: Vec<Item>,
    /// Where `%q` cut the items: those from here on are printed only in session processes.
    optional_from: Option<usize>,
}

/// The fields one line's prefix gave, as slices of the line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fields<'a> {
    /// `%t`/`%m` (`YYYY-MM-DD HH:MM:SS[.fff] TZ`) or `%n` (epoch).
    pub time: Option<&'a [u8]>,
    pub epoch: bool,
    /// `%h`, or `%r` without its port.
    pub host: &'a [u8],
    pub user: &'a [u8],
    pub db: &'a [u8],
    pub pid: Option<i64>,
    /// `%c`, whose part after the dot is the PID in hex.
    pub session: &'a [u8],
    pub severity: &'a [u8],
    /// Offset of the message text (after the severity and its spaces).
    pub msg: usize,
}

/// The most steps one line's match may take (the matcher backtracks; a hostile line must not
/// make it slow).
const BUDGET: u32 = 4096;
/// The longest value of a free field.
const FIELD_MAX: usize = 512;

/// Compiles a prefix, once per distinct text for the whole run (compiled prefixes are
/// interned and live as long as the process, so formats can hold them by reference).
/// `None` for the RDS prefix, which the fast parser reads.
///
/// # Errors
/// A prefix with no time (`%t`, `%m` or `%n`): its lines could not be placed in time.
pub(crate) fn compile(text: &str) -> Result<Option<&'static LinePrefix>, String> {
    if text == "%t:%r:%u@%d:[%p]:" {
        return Ok(None);
    }
    static INTERNED: Mutex<Vec<&'static LinePrefix>> = Mutex::new(Vec::new());
    let mut interned = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = interned.iter().find(|p| p.text == text) {
        return Ok(Some(p));
    }
    let p = build(text)?;
    let p: &'static LinePrefix = Box::leak(Box::new(p));
    interned.push(p);
    Ok(Some(p))
}

fn build(text: &str) -> Result<LinePrefix, String> {
    let mut items = Vec::new();
    let mut optional_from = None;
    let mut lit = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            lit.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        // Padding (`%-10u`, `%5p`): the value may carry spaces.
        let pad_start = i;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let padded = i > pad_start;
        let Some(&c) = b.get(i) else { break };
        i += 1;
        let field = match c {
            b'%' => {
                lit.push(b'%');
                continue;
            }
            b'q' => {
                if !lit.is_empty() {
                    items.push(Item::Lit(std::mem::take(&mut lit)));
                }
                optional_from.get_or_insert(items.len());
                continue;
            }
            _ if padded => Field::Text,
            b't' | b'm' => Field::Time,
            b's' => Field::SessionStart,
            b'n' => Field::Epoch,
            b'p' => Field::Pid,
            b'l' | b'x' => Field::Number,
            b'h' => Field::Host,
            b'r' => Field::HostPort,
            b'u' => Field::User,
            b'd' => Field::Db,
            b'c' => Field::Session,
            b'a' | b'e' | b'i' | b'b' | b'v' | b'Q' | b'L' | b'P' => Field::Text,
            // PostgreSQL prints nothing for an escape it does not know.
            _ => continue,
        };
        if !lit.is_empty() {
            items.push(Item::Lit(std::mem::take(&mut lit)));
        }
        items.push(Item::Field(field));
    }
    if !lit.is_empty() {
        items.push(Item::Lit(lit));
    }
    if !items
        .iter()
        .any(|it| matches!(it, Item::Field(Field::Time | Field::Epoch)))
    {
        return Err(format!(
            "log_line_prefix {text:?} has no time (%t, %m or %n): its lines cannot be placed in time"
        ));
    }
    Ok(LinePrefix {
        text: text.to_string(),
        items,
        optional_from,
    })
}

impl std::str::FromStr for PrefixArg {
    type Err = String;
    fn from_str(s: &str) -> Result<PrefixArg, String> {
        compile(s).map(|p| PrefixArg {
            text: s.to_string(),
            compiled: p,
        })
    }
}

/// `--pg-log-line-prefix` / `pg_log_line_prefix`: the text as given, compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PrefixArg {
    pub text: String,
    /// `None` for the RDS prefix (read by the fast parser).
    pub compiled: Option<&'static LinePrefix>,
}

impl LinePrefix {
    /// The prefix as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether a line opens a log entry in this layout: for prefixes that begin with a time,
    /// a time's shape at its start (a line that then does not match is a malformed entry, not
    /// a continuation); otherwise a full match.
    pub(crate) fn starts_entry(&self, line: &[u8]) -> bool {
        match self.items.first() {
            Some(Item::Field(Field::Time)) => time_end(line).is_some(),
            Some(Item::Field(Field::Epoch)) => epoch_end(line).is_some_and(|n| n > 0),
            _ => self.read(line).is_some(),
        }
    }

    /// Reads the prefix and the severity of a line, or `None` when the line is not in this
    /// layout.
    pub fn read<'a>(&self, line: &'a [u8]) -> Option<Fields<'a>> {
        let mut m = Matcher {
            line,
            budget: BUDGET,
            f: Fields::default(),
        };
        if m.seq(&self.items, 0, 0) {
            return Some(m.f);
        }
        let cut = self.optional_from?;
        m.f = Fields::default();
        m.seq(&self.items[..cut], 0, 0).then_some(m.f)
    }
}

struct Matcher<'a> {
    line: &'a [u8],
    budget: u32,
    f: Fields<'a>,
}

impl<'a> Matcher<'a> {
    /// Matches `items[i..]` at `pos`, then a severity; fills `self.f` on success.
    fn seq(&mut self, items: &[Item], i: usize, pos: usize) -> bool {
        if self.budget == 0 {
            return false;
        }
        self.budget -= 1;
        let line = self.line;
        let Some(item) = items.get(i) else {
            return self.severity(pos);
        };
        let field = match item {
            Item::Lit(l) => {
                return line[pos..].starts_with(l) && self.seq(items, i + 1, pos + l.len());
            }
            Item::Field(f) => *f,
        };
        let rest = &line[pos..];
        match field {
            Field::Time | Field::SessionStart => {
                let Some(n) = time_end(rest) else {
                    return false;
                };
                if field == Field::Time {
                    self.f.time = Some(&rest[..n]);
                    self.f.epoch = false;
                }
                self.seq(items, i + 1, pos + n)
            }
            Field::Epoch => {
                let Some(n) = epoch_end(rest).filter(|&n| n > 0) else {
                    return false;
                };
                self.f.time = Some(&rest[..n]);
                self.f.epoch = true;
                self.seq(items, i + 1, pos + n)
            }
            Field::Pid | Field::Number => {
                let sp = rest.iter().take_while(|&&c| c == b' ').count();
                let n = rest[sp..].iter().take_while(|c| c.is_ascii_digit()).count();
                if n == 0 || n > 18 {
                    return false;
                }
                if field == Field::Pid {
                    self.f.pid = Some(
                        rest[sp..sp + n]
                            .iter()
                            .fold(0i64, |v, &c| v * 10 + i64::from(c - b'0')),
                    );
                }
                self.seq(items, i + 1, pos + sp + n)
            }
            _ => {
                // A free field: its possible ends, shortest first (the user name longest
                // first: it may hold `@`, the database rarely does).
                let max = rest
                    .iter()
                    .take(FIELD_MAX)
                    .position(|&c| !field.holds(c))
                    .unwrap_or(rest.len().min(FIELD_MAX));
                let next_lit = match items.get(i + 1) {
                    Some(Item::Lit(l)) => Some(&l[..]),
                    _ => None,
                };
                let try_end = |m: &mut Self, n: usize| -> bool {
                    if next_lit.is_some_and(|l| !rest[n..].starts_with(l)) {
                        return false;
                    }
                    m.set(field, &rest[..n]);
                    m.seq(items, i + 1, pos + n)
                };
                if field == Field::User {
                    (0..=max).rev().any(|n| try_end(self, n))
                } else {
                    (0..=max).any(|n| try_end(self, n))
                }
            }
        }
    }

    fn set(&mut self, field: Field, v: &'a [u8]) {
        let v = v.trim_ascii();
        match field {
            Field::Host => self.f.host = v,
            Field::HostPort => self.f.host = strip_port(v),
            Field::User => self.f.user = v,
            Field::Db => self.f.db = v,
            Field::Session => self.f.session = v,
            _ => {}
        }
    }

    /// `SEVERITY:` (after optional spaces) and the spaces after it.
    fn severity(&mut self, pos: usize) -> bool {
        let line = self.line;
        let mut i = pos;
        while line.get(i) == Some(&b' ') {
            i += 1;
        }
        let s = i;
        while line
            .get(i)
            .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            i += 1;
        }
        let sev = &line[s..i];
        if line.get(i) != Some(&b':') || !is_severity(sev) {
            return false;
        }
        i += 1;
        while line.get(i) == Some(&b' ') {
            i += 1;
        }
        self.f.severity = sev;
        self.f.msg = i;
        true
    }
}

fn is_severity(s: &[u8]) -> bool {
    matches!(
        s,
        b"LOG"
            | b"ERROR"
            | b"FATAL"
            | b"PANIC"
            | b"WARNING"
            | b"NOTICE"
            | b"INFO"
            | b"DEBUG"
            | b"DEBUG1"
            | b"DEBUG2"
            | b"DEBUG3"
            | b"DEBUG4"
            | b"DEBUG5"
            | b"DETAIL"
            | b"HINT"
            | b"STATEMENT"
            | b"CONTEXT"
            | b"QUERY"
            | b"LOCATION"
    )
}

/// `host(port)` → `host`; `[local]` and bare hosts as they are.
fn strip_port(v: &[u8]) -> &[u8] {
    if v.last() == Some(&b')') {
        if let Some(open) = memchr::memrchr(b'(', v) {
            let digits = &v[open + 1..v.len() - 1];
            if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
                return &v[..open];
            }
        }
    }
    v
}

/// The length of a `YYYY-MM-DD HH:MM:SS[.fff] TZ` time at the start of `b` (shape only).
#[inline]
pub(crate) fn time_end(b: &[u8]) -> Option<usize> {
    if b.len() < 21
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
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
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if b.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    let tz = i;
    while i < b.len()
        && i - tz < 12
        && (b[i].is_ascii_alphanumeric() || b[i] == b'+' || b[i] == b'-')
    {
        i += 1;
    }
    (i > tz).then_some(i)
}

/// The length of `%n`'s `seconds.millis` at the start of `b`.
fn epoch_end(b: &[u8]) -> Option<usize> {
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if !(9..=11).contains(&n) || b.get(n) != Some(&b'.') {
        return None;
    }
    let m = b[n + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
    (m > 0).then_some(n + 1 + m)
}

/// `%n` (`1700000000.123`) to epoch microseconds.
pub(crate) fn epoch_us(b: &[u8]) -> Option<i64> {
    let dot = memchr::memchr(b'.', b)?;
    let secs = std::str::from_utf8(&b[..dot]).ok()?.parse::<i64>().ok()?;
    let mut frac = 0i64;
    let mut scale = 100_000i64;
    for &c in b[dot + 1..].iter().take(6) {
        frac += i64::from(c - b'0') * scale;
        scale /= 10;
    }
    Some(secs * 1_000_000 + frac)
}

/// The PID inside `%c` (`5f3a1b2c.3a4f`): the hex after the dot.
pub(crate) fn session_pid(session: &[u8]) -> Option<i64> {
    let dot = memchr::memchr(b'.', session)?;
    let hex = &session[dot + 1..];
    if hex.is_empty() || hex.len() > 15 {
        return None;
    }
    i64::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
}

/// The compiled [`KNOWN`] prefixes.
fn known() -> &'static [&'static LinePrefix] {
    static KNOWN_COMPILED: OnceLock<Vec<&'static LinePrefix>> = OnceLock::new();
    KNOWN_COMPILED.get_or_init(|| {
        KNOWN
            .iter()
            .map(|t| {
                compile(t)
                    .expect("known prefixes compile")
                    .expect("not the RDS prefix")
            })
            .collect()
    })
}

/// The first (at most 64) non-blank lines of `head`, CloudWatch export prefix stripped.
fn head_lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    head.split(|&b| b == b'\n')
        .map(super::trim_cr)
        .filter(|l| !l.trim_ascii().is_empty())
        .take(64)
        .map(|l| match crate::time::parse_cloudwatch_prefix(l) {
            Some((_, n)) => &l[n..],
            None => l,
        })
}

/// Whether the first non-blank line of `head` carries the CloudWatch export prefix.
pub(crate) fn head_is_exported(head: &[u8]) -> bool {
    head.split(|&b| b == b'\n')
        .map(super::trim_cr)
        .find(|l| !l.trim_ascii().is_empty())
        .is_some_and(|l| crate::time::parse_cloudwatch_prefix(l).is_some())
}

/// For sniffing: whether some known prefix reads this line (export prefix stripped).
pub(crate) fn sniff_line(line: &[u8]) -> bool {
    line.first().is_some_and(u8::is_ascii_digit) && known().iter().any(|p| p.read(line).is_some())
}

/// The known prefix that reads the most of the first (at most 64) non-blank lines of
/// `head`, the earlier in [`KNOWN`] on a tie; `None` when none reads any.
pub(crate) fn sniff_head(head: &[u8]) -> Option<&'static LinePrefix> {
    let mut counts = vec![0usize; known().len()];
    for line in head_lines(head) {
        if !line.first().is_some_and(u8::is_ascii_digit) {
            continue;
        }
        for (c, p) in counts.iter_mut().zip(known()) {
            *c += usize::from(p.read(line).is_some());
        }
    }
    let (best, &n) = counts.iter().enumerate().rev().max_by_key(|&(_, n)| *n)?;
    (n > 0).then(|| known()[best])
}

/// How many of the first (at most 64) non-blank lines of `head` the prefix reads.
pub(crate) fn lines_read(p: &LinePrefix, head: &[u8]) -> usize {
    head_lines(head).filter(|l| p.read(l).is_some()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> &'static LinePrefix {
        compile(text).unwrap().unwrap()
    }

    fn s(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    #[test]
    fn the_rds_prefix_is_left_to_the_fast_parser_and_a_prefix_needs_a_time() {
        assert_eq!(compile("%t:%r:%u@%d:[%p]:"), Ok(None));
        assert!(compile("[%p] %u@%d ").unwrap_err().contains("no time"));
        // Interned: the same text compiles to the same matcher.
        assert!(std::ptr::eq(p("%m [%p] "), p("%m [%p] ")));
    }

    #[test]
    fn postgres_default_prefix_with_verbose_sqlstate() {
        let line = b"2019-07-23 12:06:30.537 UTC [44] LOG:  00000: connection authorized: user=postgres database=postgres";
        let f = p("%m [%p] ").read(line).unwrap();
        assert_eq!(s(f.time.unwrap()), "2019-07-23 12:06:30.537 UTC");
        assert_eq!((f.pid, s(f.severity)), (Some(44), "LOG"));
        assert_eq!(
            s(&line[f.msg..]),
            "00000: connection authorized: user=postgres database=postgres"
        );
        let f = p("%m [%p] ")
            .read(
                b"2019-07-23 12:06:30.536 UTC [44] LOCATION:  BackendInitialize, postmaster.c:4206",
            )
            .unwrap();
        assert_eq!(s(f.severity), "LOCATION");
        assert!(p("%m [%p] ")
            .read(b"2019-07-23 12:06:30.536 UTC [44] hello")
            .is_none());
    }

    #[test]
    fn debian_prefix_with_and_without_the_session_part() {
        let d = p("%m [%p] %q%u@%d ");
        let f = d
            .read(b"2017-07-31 13:36:42.585 CEST [4974] LOG:  database system was shut down")
            .unwrap();
        assert_eq!((f.pid, f.user, f.db), (Some(4974), &b""[..], &b""[..]));
        let f = d.read(b"2017-07-31 13:39:16.249 CEST [5407] postgres@users FATAL:  database \"users\" does not exist").unwrap();
        assert_eq!(
            (s(f.user), s(f.db), s(f.severity)),
            ("postgres", "users", "FATAL")
        );
        let f = d.read(b"2017-07-31 13:36:42.956 CEST [4980] [unknown]@[unknown] LOG:  incomplete startup packet").unwrap();
        assert_eq!((s(f.user), s(f.db)), ("[unknown]", "[unknown]"));
        // A user name holding `@` (Azure's user@server) splits at the last one.
        let f = d
            .read(b"2017-07-31 13:39:16.249 CEST [5407] jane@corp@sales LOG:  statement: select 1")
            .unwrap();
        assert_eq!((s(f.user), s(f.db)), ("jane@corp", "sales"));
        // An `@` in the message of a line without the session part is not a user.
        let line = b"2017-07-31 13:39:16.249 CEST [5407] LOG:  statement: select 'a@b' FROM t";
        let f = d.read(line).unwrap();
        assert_eq!(
            (f.user, s(&line[f.msg..])),
            (&b""[..], "statement: select 'a@b' FROM t")
        );
    }

    #[test]
    fn pgbadger_prefixes_with_key_value_fields() {
        let f = p("%t [%p]: db=%d,user=%u,app=%a,client=%h ")
            .read(b"2021-02-14 01:34:02 CET [30291]: db=template1,user=postgres,app=psql,client=[local] LOG:  disconnection: session time: 0:00:00.007 user=postgres database=template1 host=[local]")
            .unwrap();
        assert_eq!(
            (s(f.db), s(f.user), s(f.host)),
            ("template1", "postgres", "[local]")
        );
        // pgBadger's documentation example (an application name with spaces and commas).
        let f = p("%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ")
            .read(b"2024-05-02 10:11:12 UTC [4242]: [3-1] user=app,db=orders,app=pgAdmin 4 - DB:orders, x,client=10.0.0.5 LOG:  statement: select 1")
            .unwrap();
        assert_eq!(
            (s(f.user), s(f.db), s(f.host), f.pid),
            ("app", "orders", "10.0.0.5", Some(4242))
        );
    }

    #[test]
    fn host_with_port_session_id_and_epoch() {
        let q = p("%n %r %c %u %d ");
        let line = b"1700000000.123 10.1.2.3(5432) 6553f100.3a4f app orders LOG:  statement: x";
        let f = q.read(line).unwrap();
        assert_eq!((s(f.host), s(f.session)), ("10.1.2.3", "6553f100.3a4f"));
        assert_eq!(epoch_us(f.time.unwrap()), Some(1_700_000_000_123_000));
        assert_eq!(session_pid(f.session), Some(0x3a4f));
        assert!(f.epoch);
    }

    #[test]
    fn sniffing_picks_the_prefix_that_reads_the_most_lines() {
        let debian = "2017-07-31 13:36:42.585 CEST [4974] LOG:  database system was shut down\n2017-07-31 13:36:42.956 CEST [4980] [unknown]@[unknown] LOG:  incomplete startup packet\n";
        assert_eq!(
            sniff_head(debian.as_bytes()).unwrap().text(),
            "%m [%p] %q%u@%d "
        );
        let plain = "2019-07-23 12:06:24.406 UTC [25] LOG:  00000: redo starts at 0/1651398\n";
        // Read by Debian's (without the session part) and the default: the earlier wins,
        // and reads such files the same.
        assert_eq!(
            sniff_head(plain.as_bytes()).unwrap().text(),
            "%m [%p] %q%u@%d "
        );
        assert!(
            sniff_head(b"20230501 10:02:19,db1,root,localhost,12,0,CONNECT,mysql,,0\n").is_none()
        );
    }

    #[test]
    fn hostile_lines_stay_cheap() {
        let d = p("%t [%p]: db=%d,user=%u,app=%a,client=%h ");
        let mut line = b"2021-02-14 01:34:02 CET [1]: db=".to_vec();
        line.extend(std::iter::repeat_n(b",user=,app=,client=", 200).flatten());
        assert!(d.read(&line).is_none());
    }
}
