//! Rent through the lease service (a fake answering GetRentDue): the tenant of a
//! FULLY_SIGNED lease pays what the lease says is due, split with the landlord's
//! subaccount; everyone and everything else is refused before Paystack is asked; and a
//! settled rent payment announces itself with its lease.

use std::time::Duration;

use prost::Message;
use rentory_auth::{Role, UserStatus};
use rentory_proto::events::v1::TransactionSucceeded;
use rentory_proto::payments::v1 as pb;
use serde_json::Value;
use tonic::Code;
use uuid::Uuid;

use crate::support::*;

const SUCCEEDED: &str = "rentory.payments.transaction.succeeded";
const RENT_KOBO: i64 = 250_000_000;

async fn pay_rent(h: &Harness, who: &Caller, lease: Uuid) -> Result<pb::Checkout, tonic::Status> {
    h.client
        .clone()
        .init_rent(as_caller(
            who,
            pb::InitRentRequest {
                lease_id: lease.to_string(),
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn the_tenant_of_a_fully_signed_lease_pays_its_amount_split_with_the_landlord() {
    let h = Harness::start().await;
    mount_initialize(&h.paystack).await;
    let tenant = h.tenant();
    let landlord = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO payments.payout_accounts (landlord_id, business_name, bank_code, account_number_last4, subaccount_code)
         VALUES ($1, 'Okafor Homes', '058', '4682', 'ACCT_landlord')",
    )
    .bind(landlord)
    .execute(&h.pool)
    .await
    .unwrap();
    let lease = h
        .leases
        .add_for(tenant.id, landlord, "FULLY_SIGNED", RENT_KOBO, false);

    let checkout = pay_rent(&h, &tenant, lease).await.unwrap();
    assert!(!checkout.reused);
    assert_eq!(checkout.amount_kobo, RENT_KOBO);
    let transaction = checkout.transaction.clone().unwrap();
    assert_eq!(
        (transaction.r#type.as_str(), transaction.status.as_str()),
        ("RENT", "PENDING")
    );
    assert_eq!(transaction.lease_id, Some(lease.to_string()));
    assert_eq!(transaction.property_id, None);
    // Asked of the lease service with the payer's own token.
    assert_eq!(h.leases.tokens(), [format!("Bearer {}", tenant.token)]);

    let sent = h.paystack_requests("POST", "/transaction/initialize").await;
    assert_eq!(sent.len(), 1);
    let body: Value = sent[0].body_json().unwrap();
    assert_eq!(body["amount"], RENT_KOBO);
    assert_eq!(body["reference"], checkout.reference);
    assert_eq!(body["subaccount"], "ACCT_landlord");
    assert_eq!(body["metadata"]["type"], "RENT");
    assert_eq!(body["metadata"]["lease_id"], lease.to_string());
    assert_eq!(body["metadata"]["payer_id"], tenant.id.to_string());
    assert!(body["metadata"].get("property_id").is_none());

    // Asked again while pending: the same checkout, Paystack not asked again.
    let again = pay_rent(&h, &tenant, lease).await.unwrap();
    assert!(again.reused);
    assert_eq!(
        (again.reference.as_str(), again.authorization_url.as_str()),
        (
            checkout.reference.as_str(),
            checkout.authorization_url.as_str()
        )
    );
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

#[tokio::test]
async fn rent_is_refused_to_others_for_other_statuses_and_once_paid_in_full() {
    let h = Harness::start().await;
    mount_initialize(&h.paystack).await;
    let tenant = h.tenant();
    let signed = h.leases.add(tenant.id, "FULLY_SIGNED", RENT_KOBO, false);

    let landlord = h.caller(Role::Landlord, UserStatus::Active, None);
    let refused = pay_rent(&h, &landlord, signed).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    // A tenant the lease service shows the lease to but who is not its tenant.
    let stranger = pay_rent(&h, &h.tenant(), signed).await.unwrap_err();
    assert_eq!(stranger.code(), Code::PermissionDenied);
    assert_eq!(stranger.message(), "rent is paid by the lease's tenant");
    let pending_kyc = h.caller(Role::Tenant, UserStatus::Pending, None);
    assert_eq!(
        pay_rent(&h, &pending_kyc, signed).await.unwrap_err().code(),
        Code::PermissionDenied
    );

    let draft = h.leases.add(tenant.id, "DRAFT", RENT_KOBO, false);
    let refused = pay_rent(&h, &tenant, draft).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("DRAFT"), "{}", refused.message());

    let paid_up = h.leases.add(tenant.id, "FULLY_SIGNED", 0, true);
    let refused = pay_rent(&h, &tenant, paid_up).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(refused.message(), "the rent for the whole term is paid");

    let unknown = pay_rent(&h, &tenant, Uuid::now_v7()).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(unknown.message(), "lease not found");

    let bad = h
        .client
        .clone()
        .init_rent(as_caller(
            &tenant,
            pb::InitRentRequest {
                lease_id: "not-an-id".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);

    assert!(
        h.paystack_requests("POST", "/transaction/initialize")
            .await
            .is_empty()
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM payments.transactions")
        .fetch_one(&h.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    h.done().await;
}

#[tokio::test]
async fn a_lease_service_that_is_down_is_unavailable_and_nothing_is_started() {
    // Port 1: nothing listens there.
    let h = Harness::start_with(|c| c.lease_url = "http://127.0.0.1:1".into()).await;
    mount_initialize(&h.paystack).await;
    let tenant = h.tenant();
    let refused = pay_rent(&h, &tenant, Uuid::now_v7()).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable);
    assert!(
        h.paystack_requests("POST", "/transaction/initialize")
            .await
            .is_empty()
    );
    h.done().await;
}

#[tokio::test]
async fn a_rent_payment_settled_by_webhook_announces_its_lease() {
    let h = Harness::start().await;
    mount_initialize(&h.paystack).await;
    let tenant = h.tenant();
    let lease = h.leases.add(tenant.id, "FULLY_SIGNED", RENT_KOBO, false);
    let checkout = pay_rent(&h, &tenant, lease).await.unwrap();
    let reference = checkout.reference;
    mount_verify(&h.paystack, &reference, &Verdict::paid(RENT_KOBO)).await;
    let (body, signature) = Harness::charge_success(&reference, RENT_KOBO);
    h.deliver(&body, &signature).await.unwrap();
    h.wait_for_status(&reference, "SUCCESS").await;

    let events = h.outbox(SUCCEEDED).await;
    assert_eq!(events.len(), 1);
    let paid = TransactionSucceeded::decode(events[0].as_slice()).unwrap();
    assert_eq!(paid.reference, reference);
    assert_eq!(paid.r#type, "RENT");
    assert_eq!(paid.lease_id, Some(lease.to_string()));
    assert_eq!(paid.property_id, None);
    assert_eq!(paid.payer_id, tenant.id.to_string());
    assert_eq!(paid.amount_kobo, RENT_KOBO);

    // Paid: the next checkout is a new transaction (the next period), not the settled one.
    let next = pay_rent(&h, &tenant, lease).await.unwrap();
    assert!(!next.reused);
    assert_ne!(next.reference, reference);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(h.outbox(SUCCEEDED).await.len(), 1);
    h.done().await;
}
