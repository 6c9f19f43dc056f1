//! `visit-counter healthcheck`: a container HEALTHCHECK for images without a shell or curl. It asks this replica's
//! own `/readyz` on 127.0.0.1:$PORT and reports the answer through its exit code.

use std::time::Duration;

use axum::{body::Body, http::Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

const DEADLINE: Duration = Duration::from_secs(2);

/// `Ok(())` when `/readyz` answers 200 within two seconds; otherwise a one-line reason.
pub async fn probe(port: u16) -> Result<(), String> {
    let request = async {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| format!("connect: {e}"))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(connection);
        let request = Request::get("/readyz")
            .header("host", format!("127.0.0.1:{port}"))
            .header("user-agent", "visit-counter-healthcheck")
            .body(Body::empty())
            .map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| format!("request: {e}"))?;
        match response.status().as_u16() {
            200 => Ok(()),
            status => Err(format!("/readyz answered {status}")),
        }
    };
    tokio::time::timeout(DEADLINE, request).await.unwrap_or_else(|_| Err(format!("no answer within {DEADLINE:?}")))
}
