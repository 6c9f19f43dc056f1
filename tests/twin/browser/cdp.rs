//! Headless Chromium (Debian's `chromium`) driven over the DevTools protocol by `headless_chrome`: one tab, whose
//! events the test reads afterwards (requests, console messages, exceptions, log entries).
//!
//! Chromium is kept on loopback: its debugging port is one of [`harness::wait::free_port`]'s, every host name resolves
//! to nothing but `127.0.0.1` (`--host-resolver-rules`), no proxy, no background networking, a fresh profile in a
//! temp dir. `headless_chrome` closes the browser on drop (`Browser.close`, then the process is killed).

use std::{
    ffi::OsStr,
    sync::{Arc, Mutex},
    time::Duration,
};

use headless_chrome::{
    LaunchOptions, Tab,
    protocol::cdp::{Emulation, Network, Page, types::Event},
};
use serde_json::{Value, json};
use tempfile::TempDir;

/// On top of `headless_chrome`'s own (headless, no GPU, no first run, no background networking, no sync, no
/// extensions): a profile that does nothing on its own, and no way off the machine.
const FLAGS: [&str; 7] = [
    "--no-default-browser-check",
    "--disable-component-update",
    "--disable-quic",
    "--no-proxy-server",
    // Chromium asks Google hosts even with background networking off: every name but the loopback address resolves
    // to nothing, so no request can leave the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--hide-scrollbars",
    "--mute-audio",
];

/// How long one command (a page load included) may take.
const DEADLINE: Duration = Duration::from_secs(30);

pub(super) struct Browser {
    /// Dropped first: the browser closes before its profile is removed.
    _chromium: headless_chrome::Browser,
    tab: Arc<Tab>,
    events: Arc<Mutex<Vec<Value>>>,
    /// The profile and Chromium's own log.
    dir: TempDir,
}

impl Browser {
    /// Start headless Chromium with one tab, or fail saying how to install it (scripts/test.sh does).
    pub(super) fn launch() -> Result<Self, String> {
        harness::paths::require("chromium", "apt-get install chromium; scripts/test.sh installs it")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let log = format!("--log-file={}", dir.path().join("chromium.log").display());
        let options = LaunchOptions {
            path: Some("chromium".into()),
            port: Some(harness::ports::free_port()),
            user_data_dir: Some(dir.path().join("profile")),
            // Chromium's sandbox needs user namespaces it cannot have as root; as any other user it stays on.
            sandbox: !running_as_root(),
            args: FLAGS.iter().map(OsStr::new).chain([OsStr::new(&log)]).collect(),
            // Events are awaited with their own deadlines; the connection must outlive a quiet page.
            idle_browser_timeout: Duration::from_secs(300),
            ..LaunchOptions::default()
        };
        let chromium = headless_chrome::Browser::new(options).map_err(|e| format!("cannot start chromium: {e:#}"))?;
        let tab = chromium.new_tab().map_err(|e| format!("a tab: {e:#}"))?;
        tab.set_default_timeout(DEADLINE);
        let events = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&events);
        tab.add_event_listener(Arc::new(move |event: &Event| {
            if let Some(event) = as_json(event) {
                recorded.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(event);
            }
        }))
        .map_err(|e| e.to_string())?;
        let network: Network::Enable = serde_json::from_value(json!({})).map_err(|e| e.to_string())?;
        tab.call_method(network).map_err(|e| format!("Network.enable: {e:#}"))?;
        tab.enable_runtime().and_then(|t| t.enable_log()).map_err(|e| format!("Runtime/Log.enable: {e:#}"))?;
        Ok(Self { _chromium: chromium, tab, events, dir })
    }

    /// Chromium's own log (for failure messages).
    pub(super) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("chromium.log")).unwrap_or_default()
    }

    /// Every event recorded so far, in order, as the protocol's JSON (`method` and `params`).
    pub(super) fn events(&self) -> Vec<Value> {
        self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Emulate a `width`×`height` screen, as a phone (touch, mobile viewport rules) when `mobile`.
    pub(super) fn set_viewport(&self, width: u32, height: u32, mobile: bool) -> Result<(), String> {
        let metrics = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile });
        let metrics: Emulation::SetDeviceMetricsOverride =
            serde_json::from_value(metrics).map_err(|e| e.to_string())?;
        self.tab.call_method(metrics).map(drop).map_err(|e| format!("viewport: {e:#}"))
    }

    /// Load `url`; returns once that document has loaded completely.
    pub(super) fn navigate(&self, url: &str) -> Result<(), String> {
        self.tab.navigate_to(url).map_err(|e| format!("{url}: {e:#}"))?;
        // Asked of the page rather than taken from a load event, which may belong to the previous document.
        let complete = "document.readyState === 'complete' && location.href";
        harness::wait::until(url, DEADLINE, || self.evaluate(complete).is_ok_and(|href| href == url)).map(drop)
    }

    /// The value of a JavaScript `expression` on the page (anything JSON can carry).
    pub(super) fn evaluate(&self, expression: &str) -> Result<Value, String> {
        let answer = self.tab.evaluate(&format!("JSON.stringify({expression})"), false).map_err(|e| e.to_string())?;
        let text = answer.value.as_ref().and_then(Value::as_str).ok_or_else(|| format!("{expression}: {answer:?}"))?;
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// The viewport as a PNG.
    pub(super) fn screenshot(&self) -> Result<Vec<u8>, String> {
        let png = Page::CaptureScreenshotFormatOption::Png;
        self.tab.capture_screenshot(png, None, None, true).map_err(|e| format!("screenshot: {e:#}"))
    }
}

/// The events the test reads, as the protocol sends them.
fn as_json(event: &Event) -> Option<Value> {
    let (method, params) = match event {
        Event::NetworkRequestWillBeSent(e) => ("Network.requestWillBeSent", serde_json::to_value(&e.params)),
        Event::RuntimeConsoleAPICalled(e) => ("Runtime.consoleAPICalled", serde_json::to_value(&e.params)),
        Event::RuntimeExceptionThrown(e) => ("Runtime.exceptionThrown", serde_json::to_value(&e.params)),
        Event::LogEntryAdded(e) => ("Log.entryAdded", serde_json::to_value(&e.params)),
        _ => return None,
    };
    Some(json!({ "method": method, "params": params.ok()? }))
}

/// `/proc/self` belongs to the effective user.
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
