//! Tenant-landlord chat over REST: sessions about a property, their history, sending,
//! read markers and guide assignment. The chat service decides who may see and do what (a
//! session the caller may not see is 404, as for one that does not exist) and masks contact
//! details until the tenant has unlocked them; the gateway checks shapes and forwards.
//! The same sessions are live over Socket.IO (`socket/`), whose events carry these bodies.

use axum::Json;
use axum::extract::{Path, State};
use rentory_proto::chat::v1 as pb;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::extract::{ApiJson, ApiQuery, TextFields, present};
use crate::grpc::Forward;
use crate::model::non_empty;
use crate::problem::{Problem, ProblemDocument};
use crate::routes::{Created, created};
use crate::state::AppState;

// --- bodies --------------------------------------------------------------------------

/// A conversation between a tenant and a property's landlord (and its assigned guide).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionBody {
    #[schema(example = "0190f3a2-7b1c-7d4e-9a8b-1234567890ab")]
    pub id: String,
    pub property_id: String,
    pub tenant_id: String,
    pub landlord_id: String,
    /// The GUIDE assigned to the session, or null.
    pub assigned_guide_id: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// When the last message or marker changed the session.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_updated: Option<OffsetDateTime>,
    /// Whether phone numbers and e-mail addresses in this session's messages are shown whole
    /// (the tenant holds a contact unlock for the property); otherwise they are masked.
    pub contact_unlocked: bool,
}

impl From<pb::Session> for SessionBody {
    fn from(s: pb::Session) -> Self {
        Self {
            id: s.id,
            property_id: s.property_id,
            tenant_id: s.tenant_id,
            landlord_id: s.landlord_id,
            assigned_guide_id: s.assigned_guide_id.and_then(non_empty),
            created_at: s
                .created_at
                .as_ref()
                .and_then(rentory_proto::offset_date_time),
            last_updated: s
                .last_updated
                .as_ref()
                .and_then(rentory_proto::offset_date_time),
            contact_unlocked: s.contact_unlocked,
        }
    }
}

/// A stored message. Over Socket.IO the sender gets it twice, in the ack and as a room
/// `message` event: clients keep one per `id`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageBody {
    #[schema(example = "0190f3a2-7b1c-7d4e-9a8b-1234567890ab")]
    pub id: String,
    pub session_id: String,
    pub sender_id: String,
    /// Phone numbers and e-mail addresses masked until the tenant unlocks the contact.
    #[schema(example = "Is the flat still available?")]
    pub content: String,
    pub is_read: bool,
    /// Posted by an ADMIN or SUPPORT_LEAD into a session they are not part of.
    pub is_admin_intervention: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// The sender's id for the message; a resend with the same one returns this message.
    pub client_id: Option<String>,
    /// TENANT, LANDLORD, GUIDE, ADMIN or STAFF: the sender's role when sending.
    #[schema(example = "TENANT")]
    pub sender_role: String,
}

impl From<pb::Message> for MessageBody {
    fn from(m: pb::Message) -> Self {
        Self {
            id: m.id,
            session_id: m.session_id,
            sender_id: m.sender_id,
            content: m.content,
            is_read: m.is_read,
            is_admin_intervention: m.is_admin_intervention,
            created_at: m
                .created_at
                .as_ref()
                .and_then(rentory_proto::offset_date_time),
            client_id: non_empty(m.client_id),
            sender_role: m.sender_role,
        }
    }
}

/// How far a participant has read: every message of the other side up to and including
/// `message_id`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadMarkerBody {
    pub session_id: String,
    pub reader_id: String,
    pub message_id: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub at: Option<OffsetDateTime>,
}

impl From<pb::ReadMarker> for ReadMarkerBody {
    fn from(r: pb::ReadMarker) -> Self {
        Self {
            session_id: r.session_id,
            reader_id: r.reader_id,
            message_id: r.message_id,
            at: r.at.as_ref().and_then(rentory_proto::offset_date_time),
        }
    }
}

/// A page of the caller's sessions, most recently updated first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionPage {
    pub items: Vec<SessionBody>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// A page of a session's messages: newest first when paging back (`before`, or neither),
/// oldest first when catching up (`after`).
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    pub items: Vec<MessageBody>,
    /// More messages exist in the direction asked.
    pub has_more: bool,
}

/// Opens the session about a property.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OpenSession {
    #[schema(example = "0190f3a2-7b1c-7d4e-9a8b-00000000a001")]
    pub property_id: String,
}

/// A message to send.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewMessage {
    /// The chat service caps its length.
    #[schema(example = "Is the flat still available?")]
    pub content: String,
    /// Chosen by the client (a UUID is a good choice): sending again with the same one
    /// returns the message stored the first time instead of a second message.
    pub client_id: Option<String>,
}

/// The newest message read.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MarkRead {
    pub message_id: String,
}

/// The GUIDE to assign.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignGuide {
    pub guide_id: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionsQuery {
    /// Page size, 1 - 100 (default 50).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Older than this message id, newest first (paging back).
    pub before: Option<String>,
    /// Newer than this message id, oldest first (what a reconnecting client missed).
    /// At most one of `before` and `after`.
    pub after: Option<String>,
    /// Page size, 1 - 100 (default 50).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
}

impl HistoryQuery {
    fn into_request(self, session_id: String) -> Result<pb::HistoryRequest, Problem> {
        let mut fields = TextFields::default();
        let limit = fields.integer("limit", self.limit.as_deref(), "a whole number, 0 or more");
        let before_id = present(self.before.as_deref()).map(str::to_owned);
        let after_id = present(self.after.as_deref()).map(str::to_owned);
        if before_id.is_some() && after_id.is_some() {
            fields.refuse("after", "give at most one of `before` and `after`");
        }
        fields.finish()?;
        Ok(pb::HistoryRequest {
            session_id,
            before_id,
            after_id,
            // 0 asks for the service's default.
            limit: limit.unwrap_or_default(),
        })
    }
}

impl SessionsQuery {
    fn into_request(self) -> Result<pb::ListSessionsRequest, Problem> {
        let mut fields = TextFields::default();
        let limit = fields.integer("limit", self.limit.as_deref(), "a whole number, 0 or more");
        fields.finish()?;
        Ok(pb::ListSessionsRequest {
            limit: limit.unwrap_or_default(),
            cursor: self.cursor.unwrap_or_default(),
        })
    }
}

// --- handlers ------------------------------------------------------------------------

/// Opens the caller's session about a property, or returns the one already open (ACTIVE
/// TENANT): one session per tenant and property.
#[utoipa::path(
    post,
    path = "/chat/sessions",
    tag = "chat",
    security(("bearer" = [])),
    request_body = OpenSession,
    responses(
        (status = 200, description = "The session, the same one every time", body = SessionBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not an ACTIVE tenant", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such property", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn open_session(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    ApiJson(body): ApiJson<OpenSession>,
) -> Result<Json<SessionBody>, Problem> {
    let session = state
        .clients
        .chat
        .clone()
        .open_session(forward.with_authorization(user.authorization).request(
            pb::OpenSessionRequest {
                property_id: body.property_id,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(session.into()))
}

/// The caller's sessions as tenant, landlord or guide, most recently updated first.
#[utoipa::path(
    get,
    path = "/chat/sessions",
    tag = "chat",
    security(("bearer" = [])),
    params(SessionsQuery),
    responses(
        (status = 200, body = SessionPage),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A bad `limit` or `cursor`", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    ApiQuery(query): ApiQuery<SessionsQuery>,
) -> Result<Json<SessionPage>, Problem> {
    let page = state
        .clients
        .chat
        .clone()
        .list_sessions(
            forward
                .with_authorization(user.authorization)
                .request(query.into_request()?),
        )
        .await?
        .into_inner();
    Ok(Json(SessionPage {
        items: page.sessions.into_iter().map(SessionBody::from).collect(),
        next_cursor: non_empty(page.next_cursor),
    }))
}

/// One session (its participants, ADMIN and SUPPORT_LEAD).
#[utoipa::path(
    get,
    path = "/chat/sessions/{id}",
    tag = "chat",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = SessionBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such session, or not one the caller may see", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn get_session(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
) -> Result<Json<SessionBody>, Problem> {
    let session = state
        .clients
        .chat
        .clone()
        .get_session(
            forward
                .with_authorization(user.authorization)
                .request(pb::GetSessionRequest { session_id: id }),
        )
        .await?
        .into_inner();
    Ok(Json(session.into()))
}

/// A session's messages: newest first, older than `before` when given; or, with `after`,
/// oldest first from the message after that one (catching up after a dropped connection).
#[utoipa::path(
    get,
    path = "/chat/sessions/{id}/messages",
    tag = "chat",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id"), HistoryQuery),
    responses(
        (status = 200, body = MessagePage),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such session, or not one the caller may see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A bad `limit`, or both `before` and `after`", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn history(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<MessagePage>, Problem> {
    let page = state
        .clients
        .chat
        .clone()
        .history(
            forward
                .with_authorization(user.authorization)
                .request(query.into_request(id)?),
        )
        .await?
        .into_inner();
    Ok(Json(MessagePage {
        items: page.messages.into_iter().map(MessageBody::from).collect(),
        has_more: page.has_more,
    }))
}

/// Sends a message. Participants post; ADMIN and SUPPORT_LEAD post as an intervention. The
/// message is stored before anyone is told; every socket in the session's room then gets it
/// as a `message` event.
#[utoipa::path(
    post,
    path = "/chat/sessions/{id}/messages",
    tag = "chat",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    request_body = NewMessage,
    responses(
        (status = 201, description = "The stored message (the first one, for a repeated `client_id`)", body = MessageBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such session, or not one the caller may see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn send_message(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewMessage>,
) -> Result<Created<MessageBody>, Problem> {
    let message = state
        .clients
        .chat
        .clone()
        .send_message(forward.with_authorization(user.authorization).request(
            pb::SendMessageRequest {
                session_id: id,
                content: body.content,
                client_id: body.client_id.unwrap_or_default(),
            },
        ))
        .await?
        .into_inner();
    Ok(created(message.into()))
}

/// Marks the other side's messages read up to and including `message_id` (participants).
#[utoipa::path(
    post,
    path = "/chat/sessions/{id}/read",
    tag = "chat",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    request_body = MarkRead,
    responses(
        (status = 200, body = ReadMarkerBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such session or message, or not one the caller may see", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn mark_read(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MarkRead>,
) -> Result<Json<ReadMarkerBody>, Problem> {
    let marker =
        state
            .clients
            .chat
            .clone()
            .mark_read(forward.with_authorization(user.authorization).request(
                pb::MarkReadRequest {
                    session_id: id,
                    message_id: body.message_id,
                },
            ))
            .await?
            .into_inner();
    Ok(Json(marker.into()))
}

/// Assigns an ACTIVE GUIDE to the session (ADMIN, OPERATIONS_MANAGER, SUPPORT_LEAD).
#[utoipa::path(
    post,
    path = "/chat/sessions/{id}/guide",
    tag = "chat",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    request_body = AssignGuide,
    responses(
        (status = 200, body = SessionBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "Not an ACTIVE guide", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn assign_guide(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssignGuide>,
) -> Result<Json<SessionBody>, Problem> {
    let session = state
        .clients
        .chat
        .clone()
        .assign_guide(forward.with_authorization(user.authorization).request(
            pb::AssignGuideRequest {
                session_id: id,
                guide_id: body.guide_id,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(session.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_takes_one_direction_and_a_numeric_limit() {
        let query = |before: Option<&str>, after: Option<&str>, limit: Option<&str>| HistoryQuery {
            before: before.map(str::to_owned),
            after: after.map(str::to_owned),
            limit: limit.map(str::to_owned),
        };
        let back = query(Some("m9"), None, Some("20"))
            .into_request("s1".into())
            .expect("valid");
        assert_eq!(
            (back.before_id.as_deref(), back.after_id, back.limit),
            (Some("m9"), None, 20)
        );
        let missed = query(None, Some("m3"), None)
            .into_request("s1".into())
            .expect("valid");
        assert_eq!((missed.after_id.as_deref(), missed.limit), (Some("m3"), 0));
        let blank = query(Some(" "), Some(""), None)
            .into_request("s1".into())
            .expect("valid");
        assert_eq!((blank.before_id, blank.after_id), (None, None));

        let both = query(Some("a"), Some("b"), None).into_request("s1".into());
        let problem = both.expect_err("refused");
        assert_eq!(problem.errors[0].field, "after");
        let bad = query(None, None, Some("-1")).into_request("s1".into());
        assert_eq!(bad.expect_err("refused").errors[0].field, "limit");
    }

    #[test]
    fn empty_optional_strings_become_null() {
        let message = MessageBody::from(pb::Message {
            id: "m1".into(),
            client_id: String::new(),
            ..Default::default()
        });
        assert_eq!(message.client_id, None);
        let session = SessionBody::from(pb::Session {
            assigned_guide_id: Some(String::new()),
            ..Default::default()
        });
        assert_eq!(session.assigned_guide_id, None);
    }
}
