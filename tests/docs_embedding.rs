//! `docs/embedding.md` names only APIs that exist: every type, trait, variant, constant, module
//! and function it puts in code spans is declared somewhere in the workspace's sources or
//! examples (names from std, tokio, alloy and redb are listed here instead). A renamed or removed API fails this
//! test until the page follows.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{collections::BTreeSet, fs, path::Path};

const DOC: &str = include_str!("../docs/embedding.md");

/// Names the page uses that the workspace does not declare: std, tokio, alloy, redb, the
/// environment.
#[rustfmt::skip]
const EXTERNAL: &[&str] = &[
    "Arc", "B256", "BTreeMap", "BlockBody", "Header", "Sealed", "Send", "Sync", "None", "Some",
    "Ok", "Err", "Box", "Vec", "Result", "tokio", "redb", "std", "alloy", "MALLOC_ARENA_MAX",
    "JoinSet", "Receiver", "mpsc", "Clone",
];

/// Every name declared in the Rust sources under `dir`: items (`fn`, `struct`, `enum`, `trait`,
/// `type`, `const`, `static`, `mod`), re-export aliases (`as name`), enum variants and table
/// markers (a capitalised name opening a line).
fn declared(dir: &Path, names: &mut BTreeSet<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            declared(&path, names);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            for line in fs::read_to_string(&path).unwrap().lines() {
                let words: Vec<&str> = line.split(|c: char| !is_ident(c)).collect();
                for pair in words.windows(2) {
                    let keyword = ["fn", "struct", "enum", "trait", "type", "const", "static"];
                    if keyword.contains(&pair[0]) || ["mod", "as"].contains(&pair[0]) {
                        names.insert(pair[1].to_owned());
                    }
                }
                let first = line.trim_start();
                if first.starts_with(|c: char| c.is_ascii_uppercase()) {
                    names.insert(first.split(|c: char| !is_ident(c)).next().unwrap().to_owned());
                }
            }
        }
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The names in the page's code spans that must be declared: capitalised names, constants, and
/// lower-case names that are path segments or calls; not crate names, not paths into external
/// crates, not file paths, commands or globs.
fn mentioned() -> BTreeSet<String> {
    let prose: String = DOC.split("```").step_by(2).collect::<Vec<_>>().join(" ");
    let spans = prose.split('`').skip(1).step_by(2);
    let mut names = BTreeSet::new();
    for span in spans.filter(|span| !span.contains(['/', '*', '-', '"'])) {
        for path in span.split(|c: char| !is_ident(c) && c != ':') {
            let segments: Vec<&str> =
                path.split("::").map(|s| s.trim_matches(':')).filter(|s| !s.is_empty()).collect();
            if segments.first().is_some_and(|first| EXTERNAL.contains(first)) {
                continue;
            }
            let end = span.find(path).map(|at| at + path.len());
            let called = end.is_some_and(|end| span[end..].starts_with('('));
            for (index, segment) in segments.iter().enumerate() {
                let last = index + 1 == segments.len();
                let capital = segment.starts_with(|c: char| c.is_ascii_uppercase());
                let member = segments.len() > 1 || (last && called);
                // Single letters are generic parameters (`S: StateStore`, `BlockExecutor<W>`).
                let checked = (capital || member) && segment.len() > 1;
                if checked && !segment.starts_with("snapsync") && !EXTERNAL.contains(segment) {
                    names.insert((*segment).to_owned());
                }
            }
        }
    }
    names
}

#[test]
fn every_api_name_in_the_embedding_guide_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names = BTreeSet::new();
    declared(&root.join("src"), &mut names);
    declared(&root.join("examples"), &mut names);
    for krate in fs::read_dir(root.join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        if src.is_dir() {
            declared(&src, &mut names);
        }
    }
    let mentioned = mentioned();
    let missing: Vec<&String> = mentioned.iter().filter(|name| !names.contains(*name)).collect();
    assert!(missing.is_empty(), "docs/embedding.md names what no source declares: {missing:?}");
    // The check reads the page: the seams' traits are among the names it found.
    for name in ["StateStore", "StateRead", "StateWrite", "PeerSource", "PeerRequests", "run_loop"]
    {
        assert!(mentioned.contains(name), "{name} not found in the page's code spans");
    }
}
