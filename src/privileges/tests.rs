//! The model on crafted events: what is granted, what is not, and how it is written.

use super::*;

const T0: i64 = 1_767_000_000_000_000; // 2025-12-29 09:20 UTC

struct Ev {
    engine: Engine,
    user: &'static str,
    host: &'static str,
    op: Operation,
    db: &'static str,
    object: Option<&'static str>,
    retcode: Option<i32>,
    tls: Option<bool>,
}

fn ev(engine: Engine, user: &'static str, host: &'static str, op: Operation) -> Ev {
    Ev {
        engine,
        user,
        host,
        op,
        db: "",
        object: None,
        retcode: Some(0),
        tls: None,
    }
}

impl Ev {
    fn db(mut self, db: &'static str) -> Self {
        self.db = db;
        self
    }
    fn text(mut self, t: &'static str) -> Self {
        self.object = Some(t);
        self
    }
    fn tls(mut self, t: Option<bool>) -> Self {
        self.tls = t;
        self
    }
    fn rc(mut self, c: i32) -> Self {
        self.retcode = Some(c);
        self
    }
}

fn usage(events: &[Ev]) -> Usage {
    let mut u = Usage::default();
    for (i, e) in events.iter().enumerate() {
        u.observe(&Row {
            time_us: T0 + i as i64 * 1_000_000,
            engine: e.engine,
            server: b"db-1",
            user: e.user.as_bytes(),
            client_host: e.host.as_bytes(),
            client_ip: e.host.parse().ok(),
            operation: e.op,
            database: e.db.as_bytes(),
            object: e.object,
            retcode: e.retcode,
            tls: e.tls,
        });
    }
    u
}

fn outputs_of(u: &Usage, ctx: &Context) -> (String, String) {
    let m = u.model(ctx);
    (render::sql(&m, None), render::markdown(&m, None))
}

fn section<'a>(sql: &'a str, user: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut inside = false;
    for l in sql.lines() {
        if let Some(u) = l.strip_prefix("-- user: ") {
            inside = u == user;
        }
        if inside && !l.is_empty() {
            out.push(l);
        }
    }
    out
}

fn statements<'a>(section: &[&'a str]) -> Vec<&'a str> {
    section
        .iter()
        .copied()
        .filter(|l| !l.starts_with("--"))
        .collect()
}

use Engine::{MySql, Postgres};
use Operation::*;

fn mysql_app() -> Vec<Ev> {
    vec![
        ev(MySql, "app", "10.0.0.5", Connect)
            .db("shop")
            .tls(Some(true)),
        ev(MySql, "app", "10.0.0.5", Read)
            .db("shop")
            .text("customers"),
        ev(MySql, "app", "10.0.0.5", Query)
            .db("shop")
            .text("SELECT name FROM customers WHERE id = 1"),
        ev(MySql, "app", "10.0.0.5", Write)
            .db("shop")
            .text("orders"),
        ev(MySql, "app", "10.0.0.5", Query)
            .db("shop")
            .text("UPDATE orders SET note = 'x' WHERE id = 3"),
        // A table the server opened that no statement names (a view's base table).
        ev(MySql, "app", "10.0.0.5", Read).db("shop").text("audit"),
        // Refused by the server: not granted.
        ev(MySql, "app", "10.0.0.5", Query)
            .db("shop")
            .text("DELETE FROM secrets")
            .rc(1142),
        // Opened by the server itself for its statistics: not granted.
        ev(MySql, "app", "10.0.0.5", Read)
            .db("mysql")
            .text("column_stats"),
        ev(MySql, "app", "10.0.0.5", Query)
            .db("shop")
            .text("SELECT total FROM billing.invoices"),
    ]
}

#[test]
fn mysql_grants_are_per_table_from_statements_and_table_events() {
    let (sql, _) = outputs_of(&usage(&mysql_app()), &Context::default());
    let s = section(&sql, "app");
    assert_eq!(
        statements(&s),
        vec![
            "CREATE USER 'app'@'10.0.0.5' IDENTIFIED BY 'CHANGE_ME' REQUIRE SSL;",
            "GRANT SELECT ON `billing`.`invoices` TO 'app'@'10.0.0.5';",
            "GRANT SELECT ON `shop`.`audit` TO 'app'@'10.0.0.5';",
            "GRANT SELECT ON `shop`.`customers` TO 'app'@'10.0.0.5';",
            "GRANT SELECT, UPDATE ON `shop`.`orders` TO 'app'@'10.0.0.5';",
        ],
        "{sql}"
    );
}

#[test]
fn require_ssl_only_when_every_session_used_tls() {
    let mut events = mysql_app();
    events.push(
        ev(MySql, "app", "10.0.0.5", Connect)
            .db("shop")
            .tls(Some(false)),
    );
    let (sql, md) = outputs_of(&usage(&events), &Context::default());
    assert!(statements(&section(&sql, "app"))[0].ends_with("IDENTIFIED BY 'CHANGE_ME';"));
    assert!(md.contains("some sessions did not use TLS"));
    // A log that does not record TLS (MariaDB's server_audit): not required, and said so.
    let mut events = mysql_app();
    events[0].tls = None;
    let (sql, md) = outputs_of(&usage(&events), &Context::default());
    let s = section(&sql, "app");
    assert!(statements(&s)[0].ends_with("IDENTIFIED BY 'CHANGE_ME';"));
    assert!(s.iter().any(|l| l.contains("does not record TLS")));
    assert!(md.contains("the log does not record TLS"));
    // The account requires TLS now (--grants): so did every session.
    let held = grants::HeldGrants::parse("GRANT USAGE ON *.* TO 'app'@'%' REQUIRE SSL\n");
    let m = usage(&events).model(&Context::default());
    let sql = render::sql(&m, Some(&held));
    assert!(
        statements(&section(&sql, "app"))[0].ends_with("IDENTIFIED BY 'CHANGE_ME' REQUIRE SSL;"),
        "{sql}"
    );
    assert!(render::markdown(&m, Some(&held)).contains("the account requires it now"));
}

#[test]
fn few_sources_get_an_account_each_and_many_their_24() {
    let hosts = ["10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.2.1", "10.0.2.9"];
    let mut events = Vec::new();
    for h in hosts {
        events.push(ev(MySql, "web", h, Connect).db("shop").tls(Some(true)));
    }
    events.push(
        ev(MySql, "web", "10.0.1.1", Query)
            .db("shop")
            .text("SELECT 1 FROM t"),
    );
    let (sql, _) = outputs_of(&usage(&events), &Context::default());
    let creates: Vec<&str> = statements(&section(&sql, "web"))
        .into_iter()
        .filter(|l| l.starts_with("CREATE USER"))
        .collect();
    assert_eq!(
        creates,
        vec![
            "CREATE USER 'web'@'10.0.1.%' IDENTIFIED BY 'CHANGE_ME' REQUIRE SSL;",
            "CREATE USER 'web'@'10.0.2.%' IDENTIFIED BY 'CHANGE_ME' REQUIRE SSL;"
        ]
    );
    let (sql, _) = outputs_of(&usage(&events[..2]), &Context::default());
    assert_eq!(
        statements(&section(&sql, "web")),
        vec![
            "CREATE USER 'web'@'10.0.1.1' IDENTIFIED BY 'CHANGE_ME' REQUIRE SSL;",
            "CREATE USER 'web'@'10.0.1.2' IDENTIFIED BY 'CHANGE_ME' REQUIRE SSL;"
        ]
    );
}

#[test]
fn postgres_sections_grant_connect_schema_tables_and_the_sequences_of_defaulted_columns() {
    let events = vec![
        ev(Postgres, "app", "10.0.0.5", Connect)
            .db("shop")
            .tls(Some(true)),
        ev(Postgres, "app", "10.0.0.5", Query)
            .db("shop")
            .text("INSERT INTO orders (customer_id, amount) VALUES (1, 2.50)"),
        ev(Postgres, "app", "10.0.0.5", Query)
            .db("shop")
            .text("SELECT o.id FROM sales.orders o JOIN Customers c ON c.id = o.customer_id"),
        ev(Postgres, "app", "10.0.0.5", Query)
            .db("shop")
            .text("SELECT nextval('invoice_no')"),
    ];
    let (sql, md) = outputs_of(&usage(&events), &Context::default());
    let s = section(&sql, "app");
    assert!(
        s.contains(&"--   hostssl shop app 10.0.0.5/32 scram-sha-256"),
        "{sql}"
    );
    let st = statements(&s);
    assert_eq!(
        &st[..8],
        &[
            "CREATE ROLE \"app\" LOGIN PASSWORD 'CHANGE_ME';",
            "GRANT CONNECT ON DATABASE \"shop\" TO \"app\";",
            "\\connect \"shop\"",
            "GRANT USAGE ON SCHEMA \"public\" TO \"app\";",
            "GRANT USAGE ON SCHEMA \"sales\" TO \"app\";",
            "GRANT SELECT ON TABLE \"public\".\"customers\" TO \"app\";",
            "GRANT INSERT ON TABLE \"public\".\"orders\" TO \"app\";",
            "GRANT SELECT ON TABLE \"sales\".\"orders\" TO \"app\";",
        ],
        "{sql}"
    );
    assert!(st.contains(&"GRANT USAGE ON SEQUENCE \"public\".\"invoice_no\" TO \"app\";"));
    let block = sql.split("DO $grant$").nth(1).expect("a sequence grant");
    assert!(block.contains("'\"public\".\"orders\"'::regclass"));
    assert!(block.contains("a.attname <> ALL (ARRAY['amount', 'customer_id']::name[])"));
    assert!(md.contains("every session used TLS"));
}

#[test]
fn postgres_ddl_that_needs_ownership_is_reported_not_granted() {
    let events = vec![
        ev(Postgres, "ops", "10.0.0.7", Connect)
            .db("shop")
            .tls(Some(false)),
        ev(Postgres, "ops", "10.0.0.7", Query)
            .db("shop")
            .text("DROP TABLE tmp"),
        ev(Postgres, "ops", "10.0.0.7", Query)
            .db("shop")
            .text("TRUNCATE audit_tmp"),
    ];
    let (sql, md) = outputs_of(&usage(&events), &Context::default());
    let s = section(&sql, "ops");
    assert!(
        s.contains(&"--   host shop ops 10.0.0.7/32 scram-sha-256"),
        "{sql}"
    );
    assert!(s.contains(&"GRANT TRUNCATE ON TABLE \"public\".\"audit_tmp\" TO \"ops\";"));
    assert!(!sql.contains("\"tmp\""));
    assert!(md.contains("only the owner may"));
}

#[test]
fn the_master_user_is_called_out_and_not_recreated() {
    let events = vec![
        ev(MySql, "admin", "10.0.0.9", Connect).db("shop"),
        ev(MySql, "admin", "10.0.0.9", Query)
            .db("shop")
            .text("DROP TABLE old"),
        ev(MySql, "admin", "10.1.2.3", Connect).db("shop"),
        ev(MySql, "admin", "10.1.2.3", Query)
            .db("shop")
            .text("SELECT id FROM orders"),
    ];
    let ctx = Context {
        master_users: vec!["admin".into()],
        admin_hosts: vec!["10.0.0.9/32".parse().unwrap()],
    };
    let (sql, md) = outputs_of(&usage(&events), &ctx);
    let s = section(&sql, "admin");
    assert!(s.iter().all(|l| l.starts_with("--")), "{sql}");
    assert!(s.contains(&"-- GRANT SELECT ON `shop`.`orders` TO 'admin_app'@'10.1.2.3';"));
    // What it did from the admin host is not part of the application's account.
    assert!(!sql.contains("`old`"), "{sql}");
    let callout = md
        .lines()
        .find(|l| l.starts_with("- **admin**"))
        .expect("a callout");
    assert!(
        callout.contains("10.1.2.3") && !callout.contains("10.0.0.9"),
        "{callout}"
    );
}

#[test]
fn hostile_names_cannot_leave_their_comment_or_literal() {
    let events = vec![
        ev(
            MySql,
            "x'\n-- user: root\nDROP DATABASE shop; -- ",
            "10.0.0.5",
            Connect,
        )
        .db("shop"),
        ev(
            MySql,
            "x'\n-- user: root\nDROP DATABASE shop; -- ",
            "10.0.0.5",
            Query,
        )
        .db("sh`op")
        .text("SELECT a FROM `t``1`"),
    ];
    let (sql, md) = outputs_of(&usage(&events), &Context::default());
    assert_eq!(sql.matches("\n-- user: ").count(), 1, "{sql}");
    for l in sql
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("--"))
    {
        assert!(
            l.starts_with("CREATE USER") || l.starts_with("GRANT"),
            "{l}"
        );
    }
    // A name with control characters gets no runnable statement: the section is commented
    // out with the characters shown as escapes.
    assert!(sql.contains("-- GRANT SELECT ON `sh``op`.`t``1` TO 'x''\\\\n-- user: root\\\\nDROP DATABASE shop; -- '@'10.0.0.5';"), "{sql}");
    assert!(!md
        .lines()
        .any(|l| l.starts_with("DROP") || l.starts_with("-- user")));
}

#[test]
fn users_seen_only_in_failed_logins_get_no_account() {
    let events = vec![
        ev(MySql, "ghost", "10.0.0.200", FailedConnect).rc(1045),
        ev(MySql, "ghost", "10.0.0.200", FailedConnect).rc(1045),
    ];
    let (sql, md) = outputs_of(&usage(&events), &Context::default());
    assert!(!sql.contains("ghost"));
    assert!(md.contains("## Users seen only in failed logins") && md.contains("ghost"));
}

#[test]
fn any_split_merged_in_order_gives_the_same_outputs() {
    let mut events = mysql_app();
    events.extend([
        ev(Postgres, "app", "10.0.0.5", Connect)
            .db("shop")
            .tls(Some(true)),
        ev(Postgres, "app", "10.0.0.5", Query)
            .db("shop")
            .text("INSERT INTO orders (customer_id) VALUES (1)"),
        ev(MySql, "app", "10.0.0.6", Connect)
            .db("shop")
            .tls(Some(true)),
        ev(MySql, "app", "10.0.0.6", Query)
            .db("shop")
            .text("SELECT name FROM customers WHERE id = 99"),
    ]);
    let whole = outputs_of(&usage(&events), &Context::default());
    for k in 0..=events.len() {
        let mut a = Usage::default();
        let mut b = Usage::default();
        for (i, e) in events.iter().enumerate() {
            let row = Row {
                time_us: T0 + i as i64 * 1_000_000,
                engine: e.engine,
                server: b"db-1",
                user: e.user.as_bytes(),
                client_host: e.host.as_bytes(),
                client_ip: e.host.parse().ok(),
                operation: e.op,
                database: e.db.as_bytes(),
                object: e.object,
                retcode: e.retcode,
                tls: e.tls,
            };
            if i < k {
                a.observe(&row)
            } else {
                b.observe(&row)
            }
        }
        a.merge(b);
        assert_eq!(outputs_of(&a, &Context::default()), whole, "split at {k}");
    }
}

#[test]
fn held_grants_wider_than_used_are_listed() {
    let held = grants::HeldGrants::parse(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON `shop`.* TO `app`@`%`\n\
         GRANT ALL PRIVILEGES ON `billing`.* TO `app`@`%` WITH GRANT OPTION\n",
    );
    let m = usage(&mysql_app()).model(&Context::default());
    let md = render::markdown(&m, Some(&held));
    let part = md
        .split("Held but never used:")
        .nth(1)
        .expect("a held list");
    assert!(
        part.contains("on shop.\\* \\(grants file line 1\\): never used: INSERT, DELETE; wider than used: SELECT \\(used only on shop.audit, shop.customers, shop.orders\\); UPDATE \\(used only on shop.orders\\)"),
        "{part}"
    );
    assert!(
        part.contains("on billing.\\* \\(grants file line 2\\): never used: ALL PRIVILEGES"),
        "{part}"
    );
    assert!(part.contains("WITH GRANT OPTION"), "{part}");
}
