//! `cargo xtask load`: bounded HTTP load on one local URL (by default `/count` through the native twin's NGINX) or a
//! weighted mix of paths on it, every request recorded; the engine is `harness::load`. The compose `load` service
//! (profile `load`) runs this very command in an image: every option is also an environment variable (`LOAD_*`).
//!
//! Two ways to report: a table at the end (the default), or with `--every` a line per interval and none of the
//! records kept, for runs of any length (`--seconds 0`: until SIGTERM or Ctrl-C). Either way the run fails (exit 1)
//! if anything but 200, 404 or 503 came back.

use std::{path::PathBuf, time::Duration};

use harness::load::{self, Mix, Plan, report, summary::Summary};

/// `cargo xtask load` options. An invalid value ends the command with one line naming the option and its variable.
#[derive(Debug, clap::Args)]
#[command(disable_help_subcommand = true)]
pub(crate) struct Options {
    #[command(subcommand)]
    pub check: Option<Check>,
    /// Target URL: on loopback, or a one-label service name (`http://nginx:5002`); default: /count through NGINX of
    /// `cargo xtask stack up`.
    #[arg(long, env = "LOAD_URL", value_name = "LOAD_URL", default_value = "http://127.0.0.1:5002/count")]
    pub url: String,
    /// Paths on the URL's origin, each with a weight, as `PATH=WEIGHT,…` (e.g. `/count=6,/=3,/favicon.ico=1`);
    /// default: the URL itself.
    #[arg(long, env = "LOAD_MIX", value_name = "LOAD_MIX", value_parser = paths)]
    pub mix: Option<Paths>,
    /// `Accept` header of every request (a browser's: `text/html,application/xhtml+xml,*/*;q=0.8`).
    #[arg(long, env = "LOAD_ACCEPT", value_name = "LOAD_ACCEPT", default_value = "application/json")]
    pub accept: String,
    /// Share of requests, in percent, that carry a new sampled W3C `traceparent` (their traces start at the client).
    #[arg(long, env = "LOAD_TRACED_PERCENT", value_name = "LOAD_TRACED_PERCENT", default_value_t = 0,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    pub traced_percent: u8,
    /// Concurrent requests (one worker and keep-alive connection each).
    #[arg(long, env = "LOAD_CONCURRENCY", value_name = "LOAD_CONCURRENCY", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Requests per second over all workers, above 0 and at most 100000 (default: as fast as answers come).
    #[arg(long, env = "LOAD_RATE", value_name = "LOAD_RATE", value_parser = rate)]
    pub rate: Option<f64>,
    /// Seconds to send for: at most 3600 with the table (every request is kept for it); with --every up to a week,
    /// or 0 for until SIGTERM or Ctrl-C.
    #[arg(long, env = "LOAD_SECONDS", value_name = "LOAD_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(0..=604_800))]
    pub seconds: u64,
    /// Stop after this many requests.
    #[arg(long, env = "LOAD_MAX_REQUESTS", value_name = "LOAD_MAX_REQUESTS", default_value_t = 10_000_000)]
    pub max_requests: u64,
    /// Client timeout per request, in milliseconds.
    #[arg(long, env = "LOAD_TIMEOUT_MS", value_name = "LOAD_TIMEOUT_MS", default_value_t = 2000,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub timeout_ms: u64,
    /// Print a one-line summary every this many seconds (sent, by status, p50/p99) and keep no records, instead of
    /// the table at the end.
    #[arg(long, env = "LOAD_EVERY_SECS", value_name = "LOAD_EVERY_SECS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub every: Option<u64>,
    /// With --every: write the time of the latest answer to this file (at most once a second), for `load healthcheck`.
    #[arg(long, env = "LOAD_HEARTBEAT_FILE", value_name = "LOAD_HEARTBEAT_FILE")]
    pub heartbeat: Option<PathBuf>,
    /// One JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// What `load` checks instead of sending.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Check {
    /// Exit 0 if the running load (its LOAD_HEARTBEAT_FILE) got an answer within --within seconds, else 1: the
    /// HEALTHCHECK of the load image, which has no shell.
    Healthcheck {
        /// Seconds since the latest answer at most.
        #[arg(long, default_value_t = 30)]
        within: u64,
    },
}

/// The paths of `--mix` with their weights.
#[derive(Clone, Debug)]
pub(crate) struct Paths(Vec<(String, u32)>);

fn paths(text: &str) -> Result<Paths, String> {
    Mix::parse_paths(text).map(Paths)
}

fn rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if r > 0.0 && r <= 100_000.0 => Ok(r),
        Ok(r) => Err(format!("{r} is not above 0 and at most 100000")),
        Err(e) => Err(e.to_string()),
    }
}

pub(crate) fn run(options: &Options) -> Result<(), String> {
    if let Some(Check::Healthcheck { within }) = options.check {
        let path = options.heartbeat.as_deref().ok_or("healthcheck: no LOAD_HEARTBEAT_FILE (--heartbeat) to read")?;
        let line = report::healthy(path, Duration::from_secs(within)).map_err(|e| format!("unhealthy: {e}"))?;
        println!("healthy: {line}");
        return Ok(());
    }
    load::require_local(&options.url).map_err(|e| format!("--url (LOAD_URL): {e}"))?;
    if options.every.is_none() && !(1..=3600).contains(&options.seconds) {
        return Err("--seconds (LOAD_SECONDS) above 3600 or 0 needs --every (LOAD_EVERY_SECS): the table keeps \
                    every request"
            .into());
    }
    let plan = Plan {
        url: options.url.clone(),
        concurrency: usize::from(options.concurrency),
        rate: options.rate,
        duration: if options.seconds == 0 { load::UNTIL_STOPPED } else { Duration::from_secs(options.seconds) },
        max_requests: options.max_requests,
        timeout: Duration::from_millis(options.timeout_ms),
        mix: Mix {
            paths: options.mix.clone().map(|p| p.0).unwrap_or_default(),
            accept: options.accept.clone(),
            traced_percent: options.traced_percent,
        },
    };
    if let Some(every) = options.every {
        let reporting = report::Reporting { every: Duration::from_secs(every), heartbeat: options.heartbeat.clone() };
        let totals = report::run(&plan, &reporting)?;
        return totals.verdict();
    }
    let (records, elapsed) = load::run(&plan, "load")?;
    let summary = Summary::of(&records, elapsed);
    if options.json {
        println!("{}", summary.json());
    } else {
        println!("{}", summary.table(&plan.url));
    }
    let unexpected: u64 =
        summary.failures.iter().filter(|(label, _)| label.as_str() != "404").map(|(_, n)| n).sum::<u64>();
    if unexpected > 0 {
        return Err(format!("{unexpected} answers other than 200, 404 or 503 (see the table)"));
    }
    Ok(())
}
