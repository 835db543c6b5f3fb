//! The repository's own rules on its layout, which a review would otherwise have to catch: no
//! Rust source file over 500 lines (a file that grows past it splits along what it holds), and
//! a `//!` doc on every module saying what belongs there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn all_sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["shared/src", "worker/src", "client-wasm/src"] {
        sources(&root.join(dir), &mut files);
    }
    assert!(files.len() > 50, "found only {} sources", files.len());
    files
}

#[test]
fn no_source_file_is_over_500_lines() {
    let long: Vec<String> = all_sources()
        .into_iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(&f).unwrap().lines().count();
            (lines > 500).then(|| format!("{}: {lines}", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "over 500 lines: {long:#?}");
}

#[test]
fn every_module_says_what_belongs_there() {
    let undocumented: Vec<String> = all_sources()
        .into_iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().trim_start().starts_with("//!"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(undocumented.is_empty(), "no //! doc: {undocumented:#?}");
}
