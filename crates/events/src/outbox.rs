//! Writing events into the caller's transaction.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::EventError;
use rentory_runtime::trace_context::current_traceparent;

/// Largest payload accepted. NATS refuses messages over its `max_payload` (1 MiB by
/// default) and such a row would block the relay, so stay well under it; events carry ids
/// and small facts, not documents.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// Prefix of the channel the relay LISTENs on; the schema name completes it.
pub const NOTIFY_PREFIX: &str = "rentory_outbox_";

/// The NOTIFY channel for a service schema: `rentory_outbox_<schema>`.
pub fn notify_channel(schema: &str) -> String {
    format!("{NOTIFY_PREFIX}{schema}")
}

/// Adds an event to the outbox in the caller's transaction and wakes the relay.
///
/// Pass the transaction that makes the state change (`&mut *tx`), so the change and its
/// event commit or roll back together. The NOTIFY is delivered only on commit. The
/// `traceparent` of the current span is stored with the event when there is one.
/// Returns the event id (UUIDv7), which becomes the message's `Nats-Msg-Id`.
pub async fn enqueue<M: prost::Message>(
    conn: &mut PgConnection,
    subject: &str,
    payload: &M,
) -> Result<Uuid, EventError> {
    enqueue_bytes(
        conn,
        subject,
        &payload.encode_to_vec(),
        current_traceparent().as_deref(),
    )
    .await
}

/// [`enqueue`] for an already-encoded payload and an explicit `traceparent`.
#[tracing::instrument(skip_all, fields(subject = %subject))]
pub async fn enqueue_bytes(
    conn: &mut PgConnection,
    subject: &str,
    payload: &[u8],
    traceparent: Option<&str>,
) -> Result<Uuid, EventError> {
    validate_subject(subject)?;
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(EventError::PayloadTooLarge {
            size: payload.len(),
            max: MAX_PAYLOAD_BYTES,
        });
    }
    // v7: time-ordered, so ids sort roughly by creation like the outbox index does.
    let id = Uuid::now_v7();
    // Unqualified names and runtime-checked queries: every service's pool sets
    // `search_path` to its own schema, so these statements cannot be checked at compile
    // time against any single one.
    sqlx::query("INSERT INTO outbox (id, subject, payload, traceparent) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(subject)
        .bind(payload)
        .bind(traceparent)
        .execute(&mut *conn)
        .await?;
    sqlx::query("SELECT pg_notify($1 || current_schema(), '')")
        .bind(NOTIFY_PREFIX)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// A publishable NATS subject: dot-separated non-empty tokens without wildcards or
/// whitespace.
pub(crate) fn validate_subject(subject: &str) -> Result<(), EventError> {
    let valid = !subject.is_empty()
        && subject.split('.').all(|token| {
            !token.is_empty()
                && !token
                    .chars()
                    .any(|c| c == '*' || c == '>' || c.is_whitespace() || c.is_control())
        });
    if valid {
        Ok(())
    } else {
        Err(EventError::InvalidSubject(subject.to_owned()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed test should panic
mod tests {
    use super::*;

    #[test]
    fn accepts_event_subjects() {
        validate_subject("rentory.kyc.verification.approved").unwrap();
    }

    #[test]
    fn rejects_unpublishable_subjects() {
        for bad in [
            "",
            "rentory..x",
            "rentory.*",
            "rentory.>",
            "a b",
            ".a",
            "a.",
            "a\tb",
        ] {
            assert!(validate_subject(bad).is_err(), "{bad:?}");
        }
    }
}
