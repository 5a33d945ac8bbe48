//! Peer channels over real sockets: a gRPC health server that records the headers it is
//! sent, and a fake metadata server (wiremock) standing in for Google's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rentory_runtime::grpc::{self, PeerAuth, PeerChannel};
use rentory_runtime::peer_auth::{GoogleIdTokens, SERVERLESS_AUTHORIZATION};
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const IDENTITY_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/identity";
const USER_JWT: &str = "Bearer the-users-rentory-jwt";

/// A health server whose every request's headers are kept, in arrival order.
struct Peer {
    url: String,
    seen: Arc<Mutex<Vec<http::HeaderMap>>>,
    shutdown: CancellationToken,
}

impl Peer {
    async fn start() -> Self {
        let listener = grpc::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<http::HeaderMap>>> = Arc::default();
        let record = seen.clone();
        let (_reporter, health) = tonic_health::server::health_reporter();
        let router = grpc::server()
            .layer(tower::ServiceBuilder::new().map_request(
                move |request: http::Request<tonic::body::Body>| {
                    record.lock().unwrap().push(request.headers().clone());
                    request
                },
            ))
            .add_service(health);
        let shutdown = CancellationToken::new();
        tokio::spawn(grpc::serve(router, listener, shutdown.clone()));
        Self {
            url,
            seen,
            shutdown,
        }
    }

    fn headers(&self) -> Vec<http::HeaderMap> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An unsigned JWT shaped like the metadata server's, expiring at `exp`.
fn id_token(audience: &str, exp: u64) -> String {
    let claims = serde_json::json!({
        "aud": audience,
        "exp": exp,
        "iss": "https://accounts.google.com",
        "email": "gateway@rentory-prod.iam.gserviceaccount.com",
    });
    format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn google(metadata: &MockServer) -> PeerAuth {
    PeerAuth::Google(GoogleIdTokens::new(&metadata.address().to_string()).unwrap())
}

/// A metadata server handing out `token` for `audience`, as Cloud Run's does.
async fn metadata_serving(audience: &str, token: &str, delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(IDENTITY_PATH))
        .and(query_param("audience", audience))
        .and(query_param("format", "full"))
        .and(header("Metadata-Flavor", "Google"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(token)
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    server
}

async fn check(client: &mut HealthClient<PeerChannel>) -> Result<(), tonic::Status> {
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: String::new(),
    });
    request
        .metadata_mut()
        .insert("authorization", USER_JWT.parse().unwrap());
    client.check(request).await.map(|_| ())
}

/// `calls` checks started together, each on its own clone of `client`.
async fn check_at_once(
    client: &HealthClient<PeerChannel>,
    calls: usize,
) -> Vec<Result<(), tonic::Status>> {
    let tasks: Vec<_> = (0..calls)
        .map(|_| {
            let mut client = client.clone();
            tokio::spawn(async move { check(&mut client).await })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(calls);
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

async fn metadata_fetches(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

/// A peer, and a metadata server answering for it with a token expiring in `lifetime`
/// after `delay`.
struct Google {
    peer: Peer,
    metadata: MockServer,
    auth: PeerAuth,
    token: String,
}

impl Google {
    async fn start(lifetime: Duration, delay: Duration) -> Self {
        let peer = Peer::start().await;
        let token = id_token(&peer.url, unix_now() + lifetime.as_secs());
        let metadata = metadata_serving(&peer.url, &token, delay).await;
        let auth = google(&metadata);
        Self {
            peer,
            metadata,
            auth,
            token,
        }
    }

    fn client(&self) -> HealthClient<PeerChannel> {
        HealthClient::new(grpc::channel(&self.peer.url, &self.auth).unwrap())
    }

    async fn fetches(&self) -> usize {
        metadata_fetches(&self.metadata).await
    }
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn google_mode_adds_the_id_token_beside_the_users_authorization() {
    let google = Google::start(HOUR, Duration::ZERO).await;

    check(&mut google.client()).await.unwrap();

    let headers = google.peer.headers();
    assert_eq!(headers.len(), 1);
    assert_eq!(
        headers[0].get(SERVERLESS_AUTHORIZATION).unwrap(),
        format!("Bearer {}", google.token).as_str()
    );
    assert_eq!(headers[0].get("authorization").unwrap(), USER_JWT);
    assert_eq!(google.fetches().await, 1);
}

#[tokio::test]
async fn twenty_calls_make_one_metadata_fetch() {
    let google = Google::start(HOUR, Duration::ZERO).await;
    let mut client = google.client();
    // A second channel to the same peer (the gateway keeps one per client) shares the cache.
    let mut other = google.client();

    for _ in 0..19 {
        check(&mut client).await.unwrap();
    }
    check(&mut other).await.unwrap();

    assert_eq!(google.fetches().await, 1);
    let headers = google.peer.headers();
    assert_eq!(headers.len(), 20);
    assert!(
        headers
            .iter()
            .all(|h| h.get(SERVERLESS_AUTHORIZATION).is_some())
    );
}

#[tokio::test]
async fn concurrent_first_calls_wait_for_one_fetch() {
    // Slow enough that every call below arrives while the first fetch is in flight.
    let google = Google::start(HOUR, Duration::from_millis(300)).await;
    let client = google.client();

    for outcome in check_at_once(&client, 20).await {
        outcome.unwrap();
    }

    assert_eq!(google.fetches().await, 1);
    assert_eq!(google.peer.headers().len(), 20);
}

#[tokio::test]
async fn a_token_near_expiry_is_fetched_again() {
    // Expires in a minute: inside the refresh margin, so never reused.
    let google = Google::start(Duration::from_secs(60), Duration::ZERO).await;
    let mut client = google.client();

    check(&mut client).await.unwrap();
    check(&mut client).await.unwrap();
    check(&mut client).await.unwrap();

    assert_eq!(google.fetches().await, 3);
}

#[tokio::test]
async fn a_token_without_exp_is_kept() {
    let peer = Peer::start().await;
    let metadata = metadata_serving(&peer.url, "opaque-but-valid", Duration::ZERO).await;
    let mut client = HealthClient::new(grpc::channel(&peer.url, &google(&metadata)).unwrap());

    check(&mut client).await.unwrap();
    check(&mut client).await.unwrap();

    assert_eq!(metadata_fetches(&metadata).await, 1);
    assert_eq!(
        peer.headers()[1].get(SERVERLESS_AUTHORIZATION).unwrap(),
        "Bearer opaque-but-valid"
    );
}

#[tokio::test]
async fn a_refusing_metadata_server_fails_the_call_unavailable() {
    let peer = Peer::start().await;
    let metadata = MockServer::start().await;
    Mock::given(path(IDENTITY_PATH))
        .respond_with(ResponseTemplate::new(500).set_body_string("backend error"))
        .mount(&metadata)
        .await;
    let mut client = HealthClient::new(grpc::channel(&peer.url, &google(&metadata)).unwrap());

    let status = check(&mut client).await.unwrap_err();

    assert_eq!(status.code(), Code::Unavailable);
    assert!(!status.message().contains("backend error"));
    assert!(peer.headers().is_empty(), "the call must not go out");
    // A failure is not cached: the next call asks again.
    let again = check(&mut client).await.unwrap_err();
    assert_eq!(again.code(), Code::Unavailable);
    assert_eq!(metadata_fetches(&metadata).await, 2);
}

#[tokio::test]
async fn a_metadata_server_that_is_down_fails_the_call_quickly() {
    let peer = Peer::start().await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = closed.local_addr().unwrap().to_string();
    drop(closed);
    let auth = PeerAuth::Google(GoogleIdTokens::new(&host).unwrap());
    let mut client = HealthClient::new(grpc::channel(&peer.url, &auth).unwrap());

    let started = Instant::now();
    let status = check(&mut client).await.unwrap_err();

    assert_eq!(status.code(), Code::Unavailable);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(peer.headers().is_empty());
}

#[tokio::test]
async fn a_hanging_metadata_server_times_out() {
    let google = Google::start(HOUR, Duration::from_secs(30)).await;
    let client = google.client();

    let started = Instant::now();
    // Callers queued behind the stuck fetch get its outcome, not a fetch each.
    for outcome in check_at_once(&client, 5).await {
        assert_eq!(outcome.unwrap_err().code(), Code::Unavailable);
    }

    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    assert_eq!(google.fetches().await, 1);
    assert!(google.peer.headers().is_empty());
}

#[tokio::test]
async fn none_mode_sends_calls_as_they_are() {
    let peer = Peer::start().await;
    let mut client = HealthClient::new(grpc::channel(&peer.url, &PeerAuth::None).unwrap());

    check(&mut client).await.unwrap();
    check(&mut client).await.unwrap();

    let headers = peer.headers();
    assert_eq!(headers.len(), 2);
    assert!(
        headers
            .iter()
            .all(|h| h.get(SERVERLESS_AUTHORIZATION).is_none())
    );
    assert_eq!(headers[0].get("authorization").unwrap(), USER_JWT);
}

/// The first bytes a channel to `scheme://` a bare TCP listener sends.
async fn first_bytes_sent(scheme: &str) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("{scheme}://{}", listener.local_addr().unwrap());
    let mut client = HealthClient::new(grpc::channel(&url, &PeerAuth::None).unwrap());
    // Fails once the listener hangs up; only what it sent first matters.
    let call = tokio::spawn(async move { check(&mut client).await });
    let mut bytes = vec![0; 8];
    let read = async {
        let (mut socket, _) = listener.accept().await?;
        socket.read_exact(&mut bytes).await
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("the channel connects within 5 s")
        .expect("and sends 8 bytes");
    let _ = call.await;
    bytes
}

#[tokio::test]
async fn https_peers_are_spoken_to_in_tls_and_http_ones_in_cleartext() {
    // A TLS record of type handshake (the ClientHello) against HTTP/2's cleartext preface.
    assert_eq!(first_bytes_sent("https").await[..2], [0x16, 0x03]);
    assert_eq!(first_bytes_sent("http").await, b"PRI * HT");
}

#[tokio::test]
async fn bad_urls_are_refused_at_start_up() {
    let err = grpc::channel("not a url", &PeerAuth::None).unwrap_err();
    assert!(err.to_string().contains("not a url"));
    // Google mode needs an origin to ask a token for.
    let metadata = MockServer::start().await;
    let err = grpc::channel("/no/host", &google(&metadata)).unwrap_err();
    assert!(err.to_string().contains("/no/host"));
    assert_eq!(metadata_fetches(&metadata).await, 0);
}
