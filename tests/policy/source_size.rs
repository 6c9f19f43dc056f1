//! The service's code stays readable in one pass: no file in `src/` over 300 lines. (Functions over 40 lines are
//! clippy's `too_many_lines`, switched on in `src/lib.rs` and `src/main.rs` with the threshold in `clippy.toml`.)

use std::path::{Path, PathBuf};

use crate::shipped::root;

const MAX_LINES: usize = 300;

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/").map(|e| e.expect("entry").path()) {
        if entry.is_dir() {
            rust_files(&entry, found);
        } else if entry.extension().is_some_and(|e| e == "rs") {
            found.push(entry);
        }
    }
}

/// The files of `dir` with more than `max` lines, with their counts.
fn too_long(dir: &Path, max: usize) -> Vec<(PathBuf, usize)> {
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    let counted = files.into_iter().map(|f| (std::fs::read_to_string(&f).expect("source").lines().count(), f));
    counted.filter(|(lines, _)| *lines > max).map(|(lines, f)| (f, lines)).collect()
}

#[test]
fn no_file_in_src_is_over_300_lines() {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 10, "src/ read: {files:?}");
    let long = too_long(&src, MAX_LINES);
    assert!(long.is_empty(), "split these by concern (at most {MAX_LINES} lines each): {long:?}");
}

#[test]
fn the_size_check_sees_a_long_file() {
    // The same check with a limit the largest file exceeds: it must name it.
    let long = too_long(&root().join("src"), 200);
    assert!(long.iter().any(|(f, _)| f.ends_with("config.rs")), "{long:?}");
}
