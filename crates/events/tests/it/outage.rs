//! NATS going away and coming back, with a private server so the shared one is untouched.

use std::time::Instant;

use async_nats::connection::State;
use rentory_events::{ConsumerConfig, Relay, STREAM, ensure_stream, spawn_consumer};
use rentory_testkit::{NatsServer, wait_until};
use tokio_util::sync::CancellationToken;

use crate::support::{
    DEADLINE, Recorder, ServiceDb, TestStream, init_logs, jetstream, message_count,
};

#[tokio::test]
async fn events_committed_while_nats_is_down_arrive_once_after_it_returns() {
    init_logs();
    let mut nats = NatsServer::spawn().await.unwrap();
    let db = ServiceDb::create().await;
    let js = jetstream(&nats.url()).await;
    // The production stream and subjects: this server is ours alone.
    ensure_stream(&js).await.unwrap();

    let shutdown = CancellationToken::new();
    let relay = Relay::new(db.pool.clone(), js.clone(), &db.schema).spawn(shutdown.clone());
    let recorder = Recorder::default();
    let consumer = spawn_consumer(
        db.pool.clone(),
        js.clone(),
        ConsumerConfig::new("outage_test", ["rentory.test.>"]),
        recorder.clone(),
        shutdown.clone(),
    )
    .unwrap();

    let before = db.commit_event("rentory.test.thing.before", "ok").await;
    wait_until(
        DEADLINE,
        "the event before the outage to be applied",
        || async { db.applied().await.contains_key(&before) },
    )
    .await
    .unwrap();

    nats.stop().await.unwrap();
    wait_until(DEADLINE, "the client to notice NATS is gone", || async {
        js.client().connection_state() != State::Connected
    })
    .await
    .unwrap();
    let mut during = Vec::new();
    for _ in 0..5 {
        // The business transaction does not depend on NATS.
        during.push(db.commit_event("rentory.test.thing.during", "ok").await);
    }
    assert_eq!(
        db.unpublished().await,
        5,
        "held in the outbox while NATS is down"
    );

    let restarted = Instant::now();
    nats.start().await.unwrap();
    wait_until(DEADLINE, "all six events to be applied", || async {
        db.applied().await.len() == 6
    })
    .await
    .unwrap();
    wait_until(DEADLINE, "the outbox to be marked published", || async {
        db.unpublished().await == 0
    })
    .await
    .unwrap();
    eprintln!("recovered {:?} after NATS restarted", restarted.elapsed());

    let applied = db.applied().await;
    for id in during.iter().chain([&before]) {
        assert_eq!(applied.get(id), Some(&1), "event {id}");
    }
    assert_eq!(db.processed("outage_test").await.len(), 6);
    assert_eq!(
        message_count(&js, STREAM).await,
        6,
        "no duplicates in the stream"
    );

    shutdown.cancel();
    relay.await.unwrap();
    consumer.await.unwrap();
    db.close().await;
}

#[tokio::test]
async fn a_service_can_connect_before_nats_is_up() {
    init_logs();
    let mut nats = NatsServer::spawn().await.unwrap();
    nats.stop().await.unwrap();

    let shutdown = CancellationToken::new();
    let stream = TestStream::unique();
    let js = rentory_events::connect(&nats.url(), stream.settings.clone(), &shutdown)
        .await
        .unwrap();

    nats.start().await.unwrap();
    wait_until(
        DEADLINE,
        "the stream to be created once NATS is up",
        || async { js.get_stream(&stream.settings.name).await.is_ok() },
    )
    .await
    .unwrap();
    shutdown.cancel();
}
