//! kustomize reads no file outside a kustomization's directory, so the configs compose mounts reach deploy/k8s as
//! copies: a generator entry `KEY=files/PATH` in DIR/kustomization.yaml reads DIR/files/PATH, which must be the
//! repository's PATH byte for byte, and files/ holds nothing else. scripts/k8s-sync.sh writes them.

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::shipped::root;

const SYNC: &str = "edit the source, never the copy, then run scripts/k8s-sync.sh and commit both";

/// Every file below `dir`, recursively (none if it does not exist).
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).into_iter().flatten().map(|e| e.expect("readable entry").path());
    entries.flat_map(|path| if path.is_dir() { files_below(&path) } else { vec![path] }).collect()
}

/// The repository paths the generators of `kustomization` read through files/.
fn copied_sources(kustomization: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(kustomization).expect("kustomization.yaml");
    let parsed: Value = serde_yaml::from_str(&text).expect("valid YAML");
    let generators = ["configMapGenerator", "secretGenerator"].map(|k| parsed[k].as_sequence().cloned());
    let entries = generators.into_iter().flatten().flatten().flat_map(|g| g["files"].as_sequence().cloned());
    let paths =
        entries.flatten().filter_map(|f| f.as_str().map(|f| f.split_once('=').map_or(f, |(_, p)| p).to_owned()));
    paths.filter_map(|p| p.strip_prefix("files/").map(str::to_owned)).collect()
}

/// Every copy below `root`'s deploy/k8s that is missing, differs from its source, or is read by no generator.
fn stale_copies(root: &Path) -> Vec<String> {
    let shown = |path: &Path| path.strip_prefix(root).unwrap_or(path).display().to_string();
    let is_kustomization =
        |p: &PathBuf| p.ends_with("kustomization.yaml") && !p.components().any(|c| c.as_os_str() == "files");
    let mut stale = Vec::new();
    for kustomization in files_below(&root.join("deploy/k8s")).into_iter().filter(is_kustomization) {
        let copies = kustomization.parent().expect("a directory").join("files");
        let sources = copied_sources(&kustomization);
        for source in &sources {
            let copy = copies.join(source);
            let expected = std::fs::read(root.join(source)).unwrap_or_else(|e| panic!("{source}: {e}"));
            if std::fs::read(&copy).ok() != Some(expected) {
                stale.push(format!("{} differs from {source} (or is missing)", shown(&copy)));
            }
        }
        for copy in files_below(&copies) {
            let source = copy.strip_prefix(&copies).expect("below files/").display().to_string();
            if !sources.contains(&source) {
                stale.push(format!("{}: no generator of {} reads it", shown(&copy), shown(&kustomization)));
            }
        }
    }
    stale
}

#[test]
fn the_configs_kustomize_reads_are_copies_of_the_files_compose_mounts() {
    let stale = stale_copies(&root());
    assert!(stale.is_empty(), "{stale:#?}\n{SYNC}");
    let copies =
        files_below(&root().join("deploy/k8s")).into_iter().filter(|p| p.to_string_lossy().contains("/files/"));
    assert!(copies.count() >= 10, "redis.conf, the telemetry configs and the dashboard are copied");
}

#[test]
fn a_copy_that_differs_or_that_nothing_reads_is_caught() {
    let tree = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = tree.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "deploy/k8s/base/kustomization.yaml",
        "configMapGenerator:\n  - name: c\n    files:\n      - a.conf=files/conf/a.conf\n",
    );
    write("conf/a.conf", "appendfsync always\n");
    write("deploy/k8s/base/files/conf/a.conf", "appendfsync everysec\n");
    write("deploy/k8s/base/files/conf/old.conf", "");
    let found = stale_copies(tree.path()).join("\n");
    assert!(found.contains("deploy/k8s/base/files/conf/a.conf differs from conf/a.conf"), "{found}");
    assert!(found.contains("files/conf/old.conf: no generator"), "{found}");
    write("deploy/k8s/base/files/conf/a.conf", "appendfsync always\n");
    std::fs::remove_file(tree.path().join("deploy/k8s/base/files/conf/old.conf")).unwrap();
    assert_eq!(stale_copies(tree.path()), Vec::<String>::new());
}
