//! Background traffic in the plan: what every corpus holds besides the incidents.
//!
//! Pooled application sessions whose query rate follows the diurnal curve ([`add_pools`]),
//! `rdsadmin` health checks every five minutes, PostgreSQL's own checkpoints and autovacuum,
//! the DBA's benign work from the bastion and a rare mistyped application password. None of
//! it may raise a login-based finding. The statements of pooled sessions are generated while
//! rendering, by [`app_sql`](super::app_sql).

use super::estate::{diurnal, App, APPS, BASTION, MASTER_USER};
use super::plan::{stmt, Body, Conn, ServerMsg, Session, SlicePlan};
use super::rng::{below, pick, range, unit, R};
use super::time::{MIN_US, MS, US};

/// The application pools: each application's share of `scale` queries, spread over the
/// slices by the diurnal curve (`w_sum` is the sum of its weights over the period).
pub(crate) fn add_pools(slices: &mut [SlicePlan], scale: f64, w_sum: f64, rng: &mut R) {
    for app in APPS {
        let p = app.profile();
        for (i, sp) in slices.iter_mut().enumerate() {
            let expect = scale * p.share * diurnal(i % 24) / w_sum;
            // Random dithering keeps the total unbiased when a slice expects < 1 query.
            let q = (expect + unit(rng)).floor() as u64;
            if q > 0 {
                add_pool(sp, i, app, q, rng);
            }
        }
    }
}

/// `rdsadmin` health checks every 5 minutes over the Unix socket.
pub(crate) fn add_health_checks(sp: &mut SlicePlan, pg: bool, rng: &mut R) {
    for k in 0..12 {
        let s = sp.t0 + k * 5 * MIN_US + 2 * US + range(rng, 0, 900 * MS);
        let (first, second) = match (pg, k % 2 == 0) {
            (false, true) => ("select @@session.transaction_read_only", "SELECT 1"),
            (false, false) => (
                "select @@session.transaction_read_only",
                "SELECT @@GLOBAL.read_only",
            ),
            (true, true) => ("SELECT pg_is_in_recovery()", "SELECT 1"),
            (true, false) => (
                "SELECT pg_is_in_recovery()",
                "SELECT count(*) FROM pg_stat_activity",
            ),
        };
        sp.sessions.push(Session {
            start: s,
            end: s + 4800,
            user: "rdsadmin",
            host: if pg { "[local]" } else { "localhost" },
            db: if pg { "rdsadmin" } else { "" },
            conn: Conn::Socket,
            body: Body::Script(vec![stmt(s + 1500, first), stmt(s + 3100, second)]),
        });
    }
}

/// The DBA's benign work from the bastion, three times a day, and every third day a single
/// mistyped password from an application host (which must not alert). Returns the first
/// bastion login and the number of them, for the master user's expected `low` finding.
pub(crate) fn add_admin_days(
    slices: &mut [SlicePlan],
    days: u32,
    pg: bool,
    rng: &mut R,
) -> (i64, u64) {
    let mut bastion_first = i64::MAX;
    let mut bastion_logins = 0u64;
    for d in 0..days as i64 {
        for h in [9i64, 13, 17] {
            let idx = (d * 24 + h) as usize;
            let s = slices[idx].t0 + range(rng, 0, 45 * MIN_US);
            let sess = admin_benign(s, rng, pg);
            bastion_first = bastion_first.min(s);
            bastion_logins += 1;
            slices[idx].sessions.push(sess);
        }
        // A rare, single mistyped password from an application host: must not alert.
        if d % 3 == 1 {
            let idx = (d * 24 + 11) as usize;
            let s = slices[idx].t0 + range(rng, 0, 50 * MIN_US);
            slices[idx].sessions.push(Session {
                start: s,
                end: s,
                user: "app_billing",
                host: "10.20.2.21",
                db: if pg { "billing" } else { "" },
                conn: Conn::Ssl,
                body: Body::Failed { ret: 1045 },
            });
        }
    }
    (bastion_first, bastion_logins)
}

/// Lays out one user's pooled sessions for one hour: `k` pool slots, each a chain of
/// back-to-back sessions spanning the hour, queries allotted in proportion to duration so
/// that the user's query rate is flat within the hour (no accidental spikes).
fn add_pool(sp: &mut SlicePlan, slice_idx: usize, app: App, q: u64, rng: &mut R) {
    let p = app.profile();
    let n_s = ((q as f64 / p.q_target).round() as usize).max(1);
    let k = n_s.min(p.max_slots);
    let mut spans: Vec<(i64, i64, &'static str)> = Vec::with_capacity(n_s);
    for j in 0..k {
        let m = n_s / k + usize::from(j < n_s % k);
        let host = p.hosts[(j + slice_idx) % p.hosts.len()];
        let a = sp.t0 + range(rng, 0, 90 * US);
        let b = sp.t1 - range(rng, US, 45 * US);
        let mut prev = a;
        for s in 0..m {
            let cut = if s + 1 == m {
                b
            } else {
                // Stratified cut points: no session shorter than 40% of the mean.
                a + ((b - a) as f64 * ((s as f64 + 1.0) + (unit(rng) - 0.5) * 0.6) / m as f64)
                    as i64
            };
            let start = if s == 0 {
                prev
            } else {
                (prev + range(rng, 50 * MS, 2 * US)).min(cut - MS)
            };
            spans.push((start, cut, host));
            prev = cut;
        }
    }
    let total: f64 = spans.iter().map(|(s, e, _)| (e - s) as f64).sum();
    let mut cum = 0.0;
    let mut given = 0u64;
    for (start, end, host) in spans {
        cum += (end - start) as f64;
        let upto = ((q as f64 * cum / total).round() as u64).min(q);
        let nq = upto - given;
        given = upto;
        sp.sessions.push(Session {
            start,
            end,
            user: p.user,
            host,
            db: p.db,
            conn: Conn::Ssl,
            body: Body::Pooled {
                app,
                n: nq as u32,
                regular: false,
            },
        });
    }
    if given < q {
        // Float rounding left a remainder: give it to the last session.
        if let Some(Session {
            body: Body::Pooled { n, .. },
            ..
        }) = sp.sessions.last_mut()
        {
            *n += (q - given) as u32;
        }
    }
}

/// PostgreSQL's own messages in one hour: a checkpoint every 5 minutes (`checkpoint_timeout`)
/// and autovacuum / autoanalyze of the busiest tables.
pub(crate) fn add_server_messages(sp: &mut SlicePlan, rng: &mut R) {
    for k in 0..12 {
        let s = sp.t0 + k * 5 * MIN_US + 30 * US;
        sp.sessions.push(Session {
            start: s,
            end: s + range(rng, 5 * US, 50 * US),
            user: "",
            host: "",
            db: "",
            conn: Conn::Socket,
            body: Body::Server(ServerMsg::Checkpoint),
        });
    }
    for (table, vacuum) in [
        ("orders.public.cart_items", true),
        ("warehouse.public.staging_events", true),
        ("orders.public.orders", false),
    ] {
        let s = sp.t0 + range(rng, 0, 59 * MIN_US);
        sp.sessions.push(Session {
            start: s,
            end: s,
            user: "",
            host: "",
            db: "",
            conn: Conn::Socket,
            body: Body::Server(if vacuum {
                ServerMsg::Vacuum(table)
            } else {
                ServerMsg::Analyze(table)
            }),
        });
    }
}

/// What the DBA runs from the bastion, in one SQL dialect.
struct AdminWork {
    /// The client's first statement.
    hello: &'static str,
    /// The database the client connects to.
    db: &'static str,
    /// Read by every session: each application database and the user table, so the master
    /// user's normal footprint covers what the incidents touch (no cross_database noise for
    /// admin).
    every_time: [&'static str; 5],
    /// One to three of these, drawn with repetition.
    sometimes: [&'static str; 6],
}

/// The mysql client on the bastion, connected to no database.
const ADMIN_MYSQL: AdminWork = AdminWork {
    hello: "select @@version_comment limit 1",
    db: "",
    every_time: [
        "SELECT COUNT(*) FROM orders.orders WHERE created_at >= CURDATE()",
        "SELECT status, COUNT(*) FROM billing.invoices GROUP BY status",
        "SELECT MAX(order_date) FROM analytics.daily_sales",
        "SELECT batch_id, status, started_at FROM warehouse.etl_batches ORDER BY batch_id DESC LIMIT 5",
        "SELECT user, host, account_locked FROM mysql.user",
    ],
    sometimes: [
        "SHOW PROCESSLIST",
        "SHOW ENGINE INNODB STATUS",
        "SHOW GLOBAL STATUS LIKE 'Threads_connected'",
        "SELECT table_schema,\n       ROUND(SUM(data_length + index_length) / 1024 / 1024) AS size_mb\nFROM information_schema.tables\nGROUP BY table_schema\nORDER BY size_mb DESC",
        "SELECT @@version, @@version_comment",
        "SELECT trx_id, trx_state, trx_started FROM information_schema.innodb_trx",
    ],
};

/// psql on the bastion, connected to `postgres`, reading each application's schema.
const ADMIN_PG: AdminWork = AdminWork {
    hello: "SELECT current_user, current_database()",
    db: "postgres",
    every_time: [
        "SELECT count(*) FROM orders.orders WHERE created_at >= current_date",
        "SELECT status, count(*) FROM billing.invoices GROUP BY status",
        "SELECT max(order_date) FROM analytics.daily_sales",
        "SELECT batch_id, status, started_at FROM warehouse.etl_batches ORDER BY batch_id DESC LIMIT 5",
        "SELECT rolname, rolcanlogin, rolvaliduntil FROM pg_catalog.pg_roles",
    ],
    sometimes: [
        "SELECT pid, usename, state, query FROM pg_stat_activity",
        "SELECT * FROM pg_stat_database WHERE datname = 'orders'",
        "SHOW max_connections",
        "SELECT datname,\n       pg_size_pretty(pg_database_size(datname)) AS size\nFROM pg_database\nORDER BY pg_database_size(datname) DESC",
        "SELECT version()",
        "SELECT relname, n_dead_tup FROM pg_stat_user_tables ORDER BY n_dead_tup DESC LIMIT 10",
    ],
};

/// One benign session of the master user from the bastion, starting at `start`.
fn admin_benign(start: i64, rng: &mut R, pg: bool) -> Session {
    let work = if pg { &ADMIN_PG } else { &ADMIN_MYSQL };
    let mut qs: Vec<&'static str> = work.every_time.to_vec();
    let extra = 1 + below(rng, 3) as usize;
    for _ in 0..extra {
        qs.push(pick(rng, &work.sometimes));
    }
    // Fisher-Yates shuffle with our own RNG helpers.
    for i in (1..qs.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        qs.swap(i, j);
    }
    let mut t = start + range(rng, US, 3 * US);
    let mut stmts = Vec::with_capacity(qs.len() + 1);
    stmts.push(stmt(t, work.hello));
    for q in qs {
        t += range(rng, 3 * US, 40 * US);
        stmts.push(stmt(t, q));
    }
    Session {
        start,
        end: t + range(rng, 5 * US, 60 * US),
        user: MASTER_USER,
        host: BASTION,
        db: work.db,
        conn: Conn::Ssl,
        body: Body::Script(stmts),
    }
}
