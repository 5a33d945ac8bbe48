//! What handlers share: the token verifier, Redis, NATS, the gRPC clients and the limits.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use deadpool_redis::redis::{FromRedisValue, Pipeline};
use deadpool_redis::{PoolConfig, Runtime, Timeouts};
use rentory_auth::TokenVerifier;
use rentory_storage::Bucket;
use secrecy::ExposeSecret;

use crate::Error;
use crate::config::{Config, KYC_BUCKET_NAME, PHOTOS_BUCKET_NAME};
use crate::grpc::Clients;
use crate::rate_limit::RateLimits;
use crate::redis_outage::RedisOutage;
use crate::socket::SocketSettings;
use crate::upload::UploadLimits;

/// How long a Redis round trip may take before the gateway calls Redis unavailable.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one NATS connection attempt may take before the client tries again.
const NATS_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub verifier: TokenVerifier,
    pub redis: deadpool_redis::Pool,
    pub clients: Clients,
    /// Core NATS, for the chat rooms' live events between gateway instances.
    pub nats: async_nats::Client,
    /// This process among the gateway instances: `RoomEvent.origin` of the typing it
    /// publishes, so it can recognise its own.
    pub instance_id: Arc<str>,
    pub socket: SocketSettings,
    /// The local KYC bucket whose signed links `/files` serves, if any.
    pub files: Option<Bucket>,
    /// The local public photo bucket `/photos` serves, if any.
    pub photos: Option<Bucket>,
    pub trusted_proxy_hops: usize,
    pub rate_limits: RateLimits,
    /// Redis's health as this instance sees it, and the counts it keeps while Redis is down.
    pub redis_outage: RedisOutage,
    pub uploads: UploadLimits,
    pub max_json_bytes: usize,
    pub request_timeout: Duration,
    pub cors_origins: Vec<HeaderValue>,
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds everything from configuration without waiting for the network: Redis and the
    /// services are connected to lazily and NATS in the background, so start-up order does
    /// not matter.
    pub async fn from_config(config: &Config) -> Result<Self, Error> {
        let verifier = TokenVerifier::new(&config.jwt_public_key, &config.token_settings())
            .map_err(Error::PublicKey)?;
        let mut redis = deadpool_redis::Config::from_url(config.redis_url.expose_secret());
        redis.pool = Some(PoolConfig {
            timeouts: Timeouts {
                wait: Some(REDIS_TIMEOUT),
                create: Some(REDIS_TIMEOUT),
                recycle: Some(REDIS_TIMEOUT),
            },
            ..PoolConfig::default()
        });
        let redis = redis
            .create_pool(Some(Runtime::Tokio1))
            .map_err(Error::Redis)?;
        let clients = Clients::connect(config)?;
        let nats = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connection_timeout(NATS_CONNECT_TIMEOUT)
            .name("rentory-gateway")
            .connect(config.nats_url.as_str())
            .await
            .map_err(Error::Nats)?;
        let files = match &config.files {
            None => None,
            Some(files) => Some(
                Bucket::open(
                    KYC_BUCKET_NAME,
                    &files.bucket_url,
                    Some(files.links.clone()),
                )
                .map_err(Error::Storage)?,
            ),
        };
        let photos = match &config.photos {
            None => None,
            Some(photos) => Some(
                Bucket::open_public(
                    PHOTOS_BUCKET_NAME,
                    &photos.bucket_url,
                    photos.public_base.clone(),
                )
                .map_err(Error::PhotoStorage)?,
            ),
        };
        Ok(Self(Arc::new(Inner {
            verifier,
            redis,
            clients,
            nats,
            instance_id: Arc::from(format!("gateway-{}", uuid::Uuid::new_v4().simple())),
            socket: config.socket,
            files,
            photos,
            trusted_proxy_hops: config.trusted_proxy_hops,
            rate_limits: config.rate_limits.clone(),
            redis_outage: RedisOutage::new(config.redis_outage_grace),
            uploads: UploadLimits::new(config.max_upload_bytes),
            max_json_bytes: config.max_json_bytes,
            request_timeout: config.request_timeout,
            cors_origins: config.cors_origins.clone(),
        })))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("no Redis connection: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
    #[error("Redis command failed: {0}")]
    Command(#[from] deadpool_redis::redis::RedisError),
    #[error("Redis did not answer in time")]
    Timeout,
}

/// Sends `pipe` on a pooled connection (one round trip) and reads its replies, within
/// [`REDIS_TIMEOUT`].
pub async fn query<T: FromRedisValue>(
    pool: &deadpool_redis::Pool,
    pipe: &Pipeline,
) -> Result<T, RedisError> {
    let run = async {
        let mut conn = pool.get().await?;
        Ok::<T, RedisError>(pipe.query_async(&mut conn).await?)
    };
    tokio::time::timeout(REDIS_TIMEOUT, run)
        .await
        .map_err(|_| RedisError::Timeout)?
}
