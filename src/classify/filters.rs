//! DELETE and UPDATE: a filter that keeps nothing out.

use super::tokens::{is_ident, Kind, Token, Tokens};
use super::*;

/// `DELETE`/`UPDATE`: destructive without a `WHERE`, or with one that is always true
/// (`WHERE 1`, `WHERE 1=1`, `WHERE true`, `WHERE 'a'='a'`, `… OR 1=1`); otherwise a write.
/// The first `WHERE` in the text that is code (not in a literal or a comment) is the
/// clause; only the bytes that can open a literal or a comment are looked at before it.
pub(super) fn filtered_write(toks: Tokens<'_>) -> StatementClass {
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
pub(super) fn find_word_ci(hay: &[u8], word: &[u8]) -> Option<usize> {
    let first = word[0].to_ascii_lowercase();
    let mut found = None;
    crate::bytes::any_hit(
        hay,
        |s, at| crate::bytes::either_ci_mask16(s, at, first, first),
        |i| {
            let hit = i + word.len() <= hay.len()
                && hay[i..i + word.len()].eq_ignore_ascii_case(word)
                && word_starts(hay, i)
                && hay.get(i + word.len()).is_none_or(|&c| !is_ident(c));
            if hit {
                found = Some(i);
            }
            hit
        },
    );
    found
}

/// Whether a word may start at `i`: no name byte before it (an escaped `\n` is whitespace).
pub(super) fn word_starts(hay: &[u8], i: usize) -> bool {
    i == 0
        || !is_ident(hay[i - 1])
        || i >= 2 && hay[i - 2] == b'\\' && matches!(hay[i - 1], b'n' | b'r' | b't')
}

/// Whether `hay` holds a whole-word `OR` or `XOR` (any case) or a `|`: one pass over it.
pub(super) fn may_hold_or(hay: &[u8]) -> bool {
    crate::bytes::any_hit(
        hay,
        |s, at| {
            crate::bytes::either_ci_mask16(s, at, b'o', b'o') | crate::bytes::eq_mask16(s, at, b'|')
        },
        |i| {
            hay[i] == b'|'
                || hay.get(i + 1).is_some_and(|&c| c | 0x20 == b'r')
                    && hay.get(i + 2).is_none_or(|&c| !is_ident(c))
                    && (word_starts(hay, i)
                        || i >= 1 && hay[i - 1] | 0x20 == b'x' && word_starts(hay, i - 1))
        },
    )
}

/// Whether the condition after `WHERE` is always true: some `OR` branch whose `AND` terms are
/// all constant-true comparisons of literals. Parentheses are ignored (an approximation that
/// only matters for conditions that already hold a constant-true term).
pub(super) fn tautological(toks: &mut Tokens<'_>) -> bool {
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
pub(super) fn constant_true(term: &[Option<Token<'_>>]) -> bool {
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

pub(super) fn compare(
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
