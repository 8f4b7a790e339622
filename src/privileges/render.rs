//! `privileges.sql` and `privileges.md` from a [`Model`].
//!
//! `privileges.sql`: per user a section that starts with the line `-- user: NAME`, runnable
//! with the engine's own client (`mariadb`/`mysql`, or `psql`: PostgreSQL sections switch
//! database with `\connect`). The password is the literal `CHANGE_ME`. Grants are the
//! narrowest that cover what was observed: table level wherever the log names the table,
//! database level only where it cannot, never `ALL`, never `WITH GRANT OPTION`, a global
//! privilege only when a statement used one. A master user's section is commented out whole:
//! it is not recreated; where applications used it, the section suggests (commented) a
//! dedicated user for their sources.
//!
//! Log content (user names, statements) reaches comments only through [`comment`] (control
//! characters shown as escapes, so a name cannot end the comment line) and statements only
//! as quoted literals or identifiers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::grants::{Held, HeldGrants};
use super::sql::{InsertColumns, TablePriv};
use super::{Engine, Model, Needed, Object, UserModel};

/// The literal password of every suggested account.
pub const PASSWORD: &str = "CHANGE_ME";

/// The most distinct sources given one MySQL-family account each; more are grouped by /24.
const MAX_EXACT_HOSTS: usize = 4;

/// Text for a comment or a Markdown line: control characters as escapes.
pub fn comment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn my_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

fn my_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

fn pg_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn pg_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn privs(set: &BTreeSet<TablePriv>) -> String {
    set.iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The MySQL-family host patterns for a user's sources: each address when there are few,
/// else their /24 (`10.0.3.%`); names and `localhost` as written.
pub fn host_patterns(sources: &[String]) -> Vec<String> {
    if sources.len() <= MAX_EXACT_HOSTS {
        return sources.to_vec();
    }
    let mut out = BTreeSet::new();
    for s in sources {
        match s.parse::<std::net::Ipv4Addr>() {
            Ok(ip) => {
                let o = ip.octets();
                out.insert(format!("{}.{}.{}.%", o[0], o[1], o[2]));
            }
            Err(_) => {
                out.insert(s.clone());
            }
        }
    }
    out.into_iter().collect()
}

/// Whether every session of the user used TLS: as the log says (`Some(true)` all,
/// `Some(false)` some did not, `None` it does not record TLS for some), else, for a
/// MySQL-family account that requires TLS now (`--grants`), `Some(true)`: it could not have
/// logged in without. The second value says the grants decided it.
pub fn tls_of(u: &UserModel, held: Option<&HeldGrants>) -> (Option<bool>, bool) {
    match always_tls(u) {
        None if held.is_some_and(|h| h.requires_tls(u.engine, &u.user)) => (Some(true), true),
        t => (t, false),
    }
}

/// Whether every session of the user used TLS, as far as the log says: `Some(true)` all,
/// `Some(false)` some did not, `None` the log does not record TLS for some.
pub fn always_tls(u: &UserModel) -> Option<bool> {
    let s = &u.usage.sources;
    if s.values().any(|x| x.plain > 0) {
        return Some(false);
    }
    if s.is_empty() || s.values().any(|x| x.unknown > 0) {
        return None;
    }
    Some(true)
}

fn sources_of(u: &UserModel) -> Vec<String> {
    let mut v: BTreeSet<String> = u.usage.sources.keys().cloned().collect();
    if v.is_empty() {
        // Statements without a login seen (the log began mid-session): their sources.
        v.extend(
            u.usage
                .shapes
                .values()
                .flat_map(|s| s.sources.iter().cloned()),
        );
    }
    v.into_iter().collect()
}

/// `privileges.sql`; `held`, the grants file, can tell TLS where the log cannot.
pub fn sql(model: &Model, held: Option<&HeldGrants>) -> String {
    let mut out = String::new();
    out.push_str(
        "-- privileges.sql: least-privilege accounts from what each database user did (forensics).\n\
         -- One section per user, starting with `-- user: NAME`. Passwords are the literal CHANGE_ME:\n\
         -- set real ones. MySQL-family sections run with the mariadb/mysql client, PostgreSQL\n\
         -- sections with psql (they switch database with \\connect). See privileges.md.\n",
    );
    for u in model.users.iter().filter(|u| u.did_something()) {
        out.push('\n');
        let _ = writeln!(out, "-- user: {}", comment(&u.user));
        let _ = writeln!(out, "-- engine: {}", u.engine.label());
        if u.master {
            out.push_str("-- The master user: not recreated here. Keep it for administration from the admin hosts.\n");
            match &u.application_use {
                Some((sources, needed)) => {
                    let _ = writeln!(
                        out,
                        "-- Used outside the admin hosts from {}: move applications to a dedicated user, for example:",
                        comment(&sources.join(", "))
                    );
                    let name = format!("{}_app", u.user);
                    let body = section(u.engine, &name, sources, None, needed);
                    for line in body.lines() {
                        let _ = writeln!(out, "-- {line}");
                    }
                }
                None => out.push_str("-- No use outside the admin hosts was seen.\n"),
            }
            continue;
        }
        let sources = sources_of(u);
        let (tls, from_grants) = tls_of(u, held);
        if from_grants {
            out.push_str("-- The log does not record TLS, but the account requires it now (--grants): every session used TLS.\n");
        }
        if has_control(&u.user) || names_have_control(&u.needed) {
            // A literal or identifier holding a line break would put a fake section line
            // into this file: such names get the statements commented out, escaped.
            out.push_str("-- A name here holds control characters: create this account by hand.\n");
            let body = section(
                u.engine,
                &comment(&u.user),
                &sources,
                tls,
                &escaped_names(&u.needed),
            );
            for line in body.lines() {
                let _ = writeln!(out, "-- {line}");
            }
            continue;
        }
        out.push_str(&section(u.engine, &u.user, &sources, tls, &u.needed));
    }
    out
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn object_has_control(o: &Object) -> bool {
    has_control(&o.database) || o.schema.as_deref().is_some_and(has_control) || has_control(&o.name)
}

fn names_have_control(n: &Needed) -> bool {
    n.tables.keys().any(object_has_control)
        || n.sequences.keys().any(object_has_control)
        || n.insert_columns.keys().any(object_has_control)
        || n.schemas
            .iter()
            .any(|(d, s)| has_control(d) || has_control(s))
        || n.databases.iter().any(|d| has_control(d))
        || n.database_level.keys().any(|d| has_control(d))
}

/// `n` with every name passed through [`comment`].
fn escaped_names(n: &Needed) -> Needed {
    let o = |o: &Object| Object {
        database: comment(&o.database),
        schema: o.schema.as_deref().map(comment),
        name: comment(&o.name),
    };
    Needed {
        tables: n.tables.iter().map(|(k, v)| (o(k), v.clone())).collect(),
        sequences: n.sequences.iter().map(|(k, v)| (o(k), *v)).collect(),
        insert_columns: n
            .insert_columns
            .iter()
            .map(|(k, v)| (o(k), v.clone()))
            .collect(),
        schemas: n
            .schemas
            .iter()
            .map(|(d, s)| (comment(d), comment(s)))
            .collect(),
        databases: n.databases.iter().map(|d| comment(d)).collect(),
        database_level: n
            .database_level
            .iter()
            .map(|(d, v)| (comment(d), v.clone()))
            .collect(),
        global: n.global.clone(),
        global_examples: n.global_examples.clone(),
        ..Needed::default()
    }
}

/// The runnable statements of one account.
fn section(
    engine: Engine,
    user: &str,
    sources: &[String],
    tls: Option<bool>,
    n: &Needed,
) -> String {
    match engine {
        Engine::MySql => mysql_section(user, sources, tls, n),
        Engine::Postgres => pg_section(user, sources, tls, n),
    }
}

fn mysql_section(user: &str, sources: &[String], tls: Option<bool>, n: &Needed) -> String {
    let mut out = String::new();
    let hosts = host_patterns(sources);
    let hosts = if hosts.is_empty() {
        out.push_str("-- No login was seen: the host is a guess to narrow.\n");
        vec!["%".to_string()]
    } else {
        hosts
    };
    match tls {
        Some(true) => out.push_str("-- Every session used TLS: REQUIRE SSL.\n"),
        Some(false) => out.push_str("-- Some sessions did not use TLS: no REQUIRE SSL (see privileges.md).\n"),
        None => out.push_str("-- The log does not record TLS for every session: no REQUIRE SSL; add it if the clients use TLS.\n"),
    }
    for host in &hosts {
        let account = format!("{}@{}", my_str(user), my_str(host));
        let _ = writeln!(
            out,
            "CREATE USER {account} IDENTIFIED BY {}{};",
            my_str(PASSWORD),
            if tls == Some(true) {
                " REQUIRE SSL"
            } else {
                ""
            }
        );
        for g in &n.global {
            let _ = writeln!(
                out,
                "-- {g}: a global privilege a statement used (e.g. {}); it reaches the server's files: \
                 keep it only if this is the application's own use",
                comment(&cut(n.global_examples.get(*g).map_or("", |s| s.as_str()), 120))
            );
            let _ = writeln!(out, "GRANT {g} ON *.* TO {account};");
        }
        for (db, (p, example)) in &n.database_level {
            let _ = writeln!(
                out,
                "-- database level: the log does not name the tables of: {}",
                comment(&cut(example, 160))
            );
            let _ = writeln!(
                out,
                "GRANT {} ON {}.* TO {account};",
                privs(p),
                my_ident(db)
            );
        }
        for (o, p) in &n.tables {
            let _ = writeln!(
                out,
                "GRANT {} ON {}.{} TO {account};",
                privs(p),
                my_ident(&o.database),
                my_ident(&o.name)
            );
        }
    }
    out
}

fn pg_section(user: &str, sources: &[String], tls: Option<bool>, n: &Needed) -> String {
    let mut out = String::new();
    let role = pg_ident(user);
    let mut dbs: BTreeSet<String> = n.databases.clone();
    dbs.extend(n.tables.keys().map(|o| o.database.clone()));
    dbs.extend(n.schemas.iter().map(|(d, _)| d.clone()));
    let hba_type = match tls {
        Some(true) => "hostssl",
        _ => "host",
    };
    match tls {
        Some(true) => out.push_str("-- pg_hba.conf (every session used TLS: hostssl only):\n"),
        Some(false) => out.push_str(
            "-- pg_hba.conf (some sessions did not use TLS: host; prefer hostssl once they do):\n",
        ),
        None => {
            out.push_str("-- pg_hba.conf (the log does not say whether every session used TLS):\n")
        }
    }
    let db_list = if dbs.is_empty() {
        "all".to_string()
    } else {
        dbs.iter()
            .map(|d| hba_word(d))
            .collect::<Vec<_>>()
            .join(",")
    };
    for s in sources {
        let addr = match s.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(a)) => format!("{a}/32"),
            Ok(std::net::IpAddr::V6(a)) => format!("{a}/128"),
            Err(_) if s == "[local]" || s == "localhost" => {
                let _ = writeln!(out, "--   local {db_list} {} scram-sha-256", hba_word(user));
                continue;
            }
            Err(_) => comment(s),
        };
        let _ = writeln!(
            out,
            "--   {hba_type} {db_list} {} {addr} scram-sha-256",
            hba_word(user)
        );
    }
    let _ = writeln!(
        out,
        "CREATE ROLE {role} LOGIN PASSWORD {};",
        pg_str(PASSWORD)
    );
    for d in &dbs {
        let _ = writeln!(out, "GRANT CONNECT ON DATABASE {} TO {role};", pg_ident(d));
    }
    for d in &dbs {
        let tables: Vec<(&Object, &BTreeSet<TablePriv>)> =
            n.tables.iter().filter(|(o, _)| &o.database == d).collect();
        let schemas: Vec<&String> = n
            .schemas
            .iter()
            .filter(|(db, _)| db == d)
            .map(|(_, s)| s)
            .collect();
        let seqs: Vec<(&Object, &bool)> = n
            .sequences
            .iter()
            .filter(|(o, _)| &o.database == d)
            .collect();
        let inserts: Vec<(&Object, &BTreeSet<InsertColumns>)> = n
            .insert_columns
            .iter()
            .filter(|(o, _)| &o.database == d)
            .collect();
        let creates_in: BTreeSet<&str> = n
            .beyond
            .keys()
            .filter_map(|k| k.strip_prefix("CREATE TABLE in schema "))
            .filter_map(|k| k.split(':').next())
            .collect();
        let level = n.database_level.get(d);
        if tables.is_empty() && schemas.is_empty() && seqs.is_empty() && level.is_none() {
            continue;
        }
        if d.chars().any(|c| c.is_control()) {
            let _ = writeln!(
                out,
                "-- database {} has a name psql cannot \\connect to",
                comment(d)
            );
            continue;
        }
        let _ = writeln!(out, "\\connect {}", pg_ident(d));
        for s in &schemas {
            let _ = writeln!(out, "GRANT USAGE ON SCHEMA {} TO {role};", pg_ident(s));
            if creates_in.contains(s.as_str()) {
                let _ = writeln!(out, "GRANT CREATE ON SCHEMA {} TO {role};", pg_ident(s));
            }
        }
        if let Some((p, example)) = level {
            let _ = writeln!(
                out,
                "-- schema level: the log does not name the tables of: {}",
                comment(&cut(example, 160))
            );
            let _ = writeln!(
                out,
                "GRANT {} ON ALL TABLES IN SCHEMA \"public\" TO {role};",
                privs(p)
            );
        }
        for (o, p) in &tables {
            let _ = writeln!(
                out,
                "GRANT {} ON TABLE {}.{} TO {role};",
                privs(p),
                pg_ident(o.schema.as_deref().unwrap_or("public")),
                pg_ident(&o.name)
            );
        }
        for (o, update) in &seqs {
            let _ = writeln!(
                out,
                "GRANT {} ON SEQUENCE {}.{} TO {role};",
                if **update { "USAGE, UPDATE" } else { "USAGE" },
                pg_ident(o.schema.as_deref().unwrap_or("public")),
                pg_ident(&o.name)
            );
        }
        for (o, cols) in &inserts {
            out.push_str(&sequence_grant(o, cols, user));
        }
    }
    out
}

/// A `pg_hba.conf` word: quoted when it is not a plain name.
fn hba_word(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        s.to_string()
    } else {
        format!("\"{}\"", comment(s).replace('"', "\"\""))
    }
}

/// The grant of USAGE on the sequences that the columns an INSERT left to their defaults
/// draw from (`serial`, `DEFAULT nextval(…)`): which columns were left out comes from the
/// statements; which sequence a default draws from, from the catalog when this runs (the
/// default's dependency on the sequence, `pg_attrdef` → `pg_depend`), so the grant names
/// exactly those sequences and nothing else. Identity columns need no grant.
fn sequence_grant(o: &Object, cols: &BTreeSet<InsertColumns>, user: &str) -> String {
    let table = format!(
        "{}.{}",
        pg_ident(o.schema.as_deref().unwrap_or("public")),
        pg_ident(&o.name)
    );
    let mut left_out = Vec::new();
    for c in cols {
        match c {
            InsertColumns::Named(names) => {
                let list = names.iter().map(|n| pg_str(n)).collect::<Vec<_>>().join(", ");
                left_out.push(if names.is_empty() {
                    "true".to_string()
                } else {
                    format!("a.attname <> ALL (ARRAY[{list}]::name[])")
                });
            }
            InsertColumns::Positional(Some(k)) => left_out.push(format!(
                "(SELECT count(*) FROM pg_attribute x WHERE x.attrelid = a.attrelid AND x.attnum > 0 \
                 AND NOT x.attisdropped AND x.attnum <= a.attnum) > {k}"
            )),
            InsertColumns::Positional(None) => {}
        }
    }
    if left_out.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "-- USAGE on the sequences behind the columns the INSERTs into {} leave to their defaults:",
        comment(&table)
    );
    let _ = writeln!(
        out,
        "DO $grant$\nDECLARE s regclass;\nBEGIN\n  FOR s IN\n    SELECT DISTINCT d.refobjid::regclass\n      FROM pg_attrdef ad\n      JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum\n      JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid\n                      AND d.refclassid = 'pg_class'::regclass\n      JOIN pg_class c ON c.oid = d.refobjid AND c.relkind = 'S'\n     WHERE ad.adrelid = {}::regclass AND NOT a.attisdropped\n       AND ({})\n  LOOP\n    EXECUTE format('GRANT USAGE ON SEQUENCE %s TO %I', s, {});\n  END LOOP;\nEND\n$grant$;",
        pg_str(&table),
        left_out.join("\n         OR "),
        pg_str(user)
    );
    out
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n).collect();
    t.push('…');
    t
}

/// Markdown text: control characters escaped and the characters Markdown acts on
/// backslash-escaped (log content cannot make a link, a table cell or HTML).
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in comment(s).chars() {
        if matches!(
            c,
            '\\' | '`'
                | '*'
                | '_'
                | '{'
                | '}'
                | '['
                | ']'
                | '<'
                | '>'
                | '('
                | ')'
                | '#'
                | '+'
                | '-'
                | '!'
                | '|'
                | '~'
                | '&'
                | '"'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn object_name(o: &Object) -> String {
    match &o.schema {
        Some(s) => format!("{}.{}.{}", o.database, s, o.name),
        None => format!("{}.{}", o.database, o.name),
    }
}

fn time(us: Option<i64>) -> String {
    us.and_then(chrono::DateTime::from_timestamp_micros)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

/// `privileges.md`.
pub fn markdown(model: &Model, held: Option<&HeldGrants>) -> String {
    let mut out = String::new();
    out.push_str("# Least privilege per database user\n\n");
    out.push_str(
        "What each user did, from the audit log, and the narrowest grants that cover it \
         (`privileges.sql`, one section per user). Passwords there are the literal `CHANGE_ME`.\n\n",
    );
    out.push_str(
        "How the grants are worked out: each distinct statement shape is parsed in its engine's \
         dialect; a relation read needs SELECT, INSERT/UPDATE/DELETE their privilege on the \
         target, and UPDATE or DELETE that read the table's columns (a WHERE clause, a SET \
         value naming a column, RETURNING) need SELECT as well. MySQL-family table events \
         (READ, WRITE, ... per `db.table`) add any table the statements did not name. In \
         PostgreSQL, unqualified names are placed in schema `public` (the default \
         `search_path`), every schema touched gets USAGE, every database CONNECT, and an \
         INSERT that leaves a column to its default gets USAGE on the sequence that default \
         draws from: the statements say which columns were left out, the catalog (when the \
         grant runs: the default's dependency on a sequence, `pg_attrdef` to `pg_depend`) \
         which sequence, so `serial` and `DEFAULT nextval(...)` columns are covered and \
         nothing else. Statements the server refused are not granted.\n\n",
    );
    let masters: Vec<&UserModel> = model
        .users
        .iter()
        .filter(|u| u.master && u.application_use.is_some())
        .collect();
    if !masters.is_empty() {
        out.push_str("## The master user in applications\n\n");
        for u in masters {
            if let Some((sources, _)) = &u.application_use {
                let _ = writeln!(
                    out,
                    "- **{}** ({}) was used from {}, outside the admin hosts: move the \
                     applications at these sources to a dedicated least-privilege user (a \
                     suggestion is in its section of `privileges.sql`, commented out).",
                    md(&u.user),
                    u.engine.label(),
                    sources.iter().map(|s| md(s)).collect::<Vec<_>>().join(", ")
                );
            }
        }
        out.push('\n');
    }
    if model.users.is_empty() {
        out.push_str("No user activity was found in the events.\n");
    }
    for u in model.users.iter().filter(|u| u.did_something()) {
        user_markdown(&mut out, u, held);
    }
    let failed_only: Vec<String> = model
        .users
        .iter()
        .filter(|u| !u.did_something())
        .map(|u| {
            format!(
                "{} ({}, {} failed)",
                md(&u.user),
                u.engine.label(),
                u.usage.failed_logins
            )
        })
        .collect();
    if !failed_only.is_empty() {
        let _ = writeln!(
            out,
            "## Users seen only in failed logins\n\nNo account suggested: {}.\n",
            failed_only.join(", ")
        );
    }
    out
}

fn user_markdown(out: &mut String, u: &UserModel, held: Option<&HeldGrants>) {
    let us = &u.usage;
    let _ = writeln!(out, "## {} ({})\n", md(&u.user), u.engine.label());
    if u.master {
        out.push_str("The master user (not recreated in `privileges.sql`).\n\n");
    }
    let statements: u64 = us.shapes.values().map(|s| s.count).sum::<u64>() + us.shapes_dropped;
    let _ = writeln!(
        out,
        "Observed from {} to {}: {} sessions, {} failed logins, {} statements of {} shapes{}.\n",
        time(us.first_us),
        time(us.last_us),
        us.sessions,
        us.failed_logins,
        statements,
        us.shapes.len(),
        if us.shapes_dropped > 0 {
            format!(
                " ({} statements past the {} shapes kept were not analysed)",
                us.shapes_dropped,
                super::MAX_SHAPES_PER_USER
            )
        } else {
            String::new()
        }
    );
    if !us.servers.is_empty() {
        let _ = writeln!(
            out,
            "Servers: {}. Databases: {}.\n",
            us.servers
                .iter()
                .map(|s| md(s))
                .collect::<Vec<_>>()
                .join(", "),
            us.databases
                .iter()
                .map(|s| md(s))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !us.sources.is_empty() {
        out.push_str("| source | sessions | TLS | no TLS | not recorded |\n| --- | ---: | ---: | ---: | ---: |\n");
        for (s, x) in &us.sources {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                md(s),
                x.sessions,
                x.tls,
                x.plain,
                x.unknown
            );
        }
        out.push('\n');
        let tls = match tls_of(u, held) {
            (Some(true), true) => {
                "the log does not record TLS, but the account requires it now (--grants), so every session used TLS"
            }
            (Some(true), false) => "every session used TLS",
            (Some(false), _) => "some sessions did not use TLS",
            (None, _) => {
                "the log does not record TLS for every session (MariaDB's server_audit does not)"
            }
        };
        let _ = writeln!(out, "TLS: {tls}.\n");
        let hours: Vec<String> = (0..24)
            .filter(|&h| us.hours[h] > 0)
            .map(|h| format!("{h:02}h ×{}", us.hours[h]))
            .collect();
        let _ = writeln!(out, "Login hours (UTC): {}.\n", hours.join(", "));
    }
    // Observed per object: statement verbs and table events.
    let mut observed: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (o, c) in &u.needed.statements_on {
        observed
            .entry(object_name(o))
            .or_default()
            .insert("statements".into(), *c);
    }
    for ((db, table, op), c) in &us.table_events {
        *observed
            .entry(format!("{db}.{table}"))
            .or_default()
            .entry(format!("table event {}", op.as_str()))
            .or_default() += c;
    }
    let n = &u.needed;
    if !n.tables.is_empty() || !observed.is_empty() {
        out.push_str("| object | observed | suggested |\n| --- | --- | --- |\n");
        let mut names: BTreeSet<String> = observed.keys().cloned().collect();
        let by_name: BTreeMap<String, &BTreeSet<TablePriv>> =
            n.tables.iter().map(|(o, p)| (object_name(o), p)).collect();
        names.extend(by_name.keys().cloned());
        for name in names {
            let obs = observed
                .get(&name)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k} ×{v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_else(|| "-".into());
            let sug = by_name
                .get(&name)
                .map(|p| privs(p))
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(out, "| {} | {} | {} |", md(&name), md(&obs), sug);
        }
        out.push('\n');
    }
    let mut shapes: Vec<_> = us.shapes.iter().collect();
    shapes.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    if !shapes.is_empty() {
        out.push_str("Statements (by shape, most frequent first):\n\n| count | refused | database | example |\n| ---: | ---: | --- | --- |\n");
        for ((db, _), s) in shapes.iter().take(50) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                s.count,
                s.failed,
                md(db),
                md(&cut(&s.example.1, 200))
            );
        }
        if shapes.len() > 50 {
            let _ = writeln!(out, "\n({} more shapes not listed.)", shapes.len() - 50);
        }
        out.push('\n');
    }
    if !n.beyond.is_empty() {
        out.push_str("Not covered by a table grant:\n\n");
        for (why, example) in &n.beyond {
            let _ = writeln!(out, "- {} (e.g. {})", md(why), md(&cut(example, 160)));
        }
        out.push('\n');
    }
    if !n.not_understood.is_empty() {
        out.push_str("Statements not understood (review by hand):\n\n");
        for (example, count) in n.not_understood.iter().take(20) {
            let _ = writeln!(out, "- ×{count}: {}", md(&cut(example, 200)));
        }
        out.push('\n');
    }
    if !n.unplaced.is_empty() {
        out.push_str("Names with no database to place them in (no current database):\n\n");
        for (name, example) in n.unplaced.iter().take(20) {
            let _ = writeln!(out, "- {}: {}", md(name), md(&cut(example, 160)));
        }
        out.push('\n');
    }
    if let Some(held) = held {
        unused_markdown(out, u, held);
    }
}

fn unused_markdown(out: &mut String, u: &UserModel, held: &HeldGrants) {
    let mine: Vec<&Held> = held.of(u.engine, &u.user);
    if mine.is_empty() {
        let _ = writeln!(
            out,
            "Held grants: none listed for this user in the grants file.\n"
        );
        return;
    }
    let mut unused = Vec::new();
    for h in &mine {
        if let Some(reason) = super::grants::unused(h, u) {
            unused.push(reason);
        }
    }
    if unused.is_empty() {
        out.push_str("Held but never used: nothing (every held privilege was used).\n\n");
    } else {
        out.push_str("Held but never used:\n\n");
        for r in unused {
            let _ = writeln!(out, "- {}", md(&r));
        }
        out.push('\n');
    }
}
