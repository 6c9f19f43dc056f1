//! Head sampling, decided before a request's spans exist ([`sampled`]), with the SDK's sampler that
//! `OTEL_TRACES_SAMPLER` / `_ARG` name (an unknown name or a bad ratio is a configuration error): an unsampled request
//! opens no `tracing` span at all, because in tracing-opentelemetry an unsampled span costs nearly as much as a
//! sampled one (docs/profile.md). The provider itself then samples everything it is given. Unset, the sampler is
//! `parentbased_traceidratio` at [`DEFAULT_RATIO`]: a caller's sampled `traceparent` is always followed, and 1 new
//! trace in 100 is kept, which keeps the cost of tracing within noise (measured: docs/benchmarks-telemetry.md). Compose sets
//! `parentbased_always_on`, so that every click of the demo can be found in Jaeger.

use std::sync::OnceLock;

use opentelemetry::{
    Context,
    trace::{SpanKind, TraceContextExt},
};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, Sampler, SamplingDecision, ShouldSample};

use super::env::env_var;
use crate::config::ConfigError;

/// The share of new traces kept when `OTEL_TRACES_SAMPLER` is unset.
pub const DEFAULT_RATIO: f64 = 0.01;

/// The sampler [`sampled`] asks; unset while export is off, so nothing is traced then.
static SAMPLER: OnceLock<Box<dyn ShouldSample>> = OnceLock::new();

/// Read the sampler from the environment and make [`sampled`] ask it; until then, nothing is traced.
pub(super) fn install() -> Result<(), ConfigError> {
    let _ = SAMPLER.set(Box::new(from_env()?));
    Ok(())
}

/// Whether a request whose incoming context is `parent` is traced. Called before any span of it exists.
pub fn sampled(parent: &Context, name: &str) -> bool {
    let Some(sampler) = SAMPLER.get() else { return false };
    let span = parent.span();
    let remote = span.span_context();
    // A new trace is judged on a fresh id. tracing-opentelemetry then draws its own, so a ratio decision is not tied
    // to the id the trace ends up with; nothing downstream re-samples this service's traces, so nothing depends on it.
    let trace_id = if remote.is_valid() { remote.trace_id() } else { RandomIdGenerator::default().new_trace_id() };
    let result = sampler.should_sample(Some(parent), trace_id, name, &SpanKind::Server, &[], &[]);
    matches!(result.decision, SamplingDecision::RecordAndSample)
}

/// The sampler named by `OTEL_TRACES_SAMPLER` (the specification's names) with its ratio from
/// `OTEL_TRACES_SAMPLER_ARG` (default 1.0, as specified), or the default above when unset or empty. Unlike the SDK,
/// which falls back to tracing everything with a warning nobody sees at start-up, an unknown name or an invalid ratio
/// is a configuration error: a typo must not silently bring back the cost of tracing every request.
fn from_env() -> Result<Sampler, ConfigError> {
    let Some(name) = env_var("OTEL_TRACES_SAMPLER").filter(|n| !n.is_empty()) else {
        return Ok(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(DEFAULT_RATIO))));
    };
    let ratio = || match env_var("OTEL_TRACES_SAMPLER_ARG") {
        None => Ok(1.0),
        Some(arg) => arg.parse::<f64>().ok().filter(|r| (0.0..=1.0).contains(r)).ok_or_else(|| {
            ConfigError::new("OTEL_TRACES_SAMPLER_ARG", format!("invalid ratio '{arg}': expected a number from 0 to 1"))
        }),
    };
    let parent_based = |root: Sampler| Sampler::ParentBased(Box::new(root));
    Ok(match name.as_str() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
        "parentbased_always_on" => parent_based(Sampler::AlwaysOn),
        "parentbased_always_off" => parent_based(Sampler::AlwaysOff),
        "parentbased_traceidratio" => parent_based(Sampler::TraceIdRatioBased(ratio()?)),
        other => {
            return Err(ConfigError::new(
                "OTEL_TRACES_SAMPLER",
                format!(
                    "unsupported sampler '{other}'; supported: always_on, always_off, traceidratio, \
                     parentbased_always_on, parentbased_always_off, parentbased_traceidratio"
                ),
            ));
        }
    })
}
