//! Live chat over Socket.IO v4 (socketioxide) at `/socket.io/`, namespace `/chat`.
//!
//! The handshake carries the access token, `auth: {token}`; it is checked like a REST bearer
//! token (signature, issuer, audience, expiry, and the revocation list), and a refused
//! handshake is a `connect_error` whose `message` is the problem type's slug
//! (`unauthenticated`, or `service-unavailable` when Redis, which holds the revocation list,
//! has been down longer than the outage grace: `redis_outage.rs`).
//! An open socket is disconnected when its token expires or its login session is revoked
//! (logout, refresh-token reuse): checked every `RENTORY_SOCKET_SESSION_CHECK_SECS` and
//! before each event; the server emits `session_ended {reason}` (`expired` or `revoked`, or
//! `rate_limited` for a socket that kept sending over its budget) just before it disconnects.
//!
//! Client events, each answered by an ack (the result, or `{error: {type, title, status,
//! detail, request_id}}`, the problem REST would answer; a session the caller may not see is
//! `status` 404 as over REST):
//!
//! | event | data | ack |
//! |---|---|---|
//! | `join` | `{session_id, last_message_id?}` | the session; with `last_message_id`, also `missed` (the messages after it, oldest first, at most 100) and `missed_has_more` |
//! | `message` | `{session_id, content, client_id?}` | the stored message |
//! | `typing` | `{session_id}` of a joined session | `{session_id, user_id, at}` |
//! | `read` | `{session_id, message_id}` | the read marker |
//! | `leave` | `{session_id}` | `{session_id}` |
//!
//! Server events to a session's room on every gateway instance: `message` (a stored message;
//! its sender gets it too, besides the ack, so clients keep one per `id`), `typing` (not to
//! the typist) and `read`. They reach this instance through NATS (`rooms.rs`).
//!
//! Limits: each socket may send `RENTORY_SOCKET_EVENTS_PER_SEC` events per second with
//! bursts of `RENTORY_SOCKET_EVENT_BURST` (over that: a 429 ack; more than twice the burst
//! refused in a row: disconnected); a frame over `RENTORY_SOCKET_MAX_PAYLOAD_BYTES` closes the
//! connection; the content's length is the chat service's rule. Each event is traced in its
//! own span with the user and session ids, never the content.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use rentory_proto::chat::v1 as pb;
use rentory_runtime::config::{self, ConfigError};
use serde::Serialize;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::socket::DisconnectReason;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::client_ip;
use crate::grpc::Forward;
use crate::state::AppState;

mod caller;
mod events;
mod rooms;
mod throttle;

use caller::{Caller, HandshakeRefused};

/// The Socket.IO namespace of chat.
pub const NAMESPACE: &str = "/chat";
/// The events a client may send.
const EVENTS: [&str; 5] = ["join", "message", "typing", "read", "leave"];

pub const DEFAULT_EVENTS_PER_SEC: u32 = 20;
pub const DEFAULT_EVENT_BURST: u32 = 40;
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 16 * 1024;
pub const DEFAULT_SESSION_CHECK: Duration = Duration::from_secs(15);

/// The Socket.IO endpoint's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketSettings {
    /// `RENTORY_SOCKET_EVENTS_PER_SEC`, 20: the rate one socket's budget refills at.
    pub events_per_sec: u32,
    /// `RENTORY_SOCKET_EVENT_BURST`, 40: the most events a socket may send at once.
    pub event_burst: u32,
    /// `RENTORY_SOCKET_MAX_PAYLOAD_BYTES`, 16 KiB: larger frames (WebSocket) or polling
    /// bodies close the connection.
    pub max_payload_bytes: usize,
    /// `RENTORY_SOCKET_SESSION_CHECK_SECS`, 15: how often an open socket's login session is
    /// checked against the revocation list.
    pub session_check: Duration,
}

impl Default for SocketSettings {
    fn default() -> Self {
        Self {
            events_per_sec: DEFAULT_EVENTS_PER_SEC,
            event_burst: DEFAULT_EVENT_BURST,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            session_check: DEFAULT_SESSION_CHECK,
        }
    }
}

impl SocketSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let positive = |name: &'static str, value: u64| {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    name,
                    reason: "must be greater than zero".into(),
                });
            }
            Ok(value)
        };
        let events_per_sec =
            config::parse_or("RENTORY_SOCKET_EVENTS_PER_SEC", DEFAULT_EVENTS_PER_SEC)?;
        let event_burst = config::parse_or("RENTORY_SOCKET_EVENT_BURST", DEFAULT_EVENT_BURST)?;
        let max_payload_bytes = config::parse_or(
            "RENTORY_SOCKET_MAX_PAYLOAD_BYTES",
            DEFAULT_MAX_PAYLOAD_BYTES,
        )?;
        let check_secs = config::parse_or(
            "RENTORY_SOCKET_SESSION_CHECK_SECS",
            DEFAULT_SESSION_CHECK.as_secs(),
        )?;
        positive("RENTORY_SOCKET_EVENTS_PER_SEC", events_per_sec.into())?;
        positive("RENTORY_SOCKET_EVENT_BURST", event_burst.into())?;
        positive("RENTORY_SOCKET_MAX_PAYLOAD_BYTES", max_payload_bytes as u64)?;
        positive("RENTORY_SOCKET_SESSION_CHECK_SECS", check_secs)?;
        Ok(Self {
            events_per_sec,
            event_burst,
            max_payload_bytes,
            session_check: Duration::from_secs(check_secs),
        })
    }

    /// Refused events in a row a socket may send before it is disconnected.
    fn max_refused(&self) -> u32 {
        self.event_burst.saturating_mul(2)
    }
}

/// Someone typing in a session (the `typing` event and its ack).
#[derive(Debug, Serialize, ToSchema)]
pub struct TypingBody {
    pub session_id: String,
    pub user_id: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub at: Option<OffsetDateTime>,
}

impl From<pb::Typing> for TypingBody {
    fn from(t: pb::Typing) -> Self {
        Self {
            session_id: t.session_id,
            user_id: t.user_id,
            at: t.at.as_ref().and_then(rentory_proto::offset_date_time),
        }
    }
}

/// What every socket of this instance shares.
struct Hub {
    state: AppState,
    rooms: rooms::Rooms,
}

/// The Socket.IO layer for the gateway's router, and its handle (to close every socket at
/// shutdown).
pub fn layer(state: &AppState) -> (SocketIoLayer, SocketIo) {
    let settings = state.socket;
    let max_payload = settings.max_payload_bytes;
    let (layer, io) = SocketIo::builder()
        .max_payload(max_payload as u64)
        .ws_max_message_size(max_payload)
        .ws_max_frame_size(max_payload)
        .build_layer();
    let hub = Arc::new(Hub {
        state: state.clone(),
        rooms: rooms::Rooms::new(state.nats.clone(), state.instance_id.clone()),
    });
    let on_connect = {
        let hub = hub.clone();
        move |socket: SocketRef| {
            let hub = hub.clone();
            async move { hub.connected(socket) }
        }
    };
    let authenticate = move |socket: SocketRef, TryData(auth): TryData<Value>| {
        let hub = hub.clone();
        async move { hub.authenticate(&socket, auth.ok()).await }
    };
    io.ns(NAMESPACE, on_connect.with(authenticate));
    (layer, io)
}

impl Hub {
    /// The handshake: a token that checks out, of a session that is not revoked. The caller
    /// is kept in the socket's extensions for its events.
    async fn authenticate(
        self: &Arc<Self>,
        socket: &SocketRef,
        auth: Option<Value>,
    ) -> Result<(), HandshakeRefused> {
        let parts = socket.req_parts();
        let client_ip =
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| {
                    client_ip::client_ip(peer.ip(), &parts.headers, self.state.trusted_proxy_hops)
                });
        let user_agent = Forward::user_agent_of(&parts.headers);
        let caller = Caller::authenticate(&self.state, auth, client_ip, user_agent).await?;
        socket.extensions.insert(Arc::new(caller));
        // Here, not in the connect handler: socketioxide sends CONNECT before it spawns that
        // handler, so a client emitting `join` the moment it is connected could be faster
        // than handlers registered there, and its event would be dropped without an ack.
        // This middleware runs before CONNECT is sent.
        self.listen(socket);
        Ok(())
    }

    fn listen(self: &Arc<Self>, socket: &SocketRef) {
        for name in EVENTS {
            let hub = self.clone();
            socket.on(
                name,
                move |socket: SocketRef,
                      io: SocketIo,
                      ack: AckSender,
                      TryData(data): TryData<Value>| {
                    let hub = hub.clone();
                    async move { hub.on_event(socket, io, ack, name, data.ok()).await }
                },
            );
        }
        let hub = self.clone();
        socket.on_fallback(
            move |socket: SocketRef, ack: AckSender, Event(name): Event| {
                let hub = hub.clone();
                async move { hub.on_unknown_event(socket, ack, &name).await }
            },
        );
        let hub = self.clone();
        socket.on_disconnect(move |socket: SocketRef, reason: DisconnectReason| {
            let hub = hub.clone();
            async move { hub.disconnected(&socket, reason) }
        });
    }

    fn connected(self: Arc<Self>, socket: SocketRef) {
        let Some(caller) = socket.extensions.get::<Arc<Caller>>() else {
            // Only reachable if the handshake middleware did not run.
            tracing::error!(socket_id = %socket.id, "socket without a caller; disconnected");
            let _ = socket.disconnect();
            return;
        };
        tracing::info!(
            socket_id = %socket.id,
            user_id = %caller.claims.sub,
            transport = ?socket.transport_type(),
            "socket connected"
        );
        tokio::spawn(caller::watch_session(self.state.clone(), socket, caller));
    }

    fn disconnected(&self, socket: &SocketRef, reason: DisconnectReason) {
        let Some(caller) = socket.extensions.get::<Arc<Caller>>() else {
            return;
        };
        caller.gone.cancel();
        for session_id in caller.take_joined() {
            self.rooms.leave(&session_id, socket.id);
        }
        tracing::info!(
            socket_id = %socket.id,
            user_id = %caller.claims.sub,
            %reason,
            "socket disconnected"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abuse_tolerance_is_twice_the_burst() {
        let settings = SocketSettings {
            event_burst: 40,
            ..SocketSettings::default()
        };
        assert_eq!(settings.max_refused(), 80);
    }
}
