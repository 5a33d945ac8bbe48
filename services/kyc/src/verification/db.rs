//! SQL for `kyc.verification_requests`. Compile-time checked; each query is one small
//! function taking an executor or the caller's transaction.

use rentory_auth::Role;
use rentory_storage::ObjectKey;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::cursor::Cursor;
use super::{ImageRef, Status, Verification};
use crate::error::Error;
use crate::face_match::{FaceMatchResult, Verdict};

/// The partial unique index that allows one PENDING request per user.
pub const ONE_PENDING_PER_USER: &str = "verification_requests_one_pending_per_user";

/// One stored original, as recorded with its request.
#[derive(Debug, Clone)]
pub struct StoredImage {
    pub key: ObjectKey,
    pub mime: &'static str,
    pub byte_size: i64,
    pub sha256: [u8; 32],
}

pub struct NewRequest {
    pub id: Uuid,
    pub user_id: Uuid,
    pub role_requested: Role,
    pub id_image: StoredImage,
    pub face_scan: StoredImage,
}

/// A request joined with its face match, as the queries below return it.
struct Row {
    id: Uuid,
    user_id: Uuid,
    status: String,
    role_requested: String,
    id_image_key: String,
    id_image_mime: String,
    face_scan_key: String,
    face_scan_mime: String,
    reviewer_id: Option<Uuid>,
    rejection_reason: Option<String>,
    created_at: OffsetDateTime,
    decided_at: Option<OffsetDateTime>,
    fm_verdict: Option<String>,
    fm_score: Option<i16>,
    fm_model: Option<String>,
    fm_reasons: Option<Vec<String>>,
    fm_checked_at: Option<OffsetDateTime>,
}

impl TryFrom<Row> for Verification {
    type Error = Error;

    fn try_from(row: Row) -> Result<Self, Error> {
        let corrupt =
            |what: &str| Error::corrupt(format!("verification request {}: {what}", row.id));
        let status = Status::parse(&row.status).ok_or_else(|| corrupt("unknown status"))?;
        let role_requested: Role = row
            .role_requested
            .parse()
            .map_err(|_| corrupt("unknown role_requested"))?;
        let key = |raw: &str| ObjectKey::parse(raw).map_err(|_| corrupt("invalid object key"));
        let face_match = match (row.fm_verdict.as_deref(), row.fm_checked_at) {
            (Some(verdict), Some(checked_at)) => Some(FaceMatchResult {
                verdict: Verdict::parse(verdict).ok_or_else(|| corrupt("unknown verdict"))?,
                score: row.fm_score.and_then(|s| u32::try_from(s).ok()),
                model: row.fm_model.clone().unwrap_or_default(),
                reasons: row.fm_reasons.clone().unwrap_or_default(),
                checked_at,
            }),
            _ => None,
        };
        Ok(Self {
            id: row.id,
            user_id: row.user_id,
            status,
            role_requested,
            id_image: ImageRef {
                key: key(&row.id_image_key)?,
                mime: row.id_image_mime,
            },
            face_scan: ImageRef {
                key: key(&row.face_scan_key)?,
                mime: row.face_scan_mime,
            },
            reviewer_id: row.reviewer_id,
            rejection_reason: row.rejection_reason,
            created_at: row.created_at,
            decided_at: row.decided_at,
            face_match,
        })
    }
}

#[tracing::instrument(skip_all)]
pub async fn has_pending(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (
             SELECT 1 FROM kyc.verification_requests WHERE user_id = $1 AND status = 'PENDING'
           ) AS "exists!""#,
        user_id
    )
    .fetch_one(db)
    .await
}

/// Inserts a PENDING request; a second pending one for the user is [`Error::AlreadyPending`].
#[tracing::instrument(skip_all, fields(verification_request_id = %new.id))]
pub async fn insert(conn: &mut PgConnection, new: &NewRequest) -> Result<OffsetDateTime, Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO kyc.verification_requests
             (id, user_id, status, role_requested,
              id_image_key, id_image_mime, id_image_bytes, id_image_sha256,
              face_scan_key, face_scan_mime, face_scan_bytes, face_scan_sha256)
           VALUES ($1, $2, 'PENDING', $3, $4, $5, $6, $7, $8, $9, $10, $11)
           RETURNING created_at"#,
        new.id,
        new.user_id,
        new.role_requested.as_str(),
        new.id_image.key.as_str(),
        new.id_image.mime,
        new.id_image.byte_size,
        &new.id_image.sha256[..],
        new.face_scan.key.as_str(),
        new.face_scan.mime,
        new.face_scan.byte_size,
        &new.face_scan.sha256[..],
    )
    .fetch_one(conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.constraint() == Some(ONE_PENDING_PER_USER) => {
            Error::AlreadyPending
        }
        _ => Error::Database(e),
    })
}

#[tracing::instrument(skip_all)]
pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Verification>, Error> {
    let row = sqlx::query_as!(
        Row,
        r#"SELECT r.id, r.user_id, r.status, r.role_requested,
                  r.id_image_key, r.id_image_mime, r.face_scan_key, r.face_scan_mime,
                  r.reviewer_id, r.rejection_reason, r.created_at, r.decided_at,
                  f.verdict AS "fm_verdict?", f.score AS "fm_score?", f.model AS "fm_model?",
                  f.reasons AS "fm_reasons?", f.checked_at AS "fm_checked_at?"
           FROM kyc.verification_requests r
           LEFT JOIN kyc.face_match_audits f ON f.verification_request_id = r.id
           WHERE r.id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?;
    row.map(Verification::try_from).transpose()
}

#[tracing::instrument(skip_all)]
pub async fn latest_for_user(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
) -> Result<Option<Verification>, Error> {
    let row = sqlx::query_as!(
        Row,
        r#"SELECT r.id, r.user_id, r.status, r.role_requested,
                  r.id_image_key, r.id_image_mime, r.face_scan_key, r.face_scan_mime,
                  r.reviewer_id, r.rejection_reason, r.created_at, r.decided_at,
                  f.verdict AS "fm_verdict?", f.score AS "fm_score?", f.model AS "fm_model?",
                  f.reasons AS "fm_reasons?", f.checked_at AS "fm_checked_at?"
           FROM kyc.verification_requests r
           LEFT JOIN kyc.face_match_audits f ON f.verification_request_id = r.id
           WHERE r.user_id = $1
           ORDER BY r.created_at DESC, r.id DESC
           LIMIT 1"#,
        user_id
    )
    .fetch_optional(db)
    .await?;
    row.map(Verification::try_from).transpose()
}

/// Up to `limit` requests in `status`, oldest first, after `after`.
#[tracing::instrument(skip_all)]
pub async fn list(
    db: impl PgExecutor<'_>,
    status: Status,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<Verification>, Error> {
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT r.id, r.user_id, r.status, r.role_requested,
                  r.id_image_key, r.id_image_mime, r.face_scan_key, r.face_scan_mime,
                  r.reviewer_id, r.rejection_reason, r.created_at, r.decided_at,
                  f.verdict AS "fm_verdict?", f.score AS "fm_score?", f.model AS "fm_model?",
                  f.reasons AS "fm_reasons?", f.checked_at AS "fm_checked_at?"
           FROM kyc.verification_requests r
           LEFT JOIN kyc.face_match_audits f ON f.verification_request_id = r.id
           WHERE r.status = $1
             AND ($2::timestamptz IS NULL OR (r.created_at, r.id) > ($2, $3::uuid))
           ORDER BY r.created_at, r.id
           LIMIT $4"#,
        status.as_str(),
        after.map(|c| c.created_at),
        after.map(|c| c.id),
        limit
    )
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Verification::try_from).collect()
}

/// What a decision needs, read with the row locked until the transaction ends.
pub struct Locked {
    pub user_id: Uuid,
    pub status: Status,
    pub role_requested: Role,
}

#[tracing::instrument(skip_all)]
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Locked>, Error> {
    let row = sqlx::query!(
        r#"SELECT user_id, status, role_requested
           FROM kyc.verification_requests WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(Locked {
            user_id: row.user_id,
            status: Status::parse(&row.status)
                .ok_or_else(|| Error::corrupt(format!("request {id}: unknown status")))?,
            role_requested: row
                .role_requested
                .parse()
                .map_err(|_| Error::corrupt(format!("request {id}: unknown role")))?,
        })
    })
    .transpose()
}

/// Records a decision on a PENDING row (locked by [`lock`]); returns when it was made.
#[tracing::instrument(skip_all)]
pub async fn record_decision(
    conn: &mut PgConnection,
    id: Uuid,
    to: Status,
    reviewer_id: Uuid,
    rejection_reason: Option<&str>,
    decided_at: OffsetDateTime,
) -> Result<(), Error> {
    let updated = sqlx::query!(
        r#"UPDATE kyc.verification_requests
           SET status = $2, reviewer_id = $3, rejection_reason = $4, decided_at = $5
           WHERE id = $1 AND status = 'PENDING'"#,
        id,
        to.as_str(),
        reviewer_id,
        rejection_reason,
        decided_at
    )
    .execute(conn)
    .await?
    .rows_affected();
    if updated == 1 {
        Ok(())
    } else {
        Err(Error::corrupt(format!(
            "request {id} was not PENDING under its row lock"
        )))
    }
}
