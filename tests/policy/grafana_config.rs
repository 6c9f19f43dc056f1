//! Grafana cannot run here, so its compose wiring is checked: anonymous visitors are read-only viewers who may use
//! Explore (where the trace links open), Grafana reaches nothing outside the stack, there is no default or committed
//! admin password (deploy/init/grafana.sh generates one at first start, and this test runs it), and the provisioning
//! and dashboards are mounted where the provider looks.

use std::{os::unix::fs::PermissionsExt, process::Command};

use crate::shipped::{compose, root};

#[test]
fn grafana_is_anonymous_read_only_with_a_generated_admin_password_and_provisioned_from_the_repository() {
    let compose = compose();
    let grafana = &compose["services"]["grafana"];
    let env = &grafana["environment"];
    assert_eq!(env["GF_AUTH_ANONYMOUS_ENABLED"], "true");
    assert_eq!(env["GF_AUTH_ANONYMOUS_ORG_ROLE"], "Viewer", "anonymous visitors may only view");
    assert!(env["GF_SECURITY_ADMIN_PASSWORD"].is_null(), "no password in compose");
    assert_eq!(env["GF_SECURITY_ADMIN_PASSWORD__FILE"], "/run/credentials/admin.password");
    let volumes: Vec<&str> = grafana["volumes"].as_sequence().unwrap().iter().filter_map(|v| v.as_str()).collect();
    for mount in [
        "./observability/grafana/provisioning:/etc/grafana/provisioning:ro",
        "./dashboards:/etc/grafana/dashboards:ro",
        "grafana-credentials:/run/credentials:ro",
    ] {
        assert!(volumes.contains(&mount), "grafana mounts {mount}");
    }
    let provider =
        std::fs::read_to_string(root().join("observability/grafana/provisioning/dashboards/dashboards.yaml"));
    assert!(provider.unwrap().contains("path: /etc/grafana/dashboards"), "the provider loads the mounted dashboards");
}

#[test]
fn viewers_may_explore_and_grafana_reaches_nothing_outside_the_stack() {
    let compose = compose();
    let env = &compose["services"]["grafana"]["environment"];
    // Exemplar -> trace and log <-> trace links open in Explore, which Viewers (anonymous visitors) lack by default.
    assert_eq!(env["GF_USERS_VIEWERS_CAN_EDIT"], "true", "Viewers get the datasources:explore permission");
    for (key, off) in [
        ("GF_ANALYTICS_REPORTING_ENABLED", "false"),
        ("GF_ANALYTICS_CHECK_FOR_UPDATES", "false"),
        ("GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES", "false"),
        ("GF_PLUGINS_PREINSTALL_DISABLED", "true"),
        ("GF_PLUGINS_PUBLIC_KEY_RETRIEVAL_DISABLED", "true"),
    ] {
        assert_eq!(
            env[key], off,
            "{key}: no call out of the stack (the preinstall would download apps at every start)"
        );
    }
}

#[test]
fn the_grafana_admin_password_is_generated_once_and_readable_by_its_group_only() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("grafana");
    let run = || Command::new(root().join("deploy/init/grafana.sh")).arg(&target).output().unwrap();

    assert!(run().status.success());
    let first = std::fs::read_to_string(target.join("admin.password")).unwrap();
    assert!(run().status.success());

    assert!(first.trim().len() == 48 && first.trim().bytes().all(|b| b.is_ascii_hexdigit()), "{first:?}");
    assert_eq!(std::fs::read_to_string(target.join("admin.password")).unwrap(), first, "kept on the next start");
    let mode = std::fs::metadata(target.join("admin.password")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o440);
}
