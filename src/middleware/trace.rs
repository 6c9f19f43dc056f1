//! The server span of a request, following the OpenTelemetry HTTP semantic conventions: opened by tower-http's
//! `TraceLayer` with [`ServerSpan`], given its status by [`RecordStatus`] (5xx marks it as an error), and named in the
//! response's `traceparent` header by [`traceparent`] so a user can find the trace.
//!
//! Requests the sampler does not keep get no span at all (`telemetry::sampling`); incoming W3C
//! `traceparent`/`tracestate` continue the caller's trace.

use std::time::Duration;

use axum::{
    extract::{ConnectInfo, MatchedPath, Request},
    http::{HeaderMap, Method, Version, header},
    response::Response,
};
use opentelemetry::{propagation::TextMapPropagator, trace::TraceContextExt};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tower_http::trace::{MakeSpan, OnResponse};
use tracing::{Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::REQUEST_ID;
use crate::telemetry::sampling;

/// The semantic-convention method: one of the well-known methods, or `_OTHER` (keeps span names and labels bounded).
pub(super) fn method_name(method: &Method) -> &'static str {
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

/// Opens the server span.
#[derive(Clone, Debug)]
pub(super) struct ServerSpan {
    /// The port this server listens on (`server.port` when the Host header names none).
    pub(super) port: u16,
}

impl<B> MakeSpan<B> for ServerSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let method = method_name(request.method());
        let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(request.headers())));
        // Unsampled (or export off): no span at all, the cheapest thing tracing can do.
        if !sampling::sampled(&parent, method) {
            return Span::none();
        }
        let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
        let name = route.map_or_else(|| method.to_owned(), |r| format!("{method} {r}"));
        let headers = request.headers();
        let (host, port) = split_host(header_str(headers, &header::HOST).unwrap_or(""), self.port);
        let (client, peer) = client_addresses(request);
        let span = tracing::info_span!(
            "request",
            otel.name = name.as_str(),
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = method,
            http.route = route,
            http.response.status_code = Empty,
            url.path = request.uri().path(),
            url.scheme = "http",
            server.address = host,
            server.port = port,
            client.address = client,
            network.peer.address = peer,
            network.protocol.version = protocol_version(request.version()),
            user_agent.original = header_str(headers, &header::USER_AGENT),
            http.request.header.x_request_id = header_str(headers, &REQUEST_ID),
        );
        let _ = span.set_parent(parent);
        span
    }
}

/// Records the status on the server span (and marks a 5xx as an error).
#[derive(Clone, Copy, Debug)]
pub(super) struct RecordStatus;

impl<B> OnResponse<B> for RecordStatus {
    fn on_response(self, response: &Response<B>, _: Duration, span: &Span) {
        let status = response.status();
        span.record("http.response.status_code", i64::from(status.as_u16()));
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
    }
}

/// Names the server span in the response's `traceparent` (no `tracestate` when it would be empty).
pub(super) async fn traceparent(mut response: Response) -> Response {
    let context = Span::current().context();
    if ids(&context).is_some() {
        let headers = response.headers_mut();
        TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
        if headers.get("tracestate").is_some_and(|v| v.is_empty()) {
            headers.remove("tracestate");
        }
    }
    response
}

/// The trace and span ids of the current span, for log lines written inside a request.
pub(super) fn current_ids() -> Option<(String, String)> {
    ids(&Span::current().context())
}

fn ids(context: &opentelemetry::Context) -> Option<(String, String)> {
    let span = context.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| (span_context.trace_id().to_string(), span_context.span_id().to_string()))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `client.address` and `network.peer.address`. Behind NGINX (the only way in) the client is the first
/// X-Forwarded-For entry, which NGINX sets to the peer it saw, replacing any the caller sent (nginx/templates);
/// without the header, the peer.
fn client_addresses<B>(request: &Request<B>) -> (Option<String>, Option<String>) {
    let peer = request.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
    let forwarded = header_str(request.headers(), &header::HeaderName::from_static("x-forwarded-for"))
        .and_then(|f| f.split(',').next())
        .map(|f| f.trim().to_owned());
    (forwarded.or_else(|| peer.clone()), peer)
}

/// `server.address` and `server.port` from a Host header (`name`, `name:port`, `[v6]` or `[v6]:port`).
fn split_host(host: &str, default_port: u16) -> (&str, i64) {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !port.contains(']') => (name, port.parse::<i64>().ok()),
        _ => (host, None),
    };
    (name.trim_start_matches('[').trim_end_matches(']'), port.unwrap_or(i64::from(default_port)))
}

fn protocol_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
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
