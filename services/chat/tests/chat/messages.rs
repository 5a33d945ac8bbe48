//! Sending (limits, idempotent resends, interventions, the event), history paging and read
//! markers.

use std::collections::HashSet;

use futures::future::join_all;
use prost::Message as _;
use rentory_auth::{Role, StaffPosition, UserStatus};
use rentory_proto::events::v1::ChatMessageSent;
use rentory_runtime::rpc_error::{Reason, decode};
use tonic::Code;
use uuid::Uuid;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_stored_with_its_event_and_interventions_are_flagged() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    let before = app.get(&chat.tenant, chat.id()).await.unwrap();

    let sent = app
        .send(
            &chat.tenant,
            chat.id(),
            "  Is the flat still available?\n",
            "c-1",
        )
        .await
        .unwrap();
    assert_eq!(sent.content, "Is the flat still available?");
    assert_eq!(sent.sender_id, chat.tenant.id.to_string());
    assert_eq!(sent.sender_role, "TENANT");
    assert_eq!(sent.session_id, chat.session.id);
    assert_eq!(sent.client_id, "c-1");
    assert!(!sent.is_read && !sent.is_admin_intervention);
    let after = app.get(&chat.tenant, chat.id()).await.unwrap();
    assert!(at(after.last_updated) > at(before.last_updated));

    let reply = app
        .send(&chat.landlord, chat.id(), "Yes, come on Saturday", "")
        .await
        .unwrap();
    assert_eq!(reply.sender_role, "LANDLORD");
    assert_eq!(reply.client_id, "");
    for (supervisor, role) in [
        (app.user(Role::Admin), "ADMIN"),
        (app.staff(StaffPosition::SupportLead), "STAFF"),
    ] {
        let note = app
            .send(
                &supervisor,
                chat.id(),
                "Rentory support here: please keep payments on the platform",
                "",
            )
            .await
            .unwrap();
        assert!(note.is_admin_intervention);
        assert_eq!(note.sender_role, role);
    }
    let transcript = app.transcript(&chat.landlord, chat.id()).await;
    assert_eq!(transcript.len(), 4);
    assert_eq!(transcript[0], sent, "history shows what the send answered");
    assert_eq!(
        transcript
            .iter()
            .map(|m| m.is_admin_intervention)
            .collect::<Vec<_>>(),
        [false, false, true, true]
    );

    // Each message announced once, to the other participants, without its content.
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM chat.outbox WHERE subject = 'rentory.chat.message.sent' ORDER BY created_at, id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(payloads.len(), 4);
    let first = ChatMessageSent::decode(payloads[0].as_slice()).unwrap();
    assert_eq!(first.message_id, sent.id);
    assert_eq!(first.session_id, chat.session.id);
    assert_eq!(first.property_id, chat.property_id.to_string());
    assert_eq!(first.sender_id, chat.tenant.id.to_string());
    assert_eq!(first.recipient_ids, [chat.landlord.id.to_string()]);
    assert_eq!(first.at, sent.created_at);
    let support = ChatMessageSent::decode(payloads[3].as_slice()).unwrap();
    assert!(support.is_admin_intervention);
    assert_eq!(support.recipient_ids.len(), 2);
    // The relay publishes them (woken by the NOTIFY the send statement raises).
    wait_until_relayed(&app).await;
    app.stop().await;
}

async fn wait_until_relayed(app: &TestApp) {
    rentory_testkit::wait_until(EVENTUALLY, "the outbox to be relayed", || async {
        app.count("SELECT count(*) FROM chat.outbox WHERE published_at IS NULL")
            .await
            == 0
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_and_client_ids_are_checked_and_only_active_accounts_post() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    let cases = [
        ("", "", "content"),
        (" \n\t ", "", "content"),
        (&"a".repeat(4001), "", "content"),
        ("ring \u{7}", "", "content"),
        ("fine", "has space", "client_id"),
        ("fine", &"x".repeat(65), "client_id"),
    ];
    for (content, client_id, field) in cases {
        let status = assert_reason(
            app.send(&chat.tenant, chat.id(), content, client_id).await,
            Code::InvalidArgument,
            Reason::ValidationFailed,
        );
        let fields: Vec<String> = decode(&status)
            .field_violations
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, [field]);
    }
    let both = app.send(&chat.tenant, chat.id(), "", "bad id").await;
    assert_eq!(
        decode(&both.unwrap_err()).field_violations.len(),
        2,
        "every bad field is named at once"
    );
    let longest = "ẞ".repeat(4000);
    let sent = app
        .send(&chat.tenant, chat.id(), &longest, "")
        .await
        .unwrap();
    assert_eq!(sent.content, longest);

    // The same tenant with a PENDING (or suspended) account may read but not post.
    for status in [UserStatus::Pending, UserStatus::Suspended] {
        let held = app.user_with(chat.tenant.id, Role::Tenant, status, None);
        assert_reason(
            app.send(&held, chat.id(), "hello", "").await,
            Code::PermissionDenied,
            Reason::AccountNotActive,
        );
        app.history(&held, chat.id(), None, None, 10).await.unwrap();
    }
    assert_eq!(app.count("SELECT count(*) FROM chat.messages").await, 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_client_id_returns_the_first_message_even_when_resends_race() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    let mut room = app.room(chat.id()).await;

    let first = app
        .send(&chat.tenant, chat.id(), "Can I view it today?", "phone-42")
        .await
        .unwrap();
    let resent = app
        .send(
            &chat.tenant,
            chat.id(),
            "Can I view it today? (retry)",
            "phone-42",
        )
        .await
        .unwrap();
    assert_eq!(resent, first);

    let racing =
        join_all((0..10).map(|_| app.send(&chat.tenant, chat.id(), "burst", "burst-1"))).await;
    let ids: HashSet<String> = racing.into_iter().map(|m| m.unwrap().id).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");

    // The same client id from the other side is another message.
    let other = app
        .send(&chat.landlord, chat.id(), "Yes", "phone-42")
        .await
        .unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(app.count("SELECT count(*) FROM chat.messages").await, 3);
    assert_eq!(
        app.count("SELECT count(*) FROM chat.outbox WHERE subject = 'rentory.chat.message.sent'")
            .await,
        3
    );
    // One live event per message: the room sees the three in order and nothing else.
    assert_eq!(room.next_message().await.id, first.id);
    assert!(ids.contains(&room.next_message().await.id));
    assert_eq!(room.next_message().await.id, other.id);
    let marker = app
        .send(&chat.tenant, chat.id(), "marker", "")
        .await
        .unwrap();
    assert_eq!(room.next_message().await.id, marker.id);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_both_ways_without_gaps_or_duplicates() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    let mut sent = Vec::new();
    for i in 0..23 {
        let sender = if i % 3 == 0 {
            &chat.landlord
        } else {
            &chat.tenant
        };
        sent.push(
            app.send(sender, chat.id(), &format!("message {i}"), "")
                .await
                .unwrap()
                .id,
        );
    }

    // Back from the newest, seven at a time.
    let mut back = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = app
            .history(&chat.tenant, chat.id(), before.as_deref(), None, 7)
            .await
            .unwrap();
        assert!(page.messages.len() <= 7);
        back.extend(page.messages.iter().map(|m| m.id.clone()));
        if !page.has_more {
            break;
        }
        before = page.messages.last().map(|m| m.id.clone());
    }
    let newest_first: Vec<String> = sent.iter().rev().cloned().collect();
    assert_eq!(back, newest_first);

    // Forward from the third message: what a client that saw it missed.
    let mut forward = Vec::new();
    let mut after = sent[2].clone();
    loop {
        let page = app
            .history(&chat.landlord, chat.id(), None, Some(&after), 5)
            .await
            .unwrap();
        forward.extend(page.messages.iter().map(|m| m.id.clone()));
        if !page.has_more {
            break;
        }
        after = page.messages.last().unwrap().id.clone();
    }
    assert_eq!(forward, sent[3..]);
    let caught_up = app
        .history(&chat.tenant, chat.id(), None, Some(sent.last().unwrap()), 0)
        .await
        .unwrap();
    assert!(caught_up.messages.is_empty() && !caught_up.has_more);
    let default_page = app
        .history(&chat.tenant, chat.id(), None, None, 0)
        .await
        .unwrap();
    assert_eq!(default_page.messages.len(), 23);

    // Cursors must name a message of this session; one direction at a time.
    let elsewhere = app.chat().await;
    let foreign = app
        .send(&elsewhere.tenant, elsewhere.id(), "hi", "")
        .await
        .unwrap();
    for (before, after) in [
        (Some(foreign.id.as_str()), None),
        (None, Some(foreign.id.as_str())),
        (None, Some("not-an-id")),
        (Some(sent[1].as_str()), Some(sent[2].as_str())),
    ] {
        assert_reason(
            app.history(&chat.tenant, chat.id(), before, after, 10)
                .await,
            Code::InvalidArgument,
            Reason::ValidationFailed,
        );
    }
    assert_reason(
        app.history(&chat.tenant, chat.id(), None, None, 101).await,
        Code::InvalidArgument,
        Reason::ValidationFailed,
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_committed_while_a_reader_pages_forward_are_never_skipped() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    let start = app
        .send(&chat.tenant, chat.id(), "start", "")
        .await
        .unwrap();
    let (app_ref, id) = (&app, chat.id());
    let senders = [&chat.tenant, &chat.landlord];
    let writing = async {
        join_all(senders.into_iter().flat_map(|sender| {
            (0..20)
                .map(move |i| async move { app_ref.send(sender, id, &format!("m{i}"), "").await })
        }))
        .await
    };
    let reading = async {
        let mut seen = Vec::new();
        let mut after = start.id.clone();
        while seen.len() < 40 {
            let page = app
                .history(&chat.landlord, chat.id(), None, Some(&after), 3)
                .await
                .unwrap();
            if let Some(last) = page.messages.last() {
                after = last.id.clone();
            }
            seen.extend(page.messages.into_iter().map(|m| m.id));
        }
        seen
    };
    let reading = tokio::time::timeout(std::time::Duration::from_secs(60), reading);
    let (written, seen) = tokio::join!(writing, reading);
    let seen = seen.expect("the reader saw all 40 messages (none skipped)");
    let written: HashSet<String> = written.into_iter().map(|m| m.unwrap().id).collect();
    assert_eq!(seen.len(), 40, "no duplicates");
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), written, "no gaps");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_markers_mark_the_other_sides_messages_and_never_move_back() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    let mut room = app.room(chat.id()).await;
    let mine = app
        .send(&chat.tenant, chat.id(), "hello", "")
        .await
        .unwrap();
    let mut theirs = Vec::new();
    for text in ["one", "two", "three"] {
        theirs.push(app.send(&chat.landlord, chat.id(), text, "").await.unwrap());
    }
    for _ in 0..4 {
        room.next_message().await;
    }

    let marker = app
        .mark_read(&chat.tenant, chat.id(), &theirs[1].id)
        .await
        .unwrap();
    assert_eq!(marker.message_id, theirs[1].id);
    assert_eq!(marker.reader_id, chat.tenant.id.to_string());
    assert_eq!(marker.session_id, chat.session.id);
    let read: Vec<(String, bool)> = app
        .transcript(&chat.landlord, chat.id())
        .await
        .into_iter()
        .map(|m| (m.content, m.is_read))
        .collect();
    assert_eq!(
        read,
        [
            ("hello".to_owned(), false),
            ("one".to_owned(), true),
            ("two".to_owned(), true),
            ("three".to_owned(), false)
        ]
    );
    match room.next().await.0.event {
        Some(rentory_proto::chat::v1::room_event::Event::Read(live)) => assert_eq!(live, marker),
        other => panic!("expected a read event, got {other:?}"),
    }

    // Marking an older message keeps the marker where it is.
    let kept = app
        .mark_read(&chat.tenant, chat.id(), &theirs[0].id)
        .await
        .unwrap();
    assert_eq!(kept, marker);
    let moved = app
        .mark_read(&chat.tenant, chat.id(), &theirs[2].id)
        .await
        .unwrap();
    assert_eq!(moved.message_id, theirs[2].id);
    assert!(at(moved.at) >= at(marker.at));
    // Only "moved" went out live after "marker": the kept one published nothing.
    match room.next().await.0.event {
        Some(rentory_proto::chat::v1::room_event::Event::Read(live)) => assert_eq!(live, moved),
        other => panic!("expected a read event, got {other:?}"),
    }

    // The landlord reading the tenant's message marks only that.
    app.mark_read(&chat.landlord, chat.id(), &theirs[2].id)
        .await
        .unwrap();
    let transcript = app.transcript(&chat.tenant, chat.id()).await;
    assert!(transcript[0].is_read, "{:?}", transcript[0]);
    assert_eq!(transcript[0].id, mine.id);

    // Only participants mark; the message must be in the session.
    assert_reason(
        app.mark_read(&app.user(Role::Admin), chat.id(), &theirs[0].id)
            .await,
        Code::PermissionDenied,
        Reason::Forbidden,
    );
    let elsewhere = app.chat().await;
    let foreign = app
        .send(&elsewhere.tenant, elsewhere.id(), "x", "")
        .await
        .unwrap();
    assert_reason(
        app.mark_read(&chat.tenant, chat.id(), &foreign.id).await,
        Code::NotFound,
        Reason::NotFound,
    );
    assert_reason(
        app.mark_read(&chat.tenant, chat.id(), &Uuid::now_v7().to_string())
            .await,
        Code::NotFound,
        Reason::NotFound,
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guide_changed_behind_the_cache_is_noticed_before_anything_is_written() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    let (first, second) = (app.user(Role::Guide), app.user(Role::Guide));
    app.assign_guide(&app.user(Role::Admin), chat.id(), first.id)
        .await
        .unwrap();
    // Warm this instance's memory of the session.
    app.send(&first, chat.id(), "hello, I am your guide", "")
        .await
        .unwrap();

    // Another instance reassigns the session (here: straight in the database).
    let reassign = |guide: Uuid| {
        sqlx::query("UPDATE chat.chat_sessions SET assigned_guide_id = $1 WHERE id = $2")
            .bind(guide)
            .bind(uuid(chat.id()))
            .execute(&app.pool)
    };
    reassign(second.id).await.unwrap();
    // Refused on what this instance remembers, the new guide is let in on fresh facts.
    app.send(&second, chat.id(), "I am taking over", "")
        .await
        .unwrap();
    reassign(first.id).await.unwrap();
    // Allowed on what it remembers, the replaced guide writes nothing.
    assert_no_session(app.send(&second, chat.id(), "still here?", "").await);
    let contents = app.contents(&chat.tenant, chat.id()).await;
    assert_eq!(contents, ["hello, I am your guide", "I am taking over"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_takes_its_place_in_the_order_only_once_it_holds_the_session() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    app.send(&chat.tenant, chat.id(), "first", "")
        .await
        .unwrap();

    // Another writer holds the session (as a send in flight on another instance does).
    let mut other = app.pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM chat.chat_sessions WHERE id = $1 FOR UPDATE")
        .bind(uuid(chat.id()))
        .execute(&mut *other)
        .await
        .unwrap();
    let waiting = app.send(&chat.landlord, chat.id(), "waited for the session", "");
    let finish_other = async {
        rentory_testkit::wait_until(EVENTUALLY, "the send to wait for the session", || async {
            app.count(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .await
                == 1
        })
        .await
        .unwrap();
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO chat.messages (id, session_id, sender_id, sender_role, content) \
             VALUES ($1, $2, $3, 'TENANT', 'committed first')",
        )
        .bind(id)
        .bind(uuid(chat.id()))
        .bind(chat.tenant.id)
        .execute(&mut *other)
        .await
        .unwrap();
        other.commit().await.unwrap();
        id
    };
    let (waited, committed_first) = tokio::join!(waiting, finish_other);
    let waited = waited.unwrap();
    // Order follows commits: a reader that saw the waiting message cannot miss the other.
    let order: Vec<String> = app
        .transcript(&chat.tenant, chat.id())
        .await
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(order[1..], [committed_first.to_string(), waited.id]);
    app.stop().await;
}
