//! Fan-out between gateway instances. A session's room is `session:<id>` on every instance;
//! an instance listens on core NATS `chat.session.<id>` while at least one of its own sockets
//! is in that room (subscribing when the first joins, unsubscribing when the last leaves) and
//! emits each `RoomEvent` it hears to them. Messages and read markers are published by the
//! chat service once committed, typing by the gateway where the typist is connected; every
//! instance, the sender's included, delivers what it hears the same way.
//!
//! NATS is not needed to start or to serve: the client reconnects in the background and
//! re-subscribes, so live delivery resumes by itself, and a client that reconnects fetches
//! what it missed with `join {last_message_id}`.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::connection::State as NatsState;
use futures::StreamExt;
use prost::Message as _;
use rentory_proto::chat::v1::{RoomEvent, room_event};
use rentory_runtime::CancellationToken;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::socket::Sid;
use tokio::sync::watch;

use crate::routes::chat::{MessageBody, ReadMarkerBody};
use crate::socket::{NAMESPACE, TypingBody};

/// How long a join waits for its instance's NATS subscription before answering anyway (NATS
/// down: the subscription is made on reconnect).
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(2);
/// Between attempts to subscribe when the NATS client refuses (it is closing).
const RESUBSCRIBE_PAUSE: Duration = Duration::from_secs(1);

/// The core NATS subject of a session's room events (the chat service publishes on it).
pub fn subject(session_id: &str) -> String {
    format!("chat.session.{session_id}")
}

/// The Socket.IO room of a session.
pub fn room(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// This instance's rooms that have members, each with its NATS subscription.
pub struct Rooms {
    nats: async_nats::Client,
    instance: Arc<str>,
    rooms: Mutex<HashMap<String, Room>>,
}

struct Room {
    members: HashSet<Sid>,
    /// Becomes true once the subscription is registered with NATS (or NATS is down).
    subscribed: watch::Receiver<bool>,
    /// Ends the subscription when the last member leaves.
    stop: CancellationToken,
}

impl Rooms {
    pub fn new(nats: async_nats::Client, instance: Arc<str>) -> Self {
        Self {
            nats,
            instance,
            rooms: Mutex::new(HashMap::new()),
        }
    }

    /// Adds `socket` to the members of `session_id` here, subscribing this instance when it is
    /// the first; returns once the subscription is in place, so nothing committed after the
    /// join is missed (or after [`SUBSCRIBE_WAIT`] when NATS is down).
    pub async fn join(&self, session_id: &str, socket: Sid, io: &SocketIo) {
        let mut subscribed = {
            let Ok(mut rooms) = self.rooms.lock() else {
                return;
            };
            match rooms.entry(session_id.to_owned()) {
                Entry::Occupied(mut room) => {
                    room.get_mut().members.insert(socket);
                    room.get().subscribed.clone()
                }
                Entry::Vacant(vacant) => {
                    let (ready, subscribed) = watch::channel(false);
                    let stop = CancellationToken::new();
                    tokio::spawn(forward(
                        self.nats.clone(),
                        io.clone(),
                        self.instance.clone(),
                        session_id.to_owned(),
                        ready,
                        stop.clone(),
                    ));
                    vacant.insert(Room {
                        members: HashSet::from([socket]),
                        subscribed: subscribed.clone(),
                        stop,
                    });
                    subscribed
                }
            }
        };
        let waited = tokio::time::timeout(SUBSCRIBE_WAIT, subscribed.wait_for(|done| *done)).await;
        if waited.is_err() {
            tracing::warn!(
                session_id,
                "no NATS subscription yet; live events for this room start when NATS answers"
            );
        }
    }

    /// Removes `socket` from the members of `session_id`; the last one out ends the
    /// subscription.
    pub fn leave(&self, session_id: &str, socket: Sid) {
        let Ok(mut rooms) = self.rooms.lock() else {
            return;
        };
        if let Entry::Occupied(mut room) = rooms.entry(session_id.to_owned()) {
            room.get_mut().members.remove(&socket);
            if room.get().members.is_empty() {
                room.remove().stop.cancel();
            }
        }
    }
}

/// One room's subscription: from NATS to the room's sockets on this instance, until `stop`.
async fn forward(
    nats: async_nats::Client,
    io: SocketIo,
    instance: Arc<str>,
    session_id: String,
    ready: watch::Sender<bool>,
    stop: CancellationToken,
) {
    let subject = subject(&session_id);
    let room = room(&session_id);
    let mut subscriber = loop {
        tokio::select! {
            () = stop.cancelled() => return,
            subscribed = nats.subscribe(subject.clone()) => match subscribed {
                Ok(subscriber) => break subscriber,
                Err(error) => {
                    tracing::warn!(%subject, error = %error, "cannot subscribe to the room; retrying");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(RESUBSCRIBE_PAUSE) => {}
                    }
                }
            },
        }
    };
    // The SUB is queued; flushing puts it on the wire, where NATS handles it before anything
    // published after the join's answer. While NATS is down there is nothing to wait for:
    // the client sends it again when it reconnects.
    if nats.connection_state() == NatsState::Connected
        && tokio::time::timeout(SUBSCRIBE_WAIT, nats.flush())
            .await
            .is_err()
    {
        tracing::warn!(%subject, "NATS did not take the subscription in time");
    }
    ready.send_replace(true);
    tracing::debug!(%subject, "listening to the room");
    loop {
        let message = tokio::select! {
            () = stop.cancelled() => break,
            message = subscriber.next() => message,
        };
        let Some(message) = message else {
            tracing::warn!(%subject, "the room's subscription ended");
            break;
        };
        let event = match RoomEvent::decode(message.payload.as_ref()) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%subject, error = %error, "undecodable room event; skipped");
                continue;
            }
        };
        let Some((name, body)) = outgoing(event, &session_id, &instance) else {
            continue;
        };
        let Some(chat) = io.of(NAMESPACE) else {
            break;
        };
        if let Err(error) = chat.to(room.clone()).emit(name, &body).await {
            tracing::warn!(%subject, event = name, error = %error, "could not emit to the room");
        }
    }
    if let Err(error) = subscriber.unsubscribe().await {
        tracing::debug!(%subject, error = %error, "unsubscribe failed (NATS closing)");
    }
}

/// The Socket.IO event a room event becomes here, if any: typing this instance published
/// itself was already emitted to its local sockets, and an event about another session than
/// the subject's is not trusted.
pub fn outgoing(
    event: RoomEvent,
    session_id: &str,
    instance: &str,
) -> Option<(&'static str, Value)> {
    if event.session_id != session_id {
        tracing::warn!(
            session_id,
            event_session_id = %event.session_id,
            "room event for another session; skipped"
        );
        return None;
    }
    let (name, body) = match event.event? {
        room_event::Event::Message(message) => {
            ("message", serde_json::to_value(MessageBody::from(message)))
        }
        room_event::Event::Read(marker) => {
            ("read", serde_json::to_value(ReadMarkerBody::from(marker)))
        }
        room_event::Event::Typing(typing) => {
            if event.origin == instance {
                return None;
            }
            ("typing", serde_json::to_value(TypingBody::from(typing)))
        }
    };
    body.ok().map(|body| (name, body))
}

#[cfg(test)]
mod tests {
    use rentory_proto::chat::v1 as pb;

    use super::*;

    fn event(session_id: &str, origin: &str, event: room_event::Event) -> RoomEvent {
        RoomEvent {
            session_id: session_id.into(),
            event: Some(event),
            origin: origin.into(),
        }
    }

    #[test]
    fn messages_reads_and_others_typing_become_socket_events() {
        let message = event(
            "s1",
            "",
            room_event::Event::Message(pb::Message {
                id: "m1".into(),
                session_id: "s1".into(),
                content: "hello".into(),
                ..Default::default()
            }),
        );
        let (name, body) = outgoing(message, "s1", "gw-a").expect("emitted");
        assert_eq!(name, "message");
        assert_eq!(
            (body["id"].as_str(), body["content"].as_str()),
            (Some("m1"), Some("hello"))
        );

        let read = event(
            "s1",
            "",
            room_event::Event::Read(pb::ReadMarker {
                session_id: "s1".into(),
                reader_id: "u2".into(),
                message_id: "m1".into(),
                at: None,
            }),
        );
        let (name, body) = outgoing(read, "s1", "gw-a").expect("emitted");
        assert_eq!((name, body["message_id"].as_str()), ("read", Some("m1")));

        let typing = |origin: &str| {
            event(
                "s1",
                origin,
                room_event::Event::Typing(pb::Typing {
                    session_id: "s1".into(),
                    user_id: "u1".into(),
                    at: None,
                }),
            )
        };
        let (name, body) = outgoing(typing("gw-b"), "s1", "gw-a").expect("emitted");
        assert_eq!((name, body["user_id"].as_str()), ("typing", Some("u1")));
        assert!(
            outgoing(typing("gw-a"), "s1", "gw-a").is_none(),
            "its own typing"
        );
    }

    #[test]
    fn events_for_another_session_or_without_a_body_are_dropped() {
        let stray = event("s2", "", room_event::Event::Message(pb::Message::default()));
        assert!(outgoing(stray, "s1", "gw-a").is_none());
        let empty = RoomEvent {
            session_id: "s1".into(),
            event: None,
            origin: String::new(),
        };
        assert!(outgoing(empty, "s1", "gw-a").is_none());
    }

    #[test]
    fn subjects_and_rooms_are_named_after_the_session() {
        assert_eq!(subject("abc"), "chat.session.abc");
        assert_eq!(room("abc"), "session:abc");
    }
}
