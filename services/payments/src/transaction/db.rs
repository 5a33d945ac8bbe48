//! The `payments.transactions` table. Every status change goes through a conditional
//! UPDATE (`WHERE status = <what the caller saw>`), so of two writers racing for one
//! transaction exactly one changes it and the other learns it lost.

use std::time::Duration;

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Kind, Status, Subject, Transaction};
use crate::error::Error;

/// The columns as stored; [`Transaction`] is the checked form.
struct Row {
    id: Uuid,
    reference: String,
    r#type: String,
    status: String,
    amount_kobo: i64,
    currency: String,
    payer_id: Uuid,
    property_id: Option<Uuid>,
    lease_id: Option<Uuid>,
    subaccount_code: Option<String>,
    authorization_url: Option<String>,
    access_code: Option<String>,
    paystack_id: Option<i64>,
    status_reason: String,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    paid_at: Option<OffsetDateTime>,
    verify_attempts: i32,
}

impl TryFrom<Row> for Transaction {
    type Error = Error;

    fn try_from(row: Row) -> Result<Self, Error> {
        let corrupt = |what: &str| Error::Corrupt(format!("transaction {}: {what}", row.id));
        let status = Status::parse(&row.status).ok_or_else(|| corrupt("unknown status"))?;
        let subject = match (Kind::parse(&row.r#type), row.property_id, row.lease_id) {
            (Some(Kind::ContactUnlock), Some(property), None) => Subject::Property(property),
            (Some(Kind::Rent), None, Some(lease)) => Subject::Lease(lease),
            _ => return Err(corrupt("type and property / lease disagree")),
        };
        Ok(Transaction {
            id: row.id,
            reference: row.reference,
            status,
            amount_kobo: row.amount_kobo,
            currency: row.currency,
            payer_id: row.payer_id,
            subject,
            subaccount_code: row.subaccount_code,
            authorization_url: row.authorization_url,
            access_code: row.access_code,
            paystack_id: row.paystack_id,
            status_reason: row.status_reason,
            created_at: row.created_at,
            updated_at: row.updated_at,
            paid_at: row.paid_at,
            verify_attempts: row.verify_attempts,
        })
    }
}

fn checked(row: Option<Row>) -> Result<Option<Transaction>, Error> {
    row.map(Transaction::try_from).transpose()
}

/// A transaction about to be started.
pub struct NewTransaction<'a> {
    pub id: Uuid,
    pub reference: &'a str,
    pub amount_kobo: i64,
    pub payer_id: Uuid,
    pub subject: Subject,
    pub subaccount_code: Option<&'a str>,
    /// When the reconciler first verifies it, if neither a webhook nor the payer has.
    pub first_verify_at: OffsetDateTime,
}

/// Inserts `new` as PENDING, unless the payer already has a pending payment for the same
/// property or lease (the partial unique indexes decide): `None` then.
#[tracing::instrument(skip_all, fields(reference = %new.reference))]
pub async fn insert_pending(
    conn: &mut PgConnection,
    new: &NewTransaction<'_>,
) -> Result<Option<Transaction>, Error> {
    let row = sqlx::query_as!(
        Row,
        r#"INSERT INTO payments.transactions
             (id, reference, type, amount_kobo, payer_id, property_id, lease_id,
              subaccount_code, next_verify_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT DO NOTHING
           RETURNING id, reference, type, status, amount_kobo, currency, payer_id, property_id,
                     lease_id, subaccount_code, authorization_url, access_code, paystack_id,
                     status_reason, created_at, updated_at, paid_at, verify_attempts"#,
        new.id,
        new.reference,
        new.subject.kind().as_str(),
        new.amount_kobo,
        new.payer_id,
        new.subject.property_id(),
        new.subject.lease_id(),
        new.subaccount_code,
        new.first_verify_at,
    )
    .fetch_optional(conn)
    .await?;
    checked(row)
}

#[tracing::instrument(skip_all)]
pub async fn find_by_reference(
    db: impl PgExecutor<'_>,
    reference: &str,
) -> Result<Option<Transaction>, Error> {
    let row = sqlx::query_as!(
        Row,
        r#"SELECT id, reference, type, status, amount_kobo, currency, payer_id, property_id,
                  lease_id, subaccount_code, authorization_url, access_code, paystack_id,
                  status_reason, created_at, updated_at, paid_at, verify_attempts
           FROM payments.transactions WHERE reference = $1"#,
        reference
    )
    .fetch_optional(db)
    .await?;
    checked(row)
}

#[tracing::instrument(skip_all)]
pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Transaction>, Error> {
    let row = sqlx::query_as!(
        Row,
        r#"SELECT id, reference, type, status, amount_kobo, currency, payer_id, property_id,
                  lease_id, subaccount_code, authorization_url, access_code, paystack_id,
                  status_reason, created_at, updated_at, paid_at, verify_attempts
           FROM payments.transactions WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?;
    checked(row)
}

/// The payer's PENDING payment for `subject`, if any (there is at most one).
#[tracing::instrument(skip_all)]
pub async fn pending_for(
    db: impl PgExecutor<'_>,
    payer_id: Uuid,
    subject: Subject,
) -> Result<Option<Transaction>, Error> {
    let row = sqlx::query_as!(
        Row,
        r#"SELECT id, reference, type, status, amount_kobo, currency, payer_id, property_id,
                  lease_id, subaccount_code, authorization_url, access_code, paystack_id,
                  status_reason, created_at, updated_at, paid_at, verify_attempts
           FROM payments.transactions
           WHERE payer_id = $1 AND type = $2 AND status = 'PENDING'
             AND property_id IS NOT DISTINCT FROM $3 AND lease_id IS NOT DISTINCT FROM $4"#,
        payer_id,
        subject.kind().as_str(),
        subject.property_id(),
        subject.lease_id(),
    )
    .fetch_optional(db)
    .await?;
    checked(row)
}

/// The reference of the payer's successful unlock of the property, if they hold one.
#[tracing::instrument(skip_all)]
pub async fn unlocked_reference(
    db: impl PgExecutor<'_>,
    payer_id: Uuid,
    property_id: Uuid,
) -> Result<Option<String>, Error> {
    Ok(sqlx::query_scalar!(
        r#"SELECT reference FROM payments.transactions
           WHERE payer_id = $1 AND property_id = $2 AND type = 'CONTACT_UNLOCK'
             AND status = 'SUCCESS'"#,
        payer_id,
        property_id,
    )
    .fetch_optional(db)
    .await?)
}

/// Records where the payer goes to pay, while the transaction is still PENDING.
#[tracing::instrument(skip_all)]
pub async fn set_checkout(
    db: impl PgExecutor<'_>,
    id: Uuid,
    authorization_url: &str,
    access_code: &str,
) -> Result<Option<Transaction>, Error> {
    let row = sqlx::query_as!(
        Row,
        r#"UPDATE payments.transactions
           SET authorization_url = $2, access_code = $3, updated_at = now()
           WHERE id = $1 AND status = 'PENDING'
           RETURNING id, reference, type, status, amount_kobo, currency, payer_id, property_id,
                     lease_id, subaccount_code, authorization_url, access_code, paystack_id,
                     status_reason, created_at, updated_at, paid_at, verify_attempts"#,
        id,
        authorization_url,
        access_code,
    )
    .fetch_optional(db)
    .await?;
    checked(row)
}

/// SUCCESS, if the transaction is still `from`: the one write that grants value. A
/// second successful unlock of one property by one payer breaks the unique index
/// `transactions_one_unlock` ([`ONE_UNLOCK`]).
#[tracing::instrument(skip_all)]
pub async fn grant(
    conn: &mut PgConnection,
    id: Uuid,
    from: Status,
    paystack_id: i64,
    paid_at: OffsetDateTime,
) -> Result<Option<Transaction>, Error> {
    let row = sqlx::query_as!(
        Row,
        r#"UPDATE payments.transactions
           SET status = 'SUCCESS', paystack_id = $3, paid_at = $4, status_reason = '',
               next_verify_at = NULL, verify_attempts = verify_attempts + 1, updated_at = now()
           WHERE id = $1 AND status = $2
           RETURNING id, reference, type, status, amount_kobo, currency, payer_id, property_id,
                     lease_id, subaccount_code, authorization_url, access_code, paystack_id,
                     status_reason, created_at, updated_at, paid_at, verify_attempts"#,
        id,
        from.as_str(),
        paystack_id,
        paid_at,
    )
    .fetch_optional(conn)
    .await?;
    checked(row)
}

/// The index that allows one SUCCESS contact unlock per payer and property.
pub const ONE_UNLOCK: &str = "transactions_one_unlock";

/// Whether `error` is a second success for one payer and property.
pub fn is_second_unlock(error: &Error) -> bool {
    matches!(error, Error::Database(sqlx::Error::Database(db)) if db.constraint() == Some(ONE_UNLOCK))
}

/// FAILED or ABANDONED with `reason`, if the transaction is still PENDING.
#[tracing::instrument(skip_all)]
pub async fn close(
    conn: &mut PgConnection,
    id: Uuid,
    to: Status,
    reason: &str,
    paystack_id: Option<i64>,
) -> Result<Option<Transaction>, Error> {
    let row = sqlx::query_as!(
        Row,
        r#"UPDATE payments.transactions
           SET status = $2, status_reason = $3, paystack_id = COALESCE($4, paystack_id),
               next_verify_at = NULL, verify_attempts = verify_attempts + 1, updated_at = now()
           WHERE id = $1 AND status = 'PENDING'
           RETURNING id, reference, type, status, amount_kobo, currency, payer_id, property_id,
                     lease_id, subaccount_code, authorization_url, access_code, paystack_id,
                     status_reason, created_at, updated_at, paid_at, verify_attempts"#,
        id,
        to.as_str(),
        reason,
        paystack_id,
    )
    .fetch_optional(conn)
    .await?;
    checked(row)
}

/// Leaves a PENDING transaction pending, noting why, and when to verify it again.
#[tracing::instrument(skip_all)]
pub async fn postpone(
    db: impl PgExecutor<'_>,
    id: Uuid,
    reason: &str,
    paystack_id: Option<i64>,
    next_verify_at: OffsetDateTime,
) -> Result<Option<Transaction>, Error> {
    let row = sqlx::query_as!(
        Row,
        r#"UPDATE payments.transactions
           SET status_reason = $2, paystack_id = COALESCE($3, paystack_id),
               next_verify_at = $4, verify_attempts = verify_attempts + 1, updated_at = now()
           WHERE id = $1 AND status = 'PENDING'
           RETURNING id, reference, type, status, amount_kobo, currency, payer_id, property_id,
                     lease_id, subaccount_code, authorization_url, access_code, paystack_id,
                     status_reason, created_at, updated_at, paid_at, verify_attempts"#,
        id,
        reason,
        paystack_id,
        next_verify_at,
    )
    .fetch_optional(db)
    .await?;
    checked(row)
}

/// Takes up to `limit` PENDING transactions due for a verify, pushing their next verify
/// `lease` ahead so other reconcilers (other replicas) leave them alone meanwhile.
#[tracing::instrument(skip_all)]
pub async fn claim_due(
    db: impl PgExecutor<'_>,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Transaction>, Error> {
    let until = OffsetDateTime::now_utc() + lease;
    let rows = sqlx::query_as!(
        Row,
        r#"UPDATE payments.transactions SET next_verify_at = $2
           WHERE id IN (SELECT id FROM payments.transactions
                        WHERE status = 'PENDING' AND next_verify_at <= now()
                        ORDER BY next_verify_at
                        LIMIT $1
                        FOR UPDATE SKIP LOCKED)
           RETURNING id, reference, type, status, amount_kobo, currency, payer_id, property_id,
                     lease_id, subaccount_code, authorization_url, access_code, paystack_id,
                     status_reason, created_at, updated_at, paid_at, verify_attempts"#,
        limit,
        until,
    )
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Transaction::try_from).collect()
}

/// Marks a SUCCESS transaction as being refunded; `None` if it is not SUCCESS or a refund
/// is already under way (two staff asking at once refund once).
#[tracing::instrument(skip_all)]
pub async fn start_refund(
    db: impl PgExecutor<'_>,
    id: Uuid,
    stale_after: Duration,
) -> Result<Option<Transaction>, Error> {
    let stale_before = OffsetDateTime::now_utc() - stale_after;
    let row = sqlx::query_as!(
        Row,
        r#"UPDATE payments.transactions SET refund_started_at = now()
           WHERE id = $1 AND status = 'SUCCESS'
             AND (refund_started_at IS NULL OR refund_started_at < $2)
           RETURNING id, reference, type, status, amount_kobo, currency, payer_id, property_id,
                     lease_id, subaccount_code, authorization_url, access_code, paystack_id,
                     status_reason, created_at, updated_at, paid_at, verify_attempts"#,
        id,
        stale_before,
    )
    .fetch_optional(db)
    .await?;
    checked(row)
}

/// Lets a refund be asked again after Paystack refused or did not answer.
#[tracing::instrument(skip_all)]
pub async fn abandon_refund(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), Error> {
    sqlx::query!(
        "UPDATE payments.transactions SET refund_started_at = NULL WHERE id = $1 AND status = 'SUCCESS'",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// REFUNDED with `reason`, if the transaction is still SUCCESS.
#[tracing::instrument(skip_all)]
pub async fn refunded(
    conn: &mut PgConnection,
    id: Uuid,
    reason: &str,
) -> Result<Option<Transaction>, Error> {
    let row = sqlx::query_as!(
        Row,
        r#"UPDATE payments.transactions
           SET status = 'REFUNDED', status_reason = $2, refund_started_at = NULL,
               updated_at = now()
           WHERE id = $1 AND status = 'SUCCESS'
           RETURNING id, reference, type, status, amount_kobo, currency, payer_id, property_id,
                     lease_id, subaccount_code, authorization_url, access_code, paystack_id,
                     status_reason, created_at, updated_at, paid_at, verify_attempts"#,
        id,
        reason,
    )
    .fetch_optional(conn)
    .await?;
    checked(row)
}

/// A page of transactions, newest first: the payer's own, or everyone's (`payer` None),
/// after the cursor `before` (the last id of the previous page). Ids are UUIDv7, so id
/// order is creation order.
#[tracing::instrument(skip_all)]
pub async fn list(
    db: impl PgExecutor<'_>,
    payer: Option<Uuid>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Transaction>, Error> {
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT id, reference, type, status, amount_kobo, currency, payer_id, property_id,
                  lease_id, subaccount_code, authorization_url, access_code, paystack_id,
                  status_reason, created_at, updated_at, paid_at, verify_attempts
           FROM payments.transactions
           WHERE ($1::uuid IS NULL OR payer_id = $1)
             AND ($2::uuid IS NULL OR id < $2)
           ORDER BY id DESC
           LIMIT $3"#,
        payer,
        before,
        limit,
    )
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Transaction::try_from).collect()
}
