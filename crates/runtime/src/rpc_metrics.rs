//! `rpc.server.duration` for every RPC a service answers: rate, errors and latency per
//! service and method, from one histogram.

use std::sync::LazyLock;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;

use crate::measure::{Measure, MeasureLayer};
use crate::telemetry;

/// gRPC's UNKNOWN: what a caller sees when the service itself failed rather than answered.
const UNKNOWN: i64 = 2;

static DURATION: LazyLock<Histogram<f64>> = LazyLock::new(|| {
    telemetry::duration_histogram(
        "rpc.server.duration",
        "Time to answer an RPC, until the response (or error) headers",
    )
});

/// Measures each RPC of the service it wraps (see [`crate::grpc::server`]).
pub type RpcMetricsLayer = MeasureLayer<RpcDuration>;

#[derive(Debug, Clone, Copy, Default)]
pub struct RpcDuration;

impl Measure for RpcDuration {
    /// `rpc.service` and `rpc.method`.
    type Labels = (String, String);

    fn labels<B>(&self, request: &http::Request<B>) -> Self::Labels {
        let (service, method) = service_and_method(request.uri().path());
        (service.to_owned(), method.to_owned())
    }

    fn record<R>(
        &self,
        (service, method): Self::Labels,
        response: Option<&http::Response<R>>,
        elapsed: Duration,
    ) {
        let code = response.map_or(UNKNOWN, |r| status_code(r.headers()));
        DURATION.record(
            elapsed.as_secs_f64(),
            &[
                KeyValue::new("rpc.system", "grpc"),
                KeyValue::new("rpc.service", service),
                KeyValue::new("rpc.method", method),
                KeyValue::new("rpc.grpc.status_code", code),
            ],
        );
    }
}

/// `/rentory.identity.v1.IdentityService/Register` -> (`rentory.identity.v1.IdentityService`,
/// `Register`), as the semantic conventions name them.
fn service_and_method(path: &str) -> (&str, &str) {
    path.trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("unknown", "unknown"))
}

/// A failed unary RPC is answered "trailers-only": its status is in the headers. A response
/// that starts with a message carries its status in the trailers, which unary handlers set
/// to OK once the message is written.
fn status_code(headers: &http::HeaderMap) -> i64 {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_path_into_service_and_method() {
        assert_eq!(
            service_and_method("/rentory.identity.v1.IdentityService/Register"),
            ("rentory.identity.v1.IdentityService", "Register")
        );
        assert_eq!(service_and_method("/"), ("unknown", "unknown"));
    }

    #[test]
    fn reads_a_trailers_only_status_and_defaults_to_ok() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(status_code(&headers), 0);
        headers.insert("grpc-status", http::HeaderValue::from_static("5"));
        assert_eq!(status_code(&headers), 5);
    }
}
