//! The AI orchestrator (ARCHITECTURE.md, section 1): every AI feature of the spec
//! (section 3) behind one gRPC service, so cost, failure modes and prompt safety are
//! handled in one place.
//!
//! - [`provider`]: Gemini ([`gemini`], through crate `rentory-gemini`) when
//!   `GEMINI_API_KEY` is set, else the [`offline`] provider; both answer the four tasks of
//!   [`task`] and name the model that answered.
//! - [`service`]: the gRPC handlers (ConciergeTurn, GetPersona, AnalyzePhotos, DraftLease,
//!   FaceMatch): caller and field checks, contact details removed ([`untrusted`]).
//! - [`concierge`]: personas and conversations; `rentory.ai.persona.updated` via the outbox.
//! - [`budget`]: the per-user daily allowance (Redis); [`photo_cache`]: identical photo
//!   analyses served from Redis; [`call_log`]: every model request in `ai.calls`.
//!
//! Owns the Postgres schema `ai` (`migrations/ai`).

pub mod budget;
pub mod call_log;
pub mod concierge;
mod config;
mod error;
pub mod gemini;
pub mod offline;
pub mod photo_cache;
pub mod provider;
pub mod service;
pub mod task;
pub mod untrusted;

use rentory_auth::TokenVerifier;
use rentory_events::{Relay, StreamSettings};
use rentory_proto::ai::v1::ai_orchestrator_server::AiOrchestratorServer;
use rentory_runtime::grpc::{self, MAX_MESSAGE_BYTES};
use rentory_runtime::{CancellationToken, db};
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

pub use config::{
    Config, DEFAULT_DAILY_CALLS, DEFAULT_FAST_MODELS, DEFAULT_LEGAL_MODELS, DEFAULT_PORT,
    GeminiConfig, model_chain,
};
pub use error::Error;
pub use service::AiApi;

/// The schema this service owns.
pub const SCHEMA: &str = "ai";

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/ai");

/// Connects, migrates, starts the outbox relay, and serves gRPC (AiOrchestrator and the
/// standard health service) on `listener` until `shutdown`.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    config.validate()?;
    let verifier =
        TokenVerifier::new(&config.jwt_public_key, &config.token_settings).map_err(Error::Key)?;
    let provider = match &config.gemini {
        Some(gemini) => {
            let gemini = gemini::GeminiProvider::new(gemini).map_err(Error::Gemini)?;
            // In the background: a slow models list must not delay readiness.
            let check = gemini.clone();
            tokio::spawn(async move { check.check_models().await });
            provider::Provider::Gemini(gemini)
        }
        None => {
            tracing::warn!(
                "GEMINI_API_KEY is unset: the offline provider answers every AI task (model \"offline\")"
            );
            provider::Provider::Offline
        }
    };
    let redis = deadpool_redis::Config::from_url(&config.redis_url)
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))?;
    let pool = db::connect(
        &config.database_url,
        SCHEMA,
        config.database_max_connections,
    )
    .await?;
    db::migrate(&pool, SCHEMA, &MIGRATOR).await?;

    let background = shutdown.child_token();
    let _stop_background = background.clone().drop_guard();
    // NATS is not a start-up dependency: persona events wait in the outbox meanwhile.
    let js = rentory_events::connect(&config.nats_url, StreamSettings::default(), &background)
        .await
        .map_err(Error::Nats)?;
    let relay = Relay::new(pool.clone(), js, SCHEMA).spawn(background.clone());

    let api = AiApi::new(
        pool.clone(),
        verifier,
        provider,
        budget::DailyBudget::new(
            redis.clone(),
            &config.redis_prefix,
            config.daily_calls_per_user,
        ),
        photo_cache::PhotoCache::new(redis, &config.redis_prefix, config.photo_cache_ttl),
    );
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<AiOrchestratorServer<AiApi>>().await;
    let router = grpc::server().add_service(health_service).add_service(
        AiOrchestratorServer::new(api)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES),
    );
    let served = grpc::serve(router, listener, shutdown).await;

    background.cancel();
    let _ = relay.await;
    pool.close().await;
    served.map_err(Error::from)
}
