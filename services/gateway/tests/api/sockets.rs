//! The Socket.IO endpoint, driven by the official python-socketio client (see
//! `rentory_testkit::SocketIoClient`), against real gateways on real listeners, the fake
//! chat service, Redis and NATS.

use std::time::Duration;

use rentory_auth::revocation::revoked_session_key;
use rentory_auth::{Role, SigningKeyPair, TokenIssuer, TokenSettings, UserStatus};
use rentory_testkit::{NatsServer, SocketIoClient, wait_until};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::backend::LANDLORD_ID;
use crate::backend::chat::{self, FakeChat, OUTSIDER_ID, TENANT_ID};
use crate::support::*;

const QUIET: Duration = Duration::from_millis(400);

/// The fake chat service and what every gateway of a test shares (keys, rate-limit keys).
struct Setup {
    fake: FakeChat,
    chat_url: String,
    nats_url: String,
    public_pem: String,
    issuer: TokenIssuer,
    prefix: String,
}

/// A gateway serving on a real listener.
struct Gateway {
    url: String,
    shutdown: gateway::CancellationToken,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Setup {
    async fn new(nats_url: &str) -> Self {
        let fake = FakeChat::new(nats_url).await;
        let chat_url = chat::serve(&fake).await;
        let keys = SigningKeyPair::generate().expect("keys");
        let issuer = TokenIssuer::new(&keys.private_pem, TokenSettings::default()).expect("issuer");
        Self {
            fake,
            chat_url,
            nats_url: nats_url.to_owned(),
            public_pem: keys.public_pem,
            issuer,
            prefix: unique_prefix(),
        }
    }

    async fn gateway(&self, adjust: impl FnOnce(&mut gateway::Config)) -> Gateway {
        let mut config = gateway::Config::new(self.public_pem.clone());
        config.redis_url = REDIS_URL.to_owned().into();
        config.identity_url = dead_url().await;
        config.kyc_url = dead_url().await;
        config.ai_url = dead_url().await;
        config.listings_url = dead_url().await;
        config.chat_url = self.chat_url.clone();
        config.nats_url = self.nats_url.clone();
        config.rate_limits.prefix = self.prefix.clone();
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let shutdown = gateway::CancellationToken::new();
        tokio::spawn(gateway::serve(config, listener, shutdown.clone()));
        let gateway = Gateway { url, shutdown };
        gateway.wait_for_nats().await;
        gateway
    }

    fn token(&self, user: &str, role: Role) -> (String, Uuid) {
        self.token_at(user, role, OffsetDateTime::now_utc())
    }

    fn token_at(&self, user: &str, role: Role, now: OffsetDateTime) -> (String, Uuid) {
        let user = Uuid::parse_str(user).expect("uuid");
        mint(&self.issuer, user, role, UserStatus::Active, now)
    }

    /// A client of `gateway`, connected as `user`.
    async fn client(
        &self,
        gateway: &Gateway,
        user: &str,
        role: Role,
        websocket_only: bool,
    ) -> SocketIoClient {
        let transports: Option<&[&str]> = websocket_only.then_some(&["websocket"]);
        let mut client = SocketIoClient::spawn(&gateway.url, transports)
            .await
            .expect("driver");
        client
            .connect(&self.token(user, role).0)
            .await
            .expect("connected");
        client
    }
}

impl Gateway {
    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = reqwest::Client::new().get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// NATS is connected in the background; fan-out tests wait for it.
    async fn wait_for_nats(&self) {
        wait_until(
            Duration::from_secs(15),
            "the gateway's NATS connection",
            || async { self.get("/readyz", None).await.1["checks"]["nats"] == "up" },
        )
        .await
        .expect("NATS up");
    }
}

fn error_of(ack: &Value) -> (u64, String) {
    let error = &ack["error"];
    assert!(error.is_object(), "not an error ack: {ack}");
    assert!(
        error["title"].is_string() && error["detail"].is_string(),
        "{ack}"
    );
    let slug = error["type"]
        .as_str()
        .and_then(|t| t.strip_prefix("https://rentory.ng/problems/"))
        .unwrap_or_default()
        .to_owned();
    (error["status"].as_u64().unwrap_or_default(), slug)
}

#[tokio::test]
async fn the_handshake_needs_a_valid_token_of_a_session_that_is_not_revoked() {
    let setup = Setup::new(&rentory_testkit::nats_url()).await;
    let gateway = setup.gateway(|_| {}).await;
    let refused = |line: &Value| {
        line["type"] == "connect_error" && line["data"]["message"] == "unauthenticated"
    };

    let mut client = SocketIoClient::spawn(&gateway.url, None)
        .await
        .expect("driver");
    let line = client.connect_with(json!({})).await.expect("answer");
    assert!(refused(&line), "{line}");
    let line = client
        .connect_with(json!({"token": "not.a.token"}))
        .await
        .expect("answer");
    assert!(refused(&line), "{line}");
    let hour_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let (expired, _) = setup.token_at(TENANT_ID, Role::Tenant, hour_ago);
    let line = client
        .connect_with(json!({"token": expired}))
        .await
        .expect("answer");
    assert!(refused(&line), "{line}");

    let (token, session) = setup.token(TENANT_ID, Role::Tenant);
    let mut redis = redis().await;
    let _: () = deadpool_redis::redis::cmd("SET")
        .arg(revoked_session_key(session))
        .arg(1)
        .arg("EX")
        .arg(60)
        .query_async(&mut redis)
        .await
        .expect("revoke");
    let line = client
        .connect_with(json!({"token": token}))
        .await
        .expect("answer");
    assert!(refused(&line), "{line}");

    let (token, _) = setup.token(TENANT_ID, Role::Tenant);
    let line = client
        .connect_with(json!({"token": format!("Bearer {token}")}))
        .await
        .expect("answer");
    assert_eq!(line["type"], "connected", "{line}");
    client.close().await.expect("closed");
}

#[tokio::test]
async fn participants_join_send_type_and_read_and_everyone_else_gets_404_acks() {
    let setup = Setup::new(&rentory_testkit::nats_url()).await;
    let gateway = setup.gateway(|_| {}).await;
    let id = setup.fake.session_id.clone();
    let mut tenant = setup.client(&gateway, TENANT_ID, Role::Tenant, true).await;
    // The landlord's client starts with long-polling and upgrades.
    let mut landlord = setup
        .client(&gateway, LANDLORD_ID, Role::Landlord, false)
        .await;

    let joined = tenant
        .ack("join", json!({"session_id": id}))
        .await
        .expect("ack");
    assert_eq!(joined["id"], id.as_str());
    assert_eq!(joined["tenant_id"], TENANT_ID);
    assert!(joined.get("missed").is_none(), "{joined}");
    landlord
        .ack("join", json!({"session_id": id}))
        .await
        .expect("ack");

    let stored = tenant
        .ack(
            "message",
            json!({"session_id": id, "content": "Is it available?", "client_id": "t-1"}),
        )
        .await
        .expect("ack");
    assert_eq!(stored["sender_id"], TENANT_ID);
    assert_eq!(stored["content"], "Is it available?");
    for field in [
        "id",
        "session_id",
        "is_read",
        "is_admin_intervention",
        "created_at",
    ] {
        assert!(!stored[field].is_null(), "{field} missing: {stored}");
    }
    let heard = landlord
        .expect_event("message")
        .await
        .expect("landlord hears it");
    assert_eq!(heard["id"], stored["id"]);
    assert_eq!(heard["content"], "Is it available?");
    let echoed = tenant
        .expect_event("message")
        .await
        .expect("the sender hears it too");
    assert_eq!(echoed["id"], stored["id"], "clients dedupe by id");

    // A resend with the same client_id is the same message.
    let again = tenant
        .ack(
            "message",
            json!({"session_id": id, "content": "Is it available?", "client_id": "t-1"}),
        )
        .await
        .expect("ack");
    assert_eq!(again["id"], stored["id"]);
    assert_eq!(setup.fake.stored().len(), 1);

    let typing = landlord
        .ack("typing", json!({"session_id": id}))
        .await
        .expect("ack");
    assert_eq!(typing["user_id"], LANDLORD_ID);
    let seen = tenant
        .expect_event("typing")
        .await
        .expect("tenant sees typing");
    assert_eq!(
        (seen["session_id"].as_str(), seen["user_id"].as_str()),
        (Some(id.as_str()), Some(LANDLORD_ID))
    );
    assert!(
        landlord
            .next_event("typing", QUIET)
            .await
            .expect("read")
            .is_none(),
        "the typist is not told of its own typing"
    );

    let marker = landlord
        .ack(
            "read",
            json!({"session_id": id, "message_id": stored["id"]}),
        )
        .await
        .expect("ack");
    assert_eq!(marker["reader_id"], LANDLORD_ID);
    let read = tenant
        .expect_event("read")
        .await
        .expect("tenant sees the receipt");
    assert_eq!(read["message_id"], stored["id"]);

    // Failures are acks with the problem REST would answer.
    let other = Uuid::now_v7().to_string();
    let ack = tenant
        .ack("typing", json!({"session_id": other}))
        .await
        .expect("ack");
    assert_eq!(error_of(&ack), (404, "not-found".to_owned()));
    let ack = tenant
        .ack("message", json!({"session_id": id}))
        .await
        .expect("ack");
    assert_eq!(error_of(&ack), (422, "validation-failed".to_owned()));
    assert_eq!(ack["error"]["errors"][0]["field"], "content");
    let long = "x".repeat(chat::MAX_CONTENT_CHARS + 1);
    let ack = tenant
        .ack("message", json!({"session_id": id, "content": long}))
        .await
        .expect("ack");
    assert_eq!(error_of(&ack), (422, "validation-failed".to_owned()));
    let ack = tenant
        .ack("shout", json!({"session_id": id}))
        .await
        .expect("ack");
    assert_eq!(error_of(&ack), (404, "route-not-found".to_owned()));
    assert!(ack["error"]["request_id"].is_string());

    let mut outsider = setup
        .client(&gateway, OUTSIDER_ID, Role::Tenant, true)
        .await;
    let ack = outsider
        .ack("join", json!({"session_id": id}))
        .await
        .expect("ack");
    assert_eq!(error_of(&ack), (404, "not-found".to_owned()));
    let ack = outsider
        .ack("message", json!({"session_id": id, "content": "let me in"}))
        .await
        .expect("ack");
    assert_eq!(error_of(&ack), (404, "not-found".to_owned()));
    let ack = outsider
        .ack("typing", json!({"session_id": id}))
        .await
        .expect("ack");
    assert_eq!(error_of(&ack), (404, "not-found".to_owned()));
    assert!(
        outsider
            .next_event("message", QUIET)
            .await
            .expect("read")
            .is_none()
    );

    for client in [tenant, landlord, outsider] {
        client.close().await.expect("closed");
    }
}

#[tokio::test]
async fn two_instances_fan_out_both_ways_and_a_reconnecting_client_gets_what_it_missed() {
    let setup = Setup::new(&rentory_testkit::nats_url()).await;
    let a = setup.gateway(|_| {}).await;
    let b = setup.gateway(|_| {}).await;
    let id = setup.fake.session_id.clone();
    let mut tenant = setup.client(&a, TENANT_ID, Role::Tenant, true).await;
    let mut landlord = setup.client(&b, LANDLORD_ID, Role::Landlord, true).await;
    tenant
        .ack("join", json!({"session_id": id}))
        .await
        .expect("ack");
    landlord
        .ack("join", json!({"session_id": id}))
        .await
        .expect("ack");

    let latencies = [
        exchange(&mut tenant, &mut landlord, &id, "from A").await,
        exchange(&mut landlord, &mut tenant, &id, "from B").await,
    ];
    eprintln!("emit -> the other instance's socket: {latencies:?} µs");

    tenant
        .ack("typing", json!({"session_id": id}))
        .await
        .expect("ack");
    let typing = landlord
        .expect_event("typing")
        .await
        .expect("typing crosses instances");
    assert_eq!(typing["user_id"], TENANT_ID);

    // The landlord drops off; the tenant sends three; the landlord comes back.
    let last_seen = setup
        .fake
        .stored()
        .last()
        .map(|m| m.id.clone())
        .expect("a message");
    landlord.disconnect().await.expect("gone");
    let mut sent = Vec::new();
    for n in 1..=3 {
        let stored = tenant
            .ack(
                "message",
                json!({"session_id": id, "content": format!("missed {n}")}),
            )
            .await
            .expect("ack");
        sent.push(stored["id"].clone());
    }
    landlord
        .connect(&setup.token(LANDLORD_ID, Role::Landlord).0)
        .await
        .expect("back");
    let rejoined = landlord
        .ack(
            "join",
            json!({"session_id": id, "last_message_id": last_seen}),
        )
        .await
        .expect("ack");
    let missed: Vec<&Value> = rejoined["missed"]
        .as_array()
        .expect("missed")
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(
        missed,
        sent.iter().collect::<Vec<_>>(),
        "exactly the three, oldest first"
    );
    assert_eq!(rejoined["missed_has_more"], false);

    let line = tenant
        .emit(
            "message",
            json!({"session_id": id, "content": "welcome back"}),
        )
        .await
        .expect("ack");
    let heard = landlord
        .next_event("message", chat_wait())
        .await
        .expect("read")
        .expect("live again");
    assert_eq!(heard["data"]["id"], line["data"]["id"]);
    tenant.close().await.expect("closed");
    landlord.close().await.expect("closed");
}

/// `sender` sends `text`; `receiver`, on another instance, gets it. The time from the emit
/// to the other socket's receipt, in µs.
async fn exchange(
    sender: &mut SocketIoClient,
    receiver: &mut SocketIoClient,
    session_id: &str,
    text: &str,
) -> u64 {
    let line = sender
        .emit(
            "message",
            json!({"session_id": session_id, "content": text}),
        )
        .await
        .expect("ack");
    let heard = receiver
        .next_event("message", chat_wait())
        .await
        .expect("read")
        .expect("delivered");
    assert_eq!(heard["data"]["id"], line["data"]["id"]);
    assert_eq!(heard["data"]["content"], text);
    sender.expect_event("message").await.expect("own echo");
    let at = heard["at_ns"].as_u64().unwrap_or(0);
    at.saturating_sub(line["sent_ns"].as_u64().unwrap_or(0)) / 1000
}

fn chat_wait() -> Duration {
    Duration::from_secs(5)
}

#[tokio::test]
async fn a_revoked_or_expired_session_closes_its_socket() {
    let setup = Setup::new(&rentory_testkit::nats_url()).await;
    let watched = setup
        .gateway(|c| c.socket.session_check = Duration::from_millis(200))
        .await;
    let mut redis = redis().await;
    let revoke = |session: Uuid| {
        deadpool_redis::redis::cmd("SET")
            .arg(revoked_session_key(session))
            .arg(1)
            .arg("EX")
            .arg(60)
            .to_owned()
    };

    // Found by the periodic check.
    let (token, session) = setup.token(TENANT_ID, Role::Tenant);
    let mut client = SocketIoClient::spawn(&watched.url, Some(&["websocket"]))
        .await
        .expect("driver");
    client.connect(&token).await.expect("connected");
    let _: () = revoke(session)
        .query_async(&mut redis)
        .await
        .expect("revoke");
    let ended = client.expect_event("session_ended").await.expect("told");
    assert_eq!(ended["reason"], "revoked");
    let reason = client
        .disconnected(Duration::from_secs(5))
        .await
        .expect("read");
    assert!(reason.is_some(), "the socket is closed");

    // An access token's end closes the socket at that moment.
    let ttl = TokenSettings::default().access_ttl;
    let issued = OffsetDateTime::now_utc() - ttl + time::Duration::seconds(2);
    let (token, _) = setup.token_at(TENANT_ID, Role::Tenant, issued);
    client.connect(&token).await.expect("connected");
    let ended = client.expect_event("session_ended").await.expect("told");
    assert_eq!(ended["reason"], "expired");
    assert!(
        client
            .disconnected(Duration::from_secs(5))
            .await
            .expect("read")
            .is_some()
    );

    // Between periodic checks, the next event finds it.
    let slow = setup.gateway(|_| {}).await;
    let (token, session) = setup.token(TENANT_ID, Role::Tenant);
    let mut client2 = SocketIoClient::spawn(&slow.url, None)
        .await
        .expect("driver");
    client2.connect(&token).await.expect("connected");
    let _: () = revoke(session)
        .query_async(&mut redis)
        .await
        .expect("revoke");
    let ack = client2
        .ack("join", json!({"session_id": setup.fake.session_id}))
        .await
        .expect("ack");
    assert_eq!(error_of(&ack), (401, "unauthenticated".to_owned()));
    assert!(
        client2
            .disconnected(Duration::from_secs(5))
            .await
            .expect("read")
            .is_some()
    );
    assert_eq!(
        setup.fake.calls.count("GetSession"),
        0,
        "nothing reached the service"
    );
    client.close().await.expect("closed");
    client2.close().await.expect("closed");
}

#[tokio::test]
async fn over_its_budget_a_socket_gets_429_acks_then_is_closed_and_oversize_frames_close_it() {
    let setup = Setup::new(&rentory_testkit::nats_url()).await;
    let gateway = setup
        .gateway(|c| {
            c.socket.events_per_sec = 1;
            c.socket.event_burst = 4;
        })
        .await;
    let mut client = setup.client(&gateway, TENANT_ID, Role::Tenant, true).await;
    let acks = client
        .burst("leave", json!({"session_id": "s"}), 8)
        .await
        .expect("acks");
    let refused: Vec<&Value> = acks
        .iter()
        .filter(|a| a["error"]["status"] == 429)
        .collect();
    let allowed = acks.iter().filter(|a| a["session_id"] == "s").count();
    assert_eq!((allowed, refused.len()), (4, 4), "{acks:?}");
    assert_eq!(
        refused[0]["error"]["type"],
        "https://rentory.ng/problems/rate-limited"
    );
    assert!(
        refused[0]["error"]["retry_after"]
            .as_u64()
            .is_some_and(|s| s >= 1)
    );
    // Twice the burst refused in a row: abuse.
    client
        .burst("leave", json!({"session_id": "s"}), 12)
        .await
        .expect("acks");
    let ended = client.expect_event("session_ended").await.expect("told");
    assert_eq!(ended["reason"], "rate_limited");
    assert!(
        client
            .disconnected(Duration::from_secs(5))
            .await
            .expect("read")
            .is_some()
    );

    // A frame over RENTORY_SOCKET_MAX_PAYLOAD_BYTES (16 KiB) closes the connection unread.
    client
        .connect(&setup.token(TENANT_ID, Role::Tenant).0)
        .await
        .expect("connected");
    let huge = "x".repeat(20 * 1024);
    client
        .send_only(
            "message",
            json!({"session_id": setup.fake.session_id, "content": huge}),
        )
        .await
        .expect("sent");
    assert!(
        client
            .disconnected(Duration::from_secs(5))
            .await
            .expect("read")
            .is_some()
    );
    assert_eq!(setup.fake.calls.count("SendMessage"), 0);
    client.close().await.expect("closed");
}

#[tokio::test]
async fn without_nats_rest_and_sockets_still_work_and_live_events_resume_when_it_returns() {
    let mut nats = NatsServer::spawn().await.expect("nats");
    let setup = Setup::new(&nats.url()).await;
    let gateway = setup.gateway(|_| {}).await;
    let id = setup.fake.session_id.clone();
    let mut tenant = setup.client(&gateway, TENANT_ID, Role::Tenant, true).await;
    let mut landlord = setup
        .client(&gateway, LANDLORD_ID, Role::Landlord, true)
        .await;
    tenant
        .ack("join", json!({"session_id": id}))
        .await
        .expect("ack");
    landlord
        .ack("join", json!({"session_id": id}))
        .await
        .expect("ack");

    nats.stop().await.expect("stopped");
    wait_until(Duration::from_secs(10), "the gateway to notice", || async {
        gateway.get("/readyz", None).await.1["checks"]["nats"] == "down"
    })
    .await
    .expect("noticed");
    let (token, _) = setup.token(TENANT_ID, Role::Tenant);
    let (status, session) = gateway
        .get(&format!("/chat/sessions/{id}"), Some(&token))
        .await;
    assert_eq!((status, session["id"].as_str()), (200, Some(id.as_str())));
    // A new socket connects and joins; messages are stored and acked, not delivered live.
    let mut late = setup.client(&gateway, TENANT_ID, Role::Tenant, false).await;
    late.ack("join", json!({"session_id": id}))
        .await
        .expect("ack");
    let during = landlord
        .ack(
            "message",
            json!({"session_id": id, "content": "while NATS was down"}),
        )
        .await
        .expect("ack");
    assert!(during["id"].is_string(), "{during}");
    assert!(
        tenant
            .next_event("message", QUIET)
            .await
            .expect("read")
            .is_none()
    );

    nats.start().await.expect("started");
    gateway.wait_for_nats().await;
    wait_until(
        Duration::from_secs(15),
        "the fake chat's NATS connection",
        || async { setup.fake.nats_connected() },
    )
    .await
    .expect("fake reconnected");
    let after = landlord
        .ack(
            "message",
            json!({"session_id": id, "content": "NATS is back"}),
        )
        .await
        .expect("ack");
    let heard = tenant.expect_event("message").await.expect("live again");
    assert_eq!(heard["id"], after["id"]);
    let heard = late
        .expect_event("message")
        .await
        .expect("the late joiner too");
    assert_eq!(heard["id"], after["id"]);
    // What went by during the outage is fetched on rejoin.
    let first = setup.fake.stored().first().map(|m| m.id.clone());
    assert_eq!(first.as_deref(), during["id"].as_str());
    let rejoined = tenant
        .ack(
            "join",
            json!({"session_id": id, "last_message_id": Uuid::nil()}),
        )
        .await
        .expect("ack");
    assert_eq!(rejoined["missed"][0]["id"], during["id"]);
    for client in [tenant, landlord, late] {
        client.close().await.expect("closed");
    }
}
