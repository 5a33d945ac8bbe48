//! The AI concierge: a tenant writes, the concierge answers and keeps a persona of what
//! the tenant wants (discovery ranks listings with it).

use axum::Json;
use axum::extract::State;
use rentory_persona::Persona;
use rentory_proto::ai::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::extract::ApiJson;
use crate::grpc::Forward;
use crate::problem::{Problem, ProblemDocument};
use crate::state::AppState;

/// A message to the concierge.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ConciergeMessage {
    /// What the tenant wants, in their own words (at most 2,000 characters).
    #[schema(example = "I need a 2 bedroom flat in Yaba, budget 1.5m, constant light is a must")]
    pub message: String,
}

/// The concierge's answer and the persona after this message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConciergeReply {
    pub reply: String,
    pub persona: Persona,
    /// True when this message changed the persona.
    pub persona_changed: bool,
    /// The model that answered; "offline" when no AI model is configured.
    #[schema(example = "offline")]
    pub model: String,
    /// 0 - 1: how sure the concierge is of the persona.
    pub confidence: f64,
    /// What the answer was based on.
    pub reasons: Vec<String>,
}

fn persona(document: Option<pb::PersonaDocument>) -> Result<Persona, Problem> {
    let document = document.ok_or_else(|| Problem::bad_gateway("persona missing"))?;
    Persona::from_json(&document.json).map_err(|_| Problem::bad_gateway("persona document"))
}

/// Talk to the concierge (TENANT; PENDING tenants too). Each message counts against the
/// daily AI allowance: 429 `ai-budget-exhausted` with `Retry-After` once it is spent.
#[utoipa::path(
    post,
    path = "/concierge/messages",
    tag = "concierge",
    security(("bearer" = [])),
    request_body = ConciergeMessage,
    responses(
        (status = 200, body = ConciergeReply),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not a tenant", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long, or refused by the model's safety filters", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "Today's AI allowance is used up", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The AI model is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn send_message(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    ApiJson(body): ApiJson<ConciergeMessage>,
) -> Result<Json<ConciergeReply>, Problem> {
    let answer = state
        .clients
        .ai
        .clone()
        .concierge_turn(forward.with_authorization(user.authorization).request(
            pb::ConciergeTurnRequest {
                message: body.message,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(ConciergeReply {
        persona: persona(answer.persona)?,
        reply: answer.reply,
        persona_changed: answer.persona_changed,
        model: answer.model,
        confidence: answer.confidence,
        reasons: answer.reasons,
    }))
}

/// The caller's persona (TENANT); `version` 0 until the concierge has learned something.
#[utoipa::path(
    get,
    path = "/concierge/persona",
    tag = "concierge",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Persona),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not a tenant", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn get_persona(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
) -> Result<Json<Persona>, Problem> {
    let answer = state
        .clients
        .ai
        .clone()
        .get_persona(
            forward
                .with_authorization(user.authorization)
                .request(pb::GetPersonaRequest::default()),
        )
        .await?
        .into_inner();
    Ok(Json(persona(answer.persona)?))
}
