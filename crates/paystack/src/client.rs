use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::ExposeSecret as _;
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use crate::error::PaystackError;
use crate::types::{
    ClientConfig, InitializeRequest, Initialized, Refund, RefundRequest, Subaccount,
    SubaccountRequest, VerifiedTransaction,
};
use crate::wire;

/// Paystack's answers are small JSON documents; anything bigger is not one.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Doubling stops growing the pause here.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Paystack REST client. Cheap to clone: clones share the connection pool and settings.
#[derive(Clone)]
pub struct PaystackClient {
    http: reqwest::Client,
    inner: Arc<Inner>,
}

struct Inner {
    base_url: Url,
    authorization: HeaderValue,
    timeout: Duration,
    max_attempts: u32,
    retry_backoff: Duration,
}

impl fmt::Debug for PaystackClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaystackClient")
            .field("base_url", &self.inner.base_url.as_str())
            .field("timeout", &self.inner.timeout)
            .field("max_attempts", &self.inner.max_attempts)
            .finish_non_exhaustive()
    }
}

/// How one HTTP exchange ended, before its body is interpreted.
enum Exchange {
    Answered { status: u16, body: Bytes },
    TooLarge { status: u16 },
    TimedOut,
    Failed(String),
}

impl PaystackClient {
    pub fn new(config: ClientConfig) -> Result<Self, PaystackError> {
        let ClientConfig {
            mut base_url,
            secret_key,
            timeout,
            max_attempts,
            retry_backoff,
        } = config;
        let key = secret_key.expose_secret().trim();
        if key.is_empty() {
            return Err(PaystackError::Config("secret key is empty".into()));
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {key}"))
            .map_err(|_| PaystackError::Config("secret key is not a valid header value".into()))?;
        authorization.set_sensitive(true);

        if !matches!(base_url.scheme(), "http" | "https") || !base_url.has_host() {
            return Err(PaystackError::Config(format!(
                "base URL {base_url} is not an http(s) URL"
            )));
        }
        // Without a trailing slash, `join` would replace the base's last path segment.
        if !base_url.path().ends_with('/') {
            let path = format!("{}/", base_url.path());
            base_url.set_path(&path);
        }
        if max_attempts == 0 {
            return Err(PaystackError::Config(
                "max_attempts must be at least 1".into(),
            ));
        }
        if timeout.is_zero() {
            return Err(PaystackError::Config("timeout must be positive".into()));
        }

        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            // An API answer that redirects is not an answer; never follow it with our key.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rentory-paystack/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PaystackError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            inner: Arc::new(Inner {
                base_url,
                authorization,
                timeout,
                max_attempts,
                retry_backoff,
            }),
        })
    }

    /// `POST /transaction/initialize`: a checkout for `request.amount_kobo` NGN kobo.
    ///
    /// Retried like every call: the reference makes a repeat harmless, and a repeat that
    /// reaches Paystack after the first one did answers `Rejected` "Duplicate Transaction
    /// Reference" ([`PaystackError::is_duplicate_reference`]); verify the reference then.
    #[tracing::instrument(name = "paystack.initialize", skip_all, fields(reference = %request.reference))]
    pub async fn initialize(
        &self,
        request: &InitializeRequest,
    ) -> Result<Initialized, PaystackError> {
        let body = wire::initialize_body(request)?;
        self.post("transaction/initialize", &body, |answer| {
            wire::initialized(answer, &request.reference)
        })
        .await
    }

    /// `GET /transaction/verify/:reference`: the transaction as Paystack has it now.
    /// Unknown references are `NotFound`.
    #[tracing::instrument(name = "paystack.verify", skip_all, fields(reference = %reference))]
    pub async fn verify(&self, reference: &str) -> Result<VerifiedTransaction, PaystackError> {
        if reference.is_empty() {
            return Err(PaystackError::Rejected {
                status: 400,
                message: "not sent: reference is empty".into(),
            });
        }
        let mut url = self.endpoint("transaction/verify/")?;
        url.path_segments_mut()
            .map_err(|()| PaystackError::Config("base URL cannot have a path".into()))?
            .pop_if_empty()
            .push(reference);
        let (status, answer) = self.call(Method::GET, url, None).await?;
        if (400..=499).contains(&status) && wire::is_unknown_reference(status, &answer) {
            return Err(PaystackError::NotFound(reference.to_owned()));
        }
        read(status, &answer, |answer| wire::verified(answer, reference))
    }

    /// `POST /refund`: all of a transaction, or `amount_kobo` of it.
    #[tracing::instrument(name = "paystack.refund", skip_all, fields(transaction = %request.transaction))]
    pub async fn refund(&self, request: &RefundRequest) -> Result<Refund, PaystackError> {
        let body = wire::refund_body(request)?;
        self.post("refund", &body, |answer| wire::refunded(answer, request))
            .await
    }

    /// `POST /subaccount`: a settlement account that split payments can pay into.
    #[tracing::instrument(name = "paystack.create_subaccount", skip_all)]
    pub async fn create_subaccount(
        &self,
        request: &SubaccountRequest,
    ) -> Result<Subaccount, PaystackError> {
        let body = wire::subaccount_body(request)?;
        self.post("subaccount", &body, wire::subaccount).await
    }

    async fn post<T>(
        &self,
        path: &str,
        body: &Value,
        validate: impl FnOnce(&[u8]) -> Result<T, PaystackError>,
    ) -> Result<T, PaystackError> {
        let url = self.endpoint(path)?;
        let (status, answer) = self.call(Method::POST, url, Some(body)).await?;
        read(status, &answer, validate)
    }

    fn endpoint(&self, path: &str) -> Result<Url, PaystackError> {
        self.inner
            .base_url
            .join(path)
            .map_err(|e| PaystackError::Config(format!("endpoint {path}: {e}")))
    }

    /// Sends the request until an answer that is not a 5xx comes back, or the attempts run
    /// out on timeouts, connection failures and 5xx answers.
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<(u16, Bytes), PaystackError> {
        let body = match body {
            Some(body) => Some(Bytes::from(serde_json::to_vec(body).map_err(|e| {
                PaystackError::Config(format!("request body cannot be encoded: {e}"))
            })?)),
            None => None,
        };
        let path = url.path().to_owned();
        let max_attempts = self.inner.max_attempts;
        let mut every_attempt_timed_out = true;
        let mut last_failure = String::new();
        for attempt in 1..=max_attempts {
            if attempt > 1 {
                tokio::time::sleep(backoff(self.inner.retry_backoff, attempt - 1)).await;
            }
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, self.inner.authorization.clone())
                .header(ACCEPT, "application/json");
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let started = Instant::now();
            let exchange = exchange(request, self.inner.timeout).await;
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            match exchange {
                Exchange::Answered { status, body } if status >= 500 => {
                    tracing::warn!(%method, path, status, attempt, elapsed_ms, "paystack call failed");
                    every_attempt_timed_out = false;
                    last_failure = format!("HTTP {status}: {}", wire::error_message(status, &body));
                }
                Exchange::Answered { status, body } => {
                    tracing::info!(%method, path, status, attempt, elapsed_ms, "paystack call");
                    return Ok((status, body));
                }
                Exchange::TooLarge { status } => {
                    tracing::warn!(%method, path, status, attempt, elapsed_ms, "paystack answer too large");
                    return Err(PaystackError::Invalid(format!(
                        "HTTP {status} answer over {MAX_RESPONSE_BYTES} bytes"
                    )));
                }
                Exchange::TimedOut => {
                    tracing::warn!(%method, path, attempt, elapsed_ms, "paystack call timed out");
                    last_failure = format!("timed out after {:?}", self.inner.timeout);
                }
                Exchange::Failed(detail) => {
                    tracing::warn!(%method, path, attempt, elapsed_ms, error = %detail, "paystack call failed");
                    every_attempt_timed_out = false;
                    last_failure = detail;
                }
            }
        }
        Err(if every_attempt_timed_out {
            PaystackError::Timeout
        } else {
            PaystackError::Unavailable(format!("{max_attempts} attempts; last: {last_failure}"))
        })
    }
}

/// The pause before retry number `retry` (1 for the second attempt): `first`, doubled for
/// each later retry, at most [`MAX_BACKOFF`].
fn backoff(first: Duration, retry: u32) -> Duration {
    first
        .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
        .min(MAX_BACKOFF)
}

/// A final (non-5xx) answer: validated when 2xx, Paystack's refusal when 4xx, and never
/// trusted otherwise (redirects are not followed).
fn read<T>(
    status: u16,
    answer: &[u8],
    validate: impl FnOnce(&[u8]) -> Result<T, PaystackError>,
) -> Result<T, PaystackError> {
    match status {
        200..=299 => validate(answer),
        400..=499 => Err(PaystackError::Rejected {
            status,
            message: wire::error_message(status, answer),
        }),
        _ => Err(PaystackError::Invalid(format!(
            "unexpected HTTP status {status}"
        ))),
    }
}

/// One attempt: send, then read the whole body, all within `timeout`.
async fn exchange(request: reqwest::RequestBuilder, timeout: Duration) -> Exchange {
    let exchanged = async {
        let mut response = request.send().await.map_err(error_chain)?;
        let status = response.status().as_u16();
        if response
            .content_length()
            .is_some_and(|len| len > MAX_RESPONSE_BYTES as u64)
        {
            return Ok(Exchange::TooLarge { status });
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(error_chain)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Ok(Exchange::TooLarge { status });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Exchange::Answered {
            status,
            body: body.freeze(),
        })
    };
    match tokio::time::timeout(timeout, exchanged).await {
        Err(_) => Exchange::TimedOut,
        Ok(Ok(exchange)) => exchange,
        Ok(Err(detail)) => Exchange::Failed(detail),
    }
}

/// reqwest's top-level message alone ("error sending request") hides the cause. It never
/// holds a header, so the key cannot leak through it.
fn error_chain(error: reqwest::Error) -> String {
    rentory_runtime::error_chain(&error.without_url())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use secrecy::SecretString;

    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_pause_up_to_a_cap() {
        let first = Duration::from_millis(200);
        assert_eq!(backoff(first, 1), Duration::from_millis(200));
        assert_eq!(backoff(first, 2), Duration::from_millis(400));
        assert_eq!(backoff(first, 3), Duration::from_millis(800));
        assert_eq!(backoff(first, 40), MAX_BACKOFF);
    }

    fn config(base: &str, key: &str) -> ClientConfig {
        ClientConfig::new(Url::parse(base).unwrap(), SecretString::from(key))
    }

    #[test]
    fn unusable_settings_are_refused() {
        for (base, key) in [
            ("https://api.paystack.co", ""),
            ("https://api.paystack.co", "   "),
            ("https://api.paystack.co", "sk\ntest"),
            ("ftp://api.paystack.co", "sk_test_x"),
            ("mailto:a@b.c", "sk_test_x"),
        ] {
            let error = PaystackClient::new(config(base, key)).unwrap_err();
            assert!(matches!(error, PaystackError::Config(_)), "{base} {key:?}");
        }
        let mut zero = config("https://api.paystack.co", "sk_test_x");
        zero.max_attempts = 0;
        assert!(matches!(
            PaystackClient::new(zero),
            Err(PaystackError::Config(_))
        ));
    }

    #[test]
    fn endpoints_keep_the_base_path_and_debug_hides_the_key() {
        let client =
            PaystackClient::new(config("http://127.0.0.1:9/paystack", "sk_test_secret")).unwrap();
        assert_eq!(
            client.endpoint("transaction/initialize").unwrap().as_str(),
            "http://127.0.0.1:9/paystack/transaction/initialize"
        );
        assert!(!format!("{client:?}").contains("sk_test_secret"));
    }
}
