//! The contact unlocks chat keeps of payments' events, so the unlock-bypass guard needs no
//! call to payments per message (ARCHITECTURE.md lists no consumer for chat; this is one).
//!
//! One durable consumer reads `rentory.payments.transaction.*` in stream order:
//! `succeeded` of type CONTACT_UNLOCK records an unlock, `refunded` of that type withdraws
//! it, anything else is ignored. Rows are keyed by transaction, and a refund that arrives
//! before its payment (a redelivery after a failure) still wins, so the projection ends the
//! same whatever the order. Idempotent through `processed_events`.

use rentory_events::{Delivered, Handler, HandlerError};
use rentory_proto::events::v1::{TransactionRefunded, TransactionSucceeded};
use rentory_proto::prost_types::Timestamp;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

pub const UNLOCK_CONSUMER: &str = "chat-contact-unlocks";
/// One filter for both subjects, so they arrive in order (and nats-server 2.9, which
/// accepts one filter per consumer, is enough).
pub const TRANSACTIONS: &str = "rentory.payments.transaction.*";
pub const TRANSACTION_SUCCEEDED: &str = "rentory.payments.transaction.succeeded";
pub const TRANSACTION_REFUNDED: &str = "rentory.payments.transaction.refunded";
/// The transaction type that buys a landlord's contact.
pub const CONTACT_UNLOCK: &str = "CONTACT_UNLOCK";

pub struct ContactUnlocks;

/// A change to the projection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Unlocked(Unlock),
    Refunded(Unlock),
    /// Another subject, or a payment of another kind.
    Ignored,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlock {
    transaction_id: Uuid,
    tenant_id: Uuid,
    property_id: Uuid,
    reference: String,
    at: OffsetDateTime,
}

/// What the succeeded and refunded events both say about a payment.
struct Payment {
    kind: String,
    transaction_id: String,
    payer_id: String,
    property_id: Option<String>,
    reference: String,
    at: Option<Timestamp>,
}

/// Both events carry these fields under the same names.
macro_rules! payment_from {
    ($event:ty) => {
        impl From<$event> for Payment {
            fn from(e: $event) -> Self {
                Self {
                    kind: e.r#type,
                    transaction_id: e.transaction_id,
                    payer_id: e.payer_id,
                    property_id: e.property_id,
                    reference: e.reference,
                    at: e.at,
                }
            }
        }
    };
}

payment_from!(TransactionSucceeded);
payment_from!(TransactionRefunded);

impl TryFrom<Payment> for Unlock {
    type Error = HandlerError;

    fn try_from(p: Payment) -> Result<Self, HandlerError> {
        let id = |text: &str, what: &str| {
            Uuid::parse_str(text)
                .map_err(|_| HandlerError::permanent(format!("unlock names no valid {what}")))
        };
        let property = p
            .property_id
            .as_deref()
            .ok_or_else(|| HandlerError::permanent("unlock names no property"))?;
        Ok(Self {
            transaction_id: id(&p.transaction_id, "transaction")?,
            tenant_id: id(&p.payer_id, "payer")?,
            property_id: id(property, "property")?,
            reference: p.reference,
            at: p
                .at
                .as_ref()
                .and_then(rentory_proto::offset_date_time)
                .unwrap_or_else(OffsetDateTime::now_utc),
        })
    }
}

impl Handler for ContactUnlocks {
    type Effect = Change;

    async fn prepare(&self, event: &Delivered) -> Result<Change, HandlerError> {
        let (payment, refunded) = match event.subject.as_str() {
            TRANSACTION_SUCCEEDED => (
                Payment::from(event.decode::<TransactionSucceeded>()?),
                false,
            ),
            TRANSACTION_REFUNDED => (Payment::from(event.decode::<TransactionRefunded>()?), true),
            _ => return Ok(Change::Ignored),
        };
        if payment.kind != CONTACT_UNLOCK {
            return Ok(Change::Ignored);
        }
        let unlock = Unlock::try_from(payment)?;
        Ok(if refunded {
            Change::Refunded(unlock)
        } else {
            Change::Unlocked(unlock)
        })
    }

    async fn apply(
        &self,
        change: Change,
        _event: &Delivered,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        match change {
            Change::Unlocked(u) => {
                sqlx::query!(
                    r#"INSERT INTO chat.contact_unlocks
                           (transaction_id, tenant_id, property_id, reference, unlocked_at)
                       VALUES ($1, $2, $3, $4, $5)
                       ON CONFLICT (transaction_id) DO NOTHING"#,
                    u.transaction_id,
                    u.tenant_id,
                    u.property_id,
                    u.reference,
                    u.at,
                )
                .execute(tx)
                .await?;
                tracing::info!(tenant_id = %u.tenant_id, property_id = %u.property_id, reference = %u.reference, "contact unlocked in chat");
            }
            Change::Refunded(u) => {
                sqlx::query!(
                    r#"INSERT INTO chat.contact_unlocks
                           (transaction_id, tenant_id, property_id, reference, unlocked_at,
                            refunded_at)
                       VALUES ($1, $2, $3, $4, $5, $5)
                       ON CONFLICT (transaction_id) DO UPDATE
                       SET refunded_at = COALESCE(chat.contact_unlocks.refunded_at,
                                                  EXCLUDED.refunded_at)"#,
                    u.transaction_id,
                    u.tenant_id,
                    u.property_id,
                    u.reference,
                    u.at,
                )
                .execute(tx)
                .await?;
                tracing::info!(tenant_id = %u.tenant_id, property_id = %u.property_id, reference = %u.reference, "contact unlock refunded; chat masks again");
            }
            Change::Ignored => {}
        }
        Ok(())
    }
}
