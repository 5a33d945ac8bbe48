//! A tower layer that times each request and hands the time to a [`Measure`], which reads
//! its attributes from the request and the response: the gateway's
//! `http.server.request.duration` and every service's `rpc.server.duration`. Without metric
//! export it passes requests straight through, with no allocation.

use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, Either};

use crate::telemetry;

/// What to record about one request.
pub trait Measure: Clone + Send + 'static {
    /// What is read from the request before it is handled (it is gone afterwards).
    type Labels: Send + 'static;

    fn labels<B>(&self, request: &http::Request<B>) -> Self::Labels;

    /// `response` is `None` when the inner service failed instead of answering.
    fn record<R>(
        &self,
        labels: Self::Labels,
        response: Option<&http::Response<R>>,
        elapsed: Duration,
    );
}

#[derive(Debug, Clone, Copy, Default)]
pub struct MeasureLayer<M>(pub M);

impl<S, M: Clone> tower::Layer<S> for MeasureLayer<M> {
    type Service = Measured<S, M>;

    fn layer(&self, inner: S) -> Self::Service {
        Measured {
            inner,
            measure: self.0.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Measured<S, M> {
    inner: S,
    measure: M,
}

impl<S, M, B, R> tower::Service<http::Request<B>> for Measured<S, M>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Send + 'static,
    M: Measure,
{
    type Response = S::Response;
    type Error = S::Error;
    /// The inner service's own future when nothing is measured.
    type Future = Either<S::Future, BoxFuture<'static, Result<S::Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if !telemetry::metrics_enabled() {
            return Either::Left(self.inner.call(request));
        }
        let started = Instant::now();
        let labels = self.measure.labels(&request);
        let answer = self.inner.call(request);
        let measure = self.measure.clone();
        Either::Right(Box::pin(async move {
            let result = answer.await;
            measure.record(labels, result.as_ref().ok(), started.elapsed());
            result
        }))
    }
}
