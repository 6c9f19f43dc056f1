//! The fault injector the chaos scenarios drive, and its implementation for the native twin: processes by pid.
//! The compose stack has its own implementation in [`super::compose`]; the scenarios and checks are shared.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::{http, stack::Stack, wait};

/// How long a stopped process may take to exit, or a started one to serve.
const DEADLINE: Duration = Duration::from_secs(15);

/// What the chaos scenarios need from a running stack.
pub trait Faults {
    /// Where the load goes: `/count` through NGINX.
    fn count_url(&self) -> String;
    /// Ports on 127.0.0.1 probed during Redis outages, on each of [`Faults::probe_paths`].
    fn probe_ports(&self) -> Vec<u16>;
    /// `/healthz`, and `/readyz` where the probe ports are the replicas' own: the public edge answers it 404.
    fn probe_paths(&self) -> &'static [&'static str];
    fn replicas(&self) -> usize;
    /// Stop Redis with `signal` (SIGTERM: graceful; SIGKILL: crash) and return once it has exited.
    fn stop_redis(&mut self, signal: Signal) -> Result<(), String>;
    /// Start Redis again on the same data and return once it accepts connections and answers PING.
    fn start_redis(&mut self) -> Result<(), String>;
    /// Stop replica `index` with `signal` and return once it has exited.
    fn stop_replica(&mut self, index: usize, signal: Signal) -> Result<(), String>;
    /// Start replica `index` again (on its old address) and return once it is ready.
    fn start_replica(&mut self, index: usize) -> Result<(), String>;
    /// Take replica `index` out of the load balancer, or (`out == false`) put it back, and return once the balancer
    /// has no connection to it left (or may use it again): the orchestrator's half of a rolling restart.
    fn set_out_of_rotation(&mut self, index: usize, out: bool) -> Result<(), String>;
    /// Whether [`Faults::set_out_of_rotation`] does anything here: only then can a rolling restart fail no request.
    fn has_rotation(&self) -> bool;
    /// The counter as Redis has it.
    fn counter(&self) -> Result<i64, String>;
}

/// The native twin: Redis and the replicas are child processes of this one.
#[derive(Debug)]
pub struct Native<'a> {
    pub stack: &'a mut Stack,
}

impl Faults for Native<'_> {
    fn count_url(&self) -> String {
        self.stack.nginx.url("/count")
    }

    fn probe_ports(&self) -> Vec<u16> {
        self.stack.replicas.iter().map(|r| r.port).collect()
    }

    fn probe_paths(&self) -> &'static [&'static str] {
        &["/healthz", "/readyz"]
    }

    fn replicas(&self) -> usize {
        self.stack.replicas.len()
    }

    fn stop_redis(&mut self, signal: Signal) -> Result<(), String> {
        self.stack.redis.stop(signal)
    }

    fn start_redis(&mut self) -> Result<(), String> {
        self.stack.redis.restart()
    }

    fn stop_replica(&mut self, index: usize, signal: Signal) -> Result<(), String> {
        let replica = self.stack.replicas.get_mut(index).ok_or("no such replica")?;
        replica.signal(signal)?;
        replica.wait_exit(DEADLINE).map(drop)
    }

    fn start_replica(&mut self, index: usize) -> Result<(), String> {
        let replica = self.stack.replicas.get_mut(index).ok_or("no such replica")?;
        replica.restart(Signal::SIGKILL, DEADLINE)?;
        // Back in service means ready, not just listening: a replica still starting on busy cores can fail NGINX's
        // first requests, and NGINX then skips it for fail_timeout.
        let port = replica.port;
        let ready = || http::get(port, "/readyz").is_ok_and(|(status, _)| status == 200);
        wait::until("the restarted replica to be ready", DEADLINE, ready).map(drop)
    }

    fn set_out_of_rotation(&mut self, index: usize, out: bool) -> Result<(), String> {
        let port = self.stack.replicas.get(index).ok_or("no such replica")?.port;
        let down = if out { vec![port] } else { Vec::new() };
        self.stack.nginx.set_down(&down)
    }

    fn has_rotation(&self) -> bool {
        true
    }

    fn counter(&self) -> Result<i64, String> {
        self.stack.counter()
    }
}
