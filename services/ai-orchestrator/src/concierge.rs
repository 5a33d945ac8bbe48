//! The concierge's memory: each tenant's persona (`ai.personas`) and conversation
//! (`ai.concierge_turns`), and the `ai.persona.updated` event that announces a change.
//!
//! A turn is read, answered by a provider (seconds, with no lock held), then written in one
//! transaction guarded by the persona version it started from. If another turn of the same
//! tenant changed the persona meanwhile, [`save`] reports a conflict and the caller answers
//! again from the fresh state, so no turn's learning overwrites another's.

use rentory_persona::Persona;
use rentory_proto::events::v1::PersonaUpdated;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Error;
use crate::task::{Speaker, Turn};

pub const PERSONA_UPDATED: &str = "rentory.ai.persona.updated";
/// Turns of history given to the provider with each new message.
pub const HISTORY_TURNS: i64 = 20;

/// What the concierge knows before a turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub persona: Persona,
    /// Oldest first.
    pub history: Vec<Turn>,
}

#[tracing::instrument(skip_all, fields(user_id = %user))]
pub async fn persona(db: impl PgExecutor<'_>, user: Uuid) -> Result<Persona, Error> {
    let row = sqlx::query!(
        "SELECT version, document FROM ai.personas WHERE user_id = $1",
        user
    )
    .fetch_optional(db)
    .await?;
    let Some(row) = row else {
        return Ok(Persona::default());
    };
    let mut persona: Persona = serde_json::from_value(row.document)
        .map_err(|e| Error::Corrupt(format!("persona of {user}: {e}")))?;
    // The column is the authority on the version.
    persona.version = u64::try_from(row.version).unwrap_or(0);
    Ok(persona)
}

#[tracing::instrument(skip_all, fields(user_id = %user))]
pub async fn conversation(db: &sqlx::PgPool, user: Uuid) -> Result<Conversation, Error> {
    // Two independent reads on two pooled connections: one round trip of waiting, not two.
    let turns = sqlx::query!(
        r#"SELECT speaker, content FROM ai.concierge_turns
           WHERE user_id = $1 ORDER BY id DESC LIMIT $2"#,
        user,
        HISTORY_TURNS
    )
    .fetch_all(db);
    let (persona, rows) = tokio::try_join!(persona(db, user), async { Ok(turns.await?) })?;
    let mut history = rows
        .into_iter()
        .map(|row| {
            let speaker = match row.speaker.as_str() {
                "TENANT" => Speaker::Tenant,
                "CONCIERGE" => Speaker::Concierge,
                other => return Err(Error::Corrupt(format!("turn speaker {other:?}"))),
            };
            Ok(Turn {
                speaker,
                text: row.content,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    history.reverse();
    Ok(Conversation { persona, history })
}

/// One answered turn, ready to store.
pub struct AnsweredTurn<'a> {
    pub user: Uuid,
    /// The tenant's message as it went to the provider (contact details removed).
    pub message: &'a str,
    pub reply: &'a str,
    pub model: &'a str,
    /// The persona version the turn started from.
    pub started_from: u64,
    /// The persona after the turn, `version` already set.
    pub persona: &'a Persona,
    pub changed: bool,
}

/// Stores the turn, and the persona and its event when it changed. `Ok(false)`: another
/// turn changed the persona first and nothing was written.
#[tracing::instrument(skip_all, fields(user_id = %turn.user, changed = turn.changed))]
pub async fn save(tx: &mut PgConnection, turn: &AnsweredTurn<'_>) -> Result<bool, Error> {
    if turn.changed {
        let version = i64::try_from(turn.persona.version)
            .map_err(|_| Error::Corrupt("persona version out of range".into()))?;
        let started_from = i64::try_from(turn.started_from)
            .map_err(|_| Error::Corrupt("persona version out of range".into()))?;
        let document = serde_json::to_value(turn.persona)
            .map_err(|e| Error::Corrupt(format!("persona not serialisable: {e}")))?;
        let written = sqlx::query!(
            r#"INSERT INTO ai.personas AS p (user_id, version, document)
               VALUES ($1, $2, $3)
               ON CONFLICT (user_id) DO UPDATE
                 SET version = EXCLUDED.version, document = EXCLUDED.document,
                     updated_at = now()
                 WHERE p.version = $4"#,
            turn.user,
            version,
            document,
            started_from
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // A first persona racing another first persona: the insert conflicts and the
        // update's condition (version = 0) matches nothing.
        if written == 0 {
            return Ok(false);
        }
        let event = PersonaUpdated {
            user_id: turn.user.to_string(),
            version: turn.persona.version,
            persona_json: turn.persona.to_json(),
            at: Some(rentory_proto::timestamp(OffsetDateTime::now_utc())),
        };
        rentory_events::enqueue(tx, PERSONA_UPDATED, &event).await?;
    }
    let persona_version = i64::try_from(turn.persona.version).ok();
    sqlx::query!(
        r#"INSERT INTO ai.concierge_turns (user_id, speaker, content, model, persona_version)
           VALUES ($1, 'TENANT', $2, NULL, NULL), ($1, 'CONCIERGE', $3, $4, $5)"#,
        turn.user,
        turn.message,
        turn.reply,
        turn.model,
        persona_version
    )
    .execute(&mut *tx)
    .await?;
    Ok(true)
}
