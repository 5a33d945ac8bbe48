//! Webhook deliveries: each one signed over the exact bytes sent and retried in the
//! background until the receiver answers 2xx or the time is up, as Paystack does.

use std::time::Duration;

use bytes::Bytes;
use rentory_paystack::webhook;
use rentory_runtime::CancellationToken;
use reqwest::header::CONTENT_TYPE;
use secrecy::{ExposeSecret as _, SecretString};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;
use url::Url;

/// Pause after the first failed delivery; doubled after each later one.
pub const WEBHOOK_FIRST_RETRY: Duration = Duration::from_millis(500);
/// The longest pause between two deliveries of one event.
pub const WEBHOOK_MAX_PAUSE: Duration = Duration::from_secs(60);
/// No attempt starts later than this after the first one.
pub const WEBHOOK_GIVE_UP_AFTER: Duration = Duration::from_secs(15 * 60);
/// One delivery attempt: connect, send, and get the receiver's status.
pub const WEBHOOK_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The pause before delivery number `attempt + 1`.
pub(crate) fn pause_after(attempt: u32) -> Duration {
    WEBHOOK_FIRST_RETRY
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(WEBHOOK_MAX_PAUSE)
}

#[derive(Clone)]
pub(crate) struct Webhooks {
    http: reqwest::Client,
    url: Url,
    secret_key: SecretString,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Webhooks {
    pub(crate) fn new(
        url: Url,
        secret_key: SecretString,
        shutdown: CancellationToken,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(WEBHOOK_ATTEMPT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "rentory-checkout-simulator/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()?;
        Ok(Self {
            http,
            url,
            secret_key,
            shutdown,
            tasks: TaskTracker::new(),
        })
    }

    /// Delivers `body` in the background.
    pub(crate) fn send(&self, reference: String, body: Bytes) {
        let this = self.clone();
        self.tasks
            .spawn(async move { this.deliver(&reference, body).await });
    }

    /// Waits for the deliveries under way; they stop at their next step once `shutdown`
    /// is cancelled.
    pub(crate) async fn drain(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }

    async fn deliver(&self, reference: &str, body: Bytes) {
        let signature = webhook::sign(self.secret_key.expose_secret().as_bytes(), &body);
        let started = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let request = self
                .http
                .post(self.url.clone())
                .header(CONTENT_TYPE, "application/json")
                .header(webhook::SIGNATURE_HEADER, &signature)
                .body(body.clone())
                .send();
            let outcome = tokio::select! {
                () = self.shutdown.cancelled() => {
                    tracing::warn!(reference, attempt, "webhook delivery abandoned at shutdown");
                    return;
                }
                outcome = request => outcome,
            };
            match outcome {
                Ok(response) if response.status().is_success() => {
                    tracing::info!(
                        reference,
                        attempt,
                        status = response.status().as_u16(),
                        "webhook delivered"
                    );
                    return;
                }
                Ok(response) => {
                    tracing::warn!(
                        reference,
                        attempt,
                        status = response.status().as_u16(),
                        "webhook refused; will retry"
                    );
                }
                Err(error) => {
                    tracing::warn!(reference, attempt, error = %error.without_url(), "webhook not delivered; will retry");
                }
            }
            let pause = pause_after(attempt);
            if started.elapsed() + pause > WEBHOOK_GIVE_UP_AFTER {
                tracing::error!(reference, attempts = attempt, "webhook given up");
                return;
            }
            tokio::select! {
                () = self.shutdown.cancelled() => {
                    tracing::warn!(reference, attempt, "webhook delivery abandoned at shutdown");
                    return;
                }
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_from_half_a_second_up_to_a_minute() {
        assert_eq!(pause_after(1), Duration::from_millis(500));
        assert_eq!(pause_after(2), Duration::from_secs(1));
        assert_eq!(pause_after(3), Duration::from_secs(2));
        assert_eq!(pause_after(8), Duration::from_secs(60));
        assert_eq!(pause_after(100), Duration::from_secs(60));
        let retries_in_window = (1..)
            .scan(Duration::ZERO, |elapsed, attempt| {
                *elapsed += pause_after(attempt);
                (*elapsed <= WEBHOOK_GIVE_UP_AFTER).then_some(attempt)
            })
            .count();
        assert_eq!(
            retries_in_window, 20,
            "retries within 15 minutes of the first delivery"
        );
    }
}
