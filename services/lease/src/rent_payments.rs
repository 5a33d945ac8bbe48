//! Rent paid on leases, learned from payments' events, each with the receipt s.5 of the
//! Lagos State Tenancy Law 2011 requires.
//!
//! One durable consumer reads `rentory.payments.transaction.*` in stream order:
//! `succeeded` of type RENT records the payment as the lease's next unpaid period and
//! renders its receipt; `refunded` of a RENT marks it refunded (the receipt stays, and the
//! period is owed again). Idempotent through `processed_events` and the transaction id key.
//! A payment for a lease that is not FULLY_SIGNED, or already paid in full, is still
//! recorded (the money arrived) and logged at ERROR with `alert = true`.

use rentory_events::{Delivered, Handler, HandlerError};
use rentory_proto::events::v1::{TransactionRefunded, TransactionSucceeded};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::db;
use crate::lifecycle::Status;
use crate::receipt::{self, Receipt};
use crate::rent;
use crate::view::{Typed, terms};

pub const RENT_CONSUMER: &str = "lease-rent-payments";
/// One filter for both subjects, so they arrive in order.
pub const TRANSACTIONS: &str = "rentory.payments.transaction.*";
pub const TRANSACTION_SUCCEEDED: &str = "rentory.payments.transaction.succeeded";
pub const TRANSACTION_REFUNDED: &str = "rentory.payments.transaction.refunded";
pub const RENT: &str = "RENT";

/// A stored payment.
#[derive(Debug, Clone)]
pub struct PaymentRow {
    pub transaction_id: Uuid,
    pub reference: String,
    pub amount_kobo: i64,
    pub paid_at: OffsetDateTime,
    pub period_number: i32,
    pub period_start: Date,
    pub period_end: Date,
    pub receipt_number: String,
    pub receipt_markdown: String,
    pub refunded_at: Option<OffsetDateTime>,
}

/// Payments of a lease, oldest first.
pub async fn list(pool: &PgPool, lease_id: Uuid) -> Result<Vec<PaymentRow>, sqlx::Error> {
    sqlx::query_as!(
        PaymentRow,
        r#"SELECT transaction_id, reference, amount_kobo, paid_at, period_number, period_start,
                  period_end, receipt_number, receipt_markdown, refunded_at
           FROM lease.rent_payments WHERE lease_id = $1 ORDER BY paid_at, receipt_number"#,
        lease_id
    )
    .fetch_all(pool)
    .await
}

/// The period numbers of the lease's payments that stand (not refunded).
pub async fn standing_periods(
    conn: &mut PgConnection,
    lease_id: Uuid,
) -> Result<Vec<u32>, sqlx::Error> {
    let numbers = sqlx::query_scalar!(
        r#"SELECT period_number FROM lease.rent_payments
           WHERE lease_id = $1 AND refunded_at IS NULL ORDER BY period_number"#,
        lease_id
    )
    .fetch_all(conn)
    .await?;
    // The column is CHECKed positive.
    Ok(numbers
        .into_iter()
        .filter_map(|n| u32::try_from(n).ok())
        .collect())
}

pub struct RentPayments;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    transaction_id: Uuid,
    lease_id: Uuid,
    reference: String,
    amount_kobo: i64,
    at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Paid(Payment),
    Refunded(Payment),
    /// Another subject, or a payment of another kind.
    Ignored,
}

fn payment(
    transaction_id: &str,
    lease_id: Option<&str>,
    reference: String,
    amount_kobo: i64,
    at: Option<&rentory_proto::prost_types::Timestamp>,
) -> Result<Payment, HandlerError> {
    let id = |text: &str, what: &str| {
        Uuid::parse_str(text)
            .map_err(|_| HandlerError::permanent(format!("rent payment names no valid {what}")))
    };
    Ok(Payment {
        transaction_id: id(transaction_id, "transaction")?,
        lease_id: id(
            lease_id.ok_or_else(|| HandlerError::permanent("rent payment names no lease"))?,
            "lease",
        )?,
        reference,
        amount_kobo,
        at: at
            .and_then(rentory_proto::offset_date_time)
            .unwrap_or_else(OffsetDateTime::now_utc),
    })
}

impl Handler for RentPayments {
    type Effect = Change;

    async fn prepare(&self, event: &Delivered) -> Result<Change, HandlerError> {
        match event.subject.as_str() {
            TRANSACTION_SUCCEEDED => {
                let e: TransactionSucceeded = event.decode()?;
                if e.r#type != RENT {
                    return Ok(Change::Ignored);
                }
                Ok(Change::Paid(payment(
                    &e.transaction_id,
                    e.lease_id.as_deref(),
                    e.reference,
                    e.amount_kobo,
                    e.at.as_ref(),
                )?))
            }
            TRANSACTION_REFUNDED => {
                let e: TransactionRefunded = event.decode()?;
                if e.r#type != RENT {
                    return Ok(Change::Ignored);
                }
                Ok(Change::Refunded(payment(
                    &e.transaction_id,
                    e.lease_id.as_deref(),
                    e.reference,
                    e.amount_kobo,
                    e.at.as_ref(),
                )?))
            }
            _ => Ok(Change::Ignored),
        }
    }

    async fn apply(
        &self,
        change: Change,
        _event: &Delivered,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        match change {
            Change::Paid(p) => record(tx, &p).await,
            Change::Refunded(p) => {
                let updated = sqlx::query!(
                    r#"UPDATE lease.rent_payments SET refunded_at = COALESCE(refunded_at, $2)
                       WHERE transaction_id = $1"#,
                    p.transaction_id,
                    p.at
                )
                .execute(&mut *tx)
                .await
                .map_err(retry)?;
                if updated.rows_affected() == 0 {
                    tracing::error!(alert = true, transaction_id = %p.transaction_id, lease_id = %p.lease_id, "a rent refund for a payment the lease service never recorded");
                } else {
                    tracing::info!(transaction_id = %p.transaction_id, lease_id = %p.lease_id, "rent payment refunded");
                }
                Ok(())
            }
            Change::Ignored => Ok(()),
        }
    }
}

fn retry(error: sqlx::Error) -> HandlerError {
    HandlerError::retry(
        std::time::Duration::from_secs(2),
        format!("database: {error}"),
    )
}

#[tracing::instrument(skip_all, fields(lease_id = %p.lease_id, transaction_id = %p.transaction_id))]
async fn record(tx: &mut PgConnection, p: &Payment) -> Result<(), HandlerError> {
    let known = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM lease.rent_payments WHERE transaction_id = $1) AS "known!""#,
        p.transaction_id
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(retry)?;
    if known {
        return Ok(());
    }
    // The lease's lock serialises period numbering between payments of one lease.
    let Some(lease) = db::lock(&mut *tx, p.lease_id).await.map_err(retry)? else {
        tracing::error!(alert = true, reference = %p.reference, "rent paid for a lease that does not exist");
        return Ok(());
    };
    let typed = Typed::of(&lease).map_err(|e| HandlerError::permanent(e.to_string()))?;
    if typed.status != Status::FullySigned {
        tracing::error!(alert = true, status = %typed.status, reference = %p.reference, "rent paid on a lease that is not FULLY_SIGNED; recorded anyway");
    }
    let terms = terms(&lease, &typed);
    let standing = standing_periods(&mut *tx, p.lease_id)
        .await
        .map_err(retry)?;
    let (number, start, end) = match rent::due(&terms, rent::settled_periods(&standing)) {
        Some(due) => {
            if due.amount_kobo != p.amount_kobo {
                tracing::error!(
                    alert = true,
                    due = due.amount_kobo,
                    paid = p.amount_kobo,
                    "rent paid differs from the amount due"
                );
            }
            (due.number, due.start, due.end)
        }
        None => {
            tracing::error!(alert = true, reference = %p.reference, "rent paid on a lease already paid in full; recorded anyway");
            let end = terms.end().unwrap_or(lease.start_date);
            // After every standing one, so it cannot collide with a period already paid.
            let after = standing.iter().max().map_or(1, |n| n.saturating_add(1));
            (after, end, end)
        }
    };
    let receipts = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM lease.rent_payments WHERE lease_id = $1"#,
        p.lease_id
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(retry)?;
    let receipt_number =
        receipt::number(p.lease_id, u32::try_from(receipts + 1).unwrap_or(u32::MAX));
    let paid_at = rentory_audit::truncate_to_micros(p.at);
    let markdown = receipt::render(&Receipt {
        number: &receipt_number,
        lease_id: p.lease_id,
        paid_at,
        landlord_name: &lease.landlord_name,
        tenant_name: &lease.tenant_name,
        premises: &lease.premises_address,
        amount_kobo: p.amount_kobo,
        period_number: number,
        period_start: start,
        period_end: end,
        reference: &p.reference,
    });
    let sha = hex::encode(Sha256::digest(markdown.as_bytes()));
    sqlx::query!(
        r#"INSERT INTO lease.rent_payments
             (transaction_id, reference, lease_id, amount_kobo, paid_at, period_number,
              period_start, period_end, receipt_number, receipt_markdown, receipt_sha256)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"#,
        p.transaction_id,
        p.reference,
        p.lease_id,
        p.amount_kobo,
        paid_at,
        i32::try_from(number).unwrap_or(i32::MAX),
        start,
        end,
        receipt_number,
        markdown,
        sha
    )
    .execute(&mut *tx)
    .await
    .map_err(retry)?;
    tracing::info!(period = number, receipt = %receipt_number, "rent payment recorded with its receipt");
    Ok(())
}
