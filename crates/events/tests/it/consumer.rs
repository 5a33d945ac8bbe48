//! Durable consumers: exactly-once effects over at-least-once delivery.

use std::time::Duration;

use async_nats::header::NATS_MESSAGE_ID;
use async_nats::jetstream::{self, consumer::pull, message::PublishMessage};
use bytes::Bytes;
use rentory_events::{ConsumerConfig, spawn_consumer};
use rentory_testkit::{nats_url, wait_until};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::support::{DEADLINE, Recorder, ServiceDb, TestStream, init_logs, jetstream, ping};

/// Publishes straight to JetStream (as the relay would) and says whether it was stored.
async fn publish(js: &jetstream::Context, subject: &str, id: Option<Uuid>, payload: Bytes) -> bool {
    let mut message = PublishMessage::build().payload(payload);
    if let Some(id) = id {
        message = message.header(NATS_MESSAGE_ID, id.to_string());
    }
    let ack = js
        .send_publish(subject.to_owned(), message)
        .await
        .unwrap()
        .await
        .unwrap();
    !ack.duplicate
}

fn encoded(text: &str) -> Bytes {
    prost::Message::encode_to_vec(&ping(text)).into()
}

async fn settled(js: &jetstream::Context, stream: &str, durable: &str) -> bool {
    let Ok(mut consumer) = js
        .get_consumer_from_stream::<pull::Config, _, _>(durable, stream)
        .await
    else {
        return false;
    };
    consumer
        .info()
        .await
        .is_ok_and(|info| info.num_pending == 0 && info.num_ack_pending == 0)
}

#[tokio::test]
async fn effects_apply_once_retries_come_back_and_permanent_failures_do_not() {
    init_logs();
    let db = ServiceDb::create().await;
    let js = jetstream(&nats_url()).await;
    let stream = TestStream::unique();
    // Made here with a short duplicate window so the same event can be stored twice,
    // which is what a consumer sees when an event is redelivered or re-published late.
    js.create_stream(jetstream::stream::Config {
        name: stream.settings.name.clone(),
        subjects: stream.settings.subjects.clone(),
        duplicate_window: Duration::from_millis(100),
        ..Default::default()
    })
    .await
    .unwrap();
    let subject = stream.subject("kyc.verification.approved");

    // Not from an outbox: terminated, and the consumer carries on.
    assert!(publish(&js, &subject, None, encoded("ok")).await);

    let ok = Uuid::now_v7();
    assert!(publish(&js, &subject, Some(ok), encoded("ok")).await);
    wait_until(
        DEADLINE,
        "JetStream to store a second copy of the event",
        || async { publish(&js, &subject, Some(ok), encoded("ok")).await },
    )
    .await
    .unwrap();

    let retry = Uuid::now_v7();
    publish(&js, &subject, Some(retry), encoded("retry-once")).await;
    let fail_apply = Uuid::now_v7();
    publish(&js, &subject, Some(fail_apply), encoded("fail-apply-once")).await;
    let permanent = Uuid::now_v7();
    publish(&js, &subject, Some(permanent), encoded("permanent")).await;
    let undecodable = Uuid::now_v7();
    publish(
        &js,
        &subject,
        Some(undecodable),
        Bytes::from_static(&[0xff, 0xff]),
    )
    .await;

    let durable = format!("c_{}", Uuid::new_v4().simple());
    let mut config =
        ConsumerConfig::new(&durable, [stream.subject(">")]).on_stream(&stream.settings.name);
    config.max_deliver = 5;
    let recorder = Recorder::default();
    let shutdown = CancellationToken::new();
    let task = spawn_consumer(
        db.pool.clone(),
        js.clone(),
        config,
        recorder.clone(),
        shutdown.clone(),
    )
    .unwrap();

    wait_until(
        DEADLINE,
        "three events applied and every delivery settled",
        || async {
            db.applied().await.len() == 3 && settled(&js, &stream.settings.name, &durable).await
        },
    )
    .await
    .unwrap();

    let applied = db.applied().await;
    assert_eq!(applied.get(&ok), Some(&1), "two copies, one effect");
    assert_eq!(applied.get(&retry), Some(&1));
    assert_eq!(
        applied.get(&fail_apply),
        Some(&1),
        "the failed apply's write rolled back"
    );
    assert_eq!(applied.get(&permanent), None);
    assert_eq!(applied.get(&undecodable), None);

    assert_eq!(db.applied_delivery(ok).await, 1);
    assert_eq!(db.applied_delivery(retry).await, 2);
    assert_eq!(db.applied_delivery(fail_apply).await, 2);

    // The second copy was recognised before any work was done.
    assert_eq!(recorder.prepared(ok), 1);
    assert_eq!(recorder.prepared(retry), 2);
    assert_eq!(recorder.prepared(fail_apply), 2);
    assert_eq!(recorder.prepared(permanent), 1, "not redelivered");
    assert_eq!(recorder.prepared(undecodable), 1, "not redelivered");

    let mut expected = vec![ok, retry, fail_apply];
    expected.sort();
    assert_eq!(db.processed(&durable).await, expected);

    shutdown.cancel();
    task.await.unwrap();
    stream.delete(&js).await;
    db.close().await;
}
