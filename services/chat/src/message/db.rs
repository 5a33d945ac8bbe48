//! Storage of messages and read markers (schema `chat`).

use rentory_auth::Role;
use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Message;
use crate::error::Error;

struct MessageRow {
    id: Uuid,
    session_id: Uuid,
    sender_id: Uuid,
    sender_role: String,
    content: String,
    client_id: Option<String>,
    is_admin_intervention: bool,
    is_read: bool,
    created_at: OffsetDateTime,
}

impl TryFrom<MessageRow> for Message {
    type Error = Error;

    fn try_from(r: MessageRow) -> Result<Self, Error> {
        let sender_role = r
            .sender_role
            .parse::<Role>()
            .map_err(|_| Error::Corrupt(format!("message {}: sender role", r.id)))?;
        Ok(Message {
            id: r.id,
            session_id: r.session_id,
            sender_id: r.sender_id,
            sender_role,
            content: r.content,
            client_id: r.client_id,
            is_admin_intervention: r.is_admin_intervention,
            is_read: r.is_read,
            created_at: r.created_at,
        })
    }
}

fn messages(rows: Vec<MessageRow>) -> Result<Vec<Message>, Error> {
    rows.into_iter().map(Message::try_from).collect()
}

/// The `ChatMessageSent` event to write with a message.
pub struct Announcement<'a> {
    pub event_id: Uuid,
    pub subject: &'a str,
    pub payload: &'a [u8],
    pub traceparent: Option<&'a str>,
}

/// What [`store`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// The message and its event are committed.
    New,
    /// This sender already sent this client id here: nothing was written.
    Duplicate,
    /// The session is gone or its guide is no longer the one access was decided with:
    /// nothing was written; decide again on fresh facts.
    Stale,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOutcome {
    pub stored: Stored,
    /// Whether the tenant holds an unlock for the session's property (read in the same
    /// snapshot, for masking the answer and the fan-out).
    pub contact_unlocked: bool,
}

/// The send path in ONE statement, hence one round trip and one implicit transaction:
/// bump the session's `last_updated` (taking its row lock first, so `seq` follows commit
/// order within a session) on condition that its guide is still `expected_guide`, insert the
/// message unless the client id was seen, add its event to the outbox (the row
/// `rentory_events::enqueue` writes, without its NOTIFY: `pg_notify` takes a database-wide
/// lock at commit that serialised concurrent sends; the caller wakes its relay in-process),
/// and read the unlock state.
#[tracing::instrument(skip_all, fields(session_id = %message.session_id))]
pub async fn store(
    db: impl PgExecutor<'_>,
    message: &Message,
    expected_guide: Option<Uuid>,
    event: &Announcement<'_>,
) -> Result<StoreOutcome, Error> {
    let row = sqlx::query!(
        r#"WITH session AS (
               UPDATE chat.chat_sessions SET last_updated = GREATEST(last_updated, $9)
               WHERE id = $1 AND assigned_guide_id IS NOT DISTINCT FROM $2
               RETURNING id, tenant_id, property_id
           ), stored AS (
               INSERT INTO chat.messages
                   (id, session_id, sender_id, sender_role, content, client_id,
                    is_admin_intervention, created_at)
               SELECT $3, session.id, $4, $5, $6, $7, $8, $9 FROM session
               ON CONFLICT (session_id, sender_id, client_id) DO NOTHING
               RETURNING id
           ), announced AS (
               INSERT INTO chat.outbox (id, subject, payload, traceparent)
               SELECT $10, $11, $12, $13 FROM stored
               RETURNING id
           )
           SELECT EXISTS (SELECT 1 FROM session) AS "current!",
                  EXISTS (SELECT 1 FROM stored) AS "stored!",
                  EXISTS (SELECT 1 FROM session s
                          JOIN chat.contact_unlocks u
                            ON u.tenant_id = s.tenant_id AND u.property_id = s.property_id
                          WHERE u.refunded_at IS NULL) AS "contact_unlocked!""#,
        message.session_id,
        expected_guide,
        message.id,
        message.sender_id,
        message.sender_role.as_str(),
        message.content,
        message.client_id,
        message.is_admin_intervention,
        message.created_at,
        event.event_id,
        event.subject,
        event.payload,
        event.traceparent,
    )
    .fetch_one(db)
    .await?;
    let stored = match (row.current, row.stored) {
        (_, true) => Stored::New,
        (true, false) => Stored::Duplicate,
        (false, false) => Stored::Stale,
    };
    Ok(StoreOutcome {
        stored,
        contact_unlocked: row.contact_unlocked,
    })
}

/// The message `sender` sent into a session with `client_id`, if any.
#[tracing::instrument(skip_all, fields(session_id = %session_id))]
pub async fn find_by_client_id(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    sender_id: Uuid,
    client_id: &str,
) -> Result<Option<Message>, Error> {
    let row = sqlx::query_as!(
        MessageRow,
        r#"SELECT id, session_id, sender_id, sender_role, content, client_id,
                  is_admin_intervention, is_read, created_at
           FROM chat.messages
           WHERE session_id = $1 AND sender_id = $2 AND client_id = $3"#,
        session_id,
        sender_id,
        client_id,
    )
    .fetch_optional(db)
    .await?;
    row.map(Message::try_from).transpose()
}

/// Where a message sits in its session's order; `None` if it is not in that session.
#[tracing::instrument(skip_all, fields(session_id = %session_id))]
pub async fn position(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    message_id: Uuid,
) -> Result<Option<i64>, Error> {
    let seq = sqlx::query_scalar!(
        "SELECT seq FROM chat.messages WHERE id = $1 AND session_id = $2",
        message_id,
        session_id,
    )
    .fetch_optional(db)
    .await?;
    Ok(seq)
}

/// Up to `limit` messages older than position `before` (all when `None`), newest first.
#[tracing::instrument(skip_all, fields(session_id = %session_id))]
pub async fn newest_before(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Message>, Error> {
    let rows = sqlx::query_as!(
        MessageRow,
        r#"SELECT id, session_id, sender_id, sender_role, content, client_id,
                  is_admin_intervention, is_read, created_at
           FROM chat.messages
           WHERE session_id = $1 AND seq < $2
           ORDER BY seq DESC
           LIMIT $3"#,
        session_id,
        before.unwrap_or(i64::MAX),
        limit,
    )
    .fetch_all(db)
    .await?;
    messages(rows)
}

/// Up to `limit` messages newer than position `after`, oldest first.
#[tracing::instrument(skip_all, fields(session_id = %session_id))]
pub async fn oldest_after(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<Message>, Error> {
    let rows = sqlx::query_as!(
        MessageRow,
        r#"SELECT id, session_id, sender_id, sender_role, content, client_id,
                  is_admin_intervention, is_read, created_at
           FROM chat.messages
           WHERE session_id = $1 AND seq > $2
           ORDER BY seq
           LIMIT $3"#,
        session_id,
        after,
        limit,
    )
    .fetch_all(db)
    .await?;
    messages(rows)
}

/// A reader's place in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadMarker {
    pub message_id: Uuid,
    pub at: OffsetDateTime,
}

/// What [`mark_read`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marked {
    /// The message is not in this session.
    NoSuchMessage,
    /// The marker moved forward to the message.
    Advanced(ReadMarker),
    /// The reader had already read past it; nothing moved.
    AlreadyPast,
}

/// In one statement: marks the others' messages up to `message_id` read (only those after
/// the reader's previous marker, which were all marked then) and moves the reader's marker
/// forward, never back.
#[tracing::instrument(skip_all, fields(session_id = %session_id))]
pub async fn mark_read(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    message_id: Uuid,
    reader_id: Uuid,
    at: OffsetDateTime,
) -> Result<Marked, Error> {
    let row = sqlx::query!(
        r#"WITH target AS (
               SELECT id, seq FROM chat.messages WHERE id = $2 AND session_id = $1
           ), previous AS (
               SELECT seq FROM chat.read_markers WHERE session_id = $1 AND reader_id = $3
           ), marked AS (
               UPDATE chat.messages m SET is_read = true
               FROM target
               WHERE m.session_id = $1
                 AND m.seq <= target.seq
                 AND m.seq > COALESCE((SELECT seq FROM previous), 0)
                 AND m.sender_id <> $3
                 AND NOT m.is_read
               RETURNING m.id
           ), marker AS (
               INSERT INTO chat.read_markers (session_id, reader_id, message_id, seq, read_at)
               SELECT $1, $3, target.id, target.seq, $4 FROM target
               ON CONFLICT (session_id, reader_id) DO UPDATE
               SET message_id = EXCLUDED.message_id, seq = EXCLUDED.seq,
                   read_at = EXCLUDED.read_at
               WHERE chat.read_markers.seq < EXCLUDED.seq
               RETURNING message_id
           )
           SELECT EXISTS (SELECT 1 FROM target) AS "found!",
                  EXISTS (SELECT 1 FROM marker) AS "advanced!",
                  (SELECT count(*) FROM marked) AS "newly_read!""#,
        session_id,
        message_id,
        reader_id,
        at,
    )
    .fetch_one(db)
    .await?;
    tracing::debug!(newly_read = row.newly_read, "messages marked read");
    Ok(match (row.found, row.advanced) {
        (false, _) => Marked::NoSuchMessage,
        (true, true) => Marked::Advanced(ReadMarker { message_id, at }),
        (true, false) => Marked::AlreadyPast,
    })
}

/// Where `reader_id` has read up to in a session, if anywhere.
#[tracing::instrument(skip_all, fields(session_id = %session_id))]
pub async fn read_marker(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    reader_id: Uuid,
) -> Result<Option<ReadMarker>, Error> {
    let row = sqlx::query!(
        "SELECT message_id, read_at FROM chat.read_markers WHERE session_id = $1 AND reader_id = $2",
        session_id,
        reader_id,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| ReadMarker {
        message_id: r.message_id,
        at: r.read_at,
    }))
}
