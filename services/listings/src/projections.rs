//! What listings keeps of other services' data, fed by their events (ARCHITECTURE.md: a
//! service never reads another's schema):
//!
//! - personas, from `rentory.ai.persona.updated`, to rank discovery for each tenant;
//! - contact unlocks, from `rentory.payments.transaction.succeeded` (type
//!   `CONTACT_UNLOCK`), to open `GetContact` to tenants who paid, and
//!   `rentory.payments.transaction.refunded`, to close it again when the payment is refunded.
//!
//! All are idempotent (the consumer records each event once) and order-proof: a persona is
//! replaced only by a higher version; an unlock is kept per transaction and stays until its
//! transaction is refunded, and a refund is remembered, so a success delivered after its
//! refund (two consumers, no order between them) opens nothing.

use rentory_events::{Delivered, Handler, HandlerError};
use rentory_persona::Persona;
use rentory_proto::events::v1::{PersonaUpdated, TransactionRefunded, TransactionSucceeded};
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

pub const PERSONA_CONSUMER: &str = "listings-personas";
pub const PERSONA_UPDATED: &str = "rentory.ai.persona.updated";
pub const UNLOCK_CONSUMER: &str = "listings-contact-unlocks";
pub const TRANSACTION_SUCCEEDED: &str = "rentory.payments.transaction.succeeded";
pub const REFUND_CONSUMER: &str = "listings-contact-refunds";
pub const TRANSACTION_REFUNDED: &str = "rentory.payments.transaction.refunded";
/// The transaction type that buys a landlord's contact.
pub const CONTACT_UNLOCK: &str = "CONTACT_UNLOCK";

pub struct PersonaUpdates;

/// A checked persona ready to store.
pub struct PersonaVersion {
    user_id: Uuid,
    version: i64,
    document: serde_json::Value,
}

impl Handler for PersonaUpdates {
    type Effect = PersonaVersion;

    async fn prepare(&self, event: &Delivered) -> Result<PersonaVersion, HandlerError> {
        let updated: PersonaUpdated = event.decode()?;
        let user_id = Uuid::parse_str(&updated.user_id)
            .map_err(|_| HandlerError::permanent("persona update names no valid user id"))?;
        let persona = Persona::from_event(&updated.persona_json, updated.version)
            .map_err(|e| HandlerError::permanent(format!("persona update is not valid: {e}")))?;
        let version = i64::try_from(persona.version)
            .map_err(|_| HandlerError::permanent("persona version out of range"))?;
        let document = serde_json::to_value(&persona)
            .map_err(|e| HandlerError::permanent(format!("persona cannot be stored: {e}")))?;
        Ok(PersonaVersion {
            user_id,
            version,
            document,
        })
    }

    async fn apply(
        &self,
        update: PersonaVersion,
        _event: &Delivered,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let written = sqlx::query!(
            r#"INSERT INTO listings.personas (user_id, version, persona, updated_at)
               VALUES ($1, $2, $3, now())
               ON CONFLICT (user_id) DO UPDATE
               SET version = EXCLUDED.version, persona = EXCLUDED.persona, updated_at = now()
               WHERE listings.personas.version < EXCLUDED.version"#,
            update.user_id,
            update.version,
            update.document,
        )
        .execute(tx)
        .await?
        .rows_affected();
        if written == 0 {
            tracing::debug!(user_id = %update.user_id, version = update.version, "persona not newer than the one kept");
        }
        Ok(())
    }
}

/// The newest persona seen for `user_id`, if any. A stored document that no longer parses
/// (a schema change) ranks as no persona rather than failing discovery.
pub async fn persona(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
) -> Result<Option<Persona>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT persona FROM listings.personas WHERE user_id = $1",
        user_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.and_then(|r| match serde_json::from_value::<Persona>(r.persona) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(%user_id, error = %e, "stored persona does not parse; ranking without it");
            None
        }
    }))
}

/// When a payment event says it happened, or now if it does not say.
fn when(at: Option<&rentory_proto::prost_types::Timestamp>) -> OffsetDateTime {
    at.and_then(rentory_proto::offset_date_time)
        .unwrap_or_else(OffsetDateTime::now_utc)
}

pub struct PaymentSuccesses;

/// A contact unlock to record; `None` for payments of other kinds.
pub struct Unlock {
    tenant_id: Uuid,
    property_id: Uuid,
    transaction_id: Uuid,
    reference: String,
    amount_kobo: i64,
    at: OffsetDateTime,
}

impl Handler for PaymentSuccesses {
    type Effect = Option<Unlock>;

    async fn prepare(&self, event: &Delivered) -> Result<Option<Unlock>, HandlerError> {
        let paid: TransactionSucceeded = event.decode()?;
        if paid.r#type != CONTACT_UNLOCK {
            return Ok(None);
        }
        let id = |text: &str, what: &str| {
            Uuid::parse_str(text)
                .map_err(|_| HandlerError::permanent(format!("unlock names no valid {what}")))
        };
        let property = paid
            .property_id
            .as_deref()
            .ok_or_else(|| HandlerError::permanent("unlock names no property"))?;
        if paid.amount_kobo <= 0 {
            return Err(HandlerError::permanent("unlock with no amount"));
        }
        Ok(Some(Unlock {
            tenant_id: id(&paid.payer_id, "payer")?,
            property_id: id(property, "property")?,
            transaction_id: id(&paid.transaction_id, "transaction")?,
            reference: paid.reference,
            amount_kobo: paid.amount_kobo,
            at: when(paid.at.as_ref()),
        }))
    }

    async fn apply(
        &self,
        unlock: Option<Unlock>,
        _event: &Delivered,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let Some(u) = unlock else {
            return Ok(());
        };
        // One row per transaction: a tenant refunded and paying again holds the second. A
        // transaction already refunded (its refund handled first) opens nothing.
        let written = sqlx::query!(
            r#"INSERT INTO listings.contact_unlocks
                 (tenant_id, property_id, transaction_id, reference, amount_kobo, unlocked_at)
               SELECT $1, $2, $3, $4, $5, $6
               WHERE NOT EXISTS (SELECT 1 FROM listings.refunded_unlocks WHERE transaction_id = $3)
               ON CONFLICT DO NOTHING"#,
            u.tenant_id,
            u.property_id,
            u.transaction_id,
            u.reference,
            u.amount_kobo,
            u.at,
        )
        .execute(tx)
        .await?
        .rows_affected();
        if written == 0 {
            tracing::info!(transaction_id = %u.transaction_id, reference = %u.reference, "unlock already recorded or refunded");
            return Ok(());
        }
        tracing::info!(tenant_id = %u.tenant_id, property_id = %u.property_id, reference = %u.reference, "contact unlocked");
        Ok(())
    }
}

pub struct PaymentRefunds;

/// A refunded contact unlock to close; `None` for refunds of other kinds.
pub struct RefundedUnlock {
    transaction_id: Uuid,
    reference: String,
    at: OffsetDateTime,
}

impl Handler for PaymentRefunds {
    type Effect = Option<RefundedUnlock>;

    async fn prepare(&self, event: &Delivered) -> Result<Option<RefundedUnlock>, HandlerError> {
        let refunded: TransactionRefunded = event.decode()?;
        if refunded.r#type != CONTACT_UNLOCK {
            return Ok(None);
        }
        let transaction_id = Uuid::parse_str(&refunded.transaction_id)
            .map_err(|_| HandlerError::permanent("refund names no valid transaction"))?;
        Ok(Some(RefundedUnlock {
            transaction_id,
            reference: refunded.reference,
            at: when(refunded.at.as_ref()),
        }))
    }

    async fn apply(
        &self,
        refund: Option<RefundedUnlock>,
        _event: &Delivered,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let Some(r) = refund else {
            return Ok(());
        };
        sqlx::query!(
            r#"INSERT INTO listings.refunded_unlocks (transaction_id, refunded_at)
               VALUES ($1, $2) ON CONFLICT DO NOTHING"#,
            r.transaction_id,
            r.at,
        )
        .execute(&mut *tx)
        .await?;
        let closed = sqlx::query!(
            "DELETE FROM listings.contact_unlocks WHERE transaction_id = $1",
            r.transaction_id,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tracing::info!(transaction_id = %r.transaction_id, reference = %r.reference, closed, "contact unlock refunded");
        Ok(())
    }
}

/// Whether `tenant_id` holds a successful contact unlock for `property_id`.
pub async fn has_unlock(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    property_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM listings.contact_unlocks
                          WHERE tenant_id = $1 AND property_id = $2) AS "found!""#,
        tenant_id,
        property_id,
    )
    .fetch_one(db)
    .await?;
    Ok(found)
}
