//! `visit-counter healthcheck`: a container HEALTHCHECK for images without a shell or curl. It asks this replica's
//! own `/healthz` on 127.0.0.1:$PORT and reports the answer through its exit code.
//!
//! Liveness, not readiness: orchestrators restart an unhealthy container (Swarm, auto-heal tools), and a restart cannot
//! bring Redis back, which every replica shares. So a Redis outage leaves the replicas healthy; readiness (`/readyz`)
//! is for what routes traffic (Kubernetes' readinessProbe, operators on the replica's port).

use std::time::Duration;

use axum::{body::Body, http::Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

const DEADLINE: Duration = Duration::from_secs(2);
/// Liveness: answered while the process serves, without I/O.
const PATH: &str = "/healthz";

/// `Ok(())` when `/healthz` answers 200 within two seconds; otherwise a one-line reason.
pub async fn probe(port: u16) -> Result<(), String> {
    let request = async {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| format!("connect: {e}"))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(connection);
        let request = Request::get(PATH)
            .header("host", format!("127.0.0.1:{port}"))
            .header("user-agent", "visit-counter-healthcheck")
            .body(Body::empty())
            .map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| format!("request: {e}"))?;
        match response.status().as_u16() {
            200 => Ok(()),
            status => Err(format!("{PATH} answered {status}")),
        }
    };
    tokio::time::timeout(DEADLINE, request).await.unwrap_or_else(|_| Err(format!("no answer within {DEADLINE:?}")))
}
