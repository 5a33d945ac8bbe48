//! The reconciler: PENDING transactions nobody settled (a lost webhook, a verify that timed
//! out or failed) are verified again, each later than the last (`next_verify_at`), until
//! Paystack settles them or they have been open for `abandon_after` (then ABANDONED).

use std::time::Duration;

use futures::StreamExt;
use rentory_runtime::CancellationToken;
use sqlx::PgPool;

use crate::audit::{Cause, Source};
use crate::settlement::Settler;
use crate::transaction::db;

/// Transactions taken per round.
const BATCH: i64 = 50;
/// Verifies in flight at once.
const CONCURRENCY: usize = 4;

pub struct Reconciler {
    pool: PgPool,
    settler: Settler,
    every: Duration,
    /// How long a claimed transaction is left alone by other reconcilers: longer than a
    /// verify can take.
    claim_for: Duration,
}

impl Reconciler {
    pub fn new(pool: PgPool, settler: Settler, every: Duration, claim_for: Duration) -> Self {
        Self {
            pool,
            settler,
            every,
            claim_for,
        }
    }

    pub fn spawn(self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(self.every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = ticks.tick() => {
                        // A full batch means more may be due: go again at once.
                        while let Some(BATCH) = self.round().await {
                            if shutdown.is_cancelled() {
                                break;
                            }
                        }
                    }
                }
            }
        })
    }

    /// One round: claims what is due and verifies it. Returns how many were claimed, or
    /// `None` when the database could not be read (logged; the next tick tries again).
    async fn round(&self) -> Option<i64> {
        let due = match db::claim_due(&self.pool, BATCH, self.claim_for).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(
                    error = rentory_runtime::error_chain(&e),
                    "reconciler could not read due transactions"
                );
                return None;
            }
        };
        let claimed = i64::try_from(due.len()).unwrap_or(BATCH);
        let cause = Cause::platform(Source::Reconciler, None);
        futures::stream::iter(due)
            .for_each_concurrent(CONCURRENCY, |transaction| {
                let cause = &cause;
                async move {
                    let reference = transaction.reference.clone();
                    match self.settler.check(transaction, cause).await {
                        Ok((outcome, _)) => {
                            tracing::info!(%reference, outcome = outcome.as_str(), "reconciled")
                        }
                        Err(e) => tracing::error!(
                            %reference,
                            error = rentory_runtime::error_chain(&e),
                            "reconciling failed"
                        ),
                    }
                }
            })
            .await;
        Some(claimed)
    }
}
