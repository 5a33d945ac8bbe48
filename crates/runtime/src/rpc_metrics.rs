//! `rpc.server.duration` for every RPC a service answers: rate, errors and latency per
//! service and method, from one histogram.

use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};
use std::time::Instant;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;

use crate::telemetry;

/// gRPC's UNKNOWN: what a caller sees when the service itself failed rather than answered.
const UNKNOWN: i64 = 2;

static DURATION: LazyLock<Histogram<f64>> = LazyLock::new(|| {
    telemetry::meter()
        .f64_histogram("rpc.server.duration")
        .with_unit("s")
        .with_description("Time to answer an RPC, until the response (or error) headers")
        .with_boundaries(telemetry::DURATION_BUCKETS_SECONDS.to_vec())
        .build()
});

/// Measures each RPC of the service it wraps (see [`crate::grpc::server`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcMetricsLayer;

impl<S> tower::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcMetrics { inner }
    }
}

#[derive(Debug, Clone)]
pub struct RpcMetrics<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for RpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if !telemetry::metrics_enabled() {
            return Box::pin(self.inner.call(request));
        }
        let started = Instant::now();
        let (service, method) = service_and_method(request.uri().path());
        let (service, method) = (service.to_owned(), method.to_owned());
        let answer = self.inner.call(request);
        Box::pin(async move {
            let result = answer.await;
            let code = match &result {
                Ok(response) => status_code(response.headers()),
                Err(_) => UNKNOWN,
            };
            DURATION.record(
                started.elapsed().as_secs_f64(),
                &[
                    KeyValue::new("rpc.system", "grpc"),
                    KeyValue::new("rpc.service", service),
                    KeyValue::new("rpc.method", method),
                    KeyValue::new("rpc.grpc.status_code", code),
                ],
            );
            result
        })
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
