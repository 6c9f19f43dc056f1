//! The OTLP/HTTP sink the app exports to, standing in for the Collector (no Collector binary runs here): it answers
//! `POST /v1/traces` and `POST /v1/logs` with 200 and an empty body, so the app's exporters do all their real work
//! (batching, protobuf encoding, HTTP). [`Sink::start`] only counts the exports (benchmarks: nothing stored however
//! long the run); [`Sink::keeping`] also decodes each one and queues it for the tests to read, resource included.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    thread,
    time::Duration,
};

use opentelemetry_proto::tonic::collector::{logs::v1::ExportLogsServiceRequest, trace::v1::ExportTraceServiceRequest};
use prost::Message;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

pub struct Sink {
    server: Arc<tiny_http::Server>,
    pub port: u16,
    /// `http://127.0.0.1:<port>`, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: String,
    counts: Arc<Counts>,
    /// The decoded exports, when keeping.
    traces: Option<UnboundedReceiver<ExportTraceServiceRequest>>,
    logs: Option<UnboundedReceiver<ExportLogsServiceRequest>>,
    workers: Vec<thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink").field("endpoint", &self.endpoint).field("counts", &self.counts).finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Counts {
    requests: AtomicU64,
    logs: AtomicU64,
}

/// Where the workers put what they decode, when keeping.
#[derive(Clone)]
struct Queues {
    traces: UnboundedSender<ExportTraceServiceRequest>,
    logs: UnboundedSender<ExportLogsServiceRequest>,
}

impl Sink {
    /// A sink on a free loopback port that counts exports and discards them.
    pub fn start() -> Result<Self, String> {
        Self::serve(None)
    }

    /// A sink that also keeps every export, decoded, for [`Sink::next_traces`] and [`Sink::next_logs`].
    pub fn keeping() -> Result<Self, String> {
        let ((traces, trace_rx), (logs, log_rx)) = (unbounded_channel(), unbounded_channel());
        let mut sink = Self::serve(Some(Queues { traces, logs }))?;
        (sink.traces, sink.logs) = (Some(trace_rx), Some(log_rx));
        Ok(sink)
    }

    fn serve(queues: Option<Queues>) -> Result<Self, String> {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").map_err(|e| format!("sink: {e}"))?);
        let port = server.server_addr().to_ip().map(|a| a.port()).ok_or("sink: no TCP address")?;
        let counts = Arc::new(Counts::default());
        let workers = (0..2)
            .map(|_| {
                let (server, counts, queues) = (Arc::clone(&server), Arc::clone(&counts), queues.clone());
                thread::spawn(move || {
                    while let Ok(request) = server.recv() {
                        receive(request, &counts, queues.as_ref());
                    }
                })
            })
            .collect();
        let endpoint = format!("http://127.0.0.1:{port}");
        Ok(Self { server, port, endpoint, counts, traces: None, logs: None, workers })
    }

    /// The app's environment for exporting to this sink over OTLP/HTTP, a batch every `delay_ms`.
    pub fn env<'a>(&'a self, delay_ms: &'a str) -> [(&'a str, &'a str); 3] {
        [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", self.endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_BSP_SCHEDULE_DELAY", delay_ms),
        ]
    }

    /// Export requests received so far.
    pub fn requests(&self) -> u64 {
        self.counts.requests.load(Ordering::Relaxed)
    }

    /// Of those, the log exports (`/v1/logs`).
    pub fn log_requests(&self) -> u64 {
        self.counts.logs.load(Ordering::Relaxed)
    }

    /// The next trace export, waiting at most `deadline` (always `None` unless keeping).
    pub async fn next_traces(&mut self, deadline: Duration) -> Option<ExportTraceServiceRequest> {
        tokio::time::timeout(deadline, self.traces.as_mut()?.recv()).await.ok().flatten()
    }

    /// The next log export, waiting at most `deadline` (always `None` unless keeping).
    pub async fn next_logs(&mut self, deadline: Duration) -> Option<ExportLogsServiceRequest> {
        tokio::time::timeout(deadline, self.logs.as_mut()?.recv()).await.ok().flatten()
    }
}

/// Count one request and, when keeping, decode and queue it; 404 for a path that is neither signal's.
fn receive(mut request: tiny_http::Request, counts: &Counts, queues: Option<&Queues>) {
    let path = request.url().to_owned();
    counts.requests.fetch_add(1, Ordering::Relaxed);
    if path.starts_with("/v1/logs") {
        counts.logs.fetch_add(1, Ordering::Relaxed);
    }
    let status = match (queues, path.as_str()) {
        (None, _) => {
            let _ = std::io::copy(request.as_reader(), &mut std::io::sink());
            200
        }
        (Some(queues), "/v1/traces") => keep(&mut request, &queues.traces),
        (Some(queues), "/v1/logs") => keep(&mut request, &queues.logs),
        (Some(_), _) => 404,
    };
    // An empty Export*ServiceResponse.
    let _ = request.respond(tiny_http::Response::empty(status));
}

/// Decode the body as an `M` and queue it: 200, or 400 for a body that is not one.
fn keep<M: Message + Default>(request: &mut tiny_http::Request, queue: &UnboundedSender<M>) -> u16 {
    let mut body = Vec::new();
    if request.as_reader().read_to_end(&mut body).is_err() {
        return 400;
    }
    match M::decode(body.as_slice()) {
        Ok(export) => {
            let _ = queue.send(export);
            200
        }
        Err(_) => 400,
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

#[cfg(test)]
mod tests {
    use std::{
        io::{Read, Write},
        net::TcpStream,
    };

    use super::*;

    /// POST `body` to `path` on the sink; the status code of the answer.
    fn post(sink: &Sink, path: &str, body: &[u8]) -> u16 {
        let mut stream = TcpStream::connect(("127.0.0.1", sink.port)).unwrap();
        let head = format!(
            "POST {path} HTTP/1.0\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body)).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap()
    }

    #[tokio::test]
    async fn keeps_each_signals_exports_decoded_and_refuses_what_is_not_one() {
        let mut sink = Sink::keeping().unwrap();
        let export = ExportTraceServiceRequest { resource_spans: vec![Default::default()] };

        assert_eq!(post(&sink, "/v1/traces", &export.encode_to_vec()), 200);
        assert_eq!(post(&sink, "/v1/logs", &ExportLogsServiceRequest::default().encode_to_vec()), 200);
        assert_eq!(post(&sink, "/v1/traces", b"\xff not protobuf"), 400);
        assert_eq!(post(&sink, "/v1/metrics", b""), 404);

        assert_eq!(sink.next_traces(Duration::from_secs(5)).await, Some(export));
        assert!(sink.next_logs(Duration::from_secs(5)).await.is_some());
        assert_eq!(sink.next_traces(Duration::from_millis(50)).await, None, "nothing else was kept");
        assert_eq!((sink.requests(), sink.log_requests()), (4, 1));
    }

    #[tokio::test]
    async fn a_counting_sink_accepts_everything_and_keeps_nothing() {
        let mut sink = Sink::start().unwrap();

        assert_eq!(post(&sink, "/v1/logs", b"anything"), 200);

        assert_eq!(sink.next_logs(Duration::from_millis(50)).await, None);
        assert_eq!((sink.requests(), sink.log_requests()), (1, 1));
    }
}
