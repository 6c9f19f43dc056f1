//! Alerts that reach someone: three faults on the running stack, each followed to the suite's webhook receiver
//! ([`crate::webhook`]) through the shipped rules, Prometheus and Alertmanager, unchanged (no `for:` or evaluation
//! interval is shortened): the alert fires and arrives with its runbook and dashboard links, the fault is undone, and
//! the alert arrives resolved. The three run at once, to wait once for the longest.
//!
//! - A replica stopped (`docker pause`: frozen, as a hung process, still in Docker's DNS) → `WebReplicaDown` for it.
//!   A container stopped for good leaves Docker's DNS, and Prometheus' discovery drops its target with it: nothing
//!   is `up == 0` then (NGINX routes around it, compose's restart policy restarts a crashed one).
//! - Redis stopped → `RedisDown` (observability/prometheus/rules/redis.yml).
//! - The Collector stopped → `AppDroppingSpans`, the "are we blind?" alert for spans: five minutes of `for:` on a
//!   five-minute rate, and five more before that rate is back at zero, so this case sets the check's length (~13 min).
//!
//! Light load on `/` meanwhile (it touches no Redis), so that the replicas have spans to drop.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::{
    project::{NAME, Project},
    webhook::Notification,
};

pub(crate) fn a_fault_reaches_the_receiver_and_resolves(project: &Project) -> Result<String, String> {
    let check = project.exec("alertmanager", &["amtool", "check-config", "/etc/alertmanager/alertmanager.yml"])?;
    if !check.contains("SUCCESS") {
        return Err(format!("amtool check-config:\n{check}"));
    }
    let managers = project.json("http://127.0.0.1:9090/api/v1/alertmanagers")?;
    if managers["data"]["activeAlertmanagers"].as_array().map_or(0, Vec::len) != 1 {
        return Err(format!("Prometheus should send to one Alertmanager: {managers}"));
    }
    let replica = project.containers("web")?.into_iter().next().ok_or("no web container")?;
    let address = project.inspect(&replica)?["NetworkSettings"]["Networks"][format!("{NAME}_telemetry")]["IPAddress"]
        .as_str()
        .map(str::to_owned)
        .ok_or("the replica has no address on the telemetry network")?;
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    // A request held by the frozen replica ends at the client's 5 s timeout; errors do not matter.
                    let _ = project.get("http://127.0.0.1:5002/", "text/plain");
                }
            });
        }
        let outcome = run_cases(project, &replica, &format!("{address}:9000"));
        stop.store(true, Ordering::Relaxed);
        outcome
    })
}

/// One fault and the alert it must cause.
struct Case {
    alert: &'static str,
    fault: String,
    /// Whether an alert of a notification (by its labels) is the one this fault causes.
    ours: Box<dyn Fn(&Value) -> bool>,
    /// `docker` arguments that cause the fault, and that undo it.
    inject: Vec<String>,
    undo: Vec<String>,
    /// How long the alert may take to arrive firing after the fault, and resolved after the undoing.
    within: Duration,
    injected: Option<Instant>,
    fired: Option<(Instant, String)>,
    undone: Option<Instant>,
    resolved: Option<(Instant, String)>,
}

fn run_cases(project: &Project, replica: &str, instance: &str) -> Result<String, String> {
    let wanted = instance.to_owned();
    let any = || -> Box<dyn Fn(&Value) -> bool> { Box::new(|_| true) };
    let mut cases = [
        Case::new(
            "WebReplicaDown",
            &format!("replica {instance} paused"),
            Box::new(move |labels| labels["instance"] == wanted.as_str()),
            &["pause", replica],
            &["unpause", replica],
        ),
        Case::new("RedisDown", "Redis stopped", any(), &["compose", "stop", "redis"], &["compose", "start", "redis"]),
        Case {
            within: Duration::from_secs(540),
            ..Case::new(
                "AppDroppingSpans",
                "the Collector stopped",
                any(),
                &["compose", "stop", "otel-collector"],
                &["compose", "start", "otel-collector"],
            )
        },
    ];
    let mut outcome = Ok(());
    for case in &mut cases {
        outcome = docker(project, &case.inject);
        if outcome.is_err() {
            break;
        }
        case.injected = Some(Instant::now());
    }
    if outcome.is_ok() {
        outcome = follow(project, &mut cases);
    }
    // Whatever happened, nothing stays broken.
    for case in cases.iter().filter(|c| c.injected.is_some() && c.undone.is_none()) {
        let _ = docker(project, &case.undo);
    }
    let received = project.alerts.snapshot();
    let mut names: Vec<&str> = received.iter().filter_map(|(_, n)| n["groupLabels"]["alertname"].as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut lines: Vec<String> = cases.iter().map(Case::line).collect();
    lines.push(format!("{} notifications received in all, for: {}", received.len(), names.join(", ")));
    match outcome {
        Ok(()) => Ok(lines.join("\n")),
        Err(e) => Err(format!("{e}\n{}", lines.join("\n"))),
    }
}

/// Polls the receiver until every case has fired, been undone and resolved, or one misses its deadline.
fn follow(project: &Project, cases: &mut [Case]) -> Result<(), String> {
    loop {
        let received = project.alerts.snapshot();
        for case in cases.iter_mut() {
            let Some(injected) = case.injected else { continue };
            if case.fired.is_none() {
                if let Some((at, alert, starts)) = case.find(&received, injected, "firing") {
                    case.check_links(&alert)?;
                    case.fired = Some((at, starts));
                    docker(project, &case.undo)?;
                    case.undone = Some(Instant::now());
                } else if injected.elapsed() > case.within {
                    return Err(format!("{}: no {} at the receiver within {:?}", case.fault, case.alert, case.within));
                }
            } else if let (Some(undone), None) = (case.undone, &case.resolved) {
                if let Some((at, _, ends)) = case.find(&received, undone, "resolved") {
                    case.resolved = Some((at, ends));
                } else if undone.elapsed() > case.within {
                    return Err(format!("{} undone: {} not resolved within {:?}", case.fault, case.alert, case.within));
                }
            }
        }
        if cases.iter().all(|c| c.resolved.is_some()) {
            return Ok(());
        }
        thread::sleep(Duration::from_secs(1));
    }
}

impl Case {
    fn new(
        alert: &'static str,
        fault: &str,
        ours: Box<dyn Fn(&Value) -> bool>,
        inject: &[&str],
        undo: &[&str],
    ) -> Self {
        let strings = |args: &[&str]| args.iter().map(|s| (*s).to_owned()).collect();
        Self {
            alert,
            fault: fault.to_owned(),
            ours,
            inject: strings(inject),
            undo: strings(undo),
            within: Duration::from_secs(240),
            injected: None,
            fired: None,
            undone: None,
            resolved: None,
        }
    }

    /// The first notification after `since` of this case's alert group in which every alert that is ours has
    /// `status` (and there is one): its arrival, the alert, and its startsAt or endsAt.
    fn find(&self, received: &[Notification], since: Instant, status: &str) -> Option<(Instant, Value, String)> {
        let group = received.iter().filter(|(at, n)| *at >= since && n["groupLabels"]["alertname"] == self.alert);
        group.into_iter().find_map(|(at, n)| {
            let ours: Vec<&Value> = n["alerts"].as_array()?.iter().filter(|a| (self.ours)(&a["labels"])).collect();
            let all = !ours.is_empty() && ours.iter().all(|a| a["status"] == status);
            let when = if status == "firing" { "startsAt" } else { "endsAt" };
            all.then(|| (*at, ours[0].clone(), ours[0][when].as_str().unwrap_or("?").to_owned()))
        })
    }

    fn check_links(&self, alert: &Value) -> Result<(), String> {
        let annotations = &alert["annotations"];
        let runbook = format!("docs/runbooks/{}.md", self.alert);
        if annotations["runbook_url"] != runbook.as_str() {
            return Err(format!("{}: the notification lacks runbook_url {runbook}: {alert}", self.alert));
        }
        if !annotations["dashboard_url"].as_str().is_some_and(|u| u.starts_with("http://localhost:3000/d/")) {
            return Err(format!("{}: the notification lacks the dashboard_url: {alert}", self.alert));
        }
        Ok(())
    }

    fn line(&self) -> String {
        let (Some(injected), Some((fired, starts)), Some(undone), Some((resolved, ends))) =
            (self.injected, &self.fired, self.undone, &self.resolved)
        else {
            let fired = self.fired.as_ref().zip(self.injected).map(|((at, _), i)| at.duration_since(i));
            return format!("{}: {} → firing after {fired:.0?}, not resolved (None: never)", self.alert, self.fault);
        };
        format!(
            "{}: {} → firing at the receiver after {:.0?} (startsAt {starts}, runbook and dashboard linked); undone → \
             resolved after {:.0?} (endsAt {ends})",
            self.alert,
            self.fault,
            fired.duration_since(injected),
            resolved.duration_since(undone),
        )
    }
}

/// `docker ARGS` (`compose …` included).
fn docker(project: &Project, args: &[String]) -> Result<(), String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    project.docker(&args).map(drop)
}
