//! Liveness and readiness for the platform (Cloud Run probes, load balancers).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use deadpool_redis::redis;
use rentory_proto::ai::v1::ai_orchestrator_server::SERVICE_NAME as AI_SERVICE;
use rentory_proto::chat::v1::chat_server::SERVICE_NAME as CHAT_SERVICE;
use rentory_proto::identity::v1::identity_service_server::SERVICE_NAME as IDENTITY_SERVICE;
use rentory_proto::kyc::v1::kyc_service_server::SERVICE_NAME as KYC_SERVICE;
use rentory_proto::lease::v1::leases_server::SERVICE_NAME as LEASE_SERVICE;
use rentory_proto::listings::v1::listings_server::SERVICE_NAME as LISTINGS_SERVICE;
use rentory_proto::payments::v1::payments_server::SERVICE_NAME as PAYMENTS_SERVICE;
use rentory_runtime::grpc::PeerChannel;
use serde::Serialize;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use utoipa::ToSchema;

use crate::problem::{Problem, ProblemDocument, ProblemType};
use crate::state::AppState;

/// How long one dependency may take to answer a readiness check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Each dependency's state: `up` or `down`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Checks {
    pub redis: &'static str,
    pub identity: &'static str,
    pub kyc: &'static str,
    pub ai: &'static str,
    pub listings: &'static str,
    pub payments: &'static str,
    pub chat: &'static str,
    pub lease: &'static str,
    /// Live chat fan-out between gateway instances. Reported, not required: without it
    /// REST and sockets still work, live events wait until NATS is back (clients catch up
    /// with `join {last_message_id}`), and every instance would be equally affected.
    pub nats: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    #[schema(example = "ready")]
    pub status: &'static str,
    pub checks: Checks,
}

/// Ready when identity, KYC, the AI orchestrator, listings, payments, chat and lease report
/// SERVING on the gRPC health service; otherwise 503 naming what is down. Redis (PING) and
/// NATS are reported in `checks` without deciding readiness: without Redis the gateway
/// serves in its degraded mode (README, "Degraded modes"), and an instance taken out of
/// rotation for it would only move its load onto instances in the same state.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    responses(
        (status = 200, body = Ready),
        (status = 503, description = "A dependency is down; `checks` says which", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let (redis, identity, kyc, ai, listings, payments, chat, lease) = tokio::join!(
        redis_up(&state.redis),
        serving(state.clients.identity_health.clone(), IDENTITY_SERVICE),
        serving(state.clients.kyc_health.clone(), KYC_SERVICE),
        serving(state.clients.ai_health.clone(), AI_SERVICE),
        serving(state.clients.listings_health.clone(), LISTINGS_SERVICE),
        serving(state.clients.payments_health.clone(), PAYMENTS_SERVICE),
        serving(state.clients.chat_health.clone(), CHAT_SERVICE),
        serving(state.clients.lease_health.clone(), LEASE_SERVICE),
    );
    let nats = state.nats.connection_state() == async_nats::connection::State::Connected;
    let word = |up: bool| if up { "up" } else { "down" };
    let checks = Checks {
        redis: word(redis),
        identity: word(identity),
        kyc: word(kyc),
        ai: word(ai),
        listings: word(listings),
        payments: word(payments),
        chat: word(chat),
        lease: word(lease),
        nats: word(nats),
    };
    if identity && kyc && ai && listings && payments && chat && lease {
        return Json(Ready {
            status: "ready",
            checks,
        })
        .into_response();
    }
    let down: Vec<&str> = [
        ("identity", identity),
        ("kyc", kyc),
        ("ai", ai),
        ("listings", listings),
        ("payments", payments),
        ("chat", chat),
        ("lease", lease),
    ]
    .into_iter()
    .filter(|(_, up)| !up)
    .map(|(name, _)| name)
    .collect();
    tracing::warn!(?down, "not ready");
    Problem::new(
        ProblemType::NotReady,
        format!("unavailable: {}", down.join(", ")),
    )
    .with_extension("checks", serde_json::to_value(&checks).unwrap_or_default())
    .into_response()
}

async fn redis_up(pool: &deadpool_redis::Pool) -> bool {
    let ping = async {
        let mut conn = pool.get().await.ok()?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .ok()
    };
    matches!(
        tokio::time::timeout(CHECK_TIMEOUT, ping).await,
        Ok(Some(pong)) if pong == "PONG"
    )
}

/// The service's own health entry, or the server's ("") when it registered none.
async fn serving(mut client: HealthClient<PeerChannel>, service: &str) -> bool {
    let check = async {
        let named = client
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await;
        let response = match named {
            Err(status) if status.code() == tonic::Code::NotFound => {
                client
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
            }
            other => other,
        };
        response.is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32)
    };
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or(false)
}
