//! The suite's own webhook receiver: what a user's receiver would get from Alertmanager. It listens on this host, on
//! the address `host.docker.internal` resolves to in the containers (the `host-gateway` of docker-compose.yml's
//! `extra_hosts`: the default bridge's address, not every interface), and the stack is started with
//! `ALERTMANAGER_WEBHOOK_URL` naming it, so Alertmanager posts here as it would to any receiver: nothing in the
//! shipped files changes. It keeps every notification with the time it arrived.

use std::{
    net::TcpListener,
    sync::{Arc, Mutex},
    time::Instant,
};

use axum::{Json, Router, extract::State, routing::post};
use serde_json::Value;

/// The path Alertmanager posts to.
const PATH: &str = "/alerts";

/// A notification as it arrived: when, and Alertmanager's webhook payload (version 4).
pub(crate) type Notification = (Instant, Value);

/// What arrived so far.
#[derive(Clone, Default)]
pub(crate) struct Received(Arc<Mutex<Vec<Notification>>>);

impl Received {
    pub(crate) fn snapshot(&self) -> Vec<Notification> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Binds the receiver's socket (before any thread starts: the URL goes into the environment) and returns it with the
/// URL the containers reach it at. `images` is target/images.env, whose busybox image tells the host-gateway address.
pub(crate) fn bind(images: &std::path::Path) -> Result<(TcpListener, String), String> {
    let pins = harness::images::pins::read(images)?;
    let busybox = harness::images::pins::image(&pins, "BUSYBOX_IMAGE")?;
    let hosts = crate::project::run(std::process::Command::new("docker").args([
        "run",
        "--rm",
        "--network",
        "none",
        "--add-host",
        "gateway:host-gateway",
        "--entrypoint",
        "/bin/busybox",
        busybox,
        "cat",
        "/etc/hosts",
    ]))?;
    let gateway = hosts
        .lines()
        .find_map(|l| l.strip_suffix("\tgateway").or_else(|| l.strip_suffix(" gateway")))
        .map(str::trim)
        .ok_or_else(|| format!("no host-gateway address in a container's /etc/hosts:\n{hosts}"))?;
    let listener = TcpListener::bind((gateway, 0)).map_err(|e| format!("cannot listen on {gateway}: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    Ok((listener, format!("http://host.docker.internal:{port}{PATH}")))
}

/// Serves `listener` on the suite's runtime until the process ends.
pub(crate) fn serve(rt: &tokio::runtime::Runtime, listener: TcpListener) -> Result<Received, String> {
    let received = Received::default();
    let app = Router::new().route(PATH, post(keep)).with_state(received.clone());
    let listener = {
        let _entered = rt.enter();
        tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?
    };
    rt.spawn(async move { axum::serve(listener, app).await });
    Ok(received)
}

async fn keep(State(received): State<Received>, Json(payload): Json<Value>) {
    received.0.lock().unwrap_or_else(|e| e.into_inner()).push((Instant::now(), payload));
}
