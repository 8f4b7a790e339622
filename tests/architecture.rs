//! The dependency rules of ARCHITECTURE.md, checked on the source: every `crate::` path in a
//! top-level module's code (function bodies included; comments excluded) is an edge to the
//! module it names. The edges must form no cycle, and each must point to a lower layer.
//!
//! (`cargo modules dependencies --acyclic` stops at cycles between a type and its own methods
//! and does not read paths inside function bodies; reading the paths finds both.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level modules from the bottom up: a module may use modules of lower layers only.
/// The crate root (`lib.rs`: the pipeline) and `main.rs` sit above all of them.
const LAYERS: &[&[&str]] = &[
    // Vocabulary and leaf helpers.
    &["bytes", "error", "table", "time", "exec", "filter"],
    &["classify", "finding", "input", "intel"],
    // The normalised event and its Arrow builder.
    &["event", "control"],
    // Parsers: bytes in, events out.
    &["format"],
    // What reads events: counts, de-duplication, the analysis passes.
    &["stats", "dedupe", "pass", "session", "privileges"],
    // Outputs.
    &["sink"],
    // The worker and the consumer of a scan.
    &["scan"],
    // Work plans over files.
    &["plan", "grep", "sql"],
    &["settings", "synth"],
    // The command line.
    &["cli", "fuzzing"],
];

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Strips `//` comments, doc comments included: only paths in code count.
fn strip_comments(src: &str) -> String {
    src.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules a piece of code names through `crate::name` or `crate::{a, b::c}`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end].split(',').collect()
        } else {
            vec![rest]
        };
        for n in names {
            let n = n.trim();
            let end = n
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(n.len());
            let name = &n[..end];
            // Lower-case names are modules; `crate::Error` and the like are root items.
            if !name.is_empty() && name != "self" && name.starts_with(|c: char| c.is_lowercase()) {
                out.insert(name.to_string());
            }
        }
    }
    out
}

/// The top-level module of each source file and the modules its code names.
fn graph_of(src: &Path) -> Graph {
    let mut g = Graph::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_str()
                .unwrap();
            let top = first.trim_end_matches(".rs").to_string();
            if top == "lib" || top == "main" {
                continue;
            }
            let code = strip_comments(&std::fs::read_to_string(&path).unwrap());
            let deps = g.entry(top.clone()).or_default();
            for d in crate_paths(&code) {
                if d != top {
                    deps.insert(d);
                }
            }
        }
    }
    g
}

/// Every cycle's modules (strongly connected components of more than one module).
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    // Tarjan's algorithm.
    struct State<'g> {
        g: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        on_stack: BTreeSet<&'g str>,
        stack: Vec<&'g str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(ws) = s.g.get(v) {
            for w in ws {
                let w = w.as_str();
                if !s.g.contains_key(w) {
                    continue;
                }
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if s.on_stack.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                scc.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                s.out.push(scc);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        on_stack: BTreeSet::new(),
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// Edges that do not point to a lower layer, and modules no layer names.
fn layer_violations(g: &Graph) -> Vec<String> {
    let layer = |m: &str| LAYERS.iter().position(|l| l.contains(&m));
    let mut out = Vec::new();
    for (m, deps) in g {
        let Some(lm) = layer(m) else {
            out.push(format!(
                "module `{m}` is in no layer: place it in LAYERS and ARCHITECTURE.md"
            ));
            continue;
        };
        for d in deps {
            match layer(d) {
                Some(ld) if ld < lm => {}
                Some(_) => out.push(format!("`{m}` uses `{d}`, which is not in a lower layer")),
                None if g.contains_key(d) => {}
                None => {}
            }
        }
    }
    out
}

fn graph(edges: &[(&str, &str)]) -> Graph {
    let mut g = Graph::new();
    for (a, b) in edges {
        g.entry(a.to_string()).or_default().insert(b.to_string());
        g.entry(b.to_string()).or_default();
    }
    g
}

#[test]
fn top_level_modules_form_no_cycle_and_respect_the_layers() {
    let g = graph_of(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    // The reading works: the pipeline's known edges are seen.
    for (a, b) in [("scan", "sink"), ("format", "event"), ("plan", "scan")] {
        assert!(g[a].contains(b), "expected the edge {a} -> {b} in {g:?}");
    }
    let cycles = cycles(&g);
    assert!(
        cycles.is_empty(),
        "dependency cycles between top-level modules: {cycles:?}"
    );
    let bad = layer_violations(&g);
    assert!(
        bad.is_empty(),
        "dependency rules broken:\n{}",
        bad.join("\n")
    );
}

/// The checks find what they are for: a cycle through three modules (the one this rule
/// removed: event -> sink -> stats -> format -> event), an upward edge, and paths in code
/// (in bodies, in groups) but not in comments.
#[test]
fn the_checks_find_cycles_upward_edges_and_paths_in_bodies() {
    let g = graph(&[
        ("event", "sink"),
        ("sink", "stats"),
        ("stats", "format"),
        ("format", "event"),
        ("pass", "event"),
    ]);
    assert_eq!(cycles(&g), vec![vec!["event", "format", "sink", "stats"]]);
    assert!(cycles(&graph(&[("a", "b"), ("b", "c")])).is_empty());
    let bad = layer_violations(&graph(&[("format", "sink")]));
    assert_eq!(
        bad,
        vec!["`format` uses `sink`, which is not in a lower layer"]
    );
    let code = strip_comments(
        "fn f() { let x = crate::sink::columns::StrCol::new(); }\n\
         use crate::{event::Event, format, Error};\n\
         /// see [`crate::plan`]\n\
         // crate::grep",
    );
    let names: Vec<String> = crate_paths(&code).into_iter().collect();
    assert_eq!(names, ["event", "format", "sink"]);
}
