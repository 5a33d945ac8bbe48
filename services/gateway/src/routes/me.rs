//! The caller's own account and profile.

use axum::Json;
use axum::extract::State;
use rentory_proto::identity::v1 as pb;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::extract::ApiJson;
use crate::grpc::Forward;
use crate::model::MeBody;
use crate::problem::{Problem, ProblemDocument};
use crate::state::AppState;

/// The caller's account and profile.
#[utoipa::path(
    get,
    path = "/me",
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MeBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn get_me(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
) -> Result<Json<MeBody>, Problem> {
    let me = state
        .clients
        .identity
        .clone()
        .get_me(
            forward
                .with_authorization(user.authorization)
                .request(pb::GetMeRequest {}),
        )
        .await?
        .into_inner();
    Ok(Json(me.try_into()?))
}

/// Fields to change; absent ones stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProfilePatch {
    pub full_name: Option<String>,
    pub avatar_url: Option<String>,
    pub phone: Option<String>,
    pub bio: Option<String>,
}

/// Updates the caller's profile.
#[utoipa::path(
    patch,
    path = "/me/profile",
    tag = "me",
    security(("bearer" = [])),
    request_body = ProfilePatch,
    responses(
        (status = 200, body = MeBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn update_profile(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> Result<Json<MeBody>, Problem> {
    let me = state
        .clients
        .identity
        .clone()
        .update_profile(forward.with_authorization(user.authorization).request(
            pb::UpdateProfileRequest {
                full_name: patch.full_name,
                avatar_url: patch.avatar_url,
                phone: patch.phone,
                bio: patch.bio,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(me.try_into()?))
}
