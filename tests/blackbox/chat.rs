//! Chat through the whole stack, with the official python-socketio client: a tenant on one
//! gateway instance and the landlord on another, the chat service storing and masking,
//! NATS carrying the room events between the instances.

use std::time::Duration;

use rentory_blackbox::{
    SocketIoClient, TestStack, eventually, missed_ids, open_session as open, parties, send_numbered,
};
use rentory_proto::events::v1::TransactionSucceeded;
use serde_json::{Value, json};

const TRANSACTION_SUCCEEDED: &str = "rentory.payments.transaction.succeeded";
const QUIET: Duration = Duration::from_millis(500);

/// The next `message` event with `id` (the whole driver line, with `at_ns`), skipping others
/// (a client's own echoes of earlier sends).
async fn message_with_id(client: &mut SocketIoClient, id: &Value) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let line = client
            .next_event("message", left)
            .await?
            .ok_or_else(|| anyhow::anyhow!("message {id} never arrived"))?;
        if line["data"]["id"] == *id {
            return Ok(line);
        }
    }
}

fn status_of(ack: &Value) -> u64 {
    ack["error"]["status"].as_u64().unwrap_or(0)
}

/// `sender` sends `text`; `receiver` gets it as a room event. The ack's message and the
/// milliseconds from the emit to the other socket's receipt.
async fn deliver(
    sender: &mut SocketIoClient,
    receiver: &mut SocketIoClient,
    session_id: &str,
    text: &str,
) -> anyhow::Result<(Value, f64)> {
    let mut line = sender
        .emit(
            "message",
            json!({"session_id": session_id, "content": text, "client_id": uuid::Uuid::new_v4().to_string()}),
        )
        .await?;
    let stored = line["data"].take();
    anyhow::ensure!(stored["id"].is_string(), "not stored: {stored}");
    let heard = message_with_id(receiver, &stored["id"]).await?;
    // The sender hears its own message from the room too (clients keep one per id).
    message_with_id(sender, &stored["id"]).await?;
    let sent = line["sent_ns"].as_u64().unwrap_or(0);
    let at = heard["at_ns"].as_u64().unwrap_or(0);
    Ok((stored, at.saturating_sub(sent) as f64 / 1e6))
}

#[tokio::test]
async fn a_tenant_and_a_landlord_on_two_instances_chat_live_and_catch_up_after_a_drop()
-> anyhow::Result<()> {
    let mut stack = TestStack::start().await?;
    let a = stack.base.clone();
    let b = stack.start_gateway().await?;
    stack.wait_live(&a).await?;
    let parties = parties(&stack).await?;
    let session_id = open(&stack, &parties).await?;
    assert_eq!(
        open(&stack, &parties).await?,
        session_id,
        "one session per tenant and property"
    );

    let mut tenant = stack.socket(&a, &parties.tenant, true).await?;
    // The landlord's client starts with long-polling and upgrades to WebSocket.
    let mut landlord = stack.socket(&b, &parties.landlord, false).await?;
    let joined = tenant
        .ack("join", json!({"session_id": session_id}))
        .await?;
    assert_eq!(joined["id"], session_id.as_str());
    assert_eq!(joined["landlord_id"], parties.landlord.user_id.as_str());
    let joined = landlord
        .ack("join", json!({"session_id": session_id}))
        .await?;
    assert_eq!(joined["tenant_id"], parties.tenant.user_id.as_str());

    // Messages both ways; each ack is the stored message, each arrives on the other instance.
    let mut latencies = Vec::new();
    let mut last = Value::Null;
    for round in 0..10 {
        let (stored, ms) = deliver(
            &mut tenant,
            &mut landlord,
            &session_id,
            &format!("tenant {round}"),
        )
        .await?;
        assert_eq!(stored["sender_id"], parties.tenant.user_id.as_str());
        assert_eq!(stored["content"], format!("tenant {round}"));
        assert_eq!(stored["is_admin_intervention"], false);
        latencies.push(ms);
        let (stored, ms) = deliver(
            &mut landlord,
            &mut tenant,
            &session_id,
            &format!("landlord {round}"),
        )
        .await?;
        assert_eq!(stored["sender_id"], parties.landlord.user_id.as_str());
        latencies.push(ms);
        last = stored;
    }
    latencies.sort_by(f64::total_cmp);
    eprintln!(
        "chat round trip, socket emit -> the other instance's socket ({} messages): p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms, all {:?}",
        latencies.len(),
        latencies[latencies.len() / 2],
        latencies[latencies.len() * 9 / 10],
        latencies[latencies.len() - 1],
        latencies
            .iter()
            .map(|ms| (ms * 10.0).round() / 10.0)
            .collect::<Vec<_>>()
    );

    // Typing crosses instances and is not echoed to the typist.
    let typing = landlord
        .ack("typing", json!({"session_id": session_id}))
        .await?;
    assert_eq!(typing["user_id"], parties.landlord.user_id.as_str());
    let seen = tenant.expect_event("typing").await?;
    assert_eq!(seen["user_id"], parties.landlord.user_id.as_str());
    assert!(landlord.next_event("typing", QUIET).await?.is_none());

    // A read receipt.
    let marker = tenant
        .ack(
            "read",
            json!({"session_id": session_id, "message_id": last["id"]}),
        )
        .await?;
    assert_eq!(
        marker["reader_id"],
        parties.tenant.user_id.as_str(),
        "{marker}"
    );
    let receipt = landlord.expect_event("read").await?;
    assert_eq!(receipt["message_id"], last["id"]);
    assert_eq!(receipt["reader_id"], parties.tenant.user_id.as_str());
    let (_, history) = stack
        .get(
            &format!("/chat/sessions/{session_id}/messages?limit=1"),
            &parties.landlord.access_token,
        )
        .await?;
    assert_eq!(history["items"][0]["id"], last["id"]);
    assert_eq!(history["items"][0]["is_read"], true, "{history}");

    // The landlord drops off; the tenant sends three; the landlord reconnects and asks for
    // what came after the last message it saw.
    landlord.disconnect().await?;
    let sent = send_numbered(&mut tenant, &session_id, "while you were away", 3).await?;
    landlord.connect(&parties.landlord.access_token).await?;
    let rejoined = landlord
        .ack(
            "join",
            json!({"session_id": session_id, "last_message_id": last["id"]}),
        )
        .await?;
    let missed = missed_ids(&rejoined);
    assert_eq!(missed, sent, "exactly the three, oldest first: {rejoined}");
    assert_eq!(rejoined["missed_has_more"], false);
    // And it is live again.
    deliver(&mut tenant, &mut landlord, &session_id, "welcome back").await?;

    let (status, page) = stack
        .get(
            &format!("/chat/sessions/{session_id}/messages"),
            &parties.tenant.access_token,
        )
        .await?;
    assert_eq!(status, 200);
    assert_eq!(page["items"][0]["content"], "welcome back", "newest first");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(24));
    tenant.close().await?;
    landlord.close().await?;
    stack.stop().await
}

#[tokio::test]
async fn outsiders_floods_and_revoked_tokens_are_refused() -> anyhow::Result<()> {
    let stack = TestStack::start_with(|t| {
        t.socket.events_per_sec = 2;
        t.socket.event_burst = 5;
        t.socket.session_check = Duration::from_millis(500);
    })
    .await?;
    let base = stack.base.clone();
    stack.wait_live(&base).await?;
    let parties = parties(&stack).await?;
    let session_id = open(&stack, &parties).await?;
    let admin = stack.admin().await?;
    let outsider = stack
        .activate_by(&admin, &stack.register("TENANT").await?)
        .await?;

    // An outsider gets the 404 of a session that does not exist, over the socket and REST.
    let mut nosy = stack.socket(&base, &outsider, true).await?;
    let ack = nosy.ack("join", json!({"session_id": session_id})).await?;
    assert_eq!(status_of(&ack), 404, "{ack}");
    assert_eq!(
        ack["error"]["type"],
        "https://rentory.ng/problems/not-found"
    );
    let missing = uuid::Uuid::now_v7().to_string();
    let ack_missing = nosy.ack("join", json!({"session_id": missing})).await?;
    assert_eq!(ack_missing["error"]["status"], ack["error"]["status"]);
    assert_eq!(ack_missing["error"]["title"], ack["error"]["title"]);
    let ack = nosy
        .ack(
            "message",
            json!({"session_id": session_id, "content": "let me in"}),
        )
        .await?;
    assert_eq!(status_of(&ack), 404, "{ack}");
    for path in [
        format!("/chat/sessions/{session_id}"),
        format!("/chat/sessions/{session_id}/messages"),
    ] {
        let (status, body) = stack.get(&path, &outsider.access_token).await?;
        assert_eq!(status, 404, "{path}: {body}");
    }

    // Over the event budget: 429 acks (with when to retry), and a socket that keeps going is
    // closed.
    let acks = nosy
        .burst("leave", json!({"session_id": session_id}), 10)
        .await?;
    let limited = acks.iter().filter(|a| status_of(a) == 429).count();
    assert!(limited >= 4, "{acks:?}");
    let refused = acks
        .iter()
        .find(|a| status_of(a) == 429)
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        refused["error"]["type"],
        "https://rentory.ng/problems/rate-limited"
    );
    assert!(refused["error"]["retry_after"].as_u64().is_some());
    nosy.burst("leave", json!({"session_id": session_id}), 15)
        .await?;
    assert!(
        nosy.disconnected(Duration::from_secs(5)).await?.is_some(),
        "flooder closed"
    );

    // Logging out closes the sockets of that login at once.
    let mut tenant = stack.socket(&base, &parties.tenant, true).await?;
    tenant
        .ack("join", json!({"session_id": session_id}))
        .await?;
    let (status, body) = stack
        .post("/auth/logout", &parties.tenant.access_token, json!({}))
        .await?;
    assert_eq!(status, 204, "{body}");
    let ended = tenant.expect_event("session_ended").await?;
    assert_eq!(ended["reason"], "revoked");
    assert!(
        tenant.disconnected(Duration::from_secs(5)).await?.is_some(),
        "socket closed"
    );
    let line = tenant
        .connect_with(json!({"token": parties.tenant.access_token}))
        .await?;
    assert_eq!(line["type"], "connect_error", "{line}");
    assert_eq!(line["data"]["message"], "unauthenticated");
    nosy.close().await?;
    tenant.close().await?;
    stack.stop().await
}

#[tokio::test]
async fn contact_details_are_masked_for_both_until_the_tenant_unlocks_them() -> anyhow::Result<()> {
    let mut stack = TestStack::start().await?;
    let a = stack.base.clone();
    let b = stack.start_gateway().await?;
    stack.wait_live(&a).await?;
    let parties = parties(&stack).await?;
    let session_id = open(&stack, &parties).await?;
    let mut tenant = stack.socket(&a, &parties.tenant, true).await?;
    let mut landlord = stack.socket(&b, &parties.landlord, true).await?;
    tenant
        .ack("join", json!({"session_id": session_id}))
        .await?;
    landlord
        .ack("join", json!({"session_id": session_id}))
        .await?;

    let text = "call me on 0803 123 4567";
    let masked = |content: &Value| {
        let content = content.as_str().unwrap_or_default();
        !content.contains("123 4567")
            && !content.contains("0803")
            && content.starts_with("call me on")
    };
    let stored = landlord
        .ack(
            "message",
            json!({"session_id": session_id, "content": text}),
        )
        .await?;
    assert!(masked(&stored["content"]), "the sender's ack: {stored}");
    let heard = tenant.expect_event("message").await?;
    assert_eq!(heard["id"], stored["id"]);
    assert!(masked(&heard["content"]), "the tenant's event: {heard}");
    let echo = landlord.expect_event("message").await?;
    assert!(masked(&echo["content"]), "the landlord's event: {echo}");
    for who in [&parties.tenant, &parties.landlord] {
        let (_, page) = stack
            .get(
                &format!("/chat/sessions/{session_id}/messages"),
                &who.access_token,
            )
            .await?;
        assert!(masked(&page["items"][0]["content"]), "{page}");
    }
    let (_, session) = stack
        .get(
            &format!("/chat/sessions/{session_id}"),
            &parties.tenant.access_token,
        )
        .await?;
    assert_eq!(session["contact_unlocked"], false);

    // The tenant pays the NGN 5,000 unlock (the payments service announces it).
    stack
        .publish_event(
            TRANSACTION_SUCCEEDED,
            &TransactionSucceeded {
                transaction_id: uuid::Uuid::now_v7().to_string(),
                reference: format!("rentory_{}", uuid::Uuid::new_v4().simple()),
                r#type: "CONTACT_UNLOCK".to_owned(),
                payer_id: parties.tenant.user_id.clone(),
                property_id: Some(parties.property_id.clone()),
                lease_id: None,
                amount_kobo: 500_000,
                at: Some(rentory_proto::timestamp(time::OffsetDateTime::now_utc())),
            },
        )
        .await?;
    eventually(Duration::from_secs(20), "history shown whole", || async {
        let (_, page) = stack
            .get(
                &format!("/chat/sessions/{session_id}/messages"),
                &parties.tenant.access_token,
            )
            .await?;
        Ok(page["items"][0]["content"] == text)
    })
    .await?;
    let (_, page) = stack
        .get(
            &format!("/chat/sessions/{session_id}/messages"),
            &parties.landlord.access_token,
        )
        .await?;
    assert_eq!(page["items"][0]["content"], text);
    let (_, session) = stack
        .get(
            &format!("/chat/sessions/{session_id}"),
            &parties.tenant.access_token,
        )
        .await?;
    assert_eq!(session["contact_unlocked"], true);
    // Live messages are whole from now on too.
    let (stored, _) = deliver(
        &mut landlord,
        &mut tenant,
        &session_id,
        "or mail ada@example.ng",
    )
    .await?;
    assert_eq!(stored["content"], "or mail ada@example.ng");
    tenant.close().await?;
    landlord.close().await?;
    stack.stop().await
}
