//! Settings: SET, ALTER SYSTEM, ALTER DATABASE/ROLE … SET, set_config().

use super::tokens::{Kind, Token, Tokens};
use super::*;

/// A falsy setting value: `OFF`, `0`, `FALSE`, `NO`, `NONE`, quoted or not.
pub(super) fn is_off(v: &Token<'_>) -> bool {
    ["OFF", "0", "FALSE", "NO", "NONE", ""]
        .iter()
        .any(|s| v.value_is(s))
}

/// The class an assignment gives a statement: `audit` for one that turns audit logging off
/// or narrows it, `tls` for one that weakens transport security. `qualifier` is the part
/// before a dot (`pgaudit` of `pgaudit.log`, `global` of `@@global.x`).
pub(super) fn setting_class(
    qualifier: &[u8],
    name: &[u8],
    value: &Token<'_>,
) -> Option<StatementClass> {
    let n = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
    if qualifier.eq_ignore_ascii_case(b"pgaudit") {
        if n("log") || n("log_catalog") || n("log_relation") || n("role") {
            // Anything but a plain `all` narrows what pgaudit writes.
            let all = value.value_is("all");
            return (!all || n("role")).then_some(C::Audit);
        }
        return None;
    }
    if n("server_audit_logging")
        || n("log_connections")
        || n("log_disconnections")
        || n("logging_collector")
    {
        return is_off(value).then_some(C::Audit);
    }
    if n("server_audit_events") {
        // Empty logs every event; a list without both CONNECT and QUERY narrows the audit.
        let has = |e: &[u8]| {
            value
                .text
                .split(|&c| c == b',' || c.is_ascii_whitespace())
                .any(|v| v.eq_ignore_ascii_case(e))
        };
        let full = value.text.is_empty() || has(b"CONNECT") && has(b"QUERY");
        return (!full).then_some(C::Audit);
    }
    if n("server_audit_excl_users") || n("server_audit_incl_users") {
        // An empty list excludes no one (and an empty include list includes everyone).
        return (!value.text.is_empty()).then_some(C::Audit);
    }
    if n("log_statement") {
        return (!(value.value_is("all") || value.value_is("mod"))).then_some(C::Audit);
    }
    if n("require_secure_transport") || n("ssl") {
        return is_off(value).then_some(C::Tls);
    }
    if n("ssl_min_protocol_version") || n("tls_version") || n("admin_tls_version") {
        let weak = value
            .text
            .split(|&c| c == b',' || c.is_ascii_whitespace())
            .any(|v| v.eq_ignore_ascii_case(b"TLSv1") || v.eq_ignore_ascii_case(b"TLSv1.1"));
        return weak.then_some(C::Tls);
    }
    None
}

/// `set_config('pgaudit.log', …)`: the name as one literal.
pub(super) fn dotted_setting(name: &[u8], value: Token<'_>) -> Option<StatementClass> {
    match name.iter().position(|&c| c == b'.') {
        Some(dot) => setting_class(&name[..dot], &name[dot + 1..], &value),
        None => setting_class(b"", name, &value),
    }
}

/// The assignments `[qualifier.]name = value` / `name TO value` in the rest of a statement:
/// the first that gives a class.
pub(super) fn assignments(toks: Tokens<'_>) -> Option<StatementClass> {
    let mut qualifier: &[u8] = b"";
    let mut name: &[u8] = b"";
    let mut after_dot = false;
    let mut toks = toks.peekable();
    while let Some(t) = toks.next() {
        if t.kind == Kind::Word && !t.is("TO") {
            if after_dot {
                qualifier = name;
            } else {
                qualifier = b"";
            }
            name = t.text;
            after_dot = false;
            continue;
        }
        if t.is_punct(b'.') {
            after_dot = true;
            continue;
        }
        after_dot = false;
        let assign = t.is("TO")
            || t.is_punct(b'=')
            || (t.is_punct(b':') && toks.peek().is_some_and(|n| n.is_punct(b'=')));
        if assign {
            if t.is_punct(b':') {
                toks.next();
            }
            let value = toks.next()?;
            if let Some(c) = setting_class(qualifier, name, &value) {
                return Some(c);
            }
            name = b"";
        }
    }
    None
}

/// `SET`: passwords and default roles are privilege changes; audit and TLS settings are
/// checked; everything else is `other`.
pub(super) fn set_statement(toks: Tokens<'_>) -> StatementClass {
    let mut w = toks.clone();
    match w.next() {
        Some(t) if t.is("PASSWORD") => return C::Privilege,
        Some(t) if t.is("DEFAULT") && w.next().is_some_and(|t| t.is("ROLE")) => {
            return C::Privilege
        }
        _ => {}
    }
    assignments(toks).unwrap_or(C::Other)
}
