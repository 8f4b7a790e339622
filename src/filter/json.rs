//! JSON patterns `{ $.a.b = "x" && ($.n > 3 || $.f IS TRUE) }`, spec §5.
//!
//! The pattern compiles to a small boolean tree (`||` of `&&` of conditions, parentheses
//! nesting) whose leaves are a selector path plus a test. The event is parsed with
//! `serde_json` per call: JSON patterns are rare in audit-log work and the selector semantics
//! (wildcards, array indexes, "array or object makes every operator false") are far simpler to
//! get right on a `Value` than on a streaming parser. Selectors are walked with a callback
//! rather than collected, so wildcard selectors do not allocate a node list.

use serde_json::Value;

use super::lex::{Cursor, Num};
use super::value::{parse_op, Comparison, Op, Operand};
use super::FilterError;

#[derive(Debug, Clone)]
pub(super) struct JsonPattern {
    expr: Expr,
}

#[derive(Debug, Clone)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Cond(Condition),
}

#[derive(Debug, Clone)]
struct Condition {
    path: Vec<Step>,
    test: Test,
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    AnyKey,
    Index(usize),
    AnyIndex,
}

#[derive(Debug, Clone)]
enum Test {
    Compare(Comparison),
    IsNull,
    IsBool(bool),
    NotExists,
}

/// AWS quotas (§7): one wildcard per selector, three per compound pattern.
const MAX_WILDCARDS_PER_PATTERN: usize = 3;

impl JsonPattern {
    /// Parses `src[start..end]`, which starts with `{` and ends with `}`.
    pub(super) fn parse(src: &str, start: usize, end: usize) -> Result<JsonPattern, FilterError> {
        let mut p = Parser {
            cur: Cursor::new(src, start + 1, end - 1),
            wildcards: 0,
            regexes: 0,
        };
        p.cur.skip_ws();
        if p.cur.is_at_end() {
            return Err(p
                .cur
                .error("empty JSON pattern; expected a condition such as $.field = value"));
        }
        let expr = p.or_expr()?;
        p.cur.skip_ws();
        if !p.cur.is_at_end() {
            return Err(p.cur.error("expected '&&', '||' or '}'"));
        }
        Ok(JsonPattern { expr })
    }

    /// False for any message that is not, as a whole, a JSON object or array (§5.2 [INF]).
    pub(super) fn matches(&self, message: &str) -> bool {
        // Cheap rejection before paying for a parse: plain-text lines are the common case.
        let first = message.bytes().find(|b| !b.is_ascii_whitespace());
        if !matches!(first, Some(b'{' | b'[')) {
            return false;
        }
        match serde_json::from_str::<Value>(message) {
            Ok(root) => self.expr.eval(&root),
            Err(_) => false,
        }
    }
}

impl Expr {
    fn eval(&self, root: &Value) -> bool {
        match self {
            Expr::Or(v) => v.iter().any(|e| e.eval(root)),
            Expr::And(v) => v.iter().all(|e| e.eval(root)),
            Expr::Cond(c) => c.eval(root),
        }
    }
}

impl Condition {
    fn eval(&self, root: &Value) -> bool {
        // With a wildcard selector a condition holds when *any* selected node satisfies it
        // (§5.1 [INF]); `NOT EXISTS` holds when the selector selects nothing at all.
        match &self.test {
            Test::NotExists => !visit(&self.path, root, &mut |_| true),
            Test::IsNull => visit(&self.path, root, &mut Value::is_null),
            Test::IsBool(b) => visit(&self.path, root, &mut |n| n.as_bool() == Some(*b)),
            Test::Compare(c) => visit(&self.path, root, &mut |n| test_node(c, n)),
        }
    }
}

/// Calls `f` on every node `path` selects from `node`, stopping at the first `true`.
fn visit(path: &[Step], node: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    let Some((step, rest)) = path.split_first() else {
        return f(node);
    };
    match step {
        Step::Key(k) => node.get(k.as_str()).is_some_and(|n| visit(rest, n, f)),
        Step::Index(i) => node
            .as_array()
            .and_then(|a| a.get(*i))
            .is_some_and(|n| visit(rest, n, f)),
        Step::AnyKey => node
            .as_object()
            .is_some_and(|o| o.values().any(|n| visit(rest, n, f))),
        Step::AnyIndex => node
            .as_array()
            .is_some_and(|a| a.iter().any(|n| visit(rest, n, f))),
    }
}

/// One selected node against `op value`. Comparisons are typed: a string value only meets
/// JSON strings, a number only JSON numbers, and arrays, objects and `null` fail every
/// operator, `!=` included (§5.2: `{$.users != 1}` fails when `users` is an array).
fn test_node(c: &Comparison, node: &Value) -> bool {
    match (&c.operand, node) {
        // A lone `*` asks "is there a value here to publish": any scalar except null.
        (Operand::Text(w), _) if w.is_any() => {
            c.op == Op::Eq && matches!(node, Value::String(_) | Value::Number(_) | Value::Bool(_))
        }
        (Operand::Text(_) | Operand::Regex(_), Value::String(s)) => c.test_text(s),
        (Operand::Number(want), Value::Number(n)) => c.test_number(Num::from_json(n), *want),
        _ => false,
    }
}

struct Parser<'a> {
    cur: Cursor<'a>,
    wildcards: usize,
    regexes: usize,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

impl Parser<'_> {
    fn or_expr(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.and_expr()?];
        loop {
            self.cur.skip_ws();
            if !self.cur.eat("||") {
                break;
            }
            items.push(self.and_expr()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Expr::Or(items)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.primary()?];
        loop {
            self.cur.skip_ws();
            if !self.cur.eat("&&") {
                break;
            }
            items.push(self.primary()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Expr::And(items)
        })
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        self.cur.skip_ws();
        let open = self.cur.pos();
        match self.cur.peek() {
            Some('(') => {
                self.cur.bump();
                let e = self.or_expr()?;
                self.cur.skip_ws();
                if self.cur.eat(")") {
                    Ok(e)
                } else if self.cur.is_at_end() {
                    Err(self.cur.error_at(open, "unclosed '('"))
                } else {
                    Err(self.cur.error("expected '&&', '||' or ')'"))
                }
            }
            Some('$') => Ok(Expr::Cond(self.condition()?)),
            None => Err(self.cur.error("expected a condition")),
            Some(_) => Err(self
                .cur
                .error("expected a selector starting with '$.' or '('")),
        }
    }

    fn condition(&mut self) -> Result<Condition, FilterError> {
        let path = self.selector()?;
        self.cur.skip_ws();
        let at = self.cur.pos();
        let word = self.cur.take_while(|c| c.is_ascii_alphabetic());
        let test = match word {
            "IS" => {
                self.cur.skip_ws();
                let what_at = self.cur.pos();
                match self.cur.take_while(|c| c.is_ascii_alphabetic()) {
                    "NULL" => Test::IsNull,
                    "TRUE" => Test::IsBool(true),
                    "FALSE" => Test::IsBool(false),
                    "NOT" => {
                        return Err(self.cur.error_at(what_at, "IS NOT is not supported"));
                    }
                    _ => {
                        return Err(self
                            .cur
                            .error_at(what_at, "expected NULL, TRUE or FALSE after IS"))
                    }
                }
            }
            "NOT" => {
                self.cur.skip_ws();
                let what_at = self.cur.pos();
                if self.cur.take_while(|c| c.is_ascii_alphabetic()) != "EXISTS" {
                    return Err(self.cur.error_at(what_at, "expected EXISTS after NOT"));
                }
                Test::NotExists
            }
            "EXISTS" => {
                return Err(self.cur.error_at(
                    at,
                    "EXISTS is not supported; use NOT EXISTS, or `= *` for a present value",
                ))
            }
            "" => match parse_op(&mut self.cur) {
                Some(op) => Test::Compare(Comparison::parse_value(
                    &mut self.cur,
                    op,
                    &[')', '&', '|'],
                    &mut self.regexes,
                )?),
                None if self.cur.is_at_end() => {
                    return Err(self.cur.error("expected an operator after the selector"))
                }
                None => return Err(self.cur.error("expected an operator, IS or NOT EXISTS")),
            },
            _ => {
                return Err(self
                    .cur
                    .error_at(at, "expected an operator, IS or NOT EXISTS"))
            }
        };
        // Keywords must stand alone: `IS NULLX` or `NOT EXISTSy` are not keywords.
        if let Some(c) = self.cur.peek().filter(char::is_ascii_alphanumeric) {
            return Err(self.cur.error(format!("unexpected '{c}'")));
        }
        Ok(Condition { path, test })
    }

    /// `$` followed by `.name`, `.*`, `[n]`, `[*]` or `.['any key']` steps.
    fn selector(&mut self) -> Result<Vec<Step>, FilterError> {
        let dollar = self.cur.pos();
        self.cur.bump();
        let mut steps = Vec::new();
        let mut wildcard_in_selector = false;
        loop {
            let step_at = self.cur.pos();
            let step = if self.cur.eat(".") {
                match self.cur.peek() {
                    Some('*') => {
                        self.cur.bump();
                        Step::AnyKey
                    }
                    Some('[') => {
                        self.cur.bump();
                        if !self.cur.eat("'") {
                            return Err(self.cur.error("expected a single-quoted key after '.['"));
                        }
                        let key_at = self.cur.pos();
                        let Some(len) = self.cur.rest().find('\'') else {
                            return Err(self.cur.error_at(key_at - 1, "unterminated quoted key"));
                        };
                        let key = self.cur.rest()[..len].to_owned();
                        self.cur.advance(len + 1);
                        if !self.cur.eat("]") {
                            return Err(self.cur.error("expected ']' after the quoted key"));
                        }
                        Step::Key(key)
                    }
                    _ => {
                        let name = self.cur.take_while(is_name_char);
                        if name.is_empty() {
                            return Err(self.cur.error("expected a field name after '.'"));
                        }
                        Step::Key(name.to_owned())
                    }
                }
            } else if self.cur.eat("[") {
                if self.cur.eat("*") {
                    if !self.cur.eat("]") {
                        return Err(self.cur.error("expected ']'"));
                    }
                    Step::AnyIndex
                } else {
                    let digits = self.cur.take_while(|c| c.is_ascii_digit());
                    let Ok(i) = digits.parse::<usize>() else {
                        return Err(self.cur.error("expected an array index or '*'"));
                    };
                    if !self.cur.eat("]") {
                        return Err(self.cur.error("expected ']'"));
                    }
                    Step::Index(i)
                }
            } else {
                break;
            };
            if matches!(step, Step::AnyKey | Step::AnyIndex) {
                if wildcard_in_selector {
                    return Err(self
                        .cur
                        .error_at(step_at, "only one wildcard is allowed per selector"));
                }
                wildcard_in_selector = true;
                self.wildcards += 1;
                if self.wildcards > MAX_WILDCARDS_PER_PATTERN {
                    return Err(self.cur.error_at(
                        step_at,
                        "at most 3 wildcard selectors are allowed per pattern",
                    ));
                }
            }
            steps.push(step);
        }
        if steps.is_empty() {
            return Err(self.cur.error_at(dollar, "a selector must start with '$.'"));
        }
        Ok(steps)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FilterPattern, PatternKind};

    const EVENT: &str = r#"{"eventType":"UpdateTrail","sourceIPAddress":"111.111.111.111","arrayKey":["value","another value"],"objectList":[{"name":"a","id":1},{"name":"b","id":2}],"SomeObject":null,"cluster.name":"c","n":400,"s":"400","flag":false,"big":9007199254740993}"#;

    fn m(p: &str, msg: &str) -> bool {
        let p = FilterPattern::parse(p).unwrap();
        assert_eq!(p.kind(), PatternKind::Json);
        p.matches(msg)
    }

    fn err_col(p: &str) -> usize {
        FilterPattern::parse(p).unwrap_err().column
    }

    #[test]
    fn string_equality_is_exact_not_substring() {
        assert!(m(r#"{ $.eventType = "UpdateTrail" }"#, EVENT));
        assert!(m("{ $.eventType = UpdateTrail }", EVENT));
        assert!(!m(r#"{ $.eventType = "Update" }"#, EVENT));
        assert!(!m(r#"{ $.eventType = "updatetrail" }"#, EVENT));
    }

    #[test]
    fn string_wildcards_at_ends_and_quoted() {
        assert!(m(r#"{ $.eventType = "Update*" }"#, EVENT));
        assert!(m("{ $.eventType = *Trail }", EVENT));
        assert!(m(r#"{ $.eventType = "*" }"#, EVENT));
        assert!(m("{ $.sourceIPAddress = 111.111.* }", EVENT));
        assert!(m("{ $.sourceIPAddress != 123.123.* }", EVENT));
        assert!(!m(r#"{ $.e = "Ev*ent" }"#, r#"{"e":"Evxent"}"#));
        assert!(m(r#"{ $.e = "Ev*ent" }"#, r#"{"e":"Ev*ent"}"#));
    }

    #[test]
    fn lone_star_needs_a_scalar_value() {
        assert!(m("{ $.n = * }", EVENT));
        assert!(m("{ $.flag = * }", EVENT));
        assert!(!m("{ $.SomeObject = * }", EVENT));
        assert!(!m("{ $.arrayKey = * }", EVENT));
        assert!(!m("{ $.missing = * }", EVENT));
        assert!(!m("{ $.n != * }", EVENT));
    }

    #[test]
    fn array_index_nested_index_and_bracket_key() {
        assert!(m(r#"{ $.arrayKey[0] = "value" }"#, EVENT));
        assert!(m("{ $.objectList[1].id = 2 }", EVENT));
        assert!(m(r#"{ $.['cluster.name'] = "c" }"#, EVENT));
        assert!(!m(r#"{ $.cluster.name = "c" }"#, EVENT));
        assert!(m("{ $.c[1][2] = 6 }", r#"{"c":[[0,1,2],[4,5,6]]}"#));
        assert!(!m("{ $.arrayKey[5] = \"value\" }", EVENT));
    }

    #[test]
    fn wildcard_selector_matches_when_any_node_does() {
        assert!(m("{ $.arrayKey[*] = %val.{2}% }", EVENT));
        assert!(m(r"{ $.* = %111\.111\.111\.1[0-9]{1,2}% }", EVENT));
        assert!(m(r#"{ $.objectList[*].name = "b" }"#, EVENT));
        assert!(!m(r#"{ $.objectList[*].name = "z" }"#, EVENT));
    }

    #[test]
    fn array_or_object_fails_every_operator() {
        assert!(!m(r#"{ $.arrayKey = "value" }"#, EVENT));
        assert!(!m(r#"{ $.arrayKey != "value" }"#, EVENT));
        assert!(!m("{ $.objectList != 1 }", EVENT));
    }

    #[test]
    fn missing_field_fails_not_equal() {
        assert!(!m(r#"{ $.a != "x" }"#, r#"{"b":1}"#));
        assert!(m(r#"{ $.a != "x" }"#, r#"{"a":"y"}"#));
    }

    #[test]
    fn comparisons_are_typed() {
        assert!(m("{ $.n = 400 }", EVENT));
        assert!(!m("{ $.s = 400 }", EVENT));
        assert!(!m(r#"{ $.n = "400" }"#, EVENT));
        assert!(m(r#"{ $.s = "400" }"#, EVENT));
        assert!(!m("{ $.n = %400% }", EVENT));
    }

    #[test]
    fn numeric_operators_and_number_syntax() {
        assert!(m("{ $.latency >= 500 }", r#"{"latency": 500}"#));
        assert!(!m("{ $.latency > 500 }", r#"{"latency": 500}"#));
        assert!(m("{ $.numbers[0] < 10e-3 }", r#"{"numbers": [0.001]}"#));
        assert!(m("{ $.n <= +400 }", EVENT));
        assert!(m("{ $.n = 4e2 }", EVENT));
        assert!(m("{ $.n != 401 }", EVENT));
        assert!(m("{ $.t > -1.5 }", r#"{"t": -1}"#));
        assert!(m("{ $.big > 9007199254740992 }", EVENT));
    }

    #[test]
    fn is_null_true_false_and_not_exists() {
        assert!(m("{ $.SomeObject IS NULL }", EVENT));
        assert!(!m("{ $.missing IS NULL }", EVENT));
        assert!(m("{ $.SomeOtherObject NOT EXISTS }", EVENT));
        assert!(!m("{ $.SomeObject NOT EXISTS }", EVENT));
        assert!(m("{ $.flag IS FALSE }", EVENT));
        assert!(!m("{ $.flag IS TRUE }", EVENT));
        assert!(m("{ $.ThisFlag IS TRUE }", r#"{"ThisFlag": true}"#));
        assert!(!m("{ $.ThisFlag IS TRUE }", r#"{"ThisFlag": "true"}"#));
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_group() {
        let ev = r#"{"a":1,"b":2,"c":3}"#;
        assert!(m("{ $.a = 9 && $.b = 9 || $.c = 3 }", ev));
        assert!(m("{ $.c = 3 || $.a = 9 && $.b = 9 }", ev));
        assert!(!m("{ ($.c = 3 || $.a = 9) && $.b = 9 }", ev));
        assert!(m("{ (($.a = 1)) && ($.b = 2) }", ev));
        assert!(m("{$.a=1&&$.b=2}", ev));
        assert!(m("{ $.foo = bar || $.foo = baz }", r#"{"foo": "baz"}"#));
    }

    #[test]
    fn non_json_or_prefixed_message_never_matches() {
        assert!(!m(
            "{ $.eventType = \"UpdateTrail\" }",
            "UpdateTrail happened"
        ));
        assert!(!m("{ $.a = 1 }", r#"2023-01-01 INFO {"a":1}"#));
        assert!(!m("{ $.a NOT EXISTS }", "plain text"));
        assert!(!m("{ $.a NOT EXISTS }", "42"));
        assert!(m("{ $.a NOT EXISTS }", "  {\"b\":1}  "));
    }

    #[test]
    fn unsupported_keywords_are_rejected() {
        assert_eq!(err_col("{ $.x EXISTS }"), 7);
        assert_eq!(err_col("{ $.x IS NOT NULL }"), 10);
        assert_eq!(err_col("{ $.x IS EMPTY }"), 10);
        assert_eq!(err_col("{ $.x NOT THERE }"), 11);
        assert_eq!(err_col("{ $.x LIKE 1 }"), 7);
    }

    #[test]
    fn malformed_json_patterns_point_at_the_problem() {
        assert_eq!(err_col("{ }"), 3);
        assert_eq!(err_col("{ a = 1 }"), 3);
        assert_eq!(err_col("{ $ = 1 }"), 3);
        assert_eq!(err_col("{ $. = 1 }"), 5);
        assert_eq!(err_col("{ $.a }"), 7);
        assert_eq!(err_col("{ $.a = }"), 9);
        assert_eq!(err_col("{ $.a = 1 2 }"), 11);
        assert_eq!(err_col("{ ($.a = 1 }"), 3);
        assert_eq!(err_col("{ $.a = 'Root' }"), 9);
        assert_eq!(err_col("{ $.a < abc }"), 9);
        assert_eq!(err_col("{ $.a = 1 & $.b = 2 }"), 11);
        assert_eq!(err_col("{ $.a[x] = 1 }"), 7);
        assert_eq!(err_col("{ $.a = 10.0.0.1/8 }"), 9);
        assert_eq!(err_col("{ $.a = \"x }"), 9);
    }

    #[test]
    fn wildcard_quotas_are_enforced() {
        assert_eq!(err_col("{ $.*[*] = 1 }"), 6);
        assert!(FilterPattern::parse("{ $.* = 1 || $.a[*] = 1 || $.b.* = 1 }").is_ok());
        assert!(
            FilterPattern::parse("{ $.* = 1 || $.a[*] = 1 || $.b.* = 1 || $.c[*] = 1 }").is_err()
        );
    }

    #[test]
    fn regex_quota_is_two_per_pattern() {
        assert!(FilterPattern::parse("{ $.a = %x% || $.b = %y% }").is_ok());
        assert_eq!(err_col("{ $.a = %x% || $.b = %y% || $.c = %z% }"), 35);
    }

    #[test]
    fn required_literal_is_none_because_json_may_escape_text() {
        assert_eq!(
            FilterPattern::parse(r#"{ $.a = "x" }"#)
                .unwrap()
                .required_literal(),
            None
        );
    }
}
