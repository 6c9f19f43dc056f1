//! Loopback ports handed out once each, across every process of this user that runs the harness.

use std::{
    fs::{File, OpenOptions},
    net::{Ipv4Addr, TcpListener},
    sync::Mutex,
};

/// Ports handed out by [`free_port`]: below Linux's ephemeral range (32768–60999), so the kernel never gives one of
/// them to an outgoing connection or a bind to port 0.
const PORTS: std::ops::Range<u32> = 20000..32000;

/// [`PORTS`] is shared between processes (the test binary, the `cargo xtask` it runs, a developer's `stack up`) in
/// blocks of this many ports, each held by one process at a time.
const BLOCK: u32 = 400;

/// The blocks this process holds (their lock files stay open until it exits) and the next port of the newest one.
struct Claim {
    locks: Vec<File>,
    next: u32,
    end: u32,
}

static CLAIM: Mutex<Option<Claim>> = Mutex::new(None);

/// A TCP port that is free on 127.0.0.1 and that no other caller, in this process or any other using this function,
/// has been given.
///
/// Binding port 0 would be simpler, but the kernel reuses such a port as soon as it is released: a test that stops
/// Redis and starts it again on the same port could then find another test's process there. Ports come instead from
/// a range the kernel does not hand out, each one once. Processes take whole blocks of the range under an exclusive
/// `flock` (released by the kernel when the process exits, however it exits), so two processes never pick the same
/// port in the window between choosing it and binding it — a CI run once lost its Redis that way.
pub fn free_port() -> u16 {
    let mut claim = CLAIM.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        if let Some(c) = claim.as_mut().filter(|c| c.next < c.end) {
            let port = c.next as u16;
            c.next += 1;
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return port;
            }
            continue;
        }
        let (lock, start) = claim_block();
        let mut locks = claim.take().map(|c| c.locks).unwrap_or_default();
        locks.push(lock);
        *claim = Some(Claim { locks, next: start, end: start + BLOCK });
    }
}

/// Lock the first free block, starting from one derived from the pid so concurrent processes rarely contend.
fn claim_block() -> (File, u32) {
    // One directory per user: another user's processes cannot take (or block) this user's blocks' lock files.
    let dir = std::env::temp_dir().join(format!("visit-counter-ports-{}", nix::unistd::getuid()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let blocks = (PORTS.end - PORTS.start) / BLOCK;
    let first = std::process::id() % blocks;
    for i in 0..blocks {
        let block = (first + i) % blocks;
        let path = dir.join(format!("block-{block}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        // Held blocks of this very process fail here too (flock is per open file), so it moves on to a new one.
        if file.try_lock().is_ok() {
            return (file, PORTS.start + block * BLOCK);
        }
    }
    panic!("every block of ports in {PORTS:?} is held by another process (see {})", dir.display())
}
