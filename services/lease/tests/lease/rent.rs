use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use prost::Message as _;
use rentory_proto::events::v1::{LeaseStatusChanged, TransactionRefunded, TransactionSucceeded};
use rentory_testkit::wait_until;
use uuid::Uuid;

use crate::support::*;

const SUCCEEDED: &str = "rentory.payments.transaction.succeeded";
const REFUNDED: &str = "rentory.payments.transaction.refunded";

fn paid(lease_id: &str, payer: Uuid, transaction: Uuid, amount: i64) -> TransactionSucceeded {
    TransactionSucceeded {
        transaction_id: transaction.to_string(),
        reference: format!("rnt_{}", transaction.simple()),
        r#type: "RENT".into(),
        payer_id: payer.to_string(),
        property_id: None,
        lease_id: Some(lease_id.to_owned()),
        amount_kobo: amount,
        at: Some(rentory_proto::timestamp(time::OffsetDateTime::now_utc())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rent_payments_are_recorded_once_with_a_receipt_and_refunds_marked() {
    let app = TestApp::spawn().await;
    let deal = app.deal();
    let lease = app.fully_signed(&deal).await;
    let due = app.rent_due(&deal.tenant, &lease.id).await;
    assert_eq!(
        (due.period_number, due.amount_kobo, due.paid_in_full),
        (1, 250_000_000, false)
    );
    assert_eq!(due.status, "FULLY_SIGNED");
    assert_eq!(due.period_start, lease.terms.as_ref().unwrap().start_date);

    // A contact unlock is not rent: ignored.
    let mut unlock = paid(&lease.id, deal.tenant.id, Uuid::now_v7(), 500_000);
    unlock.r#type = "CONTACT_UNLOCK".into();
    app.publish_event(Uuid::now_v7(), SUCCEEDED, &unlock).await;

    let transaction = Uuid::now_v7();
    let event = paid(&lease.id, deal.tenant.id, transaction, 250_000_000);
    let event_id = Uuid::now_v7();
    app.publish_event(event_id, SUCCEEDED, &event).await;
    wait_until(EVENTUALLY, "the rent payment to be recorded", || async {
        app.payments(&deal.tenant, &lease.id).await.len() == 1
    })
    .await
    .unwrap();
    let payments = app.payments(&deal.landlord, &lease.id).await;
    let p = &payments[0];
    assert_eq!(p.transaction_id, transaction.to_string());
    assert_eq!(
        (p.period_number, p.amount_kobo, p.refunded),
        (1, 250_000_000, false)
    );
    assert_eq!(p.period_start, due.period_start);
    assert_eq!(p.period_end, due.period_end);
    let prefix = &lease.id.replace('-', "")[..8];
    assert_eq!(p.receipt_number, format!("RR-{prefix}-0001"));
    for part in [
        "Received from (tenant): Tunde Bakare",
        "Received by (landlord): Adaeze O\\_Kafor",
        "Premises: 12 Herbert Macaulay Way, Yaba, Lagos",
        "Amount: NGN 2,500,000.00 (250000000 kobo)",
        "section 5 of the Lagos State Tenancy Law 2011",
    ] {
        assert!(
            p.receipt_markdown.contains(part),
            "{part}\n{}",
            p.receipt_markdown
        );
    }
    assert!(p.receipt_markdown.contains(&lease.id));
    let next = app.rent_due(&deal.tenant, &lease.id).await;
    assert_eq!(
        (next.period_number, next.amount_kobo, next.paid_in_full),
        (2, 250_000_000, false)
    );
    assert_eq!(next.period_start, p.period_end);

    // A redelivery (same event id) and a republish under a new id change nothing.
    app.publish_event(event_id, SUCCEEDED, &event).await;
    app.publish_event(Uuid::now_v7(), SUCCEEDED, &event).await;
    // A later event proves the earlier ones were handled (one consumer, in order).
    let marker = paid(&lease.id, deal.tenant.id, Uuid::now_v7(), 250_000_000);
    app.publish_event(Uuid::now_v7(), SUCCEEDED, &marker).await;
    wait_until(EVENTUALLY, "the second period's payment", || async {
        app.payments(&deal.tenant, &lease.id).await.len() == 2
    })
    .await
    .unwrap();
    let payments = app.payments(&deal.tenant, &lease.id).await;
    assert_eq!(payments[1].transaction_id, marker.transaction_id);
    assert_eq!(payments[1].period_number, 2);
    assert_eq!(payments[1].receipt_number, format!("RR-{prefix}-0002"));
    assert_eq!(payments[1].period_start, payments[0].period_end);
    let due = app.rent_due(&deal.tenant, &lease.id).await;
    assert!(due.paid_in_full, "24 months of yearly rent is two payments");
    assert_eq!(due.amount_kobo, 0);

    // A refund marks the payment; the receipt stays, and the period is owed again.
    let refund = TransactionRefunded {
        transaction_id: marker.transaction_id.clone(),
        reference: marker.reference.clone(),
        r#type: "RENT".into(),
        payer_id: marker.payer_id.clone(),
        property_id: None,
        lease_id: Some(lease.id.clone()),
        amount_kobo: 250_000_000,
        actor_id: Uuid::now_v7().to_string(),
        reason: "duplicate".into(),
        at: Some(rentory_proto::timestamp(time::OffsetDateTime::now_utc())),
    };
    app.publish_event(Uuid::now_v7(), REFUNDED, &refund).await;
    wait_until(EVENTUALLY, "the refund to be marked", || async {
        app.payments(&deal.tenant, &lease.id).await[1].refunded
    })
    .await
    .unwrap();
    let due = app.rent_due(&deal.tenant, &lease.id).await;
    assert_eq!((due.period_number, due.paid_in_full), (2, false));
    assert_eq!(
        app.count("SELECT count(*) FROM lease.rent_payments").await,
        2,
        "nothing was recorded twice"
    );

    // Period 2 is paid again; then period 1's payment is refunded while period 2 stands.
    // Period 1 is owed next (not a third period), and its new payment settles it.
    let again = paid(&lease.id, deal.tenant.id, Uuid::now_v7(), 250_000_000);
    app.publish_event(Uuid::now_v7(), SUCCEEDED, &again).await;
    wait_until(EVENTUALLY, "period 2 paid again", || async {
        app.payments(&deal.tenant, &lease.id).await.len() == 3
    })
    .await
    .unwrap();
    assert_eq!(
        app.payments(&deal.tenant, &lease.id).await[2].period_number,
        2
    );
    let first_refund = TransactionRefunded {
        transaction_id: event.transaction_id.clone(),
        reference: event.reference.clone(),
        ..refund.clone()
    };
    app.publish_event(Uuid::now_v7(), REFUNDED, &first_refund)
        .await;
    wait_until(EVENTUALLY, "period 1's refund", || async {
        app.payments(&deal.tenant, &lease.id).await[0].refunded
    })
    .await
    .unwrap();
    let due = app.rent_due(&deal.tenant, &lease.id).await;
    assert_eq!((due.period_number, due.paid_in_full), (1, false));
    assert_eq!(due.period_start, p.period_start);
    let settle = paid(&lease.id, deal.tenant.id, Uuid::now_v7(), 250_000_000);
    app.publish_event(Uuid::now_v7(), SUCCEEDED, &settle).await;
    wait_until(EVENTUALLY, "period 1 paid again", || async {
        app.payments(&deal.tenant, &lease.id).await.len() == 4
    })
    .await
    .unwrap();
    let payments = app.payments(&deal.tenant, &lease.id).await;
    assert_eq!(payments[3].period_number, 1);
    assert_eq!(payments[3].receipt_number, format!("RR-{prefix}-0004"));
    assert!(app.rent_due(&deal.tenant, &lease.id).await.paid_in_full);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_changes_are_published_through_the_outbox() {
    let app = TestApp::spawn().await;
    let deal = app.deal();
    let draft = app.draft(&deal).await;
    app.edit(&deal.landlord, &draft.id, &draft.content, None)
        .await
        .unwrap();
    let lease = app.fully_signed_from(&deal, &draft).await;

    let client = async_nats::connect(app.nats.url()).await.unwrap();
    let js = jetstream::new(client);
    let stream = wait_for_stream(&js).await;
    let consumer = stream
        .create_consumer(pull::Config {
            filter_subject: lease::STATUS_CHANGED.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let message = tokio::time::timeout(EVENTUALLY, messages.next())
            .await
            .expect("an event in time")
            .unwrap()
            .unwrap();
        let event = LeaseStatusChanged::decode(message.payload.clone()).unwrap();
        assert_eq!(event.lease_id, lease.id);
        assert_eq!(event.property_id, deal.property_id.to_string());
        assert_eq!(event.tenant_id, deal.tenant.id.to_string());
        assert_eq!(event.content_sha256, lease.content_sha256);
        seen.push((
            event.from_status,
            event.to_status,
            event.actor_id,
            event.version,
        ));
        message.ack().await.unwrap();
    }
    let l = deal.landlord.id.to_string();
    let t = deal.tenant.id.to_string();
    assert_eq!(seen[0], (None, "DRAFT".into(), l.clone(), 1));
    assert_eq!(
        seen[1],
        (Some("DRAFT".into()), "SIGNED_BY_LANDLORD".into(), l, 2)
    );
    assert_eq!(
        seen[2],
        (
            Some("SIGNED_BY_LANDLORD".into()),
            "PENDING_ADMIN".into(),
            t,
            2
        )
    );
    assert_eq!(seen[3].1, "FULLY_SIGNED");
    // The edit was not announced: no fifth event.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), messages.next())
            .await
            .is_err()
    );
    app.stop().await;
}

async fn wait_for_stream(js: &jetstream::Context) -> jetstream::stream::Stream {
    let deadline = tokio::time::Instant::now() + EVENTUALLY;
    loop {
        if let Ok(stream) = js.get_stream(rentory_events::STREAM).await {
            return stream;
        }
        assert!(tokio::time::Instant::now() < deadline, "the stream exists");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
