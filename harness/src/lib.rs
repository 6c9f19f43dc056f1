//! What the tests and `cargo xtask` share, so that neither keeps a copy: the real programs on loopback, the native
//! twin of docker-compose.yml built from them, the OTLP sink the app exports to, the load and chaos engines, and the
//! images of the compose stack.
//!
//! Everything here runs real programs: `redis-server`, the `visit-counter` binary, NGINX, Prometheus, the exporters.
//! Each process is started with its own log file and port, and stopped by pid when its handle is dropped.
//!
//! # Layout
//! - [`process`]: a child process that is killed on drop, with signals and bounded waits.
//! - [`ports`]: free loopback ports, each handed out once across processes; [`wait`]: polling with a deadline
//!   (never sleeping as synchronisation).
//! - [`paths`]: the workspace and target directories; [`http`]: a tiny blocking GET for probes.
//! - The real programs: [`redis`] (a `redis-server` with AOF in a directory of its own, restartable on the same
//!   data), [`app`] (a `visit-counter` replica pointed at it), [`nginx`] (rendered from the shipped templates),
//!   [`prometheus`] (the shipped config and rules, twin override), [`exporters`] (Redis and NGINX); [`init`]:
//!   first-start credentials and certificate, by the scripts compose's `init` service runs.
//! - [`stack`]: Redis + replicas + NGINX (+ the monitoring): the native twin behind `cargo xtask stack`.
//! - [`sink`]: the OTLP/HTTP receiver the app exports to, counting (benchmarks) or keeping (tests) what arrives.
//! - [`load`]: the HTTP load engine, every request recorded; [`chaos`]: Redis and replica restarts under that load,
//!   on the twin or on compose, and the verdict on them.
//! - [`images`]: every image of the compose stack built here without a registry; [`compose`]: a compose project on
//!   the local engine, up and down (the shipped stack and the benchmark's peer); [`loki_standin`]: what the Loki
//!   stand-in among them answers (xtask's binary `loki-standin`).

pub mod app;
pub mod chaos;
pub mod compose;
pub mod exporters;
pub mod http;
pub mod images;
pub mod init;
pub mod load;
pub mod loki_standin;
pub mod nginx;
pub mod paths;
pub mod ports;
pub mod process;
pub mod prometheus;
pub mod redis;
pub mod sink;
pub mod stack;
pub mod wait;
