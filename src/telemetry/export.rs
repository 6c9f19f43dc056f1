//! Export, the same for spans and log records: the bound on what is queued or being exported ([`ExportQueue`]), never
//! more than the batch processor's own queue holds, so that its `try_send` never fails and nothing is dropped without
//! being counted; the processor and exporter wrappers that keep it ([`Bounded`], [`Counting`]); and the final flush.
//! Each pipeline counts in its own metrics: `otel_<signal>_dropped_total{reason}` (`queue_full`, `export_failed`) and
//! `otel_<signal>_exported_total`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_otlp::ExporterBuildError;
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord},
    trace::{Span, SpanData, SpanExporter, SpanProcessor},
};

use super::env::env_var;
use crate::{config::ConfigError, metrics::names::ExportCounters, startup::StartupError};

/// How long the final flush of each pipeline (spans, logs) may take.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);

/// A handle on one pipeline's count of pending items; clones share it (the processor admits, the exporter releases).
#[derive(Clone, Debug)]
pub(super) struct ExportQueue {
    pending: Arc<AtomicUsize>,
    capacity: usize,
    counters: ExportCounters,
}

impl ExportQueue {
    /// A queue of the capacity in variable `name` (default 2048, the SDK's), counting in `counters`.
    pub(super) fn from_env(name: &str, counters: ExportCounters) -> Result<Self, ConfigError> {
        let capacity =
            match env_var(name) {
                None => 2048,
                Some(v) => v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ConfigError::new(name, format!("invalid value '{v}': expected a positive integer"))
                })?,
            };
        // Make the series exist at zero, so `rate()` and alerts work before the first drop.
        for reason in ["queue_full", "export_failed"] {
            metrics::counter!(counters.dropped, "reason" => reason).absolute(0);
        }
        metrics::counter!(counters.exported).absolute(0);
        Ok(Self { pending: Arc::new(AtomicUsize::new(0)), capacity, counters })
    }

    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Takes a slot for one item, or counts it as dropped (`queue_full`) and says no.
    pub(super) fn admit(&self) -> bool {
        let admitted = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.capacity).then_some(n + 1))
            .is_ok();
        if !admitted {
            metrics::counter!(self.counters.dropped, "reason" => "queue_full").increment(1);
        }
        admitted
    }

    /// Frees the slots of an export of `size` items and counts its outcome.
    pub(super) fn exported(&self, size: usize, ok: bool) {
        self.pending.fetch_sub(size, Ordering::AcqRel);
        if ok {
            metrics::counter!(self.counters.exported).increment(size as u64);
        } else {
            metrics::counter!(self.counters.dropped, "reason" => "export_failed").increment(size as u64);
        }
    }
}

/// The lifecycle calls a wrapper passes straight to its `inner` processor or exporter.
macro_rules! forward_to_inner {
    ($($method:ident),+) => {
        $(forward_to_inner!(@ $method);)+
    };
    (@ force_flush) => {
        fn force_flush(&self) -> OTelSdkResult {
            self.inner.force_flush()
        }
    };
    (@ shutdown_with_timeout) => {
        fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
            self.inner.shutdown_with_timeout(timeout)
        }
    };
    (@ set_resource) => {
        fn set_resource(&mut self, resource: &Resource) {
            self.inner.set_resource(resource);
        }
    };
}

/// Hands items to the batch processor `inner` only while the [`ExportQueue`] has room, counting the rest (one type for
/// both signals: the span and log processor traits are implemented below).
#[derive(Debug)]
pub(super) struct Bounded<P> {
    pub(super) inner: P,
    pub(super) queue: ExportQueue,
}

impl<P: SpanProcessor> SpanProcessor for Bounded<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if self.queue.admit() {
            self.inner.on_end(span);
        }
    }

    forward_to_inner!(force_flush, shutdown_with_timeout, set_resource);
}

impl<P: LogProcessor> LogProcessor for Bounded<P> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        if self.queue.admit() {
            self.inner.emit(record, scope);
        }
    }

    forward_to_inner!(force_flush, shutdown_with_timeout, set_resource);
}

/// The OTLP exporter `inner`, counting outcomes and releasing the items it was handed from the [`ExportQueue`].
#[derive(Debug)]
pub(super) struct Counting<E> {
    inner: E,
    queue: ExportQueue,
}

impl<E: SpanExporter> SpanExporter for Counting<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let size = batch.len();
        let result = self.inner.export(batch).await;
        self.queue.exported(size, result.is_ok());
        result
    }

    forward_to_inner!(shutdown_with_timeout, force_flush, set_resource);
}

impl<E: LogExporter> LogExporter for Counting<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let size = batch.iter().count();
        let result = self.inner.export(batch).await;
        self.queue.exported(size, result.is_ok());
        result
    }

    forward_to_inner!(shutdown_with_timeout, set_resource);
}

/// The OTLP exporter `inner`, counting in a new queue whose capacity is in variable `queue_size` (see [`ExportQueue`]).
pub(super) fn counted<E>(
    inner: Result<E, ExporterBuildError>,
    endpoint: &'static str,
    queue_size: &str,
    counters: ExportCounters,
) -> Result<(Counting<E>, ExportQueue), StartupError> {
    let inner = inner.map_err(|e| StartupError::Telemetry { variable: endpoint, reason: e.to_string() })?;
    let queue = ExportQueue::from_env(queue_size, counters)?;
    Ok((Counting { inner, queue: queue.clone() }, queue))
}

/// The final flush of one pipeline, within [`SHUTDOWN_TIMEOUT`] so an unreachable Collector cannot hold the exit past
/// the orchestrator's kill deadline; a failure goes to stderr (the process is exiting).
pub(super) fn finish(what: &str, shutdown: impl FnOnce(Duration) -> OTelSdkResult) {
    if let Err(e) = shutdown(SHUTDOWN_TIMEOUT) {
        eprintln!("visit-counter: exporting the last {what} failed: {e}");
    }
}
