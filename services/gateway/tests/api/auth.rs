//! Bearer tokens at the edge: every failure is the same 401, revoked sessions are refused,
//! and an unreachable revocation list fails closed.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use deadpool_redis::redis::AsyncCommands;
use rentory_auth::revocation::revoked_session_key;
use time::OffsetDateTime;

use crate::support::*;

async fn assert_unauthenticated(app: &TestApp, request: Request<Body>, why: &str) {
    let response = app.send(request).await;
    assert_eq!(response.status(), 401, "{why}");
    assert_eq!(
        response.headers().get(header::WWW_AUTHENTICATE),
        Some(&HeaderValue::from_static("Bearer")),
        "{why}"
    );
    let body = problem(response, 401, "unauthenticated").await;
    assert_eq!(
        body["detail"], "a valid bearer access token is required",
        "{why}"
    );
}

#[tokio::test]
async fn every_kind_of_bad_token_gets_the_same_401() {
    let app = TestApp::new(|_| {}).await;
    let (good, _) = app.token();
    let (expired, _) = app.token_at(OffsetDateTime::now_utc() - Duration::from_secs(3600));
    let other = TestApp::new(|_| {}).await;
    let (wrong_key, _) = other.token();
    let alg_none = with_header(&good, serde_json::json!({"alg": "none", "typ": "JWT"}));
    let alg_none_unsigned = format!("{}.", alg_none.rsplit_once('.').expect("dots").0);
    let hs256 = with_header(&good, serde_json::json!({"alg": "HS256", "typ": "JWT"}));

    assert_unauthenticated(&app, get("/me"), "no header").await;
    for (value, why) in [
        ("Bearer".to_owned(), "no token"),
        ("Bearer garbage".to_owned(), "garbage"),
        (format!("Basic {good}"), "wrong scheme"),
        (format!("Bearer {expired}"), "expired"),
        (format!("Bearer {wrong_key}"), "signed by another key"),
        (format!("Bearer {alg_none}"), "alg none"),
        (
            format!("Bearer {alg_none_unsigned}"),
            "alg none, no signature",
        ),
        (format!("Bearer {hs256}"), "alg HS256"),
    ] {
        let request = Request::get("/me")
            .header(header::AUTHORIZATION, value)
            .body(Body::empty())
            .expect("request");
        assert_unauthenticated(&app, request, why).await;
    }
}

#[tokio::test]
async fn a_valid_token_passes_the_edge() {
    let app = TestApp::new(|_| {}).await;
    let (token, _) = app.token();
    // Identity is down here: getting that far means the token was accepted.
    problem(
        app.send(get_with_token("/me", &token)).await,
        503,
        "service-unavailable",
    )
    .await;
}

#[tokio::test]
async fn a_revoked_session_is_401() {
    let app = TestApp::new(|_| {}).await;
    let (token, session) = app.token();
    let mut redis = redis().await;
    let key = revoked_session_key(session);
    let _: () = redis
        .set_ex(&key, "1", 60)
        .await
        .expect("write the revocation");
    assert_unauthenticated(&app, get_with_token("/me", &token), "revoked").await;
    let _: () = redis.del(&key).await.expect("clean up");
}

#[tokio::test]
async fn an_unreachable_revocation_list_fails_closed_past_the_outage_grace() {
    let dead_redis = dead_url().await.replace("http://", "redis://");
    let app = TestApp::new(|c| {
        c.redis_url = dead_redis.into();
        c.redis_outage_grace = std::time::Duration::ZERO;
    })
    .await;
    let (token, _) = app.token();
    let response = app.send(get_with_token("/me", &token)).await;
    assert!(
        response.headers().contains_key(header::RETRY_AFTER),
        "a 503 says when to come back"
    );
    problem(response, 503, "service-unavailable").await;
}

#[tokio::test]
async fn every_user_route_needs_a_token() {
    let app = TestApp::new(|_| {}).await;
    for (method, path) in [
        ("POST", "/auth/logout"),
        ("GET", "/me"),
        ("PATCH", "/me/profile"),
        ("POST", "/admin/staff"),
        ("GET", "/me/verification"),
        ("POST", "/me/verification"),
        ("GET", "/kyc/requests"),
        ("GET", "/kyc/requests/abc"),
        ("POST", "/kyc/requests/abc/approve"),
        ("POST", "/kyc/requests/abc/reject"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .expect("request");
        assert_unauthenticated(&app, request, &format!("{method} {path}")).await;
    }
}
