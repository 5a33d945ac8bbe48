//! The live fan-out on core NATS `chat.session.<id>`, and sending while NATS is down.

use std::time::{Duration, Instant};

use rentory_proto::chat::v1::room_event::Event;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_of_the_room_gets_each_stored_message() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    // Two gateway instances with members in the room, and one for another room.
    let mut first = app.room(chat.id()).await;
    let mut second = app.room(chat.id()).await;
    let other = app.chat().await;
    let mut elsewhere = app.room(other.id()).await;

    let sent = app
        .send(&chat.tenant, chat.id(), "Good morning", "m-1")
        .await
        .unwrap();
    for room in [&mut first, &mut second] {
        let (event, _) = room.next().await;
        assert_eq!(event.session_id, chat.session.id);
        assert!(event.origin.is_empty());
        assert_eq!(event.event, Some(Event::Message(sent.clone())));
    }
    let there = app.send(&other.tenant, other.id(), "hi", "").await.unwrap();
    assert_eq!(
        elsewhere.next_message().await.id,
        there.id,
        "rooms do not mix"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nats_down_messages_are_still_stored_and_history_has_them() {
    let mut app = TestApp::spawn().await;
    let chat = app.chat().await;
    app.send(&chat.tenant, chat.id(), "before", "")
        .await
        .unwrap();

    app.nats.stop().await.unwrap();
    let started = Instant::now();
    let during = app
        .send(&chat.landlord, chat.id(), "while NATS is down", "")
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a send does not wait for NATS: {:?}",
        started.elapsed()
    );
    let missed = app
        .history(&chat.tenant, chat.id(), None, None, 10)
        .await
        .unwrap();
    assert_eq!(missed.messages[0].id, during.id);
    assert!(
        app.count("SELECT count(*) FROM chat.outbox WHERE published_at IS NULL")
            .await
            >= 1,
        "its event waits in the outbox"
    );

    app.nats.start().await.unwrap();
    rentory_testkit::wait_until(
        EVENTUALLY,
        "the outbox to drain after NATS returns",
        || async {
            app.count("SELECT count(*) FROM chat.outbox WHERE published_at IS NULL")
                .await
                == 0
        },
    )
    .await
    .unwrap();
    // The relay's connection is the room's: live delivery is back too.
    let mut room = app.room(chat.id()).await;
    let after = app
        .send(&chat.tenant, chat.id(), "after", "")
        .await
        .unwrap();
    assert_eq!(room.next_message().await.id, after.id);
    app.stop().await;
}
