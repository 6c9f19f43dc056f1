//! The bound shared by the span and log pipelines: how many items are queued or being exported, never more than the
//! batch processor's own queue holds, so that its `try_send` never fails and nothing is dropped without being counted.
//! Each pipeline counts in its own metrics: `otel_<signal>_dropped_total{reason}` (`queue_full`, `export_failed`) and
//! `otel_<signal>_exported_total`.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use crate::config::ConfigError;

/// A handle on one pipeline's count of pending items; clones share it (the processor admits, the exporter releases).
#[derive(Clone, Debug)]
pub struct ExportQueue {
    pending: Arc<AtomicUsize>,
    capacity: usize,
    dropped: &'static str,
    exported: &'static str,
}

impl ExportQueue {
    /// A queue of the capacity in variable `name` (default 2048, the SDK's), counting in the metrics named.
    pub fn from_env(name: &str, dropped: &'static str, exported: &'static str) -> Result<Self, ConfigError> {
        let capacity =
            match super::otel::env_var(name) {
                None => 2048,
                Some(v) => v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ConfigError::new(name, format!("invalid value '{v}': expected a positive integer"))
                })?,
            };
        // Make the series exist at zero, so `rate()` and alerts work before the first drop.
        for reason in ["queue_full", "export_failed"] {
            metrics::counter!(dropped, "reason" => reason).absolute(0);
        }
        metrics::counter!(exported).absolute(0);
        Ok(Self { pending: Arc::new(AtomicUsize::new(0)), capacity, dropped, exported })
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Takes a slot for one item, or counts it as dropped (`queue_full`) and says no.
    pub fn admit(&self) -> bool {
        let admitted = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.capacity).then_some(n + 1))
            .is_ok();
        if !admitted {
            metrics::counter!(self.dropped, "reason" => "queue_full").increment(1);
        }
        admitted
    }

    /// Frees the slots of an export of `size` items and counts its outcome.
    pub fn exported(&self, size: usize, ok: bool) {
        self.pending.fetch_sub(size, Ordering::AcqRel);
        if ok {
            metrics::counter!(self.exported).increment(size as u64);
        } else {
            metrics::counter!(self.dropped, "reason" => "export_failed").increment(size as u64);
        }
    }
}
