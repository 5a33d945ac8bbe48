//! Every error the gateway sends is an RFC 9457 `application/problem+json` body with a stable
//! `type` URI, made here: from a service's gRPC status ([`Problem::from_rpc`], the one table
//! from [`Reason`] to HTTP), from the gateway's own checks, and from responses that axum or
//! tower-http produce without a body of ours ([`finish`] turns those into problems too and
//! writes the request id into every problem).

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rentory_runtime::rpc_error::{self, Reason};
use serde::Serialize;
use tonic::Code;
use utoipa::ToSchema;

use crate::request_id::RequestId;

pub const CONTENT_TYPE: &str = "application/problem+json";
const TYPE_BASE: &str = "https://rentory.ng/problems/";
/// `Retry-After` of a 503 whose cause gave no delay of its own.
const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(1);

macro_rules! problem_types {
    ($($variant:ident => $status:literal, $slug:literal, $title:literal;)+) => {
        /// The closed list of problem types the gateway answers with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ProblemType {
            $($variant),+
        }

        impl ProblemType {
            pub const ALL: &'static [ProblemType] = &[$(ProblemType::$variant),+];

            /// The last segment of the `type` URI.
            pub fn slug(self) -> &'static str {
                match self { $(ProblemType::$variant => $slug),+ }
            }

            pub fn status(self) -> StatusCode {
                let code = match self { $(ProblemType::$variant => $status),+ };
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }

            pub fn title(self) -> &'static str {
                match self { $(ProblemType::$variant => $title),+ }
            }
        }
    };
}

problem_types! {
    // From the services' reasons (rentory_runtime::rpc_error::Reason), kebab-cased.
    ValidationFailed => 422, "validation-failed", "The request is not valid";
    Unauthenticated => 401, "unauthenticated", "Authentication is required";
    InvalidCredentials => 401, "invalid-credentials", "The credentials are not valid";
    AccountLocked => 423, "account-locked", "The account is temporarily locked";
    RateLimited => 429, "rate-limited", "Too many requests";
    Forbidden => 403, "forbidden", "Not allowed";
    AccountNotActive => 403, "account-not-active", "The account is not active";
    NotFound => 404, "not-found", "Not found";
    AlreadyExists => 409, "already-exists", "Already exists";
    InvalidState => 409, "invalid-state", "Not possible in the current state";
    UnsupportedMediaType => 415, "unsupported-media-type", "Unsupported media type";
    PayloadTooLarge => 413, "payload-too-large", "The request is too large";
    ImageTooLarge => 422, "image-too-large", "The image dimensions are not accepted";
    AiBudgetExhausted => 429, "ai-budget-exhausted", "Today's AI allowance is used up";
    ContentBlocked => 422, "content-blocked", "The AI model's safety filters refused this content";
    ReadOnlyField => 400, "read-only-field", "The request sets a field the caller may not set";
    PaymentRequired => 402, "payment-required", "Payment is required";
    NotCompliant => 422, "not-compliant", "The rules this needs to meet are not met";
    StaleContent => 409, "stale-content", "The content changed since it was read";
    Unavailable => 503, "unavailable", "Temporarily unavailable";
    Internal => 500, "internal", "Internal error";
    // The gateway's own.
    ServiceUnavailable => 503, "service-unavailable", "A service is unavailable";
    BadGateway => 502, "bad-gateway", "A service gave an answer the gateway cannot use";
    GatewayTimeout => 504, "gateway-timeout", "The request took too long";
    MalformedRequest => 400, "malformed-request", "The request is malformed";
    RouteNotFound => 404, "route-not-found", "No such route";
    MethodNotAllowed => 405, "method-not-allowed", "Method not allowed";
    LinkExpired => 403, "link-expired", "The link has expired";
    InvalidLink => 403, "invalid-link", "The link is not valid";
    NotReady => 503, "not-ready", "Not ready";
}

impl ProblemType {
    pub fn uri(self) -> String {
        format!("{TYPE_BASE}{}", self.slug())
    }

    fn from_reason(reason: Reason) -> Self {
        match reason {
            Reason::ValidationFailed => Self::ValidationFailed,
            Reason::Unauthenticated => Self::Unauthenticated,
            Reason::InvalidCredentials => Self::InvalidCredentials,
            Reason::AccountLocked => Self::AccountLocked,
            Reason::RateLimited => Self::RateLimited,
            Reason::Forbidden => Self::Forbidden,
            Reason::AccountNotActive => Self::AccountNotActive,
            Reason::NotFound => Self::NotFound,
            Reason::AlreadyExists => Self::AlreadyExists,
            Reason::InvalidState => Self::InvalidState,
            Reason::UnsupportedMediaType => Self::UnsupportedMediaType,
            Reason::PayloadTooLarge => Self::PayloadTooLarge,
            Reason::ImageTooLarge => Self::ImageTooLarge,
            Reason::AiBudgetExhausted => Self::AiBudgetExhausted,
            Reason::ContentBlocked => Self::ContentBlocked,
            Reason::ReadOnlyField => Self::ReadOnlyField,
            Reason::PaymentRequired => Self::PaymentRequired,
            Reason::NotCompliant => Self::NotCompliant,
            Reason::StaleContent => Self::StaleContent,
            Reason::Unavailable => Self::Unavailable,
            Reason::Internal => Self::Internal,
        }
    }

    /// For a status that carries no reason: from tonic itself (a service that is down or
    /// too slow) or from a service that forgot one.
    fn from_code(code: Code) -> Self {
        match code {
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                Self::ServiceUnavailable
            }
            Code::InvalidArgument | Code::OutOfRange => Self::ValidationFailed,
            Code::Unauthenticated => Self::Unauthenticated,
            Code::PermissionDenied => Self::Forbidden,
            Code::NotFound => Self::NotFound,
            Code::AlreadyExists => Self::AlreadyExists,
            Code::FailedPrecondition | Code::Aborted => Self::InvalidState,
            Code::ResourceExhausted => Self::RateLimited,
            Code::Unimplemented => Self::BadGateway,
            Code::Ok | Code::Unknown | Code::Internal | Code::DataLoss => Self::Internal,
        }
    }

    /// For an error response some layer made without a problem body.
    fn from_http_status(status: StatusCode) -> Option<Self> {
        Some(match status {
            StatusCode::BAD_REQUEST => Self::MalformedRequest,
            StatusCode::UNAUTHORIZED => Self::Unauthenticated,
            StatusCode::FORBIDDEN => Self::Forbidden,
            StatusCode::NOT_FOUND => Self::RouteNotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => Self::GatewayTimeout,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => Self::ValidationFailed,
            StatusCode::TOO_MANY_REQUESTS => Self::RateLimited,
            StatusCode::BAD_GATEWAY => Self::BadGateway,
            StatusCode::SERVICE_UNAVAILABLE => Self::ServiceUnavailable,
            s if s.is_server_error() => Self::Internal,
            _ => return None,
        })
    }
}

/// One bad input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// One rule the object fails (a lease's blocking compliance finding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Finding {
    /// Stable code, e.g. `ADVANCE_RENT_OVER_LIMIT`.
    pub code: String,
    /// The rule it comes from, e.g. `Lagos State Tenancy Law 2011, s.4`.
    pub rule: String,
    pub message: String,
}

/// An RFC 9457 problem document, as sent; `type` is `https://rentory.ng/problems/<slug>`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDocument {
    #[serde(rename = "type")]
    #[schema(example = "https://rentory.ng/problems/validation-failed")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request id also sent in the `x-request-id` response header.
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The rules not met, for `not-compliant`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Extension members of particular problems (readiness checks).
    #[serde(flatten)]
    #[schema(ignore)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

/// A problem on its way out: the document plus the headers that go with it. Small (the
/// document is boxed) because it is the error type of every handler.
#[derive(Debug, Clone)]
pub struct Problem {
    document: Box<ProblemDocument>,
    kind: Option<ProblemType>,
    retry_after: Option<u64>,
    bearer_challenge: bool,
}

impl std::ops::Deref for Problem {
    type Target = ProblemDocument;

    fn deref(&self) -> &ProblemDocument {
        &self.document
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut ProblemDocument {
        &mut self.document
    }
}

impl Problem {
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            document: Box::new(ProblemDocument {
                type_uri: kind.uri(),
                title: kind.title().to_owned(),
                status: kind.status().as_u16(),
                detail: detail.into(),
                request_id: None,
                errors: Vec::new(),
                findings: Vec::new(),
                extensions: serde_json::Map::new(),
            }),
            kind: Some(kind),
            retry_after: None,
            bearer_challenge: false,
        }
    }

    /// RFC 9457's `about:blank` for a status without a type of ours.
    fn plain(status: StatusCode) -> Self {
        let title = status.canonical_reason().unwrap_or("Error");
        Self {
            document: Box::new(ProblemDocument {
                type_uri: "about:blank".to_owned(),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: title.to_owned(),
                request_id: None,
                errors: Vec::new(),
                findings: Vec::new(),
                extensions: serde_json::Map::new(),
            }),
            kind: None,
            retry_after: None,
            bearer_challenge: false,
        }
    }

    /// The document, to embed in another body.
    pub fn into_document(self) -> ProblemDocument {
        *self.document
    }

    pub fn kind(&self) -> Option<ProblemType> {
        self.kind
    }

    pub fn with_field(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
        self
    }

    pub fn with_errors(mut self, errors: impl IntoIterator<Item = FieldError>) -> Self {
        self.errors.extend(errors);
        self
    }

    pub fn with_extension(mut self, name: &str, value: serde_json::Value) -> Self {
        self.extensions.insert(name.to_owned(), value);
        self
    }

    pub fn with_retry_after(mut self, after: Duration) -> Self {
        // Whole seconds, rounded up so a client never comes back too early.
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        self.retry_after = Some(secs.max(1));
        self
    }

    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    // --- the gateway's common problems ---------------------------------------------------

    /// The one answer to every authentication failure, whatever the cause.
    pub fn unauthenticated() -> Self {
        let mut p = Self::new(
            ProblemType::Unauthenticated,
            "a valid bearer access token is required",
        );
        p.bearer_challenge = true;
        p
    }

    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::MalformedRequest, detail)
    }

    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ProblemType::ValidationFailed, "some fields are not valid")
            .with_field(field, message)
    }

    pub fn internal() -> Self {
        Self::new(ProblemType::Internal, "an internal error occurred")
    }

    /// Over one of the gateway's rate limits; identity's own (login spraying) arrives through
    /// [`Problem::from_rpc`] with the same type.
    pub fn rate_limited(retry_after: Duration) -> Self {
        Self::new(
            ProblemType::RateLimited,
            "too many requests from this client; try again after the Retry-After delay",
        )
        .with_retry_after(retry_after)
    }

    pub fn service_unavailable() -> Self {
        Self::new(
            ProblemType::ServiceUnavailable,
            "a service the request needs is unavailable; try again shortly",
        )
    }

    /// A service answered with something the gateway cannot translate. `what` is logged.
    pub fn bad_gateway(what: &str) -> Self {
        tracing::error!(what, "a service answered with an unusable response");
        Self::new(
            ProblemType::BadGateway,
            "a service gave an answer the gateway cannot use",
        )
    }

    /// The single table from a service's gRPC status to a problem. Service messages are
    /// written for people and are passed on for client errors; for server errors, and for
    /// statuses without a reason (which may come from the transport), only a generic text
    /// goes out and the original is logged.
    pub fn from_rpc(status: &tonic::Status) -> Self {
        let decoded = rpc_error::decode(status);
        let kind = match decoded.reason {
            Some(reason) => ProblemType::from_reason(reason),
            None => ProblemType::from_code(status.code()),
        };
        let from_service = decoded.reason.is_some() && kind.status().is_client_error();
        if kind.status().is_server_error() {
            tracing::warn!(
                code = ?status.code(),
                reason = decoded.reason.map(Reason::as_str),
                error = %status.message(),
                "service call failed"
            );
        } else {
            tracing::debug!(code = ?status.code(), reason = decoded.reason.map(Reason::as_str), "service refused the request");
        }
        let detail = if from_service && !status.message().is_empty() {
            status.message().to_owned()
        } else {
            generic_detail(kind).to_owned()
        };
        let mut problem = Self::new(kind, detail).with_errors(
            decoded
                .field_violations
                .into_iter()
                .map(|(field, message)| FieldError { field, message }),
        );
        if from_service {
            problem.findings = decoded
                .precondition_violations
                .into_iter()
                .map(|v| Finding {
                    code: v.kind,
                    rule: v.subject,
                    message: v.description,
                })
                .collect();
        }
        // Facts a service attached for the caller (ErrorInfo metadata, e.g. the reference of
        // the transaction that already exists) become extension members; the standard
        // members cannot be overwritten this way.
        if from_service {
            for (name, value) in decoded.info {
                if !matches!(
                    name.as_str(),
                    "type"
                        | "title"
                        | "status"
                        | "detail"
                        | "instance"
                        | "errors"
                        | "findings"
                        | "request_id"
                ) {
                    problem = problem.with_extension(&name, serde_json::Value::String(value));
                }
            }
        }
        // A service that says when trying again can succeed (RetryInfo) is passed on as
        // Retry-After, whatever the reason: lockouts, rate limits, budgets, outages.
        // A 503 without one (a service that is down or restarting, as tonic reports it)
        // still tells the client to come back soon rather than leaving it to guess.
        match decoded.retry_after {
            Some(after) => problem = problem.with_retry_after(after),
            None if kind.status() == StatusCode::SERVICE_UNAVAILABLE => {
                problem = problem.with_retry_after(UNAVAILABLE_RETRY_AFTER);
            }
            None => {}
        }
        problem
    }

    fn render(&self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&*self.document).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.bearer_challenge {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

fn generic_detail(kind: ProblemType) -> &'static str {
    match kind {
        ProblemType::ServiceUnavailable | ProblemType::Unavailable => {
            "a service the request needs is unavailable; try again shortly"
        }
        ProblemType::Internal => "an internal error occurred",
        ProblemType::BadGateway => "a service gave an answer the gateway cannot use",
        other => other.title(),
    }
}

impl From<tonic::Status> for Problem {
    fn from(status: tonic::Status) -> Self {
        Self::from_rpc(&status)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = self.render();
        // [`finish`] re-renders it with the request id.
        response.extensions_mut().insert(self);
        response
    }
}

/// Middleware: writes the request id into problems made by handlers and extractors, and
/// turns error responses made elsewhere (no route, wrong method, body limits, timeouts,
/// panics, axum rejections) into problems, keeping their headers (`Allow`, ...).
pub async fn finish(request: Request, next: Next) -> Response {
    let request_id = request.extensions().get::<RequestId>().cloned();
    let response = next.run(request).await;
    complete(response, request_id.as_ref())
}

fn complete(mut response: Response, request_id: Option<&RequestId>) -> Response {
    let problem = match response.extensions_mut().remove::<Problem>() {
        Some(problem) => problem,
        None => {
            let status = response.status();
            if !(status.is_client_error() || status.is_server_error()) || is_problem(&response) {
                return response;
            }
            match ProblemType::from_http_status(status) {
                Some(kind) => Problem::new(kind, generic_detail(kind)),
                None => Problem::plain(status),
            }
        }
    };
    let mut problem = problem;
    problem.request_id = request_id.map(|id| id.as_str().to_owned());
    let (mut parts, _) = response.into_parts();
    let (rendered, body) = problem.render().into_parts();
    parts.status = rendered.status;
    for (name, value) in &rendered.headers {
        parts.headers.insert(name.clone(), value.clone());
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body)
}

fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(CONTENT_TYPE.as_bytes()))
}

/// The fallback for paths no route matches.
pub async fn route_not_found() -> Problem {
    Problem::new(ProblemType::RouteNotFound, "no route matches this path")
}

#[cfg(test)]
mod tests;
