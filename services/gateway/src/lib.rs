//! The public REST edge of Rentory (API.md): checks the bearer token, enforces size and rate
//! limits, determines the client IP, then calls one service by gRPC and maps its answer to
//! JSON or to an RFC 9457 problem. It holds no business rules.
//!
//! Requests pass, outermost first: sensitive-header marking, request id, trace span,
//! duration metric (when metrics are exported), the Socket.IO endpoint (`/socket.io/`, live chat: `socket/`), problem completion, CORS (when
//! configured), timeout, panic catching, then the route with its body cap and, for
//! registration, login and refresh, its per-IP rate limit; the per-user limits are charged
//! with the bearer-token check (`rate_limit.rs`).

// Tests may unwrap and expect; the service code may not (workspace lints).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router, middleware};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_scalar::{Scalar, Servable};

pub use rentory_runtime::CancellationToken;

mod auth;
mod client_ip;
mod config;
mod extract;
mod grpc;
mod http_trace;
mod model;
mod openapi;
pub mod problem;
mod rate_limit;
mod redis_outage;
pub mod request_id;
mod routes;
mod socket;
mod state;
mod upload;

pub use config::{Config, KYC_BUCKET_NAME, LocalFiles, LocalPhotos, PHOTOS_BUCKET_NAME};
pub use rate_limit::{Limit, RateLimits};
pub use redis_outage::DEFAULT_GRACE as DEFAULT_REDIS_OUTAGE_GRACE;
pub use socket::{NAMESPACE as CHAT_NAMESPACE, SocketSettings};
pub use state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] rentory_runtime::config::ConfigError),
    #[error("RENTORY_JWT_PUBLIC_KEY is not a valid Ed25519 public key in PEM")]
    PublicKey(#[source] rentory_auth::KeyError),
    #[error("REDIS_URL is not a usable Redis URL")]
    Redis(#[source] deadpool_redis::CreatePoolError),
    #[error(transparent)]
    Grpc(#[from] rentory_runtime::grpc::ServeError),
    #[error("cannot open the KYC bucket of RENTORY_KYC_BUCKET_URL")]
    Storage(#[source] rentory_storage::StorageError),
    #[error("cannot open the photo bucket of RENTORY_PHOTOS_BUCKET_URL")]
    PhotoStorage(#[source] rentory_storage::StorageError),
    #[error("NATS_URL is not a usable NATS URL")]
    Nats(#[source] async_nats::ConnectError),
    #[error("the HTTP server failed")]
    Serve(#[source] std::io::Error),
}

/// Serves the gateway on `listener` until `shutdown` is cancelled, then lets in-flight
/// requests finish.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let (app, io) = app(AppState::from_config(&config).await?);
    let addr = listener.local_addr().ok();
    tracing::info!(?addr, "gateway listening");
    // Open sockets (and long-polling requests) would hold the graceful shutdown up: they are
    // told to go first; clients reconnect to another instance and catch up.
    let closing = shutdown.clone();
    tokio::spawn(async move {
        closing.cancelled().await;
        io.close().await;
    });
    // Socket.IO writes small frames back to back (an ack, then the room's event): without
    // TCP_NODELAY the second waits for the client's delayed ACK, some 40 ms.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await
    .map_err(Error::Serve)?;
    tracing::info!(?addr, "gateway drained and stopped");
    Ok(())
}

/// The whole application: routes, `/openapi.json`, `/docs`, the Socket.IO endpoint and the
/// middleware stack.
pub fn router(state: AppState) -> Router {
    app(state).0
}

fn app(state: AppState) -> (Router, socketioxide::SocketIo) {
    let (socket_layer, io) = socket::layer(&state);
    let (api, openapi) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(routes::api(&state))
        .split_for_parts();
    let document = Arc::new(openapi.clone());
    let app = api
        .route(
            "/openapi.json",
            get(move || {
                let document = document.clone();
                async move { Json(document.as_ref().clone()) }
            }),
        )
        .merge(Scalar::with_url("/docs", openapi))
        .fallback(problem::route_not_found)
        .with_state(state.clone());
    let app = app.layer(
        ServiceBuilder::new()
            .layer(SetSensitiveRequestHeadersLayer::new([
                header::AUTHORIZATION,
                header::PROXY_AUTHORIZATION,
                header::COOKIE,
            ]))
            .layer(middleware::from_fn(request_id::assign))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(http_trace::make_span)
                    .on_response(http_trace::LogResponse)
                    .on_failure(()),
            )
            .layer(http_trace::record_duration())
            .layer(socket_layer)
            .layer(middleware::from_fn(problem::finish))
            .option_layer(cors(&state.cors_origins))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::GATEWAY_TIMEOUT,
                state.request_timeout,
            ))
            .layer(CatchPanicLayer::new())
            // Each route group sets its own cap with RequestBodyLimitLayer.
            .layer(DefaultBodyLimit::disable()),
    );
    (app, io)
}

/// Off unless origins are configured; `*` allows any origin (without credentials).
fn cors(origins: &[HeaderValue]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().cloned())
    };
    let request_id = HeaderName::from_static("x-request-id");
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                request_id.clone(),
            ])
            .expose_headers([request_id, header::RETRY_AFTER, header::WWW_AUTHENTICATE])
            .max_age(Duration::from_secs(600)),
    )
}
