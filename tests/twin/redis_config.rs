//! Redis runs from one file, `redis/redis.conf`: compose mounts it (tests/policy/compose_policy.rs), Kubernetes
//! generates a ConfigMap from it (tests/policy/k8s_policy.rs), and the native twin starts `redis-server` on it with
//! only port, bind, dir and aclfile overridden. Here: the file says what the counter needs, and the twin's running
//! server has those settings. That a full Redis refuses the INCR is tests/api/redis_config.rs.

use std::collections::BTreeMap;

use harness::redis::config_file;

use crate::stack::spawn_stack;

/// `directive -> value` of the shipped file (comments and blank lines skipped; `save ""` reads as `""`).
fn shipped() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(config_file()).expect("redis/redis.conf");
    let lines = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
    lines.filter_map(|l| l.split_once(' ')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// What the counter needs from Redis, as `CONFIG GET` reports it once the file is loaded.
const NEEDED: [(&str, &str); 7] = [
    ("appendonly", "yes"),
    ("appendfsync", "always"),
    ("no-appendfsync-on-rewrite", "no"),
    ("aof-load-truncated", "yes"),
    ("maxmemory-policy", "noeviction"),
    ("maxmemory", "67108864"),
    ("protected-mode", "yes"),
];

#[test]
fn the_shipped_file_makes_every_acknowledged_count_durable_and_never_evicts_it() {
    let file = shipped();
    for (key, value) in NEEDED.iter().filter(|(k, _)| *k != "maxmemory") {
        assert_eq!(file.get(*key).map(String::as_str), Some(*value), "{key} in redis/redis.conf");
    }
    assert_eq!(file.get("maxmemory").map(String::as_str), Some("64mb"));
    assert_eq!(file.get("aclfile").map(String::as_str), Some("/run/redis-acl/users.acl"), "the init volume's ACL");
    assert_eq!(file.get("save").map(String::as_str), Some("\"\""), "AOF only, no RDB snapshots");
}

#[test]
fn the_twins_redis_runs_with_the_files_settings() {
    let t = spawn_stack(1);

    // As the ACL admin user: the app's own user may not run CONFIG.
    let get =
        |key: &str| t.stack.redis.cli(&["CONFIG", "GET", key]).unwrap_or_else(|e| panic!("CONFIG GET {key}: {e}"));

    for (key, value) in NEEDED {
        assert_eq!(get(key), format!("{key}\n{value}"), "the running Redis");
    }
    // The overrides, and only those: the twin's own ACL file, loopback, and the stack's data directory.
    assert!(get("aclfile").ends_with("credentials/redis/users.acl"), "{}", get("aclfile"));
    assert_eq!(get("bind"), "bind\n127.0.0.1");
    assert!(get("dir").ends_with("data/redis"), "{}", get("dir"));
    // protected-mode lets other hosts in (compose's replicas) only because the ACL leaves `default` without nopass.
    let default = t.stack.redis.cli(&["ACL", "GETUSER", "default"]).expect("ACL GETUSER");
    assert!(default.contains("\noff\n") && !default.contains("nopass"), "default user: {default}");
}
