//! Google-signed ID tokens from the metadata server, cached per audience.
//!
//! The token is ours (the metadata server mints it for this instance's service account), so
//! its payload is read without verifying the signature: only `exp` matters here, to know
//! when to fetch the next one. The callee's Cloud Run front end does the verifying.

use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderValue;

/// Where the metadata server lives on Google Cloud when `GCE_METADATA_HOST` is unset.
pub const DEFAULT_METADATA_HOST: &str = "metadata.google.internal";
const IDENTITY_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/identity";
/// The metadata server sits beside the instance and answers in milliseconds; an RPC should
/// fail fast rather than wait on it.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// A token is replaced this long before its `exp`, so none expires between being attached
/// and being checked, whatever the clock skew between us and Cloud Run's front end.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Google ID tokens live one hour; one whose `exp` cannot be read is used for 55 minutes.
pub const FALLBACK_LIFETIME: Duration = Duration::from_secs(55 * 60);
/// How much of an error body goes into the log line.
const BODY_EXCERPT_CHARS: usize = 200;

/// Why no token could be had; cloned to every caller that waited on the same fetch.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IdTokenError {
    #[error("metadata server at {endpoint} did not answer: {reason}")]
    Unreachable { endpoint: String, reason: String },
    #[error("metadata server refused an ID token for {audience} with HTTP {status}: {body}")]
    Refused {
        audience: String,
        status: u16,
        body: String,
    },
    #[error("metadata server returned an empty or unusable ID token for {audience}")]
    Malformed { audience: String },
}

/// The token for one audience, the last fetch's failure, and the one fetch in flight.
pub struct AudienceToken {
    audience: String,
    endpoint: String,
    http: reqwest::Client,
    current: RwLock<Option<Cached>>,
    /// Completed fetches; a caller that saw a different count before queueing for the
    /// refresh lock knows a fetch finished while it waited, and takes that fetch's outcome.
    fetches: AtomicU64,
    /// Held across a fetch, so concurrent first calls make one request; holds the last
    /// fetch's error for the callers that queued behind it.
    refresh: tokio::sync::Mutex<Option<IdTokenError>>,
}

#[derive(Clone)]
struct Cached {
    header: HeaderValue,
    refresh_at: Instant,
}

impl std::fmt::Debug for AudienceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudienceToken")
            .field("audience", &self.audience)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl AudienceToken {
    /// `metadata_host` is `host[:port]`, as `GCE_METADATA_HOST` gives it.
    pub fn new(http: reqwest::Client, metadata_host: &str, audience: String) -> Self {
        Self {
            audience,
            endpoint: format!("http://{metadata_host}{IDENTITY_PATH}"),
            http,
            current: RwLock::new(None),
            fetches: AtomicU64::new(0),
            refresh: tokio::sync::Mutex::new(None),
        }
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// `Bearer <ID token>`, from the cache while it is fresh, else from the metadata server.
    pub async fn bearer(&self) -> Result<HeaderValue, IdTokenError> {
        if let Some(header) = self.fresh() {
            return Ok(header);
        }
        let seen = self.fetches.load(Ordering::Acquire);
        let mut last_failure = self.refresh.lock().await;
        if let Some(header) = self.fresh() {
            return Ok(header);
        }
        if self.fetches.load(Ordering::Acquire) != seen
            && let Some(failure) = last_failure.as_ref()
        {
            return Err(failure.clone());
        }
        let fetched = self.fetch().await;
        self.fetches.fetch_add(1, Ordering::Release);
        match fetched {
            Ok(cached) => {
                let header = cached.header.clone();
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(cached);
                *last_failure = None;
                Ok(header)
            }
            Err(failure) => {
                *last_failure = Some(failure.clone());
                Err(failure)
            }
        }
    }

    fn fresh(&self) -> Option<HeaderValue> {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        current
            .as_ref()
            .filter(|cached| Instant::now() < cached.refresh_at)
            .map(|cached| cached.header.clone())
    }

    async fn fetch(&self) -> Result<Cached, IdTokenError> {
        let unreachable = |e: reqwest::Error| IdTokenError::Unreachable {
            endpoint: self.endpoint.clone(),
            reason: crate::error_chain(&e),
        };
        let response = self
            .http
            .get(&self.endpoint)
            .query(&[("audience", self.audience.as_str()), ("format", "full")])
            .header("Metadata-Flavor", "Google")
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let body = response.text().await.map_err(unreachable)?;
        if !status.is_success() {
            return Err(IdTokenError::Refused {
                audience: self.audience.clone(),
                status: status.as_u16(),
                body: body.chars().take(BODY_EXCERPT_CHARS).collect(),
            });
        }
        let token = body.trim();
        let malformed = || IdTokenError::Malformed {
            audience: self.audience.clone(),
        };
        if token.is_empty() {
            return Err(malformed());
        }
        let mut header =
            HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| malformed())?;
        header.set_sensitive(true);
        let lifetime = usable_for(expiry_of(token), unix_now());
        Ok(Cached {
            header,
            refresh_at: Instant::now() + lifetime,
        })
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The `exp` claim (seconds since the epoch) of a JWT, read without verifying it.
pub fn expiry_of(jwt: &str) -> Option<u64> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    // NumericDate may carry a fraction (RFC 7519 §2); whole seconds are enough here.
    exp.as_u64().or_else(|| {
        exp.as_f64()
            .filter(|e| e.is_finite() && *e >= 0.0)
            .map(|e| e as u64)
    })
}

/// How long a token fetched at `now` (seconds since the epoch) may be attached to calls.
pub fn usable_for(exp: Option<u64>, now: u64) -> Duration {
    match exp {
        Some(exp) => Duration::from_secs(exp.saturating_sub(now)).saturating_sub(REFRESH_MARGIN),
        None => FALLBACK_LIFETIME,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.c2lnbmF0dXJl",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn exp_is_read_from_the_payload() {
        let token = jwt(r#"{"aud":"https://lease-abc.a.run.app","exp":1764000000}"#);
        assert_eq!(expiry_of(&token), Some(1_764_000_000));
        assert_eq!(
            expiry_of(&jwt(r#"{"exp":1764000000.75}"#)),
            Some(1_764_000_000)
        );
    }

    #[test]
    fn a_token_without_a_readable_exp_has_none() {
        assert_eq!(expiry_of(&jwt(r#"{"aud":"x"}"#)), None);
        assert_eq!(expiry_of(&jwt(r#"{"exp":"soon"}"#)), None);
        assert_eq!(expiry_of(&jwt(r#"{"exp":-5}"#)), None);
        assert_eq!(expiry_of("not-a-jwt"), None);
        assert_eq!(expiry_of("a.%%%.c"), None);
        assert_eq!(
            expiry_of(&format!("a.{}.c", URL_SAFE_NO_PAD.encode("[1]"))),
            None
        );
    }

    #[test]
    fn padded_payloads_are_read_too() {
        let payload = base64::engine::general_purpose::URL_SAFE.encode(r#"{"exp":17}"#);
        assert!(payload.ends_with('='));
        assert_eq!(expiry_of(&format!("h.{payload}.s")), Some(17));
    }

    #[test]
    fn a_token_is_used_until_shortly_before_it_expires() {
        let now = 1_764_000_000;
        assert_eq!(
            usable_for(Some(now + 3600), now),
            Duration::from_secs(3600) - REFRESH_MARGIN
        );
        // Inside the margin, or already expired: fetch again on the next call.
        assert_eq!(usable_for(Some(now + 60), now), Duration::ZERO);
        assert_eq!(usable_for(Some(now - 60), now), Duration::ZERO);
        assert_eq!(usable_for(None, now), FALLBACK_LIFETIME);
    }
}
