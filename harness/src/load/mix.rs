//! What each request of a run asks for: a path chosen by weight, an `Accept` header, and on a share of requests a
//! fresh W3C `traceparent`, so that their traces start at the client (NGINX passes the header on, the replica's
//! server span continues it).

use std::fmt;

/// The requests of a run. The default is what the chaos scenarios and the suites send: the plan's URL as JSON, no
/// `traceparent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mix {
    /// Paths on the plan's URL (replacing its path) with their weights; empty: the URL itself.
    pub paths: Vec<(String, u32)>,
    /// The `Accept` header of every request.
    pub accept: String,
    /// Share of requests, in percent (0–100), that carry a new sampled `traceparent`.
    pub traced_percent: u8,
}

impl Default for Mix {
    fn default() -> Self {
        Self { paths: Vec::new(), accept: "application/json".into(), traced_percent: 0 }
    }
}

/// The most paths a mix may name.
const MAX_PATHS: usize = 16;

impl Mix {
    /// `PATH=WEIGHT,…` (a path without `=WEIGHT` weighs 1), e.g. `/count=6,/=3,/favicon.ico=1`. Each path starts
    /// with `/`; weights are 0–1000 and not all 0.
    pub fn parse_paths(text: &str) -> Result<Vec<(String, u32)>, String> {
        let mut paths = Vec::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (path, weight) = match item.rsplit_once('=') {
                Some((path, weight)) => {
                    let weight = weight.trim().parse::<u32>().map_err(|e| format!("weight of {path:?}: {e}"))?;
                    (path.trim(), weight)
                }
                None => (item, 1),
            };
            if !path.starts_with('/') || path.contains(char::is_whitespace) {
                return Err(format!("{path:?} is not a path (it starts with / and has no spaces)"));
            }
            if weight > 1000 {
                return Err(format!("weight of {path:?} is {weight}, above 1000"));
            }
            paths.push((path.to_owned(), weight));
        }
        if paths.is_empty() || paths.len() > MAX_PATHS || paths.iter().all(|(_, w)| *w == 0) {
            return Err(format!("expected 1 to {MAX_PATHS} PATH=WEIGHT items, not all weighing 0: {text:?}"));
        }
        Ok(paths)
    }

    /// The URLs to send to, with their weights: `url` itself, or each path on its origin.
    pub(super) fn targets(&self, url: &str) -> Result<Targets, String> {
        let base = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        if self.paths.is_empty() {
            return Ok(Targets(vec![(url.to_owned(), 1)]));
        }
        let mut targets = Vec::new();
        for (path, weight) in self.paths.iter().filter(|(_, w)| *w > 0) {
            let target = base.join(path).map_err(|e| format!("{url} + {path}: {e}"))?;
            targets.push((target.to_string(), *weight));
        }
        Ok(Targets(targets))
    }

    /// A new trace for this request, on [`Mix::traced_percent`] of them.
    pub(super) fn trace(&self) -> Option<TraceContext> {
        (fastrand::u8(0..100) < self.traced_percent).then(TraceContext::random)
    }
}

/// URLs with weights (none 0, at least one).
#[derive(Debug)]
pub(super) struct Targets(Vec<(String, u32)>);

impl Targets {
    /// One URL, each with the probability of its weight.
    pub(super) fn pick(&self) -> &str {
        let total: u32 = self.0.iter().map(|(_, w)| w).sum();
        let mut ticket = fastrand::u32(0..total.max(1));
        for (url, weight) in &self.0 {
            if ticket < *weight {
                return url;
            }
            ticket -= weight;
        }
        &self.0[0].0
    }
}

/// The client side of a trace: its id, and the id of the (never exported) client span that is the server span's
/// parent. Written as a W3C `traceparent`, version 00, sampled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: u128,
    pub span_id: u64,
}

impl TraceContext {
    /// Random, non-zero ids (all-zero ids are invalid in W3C Trace Context).
    pub fn random() -> Self {
        Self { trace_id: fastrand::u128(1..), span_id: fastrand::u64(1..) }
    }

    /// The trace id as Jaeger shows it: 32 lowercase hex digits.
    pub fn trace_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }
}

impl fmt::Display for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "00-{:032x}-{:016x}-01", self.trace_id, self.span_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_with_weights_and_bad_ones_are_named() {
        let paths = Mix::parse_paths("/count=6, /=3,/favicon.ico").unwrap();
        assert_eq!(paths, [("/count".into(), 6), ("/".into(), 3), ("/favicon.ico".into(), 1)]);
        for bad in ["", "count=1", "/count=x", "/count=0", "/a=1001", "/a b=1"] {
            assert!(Mix::parse_paths(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn targets_follow_the_weights_and_replace_the_urls_path() {
        let mix = Mix { paths: Mix::parse_paths("/count=3,/=1,/never=0").unwrap(), ..Mix::default() };
        let targets = mix.targets("http://nginx:5002/ignored").unwrap();
        let picks: Vec<&str> = (0..4000).map(|_| targets.pick()).collect();
        let counts = picks.iter().filter(|u| **u == "http://nginx:5002/count").count();
        assert!((2700..3300).contains(&counts), "{counts} of 4000 on /count, weight 3 of 4");
        assert!(picks.iter().all(|u| *u == "http://nginx:5002/count" || *u == "http://nginx:5002/"));
        let single = Mix::default().targets("http://127.0.0.1:1/count").unwrap();
        assert_eq!(single.pick(), "http://127.0.0.1:1/count");
    }

    #[test]
    fn a_traceparent_is_w3c_and_carried_on_its_share() {
        let trace =
            TraceContext { trace_id: 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736, span_id: 0x00f0_67aa_0ba9_02b7 };
        assert_eq!(trace.to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        let half = Mix { traced_percent: 50, ..Mix::default() };
        let traced = (0..4000).filter(|_| half.trace().is_some()).count();
        assert!((1700..2300).contains(&traced), "{traced} of 4000 traced at 50%");
        assert!((0..100).all(|_| Mix::default().trace().is_none()));
        let all = Mix { traced_percent: 100, ..Mix::default() };
        assert!((0..100).all(|_| all.trace().is_some_and(|t| t.trace_id != 0 && t.span_id != 0)));
    }
}
