//! The server span of a request, following the OpenTelemetry HTTP semantic conventions, and its one log line.
//!
//! Probes (`/healthz`, `/readyz`) get no span and no log line: orchestrators call them every few seconds and they
//! would drown the requests people look for. Incoming W3C `traceparent`/`tracestate` continue the caller's trace;
//! [`traceparent`] names the server span in the response so a user can find the trace.

use std::time::Duration;

use axum::{
    extract::{ConnectInfo, MatchedPath, Request},
    http::{Method, header},
    middleware::Next,
    response::Response,
};
use opentelemetry::{
    propagation::TextMapPropagator,
    trace::{TraceContextExt, TraceId},
};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tower_http::trace::{MakeSpan, OnResponse};
use tracing::{Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt;

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
        let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
        let name = route.map_or_else(|| method.to_owned(), |r| format!("{method} {r}"));
        let headers = request.headers();
        let header = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        let (host, port) = match header(header::HOST).map(|h| h.rsplit_once(':').unwrap_or((h, ""))) {
            Some((host, port)) => (host, port.parse::<i64>().unwrap_or(i64::from(self.port))),
            None => ("", i64::from(self.port)),
        };
        // Behind NGINX (the only way in) the client is the first X-Forwarded-For entry; otherwise the peer.
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
            request_id = header(header::HeaderName::from_static("x-request-id")),
            trace_id = Empty,
            span_id = Empty,
        );
        let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
        let _ = span.set_parent(parent);
        let context = span.context();
        let span_context = context.span().span_context().clone();
        if span_context.trace_id() != TraceId::INVALID {
            span.record("trace_id", tracing::field::display(span_context.trace_id()));
            span.record("span_id", tracing::field::display(span_context.span_id()));
        }
        span
    }
}

fn protocol_version<B>(request: &Request<B>) -> &'static str {
    match request.version() {
        axum::http::Version::HTTP_10 => "1.0",
        axum::http::Version::HTTP_2 => "2",
        axum::http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// Records the status on the span (5xx marks it as an error) and writes the request's one log line.
#[derive(Clone, Debug)]
pub struct ServerResponse;

impl<B> OnResponse<B> for ServerResponse {
    fn on_response(self, response: &Response<B>, latency: Duration, span: &Span) {
        if span.is_disabled() {
            return;
        }
        let status = response.status();
        span.record("http.response.status_code", i64::from(status.as_u16()));
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
        tracing::info!(status = status.as_u16(), duration_ms = latency.as_secs_f64() * 1000.0, "request completed");
    }
}

/// Names the server span in the response's `traceparent` header (W3C trace context).
pub async fn traceparent(request: Request, next: Next) -> Response {
    let context = Span::current().context();
    let mut response = next.run(request).await;
    if context.span().span_context().is_valid() {
        let headers = response.headers_mut();
        TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
        if headers.get("tracestate").is_some_and(|v| v.is_empty()) {
            headers.remove("tracestate");
        }
    }
    response
}
