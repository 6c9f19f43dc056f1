//! `cargo xtask load`: bounded HTTP load on one loopback URL (by default `/count` through the native twin's NGINX),
//! every request recorded; the engine is `harness::load`.

use std::time::Duration;

use harness::load::{self, Plan, summary::Summary};

/// `cargo xtask load` options.
#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Target URL; default: /count through NGINX of `cargo xtask stack up`.
    #[arg(long, default_value = "http://127.0.0.1:5002/count")]
    pub url: String,
    /// Concurrent requests (one worker each).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Requests per second over all workers (default: as fast as answers come).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seconds to send for (at most one hour).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub seconds: u64,
    /// Stop after this many requests.
    #[arg(long, default_value_t = 10_000_000)]
    pub max_requests: u64,
    /// Client timeout per request, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub timeout_ms: u64,
    /// One JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn run(options: &Options) -> Result<(), String> {
    load::require_loopback(&options.url).map_err(|e| format!("--url: {e}"))?;
    let plan = Plan {
        url: options.url.clone(),
        concurrency: usize::from(options.concurrency),
        rate: options.rate,
        duration: Duration::from_secs(options.seconds),
        max_requests: options.max_requests,
        timeout: Duration::from_millis(options.timeout_ms),
    };
    let (records, elapsed) = load::run(&plan, "load")?;
    let summary = Summary::of(&records, elapsed);
    if options.json {
        println!("{}", summary.json());
    } else {
        println!("{}", summary.table(&plan.url));
    }
    Ok(())
}
