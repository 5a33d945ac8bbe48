//! One trace per user request, end to end: a registration through the gateway, the identity
//! and KYC RPCs it makes, the KYC event the outbox relay publishes to JetStream, KYC's own
//! face-match consumer handling it and the AI orchestrator's RPC that consumer makes. The
//! spans and metrics are received by a local OTLP collector (the standard gRPC services,
//! served in this test) from the real exporters `rentory_runtime::telemetry` installs.
//!
//! A test binary of its own: it installs the global subscriber and meter provider, which
//! the other black-box tests run without.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use rentory_blackbox::TestStack;
use rentory_runtime::telemetry::{self, TelemetryGuard};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;

const REGISTER_ROUTE: &str = "/auth/register";
const IDENTITY_REGISTER: &str = "/rentory.identity.v1.IdentityService/Register";
const KYC_SUBMIT: &str = "/rentory.kyc.v1.KycService/Submit";
const AI_FACE_MATCH: &str = "/rentory.ai.v1.AiOrchestrator/FaceMatch";
const SUBMITTED: &str = "rentory.kyc.verification.submitted";
const REGISTERED: &str = "rentory.identity.user.registered";
const FACE_MATCH_CONSUMER: &str = "kyc-face-match";

/// What the exporters sent: every span, and every metric of every export (cumulative, so
/// the last export of an instrument holds all its points).
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
    metrics: Arc<Mutex<Vec<Metric>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans);
        self.spans.lock().unwrap().extend(spans);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let metrics = request
            .into_inner()
            .resource_metrics
            .into_iter()
            .flat_map(|r| r.scope_metrics)
            .flat_map(|s| s.metrics);
        self.metrics.lock().unwrap().extend(metrics);
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

impl Collector {
    async fn serve(&self, shutdown: CancellationToken) -> anyhow::Result<String> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(self.clone()))
            .add_service(MetricsServiceServer::new(self.clone()))
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown.cancelled_owned());
        tokio::spawn(server);
        Ok(format!("http://{addr}"))
    }

    fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }

    fn metric_points(&self, name: &str) -> Vec<Vec<KeyValue>> {
        self.metrics
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.name == name)
            .flat_map(|m| match &m.data {
                Some(metric::Data::Histogram(h)) => h
                    .data_points
                    .iter()
                    .filter(|p| p.count > 0)
                    .map(|p| p.attributes.clone())
                    .collect(),
                Some(metric::Data::Sum(s)) => {
                    s.data_points.iter().map(|p| p.attributes.clone()).collect()
                }
                _ => Vec::new(),
            })
            .collect()
    }
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

fn text<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attribute(attributes, key)? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn int(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match attribute(attributes, key)? {
        any_value::Value::IntValue(i) => Some(*i),
        _ => None,
    }
}

/// The spans of one trace, by span id.
struct Trace {
    spans: HashMap<Vec<u8>, Span>,
}

impl Trace {
    fn of(spans: &[Span], trace_id: &[u8]) -> Self {
        Self {
            spans: spans
                .iter()
                .filter(|s| s.trace_id == trace_id)
                .map(|s| (s.span_id.clone(), s.clone()))
                .collect(),
        }
    }

    fn find(&self, what: impl Fn(&Span) -> bool) -> Option<&Span> {
        self.spans.values().find(|s| what(s))
    }

    fn rpc(&self, method: &str) -> Option<&Span> {
        self.find(|s| s.name == "rpc" && text(&s.attributes, "rpc.method") == Some(method))
    }

    fn published(&self, subject: &str) -> Option<&Span> {
        self.find(|s| s.name == "publish_event" && text(&s.attributes, "subject") == Some(subject))
    }

    fn handled(&self, consumer: &str, subject: &str) -> Option<&Span> {
        self.find(|s| {
            s.name == "handle_event"
                && text(&s.attributes, "consumer") == Some(consumer)
                && text(&s.attributes, "subject") == Some(subject)
        })
    }

    /// The span ids from `span` up to the first span whose parent is not in the trace.
    fn ancestry(&self, span: &Span) -> Vec<Vec<u8>> {
        let mut chain = vec![span.span_id.clone()];
        let mut parent = span.parent_span_id.clone();
        while let Some(next) = self.spans.get(&parent) {
            chain.push(next.span_id.clone());
            parent = next.parent_span_id.clone();
            if chain.len() > self.spans.len() {
                break;
            }
        }
        chain
    }

    fn descends_from(&self, span: &Span, ancestor: &Span) -> bool {
        self.ancestry(span)[1..].contains(&ancestor.span_id)
    }

    /// The trace as an indented tree, for failure messages.
    fn tree(&self) -> String {
        let mut out = String::new();
        let roots = self
            .spans
            .values()
            .filter(|s| !self.spans.contains_key(&s.parent_span_id));
        for root in roots {
            self.write_tree(&mut out, root, 0);
        }
        out
    }

    fn write_tree(&self, out: &mut String, span: &Span, depth: usize) {
        let detail = ["http.route", "rpc.method", "subject", "consumer"]
            .iter()
            .filter_map(|k| text(&span.attributes, k).map(|v| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            out,
            "{:indent$}{} [{}] {} (parent {})",
            "",
            span.name,
            hex::encode(&span.span_id),
            detail,
            hex::encode(&span.parent_span_id),
            indent = depth * 2
        );
        let mut children: Vec<&Span> = self
            .spans
            .values()
            .filter(|s| s.parent_span_id == span.span_id)
            .collect();
        children.sort_by_key(|s| s.start_time_unix_nano);
        for child in children {
            self.write_tree(out, child, depth + 1);
        }
    }
}

/// Flushes both exporters (blocking: the SDK waits for the collector's answer).
fn flush(telemetry: &TelemetryGuard) -> anyhow::Result<()> {
    tokio::task::block_in_place(|| telemetry.flush()).context("flushing telemetry")
}

/// The registration's request span and its trace, once the trace holds everything the
/// registration causes down to the AI orchestrator's face match.
async fn registration_trace(
    collector: &Collector,
    telemetry: &TelemetryGuard,
) -> anyhow::Result<(Span, Trace)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        flush(telemetry)?;
        let spans = collector.spans();
        let request = spans.iter().find(|s| {
            s.name == "request" && text(&s.attributes, "http.route") == Some(REGISTER_ROUTE)
        });
        if let Some(request) = request {
            let trace = Trace::of(&spans, &request.trace_id);
            let complete = trace.rpc(IDENTITY_REGISTER).is_some()
                && trace.rpc(KYC_SUBMIT).is_some()
                && trace.published(SUBMITTED).is_some()
                && trace.published(REGISTERED).is_some()
                && trace.handled(FACE_MATCH_CONSUMER, SUBMITTED).is_some()
                && trace.rpc(AI_FACE_MATCH).is_some();
            if complete {
                return Ok((request.clone(), trace));
            }
            if Instant::now() > deadline {
                bail!(
                    "the registration's trace never held every expected span:\n{}",
                    trace.tree()
                );
            }
        } else if Instant::now() > deadline {
            bail!(
                "no request span for {REGISTER_ROUTE} among {} spans",
                spans.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn check_trace(request: &Span, trace: &Trace, all_spans: &[Span]) -> anyhow::Result<()> {
    ensure!(
        request.parent_span_id.is_empty(),
        "the gateway's request span is the root"
    );
    ensure!(request.kind == SpanKind::Server as i32, "request span kind");

    let register = trace.rpc(IDENTITY_REGISTER).context("identity Register")?;
    let submit = trace.rpc(KYC_SUBMIT).context("kyc Submit")?;
    for rpc in [register, submit] {
        ensure!(
            trace.descends_from(rpc, request),
            "{:?} descends from the request",
            text(&rpc.attributes, "rpc.method")
        );
        ensure!(rpc.kind == SpanKind::Server as i32, "rpc span kind");
    }

    // The outbox row was written inside the RPC, and the relay publishes in that trace.
    let published = trace.published(SUBMITTED).context("publish of submitted")?;
    ensure!(
        trace.descends_from(published, submit),
        "the relay's publish descends from kyc Submit"
    );
    ensure!(published.kind == SpanKind::Producer as i32, "publish kind");
    let registered = trace
        .published(REGISTERED)
        .context("publish of registered")?;
    ensure!(
        trace.descends_from(registered, register),
        "the relay's publish descends from identity Register"
    );

    // The consumer continues from the message it received, and its own RPC goes on in it.
    let handled = trace
        .handled(FACE_MATCH_CONSUMER, SUBMITTED)
        .context("face match handling")?;
    ensure!(
        handled.parent_span_id == published.span_id,
        "the consumer's span is a child of the publish"
    );
    ensure!(handled.kind == SpanKind::Consumer as i32, "consumer kind");
    let face_match = trace.rpc(AI_FACE_MATCH).context("ai FaceMatch")?;
    ensure!(
        trace.descends_from(face_match, handled),
        "the AI orchestrator's RPC descends from the consumer's span"
    );

    // Every span of the trace hangs from the request; none is orphaned.
    for span in trace.spans.values() {
        let ancestry = trace.ancestry(span);
        ensure!(
            ancestry.last() == Some(&request.span_id),
            "span {} ({}) does not lead back to the request",
            span.name,
            hex::encode(&span.span_id)
        );
    }

    // Every RPC the registration's request id reached is in this one trace.
    let request_id = text(&request.attributes, "request_id").context("request_id")?;
    let strays: Vec<&Span> = all_spans
        .iter()
        .filter(|s| text(&s.attributes, "request_id") == Some(request_id))
        .filter(|s| s.trace_id != request.trace_id)
        .collect();
    ensure!(
        strays.is_empty(),
        "spans of request {request_id} in other traces: {:?}",
        strays.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    Ok(())
}

fn check_metrics(collector: &Collector) -> anyhow::Result<()> {
    let http = collector.metric_points("http.server.request.duration");
    ensure!(
        http.iter()
            .any(|a| text(a, "http.route") == Some(REGISTER_ROUTE)
                && text(a, "http.request.method") == Some("POST")
                && int(a, "http.response.status_code") == Some(201)),
        "http.server.request.duration for POST {REGISTER_ROUTE} 201: {http:?}"
    );
    ensure!(
        http.iter()
            .filter_map(|a| text(a, "http.route"))
            .all(|route| !route.contains("/auth/register/") && route.starts_with('/')),
        "routes are templates: {http:?}"
    );

    let rpc = collector.metric_points("rpc.server.duration");
    ensure!(
        rpc.iter().any(
            |a| text(a, "rpc.service") == Some("rentory.identity.v1.IdentityService")
                && text(a, "rpc.method") == Some("Register")
                && int(a, "rpc.grpc.status_code") == Some(0)
        ),
        "rpc.server.duration for identity Register: {rpc:?}"
    );

    let lag = collector.metric_points("rentory.outbox.lag");
    ensure!(
        lag.iter().any(|a| text(a, "subject") == Some(SUBMITTED)),
        "rentory.outbox.lag for {SUBMITTED}: {lag:?}"
    );

    let handled = collector.metric_points("rentory.consumer.handled");
    ensure!(
        handled
            .iter()
            .any(|a| text(a, "consumer") == Some(FACE_MATCH_CONSUMER)
                && text(a, "outcome") == Some("applied")),
        "rentory.consumer.handled for {FACE_MATCH_CONSUMER}: {handled:?}"
    );

    let webhooks = collector.metric_points("rentory.payments.webhooks");
    for outcome in ["MISSING_SIGNATURE", "BAD_SIGNATURE"] {
        ensure!(
            webhooks.iter().any(
                |a| text(a, "stage") == Some("received") && text(a, "outcome") == Some(outcome)
            ),
            "rentory.payments.webhooks {outcome}: {webhooks:?}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registration_is_one_trace_from_the_gateway_to_the_event_consumers() -> anyhow::Result<()>
{
    let collector = Collector::default();
    let collector_stop = CancellationToken::new();
    let endpoint = collector.serve(collector_stop.clone()).await?;
    let telemetry = telemetry::init_exporting_to("rentory-stack", &endpoint)?;
    ensure!(telemetry::metrics_enabled(), "metrics are exported");

    let stack = TestStack::start().await?;
    stack.register("TENANT").await?;
    // Refused webhooks: one without a signature (the gateway's 401), one wrongly signed
    // (payments' 401).
    let webhook = stack.url("/webhooks/paystack");
    let unsigned = stack.http.post(&webhook).body("{}").send().await?;
    ensure!(
        unsigned.status() == 401,
        "unsigned webhook: {}",
        unsigned.status()
    );
    let forged = stack
        .http
        .post(&webhook)
        .header("x-paystack-signature", "00".repeat(64))
        .body("{}")
        .send()
        .await?;
    ensure!(
        forged.status() == 401,
        "forged webhook: {}",
        forged.status()
    );

    let (request, trace) = registration_trace(&collector, &telemetry).await?;
    if let Err(error) = check_trace(&request, &trace, &collector.spans()) {
        bail!("{error:#}\n{}", trace.tree());
    }
    flush(&telemetry)?;
    check_metrics(&collector)?;

    stack.stop().await?;
    drop(telemetry);
    collector_stop.cancel();
    Ok(())
}
