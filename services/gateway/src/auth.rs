//! The bearer-token check at the edge: a valid EdDSA signature from identity's key, the
//! expected issuer and audience, not expired, and a session that has not been revoked
//! (logout, refresh-token reuse). Every failure gets the same 401; only an unreachable
//! revocation list is different (503), because the gateway fails closed.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use deadpool_redis::redis::AsyncCommands;
use rentory_auth::Claims;
use rentory_auth::revocation::revoked_session_key;
use uuid::Uuid;

use crate::problem::Problem;
use crate::state::{AppState, REDIS_TIMEOUT};

/// A caller whose access token checked out.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub claims: Claims,
    /// The `Authorization` header as received, forwarded to the service.
    pub authorization: HeaderValue,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
        let authorization = match (values.next(), values.next()) {
            (Some(one), None) => one.clone(),
            (None, _) => return Err(refuse("no Authorization header")),
            (Some(_), Some(_)) => return Err(refuse("several Authorization headers")),
        };
        let token = authorization
            .to_str()
            .ok()
            .and_then(bearer)
            .ok_or_else(|| refuse("not a Bearer authorization"))?;
        let claims = state
            .verifier
            .verify(token)
            .map_err(|e| refuse(&e.to_string()))?;
        match is_revoked(&state.redis, claims.sid).await {
            Ok(false) => {}
            Ok(true) => return Err(refuse("session revoked")),
            Err(e) => {
                tracing::error!(error = %e, "cannot check the token revocation list");
                return Err(Problem::service_unavailable());
            }
        }
        tracing::Span::current().record("user_id", tracing::field::display(claims.sub));
        Ok(Self {
            claims,
            authorization,
        })
    }
}

fn refuse(why: &str) -> Problem {
    tracing::debug!(why, "authentication failed");
    Problem::unauthenticated()
}

/// `Bearer <token>`, the scheme case-insensitive (RFC 9110).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    #[error("no Redis connection: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
    #[error("Redis command failed: {0}")]
    Command(#[from] deadpool_redis::redis::RedisError),
    #[error("Redis did not answer in time")]
    Timeout,
}

/// Whether identity listed the session as revoked.
pub async fn is_revoked(
    pool: &deadpool_redis::Pool,
    session_id: Uuid,
) -> Result<bool, RevocationError> {
    let check = async {
        let mut conn = pool.get().await?;
        let listed: bool = conn.exists(revoked_session_key(session_id)).await?;
        Ok::<_, RevocationError>(listed)
    };
    tokio::time::timeout(REDIS_TIMEOUT, check)
        .await
        .map_err(|_| RevocationError::Timeout)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_needs_the_scheme_and_one_token() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("BEARER abc "), Some("abc"));
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearer a b"), None);
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("abc"), None);
    }
}
