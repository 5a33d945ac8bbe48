//! A local stand-in for Paystack, so Rentory runs with no keys and no network: the slice
//! of its API the payments service uses (`POST /transaction/initialize`,
//! `GET /transaction/verify/:reference`, `POST /refund`, `POST /subaccount`, all behind
//! `Authorization: Bearer <secret key>`), Paystack's envelope and field names so the real
//! [`rentory_paystack::PaystackClient`] talks to it unchanged, and a checkout page at
//! `authorization_url` (`/checkout/:access_code`): GET shows the amount, POST
//! `action=pay` settles it and sends a signed `charge.success` webhook down the same path
//! as a real one, `action=decline` fails it (no webhook, as Paystack sends none).
//!
//! **A development tool.** Everything lives in memory: a restart forgets every open
//! checkout and transaction. Never point production at it.
//!
//! Webhooks are signed with the configured secret key (HMAC-SHA512, hex, in
//! `x-paystack-signature`) over the exact bytes sent and retried in the background while
//! the receiver fails: first after [`WEBHOOK_FIRST_RETRY`], doubling up to
//! [`WEBHOOK_MAX_PAUSE`], for at most [`WEBHOOK_GIVE_UP_AFTER`].

mod api;
mod checkout;
mod delivery;
mod ledger;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::routing::{get, post};
use rentory_runtime::CancellationToken;
use secrecy::{ExposeSecret as _, SecretString};
use tokio::net::TcpListener;
use url::Url;

pub use delivery::{
    WEBHOOK_ATTEMPT_TIMEOUT, WEBHOOK_FIRST_RETRY, WEBHOOK_GIVE_UP_AFTER, WEBHOOK_MAX_PAUSE,
};
pub use ledger::MAX_TRANSACTIONS;

use crate::delivery::Webhooks;
use crate::ledger::Ledger;

/// The documented development key: the simulator's default, and what the payments
/// service uses (as `PAYSTACK_SECRET_KEY`) when it talks to the simulator. Not a secret.
pub const DEV_SECRET_KEY: &str = "sk_test_rentory_checkout_simulator";

#[derive(Clone)]
pub struct SimulatorConfig {
    /// Required as the bearer of every API call, and the webhook signing key.
    pub secret_key: SecretString,
    /// Where `charge.success` is POSTed (the gateway's `/webhooks/paystack`).
    pub webhook_url: Url,
    /// The simulator's own base URL as a browser reaches it; `authorization_url` is
    /// `<public_url>/checkout/<access_code>`.
    pub public_url: Url,
}

impl SimulatorConfig {
    /// With [`DEV_SECRET_KEY`].
    pub fn local(webhook_url: Url, public_url: Url) -> Self {
        Self {
            secret_key: SecretString::from(DEV_SECRET_KEY),
            webhook_url,
            public_url,
        }
    }
}

impl fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("secret_key", &"[REDACTED]")
            .field("webhook_url", &self.webhook_url.as_str())
            .field("public_url", &self.public_url.as_str())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    #[error("checkout simulator configuration: {0}")]
    Config(String),
    #[error("checkout simulator cannot build its webhook client")]
    WebhookClient(#[source] reqwest::Error),
    #[error("the checkout simulator's HTTP server failed")]
    Serve(#[source] std::io::Error),
}

/// Shared by every handler.
#[derive(Clone)]
pub(crate) struct Simulator {
    ledger: Arc<Mutex<Ledger>>,
    secret_key: SecretString,
    public_url: Url,
    webhooks: Webhooks,
}

impl Simulator {
    /// The ledger, locked. No handler holds it across an await.
    pub(crate) fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A panic while holding the lock leaves the maps consistent (every change is a
        // single insert or field write), so carrying on is safe.
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn checkout_url(&self, access_code: &str) -> Url {
        let mut url = self.public_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("checkout").push(access_code);
        }
        url
    }
}

fn check_http_url(name: &str, url: &Url) -> Result<(), SimulatorError> {
    if matches!(url.scheme(), "http" | "https") && url.has_host() {
        Ok(())
    } else {
        Err(SimulatorError::Config(format!(
            "{name} {url} is not an http(s) URL"
        )))
    }
}

fn router(simulator: Simulator) -> Router {
    let paystack = Router::new()
        .route("/transaction/initialize", post(api::initialize))
        .route("/transaction/verify/{reference}", get(api::verify))
        .route("/refund", post(api::refund))
        .route("/subaccount", post(api::create_subaccount))
        .route_layer(axum::middleware::from_fn_with_state(
            simulator.clone(),
            api::require_secret_key,
        ));
    Router::new()
        .route(
            "/checkout/{access_code}",
            get(checkout::show).post(checkout::settle),
        )
        .merge(paystack)
        .fallback(api::not_found)
        .with_state(simulator)
}

/// Serves the simulator on `listener` until `shutdown` is cancelled; webhook deliveries
/// still being retried then stop.
pub async fn serve(
    config: SimulatorConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), SimulatorError> {
    if config.secret_key.expose_secret().trim().is_empty() {
        return Err(SimulatorError::Config("secret key is empty".into()));
    }
    check_http_url("webhook URL", &config.webhook_url)?;
    check_http_url("public URL", &config.public_url)?;
    let webhooks = Webhooks::new(
        config.webhook_url.clone(),
        config.secret_key.clone(),
        shutdown.clone(),
    )
    .map_err(SimulatorError::WebhookClient)?;
    let simulator = Simulator {
        ledger: Arc::new(Mutex::new(Ledger::new(time::OffsetDateTime::now_utc()))),
        secret_key: config.secret_key,
        public_url: config.public_url,
        webhooks: webhooks.clone(),
    };
    let addr = listener.local_addr().ok();
    tracing::info!(
        ?addr,
        public_url = %simulator.public_url,
        webhook_url = %config.webhook_url,
        "checkout simulator listening (development only; state is in memory)"
    );
    let served = axum::serve(listener, router(simulator))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .map_err(SimulatorError::Serve);
    webhooks.drain().await;
    tracing::info!(?addr, "checkout simulator stopped");
    served
}
