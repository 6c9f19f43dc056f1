//! Building the application (bind both listeners, wire state and routes) and running it until a shutdown signal.
//!
//! `build` binds before it returns, so the caller knows the ports; `run_until_stopped` takes the shutdown future,
//! so tests and `main` choose what stops it. What can go wrong before the first request is [`StartupError`].

mod error;

use std::{future::IntoFuture, net::SocketAddr, sync::Arc, time::Duration};

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::{net::TcpListener, sync::watch};

pub use error::StartupError;

use crate::{config::Config, metrics, middleware::Edge, routes, state::AppState, store::Store};

#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    metrics_listener: TcpListener,
    app: axum::Router,
    metrics: axum::Router,
    grace: Duration,
}

/// How the drain ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Drain {
    /// Every in-flight request finished.
    Complete,
    /// The grace period ran out with requests still in flight.
    Abandoned,
}

impl Application {
    pub async fn build(config: &Config, metrics_handle: PrometheusHandle) -> Result<Self, StartupError> {
        let store = Store::new(&config.redis)?;
        let state = AppState {
            store: store.clone(),
            replica: Arc::from(config.replica_name()),
            ready_timeout: config.redis.ready_timeout(),
        };
        Ok(Self {
            listener: bind("PORT", (config.bind_address, config.port).into()).await?,
            metrics_listener: bind("METRICS_PORT", (config.bind_address, config.metrics_port).into()).await?,
            app: routes::router(state, &Edge { request_timeout: config.request_timeout(), port: config.port }),
            metrics: metrics::router(metrics_handle, store),
            grace: config.shutdown_grace(),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until `shutdown` resolves, then stop accepting and let in-flight requests finish within the grace period.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Drain {
        let (stopping, mut stopped) = watch::channel(false);
        let mut metrics_stopped = stopping.subscribe();
        let signal = async move {
            shutdown.await;
            stopping.send_replace(true);
        };
        let metrics = axum::serve(self.metrics_listener, self.metrics)
            .with_graceful_shutdown(async move {
                let _ = metrics_stopped.wait_for(|s| *s).await;
            })
            .into_future();
        tokio::spawn(metrics);
        let app = axum::serve(self.listener, self.app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(signal)
            .into_future();
        let grace = self.grace;
        let deadline = async move {
            let _ = stopped.wait_for(|s| *s).await;
            tracing::info!(grace_secs = grace.as_secs(), "draining in-flight requests");
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            // `serve` only returns after the signal and once every connection is done.
            _ = app => Drain::Complete,
            () = deadline => Drain::Abandoned,
        }
    }
}

async fn bind(variable: &'static str, addr: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr).await.map_err(|source| StartupError::Bind { variable, addr, source })
}
