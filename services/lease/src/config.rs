//! The service's settings, read from the environment once at start-up.

use rentory_auth::TokenSettings;
use rentory_runtime::config::{self, ConfigError};
use rentory_runtime::grpc::PeerAuth;
use secrecy::SecretString;

/// The gRPC port when `PORT` is unset.
pub const DEFAULT_PORT: u16 = 50056;
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";
pub const DEFAULT_LISTINGS_URL: &str = "http://127.0.0.1:50054";
pub const DEFAULT_IDENTITY_URL: &str = "http://127.0.0.1:50051";
pub const DEFAULT_CHAT_URL: &str = "http://127.0.0.1:50055";
pub const DEFAULT_AI_URL: &str = "http://127.0.0.1:50053";
pub const DEFAULT_DB_MAX_CONNECTIONS: u32 = 16;

/// Everything `serve` needs. Tests build it directly; `main` uses [`Config::from_env`].
///
/// | variable | default |
/// |---|---|
/// | `DATABASE_URL` | required |
/// | `RENTORY_DB_MAX_CONNECTIONS` | 16 |
/// | `NATS_URL` | `nats://127.0.0.1:4222` (lease.status.changed out, rent payments in) |
/// | `RENTORY_JWT_PUBLIC_KEY` | required (Ed25519 SPKI PEM) |
/// | `RENTORY_JWT_ISSUER`, `RENTORY_JWT_AUDIENCE` | `rentory-identity`, `rentory` |
/// | `RENTORY_LISTINGS_URL` | `http://127.0.0.1:50054` (the property a lease is of) |
/// | `RENTORY_IDENTITY_URL` | `http://127.0.0.1:50051` (the parties' names, roles, statuses) |
/// | `RENTORY_CHAT_URL` | `http://127.0.0.1:50055` (the parties talked about the property) |
/// | `RENTORY_AI_URL` | `http://127.0.0.1:50053` (the legal architect that drafts) |
/// | `RENTORY_PEER_AUTH` | `none`; `google` on Cloud Run: calls to other services carry an ID token from the metadata server (`GCE_METADATA_HOST` overrides its host) |
/// | `PORT` | 50056 |
#[derive(Clone)]
pub struct Config {
    pub database_url: SecretString,
    pub database_max_connections: u32,
    pub nats_url: String,
    pub jwt_public_key: String,
    pub token_settings: TokenSettings,
    pub listings_url: String,
    pub identity_url: String,
    pub chat_url: String,
    pub ai_url: String,
    pub port: u16,
    /// `RENTORY_PEER_AUTH`: whether calls to other services carry an ID token.
    pub peer_auth: PeerAuth,
}

impl std::fmt::Debug for Config {
    // The database URL carries a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_max_connections", &self.database_max_connections)
            .field("nats_url", &self.nats_url)
            .field("listings_url", &self.listings_url)
            .field("identity_url", &self.identity_url)
            .field("chat_url", &self.chat_url)
            .field("ai_url", &self.ai_url)
            .field("port", &self.port)
            .field("peer_auth", &self.peer_auth)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads and validates every setting; the error names the first bad or missing one.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = TokenSettings::default();
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
            listings_url: config::or_default("RENTORY_LISTINGS_URL", DEFAULT_LISTINGS_URL),
            identity_url: config::or_default("RENTORY_IDENTITY_URL", DEFAULT_IDENTITY_URL),
            chat_url: config::or_default("RENTORY_CHAT_URL", DEFAULT_CHAT_URL),
            ai_url: config::or_default("RENTORY_AI_URL", DEFAULT_AI_URL),
            port: config::port(DEFAULT_PORT)?,
            peer_auth: PeerAuth::from_env()?,
        };
        config.validate()?;
        Ok(config)
    }

    /// Range checks shared by [`Config::from_env`] and `serve` (tests build configs by hand).
    pub fn validate(&self) -> Result<(), ConfigError> {
        // The relay holds one connection for LISTEN and uses another per round; the rent
        // consumer needs one; requests need the rest.
        if self.database_max_connections < 4 {
            return Err(ConfigError::Invalid {
                name: "RENTORY_DB_MAX_CONNECTIONS",
                reason: "must be at least 4".to_owned(),
            });
        }
        Ok(())
    }

    /// A configuration for tests and the in-process stack.
    pub fn local(
        database_url: SecretString,
        nats_url: String,
        jwt_public_key: String,
        listings_url: String,
        identity_url: String,
        chat_url: String,
        ai_url: String,
    ) -> Self {
        Self {
            database_url,
            database_max_connections: DEFAULT_DB_MAX_CONNECTIONS,
            nats_url,
            jwt_public_key,
            token_settings: TokenSettings::default(),
            listings_url,
            identity_url,
            chat_url,
            ai_url,
            port: DEFAULT_PORT,
            peer_auth: PeerAuth::None,
        }
    }
}
