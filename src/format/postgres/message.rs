//! What a record's message means: statements, pgaudit `AUDIT:` records and their CSV
//! fields.

use super::super::Reason;
use crate::classify::{classify, StatementClass};
use crate::event::{Event, Operation, Text};

/// `log_error_verbosity = verbose` puts the SQLSTATE before the message (`00000: `).
#[inline]
pub(super) fn skip_sqlstate(msg: &[u8]) -> &[u8] {
    if msg.len() > 7
        && msg[5] == b':'
        && msg[6] == b' '
        && msg[..5]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && &msg[..5] != b"AUDIT"
    {
        &msg[7..]
    } else {
        msg
    }
}

pub(super) fn statement<'a>(sql: &'a [u8], e: &mut Event<'a>) {
    e.operation = Operation::Query;
    e.object = Text::Raw(sql);
    e.statement_class = Some(classify(sql));
}

/// `execute <name>: SQL` (extended protocol): the SQL.
pub(super) fn executed(msg: &[u8]) -> Option<&[u8]> {
    let i = memchr::memmem::find(msg, b": ")?;
    Some(&msg[i + 2..])
}

/// The space-delimited word after `key` (`user=app` → `app`).
pub(super) fn word_after<'a>(s: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let i = memchr::memmem::find(s, key)? + key.len();
    let rest = &s[i..];
    let end = rest
        .iter()
        .position(|c| c.is_ascii_whitespace())
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The text up to the next `"`.
pub(super) fn quoted(s: &[u8]) -> Option<&[u8]> {
    memchr::memchr(b'"', s).map(|i| &s[..i])
}

/// The quoted value after `key` (`user "app"` → `app`).
pub(super) fn after_quote<'a>(s: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let i = memchr::memmem::find(s, key)? + key.len();
    quoted(&s[i..])
}

/// A pgaudit record: `AUDIT_TYPE,STATEMENT_ID,SUBSTATEMENT_ID,CLASS,COMMAND,OBJECT_TYPE,
/// OBJECT_NAME,STATEMENT,PARAMETER[,ROWS]` (formats.md §4.4). The statement becomes the
/// object; the class comes from pgaudit's CLASS and COMMAND where they decide it, otherwise
/// from the text.
///
/// `cut`: the record was cut at the record limit, so a quoted STATEMENT may not close; its
/// text then runs to the cut.
pub(super) fn audit<'a>(csv: &'a [u8], e: &mut Event<'a>, cut: bool) -> Result<(), Reason> {
    // The Aurora documentation shows the CSV on the line after `AUDIT:`.
    let mut rest = csv.trim_ascii_start();
    let field = |rest: &mut &'a [u8]| csv_field(rest).ok_or(Reason::MissingFields);
    let _audit_type = field(&mut rest)?;
    let (statement_id, _) = field(&mut rest)?;
    let _substatement_id = field(&mut rest)?;
    let (class, _) = field(&mut rest)?;
    let (command, _) = field(&mut rest)?;
    let _object_type = field(&mut rest)?;
    let _object_name = field(&mut rest)?;
    let (sql, doubled) = match csv_field(&mut rest) {
        Some(f) => f,
        None if cut => {
            let sql = rest.strip_prefix(b"\"").unwrap_or(rest);
            (sql, memchr::memmem::find(sql, b"\"\"").is_some())
        }
        None => return Err(Reason::MissingFields),
    };
    e.operation = Operation::Query;
    e.query_id = statement_id
        .iter()
        .try_fold(0i64, |v, &c| {
            c.is_ascii_digit()
                .then(|| v.checked_mul(10)?.checked_add((c - b'0') as i64))
                .flatten()
        })
        .unwrap_or(0);
    e.object = if doubled {
        Text::Quoted(sql)
    } else {
        Text::Raw(sql)
    };
    // `<previously logged>`, `<not logged>`: no text to read.
    let text_known = !sql.starts_with(b"<");
    e.statement_class = Some(audit_class(class, command, text_known.then_some(sql)));
    Ok(())
}

/// pgaudit's CLASS and COMMAND where they settle the question (every ROLE statement changes
/// privileges; dropping or truncating a table destroys data whatever the text looks like),
/// else the statement text (which also sees `DELETE` without `WHERE` and `COPY ... TO
/// PROGRAM` inside WRITE and READ), else the class alone.
pub(super) fn audit_class(class: &[u8], command: &[u8], sql: Option<&[u8]>) -> StatementClass {
    if class == b"ROLE" {
        return StatementClass::Privilege;
    }
    const DESTROYING: [&[u8]; 5] = [
        b"DROP TABLE",
        b"DROP DATABASE",
        b"DROP SCHEMA",
        b"TRUNCATE TABLE",
        b"TRUNCATE",
    ];
    if DESTROYING.iter().any(|c| command.eq_ignore_ascii_case(c)) {
        return StatementClass::Destructive;
    }
    if let Some(sql) = sql {
        let c = classify(sql);
        if c != StatementClass::Other {
            return c;
        }
    }
    match class {
        b"DDL" => StatementClass::Ddl,
        b"WRITE" => StatementClass::Write,
        b"READ" => StatementClass::Read,
        _ => StatementClass::Other,
    }
}

/// One CSV field with pgaudit's quoting (double quotes around a field holding `,` `"` CR or
/// LF, `""` for a quote): the field (inside the quotes) and whether it holds `""`. Advances
/// `rest` past the comma.
pub(super) fn csv_field<'a>(rest: &mut &'a [u8]) -> Option<(&'a [u8], bool)> {
    let s = *rest;
    if s.first() == Some(&b'"') {
        let mut i = 1;
        let mut doubled = false;
        loop {
            let q = i + memchr::memchr(b'"', &s[i..])?;
            if s.get(q + 1) == Some(&b'"') {
                doubled = true;
                i = q + 2;
                continue;
            }
            let after = &s[q + 1..];
            *rest = match after.first() {
                Some(b',') => &after[1..],
                None => after,
                // Text after the closing quote: not pgaudit's CSV.
                Some(_) => return None,
            };
            return Some((&s[1..q], doubled));
        }
    }
    match memchr::memchr(b',', s) {
        Some(i) => {
            *rest = &s[i + 1..];
            Some((&s[..i], false))
        }
        None => {
            *rest = &s[s.len()..];
            Some((s, false))
        }
    }
}
