//! Starting a payment: one PENDING transaction per payer and property (or lease), stored
//! before Paystack is asked for a checkout, so a webhook can never name a reference we do
//! not know. A second request while one is pending gets the same checkout back; requests
//! racing for the first one make one (the partial unique index decides, the losers wait
//! for the winner's checkout).

use std::time::Duration;

use rentory_paystack::{InitializeRequest, PaystackClient};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use crate::audit::{self, Cause, Transition};
use crate::error::Error;
use crate::settlement::close_pending;
use crate::transaction::{Status, Subject, Transaction, db, reference_for};

/// Rounds of "look, then insert" before giving up: each lost race costs one.
const ROUNDS: usize = 4;
/// How often a request waiting for another one's checkout looks again.
const POLL: Duration = Duration::from_millis(100);

/// What is to be paid, by whom, and where the landlord's share goes.
#[derive(Debug, Clone)]
pub struct Plan {
    pub payer_id: Uuid,
    pub payer_email: String,
    pub subject: Subject,
    pub amount_kobo: i64,
    /// A landlord's Paystack subaccount that takes its share (rent).
    pub subaccount_code: Option<String>,
}

/// A checkout to send the payer to.
#[derive(Debug)]
pub struct Started {
    pub transaction: Transaction,
    /// An earlier pending attempt, returned again.
    pub reused: bool,
}

#[derive(Clone)]
pub struct Checkouts {
    pool: PgPool,
    paystack: PaystackClient,
    callback_url: Url,
    /// Longest a Paystack initialize can take, retries included: a checkout still without
    /// an authorization URL after this was abandoned by the request that started it.
    initialize_budget: Duration,
    /// When the reconciler first looks at a transaction no webhook settled.
    first_verify_after: Duration,
}

impl Checkouts {
    pub fn new(
        pool: PgPool,
        paystack: PaystackClient,
        callback_url: Url,
        initialize_budget: Duration,
        first_verify_after: Duration,
    ) -> Self {
        Self {
            pool,
            paystack,
            callback_url,
            initialize_budget,
            first_verify_after,
        }
    }

    /// The payer's pending checkout for `plan.subject`, or a new one. A contact already
    /// unlocked is [`Error::AlreadyUnlocked`] with its reference.
    #[tracing::instrument(skip_all, fields(payer_id = %plan.payer_id))]
    pub async fn start(&self, plan: &Plan, cause: &Cause) -> Result<Started, Error> {
        for _ in 0..ROUNDS {
            if let Subject::Property(property) = plan.subject
                && let Some(reference) =
                    db::unlocked_reference(&self.pool, plan.payer_id, property).await?
            {
                return Err(Error::AlreadyUnlocked { reference });
            }
            match db::pending_for(&self.pool, plan.payer_id, plan.subject).await? {
                Some(pending) if pending.authorization_url.is_some() => {
                    return Ok(Started {
                        transaction: pending,
                        reused: true,
                    });
                }
                Some(pending) => {
                    if let Some(ready) = self.wait_for_checkout(pending, cause).await? {
                        return Ok(Started {
                            transaction: ready,
                            reused: true,
                        });
                    }
                }
                None => {
                    if let Some(created) = self.create(plan, cause).await? {
                        return self.initialize(created, plan, cause).await;
                    }
                }
            }
        }
        Err(Error::CheckoutBusy)
    }

    /// Inserts the PENDING transaction and its audit row; `None` when another request's
    /// pending one won the unique index. Re-checks the unlock in the same transaction: a
    /// racing grant of the earlier attempt (which leaves the pending index just as we
    /// insert) is then seen, and nothing is created.
    async fn create(&self, plan: &Plan, cause: &Cause) -> Result<Option<Transaction>, Error> {
        let id = Uuid::now_v7();
        let reference = reference_for(plan.subject.kind(), id);
        let now = OffsetDateTime::now_utc();
        let mut tx = self.pool.begin().await?;
        let inserted = db::insert_pending(
            &mut tx,
            &db::NewTransaction {
                id,
                reference: &reference,
                amount_kobo: plan.amount_kobo,
                payer_id: plan.payer_id,
                subject: plan.subject,
                subaccount_code: plan.subaccount_code.as_deref(),
                first_verify_at: now + self.initialize_budget + self.first_verify_after,
            },
        )
        .await?;
        let Some(created) = inserted else {
            return Ok(None);
        };
        refuse_if_unlocked(&mut tx, plan).await?;
        audit::append(
            &mut tx,
            &Transition {
                transaction_id: created.id,
                cause,
                from: None,
                to: Status::Pending,
                reason: None,
                at: now,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(created))
    }

    /// Asks Paystack for the checkout of a transaction just created. If Paystack cannot
    /// give one, the transaction is closed FAILED (nobody has its URL, so nobody can pay
    /// it) and the next request starts afresh.
    async fn initialize(
        &self,
        created: Transaction,
        plan: &Plan,
        cause: &Cause,
    ) -> Result<Started, Error> {
        let request = InitializeRequest {
            email: plan.payer_email.clone(),
            amount_kobo: created.amount_kobo,
            reference: created.reference.clone(),
            callback_url: Some(self.callback_url.to_string()),
            metadata: metadata(&created),
            subaccount: created.subaccount_code.clone(),
            bearer: None,
        };
        match self.paystack.initialize(&request).await {
            Ok(checkout) => {
                let ready = db::set_checkout(
                    &self.pool,
                    created.id,
                    checkout.authorization_url.as_str(),
                    &checkout.access_code,
                )
                .await?
                .ok_or_else(|| Error::corrupt("a new transaction left PENDING at once"))?;
                tracing::info!(reference = %ready.reference, r#type = ready.kind().as_str(), amount_kobo = ready.amount_kobo, "checkout started");
                Ok(Started {
                    transaction: ready,
                    reused: false,
                })
            }
            Err(error) => {
                let reason = format!("the checkout could not be started ({})", error.kind());
                close_pending(&self.pool, created.id, Status::Failed, &reason, None, cause).await?;
                Err(Error::Paystack(error))
            }
        }
    }

    /// Another request is starting this checkout: wait for its URL. `None` when that
    /// request gave up (the transaction is no longer PENDING), so the caller starts anew.
    /// A checkout left without a URL for longer than an initialize can take belongs to a
    /// request that died: it is closed so it stops blocking the payer.
    async fn wait_for_checkout(
        &self,
        mut pending: Transaction,
        cause: &Cause,
    ) -> Result<Option<Transaction>, Error> {
        let stale_at = pending.created_at + self.initialize_budget + POLL;
        loop {
            if pending.status != Status::Pending {
                return Ok(None);
            }
            if pending.authorization_url.is_some() {
                return Ok(Some(pending));
            }
            if OffsetDateTime::now_utc() >= stale_at {
                let reason = "the checkout was never started";
                close_pending(&self.pool, pending.id, Status::Failed, reason, None, cause).await?;
                return Ok(None);
            }
            tokio::time::sleep(POLL).await;
            pending = db::find(&self.pool, pending.id)
                .await?
                .ok_or_else(|| Error::corrupt("a transaction vanished"))?;
        }
    }
}

async fn refuse_if_unlocked(conn: &mut PgConnection, plan: &Plan) -> Result<(), Error> {
    if let Subject::Property(property) = plan.subject
        && let Some(reference) = db::unlocked_reference(&mut *conn, plan.payer_id, property).await?
    {
        return Err(Error::AlreadyUnlocked { reference });
    }
    Ok(())
}

/// What Paystack echoes back with verify and webhooks; [`crate::settlement::decision`]
/// checks it names the same transaction.
fn metadata(t: &Transaction) -> serde_json::Value {
    let mut metadata = json!({
        "transaction_id": t.id.to_string(),
        "type": t.kind().as_str(),
        "payer_id": t.payer_id.to_string(),
    });
    if let Some(fields) = metadata.as_object_mut() {
        match t.subject {
            Subject::Property(id) => fields.insert("property_id".into(), json!(id.to_string())),
            Subject::Lease(id) => fields.insert("lease_id".into(), json!(id.to_string())),
        };
    }
    metadata
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::Kind;

    #[test]
    fn metadata_names_the_transaction_payer_and_subject() {
        let id = Uuid::now_v7();
        let property = Uuid::now_v7();
        let t = Transaction {
            id,
            reference: reference_for(Kind::ContactUnlock, id),
            status: Status::Pending,
            amount_kobo: 500_000,
            currency: "NGN".into(),
            payer_id: Uuid::nil(),
            subject: Subject::Property(property),
            subaccount_code: None,
            authorization_url: None,
            access_code: None,
            paystack_id: None,
            status_reason: String::new(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
            paid_at: None,
            verify_attempts: 0,
        };
        assert_eq!(
            metadata(&t),
            json!({
                "transaction_id": id.to_string(),
                "type": "CONTACT_UNLOCK",
                "payer_id": Uuid::nil().to_string(),
                "property_id": property.to_string(),
            })
        );
        let lease = Uuid::now_v7();
        let rent = Transaction {
            subject: Subject::Lease(lease),
            ..t
        };
        assert_eq!(metadata(&rent)["lease_id"], json!(lease.to_string()));
        assert_eq!(metadata(&rent)["type"], "RENT");
        assert!(metadata(&rent).get("property_id").is_none());
    }
}
