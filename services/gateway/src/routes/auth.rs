//! Registration, login, token refresh and logout: identity does the work.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rentory_proto::identity::v1 as pb;
use rentory_proto::identity::v1::login_request::Secret;
use rentory_proto::kyc::v1 as kyc_pb;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::extract::ApiJson;
use crate::grpc::Forward;
use crate::model::{self, AuthBody, RegisterBody};
use crate::problem::{FieldError, Problem, ProblemDocument, ProblemType};
use crate::routes::{Created, created};
use crate::state::AppState;
use crate::upload::{FormSpec, Image, MultipartBody, read_form};

const REGISTER_FORM: FormSpec = FormSpec {
    required_texts: &["email", "password", "pin", "full_name", "role_requested"],
    optional_texts: &["phone", "bio"],
    files: &["id_image", "face_scan"],
    file_lists: &[],
    max_text_bytes: None,
};

/// The registration form (multipart/form-data).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RegisterForm {
    email: String,
    password: String,
    /// Exactly 6 digits; common PINs are refused.
    pin: String,
    full_name: String,
    phone: Option<String>,
    bio: Option<String>,
    /// TENANT, LANDLORD or GUIDE.
    role_requested: String,
    /// JPEG, PNG or WebP.
    #[schema(value_type = String, format = Binary)]
    id_image: Vec<u8>,
    /// JPEG, PNG or WebP.
    #[schema(value_type = String, format = Binary)]
    face_scan: Vec<u8>,
}

/// Creates a PENDING account with the requested role and submits its KYC request.
#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "auth",
    request_body(content = RegisterForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Account created (with `verification_error` if the KYC request could not be submitted)", body = RegisterBody),
        (status = 409, description = "Email taken", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "A file or the body is too large", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Not a JPEG, PNG or WebP image", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or image dimensions", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "Too many registrations from this client; see Retry-After", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    forward: Forward,
    body: MultipartBody,
) -> Result<Created<RegisterBody>, Problem> {
    let mut form = read_form(body, &REGISTER_FORM, &state.uploads).await?;
    let role = model::parse_role("role_requested", form.text("role_requested"))?;
    let (id_image, face_scan) = match (form.take_image("id_image"), form.take_image("face_scan")) {
        (Some(id), Some(face)) => (id, face),
        _ => return Err(Problem::internal()),
    };
    let registered = state
        .clients
        .identity
        .clone()
        .register(forward.request(pb::RegisterRequest {
            email: form.text("email").to_owned(),
            password: form.text("password").to_owned(),
            pin: form.text("pin").to_owned(),
            full_name: form.text("full_name").to_owned(),
            phone: form.text("phone").to_owned(),
            bio: form.text("bio").to_owned(),
            role_requested: role.into(),
        }))
        .await?
        .into_inner();
    let tokens = AuthBody::try_from(registered)?;

    // The account exists now; a failed submission is reported, not undone: the user can
    // resubmit with POST /me/verification.
    let submit = kyc_pb::SubmitRequest {
        role_requested: role.into(),
        id_image: Some(proto_image(id_image)),
        face_scan: Some(proto_image(face_scan)),
    };
    let submitted = state
        .clients
        .kyc
        .clone()
        .submit(
            forward
                .clone()
                .with_bearer(&tokens.access_token)
                .request(submit),
        )
        .await;
    let (verification_request_id, verification_error) = match submitted {
        Ok(request) => (Some(request.into_inner().id), None),
        Err(status) => {
            tracing::warn!(
                user_id = %tokens.user.id,
                code = ?status.code(),
                "registered, but the KYC submission failed; the user can resubmit"
            );
            let mut problem = Problem::from_rpc(&status);
            problem.request_id = Some(forward.request_id().as_str().to_owned());
            (None, Some(problem.into_document()))
        }
    };
    Ok(created(RegisterBody {
        user: tokens.user,
        verification_request_id,
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_in: tokens.expires_in,
        token_type: tokens.token_type,
        verification_error,
    }))
}

pub fn proto_image(image: Image) -> kyc_pb::Image {
    kyc_pb::Image {
        data: image.data.to_vec(),
        declared_content_type: image.declared_content_type,
    }
}

/// `{email, pin}` or `{email, password}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub pin: Option<String>,
    pub password: Option<String>,
}

/// Logs in with a PIN or a password (exactly one of them).
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, body = AuthBody),
        (status = 401, description = "Wrong email or secret", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "Neither or both of pin and password", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 423, description = "Locked after repeated failures; see Retry-After", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this client; see Retry-After", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    forward: Forward,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Json<AuthBody>, Problem> {
    let secret = match (body.pin, body.password) {
        (Some(pin), None) => Secret::Pin(pin),
        (None, Some(password)) => Secret::Password(password),
        (pin, _) => {
            let message = if pin.is_some() {
                "give either pin or password, not both"
            } else {
                "pin or password is required"
            };
            return Err(Problem::new(
                ProblemType::ValidationFailed,
                "give exactly one of pin and password",
            )
            .with_errors(["pin", "password"].map(|field| FieldError {
                field: field.to_owned(),
                message: message.to_owned(),
            })));
        }
    };
    let auth = state
        .clients
        .identity
        .clone()
        .login(forward.request(pb::LoginRequest {
            email: body.email,
            secret: Some(secret),
        }))
        .await?
        .into_inner();
    Ok(Json(auth.try_into()?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshBody {
    pub refresh_token: String,
}

/// Trades a refresh token for a new pair; a reused one revokes the whole session.
#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, body = AuthBody),
        (status = 401, description = "Unknown, expired or reused refresh token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this client; see Retry-After", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    forward: Forward,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<Json<AuthBody>, Problem> {
    let auth = state
        .clients
        .identity
        .clone()
        .refresh(forward.request(pb::RefreshRequest {
            refresh_token: body.refresh_token,
        }))
        .await?
        .into_inner();
    Ok(Json(auth.try_into()?))
}

/// Revokes the session: its refresh tokens and, at once, its access tokens.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
) -> Result<StatusCode, Problem> {
    state
        .clients
        .identity
        .clone()
        .logout(
            forward
                .with_authorization(user.authorization)
                .request(pb::LogoutRequest {}),
        )
        .await?;
    tracing::info!(user_id = %user.claims.sub, session_id = %user.claims.sid, "logged out");
    Ok(StatusCode::NO_CONTENT)
}
