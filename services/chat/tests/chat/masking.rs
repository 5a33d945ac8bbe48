//! The unlock-bypass guard end to end: masked for everyone (answer, history, live) until the
//! tenant's CONTACT_UNLOCK succeeds, whole afterwards, masked again after a refund.

use rentory_auth::{Role, StaffPosition};
use rentory_proto::events::v1::{TransactionRefunded, TransactionSucceeded};
use uuid::Uuid;

use crate::support::*;

const CONTACT: &str = "Call me on 0803 123 4567 or write to ada.obi@gmail.com";
const MASKED: &str = "Call me on [phone hidden until contact is unlocked] or write to [email hidden until contact is unlocked]";

fn paid(tenant: Uuid, property: Uuid, transaction: Uuid, kind: &str) -> TransactionSucceeded {
    TransactionSucceeded {
        transaction_id: transaction.to_string(),
        reference: format!("RTY-{transaction}"),
        r#type: kind.into(),
        payer_id: tenant.to_string(),
        property_id: Some(property.to_string()),
        lease_id: None,
        amount_kobo: 500_000,
        at: None,
    }
}

/// Staff refunding `payment`.
fn refunded(payment: TransactionSucceeded) -> TransactionRefunded {
    TransactionRefunded {
        transaction_id: payment.transaction_id,
        reference: payment.reference,
        r#type: payment.r#type,
        payer_id: payment.payer_id,
        property_id: payment.property_id,
        lease_id: payment.lease_id,
        amount_kobo: payment.amount_kobo,
        actor_id: Uuid::now_v7().to_string(),
        reason: "duplicate charge".into(),
        at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_are_masked_for_everyone_until_the_unlock_then_again_after_a_refund() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    let mut room = app.room(chat.id()).await;
    let support = app.staff(StaffPosition::SupportLead);

    let from_tenant = app
        .send(&chat.tenant, chat.id(), CONTACT, "")
        .await
        .unwrap();
    assert_eq!(
        from_tenant.content, MASKED,
        "even the sender's answer is masked"
    );
    assert_eq!(room.next_message().await.content, MASKED);
    let from_landlord = app
        .send(&chat.landlord, chat.id(), CONTACT, "")
        .await
        .unwrap();
    assert_eq!(from_landlord.content, MASKED);
    assert_eq!(room.next_message().await.content, MASKED);
    // Staff may share Rentory's own numbers: their messages are never masked.
    let from_support = app.send(&support, chat.id(), CONTACT, "").await.unwrap();
    assert_eq!(from_support.content, CONTACT);
    assert_eq!(room.next_message().await.content, CONTACT);

    for viewer in [&chat.tenant, &chat.landlord, &support] {
        let shown = app.contents(viewer, chat.id()).await;
        assert_eq!(shown, [MASKED, MASKED, CONTACT]);
    }
    // Stored whole.
    let stored: Vec<String> = sqlx::query_scalar("SELECT content FROM chat.messages ORDER BY seq")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, [CONTACT, CONTACT, CONTACT]);

    // Payments of other kinds, and unlocks of other tenants or properties, change nothing.
    let other_tenant = app.user(Role::Tenant);
    for event in [
        paid(chat.tenant.id, chat.property_id, Uuid::now_v7(), "RENT"),
        paid(
            other_tenant.id,
            chat.property_id,
            Uuid::now_v7(),
            "CONTACT_UNLOCK",
        ),
        paid(
            chat.tenant.id,
            Uuid::now_v7(),
            Uuid::now_v7(),
            "CONTACT_UNLOCK",
        ),
    ] {
        app.publish_event("rentory.payments.transaction.succeeded", &event)
            .await;
    }
    // The unlock that counts.
    let transaction = Uuid::now_v7();
    let unlock = paid(
        chat.tenant.id,
        chat.property_id,
        transaction,
        "CONTACT_UNLOCK",
    );
    app.publish_event("rentory.payments.transaction.succeeded", &unlock)
        .await;
    app.wait_for_session(&chat.landlord, chat.id(), "the contact to unlock", |s| {
        s.contact_unlocked
    })
    .await;
    // Stream order: the three ignored events were handled before the unlock.
    assert_eq!(
        app.count("SELECT count(*) FROM chat.processed_events")
            .await,
        4
    );
    for viewer in [&chat.tenant, &chat.landlord] {
        let shown = app.contents(viewer, chat.id()).await;
        assert_eq!(shown, [CONTACT, CONTACT, CONTACT]);
    }
    let after_unlock = app
        .send(&chat.landlord, chat.id(), CONTACT, "")
        .await
        .unwrap();
    assert_eq!(after_unlock.content, CONTACT);
    assert_eq!(room.next_message().await.content, CONTACT);
    // Delivered twice, applied once.
    app.publish_event("rentory.payments.transaction.succeeded", &unlock)
        .await;

    app.publish_event("rentory.payments.transaction.refunded", &refunded(unlock))
        .await;
    app.wait_for_session(
        &chat.tenant,
        chat.id(),
        "the refund to lock the contact again",
        |s| !s.contact_unlocked,
    )
    .await;
    let shown = app.contents(&chat.tenant, chat.id()).await;
    assert_eq!(shown, [MASKED, MASKED, CONTACT, MASKED]);
    assert_eq!(
        app.count("SELECT count(*) FROM chat.contact_unlocks WHERE refunded_at IS NULL")
            .await,
        2,
        "the other tenant's and the other property's unlocks stay"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_seen_before_its_payment_still_wins() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    let transaction = Uuid::now_v7();
    let payment = paid(
        chat.tenant.id,
        chat.property_id,
        transaction,
        "CONTACT_UNLOCK",
    );
    app.publish_event(
        "rentory.payments.transaction.refunded",
        &refunded(payment.clone()),
    )
    .await;
    app.publish_event("rentory.payments.transaction.succeeded", &payment)
        .await;
    rentory_testkit::wait_until(EVENTUALLY, "both events to be handled", || async {
        app.count("SELECT count(*) FROM chat.processed_events")
            .await
            == 2
    })
    .await
    .unwrap();
    assert!(
        !app.get(&chat.tenant, chat.id())
            .await
            .unwrap()
            .contact_unlocked
    );
    let sent = app
        .send(&chat.tenant, chat.id(), CONTACT, "")
        .await
        .unwrap();
    assert_eq!(sent.content, MASKED);
    app.stop().await;
}
