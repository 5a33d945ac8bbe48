//! Refunds, transaction lists, unlock lookups and landlords' payout accounts.

use prost::Message;
use rentory_auth::{Role, StaffPosition, UserStatus};
use rentory_proto::events::v1::TransactionRefunded;
use rentory_proto::payments::v1 as pb;
use serde_json::{Value, json};
use tonic::Code;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::checkout::pay;
use crate::support::*;

const REFUNDED: &str = "rentory.payments.transaction.refunded";

async fn mount_refund(h: &Harness) {
    Mock::given(method("POST"))
        .and(path("/refund"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": true, "message": "Refund has been queued for processing",
            "data": {"id": 3_018_284, "status": "pending", "amount": 500_000, "currency": "NGN"}
        })))
        .mount(&h.paystack)
        .await;
}

fn refund_request(reference: &str, reason: &str) -> pb::RefundTransactionRequest {
    pb::RefundTransactionRequest {
        reference: reference.into(),
        reason: reason.into(),
    }
}

#[tokio::test]
async fn finance_staff_refund_a_successful_payment_once() {
    let h = Harness::start().await;
    mount_initialize(&h.paystack).await;
    mount_refund(&h).await;
    let tenant = h.tenant();
    let property = h.properties.add("ACTIVE");
    let checkout = h.unlock(&tenant, property).await.unwrap();

    let finance = h.finance();
    let mut client = h.client.clone();
    // Only SUCCESS is refundable.
    let pending = client
        .refund_transaction(as_caller(
            &finance,
            refund_request(&checkout.reference, "x"),
        ))
        .await
        .unwrap_err();
    assert_eq!(pending.code(), Code::FailedPrecondition);
    pay(&h, &checkout.reference).await;

    for who in [
        tenant.clone(),
        h.caller(
            Role::Staff,
            UserStatus::Active,
            Some(StaffPosition::SupportLead),
        ),
    ] {
        let refused = client
            .refund_transaction(as_caller(&who, refund_request(&checkout.reference, "x")))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
    }
    let blank = client
        .refund_transaction(as_caller(
            &finance,
            refund_request(&checkout.reference, " "),
        ))
        .await
        .unwrap_err();
    assert_eq!(blank.code(), Code::InvalidArgument);

    let refunded = client
        .refund_transaction(as_caller(
            &finance,
            refund_request(&checkout.reference, "paid by mistake"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(refunded.status, "REFUNDED");
    assert_eq!(refunded.status_reason, "paid by mistake");
    let sent = h.paystack_requests("POST", "/refund").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].body_json::<Value>().unwrap(),
        json!({"transaction": checkout.reference, "merchant_note": "paid by mistake"})
    );
    // Asked again: answered as before, Paystack not asked twice.
    let again = client
        .refund_transaction(as_caller(
            &finance,
            refund_request(&checkout.reference, "again"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.status, "REFUNDED");
    assert_eq!(h.paystack_requests("POST", "/refund").await.len(), 1);

    let events = h.outbox(REFUNDED).await;
    assert_eq!(events.len(), 1);
    let event = TransactionRefunded::decode(events[0].as_slice()).unwrap();
    assert_eq!(event.reference, checkout.reference);
    assert_eq!(event.actor_id, finance.id.to_string());
    assert_eq!(event.reason, "paid by mistake");
    assert_eq!(event.property_id, Some(property.to_string()));
    let (source, from, to, _) = h.audit(&checkout.reference).await.pop().unwrap();
    assert_eq!(
        (source.as_str(), from.as_deref(), to.as_str()),
        ("REFUND", Some("SUCCESS"), "REFUNDED")
    );
    // Refunded, the contact is for sale again.
    let unlocked = client
        .has_unlock(as_caller(
            &tenant,
            pb::HasUnlockRequest {
                tenant_id: tenant.id.to_string(),
                property_id: property.to_string(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!unlocked.unlocked);
    h.done().await;
}

#[tokio::test]
async fn transactions_are_listed_newest_first_in_pages_and_all_only_for_finance() {
    let h = Harness::start().await;
    mount_initialize(&h.paystack).await;
    let tenant = h.tenant();
    let mut references = Vec::new();
    for _ in 0..3 {
        let property = h.properties.add("ACTIVE");
        references.push(h.unlock(&tenant, property).await.unwrap().reference);
    }
    let other = h.tenant();
    h.unlock(&other, h.properties.add("ACTIVE")).await.unwrap();
    let list = |who: &Caller, all: bool, limit: u32, cursor: String| {
        let mut client = h.client.clone();
        let request = as_caller(who, pb::ListTransactionsRequest { all, limit, cursor });
        async move { client.list_transactions(request).await }
    };
    let first = list(&tenant, false, 2, String::new())
        .await
        .unwrap()
        .into_inner();
    let names = |page: &pb::ListTransactionsResponse| {
        page.transactions
            .iter()
            .map(|t| t.reference.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&first),
        [references[2].clone(), references[1].clone()]
    );
    assert!(!first.next_cursor.is_empty());
    let second = list(&tenant, false, 2, first.next_cursor)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(&second), [references[0].clone()]);
    assert!(second.next_cursor.is_empty());

    assert_eq!(
        list(&tenant, true, 0, String::new())
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let everyone = list(&h.finance(), true, 0, String::new())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(everyone.transactions.len(), 4);
    assert_eq!(
        list(&tenant, false, 101, String::new())
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    assert_eq!(
        list(&tenant, false, 0, "junk".into())
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    h.done().await;
}

#[tokio::test]
async fn has_unlock_answers_the_tenant_and_staff() {
    let h = Harness::start().await;
    mount_initialize(&h.paystack).await;
    let tenant = h.tenant();
    let property = h.properties.add("ACTIVE");
    let checkout = h.unlock(&tenant, property).await.unwrap();
    let ask = |who: &Caller| {
        let mut client = h.client.clone();
        let request = as_caller(
            who,
            pb::HasUnlockRequest {
                tenant_id: tenant.id.to_string(),
                property_id: property.to_string(),
            },
        );
        async move { client.has_unlock(request).await }
    };
    assert!(!ask(&tenant).await.unwrap().into_inner().unlocked);
    pay(&h, &checkout.reference).await;
    let answer = ask(&tenant).await.unwrap().into_inner();
    assert!(answer.unlocked);
    assert_eq!(answer.reference, checkout.reference);
    assert!(ask(&h.finance()).await.unwrap().into_inner().unlocked);
    assert_eq!(
        ask(&h.tenant()).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    h.done().await;
}

#[tokio::test]
async fn landlords_register_a_payout_subaccount_keeping_four_digits() {
    let h = Harness::start().await;
    Mock::given(method("POST"))
        .and(path("/subaccount"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "status": true, "message": "Subaccount created",
            "data": {"subaccount_code": "ACCT_4hl4xenwpjy5wb", "business_name": "Okafor Homes"}
        })))
        .mount(&h.paystack)
        .await;
    let landlord = h.caller(Role::Landlord, UserStatus::Active, None);
    let mut client = h.client.clone();
    let missing = client
        .get_payout_account(as_caller(&landlord, pb::GetPayoutAccountRequest {}))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let bad = client
        .set_payout_account(as_caller(
            &landlord,
            pb::SetPayoutAccountRequest {
                business_name: "Okafor Homes".into(),
                bank_code: "58".into(),
                account_number: "12345".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let request = pb::SetPayoutAccountRequest {
        business_name: "Okafor Homes".into(),
        bank_code: "058".into(),
        account_number: "0193274682".into(),
    };
    let tenant = client
        .set_payout_account(as_caller(&h.tenant(), request.clone()))
        .await
        .unwrap_err();
    assert_eq!(tenant.code(), Code::PermissionDenied);
    let saved = client
        .set_payout_account(as_caller(&landlord, request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(saved.account_number_last4, "4682");
    assert_eq!(saved.subaccount_code, "ACCT_4hl4xenwpjy5wb");
    let sent = h.paystack_requests("POST", "/subaccount").await;
    assert_eq!(
        sent[0].body_json::<Value>().unwrap(),
        json!({"business_name": "Okafor Homes", "settlement_bank": "058",
               "account_number": "0193274682", "percentage_charge": 0.0})
    );
    let read = client
        .get_payout_account(as_caller(&landlord, pb::GetPayoutAccountRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read, saved);
    // The full account number is nowhere in the database.
    let stored: String =
        sqlx::query_scalar("SELECT row_to_json(p)::text FROM payments.payout_accounts p")
            .fetch_one(&h.pool)
            .await
            .unwrap();
    assert!(!stored.contains("0193274682"), "{stored}");
    h.done().await;
}
