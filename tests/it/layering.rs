//! The layering of the library holds: the table in `src/lib.rs` says which
//! module may use which, and the code's `crate::` paths must match it
//! exactly (no arrow the table forbids, no arrow the table claims that the
//! code does not have), with no cycle; `domain` does no I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The table: `//! - [`name`]: role — on `a`, `b`.` (or "on nothing here",
/// or "on every module above").
fn table(lib: &str) -> Graph {
    let mut g = Graph::new();
    let mut above: Vec<String> = Vec::new();
    for line in lib.lines() {
        let Some(rest) = line.strip_prefix("//! - [`") else {
            continue;
        };
        let Some((name, rest)) = rest.split_once("`]") else {
            panic!("src/lib.rs: table row without a module name: {line}");
        };
        let Some((_, deps)) = rest.rsplit_once(" — on ") else {
            panic!(
                "src/lib.rs: table row of `{name}` does not say what it depends on (\" — on …\"): {line}"
            );
        };
        let allowed: BTreeSet<String> = if deps.starts_with("every module above") {
            above.iter().cloned().collect()
        } else {
            deps.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect()
        };
        above.push(name.to_string());
        assert!(
            g.insert(name.to_string(), allowed).is_none(),
            "src/lib.rs: module `{name}` has two table rows"
        );
    }
    g
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src/") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The library module a file belongs to (`src/store/tickets.rs` → `store`);
/// None for the binary's files and the crate root.
fn module_of(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    let m = first.strip_suffix(".rs").unwrap_or(first);
    match m {
        "lib" | "main" | "cli" => None,
        m => Some(m.to_string()),
    }
}

/// Every `crate::NAME` outside comments: (line number, NAME).
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `crate::{a, b}` names several modules at once.
            if let Some(group) = after.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for part in inner.split(',') {
                    let n: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !n.is_empty() {
                        out.push((i + 1, n));
                    }
                }
            } else if !name.is_empty() && !after[name.len()..].starts_with('!') {
                // `crate::named!` is a macro exported at the root, not a module.
                out.push((i + 1, name));
            }
            rest = after;
        }
    }
    out
}

/// The arrows the code has, each with one place that shows it.
fn code_graph() -> (Graph, BTreeMap<(String, String), String>) {
    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    let mut g = Graph::new();
    let mut at = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(SRC).expect("under src/").to_path_buf();
        let Some(m) = module_of(&rel) else { continue };
        let text = std::fs::read_to_string(&f).expect("read source file");
        g.entry(m.clone()).or_default();
        for (line, dep) in crate_paths(&text) {
            if dep == m {
                continue;
            }
            g.entry(m.clone()).or_default().insert(dep.clone());
            at.entry((m.clone(), dep))
                .or_insert_with(|| format!("src/{}:{line}", rel.display()));
        }
    }
    (g, at)
}

/// A cycle in `g`, if there is one, as the modules along it.
fn cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for d in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in g.keys() {
        if let Some(c) = visit(n, g, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn the_code_keeps_the_layering_table_of_lib_rs() {
    let lib = std::fs::read_to_string(Path::new(SRC).join("lib.rs")).expect("read src/lib.rs");
    let allowed = table(&lib);
    let declared: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect();
    let rows: BTreeSet<String> = allowed.keys().cloned().collect();
    assert_eq!(
        declared, rows,
        "src/lib.rs: the table's rows and the `pub mod` lines must name the same modules"
    );
    let (code, at) = code_graph();
    let mut wrong = Vec::new();
    for (m, deps) in &code {
        let ok = allowed.get(m);
        for d in deps {
            if !ok.is_some_and(|o| o.contains(d)) {
                wrong.push(format!(
                    "{m} → {d} ({}) is not in the table",
                    at[&(m.clone(), d.clone())]
                ));
            }
        }
    }
    for (m, deps) in &allowed {
        if m == "app" {
            continue; // "every module above": the wiring may use any of them.
        }
        for d in deps {
            if !code.get(m).is_some_and(|c| c.contains(d)) {
                wrong.push(format!(
                    "{m} → {d} is in the table but the code has no such arrow"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "layering (src/lib.rs) and code disagree:\n  {}",
        wrong.join("\n  ")
    );
    assert_eq!(cycle(&allowed), None, "the table of src/lib.rs has a cycle");
    assert_eq!(cycle(&code), None, "the code has an import cycle");
}

#[test]
fn the_domain_does_no_io() {
    let mut files = Vec::new();
    rust_files(&Path::new(SRC).join("domain"), &mut files);
    let forbidden = [
        "std::fs",
        "std::net",
        "std::process",
        "tokio",
        "rusqlite",
        "lettre",
        "rsipstack",
    ];
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read source file");
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for w in forbidden {
                if code.contains(w) {
                    found.push(format!("{}:{}: {w}", f.display(), i + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "src/domain/ must stay pure:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_checker_sees_forbidden_arrows_and_cycles() {
    // The checker itself: a forbidden arrow and a cycle are found.
    let t = table("//! - [`a`]: x — on nothing here.\n//! - [`b`]: y — on `a`.\n");
    assert!(t["a"].is_empty());
    assert_eq!(t["b"], BTreeSet::from(["a".to_string()]));
    let paths =
        crate_paths("use crate::{a, b::c};\nlet x = crate::d::f(); // crate::e\ncrate::m! {}\n");
    assert_eq!(
        paths,
        vec![(1, "a".into()), (1, "b".into()), (2, "d".into())]
    );
    let mut g = Graph::new();
    g.insert("a".into(), BTreeSet::from(["b".to_string()]));
    g.insert("b".into(), BTreeSet::from(["a".to_string()]));
    assert!(cycle(&g).is_some());
    if let Some(s) = g.get_mut("b") {
        s.clear();
    }
    assert_eq!(cycle(&g), None);
}
