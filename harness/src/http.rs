//! A blocking HTTP GET on loopback, for probes in `cargo xtask stack status`, readiness waits and the tests.
//!
//! Callers wait for the answer on plain threads and also inside the tests' async runtimes, where reqwest's blocking
//! client refuses to run. So the request goes to reqwest's async client on a runtime thread of this module's own,
//! and the caller waits on a channel.

use std::{
    error::Error as _,
    sync::{OnceLock, mpsc},
    time::Duration,
};

/// The whole exchange, from connecting to the last byte of the body.
const TIMEOUT: Duration = Duration::from_secs(2);

struct Client {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

/// `GET path` on 127.0.0.1:`port`: the status code and the body, or why there is none (within about two seconds).
pub fn get(port: u16, path: &str) -> Result<(u16, String), String> {
    let client = client()?;
    exchange(client, &client.http, port, path)
}

/// A client that keeps its connection between requests, as NGINX keeps its upstream connections: for counting what
/// a request costs the server (`cargo xtask bench`), not for probes (see [`get`]).
#[derive(Debug)]
pub struct KeepAlive {
    http: reqwest::Client,
}

impl KeepAlive {
    pub fn new() -> Result<Self, String> {
        let http = reqwest::Client::builder().timeout(TIMEOUT).user_agent("xtask").no_proxy().build();
        Ok(Self { http: http.map_err(|e| format!("HTTP client: {e}"))? })
    }

    /// `GET path` on 127.0.0.1:`port` over the kept connection (a new one if there is none yet), as [`get`].
    pub fn get(&self, port: u16, path: &str) -> Result<(u16, String), String> {
        exchange(client()?, &self.http, port, path)
    }
}

fn exchange(client: &Client, http: &reqwest::Client, port: u16, path: &str) -> Result<(u16, String), String> {
    let request = http.get(format!("http://127.0.0.1:{port}{path}"));
    let (sender, answer) = mpsc::channel();
    client.runtime.spawn(async move {
        let exchange = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            Ok((status, response.text().await?))
        };
        let _ = sender.send(exchange.await.map_err(|e: reqwest::Error| describe(&e)));
    });
    answer.recv().map_err(|_| "the HTTP client's runtime stopped".to_owned())?
}

fn client() -> Result<&'static Client, String> {
    static CLIENT: OnceLock<Result<Client, String>> = OnceLock::new();
    let build = || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("xtask-http")
            .enable_all()
            .build()
            .map_err(|e| format!("HTTP client runtime: {e}"))?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent("xtask")
            // Loopback only, whatever the environment's proxy variables say.
            .no_proxy()
            // A fresh connection per probe: one kept from before a restart would reach the old process or fail.
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Client { runtime, http })
    };
    CLIENT.get_or_init(build).as_ref().map_err(Clone::clone)
}

/// The error and its causes on one line (reqwest's own message names only the URL).
fn describe(error: &reqwest::Error) -> String {
    let mut text =
        if error.is_timeout() { format!("no answer within {TIMEOUT:?}: {error}") } else { error.to_string() };
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::{
        io::{Read as _, Write as _},
        net::TcpListener,
    };

    #[test]
    fn status_and_body_also_from_inside_an_async_runtime_and_why_there_is_none() {
        let port = crate::ports::free_port();
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0; 1024];
            let n = stream.read(&mut request).unwrap();
            let answer = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nConnection: close\r\n\r\nwait\n";
            stream.write_all(answer.as_bytes()).unwrap();
            String::from_utf8_lossy(&request[..n]).into_owned()
        });
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let answer = runtime.block_on(async { super::get(port, "/readyz") });
        assert_eq!(answer, Ok((503, "wait\n".to_owned())));
        assert!(server.join().unwrap().starts_with("GET /readyz HTTP/1.1\r\n"));

        let refused = super::get(port, "/readyz").unwrap_err();
        assert!(refused.contains(&format!("127.0.0.1:{port}")) && refused.contains("refused"), "{refused}");
    }
}
