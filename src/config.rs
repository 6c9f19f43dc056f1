//! Typed configuration, read once from the environment (or flags) and validated before anything starts.
//!
//! Every field's doc comment is its `--help` text. A value that does not parse ends the process with one line that names
//! the variable ([`Cli::from_env`]); nothing here panics. The Redis password is a [`SecretString`]: it never appears
//! in `Debug` output (the configuration is logged at start-up).

use std::{fmt, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, builder::NonEmptyStringValueParser, error::ContextKind};
use secrecy::SecretString;

/// A visit counter on Redis, with health probes, bounded waits and a graceful drain.
///
/// Every option is read from the environment variable shown next to it; flags override the environment.
#[derive(Debug, Parser)]
#[command(name = "visit-counter", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe this replica's liveness endpoint (/healthz) on 127.0.0.1:$PORT and exit 0 (serving) or 1 (not). Made for
    /// container HEALTHCHECKs in images without a shell or curl; a Redis outage leaves it at 0.
    Healthcheck,
}

#[derive(Debug, Args)]
pub struct Config {
    #[command(flatten)]
    pub redis: RedisConfig,

    /// Public HTTP port (the one NGINX proxies to).
    #[arg(long, env = "PORT", default_value_t = 8080, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,

    /// Port of the Prometheus `/metrics` endpoint; never proxied by NGINX.
    #[arg(long, env = "METRICS_PORT", default_value_t = 9000, value_parser = clap::value_parser!(u16).range(1..))]
    pub metrics_port: u16,

    /// Address both listeners bind to.
    #[arg(long, env = "BIND_ADDRESS", default_value = "0.0.0.0")]
    pub bind_address: std::net::IpAddr,

    /// Name shown as `served_by` in pages and JSON. Defaults to `<hostname>:<PORT>`, which is unique per container
    /// and per process on one host.
    #[arg(long, env = "REPLICA_NAME", value_parser = NonEmptyStringValueParser::new())]
    pub replica_name: Option<String>,

    /// Upper bound for a whole request, in milliseconds; past it the client gets 503. Redis work has its own, smaller
    /// budget (REDIS_TIMEOUT_MS); this one catches everything else.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 2000, value_parser = positive_u64)]
    pub request_timeout_ms: u64,

    /// On SIGTERM or SIGINT: how long in-flight requests may take to finish, in seconds, before the process gives up
    /// on them and exits 1. Then up to 3 s more go to exporting the last spans and log records (both at once): keep
    /// the sum below the orchestrator's kill timeout (Docker's default is 10 s; compose `stop_grace_period`).
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 5, value_parser = positive_u64)]
    pub shutdown_grace_secs: u64,

    /// Log line format on stdout: `json` (one object per line, for collectors) or `text` (for humans).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,

    /// Where each request's `request completed` line goes: `stdout` (and, when the request is traced, an OTLP log
    /// record too) or `otlp` (the record only; stdout keeps start-up, shutdown, warnings and errors). Compose uses
    /// `otlp`: every request is traced there, and Docker's log driver would carry each line a second time.
    #[arg(long, env = "LOG_REQUESTS", value_enum, default_value_t = RequestLog::Stdout)]
    pub log_requests: RequestLog,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

/// See [`Config::log_requests`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RequestLog {
    Stdout,
    Otlp,
}

#[derive(Args)]
pub struct RedisConfig {
    /// Redis host name or address.
    #[arg(long, env = "REDIS_HOST", default_value = "redis", value_parser = NonEmptyStringValueParser::new())]
    pub redis_host: String,

    /// Redis TCP port.
    #[arg(long, env = "REDIS_PORT", default_value_t = 6379, value_parser = clap::value_parser!(u16).range(1..))]
    pub redis_port: u16,

    /// Redis logical database number.
    #[arg(long, env = "REDIS_DB", default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..))]
    pub redis_db: i64,

    /// Key holding the counter; incremented with a single INCR.
    #[arg(long, env = "REDIS_KEY", default_value = "visits", value_parser = NonEmptyStringValueParser::new())]
    pub redis_key: String,

    /// ACL user name (Redis 6+). Unset: the `default` user.
    #[arg(long, env = "REDIS_USERNAME", value_parser = NonEmptyStringValueParser::new())]
    pub redis_username: Option<String>,

    /// Password for the ACL user. Prefer REDIS_PASSWORD_FILE, which keeps it out of the process environment.
    #[arg(long, env = "REDIS_PASSWORD", hide_env_values = true, value_parser = secret_value, conflicts_with = "redis_password_file")]
    pub redis_password: Option<SecretString>,

    /// File whose first line is the password (a Docker secret or a generated credentials volume).
    #[arg(long, env = "REDIS_PASSWORD_FILE", value_parser = NonEmptyStringValueParser::new())]
    pub redis_password_file: Option<String>,

    /// Most connections this replica keeps to Redis. Each one is multiplexed (many requests pipeline over it), so a
    /// few are plenty.
    #[arg(long, env = "REDIS_POOL_SIZE", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub redis_pool_size: u32,

    /// Budget in milliseconds for one request's Redis work: waiting for a pooled connection plus the command. Past it
    /// the request answers 503 with Retry-After instead of waiting longer.
    #[arg(long, env = "REDIS_TIMEOUT_MS", default_value_t = 250, value_parser = positive_u64)]
    pub redis_timeout_ms: u64,

    /// How long /readyz waits for Redis to answer PING, in milliseconds.
    #[arg(long, env = "READY_TIMEOUT_MS", default_value_t = 200, value_parser = positive_u64)]
    pub ready_timeout_ms: u64,
}

impl RedisConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.redis_timeout_ms)
    }

    pub fn ready_timeout(&self) -> Duration {
        Duration::from_millis(self.ready_timeout_ms)
    }

    /// The password from REDIS_PASSWORD or the first line of REDIS_PASSWORD_FILE.
    pub fn password(&self) -> Result<Option<SecretString>, ConfigError> {
        let Some(path) = &self.redis_password_file else {
            return Ok(self.redis_password.clone());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new("REDIS_PASSWORD_FILE", format!("cannot read {path}: {e}")))?;
        match text.lines().next().map(str::trim_end) {
            Some(line) if !line.is_empty() => Ok(Some(SecretString::from(line))),
            _ => Err(ConfigError::new("REDIS_PASSWORD_FILE", format!("{path} is empty"))),
        }
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("host", &self.redis_host)
            .field("port", &self.redis_port)
            .field("db", &self.redis_db)
            .field("key", &self.redis_key)
            .field("username", &self.redis_username)
            .field("password", &self.redis_password.as_ref().map(|_| format_args!("[redacted]")))
            .field("password_file", &self.redis_password_file.as_ref().map(PathBuf::from))
            .field("pool_size", &self.redis_pool_size)
            .field("timeout_ms", &self.redis_timeout_ms)
            .field("ready_timeout_ms", &self.ready_timeout_ms)
            .finish()
    }
}

impl Config {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// `served_by` of this replica: REPLICA_NAME, or `<hostname>:<PORT>`.
    pub fn replica_name(&self) -> String {
        self.replica_name.clone().unwrap_or_else(|| {
            let host = nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok());
            format!("{}:{}", host.as_deref().unwrap_or("localhost"), self.port)
        })
    }
}

fn secret_value(s: &str) -> Result<SecretString, String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    Ok(SecretString::from(s))
}

fn positive_u64(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(0) => Err("must be greater than 0".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A configuration problem, reported as one line naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct ConfigError {
    pub variable: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(variable: &str, reason: impl Into<String>) -> Self {
        Self { variable: variable.to_owned(), reason: reason.into() }
    }

    /// Condense clap's multi-line error into one line naming the environment variable. Help and version requests are
    /// not errors: they are printed and the process exits 0 inside this call.
    pub fn from_clap(err: clap::Error) -> Self {
        use clap::error::ErrorKind;
        if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
            err.exit();
        }
        // The argument renders as `--redis-port <REDIS_PORT>`; the value name is the variable's name.
        let variable = match err.get(ContextKind::InvalidArg) {
            Some(arg) => {
                let arg = arg.to_string();
                match (arg.find('<'), arg.find('>')) {
                    (Some(a), Some(b)) if a < b => arg[a + 1..b].to_owned(),
                    _ => arg,
                }
            }
            None => "configuration".to_owned(),
        };
        let value = err.get(ContextKind::InvalidValue).map(ToString::to_string);
        let rendered = err.to_string();
        let first = rendered.lines().next().unwrap_or_default().trim_start_matches("error: ");
        let reason = match (value, err.get(ContextKind::ValidValue)) {
            (Some(v), _) if v.is_empty() => "must not be empty".to_owned(),
            (Some(_), _) if variable.starts_with("REDIS_PASSWORD") => "invalid value".to_owned(),
            (Some(v), Some(valid)) => format!("invalid value '{v}'; expected one of: {valid}"),
            // Validation errors render as `invalid value 'abc' for '--x <X>': <what the parser said>`.
            (Some(v), None) => match first.split_once("': ") {
                Some((_, detail)) => format!("invalid value '{v}': {detail}"),
                None => format!("invalid value '{v}'"),
            },
            (None, _) => first.to_owned(),
        };
        Self { variable, reason }
    }
}

impl Cli {
    /// Parse flags and environment. Errors carry one line naming the variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        let cli = Self::try_parse().map_err(ConfigError::from_clap)?;
        let (request, redis) = (cli.config.request_timeout_ms, cli.config.redis.redis_timeout_ms);
        if request <= redis {
            // Otherwise a slow Redis would be cut off by the whole-request timeout instead of answered by the app.
            let reason = format!("must be greater than REDIS_TIMEOUT_MS ({request} <= {redis})");
            return Err(ConfigError::new("REQUEST_TIMEOUT_MS", reason));
        }
        Ok(cli)
    }
}
