//! The payments service (ARCHITECTURE.md, section 1): money through Paystack, held to the
//! strictest bar in the project: nothing granted twice, nothing granted unpaid, nothing
//! lost.
//!
//! - [`checkout`]: contact unlocks and rent start as one PENDING [`transaction`] per payer
//!   and property (or lease), stored before Paystack's checkout is asked for.
//! - [`settlement`]: Paystack's verify decides ([`settlement::decision`], pure); the grant
//!   is one conditional UPDATE committed with its [`audit`] row and the outbox's
//!   `rentory.payments.transaction.succeeded`.
//! - [`webhook`]: signed webhooks are stored, answered, then worked on from the stored row.
//! - [`reconciler`]: pending transactions nobody settled are verified again with backoff,
//!   and abandoned after a while.
//! - [`payout`]: landlords' bank accounts as Paystack subaccounts; [`rent`]: what a lease's
//!   tenant owes, from the lease service, and the rule for paying it.
//!
//! Owns the Postgres schema `payments` (`migrations/payments`). The Paystack client is
//! always the real one: only `PAYSTACK_BASE_URL` and `PAYSTACK_SECRET_KEY` point it at
//! Paystack or at a compatible server (the local checkout simulator, a test's fake).

pub mod audit;
pub mod checkout;
mod config;
mod error;
pub mod payout;
pub mod reconciler;
pub mod rent;
pub mod service;
pub mod settlement;
pub mod transaction;
pub mod webhook;

use std::time::Duration;

use rentory_auth::TokenVerifier;
use rentory_events::{Relay, StreamSettings};
use rentory_paystack::{ClientConfig, PaystackClient};
use rentory_proto::identity::v1::identity_service_client::IdentityServiceClient;
use rentory_proto::lease::v1::leases_client::LeasesClient;
use rentory_proto::listings::v1::listings_client::ListingsClient;
use rentory_proto::payments::v1::payments_server::PaymentsServer;
use rentory_runtime::grpc;
use rentory_runtime::{CancellationToken, db};
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

pub use config::{
    Config, DEFAULT_ABANDON_AFTER, DEFAULT_CONTACT_UNLOCK_KOBO, DEFAULT_LEASE_URL,
    DEFAULT_PAYSTACK_BASE_URL, DEFAULT_PORT,
};
pub use error::Error;
pub use service::PaymentsApi;

/// The schema this service owns.
pub const SCHEMA: &str = "payments";

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/payments");

/// Webhook ids waiting for the worker; beyond this the periodic sweep picks them up.
const WAKE_CAPACITY: usize = 1024;

/// Longest one Paystack call can take with its retries: every attempt timing out, with
/// the doubling pauses between them, and a second to spare.
pub fn paystack_budget(config: &Config) -> Duration {
    let attempts = config.paystack_max_attempts.max(1);
    let pauses = ClientConfig::DEFAULT_RETRY_BACKOFF.saturating_mul((1 << attempts.min(16)) - 1);
    config
        .paystack_timeout
        .saturating_mul(attempts)
        .saturating_add(pauses)
        .saturating_add(Duration::from_secs(1))
}

/// Connects, migrates, starts the outbox relay, the webhook worker and the reconciler,
/// and serves gRPC (Payments and the standard health service) on `listener` until
/// `shutdown`.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    config.validate()?;
    let verifier =
        TokenVerifier::new(&config.jwt_public_key, &config.token_settings).map_err(Error::Key)?;
    let paystack = PaystackClient::new(ClientConfig {
        timeout: config.paystack_timeout,
        max_attempts: config.paystack_max_attempts,
        ..ClientConfig::new(
            config.paystack_base_url.clone(),
            config.paystack_secret_key.clone(),
        )
    })
    .map_err(Error::PaystackClient)?;
    // Channels connect lazily: identity, listings and lease may start after us.
    let identity =
        IdentityServiceClient::new(grpc::channel(&config.identity_url, &config.peer_auth)?);
    let listings = ListingsClient::new(grpc::channel(&config.listings_url, &config.peer_auth)?);
    let leases = rent::Leases::new(LeasesClient::new(grpc::channel(
        &config.lease_url,
        &config.peer_auth,
    )?));

    let pool = db::connect(
        &config.database_url,
        SCHEMA,
        config.database_max_connections,
    )
    .await?;
    db::migrate(&pool, SCHEMA, &MIGRATOR).await?;
    // Stops the background tasks however serving ends.
    let background = shutdown.child_token();
    let _stop_background = background.clone().drop_guard();
    // NATS is not a start-up dependency: events wait in the outbox meanwhile.
    let js = rentory_events::connect(&config.nats_url, StreamSettings::default(), &background)
        .await
        .map_err(Error::Nats)?;
    let relay = Relay::new(pool.clone(), js, SCHEMA).spawn(background.clone());

    let budget = paystack_budget(&config);
    let settler = settlement::Settler::new(
        pool.clone(),
        paystack.clone(),
        config.verify_backoff,
        config.abandon_after,
    );
    let (wake, woken) = tokio::sync::mpsc::channel(WAKE_CAPACITY);
    let inbox = webhook::Inbox::new(pool.clone(), config.paystack_secret_key.clone(), wake);
    let worker = webhook::Worker::new(
        pool.clone(),
        settler.clone(),
        woken,
        config.reconcile_interval,
        budget.saturating_mul(2),
    )
    .spawn(background.clone());
    let reconciler = reconciler::Reconciler::new(
        pool.clone(),
        settler.clone(),
        config.reconcile_interval,
        budget.saturating_mul(2),
    )
    .spawn(background.clone());
    let checkouts = checkout::Checkouts::new(
        pool.clone(),
        paystack.clone(),
        config.callback_url.clone(),
        budget,
        config.verify_backoff,
    );

    let api = PaymentsApi::new(service::Parts {
        pool: pool.clone(),
        verifier,
        identity,
        listings,
        leases,
        paystack,
        checkouts,
        settler,
        inbox,
        contact_unlock_kobo: config.contact_unlock_kobo,
        payout_percentage_charge: config.payout_percentage_charge,
        paystack_budget: budget,
    });
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<PaymentsServer<PaymentsApi>>().await;
    let router = grpc::server()
        .add_service(health_service)
        .add_service(PaymentsServer::new(api));
    let served = grpc::serve(router, listener, shutdown).await;

    background.cancel();
    let _ = tokio::join!(relay, worker, reconciler);
    pool.close().await;
    served.map_err(Error::from)
}
