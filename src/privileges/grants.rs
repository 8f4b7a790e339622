//! `--grants FILE`: the privileges users hold now, as the engines print them, to tell what is
//! held but never used.
//!
//! Read from one text file holding any mix of:
//! - MySQL family: `SHOW GRANTS FOR …` output, bare (`GRANT SELECT ON `shop`.* TO `app`@`%``)
//!   or in the client's table borders (`| GRANT … |`);
//! - PostgreSQL: psql's `\dp` (access privileges per table and sequence; the database is
//!   the one named by a preceding `You are now connected to database "…"`, `\c NAME` or
//!   `-- database: NAME` line, else any), `\du` (role attributes), and a query of
//!   `information_schema.role_table_grants` printed by psql (the columns found by their
//!   header: `grantee`, `table_catalog`, `table_schema`, `table_name`, `privilege_type`).
//!
//! Lines that are none of these are skipped; nothing in the file is executed.

use super::sql::TablePriv;
use super::{Engine, UserModel};

/// Where a held privilege applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `*.*`
    Global,
    /// `db.*`
    Database(String),
    /// A table or sequence; `None` parts match any (a `\dp` without a database line).
    Object {
        database: Option<String>,
        schema: Option<String>,
        name: String,
    },
    /// A role attribute (`\du`: Superuser, Create role, …).
    Role,
    /// Something else (a procedure, a proxy grant): listed as held, never matched.
    Other(String),
}

/// One held privilege set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub engine: Engine,
    pub user: String,
    pub privileges: Vec<String>,
    pub scope: Scope,
    /// `WITH GRANT OPTION` (MySQL) or `*` (PostgreSQL ACL).
    pub grant_option: bool,
    /// The account requires TLS (`REQUIRE SSL`, `X509`, `ISSUER`, `SUBJECT`, `CIPHER`).
    pub require_tls: bool,
    /// The line of the file it was read from (1-based).
    pub line: usize,
}

/// Every held privilege read from a grants file.
#[derive(Clone, Debug, Default)]
pub struct HeldGrants {
    pub held: Vec<Held>,
}

impl HeldGrants {
    /// Whether an account of `user` (MySQL family) requires TLS now: then every session it
    /// had did use TLS, whatever the log records.
    pub fn requires_tls(&self, engine: Engine, user: &str) -> bool {
        engine == Engine::MySql && self.of(engine, user).iter().any(|h| h.require_tls)
    }

    pub fn of(&self, engine: Engine, user: &str) -> Vec<&Held> {
        self.held
            .iter()
            .filter(|h| h.engine == engine && h.user == user)
            .collect()
    }

    /// Reads the file's text (see the module documentation).
    pub fn parse(text: &str) -> HeldGrants {
        let mut held = Vec::new();
        let mut database: Option<String> = None;
        // `\dp` rows carry the schema and name only on a row's first line.
        let mut table: Option<(String, String)> = None;
        let mut mode = Mode::None;
        let mut header: Vec<String> = Vec::new();
        let mut role: Option<String> = None;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.trim();
            if let Some(db) = connected_to(line) {
                database = Some(db);
                continue;
            }
            // psql's aligned tables have no outer border: an empty first cell is a cell.
            let cells: Vec<&str> = raw.split('|').map(|c| c.trim()).collect();
            let lower = line.to_ascii_lowercase();
            if cells.len() >= 4 && cells[0] == "Schema" && lower.contains("access privileges") {
                mode = Mode::Dp;
                header = cells.iter().map(|c| c.to_ascii_lowercase()).collect();
                continue;
            }
            if cells.len() >= 2 && cells[0] == "Role name" {
                mode = Mode::Du;
                continue;
            }
            if lower.contains("privilege_type") && lower.contains("grantee") && cells.len() >= 3 {
                mode = Mode::RoleTableGrants;
                header = cells.iter().map(|c| c.to_ascii_lowercase()).collect();
                continue;
            }
            if line.starts_with("---") || line.starts_with('(') || line.is_empty() {
                if line.starts_with('(') || line.is_empty() {
                    mode = Mode::None;
                }
                continue;
            }
            let body = line.trim_matches('|').trim();
            if body.to_ascii_uppercase().starts_with("GRANT ") {
                if let Some(h) = mysql_grant(body, line_no) {
                    held.push(h);
                }
                continue;
            }
            match mode {
                Mode::Dp => {
                    let col = |name: &str| header.iter().position(|h| h == name);
                    let (Some(s), Some(n), Some(a)) =
                        (col("schema"), col("name"), col("access privileges"))
                    else {
                        continue;
                    };
                    let (Some(schema), Some(name), Some(acl)) =
                        (cells.get(s), cells.get(n), cells.get(a))
                    else {
                        continue;
                    };
                    if !schema.is_empty() || !name.is_empty() {
                        table = Some((schema.to_string(), name.to_string()));
                    }
                    let Some((schema, name)) = &table else {
                        continue;
                    };
                    let acl = acl.trim_end_matches('+').trim();
                    if let Some((grantee, privs, grant_option)) = acl_item(acl) {
                        held.push(Held {
                            engine: Engine::Postgres,
                            user: grantee,
                            privileges: privs,
                            scope: Scope::Object {
                                database: database.clone(),
                                schema: Some(schema.clone()),
                                name: name.clone(),
                            },
                            grant_option,
                            require_tls: false,
                            line: line_no,
                        });
                    }
                }
                Mode::Du => {
                    if cells.len() < 2 {
                        continue;
                    }
                    if !cells[0].is_empty() {
                        role = Some(cells[0].to_string());
                    }
                    let Some(r) = &role else { continue };
                    let attrs: Vec<String> = cells[1]
                        .trim_end_matches('+')
                        .split(',')
                        .map(|a| a.trim().to_string())
                        .filter(|a| !a.is_empty() && !a.starts_with("Password valid"))
                        .collect();
                    if !attrs.is_empty() {
                        held.push(Held {
                            engine: Engine::Postgres,
                            user: r.clone(),
                            privileges: attrs,
                            scope: Scope::Role,
                            grant_option: false,
                            require_tls: false,
                            line: line_no,
                        });
                    }
                }
                Mode::RoleTableGrants => {
                    let col = |name: &str| header.iter().position(|h| h == name);
                    let get =
                        |name: &str| col(name).and_then(|i| cells.get(i)).map(|s| s.to_string());
                    let (Some(grantee), Some(name), Some(p)) =
                        (get("grantee"), get("table_name"), get("privilege_type"))
                    else {
                        continue;
                    };
                    held.push(Held {
                        engine: Engine::Postgres,
                        user: grantee,
                        privileges: vec![p.to_ascii_uppercase()],
                        scope: Scope::Object {
                            database: get("table_catalog").or_else(|| database.clone()),
                            schema: get("table_schema"),
                            name,
                        },
                        grant_option: get("is_grantable").is_some_and(|g| g == "YES"),
                        require_tls: false,
                        line: line_no,
                    });
                }
                Mode::None => {}
            }
        }
        HeldGrants { held }
    }
}

#[derive(Clone, Copy)]
enum Mode {
    None,
    Dp,
    Du,
    RoleTableGrants,
}

fn connected_to(line: &str) -> Option<String> {
    if let Some(rest) = line.strip_prefix("You are now connected to database \"") {
        return rest.split('"').next().map(str::to_string);
    }
    for p in ["\\connect ", "\\c ", "-- database: "] {
        if let Some(rest) = line.strip_prefix(p) {
            let w = rest.split_whitespace().next()?;
            return Some(w.trim_matches('"').to_string());
        }
    }
    None
}

/// A PostgreSQL ACL item `grantee=privs/grantor` (grantee empty: PUBLIC).
fn acl_item(s: &str) -> Option<(String, Vec<String>, bool)> {
    let (grantee, rest) = s.split_once('=')?;
    let privs = rest.split('/').next()?;
    let grantee = grantee.trim_matches('"');
    let grantee = if grantee.is_empty() {
        "PUBLIC"
    } else {
        grantee
    };
    let mut out = Vec::new();
    let mut grant_option = false;
    for c in privs.chars() {
        let p = match c {
            'r' => "SELECT",
            'a' => "INSERT",
            'w' => "UPDATE",
            'd' => "DELETE",
            'D' => "TRUNCATE",
            'x' => "REFERENCES",
            't' => "TRIGGER",
            'U' => "USAGE",
            'C' => "CREATE",
            'c' => "CONNECT",
            'T' => "TEMPORARY",
            'X' => "EXECUTE",
            'm' => "MAINTAIN",
            's' => "SET",
            'A' => "ALTER SYSTEM",
            '*' => {
                grant_option = true;
                continue;
            }
            _ => continue,
        };
        out.push(p.to_string());
    }
    Some((grantee.to_string(), out, grant_option))
}

/// `GRANT p1, p2 (cols) ON scope TO user@host [REQUIRE …] [WITH GRANT OPTION]`.
fn mysql_grant(s: &str, line: usize) -> Option<Held> {
    let upper = s.to_ascii_uppercase();
    let on = find_word(&upper, " ON ")?;
    let to = on + find_word(&upper[on..], " TO ")?;
    let privs = split_top(&s[6..on]);
    let scope_text = s[on + 4..to].trim();
    let grantee = s[to + 4..].trim();
    let user = unquote(grantee.split('@').next()?.trim());
    let scope = match scope_text {
        "*.*" => Scope::Global,
        t => {
            let t = t.strip_prefix("TABLE ").unwrap_or(t);
            if t.to_ascii_uppercase().starts_with("PROCEDURE ")
                || t.to_ascii_uppercase().starts_with("FUNCTION ")
            {
                Scope::Other(t.to_string())
            } else {
                let (db, table) = split_dot(t);
                match table.as_deref() {
                    Some("*") => Scope::Database(db),
                    Some(name) => Scope::Object {
                        database: Some(db),
                        schema: None,
                        name: name.to_string(),
                    },
                    None => Scope::Other(t.to_string()),
                }
            }
        }
    };
    Some(Held {
        engine: Engine::MySql,
        user,
        privileges: privs,
        scope,
        grant_option: upper.contains("WITH GRANT OPTION"),
        require_tls: [
            "REQUIRE SSL",
            "REQUIRE X509",
            "REQUIRE ISSUER",
            "REQUIRE SUBJECT",
            "REQUIRE CIPHER",
        ]
        .iter()
        .any(|r| find_word(&upper, r).is_some()),
        line,
    })
}

fn find_word(s: &str, w: &str) -> Option<usize> {
    // Outside quotes only.
    let b = s.as_bytes();
    let mut q: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        match q {
            Some(c) if b[i] == c => q = None,
            Some(_) => {}
            None if matches!(b[i], b'`' | b'\'' | b'"') => q = Some(b[i]),
            None if s[i..].starts_with(w) => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

/// Privileges at parenthesis depth 0 (`SELECT (a, b), INSERT`), column lists dropped.
fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_ascii_uppercase());
                cur.clear();
            }
            c if depth == 0 => cur.push(c),
            _ => {}
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_ascii_uppercase());
    }
    out
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    for q in ['`', '\'', '"'] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.replace(&format!("{q}{q}"), &q.to_string());
        }
    }
    s.to_string()
}

/// `db.table` with either part quoted.
fn split_dot(s: &str) -> (String, Option<String>) {
    let b = s.as_bytes();
    let mut q: Option<u8> = None;
    for (i, &c) in b.iter().enumerate() {
        match q {
            Some(x) if c == x => q = None,
            Some(_) => {}
            None if matches!(c, b'`' | b'"' | b'\'') => q = Some(c),
            None if c == b'.' => {
                return (unquote(&s[..i]), Some(unquote(&s[i + 1..])));
            }
            None => {}
        }
    }
    (unquote(s), None)
}

/// Why a held privilege set is more than the user used, or `None` when all of it was used.
pub fn unused(h: &Held, u: &UserModel) -> Option<String> {
    let n = &u.needed;
    let mut unused = Vec::new();
    let mut wider = Vec::new();
    let used_on = |p: TablePriv, matches: &dyn Fn(&super::Object) -> bool| -> Vec<String> {
        n.tables
            .iter()
            .filter(|(o, set)| set.contains(&p) && matches(o))
            .map(|(o, _)| match &o.schema {
                Some(s) => format!("{}.{}", s, o.name),
                None => format!("{}.{}", o.database, o.name),
            })
            .collect()
    };
    let place = match &h.scope {
        Scope::Global => "*.*".to_string(),
        Scope::Database(d) => format!("{d}.*"),
        Scope::Object {
            database,
            schema,
            name,
        } => [database.as_deref(), schema.as_deref(), Some(name)]
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>()
            .join("."),
        Scope::Role => "the role".to_string(),
        Scope::Other(t) => t.clone(),
    };
    for p in &h.privileges {
        if p == "USAGE" && h.engine == Engine::MySql {
            continue;
        }
        if matches!(h.scope, Scope::Role) {
            // Role attributes: only administration needs them.
            let admin = n.beyond.keys().any(|k| k.contains("administration"));
            if !admin {
                unused.push(p.clone());
            }
            continue;
        }
        if p.starts_with("ALL") {
            unused.push(format!(
                "{p} (everything; the user needed only what privileges.sql grants)"
            ));
            continue;
        }
        let Some(tp) = TablePriv::parse(p) else {
            let used_global = n.global.iter().any(|g| g.eq_ignore_ascii_case(p));
            let pg_used = h.engine == Engine::Postgres
                && match (p.as_str(), &h.scope) {
                    ("CONNECT", Scope::Object { name, .. }) => n.databases.contains(name),
                    // A sequence named in a statement, or (by PostgreSQL's naming of
                    // `serial` sequences, `TABLE_COLUMN_seq`) one of a table the user
                    // inserted into.
                    ("USAGE", Scope::Object { name, .. }) => {
                        n.sequences.keys().any(|o| &o.name == name)
                            || n.insert_columns.keys().any(|o| {
                                name.starts_with(&format!("{}_", o.name)) && name.ends_with("_seq")
                            })
                    }
                    _ => false,
                };
            if !used_global && !pg_used {
                unused.push(p.clone());
            }
            continue;
        };
        let used = match &h.scope {
            Scope::Global => used_on(tp, &|_| true),
            Scope::Database(d) => used_on(tp, &|o| &o.database == d),
            Scope::Object {
                database,
                schema,
                name,
            } => used_on(tp, &|o| {
                &o.name == name
                    && database.as_ref().is_none_or(|d| d == &o.database)
                    && (schema.is_none() || o.schema.is_none() || schema == &o.schema)
            }),
            _ => Vec::new(),
        };
        match (&h.scope, used.is_empty()) {
            (_, true) => unused.push(p.clone()),
            (Scope::Global | Scope::Database(_), false) => {
                wider.push(format!("{p} (used only on {})", used.join(", ")))
            }
            _ => {}
        }
    }
    if h.grant_option {
        unused.push("WITH GRANT OPTION".into());
    }
    if unused.is_empty() && wider.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if !unused.is_empty() {
        parts.push(format!("never used: {}", unused.join(", ")));
    }
    if !wider.is_empty() {
        parts.push(format!("wider than used: {}", wider.join("; ")));
    }
    Some(format!(
        "on {place} (grants file line {}): {}",
        h.line,
        parts.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_grants_lines_bare_and_in_table_borders() {
        let text = "+----------------------------------------------+\n\
| Grants for app@%                               |\n\
+----------------------------------------------+\n\
| GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*ABC' |\n\
| GRANT SELECT, INSERT, UPDATE, DELETE ON `shop`.* TO `app`@`%` |\n\
GRANT SELECT (id, name), INSERT ON `billing`.`invoices` TO 'app'@'10.0.%' WITH GRANT OPTION\n\
GRANT `reader` TO `app`@`%`\n";
        let g = HeldGrants::parse(text);
        assert_eq!(g.held.len(), 3, "{g:?}");
        assert_eq!(g.held[0].scope, Scope::Global);
        assert_eq!(g.held[1].scope, Scope::Database("shop".into()));
        assert_eq!(
            g.held[1].privileges,
            vec!["SELECT", "INSERT", "UPDATE", "DELETE"]
        );
        assert_eq!(
            g.held[2].scope,
            Scope::Object {
                database: Some("billing".into()),
                schema: None,
                name: "invoices".into()
            }
        );
        assert_eq!(g.held[2].privileges, vec!["SELECT", "INSERT"]);
        assert!(g.held[2].grant_option);
        assert_eq!(g.held[2].user, "app");
        assert!(!g.requires_tls(Engine::MySql, "app"));
        let g = HeldGrants::parse(
            "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*A' REQUIRE SSL\n",
        );
        assert!(g.requires_tls(Engine::MySql, "app"));
        assert!(!g.requires_tls(Engine::MySql, "job"));
    }

    #[test]
    fn psql_dp_du_and_role_table_grants() {
        let text = r#"You are now connected to database "shop" as user "admin".
                                   Access privileges
 Schema |      Name      |   Type   |   Access privileges   | Column privileges | Policies
--------+----------------+----------+-----------------------+-------------------+----------
 public | customers      | table    | admin=arwdDxt/admin  +|                   |
        |                |          | app=arwd/admin       +|                   |
        |                |          | job=r/admin           |                   |
 public | orders_id_seq  | sequence | admin=rwU/admin      +|                   |
        |                |          | app=U/admin           |                   |
(2 rows)

                                   List of roles
 Role name |                         Attributes                         | Member of
-----------+------------------------------------------------------------+-----------
 admin     | Superuser                                                  | {}
 app       |                                                            | {}

 grantee | table_catalog | table_schema | table_name | privilege_type
---------+---------------+--------------+------------+----------------
 app     | billing       | public       | invoices   | SELECT
(1 row)
"#;
        let g = HeldGrants::parse(text);
        let app: Vec<_> = g.of(Engine::Postgres, "app");
        assert_eq!(app.len(), 3, "{g:#?}");
        assert_eq!(
            app[0].privileges,
            vec!["INSERT", "SELECT", "UPDATE", "DELETE"]
        );
        assert_eq!(
            app[0].scope,
            Scope::Object {
                database: Some("shop".into()),
                schema: Some("public".into()),
                name: "customers".into()
            }
        );
        assert_eq!(app[1].privileges, vec!["USAGE"]);
        assert_eq!(
            app[2].scope,
            Scope::Object {
                database: Some("billing".into()),
                schema: Some("public".into()),
                name: "invoices".into()
            }
        );
        let admin = g.of(Engine::Postgres, "admin");
        assert!(admin
            .iter()
            .any(|h| h.scope == Scope::Role && h.privileges == vec!["Superuser"]));
        assert_eq!(g.of(Engine::Postgres, "job")[0].privileges, vec!["SELECT"]);
    }
}
