//! `cargo xtask` as a newcomer runs it first: with no arguments it lists every command, one line each, on stdout
//! and exits 0.

use std::process::Command;

#[test]
fn no_arguments_lists_every_command_with_one_line_each() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask")).output().expect("xtask runs");

    assert_eq!(out.status.code(), Some(0), "a listing, not a usage error: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    for command in ["bench", "chaos", "load", "stack up", "stack down", "stack status"] {
        let line = text.lines().find(|l| l.trim_start().starts_with(&format!("{command}  ")));
        let about = line.unwrap_or_else(|| panic!("`{command}` listed:\n{text}"))[command.len() + 2..].trim();
        assert!(about.len() > 20, "`{command}` has a one-line description: {about:?}");
    }
    assert!(text.contains("cargo xtask <command> --help"), "says where the details are:\n{text}");
}

#[test]
fn every_command_has_help() {
    for args in [&["bench"][..], &["chaos"], &["load"], &["stack", "up"], &["stack", "down"], &["stack", "status"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).arg("--help").output().expect("xtask runs");
        assert!(out.status.success(), "{args:?} --help");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: cargo xtask"), "{args:?} --help");
    }
}

#[test]
fn the_readme_shows_the_listing_as_it_is() {
    let readme = std::fs::read_to_string(harness::paths::workspace_root().join("README.md")).expect("README.md");
    let out = Command::new(env!("CARGO_BIN_EXE_xtask")).output().expect("xtask runs");
    let listing = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(
        readme.contains(&format!("$ cargo xtask\n{listing}")),
        "README's `$ cargo xtask` block differs from:\n{listing}"
    );
}
