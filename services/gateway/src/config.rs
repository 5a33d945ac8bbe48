//! The gateway's settings, read once from the environment at start-up.

use std::time::Duration;

use axum::http::HeaderValue;
use rentory_auth::TokenSettings;
use rentory_runtime::config::{self, ConfigError};
use rentory_runtime::grpc::PeerAuth;
use rentory_storage::LocalLinks;
use secrecy::SecretString;

use crate::rate_limit::RateLimits;
use crate::socket::SocketSettings;

pub const DEFAULT_PORT: u16 = 8080;
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
pub const DEFAULT_IDENTITY_URL: &str = "http://127.0.0.1:50051";
pub const DEFAULT_KYC_URL: &str = "http://127.0.0.1:50052";
pub const DEFAULT_AI_URL: &str = "http://127.0.0.1:50053";
pub const DEFAULT_LISTINGS_URL: &str = "http://127.0.0.1:50054";
pub const DEFAULT_PAYMENTS_URL: &str = "http://127.0.0.1:50057";
pub const DEFAULT_CHAT_URL: &str = "http://127.0.0.1:50055";
pub const DEFAULT_LEASE_URL: &str = "http://127.0.0.1:50056";
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";
/// The gateway's own address when `RENTORY_PUBLIC_URL` is unset, as the services assume.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
pub const DEFAULT_MAX_JSON_BYTES: usize = 64 * 1024;
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The bucket name KYC images live under; the KYC service signs links with the same name.
pub const KYC_BUCKET_NAME: &str = "kyc";
/// The public bucket of listing photos; the listings service writes it under the same name.
pub const PHOTOS_BUCKET_NAME: &str = "photos";
/// The listings service's local photo directory, relative to the working directory: the
/// gateway must read the directory the service writes.
pub const DEFAULT_PHOTOS_DIR: &str = ".local/photos";

/// Everything the gateway needs. Tests and the in-process stack build it with
/// [`Config::new`] or by hand; `main` uses [`Config::from_env`].
///
/// | variable | default |
/// |---|---|
/// | `PORT` | 8080 |
/// | `REDIS_URL` | `redis://127.0.0.1:6379` |
/// | `RENTORY_IDENTITY_URL` | `http://127.0.0.1:50051` |
/// | `RENTORY_KYC_URL` | `http://127.0.0.1:50052` |
/// | `RENTORY_AI_URL` | `http://127.0.0.1:50053` |
/// | `RENTORY_LISTINGS_URL` | `http://127.0.0.1:50054` |
/// | `RENTORY_PAYMENTS_URL` | `http://127.0.0.1:50057` |
/// | `RENTORY_CHAT_URL` | `http://127.0.0.1:50055` |
/// | `RENTORY_LEASE_URL` | `http://127.0.0.1:50056` |
/// | `RENTORY_PEER_AUTH` | `none`; `google` on Cloud Run: calls to other services carry an ID token from the metadata server (`GCE_METADATA_HOST` overrides its host) |
/// | `NATS_URL` | `nats://127.0.0.1:4222`: live chat fan-out between gateway instances (core NATS `chat.session.<id>`); connected in the background, never needed to start |
/// | `RENTORY_JWT_PUBLIC_KEY` | required (Ed25519 SPKI PEM) |
/// | `RENTORY_JWT_ISSUER`, `RENTORY_JWT_AUDIENCE` | `rentory-identity`, `rentory` |
/// | `RENTORY_TRUSTED_PROXY_HOPS` | 0 |
/// | `RENTORY_RATE_LIMIT_{REGISTER,AUTH,UPLOADS,API}`, `RENTORY_RATE_LIMIT_PREFIX` | see `rate_limit.rs` |
/// | `RENTORY_MAX_UPLOAD_BYTES` | 5 MiB per file (ten of them must fit in one gRPC message) |
/// | `RENTORY_MAX_JSON_BYTES` | 64 KiB |
/// | `RENTORY_REQUEST_TIMEOUT_SECS` | 30 |
/// | `RENTORY_CORS_ORIGINS` | empty (CORS off) |
/// | `RENTORY_REDIS_OUTAGE_GRACE_SECS` | 900: while Redis is down, how long revocation checks of ordinary routes and sockets fail open |
/// | `RENTORY_SOCKET_EVENTS_PER_SEC`, `RENTORY_SOCKET_EVENT_BURST` | 20, 40: each socket's event budget (token bucket) |
/// | `RENTORY_SOCKET_MAX_PAYLOAD_BYTES` | 16 KiB: larger Socket.IO frames close the connection |
/// | `RENTORY_SOCKET_SESSION_CHECK_SECS` | 15: how often an open socket's login session is checked for revocation |
/// | `RENTORY_KYC_BUCKET_URL`, `RENTORY_FILE_URL_SECRET` | unset; for a `file://` KYC bucket, whose signed links `/files/kyc/...` serves |
/// | `RENTORY_PHOTOS_BUCKET_URL` | `file://<working dir>/.local/photos`; a `file://` bucket is served at `/photos/...`, any other is not |
/// | `RENTORY_PUBLIC_URL` | `http://127.0.0.1:8080` for photos; required with a `file://` KYC bucket |
#[derive(Debug, Clone)]
pub struct Config {
    /// `PORT`, 8080.
    pub port: u16,
    /// `REDIS_URL`: the token revocation list and the rate-limit counters.
    pub redis_url: SecretString,
    /// `RENTORY_IDENTITY_URL`.
    pub identity_url: String,
    /// `RENTORY_KYC_URL`.
    pub kyc_url: String,
    /// `RENTORY_AI_URL`: the AI orchestrator.
    pub ai_url: String,
    /// `RENTORY_LISTINGS_URL`: the listings service.
    pub listings_url: String,
    /// `RENTORY_PAYMENTS_URL`: the payments service (also Paystack's webhooks).
    pub payments_url: String,
    /// `RENTORY_CHAT_URL`: the chat service.
    pub chat_url: String,
    /// `RENTORY_LEASE_URL`: the lease service.
    pub lease_url: String,
    /// `RENTORY_PEER_AUTH`: whether calls to other services carry an ID token.
    pub peer_auth: PeerAuth,
    /// `NATS_URL`: where chat room events travel between gateway instances.
    pub nats_url: String,
    /// `RENTORY_SOCKET_*`: the Socket.IO endpoint's limits.
    pub socket: SocketSettings,
    /// `RENTORY_JWT_PUBLIC_KEY` (required): Ed25519 SPKI PEM.
    pub jwt_public_key: String,
    /// `RENTORY_JWT_ISSUER` / `RENTORY_JWT_AUDIENCE`, defaults from `TokenSettings`.
    pub jwt_issuer: String,
    pub jwt_audience: String,
    /// `RENTORY_TRUSTED_PROXY_HOPS`, 0: how many proxies append to `X-Forwarded-For`.
    pub trusted_proxy_hops: usize,
    /// `RENTORY_RATE_LIMIT_{REGISTER,AUTH,UPLOADS,API}` and `RENTORY_RATE_LIMIT_PREFIX`.
    pub rate_limits: RateLimits,
    /// `RENTORY_MAX_UPLOAD_BYTES`, 5 MiB: the cap on each uploaded file.
    pub max_upload_bytes: usize,
    /// `RENTORY_MAX_JSON_BYTES`, 64 KiB: the cap on JSON request bodies.
    pub max_json_bytes: usize,
    /// Local KYC bucket served at `/files/kyc/...`: set when `RENTORY_KYC_BUCKET_URL` is a
    /// `file://` URL (with `RENTORY_PUBLIC_URL` and `RENTORY_FILE_URL_SECRET`).
    pub files: Option<LocalFiles>,
    /// Local public photo bucket served at `/photos/...`: set when
    /// `RENTORY_PHOTOS_BUCKET_URL` (default `file://<working dir>/.local/photos`) is a
    /// `file://` URL.
    pub photos: Option<LocalPhotos>,
    /// `RENTORY_CORS_ORIGINS`: comma-separated origins, or `*`; empty means CORS off.
    pub cors_origins: Vec<HeaderValue>,
    /// `RENTORY_REQUEST_TIMEOUT_SECS`, 30.
    pub request_timeout: Duration,
    /// `RENTORY_REDIS_OUTAGE_GRACE_SECS`, 900: how long into a Redis outage revocation checks
    /// of ordinary routes and sockets fail open (see `redis_outage.rs`).
    pub redis_outage_grace: Duration,
}

/// A local bucket whose signed links the gateway serves.
#[derive(Debug, Clone)]
pub struct LocalFiles {
    pub bucket_url: String,
    pub links: LocalLinks,
}

/// The local public bucket of listing photos, served to anyone without a signature: its
/// objects are re-encoded listing photos under content-hash keys.
#[derive(Debug, Clone)]
pub struct LocalPhotos {
    /// A `file://` URL.
    pub bucket_url: String,
    /// `{RENTORY_PUBLIC_URL}/photos/`: where clients fetch them, ending in `/`.
    pub public_base: url::Url,
}

impl LocalPhotos {
    /// The bucket at `bucket_url`, served at `{public_url}/photos/`.
    pub fn new(bucket_url: impl Into<String>, public_url: &str) -> Result<Self, ConfigError> {
        let base = format!("{}/photos/", public_url.trim_end_matches('/'));
        let public_base = url::Url::parse(&base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| ConfigError::Invalid {
                name: rentory_storage::PUBLIC_URL_VAR,
                reason: "must be an absolute http(s) URL".into(),
            })?;
        Ok(Self {
            bucket_url: bucket_url.into(),
            public_base,
        })
    }
}

impl Config {
    /// Defaults for everything but the token public key (tests, local stacks).
    pub fn new(jwt_public_key: impl Into<String>) -> Self {
        let tokens = TokenSettings::default();
        Self {
            port: DEFAULT_PORT,
            redis_url: SecretString::from(DEFAULT_REDIS_URL),
            identity_url: DEFAULT_IDENTITY_URL.to_owned(),
            kyc_url: DEFAULT_KYC_URL.to_owned(),
            ai_url: DEFAULT_AI_URL.to_owned(),
            listings_url: DEFAULT_LISTINGS_URL.to_owned(),
            payments_url: DEFAULT_PAYMENTS_URL.to_owned(),
            chat_url: DEFAULT_CHAT_URL.to_owned(),
            lease_url: DEFAULT_LEASE_URL.to_owned(),
            peer_auth: PeerAuth::None,
            nats_url: DEFAULT_NATS_URL.to_owned(),
            socket: SocketSettings::default(),
            jwt_public_key: jwt_public_key.into(),
            jwt_issuer: tokens.issuer,
            jwt_audience: tokens.audience,
            trusted_proxy_hops: 0,
            rate_limits: RateLimits::default(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            max_json_bytes: DEFAULT_MAX_JSON_BYTES,
            files: None,
            // No directory is guessed here: tests and stacks name the one the listings
            // service writes.
            photos: None,
            cors_origins: Vec::new(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            redis_outage_grace: crate::redis_outage::DEFAULT_GRACE,
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let tokens = TokenSettings::default();
        let max_upload_bytes =
            config::parse_or("RENTORY_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)?;
        let max_json_bytes = config::parse_or("RENTORY_MAX_JSON_BYTES", DEFAULT_MAX_JSON_BYTES)?;
        positive("RENTORY_MAX_UPLOAD_BYTES", max_upload_bytes)?;
        positive("RENTORY_MAX_JSON_BYTES", max_json_bytes)?;
        fits_in_a_message(max_upload_bytes)?;
        let timeout_secs: u64 = config::parse_or(
            "RENTORY_REQUEST_TIMEOUT_SECS",
            DEFAULT_REQUEST_TIMEOUT.as_secs(),
        )?;
        positive("RENTORY_REQUEST_TIMEOUT_SECS", timeout_secs as usize)?;
        Ok(Self {
            port: config::port(DEFAULT_PORT)?,
            redis_url: SecretString::from(config::or_default("REDIS_URL", DEFAULT_REDIS_URL)),
            identity_url: config::or_default("RENTORY_IDENTITY_URL", DEFAULT_IDENTITY_URL),
            kyc_url: config::or_default("RENTORY_KYC_URL", DEFAULT_KYC_URL),
            ai_url: config::or_default("RENTORY_AI_URL", DEFAULT_AI_URL),
            listings_url: config::or_default("RENTORY_LISTINGS_URL", DEFAULT_LISTINGS_URL),
            payments_url: config::or_default("RENTORY_PAYMENTS_URL", DEFAULT_PAYMENTS_URL),
            chat_url: config::or_default("RENTORY_CHAT_URL", DEFAULT_CHAT_URL),
            lease_url: config::or_default("RENTORY_LEASE_URL", DEFAULT_LEASE_URL),
            peer_auth: PeerAuth::from_env()?,
            nats_url: config::or_default("NATS_URL", DEFAULT_NATS_URL),
            socket: SocketSettings::from_env()?,
            jwt_public_key: config::required("RENTORY_JWT_PUBLIC_KEY")?,
            jwt_issuer: config::or_default("RENTORY_JWT_ISSUER", &tokens.issuer),
            jwt_audience: config::or_default("RENTORY_JWT_AUDIENCE", &tokens.audience),
            trusted_proxy_hops: config::parse_or("RENTORY_TRUSTED_PROXY_HOPS", 0)?,
            rate_limits: RateLimits::from_env()?,
            max_upload_bytes,
            max_json_bytes,
            files: local_files(
                config::optional("RENTORY_KYC_BUCKET_URL"),
                config::optional(rentory_storage::PUBLIC_URL_VAR),
                config::optional(rentory_storage::FILE_URL_SECRET_VAR).map(SecretString::from),
            )?,
            photos: local_photos(
                config::optional("RENTORY_PHOTOS_BUCKET_URL"),
                &config::or_default(rentory_storage::PUBLIC_URL_VAR, DEFAULT_PUBLIC_URL),
            )?,
            cors_origins: cors_origins(config::optional("RENTORY_CORS_ORIGINS").as_deref())?,
            request_timeout: Duration::from_secs(timeout_secs),
            redis_outage_grace: Duration::from_secs(config::parse_or(
                crate::redis_outage::GRACE_VAR,
                crate::redis_outage::DEFAULT_GRACE.as_secs(),
            )?),
        })
    }

    pub fn token_settings(&self) -> TokenSettings {
        TokenSettings {
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            ..TokenSettings::default()
        }
    }
}

fn positive(name: &'static str, value: usize) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::Invalid {
            name,
            reason: "must be greater than zero".into(),
        });
    }
    Ok(())
}

/// Ten photos of the largest accepted size, with the form around them, must fit in one
/// gRPC message to the listings service. Checked at start-up: a cap too large for that
/// would otherwise show only when a landlord sends ten big photos.
fn fits_in_a_message(max_upload_bytes: usize) -> Result<(), ConfigError> {
    let form = crate::upload::UploadLimits::new(max_upload_bytes)
        .body_cap(crate::routes::properties::MAX_PHOTOS);
    if form > rentory_runtime::grpc::MAX_MESSAGE_BYTES {
        return Err(ConfigError::Invalid {
            name: "RENTORY_MAX_UPLOAD_BYTES",
            reason: format!(
                "{} listing photos of this size do not fit in a {}-byte gRPC message",
                crate::routes::properties::MAX_PHOTOS,
                rentory_runtime::grpc::MAX_MESSAGE_BYTES
            ),
        });
    }
    Ok(())
}

/// The gateway serves the photo bucket only when it is on the local filesystem (the
/// default, mirroring the listings service's); a `gs://` bucket is read from Google.
fn local_photos(
    bucket_url: Option<String>,
    public_url: &str,
) -> Result<Option<LocalPhotos>, ConfigError> {
    let bucket_url = match bucket_url {
        Some(url) => url,
        None => config::local_bucket_url("RENTORY_PHOTOS_BUCKET_URL", DEFAULT_PHOTOS_DIR)?,
    };
    if !bucket_url.starts_with("file://") {
        return Ok(None);
    }
    LocalPhotos::new(bucket_url, public_url).map(Some)
}

/// The gateway serves a bucket's links only when the bucket is on the local filesystem;
/// a `gs://` or `s3://` bucket's links go to the store directly and need nothing here.
fn local_files(
    bucket_url: Option<String>,
    public_url: Option<String>,
    secret: Option<SecretString>,
) -> Result<Option<LocalFiles>, ConfigError> {
    let Some(bucket_url) = bucket_url.filter(|url| url.starts_with("file://")) else {
        return Ok(None);
    };
    let public_url = public_url.ok_or(ConfigError::Missing(rentory_storage::PUBLIC_URL_VAR))?;
    let secret = secret.ok_or(ConfigError::Missing(rentory_storage::FILE_URL_SECRET_VAR))?;
    let links = LocalLinks::new(&public_url, &secret).map_err(|e| ConfigError::Invalid {
        name: "RENTORY_PUBLIC_URL / RENTORY_FILE_URL_SECRET",
        reason: e.to_string(),
    })?;
    Ok(Some(LocalFiles { bucket_url, links }))
}

fn cors_origins(raw: Option<&str>) -> Result<Vec<HeaderValue>, ConfigError> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            HeaderValue::from_str(origin).map_err(|_| ConfigError::Invalid {
                name: "RENTORY_CORS_ORIGINS",
                reason: "each origin must be a plain header value".into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins_are_a_trimmed_comma_list() {
        let origins = cors_origins(Some(" https://a.example , https://b.example,")).expect("ok");
        assert_eq!(origins, ["https://a.example", "https://b.example"]);
        assert!(cors_origins(None).expect("ok").is_empty());
        assert!(cors_origins(Some("bad\u{7f}origin")).is_err());
    }

    #[test]
    fn only_file_buckets_are_served_and_they_need_links() {
        let secret = || Some(SecretString::from("s".repeat(32)));
        let url = || Some("http://127.0.0.1:8080".to_owned());
        assert!(local_files(None, url(), secret()).expect("ok").is_none());
        assert!(
            local_files(Some("gs://b".into()), None, None)
                .expect("ok")
                .is_none()
        );
        let served = local_files(Some("file:///tmp/kyc".into()), url(), secret()).expect("ok");
        assert!(served.is_some());
        let err = local_files(Some("file:///tmp/kyc".into()), None, secret()).err();
        assert!(err.is_some_and(|e| e.to_string().contains("RENTORY_PUBLIC_URL")));
        let err = local_files(Some("file:///tmp/kyc".into()), url(), None).err();
        assert!(err.is_some_and(|e| e.to_string().contains("RENTORY_FILE_URL_SECRET")));
        let weak = Some(SecretString::from("short"));
        assert!(local_files(Some("file:///tmp/kyc".into()), url(), weak).is_err());
    }

    #[test]
    fn photos_default_to_the_local_directory_and_only_file_buckets_are_served() {
        let local = local_photos(None, "http://127.0.0.1:8080/")
            .expect("ok")
            .expect("served");
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(
            local.bucket_url,
            format!("file://{}", cwd.join(".local/photos").display())
        );
        assert_eq!(local.public_base.as_str(), "http://127.0.0.1:8080/photos/");
        assert!(
            local_photos(Some("gs://rentory-photos".into()), DEFAULT_PUBLIC_URL)
                .expect("ok")
                .is_none()
        );
        assert!(local_photos(Some("file:///tmp/p".into()), "not a url").is_err());
        assert!(local_photos(Some("file:///tmp/p".into()), "ftp://x").is_err());
    }

    #[test]
    fn ten_photos_must_fit_in_one_grpc_message() {
        assert!(fits_in_a_message(DEFAULT_MAX_UPLOAD_BYTES).is_ok());
        let err = fits_in_a_message(8 * 1024 * 1024).err();
        assert!(err.is_some_and(|e| e.to_string().contains("RENTORY_MAX_UPLOAD_BYTES")));
    }
}
