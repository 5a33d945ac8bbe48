//! Per-client rate limits against the real Redis, each app under its own key prefix. Where
//! the services are down, a 503 (or a 415 from the edge) proves the request got past the
//! limiter; a 429 proves it did not.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Request, Response, header};
use deadpool_redis::redis::AsyncCommands;
use futures::stream;
use gateway::Limit;
use rentory_auth::revocation::revoked_session_key;
use rentory_media::fixtures;

use crate::backend::{registration, with_fakes};
use crate::support::*;

fn retry_after(response: &Response<Body>) -> u64 {
    response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in whole seconds")
}

/// Asserts a 429 `rate-limited` problem with `Retry-After` within `1..=window`.
async fn assert_limited(response: Response<Body>, window: u64) {
    let after = retry_after(&response);
    assert!((1..=window).contains(&after), "Retry-After {after}");
    let body = problem(response, 429, "rate-limited").await;
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

fn from(mut request: Request<Body>, client: &str) -> Request<Body> {
    request
        .headers_mut()
        .insert("x-forwarded-for", client.parse().expect("value"));
    request
}

fn login() -> Request<Body> {
    post_json("/auth/login", r#"{"email": "a@b.ng", "pin": "480913"}"#)
}

/// A body that never yields a byte: a gateway that tried to read it would hang.
fn never() -> Body {
    Body::from_stream(stream::pending::<Result<Bytes, std::io::Error>>())
}

fn verification_form() -> Body {
    Body::from(
        [
            text_part("role_requested", "TENANT"),
            file_part("id_image", "image/jpeg", fixtures::JPEG_16_BASELINE),
            file_part("face_scan", "image/png", fixtures::PNG_16),
            end(),
        ]
        .concat(),
    )
}

fn with_token(mut request: Request<Body>, token: &str) -> Request<Body> {
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("value"),
    );
    request
}

async fn keys_under(prefix: &str) -> Vec<String> {
    redis()
        .await
        .keys(format!("{prefix}:*"))
        .await
        .expect("KEYS")
}

#[tokio::test]
async fn the_eleventh_registration_from_one_ip_is_429_and_identity_never_sees_it() {
    // The production default: 10 per 600 s.
    let (app, calls) = with_fakes(false, |_| {}).await;
    for n in 1..=10 {
        let response = app.send(registration()).await;
        assert_eq!(response.status(), 201, "registration {n}");
    }
    let response = app.send(registration()).await;
    let after = retry_after(&response);
    assert!((590..=600).contains(&after), "Retry-After {after}");
    assert_limited(response, 600).await;
    assert_eq!(calls.count("register"), 10);
    assert_eq!(calls.count("submit"), 10);
}

#[tokio::test]
async fn a_refused_registration_is_answered_without_reading_its_body() {
    let app = TestApp::new(|c| c.rate_limits.register = Some(Limit::new(1, 600))).await;
    problem(
        app.send(post_json("/auth/register", "{}")).await,
        415,
        "unsupported-media-type",
    )
    .await;
    let flood = tokio::time::timeout(
        Duration::from_secs(5),
        app.send(multipart_request("/auth/register", never())),
    )
    .await
    .expect("refused without waiting for the body");
    assert_limited(flood, 600).await;
}

#[tokio::test]
async fn each_client_ip_has_its_own_budget_shared_by_login_and_refresh() {
    let app = TestApp::new(|c| {
        c.trusted_proxy_hops = 1;
        c.rate_limits.auth = Some(Limit::new(2, 60));
    })
    .await;
    const A: &str = "198.51.100.1";
    const B: &str = "198.51.100.2";
    // Identity is down: 503 means the limiter let the request through.
    problem(app.send(from(login(), A)).await, 503, "service-unavailable").await;
    let refresh = post_json("/auth/refresh", r#"{"refresh_token": "x"}"#);
    problem(app.send(from(refresh, A)).await, 503, "service-unavailable").await;
    assert_limited(app.send(from(login(), A)).await, 60).await;
    // A spoofed entry left of our proxy's does not buy A a fresh budget.
    assert_limited(app.send(from(login(), &format!("{B}, {A}"))).await, 60).await;

    problem(app.send(from(login(), B)).await, 503, "service-unavailable").await;
    // Registration is another policy: A may still try.
    let register = post_json("/auth/register", "{}");
    problem(
        app.send(from(register, A)).await,
        415,
        "unsupported-media-type",
    )
    .await;
}

#[tokio::test]
async fn ipv6_clients_share_a_budget_per_64() {
    let app = TestApp::new(|c| {
        c.trusted_proxy_hops = 1;
        c.rate_limits.auth = Some(Limit::new(2, 60));
    })
    .await;
    for client in ["2001:db8:1:2::1", "[2001:db8:1:2::2]:443"] {
        problem(
            app.send(from(login(), client)).await,
            503,
            "service-unavailable",
        )
        .await;
    }
    assert_limited(app.send(from(login(), "2001:db8:1:2:ffff::9")).await, 60).await;
    problem(
        app.send(from(login(), "2001:db8:1:3::1")).await,
        503,
        "service-unavailable",
    )
    .await;
}

#[tokio::test]
async fn a_disabled_policy_never_limits_and_keeps_no_count() {
    let prefix = unique_prefix();
    let app = TestApp::new(|c| {
        c.rate_limits.prefix = prefix.clone();
        c.rate_limits.register = None;
        c.rate_limits.api = None;
    })
    .await;
    let (token, _) = app.token();
    for _ in 0..15 {
        problem(
            app.send(post_json("/auth/register", "{}")).await,
            415,
            "unsupported-media-type",
        )
        .await;
        problem(
            app.send(get_with_token("/me", &token)).await,
            503,
            "service-unavailable",
        )
        .await;
    }
    assert_eq!(keys_under(&prefix).await, Vec::<String>::new());

    // An enabled policy of the same app does count, under the prefix.
    problem(app.send(login()).await, 503, "service-unavailable").await;
    assert_eq!(
        keys_under(&prefix).await,
        [format!("{prefix}:auth:60:203.0.113.7")]
    );
}

#[tokio::test]
async fn the_api_limit_counts_per_user_not_per_ip() {
    let app = TestApp::new(|c| {
        c.trusted_proxy_hops = 1;
        c.rate_limits.api = Some(Limit::new(3, 60));
    })
    .await;
    let (alice, alice_session) = app.token();
    let (bob, _) = app.token();
    for client in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        let me = from(get_with_token("/me", &alice), client);
        problem(app.send(me).await, 503, "service-unavailable").await;
    }
    // A fourth request, from yet another address: still Alice, still over.
    let me = from(get_with_token("/me", &alice), "198.51.100.4");
    assert_limited(app.send(me).await, 60).await;
    // Bob, from Alice's address, has his own budget; so has the login route.
    let me = from(get_with_token("/me", &bob), "198.51.100.1");
    problem(app.send(me).await, 503, "service-unavailable").await;
    problem(
        app.send(from(login(), "198.51.100.1")).await,
        503,
        "service-unavailable",
    )
    .await;

    // A revoked session is 401 whatever its count.
    let mut redis = redis().await;
    let key = revoked_session_key(alice_session);
    let _: () = redis.set_ex(&key, "1", 60).await.expect("revoke");
    let response = app.send(get_with_token("/me", &alice)).await;
    problem(response, 401, "unauthenticated").await;
    let _: () = redis.del(&key).await.expect("clean up");
}

#[tokio::test]
async fn uploads_have_their_own_budget_charged_before_the_form_is_read() {
    let app = TestApp::new(|c| c.rate_limits.uploads = Some(Limit::new(1, 3600))).await;
    let (token, _) = app.token();
    // KYC is down: the form passed the edge and the call was attempted.
    let submit = with_token(
        multipart_request("/me/verification", verification_form()),
        &token,
    );
    problem(app.send(submit).await, 503, "service-unavailable").await;

    let flood = with_token(multipart_request("/me/verification", never()), &token);
    let flood = tokio::time::timeout(Duration::from_secs(5), app.send(flood))
        .await
        .expect("refused without waiting for the body");
    assert_limited(flood, 3600).await;

    // Reading one's own request is `api`, not `uploads`.
    problem(
        app.send(get_with_token("/me/verification", &token)).await,
        503,
        "service-unavailable",
    )
    .await;
}

#[tokio::test]
async fn with_redis_down_sign_in_and_user_routes_go_on_and_guarded_routes_refuse() {
    let dead_redis = dead_url().await.replace("http://", "redis://");
    let (app, calls) = with_fakes(false, |c| c.redis_url = dead_redis.into()).await;

    let response = app.send(registration()).await;
    assert_eq!(
        response.status(),
        201,
        "registration goes on, counted in memory"
    );
    assert_eq!(calls.count("register"), 1);
    // The fake identity answers every login with a lock: it was reached.
    problem(app.send(login()).await, 423, "account-locked").await;
    assert_eq!(calls.count("login"), 1);

    // Within the outage's grace the revocation check is skipped on ordinary routes...
    let (token, _) = app.token();
    app.send(get_with_token("/me", &token)).await;
    assert_eq!(calls.count("get_me"), 1, "/me reached identity");

    // ...but not where money moves or staff decide: 503 before any service is called.
    let mut request = post_json("/kyc/requests/vr-1/reject", r#"{"reason": "blurry"}"#);
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("value"),
    );
    let response = app.send(request).await;
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    problem(response, 503, "service-unavailable").await;
    let mut request = post_json("/payments/contact-unlock", r#"{"property_id": "p-1"}"#);
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("value"),
    );
    problem(app.send(request).await, 503, "service-unavailable").await;
    assert_eq!(calls.count("InitContactUnlock"), 0);
}

#[tokio::test]
async fn with_redis_down_the_limits_are_counted_in_memory() {
    let dead_redis = dead_url().await.replace("http://", "redis://");
    let (app, calls) = with_fakes(false, |c| {
        c.redis_url = dead_redis.into();
        c.rate_limits.auth = Some(Limit::new(2, 60));
        c.rate_limits.api = Some(Limit::new(2, 60));
    })
    .await;
    for _ in 0..2 {
        problem(app.send(login()).await, 423, "account-locked").await;
    }
    assert_limited(app.send(login()).await, 60).await;
    assert_eq!(
        calls.count("login"),
        2,
        "the third login never reached identity"
    );

    let (token, _) = app.token();
    for _ in 0..2 {
        app.send(get_with_token("/me", &token)).await;
    }
    assert_limited(app.send(get_with_token("/me", &token)).await, 60).await;
    assert_eq!(calls.count("get_me"), 2);
}
