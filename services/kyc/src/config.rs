//! The service's settings, read from the environment once at start-up.

use std::time::Duration;

use rentory_auth::TokenSettings;
use rentory_runtime::config::{self, ConfigError};
use rentory_runtime::grpc::PeerAuth;
use rentory_storage::LocalLinks;
use secrecy::SecretString;

/// The gRPC port when `PORT` is unset.
pub const DEFAULT_PORT: u16 = 50052;
/// The name of the private bucket; local links are `{RENTORY_PUBLIC_URL}/files/kyc/...`.
pub const BUCKET_NAME: &str = "kyc";
/// Local bucket directory, relative to the working directory at start-up.
pub const DEFAULT_BUCKET_DIR: &str = ".local/kyc";
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";
pub const DEFAULT_SIGNED_URL_TTL: Duration = Duration::from_secs(60);
pub const DEFAULT_FACE_MATCH_MAX_ATTEMPTS: u32 = 6;
pub const DEFAULT_FACE_MATCH_BACKOFF: Duration = Duration::from_millis(2000);
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
pub const DEFAULT_DB_MAX_CONNECTIONS: u32 = 10;

/// Everything `serve` needs. Tests build it directly; `main` uses [`Config::from_env`].
///
/// | variable | default |
/// |---|---|
/// | `DATABASE_URL` | required |
/// | `RENTORY_DB_MAX_CONNECTIONS` | 10 |
/// | `NATS_URL` | `nats://127.0.0.1:4222` |
/// | `RENTORY_JWT_PUBLIC_KEY` | required (Ed25519 SPKI PEM) |
/// | `RENTORY_JWT_ISSUER`, `RENTORY_JWT_AUDIENCE` | `rentory-identity`, `rentory` |
/// | `RENTORY_KYC_BUCKET_URL` | `file://<working dir>/.local/kyc` (`gs://bucket` or `s3://bucket` in production, `memory://` in tests) |
/// | `RENTORY_PUBLIC_URL` | `http://127.0.0.1:8080` (gateway serving local links) |
/// | `RENTORY_FILE_URL_SECRET` | required for `file://` and `memory://` buckets (>= 32 bytes) |
/// | `RENTORY_SIGNED_URL_TTL_SECS` | 60 |
/// | `RENTORY_AI_URL` | unset: no AI orchestrator, every face match is `UNAVAILABLE` at once |
/// | `RENTORY_FACE_MATCH_MAX_ATTEMPTS` | 6 |
/// | `RENTORY_FACE_MATCH_BACKOFF_MS` | 2000 (first retry; doubles, jittered, capped) |
/// | `RENTORY_MAX_UPLOAD_BYTES` | 5 MiB per image |
/// | `RENTORY_PEER_AUTH` | `none`; `google` on Cloud Run: calls to other services carry an ID token from the metadata server (`GCE_METADATA_HOST` overrides its host) |
/// | `PORT` | 50052 |
#[derive(Clone)]
pub struct Config {
    pub database_url: SecretString,
    pub database_max_connections: u32,
    pub nats_url: String,
    pub jwt_public_key: String,
    pub token_settings: TokenSettings,
    pub bucket_url: String,
    /// Signer of local (`file://`, `memory://`) bucket links; `None` for GCS.
    pub local_links: Option<LocalLinks>,
    pub signed_url_ttl: Duration,
    pub ai_url: Option<String>,
    pub face_match_max_attempts: u32,
    pub face_match_backoff: Duration,
    pub max_upload_bytes: usize,
    pub port: u16,
    /// `RENTORY_PEER_AUTH`: whether calls to other services carry an ID token.
    pub peer_auth: PeerAuth,
}

impl std::fmt::Debug for Config {
    // The bucket URL may name a private bucket; the database URL carries a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("nats_url", &self.nats_url)
            .field("signed_url_ttl", &self.signed_url_ttl)
            .field("ai_configured", &self.ai_url.is_some())
            .field("face_match_max_attempts", &self.face_match_max_attempts)
            .field("face_match_backoff", &self.face_match_backoff)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("port", &self.port)
            .field("peer_auth", &self.peer_auth)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads and validates every setting; the error names the first bad or missing one.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = TokenSettings::default();
        let database_url = config::secret("DATABASE_URL")?;
        let jwt_public_key = config::required("RENTORY_JWT_PUBLIC_KEY")?;
        let bucket_url = config::bucket_url("RENTORY_KYC_BUCKET_URL", DEFAULT_BUCKET_DIR)?;
        let local_links = if is_local_bucket(&bucket_url) {
            let secret = config::secret("RENTORY_FILE_URL_SECRET")?;
            let public_url = config::or_default("RENTORY_PUBLIC_URL", DEFAULT_PUBLIC_URL);
            Some(
                LocalLinks::new(&public_url, &secret).map_err(|e| ConfigError::Invalid {
                    name: "RENTORY_FILE_URL_SECRET",
                    reason: e.to_string(),
                })?,
            )
        } else {
            None
        };
        let ttl_secs: u64 = config::parse_or(
            "RENTORY_SIGNED_URL_TTL_SECS",
            DEFAULT_SIGNED_URL_TTL.as_secs(),
        )?;
        let max_attempts: u32 = config::parse_or(
            "RENTORY_FACE_MATCH_MAX_ATTEMPTS",
            DEFAULT_FACE_MATCH_MAX_ATTEMPTS,
        )?;
        let backoff_ms: u64 = config::parse_or(
            "RENTORY_FACE_MATCH_BACKOFF_MS",
            u64::try_from(DEFAULT_FACE_MATCH_BACKOFF.as_millis()).unwrap_or(2000),
        )?;
        let config = Self {
            database_url,
            database_max_connections: config::parse_or(
                "RENTORY_DB_MAX_CONNECTIONS",
                DEFAULT_DB_MAX_CONNECTIONS,
            )?,
            nats_url: config::or_default("NATS_URL", DEFAULT_NATS_URL),
            jwt_public_key,
            token_settings: TokenSettings {
                issuer: config::or_default("RENTORY_JWT_ISSUER", &defaults.issuer),
                audience: config::or_default("RENTORY_JWT_AUDIENCE", &defaults.audience),
                ..defaults
            },
            bucket_url,
            local_links,
            signed_url_ttl: Duration::from_secs(ttl_secs),
            ai_url: config::optional("RENTORY_AI_URL"),
            face_match_max_attempts: max_attempts,
            face_match_backoff: Duration::from_millis(backoff_ms),
            max_upload_bytes: config::parse_or(
                "RENTORY_MAX_UPLOAD_BYTES",
                DEFAULT_MAX_UPLOAD_BYTES,
            )?,
            port: config::port(DEFAULT_PORT)?,
            peer_auth: PeerAuth::from_env()?,
        };
        config.validate()?;
        Ok(config)
    }

    /// Range checks shared by [`Config::from_env`] and `serve` (tests build configs by hand).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name, reason: &str| {
            Err(ConfigError::Invalid {
                name,
                reason: reason.to_owned(),
            })
        };
        // GCS refuses signed URLs valid for longer than 7 days.
        if self.signed_url_ttl.is_zero() || self.signed_url_ttl > Duration::from_secs(7 * 86_400) {
            return invalid(
                "RENTORY_SIGNED_URL_TTL_SECS",
                "must be 1 ..= 604800 seconds",
            );
        }
        if self.face_match_max_attempts == 0 || self.face_match_max_attempts > 100 {
            return invalid("RENTORY_FACE_MATCH_MAX_ATTEMPTS", "must be 1 ..= 100");
        }
        if self.face_match_backoff.is_zero() {
            return invalid("RENTORY_FACE_MATCH_BACKOFF_MS", "must be at least 1");
        }
        if self.max_upload_bytes == 0
            || self.max_upload_bytes > rentory_runtime::grpc::MAX_MESSAGE_BYTES / 2
        {
            return invalid(
                "RENTORY_MAX_UPLOAD_BYTES",
                "must be positive and at most half the gRPC message limit (two images per request)",
            );
        }
        if self.database_max_connections < 4 {
            // The outbox relay holds one connection for LISTEN and uses another per round.
            return invalid("RENTORY_DB_MAX_CONNECTIONS", "must be at least 4");
        }
        if is_local_bucket(&self.bucket_url) && self.local_links.is_none() {
            return Err(ConfigError::Missing("RENTORY_FILE_URL_SECRET"));
        }
        Ok(())
    }
}

fn is_local_bucket(url: &str) -> bool {
    url.starts_with("file:") || url.starts_with("memory:")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn config() -> Config {
        Config {
            database_url: SecretString::from("postgres://x/y"),
            database_max_connections: 10,
            nats_url: DEFAULT_NATS_URL.into(),
            jwt_public_key: String::new(),
            token_settings: TokenSettings::default(),
            bucket_url: "gs://kyc-private".into(),
            local_links: None,
            signed_url_ttl: DEFAULT_SIGNED_URL_TTL,
            ai_url: None,
            face_match_max_attempts: 6,
            face_match_backoff: DEFAULT_FACE_MATCH_BACKOFF,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            port: DEFAULT_PORT,
            peer_auth: PeerAuth::None,
        }
    }

    #[test]
    fn defaults_validate() {
        config().validate().unwrap();
    }

    #[test]
    fn out_of_range_values_name_their_variable() {
        let cases: Vec<(Config, &str)> = vec![
            (
                Config {
                    signed_url_ttl: Duration::ZERO,
                    ..config()
                },
                "RENTORY_SIGNED_URL_TTL_SECS",
            ),
            (
                Config {
                    face_match_max_attempts: 0,
                    ..config()
                },
                "RENTORY_FACE_MATCH_MAX_ATTEMPTS",
            ),
            (
                Config {
                    max_upload_bytes: 0,
                    ..config()
                },
                "RENTORY_MAX_UPLOAD_BYTES",
            ),
            (
                Config {
                    bucket_url: "memory://".into(),
                    ..config()
                },
                "RENTORY_FILE_URL_SECRET",
            ),
        ];
        for (config, name) in cases {
            let err = config.validate().unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn local_buckets_are_recognised() {
        assert!(is_local_bucket("file:///tmp/kyc"));
        assert!(is_local_bucket("memory://"));
        assert!(!is_local_bucket("gs://kyc"));
    }
}
