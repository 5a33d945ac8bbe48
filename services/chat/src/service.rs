//! The gRPC handlers: who is calling, what the access rule lets them do, then storage, the
//! outbox and the room.

use std::sync::Arc;

use prost::Message as _;
use rentory_auth::{Actor, Capability, Role, TokenVerifier, UserStatus};
use rentory_events::RelayWaker;
use rentory_proto::chat::v1 as pb;
use rentory_proto::chat::v1::chat_server::Chat;
use rentory_proto::chat::v1::room_event::Event as RoomPayload;
use rentory_proto::events::v1::ChatMessageSent;
use sqlx::PgPool;
use time::OffsetDateTime;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::access::{self, Action, Standing};
use crate::error::Error;
use crate::message::db::{self as message_db, Announcement, Marked, ReadMarker, Stored};
use crate::message::{ClientId, Content, Message};
use crate::peers::Peers;
use crate::room::Room;
use crate::session::db as session_db;
use crate::session::facts::{Facts, FactsCache};
use crate::session::{ListCursor, Session};

pub const MESSAGE_SENT: &str = "rentory.chat.message.sent";
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 100;
/// Sends decided on remembered facts that changed underneath (a guide reassigned) are
/// decided again on fresh ones, this many times at most.
const SEND_ATTEMPTS: usize = 3;

pub struct ChatApi {
    pool: PgPool,
    verifier: TokenVerifier,
    peers: Peers,
    room: Room,
    facts: Arc<FactsCache>,
    relay: RelayWaker,
}

impl ChatApi {
    pub fn new(
        pool: PgPool,
        verifier: TokenVerifier,
        peers: Peers,
        room: Room,
        facts: Arc<FactsCache>,
        relay: RelayWaker,
    ) -> Self {
        Self {
            pool,
            verifier,
            peers,
            room,
            facts,
            relay,
        }
    }

    fn actor<T>(&self, request: &Request<T>) -> Result<Actor, Error> {
        Actor::from_metadata(request.metadata(), &self.verifier).map_err(Error::Unauthenticated)
    }

    /// The session, if `actor` may do `action` with it; otherwise the refusal (a session the
    /// caller may not know of reads exactly like a missing one).
    async fn session_for(
        &self,
        actor: &Actor,
        id: Uuid,
        action: Action,
    ) -> Result<(Session, Standing), Error> {
        let session = session_db::find(&self.pool, id)
            .await?
            .ok_or(Error::SessionNotFound)?;
        let standing = access::decide(actor, &session.parties, action)
            .map_err(|refusal| Error::refused(refusal, "chat"))?;
        Ok((session, standing))
    }

    async fn load_facts(&self, id: Uuid) -> Result<Facts, Error> {
        let session = session_db::find(&self.pool, id)
            .await?
            .ok_or(Error::SessionNotFound)?;
        let facts = Facts::from(&session);
        self.facts.put(id, facts);
        Ok(facts)
    }

    async fn open(&self, request: Request<pb::OpenSessionRequest>) -> Result<Session, Error> {
        let actor = self.actor(&request)?;
        if actor.role != Role::Tenant {
            return Err(Error::Forbidden("only tenants open chat sessions"));
        }
        if !actor.is_active() {
            return Err(Error::NotActive("chat"));
        }
        let property_id = parse_id("property_id", &request.get_ref().property_id)?;
        // Opening again is the common case and needs no call to listings.
        if let Some(existing) = session_db::find_for(&self.pool, actor.user_id, property_id).await?
        {
            return Ok(existing);
        }
        let property = self
            .peers
            .property(request.metadata(), property_id)
            .await?
            .ok_or(Error::NotFound("property"))?;
        if !property.active {
            return Err(Error::InvalidState(
                "this listing is not on the market; chats open only about ACTIVE listings".into(),
            ));
        }
        if property.landlord_id == actor.user_id {
            return Err(Error::Forbidden("this is your own listing"));
        }
        let opened = session_db::insert(
            &self.pool,
            Uuid::now_v7(),
            property_id,
            actor.user_id,
            property.landlord_id,
            now(),
        )
        .await?;
        let session = session_db::find_for(&self.pool, actor.user_id, property_id)
            .await?
            .ok_or_else(|| Error::Corrupt("a session vanished after it was opened".into()))?;
        if opened {
            tracing::info!(session_id = %session.id, property_id = %property_id, tenant_id = %actor.user_id, "chat session opened");
        }
        Ok(session)
    }

    async fn get(&self, request: Request<pb::GetSessionRequest>) -> Result<Session, Error> {
        let actor = self.actor(&request)?;
        let id = session_id(&request.get_ref().session_id)?;
        let (session, _) = self.session_for(&actor, id, Action::Read).await?;
        Ok(session)
    }

    /// The tenant's session about the property, when the caller may read it; otherwise the
    /// same NOT_FOUND as for a session that does not exist.
    async fn find(&self, request: Request<pb::FindSessionRequest>) -> Result<Session, Error> {
        let actor = self.actor(&request)?;
        let property_id = parse_id("property_id", &request.get_ref().property_id)?;
        let tenant_id = parse_id("tenant_id", &request.get_ref().tenant_id)?;
        let session = session_db::find_for(&self.pool, tenant_id, property_id)
            .await?
            .ok_or(Error::SessionNotFound)?;
        access::decide(&actor, &session.parties, Action::Read)
            .map_err(|refusal| Error::refused(refusal, "chat"))?;
        Ok(session)
    }

    async fn list(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Result<pb::ListSessionsResponse, Error> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let limit = page_size(r.limit)?;
        let cursor = match r.cursor.as_str() {
            "" => None,
            text => Some(
                ListCursor::decode(text)
                    .ok_or_else(|| Error::invalid("cursor", "not a cursor this service issued"))?,
            ),
        };
        let mut sessions = if actor.can(Capability::SuperviseChats) {
            session_db::list_all(&self.pool, cursor, limit + 1).await?
        } else {
            session_db::list_for(&self.pool, actor.user_id, cursor, limit + 1).await?
        };
        let next_cursor = if sessions.len() as i64 > limit {
            sessions.truncate(limit as usize);
            sessions
                .last()
                .map(|s| s.cursor().encode())
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListSessionsResponse {
            sessions: sessions.iter().map(Session::to_proto).collect(),
            next_cursor,
        })
    }

    async fn read_history(
        &self,
        request: Request<pb::HistoryRequest>,
    ) -> Result<pb::HistoryResponse, Error> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let id = session_id(&r.session_id)?;
        let limit = page_size(r.limit)?;
        let before = r.before_id.filter(|s| !s.is_empty());
        let after = r.after_id.filter(|s| !s.is_empty());
        let (session, _) = self.session_for(&actor, id, Action::Read).await?;
        let mut messages = match (before, after) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "after_id",
                    "give before_id or after_id, not both",
                ));
            }
            (None, Some(after)) => {
                let at = self.position(id, "after_id", &after).await?;
                message_db::oldest_after(&self.pool, id, at, limit + 1).await?
            }
            (before, None) => {
                let at = match before {
                    Some(before) => Some(self.position(id, "before_id", &before).await?),
                    None => None,
                };
                message_db::newest_before(&self.pool, id, at, limit + 1).await?
            }
        };
        let has_more = messages.len() as i64 > limit;
        messages.truncate(limit as usize);
        Ok(pb::HistoryResponse {
            messages: messages
                .iter()
                .map(|m| m.to_proto(&session.parties, session.contact_unlocked))
                .collect(),
            has_more,
        })
    }

    /// Where the message a cursor names sits in the session.
    async fn position(&self, session: Uuid, field: &'static str, text: &str) -> Result<i64, Error> {
        let id = parse_id(field, text)?;
        message_db::position(&self.pool, session, id)
            .await?
            .ok_or_else(|| Error::invalid(field, "no such message in this session"))
    }

    /// The hot path: one statement when the session's parties are in memory (see
    /// `message::db::store`), two when they are not.
    async fn send(&self, request: Request<pb::SendMessageRequest>) -> Result<pb::Message, Error> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let id = session_id(&r.session_id)?;
        let content = Content::parse(&r.content);
        let client_id = ClientId::parse(&r.client_id);
        let (content, client_id) = match (content, client_id) {
            (Ok(content), Ok(client_id)) => (content, client_id),
            (content, client_id) => {
                let violations = [("content", content.err()), ("client_id", client_id.err())]
                    .into_iter()
                    .filter_map(|(field, why)| why.map(|why| (field, why)))
                    .collect();
                return Err(Error::Invalid(violations));
            }
        };
        let created_at = now();
        let mut message = Message {
            id: Uuid::now_v7(),
            session_id: id,
            sender_id: actor.user_id,
            sender_role: actor.role,
            content: content.as_str().to_owned(),
            client_id: client_id.as_ref().map(|c| c.as_str().to_owned()),
            is_admin_intervention: false,
            is_read: false,
            created_at,
        };
        let (mut facts, mut fresh) = match self.facts.get(id) {
            Some(facts) => (facts, false),
            None => (self.load_facts(id).await?, true),
        };
        for _ in 0..SEND_ATTEMPTS {
            let standing = match access::decide(&actor, &facts.parties, Action::Post) {
                Ok(standing) => standing,
                // Remembered facts may predate the caller's assignment as guide.
                Err(_) if !fresh => {
                    facts = self.load_facts(id).await?;
                    fresh = true;
                    continue;
                }
                Err(refusal) => return Err(Error::refused(refusal, "chat")),
            };
            message.is_admin_intervention = standing == Standing::Supervisor;
            let event = ChatMessageSent {
                message_id: message.id.to_string(),
                session_id: id.to_string(),
                property_id: facts.property_id.to_string(),
                sender_id: actor.user_id.to_string(),
                recipient_ids: facts
                    .parties
                    .recipients(actor.user_id)
                    .iter()
                    .map(Uuid::to_string)
                    .collect(),
                is_admin_intervention: message.is_admin_intervention,
                at: Some(rentory_proto::timestamp(created_at)),
            };
            let payload = event.encode_to_vec();
            let traceparent = rentory_runtime::trace_context::current_traceparent();
            let outcome = message_db::store(
                &self.pool,
                &message,
                facts.parties.assigned_guide_id,
                &Announcement {
                    event_id: Uuid::now_v7(),
                    subject: MESSAGE_SENT,
                    payload: &payload,
                    traceparent: traceparent.as_deref(),
                },
            )
            .await?;
            match outcome.stored {
                Stored::New => {
                    self.relay.wake();
                    let shown = message.to_proto(&facts.parties, outcome.contact_unlocked);
                    self.room
                        .publish(pb::RoomEvent {
                            session_id: id.to_string(),
                            event: Some(RoomPayload::Message(shown.clone())),
                            origin: String::new(),
                        })
                        .await;
                    return Ok(shown);
                }
                Stored::Duplicate => {
                    let client_id = message.client_id.as_deref().unwrap_or_default();
                    let first =
                        message_db::find_by_client_id(&self.pool, id, actor.user_id, client_id)
                            .await?
                            .ok_or_else(|| {
                                Error::Corrupt("a client id conflicted with no message".into())
                            })?;
                    return Ok(first.to_proto(&facts.parties, outcome.contact_unlocked));
                }
                Stored::Stale => {
                    facts = self.load_facts(id).await?;
                    fresh = true;
                }
            }
        }
        Err(Error::Corrupt(
            "the session's guide kept changing while a message was sent".into(),
        ))
    }

    async fn mark(&self, request: Request<pb::MarkReadRequest>) -> Result<pb::ReadMarker, Error> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let id = session_id(&r.session_id)?;
        self.session_for(&actor, id, Action::MarkRead).await?;
        let message_id = parse_id("message_id", &r.message_id)?;
        let marker =
            match message_db::mark_read(&self.pool, id, message_id, actor.user_id, now()).await? {
                Marked::NoSuchMessage => return Err(Error::NotFound("message")),
                Marked::Advanced(marker) => {
                    let shown = marker_proto(id, actor.user_id, marker);
                    self.room
                        .publish(pb::RoomEvent {
                            session_id: id.to_string(),
                            event: Some(RoomPayload::Read(shown.clone())),
                            origin: String::new(),
                        })
                        .await;
                    return Ok(shown);
                }
                Marked::AlreadyPast => message_db::read_marker(&self.pool, id, actor.user_id)
                    .await?
                    .ok_or_else(|| Error::Corrupt("a read marker vanished".into()))?,
            };
        Ok(marker_proto(id, actor.user_id, marker))
    }

    async fn assign(&self, request: Request<pb::AssignGuideRequest>) -> Result<Session, Error> {
        let actor = self.actor(&request)?;
        let id = session_id(&request.get_ref().session_id)?;
        let guide_id = parse_id("guide_id", &request.get_ref().guide_id)?;
        self.session_for(&actor, id, Action::AssignGuide).await?;
        let guide = self.peers.account(request.metadata(), guide_id).await?;
        if !guide.is_some_and(|g| g.role == Role::Guide && g.status == UserStatus::Active) {
            return Err(Error::invalid("guide_id", "not an ACTIVE guide's account"));
        }
        if !session_db::assign_guide(&self.pool, id, guide_id, now()).await? {
            return Err(Error::SessionNotFound);
        }
        let session = session_db::find(&self.pool, id)
            .await?
            .ok_or(Error::SessionNotFound)?;
        self.facts.put(id, Facts::from(&session));
        tracing::info!(session_id = %id, guide_id = %guide_id, by = %actor.user_id, "guide assigned");
        Ok(session)
    }
}

fn marker_proto(session_id: Uuid, reader_id: Uuid, marker: ReadMarker) -> pb::ReadMarker {
    pb::ReadMarker {
        session_id: session_id.to_string(),
        reader_id: reader_id.to_string(),
        message_id: marker.message_id.to_string(),
        at: Some(rentory_proto::timestamp(marker.at)),
    }
}

/// Now, at the microsecond precision Postgres stores, so what a send answers with is what
/// history shows later.
fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}

fn parse_id(field: &'static str, text: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(text).map_err(|_| Error::invalid(field, "not a valid id"))
}

/// A session id that cannot exist names no session.
fn session_id(text: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(text).map_err(|_| Error::SessionNotFound)
}

/// 1-100, 0 meaning the default of 50.
fn page_size(raw: u32) -> Result<i64, Error> {
    match raw {
        0 => Ok(i64::from(DEFAULT_PAGE)),
        1..=MAX_PAGE => Ok(i64::from(raw)),
        _ => Err(Error::invalid("limit", format!("between 1 and {MAX_PAGE}"))),
    }
}

#[tonic::async_trait]
impl Chat for ChatApi {
    async fn open_session(
        &self,
        request: Request<pb::OpenSessionRequest>,
    ) -> Result<Response<pb::Session>, Status> {
        let session = self.open(request).await?;
        Ok(Response::new(session.to_proto()))
    }

    async fn get_session(
        &self,
        request: Request<pb::GetSessionRequest>,
    ) -> Result<Response<pb::Session>, Status> {
        let session = self.get(request).await?;
        Ok(Response::new(session.to_proto()))
    }

    async fn list_sessions(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        Ok(Response::new(self.list(request).await?))
    }

    async fn history(
        &self,
        request: Request<pb::HistoryRequest>,
    ) -> Result<Response<pb::HistoryResponse>, Status> {
        Ok(Response::new(self.read_history(request).await?))
    }

    async fn send_message(
        &self,
        request: Request<pb::SendMessageRequest>,
    ) -> Result<Response<pb::Message>, Status> {
        Ok(Response::new(self.send(request).await?))
    }

    async fn mark_read(
        &self,
        request: Request<pb::MarkReadRequest>,
    ) -> Result<Response<pb::ReadMarker>, Status> {
        Ok(Response::new(self.mark(request).await?))
    }

    async fn assign_guide(
        &self,
        request: Request<pb::AssignGuideRequest>,
    ) -> Result<Response<pb::Session>, Status> {
        let session = self.assign(request).await?;
        Ok(Response::new(session.to_proto()))
    }

    async fn find_session(
        &self,
        request: Request<pb::FindSessionRequest>,
    ) -> Result<Response<pb::Session>, Status> {
        let session = self.find(request).await?;
        Ok(Response::new(session.to_proto()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn page_sizes_default_to_fifty_and_stop_at_a_hundred() {
        assert_eq!(page_size(0).unwrap(), 50);
        assert_eq!(page_size(1).unwrap(), 1);
        assert_eq!(page_size(100).unwrap(), 100);
        assert!(page_size(101).is_err());
    }

    #[test]
    fn times_are_kept_to_the_microsecond() {
        assert_eq!(now().nanosecond() % 1_000, 0);
    }
}
