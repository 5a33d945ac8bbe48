//! Fault drills: NATS stopped mid-journey, Postgres restarted under load, a gateway instance
//! killed with sockets on it, Redis down. Postgres and Redis are private servers of the test
//! (`rentory_testkit::{PostgresServer, RedisServer}`): the shared ones stay up for every other
//! test. The figures each drill measures are printed (`--nocapture`) and quoted in the README.

use std::time::{Duration, Instant};

use rentory_blackbox::{
    Parties, Private, TestStack, eventually, missed_ids, open_session, parties, send_numbered,
};
use serde_json::{Value, json};

/// While Postgres is down a request waits for a connection for the pool's acquire timeout
/// (4 s), then is told 503: this bounds it with room for the hops around it.
const PROMPT_503: Duration = Duration::from_secs(6);
const PROBLEM_JSON: &str = "application/problem+json";

/// The [`Parties`] and their chat session.
struct Scene {
    parties: Parties,
    session_id: String,
}

impl std::ops::Deref for Scene {
    type Target = Parties;

    fn deref(&self) -> &Parties {
        &self.parties
    }
}

async fn scene(stack: &TestStack) -> anyhow::Result<Scene> {
    let parties = parties(stack).await?;
    let session_id = open_session(stack, &parties).await?;
    Ok(Scene {
        parties,
        session_id,
    })
}

async fn count(db: &sqlx::PgPool, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(db).await?)
}

/// The tenant asks for the contact unlock and pays at the checkout simulator; the reference.
async fn pay_contact_unlock(stack: &TestStack, parties: &Scene) -> anyhow::Result<String> {
    let (status, checkout) = ask_for_unlock(stack, parties).await?;
    anyhow::ensure!(
        status == 200,
        "contact unlock answered {status}: {checkout}"
    );
    let paid = stack
        .http
        .post(checkout["authorization_url"].as_str().unwrap_or_default())
        .form(&[("action", "pay")])
        .send()
        .await?;
    anyhow::ensure!(
        paid.status().is_success(),
        "paying answered {}",
        paid.status()
    );
    Ok(checkout["reference"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// The tenant asks for the contact unlock; the status and body.
async fn ask_for_unlock(stack: &TestStack, parties: &Scene) -> anyhow::Result<(u16, Value)> {
    stack
        .post(
            "/payments/contact-unlock",
            &parties.tenant.access_token,
            json!({"property_id": parties.property_id}),
        )
        .await
}

async fn send_chat(stack: &TestStack, parties: &Scene, text: &str) -> anyhow::Result<(u16, Value)> {
    stack
        .post(
            &format!("/chat/sessions/{}/messages", parties.session_id),
            &parties.tenant.access_token,
            json!({"content": text, "client_id": uuid::Uuid::new_v4().to_string()}),
        )
        .await
}

// --- NATS stopped mid-journey -------------------------------------------------------------

#[tokio::test]
async fn nats_stopped_mid_journey_every_write_commits_and_each_event_applies_once()
-> anyhow::Result<()> {
    let mut stack = TestStack::start().await?;
    let parties = scene(&stack).await?;
    let db = stack.db().await?;
    let contact = format!("/properties/{}/contact", parties.property_id);
    let (status, _) = send_chat(&stack, &parties, "Is it still available?").await?;
    assert_eq!(status, 201);

    stack.nats.stop().await?;
    let outage = Instant::now();
    // Each step commits without NATS: a chat message, the unlock's checkout, the payment
    // (webhook -> payments verifies with the simulator and records the success).
    let (status, message) = send_chat(&stack, &parties, "I will pay for the contact").await?;
    assert_eq!(status, 201, "a chat message commits: {message}");
    let reference = pay_contact_unlock(&stack, &parties).await?;
    eventually(
        Duration::from_secs(15),
        "the payment to be recorded",
        || async {
            let status: Option<String> =
                sqlx::query_scalar("SELECT status FROM payments.transactions WHERE reference = $1")
                    .bind(&reference)
                    .fetch_optional(&db)
                    .await?;
            Ok(status.as_deref() == Some("SUCCESS"))
        },
    )
    .await?;
    let (status, message) = send_chat(&stack, &parties, "Paid, please share your number").await?;
    assert_eq!(status, 201, "{message}");
    // The success waits in the outbox; nobody downstream has heard of it.
    let waiting = count(
        &db,
        "SELECT count(*) FROM payments.outbox WHERE subject = 'rentory.payments.transaction.succeeded' AND published_at IS NULL",
    )
    .await?;
    assert_eq!(waiting, 1, "the event waits in the payments outbox");
    let (status, _) = stack.get(&contact, &parties.tenant.access_token).await?;
    assert_eq!(status, 402, "the listing has not heard of the payment yet");
    tokio::time::sleep(Duration::from_secs(2)).await;

    stack.nats.start().await?;
    let back = Instant::now();
    eventually(Duration::from_secs(30), "the contact to open", || async {
        let (status, _) = stack.get(&contact, &parties.tenant.access_token).await?;
        Ok(status == 200)
    })
    .await?;
    let opened_after = back.elapsed();
    eventually(
        Duration::from_secs(30),
        "chat to unmask the contact",
        || async { Ok(count(&db, "SELECT count(*) FROM chat.contact_unlocks").await? == 1) },
    )
    .await?;
    println!(
        "NATS drill: down for {:?}; contact opened {opened_after:?} after NATS came back",
        back - outage
    );

    // The relay republishes a row as it would after a crash between JetStream's ack and the
    // mark (JetStream's de-duplication or the consumers' processed_events absorb it).
    sqlx::query(
        "UPDATE payments.outbox SET published_at = NULL WHERE subject = 'rentory.payments.transaction.succeeded'",
    )
    .execute(&db)
    .await?;
    eventually(Duration::from_secs(15), "the republish", || async {
        Ok(count(
            &db,
            "SELECT count(*) FROM payments.outbox WHERE published_at IS NULL",
        )
        .await?
            == 0)
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Exactly once, everywhere.
    for (what, sql) in [
        (
            "listings applied the success once",
            "SELECT count(*) FROM listings.processed_events WHERE consumer = 'listings-contact-unlocks'",
        ),
        (
            "one unlock in listings",
            "SELECT count(*) FROM listings.contact_unlocks",
        ),
        (
            "chat applied the success once",
            "SELECT count(*) FROM chat.processed_events WHERE consumer = 'chat-contact-unlocks'",
        ),
        (
            "one unlock in chat",
            "SELECT count(*) FROM chat.contact_unlocks",
        ),
        (
            "one success announced",
            "SELECT count(*) FROM payments.outbox WHERE subject = 'rentory.payments.transaction.succeeded'",
        ),
    ] {
        assert_eq!(count(&db, sql).await?, 1, "{what}");
    }
    let stored = count(&db, "SELECT count(*) FROM chat.messages").await?;
    assert_eq!(stored, 3, "every chat message stored once");
    let (status, _) = send_chat(&stack, &parties, "Thanks").await?;
    assert_eq!(status, 201);
    db.close().await;
    stack.stop().await
}

// --- Postgres restarted ---------------------------------------------------------------------

/// One request's outcome while Postgres is restarting.
#[derive(Debug)]
struct Outcome {
    what: &'static str,
    status: u16,
    took: Duration,
    problem_json: bool,
    retry_after: bool,
}

async fn timed(what: &'static str, request: reqwest::RequestBuilder) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let response = request.send().await?;
    let took = started.elapsed();
    let status = response.status().as_u16();
    let header = |name: reqwest::header::HeaderName| response.headers().get(name).cloned();
    let problem_json = header(reqwest::header::CONTENT_TYPE)
        .is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with(PROBLEM_JSON)));
    let retry_after = header(reqwest::header::RETRY_AFTER).is_some();
    // Read the body: a response that stalls mid-body is a hang too.
    response.bytes().await?;
    Ok(Outcome {
        what,
        status,
        took: started.elapsed().max(took),
        problem_json,
        retry_after,
    })
}

/// Login, a listing read, a chat send and `/me`, each timed.
async fn the_usual(stack: &TestStack, parties: &Scene) -> anyhow::Result<Vec<Outcome>> {
    let tenant = &parties.tenant;
    let login = stack
        .http
        .post(stack.url("/auth/login"))
        .json(&json!({"email": tenant.email, "pin": tenant.pin}));
    let listing = stack
        .http
        .get(stack.url(&format!("/properties/{}", parties.property_id)))
        .bearer_auth(&tenant.access_token);
    let chat = stack
        .http
        .post(stack.url(&format!("/chat/sessions/{}/messages", parties.session_id)))
        .bearer_auth(&tenant.access_token)
        .json(&json!({"content": "still there?"}));
    let me = stack
        .http
        .get(stack.url("/me"))
        .bearer_auth(&tenant.access_token);
    let (a, b, c, d) = tokio::join!(
        timed("login", login),
        timed("listing", listing),
        timed("chat send", chat),
        timed("me", me),
    );
    Ok(vec![a?, b?, c?, d?])
}

fn assert_answered_or_503(outcome: &Outcome) {
    let ok = (200..300).contains(&outcome.status);
    let unavailable = outcome.status == 503 && outcome.problem_json && outcome.retry_after;
    assert!(
        ok || unavailable,
        "{}: neither its answer nor a 503 problem with Retry-After: {outcome:?}",
        outcome.what
    );
    assert!(
        outcome.took < PROMPT_503 + Duration::from_secs(2),
        "{} hung: {outcome:?}",
        outcome.what
    );
}

#[tokio::test]
async fn postgres_restarts_are_503s_then_every_service_recovers_by_itself() -> anyhow::Result<()> {
    let mut stack = TestStack::start_on(
        Private {
            postgres: true,
            ..Private::default()
        },
        |_| {},
    )
    .await?;
    let parties = scene(&stack).await?;
    for outcome in the_usual(&stack, &parties).await? {
        assert!((200..300).contains(&outcome.status), "before: {outcome:?}");
    }
    let relays_listening = listening(&stack).await?;
    assert!(
        relays_listening >= 7,
        "one outbox LISTEN per service: {relays_listening}"
    );

    // 1. A fast restart with requests in flight: each gets its answer or a 503 problem.
    let in_flight = tokio::spawn({
        let base = stack.base.clone();
        let token = parties.tenant.access_token.clone();
        let property = parties.property_id.clone();
        let http = stack.http.clone();
        async move {
            let mut handles = Vec::new();
            for n in 0..40u64 {
                let request = http
                    .get(format!("{base}/properties/{property}"))
                    .bearer_auth(&token);
                handles.push(tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(n * 25)).await;
                    timed("listing across the restart", request).await
                }));
            }
            let mut outcomes = Vec::new();
            for handle in handles {
                outcomes.push(handle.await??);
            }
            anyhow::Ok(outcomes)
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let postgres = stack.postgres.as_mut().expect("a private Postgres");
    let restart_started = Instant::now();
    postgres.restart().await?;
    let restarted_in = restart_started.elapsed();
    let outcomes = in_flight.await??;
    for outcome in &outcomes {
        assert_answered_or_503(outcome);
    }
    let refused = outcomes.iter().filter(|o| o.status == 503).count();
    let slowest = outcomes.iter().map(|o| o.took).max().unwrap_or_default();
    println!(
        "Postgres fast restart took {restarted_in:?}; {} requests across it: {refused} got 503, the slowest took {slowest:?}",
        outcomes.len()
    );
    let recovered = recovery(&stack, &parties).await?;
    println!("after the fast restart every usual request worked again within {recovered:?}");

    // 2. Down for a few seconds: every request is a prompt 503 problem, never a hang or a 500.
    let postgres = stack.postgres.as_mut().expect("a private Postgres");
    postgres.stop().await?;
    let down = Instant::now();
    let mut while_down = Vec::new();
    while down.elapsed() < Duration::from_secs(5) {
        while_down.extend(the_usual(&stack, &parties).await?);
    }
    let approve = stack
        .http
        .post(stack.url("/kyc/requests/00000000-0000-7000-8000-000000000000/approve"))
        .bearer_auth(&parties.admin.access_token)
        .json(&json!({}));
    while_down.push(timed("kyc approval", approve).await?);
    for outcome in &while_down {
        assert_eq!(outcome.status, 503, "{outcome:?}");
        assert!(outcome.problem_json && outcome.retry_after, "{outcome:?}");
        assert!(outcome.took < PROMPT_503, "not prompt: {outcome:?}");
    }
    let slowest = while_down.iter().map(|o| o.took).max().unwrap_or_default();
    println!(
        "Postgres down: {} requests, all 503 problem+json with Retry-After, the slowest in {slowest:?}",
        while_down.len()
    );
    let postgres = stack.postgres.as_mut().expect("a private Postgres");
    postgres.start().await?;
    let was_down = down.elapsed();
    let recovered = recovery(&stack, &parties).await?;
    println!(
        "Postgres back after {was_down:?} down (its start included): every usual request worked again within {recovered:?}"
    );

    // The relays' NOTIFY listeners reconnected (without them events would still flow, by
    // the relays' one-second poll, only later).
    eventually(
        Duration::from_secs(20),
        "the outbox LISTENs to reconnect",
        || async { Ok(listening(&stack).await? == relays_listening) },
    )
    .await?;
    // A KYC write, and the event it emits travelling relay -> NATS -> identity's consumer:
    // the outbox relays and consumers kept going through both restarts.
    let newcomer = stack.register("TENANT").await?;
    let newcomer = stack.activate_by(&parties.admin, &newcomer).await?;
    assert!(!newcomer.access_token.is_empty());
    let (status, message) = send_chat(&stack, &parties, "back to normal").await?;
    assert_eq!(status, 201, "{message}");
    stack.stop().await
}

/// Connections whose last statement was a LISTEN: the outbox relays' NOTIFY listeners.
async fn listening(stack: &TestStack) -> anyhow::Result<i64> {
    let db = stack.db().await?;
    let n = count(
        &db,
        "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN %'",
    )
    .await;
    db.close().await;
    n
}

/// Polls the usual requests until all of them answer normally; how long that took.
async fn recovery(stack: &TestStack, parties: &Scene) -> anyhow::Result<Duration> {
    let started = Instant::now();
    eventually(
        Duration::from_secs(30),
        "every service to recover",
        || async {
            let outcomes = the_usual(stack, parties).await?;
            for outcome in &outcomes {
                assert_answered_or_503(outcome);
            }
            Ok(outcomes.iter().all(|o| (200..300).contains(&o.status)))
        },
    )
    .await?;
    Ok(started.elapsed())
}

// --- a gateway instance killed --------------------------------------------------------------

#[tokio::test]
async fn a_killed_gateway_instance_its_clients_reconnect_to_another_and_catch_up()
-> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let a = stack.base.clone();
    stack.wait_live(&a).await?;
    let b = stack.start_killable_gateway().await?;
    let parties = scene(&stack).await?;
    let session_id = parties.session_id.clone();

    let mut tenant = stack.socket(&a, &parties.tenant, true).await?;
    let mut landlord = stack.socket(&b.url, &parties.landlord, true).await?;
    tenant
        .ack("join", json!({"session_id": session_id}))
        .await?;
    landlord
        .ack("join", json!({"session_id": session_id}))
        .await?;
    let last = tenant
        .ack(
            "message",
            json!({"session_id": session_id, "content": "before the crash"}),
        )
        .await?;
    let heard = landlord.expect_event("message").await?;
    assert_eq!(heard["id"], last["id"]);

    // B dies with the landlord's socket on it: no drain, no goodbye.
    b.kill();
    let reason = landlord.disconnected(Duration::from_secs(10)).await?;
    assert!(reason.is_some(), "the landlord's client noticed the crash");
    let sent = send_numbered(&mut tenant, &session_id, "while B was down", 3).await?;

    // The load balancer sends the landlord's reconnect to A.
    let _ = landlord.close().await;
    let reconnect = Instant::now();
    let mut landlord = stack.socket(&a, &parties.landlord, true).await?;
    let rejoined = landlord
        .ack(
            "join",
            json!({"session_id": session_id, "last_message_id": last["id"]}),
        )
        .await?;
    let caught_up = reconnect.elapsed();
    let missed = missed_ids(&rejoined);
    assert_eq!(
        missed, sent,
        "exactly the three missed, oldest first: {rejoined}"
    );
    assert_eq!(rejoined["missed_has_more"], false);
    println!(
        "gateway kill: the landlord reconnected to the other instance and caught up in {caught_up:?}"
    );

    // Then live again, both ways.
    let live = tenant
        .ack(
            "message",
            json!({"session_id": session_id, "content": "welcome back"}),
        )
        .await?;
    let heard = landlord.expect_event("message").await?;
    assert_eq!(heard["id"], live["id"]);
    let reply = landlord
        .ack(
            "message",
            json!({"session_id": session_id, "content": "thanks"}),
        )
        .await?;
    loop {
        let heard = tenant.expect_event("message").await?;
        if heard["id"] == reply["id"] {
            break;
        }
    }
    tenant.close().await?;
    landlord.close().await?;
    stack.stop().await
}

// --- Redis down -----------------------------------------------------------------------------

#[tokio::test]
async fn redis_down_login_and_chat_keep_working_and_money_waits() -> anyhow::Result<()> {
    let mut stack = TestStack::start_on(
        Private {
            redis: true,
            ..Private::default()
        },
        |t| t.socket.session_check = Duration::from_millis(300),
    )
    .await?;
    let a = stack.base.clone();
    stack.wait_live(&a).await?;
    let parties = scene(&stack).await?;
    let session_id = parties.session_id.clone();
    let mut tenant_socket = stack.socket(&a, &parties.tenant, true).await?;
    tenant_socket
        .ack("join", json!({"session_id": session_id}))
        .await?;

    stack
        .redis
        .as_mut()
        .expect("a private Redis")
        .stop()
        .await?;
    let down = Instant::now();

    // Sign-in: login (per-IP limit counted in memory) and refresh.
    let response = stack
        .login(&parties.tenant.email, &parties.tenant.pin)
        .await?;
    assert_eq!(response.status(), 200, "login works without Redis");
    let signed_in: Value = response.json().await?;
    let (status, refreshed) = stack
        .post(
            "/auth/refresh",
            "",
            json!({"refresh_token": signed_in["refresh_token"]}),
        )
        .await?;
    assert_eq!(status, 200, "refresh works without Redis: {refreshed}");
    let token = refreshed["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, me) = stack.get("/me", &token).await?;
    assert_eq!(
        status, 200,
        "ordinary routes skip the revocation check: {me}"
    );

    // Chat over REST and sockets: the open socket sends, a new one connects and joins.
    let (status, message) = send_chat(&stack, &parties, "Redis is down, chat is not").await?;
    assert_eq!(status, 201, "{message}");
    let sent = tenant_socket
        .ack(
            "message",
            json!({"session_id": session_id, "content": "over the socket"}),
        )
        .await?;
    assert!(sent["id"].is_string(), "{sent}");
    let mut landlord_socket = stack.socket(&a, &parties.landlord, true).await?;
    landlord_socket
        .ack("join", json!({"session_id": session_id}))
        .await?;
    let reply = landlord_socket
        .ack(
            "message",
            json!({"session_id": session_id, "content": "heard you"}),
        )
        .await?;
    loop {
        let heard = tenant_socket.expect_event("message").await?;
        if heard["id"] == reply["id"] {
            break;
        }
    }

    // The concierge goes on too; its daily AI budget is not counted meanwhile (see README).
    let (status, turn) = stack
        .post(
            "/concierge/messages",
            &parties.tenant.access_token,
            json!({"message": "3 bedroom flat in Yaba, budget 3m"}),
        )
        .await?;
    assert_eq!(status, 200, "{turn}");

    // Money, legal and staff routes fail closed.
    let (status, refused) = ask_for_unlock(&stack, &parties).await?;
    assert_eq!(status, 503, "{refused}");
    assert_eq!(
        refused["type"],
        "https://rentory.ng/problems/service-unavailable"
    );
    let newcomer = stack.register("TENANT").await?;
    let request_id = newcomer.verification_request_id.clone().unwrap_or_default();
    let (status, refused) = stack
        .post(
            &format!("/kyc/requests/{request_id}/approve"),
            &parties.admin.access_token,
            json!({}),
        )
        .await?;
    assert_eq!(status, 503, "a KYC decision waits for Redis: {refused}");

    // Logout cannot reach the deny-list: 503, but the session can no longer refresh.
    let response = stack
        .http
        .post(stack.url("/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(response.status(), 503, "logout says it could not finish");
    let (status, _) = stack
        .post(
            "/auth/refresh",
            "",
            json!({"refresh_token": refreshed["refresh_token"]}),
        )
        .await?;
    assert_eq!(status, 401, "the logged-out session cannot refresh");
    let outage = down.elapsed();

    // Redis returns: the gateway uses it again by itself.
    stack
        .redis
        .as_mut()
        .expect("a private Redis")
        .start()
        .await?;
    let back = Instant::now();
    eventually(
        Duration::from_secs(10),
        "money routes to work again",
        || async {
            let (status, _) = ask_for_unlock(&stack, &parties).await?;
            Ok(status == 200)
        },
    )
    .await?;
    let recovered = back.elapsed();
    let (status, approved) = stack
        .post(
            &format!("/kyc/requests/{request_id}/approve"),
            &parties.admin.access_token,
            json!({}),
        )
        .await?;
    assert_eq!(status, 200, "{approved}");
    // And revocation is enforced again.
    let fresh = stack
        .login(&parties.tenant.email, &parties.tenant.pin)
        .await?;
    let fresh: Value = fresh.json().await?;
    let fresh_token = fresh["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let response = stack
        .http
        .post(stack.url("/auth/logout"))
        .bearer_auth(&fresh_token)
        .send()
        .await?;
    assert_eq!(response.status(), 204);
    assert_eq!(stack.get("/me", &fresh_token).await?.0, 401);
    println!(
        "Redis drill: degraded for {outage:?}; guarded routes worked again {recovered:?} after Redis returned"
    );
    tenant_socket.close().await?;
    landlord_socket.close().await?;
    stack.stop().await
}
