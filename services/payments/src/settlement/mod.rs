//! Settling a transaction: ask Paystack's verify (never trust a webhook body or a client),
//! decide with [`decision::decide`], and write the outcome.
//!
//! Webhooks, the payer's own verify call and the reconciler all come through
//! [`Settler::check`], as often and as concurrently as they like: the grant is one
//! conditional UPDATE (`SET status = 'SUCCESS' WHERE id = $1 AND status = <seen>`) in the
//! database transaction that also appends the audit row and the outbox's
//! `TransactionSucceeded`, so exactly one of them grants and the rest find it settled.

pub mod decision;

use std::time::Duration;

use rentory_paystack::{PaystackClient, PaystackError};
use rentory_proto::events::v1::{TransactionFailed, TransactionSucceeded};
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::audit::{self, Cause, Transition};
use crate::error::Error;
use crate::transaction::{Status, Transaction, db, verify_backoff};
use decision::Decision;

pub const SUCCEEDED: &str = "rentory.payments.transaction.succeeded";
pub const FAILED: &str = "rentory.payments.transaction.failed";

/// How many times a grant is retried when another writer changed the transaction between
/// our read and our write (e.g. a concurrent close): each retry re-reads it.
const GRANT_ROUNDS: usize = 3;

/// What a check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// This check granted the value.
    Granted,
    /// Already SUCCESS or REFUNDED (perhaps by a racing check): nothing done.
    AlreadySettled,
    /// FAILED or ABANDONED by this check.
    Closed(Status),
    /// Verify disagreed with what was issued: nothing granted, alert raised.
    Mismatch,
    /// Still in progress at Paystack: verified again later.
    Waiting,
    /// Paystack could not be asked: verified again later.
    VerifyFailed,
    /// Paid, but the payer already holds this unlock from another payment: refund it.
    SecondPayment,
    /// A closed transaction Paystack still reports unpaid: left as it was.
    Unchanged,
}

impl Outcome {
    /// Stored in `webhook_events.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Granted => "GRANTED",
            Outcome::AlreadySettled => "ALREADY_SETTLED",
            Outcome::Closed(Status::Abandoned) => "ABANDONED",
            Outcome::Closed(_) => "FAILED",
            Outcome::Mismatch => "MISMATCH",
            Outcome::Waiting => "PENDING_AT_PAYSTACK",
            Outcome::VerifyFailed => "VERIFY_FAILED",
            Outcome::SecondPayment => "SECOND_PAYMENT",
            Outcome::Unchanged => "UNCHANGED",
        }
    }
}

/// Verifies and settles transactions. Cheap to clone.
#[derive(Clone)]
pub struct Settler {
    pool: PgPool,
    paystack: PaystackClient,
    verify_backoff: Duration,
    abandon_after: Duration,
}

impl Settler {
    pub fn new(
        pool: PgPool,
        paystack: PaystackClient,
        verify_backoff: Duration,
        abandon_after: Duration,
    ) -> Self {
        Self {
            pool,
            paystack,
            verify_backoff,
            abandon_after,
        }
    }

    /// Asks Paystack about `transaction` and settles it accordingly; returns what happened
    /// and the transaction as it now stands.
    #[tracing::instrument(skip_all, fields(reference = %transaction.reference, source = cause.source.as_str()))]
    pub async fn check(
        &self,
        transaction: Transaction,
        cause: &Cause,
    ) -> Result<(Outcome, Transaction), Error> {
        if !transaction.status.may_settle() {
            return Ok((Outcome::AlreadySettled, transaction));
        }
        match self.paystack.verify(&transaction.reference).await {
            Ok(verified) => {
                let decision = decision::decide(
                    &transaction,
                    &verified,
                    OffsetDateTime::now_utc(),
                    self.abandon_after,
                );
                self.apply(transaction, decision, cause).await
            }
            Err(error) => self.unverified(transaction, error, cause).await,
        }
    }

    async fn apply(
        &self,
        transaction: Transaction,
        decision: Decision,
        cause: &Cause,
    ) -> Result<(Outcome, Transaction), Error> {
        match decision {
            Decision::Grant {
                paystack_id,
                paid_at,
            } => self.grant(transaction, paystack_id, paid_at, cause).await,
            Decision::Close {
                status,
                reason,
                paystack_id,
            } => {
                let outcome = Outcome::Closed(status);
                self.close(
                    transaction,
                    status,
                    &reason,
                    Some(paystack_id),
                    cause,
                    outcome,
                )
                .await
            }
            Decision::Mismatch { reason } => {
                if transaction.status != Status::Pending {
                    tracing::warn!(reference = %transaction.reference, status = %transaction.status, %reason, "verify still disagrees with a closed transaction");
                    return Ok((Outcome::Unchanged, transaction));
                }
                tracing::error!(
                    alert = true,
                    reference = %transaction.reference,
                    transaction_id = %transaction.id,
                    payer_id = %transaction.payer_id,
                    %reason,
                    "Paystack's verify disagrees with the transaction issued: nothing granted"
                );
                let reason = format!("verify disagreed: {reason}");
                self.close(
                    transaction,
                    Status::Failed,
                    &reason,
                    None,
                    cause,
                    Outcome::Mismatch,
                )
                .await
            }
            Decision::Wait {
                reason,
                paystack_id,
            } => {
                self.postpone(transaction, &reason, Some(paystack_id), Outcome::Waiting)
                    .await
            }
        }
    }

    /// The one place value is granted.
    async fn grant(
        &self,
        mut seen: Transaction,
        paystack_id: i64,
        paid_at: OffsetDateTime,
        cause: &Cause,
    ) -> Result<(Outcome, Transaction), Error> {
        for _ in 0..GRANT_ROUNDS {
            let from = seen.status;
            let mut tx = self.pool.begin().await?;
            let granted = match db::grant(&mut tx, seen.id, from, paystack_id, paid_at).await {
                Err(e) if db::is_second_unlock(&e) => {
                    drop(tx);
                    return self.second_payment(seen, paystack_id, cause).await;
                }
                other => other?,
            };
            let Some(granted) = granted else {
                drop(tx);
                // Another writer got there first: see what it did.
                seen = self.reread(seen.id).await?;
                if !seen.status.may_settle() {
                    return Ok((Outcome::AlreadySettled, seen));
                }
                continue;
            };
            let late = (from != Status::Pending).then_some("paid after it was closed");
            audit::append(
                &mut tx,
                &Transition {
                    transaction_id: granted.id,
                    cause,
                    from: Some(from),
                    to: Status::Success,
                    reason: late,
                    at: OffsetDateTime::now_utc(),
                },
            )
            .await?;
            rentory_events::enqueue(&mut tx, SUCCEEDED, &succeeded(&granted)).await?;
            tx.commit().await?;
            tracing::info!(reference = %granted.reference, transaction_id = %granted.id, r#type = granted.kind().as_str(), payer_id = %granted.payer_id, amount_kobo = granted.amount_kobo, %from, "payment granted");
            return Ok((Outcome::Granted, granted));
        }
        Err(Error::corrupt(
            "a transaction kept changing while it was being granted",
        ))
    }

    /// Paystack took a second payment for an unlock the payer already holds (possible only
    /// when a closed attempt is paid late): nothing more to grant; recorded and alerted so
    /// staff refund it.
    async fn second_payment(
        &self,
        seen: Transaction,
        paystack_id: i64,
        cause: &Cause,
    ) -> Result<(Outcome, Transaction), Error> {
        tracing::error!(
            alert = true,
            reference = %seen.reference,
            transaction_id = %seen.id,
            payer_id = %seen.payer_id,
            paystack_id,
            "a second payment for an unlock the payer already holds: refund it"
        );
        let reason =
            "paid, but the payer already holds this unlock from another payment: refund it";
        if seen.status == Status::Pending {
            let outcome = Outcome::SecondPayment;
            return self
                .close(
                    seen,
                    Status::Failed,
                    reason,
                    Some(paystack_id),
                    cause,
                    outcome,
                )
                .await;
        }
        Ok((Outcome::SecondPayment, seen))
    }

    /// FAILED or ABANDONED, from PENDING only: a closed transaction is never closed again.
    async fn close(
        &self,
        seen: Transaction,
        to: Status,
        reason: &str,
        paystack_id: Option<i64>,
        cause: &Cause,
        outcome: Outcome,
    ) -> Result<(Outcome, Transaction), Error> {
        if seen.status != Status::Pending {
            return Ok((Outcome::Unchanged, seen));
        }
        match close_pending(&self.pool, seen.id, to, reason, paystack_id, cause).await? {
            Some(closed) => Ok((outcome, closed)),
            None => self.lost_race(seen.id).await,
        }
    }

    /// Leaves a PENDING transaction for the reconciler to verify again, later each time.
    async fn postpone(
        &self,
        seen: Transaction,
        reason: &str,
        paystack_id: Option<i64>,
        outcome: Outcome,
    ) -> Result<(Outcome, Transaction), Error> {
        if seen.status != Status::Pending {
            return Ok((Outcome::Unchanged, seen));
        }
        let next =
            OffsetDateTime::now_utc() + verify_backoff(self.verify_backoff, seen.verify_attempts);
        match db::postpone(&self.pool, seen.id, reason, paystack_id, next).await? {
            Some(now) => Ok((outcome, now)),
            None => self.lost_race(seen.id).await,
        }
    }

    /// The transaction as it now stands, after another writer changed it.
    async fn reread(&self, id: uuid::Uuid) -> Result<Transaction, Error> {
        db::find(&self.pool, id)
            .await?
            .ok_or_else(|| Error::corrupt("a transaction vanished"))
    }

    /// Another writer settled or closed the transaction first: what it is now.
    async fn lost_race(&self, id: uuid::Uuid) -> Result<(Outcome, Transaction), Error> {
        let now = self.reread(id).await?;
        let outcome = if now.status.may_settle() {
            Outcome::Unchanged
        } else {
            Outcome::AlreadySettled
        };
        Ok((outcome, now))
    }

    /// Verify failed: try again later, or give up on a transaction open too long.
    async fn unverified(
        &self,
        seen: Transaction,
        error: PaystackError,
        cause: &Cause,
    ) -> Result<(Outcome, Transaction), Error> {
        tracing::warn!(reference = %seen.reference, error = %error, kind = error.kind(), "Paystack verify failed");
        if seen.status != Status::Pending {
            return Ok((Outcome::VerifyFailed, seen));
        }
        if seen.is_overdue(OffsetDateTime::now_utc(), self.abandon_after) {
            let reason = format!(
                "not settled within {} hours; last verify: {error}",
                self.abandon_after.as_secs() / 3600
            );
            let outcome = Outcome::Closed(Status::Abandoned);
            return self
                .close(seen, Status::Abandoned, &reason, None, cause, outcome)
                .await;
        }
        let reason = match error {
            PaystackError::NotFound(_) => "Paystack does not know this payment yet".to_owned(),
            other => format!(
                "could not verify with Paystack ({}); trying again",
                other.kind()
            ),
        };
        self.postpone(seen, &reason, None, Outcome::VerifyFailed)
            .await
    }
}

/// Closes a PENDING transaction as `to` (FAILED or ABANDONED) with its audit row and
/// `TransactionFailed` event; `None` if it was no longer PENDING.
pub async fn close_pending(
    pool: &PgPool,
    id: uuid::Uuid,
    to: Status,
    reason: &str,
    paystack_id: Option<i64>,
    cause: &Cause,
) -> Result<Option<Transaction>, Error> {
    let mut tx = pool.begin().await?;
    let Some(closed) = db::close(&mut tx, id, to, reason, paystack_id).await? else {
        return Ok(None);
    };
    audit::append(
        &mut tx,
        &Transition {
            transaction_id: closed.id,
            cause,
            from: Some(Status::Pending),
            to,
            reason: Some(reason),
            at: OffsetDateTime::now_utc(),
        },
    )
    .await?;
    rentory_events::enqueue(&mut tx, FAILED, &failed(&closed)).await?;
    tx.commit().await?;
    tracing::info!(reference = %closed.reference, status = %to, %reason, "payment closed");
    Ok(Some(closed))
}

fn succeeded(t: &Transaction) -> TransactionSucceeded {
    TransactionSucceeded {
        transaction_id: t.id.to_string(),
        reference: t.reference.clone(),
        r#type: t.kind().as_str().to_owned(),
        payer_id: t.payer_id.to_string(),
        property_id: t.subject.property_id().map(|id| id.to_string()),
        lease_id: t.subject.lease_id().map(|id| id.to_string()),
        amount_kobo: t.amount_kobo,
        at: Some(rentory_proto::timestamp(
            t.paid_at.unwrap_or_else(OffsetDateTime::now_utc),
        )),
    }
}

fn failed(t: &Transaction) -> TransactionFailed {
    TransactionFailed {
        transaction_id: t.id.to_string(),
        reference: t.reference.clone(),
        r#type: t.kind().as_str().to_owned(),
        payer_id: t.payer_id.to_string(),
        property_id: t.subject.property_id().map(|id| id.to_string()),
        lease_id: t.subject.lease_id().map(|id| id.to_string()),
        amount_kobo: t.amount_kobo,
        status: t.status.as_str().to_owned(),
        reason: t.status_reason.clone(),
        at: Some(rentory_proto::timestamp(t.updated_at)),
    }
}
