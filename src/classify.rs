//! `statement_class`: what kind of statement a query is, from its text alone.
//!
//! The audit plugins log every statement as `QUERY` (formats.md §1.2), so privilege changes,
//! destructive statements, file access, code execution and changes to the audit or TLS
//! settings can only be recognised from the text. Classification reads the normalised token
//! stream of [`tokens`] (comments, whitespace, case, quoting and the log's escaping taken
//! out), so `SELECT/**/*/**/FROM/**/t/**/INTO/**/OUTFILE` reads like `SELECT * FROM t INTO
//! OUTFILE`. It works on prefixes, because the plugin may truncate a statement at
//! `server_audit_query_log_limit`, and never allocates.
//!
//! The hot path (ordinary reads and writes) costs one tokenised first keyword and one SIMD
//! pass over the bytes looking for `(` and `f`: only a function call whose name is one of a
//! few server-file, remote-server or shell functions, or the word `OUTFILE`/`DUMPFILE`, sends
//! the statement through the token stream again to confirm it is code and not a literal.

mod calls;
mod ddl;
mod filters;
mod settings;
#[cfg(test)]
mod tests;
pub mod tokens;

use calls::*;
use ddl::*;
use filters::*;
use settings::*;
use tokens::{is_ident, Kind, Token, Tokens};

/// The classes of CONTRACT.md, in the order of precedence used when a statement fits several;
/// `code_execution`, `audit` and `tls` are additions (after `other`, so the original ones
/// keep their numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatementClass {
    Privilege,
    Destructive,
    Exfiltration,
    Ddl,
    Write,
    Read,
    Other,
    /// Runs code on the server: UDFs from shared objects, untrusted languages, `COPY … FROM
    /// PROGRAM`, dangerous extensions, writes into the plugin directory.
    CodeExecution,
    /// Turns audit logging off or narrows it (`server_audit_*`, `pgaudit.log`,
    /// `log_connections`, `UNINSTALL PLUGIN server_audit`, `DROP EXTENSION pgaudit`).
    Audit,
    /// Weakens transport security (`require_secure_transport`, `ssl`,
    /// `ssl_min_protocol_version`, `ALTER USER … REQUIRE NONE`).
    Tls,
}

impl StatementClass {
    pub fn as_str(self) -> &'static str {
        match self {
            StatementClass::Privilege => "privilege",
            StatementClass::Destructive => "destructive",
            StatementClass::Exfiltration => "exfiltration",
            StatementClass::Ddl => "ddl",
            StatementClass::Write => "write",
            StatementClass::Read => "read",
            StatementClass::Other => "other",
            StatementClass::CodeExecution => "code_execution",
            StatementClass::Audit => "audit",
            StatementClass::Tls => "tls",
        }
    }
}

use StatementClass as C;

/// Classifies a statement. `escaped` text may contain `\n`-style escapes; they are treated as
/// whitespace, which is what they stand for.
pub fn classify(sql: &[u8]) -> StatementClass {
    // Fast path: a statement that starts with a keyword (the usual case).
    let (first, mut toks) = match sql.first() {
        Some(c) if c.is_ascii_alphabetic() && !matches!(sql.get(1), Some(b'\'' | b'\\')) => {
            let n = sql.iter().position(|&c| !is_ident(c)).unwrap_or(sql.len());
            let word = Token {
                kind: Kind::Word,
                text: &sql[..n],
            };
            (word, Tokens::new(&sql[n..]))
        }
        _ => {
            let mut toks = Tokens::new(sql);
            let first = loop {
                match toks.next() {
                    None => return C::Other,
                    Some(t) if t.is_punct(b';') => continue,
                    Some(t) => break t,
                }
            };
            (first, toks)
        }
    };
    let rest = toks.rest();
    if first.is_punct(b'(') {
        return scan_calls(rest).unwrap_or(C::Read);
    }
    if first.kind != Kind::Word {
        return C::Other;
    }
    // The first keyword, upper-cased (every keyword below has at most 9 letters), decides.
    let mut upper = [0u8; 9];
    let key: &[u8] = if first.text.len() <= upper.len() {
        for (u, c) in upper.iter_mut().zip(first.text) {
            *u = c.to_ascii_uppercase();
        }
        &upper[..first.text.len()]
    } else {
        b""
    };
    match key {
        b"SELECT" | b"SHOW" | b"DESCRIBE" | b"DESC" | b"EXPLAIN" | b"WITH" | b"TABLE"
        | b"VALUES" | b"HANDLER" => scan_calls(rest).unwrap_or(C::Read),
        b"INSERT" | b"REPLACE" | b"MERGE" | b"UPSERT" => scan_calls(rest).unwrap_or(C::Write),
        b"DELETE" | b"UPDATE" => scan_calls(rest).unwrap_or_else(|| filtered_write(toks)),
        b"GRANT" | b"REVOKE" => C::Privilege,
        b"TRUNCATE" => C::Destructive,
        b"SET" => set_statement(toks),
        b"CREATE" => create(toks),
        b"ALTER" => alter(toks),
        b"DROP" => drop(toks),
        b"RENAME" => match toks.next() {
            Some(t) if t.is("USER") => C::Privilege,
            _ => C::Ddl,
        },
        b"LOAD" => load(toks),
        b"COPY" => copy(toks),
        b"INSTALL" => install(toks, false),
        b"UNINSTALL" => install(toks, true),
        _ => scan_calls(rest).unwrap_or(C::Other),
    }
}
