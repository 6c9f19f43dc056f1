//! The shutdown signal: SIGTERM (what `docker stop` and Kubernetes send) or SIGINT (Ctrl-C).
//!
//! The handlers are installed by [`Signals::install`], before the listeners are bound: a SIGTERM that arrives the
//! moment the port accepts connections starts a drain instead of killing the process.

use tokio::signal::unix::{Signal, SignalKind, signal};

#[derive(Debug)]
pub struct Signals {
    terminate: Signal,
    interrupt: Signal,
}

impl Signals {
    pub fn install() -> std::io::Result<Self> {
        Ok(Self { terminate: signal(SignalKind::terminate())?, interrupt: signal(SignalKind::interrupt())? })
    }

    /// Resolves when the process is asked to stop.
    pub async fn recv(mut self) {
        tokio::select! {
            _ = self.terminate.recv() => tracing::info!(signal = "SIGTERM", "shutdown requested"),
            _ = self.interrupt.recv() => tracing::info!(signal = "SIGINT", "shutdown requested"),
        }
    }
}
