//! The compose project under test: the shipped files, the local images, a project name of its own, and the Docker
//! CLI and HTTP calls the checks make. Dropping it takes the stack down with its volumes.

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use serde_json::Value;

/// The project name: containers, networks and volumes of the suite never touch a user's `visit-counter` stack.
pub(crate) const NAME: &str = "vc-acceptance";

/// The load generator (profile `load`, on for the whole project): up with the stack, so the dashboard and Jaeger fill
/// from its traffic alone; stopped by `load::stops_with_a_clean_summary` before the checks that count exactly, and
/// left out of every later `up`.
pub(crate) const LOAD: &str = "load";

/// What `docker compose up --wait` may take: the first build compiles the app in a container (minutes on 2 cores).
const UP_TIMEOUT: &str = "1200";

pub(crate) struct Project {
    pub root: PathBuf,
    /// The services started: every service of the compose file but Grafana, the load generator included.
    pub services: Vec<String>,
    /// When the first `up` returned: every service healthy, the load generator sending.
    pub up_at: Instant,
    /// What the suite's webhook receiver got from Alertmanager ([`crate::webhook`]).
    pub alerts: crate::webhook::Received,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    /// The fixed host ports, ours until the stack is down (a field drops after [`Drop::drop`] has taken it down).
    _ports: harness::compose::HostPorts,
}

/// An HTTP answer: status, headers, body.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Project {
    /// Checks the engine and the images, then `docker compose up --build --wait` of every service but Grafana.
    pub(crate) fn start() -> Result<Self, String> {
        let root = harness::paths::workspace_root();
        let images = root.join("target").join("images.env");
        if !images.is_file() {
            return Err(format!("{} is missing; build the images with: cargo xtask images", images.display()));
        }
        // The engine first: without one, fail now rather than after waiting for another run's lock.
        harness::images::require_engine()?;
        let ports = harness::compose::HostPorts::lock()?;
        let (receiver, webhook_url) = crate::webhook::bind(&images)?;
        // The one `unsafe` of the workspace (the lints deny it elsewhere).
        // SAFETY: nothing else runs yet (no thread has been started). Every `docker compose` of this process and of
        // the xtask code it calls (chaos) then works on this project, with the local images.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("COMPOSE_PROJECT_NAME", NAME);
            std::env::set_var("COMPOSE_PROFILES", LOAD);
            std::env::set_var("COMPOSE_ENV_FILES", format!("{},{}", root.join(".env").display(), images.display()));
            std::env::set_var("ALERTMANAGER_WEBHOOK_URL", &webhook_url);
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().map_err(|e| e.to_string())?;
        let alerts = crate::webhook::serve(&rt, receiver)?;
        println!("compose: Alertmanager's webhook goes to the suite's receiver, {webhook_url}");
        let mut project = Self { root, services: Vec::new(), up_at: Instant::now(), alerts, rt, http, _ports: ports };
        project.services = project
            .compose(&["config", "--services"])?
            .lines()
            .filter(|s| *s != "grafana")
            .map(str::to_owned)
            .collect();
        // A run that died before its teardown may have left the project behind.
        let _ = project.compose(&["down", "--volumes", "--remove-orphans", "--timeout", "5"]);
        let started = Instant::now();
        println!("compose: building and starting {} ({})", project.services.join(", "), NAME);
        project.up_services(&[], &project.services)?;
        project.up_at = Instant::now();
        println!("compose: every service up and healthy in {:.1?}", started.elapsed());
        Ok(project)
    }

    /// `docker compose up -d --build --wait` of the suite's services but the load generator, with `extra` arguments.
    pub(crate) fn up(&self, extra: &[&str]) -> Result<String, String> {
        let services: Vec<String> = self.services.iter().filter(|s| *s != LOAD).cloned().collect();
        self.up_services(extra, &services)
    }

    fn up_services(&self, extra: &[&str], services: &[String]) -> Result<String, String> {
        let mut args = vec!["up", "--detach", "--build", "--wait", "--wait-timeout", UP_TIMEOUT];
        args.extend_from_slice(extra);
        args.extend(services.iter().map(String::as_str));
        self.compose(&args)
    }

    /// `docker compose ARGS` in the workspace (project and env files from the environment set in [`Project::start`]).
    pub(crate) fn compose(&self, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["compose"];
        all.extend_from_slice(args);
        self.docker(&all)
    }

    /// `docker ARGS`: stdout, or an error with the command and its stderr.
    pub(crate) fn docker(&self, args: &[&str]) -> Result<String, String> {
        run(Command::new("docker").current_dir(&self.root).args(args))
    }

    /// The container ids of `service`.
    pub(crate) fn containers(&self, service: &str) -> Result<Vec<String>, String> {
        Ok(self.compose(&["ps", "--all", "--quiet", service])?.lines().map(str::to_owned).collect())
    }

    /// `docker inspect` of one container.
    pub(crate) fn inspect(&self, id: &str) -> Result<Value, String> {
        let text = self.docker(&["inspect", id])?;
        let all: Value = serde_json::from_str(&text).map_err(|e| format!("docker inspect {id}: {e}"))?;
        Ok(all[0].clone())
    }

    /// A command inside `service`'s first container.
    pub(crate) fn exec(&self, service: &str, command: &[&str]) -> Result<String, String> {
        let mut args = vec!["exec", "-T", service];
        args.extend_from_slice(command);
        self.compose(&args)
    }

    /// GET `url` with an `Accept` header.
    pub(crate) fn get(&self, url: &str, accept: &str) -> Result<Answer, String> {
        self.block_on(async {
            let response =
                self.http.get(url).header("accept", accept).send().await.map_err(|e| format!("{url}: {e}"))?;
            let (status, headers) = (response.status().as_u16(), response.headers().clone());
            let body = response.text().await.map_err(|e| format!("{url}: {e}"))?;
            Ok(Answer { status, headers, body })
        })
    }

    /// GET `url` as JSON.
    pub(crate) fn json(&self, url: &str) -> Result<Value, String> {
        let answer = self.get(url, "application/json")?;
        serde_json::from_str(&answer.body).map_err(|e| format!("{url}: {} is not JSON: {e}", answer.status))
    }

    pub(crate) fn block_on<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(future)
    }

    /// The counter as Redis holds it, read inside the Redis container as its admin user (like its healthcheck).
    pub(crate) fn counter(&self) -> Result<i64, String> {
        let script = r#"REDISCLI_AUTH="$(head -n1 /run/redis-acl/admin.password)" redis-cli --no-auth-warning --user admin GET visits"#;
        let reply = self.exec("redis", &["sh", "-c", script])?;
        if reply.is_empty() { Ok(0) } else { reply.parse().map_err(|e| format!("GET visits = {reply:?}: {e}")) }
    }

    /// After a failed check: which containers are not healthy, and the end of their logs.
    pub(crate) fn diagnose(&self) {
        if let Ok(ps) = self.compose(&["ps", "--all", "--format", "table {{.Service}}\t{{.State}}\t{{.Status}}"]) {
            println!("    docker compose ps:\n      {}", ps.replace('\n', "\n      "));
        }
        for service in &self.services {
            let unhealthy = self
                .compose(&["ps", "--all", "--format", "{{.Status}}", service])
                .is_ok_and(|s| s.lines().any(|l| !l.contains("healthy") || l.contains("unhealthy")));
            if unhealthy
                && service != "init"
                && let Ok(logs) = self.compose(&["logs", "--tail", "15", "--no-log-prefix", service])
            {
                println!("    logs of {service}:\n      {}", logs.replace('\n', "\n      "));
            }
        }
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        match self.compose(&["down", "--volumes", "--remove-orphans", "--timeout", "10"]) {
            Ok(_) => println!("compose: {NAME} taken down (volumes removed)"),
            Err(e) => eprintln!("compose: taking {NAME} down failed: {e}"),
        }
    }
}

/// Runs `command`: stdout (trimmed) on success, else an error naming the command with its stderr.
pub(crate) fn run(command: &mut Command) -> Result<String, String> {
    let out = command.output().map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        Err(format!("docker {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Call `check` every 200 ms until it gives `Some`, or fail naming `what` after `deadline`.
pub(crate) fn poll<T>(what: &str, deadline: Duration, mut check: impl FnMut() -> Option<T>) -> Result<T, String> {
    let start = Instant::now();
    loop {
        if let Some(found) = check() {
            return Ok(found);
        }
        if start.elapsed() > deadline {
            return Err(format!("timed out after {deadline:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
