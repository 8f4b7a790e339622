//! The hot path: function calls and OUTFILE/DUMPFILE anywhere in the statement.

use super::tokens::{decode_literal, is_ident, Kind, Token, Tokens};
use super::*;

/// Function names (lower case) that read or write server files or reach another server,
/// run code, or change settings; `None` when `name` is none of them. `set_config` needs its
/// arguments to decide.
#[inline]
pub(super) fn call_class(name: &[u8]) -> Option<StatementClass> {
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

pub(super) fn call_class_of(name: &[u8]) -> Option<StatementClass> {
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
pub(super) fn scan_calls(rest: &[u8]) -> Option<StatementClass> {
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
pub(super) fn call_at(s: &[u8], i: usize) -> Option<StatementClass> {
    let (start, c) = call_before(s, i)?;
    confirm_call(s, start, c)
}

#[inline(never)]
pub(super) fn confirm_call(s: &[u8], start: usize, c: StatementClass) -> Option<StatementClass> {
    match c {
        C::Audit => Some(C::Audit),
        c => tokens::at_code_level(s, start).then_some(c),
    }
}

/// The class an `INTO OUTFILE|DUMPFILE` whose `FILE` starts at the `f` at `i` gives the
/// statement, if any; `Some(Audit)` when the token stream must decide. Inlined: most `f`
/// are rejected by one comparison.
#[inline]
pub(super) fn outfile_at(s: &[u8], i: usize) -> Option<StatementClass> {
    let word = s.get(i..i + 4)?;
    // Four bytes at once, case folded (`| 0x20` maps no other byte onto a lower-case letter).
    if u32::from_le_bytes(word.try_into().unwrap()) | 0x2020_2020 != u32::from_le_bytes(*b"file") {
        return None;
    }
    outfile_class(s, i)
}

#[inline(never)]
pub(super) fn outfile_class(s: &[u8], i: usize) -> Option<StatementClass> {
    let start = file_word_at(s, i)?;
    match into_before(s, start) {
        Some(into) if tokens::at_code_level(s, into) => {
            let mut more = Tokens::new(&s[i + 4..]);
            let plugin = match more.next() {
                // A plain literal (the usual one) is its own bytes.
                Some(file) if file.kind == Kind::Str && !file.text.contains(&b'\\') => {
                    is_plugin_path(file.text)
                }
                Some(file) => {
                    let mut buf = [0u8; 128];
                    let n = decode_literal(file, &mut more, &mut buf);
                    is_plugin_path(&buf[..n])
                }
                None => false,
            };
            Some(if plugin {
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
pub(super) fn skip_back(s: &[u8], mut end: usize) -> Option<usize> {
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
pub(super) fn may_end_line_comment(s: &[u8], nl: usize) -> bool {
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
pub(super) fn call_before(s: &[u8], i: usize) -> Option<(usize, StatementClass)> {
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
pub(super) fn call_behind_separators(s: &[u8], i: usize) -> Option<(usize, StatementClass)> {
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
pub(super) fn run_start(s: &[u8], end: usize) -> usize {
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
pub(super) fn ident_mask16(s: &[u8], at: usize) -> u32 {
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
pub(super) fn ident_start(s: &[u8], run: usize, end: usize) -> usize {
    let start = run;
    if start < end && start > 0 && s[start - 1] == b'\\' && matches!(s[start], b'n' | b'r' | b't') {
        start + 1
    } else {
        start
    }
}

/// `OUTFILE` or `DUMPFILE` whose `FILE` starts at the `f` at `i`: where the word starts.
pub(super) fn file_word_at(s: &[u8], i: usize) -> Option<usize> {
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
pub(super) fn into_before(s: &[u8], start: usize) -> Option<usize> {
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
pub(super) fn scan_tokens(mut toks: Tokens<'_>) -> Option<StatementClass> {
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
pub(super) fn is_plugin_path(path: &[u8]) -> bool {
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
pub(super) fn for_each_paren_or_f(s: &[u8], f: impl FnMut(usize) -> bool) {
    crate::bytes::any_hit(s, paren_or_f_mask16, f);
}

/// Bit `i` set where `s[at + i]` is `(`, `F` or `f` (`at + 16 <= s.len()`).
#[inline]
pub(super) fn paren_or_f_mask16(s: &[u8], at: usize) -> u32 {
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
