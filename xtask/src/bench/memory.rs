//! Resident memory of a process, sampled from `/proc/<pid>/status`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::Duration,
};

/// Resident set size of `pid` in KiB.
pub(super) fn rss_kib(pid: u32) -> Option<u64> {
    procfs::process::Process::new(pid as i32).and_then(|p| p.status()).ok()?.vmrss
}

/// Samples the peak RSS of some processes every 100 ms until dropped.
pub(super) struct PeakSampler {
    stop: Arc<AtomicBool>,
    peaks: Vec<Arc<AtomicU64>>,
    worker: Option<thread::JoinHandle<()>>,
}

impl PeakSampler {
    pub(super) fn start(pids: &[u32]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peaks: Vec<_> = pids.iter().map(|_| Arc::new(AtomicU64::new(0))).collect();
        let (pids, thread_stop, thread_peaks) = (pids.to_vec(), Arc::clone(&stop), peaks.clone());
        let worker = thread::spawn(move || {
            while !thread_stop.load(Ordering::Relaxed) {
                for (pid, peak) in pids.iter().zip(&thread_peaks) {
                    peak.fetch_max(rss_kib(*pid).unwrap_or(0), Ordering::Relaxed);
                }
                thread::sleep(Duration::from_millis(100));
            }
        });
        Self { stop, peaks, worker: Some(worker) }
    }

    /// Peak RSS per process in KiB, in the order given to `start`.
    pub(super) fn finish(mut self) -> Vec<u64> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
        self.peaks.iter().map(|p| p.load(Ordering::Relaxed)).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_a_resident_size_and_a_gone_one_has_none() {
        assert!(super::rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
        assert_eq!(super::rss_kib(u32::MAX), None);
    }
}
