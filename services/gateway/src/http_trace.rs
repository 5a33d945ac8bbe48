//! One span per request, named by the matched route (never the raw URI: signed file links
//! carry their credential in the query), with the request id, and one log line when the
//! response is ready. Bodies and headers are never logged. When metrics are exported, one
//! `http.server.request.duration` record per request, by method, route template and status.

use std::sync::LazyLock;
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{Method, Request, Response};
use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use rentory_runtime::measure::{Measure, MeasureLayer};
use rentory_runtime::telemetry;
use tower_http::trace::OnResponse;
use tracing::Span;
use tracing::field::Empty;

use crate::request_id::RequestId;

pub fn make_span<B>(request: &Request<B>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("unmatched");
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(RequestId::as_str)
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        otel.kind = "server",
        http.method = %request.method(),
        http.route = %route,
        request_id = %request_id,
        http.status_code = Empty,
        latency_ms = Empty,
        user_id = Empty,
    )
}

#[derive(Debug, Clone, Copy)]
pub struct LogResponse;

impl<B> OnResponse<B> for LogResponse {
    fn on_response(self, response: &Response<B>, latency: Duration, span: &Span) {
        let status = response.status().as_u16();
        let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        span.record("http.status_code", status);
        span.record("latency_ms", latency_ms);
        if response.status().is_server_error() {
            tracing::warn!(parent: span, status, latency_ms, "request finished");
        } else {
            tracing::info!(parent: span, status, latency_ms, "request finished");
        }
    }
}

static REQUEST_DURATION: LazyLock<Histogram<f64>> = LazyLock::new(|| {
    telemetry::duration_histogram(
        "http.server.request.duration",
        "Time to answer a request, until the response headers",
    )
});

/// Times each request and records it under its route template, so `/properties/{id}` is
/// one series, not one per listing. Requests no route matched (Socket.IO, 404s) are
/// recorded without `http.route`.
pub fn record_duration() -> MeasureLayer<RequestDuration> {
    MeasureLayer(RequestDuration)
}

#[derive(Debug, Clone, Copy)]
pub struct RequestDuration;

impl Measure for RequestDuration {
    /// `http.request.method` and `http.route`.
    type Labels = (KeyValue, Option<KeyValue>);

    fn labels<B>(&self, request: &Request<B>) -> Self::Labels {
        let method = KeyValue::new("http.request.method", method_name(request.method()));
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(|path| KeyValue::new("http.route", path.as_str().to_owned()));
        (method, route)
    }

    fn record<R>(
        &self,
        (method, route): Self::Labels,
        response: Option<&Response<R>>,
        elapsed: Duration,
    ) {
        // The layers below answer every request, errors included (as problem documents).
        let Some(response) = response else { return };
        let status = KeyValue::new(
            "http.response.status_code",
            i64::from(response.status().as_u16()),
        );
        let elapsed = elapsed.as_secs_f64();
        match route {
            Some(route) => REQUEST_DURATION.record(elapsed, &[method, route, status]),
            None => REQUEST_DURATION.record(elapsed, &[method, status]),
        }
    }
}

/// The semantic conventions' closed set of method names; anything else is `_OTHER`, so a
/// client cannot mint series by inventing methods.
fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "_OTHER",
    }
}
