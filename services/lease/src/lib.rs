//! The lease service (ARCHITECTURE.md, section 1; spec 2.4, 3.3, 4.3 and 5): leases drafted
//! by the AI legal architect, checked against the Lagos State Tenancy Law, signed by both
//! parties over the exact text they read, authorized by compliance, with a tamper-evident
//! audit trail and rent receipts.
//!
//! Rules, pure and unit-tested: [`lifecycle`] (the state machine and its one transition
//! table), [`access`] (who may do what), [`compliance`] (the Lagos checks), [`rent`] (the
//! payment schedule), [`receipt`] and [`certificate`] (the documents it issues).
//! I/O: [`db`] (leases and versions), [`audit`] (the per-lease hash chain),
//! [`rent_payments`] (the consumer of payments' events), [`peers`] (listings, identity, chat,
//! AI), and [`service`] (the gRPC handlers).
//!
//! Owns the Postgres schema `lease` (`migrations/lease`).

pub mod access;
pub mod audit;
pub mod certificate;
pub mod compliance;
mod config;
pub mod db;
mod error;
pub mod lifecycle;
pub mod markdown;
pub mod peers;
pub mod receipt;
pub mod rent;
pub mod rent_payments;
pub mod service;
pub mod view;

use rentory_auth::TokenVerifier;
use rentory_events::{ConsumerConfig, Relay, StreamSettings, spawn_consumer};
use rentory_proto::lease::v1::leases_server::LeasesServer;
use rentory_runtime::grpc;
use rentory_runtime::{CancellationToken, db as runtime_db};
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

pub use audit::{BrokenRow, Intact, VerifyError, verify_all};
pub use config::{
    Config, DEFAULT_AI_URL, DEFAULT_CHAT_URL, DEFAULT_DB_MAX_CONNECTIONS, DEFAULT_IDENTITY_URL,
    DEFAULT_LISTINGS_URL, DEFAULT_NATS_URL, DEFAULT_PORT,
};
pub use error::{Error, LEASE_NOT_FOUND};
pub use service::{LeaseApi, STATUS_CHANGED};

/// The schema this service owns.
pub const SCHEMA: &str = "lease";

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/lease");

/// Connects, migrates, starts the outbox relay and the rent consumer, and serves gRPC
/// (Leases and the standard health service) on `listener` until `shutdown`.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    config.validate()?;
    let verifier =
        TokenVerifier::new(&config.jwt_public_key, &config.token_settings).map_err(Error::Key)?;
    // Channels connect lazily: the peers may start after us.
    let peers = peers::Peers::new(
        grpc::channel(&config.listings_url, &config.peer_auth)?,
        grpc::channel(&config.identity_url, &config.peer_auth)?,
        grpc::channel(&config.chat_url, &config.peer_auth)?,
        grpc::channel(&config.ai_url, &config.peer_auth)?,
    );
    let pool = runtime_db::connect(
        &config.database_url,
        SCHEMA,
        config.database_max_connections,
    )
    .await?;
    runtime_db::migrate(&pool, SCHEMA, &MIGRATOR).await?;
    // Stops the background tasks however serving ends.
    let background = shutdown.child_token();
    let _stop_background = background.clone().drop_guard();
    // NATS is not a start-up dependency: events wait in the outbox.
    let js = rentory_events::connect(&config.nats_url, StreamSettings::default(), &background)
        .await
        .map_err(Error::Nats)?;
    let relay = Relay::new(pool.clone(), js.clone(), SCHEMA).spawn(background.clone());
    let rent = spawn_consumer(
        pool.clone(),
        js,
        ConsumerConfig::new(rent_payments::RENT_CONSUMER, [rent_payments::TRANSACTIONS]),
        rent_payments::RentPayments,
        background.clone(),
    )?;

    let api = LeaseApi::new(pool.clone(), verifier, peers);
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<LeasesServer<LeaseApi>>().await;
    let router = grpc::server()
        .add_service(health_service)
        .add_service(LeasesServer::new(api));
    let served = grpc::serve(router, listener, shutdown).await;

    background.cancel();
    let _ = tokio::join!(relay, rent);
    pool.close().await;
    served.map_err(Error::from)
}
