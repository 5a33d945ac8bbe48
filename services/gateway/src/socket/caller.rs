//! Who is behind a socket (from its handshake) and what belongs to the socket: its event
//! budget, the sessions it joined, and the watch that disconnects it when its token expires
//! or its login session is revoked.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use rentory_auth::Claims;
use rentory_runtime::CancellationToken;
use serde_json::Value;
use socketioxide::extract::SocketRef;
use time::OffsetDateTime;

use crate::auth::{bearer, session_revoked};
use crate::grpc::Forward;
use crate::problem::{Problem, ProblemType};
use crate::socket::throttle::{Throttle, Verdict};
use crate::state::AppState;

/// Why a handshake was refused: the `message` of the client's `connect_error`, a problem
/// type's slug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeRefused {
    /// No token, or one that is malformed, expired, badly signed or revoked.
    Unauthenticated,
    /// The revocation list cannot be read and the outage is past its grace
    /// (`redis_outage.rs`): the gateway fails closed.
    Unavailable,
}

impl std::fmt::Display for HandshakeRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Self::Unauthenticated => ProblemType::Unauthenticated,
            Self::Unavailable => ProblemType::ServiceUnavailable,
        };
        f.write_str(kind.slug())
    }
}

/// The person behind one socket.
pub struct Caller {
    pub claims: Claims,
    /// `Bearer <token>`, forwarded to the chat service with every event as REST forwards it.
    pub authorization: HeaderValue,
    client_ip: Option<IpAddr>,
    user_agent: Option<String>,
    throttle: Mutex<Throttle>,
    /// The sessions this socket joined, as the chat service spells their ids.
    joined: Mutex<HashSet<String>>,
    /// Held while a `message` is being stored, so a socket's messages are stored in the
    /// order it sent them (Socket.IO runs each event in its own task).
    pub sending: tokio::sync::Mutex<()>,
    /// Cancelled when the socket is gone; ends [`watch_session`].
    pub gone: CancellationToken,
}

/// What an event may do after [`Caller::admit`].
pub enum Admission {
    Admitted,
    /// Refused with this problem; the socket stays.
    Refused(Problem),
    /// Refused with this problem, and the socket is to be disconnected for this reason (the
    /// `session_ended` event's).
    Closing(Problem, &'static str),
}

impl Caller {
    /// Checks the handshake's `auth` the way [`crate::auth::AuthUser`] checks a bearer token.
    pub async fn authenticate(
        state: &AppState,
        auth: Option<Value>,
        client_ip: Option<IpAddr>,
        user_agent: Option<String>,
    ) -> Result<Self, HandshakeRefused> {
        let token = auth
            .as_ref()
            .and_then(|auth| auth.get("token"))
            .and_then(Value::as_str)
            .map(str::trim)
            .ok_or_else(|| refuse("no auth.token in the handshake"))?;
        // Clients that keep the whole header value are welcome too.
        let token = if token.contains(' ') {
            bearer(token).ok_or_else(|| refuse("auth.token is not a token"))?
        } else {
            token
        };
        let claims = state
            .verifier
            .verify(token)
            .map_err(|e| refuse(&e.to_string()))?;
        match state
            .redis_outage
            .call(session_revoked(&state.redis, claims.sid))
            .await
        {
            Ok(false) => {}
            Ok(true) => return Err(refuse("session revoked")),
            // Degraded mode (`redis_outage.rs`): chat keeps working through a short outage.
            Err(down) if down.within_grace => {
                tracing::debug!("Redis is down: socket admitted without the revocation check");
            }
            Err(down) => {
                tracing::warn!(
                    outage_secs = down.lasted.as_secs(),
                    "Redis down past the grace: cannot check the revocation list for a socket"
                );
                return Err(HandshakeRefused::Unavailable);
            }
        }
        let authorization = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| refuse("auth.token is not a header value"))?;
        let settings = state.socket;
        Ok(Self {
            claims,
            authorization,
            client_ip,
            user_agent,
            throttle: Mutex::new(Throttle::new(
                settings.events_per_sec,
                settings.event_burst,
                settings.max_refused(),
                Instant::now(),
            )),
            joined: Mutex::new(HashSet::new()),
            sending: tokio::sync::Mutex::new(()),
            gone: CancellationToken::new(),
        })
    }

    /// What one event forwards to the chat service: a fresh request id, the handshake's IP
    /// and user agent, and the token.
    pub fn forward(&self) -> Forward {
        Forward::for_socket_event(self.client_ip, self.user_agent.clone())
            .with_authorization(self.authorization.clone())
    }

    /// Charges the event to the socket's budget, then checks that the token is still valid
    /// and its session not revoked.
    pub async fn admit(&self, state: &AppState) -> Admission {
        let verdict = match self.throttle.lock() {
            Ok(mut throttle) => throttle.charge(Instant::now()),
            Err(_) => Verdict::Abusive,
        };
        match verdict {
            Verdict::Allowed => {}
            Verdict::Refused { retry_after } => {
                return Admission::Refused(rate_limited(retry_after));
            }
            Verdict::Abusive => {
                tracing::warn!(user_id = %self.claims.sub, "socket kept sending over its rate limit; disconnecting");
                return Admission::Closing(rate_limited(Duration::from_secs(1)), "rate_limited");
            }
        }
        if self.expires_in().is_zero() {
            return Admission::Closing(Problem::unauthenticated(), "expired");
        }
        match state
            .redis_outage
            .call(session_revoked(&state.redis, self.claims.sid))
            .await
        {
            Ok(false) => Admission::Admitted,
            Ok(true) => Admission::Closing(Problem::unauthenticated(), "revoked"),
            Err(down) if down.within_grace => Admission::Admitted,
            Err(down) => {
                tracing::warn!(
                    outage_secs = down.lasted.as_secs(),
                    "Redis down past the grace: cannot check the revocation list for a socket event"
                );
                Admission::Refused(Problem::service_unavailable())
            }
        }
    }

    /// Time left before the access token expires.
    pub fn expires_in(&self) -> Duration {
        let left = self.claims.exp - OffsetDateTime::now_utc().unix_timestamp();
        Duration::from_secs(u64::try_from(left).unwrap_or(0))
    }

    /// Records `session_id` as joined; false when it already was.
    pub fn join(&self, session_id: &str) -> bool {
        self.joined
            .lock()
            .map(|mut joined| joined.insert(session_id.to_owned()))
            .unwrap_or(false)
    }

    pub fn has_joined(&self, session_id: &str) -> bool {
        self.joined
            .lock()
            .map(|joined| joined.contains(session_id))
            .unwrap_or(false)
    }

    /// Forgets `session_id`; false when it was not joined.
    pub fn leave(&self, session_id: &str) -> bool {
        self.joined
            .lock()
            .map(|mut joined| joined.remove(session_id))
            .unwrap_or(false)
    }

    /// Every joined session, forgotten (the socket is going).
    pub fn take_joined(&self) -> Vec<String> {
        self.joined
            .lock()
            .map(|mut joined| joined.drain().collect())
            .unwrap_or_default()
    }
}

fn refuse(why: &str) -> HandshakeRefused {
    tracing::debug!(why, "socket handshake refused");
    HandshakeRefused::Unauthenticated
}

fn rate_limited(retry_after: Duration) -> Problem {
    let problem = Problem::rate_limited(retry_after);
    // REST says it in Retry-After; an ack has only its body.
    let secs = problem.retry_after().unwrap_or(1);
    problem.with_extension("retry_after", Value::from(secs))
}

/// Until the socket is gone: disconnects it when the token expires, or when a periodic check
/// finds its login session revoked. While the revocation list cannot be read the socket
/// stays (its events are admitted during the outage's grace and refused after it).
pub async fn watch_session(state: AppState, socket: SocketRef, caller: std::sync::Arc<Caller>) {
    let expiry = tokio::time::sleep(caller.expires_in());
    tokio::pin!(expiry);
    let mut checks = tokio::time::interval(state.socket.session_check);
    checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The handshake has just checked.
    checks.tick().await;
    let reason = loop {
        tokio::select! {
            () = caller.gone.cancelled() => return,
            () = &mut expiry => break "expired",
            _ = checks.tick() => match state.redis_outage.call(session_revoked(&state.redis, caller.claims.sid)).await {
                Ok(false) => {}
                Ok(true) => break "revoked",
                // The outage is logged once by `RedisOutage`; the events decide what to refuse.
                Err(_) => tracing::debug!(socket_id = %socket.id, "cannot check a socket's session; checking again later"),
            },
        }
    };
    tracing::info!(socket_id = %socket.id, user_id = %caller.claims.sub, reason, "socket session ended; disconnecting");
    end_session(socket, reason);
}

/// Tells the client why, then disconnects it.
pub fn end_session(socket: SocketRef, reason: &str) {
    let _ = socket.emit("session_ended", &serde_json::json!({ "reason": reason }));
    if let Err(e) = socket.disconnect() {
        tracing::debug!(error = %e, "socket already gone");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_their_problem_type() {
        assert_eq!(
            HandshakeRefused::Unauthenticated.to_string(),
            "unauthenticated"
        );
        assert_eq!(
            HandshakeRefused::Unavailable.to_string(),
            "service-unavailable"
        );
    }

    #[test]
    fn a_rate_limited_ack_says_when_to_retry() {
        let problem = rate_limited(Duration::from_millis(40));
        assert_eq!(problem.status, 429);
        assert_eq!(problem.extensions["retry_after"], 1);
    }
}
