//! The listings service (ARCHITECTURE.md, section 1): the property engine of spec 2.2.
//!
//! - [`property`]: listings, their rules ([`property::rules`]) and storage; every change
//!   and its `rentory.listings.property.*` event commit together (outbox).
//! - [`analysis`] + [`photos`]: `AnalyzePhotos` re-encodes the landlord's photos into the
//!   public bucket and asks the AI orchestrator for a draft, with nearby comparables.
//! - [`discover`]: nearest-first windows from PostGIS, ranked by [`discover::score`] against
//!   the caller's persona, paged by an opaque cursor.
//! - [`searches`]: saved searches and the `rentory.listings.search.matched` alerts.
//! - [`contact`]: who may read a landlord's contact; [`projections`] keeps the personas and
//!   contact unlocks other services announce.
//! - [`ratings`]: tenant reviews and the AI audit.
//!
//! Owns the Postgres schema `listings` (`migrations/listings`); needs PostGIS.

pub mod analysis;
mod config;
pub mod contact;
pub mod discover;
mod error;
pub mod photos;
pub mod projections;
pub mod property;
pub mod ratings;
pub mod searches;
pub mod seed;
pub mod service;

use rentory_auth::TokenVerifier;
use rentory_events::{ConsumerConfig, Relay, StreamSettings, spawn_consumer};
use rentory_proto::ai::v1::ai_orchestrator_client::AiOrchestratorClient;
use rentory_proto::identity::v1::identity_service_client::IdentityServiceClient;
use rentory_proto::listings::v1::listings_server::ListingsServer;
use rentory_runtime::grpc::{self, MAX_MESSAGE_BYTES};
use rentory_runtime::{CancellationToken, db};
use rentory_storage::Bucket;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

pub use config::{
    Config, DEFAULT_CONTACT_UNLOCK_KOBO, DEFAULT_DISCOVER_WINDOW, DEFAULT_PORT, PHOTOS_BUCKET_NAME,
    public_base,
};
pub use error::Error;
pub use service::ListingsApi;

/// The schema this service owns.
pub const SCHEMA: &str = "listings";

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/listings");

/// Connects, migrates, starts the outbox relay and the four consumers (personas, contact
/// unlocks and their refunds, saved-search alerts), and serves gRPC (Listings and the standard health
/// service) on `listener` until `shutdown`.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    config.validate()?;
    let verifier =
        TokenVerifier::new(&config.jwt_public_key, &config.token_settings).map_err(Error::Key)?;
    let photos = Bucket::open_public(
        PHOTOS_BUCKET_NAME,
        &config.photos_bucket_url,
        config.photos_public_url.clone(),
    )?;
    // Channels connect lazily: identity and the AI orchestrator may start after us.
    let identity =
        IdentityServiceClient::new(grpc::channel(&config.identity_url, &config.peer_auth)?);
    let ai = AiOrchestratorClient::new(grpc::channel(&config.ai_url, &config.peer_auth)?)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
        .max_decoding_message_size(MAX_MESSAGE_BYTES);

    let pool = db::connect_postgis(
        &config.database_url,
        SCHEMA,
        config.database_max_connections,
    )
    .await?;
    db::migrate(&pool, SCHEMA, &MIGRATOR).await?;
    // Stops the background tasks however serving ends.
    let background = shutdown.child_token();
    let _stop_background = background.clone().drop_guard();
    // NATS is not a start-up dependency: events wait in the outbox meanwhile.
    let js = rentory_events::connect(&config.nats_url, StreamSettings::default(), &background)
        .await
        .map_err(Error::Nats)?;
    let relay = Relay::new(pool.clone(), js.clone(), SCHEMA).spawn(background.clone());
    let personas = spawn_consumer(
        pool.clone(),
        js.clone(),
        ConsumerConfig::new(
            projections::PERSONA_CONSUMER,
            [projections::PERSONA_UPDATED],
        ),
        projections::PersonaUpdates,
        background.clone(),
    )?;
    let unlocks = spawn_consumer(
        pool.clone(),
        js.clone(),
        ConsumerConfig::new(
            projections::UNLOCK_CONSUMER,
            [projections::TRANSACTION_SUCCEEDED],
        ),
        projections::PaymentSuccesses,
        background.clone(),
    )?;
    let refunds = spawn_consumer(
        pool.clone(),
        js.clone(),
        ConsumerConfig::new(
            projections::REFUND_CONSUMER,
            [projections::TRANSACTION_REFUNDED],
        ),
        projections::PaymentRefunds,
        background.clone(),
    )?;
    let alerts = spawn_consumer(
        pool.clone(),
        js,
        ConsumerConfig::new(searches::ALERT_CONSUMER, [searches::PUBLISHED]),
        searches::SearchAlerts,
        background.clone(),
    )?;

    let api = ListingsApi::new(
        pool.clone(),
        verifier,
        photos,
        identity,
        ai,
        service::Limits {
            max_photo_bytes: config.max_photo_bytes,
            discover_window: config.discover_window,
            contact_unlock_kobo: config.contact_unlock_kobo,
        },
    );
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<ListingsServer<ListingsApi>>().await;
    let router = grpc::server().add_service(health_service).add_service(
        ListingsServer::new(api)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES),
    );
    let served = grpc::serve(router, listener, shutdown).await;

    background.cancel();
    let _ = tokio::join!(relay, personas, unlocks, refunds, alerts);
    pool.close().await;
    served.map_err(Error::from)
}
