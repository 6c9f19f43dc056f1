//! Prometheus metrics: the recorder behind the `metrics` facade and the `/metrics` endpoint, served on
//! `METRICS_PORT` only so the public port (and NGINX) never exposes it.

use std::time::Duration;

use axum::{Router, extract::State, routing::get};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Install the global recorder and start its upkeep (histogram compaction), which the exporter does not do itself.
pub fn install() -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new().install_recorder().map_err(|e| e.to_string())?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    metrics::describe_gauge!("visit_counter_build_info", "Always 1; labels carry the running version.");
    metrics::gauge!("visit_counter_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(handle)
}

/// The metrics port's router: `GET /metrics` in the Prometheus text format.
pub fn router(handle: PrometheusHandle) -> Router {
    Router::new().route("/metrics", get(render)).with_state(handle)
}

async fn render(State(handle): State<PrometheusHandle>) -> String {
    handle.render()
}
