//! The live fan-out (ARCHITECTURE.md, section 1): after a message or a read marker
//! commits, a protobuf `RoomEvent` goes out on core NATS `chat.session.<id>`, and every
//! gateway instance with sockets in that room emits it. Core NATS is fire-and-forget on
//! purpose: the message is already in Postgres, and a client that missed the live event
//! pulls it with History(after_id). So a NATS outage never fails a send.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::connection::State;
use prost::Message as _;
use rentory_proto::chat::v1 as pb;

/// The subject prefix of every room; gateways subscribe to `chat.session.*`.
pub const ROOM_PREFIX: &str = "chat.session";
/// Header carrying the W3C trace context, as on event messages.
pub const TRACEPARENT_HEADER: &str = "traceparent";
/// Publishing only hands the message to the client's writer; if even that stalls (its
/// buffer full during a reconnect), the send does not wait for it.
const PUBLISH_WAIT: Duration = Duration::from_millis(50);

/// The core NATS subject of a session's room: `chat.session.<session_id>`.
pub fn room_subject(session_id: &str) -> String {
    format!("{ROOM_PREFIX}.{session_id}")
}

/// Publishes room events; cheap to clone.
#[derive(Clone)]
pub struct Room {
    client: async_nats::Client,
    /// Set while NATS is unreachable, so the outage is logged once, not per message.
    down: Arc<AtomicBool>,
}

impl Room {
    pub fn new(client: async_nats::Client) -> Self {
        Self {
            client,
            down: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Sends `event` to its session's room with the current trace context. Failures are
    /// logged, never returned: the caller's work is already committed.
    pub async fn publish(&self, event: pb::RoomEvent) {
        if self.client.connection_state() != State::Connected {
            if !self.down.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "NATS not connected; live chat delivery paused (clients catch up from history)"
                );
            }
            return;
        }
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("NATS connected again; live chat delivery resumed");
        }
        let mut headers = async_nats::HeaderMap::new();
        if let Some(traceparent) = rentory_runtime::trace_context::current_traceparent() {
            headers.insert(TRACEPARENT_HEADER, traceparent.as_str());
        }
        let subject = room_subject(&event.session_id);
        let sent = tokio::time::timeout(
            PUBLISH_WAIT,
            self.client
                .publish_with_headers(subject, headers, event.encode_to_vec().into()),
        )
        .await;
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(session_id = %event.session_id, error = rentory_runtime::error_chain(&error), "room event not published");
            }
            Err(_) => {
                tracing::warn!(session_id = %event.session_id, "room event not published: the NATS client is backed up");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_is_one_subject_token_per_session() {
        assert_eq!(room_subject("0190-ab"), "chat.session.0190-ab");
        assert!(room_subject("x").starts_with(ROOM_PREFIX));
    }
}
