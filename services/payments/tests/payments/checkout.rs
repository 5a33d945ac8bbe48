//! Starting payments: what Paystack is sent, one pending attempt per tenant and property,
//! the 409s, and who may start what.

use std::time::Duration;

use futures::future::join_all;
use rentory_auth::{Role, UserStatus};
use rentory_proto::payments::v1 as pb;
use serde_json::{Value, json};
use tonic::Code;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

/// Pays `reference` through a webhook and waits for the grant.
pub async fn pay(h: &Harness, reference: &str) {
    mount_verify(&h.paystack, reference, &Verdict::paid(500_000)).await;
    let (body, signature) = Harness::charge_success(reference, 500_000);
    h.deliver(&body, &signature).await.unwrap();
    h.wait_for_status(reference, "SUCCESS").await;
}

#[tokio::test]
async fn an_unlock_sends_paystack_our_reference_amount_and_metadata_and_is_reused() {
    let h = Harness::start().await;
    mount_initialize(&h.paystack).await;
    let tenant = h.tenant();
    let property = h.properties.add("ACTIVE");
    let checkout = h.unlock(&tenant, property).await.unwrap();
    assert!(
        checkout.reference.starts_with("ul-"),
        "{}",
        checkout.reference
    );
    assert_eq!(checkout.amount_kobo, 500_000);
    assert!(!checkout.reused);
    assert!(
        checkout
            .authorization_url
            .starts_with("https://checkout.paystack.com/")
    );
    let transaction = checkout.transaction.clone().unwrap();
    assert_eq!(
        (
            transaction.status.as_str(),
            transaction.r#type.as_str(),
            transaction.currency.as_str()
        ),
        ("PENDING", "CONTACT_UNLOCK", "NGN")
    );
    assert_eq!(transaction.property_id, Some(property.to_string()));

    let sent = h.paystack_requests("POST", "/transaction/initialize").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some(format!("Bearer {SECRET_KEY}").as_str())
    );
    assert_eq!(
        sent[0].body_json::<Value>().unwrap(),
        json!({
            "email": "tenant@example.ng",
            "amount": 500_000,
            "currency": "NGN",
            "reference": checkout.reference,
            "callback_url": "http://gateway.test/payments/callback",
            "metadata": {
                "transaction_id": transaction.id,
                "type": "CONTACT_UNLOCK",
                "payer_id": tenant.id.to_string(),
                "property_id": property.to_string(),
            },
        })
    );

    // Asked again while pending: the same checkout, Paystack not asked again.
    let again = h.unlock(&tenant, property).await.unwrap();
    assert!(again.reused);
    assert_eq!(again.reference, checkout.reference);
    assert_eq!(again.authorization_url, checkout.authorization_url);
    assert_eq!(
        h.paystack_requests("POST", "/transaction/initialize")
            .await
            .len(),
        1
    );
    assert_eq!(
        h.audit(&checkout.reference).await,
        [("CHECKOUT".to_owned(), None, "PENDING".to_owned(), None)]
    );
    h.done().await;
}

#[tokio::test]
async fn racing_unlocks_make_one_transaction() {
    let h = Harness::start().await;
    // A slow Paystack keeps the first checkout unfinished while the others arrive.
    Mock::given(method("POST"))
        .and(path("/transaction/initialize"))
        .respond_with(SlowInitialize)
        .mount(&h.paystack)
        .await;
    let tenant = h.tenant();
    let property = h.properties.add("ACTIVE");
    let answers: Vec<pb::Checkout> = join_all((0..5).map(|_| h.unlock(&tenant, property)))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(answers.iter().all(|a| a.reference == answers[0].reference));
    assert_eq!(answers.iter().filter(|a| !a.reused).count(), 1);
    assert_eq!(
        h.paystack_requests("POST", "/transaction/initialize")
            .await
            .len(),
        1
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM payments.transactions")
        .fetch_one(&h.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    h.done().await;
}

/// Paystack's initialize, 150 ms late (within the harness's 300 ms client timeout).
struct SlowInitialize;

impl wiremock::Respond for SlowInitialize {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let reference = body["reference"].as_str().unwrap_or_default();
        ResponseTemplate::new(200)
            .set_body_json(json!({"status": true, "message": "ok", "data": {
                "authorization_url": "https://checkout.paystack.com/slow",
                "access_code": "slow",
                "reference": reference,
            }}))
            .set_delay(Duration::from_millis(150))
    }
}

#[tokio::test]
async fn an_unlocked_property_is_409_naming_the_transaction() {
    let h = Harness::start().await;
    mount_initialize(&h.paystack).await;
    let tenant = h.tenant();
    let property = h.properties.add("ACTIVE");
    let checkout = h.unlock(&tenant, property).await.unwrap();
    pay(&h, &checkout.reference).await;
    let refused = h.unlock(&tenant, property).await.unwrap_err();
    assert_eq!(refused.code(), Code::AlreadyExists);
    assert_eq!(
        error_info(&refused).get("reference"),
        Some(&checkout.reference)
    );
    // Another tenant still pays for their own.
    let other = h.unlock(&h.tenant(), property).await.unwrap();
    assert_ne!(other.reference, checkout.reference);
    h.done().await;
}

#[tokio::test]
async fn a_reference_of_another_property_is_409_and_nothing_is_granted() {
    let h = Harness::start().await;
    mount_initialize(&h.paystack).await;
    let tenant = h.tenant();
    let (first, second) = (h.properties.add("ACTIVE"), h.properties.add("ACTIVE"));
    let checkout = h.unlock(&tenant, first).await.unwrap();
    mount_verify(&h.paystack, &checkout.reference, &Verdict::paid(500_000)).await;
    let refused = h
        .verify(&tenant, &checkout.reference, Some(second))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::AlreadyExists);
    assert_eq!(refused.message(), "reference belongs to another property");
    assert!(
        h.paystack_requests("GET", "/transaction/verify/")
            .await
            .is_empty()
    );
    assert_eq!(h.status(&checkout.reference).await, "PENDING");
    // Someone else's reference is not found, whatever it is for.
    let stranger = h
        .verify(&h.tenant(), &checkout.reference, None)
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::NotFound);
    // The right property: verified and granted.
    let paid = h
        .verify(&tenant, &checkout.reference, Some(first))
        .await
        .unwrap();
    assert_eq!(paid.status, "SUCCESS");
    h.done().await;
}

#[tokio::test]
async fn unlocks_are_for_active_tenants_and_active_listings() {
    let h = Harness::start().await;
    mount_initialize(&h.paystack).await;
    let active = h.properties.add("ACTIVE");
    let cases = [
        (
            h.caller(Role::Landlord, UserStatus::Active, None),
            active,
            Code::PermissionDenied,
        ),
        (
            h.caller(Role::Tenant, UserStatus::Pending, None),
            active,
            Code::PermissionDenied,
        ),
        (h.tenant(), uuid::Uuid::now_v7(), Code::NotFound),
        (
            h.tenant(),
            h.properties.add("ARCHIVED"),
            Code::FailedPrecondition,
        ),
    ];
    for (who, property, code) in cases {
        assert_eq!(
            h.unlock(&who, property).await.unwrap_err().code(),
            code,
            "{property}"
        );
    }
    let bad = h
        .client
        .clone()
        .init_contact_unlock(as_caller(
            &h.tenant(),
            pb::InitContactUnlockRequest {
                property_id: "not-an-id".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let anonymous = h
        .client
        .clone()
        .init_contact_unlock(tonic::Request::new(pb::InitContactUnlockRequest {
            property_id: active.to_string(),
        }))
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    assert!(
        h.paystack_requests("POST", "/transaction/initialize")
            .await
            .is_empty()
    );
    h.done().await;
}

#[tokio::test]
async fn a_checkout_paystack_cannot_start_fails_and_the_next_try_starts_afresh() {
    let h = Harness::start().await;
    let tenant = h.tenant();
    let property = h.properties.add("ACTIVE");
    Mock::given(method("POST"))
        .and(path("/transaction/initialize"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .mount(&h.paystack)
        .await;
    let refused = h.unlock(&tenant, property).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable);
    let failed: (String, String, String) =
        sqlx::query_as("SELECT reference, status, status_reason FROM payments.transactions")
            .fetch_one(&h.pool)
            .await
            .unwrap();
    assert_eq!(failed.1, "FAILED");
    assert!(failed.2.contains("could not be started"), "{}", failed.2);

    mount_initialize(&h.paystack).await;
    let checkout = h.unlock(&tenant, property).await.unwrap();
    assert!(!checkout.reused);
    assert_ne!(checkout.reference, failed.0);
    h.done().await;
}
