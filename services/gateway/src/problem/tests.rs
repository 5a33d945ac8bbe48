use std::collections::HashSet;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use rentory_runtime::rpc_error::{self, Reason};
use tonic::{Code, Status};

use super::*;

/// The table of API.md: every reason a service can send, and what the client gets.
const TABLE: &[(Reason, u16, &str)] = &[
    (Reason::ValidationFailed, 422, "validation-failed"),
    (Reason::Unauthenticated, 401, "unauthenticated"),
    (Reason::InvalidCredentials, 401, "invalid-credentials"),
    (Reason::AccountLocked, 423, "account-locked"),
    (Reason::RateLimited, 429, "rate-limited"),
    (Reason::Forbidden, 403, "forbidden"),
    (Reason::AccountNotActive, 403, "account-not-active"),
    (Reason::NotFound, 404, "not-found"),
    (Reason::AlreadyExists, 409, "already-exists"),
    (Reason::InvalidState, 409, "invalid-state"),
    (Reason::UnsupportedMediaType, 415, "unsupported-media-type"),
    (Reason::PayloadTooLarge, 413, "payload-too-large"),
    (Reason::ImageTooLarge, 422, "image-too-large"),
    (Reason::AiBudgetExhausted, 429, "ai-budget-exhausted"),
    (Reason::ContentBlocked, 422, "content-blocked"),
    (Reason::ReadOnlyField, 400, "read-only-field"),
    (Reason::PaymentRequired, 402, "payment-required"),
    (Reason::NotCompliant, 422, "not-compliant"),
    (Reason::StaleContent, 409, "stale-content"),
    (Reason::Unavailable, 503, "unavailable"),
    (Reason::Internal, 500, "internal"),
];

async fn body_json(response: Response) -> serde_json::Value {
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    serde_json::from_slice(&bytes).expect("json")
}

#[test]
fn every_reason_has_a_row_and_maps_to_its_status_and_type() {
    assert_eq!(TABLE.len(), Reason::ALL.len());
    for reason in Reason::ALL {
        let (_, status, slug) = TABLE
            .iter()
            .find(|(r, _, _)| r == reason)
            .unwrap_or_else(|| panic!("{reason:?} missing from the table"));
        let problem = Problem::from_rpc(&rpc_error::status(*reason, "words for people"));
        assert_eq!(problem.status, *status, "{reason:?}");
        assert_eq!(
            problem.type_uri,
            format!("https://rentory.ng/problems/{slug}"),
            "{reason:?}"
        );
    }
}

#[tokio::test]
async fn failed_rules_become_findings() {
    let status = rpc_error::precondition_failures(
        Reason::NotCompliant,
        "the lease has blocking compliance findings",
        [rpc_error::PreconditionViolation {
            kind: "NOTICE_SHORTER_THAN_STATUTORY".into(),
            subject: "Lagos State Tenancy Law 2011, s.13".into(),
            description: "a yearly tenancy needs six months' notice".into(),
        }],
    );
    let body = body_json(Problem::from_rpc(&status).into_response()).await;
    assert_eq!(body["status"], 422);
    assert_eq!(
        body["findings"],
        serde_json::json!([{
            "code": "NOTICE_SHORTER_THAN_STATUTORY",
            "rule": "Lagos State Tenancy Law 2011, s.13",
            "message": "a yearly tenancy needs six months' notice",
        }])
    );
    // Other problems carry no findings member at all.
    let body =
        body_json(Problem::from_rpc(&rpc_error::status(Reason::NotFound, "x")).into_response())
            .await;
    assert!(body.get("findings").is_none());
}

#[test]
fn client_errors_keep_the_service_message_server_errors_do_not() {
    let p = Problem::from_rpc(&rpc_error::status(Reason::NotFound, "no such request"));
    assert_eq!(p.detail, "no such request");
    let p = Problem::from_rpc(&rpc_error::status(
        Reason::Internal,
        "pool timed out on db-primary:5432",
    ));
    assert!(!p.detail.contains("db-primary"), "{}", p.detail);
    // A status without a reason may come from the transport: never passed on.
    let p = Problem::from_rpc(&Status::invalid_argument("tcp details here"));
    assert_eq!(p.status, 422);
    assert!(!p.detail.contains("tcp"));
}

#[test]
fn statuses_without_a_reason_map_by_code_and_dead_services_are_503() {
    for (code, status, slug) in [
        (Code::Unavailable, 503, "service-unavailable"),
        (Code::DeadlineExceeded, 503, "service-unavailable"),
        (Code::Cancelled, 503, "service-unavailable"),
        (Code::Unauthenticated, 401, "unauthenticated"),
        (Code::PermissionDenied, 403, "forbidden"),
        (Code::NotFound, 404, "not-found"),
        (Code::AlreadyExists, 409, "already-exists"),
        (Code::FailedPrecondition, 409, "invalid-state"),
        (Code::ResourceExhausted, 429, "rate-limited"),
        (Code::Unimplemented, 502, "bad-gateway"),
        (Code::Internal, 500, "internal"),
        (Code::Unknown, 500, "internal"),
    ] {
        let p = Problem::from_rpc(&Status::new(code, "transport: connection refused"));
        assert_eq!(
            (p.status, p.type_uri.rsplit('/').next()),
            (status, Some(slug)),
            "{code:?}"
        );
        assert!(!p.detail.contains("connection refused"));
    }
}

#[test]
fn field_violations_become_errors() {
    let status = rpc_error::invalid_fields(
        "bad input",
        [
            ("pin", "is too common".to_owned()),
            ("email", "is not an email".to_owned()),
        ],
    );
    let p = Problem::from_rpc(&status);
    assert_eq!(p.status, 422);
    let errors: Vec<_> = p
        .errors
        .iter()
        .map(|e| (e.field.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        [("pin", "is too common"), ("email", "is not an email")]
    );
}

#[test]
fn every_refusal_with_retry_info_carries_retry_after() {
    for (reason, status) in [
        (Reason::AccountLocked, 423),
        (Reason::RateLimited, 429),
        (Reason::AiBudgetExhausted, 429),
        (Reason::Unavailable, 503),
    ] {
        let s = rpc_error::retry_after(reason, "wait", Duration::from_millis(90_500));
        let response = Problem::from_rpc(&s).into_response();
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(91u64))
        );
    }
    let response = Problem::from_rpc(&rpc_error::status(Reason::NotFound, "x")).into_response();
    assert!(response.headers().get(header::RETRY_AFTER).is_none());
}

#[tokio::test]
async fn problems_render_as_problem_json() {
    let response = Problem::invalid_field("pin", "is required").into_response();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        response.headers().get(header::CONTENT_TYPE),
        Some(&HeaderValue::from_static(CONTENT_TYPE))
    );
    let json = body_json(response).await;
    assert_eq!(
        json["type"],
        "https://rentory.ng/problems/validation-failed"
    );
    assert_eq!(json["status"], 422);
    assert!(json["title"].is_string() && json["detail"].is_string());
    assert_eq!(json["errors"][0]["field"], "pin");
}

#[tokio::test]
async fn unauthenticated_challenges_for_a_bearer_token() {
    let response = Problem::unauthenticated().into_response();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers().get(header::WWW_AUTHENTICATE),
        Some(&HeaderValue::from_static("Bearer"))
    );
}

#[tokio::test]
async fn finishing_adds_the_request_id_and_converts_bare_errors() {
    let id = crate::request_id::RequestId::reuse_or_new(Some(&HeaderValue::from_static("rid-1")));

    let ours = complete(Problem::internal().into_response(), Some(&id));
    assert_eq!(body_json(ours).await["request_id"], "rid-1");

    let mut bare = Response::new(Body::empty());
    *bare.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    bare.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET"));
    let converted = complete(bare, Some(&id));
    assert_eq!(converted.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        converted.headers().get(header::ALLOW),
        Some(&HeaderValue::from_static("GET"))
    );
    assert_eq!(
        converted.headers().get(header::CONTENT_TYPE),
        Some(&HeaderValue::from_static(CONTENT_TYPE))
    );
    let json = body_json(converted).await;
    assert_eq!(
        json["type"],
        "https://rentory.ng/problems/method-not-allowed"
    );
    assert_eq!(json["request_id"], "rid-1");

    let text = (StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded").into_response();
    let json = body_json(complete(text, Some(&id))).await;
    assert_eq!(
        json["type"],
        "https://rentory.ng/problems/payload-too-large"
    );

    let odd = (StatusCode::IM_A_TEAPOT, "").into_response();
    let json = body_json(complete(odd, None)).await;
    assert_eq!(json["type"], "about:blank");
    assert_eq!(json["status"], 418);

    let fine = (StatusCode::OK, "hello").into_response();
    let kept = complete(fine, Some(&id));
    assert_eq!(
        kept.into_body().collect().await.expect("body").to_bytes(),
        "hello"
    );
}

#[test]
fn problem_types_are_unique_kebab_case_and_consistent() {
    let mut slugs = HashSet::new();
    for kind in ProblemType::ALL {
        assert!(slugs.insert(kind.slug()), "duplicate {}", kind.slug());
        assert!(
            kind.slug()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-')
        );
        assert!(kind.status().is_client_error() || kind.status().is_server_error());
        assert_eq!(Problem::new(*kind, "d").status, kind.status().as_u16());
    }
}
