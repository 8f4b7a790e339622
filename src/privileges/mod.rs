//! Least privilege from what each database user really did (`forensics privileges DIR`, and
//! `scan --privileges`).
//!
//! One model, fed two ways with the same rows ([`Row`]): during a scan, the workers observe
//! their chunk's events into a [`Usage`] (off by default: nothing is done per event without
//! `--privileges`), merged in input order like the passes' state; from a scan's output folder,
//! [`read::usage_of_events`] reads `events/` back and observes the same rows. Per user it keeps
//! aggregates only: sessions and TLS use per source, login hours, databases, the MySQL-family
//! table events (`READ`/`WRITE`/… per `db.table`), and each distinct statement *shape*
//! ([`sql::fingerprint`]) with its count and sources. [`Usage::model`] then analyses each shape
//! once ([`sql::analyse`]) into the narrowest grants that cover it, and [`render`] writes
//! `privileges.sql` and `privileges.md`.
//!
//! What the events cannot say is said, not guessed: TLS where the log does not record it (a
//! MariaDB `server_audit` log), statements `sqlparser` cannot read, and statements that no
//! table grant covers (administration, server files).

pub mod grants;
pub mod read;
pub mod render;
pub mod sql;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use crate::event::{Event, Operation, SourceFormat};

use sql::{InsertColumns, Name, Needs, TablePriv};

/// The family a user's server belongs to: what its statements mean and how it is granted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Engine {
    MySql,
    Postgres,
}

impl Engine {
    pub fn of(format: SourceFormat) -> Engine {
        match format {
            SourceFormat::Postgres => Engine::Postgres,
            _ => Engine::MySql,
        }
    }

    pub fn of_name(source_format: &str) -> Engine {
        if source_format == SourceFormat::Postgres.as_str() {
            Engine::Postgres
        } else {
            Engine::MySql
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Engine::MySql => "MySQL family",
            Engine::Postgres => "PostgreSQL",
        }
    }
}

/// One event as the model reads it (a borrowed scan event, or a row of `events/`).
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    pub time_us: i64,
    pub engine: Engine,
    pub server: &'a [u8],
    pub user: &'a [u8],
    pub client_host: &'a [u8],
    pub client_ip: Option<IpAddr>,
    pub operation: Operation,
    pub database: &'a [u8],
    /// Query text, or the table name of a table event.
    pub object: Option<&'a str>,
    pub retcode: Option<i32>,
    pub tls: Option<bool>,
}

/// The most statement shapes kept per user; past it, shapes are counted, not kept (the report
/// says how many).
pub const MAX_SHAPES_PER_USER: usize = 20_000;

/// Sessions of a user from one source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceUse {
    pub sessions: u64,
    pub tls: u64,
    pub plain: u64,
    pub unknown: u64,
}

/// One statement shape of a user in one database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    pub count: u64,
    /// Of those, the ones the server refused (retcode not 0): not granted.
    pub failed: u64,
    /// The earliest instance (time, text), as an example.
    pub example: (i64, String),
    pub sources: BTreeSet<String>,
}

/// What one user did.
#[derive(Clone, Debug, Default)]
pub struct UserUse {
    pub sessions: u64,
    pub failed_logins: u64,
    pub sources: BTreeMap<String, SourceUse>,
    /// Logins per UTC hour of day.
    pub hours: [u64; 24],
    pub servers: BTreeSet<String>,
    pub databases: BTreeSet<String>,
    pub first_us: Option<i64>,
    pub last_us: Option<i64>,
    /// (database, shape) → use.
    pub shapes: HashMap<(String, String), Shape>,
    /// Shapes not kept ([`MAX_SHAPES_PER_USER`]).
    pub shapes_dropped: u64,
    /// MySQL-family table events: (database, table, operation) → count.
    pub table_events: BTreeMap<(String, String, Operation), u64>,
}

/// Per engine and user, what they did: mergeable, in input order.
#[derive(Clone, Debug, Default)]
pub struct Usage {
    pub users: BTreeMap<(Engine, String), UserUse>,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Usage {
    /// Observes one scan event (only called with `--privileges`).
    pub fn observe_event(&mut self, e: &Event<'_>) {
        if !matters(e.operation) {
            return;
        }
        let object = e.object.to_cow();
        let object = (!e.object.is_none()).then_some(&*object);
        self.observe(&Row {
            time_us: e.time_us,
            engine: Engine::of(e.format),
            server: e.server_host,
            user: e.user,
            client_host: e.client_host,
            client_ip: crate::event::client_ip(e.client_host),
            operation: e.operation,
            database: e.database,
            object,
            retcode: e.retcode,
            tls: e.tls,
        });
    }

    pub fn observe(&mut self, r: &Row<'_>) {
        if r.user.is_empty() || !matters(r.operation) {
            return;
        }
        let user = String::from_utf8_lossy(r.user);
        let key = (r.engine, user.into_owned());
        let u = self.users.entry(key).or_default();
        let source = match r.client_ip {
            Some(ip) => ip.to_string(),
            None if r.client_host.is_empty() => "localhost".to_string(),
            None => text(r.client_host),
        };
        match r.operation {
            Operation::Connect | Operation::ChangeUser | Operation::ProxyConnect => {
                if r.retcode.unwrap_or(0) != 0 {
                    u.failed_logins += 1;
                    return;
                }
                u.sessions += 1;
                let s = u.sources.entry(source).or_default();
                s.sessions += 1;
                match r.tls {
                    Some(true) => s.tls += 1,
                    Some(false) => s.plain += 1,
                    None => s.unknown += 1,
                }
                let hour = r.time_us.div_euclid(3_600_000_000).rem_euclid(24) as usize;
                u.hours[hour] += 1;
                if !r.server.is_empty() && !u.servers.contains(&*String::from_utf8_lossy(r.server))
                {
                    u.servers.insert(text(r.server));
                }
                if !r.database.is_empty() {
                    u.databases.insert(text(r.database));
                }
                u.first_us = Some(u.first_us.map_or(r.time_us, |t| t.min(r.time_us)));
                u.last_us = Some(u.last_us.map_or(r.time_us, |t| t.max(r.time_us)));
            }
            Operation::FailedConnect => u.failed_logins += 1,
            Operation::Query => {
                let Some(sql) = r.object else { return };
                let fp = sql::fingerprint(sql, r.engine);
                if fp.is_empty() {
                    return;
                }
                let db = text(r.database);
                if !db.is_empty() && !u.databases.contains(&db) {
                    u.databases.insert(db.clone());
                }
                u.first_us = Some(u.first_us.map_or(r.time_us, |t| t.min(r.time_us)));
                u.last_us = Some(u.last_us.map_or(r.time_us, |t| t.max(r.time_us)));
                let failed = r.retcode.is_some_and(|c| c != 0);
                let full = u.shapes.len() >= MAX_SHAPES_PER_USER;
                match u.shapes.get_mut(&(db.clone(), fp.clone())) {
                    Some(s) => {
                        s.count += 1;
                        s.failed += u64::from(failed);
                        if (r.time_us, sql) < (s.example.0, s.example.1.as_str()) {
                            s.example = (r.time_us, sql.to_string());
                        }
                        if !s.sources.contains(&source) {
                            s.sources.insert(source);
                        }
                    }
                    None if full => u.shapes_dropped += 1,
                    None => {
                        u.shapes.insert(
                            (db, fp),
                            Shape {
                                count: 1,
                                failed: u64::from(failed),
                                example: (r.time_us, sql.to_string()),
                                sources: BTreeSet::from([source]),
                            },
                        );
                    }
                }
            }
            op => {
                // A MySQL-family table event: `object` is the table, `database` its database.
                let Some(table) = r.object else { return };
                if r.retcode.is_some_and(|c| c != 0) {
                    return;
                }
                *u.table_events
                    .entry((text(r.database), table.to_string(), op))
                    .or_default() += 1;
            }
        }
    }

    /// Adds `o` (a later part of the input) to this one.
    pub fn merge(&mut self, o: Usage) {
        for (k, v) in o.users {
            match self.users.get_mut(&k) {
                None => {
                    self.users.insert(k, v);
                }
                Some(u) => u.merge(v),
            }
        }
    }
}

impl UserUse {
    fn merge(&mut self, o: UserUse) {
        self.sessions += o.sessions;
        self.failed_logins += o.failed_logins;
        for (k, s) in o.sources {
            let t = self.sources.entry(k).or_default();
            t.sessions += s.sessions;
            t.tls += s.tls;
            t.plain += s.plain;
            t.unknown += s.unknown;
        }
        for h in 0..24 {
            self.hours[h] += o.hours[h];
        }
        self.servers.extend(o.servers);
        self.databases.extend(o.databases);
        self.first_us = match (self.first_us, o.first_us) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_us = match (self.last_us, o.last_us) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.shapes_dropped += o.shapes_dropped;
        // Shapes in a fixed order, so which ones a full map drops does not depend on hashing.
        let mut incoming: Vec<_> = o.shapes.into_iter().collect();
        incoming.sort_by(|a, b| a.0.cmp(&b.0));
        for (k, s) in incoming {
            let full = self.shapes.len() >= MAX_SHAPES_PER_USER;
            match self.shapes.get_mut(&k) {
                Some(t) => {
                    t.count += s.count;
                    t.failed += s.failed;
                    if s.example < t.example {
                        t.example = s.example;
                    }
                    t.sources.extend(s.sources);
                }
                None if full => self.shapes_dropped += s.count,
                None => {
                    self.shapes.insert(k, s);
                }
            }
        }
        for (k, n) in o.table_events {
            *self.table_events.entry(k).or_default() += n;
        }
    }
}

/// The operations the model reads (the rest cost nothing).
#[inline]
pub fn matters(op: Operation) -> bool {
    !matches!(op, Operation::Disconnect)
}

/// Who the master users are and where an administrator may use them (the scan's settings).
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub master_users: Vec<String>,
    pub admin_hosts: Vec<ipnet::IpNet>,
}

impl Context {
    fn is_admin_source(&self, source: &str) -> bool {
        match source.parse::<IpAddr>() {
            Ok(ip) => self.admin_hosts.iter().any(|n| n.contains(&ip)),
            Err(_) => false,
        }
    }
}

/// A table (or sequence) grant's object: database, schema (PostgreSQL; the MySQL family has
/// none), name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Object {
    pub database: String,
    pub schema: Option<String>,
    pub name: String,
}

/// What a user needs, worked out from its statements and table events.
#[derive(Clone, Debug, Default)]
pub struct Needed {
    pub tables: BTreeMap<Object, BTreeSet<TablePriv>>,
    /// Why each table privilege is there: a statement example, or the table events.
    pub tables_from_events: BTreeSet<(Object, TablePriv)>,
    /// Statements that named each object.
    pub statements_on: BTreeMap<Object, u64>,
    /// PostgreSQL: INSERT targets and the columns each shape named.
    pub insert_columns: BTreeMap<Object, BTreeSet<InsertColumns>>,
    /// PostgreSQL: sequences named in statements, USAGE (false) or UPDATE.
    pub sequences: BTreeMap<Object, bool>,
    /// PostgreSQL: (database, schema) needing USAGE.
    pub schemas: BTreeSet<(String, String)>,
    /// Databases the user connected to or worked in.
    pub databases: BTreeSet<String>,
    /// Database-level grants where the log does not name the tables: (database, privileges,
    /// example).
    pub database_level: BTreeMap<String, (BTreeSet<TablePriv>, String)>,
    /// MySQL family: global privileges the statements used.
    pub global: BTreeSet<&'static str>,
    /// A statement that used each global privilege.
    pub global_examples: BTreeMap<&'static str, String>,
    /// Statements no table grant covers: (reason, example).
    pub beyond: BTreeMap<String, String>,
    /// Statements `sqlparser` could not read: (example, count).
    pub not_understood: Vec<(String, u64)>,
    /// Names that could not be placed in a database (no current database): (name, example).
    pub unplaced: Vec<(String, String)>,
    /// PostgreSQL: unqualified names were placed in `public`.
    pub assumed_public: bool,
}

/// One user's observed use and suggested grants.
#[derive(Clone, Debug)]
pub struct UserModel {
    pub engine: Engine,
    pub user: String,
    pub usage: UserUse,
    pub needed: Needed,
    pub master: bool,
    /// For a master user: its sources outside the admin hosts, and what it needed there.
    pub application_use: Option<(Vec<String>, Needed)>,
}

impl UserModel {
    /// Logged in or ran something (a user seen only in failed logins gets no account).
    pub fn did_something(&self) -> bool {
        self.usage.sessions > 0
            || !self.usage.shapes.is_empty()
            || !self.usage.table_events.is_empty()
    }
}

/// The model of every user, in order (engine, name).
#[derive(Clone, Debug, Default)]
pub struct Model {
    pub users: Vec<UserModel>,
}

impl Usage {
    /// Analyses every shape once and works out each user's needs.
    pub fn model(&self, ctx: &Context) -> Model {
        let mut cache: HashMap<(Engine, String), Needs> = HashMap::new();
        let mut users = Vec::new();
        for ((engine, user), u) in &self.users {
            let master = ctx.master_users.iter().any(|m| m == user);
            let all = needed(*engine, u, &mut cache, |_| true, true);
            let application_use = master.then(|| {
                let sources: Vec<String> = u
                    .sources
                    .keys()
                    .chain(u.shapes.values().flat_map(|s| s.sources.iter()))
                    .filter(|s| !ctx.is_admin_source(s) && !is_local(s))
                    .cloned()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                // Table events carry no source to tell the two uses apart: statements only.
                let app = needed(
                    *engine,
                    u,
                    &mut cache,
                    |s: &Shape| s.sources.iter().any(|x| sources.contains(x)),
                    false,
                );
                (sources, app)
            });
            let application_use = application_use.filter(|(s, _)| !s.is_empty());
            users.push(UserModel {
                engine: *engine,
                user: user.clone(),
                usage: u.clone(),
                needed: all,
                master,
                application_use,
            });
        }
        Model { users }
    }
}

fn is_local(source: &str) -> bool {
    source == "localhost"
        || source == "[local]"
        || source.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Databases every account may read without a grant.
fn always_readable(db: &str) -> bool {
    db.eq_ignore_ascii_case("information_schema") || db.eq_ignore_ascii_case("performance_schema")
}

fn needed(
    engine: Engine,
    u: &UserUse,
    cache: &mut HashMap<(Engine, String), Needs>,
    keep: impl Fn(&Shape) -> bool,
    table_events: bool,
) -> Needed {
    let mut n = Needed::default();
    let mut shapes: Vec<_> = u.shapes.iter().filter(|(_, s)| keep(s)).collect();
    shapes.sort_by(|a, b| a.0.cmp(b.0));
    for ((db, fp), shape) in shapes {
        if !db.is_empty() {
            n.databases.insert(db.clone());
        }
        if shape.failed == shape.count {
            continue;
        }
        let needs = cache
            .entry((engine, fp.clone()))
            .or_insert_with(|| sql::analyse(fp, engine));
        let example = &shape.example.1;
        if needs.not_understood {
            n.not_understood.push((example.clone(), shape.count));
            // Database level where the log cannot name the tables (a MySQL-family log with
            // table events names them: those are read below).
            let class = crate::classify::classify(example.as_bytes());
            let privs: &[TablePriv] = match class {
                crate::classify::StatementClass::Read => &[TablePriv::Select],
                crate::classify::StatementClass::Write => &[
                    TablePriv::Select,
                    TablePriv::Insert,
                    TablePriv::Update,
                    TablePriv::Delete,
                ],
                _ => &[],
            };
            let named_by_events =
                engine == Engine::MySql && u.table_events.keys().any(|(d, _, _)| d == db);
            if !privs.is_empty() && !db.is_empty() && !named_by_events {
                let e = n
                    .database_level
                    .entry(db.clone())
                    .or_insert_with(|| (BTreeSet::new(), example.clone()));
                e.0.extend(privs.iter().copied());
            }
            continue;
        }
        for reason in &needs.beyond {
            n.beyond
                .entry(reason.clone())
                .or_insert_with(|| example.clone());
        }
        for g in &needs.global {
            n.global.insert(g);
            n.global_examples
                .entry(g)
                .or_insert_with(|| example.clone());
        }
        let place = |name: &Name, n: &mut Needed| -> Option<Object> {
            match engine {
                Engine::MySql => {
                    let database = name.qualifier.clone().unwrap_or_else(|| db.clone());
                    if database.is_empty() {
                        n.unplaced.push((name.name.clone(), example.clone()));
                        return None;
                    }
                    Some(Object {
                        database,
                        schema: None,
                        name: name.name.clone(),
                    })
                }
                Engine::Postgres => {
                    if name.qualifier.is_none() {
                        n.assumed_public = true;
                    }
                    let schema = name.qualifier.clone().unwrap_or_else(|| "public".into());
                    if schema == "pg_catalog" || schema == "information_schema" {
                        return None;
                    }
                    if db.is_empty() {
                        n.unplaced.push((name.name.clone(), example.clone()));
                        return None;
                    }
                    n.schemas.insert((db.clone(), schema.clone()));
                    Some(Object {
                        database: db.clone(),
                        schema: Some(schema),
                        name: name.name.clone(),
                    })
                }
            }
        };
        for (name, p) in &needs.tables {
            if engine == Engine::MySql && name.qualifier.as_deref().is_some_and(always_readable) {
                continue;
            }
            if let Some(o) = place(name, &mut n) {
                if needs.tables.iter().position(|(x, _)| x == name)
                    == needs.tables.iter().position(|t| t == &(name.clone(), *p))
                {
                    *n.statements_on.entry(o.clone()).or_default() += shape.count - shape.failed;
                }
                if engine == Engine::Postgres && *p == TablePriv::Create {
                    // CREATE TABLE: CREATE on the schema.
                    n.beyond
                        .entry(format!(
                            "CREATE TABLE in schema {}: needs CREATE on the schema (granted below)",
                            o.schema.as_deref().unwrap_or("public")
                        ))
                        .or_insert_with(|| example.clone());
                    continue;
                }
                n.tables.entry(o).or_default().insert(*p);
            }
        }
        for (name, cols) in &needs.inserts {
            if let Some(o) = place(name, &mut n) {
                n.insert_columns.entry(o).or_default().insert(cols.clone());
            }
        }
        for (name, update) in &needs.sequences {
            if let Some(o) = place(name, &mut n) {
                let e = n.sequences.entry(o).or_insert(false);
                *e |= *update;
            }
        }
    }
    // MySQL-family table events: each table the server opened for the user is covered.
    if engine == Engine::MySql && table_events {
        for (db, table, op) in u.table_events.keys() {
            // The server opens `mysql.*` tables itself (engine-independent statistics with
            // every query, time zones): a statement that names one is read above.
            if db.is_empty() || always_readable(db) || db == "mysql" {
                continue;
            }
            let o = Object {
                database: db.clone(),
                schema: None,
                name: table.clone(),
            };
            let have = n.tables.get(&o).cloned().unwrap_or_default();
            let add: &[TablePriv] = match op {
                Operation::Read => &[TablePriv::Select],
                // Which write the log does not say: any of the three the statements name
                // covers it, else all three.
                Operation::Write
                    if have.iter().any(|p| {
                        matches!(p, TablePriv::Insert | TablePriv::Update | TablePriv::Delete)
                    }) =>
                {
                    &[]
                }
                Operation::Write => &[TablePriv::Insert, TablePriv::Update, TablePriv::Delete],
                Operation::Create => &[TablePriv::Create],
                Operation::Drop => &[TablePriv::Drop],
                Operation::Alter => &[TablePriv::Alter],
                Operation::Rename => &[TablePriv::Alter, TablePriv::Drop],
                _ => &[],
            };
            for p in add {
                if !have.contains(p) {
                    n.tables_from_events.insert((o.clone(), *p));
                    n.tables.entry(o.clone()).or_default().insert(*p);
                }
            }
        }
    }
    n.not_understood.sort();
    n.unplaced.sort();
    n.unplaced.dedup();
    if engine == Engine::Postgres {
        for o in n.sequences.keys() {
            n.schemas
                .insert((o.database.clone(), o.schema.clone().unwrap_or_default()));
        }
    }
    n
}

/// `privileges.sql` and `privileges.md` of `usage`, with the held grants of the file at
/// `grants` (if given) compared against what was used.
///
/// # Errors
/// The grants file cannot be read.
pub fn outputs(
    usage: &Usage,
    ctx: &Context,
    grants: Option<&std::path::Path>,
) -> crate::error::Result<(String, String)> {
    let held = match grants {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| crate::error::Error::io(path, e))?;
            Some(grants::HeldGrants::parse(&String::from_utf8_lossy(&bytes)))
        }
        None => None,
    };
    let model = usage.model(ctx);
    Ok((
        render::sql(&model, held.as_ref()),
        render::markdown(&model, held.as_ref()),
    ))
}

#[cfg(test)]
mod tests;
