//! The outbox and the relay.

use async_nats::header::NATS_MESSAGE_ID;
use rentory_events::{Relay, enqueue, enqueue_bytes, notify_channel};
use rentory_testkit::{nats_url, wait_until};
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use crate::support::{
    DEADLINE, Ping, ServiceDb, TestStream, init_logs, jetstream, message_count, ping,
};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test]
async fn committed_events_are_published_and_rolled_back_ones_are_not() {
    init_logs();
    let db = ServiceDb::create().await;
    let js = jetstream(&nats_url()).await;
    let stream = TestStream::unique();
    stream.settings.ensure(&js).await.unwrap();
    // Idempotent: every service calls it at start-up.
    stream.settings.ensure(&js).await.unwrap();
    let shutdown = CancellationToken::new();
    let relay = Relay::new(db.pool.clone(), js.clone(), &db.schema).spawn(shutdown.clone());

    let committed = db
        .commit_event(&stream.subject("kyc.verification.approved"), "committed")
        .await;

    let mut tx = db.pool.begin().await.unwrap();
    let rolled_back = enqueue(
        &mut tx,
        &stream.subject("kyc.verification.rejected"),
        &ping("rolled back"),
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();

    // Committed after the rolled-back one, so once it is in the stream the relay has had
    // every chance to publish the other.
    let mut tx = db.pool.begin().await.unwrap();
    let traced = enqueue_bytes(
        &mut tx,
        &stream.subject("kyc.verification.approved"),
        &prost::Message::encode_to_vec(&ping("traced")),
        Some(TRACEPARENT),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    wait_until(DEADLINE, "two events in the stream", || async {
        message_count(&js, &stream.settings.name).await == 2
    })
    .await
    .unwrap();
    wait_until(DEADLINE, "the outbox to be marked published", || async {
        db.unpublished().await == 0
    })
    .await
    .unwrap();

    let nats_stream = js.get_stream(&stream.settings.name).await.unwrap();
    let first = nats_stream.get_raw_message(1).await.unwrap();
    let second = nats_stream.get_raw_message(2).await.unwrap();
    let id_of = |message: &async_nats::jetstream::message::StreamMessage| {
        message
            .headers
            .get(NATS_MESSAGE_ID)
            .unwrap()
            .as_str()
            .to_owned()
    };
    assert_eq!(id_of(&first), committed.to_string());
    assert_eq!(
        first.subject.as_str(),
        stream.subject("kyc.verification.approved")
    );
    let payload: Ping = prost::Message::decode(first.payload.clone()).unwrap();
    assert_eq!(payload, ping("committed"));
    assert!(first.headers.get("traceparent").is_none());

    assert_eq!(id_of(&second), traced.to_string());
    assert_eq!(
        second.headers.get("traceparent").unwrap().as_str(),
        TRACEPARENT
    );
    assert_ne!(id_of(&second), rolled_back.to_string());

    shutdown.cancel();
    relay.await.unwrap();
    stream.delete(&js).await;
    db.close().await;
}

#[tokio::test]
async fn a_republished_row_is_stored_once() {
    init_logs();
    let db = ServiceDb::create().await;
    let js = jetstream(&nats_url()).await;
    let stream = TestStream::unique();
    stream.settings.ensure(&js).await.unwrap();
    let relay = Relay::new(db.pool.clone(), js.clone(), &db.schema);

    db.commit_event(&stream.subject("lease.status.changed"), "once")
        .await;
    assert_eq!(relay.publish_pending().await.unwrap(), 1);
    assert_eq!(relay.publish_pending().await.unwrap(), 0);

    // A relay that crashed after JetStream stored the event but before its UPDATE
    // committed leaves the row unpublished; the next round sends it again.
    sqlx::query("UPDATE outbox SET published_at = NULL")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(relay.publish_pending().await.unwrap(), 1);

    assert_eq!(message_count(&js, &stream.settings.name).await, 1);
    assert_eq!(db.unpublished().await, 0);

    stream.delete(&js).await;
    db.close().await;
}

#[tokio::test]
async fn rows_claimed_by_another_relay_are_skipped() {
    init_logs();
    let db = ServiceDb::create().await;
    let js = jetstream(&nats_url()).await;
    let stream = TestStream::unique();
    stream.settings.ensure(&js).await.unwrap();
    let relay = Relay::new(db.pool.clone(), js.clone(), &db.schema);
    db.commit_event(&stream.subject("x.y.z"), "claimed").await;

    // Another replica's round in progress holds the row lock.
    let mut other = db.pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM outbox FOR UPDATE")
        .fetch_all(&mut *other)
        .await
        .unwrap();
    assert_eq!(relay.publish_pending().await.unwrap(), 0);
    other.rollback().await.unwrap();
    assert_eq!(relay.publish_pending().await.unwrap(), 1);

    stream.delete(&js).await;
    db.close().await;
}

#[tokio::test]
async fn enqueue_notifies_the_relay_on_commit_only() {
    init_logs();
    let db = ServiceDb::create().await;
    let mut listener = PgListener::connect_with(&db.pool).await.unwrap();
    listener.listen(&notify_channel(&db.schema)).await.unwrap();

    let mut tx = db.pool.begin().await.unwrap();
    enqueue(&mut tx, "rentory.test.rolled.back", &ping("no"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    // Notifications arrive in commit order: had the rollback notified, its (empty)
    // notification would come before this marker.
    sqlx::query("SELECT pg_notify($1, 'marker')")
        .bind(notify_channel(&db.schema))
        .execute(&db.pool)
        .await
        .unwrap();
    db.commit_event("rentory.test.committed.event", "yes").await;

    assert_eq!(listener.recv().await.unwrap().payload(), "marker");
    let notification = listener.recv().await.unwrap();
    assert_eq!(notification.channel(), notify_channel(&db.schema));
    assert_eq!(notification.payload(), "");

    drop(listener);
    db.close().await;
}

/// Writers that skip the NOTIFY (chat's send statement) wake the relay in-process.
#[tokio::test]
async fn a_waker_publishes_rows_written_without_notify() {
    init_logs();
    let db = ServiceDb::create().await;
    let js = jetstream(&nats_url()).await;
    let stream = TestStream::unique();
    stream.settings.ensure(&js).await.unwrap();
    let shutdown = CancellationToken::new();
    // Polling effectively off: only a NOTIFY or the waker starts a round.
    let relay = Relay::new(db.pool.clone(), js.clone(), &db.schema)
        .with_poll_interval(std::time::Duration::from_secs(3600));
    let waker = relay.waker();
    let relay = relay.spawn(shutdown.clone());

    // Once this notified event is out, the relay is idle, waiting to be woken.
    db.commit_event(&stream.subject("chat.message.sent"), "notified")
        .await;
    wait_until(DEADLINE, "the notified event in the stream", || async {
        message_count(&js, &stream.settings.name).await == 1
    })
    .await
    .unwrap();

    sqlx::query("INSERT INTO outbox (id, subject, payload) VALUES ($1, $2, $3)")
        .bind(uuid::Uuid::now_v7())
        .bind(stream.subject("chat.message.sent"))
        .bind(prost::Message::encode_to_vec(&ping("not notified")))
        .execute(&db.pool)
        .await
        .unwrap();
    waker.wake();
    wait_until(DEADLINE, "the woken event in the stream", || async {
        message_count(&js, &stream.settings.name).await == 2
    })
    .await
    .unwrap();
    // The relay marks a row published after JetStream acknowledges it, so the stream can
    // hold the message a moment before the row says so.
    wait_until(DEADLINE, "the woken row marked published", || async {
        db.unpublished().await == 0
    })
    .await
    .unwrap();

    shutdown.cancel();
    relay.await.unwrap();
    stream.delete(&js).await;
    db.close().await;
}

#[tokio::test]
async fn unpublishable_events_are_refused_at_enqueue() {
    init_logs();
    let db = ServiceDb::create().await;
    let mut tx = db.pool.begin().await.unwrap();
    for subject in ["", "rentory.*.x", "rentory..x", "has space"] {
        assert!(
            enqueue(&mut tx, subject, &ping("x")).await.is_err(),
            "{subject:?}"
        );
    }
    let huge = vec![0_u8; rentory_events::MAX_PAYLOAD_BYTES + 1];
    assert!(
        enqueue_bytes(&mut tx, "rentory.a.b.c", &huge, None)
            .await
            .is_err()
    );
    tx.rollback().await.unwrap();
    db.close().await;
}
