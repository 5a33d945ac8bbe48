//! Storage of sessions (schema `chat`). Reads go through the view `chat.sessions_shown`,
//! which adds whether the tenant holds an unlock for the property (from the
//! `contact_unlocks` projection) in the same query.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ListCursor, Session};
use crate::access::Parties;
use crate::error::Error;

struct SessionRow {
    id: Uuid,
    property_id: Uuid,
    tenant_id: Uuid,
    landlord_id: Uuid,
    assigned_guide_id: Option<Uuid>,
    created_at: OffsetDateTime,
    last_updated: OffsetDateTime,
    contact_unlocked: bool,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        Session {
            id: r.id,
            property_id: r.property_id,
            parties: Parties {
                tenant_id: r.tenant_id,
                landlord_id: r.landlord_id,
                assigned_guide_id: r.assigned_guide_id,
            },
            created_at: r.created_at,
            last_updated: r.last_updated,
            contact_unlocked: r.contact_unlocked,
        }
    }
}

#[tracing::instrument(skip_all, fields(session_id = %id))]
pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Session>, Error> {
    let row = sqlx::query_as!(
        SessionRow,
        r#"SELECT id AS "id!", property_id AS "property_id!", tenant_id AS "tenant_id!",
                  landlord_id AS "landlord_id!", assigned_guide_id, created_at AS "created_at!",
                  last_updated AS "last_updated!", contact_unlocked AS "contact_unlocked!"
           FROM chat.sessions_shown WHERE id = $1"#,
        id,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(Session::from))
}

/// The session of `tenant_id` about `property_id`, if they opened one.
#[tracing::instrument(skip_all, fields(property_id = %property_id))]
pub async fn find_for(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    property_id: Uuid,
) -> Result<Option<Session>, Error> {
    let row = sqlx::query_as!(
        SessionRow,
        r#"SELECT id AS "id!", property_id AS "property_id!", tenant_id AS "tenant_id!",
                  landlord_id AS "landlord_id!", assigned_guide_id, created_at AS "created_at!",
                  last_updated AS "last_updated!", contact_unlocked AS "contact_unlocked!"
           FROM chat.sessions_shown WHERE tenant_id = $1 AND property_id = $2"#,
        tenant_id,
        property_id,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(Session::from))
}

/// Inserts a new session unless the tenant already has one for the property (racing opens
/// end with one row); either way the caller reads it back with [`find_for`].
#[tracing::instrument(skip_all, fields(property_id = %property_id))]
pub async fn insert(
    db: impl PgExecutor<'_>,
    id: Uuid,
    property_id: Uuid,
    tenant_id: Uuid,
    landlord_id: Uuid,
    at: OffsetDateTime,
) -> Result<bool, Error> {
    let inserted = sqlx::query!(
        r#"INSERT INTO chat.chat_sessions
               (id, property_id, tenant_id, landlord_id, created_at, last_updated)
           VALUES ($1, $2, $3, $4, $5, $5)
           ON CONFLICT (tenant_id, property_id) DO NOTHING"#,
        id,
        property_id,
        tenant_id,
        landlord_id,
        at,
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Sessions `user_id` takes part in (as tenant, landlord or guide), most recently updated
/// first, after `cursor`. A participant has few sessions: their rows are found through the
/// three party indexes and sorted in memory (no index covers `last_updated`, which every
/// message changes).
#[tracing::instrument(skip_all, fields(user_id = %user_id))]
pub async fn list_for(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    cursor: Option<ListCursor>,
    limit: i64,
) -> Result<Vec<Session>, Error> {
    let rows = sqlx::query_as!(
        SessionRow,
        r#"SELECT id AS "id!", property_id AS "property_id!", tenant_id AS "tenant_id!",
                  landlord_id AS "landlord_id!", assigned_guide_id, created_at AS "created_at!",
                  last_updated AS "last_updated!", contact_unlocked AS "contact_unlocked!"
           FROM chat.sessions_shown
           WHERE (tenant_id = $1 OR landlord_id = $1 OR assigned_guide_id = $1)
             AND ($2::timestamptz IS NULL OR (last_updated, id) < ($2, $3))
           ORDER BY last_updated DESC, id DESC
           LIMIT $4"#,
        user_id,
        cursor.map(|c| c.last_updated),
        cursor.map(|c| c.id),
        limit,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Session::from).collect())
}

/// Every session, most recently updated first, after `cursor` (supervisors).
#[tracing::instrument(skip_all)]
pub async fn list_all(
    db: impl PgExecutor<'_>,
    cursor: Option<ListCursor>,
    limit: i64,
) -> Result<Vec<Session>, Error> {
    let rows = sqlx::query_as!(
        SessionRow,
        r#"SELECT id AS "id!", property_id AS "property_id!", tenant_id AS "tenant_id!",
                  landlord_id AS "landlord_id!", assigned_guide_id, created_at AS "created_at!",
                  last_updated AS "last_updated!", contact_unlocked AS "contact_unlocked!"
           FROM chat.sessions_shown
           WHERE ($1::timestamptz IS NULL OR (last_updated, id) < ($1, $2))
           ORDER BY last_updated DESC, id DESC
           LIMIT $3"#,
        cursor.map(|c| c.last_updated),
        cursor.map(|c| c.id),
        limit,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Session::from).collect())
}

/// Sets the session's guide; false if there is no such session.
#[tracing::instrument(skip_all, fields(session_id = %id))]
pub async fn assign_guide(
    db: impl PgExecutor<'_>,
    id: Uuid,
    guide_id: Uuid,
    at: OffsetDateTime,
) -> Result<bool, Error> {
    let updated = sqlx::query!(
        r#"UPDATE chat.chat_sessions
           SET assigned_guide_id = $2, last_updated = GREATEST(last_updated, $3)
           WHERE id = $1"#,
        id,
        guide_id,
        at,
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(updated == 1)
}
