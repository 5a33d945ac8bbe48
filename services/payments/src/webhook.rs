//! Paystack webhooks: checked, stored, answered, then worked on from the stored row.
//!
//! [`Inbox::receive`] checks the HMAC-SHA512 signature over the raw bytes (constant time)
//! and writes nothing unless it is right; a signed delivery is stored once per event
//! identity (`ON CONFLICT DO NOTHING`) and answered at once. [`Worker`] takes stored events,
//! woken through an in-process channel and also sweeping unprocessed rows at start-up and
//! on a period, so a crash after the answer loses nothing. It never trusts the body's
//! amount or status: an event naming one of our references makes the settler ask
//! Paystack's verify.
//!
//! Both steps are counted in `rentory.payments.webhooks`: `stage` `received` with the
//! answer's outcome, `processed` with each processing attempt's (the stored `outcome`, or
//! `RETRY` for an attempt that failed and is tried again).

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ipnetwork::IpNetwork;
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use rentory_auth::RequestContext;
use rentory_paystack::webhook::{self, WebhookEvent};
use rentory_runtime::CancellationToken;
use rentory_runtime::telemetry;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::audit::{Cause, Source};
use crate::error::Error;
use crate::settlement::Settler;
use crate::transaction::{db as transactions, is_valid_reference};

/// Paystack's events are a few KiB; the gateway caps bodies at the same size.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Events worked on at once by one worker.
const CONCURRENCY: usize = 8;
/// Tries before an event that keeps failing is given up (and alerted).
const MAX_ATTEMPTS: i32 = 10;
/// Unprocessed events read per sweep.
const SWEEP_BATCH: i64 = 100;

static WEBHOOKS: LazyLock<Counter<u64>> = LazyLock::new(|| {
    telemetry::meter()
        .u64_counter("rentory.payments.webhooks")
        .with_unit("{webhook}")
        .with_description("Paystack webhooks received and processing attempts, by outcome")
        .build()
});

fn count(stage: &'static str, outcome: &'static str) {
    WEBHOOKS.add(
        1,
        &[
            KeyValue::new("stage", stage),
            KeyValue::new("outcome", outcome),
        ],
    );
}

/// The receiving side: signature check and storage.
#[derive(Clone)]
pub struct Inbox {
    pool: PgPool,
    secret_key: SecretString,
    wake: mpsc::Sender<Uuid>,
}

/// A stored delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub event_id: Uuid,
    /// Stored before: nothing new was written.
    pub duplicate: bool,
}

impl Inbox {
    pub fn new(pool: PgPool, secret_key: SecretString, wake: mpsc::Sender<Uuid>) -> Self {
        Self {
            pool,
            secret_key,
            wake,
        }
    }

    /// Stores a correctly signed delivery once and wakes the worker; anything unsigned,
    /// wrongly signed or oversized is refused with nothing written.
    #[tracing::instrument(skip_all, fields(bytes = body.len()))]
    pub async fn receive(
        &self,
        body: &[u8],
        signature: &str,
        request: &RequestContext,
    ) -> Result<Received, Error> {
        if body.len() > MAX_BODY_BYTES {
            count("received", "TOO_LARGE");
            return Err(Error::invalid(
                "body",
                format!("at most {MAX_BODY_BYTES} bytes"),
            ));
        }
        if !webhook::verify(
            self.secret_key.expose_secret().as_bytes(),
            body,
            signature.trim(),
        ) {
            count("received", "BAD_SIGNATURE");
            return Err(Error::BadSignature);
        }
        // Signed by Paystack, so kept even if it does not parse as an event: it is
        // recorded and marked IGNORED by the worker rather than lost.
        let (identity, event, reference) = match WebhookEvent::parse(body) {
            Ok(parsed) => (
                parsed.identity(body),
                parsed.event.clone(),
                parsed.reference().map(str::to_owned),
            ),
            Err(_) => (
                format!("sha256:{}", hex::encode(Sha256::digest(body))),
                "unparseable".to_owned(),
                None,
            ),
        };
        let stored = sqlx::query_scalar!(
            r#"INSERT INTO payments.webhook_events
                 (id, identity, event, reference, body, request_id, ip_address)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (identity) DO NOTHING
               RETURNING id"#,
            Uuid::now_v7(),
            identity,
            event,
            reference,
            body,
            request.request_id,
            request.client_ip.map(IpNetwork::from),
        )
        .fetch_optional(&self.pool)
        .await?;
        let received = match stored {
            Some(event_id) => {
                // A full channel only delays the event until the next sweep.
                let _ = self.wake.try_send(event_id);
                Received {
                    event_id,
                    duplicate: false,
                }
            }
            None => {
                let event_id = sqlx::query_scalar!(
                    "SELECT id FROM payments.webhook_events WHERE identity = $1",
                    identity
                )
                .fetch_one(&self.pool)
                .await?;
                Received {
                    event_id,
                    duplicate: true,
                }
            }
        };
        tracing::info!(%event, %identity, event_id = %received.event_id, duplicate = received.duplicate, "webhook stored");
        count(
            "received",
            if received.duplicate {
                "DUPLICATE"
            } else {
                "ACCEPTED"
            },
        );
        Ok(received)
    }
}

/// Works on stored events until shutdown.
pub struct Worker {
    pool: PgPool,
    settler: Settler,
    wake: mpsc::Receiver<Uuid>,
    sweep_every: Duration,
    /// How long a worker holds an event before another may take it: longer than a
    /// verify can take.
    claim_for: Duration,
}

/// A claimed event: what the worker needs of it.
struct Claimed {
    id: Uuid,
    body: Vec<u8>,
    request_id: Option<String>,
    ip_address: Option<IpNetwork>,
    attempts: i32,
}

impl Worker {
    pub fn new(
        pool: PgPool,
        settler: Settler,
        wake: mpsc::Receiver<Uuid>,
        sweep_every: Duration,
        claim_for: Duration,
    ) -> Self {
        Self {
            pool,
            settler,
            wake,
            sweep_every,
            claim_for,
        }
    }

    pub fn spawn(self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run(shutdown))
    }

    async fn run(mut self, shutdown: CancellationToken) {
        let limit = Arc::new(Semaphore::new(CONCURRENCY));
        let mut tasks = JoinSet::new();
        // The first tick is at once: the start-up sweep.
        let mut sweep = tokio::time::interval(self.sweep_every);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(id) = self.wake.recv() => self.start(&mut tasks, &limit, id),
                _ = sweep.tick() => match self.unprocessed().await {
                    Ok(ids) => {
                        for id in ids {
                            self.start(&mut tasks, &limit, id);
                        }
                    }
                    Err(e) => tracing::warn!(error = rentory_runtime::error_chain(&e), "webhook sweep failed"),
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        // Events in hand are finished; the rest wait in the table for the next start.
        while tasks.join_next().await.is_some() {}
    }

    fn start(&self, tasks: &mut JoinSet<()>, limit: &Arc<Semaphore>, id: Uuid) {
        let limit = limit.clone();
        let pool = self.pool.clone();
        let settler = self.settler.clone();
        let claim_for = self.claim_for;
        let retry_after = self.sweep_every;
        tasks.spawn(async move {
            let Ok(_permit) = limit.acquire_owned().await else {
                return;
            };
            if let Err(e) = process(&pool, &settler, id, claim_for, retry_after).await {
                tracing::error!(event_id = %id, error = rentory_runtime::error_chain(&e), "webhook processing failed");
            }
        });
    }

    async fn unprocessed(&self) -> Result<Vec<Uuid>, sqlx::Error> {
        sqlx::query_scalar!(
            r#"SELECT id FROM payments.webhook_events
               WHERE processed_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
               ORDER BY received_at
               LIMIT $1"#,
            SWEEP_BATCH
        )
        .fetch_all(&self.pool)
        .await
    }
}

/// Claims event `id` (unless done or held by another worker), works on it, and records
/// the outcome; a failure leaves it for a later sweep, up to [`MAX_ATTEMPTS`].
async fn process(
    pool: &PgPool,
    settler: &Settler,
    id: Uuid,
    claim_for: Duration,
    retry_after: Duration,
) -> Result<(), Error> {
    let until = OffsetDateTime::now_utc() + claim_for;
    let claimed = sqlx::query_as!(
        Claimed,
        r#"UPDATE payments.webhook_events
           SET attempts = attempts + 1, claimed_until = $2
           WHERE id = $1 AND processed_at IS NULL
             AND (claimed_until IS NULL OR claimed_until < now())
           RETURNING id, body, request_id, ip_address, attempts"#,
        id,
        until,
    )
    .fetch_optional(pool)
    .await?;
    let Some(claimed) = claimed else {
        return Ok(());
    };
    match handle(pool, settler, &claimed).await {
        Ok(outcome) => finish(pool, claimed.id, outcome, None).await,
        Err(e) if claimed.attempts >= MAX_ATTEMPTS => {
            let error = rentory_runtime::error_chain(&e);
            tracing::error!(alert = true, event_id = %claimed.id, attempts = claimed.attempts, %error, "giving up on a webhook event");
            finish(pool, claimed.id, "ERROR", Some(&error)).await
        }
        Err(e) => {
            count("processed", "RETRY");
            let error = rentory_runtime::error_chain(&e);
            sqlx::query!(
                r#"UPDATE payments.webhook_events SET last_error = $2, claimed_until = $3
                   WHERE id = $1"#,
                claimed.id,
                error,
                OffsetDateTime::now_utc() + retry_after,
            )
            .execute(pool)
            .await?;
            Err(e)
        }
    }
}

async fn finish(
    pool: &PgPool,
    id: Uuid,
    outcome: &'static str,
    error: Option<&str>,
) -> Result<(), Error> {
    sqlx::query!(
        r#"UPDATE payments.webhook_events
           SET processed_at = now(), outcome = $2, last_error = $3, claimed_until = NULL
           WHERE id = $1"#,
        id,
        outcome,
        error,
    )
    .execute(pool)
    .await?;
    tracing::info!(event_id = %id, outcome, "webhook processed");
    count("processed", outcome);
    Ok(())
}

/// What the event means for us: any event naming one of our references makes us verify
/// that transaction (the body is never trusted for amount or status).
async fn handle(
    pool: &PgPool,
    settler: &Settler,
    claimed: &Claimed,
) -> Result<&'static str, Error> {
    let Ok(event) = WebhookEvent::parse(&claimed.body) else {
        return Ok("IGNORED");
    };
    let Some(reference) = event.reference().filter(|r| is_valid_reference(r)) else {
        return Ok("IGNORED");
    };
    let Some(transaction) = transactions::find_by_reference(pool, reference).await? else {
        tracing::warn!(event = %event.event, %reference, "webhook for a reference we never issued");
        return Ok("UNKNOWN_REFERENCE");
    };
    let delivery = RequestContext {
        client_ip: claimed.ip_address.map(|net| net.ip()),
        request_id: claimed.request_id.clone(),
        user_agent: None,
    };
    let cause = Cause::platform(Source::Webhook, Some(&delivery));
    let (outcome, _) = settler.check(transaction, &cause).await?;
    Ok(outcome.as_str())
}
