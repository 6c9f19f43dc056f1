//! The README and the docs are walkthroughs people type in: every command in them must exist, every link must lead
//! somewhere. The documents: `README.md`, every `docs/**/*.md`, and `deploy/k8s/README.md` when it exists. For each
//! fenced `sh`/`bash` block, split into simple commands (quotes, pipes, `&&`, `;`, `&`, `$(…)` respected):
//! - `cargo xtask …` names a real command (run against the built binary's `--help`), and every `--flag` on the line
//!   is one that command takes;
//! - `docker compose …` names only services that docker-compose.yml defines;
//! - `scripts/…` is an executable script; every repository path a command names exists.
//!
//! Anywhere in a document, `cargo test --test NAME [FILTER]` names a test binary of the workspace, and FILTER selects
//! a test of it (a module or a `#[test]` function), as libtest would.
//!
//! Every relative Markdown link resolves from its document's folder, and an `#anchor` names a heading of its target.
//! Plus, in the README: the two main commands are there, `.ci/run` runs the second, and the code tour lists at most
//! ten files, each of which exists.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
};

use harness::paths::workspace_root;

/// The most files the README's code tour may name: a newcomer follows it in one sitting.
const TOUR_MAX: usize = 10;

struct Document {
    /// Path relative to the workspace root, for messages.
    name: String,
    text: String,
}

fn read(relative: &str) -> Document {
    let text = std::fs::read_to_string(workspace_root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"));
    Document { name: relative.to_owned(), text }
}

fn readme() -> Document {
    read("README.md")
}

/// README.md, docs/**/*.md and deploy/k8s/README.md (when present), in a stable order.
fn documents() -> Vec<Document> {
    let root = workspace_root();
    let mut names = vec!["README.md".to_owned()];
    let mut pending = vec![root.join("docs")];
    let mut found = Vec::new();
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                found.push(path.strip_prefix(&root).expect("under the root").to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    names.extend(found);
    if root.join("deploy/k8s/README.md").exists() {
        names.push("deploy/k8s/README.md".to_owned());
    }
    names.iter().map(|n| read(n)).collect()
}

/// Every command line of a document's `sh`/`bash` blocks, continuation lines joined, comments dropped.
fn command_lines(markdown: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_shell = false;
    let mut pending = String::new();
    for line in markdown.lines() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            in_shell = !in_shell && matches!(info.trim(), "sh" | "bash");
            continue;
        }
        if !in_shell || line.trim_start().starts_with('#') {
            continue;
        }
        let code = line.split(" # ").next().unwrap_or("").trim_end();
        match code.strip_suffix('\\') {
            Some(head) => pending.push_str(head),
            None => lines.push(std::mem::take(&mut pending) + code),
        }
    }
    lines.into_iter().filter(|l| !l.trim().is_empty()).collect()
}

/// A shell line as simple commands (lists of words). Quotes group words; `|`, `;`, `&` and `$(…)` separate commands
/// except inside single quotes (where the shell does not run them).
fn simple_commands(line: &str) -> Vec<Vec<String>> {
    let (mut commands, mut words, mut word) = (Vec::new(), Vec::new(), String::new());
    let (mut single, mut double) = (false, false);
    let mut chars = line.chars().peekable();
    let end_word = |word: &mut String, words: &mut Vec<String>| {
        if !word.is_empty() {
            words.push(std::mem::take(word));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '$' if !single && chars.peek() == Some(&'(') => {
                chars.next();
                end_word(&mut word, &mut words);
                commands.push(std::mem::take(&mut words));
            }
            ')' if !single => {
                end_word(&mut word, &mut words);
                commands.push(std::mem::take(&mut words));
            }
            '|' | ';' | '&' if !single && !double => {
                end_word(&mut word, &mut words);
                commands.push(std::mem::take(&mut words));
            }
            c if c.is_whitespace() && !single && !double => end_word(&mut word, &mut words),
            c => word.push(c),
        }
    }
    end_word(&mut word, &mut words);
    commands.push(words);
    // Leading `VAR=value` assignments are environment, not the command.
    let commands = commands.into_iter().map(|c| {
        c.into_iter()
            .skip_while(|w| {
                w.split_once('=').is_some_and(|(k, _)| k.chars().all(|c| c == '_' || c.is_ascii_uppercase()))
            })
            .collect::<Vec<_>>()
    });
    commands.filter(|c| !c.is_empty()).collect()
}

/// Every simple command of every document, with the document it came from.
fn all_commands() -> Vec<(String, Vec<String>)> {
    documents()
        .into_iter()
        .flat_map(|d| {
            let commands: Vec<_> = command_lines(&d.text).iter().flat_map(|l| simple_commands(l)).collect();
            commands.into_iter().map(move |c| (d.name.clone(), c))
        })
        .collect()
}

#[test]
fn every_cargo_xtask_command_and_flag_exists() {
    let mut seen = 0;
    for (doc, command) in all_commands().iter().filter(|(_, c)| c.len() >= 2 && c[0] == "cargo" && c[1] == "xtask") {
        let words: Vec<&str> = command[2..].iter().map(|w| w.trim_matches(|c| c == '[' || c == ']')).collect();
        let path: Vec<&str> = words.iter().take_while(|w| !w.starts_with('-')).copied().collect();
        let help = Command::new(env!("CARGO_BIN_EXE_xtask")).args(&path).arg("--help").output().expect("xtask runs");
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(
            help.status.success() && !path.is_empty() || path.is_empty(),
            "{doc}: `cargo xtask {}` is no command",
            path.join(" ")
        );
        for flag in words.iter().filter(|w| w.starts_with("--")) {
            let flag = flag.split('=').next().unwrap_or(flag);
            assert!(
                text.contains(&format!("{flag} ")) || text.contains(&format!("{flag}\n")),
                "{doc}: `cargo xtask {}` has no {flag}",
                path.join(" ")
            );
        }
        seen += 1;
    }
    assert!(seen >= 10, "the docs show the xtask commands ({seen} found)");
}

/// Options of `docker compose <subcommand>` that take a value (the value is not a service).
const VALUED: [&str; 7] = ["--entrypoint", "--tail", "-s", "--signal", "--since", "-u", "--user"];

#[test]
fn every_docker_compose_service_named_exists() {
    let compose = std::fs::read_to_string(workspace_root().join("docker-compose.yml")).expect("docker-compose.yml");
    let compose: serde_yaml::Value = serde_yaml::from_str(&compose).expect("YAML");
    let defined: BTreeSet<&str> =
        compose["services"].as_mapping().expect("services").keys().filter_map(|k| k.as_str()).collect();
    let commands = all_commands();
    let mut named = BTreeSet::new();
    for (doc, command) in commands.iter().filter(|(_, c)| c.len() >= 3 && c[0] == "docker" && c[1] == "compose") {
        // Global options (`--env-file F`, `-f F`, `-p P`) come before the subcommand.
        let mut sub = 2;
        while sub + 1 < command.len()
            && matches!(command[sub].as_str(), "--env-file" | "-f" | "--file" | "-p" | "--project-name" | "--profile")
        {
            sub += 2;
        }
        let command = &command[sub - 2..];
        let mut args = command[3..].iter();
        while let Some(arg) = args.next() {
            if VALUED.contains(&arg.as_str()) {
                args.next();
            } else if arg == "--scale" {
                named.insert((args.next().and_then(|a| a.split('=').next()).unwrap_or("").to_owned(), doc));
            } else if !arg.starts_with('-') {
                named.insert((arg.clone(), doc));
                // exec and run: the service, then the command it runs in the container.
                if matches!(command[2].as_str(), "exec" | "run") {
                    break;
                }
            }
        }
    }
    assert!(named.len() >= 6, "the docs name compose services: {named:?}");
    let unknown: Vec<_> = named.iter().filter(|(n, _)| !defined.contains(n.as_str())).collect();
    assert!(unknown.is_empty(), "services not in docker-compose.yml: {unknown:?} (defined: {defined:?})");
}

#[test]
fn every_script_and_repository_path_named_exists() {
    let root = workspace_root();
    let top: BTreeSet<String> = std::fs::read_dir(&root)
        .expect("workspace")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "target" && n != ".git")
        .collect();
    let mut checked = 0;
    for (doc, word) in all_commands().into_iter().flat_map(|(d, c)| c.into_iter().map(move |w| (d.clone(), w))) {
        let path = word.trim_start_matches("./").trim_end_matches([',', '.', ':']);
        let first = path.split('/').next().unwrap_or("");
        let placeholder = path.contains(['<', '*', '$', '{']) || path.starts_with("http");
        if placeholder || !top.contains(first) || !(path.contains('/') || path.contains('.')) {
            continue;
        }
        assert!(exists(&root.join(path)), "{doc} names {path}, which does not exist");
        if first == "scripts" {
            assert!(is_executable(&root.join(path)), "{path} is executable");
        }
        checked += 1;
    }
    assert!(checked >= 10, "paths checked: {checked}");
}

/// `path` exists, or is the stem of files that do (`--write docs/benchmarks` writes `benchmarks.md` and `.json`).
fn exists(path: &Path) -> bool {
    let stem = |e: std::fs::DirEntry| {
        e.file_name()
            .to_string_lossy()
            .strip_prefix(&*path.file_name().unwrap_or_default().to_string_lossy())
            .is_some_and(|rest| rest.starts_with('.'))
    };
    path.exists() || path.parent().and_then(|p| std::fs::read_dir(p).ok()).is_some_and(|d| d.flatten().any(stem))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// Markdown outside fenced code blocks, line by line.
fn prose(markdown: &str) -> impl Iterator<Item = &str> {
    let mut fenced = false;
    markdown.lines().filter(move |line| {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            return false;
        }
        !fenced
    })
}

/// The targets of the inline links and images `[text](target)` of a document's prose.
fn link_targets(markdown: &str) -> Vec<String> {
    prose(markdown)
        .flat_map(|line| line.split("](").skip(1).filter_map(|s| s.split_once(')').map(|(t, _)| t.to_owned())))
        .collect()
}

/// The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces to hyphens.
fn anchors(markdown: &str) -> BTreeSet<String> {
    prose(markdown)
        .filter_map(|line| line.strip_prefix('#').map(|h| h.trim_start_matches('#').trim()))
        .map(|heading| {
            heading
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect()
}

#[test]
fn every_relative_link_leads_to_a_file_and_heading_that_exist() {
    let root = workspace_root();
    let mut checked = 0;
    for doc in documents() {
        let folder = root.join(&doc.name).parent().expect("a folder").to_path_buf();
        for target in link_targets(&doc.text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let path: PathBuf = if file.is_empty() { root.join(&doc.name) } else { folder.join(file) };
            assert!(path.exists(), "{}: link to {target}, but {} does not exist", doc.name, path.display());
            if !anchor.is_empty() {
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert!(
                    anchors(&text).contains(anchor),
                    "{}: link to {target}, but {} has no heading #{anchor}",
                    doc.name,
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "links checked: {checked}");
}

#[test]
fn the_two_commands_are_there_and_ci_runs_the_test_command() {
    let lines = command_lines(&readme().text);
    assert!(lines.iter().any(|l| l.starts_with("docker compose up --build")), "command 1: docker compose up --build");
    assert!(lines.iter().any(|l| l.starts_with("scripts/test.sh")), "command 2: scripts/test.sh");
    let ci = std::fs::read_to_string(workspace_root().join(".ci/run")).expect(".ci/run");
    assert!(ci.lines().any(|l| l.trim() == "exec scripts/test.sh"), ".ci/run runs scripts/test.sh");
}

/// The files of the README's "Code tour": the first `path` of each numbered item of that section.
fn code_tour(markdown: &str) -> Vec<String> {
    let section = prose(markdown)
        .skip_while(|l| l.trim() != "## Code tour")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .collect::<Vec<_>>();
    section
        .iter()
        .filter_map(|line| {
            let (number, item) = line.split_once(". ")?;
            number.chars().all(|c| c.is_ascii_digit()).then_some(())?;
            let path = item.strip_prefix('`')?.split('`').next()?;
            Some(path.to_owned())
        })
        .collect()
}

#[test]
fn the_code_tour_names_at_most_ten_files_and_each_exists() {
    let tour = code_tour(&readme().text);
    assert!(!tour.is_empty(), "the README has a `## Code tour` of numbered items, each starting with a `path`");
    assert!(tour.len() <= TOUR_MAX, "the code tour names {} files, at most {TOUR_MAX}: {tour:?}", tour.len());
    let missing: Vec<_> = tour.iter().filter(|p| !workspace_root().join(p).is_file()).collect();
    assert!(missing.is_empty(), "the code tour names files that do not exist: {missing:?}");
}

#[test]
fn the_splitter_sees_commands_inside_substitutions_but_not_inside_single_quotes() {
    let commands = simple_commands(r#"docker inspect $(docker compose ps -q web) | grep -E 'a|b' && X=1 cargo xtask"#);
    let firsts: Vec<&str> = commands.iter().map(|c| c[0].as_str()).collect();
    assert_eq!(firsts, ["docker", "docker", "grep", "cargo"], "{commands:?}");
    assert_eq!(commands[2], ["grep", "-E", "a|b"]);
}

#[test]
fn anchors_follow_github_and_the_tour_reads_numbered_paths() {
    let doc = "# How `--scale` works, without NGINX's reload\n```sh\n# not a heading\n```\n## Code tour\n\
               1. `src/main.rs` — start\n2. `src/lib.rs` — modules\nSee `src/x.rs`.\n## Next\n3. `src/y.rs`\n";
    assert_eq!(
        anchors(doc),
        BTreeSet::from(["how---scale-works-without-nginxs-reload".into(), "code-tour".into(), "next".into()])
    );
    assert_eq!(code_tour(doc), ["src/main.rs", "src/lib.rs"]);
}

/// A `[[test]]` target of the workspace's root manifest.
struct TestTarget {
    name: String,
    /// The folder (or file) its tests live in.
    home: PathBuf,
    /// `harness = false`: its own runner, which takes no libtest filter.
    own_runner: bool,
}

/// The `[[test]]` targets of the workspace's root manifest.
fn test_targets() -> Vec<TestTarget> {
    let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).expect("Cargo.toml");
    let mut targets: Vec<TestTarget> = Vec::new();
    let mut in_test = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            // A new table: only `[[test]]` sections describe targets.
            in_test = line == "[[test]]";
            if in_test {
                targets.push(TestTarget { name: String::new(), home: PathBuf::new(), own_runner: false });
            }
            continue;
        }
        let Some(target) = targets.last_mut().filter(|_| in_test) else { continue };
        if let Some(value) = line.strip_prefix("name = ") {
            target.name = value.trim_matches('"').to_owned();
        } else if let Some(value) = line.strip_prefix("path = ") {
            let path = PathBuf::from(value.trim_matches('"'));
            // `tests/api/main.rs` → the folder `tests/api`; `tests/router.rs` → itself.
            let home = if path.ends_with("main.rs") { path.parent().expect("a folder").to_path_buf() } else { path };
            target.home = workspace_root().join(home);
        } else if line == "harness = false" {
            target.own_runner = true;
        }
    }
    targets
}

/// Every `cargo test --test NAME [FILTER]` a document names, in a shell block or in prose: `(NAME, FILTER)`.
fn cargo_test_mentions(markdown: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    for (i, _) in markdown.match_indices("cargo test --test ") {
        // The command ends with its line, a code span, a parenthesis or a shell separator.
        let rest = &markdown[i + "cargo test --test ".len()..];
        let rest = rest.split(['\n', '`', ')', ';', '|', '&', '#']).next().unwrap_or("");
        let mut words = rest.split(char::is_whitespace).take_while(|w| !w.is_empty() && !w.starts_with('-'));
        if let Some(name) = words.next() {
            let filter = words.next().filter(|f| f.chars().all(|c| c.is_ascii_alphanumeric() || "_:".contains(c)));
            found.push((name.to_owned(), filter.map(str::to_owned)));
        }
    }
    found
}

/// Whether the test binary whose sources are at `home` (a file, or a folder searched recursively) has a test whose
/// path contains `filter`, as libtest selects: a module (file) named so, or a function under a `#[test]`-like
/// attribute (`#[tokio::test]`, with `#[ignore]` or others between).
fn selects_a_test(home: &Path, filter: &str) -> bool {
    if home.is_file() {
        let stem = home.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(home).unwrap_or_default();
        let mut under_test = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with("#[") {
                under_test |= line.starts_with("#[test]") || line.contains("::test");
                continue;
            }
            let name = line.trim_start_matches("async ").strip_prefix("fn ").map(|f| f.split('(').next().unwrap_or(""));
            if under_test && name.is_some_and(|n| n.contains(filter)) {
                return true;
            }
            under_test = false;
        }
        return stem != "main" && stem.contains(filter);
    }
    std::fs::read_dir(home).into_iter().flatten().flatten().any(|entry| {
        let path = entry.path();
        (path.is_dir() || path.extension().is_some_and(|e| e == "rs")) && selects_a_test(&path, filter)
    })
}

#[test]
fn every_cargo_test_command_names_a_test_binary_and_a_filter_that_selects_something() {
    let targets = test_targets();
    assert!(
        targets.len() >= 5,
        "test targets read from Cargo.toml: {:?}",
        targets.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    let mut seen = 0;
    for doc in documents() {
        for (name, filter) in cargo_test_mentions(&doc.text) {
            let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
            let target = targets.iter().find(|t| t.name == name);
            let target = target
                .unwrap_or_else(|| panic!("{}: `cargo test --test {name}`: no such test binary {names:?}", doc.name));
            if let Some(filter) = filter {
                assert!(
                    !target.own_runner,
                    "{}: `cargo test --test {name} {filter}`: its own runner takes no filter",
                    doc.name
                );
                // libtest runs the tests whose path contains the filter: a module (file) or function of that binary.
                assert!(
                    selects_a_test(&target.home, filter.rsplit("::").next().unwrap_or(&filter)),
                    "{}: `cargo test --test {name} {filter}` selects no test in {}",
                    doc.name,
                    target.home.display()
                );
            }
            seen += 1;
        }
    }
    assert!(seen >= 3, "cargo test commands found in the docs: {seen}");
}

#[test]
fn cargo_test_mentions_are_read_from_prose_and_blocks() {
    let doc = "Run `cargo test --test twin browser`, or:\n```sh\ncargo test --test compose\ncargo xtask images\n\
               cargo test --test api logs; echo done\n```\n(`cargo test --test api -- --nocapture`)";
    assert_eq!(
        cargo_test_mentions(doc),
        [
            ("twin".into(), Some("browser".into())),
            ("compose".into(), None),
            ("api".into(), Some("logs".into())),
            ("api".into(), None)
        ]
    );
}
