//! What one statement needs: the tables it reads and writes, the sequences and schemas behind
//! them, and the statements no table grant can cover (administration, server files).
//!
//! Statements are first reduced to a fingerprint ([`fingerprint`]: literals replaced, comments
//! and spacing dropped), so an application's thousands of `SELECT … WHERE id = 17` are one
//! entry, analysed once; the fingerprint is itself valid SQL (a number becomes `0`, a string
//! `'?'`), and it is what [`analyse`] parses, with `sqlparser` in the engine's dialect. A
//! statement it cannot parse is reported as not understood rather than guessed at.
//!
//! How a statement maps onto privileges (the engines' manuals, "privileges required"):
//! - a relation read anywhere (FROM, JOIN, a subquery, the source of INSERT … SELECT) needs
//!   SELECT on it;
//! - INSERT needs INSERT on its target; REPLACE also DELETE; `ON DUPLICATE KEY UPDATE` / `ON
//!   CONFLICT … DO UPDATE` also UPDATE; RETURNING needs SELECT;
//! - UPDATE needs UPDATE on its target, and SELECT too when it reads the target's columns (a
//!   WHERE clause, a SET value naming a column, RETURNING): both engines check SELECT on the
//!   columns an UPDATE or DELETE reads;
//! - DELETE needs DELETE, and SELECT when it has a WHERE clause or RETURNING;
//! - TRUNCATE needs DROP (MySQL family) or TRUNCATE (PostgreSQL);
//! - CREATE / ALTER / DROP TABLE need CREATE / ALTER / DROP on the table (MySQL family) or
//!   CREATE on the schema and ownership (PostgreSQL, where ALTER and DROP cannot be granted);
//! - PostgreSQL: an INSERT that leaves a column to its default needs USAGE on the sequence
//!   that default draws from (`serial`, `DEFAULT nextval(…)`); the statement tells which
//!   columns it left out, the catalog (at grant time) which sequence they draw from, see
//!   [`super::render`]. `nextval`/`currval`/`setval('name')` need USAGE / USAGE / UPDATE on
//!   the named sequence. Every schema of an object touched needs USAGE.

use std::ops::ControlFlow;

use sqlparser::ast::{
    AssignmentTarget, CopySource, CopyTarget, Expr, FromTable, FunctionArg, FunctionArgExpr,
    FunctionArguments, Ident, ObjectName, ObjectNamePart, ObjectType, Query, SelectItem, Statement,
    TableFactor, TableObject, TableWithJoins, UpdateTableFromKind, Value, Visit, Visitor,
};
use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;

use super::Engine;

/// A privilege on a table (or, for `Create`, on the place a table is created in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TablePriv {
    Select,
    Insert,
    Update,
    Delete,
    Truncate,
    Create,
    Alter,
    Drop,
    Index,
}

impl TablePriv {
    pub fn as_str(self) -> &'static str {
        match self {
            TablePriv::Select => "SELECT",
            TablePriv::Insert => "INSERT",
            TablePriv::Update => "UPDATE",
            TablePriv::Delete => "DELETE",
            TablePriv::Truncate => "TRUNCATE",
            TablePriv::Create => "CREATE",
            TablePriv::Alter => "ALTER",
            TablePriv::Drop => "DROP",
            TablePriv::Index => "INDEX",
        }
    }

    pub fn parse(s: &str) -> Option<TablePriv> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "SELECT" => TablePriv::Select,
            "INSERT" => TablePriv::Insert,
            "UPDATE" => TablePriv::Update,
            "DELETE" => TablePriv::Delete,
            "TRUNCATE" => TablePriv::Truncate,
            "CREATE" => TablePriv::Create,
            "ALTER" => TablePriv::Alter,
            "DROP" => TablePriv::Drop,
            "INDEX" => TablePriv::Index,
            _ => return None,
        })
    }
}

/// A name as written, split at its dots: `(qualifier, name)`; the qualifier is the database
/// (MySQL family) or the schema (PostgreSQL), `None` when the statement did not write one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name {
    pub qualifier: Option<String>,
    pub name: String,
}

/// Everything one statement needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub tables: Vec<(Name, TablePriv)>,
    /// PostgreSQL INSERTs: the target and the columns the statement named (`None`: no
    /// column list, with the number of values given), for the sequences of the others.
    pub inserts: Vec<(Name, InsertColumns)>,
    /// PostgreSQL sequences named in `nextval` and the like: USAGE (`false`) or UPDATE.
    pub sequences: Vec<(Name, bool)>,
    /// Statements that a table grant cannot cover, in words (`GRANT`, `COPY … TO PROGRAM`,
    /// a PostgreSQL `DROP TABLE` that needs ownership).
    pub beyond: Vec<String>,
    /// Global privileges (MySQL family) the statement used: `FILE` for `INTO OUTFILE`.
    pub global: Vec<&'static str>,
    /// `sqlparser` could not read it.
    pub not_understood: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InsertColumns {
    Named(Vec<String>),
    /// No column list: the first `n` columns get values (`None`: not a VALUES list).
    Positional(Option<usize>),
}

/// The longest statement analysed; longer ones are reported as not understood.
const MAX_ANALYSED: usize = 64 << 10;

/// Reduces a statement to its shape: string and number literals replaced (`'?'`, `0`; a
/// string that names a sequence, `nextval('s')`, is kept), comments dropped (a MySQL
/// executable comment `/*!…*/` kept as its content), runs of spacing one space. Quoted
/// identifiers are kept as written. Allocates the result only.
pub fn fingerprint(sql: &str, engine: Engine) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(b.len().min(512));
    let mut i = 0;
    let mut space = false;
    let push_space = |out: &mut String, space: &mut bool| {
        if *space && !out.is_empty() {
            out.push(' ');
        }
        *space = false;
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
                space = true;
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
                space = true;
            }
            b'#' if engine == Engine::MySql => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
                space = true;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                if engine == Engine::MySql && b.get(i + 2) == Some(&b'!') {
                    // Executable comment: the server runs its content.
                    let mut j = i + 3;
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                    i = j;
                    space = true;
                    continue;
                }
                i = memchr::memmem::find(&b[i + 2..], b"*/").map_or(b.len(), |n| i + 2 + n + 2);
                space = true;
            }
            b'*' if engine == Engine::MySql && b.get(i + 1) == Some(&b'/') => {
                // The end of an executable comment.
                i += 2;
                space = true;
            }
            b'\'' | b'"' if c == b'\'' || engine == Engine::MySql => {
                let end = string_end(b, i, engine);
                push_space(&mut out, &mut space);
                let keep = c == b'\'' && names_sequence(&out);
                if let (true, Some(literal)) = (keep, sql.get(i..end)) {
                    out.push_str(literal);
                } else {
                    out.push_str("'?'");
                }
                i = end;
            }
            b'"' | b'`' => {
                // A quoted identifier (PostgreSQL "x", MySQL `x`).
                let end = quoted_end(b, i, c);
                push_space(&mut out, &mut space);
                out.push_str(&sql[i..end]);
                i = end;
            }
            b'<' if engine == Engine::Postgres && b[i..].starts_with(b"<REDACTED>") => {
                // pgaudit hides passwords so.
                push_space(&mut out, &mut space);
                out.push_str("'?'");
                i += "<REDACTED>".len();
            }
            b'$' if engine == Engine::Postgres && dollar_tag(b, i).is_some() => {
                let tag_len = dollar_tag(b, i).unwrap_or(2);
                let tag = &b[i..i + tag_len];
                let end = memchr::memmem::find(&b[i + tag_len..], tag)
                    .map_or(b.len(), |n| i + tag_len + n + tag_len);
                push_space(&mut out, &mut space);
                out.push_str("'?'");
                i = end;
            }
            b'0'..=b'9' if !prev_is_word(&out) || space => {
                let mut j = i;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.' || b[j] == b'_')
                {
                    j += 1;
                }
                push_space(&mut out, &mut space);
                out.push('0');
                i = j;
            }
            b'E' | b'e' | b'X' | b'x' | b'B' | b'b' | b'N' | b'n'
                if b.get(i + 1) == Some(&b'\'') && !prev_is_word(&out) =>
            {
                // E'…', X'…', B'…', N'…': prefixed strings.
                let end = string_end(b, i + 1, engine);
                push_space(&mut out, &mut space);
                out.push_str("'?'");
                i = end;
            }
            _ => {
                push_space(&mut out, &mut space);
                let mut end = (i + utf8_len(c)).min(b.len());
                while !sql.is_char_boundary(end) {
                    end += 1;
                }
                if let Some(piece) = sql.get(i..end) {
                    out.push_str(piece);
                }
                i = end;
            }
        }
    }
    out
}

fn utf8_len(c: u8) -> usize {
    match c {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

fn prev_is_word(out: &str) -> bool {
    out.as_bytes()
        .last()
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$' || *c >= 0x80)
}

/// The fingerprint so far ends with `nextval(`, `currval(` or `setval(` (the next string
/// names a sequence).
fn names_sequence(out: &str) -> bool {
    let o = out.trim_end().to_ascii_lowercase();
    let Some(o) = o.strip_suffix('(') else {
        return false;
    };
    let o = o.trim_end();
    o.ends_with("nextval") || o.ends_with("currval") || o.ends_with("setval")
}

/// The end (exclusive) of the string literal opening at `i`: `''` is a quote, and in the
/// MySQL family (and PostgreSQL `E'…'`, treated alike) a backslash escapes the next byte.
fn string_end(b: &[u8], i: usize, engine: Engine) -> usize {
    let backslash = engine == Engine::MySql || (i > 0 && matches!(b[i - 1], b'E' | b'e'));
    quote_end(b, i, b[i], backslash)
}

/// The end (exclusive) of the quoted identifier opening at `i` with `q`: a doubled `q` is
/// the quote itself, a backslash is text.
fn quoted_end(b: &[u8], i: usize, q: u8) -> usize {
    quote_end(b, i, q, false)
}

/// The end (exclusive) of the text quoted by `q` opening at `i`: `qq` stands for `q`, and
/// with `backslash` a backslash escapes the next byte; the end of `b` if it is not closed.
fn quote_end(b: &[u8], i: usize, q: u8, backslash: bool) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        if backslash && b[j] == b'\\' {
            j += 2;
            continue;
        }
        if b[j] == q {
            if b.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    b.len()
}

/// The length of a dollar-quote tag at `i` (`$$` or `$tag$`), if there is one.
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
        return None;
    }
    let mut j = i + 1;
    while j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'_') {
        j += 1;
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1 - i)
}

/// What the statement `fp` (a [`fingerprint`]) needs, in `engine`'s dialect.
pub fn analyse(fp: &str, engine: Engine) -> Needs {
    let mut needs = Needs::default();
    if fp.len() > MAX_ANALYSED {
        needs.not_understood = true;
        return needs;
    }
    if engine == Engine::MySql && has_outfile(fp) {
        if let Some(plain) = without_outfile(fp) {
            let mut needs = analyse(&plain, engine);
            if !needs.not_understood {
                needs.global.push("FILE");
            }
            return needs;
        }
    }
    let statements = match engine {
        Engine::MySql => Parser::new(&MySqlDialect {})
            .with_recursion_limit(40)
            .try_with_sql(fp)
            .and_then(|mut p| p.parse_statements()),
        Engine::Postgres => Parser::new(&PostgreSqlDialect {})
            .with_recursion_limit(40)
            .try_with_sql(fp)
            .and_then(|mut p| p.parse_statements()),
    };
    let statements = match statements {
        Ok(s) => s,
        Err(_) => {
            // A long statement cut by the log (`server_audit_query_log_limit`, the record
            // limit): a multi-row INSERT is still understood from its first row.
            if let Some(first_row) = first_row_of_insert(fp) {
                if first_row.len() < fp.len() {
                    return analyse(first_row, engine);
                }
            }
            needs.not_understood = true;
            return needs;
        }
    };
    let mut a = Analyser {
        engine,
        needs: &mut needs,
    };
    for s in &statements {
        a.statement(s, fp);
    }
    needs.tables.sort();
    needs.tables.dedup();
    needs.sequences.sort();
    needs.sequences.dedup();
    needs.inserts.sort();
    needs.inserts.dedup();
    needs.beyond.dedup();
    needs.global.sort();
    needs.global.dedup();
    needs
}

struct Analyser<'n> {
    engine: Engine,
    needs: &'n mut Needs,
}

impl Analyser<'_> {
    fn name(&self, o: &ObjectName) -> Name {
        let parts: Vec<String> =
            o.0.iter()
                .map(|p| match p {
                    ObjectNamePart::Identifier(i) => self.ident(i),
                    other => other.to_string(),
                })
                .collect();
        let n = parts.len();
        Name {
            qualifier: (n >= 2).then(|| parts[n - 2].clone()),
            name: parts.last().cloned().unwrap_or_default(),
        }
    }

    /// PostgreSQL folds unquoted names to lower case; the MySQL family keeps them.
    fn ident(&self, i: &Ident) -> String {
        match (self.engine, i.quote_style) {
            (Engine::Postgres, None) => i.value.to_lowercase(),
            _ => i.value.clone(),
        }
    }

    fn table(&mut self, o: &ObjectName, p: TablePriv) {
        let n = self.name(o);
        self.needs.tables.push((n, p));
    }

    /// Every relation `node` reads (CTE names left out), and the sequences its functions name.
    fn reads<V: Visit>(&mut self, node: &V) {
        let mut r = Reads::default();
        let _ = node.visit(&mut r);
        for rel in r.relations {
            let is_cte = rel.0.len() == 1
                && r.ctes
                    .iter()
                    .any(|c| Some(c.as_str()) == rel.0[0].as_ident().map(|i| i.value.as_str()));
            if !is_cte {
                self.table(&rel, TablePriv::Select);
            }
        }
        for (f, arg) in r.sequence_calls {
            let name = parse_sequence_name(&arg, self.engine);
            if let Some(name) = name {
                self.needs.sequences.push((name, f == "setval"));
            }
        }
    }

    /// Whether an expression reads a column (so the table needs SELECT too).
    fn reads_columns<V: Visit>(node: &V) -> bool {
        struct Cols(bool);
        impl Visitor for Cols {
            type Break = ();
            fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
                if matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                    self.0 = true;
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            }
        }
        let mut c = Cols(false);
        let _ = node.visit(&mut c);
        c.0
    }

    fn returning(&mut self, target: &ObjectName, returning: &Option<Vec<SelectItem>>) {
        if let Some(r) = returning {
            self.table(target, TablePriv::Select);
            self.reads(r);
        }
    }

    fn statement(&mut self, s: &Statement, fp: &str) {
        use Statement as S;
        match s {
            S::Query(q) => self.reads(q.as_ref()),
            S::Insert(ins) => {
                let TableObject::TableName(target) = &ins.table else {
                    self.needs.not_understood = true;
                    return;
                };
                self.table(target, TablePriv::Insert);
                if ins.replace_into {
                    self.table(target, TablePriv::Delete);
                }
                if let Some(src) = &ins.source {
                    self.reads(src.as_ref());
                }
                if let Some(on) = &ins.on {
                    let text = on.to_string().to_ascii_uppercase();
                    if text.contains("UPDATE") {
                        self.table(target, TablePriv::Update);
                        if Self::reads_columns(on) {
                            self.table(target, TablePriv::Select);
                        }
                    }
                }
                self.returning(target, &ins.returning);
                if self.engine == Engine::Postgres {
                    let cols = if ins.columns.is_empty() {
                        InsertColumns::Positional(ins.source.as_ref().and_then(|q| values_width(q)))
                    } else {
                        let mut v: Vec<String> = ins
                            .columns
                            .iter()
                            .filter_map(|c| c.0.last())
                            .map(|p| match p {
                                ObjectNamePart::Identifier(i) => self.ident(i),
                                other => other.to_string(),
                            })
                            .collect();
                        v.sort();
                        v.dedup();
                        InsertColumns::Named(v)
                    };
                    let n = self.name(target);
                    self.needs.inserts.push((n, cols));
                }
            }
            S::Update(u) => {
                let TableFactor::Table { name: target, .. } = &u.table.relation else {
                    self.needs.not_understood = true;
                    return;
                };
                self.table(target, TablePriv::Update);
                for j in &u.table.joins {
                    self.reads(&j.relation);
                }
                if let Some(from) = &u.from {
                    match from {
                        UpdateTableFromKind::BeforeSet(t) | UpdateTableFromKind::AfterSet(t) => {
                            self.reads(t)
                        }
                    }
                }
                let mut reads_target = u.selection.is_some();
                for a in &u.assignments {
                    if Self::reads_columns(&a.value) {
                        reads_target = true;
                    }
                    self.reads(&a.value);
                    if let AssignmentTarget::Tuple(_) = a.target {
                        reads_target = true;
                    }
                }
                if let Some(sel) = &u.selection {
                    self.reads(sel);
                }
                if reads_target {
                    self.table(target, TablePriv::Select);
                }
                self.returning(target, &u.returning);
            }
            S::Delete(d) => {
                let from = match &d.from {
                    FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
                };
                let targets: Vec<ObjectName> = if d.tables.is_empty() {
                    from.iter().filter_map(table_name).collect()
                } else {
                    // `DELETE t1 FROM t1 JOIN t2`: the named tables (aliases resolved).
                    d.tables.iter().map(|t| resolve_alias(t, from)).collect()
                };
                for t in &targets {
                    self.table(t, TablePriv::Delete);
                    if d.selection.is_some() {
                        self.table(t, TablePriv::Select);
                    }
                    self.returning(t, &d.returning);
                }
                for t in from {
                    for j in &t.joins {
                        self.reads(&j.relation);
                    }
                }
                if let Some(u) = &d.using {
                    self.reads(u);
                }
                if let Some(sel) = &d.selection {
                    self.reads(sel);
                }
            }
            S::Truncate(t) => {
                for n in &t.table_names {
                    match self.engine {
                        Engine::MySql => self.table(&n.name, TablePriv::Drop),
                        Engine::Postgres => self.table(&n.name, TablePriv::Truncate),
                    }
                }
            }
            S::CreateTable(ct) => {
                match self.engine {
                    Engine::MySql => self.table(&ct.name, TablePriv::Create),
                    Engine::Postgres => {
                        self.table(&ct.name, TablePriv::Create);
                    }
                }
                if let Some(q) = &ct.query {
                    self.reads(q.as_ref());
                }
            }
            S::AlterTable(at) => match self.engine {
                Engine::MySql => self.table(&at.name, TablePriv::Alter),
                Engine::Postgres => self.beyond(format!(
                    "ALTER TABLE {}: only the table's owner may (PostgreSQL has no ALTER privilege)",
                    at.name
                )),
            },
            S::CreateIndex(ci) => match self.engine {
                Engine::MySql => self.table(&ci.table_name, TablePriv::Index),
                Engine::Postgres => self.beyond(format!(
                    "CREATE INDEX on {}: only the table's owner may",
                    ci.table_name
                )),
            },
            S::Drop {
                object_type, names, ..
            } => match (object_type, self.engine) {
                (ObjectType::Table | ObjectType::View, Engine::MySql) => {
                    for n in names {
                        self.table(n, TablePriv::Drop);
                    }
                }
                (ObjectType::Table | ObjectType::View, Engine::Postgres) => {
                    for n in names {
                        self.beyond(format!(
                            "DROP {object_type} {n}: only the owner may (PostgreSQL has no DROP privilege)"
                        ));
                    }
                }
                _ => self.beyond(format!("DROP {object_type}: an administrative statement")),
            },
            S::RenameTable(r) => {
                for r in r {
                    self.table(&r.old_name, TablePriv::Alter);
                    self.table(&r.old_name, TablePriv::Drop);
                    self.table(&r.new_name, TablePriv::Create);
                    self.table(&r.new_name, TablePriv::Insert);
                }
            }
            S::CreateView(v) => {
                match self.engine {
                    Engine::MySql => self.beyond(format!(
                        "CREATE VIEW {}: needs CREATE VIEW on the database",
                        v.name
                    )),
                    Engine::Postgres => self.beyond(format!(
                        "CREATE VIEW {}: needs CREATE on the schema",
                        v.name
                    )),
                }
                self.reads(v.query.as_ref());
            }
            S::Copy {
                source, to, target, ..
            } => {
                match source {
                    CopySource::Table { table_name, .. } => self.table(
                        table_name,
                        if *to {
                            TablePriv::Select
                        } else {
                            TablePriv::Insert
                        },
                    ),
                    CopySource::Query(q) => self.reads(q.as_ref()),
                }
                match target {
                    CopyTarget::Program { .. } => self.beyond(
                        "COPY … PROGRAM: runs a program on the server (pg_execute_server_program)"
                            .into(),
                    ),
                    CopyTarget::File { .. } => self.beyond(
                        "COPY … a server file: pg_read_server_files / pg_write_server_files"
                            .into(),
                    ),
                    CopyTarget::Stdin | CopyTarget::Stdout => {}
                }
            }
            S::Explain { statement, .. } => self.statement(statement, fp),
            S::Grant(_)
            | S::Revoke(_)
            | S::GrantRole(_)
            | S::RevokeRole(_)
            | S::CreateUser(_)
            | S::AlterUser(_)
            | S::CreateRole(_)
            | S::AlterRole { .. } => {
                let kw = fp.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
                self.beyond(format!(
                    "{}: administration of accounts and privileges",
                    kw.to_ascii_uppercase()
                ))
            }
            // Session and transaction control, and what reads nothing.
            S::Set(_)
            | S::Use(_)
            | S::StartTransaction { .. }
            | S::Commit { .. }
            | S::Rollback { .. }
            | S::ShowVariable { .. }
            | S::ShowVariables { .. }
            | S::ShowTables { .. }
            | S::ShowDatabases { .. }
            | S::Deallocate { .. }
            | S::Discard { .. } => {}
            other => {
                let text = other.to_string();
                let kw = text.split_whitespace().next().unwrap_or("");
                // Anything else names its kind, so the report can list it.
                self.beyond(format!(
                    "{}: not mapped to a privilege",
                    kw.to_ascii_uppercase()
                ))
            }
        }
    }

    fn beyond(&mut self, s: String) {
        if !self.needs.beyond.contains(&s) {
            self.needs.beyond.push(s);
        }
    }
}

/// `INSERT … VALUES (row)` of a fingerprint, up to the end of its first row.
fn first_row_of_insert(fp: &str) -> Option<&str> {
    let upper = fp.get(..fp.len().min(7))?.to_ascii_uppercase();
    if upper != "INSERT " && upper != "REPLACE" {
        return None;
    }
    let at = fp.to_ascii_uppercase().find(" VALUES (")? + " VALUES (".len();
    // Literals are `'?'` and `0` in a fingerprint: the first `)` at depth 0 ends the row.
    let mut depth = 1;
    for (i, c) in fp[at..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&fp[..at + i + 1]);
                }
            }
            _ => {}
        }
    }
    None
}

/// A MySQL `SELECT … INTO OUTFILE|DUMPFILE 'f' [options]` without its INTO clause, which
/// `sqlparser` does not read (the statement's tables are the same).
fn without_outfile(fp: &str) -> Option<String> {
    let upper = fp.to_ascii_uppercase();
    let at = upper
        .find("INTO OUTFILE")
        .or_else(|| upper.find("INTO DUMPFILE"))?;
    let rest = &fp[at..];
    // Past the file name literal.
    let q = rest.find('\'')?;
    let end_q = rest[q + 1..].find('\'')? + q + 2;
    let after = &fp[at + end_q..];
    // Export options (FIELDS …, LINES …) run to FROM or the end.
    let after_upper = after.to_ascii_uppercase();
    let tail = match after_upper.find(" FROM ") {
        Some(f) => &after[f..],
        None if after_upper.trim_start().starts_with("FIELDS")
            || after_upper.trim_start().starts_with("LINES")
            || after_upper.trim_start().starts_with("CHARACTER") =>
        {
            ""
        }
        None => after,
    };
    Some(format!(
        "{}{}",
        fp[..at].trim_end(),
        if tail.is_empty() {
            String::new()
        } else {
            format!(" {}", tail.trim_start())
        }
    ))
}

fn has_outfile(fp: &str) -> bool {
    let u = fp.to_ascii_uppercase();
    u.contains("OUTFILE") || u.contains("DUMPFILE")
}

/// The number of values per row of an `INSERT … VALUES` source.
fn values_width(q: &Query) -> Option<usize> {
    match q.body.as_ref() {
        sqlparser::ast::SetExpr::Values(v) => v.rows.first().map(|r| r.content.len()),
        _ => None,
    }
}

fn table_name(t: &TableWithJoins) -> Option<ObjectName> {
    match &t.relation {
        TableFactor::Table { name, .. } => Some(name.clone()),
        _ => None,
    }
}

/// `DELETE a FROM orders a …`: the table behind alias `a`.
fn resolve_alias(t: &ObjectName, from: &[TableWithJoins]) -> ObjectName {
    if t.0.len() == 1 {
        let alias = t.0[0].as_ident().map(|i| i.value.clone());
        for tw in from {
            for f in std::iter::once(&tw.relation).chain(tw.joins.iter().map(|j| &j.relation)) {
                if let TableFactor::Table {
                    name,
                    alias: Some(a),
                    ..
                } = f
                {
                    if Some(&a.name.value) == alias.as_ref() {
                        return name.clone();
                    }
                }
            }
        }
    }
    t.clone()
}

/// A sequence named as a string (`'public.orders_id_seq'`, `'"Odd"'`).
fn parse_sequence_name(s: &str, engine: Engine) -> Option<Name> {
    let parts: Vec<String> = s
        .split('.')
        .map(|p| {
            let p = p.trim();
            match p.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
                Some(q) => q.replace("\"\"", "\""),
                None if engine == Engine::Postgres => p.to_lowercase(),
                None => p.to_string(),
            }
        })
        .collect();
    let n = parts.len();
    (n >= 1 && !parts[n - 1].is_empty()).then(|| Name {
        qualifier: (n >= 2).then(|| parts[n - 2].clone()),
        name: parts[n - 1].clone(),
    })
}

/// The relations, CTE names and sequence functions of a piece of a statement.
#[derive(Default)]
struct Reads {
    relations: Vec<ObjectName>,
    ctes: Vec<String>,
    sequence_calls: Vec<(String, String)>,
}

impl Visitor for Reads {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if let Some(w) = &q.with {
            for c in &w.cte_tables {
                self.ctes.push(c.alias.name.value.clone());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, r: &ObjectName) -> ControlFlow<()> {
        self.relations.push(r.clone());
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e {
            let name = f.name.to_string().to_ascii_lowercase();
            let name = name.rsplit('.').next().unwrap_or("").to_string();
            if matches!(name.as_str(), "nextval" | "currval" | "setval") {
                if let FunctionArguments::List(l) = &f.args {
                    if let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))) =
                        l.args.first()
                    {
                        if let Value::SingleQuotedString(s) = &v.value {
                            self.sequence_calls.push((name, s.clone()));
                        }
                    }
                }
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(q: Option<&str>, name: &str) -> Name {
        Name {
            qualifier: q.map(str::to_string),
            name: name.to_string(),
        }
    }

    fn tables(sql: &str, engine: Engine) -> Vec<(Name, TablePriv)> {
        let needs = analyse(&fingerprint(sql, engine), engine);
        assert!(!needs.not_understood, "{sql}");
        needs.tables
    }

    #[test]
    fn fingerprints_drop_literals_and_comments_and_keep_sequence_names() {
        let m = Engine::MySql;
        assert_eq!(
            fingerprint(
                "SELECT id  FROM t WHERE id = 17 AND n = 'O\\'Brien' -- x\n",
                m
            ),
            "SELECT id FROM t WHERE id = 0 AND n = '?'"
        );
        assert_eq!(
            fingerprint("select /*!40001 SQL_NO_CACHE */ * from t1 # c", m),
            "select SQL_NO_CACHE * from t1"
        );
        let p = Engine::Postgres;
        assert_eq!(
            fingerprint(
                "SELECT nextval('orders_id_seq'), E'a\\'b', $$x$$, \"Col 1\" FROM t2",
                p
            ),
            "SELECT nextval('orders_id_seq'), '?', '?', \"Col 1\" FROM t2"
        );
        // The same shape whatever the values.
        assert_eq!(
            fingerprint("INSERT INTO o (a) VALUES (1.50, 'x')", m),
            fingerprint("INSERT INTO o (a)\n VALUES (22.5, 'it''s')", m)
        );
        // Names with digits stay names.
        assert_eq!(
            fingerprint("SELECT * FROM t1 JOIN x2y", m),
            "SELECT * FROM t1 JOIN x2y"
        );
    }

    #[test]
    fn hostile_text_never_panics() {
        for s in [
            "'",
            "\"",
            "`",
            "/*",
            "$a",
            "$$",
            "E'",
            "-",
            "\u{e9}'\u{1F600}",
            "--",
            "0x'",
        ] {
            for e in [Engine::MySql, Engine::Postgres] {
                let fp = fingerprint(s, e);
                let _ = analyse(&fp, e);
            }
        }
        // Random text from the pieces that steer the scanner, on both engines.
        let pieces = [
            "'",
            "\"",
            "`",
            "\\",
            "$$",
            "$a$",
            "/*",
            "*/",
            "/*!",
            "--",
            "#",
            "\n",
            "E'",
            "x'",
            "1",
            "0.5",
            "é",
            "😀",
            "中",
            " ",
            "(",
            ")",
            ",",
            ";",
            "SELECT",
            "FROM t",
            "INSERT INTO",
            "VALUES (",
            "nextval(",
            "<REDACTED>",
            "INTO OUTFILE",
            "UPDATE",
            "WHERE",
        ];
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..3000 {
            let mut s = String::new();
            for _ in 0..(x % 24) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(pieces[(x % pieces.len() as u64) as usize]);
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for e in [Engine::MySql, Engine::Postgres] {
                let fp = fingerprint(&s, e);
                let _ = analyse(&fp, e);
            }
        }
        let deep = "SELECT ".to_string() + &"(".repeat(5000) + "1" + &")".repeat(5000);
        assert!(analyse(&fingerprint(&deep, Engine::MySql), Engine::MySql).not_understood);
    }

    #[test]
    fn update_with_a_where_clause_needs_select_on_its_table() {
        use TablePriv::*;
        assert_eq!(
            tables(
                "UPDATE orders SET amount = amount + 1 WHERE id = 3",
                Engine::MySql
            ),
            vec![(n(None, "orders"), Select), (n(None, "orders"), Update)]
        );
        assert_eq!(
            tables("UPDATE orders SET amount = 3", Engine::MySql),
            vec![(n(None, "orders"), Update)]
        );
        assert_eq!(
            tables("DELETE FROM shop.orders", Engine::MySql),
            vec![(n(Some("shop"), "orders"), Delete)]
        );
        assert_eq!(
            tables(
                "DELETE FROM orders WHERE id IN (SELECT id FROM x)",
                Engine::Postgres
            ),
            vec![
                (n(None, "orders"), Select),
                (n(None, "orders"), Delete),
                (n(None, "x"), Select)
            ]
        );
    }

    #[test]
    fn reads_are_every_relation_but_ctes() {
        use TablePriv::*;
        let sql = "WITH recent AS (SELECT * FROM orders) SELECT c.name, SUM(r.amount) FROM customers c JOIN recent r ON r.customer_id = c.id JOIN billing.invoices i ON i.id = c.id GROUP BY c.name";
        assert_eq!(
            tables(sql, Engine::MySql),
            vec![
                (n(None, "customers"), Select),
                (n(None, "orders"), Select),
                (n(Some("billing"), "invoices"), Select)
            ]
        );
    }

    #[test]
    fn insert_select_and_returning_and_upsert() {
        use TablePriv::*;
        assert_eq!(
            tables("INSERT INTO a (x) SELECT y FROM b", Engine::Postgres),
            vec![(n(None, "a"), Insert), (n(None, "b"), Select)]
        );
        assert_eq!(
            tables(
                "INSERT INTO a (x) VALUES (1) RETURNING id",
                Engine::Postgres
            ),
            vec![(n(None, "a"), Select), (n(None, "a"), Insert)]
        );
        assert_eq!(
            tables(
                "INSERT INTO a (x) VALUES (1) ON DUPLICATE KEY UPDATE x = x + 1",
                Engine::MySql
            ),
            vec![
                (n(None, "a"), Select),
                (n(None, "a"), Insert),
                (n(None, "a"), Update)
            ]
        );
        assert_eq!(
            tables("REPLACE INTO a VALUES (1)", Engine::MySql),
            vec![(n(None, "a"), Insert), (n(None, "a"), Delete)]
        );
    }

    #[test]
    fn postgres_inserts_name_their_columns_and_sequences_are_found() {
        let e = Engine::Postgres;
        let needs = analyse(
            &fingerprint(
                "INSERT INTO Orders (customer_id, \"Note\") VALUES (1, 'x')",
                e,
            ),
            e,
        );
        assert_eq!(
            needs.inserts,
            vec![(
                n(None, "orders"),
                InsertColumns::Named(vec!["Note".into(), "customer_id".into()])
            )]
        );
        let needs = analyse(&fingerprint("INSERT INTO t VALUES (1, 2)", e), e);
        assert_eq!(
            needs.inserts,
            vec![(n(None, "t"), InsertColumns::Positional(Some(2)))]
        );
        let needs = analyse(
            &fingerprint("SELECT nextval('public.s1'), setval('s2', 5)", e),
            e,
        );
        assert_eq!(
            needs.sequences,
            vec![(n(None, "s2"), true), (n(Some("public"), "s1"), false)]
        );
    }

    #[test]
    fn engines_differ_on_ddl() {
        use TablePriv::*;
        assert_eq!(
            tables("TRUNCATE TABLE shop.audit_tmp", Engine::MySql),
            vec![(n(Some("shop"), "audit_tmp"), Drop)]
        );
        assert_eq!(
            tables("TRUNCATE TABLE audit_tmp", Engine::Postgres),
            vec![(n(None, "audit_tmp"), Truncate)]
        );
        let pg = analyse("DROP TABLE tmp_import", Engine::Postgres);
        assert!(
            pg.tables.is_empty() && pg.beyond[0].contains("owner"),
            "{pg:?}"
        );
        let my = analyse("GRANT SELECT ON shop.* TO 'r'@'%'", Engine::MySql);
        assert!(my.beyond[0].contains("administration"), "{my:?}");
        let out = analyse(
            &fingerprint(
                "SELECT * FROM shop.customers INTO OUTFILE '/tmp/x'",
                Engine::MySql,
            ),
            Engine::MySql,
        );
        assert_eq!(out.global, vec!["FILE"]);
        let copy = analyse(
            &fingerprint(
                "COPY (SELECT * FROM customers) TO PROGRAM 'cat'",
                Engine::Postgres,
            ),
            Engine::Postgres,
        );
        assert_eq!(copy.tables, vec![(n(None, "customers"), Select)]);
        assert!(copy.beyond[0].contains("PROGRAM"));
    }

    #[test]
    fn cut_inserts_and_outfile_exports_are_still_read() {
        use TablePriv::*;
        let e = Engine::MySql;
        let cut = "INSERT INTO staging (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'unterminat";
        let needs = analyse(&fingerprint(cut, e), e);
        assert_eq!(needs.tables, vec![(n(None, "staging"), Insert)]);
        for sql in [
            "SELECT * FROM shop.customers INTO OUTFILE '/tmp/c.csv' FIELDS TERMINATED BY ','",
            "SELECT * INTO OUTFILE '/tmp/c.csv' FROM shop.customers",
            "SELECT/**/*/**/FROM/**/shop.customers/**/INTO/**/DUMPFILE '/tmp/a'",
        ] {
            let needs = analyse(&fingerprint(sql, e), e);
            assert_eq!(
                needs.tables,
                vec![(n(Some("shop"), "customers"), Select)],
                "{sql}"
            );
            assert_eq!(needs.global, vec!["FILE"], "{sql}");
        }
    }

    #[test]
    fn session_statements_need_nothing() {
        for (s, e) in [
            ("USE shop", Engine::MySql),
            ("SET NAMES utf8mb4", Engine::MySql),
            ("BEGIN", Engine::Postgres),
            ("COMMIT", Engine::Postgres),
            ("SHOW TABLES", Engine::MySql),
            ("SELECT 1", Engine::Postgres),
        ] {
            assert_eq!(analyse(&fingerprint(s, e), e), Needs::default(), "{s}");
        }
    }
}
