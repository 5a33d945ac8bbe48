//! Serving and calling gRPC the same way in every service.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{ClientTlsConfig, Endpoint};
use tower::layer::util::{Identity, Stack};

use crate::measure::MeasureLayer;
pub use crate::peer_auth::{PeerAuth, PeerChannel};
use crate::rpc_metrics::{RpcDuration, RpcMetricsLayer};
use crate::trace_context;

/// gRPC messages may carry two KYC images or ten listing photos; the gateway caps each
/// upload, and each request, below this.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("could not bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("invalid service URL {url}: {reason}")]
    Url { url: String, reason: String },
}

/// Binds `0.0.0.0:port` (Cloud Run) or whatever address the local stack chose.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// What [`server`] returns: a tonic server whose RPCs are measured.
pub type Server = tonic::transport::Server<Stack<RpcMetricsLayer, Identity>>;

/// A tonic server with one span per RPC (child of the caller's trace, tagged with the
/// request id) and, when metrics are exported, `rpc.server.duration` per RPC.
pub fn server() -> Server {
    tonic::transport::Server::builder()
        .timeout(Duration::from_secs(30))
        .trace_fn(rpc_span)
        .layer(MeasureLayer(RpcDuration))
}

fn rpc_span(request: &http::Request<()>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let span = tracing::info_span!(
        "rpc",
        otel.kind = "server",
        rpc.method = %request.uri().path(),
        request_id = %request_id,
    );
    trace_context::adopt_parent(&span, request.headers());
    span
}

/// Same key as `rentory_auth::metadata::REQUEST_ID`; runtime does not depend on auth.
const REQUEST_ID_HEADER: &str = "x-request-id";

/// Runs `router` on `listener` until `shutdown` is cancelled, then lets in-flight RPCs finish.
pub async fn serve<L>(
    router: tonic::transport::server::Router<L>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServeError>
where
    L: tower::Layer<tonic::service::Routes> + Clone,
    L::Service: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
        > + Clone
        + Send
        + 'static,
    <L::Service as tower::Service<http::Request<tonic::body::Body>>>::Future: Send + 'static,
    <L::Service as tower::Service<http::Request<tonic::body::Body>>>::Error:
        Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    let addr = listener.local_addr().ok();
    tracing::info!(?addr, "gRPC server listening");
    // TCP_NODELAY on every accepted connection: a response goes out as several small HTTP/2
    // frames, and with Nagle's algorithm the later ones wait for the caller's delayed ACK
    // (measured: 46 ms for a gateway call instead of 5 ms).
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    router
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await?;
    tracing::info!(?addr, "gRPC server drained and stopped");
    Ok(())
}

/// A lazily connecting channel to another service: start-up order does not matter, and a
/// service that is down fails its calls (UNAVAILABLE) instead of the caller's start-up.
/// `https://` URLs (Cloud Run) get TLS checked against the system's CA certificates;
/// `http://` stays cleartext HTTP/2 (local runs). `peer_auth` decides whether each call
/// carries the caller's ID token.
pub fn channel(url: &str, peer_auth: &PeerAuth) -> Result<PeerChannel, ServeError> {
    let invalid = |reason: String| ServeError::Url {
        url: url.to_owned(),
        reason,
    };
    let mut endpoint = Endpoint::from_shared(url.to_owned()).map_err(|e| invalid(e.to_string()))?;
    if endpoint.uri().scheme() == Some(&http::uri::Scheme::HTTPS) {
        endpoint = endpoint
            .tls_config(ClientTlsConfig::new().with_native_roots())
            .map_err(|e| invalid(format!("no TLS: {}", crate::error_chain(&e))))?;
    }
    let uri = endpoint.uri().clone();
    let channel = endpoint
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        .connect_lazy();
    peer_auth.wrap(&uri, channel).map_err(invalid)
}
