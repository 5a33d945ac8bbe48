//! Administration: staff accounts. Identity checks that the caller is an ADMIN.

use axum::extract::State;
use rentory_auth::StaffPosition;
use rentory_proto::identity::v1 as pb;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::extract::ApiJson;
use crate::grpc::Forward;
use crate::model::UserBody;
use crate::problem::{Problem, ProblemDocument};
use crate::rate_limit::Guarded;
use crate::routes::{Created, created};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct StaffBody {
    pub email: String,
    pub password: String,
    pub pin: String,
    pub full_name: String,
    /// COMPLIANCE_OFFICER, OPERATIONS_MANAGER, FINANCIAL_CONTROLLER or SUPPORT_LEAD.
    #[schema(example = "COMPLIANCE_OFFICER")]
    pub position: String,
    pub phone: Option<String>,
}

/// Creates an ACTIVE staff user with a position (ADMIN only).
#[utoipa::path(
    post,
    path = "/admin/staff",
    tag = "admin",
    security(("bearer" = [])),
    request_body = StaffBody,
    responses(
        (status = 201, body = UserBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not an ADMIN", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Email taken", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn create_staff(
    State(state): State<AppState>,
    user: AuthUser<Guarded>,
    forward: Forward,
    ApiJson(body): ApiJson<StaffBody>,
) -> Result<Created<UserBody>, Problem> {
    let position = body.position.parse::<StaffPosition>().map_err(|_| {
        Problem::invalid_field(
            "position",
            "must be one of COMPLIANCE_OFFICER, OPERATIONS_MANAGER, FINANCIAL_CONTROLLER, SUPPORT_LEAD",
        )
    })?;
    let staff = state
        .clients
        .identity
        .clone()
        .create_staff(forward.with_authorization(user.authorization).request(
            pb::CreateStaffRequest {
                email: body.email,
                password: body.password,
                pin: body.pin,
                full_name: body.full_name,
                position: pb::StaffPosition::from(position).into(),
                phone: body.phone.unwrap_or_default(),
            },
        ))
        .await?
        .into_inner();
    Ok(created(staff.try_into()?))
}
