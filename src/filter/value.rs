//! Comparison operators and right-hand values shared by JSON and space-delimited patterns.
//!
//! Both structured forms use the same operator set and value syntax (§5.1, §6.2): a quoted
//! string, a bare string, a number, or a `%regex%`, with `*` wildcards at the ends of strings.
//! The *type* of the value is fixed at parse time (a bare token that reads as a number is a
//! number, everything quoted is a string) because that decides which operators are legal and
//! how an event value is compared, and the spec keeps string and numeric comparison apart
//! ("string comparisons do not interpret scientific notation").

use super::lex::{parse_number, Cursor, Num};
use super::regex_subset::CwRegex;
use super::FilterError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Ge => ">=",
        }
    }
}

/// Reads an operator at the cursor, if there is one.
pub(super) fn parse_op(cur: &mut Cursor<'_>) -> Option<Op> {
    // Two-character operators first so `<=` is not read as `<` followed by `=`.
    for (text, op) in [
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("=", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
    ] {
        if cur.eat(text) {
            return Some(op);
        }
    }
    None
}

/// A string value with optional `*` wildcards at either end. An interior `*` is literal
/// (spec §5.2: `Ev*ent` matches only the text `Ev*ent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Wildcard {
    core: String,
    leading: bool,
    trailing: bool,
}

impl Wildcard {
    pub(super) fn new(raw: &str) -> Wildcard {
        let leading = raw.starts_with('*');
        let rest = if leading { &raw[1..] } else { raw };
        let trailing = rest.ends_with('*');
        let core = if trailing {
            &rest[..rest.len() - 1]
        } else {
            rest
        };
        Wildcard {
            core: core.to_owned(),
            leading,
            trailing,
        }
    }

    /// `*` (or `**`): matches any value at all.
    pub(super) fn is_any(&self) -> bool {
        self.core.is_empty() && (self.leading || self.trailing)
    }

    /// The text every matching value contains.
    pub(super) fn core(&self) -> &str {
        &self.core
    }

    pub(super) fn matches(&self, s: &str) -> bool {
        match (self.leading, self.trailing) {
            (false, false) => s == self.core,
            (false, true) => s.starts_with(&self.core),
            (true, false) => s.ends_with(&self.core),
            (true, true) => s.contains(&self.core),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) enum Operand {
    Text(Wildcard),
    Number(Num),
    Regex(CwRegex),
}

/// One `op value` test. Strings and regexes only take `=`/`!=`, numbers take all six.
#[derive(Debug, Clone)]
pub(super) struct Comparison {
    pub(super) op: Op,
    pub(super) operand: Operand,
}

/// Characters allowed in an unquoted value: alphanumerics as documented, plus what the
/// documented bare values and numbers need (`123.123.*`, `4*`, `-1`, `+1000`, `10e-3`).
/// Anything else "must be quoted" (§5.1), so we refuse rather than guess where it ends.
fn is_bare_value_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '*' | '-' | '+')
}

impl Comparison {
    /// Parses `value` after `op` (cursor just past the operator). `stop` lists characters
    /// that may legally end a bare value in the calling grammar, besides whitespace.
    pub(super) fn parse_value(
        cur: &mut Cursor<'_>,
        op: Op,
        stop: &[char],
        regex_count: &mut usize,
    ) -> Result<Comparison, FilterError> {
        cur.skip_ws();
        let at = cur.pos();
        let operand = match cur.peek() {
            Some('"') => Operand::Text(Wildcard::new(&cur.quoted()?)),
            Some('%') => {
                let (start, end) = cur.percent_delimited()?;
                *regex_count += 1;
                // Quota (§7): at most two regexes per JSON or space-delimited pattern.
                if *regex_count > 2 {
                    return Err(
                        cur.error_at(at, "at most 2 regular expressions are allowed per pattern")
                    );
                }
                Operand::Regex(CwRegex::parse(cur.src(), start, end)?)
            }
            Some('\'') => {
                return Err(cur.error("single-quoted values are not supported; use double quotes"))
            }
            _ => {
                let bare = cur.take_while(is_bare_value_char);
                if let Some(c) = cur
                    .peek()
                    .filter(|c| !super::lex::is_ws(*c) && !stop.contains(c))
                {
                    if bare.is_empty() {
                        return Err(cur.error(format!("expected a value after '{}'", op.symbol())));
                    }
                    return Err(cur.error_at(
                        at,
                        format!("a value containing '{c}' must be double-quoted"),
                    ));
                }
                if bare.is_empty() {
                    return Err(cur.error(format!("expected a value after '{}'", op.symbol())));
                }
                match parse_number(bare) {
                    Some(n) => Operand::Number(n),
                    None => Operand::Text(Wildcard::new(bare)),
                }
            }
        };
        if !matches!(operand, Operand::Number(_)) && !matches!(op, Op::Eq | Op::Ne) {
            return Err(cur.error_at(
                at,
                format!("operator '{}' needs a numeric value", op.symbol()),
            ));
        }
        Ok(Comparison { op, operand })
    }

    /// Tests a piece of event text (a space-delimited field, or a JSON string when the
    /// operand is textual). A numeric test on text that is not a number is false for every
    /// operator, `!=` included: the field has no numeric value to differ (§6.3 [INF]).
    pub(super) fn test_text(&self, text: &str) -> bool {
        match &self.operand {
            Operand::Text(w) => (self.op == Op::Eq) == w.matches(text),
            Operand::Regex(r) => (self.op == Op::Eq) == r.is_match(text),
            Operand::Number(n) => parse_number(text).is_some_and(|v| self.test_number(v, *n)),
        }
    }

    pub(super) fn test_number(&self, value: Num, wanted: Num) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let Some(ord) = value.cmp(wanted) else {
            return false;
        };
        match self.op {
            Op::Eq => ord == Equal,
            Op::Ne => ord != Equal,
            Op::Lt => ord == Less,
            Op::Gt => ord == Greater,
            Op::Le => ord != Greater,
            Op::Ge => ord != Less,
        }
    }

    /// A literal that any text passing this test contains, if one exists.
    pub(super) fn required_literal(&self) -> Option<&[u8]> {
        if self.op != Op::Eq {
            return None;
        }
        match &self.operand {
            Operand::Text(w) if !w.core().is_empty() => Some(w.core().as_bytes()),
            Operand::Regex(r) => r.required_literal(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_only_at_ends() {
        assert!(Wildcard::new("Event*").matches("EventName"));
        assert!(Wildcard::new("*Event").matches("MyEvent"));
        assert!(Wildcard::new("*html*").matches("/index.html?x"));
        assert!(!Wildcard::new("Ev*ent").matches("Evxent"));
        assert!(Wildcard::new("Ev*ent").matches("Ev*ent"));
        assert!(Wildcard::new("*").is_any());
        assert!(Wildcard::new("**").is_any());
        assert!(Wildcard::new("*").matches(""));
        assert!(!Wildcard::new("").is_any());
        assert!(Wildcard::new("").matches(""));
        assert!(!Wildcard::new("").matches("x"));
    }

    fn cmp(op_and_value: &str) -> Result<Comparison, FilterError> {
        let mut cur = Cursor::new(op_and_value, 0, op_and_value.len());
        let op = parse_op(&mut cur).expect("operator");
        Comparison::parse_value(&mut cur, op, &[], &mut 0)
    }

    #[test]
    fn value_type_is_fixed_by_syntax() {
        assert!(matches!(cmp("= 400").unwrap().operand, Operand::Number(_)));
        assert!(matches!(
            cmp("= \"400\"").unwrap().operand,
            Operand::Text(_)
        ));
        assert!(matches!(cmp("= 4*").unwrap().operand, Operand::Text(_)));
        assert!(matches!(
            cmp("= 123.123.*").unwrap().operand,
            Operand::Text(_)
        ));
        assert!(matches!(cmp("= %a%").unwrap().operand, Operand::Regex(_)));
    }

    #[test]
    fn ordering_operators_need_numbers() {
        assert_eq!(cmp("< abc").unwrap_err().column, 3);
        assert!(cmp("<= \"1\"").is_err());
        assert!(cmp("> %1%").is_err());
        assert!(cmp(">= -1.5e2").is_ok());
    }

    #[test]
    fn unquoted_value_with_punctuation_must_be_quoted() {
        assert_eq!(cmp("= 10.0.0.1/32").unwrap_err().column, 3);
        assert!(cmp("= '10'").is_err());
        assert!(cmp("=").is_err());
    }

    #[test]
    fn numeric_test_on_text_field_compares_numbers() {
        let c = cmp("> 1000").unwrap();
        assert!(c.test_text("1534"));
        assert!(!c.test_text("999"));
        assert!(!c.test_text("-"));
        assert!(cmp("= 200").unwrap().test_text("200.0"));
        assert!(!cmp("!= 200").unwrap().test_text("abc"));
    }

    #[test]
    fn three_regexes_exceed_quota() {
        let mut n = 0;
        for _ in 0..2 {
            let mut cur = Cursor::new("= %a%", 0, 5);
            let op = parse_op(&mut cur).unwrap();
            assert!(Comparison::parse_value(&mut cur, op, &[], &mut n).is_ok());
        }
        let mut cur = Cursor::new("= %a%", 0, 5);
        let op = parse_op(&mut cur).unwrap();
        assert!(Comparison::parse_value(&mut cur, op, &[], &mut n).is_err());
    }
}
