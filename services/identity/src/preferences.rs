//! The concierge's persona, kept in `profiles.preferences` so a user's own profile shows
//! what Rentory believes they want. Events can arrive out of order or twice: a persona is
//! written only when its version is higher than the one stored, so the newest always wins.

use rentory_events::{Delivered, Handler, HandlerError};
use rentory_persona::Persona;
use rentory_proto::events::v1::PersonaUpdated;
use sqlx::PgConnection;
use uuid::Uuid;

pub const CONSUMER: &str = "identity-personas";
pub const PERSONA_UPDATED: &str = "rentory.ai.persona.updated";

pub struct PersonaUpdates;

/// A checked persona ready to store.
pub struct Update {
    user_id: Uuid,
    version: i64,
    document: serde_json::Value,
}

impl Handler for PersonaUpdates {
    type Effect = Update;

    async fn prepare(&self, event: &Delivered) -> Result<Update, HandlerError> {
        let updated: PersonaUpdated = event.decode()?;
        let user_id = Uuid::parse_str(&updated.user_id)
            .map_err(|_| HandlerError::permanent("persona update names no valid user id"))?;
        let persona = Persona::from_event(&updated.persona_json, updated.version)
            .map_err(|e| HandlerError::permanent(format!("persona update is not valid: {e}")))?;
        let version = i64::try_from(persona.version)
            .map_err(|_| HandlerError::permanent("persona version out of range"))?;
        let document = serde_json::to_value(&persona)
            .map_err(|e| HandlerError::permanent(format!("persona cannot be stored: {e}")))?;
        Ok(Update {
            user_id,
            version,
            document,
        })
    }

    async fn apply(
        &self,
        update: Update,
        _event: &Delivered,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let written = sqlx::query!(
            r#"UPDATE identity.profiles SET preferences = $2
               WHERE user_id = $1
                 AND CASE jsonb_typeof(preferences -> 'version')
                     WHEN 'number' THEN (preferences ->> 'version')::bigint ELSE 0 END < $3"#,
            update.user_id,
            update.document,
            update.version
        )
        .execute(tx)
        .await?
        .rows_affected();
        if written == 0 {
            tracing::debug!(user_id = %update.user_id, version = update.version, "persona not newer than stored, or no such profile");
        }
        Ok(())
    }
}
