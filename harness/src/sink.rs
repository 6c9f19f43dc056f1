//! An OTLP/HTTP sink for benchmarks: accepts `POST /v1/traces` and `POST /v1/logs` and answers 200 with an empty
//! body, so the app's exporters do all their real work (batching, protobuf encoding, HTTP) while nothing is stored.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    thread,
};

pub struct Sink {
    server: Arc<tiny_http::Server>,
    pub port: u16,
    requests: Arc<AtomicU64>,
    logs: Arc<AtomicU64>,
    workers: Vec<thread::JoinHandle<()>>,
}

impl Sink {
    pub fn start() -> Result<Self, String> {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").map_err(|e| format!("sink: {e}"))?);
        let port = server.server_addr().to_ip().map(|a| a.port()).ok_or("sink: no TCP address")?;
        let (requests, logs) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let workers = (0..2)
            .map(|_| {
                let (server, requests, logs) = (Arc::clone(&server), Arc::clone(&requests), Arc::clone(&logs));
                thread::spawn(move || {
                    while let Ok(mut request) = server.recv() {
                        let _ = std::io::copy(request.as_reader(), &mut std::io::sink());
                        requests.fetch_add(1, Ordering::Relaxed);
                        if request.url().starts_with("/v1/logs") {
                            logs.fetch_add(1, Ordering::Relaxed);
                        }
                        let _ = request.respond(tiny_http::Response::empty(200));
                    }
                })
            })
            .collect();
        Ok(Self { server, port, requests, logs, workers })
    }

    /// Export requests received so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Of those, the log exports (`/v1/logs`).
    pub fn log_requests(&self) -> u64 {
        self.logs.load(Ordering::Relaxed)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        for _ in &self.workers {
            self.server.unblock();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}
