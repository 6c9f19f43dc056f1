//! Bounded HTTP load on one URL or a weighted mix of paths (`cargo xtask load`, the compose `load` service, the chaos
//! scenarios, the compose suite), recording every request: when it started, how long it took, how it ended, for a
//! JSON body with `count` the number it returned, and the `traceparent` it carried, if any. [`feed`] is the engine,
//! handing each record on as its request ends; [`drive`] collects them all; [`run`] drives it from synchronous code;
//! [`summary`] turns records into the verdict, [`report`] into a line a minute for runs of any length.
//!
//! Every loop here is bounded: by the duration, by an optional request budget, and by the per-request timeout.

mod mix;
pub mod report;
pub mod summary;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};

pub use mix::{Mix, TraceContext};

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 200 OK, the only success the app sends.
    Ok,
    /// Any other HTTP status.
    Status(u16),
    /// No connection could be made (refused, reset before sending).
    Connect,
    /// No complete answer within the client timeout.
    Timeout,
    /// Anything else: a connection closed mid-answer, an unreadable body.
    Other,
}

impl Outcome {
    /// A short label for tables and JSON: `ok`, `503`, `502`, `connect`, `timeout`, `other`.
    pub fn label(self) -> String {
        match self {
            Outcome::Ok => "ok".into(),
            Outcome::Status(s) => s.to_string(),
            Outcome::Connect => "connect".into(),
            Outcome::Timeout => "timeout".into(),
            Outcome::Other => "other".into(),
        }
    }
}

/// One request, timed from the start of the run.
#[derive(Clone, Debug)]
pub struct Record {
    pub start: Duration,
    pub latency: Duration,
    pub outcome: Outcome,
    /// The `count` of a JSON answer, when there was one.
    pub count: Option<i64>,
    /// Sent again this many times because NGINX closed the connection before answering (see [`request`]).
    pub resent: u8,
    /// The trace this request started at the client (see [`Mix::traced_percent`]).
    pub trace: Option<TraceContext>,
}

impl Record {
    pub fn end(&self) -> Duration {
        self.start + self.latency
    }
}

/// What to send.
#[derive(Clone, Debug)]
pub struct Plan {
    pub url: String,
    pub concurrency: usize,
    /// Requests per second over all workers; `None`: as fast as answers come.
    pub rate: Option<f64>,
    /// Stop sending after this long (the chaos schedule may stop earlier through [`Tally::stop`]).
    pub duration: Duration,
    /// Stop sending after this many requests.
    pub max_requests: u64,
    /// Per-request client timeout: a request still open then is recorded as a timeout.
    pub timeout: Duration,
    /// What each request asks for; [`Mix::default`]: `GET url` as JSON, no `traceparent`.
    pub mix: Mix,
}

/// A [`Plan::duration`] that means "until [`Tally::stop`]" (a signal, for the compose service): a century.
pub const UNTIL_STOPPED: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Live counters, read by progress lines while the load runs, and the stop switch.
#[derive(Debug, Default)]
pub struct Tally {
    pub sent: AtomicU64,
    pub ok: AtomicU64,
    pub unavailable: AtomicU64,
    pub other: AtomicU64,
    stop: AtomicBool,
}

impl Tally {
    /// Ask every worker to send nothing more (requests in flight still finish).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn count(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Ok => &self.ok,
            Outcome::Status(503) => &self.unavailable,
            _ => &self.other,
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

/// Send `plan` from `concurrency` workers, times relative to `epoch`; returns every record, sorted by start.
pub async fn drive(plan: &Plan, epoch: Instant, tally: Arc<Tally>) -> Result<Vec<Record>, String> {
    let mut records = Vec::new();
    feed(plan, epoch, tally, |record| records.push(record)).await?;
    records.sort_by_key(|r| r.start);
    Ok(records)
}

/// Send `plan` from `concurrency` workers, times relative to `epoch`, handing each record to `each` as its request
/// ends and keeping none: a run of any length stays bounded in memory.
pub async fn feed(plan: &Plan, epoch: Instant, tally: Arc<Tally>, mut each: impl FnMut(Record)) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(plan.timeout)
        .pool_max_idle_per_host(plan.concurrency)
        .build()
        .map_err(|e| format!("http client: {e}"))?;
    let targets = Arc::new(plan.mix.targets(&plan.url)?);
    let deadline = Instant::now() + plan.duration;
    let interval = plan.rate.map(|r| Duration::from_secs_f64(plan.concurrency as f64 / r.max(0.001)));
    let (sender, mut records) = tokio::sync::mpsc::channel(1024);
    let mut workers = Vec::with_capacity(plan.concurrency);
    for _ in 0..plan.concurrency {
        let (client, tally, targets, max) = (client.clone(), tally.clone(), targets.clone(), plan.max_requests);
        let (sender, mix) = (sender.clone(), plan.mix.clone());
        workers.push(tokio::spawn(async move {
            let mut ticker = interval.map(tokio::time::interval);
            while !tally.stopped() && Instant::now() < deadline {
                if tally.sent.fetch_add(1, Ordering::SeqCst) >= max {
                    tally.sent.fetch_sub(1, Ordering::SeqCst);
                    break;
                }
                if let Some(t) = ticker.as_mut() {
                    t.tick().await;
                }
                let (url, trace) = (targets.pick(), mix.trace());
                let record = request(&client, url, &mix.accept, trace, epoch).await;
                tally.count(record.outcome);
                if sender.send(record).await.is_err() {
                    break;
                }
            }
        }));
    }
    drop(sender);
    while let Some(record) = records.recv().await {
        each(record);
    }
    for worker in workers {
        worker.await.map_err(|e| format!("load worker: {e}"))?;
    }
    Ok(())
}

/// One `GET`, sent again (at most [`RESENDS`] times) if NGINX closed the connection without answering — what
/// browsers and most HTTP clients do on a reused keep-alive connection. NGINX closes idle client connections when it
/// likes (a reload's old workers close all of theirs at once), and a request written at that instant is never read:
/// it reached no replica and counted nothing. The next pooled connection may be closing too, hence more than one.
/// The extra sends are recorded, and do not raise the chaos checks' bound (counter ≤ requests sent): a send that had
/// counted after all would show up there, and as "counted, not acknowledged".
async fn request(
    client: &reqwest::Client,
    url: &str,
    accept: &str,
    trace: Option<TraceContext>,
    epoch: Instant,
) -> Record {
    let started = Instant::now();
    let mut resent = 0;
    let result = loop {
        let mut get = client.get(url).header(ACCEPT, accept).header(USER_AGENT, "visit-counter-load");
        if let Some(trace) = trace {
            get = get.header("traceparent", trace.to_string());
        }
        match get.send().await {
            Err(e) if resent < RESENDS && closed_unanswered(&e) => resent += 1,
            result => break result,
        }
    };
    let (outcome, count) = match result {
        Ok(response) if response.status() == reqwest::StatusCode::OK => {
            let json =
                response.headers().get(CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
            match response.bytes().await {
                Ok(body) if json => match serde_json::from_slice::<serde_json::Value>(&body) {
                    Ok(body) => (Outcome::Ok, body["count"].as_i64()),
                    Err(_) => (Outcome::Other, None),
                },
                Ok(_) => (Outcome::Ok, None),
                Err(e) if e.is_timeout() => (Outcome::Timeout, None),
                Err(_) => (Outcome::Other, None),
            }
        }
        Ok(response) => {
            let status = response.status().as_u16();
            // Read the body so the connection can be reused.
            let _ = response.bytes().await;
            (Outcome::Status(status), None)
        }
        Err(e) if e.is_timeout() => (Outcome::Timeout, None),
        Err(e) if e.is_connect() => (Outcome::Connect, None),
        Err(_) => (Outcome::Other, None),
    };
    Record { start: started - epoch, latency: started.elapsed(), outcome, count, resent, trace }
}

/// How often [`request`] sends again after an unanswered close.
const RESENDS: u8 = 3;

/// Whether `send` failed because the connection was closed before a single byte of the answer arrived: hyper's
/// "incomplete message" (NGINX's FIN), or a reset (the same close, with the unread request still in NGINX's socket
/// buffer, which makes the kernel answer with RST).
fn closed_unanswered(error: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if e.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_incomplete_message)
            || e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionReset)
        {
            return true;
        }
        source = e.source();
    }
    false
}

/// `Ok` when `url` points at loopback (127.0.0.0/8, `localhost` or `[::1]`), or at a host name of one label (a
/// compose service such as `nginx`, resolved on the container's own networks): load stays on this machine.
pub fn require_local(url: &str) -> Result<(), String> {
    let host = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    let service = |h: &str| !h.contains(['.', ':', '[']) && h.parse::<u32>().is_err();
    if host.host_str().is_some_and(|h| h == "localhost" || h.starts_with("127.") || h == "[::1]" || service(h)) {
        Ok(())
    } else {
        Err(format!(
            "{url} is neither on loopback (127.0.0.0/8, localhost or [::1]) nor a one-label service name (nginx): \
             load stays on this machine"
        ))
    }
}

/// Send `plan` on a runtime of its own, with a progress line on stderr labelled `label`; every record, by start.
pub fn run(plan: &Plan, label: &'static str) -> Result<(Vec<Record>, Duration), String> {
    let runtime = runtime()?;
    let tally = Arc::new(Tally::default());
    let epoch = Instant::now();
    let records = runtime.block_on(async {
        let progress = tokio::spawn(summary::progress(tally.clone(), epoch, label));
        let records = drive(plan, epoch, tally.clone()).await;
        progress.abort();
        records
    })?;
    eprintln!();
    Ok((records, epoch.elapsed()))
}

/// The runtime the load runs on: two workers (the machine has two cores, shared with what is being loaded).
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}
