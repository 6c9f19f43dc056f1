//! Static checks of the shipped configuration, which need no stack: compose, NGINX's templates and hooks,
//! Prometheus' config and rules (`promtool`), the Kubernetes manifests (`kubectl kustomize`), Grafana's provisioning
//! and the dashboards, Loki's and the Collector's configs. What runs them is tests/twin and tests/compose.

mod collector_config;
mod compose_policy;
mod dashboard;
mod grafana_config;
mod k8s_policy;
mod loki_config;
mod nginx_config;
mod prometheus_rules;
#[path = "../common/shipped.rs"]
mod shipped;
mod source_size;
