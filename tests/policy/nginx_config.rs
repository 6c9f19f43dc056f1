//! The native twin sets exactly the variables compose sets, so the two differ in values only; and the access-log
//! cap. (That compose's own rendering loads in NGINX 1.30, `resolve` included, is proven by running it: tests/compose.)

use std::{collections::BTreeSet, fs::OpenOptions, io::Write, process::Command, time::Duration};

use nix::{sys::signal::Signal, unistd::Pid};

use harness::nginx::NginxSpec;

use crate::shipped::{compose, root};

/// compose's `NGINX_*` variables for the nginx service (the filter itself excluded: it is the image's, not ours).
fn compose_variables() -> Vec<(String, String)> {
    let compose = compose();
    let environment = compose["services"]["nginx"]["environment"].as_mapping().expect("nginx environment").clone();
    let pairs = environment.into_iter().map(|(k, v)| (k.as_str().unwrap().to_owned(), v.as_str().unwrap().to_owned()));
    pairs.filter(|(k, _)| k.starts_with("NGINX_") && k != "NGINX_ENVSUBST_FILTER").collect()
}

#[test]
fn the_twin_sets_the_same_template_variables_as_compose() {
    let twin = NginxSpec {
        dir: "unused".into(),
        port: 1,
        tls_port: 2,
        status_port: 3,
        tls_dir: "unused".into(),
        upstreams: vec![4, 5],
        down: vec![5],
    };
    let names = |vars: Vec<(String, String)>| vars.into_iter().map(|(k, _)| k).collect::<BTreeSet<_>>();
    assert_eq!(names(twin.variables()), names(compose_variables()));
    assert_eq!(compose()["services"]["nginx"]["environment"]["NGINX_ENVSUBST_FILTER"].as_str(), Some("^NGINX_"));
}

/// Stops the process group of the cap hook's background loop (it outlives the script that starts it).
struct Group(i32);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(Pid::from_raw(self.0), Signal::SIGTERM);
    }
}

#[test]
fn the_access_log_cap_truncates_the_file_in_place_and_nginx_keeps_appending() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("access.log");
    // Opened as NGINX opens its access log (O_APPEND), and kept open across the truncation.
    let mut nginx = OpenOptions::new().create(true).append(true).open(&file).unwrap();
    nginx.write_all(&[b'x'; 4096]).unwrap();

    // setsid: the script and the loop it leaves behind get a process group of their own, stopped on drop.
    let mut hook = Command::new("setsid")
        .arg(root().join("nginx/access-log-cap.sh"))
        .env("NGINX_ACCESS_LOG_FILE", &file)
        .env("ACCESS_LOG_CAP_BYTES", "1024")
        .env("ACCESS_LOG_CAP_INTERVAL", "0.1")
        .spawn()
        .unwrap();
    let _group = Group(hook.id() as i32);
    assert!(hook.wait().unwrap().success(), "the hook returns at once, so NGINX starts");
    let size = || std::fs::metadata(&file).unwrap().len();
    harness::wait::until("the file to be truncated", Duration::from_secs(5), || size() == 0).unwrap();
    nginx.write_all(b"{\"status\":200}\n").unwrap();

    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{\"status\":200}\n", "appended at the new end");
}
