//! The app's pages in a real browser: headless Chromium (Debian's `chromium`) loads `/` and `/count` through NGINX on
//! the native twin, on a desktop and a phone-sized viewport. Asserted: the count Redis holds is on the page, the page
//! is a titled `lang="en"` document with a `main` and a heading, nothing scrolls sideways on the phone, no console
//! error or exception, and every request the page made went to the twin's loopback port. Screenshots go to
//! `<target>/screenshots/`, and with `UPDATE_SCREENSHOTS=1` also to `docs/screenshots/` (shown in the README).

mod cdp;

use serde_json::{Value, json};

use crate::stack::{ROOMY, spawn_stack_with};
use cdp::Browser;

/// Width, height, and whether Chromium should behave as a phone (touch, mobile viewport rules).
type Viewport = (u32, u32, bool);
const DESKTOP: Viewport = (1024, 640, false);
const PHONE: Viewport = (390, 844, true);

/// What the page says about itself once loaded.
const INSPECT: &str = r#"({
    lang: document.documentElement.lang,
    title: document.title,
    heading: document.querySelector("main h1")?.textContent ?? null,
    viewport: document.querySelector('meta[name="viewport"]')?.content ?? null,
    count: document.querySelector("main output")?.textContent ?? null,
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
})"#;

#[test]
fn the_pages_show_the_count_on_desktop_and_phone_without_errors_or_requests_off_loopback() {
    let t = spawn_stack_with(1, &[&[("REPLICA_NAME", "web-1")][..], &ROOMY].concat());
    let browser = Browser::launch().unwrap_or_else(|e| panic!("{e}"));
    let origin = t.url("/").trim_end_matches('/').to_owned();

    for (viewport, device) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
        let home = visit(&browser, &t.url("/"), viewport);
        assert_accessible(&home, "Visit counter", viewport);
        screenshot(&browser, &format!("home-{device}"));

        let page = visit(&browser, &t.url("/count"), viewport);
        let counter = t.stack.counter().expect("counter");
        assert_eq!(page["count"], json!(counter.to_string()), "the page shows the counter Redis holds: {page}");
        assert_accessible(&page, &format!("Visit count: {counter}"), viewport);
        screenshot(&browser, &format!("count-{device}"));
    }

    let events = browser.events();
    let requested = urls(&events);
    eprintln!("requests made by the pages: {requested:#?}");
    assert!(requested.iter().any(|u| u.ends_with("/assets/style.css")), "the stylesheet was loaded: {requested:?}");
    let off_loopback: Vec<_> =
        requested.iter().filter(|u| !u.starts_with(&origin) && !u.starts_with("data:")).collect();
    assert!(off_loopback.is_empty(), "requests that left {origin}: {off_loopback:?}");
    let errors = console_errors(&events);
    assert!(errors.is_empty(), "console errors: {errors:#?}");

    // The check above is not blind: a page whose load fails does produce a console error here.
    visit(&browser, &t.url("/no-such-page"), DESKTOP);
    assert!(!console_errors(&browser.events()).is_empty(), "a 404 shows up as a console error");
}

/// Load `url` at `viewport`, wait until that document has loaded completely, and return [`INSPECT`]'s answer.
fn visit(browser: &Browser, url: &str, (width, height, mobile): Viewport) -> Value {
    browser.set_viewport(width, height, mobile).expect("viewport");
    browser.navigate(url).unwrap_or_else(|e| panic!("{e}\n{}", browser.log()));
    browser.evaluate(INSPECT).expect("evaluate")
}

fn assert_accessible(page: &Value, title: &str, (width, _, _): Viewport) {
    assert_eq!(page["lang"], "en", "{page}");
    assert_eq!(page["title"], title, "{page}");
    assert!(page["heading"].as_str().is_some_and(|h| !h.is_empty()), "a heading inside <main>: {page}");
    assert_eq!(page["viewport"], "width=device-width, initial-scale=1", "{page}");
    assert_eq!(page["innerWidth"], width, "{page}");
    assert!(page["scrollWidth"].as_u64() <= page["innerWidth"].as_u64(), "no horizontal scroll at {width}px: {page}");
}

/// Save the viewport as `<target>/screenshots/<name>.png`, and as `docs/screenshots/<name>.png` when asked to.
fn screenshot(browser: &Browser, name: &str) {
    let png = browser.screenshot().expect("screenshot");
    let mut dirs = vec![harness::paths::target_dir().join("screenshots")];
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some_and(|v| v == "1") {
        dirs.push(harness::paths::workspace_root().join("docs").join("screenshots"));
    }
    for dir in dirs {
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), &png).expect("screenshot written");
    }
}

/// Every URL the page asked for (documents, stylesheet, icon, anything else).
fn urls(events: &[Value]) -> Vec<String> {
    let requests = events.iter().filter(|e| e["method"] == "Network.requestWillBeSent");
    requests.filter_map(|e| e["params"]["request"]["url"].as_str().map(str::to_owned)).collect()
}

/// `console.error`, uncaught exceptions, and the browser's own error entries (failed loads, CSP violations).
fn console_errors(events: &[Value]) -> Vec<&Value> {
    let error = |e: &&Value| match e["method"].as_str() {
        Some("Runtime.consoleAPICalled") => matches!(e["params"]["type"].as_str(), Some("error" | "assert")),
        Some("Runtime.exceptionThrown") => true,
        Some("Log.entryAdded") => e["params"]["entry"]["level"] == "error",
        _ => false,
    };
    events.iter().filter(error).collect()
}

/// WCAG 2.x AA for body text: every colour pair the stylesheet puts text on has a contrast ratio of at least 4.5:1,
/// in the light and in the dark scheme.
#[test]
fn text_colours_meet_wcag_aa_contrast_in_light_and_dark() {
    let css =
        std::fs::read_to_string(harness::paths::workspace_root().join("src/routes/style.css")).expect("style.css");
    // `--name: #rrggbb` declarations: the first of each name is the light scheme, the second the dark one.
    let mut schemes: [std::collections::BTreeMap<String, [f64; 3]>; 2] = Default::default();
    for declaration in css.split("--").skip(1) {
        let Some((name, rest)) = declaration.split_once(':') else { continue };
        let hex = rest.trim_start().trim_start_matches('#');
        let Some(rgb) = parse_hex(hex.get(..6).unwrap_or("")) else { continue };
        let scheme = usize::from(schemes[0].contains_key(name));
        schemes[scheme].insert(name.to_owned(), rgb);
    }
    // Text on background: body, card text, the muted replica name, links, and the button's label on its fill.
    let pairs = [("fg", "bg"), ("fg", "card"), ("muted", "card"), ("accent", "card"), ("card", "accent")];
    for (scheme, colours) in ["light", "dark"].iter().zip(&schemes) {
        for (text, background) in pairs {
            let ratio = contrast(colours[text], colours[background]);
            assert!(ratio >= 4.5, "{scheme}: --{text} on --{background} is {ratio:.2}:1, under 4.5:1");
        }
    }
}

fn parse_hex(hex: &str) -> Option<[f64; 3]> {
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok().map(f64::from);
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// The WCAG contrast ratio of two sRGB colours.
fn contrast(a: [f64; 3], b: [f64; 3]) -> f64 {
    let luminance = |rgb: [f64; 3]| {
        let linear = |c: f64| {
            let c = c / 255.0;
            if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
    };
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}
