//! One telemetry set-up for every service: `RUST_LOG` filtering, JSON logs on stdout, and,
//! only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, OTLP traces and metrics.
//! `RENTORY_LOG_FORMAT=pretty` gives human-readable lines for local runs.
//!
//! Metrics are exported every `OTEL_METRIC_EXPORT_INTERVAL` ms (60 s by default, read by the
//! SDK's periodic reader). Without an endpoint the global meter stays the no-op one, and
//! [`metrics_enabled`] lets hot paths skip even building their attributes.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::metrics::{Histogram, Meter};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config;

/// Instrumentation scope of every Rentory instrument.
const METER_NAME: &str = "rentory";

/// Bucket bounds for durations in seconds: the OpenTelemetry semantic conventions' advice
/// for `http.server.request.duration` (the SDK's default bounds are meant for milliseconds
/// and would put every request in the first bucket).
pub const DURATION_BUCKETS_SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

static METRICS_ENABLED: AtomicBool = AtomicBool::new(false);

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("could not build the OTLP exporter: {0}")]
    Exporter(String),
    #[error("could not flush telemetry: {0}")]
    Flush(#[from] OTelSdkError),
}

/// Flushes buffered spans and metrics when dropped at the end of `main`.
#[must_use = "dropping the guard flushes and stops trace and metric export"]
pub struct TelemetryGuard {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
}

impl TelemetryGuard {
    /// Exports every finished span and the current value of every instrument now, without
    /// waiting for the batch or the export interval. Blocks the calling thread until the
    /// exporter answers.
    pub fn flush(&self) -> Result<(), TelemetryError> {
        if let Some(tracer) = &self.tracer {
            tracer.force_flush()?;
        }
        if let Some(meter) = &self.meter {
            meter.force_flush()?;
        }
        Ok(())
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(tracer) = self.tracer.take()
            && let Err(e) = tracer.shutdown()
        {
            eprintln!("trace exporter shutdown failed: {e}");
        }
        if let Some(meter) = self.meter.take() {
            METRICS_ENABLED.store(false, Ordering::Relaxed);
            if let Err(e) = meter.shutdown() {
                eprintln!("metric exporter shutdown failed: {e}");
            }
        }
    }
}

/// Whether metrics are exported: callers building attributes per request check this first.
pub fn metrics_enabled() -> bool {
    METRICS_ENABLED.load(Ordering::Relaxed)
}

/// The meter every Rentory instrument is made from. Instruments made before [`init`] (or
/// without an endpoint) are no-ops for good, so make them lazily, on first use.
pub fn meter() -> Meter {
    opentelemetry::global::meter(METER_NAME)
}

/// Where spans and metrics go.
enum Otlp {
    Off,
    /// The exporters read `OTEL_EXPORTER_OTLP_*` themselves, signal-specific ones included.
    FromEnvironment,
    Endpoint(String),
}

/// A histogram of durations in seconds with [`DURATION_BUCKETS_SECONDS`].
pub fn duration_histogram(name: &'static str, description: &'static str) -> Histogram<f64> {
    meter()
        .f64_histogram(name)
        .with_unit("s")
        .with_description(description)
        .with_boundaries(DURATION_BUCKETS_SECONDS.to_vec())
        .build()
}

/// Installs the global subscriber and, with an OTLP endpoint, the global tracer and meter
/// providers. A second call (tests start many services in one process) keeps the first
/// set-up and returns an inert guard.
pub fn init(service_name: &'static str) -> Result<TelemetryGuard, TelemetryError> {
    let otlp = match config::optional("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Some(_) => Otlp::FromEnvironment,
        None => Otlp::Off,
    };
    install(service_name, otlp)
}

/// [`init`] exporting to `endpoint` (an OTLP/gRPC URL) whatever the environment says: for
/// tests that run their own collector, since setting a variable in a running process is
/// `unsafe` now.
pub fn init_exporting_to(
    service_name: &'static str,
    endpoint: &str,
) -> Result<TelemetryGuard, TelemetryError> {
    install(service_name, Otlp::Endpoint(endpoint.to_owned()))
}

fn install(service_name: &'static str, otlp: Otlp) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env()
        // Postgres notices such as "schema already exists, skipping" on every start are noise.
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx::postgres::notice=warn"));
    let pretty = config::optional("RENTORY_LOG_FORMAT").is_some_and(|f| f == "pretty");
    let fmt_layer = if pretty {
        tracing_subscriber::fmt::layer().boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed()
    };

    let (tracer, meter) = match otlp {
        Otlp::Off => (None, None),
        Otlp::FromEnvironment => providers(service_name, None)?,
        Otlp::Endpoint(url) => providers(service_name, Some(url))?,
    };
    let otel_layer = tracer
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service_name)));

    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(otel_layer)
        .try_init()
        .is_ok();
    if !installed {
        return Ok(TelemetryGuard {
            tracer: None,
            meter: None,
        });
    }
    if let Some(p) = &tracer {
        opentelemetry::global::set_tracer_provider(p.clone());
    }
    if let Some(p) = &meter {
        opentelemetry::global::set_meter_provider(p.clone());
        METRICS_ENABLED.store(true, Ordering::Relaxed);
    }
    Ok(TelemetryGuard { tracer, meter })
}

type Providers = (Option<SdkTracerProvider>, Option<SdkMeterProvider>);

fn providers(
    service_name: &'static str,
    endpoint: Option<String>,
) -> Result<Providers, TelemetryError> {
    let resource = Resource::builder().with_service_name(service_name).build();
    Ok((
        Some(tracer_provider(resource.clone(), endpoint.clone())?),
        Some(meter_provider(resource, endpoint)?),
    ))
}

/// Without an explicit endpoint the exporters read it (and headers, timeout) from the
/// standard `OTEL_EXPORTER_OTLP_*` variables themselves.
fn tracer_provider(
    resource: Resource,
    endpoint: Option<String>,
) -> Result<SdkTracerProvider, TelemetryError> {
    let mut builder = opentelemetry_otlp::SpanExporter::builder().with_tonic();
    if let Some(endpoint) = endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    let exporter = builder
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

fn meter_provider(
    resource: Resource,
    endpoint: Option<String>,
) -> Result<SdkMeterProvider, TelemetryError> {
    let mut builder = opentelemetry_otlp::MetricExporter::builder().with_tonic();
    if let Some(endpoint) = endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    let exporter = builder
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    Ok(SdkMeterProvider::builder()
        .with_periodic_exporter(exporter)
        .with_resource(resource)
        .build())
}
