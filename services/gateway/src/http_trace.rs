//! One span per request, named by the matched route (never the raw URI: signed file links
//! carry their credential in the query), with the request id, and one log line when the
//! response is ready. Bodies and headers are never logged.

use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{Request, Response};
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
