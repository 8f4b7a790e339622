//! Conformance cases for the CloudWatch filter-pattern engine.
//!
//! `testdata/cloudwatch-filter.tsv` is a verbatim copy of the shared case table (id, pattern,
//! message, expected = yes|no|invalid), kept in the crate so this test stands alone. Every row
//! is run and every disagreement is reported at once, because a single wrong rule usually
//! shows up in several rows and the full list says which rule it is. The row count is checked
//! against the file's data lines so a parsing slip cannot silently skip cases.

use forensics::filter::FilterPattern;

struct Case {
    line: usize,
    id: String,
    pattern: String,
    message: String,
    expected: String,
}

fn load_cases() -> (Vec<Case>, usize) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/cloudwatch-filter.tsv"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let mut cases = Vec::new();
    let mut data_lines = 0;
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        data_lines += 1;
        let cols: Vec<&str> = raw.split('\t').collect();
        assert_eq!(
            cols.len(),
            4,
            "line {}: expected 4 tab-separated columns, got {}: {raw:?}",
            i + 1,
            cols.len()
        );
        assert!(
            matches!(cols[3], "yes" | "no" | "invalid"),
            "line {}: expected column must be yes|no|invalid, got {:?}",
            i + 1,
            cols[3]
        );
        cases.push(Case {
            line: i + 1,
            id: cols[0].to_owned(),
            pattern: cols[1].to_owned(),
            message: cols[2].to_owned(),
            expected: cols[3].to_owned(),
        });
    }
    (cases, data_lines)
}

#[test]
fn every_tsv_case_agrees_with_cloudwatch() {
    let (cases, data_lines) = load_cases();
    assert!(
        !cases.is_empty(),
        "no cases read from testdata/cloudwatch-filter.tsv"
    );
    assert_eq!(
        cases.len(),
        data_lines,
        "some data lines were not turned into cases"
    );

    let mut failures = Vec::new();
    for c in &cases {
        let got = match FilterPattern::parse(&c.pattern) {
            Err(e) => format!("invalid ({e})"),
            Ok(p) if p.matches(&c.message) => "yes".to_owned(),
            Ok(_) => "no".to_owned(),
        };
        let agrees = if c.expected == "invalid" {
            got.starts_with("invalid")
        } else {
            got == c.expected
        };
        if !agrees {
            failures.push(format!(
                "  line {} id={} pattern={:?} message={:?} expected={} got={}",
                c.line, c.id, c.pattern, c.message, c.expected, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("{} filter cases passed", cases.len());
}

#[test]
fn required_literal_never_rejects_a_matching_case() {
    let (cases, _) = load_cases();
    assert!(!cases.is_empty());
    for c in &cases {
        let Ok(p) = FilterPattern::parse(&c.pattern) else {
            continue;
        };
        if let Some(lit) = p.required_literal() {
            if p.matches(&c.message) {
                assert!(
                    memchr::memmem::find(c.message.as_bytes(), lit).is_some(),
                    "case {}: matching message lacks required literal {:?}",
                    c.id,
                    String::from_utf8_lossy(lit)
                );
            }
        }
    }
}
