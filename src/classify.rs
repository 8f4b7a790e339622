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
    // Fast path: a statement that starts with a keyword (the usual case), perhaps behind
    // whitespace or a comment.
    let (first, mut toks) = match leading_word(sql) {
        Some(first) => first,
        None => {
            let mut toks = Tokens::new(sql);
            toks.skip_separators();
            match leading_word(toks.rest()) {
                Some(first) => first,
                None => {
                    let first = loop {
                        match toks.next() {
                            None => return C::Other,
                            Some(t) if t.is_punct(b';') => continue,
                            Some(t) => break t,
                        }
                    };
                    (first, toks)
                }
            }
        }
    };
    let rest = toks.rest();
    if first.is_punct(b'(') {
        return scan_calls(rest).unwrap_or(C::Read);
    }
    if first.kind != Kind::Word {
        return C::Other;
    }
    // The first keyword decides: its bytes as one number, letters upper-cased (every keyword
    // below but `UNINSTALL` has at most 8 letters), compared with the keywords' numbers.
    let key = word_key(first.text);
    match key {
        SELECT | SHOW | DESCRIBE | DESC | EXPLAIN | WITH | TABLE | VALUES | HANDLER => {
            scan_calls(rest).unwrap_or(C::Read)
        }
        INSERT | REPLACE | MERGE | UPSERT => scan_calls(rest).unwrap_or(C::Write),
        DELETE | UPDATE => scan_calls(rest).unwrap_or_else(|| filtered_write(toks)),
        GRANT | REVOKE => C::Privilege,
        TRUNCATE => C::Destructive,
        SET => set_statement(toks),
        CREATE => create(toks),
        ALTER => alter(toks),
        DROP => drop(toks),
        RENAME => match toks.next() {
            Some(t) if t.is("USER") => C::Privilege,
            _ => C::Ddl,
        },
        LOAD => load(toks),
        COPY => copy(toks),
        INSTALL => install(toks, false),
        _ if first.is("UNINSTALL") => install(toks, true),
        _ => scan_calls(rest).unwrap_or(C::Other),
    }
}

/// The bare word that starts `s` and the tokens after it; `None` when `s` does not start
/// with a letter, or starts a prefixed literal (`E'…'`, `X\'…\'`).
#[inline]
fn leading_word(s: &[u8]) -> Option<(Token<'_>, Tokens<'_>)> {
    match s.first() {
        Some(c) if c.is_ascii_alphabetic() && !matches!(s.get(1), Some(b'\'' | b'\\')) => {
            let n = word_len(s);
            let word = Token {
                kind: Kind::Word,
                text: &s[..n],
            };
            Some((word, Tokens::new(&s[n..])))
        }
        _ => None,
    }
}

/// The length of the run of name bytes that starts `s`: 16 bytes at once when there are
/// as many (a statement's first keyword is shorter).
#[inline]
fn word_len(s: &[u8]) -> usize {
    if s.len() >= 16 {
        let other = !ident_mask16(s, 0) & 0xffff;
        if other != 0 {
            return other.trailing_zeros() as usize;
        }
    }
    s.iter().position(|&c| !is_ident(c)).unwrap_or(s.len())
}

/// A word of up to 8 bytes as a little-endian number with its letters upper-cased, 0 for a
/// longer one. Clearing bit 5 upper-cases a lower-case letter and turns no other byte into
/// a letter, so the number equals a keyword's [`key`] only when the word is that keyword in
/// some case.
#[inline]
fn word_key(w: &[u8]) -> u64 {
    if w.is_empty() || w.len() > 8 {
        return 0;
    }
    crate::bytes::load_short(w) as u64 & 0xdfdf_dfdf_dfdf_dfdf
}

/// [`word_key`] of an upper-case keyword.
const fn key(kw: &str) -> u64 {
    let b = kw.as_bytes();
    let mut k = 0u64;
    let mut i = 0;
    while i < b.len() {
        k |= (b[i] as u64) << (8 * i);
        i += 1;
    }
    k
}

const SELECT: u64 = key("SELECT");
const SHOW: u64 = key("SHOW");
const DESCRIBE: u64 = key("DESCRIBE");
const DESC: u64 = key("DESC");
const EXPLAIN: u64 = key("EXPLAIN");
const WITH: u64 = key("WITH");
const TABLE: u64 = key("TABLE");
const VALUES: u64 = key("VALUES");
const HANDLER: u64 = key("HANDLER");
const INSERT: u64 = key("INSERT");
const REPLACE: u64 = key("REPLACE");
const MERGE: u64 = key("MERGE");
const UPSERT: u64 = key("UPSERT");
const DELETE: u64 = key("DELETE");
const UPDATE: u64 = key("UPDATE");
const GRANT: u64 = key("GRANT");
const REVOKE: u64 = key("REVOKE");
const TRUNCATE: u64 = key("TRUNCATE");
const SET: u64 = key("SET");
const CREATE: u64 = key("CREATE");
const ALTER: u64 = key("ALTER");
const DROP: u64 = key("DROP");
const RENAME: u64 = key("RENAME");
const LOAD: u64 = key("LOAD");
const COPY: u64 = key("COPY");
const INSTALL: u64 = key("INSTALL");
