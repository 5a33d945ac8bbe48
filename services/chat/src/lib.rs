//! The chat service (ARCHITECTURE.md, section 1; spec 2.4 and 6): tenant-landlord
//! conversations about a property.
//!
//! - [`session`]: one session per tenant and property, with the landlord and an optional
//!   guide; [`access`] is the one rule of who may read, post, mark read and assign.
//! - [`message`]: what may be sent and how it is stored. A send is one SQL statement: the
//!   message, the session's `last_updated` and the `rentory.chat.message.sent` event (outbox)
//!   commit together; then [`room`] publishes it on core NATS `chat.session.<id>` for the
//!   gateways' sockets.
//! - [`unlock_guard`]: contact details in the tenant's and landlord's messages are masked
//!   until the tenant has paid the contact unlock, which [`unlocks`] learns from payments'
//!   events.
//!
//! Owns the Postgres schema `chat` (`migrations/chat`).

pub mod access;
mod config;
mod error;
pub mod message;
pub mod peers;
pub mod room;
pub mod service;
pub mod session;
pub mod unlock_guard;
pub mod unlocks;

use std::sync::Arc;

use rentory_auth::TokenVerifier;
use rentory_events::{ConsumerConfig, Relay, StreamSettings, spawn_consumer};
use rentory_proto::chat::v1::chat_server::ChatServer;
use rentory_runtime::grpc;
use rentory_runtime::{CancellationToken, db};
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

pub use config::{
    Config, DEFAULT_DB_MAX_CONNECTIONS, DEFAULT_IDENTITY_URL, DEFAULT_LISTINGS_URL,
    DEFAULT_NATS_URL, DEFAULT_PORT, DEFAULT_SESSION_CACHE,
};
pub use error::{Error, SESSION_NOT_FOUND};
pub use room::room_subject;
pub use service::ChatApi;
pub use unlock_guard::mask_contacts;

/// The schema this service owns.
pub const SCHEMA: &str = "chat";

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/chat");

/// Connects, migrates, starts the outbox relay and the contact-unlock consumer, and serves
/// gRPC (Chat and the standard health service) on `listener` until `shutdown`.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    config.validate()?;
    let verifier =
        TokenVerifier::new(&config.jwt_public_key, &config.token_settings).map_err(Error::Key)?;
    // Channels connect lazily: listings and identity may start after us.
    let peers = peers::Peers::new(
        grpc::channel(&config.listings_url, &config.peer_auth)?,
        grpc::channel(&config.identity_url, &config.peer_auth)?,
    );
    let pool = db::connect(
        &config.database_url,
        SCHEMA,
        config.database_max_connections,
    )
    .await?;
    db::migrate(&pool, SCHEMA, &MIGRATOR).await?;
    // Stops the background tasks however serving ends.
    let background = shutdown.child_token();
    let _stop_background = background.clone().drop_guard();
    // NATS is not a start-up dependency: events wait in the outbox, live delivery pauses.
    let js = rentory_events::connect(&config.nats_url, StreamSettings::default(), &background)
        .await
        .map_err(Error::Nats)?;
    let room = room::Room::new(js.client());
    let relay = Relay::new(pool.clone(), js.clone(), SCHEMA);
    // Sends wake the relay in-process instead of by NOTIFY (see `message::db::store`).
    let wake_relay = relay.waker();
    let relay = relay.spawn(background.clone());
    let unlocks = spawn_consumer(
        pool.clone(),
        js,
        ConsumerConfig::new(unlocks::UNLOCK_CONSUMER, [unlocks::TRANSACTIONS]),
        unlocks::ContactUnlocks,
        background.clone(),
    )?;

    let api = ChatApi::new(
        pool.clone(),
        verifier,
        peers,
        room,
        Arc::new(session::facts::FactsCache::new(config.session_cache)),
        wake_relay,
    );
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<ChatServer<ChatApi>>().await;
    let router = grpc::server()
        .add_service(health_service)
        .add_service(ChatServer::new(api));
    let served = grpc::serve(router, listener, shutdown).await;

    background.cancel();
    let _ = tokio::join!(relay, unlocks);
    pool.close().await;
    served.map_err(Error::from)
}
