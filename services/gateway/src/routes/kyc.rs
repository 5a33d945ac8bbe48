//! Identity verification: the caller's own requests, and the reviewers' queue. KYC decides
//! who may see and decide what.

use axum::Json;
use axum::extract::{Path, State};
use rentory_proto::kyc::v1 as pb;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::extract::{ApiJson, ApiQuery};
use crate::grpc::Forward;
use crate::model::{self, ReviewItemBody, ReviewPage, VerificationBody};
use crate::problem::{Problem, ProblemDocument};
use crate::rate_limit::{Guarded, Uploads};
use crate::routes::auth::proto_image;
use crate::routes::{Created, created};
use crate::state::AppState;
use crate::upload::{FormSpec, MultipartBody, read_form};

const VERIFICATION_FORM: FormSpec = FormSpec {
    required_texts: &["role_requested"],
    optional_texts: &[],
    files: &["id_image", "face_scan"],
    file_lists: &[],
    max_text_bytes: None,
};

/// A new verification request (multipart/form-data).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct VerificationForm {
    /// TENANT, LANDLORD or GUIDE.
    role_requested: String,
    #[schema(value_type = String, format = Binary)]
    id_image: Vec<u8>,
    #[schema(value_type = String, format = Binary)]
    face_scan: Vec<u8>,
}

/// The caller's latest verification request (no image links).
#[utoipa::path(
    get,
    path = "/me/verification",
    tag = "kyc",
    security(("bearer" = [])),
    responses(
        (status = 200, body = VerificationBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No request yet", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn my_verification(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
) -> Result<Json<VerificationBody>, Problem> {
    let request = state
        .clients
        .kyc
        .clone()
        .get_mine(
            forward
                .with_authorization(user.authorization)
                .request(pb::GetMineRequest {}),
        )
        .await?
        .into_inner();
    Ok(Json(request.try_into()?))
}

/// Submits a new request: after a rejection, or to ask for another role.
#[utoipa::path(
    post,
    path = "/me/verification",
    tag = "kyc",
    security(("bearer" = [])),
    request_body(content = VerificationForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = VerificationBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "A request is already pending", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "Too many submissions by this user; see Retry-After", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn resubmit_verification(
    State(state): State<AppState>,
    // Charged to the `uploads` limit before the form is read.
    user: AuthUser<Uploads>,
    forward: Forward,
    body: MultipartBody,
) -> Result<Created<VerificationBody>, Problem> {
    let mut form = read_form(body, &VERIFICATION_FORM, &state.uploads).await?;
    let role = model::parse_role("role_requested", form.text("role_requested"))?;
    let (Some(id_image), Some(face_scan)) =
        (form.take_image("id_image"), form.take_image("face_scan"))
    else {
        return Err(Problem::internal());
    };
    let request = state
        .clients
        .kyc
        .clone()
        .submit(
            forward
                .with_authorization(user.authorization)
                .request(pb::SubmitRequest {
                    role_requested: role.into(),
                    id_image: Some(proto_image(id_image)),
                    face_scan: Some(proto_image(face_scan)),
                }),
        )
        .await?
        .into_inner();
    Ok(created(request.try_into()?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// PENDING (default), APPROVED or REJECTED.
    pub status: Option<String>,
    /// Page size; the service caps it.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn parse_status(status: Option<&str>) -> Result<pb::VerificationStatus, Problem> {
    match status {
        None | Some("PENDING") => Ok(pb::VerificationStatus::Pending),
        Some("APPROVED") => Ok(pb::VerificationStatus::Approved),
        Some("REJECTED") => Ok(pb::VerificationStatus::Rejected),
        Some(_) => Err(Problem::invalid_field(
            "status",
            "must be one of PENDING, APPROVED, REJECTED",
        )),
    }
}

/// The review queue, with image links signed for a short time (ADMIN, COMPLIANCE_OFFICER).
#[utoipa::path(
    get,
    path = "/kyc/requests",
    tag = "kyc",
    security(("bearer" = [])),
    params(QueueQuery),
    responses(
        (status = 200, body = ReviewPage),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn list_requests(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    ApiQuery(query): ApiQuery<QueueQuery>,
) -> Result<Json<ReviewPage>, Problem> {
    let status = parse_status(query.status.as_deref())?;
    let page = state
        .clients
        .kyc
        .clone()
        .list(
            forward
                .with_authorization(user.authorization)
                .request(pb::ListRequest {
                    status: status.into(),
                    page_size: query.limit.unwrap_or_default(),
                    cursor: query.cursor.unwrap_or_default(),
                }),
        )
        .await?
        .into_inner();
    Ok(Json(page.try_into()?))
}

/// One request: reviewers get signed image links, its owner gets none.
#[utoipa::path(
    get,
    path = "/kyc/requests/{id}",
    tag = "kyc",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Verification request id")),
    responses(
        (status = 200, body = ReviewItemBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn get_request(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
) -> Result<Json<ReviewItemBody>, Problem> {
    let item = state
        .clients
        .kyc
        .clone()
        .get(
            forward
                .with_authorization(user.authorization)
                .request(pb::GetRequest { id }),
        )
        .await?
        .into_inner();
    Ok(Json(item.try_into()?))
}

/// Approves a pending request: the user becomes ACTIVE with the requested role.
#[utoipa::path(
    post,
    path = "/kyc/requests/{id}/approve",
    tag = "kyc",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Verification request id")),
    responses(
        (status = 200, body = VerificationBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Already decided", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn approve_request(
    State(state): State<AppState>,
    user: AuthUser<Guarded>,
    forward: Forward,
    Path(id): Path<String>,
) -> Result<Json<VerificationBody>, Problem> {
    let request = state
        .clients
        .kyc
        .clone()
        .approve(
            forward
                .with_authorization(user.authorization)
                .request(pb::ApproveRequest { id }),
        )
        .await?
        .into_inner();
    Ok(Json(request.try_into()?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RejectBody {
    pub reason: String,
}

/// Rejects a pending request with a reason the user will see.
#[utoipa::path(
    post,
    path = "/kyc/requests/{id}/reject",
    tag = "kyc",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Verification request id")),
    request_body = RejectBody,
    responses(
        (status = 200, body = VerificationBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Already decided", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn reject_request(
    State(state): State<AppState>,
    user: AuthUser<Guarded>,
    forward: Forward,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RejectBody>,
) -> Result<Json<VerificationBody>, Problem> {
    let request = state
        .clients
        .kyc
        .clone()
        .reject(
            forward
                .with_authorization(user.authorization)
                .request(pb::RejectRequest {
                    id,
                    reason: body.reason,
                }),
        )
        .await?
        .into_inner();
    Ok(Json(request.try_into()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_status_defaults_to_pending_and_refuses_others() {
        assert_eq!(
            parse_status(None).ok(),
            Some(pb::VerificationStatus::Pending)
        );
        assert_eq!(
            parse_status(Some("REJECTED")).ok(),
            Some(pb::VerificationStatus::Rejected)
        );
        assert!(parse_status(Some("pending")).is_err());
    }
}
