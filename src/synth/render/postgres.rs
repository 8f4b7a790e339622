//! The PostgreSQL renderer: RDS PostgreSQL's hourly `postgresql.log`.
//!
//! The same plan of sessions as the MySQL flavors, written with `log_line_prefix =
//! '%t:%r:%u@%d:[%p]:'`, `log_connections`, `log_disconnections` and pgaudit: multi-line
//! records, the server's own checkpoint and autovacuum messages, error reports with their
//! DETAIL / HINT / STATEMENT lines, and background SQL turned into PostgreSQL's dialect.
//! Connection ids are backend PIDs.

use std::borrow::Cow;
use std::cmp::Reverse;

use super::{connected, queried, Emitter, Fmt};
use crate::synth::app_sql::gen_app;
use crate::synth::estate::PG_PERMISSION_DENIED;
use crate::synth::plan::{Body, Conn, ServerMsg, Session, SlicePlan};
use crate::synth::rng::{below, rare, unit, R};
use crate::synth::text::{push, push_i64, push_num};
use crate::synth::time::{MS, US};

/// How a role's statements reach the log. pgaudit (`pgaudit.log = 'all'`) covers most roles;
/// the reporting role is excluded from pgaudit as too noisy and logged through
/// `log_min_duration_statement = 0` instead, the ETL role through `log_statement = 'all'`. So
/// every statement is logged exactly once, in each of the three forms the parser reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PgLogging {
    Audit,
    Duration,
    Statement,
}

fn pg_logging(user: &str) -> PgLogging {
    match user {
        "reporting" => PgLogging::Duration,
        "etl" => PgLogging::Statement,
        _ => PgLogging::Audit,
    }
}

fn pg_application(user: &str) -> &'static str {
    match user {
        "app_orders" | "app_billing" => "PostgreSQL JDBC Driver",
        "reporting" => "Metabase v0.49.3",
        "etl" => "airflow-etl",
        "legacy_app" => "legacy-batch",
        "rdsadmin" => "rdsadmin",
        _ => "psql",
    }
}

fn pg_role_exists(user: &str) -> bool {
    matches!(
        user,
        "admin" | "app_orders" | "app_billing" | "reporting" | "etl" | "legacy_app" | "rdsadmin"
    )
}

/// The client port of a backend, fixed per PID.
fn pg_port(pid: i64) -> u32 {
    32_768 + ((pid.rem_euclid(28_000) as u64 * 7_919) % 28_000) as u32
}

/// The checkpointer's PID: one process for the server's lifetime.
const PG_CHECKPOINTER: i64 = 398;

impl Fmt {
    /// `[export prefix]YYYY-MM-DD HH:MM:SS UTC:host(port):user@db:[pid]:SEV:  `
    #[allow(clippy::too_many_arguments)]
    fn pg_head(
        &mut self,
        b: &mut Vec<u8>,
        ts: i64,
        host: &str,
        port: Option<u32>,
        user: &str,
        db: &str,
        pid: i64,
        sev: &str,
    ) {
        self.set_sec(ts.div_euclid(US));
        if self.cw {
            b.extend_from_slice(&self.cw_txt);
            b.extend_from_slice(b".000Z ");
        }
        b.extend_from_slice(&self.pg_txt);
        b.extend_from_slice(b" UTC:");
        push(b, host);
        if let Some(p) = port {
            b.push(b'(');
            push_num(b, p as u64);
            b.push(b')');
        }
        b.push(b':');
        push(b, user);
        b.push(b'@');
        push(b, db);
        b.extend_from_slice(b":[");
        push_i64(b, pid);
        b.extend_from_slice(b"]:");
        push(b, sev);
        b.extend_from_slice(b":  ");
    }

    /// The head of a line logged by session `s`'s backend.
    fn pg_sess(&mut self, b: &mut Vec<u8>, ts: i64, s: &Session, pid: i64, sev: &str) {
        let port = pg_tcp(s).then(|| pg_port(pid));
        self.pg_head(b, ts, s.host, port, s.user, pg_db(s), pid, sev);
    }

    fn pg_connect(&mut self, b: &mut Vec<u8>, ts: i64, s: &Session, pid: i64) {
        let tcp = pg_tcp(s);
        let port = tcp.then(|| pg_port(pid));
        self.pg_head(b, ts, s.host, port, "[unknown]", "[unknown]", pid, "LOG");
        push(b, "connection received: host=");
        push(b, s.host);
        if let Some(p) = port {
            push(b, " port=");
            push_num(b, p as u64);
        }
        b.push(b'\n');
        if tcp {
            self.pg_sess(b, ts, s, pid, "LOG");
            push(b, "connection authenticated: identity=\"");
            push(b, s.user);
            push(
                b,
                "\" method=scram-sha-256 (/rdsdbdata/config/pg_hba.conf:13)\n",
            );
        }
        self.pg_sess(b, ts, s, pid, "LOG");
        push(b, "connection authorized: user=");
        push(b, s.user);
        push(b, " database=");
        push(b, pg_db(s));
        push(b, " application_name=");
        push(b, pg_application(s.user));
        if s.conn == Conn::Ssl {
            push(
                b,
                " SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)",
            );
        }
        b.push(b'\n');
    }

    fn pg_failed(&mut self, b: &mut Vec<u8>, ts: i64, s: &Session, pid: i64) {
        let port = pg_port(pid);
        self.pg_head(
            b,
            ts,
            s.host,
            Some(port),
            "[unknown]",
            "[unknown]",
            pid,
            "LOG",
        );
        push(b, "connection received: host=");
        push(b, s.host);
        push(b, " port=");
        push_num(b, port as u64);
        b.push(b'\n');
        self.pg_sess(b, ts, s, pid, "FATAL");
        push(b, "password authentication failed for user \"");
        push(b, s.user);
        push(b, "\"\n");
        self.pg_sess(b, ts, s, pid, "DETAIL");
        if pg_role_exists(s.user) {
            push(b, "Password does not match for user \"");
            push(b, s.user);
            push(b, "\".");
        } else {
            push(b, "Role \"");
            push(b, s.user);
            push(b, "\" does not exist.");
        }
        push(
            b,
            "\n\tConnection matched pg_hba.conf line 13: \"host\tall\tall\t0.0.0.0/0\tscram-sha-256\"\n",
        );
    }

    fn pg_disconnect(&mut self, b: &mut Vec<u8>, ts: i64, s: &Session, pid: i64) {
        self.pg_sess(b, ts, s, pid, "LOG");
        let d = (ts - s.start).max(0) / MS;
        let line = format!(
            "disconnection: session time: {}:{:02}:{:02}.{:03} user={} database={} host={}",
            d / 3_600_000,
            d / 60_000 % 60,
            d / 1000 % 60,
            d % 1000,
            s.user,
            pg_db(s),
            s.host
        );
        push(b, &line);
        if pg_tcp(s) {
            push(b, " port=");
            push_num(b, pg_port(pid) as u64);
        }
        b.push(b'\n');
    }

    /// One statement as the role's logging settings write it, then the error it raised.
    #[allow(clippy::too_many_arguments)]
    fn pg_query(
        &mut self,
        b: &mut Vec<u8>,
        ts: i64,
        s: &Session,
        pid: i64,
        stmt_id: u32,
        sql: &[u8],
        ret: u32,
        table: &str,
        rng: &mut R,
    ) {
        self.pg_sess(b, ts, s, pid, "LOG");
        match pg_logging(s.user) {
            PgLogging::Audit => {
                let (class, command, object) = pg_audit_class(sql);
                push(b, "AUDIT: SESSION,");
                push_num(b, stmt_id as u64);
                push(b, ",1,");
                push(b, class);
                b.push(b',');
                push(b, &command);
                b.push(b',');
                if !object.is_empty() {
                    push(b, "TABLE,");
                    b.extend_from_slice(object);
                } else {
                    b.push(b',');
                }
                b.push(b',');
                push_csv(b, sql);
                push(b, ",<not logged>\n");
            }
            PgLogging::Duration => {
                let ms = 0.05 + unit(rng) * if sql.len() > 200 { 900.0 } else { 12.0 };
                push(b, &format!("duration: {ms:.3} ms  statement: "));
                b.extend_from_slice(sql);
                b.push(b'\n');
            }
            PgLogging::Statement => {
                push(b, "statement: ");
                b.extend_from_slice(sql);
                b.push(b'\n');
                // log_min_duration_statement = 1000: a slow statement already logged gets a
                // bare duration line.
                if rare(rng, 40) {
                    self.pg_sess(b, ts, s, pid, "LOG");
                    let ms = 1000.0 + unit(rng) * 4000.0;
                    push(b, &format!("duration: {ms:.3} ms\n"));
                }
            }
        }
        if ret != 0 {
            self.pg_error(b, ts, s, pid, sql, ret, table, rng);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn pg_error(
        &mut self,
        b: &mut Vec<u8>,
        ts: i64,
        s: &Session,
        pid: i64,
        sql: &[u8],
        ret: u32,
        table: &str,
        rng: &mut R,
    ) {
        self.pg_sess(b, ts, s, pid, "ERROR");
        match ret {
            1062 => {
                push(
                    b,
                    &format!("duplicate key value violates unique constraint \"{table}_pkey\"\n"),
                );
                self.pg_sess(b, ts, s, pid, "DETAIL");
                push(
                    b,
                    &format!("Key (id)=({}) already exists.\n", 1 + below(rng, 9_000_000)),
                );
            }
            1213 => {
                let other = pid + 1 + below(rng, 40) as i64;
                let (x, y) = (
                    8_800_000 + below(rng, 90_000),
                    8_800_000 + below(rng, 90_000),
                );
                push(b, "deadlock detected\n");
                self.pg_sess(b, ts, s, pid, "DETAIL");
                push(b, &format!("Process {pid} waits for ShareLock on transaction {x}; blocked by process {other}.\n\tProcess {other} waits for ShareLock on transaction {y}; blocked by process {pid}.\n"));
                self.pg_sess(b, ts, s, pid, "HINT");
                push(b, "See server log for query details.\n");
                self.pg_sess(b, ts, s, pid, "CONTEXT");
                push(
                    b,
                    &format!("while updating tuple (12,3) in relation \"{table}\"\n"),
                );
            }
            PG_PERMISSION_DENIED if sql.starts_with(b"COPY") => {
                push(b, "must be superuser or have privileges of the pg_write_server_files role to COPY to a file\n");
                self.pg_sess(b, ts, s, pid, "HINT");
                push(b, "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone.\n");
            }
            PG_PERMISSION_DENIED => push(b, "permission denied for function pg_read_file\n"),
            _ => push(b, "canceling statement due to statement timeout\n"),
        }
        self.pg_sess(b, ts, s, pid, "STATEMENT");
        b.extend_from_slice(sql);
        b.push(b'\n');
    }

    /// A server message; `took` (µs) for the second half of a checkpoint.
    fn pg_server(
        &mut self,
        b: &mut Vec<u8>,
        ts: i64,
        pid: i64,
        m: ServerMsg,
        took: Option<i64>,
        rng: &mut R,
    ) {
        match m {
            ServerMsg::Checkpoint => {
                self.pg_head(b, ts, "", None, "", "", PG_CHECKPOINTER, "LOG");
                let Some(took) = took else {
                    push(b, "checkpoint starting: time\n");
                    return;
                };
                let bufs = 200 + below(rng, 4000);
                let write = (took as f64 / US as f64 - 0.07).max(0.001);
                let line = format!(
                    "checkpoint complete: wrote {bufs} buffers ({:.1}%); 0 WAL file(s) added, 0 removed, {} recycled; write={write:.3} s, sync={:.3} s, total={:.3} s; sync files={}, longest={:.3} s, average={:.3} s; distance={} kB, estimate={} kB\n",
                    bufs as f64 / 163.84,
                    below(rng, 4),
                    unit(rng) * 0.05,
                    write + 0.06,
                    10 + below(rng, 80),
                    unit(rng) * 0.01,
                    unit(rng) * 0.002,
                    bufs * 8 + below(rng, 500),
                    bufs * 9 + below(rng, 500),
                );
                push(b, &line);
            }
            ServerMsg::Vacuum(table) => {
                self.pg_head(b, ts, "", None, "", "", pid, "LOG");
                let (removed, pages) = (below(rng, 5000), 800 + below(rng, 9000));
                let index = table.rsplit('.').next().unwrap_or(table);
                let text = format!(
                    "automatic vacuum of table \"{table}\": index scans: 1\n\tpages: 0 removed, {pages} remain, {pages} scanned (100.00% of total)\n\ttuples: {removed} removed, {} remain, 0 are dead but not yet removable\n\tremovable cutoff: {}, which was 12 XIDs old when operation ended\n\tindex scan needed: {} pages from table ({:.2}% of total) had {removed} dead item identifiers removed\n\tindex \"{index}_pkey\": pages: {} in total, 0 newly deleted, 0 currently deleted, 0 reusable\n\tavg read rate: 0.000 MB/s, avg write rate: {:.3} MB/s\n\tbuffer usage: {} hits, 0 misses, {} dirtied\n\tWAL usage: {} records, {} full page images, {} bytes\n\tsystem usage: CPU: user: 0.04 s, system: 0.00 s, elapsed: {:.2} s\n",
                    pages * 40,
                    8_800_000 + below(rng, 90_000),
                    removed / 5 + 1,
                    unit(rng) * 10.0,
                    pages / 8 + 1,
                    unit(rng),
                    pages * 2,
                    below(rng, 100),
                    removed * 3,
                    below(rng, 100),
                    removed * 780,
                    unit(rng) * 2.0,
                );
                push(b, &text);
            }
            ServerMsg::Analyze(table) => {
                self.pg_head(b, ts, "", None, "", "", pid, "LOG");
                let text = format!(
                    "automatic analyze of table \"{table}\"\n\tavg read rate: {:.3} MB/s, avg write rate: 0.000 MB/s\n\tbuffer usage: {} hits, {} misses, 0 dirtied\n\tsystem usage: CPU: user: 0.11 s, system: 0.00 s, elapsed: {:.2} s\n",
                    unit(rng) * 20.0,
                    1000 + below(rng, 9000),
                    below(rng, 300),
                    unit(rng),
                );
                push(b, &text);
            }
        }
    }
}

/// A TCP session (the log shows `host(port)`), as opposed to the Unix socket.
fn pg_tcp(s: &Session) -> bool {
    s.host != "[local]" && !s.host.is_empty()
}

fn pg_db(s: &Session) -> &'static str {
    if s.db.is_empty() {
        "postgres"
    } else {
        s.db
    }
}

/// A pgaudit CSV field: quoted when it holds `,` `"` CR or LF, with `"` doubled.
fn push_csv(b: &mut Vec<u8>, s: &[u8]) {
    if !s.iter().any(|c| matches!(c, b',' | b'"' | b'\r' | b'\n')) {
        b.extend_from_slice(s);
        return;
    }
    b.push(b'"');
    for &c in s {
        if c == b'"' {
            b.push(b'"');
        }
        b.push(c);
    }
    b.push(b'"');
}

/// pgaudit's CLASS and COMMAND of a statement, and the table it names for DDL / TRUNCATE.
fn pg_audit_class(sql: &[u8]) -> (&'static str, Cow<'static, str>, &[u8]) {
    fn table<'s>(second: &[u8], third: &'s [u8]) -> &'s [u8] {
        if second == b"TABLE" {
            third
        } else {
            b""
        }
    }
    let mut s = sql;
    loop {
        s = s.trim_ascii_start();
        if s.starts_with(b"/*") {
            s = match s.windows(2).position(|w| w == b"*/") {
                Some(i) => &s[i + 2..],
                None => &[],
            };
        } else {
            break;
        }
    }
    let mut words = s
        .split(|c| c.is_ascii_whitespace() || *c == b'(' || *c == b';')
        .filter(|w| !w.is_empty());
    let first = words.next().unwrap_or(b"").to_ascii_uppercase();
    let second = words.next().unwrap_or(b"");
    let third = words.next().unwrap_or(b"");
    let up2 = second.to_ascii_uppercase();
    let (class, command): (&'static str, Cow<'static, str>) = match first.as_slice() {
        b"SELECT" | b"WITH" | b"VALUES" => ("READ", "SELECT".into()),
        b"SHOW" => ("MISC", "SHOW".into()),
        b"INSERT" => ("WRITE", "INSERT".into()),
        b"UPDATE" => ("WRITE", "UPDATE".into()),
        b"DELETE" => ("WRITE", "DELETE".into()),
        b"TRUNCATE" => return ("WRITE", "TRUNCATE TABLE".into(), table(&up2, third)),
        b"COPY" if s.windows(4).any(|w| w.eq_ignore_ascii_case(b" TO ")) => ("READ", "COPY".into()),
        b"COPY" => ("WRITE", "COPY".into()),
        b"BEGIN" | b"START" => ("MISC", "BEGIN".into()),
        b"COMMIT" => ("MISC", "COMMIT".into()),
        b"ROLLBACK" => ("MISC", "ROLLBACK".into()),
        b"SET" => ("MISC", "SET".into()),
        b"GRANT" => ("ROLE", "GRANT".into()),
        b"REVOKE" => ("ROLE", "REVOKE".into()),
        verb @ (b"CREATE" | b"ALTER" | b"DROP") => {
            let verb = String::from_utf8_lossy(verb).into_owned();
            if up2 == b"USER" || up2 == b"ROLE" {
                ("ROLE", format!("{verb} ROLE").into())
            } else {
                let obj = String::from_utf8_lossy(&up2).into_owned();
                return ("DDL", format!("{verb} {obj}").into(), table(&up2, third));
            }
        }
        other => ("MISC", String::from_utf8_lossy(other).into_owned().into()),
    };
    (class, command, b"")
}

/// Background statements are written in MySQL's dialect; PostgreSQL quotes by doubling
/// (`''`), keeps backslashes literal, and has `lastval()` for `LAST_INSERT_ID()`.
fn pg_dialect(sql: &mut Vec<u8>) {
    let mut out = Vec::with_capacity(sql.len() + 8);
    let mut i = 0;
    while i < sql.len() {
        match (sql[i], sql.get(i + 1)) {
            (b'\\', Some(b'\'')) => {
                out.extend_from_slice(b"''");
                i += 2;
            }
            (b'\\', Some(b'\\')) => {
                out.push(b'\\');
                i += 2;
            }
            (b'L', _) if sql[i..].starts_with(b"LAST_INSERT_ID()") => {
                out.extend_from_slice(b"lastval()");
                i += 16;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    *sql = out;
}

impl Emitter {
    /// [`Emitter::emit`] for PostgreSQL: the same sessions, written as an RDS PostgreSQL log.
    /// Connection ids are backend PIDs.
    pub(super) fn emit_pg(&mut self, idx: usize, sp: &SlicePlan) {
        let (mut rng, mut heap) = self.start_slice(idx, sp);
        let ss = &sp.sessions;
        let mut next_pid = sp.conn_base;
        let mut b = std::mem::take(&mut self.lanes[0]);
        let from = b.len();
        while let Some(Reverse((t, i))) = heap.pop() {
            let s = &ss[i as usize];
            let lv = &mut self.live[i as usize];
            let n = s.queries();
            if lv.step == 0 {
                let pid = next_pid;
                next_pid += 1;
                lv.conn = pid;
                match s.body {
                    Body::Server(m) => {
                        self.fmt.pg_server(&mut b, t, pid, m, None, &mut rng);
                        if m == ServerMsg::Checkpoint {
                            lv.step = 1;
                            heap.push(Reverse((s.end, i)));
                        }
                        continue;
                    }
                    Body::Failed { .. } => {
                        self.fmt.pg_failed(&mut b, t, s, pid);
                        continue;
                    }
                    _ => {}
                }
                self.fmt.pg_connect(&mut b, t, s, pid);
                let nt = connected(s, lv, t, n, true, &mut rng);
                heap.push(Reverse((nt, i)));
            } else if let Body::Server(m) = s.body {
                self.fmt
                    .pg_server(&mut b, t, lv.conn, m, Some(t - s.start), &mut rng);
            } else if lv.step <= n {
                self.sql.clear();
                self.tabs.clear();
                let ret = match &s.body {
                    Body::Script(stmts) => {
                        let st = &stmts[lv.step as usize - 1];
                        self.sql.extend_from_slice(st.sql.as_bytes());
                        st.ret
                    }
                    Body::Pooled { app, .. } => {
                        let remaining = n - lv.step + 1;
                        let ret = gen_app(
                            *app,
                            true,
                            lv,
                            &mut rng,
                            t,
                            remaining,
                            &mut self.sql,
                            &mut self.tabs,
                        );
                        pg_dialect(&mut self.sql);
                        ret
                    }
                    Body::Failed { .. } | Body::Server(_) => unreachable!("no statements"),
                };
                let table = self.tabs.first().map_or("orders", |t| t.2);
                self.fmt.pg_query(
                    &mut b, t, s, lv.conn, lv.step, &self.sql, ret, table, &mut rng,
                );
                let nt = queried(s, lv, t, n, &mut rng);
                heap.push(Reverse((nt, i)));
            } else {
                self.fmt.pg_disconnect(&mut b, t, s, lv.conn);
            }
        }
        debug_assert_eq!(next_pid, sp.conn_base + ss.len() as i64);
        self.lines += memchr::memchr_iter(b'\n', &b[from..]).count() as u64;
        self.lanes[0] = b;
    }
}
