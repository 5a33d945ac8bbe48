//! Login sessions and their refresh tokens. A refresh token is opaque, single-use and stored
//! only as a SHA-256; using one issues the next in the same session. Presenting one that was
//! already used means it leaked: the whole session is revoked.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use deadpool_redis::redis::AsyncCommands;
use rand::RngCore;
use rentory_auth::RequestContext;
use rentory_auth::revocation::{revocation_ttl, revoked_session_key};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Result;

const PREFIX: &str = "rt_";

pub struct NewSession {
    pub session_id: Uuid,
    pub refresh_token: String,
}

fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn expiry(ttl: Duration) -> OffsetDateTime {
    OffsetDateTime::now_utc() + ttl
}

#[tracing::instrument(skip_all)]
pub async fn open(
    conn: &mut PgConnection,
    user_id: Uuid,
    context: &RequestContext,
    refresh_ttl: Duration,
) -> Result<NewSession> {
    let session_id = Uuid::now_v7();
    let ip = context
        .client_ip
        .map(sqlx::types::ipnetwork::IpNetwork::from);
    sqlx::query!(
        r#"INSERT INTO identity.sessions (id, user_id, client_ip, user_agent) VALUES ($1, $2, $3, $4)"#,
        session_id,
        user_id,
        ip,
        context.user_agent,
    )
    .execute(&mut *conn)
    .await?;
    let refresh_token = issue_refresh(conn, session_id, refresh_ttl).await?;
    Ok(NewSession {
        session_id,
        refresh_token,
    })
}

async fn issue_refresh(conn: &mut PgConnection, session_id: Uuid, ttl: Duration) -> Result<String> {
    let token = new_refresh_token();
    sqlx::query!(
        r#"INSERT INTO identity.refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)"#,
        digest(&token),
        session_id,
        expiry(ttl),
    )
    .execute(conn)
    .await?;
    Ok(token)
}

pub enum Rotation {
    Rotated {
        user_id: Uuid,
        session_id: Uuid,
        refresh_token: String,
    },
    /// The token had been used before: its session is now revoked.
    Reused {
        session_id: Uuid,
    },
    Refused,
}

/// Spends `token` and, if it was live, issues its successor. The spend is one conditional
/// UPDATE, so two concurrent uses of one token cannot both succeed: the loser is treated as
/// reuse, which is the safe reading.
#[tracing::instrument(skip_all)]
pub async fn rotate(pool: &PgPool, token: &str, ttl: Duration) -> Result<Rotation> {
    if !token.starts_with(PREFIX) || token.len() > 128 {
        return Ok(Rotation::Refused);
    }
    let hash = digest(token);
    let mut tx = pool.begin().await?;
    let spent = sqlx::query!(
        r#"UPDATE identity.refresh_tokens t SET used_at = now()
           FROM identity.sessions s
           WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now()
             AND s.id = t.session_id AND s.revoked_at IS NULL
           RETURNING t.session_id, s.user_id"#,
        hash,
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(spent) = spent {
        let refresh_token = issue_refresh(&mut tx, spent.session_id, ttl).await?;
        tx.commit().await?;
        return Ok(Rotation::Rotated {
            user_id: spent.user_id,
            session_id: spent.session_id,
            refresh_token,
        });
    }
    let previous = sqlx::query!(
        r#"SELECT session_id, used_at FROM identity.refresh_tokens WHERE token_hash = $1"#,
        hash,
    )
    .fetch_optional(&mut *tx)
    .await?;
    match previous {
        Some(row) if row.used_at.is_some() => {
            mark_revoked(&mut tx, row.session_id, "REFRESH_REUSE").await?;
            tx.commit().await?;
            Ok(Rotation::Reused {
                session_id: row.session_id,
            })
        }
        _ => Ok(Rotation::Refused),
    }
}

async fn mark_revoked(conn: &mut PgConnection, session_id: Uuid, reason: &str) -> Result<()> {
    sqlx::query!(
        r#"UPDATE identity.sessions SET revoked_at = now(), revoked_reason = $2
           WHERE id = $1 AND revoked_at IS NULL"#,
        session_id,
        reason,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Logout: the session can no longer refresh, and its access tokens stop working at the
/// gateway at once.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    pool: &PgPool,
    redis: &deadpool_redis::Pool,
    session_id: Uuid,
    access_ttl: Duration,
) -> Result<()> {
    let mut conn = pool.acquire().await?;
    mark_revoked(&mut conn, session_id, "LOGOUT").await?;
    deny_access_tokens(redis, session_id, access_ttl).await
}

/// Puts the session on the gateway's deny-list for as long as one of its access tokens lives.
pub async fn deny_access_tokens(
    redis: &deadpool_redis::Pool,
    session_id: Uuid,
    access_ttl: Duration,
) -> Result<()> {
    let mut conn = redis.get().await?;
    let () = conn
        .set_ex(
            revoked_session_key(session_id),
            "1",
            revocation_ttl(access_ttl).as_secs(),
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_prefixed_random_and_hashed_to_32_bytes() {
        let a = new_refresh_token();
        let b = new_refresh_token();
        assert!(a.starts_with(PREFIX));
        assert_ne!(a, b);
        assert_eq!(a.len(), PREFIX.len() + 43);
        assert_eq!(digest(&a).len(), 32);
    }
}
