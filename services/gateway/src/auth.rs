//! The bearer-token check at the edge: a valid EdDSA signature from identity's key, the
//! expected issuer and audience, not expired, and a session that has not been revoked
//! (logout, refresh-token reuse). Every failure gets the same 401.
//!
//! The same Redis transaction charges the route's per-user rate limit (`rate_limit.rs`), so
//! an authenticated request costs one round trip. While Redis cannot be reached the gateway
//! runs degraded (`redis_outage.rs`): the rate limit is counted in memory, and the
//! revocation check is skipped for the outage's first minutes except on
//! [`Guarded`](crate::rate_limit::Guarded) routes (money, legal acts, staff decisions), which
//! answer 503 with `Retry-After`, as every route does once the grace is over.

use std::marker::PhantomData;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use deadpool_redis::redis;
use rentory_auth::Claims;
use rentory_auth::revocation::revoked_session_key;
use uuid::Uuid;

use crate::problem::Problem;
use crate::rate_limit::{Api, Counter, UserPolicy};
use crate::redis_outage::PROBE_INTERVAL;
use crate::state::{self, AppState, RedisError};

/// A caller whose access token checked out and who is within the rate limit of policy `P`
/// ([`Api`] unless the handler names another).
#[derive(Debug, Clone)]
pub struct AuthUser<P: UserPolicy = Api> {
    pub claims: Claims,
    /// The `Authorization` header as received, forwarded to the service.
    pub authorization: HeaderValue,
    policy: PhantomData<P>,
}

impl<P: UserPolicy> FromRequestParts<AppState> for AuthUser<P> {
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
        let counter = state
            .rate_limits
            .counter(P::POLICY, &claims.sub.to_string());
        let checked = state
            .redis_outage
            .call(check_session(&state.redis, claims.sid, counter.as_ref()))
            .await;
        let retry_after = match checked {
            Ok(Session { revoked: true, .. }) => return Err(refuse("session revoked")),
            Ok(Session { retry_after, .. }) => retry_after,
            Err(down) if P::FAILS_CLOSED || !down.within_grace => {
                tracing::warn!(
                    outage_secs = down.lasted.as_secs(),
                    fails_closed = P::FAILS_CLOSED,
                    "Redis is down: cannot check the token revocation list; refused"
                );
                return Err(Problem::service_unavailable().with_retry_after(PROBE_INTERVAL));
            }
            Err(_) => counter
                .as_ref()
                .and_then(|counter| state.redis_outage.charge_locally(counter)),
        };
        tracing::Span::current().record("user_id", tracing::field::display(claims.sub));
        if let Some(retry_after) = retry_after {
            tracing::info!(
                user_id = %claims.sub,
                policy = P::POLICY.name(),
                "user over the rate limit; refused"
            );
            return Err(Problem::rate_limited(retry_after));
        }
        Ok(Self {
            claims,
            authorization,
            policy: PhantomData,
        })
    }
}

fn refuse(why: &str) -> Problem {
    tracing::debug!(why, "authentication failed");
    Problem::unauthenticated()
}

/// Whether identity listed the login session `session_id` as revoked (logout, refresh-token
/// reuse): the check [`AuthUser`] makes, for callers that hold a token without a request
/// (open sockets).
pub async fn session_revoked(
    pool: &deadpool_redis::Pool,
    session_id: Uuid,
) -> Result<bool, RedisError> {
    check_session(pool, session_id, None)
        .await
        .map(|session| session.revoked)
}

/// `Bearer <token>`, the scheme case-insensitive (RFC 9110).
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// What Redis said about a session and its user's count.
struct Session {
    /// Identity listed the session as revoked.
    revoked: bool,
    /// Over the rate limit: how long to wait.
    retry_after: Option<Duration>,
}

/// `EXISTS` on the revocation list and, when the route's policy is on, the user's count
/// (`INCR`, `EXPIRE NX`, `PTTL`), all in one `MULTI`: one round trip.
async fn check_session(
    pool: &deadpool_redis::Pool,
    session_id: Uuid,
    counter: Option<&Counter>,
) -> Result<Session, RedisError> {
    let mut pipe = redis::pipe();
    pipe.exists(revoked_session_key(session_id));
    let Some(counter) = counter else {
        let (revoked,): (bool,) = state::query(pool, &pipe).await?;
        return Ok(Session {
            revoked,
            retry_after: None,
        });
    };
    pipe.atomic();
    counter.queue(&mut pipe);
    let (revoked, count, ttl_ms): (bool, u64, i64) = state::query(pool, &pipe).await?;
    Ok(Session {
        revoked,
        retry_after: counter.refusal(count, ttl_ms),
    })
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
