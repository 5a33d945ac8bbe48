//! The service's settings, read from the environment once at start-up.

use std::time::Duration;

use rentory_auth::TokenSettings;
use rentory_runtime::config::{self, ConfigError};
use secrecy::SecretString;

/// The gRPC port when `PORT` is unset.
pub const DEFAULT_PORT: u16 = 50053;
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
pub const DEFAULT_GEMINI_URL: &str = "https://generativelanguage.googleapis.com/v1beta/";
/// The spec's model for the concierge, photo analysis and face match, then a GA fallback.
pub const DEFAULT_FAST_MODELS: &str = "gemini-3-flash-preview,gemini-2.5-flash";
/// Leases: the spec named gemini-3-pro-preview, which Google shut down on 2026-03-09; its
/// successor leads, with the GA pro model behind it.
pub const DEFAULT_LEGAL_MODELS: &str = "gemini-3.1-pro-preview,gemini-2.5-pro";
pub const DEFAULT_DAILY_CALLS: u32 = 200;
pub const DEFAULT_PHOTO_CACHE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
pub const DEFAULT_GEMINI_MAX_ATTEMPTS: u32 = 4;
pub const DEFAULT_GEMINI_RETRY_BASE: Duration = Duration::from_millis(500);
pub const DEFAULT_DB_MAX_CONNECTIONS: u32 = 10;
pub const DEFAULT_REDIS_PREFIX: &str = "rentory:ai";

/// Gemini access; absent means the offline provider answers everything.
#[derive(Clone)]
pub struct GeminiConfig {
    pub api_key: SecretString,
    pub base_url: url::Url,
    /// Concierge, photo analysis, face match: first preferred, the rest fallbacks.
    pub fast_models: Vec<String>,
    /// Lease drafting.
    pub legal_models: Vec<String>,
    pub max_attempts: u32,
    pub retry_base: Duration,
}

impl std::fmt::Debug for GeminiConfig {
    // The key is a credential: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeminiConfig")
            .field("base_url", &self.base_url.as_str())
            .field("fast_models", &self.fast_models)
            .field("legal_models", &self.legal_models)
            .field("max_attempts", &self.max_attempts)
            .field("retry_base", &self.retry_base)
            .finish_non_exhaustive()
    }
}

impl GeminiConfig {
    /// `GEMINI_API_KEY` and the settings that go with it; `None` when no key is set.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        let Some(key) = config::optional("GEMINI_API_KEY") else {
            return Ok(None);
        };
        let raw_url = config::or_default("RENTORY_GEMINI_URL", DEFAULT_GEMINI_URL);
        let base_url = url::Url::parse(&raw_url).map_err(|e| ConfigError::Invalid {
            name: "RENTORY_GEMINI_URL",
            reason: e.to_string(),
        })?;
        let retry_ms: u64 = config::parse_or(
            "RENTORY_GEMINI_RETRY_BASE_MS",
            u64::try_from(DEFAULT_GEMINI_RETRY_BASE.as_millis()).unwrap_or(500),
        )?;
        Ok(Some(Self {
            api_key: SecretString::from(key),
            base_url,
            fast_models: model_chain(&config::or_default(
                "RENTORY_AI_FAST_MODELS",
                DEFAULT_FAST_MODELS,
            )),
            legal_models: model_chain(&config::or_default(
                "RENTORY_AI_LEGAL_MODELS",
                DEFAULT_LEGAL_MODELS,
            )),
            max_attempts: config::parse_or(
                "RENTORY_GEMINI_MAX_ATTEMPTS",
                DEFAULT_GEMINI_MAX_ATTEMPTS,
            )?,
            retry_base: Duration::from_millis(retry_ms),
        }))
    }
}

/// Everything `serve` needs. Tests build it directly; `main` uses [`Config::from_env`].
///
/// | variable | default |
/// |---|---|
/// | `DATABASE_URL` | required |
/// | `RENTORY_DB_MAX_CONNECTIONS` | 10 |
/// | `REDIS_URL` | `redis://127.0.0.1:6379` (budgets, photo-analysis cache) |
/// | `NATS_URL` | `nats://127.0.0.1:4222` |
/// | `RENTORY_JWT_PUBLIC_KEY` | required (Ed25519 SPKI PEM) |
/// | `RENTORY_JWT_ISSUER`, `RENTORY_JWT_AUDIENCE` | `rentory-identity`, `rentory` |
/// | `GEMINI_API_KEY` | unset: the offline provider answers (`model: "offline"`) |
/// | `RENTORY_GEMINI_URL` | `https://generativelanguage.googleapis.com/v1beta/` |
/// | `RENTORY_AI_FAST_MODELS` | `gemini-3-flash-preview,gemini-2.5-flash` |
/// | `RENTORY_AI_LEGAL_MODELS` | `gemini-3.1-pro-preview,gemini-2.5-pro` |
/// | `RENTORY_GEMINI_MAX_ATTEMPTS` | 4 per model (429 / 500 / 503 / 504, timeouts) |
/// | `RENTORY_GEMINI_RETRY_BASE_MS` | 500 (first backoff; doubles, jittered, capped at 8 s) |
/// | `RENTORY_AI_DAILY_CALLS` | 200 model calls per user per day (Lagos time) |
/// | `RENTORY_AI_PHOTO_CACHE_TTL_SECS` | 604800 (7 days) |
/// | `RENTORY_AI_REDIS_PREFIX` | `rentory:ai` (budget and cache keys) |
/// | `PORT` | 50053 |
#[derive(Clone)]
pub struct Config {
    pub database_url: SecretString,
    pub database_max_connections: u32,
    pub redis_url: String,
    pub nats_url: String,
    pub jwt_public_key: String,
    pub token_settings: TokenSettings,
    pub gemini: Option<GeminiConfig>,
    pub daily_calls_per_user: u32,
    pub photo_cache_ttl: Duration,
    pub redis_prefix: String,
    pub port: u16,
}

impl std::fmt::Debug for Config {
    // The database URL carries a password and the Gemini key is a credential.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("nats_url", &self.nats_url)
            .field(
                "gemini",
                &self
                    .gemini
                    .as_ref()
                    .map(|g| (&g.fast_models, &g.legal_models)),
            )
            .field("daily_calls_per_user", &self.daily_calls_per_user)
            .field("photo_cache_ttl", &self.photo_cache_ttl)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads and validates every setting; the error names the first bad or missing one.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = TokenSettings::default();
        let gemini = GeminiConfig::from_env()?;
        let cache_secs: u64 = config::parse_or(
            "RENTORY_AI_PHOTO_CACHE_TTL_SECS",
            DEFAULT_PHOTO_CACHE_TTL.as_secs(),
        )?;
        let config = Self {
            database_url: config::secret("DATABASE_URL")?,
            database_max_connections: config::parse_or(
                "RENTORY_DB_MAX_CONNECTIONS",
                DEFAULT_DB_MAX_CONNECTIONS,
            )?,
            redis_url: config::or_default("REDIS_URL", DEFAULT_REDIS_URL),
            nats_url: config::or_default("NATS_URL", DEFAULT_NATS_URL),
            jwt_public_key: config::required("RENTORY_JWT_PUBLIC_KEY")?,
            token_settings: TokenSettings {
                issuer: config::or_default("RENTORY_JWT_ISSUER", &defaults.issuer),
                audience: config::or_default("RENTORY_JWT_AUDIENCE", &defaults.audience),
                ..defaults
            },
            gemini,
            daily_calls_per_user: config::parse_or("RENTORY_AI_DAILY_CALLS", DEFAULT_DAILY_CALLS)?,
            photo_cache_ttl: Duration::from_secs(cache_secs),
            redis_prefix: config::or_default("RENTORY_AI_REDIS_PREFIX", DEFAULT_REDIS_PREFIX),
            port: config::port(DEFAULT_PORT)?,
        };
        config.validate()?;
        Ok(config)
    }

    /// Range checks shared by [`Config::from_env`] and `serve` (tests build configs by hand).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name: &'static str, reason: &str| ConfigError::Invalid {
            name,
            reason: reason.to_owned(),
        };
        if self.daily_calls_per_user == 0 {
            return Err(invalid("RENTORY_AI_DAILY_CALLS", "must be at least 1"));
        }
        if self.photo_cache_ttl.is_zero() {
            return Err(invalid(
                "RENTORY_AI_PHOTO_CACHE_TTL_SECS",
                "must be at least 1",
            ));
        }
        if let Some(gemini) = &self.gemini {
            if gemini.fast_models.is_empty() {
                return Err(invalid("RENTORY_AI_FAST_MODELS", "names no model"));
            }
            if gemini.legal_models.is_empty() {
                return Err(invalid("RENTORY_AI_LEGAL_MODELS", "names no model"));
            }
            if !(1..=10).contains(&gemini.max_attempts) {
                return Err(invalid("RENTORY_GEMINI_MAX_ATTEMPTS", "between 1 and 10"));
            }
            if !matches!(gemini.base_url.scheme(), "https" | "http") {
                return Err(invalid("RENTORY_GEMINI_URL", "must be an http(s) URL"));
            }
        }
        Ok(())
    }

    /// A configuration for tests and the in-process stack: offline, default limits.
    pub fn local(
        database_url: SecretString,
        redis_url: String,
        nats_url: String,
        jwt_public_key: String,
    ) -> Self {
        Self {
            database_url,
            database_max_connections: DEFAULT_DB_MAX_CONNECTIONS,
            redis_url,
            nats_url,
            jwt_public_key,
            token_settings: TokenSettings::default(),
            gemini: None,
            daily_calls_per_user: DEFAULT_DAILY_CALLS,
            photo_cache_ttl: DEFAULT_PHOTO_CACHE_TTL,
            redis_prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            port: DEFAULT_PORT,
        }
    }
}

/// "a, b,,c" -> ["a", "b", "c"]: model ids in chain order, duplicates dropped.
pub fn model_chain(text: &str) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    for id in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let id = id.strip_prefix("models/").unwrap_or(id);
        if !chain.iter().any(|c| c == id) {
            chain.push(id.to_owned());
        }
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_chains_are_ordered_and_deduplicated() {
        assert_eq!(
            model_chain(" gemini-3-flash-preview, models/gemini-2.5-flash,,gemini-3-flash-preview"),
            ["gemini-3-flash-preview", "gemini-2.5-flash"]
        );
        assert!(model_chain(" , ").is_empty());
    }
}
