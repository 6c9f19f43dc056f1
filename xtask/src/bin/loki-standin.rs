//! `loki-standin -config.file=PATH`: Loki's place in the compose acceptance suite, described in
//! `harness::loki_standin`. Listens on every interface at the config's `server.http_listen_port`; SIGTERM or SIGINT
//! ends it at once with status 0; a bad argument or an unreadable config ends it with status 1 and one line.

use std::{process::ExitCode, sync::Arc, thread};

use harness::loki_standin::{self, MAX_RECORDS, Records};
use nix::sys::signal::{SigSet, Signal};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loki-standin: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let config = loki_standin::config_file(std::env::args().skip(1))?;
    let port = loki_standin::listen_port(&config)?;
    // Blocked before any thread starts, so that all of them inherit the mask and the signals wait for `wait()` below:
    // as PID 1 of a container, a process without a handler would not even see SIGTERM.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGINT);
    signals.thread_block().map_err(|e| format!("cannot block signals: {e}"))?;
    let server =
        tiny_http::Server::http(("0.0.0.0", port)).map_err(|e| format!("cannot listen on port {port}: {e}"))?;
    let (server, records) = (Arc::new(server), Arc::new(Records::default()));
    for _ in 0..2 {
        let (server, records) = (Arc::clone(&server), Arc::clone(&records));
        thread::spawn(move || loki_standin::serve(&server, &records));
    }
    eprintln!("loki-standin: listening on port {port}, keeping the newest {MAX_RECORDS} log records");
    signals.wait().map_err(|e| format!("cannot wait for a signal: {e}"))?;
    Ok(())
}
