//! `/healthz` and `/readyz` polled on every replica while a scenario runs, each answer timed from the run's start.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crate::http;

/// Pause between two rounds over every port.
const PERIOD: Duration = Duration::from_millis(40);

/// One probe answer; `status` 0 when there was no HTTP answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub at: Duration,
    pub port: u16,
    pub path: &'static str,
    pub status: u16,
}

/// A thread probing until [`Probe::finish`].
pub struct Probe {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Answer>>,
}

impl Probe {
    pub fn start(ports: Vec<u16>, epoch: Instant) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut answers = Vec::new();
            while !flag.load(Ordering::SeqCst) {
                for &port in &ports {
                    for path in ["/healthz", "/readyz"] {
                        let status = http::get(port, path).map_or(0, |(status, _)| status);
                        answers.push(Answer { at: epoch.elapsed(), port, path, status });
                    }
                }
                std::thread::sleep(PERIOD);
            }
            answers
        });
        Self { stop, thread }
    }

    pub fn finish(self) -> Vec<Answer> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap_or_default()
    }
}
