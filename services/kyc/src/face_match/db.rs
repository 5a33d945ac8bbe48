//! SQL for `kyc.face_match_audits`.

use rentory_events::HandlerError;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::Outcome;
use crate::verification::ImageRef;

#[tracing::instrument(skip_all)]
pub(super) async fn is_recorded(db: impl PgExecutor<'_>, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (
             SELECT 1 FROM kyc.face_match_audits WHERE verification_request_id = $1
           ) AS "exists!""#,
        id
    )
    .fetch_one(db)
    .await
}

#[tracing::instrument(skip_all)]
pub(super) async fn image_refs(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<(ImageRef, ImageRef)>, HandlerError> {
    let row = sqlx::query!(
        r#"SELECT id_image_key, id_image_mime, face_scan_key, face_scan_mime
           FROM kyc.verification_requests WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let key = |raw: &str| {
        rentory_storage::ObjectKey::parse(raw)
            .map_err(|_| HandlerError::permanent(format!("request {id} has an invalid object key")))
    };
    Ok(Some((
        ImageRef {
            key: key(&row.id_image_key)?,
            mime: row.id_image_mime,
        },
        ImageRef {
            key: key(&row.face_scan_key)?,
            mime: row.face_scan_mime,
        },
    )))
}

/// Writes the outcome once; a second write for the same request changes nothing.
#[tracing::instrument(skip_all, fields(verification_request_id = %id, verdict = outcome.verdict.as_str()))]
pub(super) async fn record(
    conn: &mut PgConnection,
    id: Uuid,
    outcome: &Outcome,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO kyc.face_match_audits
             (verification_request_id, verdict, score, model, reasons, attempts)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (verification_request_id) DO NOTHING"#,
        id,
        outcome.verdict.as_str(),
        outcome.score.and_then(|s| i16::try_from(s).ok()),
        outcome.model,
        &outcome.reasons,
        outcome.attempts
    )
    .execute(conn)
    .await?;
    Ok(())
}
