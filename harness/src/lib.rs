//! Process orchestration for development commands (`cargo xtask ...`) and for the integration tests, which reuse it
//! rather than keep a copy.
//!
//! Everything here runs real programs on loopback: `redis-server`, the `visit-counter` binary. Each process is
//! started with its own log file and port, and stopped by pid when its handle is dropped.
//!
//! # Layout
//! - [`process`]: a child process that is killed on drop, with signals and bounded waits.
//! - [`redis`]: a `redis-server` with AOF in a directory of its own, restartable on the same data.
//! - [`app`]: a `visit-counter` replica pointed at that Redis.
//! - [`bench`]: `cargo xtask bench`; [`sink`]: an OTLP/HTTP sink it exports to.
//! - [`load`]: `cargo xtask load`, the HTTP load engine (every request recorded) that `chaos` drives too.
//! - [`chaos`]: `cargo xtask chaos`, Redis and replica restarts under load and the verdict on them.
//! - [`wait`]: polling with a deadline (never sleeping as synchronisation) and free-port discovery.
//! - [`init`]: first-start credentials and certificate, by the scripts compose's `init` service runs.
//! - [`nginx`]: NGINX rendered from the shipped templates; [`stack`]: Redis + replicas + NGINX (the native twin).
//! - [`prometheus`]: Prometheus on the shipped config and rules (twin override); [`exporters`]: Redis and NGINX
//!   exporters; both started by the twin's monitoring.
//! - [`images`]: `cargo xtask images`, every image of the compose stack built here without a registry.
//! - [`http`]: a tiny blocking GET for probes; [`paths`]: the workspace and target directories.
//! - [`loki_standin`]: the OTLP log receiver that takes Loki's place in the compose acceptance suite (binary
//!   `loki-standin`).

pub mod app;
pub mod bench;
pub mod chaos;
pub mod exporters;
pub mod http;
pub mod images;
pub mod init;
pub mod load;
pub mod loki_standin;
pub mod nginx;
pub mod paths;
pub mod process;
pub mod prometheus;
pub mod redis;
pub mod sink;
pub mod stack;
pub mod wait;
