//! The KYC service: identity verification requests (an ID image and a face scan), an
//! advisory AI face match, and the staff decision that activates a user.
//!
//! - [`verification`]: Submit, GetMine, Get, List, Approve, Reject (rules, SQL, handlers).
//! - [`upload`]: checking and storing the originals in the private bucket.
//! - [`face_match`]: the background audit, a durable consumer of our own `submitted` event.
//! - [`review_links`]: 60-second signed image links for reviewers, each minting recorded.
//! - [`audit`]: the append-only, hash-chained log of status changes.
//!
//! Owns the Postgres schema `kyc` (`migrations/kyc`). Publishes
//! `rentory.kyc.verification.{submitted,approved,rejected}` through its outbox.

pub mod audit;
mod config;
mod error;
pub mod face_match;
pub mod review_links;
pub mod upload;
pub mod verification;

use std::time::Duration;

use rentory_auth::TokenVerifier;
use rentory_events::{ConsumerConfig, Relay, StreamSettings, spawn_consumer};
use rentory_proto::kyc::v1::kyc_service_server::KycServiceServer;
use rentory_runtime::grpc::{self, MAX_MESSAGE_BYTES};
use rentory_runtime::{CancellationToken, db};
use rentory_storage::Bucket;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

pub use audit::verify_audit_chain;
pub use config::{
    BUCKET_NAME, Config, DEFAULT_FACE_MATCH_BACKOFF, DEFAULT_FACE_MATCH_MAX_ATTEMPTS,
    DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_PORT, DEFAULT_SIGNED_URL_TTL,
};
pub use error::Error;
pub use verification::KycApi;

/// The schema this service owns.
pub const SCHEMA: &str = "kyc";

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/kyc");

/// How long JetStream waits for a face-match delivery to be settled before redelivering
/// it: two image reads and one orchestrator call (at most `CALL_TIMEOUT`), with room to spare.
const FACE_MATCH_ACK_WAIT: Duration = Duration::from_secs(120);
/// Deliveries beyond `max_attempts` that JetStream still allows, so trouble in our own
/// database does not use up the attempts meant for the orchestrator.
const FACE_MATCH_SPARE_DELIVERIES: i64 = 5;

/// Connects, migrates, starts the outbox relay and the face-match consumer, and serves
/// gRPC (KycService and the standard health service) on `listener` until `shutdown`.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    config.validate()?;
    let verifier =
        TokenVerifier::new(&config.jwt_public_key, &config.token_settings).map_err(Error::Key)?;
    let bucket = Bucket::open(BUCKET_NAME, &config.bucket_url, config.local_links.clone())
        .map_err(Error::Bucket)?;
    let ai = match &config.ai_url {
        Some(url) => Some(face_match::client(grpc::channel(url, &config.peer_auth)?)),
        None => {
            tracing::warn!(
                "RENTORY_AI_URL is unset: face matches are recorded UNAVAILABLE for manual review"
            );
            None
        }
    };

    let pool = db::connect(
        &config.database_url,
        SCHEMA,
        config.database_max_connections,
    )
    .await?;
    db::migrate(&pool, SCHEMA, &MIGRATOR).await?;
    // Stops the background tasks however serving ends.
    let background = shutdown.child_token();
    // NATS is not a start-up dependency: the client reconnects in the background and
    // events wait in the outbox meanwhile.
    let js = rentory_events::connect(&config.nats_url, StreamSettings::default(), &background)
        .await
        .map_err(Error::Nats)?;
    let _stop_background = background.clone().drop_guard();
    let relay = Relay::new(pool.clone(), js.clone(), SCHEMA).spawn(background.clone());
    let consumer = spawn_consumer(
        pool.clone(),
        js,
        ConsumerConfig {
            max_deliver: i64::from(config.face_match_max_attempts) + FACE_MATCH_SPARE_DELIVERIES,
            ack_wait: FACE_MATCH_ACK_WAIT,
            ..ConsumerConfig::new(face_match::CONSUMER, [verification::subjects::SUBMITTED])
        },
        face_match::FaceMatchJob {
            pool: pool.clone(),
            bucket: bucket.clone(),
            ai,
            policy: face_match::RetryPolicy {
                max_attempts: config.face_match_max_attempts,
                first: config.face_match_backoff,
                cap: face_match::MAX_BACKOFF,
            },
            call_timeout: face_match::CALL_TIMEOUT,
        },
        background.clone(),
    )?;

    let api = KycApi::new(
        pool.clone(),
        verifier,
        bucket,
        config.signed_url_ttl,
        config.max_upload_bytes,
    );
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<KycServiceServer<KycApi>>().await;
    let router = grpc::server().add_service(health_service).add_service(
        KycServiceServer::new(api)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES),
    );
    let served = grpc::serve(router, listener, shutdown).await;

    background.cancel();
    let _ = tokio::join!(relay, consumer);
    pool.close().await;
    served.map_err(Error::from)
}
