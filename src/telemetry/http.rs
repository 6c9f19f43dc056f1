//! The server span of a request, following the OpenTelemetry HTTP semantic conventions, and its one log line.
//!
//! Probes (`/healthz`, `/readyz`) get no span and no log line: orchestrators call them every few seconds and they
//! would drown the requests people look for. Requests the sampler does not keep get no span either, but their log
//! line. Incoming W3C `traceparent`/`tracestate` continue the caller's trace;
//! [`observe`] names the server span in the response so a user can find the trace, and logs the request.

use std::time::Instant;

use axum::{
    extract::{ConnectInfo, MatchedPath, Request},
    http::{Method, header},
    middleware::Next,
    response::Response,
};
use opentelemetry::{propagation::TextMapPropagator, trace::TraceContextExt};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tower_http::trace::MakeSpan;
use tracing::{Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt;

const REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");

/// The target of each request's log line: exported as a log record only when the request is traced (see
/// `telemetry::Telemetry::init`).
pub const REQUEST_LINE: &str = "visit_counter::request";

/// Paths that are never traced or logged per request.
const PROBES: [&str; 2] = ["/healthz", "/readyz"];

/// The semantic-convention method: one of the well-known methods, or `_OTHER` (keeps span names and labels bounded).
pub fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "_OTHER",
    }
}

/// Opens the server span (for tower-http's `TraceLayer`).
#[derive(Clone, Debug)]
pub struct ServerSpan {
    /// The port this server listens on (`server.port` when the Host header names none).
    pub port: u16,
}

impl<B> MakeSpan<B> for ServerSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let path = request.uri().path();
        if PROBES.contains(&path) {
            return Span::none();
        }
        let method = method_name(request.method());
        let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(request.headers())));
        // Unsampled (or export off): no span at all, the cheapest thing tracing can do (see `otel::sampled`).
        if !super::otel::sampled(&parent, method) {
            return Span::none();
        }
        let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
        let name = route.map_or_else(|| method.to_owned(), |r| format!("{method} {r}"));
        let headers = request.headers();
        let header = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        let (host, port) = split_host(header(header::HOST).unwrap_or(""), self.port);
        // Behind NGINX (the only way in) the client is the first X-Forwarded-For entry, which NGINX sets to the peer it
        // saw, replacing any the caller sent (nginx/templates); without the header, the peer.
        let peer = request.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
        let forwarded = header(header::HeaderName::from_static("x-forwarded-for"))
            .and_then(|f| f.split(',').next())
            .map(|f| f.trim().to_owned());
        let span = tracing::info_span!(
            "request",
            otel.name = %name,
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = method,
            http.route = route,
            http.response.status_code = Empty,
            url.path = path,
            url.scheme = "http",
            server.address = host,
            server.port = port,
            client.address = forwarded.or_else(|| peer.clone()),
            network.peer.address = peer,
            network.protocol.version = protocol_version(request),
            user_agent.original = header(header::USER_AGENT),
            http.request.header.x_request_id = header(REQUEST_ID),
        );
        let _ = span.set_parent(parent);
        span
    }
}

/// `server.address` and `server.port` from a Host header (`name`, `name:port`, `[v6]` or `[v6]:port`).
fn split_host(host: &str, default_port: u16) -> (&str, i64) {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !port.contains(']') => (name, port.parse::<i64>().ok()),
        _ => (host, None),
    };
    (name.trim_start_matches('[').trim_end_matches(']'), port.unwrap_or(i64::from(default_port)))
}

fn protocol_version<B>(request: &Request<B>) -> &'static str {
    match request.version() {
        axum::http::Version::HTTP_10 => "1.0",
        axum::http::Version::HTTP_2 => "2",
        axum::http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// Inside the server span: records the status on it (5xx marks it as an error), names it in the response's
/// `traceparent` header, and writes the request's one log line with the ids that find its trace.
///
/// The log line carries its own fields rather than the span's: formatting every span's fields for the log would cost
/// more than the request itself.
pub async fn observe(request: Request, next: Next) -> Response {
    if PROBES.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let span = Span::current();
    let start = Instant::now();
    let method = method_name(request.method());
    let route = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let context = span.context();
    let mut response = next.run(request).await;

    let status = response.status();
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    let ids = ids(&context);
    if ids.is_some() {
        let headers = response.headers_mut();
        TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
        if headers.get("tracestate").is_some_and(|v| v.is_empty()) {
            headers.remove("tracestate");
        }
    }
    let (trace_id, span_id) = ids.unzip();
    tracing::info!(
        target: REQUEST_LINE,
        method,
        route,
        status = status.as_u16(),
        duration_ms = start.elapsed().as_secs_f64() * 1000.0,
        trace_id,
        span_id,
        request_id,
        "request completed"
    );
    response
}

/// The trace and span ids of the current span, for log lines written inside a request.
pub fn current_ids() -> Option<(String, String)> {
    ids(&Span::current().context())
}

fn ids(context: &opentelemetry::Context) -> Option<(String, String)> {
    let span = context.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| (span_context.trace_id().to_string(), span_context.span_id().to_string()))
}

#[cfg(test)]
mod tests {
    use super::split_host;

    #[test]
    fn host_headers_split_into_address_and_port() {
        assert_eq!(split_host("example.com:8080", 80), ("example.com", 8080));
        assert_eq!(split_host("example.com", 80), ("example.com", 80));
        assert_eq!(split_host("[::1]:8080", 80), ("::1", 8080));
        assert_eq!(split_host("[::1]", 80), ("::1", 80));
        assert_eq!(split_host("", 80), ("", 80));
    }
}
