//! The service's settings, read from the environment once at start-up.

use rentory_auth::TokenSettings;
use rentory_runtime::config::{self, ConfigError};
use rentory_runtime::grpc::PeerAuth;
use secrecy::SecretString;

/// The gRPC port when `PORT` is unset.
pub const DEFAULT_PORT: u16 = 50054;
/// The public photo bucket's name; local photos are served at `{RENTORY_PUBLIC_URL}/photos/`.
pub const PHOTOS_BUCKET_NAME: &str = "photos";
/// Local photo directory, relative to the working directory at start-up.
pub const DEFAULT_PHOTOS_DIR: &str = ".local/photos";
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";
pub const DEFAULT_IDENTITY_URL: &str = "http://127.0.0.1:50051";
pub const DEFAULT_AI_URL: &str = "http://127.0.0.1:50053";
pub const DEFAULT_DB_MAX_CONNECTIONS: u32 = 16;
/// Per photo, as the gateway's `RENTORY_MAX_UPLOAD_BYTES`.
pub const DEFAULT_MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;
/// Nearest listings ranked per discovery window (see `discover`): five pages of 20. At
/// 100,000 listings a window of 100 costs ~1.2 ms in Postgres, one of 200 ~2.3 ms (make
/// bench), and the window query is most of a discover request's time.
pub const DEFAULT_DISCOVER_WINDOW: u32 = 100;
/// NGN 5,000: the price of a landlord's contact (payments charges it; listings names it).
pub const DEFAULT_CONTACT_UNLOCK_KOBO: i64 = 500_000;

/// Everything `serve` needs. Tests build it directly; `main` uses [`Config::from_env`].
///
/// | variable | default |
/// |---|---|
/// | `DATABASE_URL` | required (PostGIS installed in the database) |
/// | `RENTORY_DB_MAX_CONNECTIONS` | 16 |
/// | `NATS_URL` | `nats://127.0.0.1:4222` |
/// | `RENTORY_JWT_PUBLIC_KEY` | required (Ed25519 SPKI PEM) |
/// | `RENTORY_JWT_ISSUER`, `RENTORY_JWT_AUDIENCE` | `rentory-identity`, `rentory` |
/// | `RENTORY_IDENTITY_URL` | `http://127.0.0.1:50051` (landlord contacts) |
/// | `RENTORY_AI_URL` | `http://127.0.0.1:50053` (photo analysis) |
/// | `RENTORY_PHOTOS_BUCKET_URL` | `file://<working dir>/.local/photos` (`gs://bucket` in production) |
/// | `RENTORY_PHOTOS_PUBLIC_URL` | `{RENTORY_PUBLIC_URL}/photos/` for `file://`; `https://storage.googleapis.com/<bucket>/` for `gs://` |
/// | `RENTORY_PUBLIC_URL` | `http://127.0.0.1:8080` (the gateway, which serves local photos) |
/// | `RENTORY_MAX_UPLOAD_BYTES` | 5 MiB per photo |
/// | `RENTORY_DISCOVER_WINDOW` | 100 nearest listings ranked per window |
/// | `RENTORY_CONTACT_UNLOCK_KOBO` | 500000 (NGN 5,000), quoted in the 402 of a locked contact |
/// | `RENTORY_PEER_AUTH` | `none`; `google` on Cloud Run: calls to other services carry an ID token from the metadata server (`GCE_METADATA_HOST` overrides its host) |
/// | `PORT` | 50054 |
#[derive(Clone)]
pub struct Config {
    pub database_url: SecretString,
    pub database_max_connections: u32,
    pub nats_url: String,
    pub jwt_public_key: String,
    pub token_settings: TokenSettings,
    pub identity_url: String,
    pub ai_url: String,
    pub photos_bucket_url: String,
    pub photos_public_url: url::Url,
    pub max_photo_bytes: usize,
    pub discover_window: u32,
    pub contact_unlock_kobo: i64,
    pub port: u16,
    /// `RENTORY_PEER_AUTH`: whether calls to other services carry an ID token.
    pub peer_auth: PeerAuth,
}

impl std::fmt::Debug for Config {
    // The database URL carries a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("nats_url", &self.nats_url)
            .field("identity_url", &self.identity_url)
            .field("ai_url", &self.ai_url)
            .field("photos_public_url", &self.photos_public_url.as_str())
            .field("max_photo_bytes", &self.max_photo_bytes)
            .field("discover_window", &self.discover_window)
            .field("port", &self.port)
            .field("peer_auth", &self.peer_auth)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads and validates every setting; the error names the first bad or missing one.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = TokenSettings::default();
        let photos_bucket_url =
            config::bucket_url("RENTORY_PHOTOS_BUCKET_URL", DEFAULT_PHOTOS_DIR)?;
        let public_url = match config::optional("RENTORY_PHOTOS_PUBLIC_URL") {
            Some(url) => url,
            None => default_public_url(
                &photos_bucket_url,
                &config::or_default("RENTORY_PUBLIC_URL", DEFAULT_PUBLIC_URL),
            ),
        };
        let config = Self {
            database_url: config::secret("DATABASE_URL")?,
            database_max_connections: config::parse_or(
                "RENTORY_DB_MAX_CONNECTIONS",
                DEFAULT_DB_MAX_CONNECTIONS,
            )?,
            nats_url: config::or_default("NATS_URL", DEFAULT_NATS_URL),
            jwt_public_key: config::required("RENTORY_JWT_PUBLIC_KEY")?,
            token_settings: TokenSettings {
                issuer: config::or_default("RENTORY_JWT_ISSUER", &defaults.issuer),
                audience: config::or_default("RENTORY_JWT_AUDIENCE", &defaults.audience),
                ..defaults
            },
            identity_url: config::or_default("RENTORY_IDENTITY_URL", DEFAULT_IDENTITY_URL),
            ai_url: config::or_default("RENTORY_AI_URL", DEFAULT_AI_URL),
            photos_bucket_url,
            photos_public_url: public_base(&public_url)?,
            max_photo_bytes: config::parse_or("RENTORY_MAX_UPLOAD_BYTES", DEFAULT_MAX_PHOTO_BYTES)?,
            discover_window: config::parse_or("RENTORY_DISCOVER_WINDOW", DEFAULT_DISCOVER_WINDOW)?,
            contact_unlock_kobo: config::parse_or(
                "RENTORY_CONTACT_UNLOCK_KOBO",
                DEFAULT_CONTACT_UNLOCK_KOBO,
            )?,
            port: config::port(DEFAULT_PORT)?,
            peer_auth: PeerAuth::from_env()?,
        };
        config.validate()?;
        Ok(config)
    }

    /// Range checks shared by [`Config::from_env`] and `serve` (tests build configs by hand).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name: &'static str, reason: &str| {
            Err(ConfigError::Invalid {
                name,
                reason: reason.to_owned(),
            })
        };
        if self.database_max_connections < 4 {
            return invalid("RENTORY_DB_MAX_CONNECTIONS", "must be at least 4");
        }
        if self.max_photo_bytes == 0 {
            return invalid("RENTORY_MAX_UPLOAD_BYTES", "must be at least 1");
        }
        if self.contact_unlock_kobo <= 0 {
            return invalid("RENTORY_CONTACT_UNLOCK_KOBO", "must be positive");
        }
        if !(20..=2000).contains(&self.discover_window) {
            return invalid("RENTORY_DISCOVER_WINDOW", "between 20 and 2000");
        }
        Ok(())
    }

    /// A configuration for tests and the in-process stack.
    pub fn local(
        database_url: SecretString,
        nats_url: String,
        jwt_public_key: String,
        identity_url: String,
        ai_url: String,
        photos_bucket_url: String,
        photos_public_url: url::Url,
    ) -> Self {
        Self {
            database_url,
            database_max_connections: DEFAULT_DB_MAX_CONNECTIONS,
            nats_url,
            jwt_public_key,
            token_settings: TokenSettings::default(),
            identity_url,
            ai_url,
            photos_bucket_url,
            photos_public_url,
            max_photo_bytes: DEFAULT_MAX_PHOTO_BYTES,
            discover_window: DEFAULT_DISCOVER_WINDOW,
            contact_unlock_kobo: DEFAULT_CONTACT_UNLOCK_KOBO,
            port: DEFAULT_PORT,
            peer_auth: PeerAuth::None,
        }
    }
}

/// Where readers fetch a bucket's objects when no CDN is configured: Google's public
/// endpoint for a GCS bucket, the gateway's `/photos/` route for a local one.
fn default_public_url(bucket_url: &str, gateway_url: &str) -> String {
    match bucket_url.strip_prefix("gs://") {
        Some(bucket) => format!(
            "https://storage.googleapis.com/{}/",
            bucket.trim_end_matches('/')
        ),
        None => format!("{}/photos/", gateway_url.trim_end_matches('/')),
    }
}

/// The base photo URLs are joined to: absolute http(s), ending in `/`.
pub fn public_base(text: &str) -> Result<url::Url, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "RENTORY_PHOTOS_PUBLIC_URL",
        reason,
    };
    let with_slash = if text.ends_with('/') {
        text.to_owned()
    } else {
        format!("{text}/")
    };
    let url = url::Url::parse(&with_slash).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must be an http(s) URL".into()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn public_photo_urls_default_to_google_or_the_gateway() {
        assert_eq!(
            default_public_url("gs://rentory-photos", "http://x"),
            "https://storage.googleapis.com/rentory-photos/"
        );
        assert_eq!(
            default_public_url("file:///tmp/p", "http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/photos/"
        );
        assert_eq!(
            public_base("https://cdn.rentory.ng/p").unwrap().as_str(),
            "https://cdn.rentory.ng/p/"
        );
        assert!(public_base("ftp://x/").is_err());
    }
}
