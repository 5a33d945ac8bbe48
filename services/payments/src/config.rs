//! The service's settings, read from the environment once at start-up.

use std::time::Duration;

use rentory_auth::TokenSettings;
use rentory_runtime::config::{self, ConfigError};
use rentory_runtime::grpc::PeerAuth;
use secrecy::SecretString;
use url::Url;

/// The gRPC port when `PORT` is unset.
pub const DEFAULT_PORT: u16 = 50057;
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";
pub const DEFAULT_IDENTITY_URL: &str = "http://127.0.0.1:50051";
pub const DEFAULT_LISTINGS_URL: &str = "http://127.0.0.1:50054";
pub const DEFAULT_LEASE_URL: &str = "http://127.0.0.1:50056";
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";
pub const DEFAULT_PAYSTACK_BASE_URL: &str = "https://api.paystack.co";
pub const DEFAULT_DB_MAX_CONNECTIONS: u32 = 10;
/// NGN 5,000: the price of a landlord's contact.
pub const DEFAULT_CONTACT_UNLOCK_KOBO: i64 = 500_000;
pub const DEFAULT_PAYSTACK_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_PAYSTACK_MAX_ATTEMPTS: u32 = 3;
pub const DEFAULT_RECONCILE_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_VERIFY_BACKOFF: Duration = Duration::from_secs(60);
pub const DEFAULT_ABANDON_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Everything `serve` needs. Tests and the stack build it with [`Config::local`]; `main`
/// uses [`Config::from_env`].
///
/// | variable | default |
/// |---|---|
/// | `DATABASE_URL` | required |
/// | `RENTORY_DB_MAX_CONNECTIONS` | 10 |
/// | `NATS_URL` | `nats://127.0.0.1:4222` |
/// | `RENTORY_JWT_PUBLIC_KEY` | required (Ed25519 SPKI PEM) |
/// | `RENTORY_JWT_ISSUER`, `RENTORY_JWT_AUDIENCE` | `rentory-identity`, `rentory` |
/// | `PAYSTACK_SECRET_KEY` | required (`sk_live_...`, `sk_test_...`, or the checkout simulator's key); also the webhook signing key |
/// | `PAYSTACK_BASE_URL` | `https://api.paystack.co` |
/// | `RENTORY_PAYSTACK_TIMEOUT_MS` | 10000 per attempt |
/// | `RENTORY_PAYSTACK_MAX_ATTEMPTS` | 3 (timeouts, connection failures and 5xx are retried) |
/// | `RENTORY_IDENTITY_URL` | `http://127.0.0.1:50051` (the payer's e-mail) |
/// | `RENTORY_LISTINGS_URL` | `http://127.0.0.1:50054` (the property being unlocked) |
/// | `RENTORY_LEASE_URL` | `http://127.0.0.1:50056` (the rent a lease's tenant owes) |
/// | `RENTORY_CONTACT_UNLOCK_KOBO` | 500000 (NGN 5,000) |
/// | `RENTORY_PAYMENTS_CALLBACK_URL` | `{RENTORY_PUBLIC_URL}/payments/callback` (where Paystack sends the payer back) |
/// | `RENTORY_PUBLIC_URL` | `http://127.0.0.1:8080` (the gateway) |
/// | `RENTORY_PAYOUT_PERCENTAGE_CHARGE` | 0: the percentage of a split payment Rentory keeps (Paystack subaccounts) |
/// | `RENTORY_PAYMENTS_RECONCILE_INTERVAL_MS` | 30000: how often pending transactions and unprocessed webhooks are swept |
/// | `RENTORY_PAYMENTS_VERIFY_BACKOFF_MS` | 60000: first re-verify of a pending transaction; doubles per attempt, at most an hour |
/// | `RENTORY_PAYMENTS_ABANDON_AFTER_SECS` | 86400: a transaction still unpaid this long after it started is ABANDONED |
/// | `RENTORY_PEER_AUTH` | `none`; `google` on Cloud Run: calls to other services carry an ID token from the metadata server (`GCE_METADATA_HOST` overrides its host) |
/// | `PORT` | 50057 |
#[derive(Clone)]
pub struct Config {
    pub database_url: SecretString,
    pub database_max_connections: u32,
    pub nats_url: String,
    pub jwt_public_key: String,
    pub token_settings: TokenSettings,
    pub paystack_secret_key: SecretString,
    pub paystack_base_url: Url,
    pub paystack_timeout: Duration,
    pub paystack_max_attempts: u32,
    pub identity_url: String,
    pub listings_url: String,
    pub lease_url: String,
    pub contact_unlock_kobo: i64,
    pub callback_url: Url,
    pub payout_percentage_charge: f64,
    pub reconcile_interval: Duration,
    pub verify_backoff: Duration,
    pub abandon_after: Duration,
    pub port: u16,
    /// `RENTORY_PEER_AUTH`: whether calls to other services carry an ID token.
    pub peer_auth: PeerAuth,
}

impl std::fmt::Debug for Config {
    // The database URL carries a password and the Paystack key is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("nats_url", &self.nats_url)
            .field("paystack_base_url", &self.paystack_base_url.as_str())
            .field("paystack_timeout", &self.paystack_timeout)
            .field("identity_url", &self.identity_url)
            .field("listings_url", &self.listings_url)
            .field("lease_url", &self.lease_url)
            .field("contact_unlock_kobo", &self.contact_unlock_kobo)
            .field("callback_url", &self.callback_url.as_str())
            .field("reconcile_interval", &self.reconcile_interval)
            .field("abandon_after", &self.abandon_after)
            .field("port", &self.port)
            .field("peer_auth", &self.peer_auth)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads and validates every setting; the error names the first bad or missing one.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = TokenSettings::default();
        let callback = match config::optional("RENTORY_PAYMENTS_CALLBACK_URL") {
            Some(url) => url,
            None => default_callback(&config::or_default(
                "RENTORY_PUBLIC_URL",
                DEFAULT_PUBLIC_URL,
            )),
        };
        let millis = |name: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            let default = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
            Ok(Duration::from_millis(config::parse_or(name, default)?))
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
            paystack_secret_key: config::secret("PAYSTACK_SECRET_KEY")?,
            paystack_base_url: http_url(
                "PAYSTACK_BASE_URL",
                &config::or_default("PAYSTACK_BASE_URL", DEFAULT_PAYSTACK_BASE_URL),
            )?,
            paystack_timeout: millis("RENTORY_PAYSTACK_TIMEOUT_MS", DEFAULT_PAYSTACK_TIMEOUT)?,
            paystack_max_attempts: config::parse_or(
                "RENTORY_PAYSTACK_MAX_ATTEMPTS",
                DEFAULT_PAYSTACK_MAX_ATTEMPTS,
            )?,
            identity_url: config::or_default("RENTORY_IDENTITY_URL", DEFAULT_IDENTITY_URL),
            listings_url: config::or_default("RENTORY_LISTINGS_URL", DEFAULT_LISTINGS_URL),
            lease_url: config::or_default("RENTORY_LEASE_URL", DEFAULT_LEASE_URL),
            contact_unlock_kobo: config::parse_or(
                "RENTORY_CONTACT_UNLOCK_KOBO",
                DEFAULT_CONTACT_UNLOCK_KOBO,
            )?,
            callback_url: http_url("RENTORY_PAYMENTS_CALLBACK_URL", &callback)?,
            payout_percentage_charge: config::parse_or("RENTORY_PAYOUT_PERCENTAGE_CHARGE", 0.0)?,
            reconcile_interval: millis(
                "RENTORY_PAYMENTS_RECONCILE_INTERVAL_MS",
                DEFAULT_RECONCILE_INTERVAL,
            )?,
            verify_backoff: millis("RENTORY_PAYMENTS_VERIFY_BACKOFF_MS", DEFAULT_VERIFY_BACKOFF)?,
            abandon_after: Duration::from_secs(config::parse_or(
                "RENTORY_PAYMENTS_ABANDON_AFTER_SECS",
                DEFAULT_ABANDON_AFTER.as_secs(),
            )?),
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
        if self.contact_unlock_kobo <= 0 {
            return invalid("RENTORY_CONTACT_UNLOCK_KOBO", "must be positive");
        }
        if self.paystack_timeout.is_zero() {
            return invalid("RENTORY_PAYSTACK_TIMEOUT_MS", "must be at least 1");
        }
        if self.paystack_max_attempts == 0 {
            return invalid("RENTORY_PAYSTACK_MAX_ATTEMPTS", "must be at least 1");
        }
        if !(0.0..=100.0).contains(&self.payout_percentage_charge) {
            return invalid("RENTORY_PAYOUT_PERCENTAGE_CHARGE", "between 0 and 100");
        }
        if self.reconcile_interval.is_zero() {
            return invalid(
                "RENTORY_PAYMENTS_RECONCILE_INTERVAL_MS",
                "must be at least 1",
            );
        }
        if self.verify_backoff.is_zero() {
            return invalid("RENTORY_PAYMENTS_VERIFY_BACKOFF_MS", "must be at least 1");
        }
        if self.abandon_after.is_zero() {
            return invalid("RENTORY_PAYMENTS_ABANDON_AFTER_SECS", "must be at least 1");
        }
        Ok(())
    }

    /// A configuration for tests and the in-process stack: Paystack (or a compatible
    /// server) at `paystack_base_url` with `paystack_secret_key`, payers sent back to
    /// `{public_url}/payments/callback`. The lease service is at its default address; a stack
    /// that runs it elsewhere sets `lease_url`.
    #[allow(clippy::too_many_arguments)]
    pub fn local(
        database_url: SecretString,
        nats_url: String,
        jwt_public_key: String,
        paystack_base_url: Url,
        paystack_secret_key: SecretString,
        identity_url: String,
        listings_url: String,
        public_url: &str,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            database_url,
            database_max_connections: DEFAULT_DB_MAX_CONNECTIONS,
            nats_url,
            jwt_public_key,
            token_settings: TokenSettings::default(),
            paystack_secret_key,
            paystack_base_url,
            paystack_timeout: DEFAULT_PAYSTACK_TIMEOUT,
            paystack_max_attempts: DEFAULT_PAYSTACK_MAX_ATTEMPTS,
            identity_url,
            listings_url,
            lease_url: DEFAULT_LEASE_URL.to_owned(),
            contact_unlock_kobo: DEFAULT_CONTACT_UNLOCK_KOBO,
            callback_url: http_url("RENTORY_PUBLIC_URL", &default_callback(public_url))?,
            payout_percentage_charge: 0.0,
            reconcile_interval: DEFAULT_RECONCILE_INTERVAL,
            verify_backoff: DEFAULT_VERIFY_BACKOFF,
            abandon_after: DEFAULT_ABANDON_AFTER,
            port: DEFAULT_PORT,
            peer_auth: PeerAuth::None,
        })
    }
}

/// The gateway route that tells a payer back from the checkout to return to the app.
fn default_callback(public_url: &str) -> String {
    format!("{}/payments/callback", public_url.trim_end_matches('/'))
}

/// An absolute http(s) URL, or an error naming `name`.
fn http_url(name: &'static str, text: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { name, reason };
    let url = Url::parse(text.trim()).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(invalid("must be an absolute http(s) URL".into()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_callback_defaults_to_the_gateways_route() {
        assert_eq!(
            default_callback("https://api.rentory.ng/"),
            "https://api.rentory.ng/payments/callback"
        );
        assert!(http_url("X", "ftp://x/").is_err());
        assert!(http_url("X", "not a url").is_err());
        assert_eq!(
            http_url("X", " https://api.paystack.co ").unwrap().as_str(),
            "https://api.paystack.co/"
        );
    }

    #[test]
    fn local_settings_validate_and_bad_ones_name_their_variable() {
        let mut config = Config::local(
            SecretString::from("postgres://x"),
            DEFAULT_NATS_URL.into(),
            "pem".into(),
            Url::parse("http://127.0.0.1:1").unwrap(),
            SecretString::from("sk_test_x"),
            DEFAULT_IDENTITY_URL.into(),
            DEFAULT_LISTINGS_URL.into(),
            DEFAULT_PUBLIC_URL,
        )
        .unwrap();
        assert!(config.validate().is_ok());
        assert_eq!(config.lease_url, DEFAULT_LEASE_URL);
        assert_eq!(
            config.callback_url.as_str(),
            "http://127.0.0.1:8080/payments/callback"
        );
        config.contact_unlock_kobo = 0;
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("RENTORY_CONTACT_UNLOCK_KOBO"), "{error}");
        config.contact_unlock_kobo = 1;
        config.payout_percentage_charge = 101.0;
        assert!(config.validate().is_err());
        // The key stays out of Debug output.
        assert!(!format!("{config:?}").contains("sk_test_x"));
    }
}
