//! The client's events: each is admitted (budget, token, revocation), its data read like a
//! REST body, the chat service called with the caller's token, and the outcome sent back as
//! the event's ack.

use std::sync::Arc;

use prost::Message as _;
use rentory_proto::chat::v1 as pb;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, SocketRef};
use tracing::Instrument;

use crate::extract::parse_value;
use crate::grpc::Forward;
use crate::problem::{Problem, ProblemType};
use crate::routes::chat::{MessageBody, ReadMarkerBody, SessionBody};
use crate::socket::caller::{Admission, Caller, end_session};
use crate::socket::rooms::{room, subject};
use crate::socket::{Hub, TypingBody};

/// The most messages a `join` returns as `missed` (the chat service's page maximum); the
/// rest come from `GET /chat/sessions/{id}/messages?after=`.
const MAX_MISSED: u32 = 100;
/// Typing is dropped rather than held up when NATS does not take it at once.
const TYPING_PUBLISH_WAIT: std::time::Duration = std::time::Duration::from_millis(500);
/// Unknown event names are echoed up to this many characters.
const MAX_ECHOED_EVENT_CHARS: usize = 64;

#[derive(Debug, Deserialize)]
struct Join {
    session_id: String,
    last_message_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Send {
    session_id: String,
    content: String,
    client_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Typing {
    session_id: String,
}

#[derive(Debug, Deserialize)]
struct Read {
    session_id: String,
    message_id: String,
}

#[derive(Debug, Deserialize)]
struct Leave {
    session_id: String,
}

/// One event's context.
struct Turn<'a> {
    hub: &'a Hub,
    socket: &'a SocketRef,
    io: &'a SocketIo,
    caller: &'a Caller,
    forward: Forward,
}

impl Hub {
    pub(super) async fn on_event(
        self: Arc<Self>,
        socket: SocketRef,
        io: SocketIo,
        ack: AckSender,
        name: &'static str,
        data: Option<Value>,
    ) {
        let Some(caller) = socket.extensions.get::<Arc<Caller>>() else {
            let _ = socket.disconnect();
            return;
        };
        let forward = caller.forward();
        let request_id = forward.request_id().clone();
        let span = tracing::info_span!(
            "socket_event",
            event = name,
            user_id = %caller.claims.sub,
            session_id = tracing::field::Empty,
            socket_id = %socket.id,
            request_id = request_id.as_str(),
        );
        async {
            let (outcome, closing) = match caller.admit(&self.state).await {
                Admission::Admitted => {
                    let turn = Turn {
                        hub: &self,
                        socket: &socket,
                        io: &io,
                        caller: &caller,
                        forward,
                    };
                    (turn.run(name, data).await, None)
                }
                Admission::Refused(problem) => (Err(problem), None),
                Admission::Closing(problem, reason) => (Err(problem), Some(reason)),
            };
            let answer = match outcome {
                Ok(result) => result,
                Err(problem) => {
                    if problem.status >= 500 {
                        tracing::warn!(status = problem.status, "socket event failed");
                    } else {
                        tracing::debug!(status = problem.status, "socket event refused");
                    }
                    error_ack(problem, request_id.as_str())
                }
            };
            if let Err(e) = ack.send(&answer) {
                tracing::debug!(error = %e, "could not ack (socket gone)");
            }
            if let Some(reason) = closing {
                end_session(socket.clone(), reason);
            }
        }
        .instrument(span)
        .await;
    }

    /// Events nobody handles are answered (when the client waits for an ack) rather than
    /// left hanging, and charged to the budget like any other.
    pub(super) async fn on_unknown_event(
        self: Arc<Self>,
        socket: SocketRef,
        ack: AckSender,
        name: &str,
    ) {
        let Some(caller) = socket.extensions.get::<Arc<Caller>>() else {
            return;
        };
        let name: String = name.chars().take(MAX_ECHOED_EVENT_CHARS).collect();
        let (problem, closing) = match caller.admit(&self.state).await {
            Admission::Admitted => (
                Problem::new(
                    ProblemType::RouteNotFound,
                    format!("no such event `{name}`: join, message, typing, read or leave"),
                ),
                None,
            ),
            Admission::Refused(problem) => (problem, None),
            Admission::Closing(problem, reason) => (problem, Some(reason)),
        };
        let request_id = caller.forward().request_id().as_str().to_owned();
        let _ = ack.send(&error_ack(problem, &request_id));
        if let Some(reason) = closing {
            end_session(socket, reason);
        }
    }
}

impl Turn<'_> {
    async fn run(&self, name: &str, data: Option<Value>) -> Result<Value, Problem> {
        let timeout = self.hub.state.request_timeout;
        let work = async {
            match name {
                "join" => self.join(read(data)?).await,
                "message" => self.message(read(data)?).await,
                "typing" => self.typing(read(data)?).await,
                "read" => self.read(read(data)?).await,
                "leave" => self.leave(read(data)?).await,
                other => Err(Problem::new(
                    ProblemType::RouteNotFound,
                    format!("no such event `{other}`"),
                )),
            }
        };
        tokio::time::timeout(timeout, work)
            .await
            .unwrap_or_else(|_| {
                Err(Problem::new(
                    ProblemType::GatewayTimeout,
                    "the event took too long",
                ))
            })
    }

    fn chat(
        &self,
    ) -> rentory_proto::chat::v1::chat_client::ChatClient<rentory_runtime::grpc::PeerChannel> {
        self.hub.state.clients.chat.clone()
    }

    /// Checks the caller may see the session, puts the socket in its room (subscribing this
    /// instance to the room's events first when needed) and, for a reconnecting client,
    /// returns what it missed. The subscription is in place before history is read, so a
    /// message is in `missed`, or arrives as an event, or both (same `id`).
    async fn join(&self, join: Join) -> Result<Value, Problem> {
        record_session(&join.session_id);
        let session = self
            .chat()
            .get_session(self.forward.request(pb::GetSessionRequest {
                session_id: join.session_id,
            }))
            .await?
            .into_inner();
        let session_id = session.id.clone();
        if self.caller.join(&session_id) {
            self.socket.join(room(&session_id));
            self.hub
                .rooms
                .join(&session_id, self.socket.id, self.io)
                .await;
            if !self.socket.connected() {
                // Gone while joining: its disconnect found nothing to leave.
                self.hub.rooms.leave(&session_id, self.socket.id);
            }
        }
        let mut body =
            serde_json::to_value(SessionBody::from(session)).map_err(|_| Problem::internal())?;
        if let Some(last_message_id) = join.last_message_id.filter(|id| !id.trim().is_empty()) {
            let page = self
                .chat()
                .history(self.forward.request(pb::HistoryRequest {
                    session_id,
                    before_id: None,
                    after_id: Some(last_message_id),
                    limit: MAX_MISSED,
                }))
                .await?
                .into_inner();
            let missed: Vec<MessageBody> =
                page.messages.into_iter().map(MessageBody::from).collect();
            body["missed"] = serde_json::to_value(missed).map_err(|_| Problem::internal())?;
            body["missed_has_more"] = Value::Bool(page.has_more);
        }
        Ok(body)
    }

    /// Stores the message; the room (the sender included) hears of it from NATS once the chat
    /// service has committed it.
    async fn message(&self, send: Send) -> Result<Value, Problem> {
        record_session(&send.session_id);
        let _in_order = self.caller.sending.lock().await;
        let message = self
            .chat()
            .send_message(self.forward.request(pb::SendMessageRequest {
                session_id: send.session_id,
                content: send.content,
                client_id: send.client_id.unwrap_or_default(),
            }))
            .await?
            .into_inner();
        to_value(MessageBody::from(message))
    }

    /// Typing is not stored: it goes to the room's other sockets here at once and to other
    /// instances through NATS (which skip it here by its origin). Only in a joined session,
    /// the proof the caller may see it.
    async fn typing(&self, typing: Typing) -> Result<Value, Problem> {
        record_session(&typing.session_id);
        if !self.caller.has_joined(&typing.session_id) {
            return Err(Problem::new(
                ProblemType::NotFound,
                "no such session among this socket's: join it first",
            ));
        }
        let event = pb::Typing {
            session_id: typing.session_id.clone(),
            user_id: self.caller.claims.sub.to_string(),
            at: Some(rentory_proto::timestamp(time::OffsetDateTime::now_utc())),
        };
        let body = TypingBody::from(event.clone());
        if let Err(e) = self
            .socket
            .to(room(&typing.session_id))
            .emit("typing", &body)
            .await
        {
            tracing::debug!(error = %e, "could not emit typing to this instance's room");
        }
        self.publish_typing(event).await;
        to_value(body)
    }

    async fn publish_typing(&self, typing: pb::Typing) {
        let nats = &self.hub.state.nats;
        if nats.connection_state() != async_nats::connection::State::Connected {
            tracing::debug!("NATS is down; typing stays on this instance");
            return;
        }
        let session_id = typing.session_id.clone();
        let event = pb::RoomEvent {
            session_id: session_id.clone(),
            event: Some(pb::room_event::Event::Typing(typing)),
            origin: self.hub.state.instance_id.to_string(),
        };
        let mut headers = async_nats::HeaderMap::new();
        if let Some(traceparent) = rentory_runtime::trace_context::current_traceparent() {
            headers.insert("traceparent", traceparent.as_str());
        }
        let publish =
            nats.publish_with_headers(subject(&session_id), headers, event.encode_to_vec().into());
        match tokio::time::timeout(TYPING_PUBLISH_WAIT, publish).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not publish typing"),
            Err(_) => tracing::warn!("NATS did not take typing in time; dropped"),
        }
    }

    async fn read(&self, read: Read) -> Result<Value, Problem> {
        record_session(&read.session_id);
        let marker = self
            .chat()
            .mark_read(self.forward.request(pb::MarkReadRequest {
                session_id: read.session_id,
                message_id: read.message_id,
            }))
            .await?
            .into_inner();
        to_value(ReadMarkerBody::from(marker))
    }

    async fn leave(&self, leave: Leave) -> Result<Value, Problem> {
        record_session(&leave.session_id);
        if self.caller.leave(&leave.session_id) {
            self.socket.leave(room(&leave.session_id));
            self.hub.rooms.leave(&leave.session_id, self.socket.id);
        }
        Ok(json!({ "session_id": leave.session_id }))
    }
}

/// An event's data read like a REST body; no data at all is a 422 naming `body`.
fn read<T: DeserializeOwned>(data: Option<Value>) -> Result<T, Problem> {
    match data {
        Some(value) => parse_value(value),
        None => Err(Problem::invalid_field(
            "body",
            "the event needs a JSON object",
        )),
    }
}

fn to_value(body: impl serde::Serialize) -> Result<Value, Problem> {
    serde_json::to_value(body).map_err(|_| Problem::internal())
}

fn record_session(session_id: &str) {
    tracing::Span::current().record("session_id", session_id);
}

/// `{error: <problem document>}`, as every failed ack.
fn error_ack(problem: Problem, request_id: &str) -> Value {
    let mut document = problem.into_document();
    document.request_id = Some(request_id.to_owned());
    json!({ "error": document })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_acks_carry_the_problem_and_the_request_id() {
        let ack = error_ack(
            Problem::new(ProblemType::NotFound, "no such session"),
            "req-1",
        );
        let error = &ack["error"];
        assert_eq!(error["type"], "https://rentory.ng/problems/not-found");
        assert_eq!(error["status"], 404);
        assert_eq!(error["title"], "Not found");
        assert_eq!(error["detail"], "no such session");
        assert_eq!(error["request_id"], "req-1");
    }

    #[test]
    fn event_data_is_read_like_a_body() {
        let join: Join = read(Some(json!({"session_id": "s1"}))).expect("valid");
        assert_eq!(
            (join.session_id.as_str(), join.last_message_id),
            ("s1", None)
        );
        let missing = read::<Send>(Some(json!({"session_id": "s1"}))).expect_err("refused");
        assert_eq!(missing.status, 422);
        assert_eq!(missing.errors[0].field, "content");
        let none = read::<Typing>(None).expect_err("refused");
        assert_eq!(none.errors[0].field, "body");
    }
}
