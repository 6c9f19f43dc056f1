//! Polling with a deadline, and ports.

use std::{
    net::{Ipv4Addr, TcpListener, TcpStream},
    sync::atomic::{AtomicU32, Ordering},
    thread,
    time::{Duration, Instant},
};

/// Call `check` every 10 ms until it returns true or `deadline` passes; the error names `what` was awaited.
pub fn until(what: &str, deadline: Duration, mut check: impl FnMut() -> bool) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        if check() {
            return Ok(start.elapsed());
        }
        if start.elapsed() >= deadline {
            return Err(format!("timed out after {deadline:?} waiting for {what}"));
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Ports handed out by [`free_port`]: below Linux's ephemeral range (32768–60999), so the kernel never gives one of
/// them to an outgoing connection or a bind to port 0.
const PORTS: std::ops::Range<u32> = 20000..32000;

/// The next port of this process's share of [`PORTS`].
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A TCP port that is free on 127.0.0.1 and that no other caller in this process has been given.
///
/// Binding port 0 would be simpler, but the kernel reuses such a port as soon as it is released: a test that stops
/// Redis and starts it again on the same port could then find another test's process there. Ports come instead from
/// a range the kernel does not hand out, each one once per process, starting at an offset derived from the pid so
/// concurrent processes (test binaries, `cargo xtask`) start far apart.
pub fn free_port() -> u16 {
    let span = PORTS.end - PORTS.start;
    let offset = (std::process::id() * 7919) % span;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (PORTS.start + (offset + n) % span) as u16;
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port left in {PORTS:?}")
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_millis(100)).is_ok()
}
