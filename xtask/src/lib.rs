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
//! - [`wait`]: polling with a deadline (never sleeping as synchronisation) and free-port discovery.

pub mod app;
pub mod bench;
pub mod process;
pub mod redis;
pub mod sink;
pub mod wait;

use std::path::PathBuf;

/// Cargo's target directory (`CARGO_TARGET_DIR`, or `target/` in the workspace): where xtask keeps its state.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).unwrap_or_default()
}
