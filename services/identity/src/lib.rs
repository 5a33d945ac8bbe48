//! Identity: accounts, PIN/password login with lockout, sessions with rotating refresh
//! tokens, access tokens (the only holder of the signing key), profiles and staff.

mod accounts;
mod activation;
mod admin;
mod credentials;
mod error;
mod hashing;
mod login;
mod preferences;
mod profile_fields;
mod service;
mod sessions;

use std::sync::Arc;
use std::time::Duration;

use rentory_auth::{SigningKeyPair, TokenIssuer, TokenSettings, TokenVerifier};
use rentory_proto::identity::v1::identity_service_server::IdentityServiceServer;
use rentory_runtime::config::{self, ConfigError};
use rentory_runtime::{CancellationToken, db, grpc};
use secrecy::SecretString;
use tokio::net::TcpListener;

pub use admin::{AdminError, create_admin};
pub use login::{LockoutPolicy, SprayPolicy};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/identity");
pub const SCHEMA: &str = "identity";

pub struct Config {
    pub database_url: SecretString,
    pub redis_url: String,
    pub nats_url: String,
    /// Ed25519 PKCS#8 PEM; the public half is derived from it.
    pub jwt_private_key: SecretString,
    pub tokens: TokenSettings,
    pub refresh_ttl: Duration,
    /// Server-side secret mixed into every password and PIN hash.
    pub pepper: SecretString,
    pub hashing_concurrency: usize,
    pub lockout: LockoutPolicy,
    pub spray: SprayPolicy,
    pub db_max_connections: u32,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let secs = |name, default| config::parse_or(name, default).map(Duration::from_secs);
        Ok(Self {
            database_url: config::secret("DATABASE_URL")?,
            redis_url: config::or_default("REDIS_URL", "redis://127.0.0.1:6379"),
            nats_url: config::or_default("NATS_URL", "nats://127.0.0.1:4222"),
            jwt_private_key: config::secret("RENTORY_JWT_PRIVATE_KEY")?,
            tokens: token_settings_from_env()?,
            refresh_ttl: secs("RENTORY_REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
            pepper: config::secret("RENTORY_PEPPER")?,
            hashing_concurrency: config::parse_or(
                "RENTORY_HASHING_CONCURRENCY",
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )?,
            lockout: LockoutPolicy {
                max_failures: config::parse_or("RENTORY_LOGIN_MAX_FAILURES", 5)?,
                lock_for: secs("RENTORY_LOGIN_LOCKOUT_SECS", 15 * 60)?,
            },
            spray: SprayPolicy {
                max_accounts: config::parse_or("RENTORY_LOGIN_SPRAY_ACCOUNTS", 10)?,
                window: secs("RENTORY_LOGIN_SPRAY_WINDOW_SECS", 10 * 60)?,
            },
            db_max_connections: config::parse_or("RENTORY_DB_MAX_CONNECTIONS", 10)?,
        })
    }
}

/// `RENTORY_JWT_ISSUER`, `RENTORY_JWT_AUDIENCE`, `RENTORY_ACCESS_TOKEN_TTL_SECS`.
pub fn token_settings_from_env() -> Result<TokenSettings, ConfigError> {
    let defaults = TokenSettings::default();
    Ok(TokenSettings {
        issuer: config::or_default("RENTORY_JWT_ISSUER", &defaults.issuer),
        audience: config::or_default("RENTORY_JWT_AUDIENCE", &defaults.audience),
        access_ttl: Duration::from_secs(config::parse_or(
            "RENTORY_ACCESS_TOKEN_TTL_SECS",
            defaults.access_ttl.as_secs(),
        )?),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("invalid signing key")]
    Key(#[from] rentory_auth::KeyError),
    #[error("could not set up password hashing")]
    Hash(#[from] hashing::HashError),
    #[error("invalid REDIS_URL")]
    Redis(#[from] deadpool_redis::CreatePoolError),
    #[error("invalid NATS_URL")]
    Nats(#[from] async_nats::ConnectError),
    #[error("could not start the event consumer")]
    Events(#[from] rentory_events::EventError),
    #[error(transparent)]
    Grpc(#[from] grpc::ServeError),
}

/// Starts identity on `listener` and runs until `shutdown`, then drains.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let keys = SigningKeyPair::from_private_pem(config.jwt_private_key)?;
    let issuer = TokenIssuer::new(&keys.private_pem, config.tokens.clone())?;
    let verifier = TokenVerifier::new(&keys.public_pem, &config.tokens)?;
    let pool = db::connect(&config.database_url, SCHEMA, config.db_max_connections).await?;
    db::migrate(&pool, SCHEMA, &MIGRATOR).await?;
    let redis = deadpool_redis::Config::from_url(&config.redis_url)
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))?;
    let js = rentory_events::connect(
        &config.nats_url,
        rentory_events::StreamSettings::default(),
        &shutdown,
    )
    .await?;

    let relay =
        rentory_events::Relay::new(pool.clone(), js.clone(), SCHEMA).spawn(shutdown.clone());
    let consumer = rentory_events::spawn_consumer(
        pool.clone(),
        js.clone(),
        rentory_events::ConsumerConfig::new(activation::CONSUMER, [activation::APPROVED]),
        activation::KycApprovals,
        shutdown.clone(),
    )?;
    let personas = rentory_events::spawn_consumer(
        pool.clone(),
        js,
        rentory_events::ConsumerConfig::new(preferences::CONSUMER, [preferences::PERSONA_UPDATED]),
        preferences::PersonaUpdates,
        shutdown.clone(),
    )?;

    let identity = service::Identity {
        pool,
        redis,
        hasher: hashing::SecretHasher::new(config.pepper, config.hashing_concurrency)?,
        issuer: Arc::new(issuer),
        verifier,
        refresh_ttl: config.refresh_ttl,
        lockout: config.lockout,
        spray: config.spray,
    };
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<IdentityServiceServer<service::Identity>>()
        .await;
    let router = grpc::server()
        .add_service(health_service)
        .add_service(IdentityServiceServer::new(identity));
    let served = grpc::serve(router, listener, shutdown).await;
    let _ = tokio::join!(relay, consumer, personas);
    Ok(served?)
}
