//! Webhooks: signatures over the raw bytes, storage before the answer, exactly one grant
//! however many deliveries and verify calls race, and verify as the only judge.

use std::time::Duration;

use futures::future::join_all;
use prost::Message;
use rentory_paystack::webhook;
use rentory_proto::events::v1::{TransactionFailed, TransactionSucceeded};
use serde_json::{Value, json};
use tonic::Code;
use uuid::Uuid;
use wiremock::Mock;
use wiremock::matchers::{method, path};

use crate::support::*;

const SUCCEEDED: &str = "rentory.payments.transaction.succeeded";
const FAILED: &str = "rentory.payments.transaction.failed";

/// A tenant with a pending unlock of a new ACTIVE property: (tenant, property, reference).
async fn pending_unlock(h: &Harness) -> (Caller, Uuid, String) {
    let tenant = h.tenant();
    let property = h.properties.add("ACTIVE");
    let checkout = h.unlock(&tenant, property).await.unwrap();
    (tenant, property, checkout.reference)
}

/// What `Harness::charge_success` deliveries are stored under.
fn charge_identity() -> String {
    format!("charge.success:{PAYSTACK_ID}")
}

#[tokio::test]
async fn a_missing_wrong_or_reserialised_signature_is_refused_and_nothing_is_written() {
    let h = Harness::start().await;
    let (body, signature) = Harness::charge_success("ul-0123", 500_000);
    let other_key = webhook::sign(b"sk_test_someone_else", &body);
    // The same JSON content, written with other bytes: the signature is over the bytes.
    let value: Value = serde_json::from_slice(&body).unwrap();
    let reserialised = serde_json::to_vec_pretty(&value).unwrap();
    assert_ne!(reserialised, body);
    for (body, signature) in [
        (&body, ""),
        (&body, "not hex"),
        (&body, other_key.as_str()),
        (&body, &signature[..120]),
        (&reserialised, signature.as_str()),
    ] {
        let refused = h.deliver(body, signature).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated, "{signature}");
    }
    assert!(h.webhook_rows().await.is_empty());
    // The original bytes with their signature are accepted.
    let stored = h.deliver(&body, &signature).await.unwrap();
    assert!(!stored.duplicate);
    h.wait_for_outcome(&charge_identity(), "UNKNOWN_REFERENCE")
        .await;
    h.done().await;
}

#[tokio::test]
async fn the_same_event_five_times_at_once_grants_exactly_once() {
    let h = Harness::start().await;
    mount_initialize(&h.paystack).await;
    let (tenant, property, reference) = pending_unlock(&h).await;
    mount_verify(&h.paystack, &reference, &Verdict::paid(500_000)).await;
    let (body, signature) = Harness::charge_success(&reference, 500_000);

    let answers = join_all((0..5).map(|_| h.deliver(&body, &signature))).await;
    let answers: Vec<_> = answers.into_iter().map(Result::unwrap).collect();
    assert_eq!(answers.iter().filter(|a| !a.duplicate).count(), 1);
    assert!(answers.iter().all(|a| a.event_id == answers[0].event_id));

    h.wait_for_outcome(&charge_identity(), "GRANTED").await;
    assert_eq!(h.status(&reference).await, "SUCCESS");
    // Delivered again after processing: stored once, nothing changes.
    assert!(h.deliver(&body, &signature).await.unwrap().duplicate);
    // Give any stray second grant the time to show.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let audit = h.audit(&reference).await;
    assert_eq!(
        audit
            .iter()
            .filter(|(_, _, to, _)| to == "SUCCESS")
            .map(|(source, from, _, _)| (source.as_str(), from.as_deref()))
            .collect::<Vec<_>>(),
        [("WEBHOOK", Some("PENDING"))]
    );
    let events = h.outbox(SUCCEEDED).await;
    assert_eq!(events.len(), 1);
    let paid = TransactionSucceeded::decode(events[0].as_slice()).unwrap();
    assert_eq!(paid.reference, reference);
    assert_eq!(paid.r#type, "CONTACT_UNLOCK");
    assert_eq!(paid.payer_id, tenant.id.to_string());
    assert_eq!(paid.property_id, Some(property.to_string()));
    assert_eq!(paid.amount_kobo, 500_000);
    assert_eq!(h.webhook_rows().await.len(), 1);
    assert_eq!(
        h.transaction(&reference).await.paystack_id,
        Some(PAYSTACK_ID)
    );
    // Verify was asked; the webhook body alone never settles anything.
    assert!(
        !h.paystack_requests("GET", "/transaction/verify/")
            .await
            .is_empty()
    );
    h.done().await;
}

#[tokio::test]
async fn a_webhook_racing_the_payers_own_verify_grants_once() {
    let h = Harness::start().await;
    mount_initialize(&h.paystack).await;
    let (tenant, property, reference) = pending_unlock(&h).await;
    // A slow verify widens the window in which every caller has read PENDING.
    Mock::given(method("GET"))
        .and(path(format!("/transaction/verify/{reference}")))
        .respond_with(
            verified(&reference, &Verdict::paid(500_000)).set_delay(Duration::from_millis(100)),
        )
        .mount(&h.paystack)
        .await;
    let (body, signature) = Harness::charge_success(&reference, 500_000);
    let (delivered, verified) = tokio::join!(
        h.deliver(&body, &signature),
        join_all((0..3).map(|_| h.verify(&tenant, &reference, Some(property))))
    );
    delivered.unwrap();
    for answer in verified {
        let transaction = answer.unwrap();
        assert_eq!(transaction.status, "SUCCESS", "{transaction:?}");
        assert!(transaction.paid_at.is_some());
    }
    h.wait_for_status(&reference, "SUCCESS").await;
    // The webhook granted it, or found it granted by a verify call: either way once.
    rentory_testkit::wait_until(Duration::from_secs(10), "webhook processed", || async {
        h.webhook_rows()
            .await
            .iter()
            .any(|(_, outcome)| matches!(outcome.as_deref(), Some("GRANTED" | "ALREADY_SETTLED")))
    })
    .await
    .unwrap();
    let granted = h
        .audit(&reference)
        .await
        .into_iter()
        .filter(|(_, _, to, _)| to == "SUCCESS")
        .count();
    assert_eq!(granted, 1);
    assert_eq!(h.outbox(SUCCEEDED).await.len(), 1);
    h.done().await;
}

#[tokio::test]
async fn verify_disagreeing_with_what_was_issued_grants_nothing_and_says_why() {
    let h = Harness::start().await;
    mount_initialize(&h.paystack).await;
    let cases = [
        (
            Verdict {
                status: "failed",
                ..Verdict::paid(500_000)
            },
            "FAILED",
            "failed",
        ),
        (Verdict::paid(400_000), "MISMATCH", "400000 kobo"),
        (
            Verdict {
                currency: "USD",
                ..Verdict::paid(500_000)
            },
            "MISMATCH",
            "USD",
        ),
        (
            Verdict {
                metadata: json!({"payer_id": Uuid::now_v7().to_string()}),
                ..Verdict::paid(500_000)
            },
            "MISMATCH",
            "payer_id",
        ),
    ];
    for (i, (verdict, outcome, why)) in cases.into_iter().enumerate() {
        let (_, _, reference) = pending_unlock(&h).await;
        mount_verify(&h.paystack, &reference, &verdict).await;
        // The body claims a full, successful payment: it is not believed.
        let body = serde_json::to_vec(&json!({
            "event": "charge.success",
            "data": {"id": 1000 + i, "reference": reference, "status": "success",
                     "amount": 500_000, "currency": "NGN"}
        }))
        .unwrap();
        let signature = webhook::sign(SECRET_KEY.as_bytes(), &body);
        h.deliver(&body, &signature).await.unwrap();
        h.wait_for_outcome(&format!("charge.success:{}", 1000 + i), outcome)
            .await;
        let row = h.transaction(&reference).await;
        assert_eq!(row.status, "FAILED", "{why}");
        assert!(row.status_reason.contains(why), "{}", row.status_reason);
        let (source, from, to, reason) = h.audit(&reference).await.pop().unwrap();
        assert_eq!(
            (source.as_str(), from.as_deref(), to.as_str()),
            ("WEBHOOK", Some("PENDING"), "FAILED")
        );
        assert!(reason.unwrap_or_default().contains(why));
    }
    assert!(h.outbox(SUCCEEDED).await.is_empty());
    let failed = h.outbox(FAILED).await;
    assert_eq!(failed.len(), 4);
    assert!(
        failed
            .iter()
            .map(|p| TransactionFailed::decode(p.as_slice()).unwrap())
            .all(|f| f.status == "FAILED" && !f.reason.is_empty())
    );
    h.done().await;
}

#[tokio::test]
async fn a_verify_that_times_out_is_reconciled_once_paystack_answers() {
    let h = Harness::start().await;
    mount_initialize(&h.paystack).await;
    let (_, _, reference) = pending_unlock(&h).await;
    // Slower than the client's 300 ms timeout.
    Mock::given(method("GET"))
        .and(path(format!("/transaction/verify/{reference}")))
        .respond_with(
            verified(&reference, &Verdict::paid(500_000)).set_delay(Duration::from_secs(3)),
        )
        .mount(&h.paystack)
        .await;
    let (body, signature) = Harness::charge_success(&reference, 500_000);
    h.deliver(&body, &signature).await.unwrap();
    h.wait_for_outcome(&charge_identity(), "VERIFY_FAILED")
        .await;
    let row = h.transaction(&reference).await;
    assert_eq!(row.status, "PENDING");
    assert!(
        row.status_reason.contains("timeout"),
        "{}",
        row.status_reason
    );
    assert!(row.verify_attempts >= 1);

    // Paystack answers again: the reconciler settles it without another webhook.
    h.paystack.reset().await;
    mount_verify(&h.paystack, &reference, &Verdict::paid(500_000)).await;
    h.wait_for_status(&reference, "SUCCESS").await;
    let granted: Vec<_> = h
        .audit(&reference)
        .await
        .into_iter()
        .filter(|(_, _, to, _)| to == "SUCCESS")
        .map(|(source, ..)| source)
        .collect();
    assert_eq!(granted, ["RECONCILER"]);
    assert_eq!(h.outbox(SUCCEEDED).await.len(), 1);
    h.done().await;
}

#[tokio::test]
async fn an_event_stored_before_a_crash_is_worked_on_at_start_up() {
    let mut h = Harness::start().await;
    mount_initialize(&h.paystack).await;
    let (_, _, reference) = pending_unlock(&h).await;
    mount_verify(&h.paystack, &reference, &Verdict::paid(500_000)).await;
    h.stop_service().await;
    // What HandleWebhook had stored (and answered 200 for) when the process died.
    let (body, _) = Harness::charge_success(&reference, 500_000);
    sqlx::query(
        "INSERT INTO payments.webhook_events (id, identity, event, reference, body) VALUES ($1, $2, 'charge.success', $3, $4)",
    )
    .bind(Uuid::now_v7())
    .bind(charge_identity())
    .bind(&reference)
    .bind(&body)
    .execute(&h.pool)
    .await
    .unwrap();
    h.restart().await;
    h.wait_for_outcome(&charge_identity(), "GRANTED").await;
    assert_eq!(h.status(&reference).await, "SUCCESS");
    h.done().await;
}

#[tokio::test]
async fn an_unpaid_checkout_waits_and_is_abandoned_only_when_overdue() {
    let h = Harness::start_with(|c| c.abandon_after = Duration::from_secs(3)).await;
    mount_initialize(&h.paystack).await;
    let (tenant, _, reference) = pending_unlock(&h).await;
    // Paystack calls every unpaid checkout "abandoned"; the payer may still pay it.
    mount_verify(
        &h.paystack,
        &reference,
        &Verdict {
            status: "abandoned",
            ..Verdict::paid(500_000)
        },
    )
    .await;
    let now = h.verify(&tenant, &reference, None).await.unwrap();
    assert_eq!(now.status, "PENDING");
    assert!(
        now.status_reason.contains("abandoned"),
        "{}",
        now.status_reason
    );
    h.wait_for_status(&reference, "ABANDONED").await;
    let (source, from, to, _) = h.audit(&reference).await.pop().unwrap();
    assert_eq!(
        (source.as_str(), from.as_deref(), to.as_str()),
        ("RECONCILER", Some("PENDING"), "ABANDONED")
    );
    let failed = h.outbox(FAILED).await;
    assert_eq!(
        TransactionFailed::decode(failed[0].as_slice())
            .unwrap()
            .status,
        "ABANDONED"
    );
    // Paid after all, late: the money arrived, so the unlock is granted.
    h.paystack.reset().await;
    mount_verify(&h.paystack, &reference, &Verdict::paid(500_000)).await;
    let late = h.verify(&tenant, &reference, None).await.unwrap();
    assert_eq!(late.status, "SUCCESS");
    let (source, from, to, reason) = h.audit(&reference).await.pop().unwrap();
    assert_eq!(
        (
            source.as_str(),
            from.as_deref(),
            to.as_str(),
            reason.as_deref()
        ),
        (
            "CLIENT_VERIFY",
            Some("ABANDONED"),
            "SUCCESS",
            Some("paid after it was closed")
        )
    );
    h.done().await;
}

#[tokio::test]
async fn events_that_name_no_transaction_of_ours_change_nothing() {
    let h = Harness::start().await;
    for (i, data) in [
        json!({"id": 1, "reference": "ul-never-issued"}),
        json!({"id": 2, "transaction_reference": "x"}),
    ]
    .into_iter()
    .enumerate()
    {
        let body = serde_json::to_vec(&json!({"event": "refund.processed", "data": data})).unwrap();
        h.deliver(&body, &webhook::sign(SECRET_KEY.as_bytes(), &body))
            .await
            .unwrap();
        let outcome = if i == 0 {
            "UNKNOWN_REFERENCE"
        } else {
            "IGNORED"
        };
        h.wait_for_outcome(&format!("refund.processed:{}", i + 1), outcome)
            .await;
    }
    // Signed, but not an event: kept (nothing signed is lost) and ignored.
    let junk = b"not json at all";
    let stored = h
        .deliver(junk, &webhook::sign(SECRET_KEY.as_bytes(), junk))
        .await
        .unwrap();
    assert!(!stored.duplicate);
    let rows = h.webhook_rows().await;
    assert!(rows[2].0.starts_with("sha256:"));
    let unprocessed_ignored =
        || async { h.webhook_rows().await[2].1.as_deref() == Some("IGNORED") };
    rentory_testkit::wait_until(Duration::from_secs(10), "junk ignored", unprocessed_ignored)
        .await
        .unwrap();
    let oversized = vec![b' '; payments::webhook::MAX_BODY_BYTES + 1];
    let refused = h
        .deliver(
            &oversized,
            &webhook::sign(SECRET_KEY.as_bytes(), &oversized),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    h.done().await;
}
