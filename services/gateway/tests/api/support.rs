//! Building the gateway for tests, minting tokens, writing multipart bodies.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use deadpool_redis::redis;
use gateway::{AppState, Config};
use http_body_util::BodyExt;
use rentory_auth::{Role, SigningKeyPair, TokenIssuer, TokenSettings, UserStatus};
use time::OffsetDateTime;
use tower::ServiceExt;
use uuid::Uuid;

pub const PEER: [u8; 4] = [203, 0, 113, 7];
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";

pub struct TestApp {
    pub router: Router,
    pub issuer: TokenIssuer,
}

/// A rate-limit key prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("rentory:rl:test:{}", Uuid::now_v7().simple())
}

/// A URL where nothing listens: a port the OS just gave out and took back.
pub async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

impl TestApp {
    /// The gateway with every service down, real Redis, and `adjust` applied to its config.
    pub async fn new(adjust: impl FnOnce(&mut Config)) -> Self {
        let keys = SigningKeyPair::generate().expect("keys");
        let issuer = TokenIssuer::new(&keys.private_pem, TokenSettings::default()).expect("issuer");
        let mut config = Config::new(keys.public_pem.clone());
        config.redis_url = REDIS_URL.to_owned().into();
        config.identity_url = dead_url().await;
        config.kyc_url = dead_url().await;
        config.ai_url = dead_url().await;
        config.listings_url = dead_url().await;
        config.payments_url = dead_url().await;
        config.chat_url = dead_url().await;
        config.lease_url = dead_url().await;
        // Every test shares one Redis and one client IP: each app counts under its own keys.
        config.rate_limits.prefix = unique_prefix();
        adjust(&mut config);
        let state = AppState::from_config(&config).await.expect("state");
        let router = gateway::router(state).layer(MockConnectInfo(SocketAddr::from((PEER, 5555))));
        Self { router, issuer }
    }

    pub async fn send(&self, request: Request<Body>) -> Response<Body> {
        tokio::time::timeout(
            Duration::from_secs(20),
            self.router.clone().oneshot(request),
        )
        .await
        .expect("the gateway answered in time")
        .expect("infallible")
    }

    pub fn token(&self) -> (String, Uuid) {
        self.token_at(OffsetDateTime::now_utc())
    }

    pub fn token_at(&self, now: OffsetDateTime) -> (String, Uuid) {
        mint(
            &self.issuer,
            Uuid::now_v7(),
            Role::Tenant,
            UserStatus::Pending,
            now,
        )
    }
}

/// An access token of `user` with `role` and `status`, issued at `now`, and its login
/// session.
pub fn mint(
    issuer: &TokenIssuer,
    user: Uuid,
    role: Role,
    status: UserStatus,
    now: OffsetDateTime,
) -> (String, Uuid) {
    let session = Uuid::now_v7();
    let issued = issuer
        .issue(user, role, status, None, session, now)
        .expect("issue");
    (issued.token, session)
}

pub fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).expect("request")
}

pub fn get_with_token(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request")
}

pub fn post_json(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request")
}

pub async fn json(response: Response<Body>) -> serde_json::Value {
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

/// Asserts a problem+json answer of `status` and `slug`, with the request id of the
/// response header in the body; returns the body.
pub async fn problem(response: Response<Body>, status: u16, slug: &str) -> serde_json::Value {
    assert_eq!(
        response.status(),
        StatusCode::from_u16(status).expect("status")
    );
    assert_eq!(
        response.headers().get(header::CONTENT_TYPE),
        Some(&HeaderValue::from_static("application/problem+json"))
    );
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("x-request-id header");
    let body = json(response).await;
    assert_eq!(
        body["type"],
        format!("https://rentory.ng/problems/{slug}"),
        "{body}"
    );
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    assert_eq!(body["request_id"], request_id, "{body}");
    body
}

/// Re-encodes a token's header, keeping body and signature.
pub fn with_header(token: &str, header: serde_json::Value) -> String {
    let mut parts = token.splitn(2, '.');
    let _ = parts.next();
    let rest = parts.next().expect("body and signature");
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

pub async fn redis() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(REDIS_URL).expect("redis url");
    client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis must run at 127.0.0.1:6379 for these tests (make bootstrap)")
}

pub const BOUNDARY: &str = "rentory-test-boundary";

pub fn multipart_content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

pub fn text_part(name: &str, value: &str) -> Vec<u8> {
    format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
        .into_bytes()
}

/// A file part's head; its bytes and `\r\n` follow.
pub fn file_head(name: &str, content_type: &str) -> Vec<u8> {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.bin\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes()
}

pub fn file_part(name: &str, content_type: &str, data: &[u8]) -> Vec<u8> {
    let mut part = file_head(name, content_type);
    part.extend_from_slice(data);
    part.extend_from_slice(b"\r\n");
    part
}

pub fn end() -> Vec<u8> {
    format!("--{BOUNDARY}--\r\n").into_bytes()
}

/// The text parts of a valid registration.
pub fn register_texts() -> Vec<u8> {
    [
        text_part("email", "ada@example.ng"),
        text_part("password", "correct horse battery staple"),
        text_part("pin", "480913"),
        text_part("full_name", "Ada Obi"),
        text_part("phone", "+2348012345678"),
        text_part("bio", "hello"),
        text_part("role_requested", "LANDLORD"),
    ]
    .concat()
}

pub fn multipart_request(path: &str, body: Body) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, multipart_content_type())
        .body(body)
        .expect("request")
}
