//! The findings query: every kind the passes derive from events, as one SQL statement over
//! the `events` table, in the `findings` columns. Written once; the dialects differ only
//! through [`Dialect`]'s functions and [`Addr`]'s address columns.
//!
//! Each detection is a few common table expressions that follow its pass in `pass/`:
//! the same predicates (successful login, local, expected network, internal user), the same
//! keys, and the same thresholds and windows, inlined from the run's [`AnalysisConfig`].
//!
//! - **Sliding windows** (`brute_force`, the slow brute force, `password_spray`,
//!   `distributed_brute_force`) are [`Query::sliding`]: failures per (key, second), the
//!   window's sum as a `RANGE` window function over the seconds, distinct users or sources in
//!   the window as a running sum of +1/-1 at the start and end of each item's presence, then
//!   qualifying seconds merged into bursts as `pass::brute_force::sliding_bursts` merges them
//!   (a second whose window starts at or before the previous qualifying second joins its
//!   burst).
//! - **`rate_spike`**: events per (user, window), the user's 95th percentile by nearest rank
//!   (`ROW_NUMBER` at `ceil(0.95 n)`, hdrhistogram's `value_at_quantile`) rounded up to the
//!   top of its 3-significant-digit bucket as hdrhistogram does (exact below 2048), so the
//!   threshold is the scan's exactly; consecutive spiking windows are one finding.
//! - **Statements**: the scan's `statement_class`, the text's whitespace collapsed and cut at
//!   300 characters (the finding key), severities as `pass::statements`.
//! - **`cross_database`**: the default database and the names right after FROM, JOIN, INTO,
//!   UPDATE or TABLE (a regular expression for `pass::cross_database::qualified_databases`).
//!
//! What SQL cannot reproduce: custom `[[rule]]`s (evaluated on the original log line, which
//! the events do not keep), `finding_id`, and the `detail` sentences word for word (these
//! are shorter). "First" events (evidence, a statement's database) are ordered by time,
//! then file name and line, where the scan orders files by their place in the run.

use crate::classify::StatementClass;
use crate::event::Operation;
use crate::finding::kind;
use crate::pass::AnalysisConfig;

use super::addr::Addr;
use super::Dialect;

mod control;

/// Statement text kept per finding (`pass::statements::TEXT_CHARS`).
const TEXT_CHARS: usize = 300;
/// `pass::cross_database`: a database below this share of a user's activity is unusual,
/// for users with at least `MIN_EVENTS` attributed events.
const NORMAL_SHARE: f64 = 0.05;
const MIN_EVENTS: u64 = 50;
/// Sources named in a `cross_database` finding at most.
const MAX_SOURCES: usize = 8;

/// Unicode White_Space (Rust's `char::is_whitespace`, which `split_whitespace` uses).
const WHITESPACE: &str = r"[\t\n\x{0B}\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]+";

/// A database named as `db.table` after a keyword (`qualified_databases`): the keyword not
/// preceded by a letter, whitespace or `\n`-style escapes, the name (backticks or double
/// quotes allowed around it; it may not start with a digit; any non-ASCII character is part
/// of a name), a dot, and a name character, quote or `*` after it. Group 1 is the name.
const QUALIFIED: &str = concat!(
    r"(?i)(?:^|[^a-z])(?:from|join|into|update|table)(?:[ \t\n\f\r]|\\[nrt])+",
    r"(`(?:[a-z_$]|[^\x00-\x7f])(?:[a-z0-9_$]|[^\x00-\x7f])*`",
    r#"|"(?:[a-z_$]|[^\x00-\x7f])(?:[a-z0-9_$]|[^\x00-\x7f])*""#,
    r"|(?:[a-z_$]|[^\x00-\x7f])(?:[a-z0-9_$]|[^\x00-\x7f])*)",
    r#"\.(?:[a-z0-9_$`"*]|[^\x00-\x7f])"#
);

/// `pass::cross_database::is_system_schema`.
const SYSTEM_SCHEMAS: [&str; 7] = [
    "mysql",
    "information_schema",
    "performance_schema",
    "sys",
    "pg_catalog",
    "pg_toast",
    "rdsadmin",
];

/// `pass::is_internal_user` (and every `mysql.` user).
const INTERNAL_USERS: [&str; 4] = ["rdsadmin", "rdsrepladmin", "rdstopmgr", "rdsproxyadmin"];

/// The statement classes that are findings, and their kinds (`pass::statements`).
const STATEMENT_KINDS: [(StatementClass, &str); 6] = [
    (StatementClass::Privilege, kind::PRIVILEGE_CHANGE),
    (StatementClass::Destructive, kind::DESTRUCTIVE),
    (StatementClass::Exfiltration, kind::EXFILTRATION),
    (StatementClass::CodeExecution, kind::CODE_EXECUTION),
    (StatementClass::Audit, kind::AUDIT_DISABLED),
    (StatementClass::Tls, kind::TLS_WEAKENED),
];

/// The severity scale as numbers (so groups can take the highest) and back.
const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

/// The one query: `events` is what FROM reads (see [`Dialect::events_table`]; `None`: no
/// events, for a scan that read only a trail), and `control` the control-plane table, when
/// there is one.
pub fn query(
    c: &AnalysisConfig,
    d: Dialect,
    events: Option<&str>,
    control: Option<&str>,
) -> String {
    Query::new(c, d).render(events, control)
}

/// An empty relation with the `events` columns the query reads (a scan of a trail alone
/// writes no `events/`).
fn no_events(d: Dialect) -> String {
    let text = d.text("NULL");
    let int = |t: &str| format!("CAST(NULL AS {t})");
    format!(
        "(SELECT {} AS event_time_us, {text} AS source_file, {} AS source_line, {text} AS {}, \
         {text} AS server_host, {text} AS client_host, {text} AS client_ip, {text} AS operation, \
         {text} AS {}, {text} AS {}, {} AS retcode, CAST(NULL AS BOOLEAN) AS tls, {text} AS statement_class) e \
         WHERE 1 = 0",
        int("BIGINT"),
        int("BIGINT"),
        d.id("user"),
        d.id("database"),
        d.id("object"),
        int("INTEGER"),
    )
}

struct Query<'c> {
    c: &'c AnalysisConfig,
    d: Dialect,
    addr: Addr,
    ctes: Vec<(String, String)>,
}

impl<'c> Query<'c> {
    fn new(c: &'c AnalysisConfig, d: Dialect) -> Self {
        let nets: Vec<_> = c.allow.iter().chain(&c.admin_hosts).copied().collect();
        Query {
            c,
            d,
            addr: Addr::new(d, &nets),
            ctes: Vec::new(),
        }
    }

    fn cte(&mut self, name: &str, body: String) {
        self.ctes.push((name.to_string(), body));
    }

    fn lit(&self, s: &str) -> String {
        self.d.lit(s)
    }

    /// `expr IN ('a', 'b')`, or FALSE for no values.
    fn is_in(&self, expr: &str, values: &[&str]) -> String {
        if values.is_empty() {
            return "FALSE".into();
        }
        let v: Vec<String> = values.iter().map(|s| self.lit(s)).collect();
        format!("{expr} IN ({})", v.join(", "))
    }

    /// `source_file:source_line` of a row.
    fn place(&self, file: &str, line: &str) -> String {
        format!("concat({file}, ':', {})", self.d.text(line))
    }

    /// Rows of `from` grouped by `keys`: `cnt`, `t0`, `t1`, the evidence of the first row
    /// (by time, file, line) and `extra` aggregates; `firsts` are more values of that row.
    fn grouped(&self, from: &str, keys: &str, extra: &str, firsts: &[(&str, &str)]) -> String {
        let mut first = format!(
            "FIRST_VALUE({}) OVER (PARTITION BY {keys} ORDER BY t, file, line) AS ev1",
            self.place("file", "line")
        );
        let mut take = String::from(", MIN(ev1) AS evidence");
        for (name, expr) in firsts {
            first += &format!(
                ", FIRST_VALUE({expr}) OVER (PARTITION BY {keys} ORDER BY t, file, line) AS {name}_1"
            );
            take += &format!(", MIN({name}_1) AS {name}");
        }
        format!(
            "SELECT {keys}, COUNT(*) AS cnt, MIN(t) AS t0, MAX(t) AS t1{take}{extra} \
             FROM (SELECT x.*, {first} FROM ({from}) x) y GROUP BY {keys}"
        )
    }

    /// Sliding-window bursts over `src` (columns `k`, `i`, `sec`): CTEs `{p}_b` with one row
    /// per burst (`k`, `b0`, `b1`: its first and last second). `qualify` tests a second's
    /// window: `wn` its rows, `dn` (when `distinct`) its distinct `i`.
    fn sliding(&mut self, p: &str, src: &str, window: i64, distinct: bool, qualify: &str) {
        let w = window.max(1);
        self.cte(
            &format!("{p}_sec"),
            format!("SELECT k, sec, COUNT(*) AS n FROM {src} GROUP BY k, sec"),
        );
        let (join, dn) = if distinct {
            self.cte(
                &format!("{p}_occ"),
                format!("SELECT DISTINCT k, i, sec FROM {src}"),
            );
            // Item i is in the window ending at second x when it occurred in (x - w, x]: each
            // occurrence adds 1 from its second until w later or the item's next occurrence.
            self.cte(
                &format!("{p}_dl"),
                format!(
                    "SELECT k, sec AS pos, 1 AS d FROM {p}_occ UNION ALL \
                     SELECT k, LEAST(sec + {w}, COALESCE(nx, sec + {w})) AS pos, -1 AS d FROM \
                     (SELECT k, sec, LEAD(sec) OVER (PARTITION BY k, i ORDER BY sec) AS nx FROM {p}_occ) o"
                ),
            );
            self.cte(
                &format!("{p}_dg"),
                format!("SELECT k, pos, SUM(d) AS d FROM {p}_dl GROUP BY k, pos"),
            );
            self.cte(
                &format!("{p}_dc"),
                format!(
                    "SELECT k, pos, SUM(d) OVER (PARTITION BY k ORDER BY pos ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS dn FROM {p}_dg"
                ),
            );
            (
                format!(" JOIN {p}_dc c ON c.k = s.k AND c.pos = s.sec"),
                ", c.dn",
            )
        } else {
            (String::new(), "")
        };
        let frame = format!(
            "(PARTITION BY s.k ORDER BY s.sec RANGE BETWEEN {} PRECEDING AND CURRENT ROW)",
            w - 1
        );
        self.cte(
            &format!("{p}_win"),
            format!(
                "SELECT s.k, s.sec, SUM(s.n) OVER {frame} AS wn, MIN(s.sec) OVER {frame} AS lsec{dn} FROM {p}_sec s{join}"
            ),
        );
        self.cte(
            &format!("{p}_q"),
            format!(
                "SELECT k, sec, lsec, CASE WHEN lsec <= LAG(sec) OVER (PARTITION BY k ORDER BY sec) THEN 0 ELSE 1 END AS brk \
                 FROM {p}_win WHERE {qualify}"
            ),
        );
        self.cte(
            &format!("{p}_g"),
            format!(
                "SELECT k, sec, lsec, SUM(brk) OVER (PARTITION BY k ORDER BY sec ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS g FROM {p}_q"
            ),
        );
        self.cte(
            &format!("{p}_b"),
            format!("SELECT k, MIN(lsec) AS b0, MAX(sec) AS b1 FROM {p}_g GROUP BY k, g"),
        );
    }

    /// A severity name from its rank.
    fn severity_of(&self, rank: &str) -> String {
        let arms: Vec<String> = SEVERITIES
            .iter()
            .enumerate()
            .map(|(i, s)| format!("WHEN {i} THEN '{s}'"))
            .collect();
        format!("CASE {rank} {} END", arms.join(" "))
    }

    fn render(mut self, events: Option<&str>, control: Option<&str>) -> String {
        let d = self.d;
        let c = self.c;
        let null = d.text("NULL");
        let ops = |v: &[Operation]| -> Vec<&'static str> { v.iter().map(|o| o.as_str()).collect() };
        let logins = ops(&[
            Operation::Connect,
            Operation::ChangeUser,
            Operation::ProxyConnect,
        ]);
        let failed = Operation::FailedConnect.as_str();
        let query_op = Operation::Query.as_str();
        let masters: Vec<&str> = c.master_users.iter().map(|s| s.as_str()).collect();
        let is_master = self.is_in("usr", &masters);

        // Every event, with short names.
        self.cte(
            "ev",
            format!(
                "SELECT event_time_us AS t, source_file AS file, source_line AS line, {} AS usr, \
                 server_host AS srv, client_host AS host, client_ip AS ip, COALESCE(client_ip, client_host) AS src, \
                 operation AS op, {} AS db, {} AS obj, retcode AS rc, tls, statement_class AS cls \
                 FROM {}",
                d.id("user"),
                d.id("database"),
                d.id("object"),
                match events {
                    Some(events) => d.events_table(events),
                    None => no_events(d),
                }
            ),
        );

        // Logins, successful and failed, with what the passes ask of their source.
        let all_logins: Vec<&str> = logins.iter().copied().chain([failed]).collect();
        self.cte(
            "lg0",
            format!(
                "SELECT t, file, line, usr, srv, host, ip, src, tls, \
                 ({} AND COALESCE(rc, 0) = 0) AS ok, op = '{failed}' AS failed{} \
                 FROM ev WHERE {}",
                self.is_in("op", &logins),
                self.addr.columns("ip"),
                self.is_in("op", &all_logins)
            ),
        );
        let loopback = self.addr.loopback("ip");
        let local = format!(
            "(host IN ('', 'localhost', '[local]') OR host LIKE 'localhost:%' OR {loopback})"
        );
        let expected = format!("({loopback} OR {})", self.addr.in_any(&c.allow));
        let private = self.addr.private();
        let public = format!("(ip IS NOT NULL AND NOT {private} AND NOT {loopback})");
        self.cte(
            "lg",
            format!(
                "SELECT t, file, line, usr, srv, host, ip, src, tls, ok, failed, {local} AS loc, \
                 {expected} AS expd, {private} AS priv, {} AS adm, {public} AS pub FROM lg0",
                self.addr.in_any(&c.admin_hosts)
            ),
        );
        let mut finds: Vec<String> = Vec::new();
        let quote = |k: &str| format!("'{k}'");
        let row = |kind: &str,
                   severity: &str,
                   user: &str,
                   source: &str,
                   db: &str,
                   detail: &str,
                   from: &str| {
            format!(
                "SELECT {kind} AS kind, {severity} AS severity, t0, t1, {user} AS u, {source} AS s, \
                 {db} AS db, cnt, {detail} AS detail, evidence, {null} AS res FROM {from}"
            )
        };

        // unknown_source_ip: successful logins from outside the expected networks.
        let g = self.grouped(
            "SELECT * FROM lg WHERE ok AND NOT loc AND (ip IS NULL OR NOT expd)",
            "usr, src",
            ", MAX(CASE WHEN ip IS NOT NULL AND NOT priv THEN 1 ELSE 0 END) AS hi",
            &[],
        );
        self.cte("f_unknown", g);
        finds.push(row(
            &quote(kind::UNKNOWN_SOURCE_IP),
            "CASE WHEN hi = 1 THEN 'high' ELSE 'medium' END",
            "usr",
            "src",
            &null,
            &format!(
                "concat({}, ' successful login(s) as ', usr, ' from ', src, ', outside the expected networks')",
                d.text("cnt")
            ),
            "f_unknown",
        ));

        // non_ssl_session.
        let g = self.grouped(
            "SELECT * FROM lg WHERE ok AND tls = FALSE",
            "usr, src",
            "",
            &[],
        );
        self.cte("f_nonssl", g);
        finds.push(row(
            &quote(kind::NON_SSL_SESSION),
            &format!("CASE WHEN {is_master} THEN 'high' ELSE 'medium' END"),
            "usr",
            "src",
            &null,
            &format!(
                "concat({}, ' unencrypted session(s) as ', usr, ' from ', src)",
                d.text("cnt")
            ),
            "f_nonssl",
        ));

        // master_user.
        let g = self.grouped(
            &format!("SELECT * FROM lg WHERE ok AND {is_master}"),
            "src, usr",
            ", MAX(CASE WHEN adm THEN 1 ELSE 0 END) AS a",
            &[],
        );
        self.cte("f_master", g);
        finds.push(row(
            &quote(kind::MASTER_USER),
            "CASE WHEN a = 1 THEN 'low' ELSE 'high' END",
            "usr",
            "src",
            &null,
            &format!(
                "concat({}, ' login(s) as master user ', usr, ' from ', src)",
                d.text("cnt")
            ),
            "f_master",
        ));

        // brute_force: fast bursts per source, then the slow ones among the rest.
        self.cte(
            "fail",
            format!(
                "SELECT src AS k, usr AS i, t, {} AS sec, file, line, pub FROM lg WHERE failed",
                d.idiv("t", 1_000_000)
            ),
        );
        self.sliding(
            "bf",
            "fail",
            c.brute_force_window_secs,
            false,
            &format!("wn >= {}", c.brute_force_threshold),
        );
        self.cte(
            "fail2",
            "SELECT f.*, CASE WHEN b.k IS NULL THEN 0 ELSE 1 END AS fast FROM fail f \
             LEFT JOIN bf_b b ON f.k = b.k AND f.sec BETWEEN b.b0 AND b.b1"
                .into(),
        );
        self.cte("slow", "SELECT * FROM fail2 WHERE fast = 0".into());
        self.sliding(
            "sl",
            "slow",
            c.slow_brute_force_horizon_secs,
            false,
            &format!("wn >= {}", c.slow_brute_force_threshold),
        );
        self.cte(
            "bf_all",
            "SELECT k, b0, b1, 0 AS slow FROM bf_b UNION ALL SELECT k, b0, b1, 1 AS slow FROM sl_b"
                .into(),
        );
        let g = self.grouped(
            "SELECT a.b0, a.slow, f.k, f.i, f.t, f.file, f.line, f.pub FROM bf_all a JOIN fail2 f \
             ON f.k = a.k AND f.sec BETWEEN a.b0 AND a.b1 AND (a.slow = 0 OR f.fast = 0)",
            "k, b0, slow",
            ", COUNT(DISTINCT i) AS nu, MIN(i) AS u1, MAX(CASE WHEN pub THEN 1 ELSE 0 END) AS p",
            &[],
        );
        self.cte("f_bf", g);
        finds.push(row(
            &quote(kind::BRUTE_FORCE),
            "CASE WHEN p = 1 THEN 'high' ELSE 'medium' END",
            "CASE WHEN nu = 1 THEN u1 END",
            "k",
            &null,
            &format!(
                "concat({}, ' failed logins from ', k, CASE WHEN slow = 1 THEN ', a slow brute force' ELSE '' END)",
                d.text("cnt")
            ),
            "f_bf",
        ));

        // password_spray: distinct users failed from one source in the window.
        self.sliding(
            "sp",
            "fail",
            c.brute_force_window_secs,
            true,
            &format!("dn >= {}", c.spray_users),
        );
        let g = self.grouped(
            "SELECT a.b0, f.k, f.i, f.t, f.file, f.line FROM sp_b a JOIN fail f \
             ON f.k = a.k AND f.sec BETWEEN a.b0 AND a.b1",
            "k, b0",
            ", COUNT(DISTINCT i) AS nu",
            &[],
        );
        self.cte("f_spray", g);
        finds.push(row(
            &quote(kind::PASSWORD_SPRAY),
            "'high'",
            &null,
            "k",
            &null,
            &format!(
                "concat({}, ' failed logins against ', {}, ' distinct users from ', k)",
                d.text("cnt"),
                d.text("nu")
            ),
            "f_spray",
        ));

        // distributed_brute_force: one user, many sources.
        self.cte(
            "failu",
            "SELECT i AS k, k AS i, t, sec, file, line, pub FROM fail".into(),
        );
        self.sliding(
            "db",
            "failu",
            c.distributed_brute_force_window_secs,
            true,
            &format!(
                "wn >= {} AND dn >= {}",
                c.distributed_brute_force_threshold, c.distributed_brute_force_sources
            ),
        );
        self.cte(
            "db_rows",
            "SELECT a.b0, f.k, f.i, f.t, f.file, f.line, f.pub FROM db_b a JOIN failu f \
             ON f.k = a.k AND f.sec BETWEEN a.b0 AND a.b1"
                .into(),
        );
        let g = self.grouped(
            "SELECT * FROM db_rows",
            "k, b0",
            ", COUNT(DISTINCT i) AS ns, MAX(CASE WHEN pub THEN 1 ELSE 0 END) AS p",
            &[],
        );
        self.cte("f_dbf", g);
        finds.push(row(
            &quote(kind::DISTRIBUTED_BRUTE_FORCE),
            "CASE WHEN p = 1 THEN 'high' ELSE 'medium' END",
            "k",
            &null,
            &null,
            &format!(
                "concat({}, ' failed logins for ', k, ' from ', {}, ' sources')",
                d.text("cnt"),
                d.text("ns")
            ),
            "f_dbf",
        ));

        // brute_force_success: the first successful login (per source and minute, or per
        // user, minute and source, as the passes keep them) after a burst began and within
        // the delay after it; one per source and user, the earliest.
        let delay_us = c.brute_force_success_delay_secs * 1_000_000;
        let minute = d.idiv("t", 60_000_000);
        self.cte(
            "succ",
            format!(
                "SELECT src, usr, t, file, line, \
                 ROW_NUMBER() OVER (PARTITION BY src, {minute} ORDER BY t, file, line) AS rn, \
                 ROW_NUMBER() OVER (PARTITION BY usr, {minute}, src ORDER BY t, file, line) AS rnu \
                 FROM lg WHERE ok AND NOT loc"
            ),
        );
        self.cte(
            "bf_hit",
            format!(
                "SELECT s.src, s.usr, s.t, s.file, s.line, 0 AS pri, \
                 ROW_NUMBER() OVER (PARTITION BY a.k, a.b0, a.slow ORDER BY s.t, s.file, s.line) AS rn \
                 FROM f_bf a JOIN succ s ON s.rn = 1 AND s.src = a.k AND s.t BETWEEN a.t0 AND a.t1 + {delay_us}"
            ),
        );
        self.cte(
            "db_hit",
            format!(
                "SELECT s.src, s.usr, s.t, s.file, s.line, 1 AS pri, \
                 ROW_NUMBER() OVER (PARTITION BY a.k, a.b0 ORDER BY s.t, s.file, s.line, s.src) AS rn \
                 FROM f_dbf a JOIN (SELECT DISTINCT k, b0, i FROM db_rows) x ON x.k = a.k AND x.b0 = a.b0 \
                 JOIN succ s ON s.rnu = 1 AND s.usr = a.k AND s.src = x.i AND s.t BETWEEN a.t0 AND a.t1 + {delay_us}"
            ),
        );
        self.cte(
            "f_bfs",
            format!(
                "SELECT src, usr, t AS t0, t AS t1, 1 AS cnt, {} AS evidence, \
                 ROW_NUMBER() OVER (PARTITION BY usr, src ORDER BY t, pri, file, line) AS rn FROM \
                 (SELECT src, usr, t, file, line, pri FROM bf_hit WHERE rn = 1 UNION ALL \
                  SELECT src, usr, t, file, line, pri FROM db_hit WHERE rn = 1) h",
                self.place("file", "line")
            ),
        );
        finds.push(row(
            &quote(kind::BRUTE_FORCE_SUCCESS),
            "'critical'",
            "usr",
            "src",
            &null,
            "concat('successful login as ', usr, ' from ', src, ' after a brute force: treat the account as compromised')",
            "f_bfs WHERE rn = 1",
        ));

        // rate_spike.
        let window_us = c.rate_window_secs.max(1) * 1_000_000;
        let w = d.idiv("t", window_us);
        self.cte(
            "rs_w",
            format!(
                "SELECT usr, {w} AS w, COUNT(*) AS n, MIN(t) AS t0, MAX(t) AS t1 FROM ev GROUP BY usr, {w}"
            ),
        );
        self.cte(
            "rs_r",
            "SELECT usr, n, ROW_NUMBER() OVER (PARTITION BY usr ORDER BY n) AS rn, \
             COUNT(*) OVER (PARTITION BY usr) AS nw FROM rs_w"
                .into(),
        );
        self.cte(
            "rs_p",
            format!(
                "SELECT usr, MAX(CASE WHEN rn = GREATEST(1, CAST(CEIL({} * CAST(nw AS DOUBLE)) AS BIGINT)) THEN n END) AS p \
                 FROM rs_r GROUP BY usr",
                d.double(0.95)
            ),
        );
        // hdrhistogram (3 significant digits) reports the top of the value's bucket: exact
        // below 2048, then buckets of 2, 4, ... values.
        self.cte(
            "rs_t",
            format!(
                "SELECT usr, p, GREATEST(CAST({} AS DOUBLE), {} * CAST(hp AS DOUBLE)) AS thr FROM \
                 (SELECT usr, p, CASE WHEN p < 2048 THEN p ELSE p - p % sz + sz - 1 END AS hp FROM \
                  (SELECT usr, p, CAST(power(2, floor(log2(CAST(p AS DOUBLE))) - 10) AS BIGINT) AS sz FROM rs_p) z) y",
                c.rate_floor,
                d.double(c.rate_factor)
            ),
        );
        self.cte(
            "rs_s",
            "SELECT w.usr, w.w, w.n, w.t0, w.t1, w.w - ROW_NUMBER() OVER (PARTITION BY w.usr ORDER BY w.w) AS g \
             FROM rs_w w JOIN rs_t x ON x.usr = w.usr WHERE CAST(w.n AS DOUBLE) > x.thr"
                .into(),
        );
        self.cte(
            "rs_f",
            "SELECT usr, g, SUM(n) AS cnt, MIN(t0) AS t0, MAX(t1) AS t1, COUNT(*) AS nwin FROM rs_s GROUP BY usr, g"
                .into(),
        );
        self.cte(
            "f_rate",
            format!(
                "SELECT r.usr, r.g, MIN(r.cnt) AS cnt, MIN(r.t0) AS t0, MIN(r.t1) AS t1, MIN(r.nwin) AS nwin, MIN(e.ev1) AS evidence FROM rs_f r \
                 JOIN (SELECT usr, t, FIRST_VALUE({}) OVER (PARTITION BY usr, t ORDER BY file, line) AS ev1 \
                       FROM ev WHERE t IN (SELECT t0 FROM rs_f)) e ON e.usr = r.usr AND e.t = r.t0 \
                 GROUP BY r.usr, r.g",
                self.place("file", "line")
            ),
        );
        finds.push(row(
            &quote(kind::RATE_SPIKE),
            "'high'",
            "usr",
            &null,
            &null,
            &format!(
                "concat({}, ' events by ', usr, ' in ', {}, ' window(s) of {} s, far above its 95th percentile')",
                d.text("cnt"),
                d.text("nwin"),
                c.rate_window_secs
            ),
            "f_rate",
        ));

        // Statements: privilege, destructive, exfiltration, code execution, audit, TLS.
        let classes: Vec<&str> = STATEMENT_KINDS.iter().map(|(c, _)| c.as_str()).collect();
        let kind_of: Vec<String> = STATEMENT_KINDS
            .iter()
            .map(|(c, k)| format!("WHEN '{}' THEN '{k}'", c.as_str()))
            .collect();
        let norm = format!(
            "TRIM({})",
            d.replace_all("COALESCE(obj, '')", WHITESPACE, " ")
        );
        self.cte(
            "st0",
            format!(
                "SELECT t, file, line, usr, host, ip, src, db, CASE cls {} END AS kind, {norm} AS norm{} \
                 FROM ev WHERE op = '{query_op}' AND {}",
                kind_of.join(" "),
                self.addr.columns("ip"),
                self.is_in("cls", &classes)
            ),
        );
        let txt = format!(
            "CASE WHEN length(norm) > {TEXT_CHARS} THEN concat(substr(norm, 1, {TEXT_CHARS}), {}) ELSE norm END",
            self.lit("…")
        );
        let internal = format!(
            "({} OR usr LIKE 'mysql.%')",
            self.is_in("usr", &INTERNAL_USERS)
        );
        let unexpected = format!("(NOT {local} AND (ip IS NULL OR NOT {expected}))");
        let u = "UPPER(txt)";
        let critical_grant = format!(
            "({} OR {} OR (({u} LIKE 'GRANT %' OR {u} = 'GRANT') AND ({} OR {} OR {} OR {})))",
            d.matches(u, "(^| )GRANT ALL"),
            d.contains(u, "WITH GRANT OPTION"),
            d.contains(u, "@'%'"),
            d.contains(u, "@`%`"),
            d.contains(u, "@\"%\""),
            d.contains(u, "@%"),
        );
        let superuser = format!(
            "({} AND {})",
            d.matches(u, r"^[ ;,()]*(CREATE|ALTER)[ ;,()]+(ROLE|USER)([ ;,()]|$)"),
            d.matches(u, r"[ ;,()]SUPERUSER([ ;,()]|$)")
        );
        let rank = |s: &str| SEVERITIES.iter().position(|x| *x == s).expect("known");
        self.cte(
            "st",
            format!(
                "SELECT t, file, line, usr, src, db, kind, txt, \
                 CASE WHEN {internal} AND {local} THEN {info} \
                 WHEN kind IN ('{ce}', '{ad}') THEN {crit} WHEN kind = '{tls}' THEN {high} \
                 WHEN kind = '{pc}' AND ({critical_grant} OR {superuser}) THEN {crit} \
                 WHEN kind <> '{pc}' AND {unexpected} THEN {crit} ELSE {high} END AS sr \
                 FROM (SELECT st0.*, {txt} AS txt FROM st0) x",
                info = rank("info"),
                crit = rank("critical"),
                high = rank("high"),
                ce = kind::CODE_EXECUTION,
                ad = kind::AUDIT_DISABLED,
                tls = kind::TLS_WEAKENED,
                pc = kind::PRIVILEGE_CHANGE,
            ),
        );
        let g = self.grouped(
            "SELECT * FROM st",
            "kind, usr, src, txt",
            ", MAX(sr) AS sr",
            &[("db1", "db")],
        );
        self.cte("f_st", g);
        finds.push(row(
            "kind",
            &self.severity_of("sr"),
            "usr",
            "src",
            "NULLIF(db1, '')",
            "concat(usr, ' from ', src, ': ', txt)",
            "f_st",
        ));

        // cross_database: databases a user touches outside its usual (or configured) ones.
        let connect = Operation::Connect.as_str();
        let change = Operation::ChangeUser.as_str();
        self.cte(
            "cd_ev",
            format!(
                "SELECT t, file, line, usr, src, COALESCE(db, '') AS db, op, obj FROM ev \
                 WHERE op IN ('{query_op}', '{change}') OR (op = '{connect}' AND COALESCE(rc, 0) = 0)"
            ),
        );
        self.cte(
            "cd_q",
            format!(
                "SELECT DISTINCT e.t, e.file, e.line, e.usr, e.src, e.db, \
                 replace(replace(m.q, '`', ''), '\"', '') AS tdb FROM {}",
                d.each_match(
                    &format!("(SELECT * FROM cd_ev WHERE op = '{query_op}' AND obj LIKE '%.%')"),
                    "e",
                    "obj",
                    QUALIFIED,
                    1,
                    "q"
                )
            ),
        );
        self.cte(
            "cd_t",
            format!(
                "SELECT * FROM (SELECT t, file, line, usr, src, db AS tdb FROM cd_ev WHERE db <> '' \
                 UNION ALL SELECT t, file, line, usr, src, tdb FROM cd_q WHERE tdb <> db) x \
                 WHERE NOT {}",
                self.is_in("LOWER(tdb)", &SYSTEM_SCHEMAS)
            ),
        );
        let g = self.grouped("SELECT * FROM cd_t", "usr, tdb", "", &[]);
        self.cte("cd_a", g);
        self.cte(
            "cd_src",
            format!(
                "SELECT usr, tdb, NULLIF({}, '') AS j, MAX(ns) AS ns FROM \
                 (SELECT usr, tdb, src, ROW_NUMBER() OVER (PARTITION BY usr, tdb ORDER BY src) AS rn, \
                  COUNT(*) OVER (PARTITION BY usr, tdb) AS ns FROM (SELECT DISTINCT usr, tdb, src FROM cd_t) s) r \
                 GROUP BY usr, tdb",
                d.join_sorted(&format!(
                    "CASE WHEN rn <= {MAX_SOURCES} AND src <> '' THEN src END"
                ))
            ),
        );
        let listed: Vec<(&String, Vec<&str>)> = c
            .users
            .iter()
            .filter(|(_, u)| !u.databases.is_empty())
            .map(|(name, u)| (name, u.databases.iter().map(|s| s.as_str()).collect()))
            .collect();
        let mut outside = String::from("CASE WHEN FALSE THEN FALSE");
        for (name, dbs) in &listed {
            outside += &format!(
                " WHEN a.usr = {} THEN NOT {}",
                self.lit(name),
                self.is_in("a.tdb", dbs)
            );
        }
        outside += &format!(
            " ELSE (t.total >= {MIN_EVENTS} AND CAST(a.cnt AS DOUBLE) < {} * CAST(t.total AS DOUBLE)) END",
            d.double(NORMAL_SHARE)
        );
        self.cte(
            "f_cd",
            format!(
                "SELECT a.usr, a.tdb, a.cnt, a.t0, a.t1, a.evidence, \
                 CASE WHEN s.j IS NULL THEN NULL WHEN s.ns > {MAX_SOURCES} THEN s.j || {} ELSE s.j END AS srcs \
                 FROM cd_a a JOIN (SELECT usr, SUM(cnt) AS total FROM cd_a GROUP BY usr) t ON t.usr = a.usr \
                 JOIN cd_src s ON s.usr = a.usr AND s.tdb = a.tdb WHERE {outside}",
                self.lit(", …")
            ),
        );
        finds.push(row(
            &quote(kind::CROSS_DATABASE),
            "'medium'",
            "usr",
            "srcs",
            "tdb",
            &format!(
                "concat(usr, ' touched database ', tdb, ' ', {}, ' time(s), outside its usual databases')",
                d.text("cnt")
            ),
            "f_cd",
        ));

        if let Some(control) = control {
            self.control(control, &mut finds);
        }

        let with: Vec<String> = self
            .ctes
            .iter()
            .map(|(name, body)| format!("{name} AS (\n  {body}\n)"))
            .collect();
        format!(
            "WITH\n{},\nfound AS (\n  {}\n)\nSELECT kind, severity, {} AS first_seen, {} AS last_seen, \
             u AS {}, s AS client_ip, db AS {}, cnt AS {}, detail, evidence, res AS resource\nFROM found\n\
             ORDER BY t0, kind, u, s, db, cnt;\n",
            with.join(",\n"),
            finds.join("\n  UNION ALL\n  "),
            d.timestamp_ms("t0"),
            d.timestamp_ms("t1"),
            d.id("user"),
            d.id("database"),
            d.id("count"),
        )
    }
}
