//! `/healthz` and `/readyz` (or `/healthz` alone, through NGINX) polled while a scenario runs, each answer timed from
//! the run's start.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crate::http;

/// Pause between two rounds on one port.
const PERIOD: Duration = Duration::from_millis(40);

/// One probe answer; `status` 0 when there was no HTTP answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub at: Duration,
    pub port: u16,
    pub path: &'static str,
    pub status: u16,
}

/// One thread per port, probing until [`Probe::finish`]: a `/readyz` waiting out its Redis timeout on one replica
/// never delays the probes of another.
#[derive(Debug)]
pub struct Probe {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<Vec<Answer>>>,
}

impl Probe {
    pub fn start(ports: Vec<u16>, paths: &'static [&'static str], epoch: Instant) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = ports
            .into_iter()
            .map(|port| {
                let flag = stop.clone();
                std::thread::spawn(move || {
                    let mut answers = Vec::new();
                    while !flag.load(Ordering::SeqCst) {
                        for &path in paths {
                            // Stamped when sent: the state of Redis then is what the answer reflects.
                            let at = epoch.elapsed();
                            let status = http::get(port, path).map_or(0, |(status, _)| status);
                            answers.push(Answer { at, port, path, status });
                        }
                        std::thread::sleep(PERIOD);
                    }
                    answers
                })
            })
            .collect();
        Self { stop, threads }
    }

    pub fn finish(self) -> Vec<Answer> {
        self.stop.store(true, Ordering::SeqCst);
        let mut answers: Vec<Answer> = self.threads.into_iter().flat_map(|t| t.join().unwrap_or_default()).collect();
        answers.sort_by_key(|a| a.at);
        answers
    }
}
