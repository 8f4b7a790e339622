//! Space-delimited patterns `[ip, user, ..., status = 4* || status = 5*, bytes > 1000]`, §6.
//!
//! A pattern is a list of slots; each slot is a field name with an optional condition on that
//! same field (`||` of `&&` chains, no parentheses, so the condition is stored already in that
//! disjunctive form), an empty slot, or the single `...` ellipsis. The event is split into
//! fields the way CloudWatch documents it (spaces separate, `[...]` and `"..."` group and are
//! stripped) and slots are matched from both ends around the ellipsis. What happens to extra
//! trailing fields without an ellipsis is open in the spec (§6.3), so it is a parse option.

use super::lex::{is_ws, Cursor};
use super::value::{parse_op, Comparison};
use super::{FilterError, TrailingFields};

#[derive(Debug, Clone)]
pub(super) struct DelimitedPattern {
    slots: Vec<Slot>,
    ellipsis: Option<usize>,
    trailing: TrailingFields,
}

#[derive(Debug, Clone)]
enum Slot {
    Ellipsis,
    /// `any_of` is a disjunction of conjunctions; empty means "no condition". The slot's name
    /// matters only for extracted values (`$name` / `$N`), which matching does not need.
    Field {
        any_of: Vec<Vec<Comparison>>,
    },
}

/// One event field: its value (grouping delimiters stripped) and where its raw text starts,
/// which is where "the rest of the line" begins when the last slot folds trailing fields.
#[derive(Debug, Clone, Copy)]
struct Field<'a> {
    value: &'a str,
    start: usize,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

impl DelimitedPattern {
    /// Parses `src[start..end]`, which starts with `[` and ends with `]`.
    pub(super) fn parse(
        src: &str,
        start: usize,
        end: usize,
        trailing: TrailingFields,
    ) -> Result<DelimitedPattern, FilterError> {
        let mut cur = Cursor::new(src, start + 1, end - 1);
        let mut slots = Vec::new();
        let mut ellipsis = None;
        let mut regexes = 0;
        loop {
            cur.skip_ws();
            let slot_at = cur.pos();
            if cur.eat("...") {
                if ellipsis.is_some() {
                    return Err(cur.error_at(slot_at, "only one '...' is allowed per pattern"));
                }
                ellipsis = Some(slots.len());
                slots.push(Slot::Ellipsis);
            } else {
                slots.push(parse_field_slot(&mut cur, &mut regexes)?);
            }
            cur.skip_ws();
            if cur.is_at_end() {
                break;
            }
            if !cur.eat(",") {
                return Err(cur.error("expected ',' or ']'"));
            }
        }
        Ok(DelimitedPattern {
            slots,
            ellipsis,
            trailing,
        })
    }

    pub(super) fn matches(&self, message: &str) -> bool {
        let mut fields = Vec::with_capacity(self.slots.len() + 4);
        split_fields(message, &mut fields);
        let n = fields.len();
        let test = |slot: &Slot, value: &str| match slot {
            Slot::Ellipsis => true,
            Slot::Field { any_of } => {
                any_of.is_empty()
                    || any_of
                        .iter()
                        .any(|all| all.iter().all(|c| c.test_text(value)))
            }
        };
        match self.ellipsis {
            Some(e) => {
                let (before, after) = (&self.slots[..e], &self.slots[e + 1..]);
                if n < before.len() + after.len() {
                    return false;
                }
                let tail = &fields[n - after.len()..];
                before.iter().zip(&fields).all(|(s, f)| test(s, f.value))
                    && after.iter().zip(tail).all(|(s, f)| test(s, f.value))
            }
            None => {
                let k = self.slots.len();
                if n < k || (n > k && self.trailing == TrailingFields::NoMatch) {
                    return false;
                }
                let (last_slot, head) = self.slots.split_last().expect("at least one slot");
                // Reading (b): the last slot's value is the raw rest of the line from its
                // first field on; with exactly k fields it is just that field.
                let last = if n > k {
                    message[fields[k - 1].start..].trim_end_matches(is_ws)
                } else {
                    fields[k - 1].value
                };
                head.iter().zip(&fields).all(|(s, f)| test(s, f.value)) && test(last_slot, last)
            }
        }
    }

    /// Longest literal that a matching event must contain: an `=` string (or regex) condition
    /// in a slot whose condition has no `||`, since field values are verbatim slices of the
    /// event text.
    pub(super) fn required_literal(&self) -> Option<&[u8]> {
        self.slots
            .iter()
            .filter_map(|s| match s {
                Slot::Field { any_of } if any_of.len() == 1 => any_of[0]
                    .iter()
                    .filter_map(Comparison::required_literal)
                    .max_by_key(|l| l.len()),
                _ => None,
            })
            .max_by_key(|l| l.len())
    }
}

/// Empty slot, bare name, or `name op value ( (&&|||) name op value )*` with one name.
fn parse_field_slot(cur: &mut Cursor<'_>, regexes: &mut usize) -> Result<Slot, FilterError> {
    if cur.is_at_end() || cur.starts_with(",") {
        return Ok(Slot::Field { any_of: Vec::new() });
    }
    let name = cur.take_while(is_name_char);
    if name.is_empty() {
        return Err(cur.error("expected a field name, '...' or ','"));
    }
    cur.skip_ws();
    if cur.is_at_end() || cur.starts_with(",") {
        return Ok(Slot::Field { any_of: Vec::new() });
    }
    let mut any_of = vec![Vec::new()];
    loop {
        let Some(op) = parse_op(cur) else {
            return Err(cur.error("expected an operator, ',' or ']'"));
        };
        let cmp = Comparison::parse_value(cur, op, &[',', '&', '|'], regexes)?;
        any_of.last_mut().expect("one group").push(cmp);
        cur.skip_ws();
        if cur.eat("||") {
            any_of.push(Vec::new());
        } else if !cur.eat("&&") {
            break;
        }
        cur.skip_ws();
        // A condition refers to its own slot's field; AWS rejects `status = 4* && bytes > 1`.
        let other_at = cur.pos();
        let other = cur.take_while(is_name_char);
        if other.is_empty() {
            return Err(cur.error("expected a field name after '&&' or '||'"));
        }
        if other != name {
            return Err(cur.error_at(
                other_at,
                format!("a condition in slot `{name}` must refer to `{name}`, not `{other}`"),
            ));
        }
        cur.skip_ws();
    }
    Ok(Slot::Field { any_of })
}

/// Splits an event into fields. Separators are runs of ASCII whitespace (tabs included, since
/// practitioners use these patterns on tab-separated Lambda lines). A field that *starts* with
/// `[` runs to the next `]`, one that starts with `"` to the next `"`, and the delimiters are
/// dropped; text glued after the closing delimiter begins the next field. An opener with no
/// closer is ordinary text.
fn split_fields<'a>(message: &'a str, out: &mut Vec<Field<'a>>) {
    let b = message.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if is_ws(b[i] as char) {
            i += 1;
            continue;
        }
        let close = match b[i] {
            b'[' => Some(b']'),
            b'"' => Some(b'"'),
            _ => None,
        };
        if let Some(close) = close {
            if let Some(len) = memchr::memchr(close, &b[i + 1..]) {
                out.push(Field {
                    value: &message[i + 1..i + 1 + len],
                    start: i,
                });
                i += len + 2;
                continue;
            }
        }
        let start = i;
        while i < b.len() && !is_ws(b[i] as char) {
            i += 1;
        }
        out.push(Field {
            value: &message[start..i],
            start,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FilterPattern, PatternKind};
    use super::*;

    const APACHE: &str =
        r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534"#;

    fn m(p: &str, msg: &str) -> bool {
        let p = FilterPattern::parse(p).unwrap();
        assert_eq!(p.kind(), PatternKind::SpaceDelimited);
        p.matches(msg)
    }

    fn err_col(p: &str) -> usize {
        FilterPattern::parse(p).unwrap_err().column
    }

    fn fields(msg: &str) -> Vec<&str> {
        let mut v = Vec::new();
        split_fields(msg, &mut v);
        v.iter().map(|f| f.value).collect()
    }

    #[test]
    fn brackets_and_quotes_group_a_field_without_delimiters() {
        assert_eq!(
            fields(APACHE),
            [
                "127.0.0.1",
                "-",
                "frank",
                "10/Oct/2000:13:25:15 -0700",
                "GET /apache_pb.gif HTTP/1.0",
                "200",
                "1534"
            ]
        );
    }

    #[test]
    fn separators_collapse_and_include_tabs() {
        assert_eq!(fields("  a \t b  "), ["a", "b"]);
        assert_eq!(fields(""), Vec::<&str>::new());
    }

    #[test]
    fn unbalanced_or_glued_delimiters_split_predictably() {
        assert_eq!(fields("[INFO]: ok"), ["INFO", ":", "ok"]);
        assert_eq!(fields("[oops no close"), ["[oops", "no", "close"]);
        assert_eq!(fields("a\"b c\""), ["a\"b", "c\""]);
        assert_eq!(fields("\"\" x"), ["", "x"]);
    }

    #[test]
    fn every_slot_matches_its_field() {
        let p = "[ip, user, username, timestamp, request, status_code, bytes > 1000]";
        assert!(m(p, APACHE));
        assert!(!m(
            "[ip, user, username, timestamp, request, status_code = 4*, bytes]",
            APACHE
        ));
        assert!(m(
            "[ip, user, username, timestamp = \"10/Oct*\", request = \"GET *\", s = 200, b]",
            APACHE
        ));
    }

    #[test]
    fn fewer_fields_than_slots_never_match() {
        assert!(!m("[a, b, c]", "x y"));
        assert!(!m("[a]", ""));
    }

    #[test]
    fn extra_fields_fold_into_last_slot_by_default() {
        assert!(m("[w1=ERROR, w2]", "ERROR a b c"));
        assert!(m("[w1=ERROR, w2=\"a b*\"]", "ERROR a b c"));
        assert!(!m("[w1=ERROR, w2=a]", "ERROR a b c"));
        assert!(m("[w1=ERROR, w2=\"a \\\"b\\\" c\"]", "ERROR a \"b\" c  "));
    }

    #[test]
    fn or_and_and_conditions_within_a_slot() {
        assert!(m("[w1=ERROR || w1=WARN, w2]", "WARN message"));
        assert!(!m("[w1=ERROR || w1=WARN, w2]", "INFO message"));
        assert!(m("[w1!=ERROR && w1!=WARNING, w2]", "INFO started"));
        assert!(!m("[w1!=ERROR && w1!=WARNING, w2]", "WARNING started"));
        assert!(m("[n > 1 && n < 5 || n = 10, x]", "10 x"));
        assert!(m("[n > 1 && n < 5 || n = 10, x]", "3 x"));
        assert!(!m("[n > 1 && n < 5 || n = 10, x]", "7 x"));
    }

    #[test]
    fn numeric_condition_on_non_number_is_false() {
        assert!(!m("[a, bytes > 1000]", "x -"));
        assert!(!m("[a, bytes != 1000]", "x -"));
        assert!(m("[a, bytes = 1000]", "x 1000.0"));
    }

    #[test]
    fn ellipsis_absorbs_any_number_of_middle_fields() {
        assert!(m("[..., status = 404, bytes]", "a b c 404 12"));
        assert!(m("[..., status = 404, bytes]", "404 12"));
        assert!(!m("[..., status = 404, bytes]", "12"));
        assert!(m("[first = a, ..., last = z]", "a b c z"));
        assert!(m("[first = a, ..., last = z]", "a z"));
        assert!(!m("[first = a, ..., last = z]", "a z q"));
        assert!(m("[...]", ""));
    }

    #[test]
    fn empty_slot_is_an_unnamed_field() {
        assert!(m("[..., status_code=4*,]", "x 404 y"));
        assert!(!m("[..., status_code=4*,]", "x 404"));
        assert!(m("[, b=2]", "1 2"));
        assert!(m("[]", "anything"));
    }

    #[test]
    fn regex_and_wildcard_values() {
        let p = "[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]";
        assert!(m(
            p,
            "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200"
        ));
        assert!(!m(
            p,
            "INFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310"
        ));
        assert!(m("[ip=%127\\.0\\.0\\.[1-9]%, rest]", "127.0.0.5 x"));
        assert!(m(
            "[timestamp=*Z, request_id=\"*-*\", event]",
            "2020-01-01T00:00:00Z ab-cd hello world"
        ));
        assert!(m("[a = %,x,%]", "q,x,r"));
    }

    #[test]
    fn bracketed_single_word_is_a_one_slot_pattern() {
        assert!(m("[ERROR]", "INFO something"));
    }

    #[test]
    fn condition_naming_another_field_is_rejected() {
        let p = "[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000]";
        assert_eq!(err_col(p), 62);
    }

    #[test]
    fn malformed_slots_are_rejected() {
        assert_eq!(err_col("[..., a, ...]"), 10);
        assert_eq!(err_col("[a b]"), 4);
        assert_eq!(err_col("[\"a\"]"), 2);
        assert_eq!(err_col("[a = ]"), 6);
        assert_eq!(err_col("[a < x]"), 6);
        assert_eq!(err_col("[a = 1 &&]"), 10);
        assert_eq!(err_col("[a = x/y]"), 6);
        assert_eq!(err_col("[....]"), 5);
        assert_eq!(err_col("[a=%1%, b=%2%, c=%3%]"), 18);
    }

    #[test]
    fn required_literal_comes_from_unalternated_equality() {
        let lit = |p: &str| {
            FilterPattern::parse(p)
                .unwrap()
                .required_literal()
                .map(|l| l.to_vec())
        };
        assert_eq!(lit("[a, b = *html*, c = 4*]"), Some(b"html".to_vec()));
        assert_eq!(lit("[a = ERROR || a = WARN, b]"), None);
        assert_eq!(lit("[a != ERROR, b = 404]"), None);
        assert_eq!(lit("[a, b = %,CONNECT,%]"), Some(b",CONNECT,".to_vec()));
    }

    #[test]
    fn strict_trailing_reading_requires_exact_field_count() {
        let p = DelimitedPattern::parse("[a, b]", 0, 6, TrailingFields::NoMatch).unwrap();
        assert!(p.matches("1 2"));
        assert!(!p.matches("1 2 3"));
    }
}
