//! DDL.

use super::tokens::{Kind, Token, Tokens};
use super::*;

/// Untrusted procedural languages and the ones that load machine code.
pub(super) fn is_untrusted_language(lang: &Token<'_>) -> bool {
    let t = lang.text;
    let lower = |s: &[u8]| t.eq_ignore_ascii_case(s);
    lower(b"c")
        || lower(b"internal")
        || lower(b"plsh")
        || (t.len() > 3 && t[..2].eq_ignore_ascii_case(b"pl") && (t[t.len() - 1] | 0x20) == b'u')
}

/// Extensions that run code or reach files (code execution) or other servers (exfiltration).
pub(super) fn extension_class(name: &Token<'_>) -> Option<StatementClass> {
    let n = |s: &str| name.text.eq_ignore_ascii_case(s.as_bytes());
    if n("adminpack")
        || n("dblink")
        || n("plsh")
        || n("pg_execute_server_program")
        || is_untrusted_language(name) && !n("c")
    {
        Some(C::CodeExecution)
    } else if n("postgres_fdw")
        || n("mysql_fdw")
        || n("oracle_fdw")
        || n("tds_fdw")
        || n("file_fdw")
        || n("log_fdw")
    {
        Some(C::Exfiltration)
    } else {
        None
    }
}

/// `ENGINE = FEDERATED|CONNECT` in a table definition: the table's rows live on another
/// server (or in a file).
pub(super) fn remote_engine(toks: Tokens<'_>) -> bool {
    let mut toks = toks;
    while let Some(t) = toks.next() {
        if t.is("ENGINE") {
            let mut v = toks.next();
            if v.is_some_and(|v| v.is_punct(b'=')) {
                v = toks.next();
            }
            return v.is_some_and(|v| v.is("FEDERATED") || v.is("CONNECT"));
        }
    }
    false
}

/// The next word after the noise words `OR REPLACE`, `IF [NOT] EXISTS`, `DEFINER = x`,
/// `AGGREGATE`, `TRUSTED`, `PROCEDURAL`, `TEMPORARY`, `UNLOGGED`, `GLOBAL`, `LOCAL`.
pub(super) fn object_word<'a>(toks: &mut Tokens<'a>) -> Option<Token<'a>> {
    loop {
        let t = toks.next()?;
        if t.is("OR") {
            toks.next(); // REPLACE
        } else if t.is("IF") {
            let n = toks.next()?;
            if n.is("NOT") {
                toks.next();
            }
        } else if t.is("DEFINER") {
            // DEFINER = user@host: skip to the next keyword-looking word.
            toks.next(); // =
            toks.next(); // user
            let mut peek = toks.clone();
            if peek.next().is_some_and(|p| p.is_punct(b'@')) {
                toks.next();
                toks.next();
            }
        } else if [
            "AGGREGATE",
            "TRUSTED",
            "PROCEDURAL",
            "UNLOGGED",
            "GLOBAL",
            "LOCAL",
            "SQL",
        ]
        .iter()
        .any(|k| t.is(k))
            || (t.is("SECURITY") && {
                toks.next();
                true
            })
        {
        } else {
            return Some(t);
        }
    }
}

/// The word after `IF [NOT] EXISTS`.
pub(super) fn name_word<'a>(toks: &mut Tokens<'a>) -> Option<Token<'a>> {
    let t = toks.next()?;
    if t.is("IF") {
        let n = toks.next()?;
        if n.is("NOT") {
            toks.next();
        }
        return toks.next();
    }
    Some(t)
}

pub(super) fn create(mut toks: Tokens<'_>) -> StatementClass {
    let Some(object) = object_word(&mut toks) else {
        return C::Ddl;
    };
    if object.is("USER") {
        let mut peek = toks.clone();
        return if peek.next().is_some_and(|t| t.is("MAPPING")) {
            C::Exfiltration
        } else {
            C::Privilege
        };
    }
    if object.is("ROLE") || object.is("GROUP") {
        return C::Privilege;
    }
    if object.is("FUNCTION") || object.is("PROCEDURE") {
        let mut t = toks.clone();
        while let Some(w) = t.next() {
            if w.is("SONAME") {
                return C::CodeExecution;
            }
            if w.is("LANGUAGE") && t.next().is_some_and(|l| is_untrusted_language(&l)) {
                return C::CodeExecution;
            }
        }
        return scan_calls(toks.rest()).unwrap_or(C::Ddl);
    }
    if object.is("LANGUAGE") {
        return match toks.next() {
            Some(l) if is_untrusted_language(&l) => C::CodeExecution,
            _ => C::Ddl,
        };
    }
    if object.is("EXTENSION") {
        return name_word(&mut toks)
            .and_then(|n| extension_class(&n))
            .unwrap_or(C::Ddl);
    }
    if object.is("SERVER") || object.is("FOREIGN") {
        return C::Exfiltration;
    }
    if object.is("TABLE") && remote_engine(toks.clone()) {
        return C::Exfiltration;
    }
    scan_calls(toks.rest()).unwrap_or(C::Ddl)
}

pub(super) fn alter(mut toks: Tokens<'_>) -> StatementClass {
    let Some(object) = toks.next() else {
        return C::Ddl;
    };
    if object.is("SYSTEM") {
        return assignments(toks).unwrap_or(C::Other);
    }
    if object.is("USER") || object.is("ROLE") || object.is("GROUP") {
        let mut t = toks.clone();
        while let Some(w) = t.next() {
            if w.is("REQUIRE") && t.clone().next().is_some_and(|n| n.is("NONE")) {
                return C::Tls;
            }
            if w.is("SET") {
                if let Some(c) = assignments(t.clone()) {
                    return c;
                }
            }
        }
        return C::Privilege;
    }
    if object.is("DATABASE") {
        return assignments(toks).unwrap_or(C::Ddl);
    }
    if object.is("TABLE") {
        if remote_engine(toks.clone()) {
            return C::Exfiltration;
        }
        if toks.any(|t| t.is("DROP")) {
            return C::Destructive;
        }
    }
    C::Ddl
}

pub(super) fn drop(mut toks: Tokens<'_>) -> StatementClass {
    let Some(object) = object_word(&mut toks) else {
        return C::Ddl;
    };
    if object.is("DATABASE") || object.is("SCHEMA") || object.is("TABLE") || object.is("TEMPORARY")
    {
        C::Destructive
    } else if object.is("USER") || object.is("ROLE") || object.is("GROUP") {
        C::Privilege
    } else if object.is("EXTENSION") && name_word(&mut toks).is_some_and(|n| n.is("PGAUDIT")) {
        C::Audit
    } else {
        C::Ddl
    }
}

/// `LOAD DATA|XML [LOW_PRIORITY|CONCURRENT] [LOCAL] INFILE`: a server file read unless
/// `LOCAL` (the client's file). PostgreSQL `LOAD 'library'` loads a shared object.
pub(super) fn load(mut toks: Tokens<'_>) -> StatementClass {
    match toks.next() {
        Some(t) if t.kind == Kind::Str => return C::CodeExecution,
        Some(t) if t.is("DATA") || t.is("XML") => {}
        _ => return C::Write,
    }
    for t in toks.take(4) {
        if t.is("LOCAL") {
            return C::Write;
        }
        if t.is("INFILE") {
            return C::Exfiltration;
        }
    }
    C::Write
}

/// `COPY … FROM PROGRAM` runs a shell command; `COPY … TO PROGRAM` and `COPY … FROM|TO
/// 'file'` move data to or from a server file; `STDIN`/`STDOUT` are a client's copy.
pub(super) fn copy(toks: Tokens<'_>) -> StatementClass {
    let mut depth = 0i32;
    let mut toks = toks;
    while let Some(t) = toks.next() {
        if t.is_punct(b'(') {
            depth += 1;
        } else if t.is_punct(b')') {
            depth -= 1;
        } else if depth == 0 && (t.is("FROM") || t.is("TO")) {
            return match toks.next() {
                Some(p) if p.is("PROGRAM") => {
                    if t.is("FROM") {
                        C::CodeExecution
                    } else {
                        C::Exfiltration
                    }
                }
                Some(s) if s.is("STDIN") || s.is("STDOUT") => C::Write,
                Some(_) => C::Exfiltration,
                None => C::Write,
            };
        }
    }
    C::Write
}

/// `INSTALL PLUGIN x SONAME 'y'` / `INSTALL SONAME 'y'` load a shared object (code
/// execution, unless it is the audit plugin itself); uninstalling the audit plugin turns
/// auditing off.
pub(super) fn install(mut toks: Tokens<'_>, uninstall: bool) -> StatementClass {
    let what = toks.next();
    let name = toks.next();
    let audit = name
        .is_some_and(|n| n.text.len() >= 12 && n.text[..12].eq_ignore_ascii_case(b"server_audit"));
    let known = what.is_some_and(|w| w.is("PLUGIN") || w.is("SONAME"));
    match (known, uninstall, audit) {
        (true, true, true) => C::Audit,
        (true, false, false) => C::CodeExecution,
        _ => C::Other,
    }
}
