//! Polling with a deadline: every wait of the harness and the tests, never a sleep as synchronisation.

use std::{
    net::{Ipv4Addr, TcpStream},
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

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_millis(100)).is_ok()
}
