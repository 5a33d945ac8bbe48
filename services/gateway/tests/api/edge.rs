//! What every request gets: request ids, problems for unknown routes and methods, the
//! operational routes and the OpenAPI document.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::support::*;

#[tokio::test]
async fn healthz_is_200_and_every_response_has_a_fresh_uuid_v7_request_id() {
    let app = TestApp::new(|_| {}).await;
    let response = app.send(get("/healthz")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let id = response
        .headers()
        .get("x-request-id")
        .expect("echoed")
        .to_str()
        .expect("ascii");
    assert_eq!(
        uuid::Uuid::parse_str(id).expect("uuid").get_version_num(),
        7
    );
    assert_eq!(json(response).await["status"], "ok");
}

#[tokio::test]
async fn acceptable_incoming_request_ids_are_reused_and_others_replaced() {
    let app = TestApp::new(|_| {}).await;
    let with_id = |id: &str| {
        Request::get("/no/such/route")
            .header("x-request-id", id)
            .body(Body::empty())
            .expect("request")
    };
    let response = app.send(with_id("client-chosen-id_42")).await;
    assert_eq!(
        response.headers().get("x-request-id").expect("echoed"),
        "client-chosen-id_42"
    );
    let body = problem(response, 404, "route-not-found").await;
    assert_eq!(body["request_id"], "client-chosen-id_42");

    let too_long = "x".repeat(129);
    let response = app.send(with_id(&too_long)).await;
    let echoed = response
        .headers()
        .get("x-request-id")
        .expect("echoed")
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_ne!(echoed, too_long);
    assert!(uuid::Uuid::parse_str(&echoed).is_ok());
    problem(response, 404, "route-not-found").await;
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem_with_allow() {
    let app = TestApp::new(|_| {}).await;
    let response = app
        .send(
            Request::delete("/auth/login")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert!(response.headers().get(header::ALLOW).is_some());
    problem(response, 405, "method-not-allowed").await;
}

#[tokio::test]
async fn readyz_is_503_naming_the_services_that_are_down() {
    let app = TestApp::new(|_| {}).await;
    let response = app.send(get("/readyz")).await;
    let body = problem(response, 503, "not-ready").await;
    assert_eq!(body["checks"]["identity"], "down");
    assert_eq!(body["checks"]["kyc"], "down");
    assert_eq!(body["checks"]["listings"], "down");
    assert_eq!(body["checks"]["payments"], "down");
    assert_eq!(body["checks"]["chat"], "down");
    assert_eq!(body["checks"]["lease"], "down");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("lease")));
    assert_eq!(
        body["checks"]["redis"], "up",
        "Redis must run at 127.0.0.1:6379"
    );
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("identity"))
    );
}

#[tokio::test]
async fn readyz_names_redis_when_it_is_down() {
    let dead_redis = dead_url().await.replace("http://", "redis://");
    let app = TestApp::new(|c| c.redis_url = dead_redis.into()).await;
    let body = problem(app.send(get("/readyz")).await, 503, "not-ready").await;
    assert_eq!(body["checks"]["redis"], "down");
}

/// Every route of the gateway, as (method, OpenAPI path).
const ROUTES: &[(&str, &str)] = &[
    ("post", "/auth/register"),
    ("post", "/auth/login"),
    ("post", "/auth/refresh"),
    ("post", "/auth/logout"),
    ("get", "/me"),
    ("patch", "/me/profile"),
    ("post", "/admin/staff"),
    ("get", "/me/verification"),
    ("post", "/me/verification"),
    ("get", "/kyc/requests"),
    ("get", "/kyc/requests/{id}"),
    ("post", "/kyc/requests/{id}/approve"),
    ("post", "/kyc/requests/{id}/reject"),
    ("post", "/concierge/messages"),
    ("get", "/concierge/persona"),
    ("post", "/properties/analyze"),
    ("post", "/properties"),
    ("get", "/properties/discover"),
    ("get", "/properties/{id}"),
    ("patch", "/properties/{id}"),
    ("delete", "/properties/{id}"),
    ("get", "/properties/{id}/contact"),
    ("post", "/properties/{id}/ratings"),
    ("post", "/searches"),
    ("get", "/searches"),
    ("delete", "/searches/{id}"),
    // payments
    ("post", "/payments/contact-unlock"),
    ("post", "/payments/rent"),
    ("get", "/payments/transactions"),
    ("post", "/payments/transactions/{reference}/verify"),
    ("post", "/payments/transactions/{reference}/refund"),
    ("put", "/payments/payout-account"),
    ("get", "/payments/payout-account"),
    ("get", "/payments/callback"),
    ("post", "/webhooks/paystack"),
    ("post", "/chat/sessions"),
    ("get", "/chat/sessions"),
    ("get", "/chat/sessions/{id}"),
    ("get", "/chat/sessions/{id}/messages"),
    ("post", "/chat/sessions/{id}/messages"),
    ("post", "/chat/sessions/{id}/read"),
    ("post", "/chat/sessions/{id}/guide"),
    // leases
    ("post", "/leases"),
    ("get", "/leases"),
    ("get", "/leases/verify"),
    ("get", "/leases/{id}"),
    ("patch", "/leases/{id}"),
    ("get", "/leases/{id}/versions"),
    ("patch", "/leases/{id}/sign"),
    ("post", "/leases/{id}/withdraw"),
    ("post", "/leases/{id}/authorize"),
    ("get", "/leases/{id}/audit"),
    ("get", "/leases/{id}/document"),
    ("get", "/leases/{id}/rent"),
    ("get", "/files/{bucket}/{key}"),
    ("get", "/photos/{key}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
];

#[tokio::test]
async fn openapi_lists_every_route_with_bearer_security_and_the_problem_schema() {
    let app = TestApp::new(|_| {}).await;
    let response = app.send(get("/openapi.json")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc = json(response).await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for (method, path) in ROUTES {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing from /openapi.json");
        assert!(
            op["responses"].is_object(),
            "{method} {path} has no responses"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let problem = &doc["components"]["schemas"]["Problem"]["properties"];
    for field in ["type", "title", "status", "detail", "request_id", "errors"] {
        assert!(problem[field].is_object(), "Problem schema lacks {field}");
    }
    assert_eq!(
        doc["paths"]["/me"]["get"]["security"][0]["bearer"],
        serde_json::json!([])
    );
    // Photos are one repeated file part, documented as an array of binary strings.
    let photos = &doc["components"]["schemas"]["AnalyzeForm"]["properties"]["photos"];
    assert_eq!(photos["type"], "array");
    assert_eq!(photos["items"]["format"], "binary");
    // Public photos, Paystack's webhook and its return page need no token.
    assert!(doc["paths"]["/photos/{key}"]["get"]["security"].is_null());
    assert!(doc["paths"]["/webhooks/paystack"]["post"]["security"].is_null());
    assert!(doc["paths"]["/payments/callback"]["get"]["security"].is_null());
    // A document's hash is checked without a token; every other lease route needs one.
    assert!(doc["paths"]["/leases/verify"]["get"]["security"].is_null());
    assert_eq!(
        doc["paths"]["/leases/{id}/audit"]["get"]["security"][0]["bearer"],
        serde_json::json!([])
    );
    assert!(
        doc["paths"]["/leases/{id}/audit"]["get"]["responses"]["200"]["headers"]["Audit-Chain"]
            .is_object(),
        "the Audit-Chain header is documented"
    );
    assert!(
        doc["paths"]["/leases/{id}/document"]["get"]["responses"]["200"]["content"]
            ["text/markdown"]
            .is_object()
    );
    // Every schema a route names is in the document, nested ones (the persona's) too.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.iter().any(|r| r.ends_with("/Persona")), "{refs:?}");
    for reference in refs {
        let name = reference.trim_start_matches("#/components/schemas/");
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{reference} does not resolve"
        );
    }
}

fn collect_refs(value: &serde_json::Value, refs: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item.as_str()) {
                    ("$ref", Some(reference)) => refs.push(reference.to_owned()),
                    _ => collect_refs(item, refs),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

#[tokio::test]
async fn docs_is_an_html_page_rendering_the_document() {
    let app = TestApp::new(|_| {}).await;
    let response = app.send(get("/docs")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .expect("type")
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    let html = String::from_utf8_lossy(&bytes);
    assert!(html.contains("Rentory API"), "the page embeds the document");
}

#[tokio::test]
async fn a_real_listener_serves_and_drains_on_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let keys = rentory_auth::SigningKeyPair::generate().expect("keys");
    let mut config = gateway::Config::new(keys.public_pem.clone());
    config.identity_url = dead_url().await;
    config.kyc_url = dead_url().await;
    config.ai_url = dead_url().await;
    config.listings_url = dead_url().await;
    config.payments_url = dead_url().await;
    config.chat_url = dead_url().await;
    config.lease_url = dead_url().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = gateway::CancellationToken::new();
    let server = tokio::spawn(gateway::serve(config, listener, shutdown.clone()));

    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("x-request-id:"));

    shutdown.cancel();
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("stopped in time")
        .expect("task");
    assert!(stopped.is_ok(), "{stopped:?}");
}

#[tokio::test]
async fn a_service_that_is_down_is_a_503_problem_not_a_crash() {
    let app = TestApp::new(|_| {}).await;
    let response = app
        .send(post_json(
            "/auth/login",
            r#"{"email": "a@b.ng", "pin": "480913"}"#,
        ))
        .await;
    let body = problem(response, 503, "service-unavailable").await;
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        !detail.contains("127.0.0.1") && !detail.to_lowercase().contains("tcp"),
        "{detail}"
    );
}

#[tokio::test]
async fn json_bodies_are_checked_before_any_call() {
    let app = TestApp::new(|_| {}).await;
    problem(
        app.send(post_json("/auth/login", "{not json")).await,
        400,
        "malformed-request",
    )
    .await;

    let body = problem(
        app.send(post_json("/auth/login", r#"{"pin": "480913"}"#))
            .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "email");

    let body = problem(
        app.send(post_json("/auth/login", r#"{"email": 7, "pin": "1"}"#))
            .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "email");

    let both = r#"{"email": "a@b.ng", "pin": "480913", "password": "x"}"#;
    let body = problem(
        app.send(post_json("/auth/login", both)).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(2));
    problem(
        app.send(post_json("/auth/login", r#"{"email": "a@b.ng"}"#))
            .await,
        422,
        "validation-failed",
    )
    .await;

    let text = Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .expect("request");
    problem(app.send(text).await, 415, "unsupported-media-type").await;
}

#[tokio::test]
async fn cors_is_off_by_default_and_follows_the_configured_origins() {
    let preflight = || {
        Request::options("/auth/login")
            .header(header::ORIGIN, "https://app.rentory.ng")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(Body::empty())
            .expect("request")
    };
    let app = TestApp::new(|_| {}).await;
    let response = app.send(preflight()).await;
    assert!(
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );

    let app = TestApp::new(|c| {
        c.cors_origins = vec![header::HeaderValue::from_static("https://app.rentory.ng")]
    })
    .await;
    let response = app.send(preflight()).await;
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(&header::HeaderValue::from_static("https://app.rentory.ng"))
    );
    let other = Request::get("/healthz")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::empty())
        .expect("request");
    let response = app.send(other).await;
    assert!(
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
}
