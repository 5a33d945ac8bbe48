//! The payments routes against the fake payments service (`backend.rs`): what reaches the
//! service, how answers and refusals are mapped (the 409's `reference` member), and the
//! Paystack webhook, which takes raw bytes and no bearer token.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use rentory_auth::metadata as md;
use rentory_proto::payments::v1 as pb;
use serde_json::{Value, json};

use crate::backend::lease::SIGNED_LEASE_ID;
use crate::backend::{PAID_REFERENCE, PROPERTY_ID, UNLOCKED_PROPERTY_ID, with_fakes};
use crate::support::*;

fn authorized(method: Method, path: &str, body: Option<Value>, token: &str) -> Request<Body> {
    let builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .expect("request")
}

fn webhook(body: impl Into<Body>, signature: Option<&str>) -> Request<Body> {
    let mut builder = Request::post("/webhooks/paystack")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-request-id", "paystack-1");
    if let Some(signature) = signature {
        builder = builder.header("x-paystack-signature", signature);
    }
    builder.body(body.into()).expect("request")
}

#[tokio::test]
async fn a_contact_unlock_answers_the_checkout_in_naira_and_kobo() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let response = app
        .send(authorized(
            Method::POST,
            "/payments/contact-unlock",
            Some(json!({"property_id": PROPERTY_ID})),
            &token,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    assert_eq!(
        body["authorization_url"],
        "https://checkout.paystack.com/0peioxfhpn"
    );
    assert_eq!(body["amount_kobo"], 500_000);
    assert_eq!(body["amount"], "5000.00");
    assert_eq!(body["reused"], false);
    assert!(
        body["reference"]
            .as_str()
            .is_some_and(|r| r.starts_with("ul-"))
    );
    assert_eq!(body["transaction"]["status"], "PENDING");
    assert_eq!(body["transaction"]["type"], "CONTACT_UNLOCK");
    assert_eq!(body["transaction"]["property_id"], PROPERTY_ID);
    assert!(body["transaction"].get("lease_id").is_none());
    let sent: pb::InitContactUnlockRequest = calls.message("InitContactUnlock").expect("called");
    assert_eq!(sent.property_id, PROPERTY_ID);
    assert_eq!(
        calls.get("InitContactUnlock", md::AUTHORIZATION),
        Some(format!("Bearer {token}"))
    );
}

#[tokio::test]
async fn an_unlocked_property_is_a_409_naming_the_existing_reference() {
    let (app, _) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let response = app
        .send(authorized(
            Method::POST,
            "/payments/contact-unlock",
            Some(json!({"property_id": UNLOCKED_PROPERTY_ID})),
            &token,
        ))
        .await;
    let body = problem(response, 409, "already-exists").await;
    assert_eq!(body["reference"], PAID_REFERENCE);
    assert_eq!(
        body["detail"],
        "this property's contact is already unlocked"
    );

    let response = app
        .send(authorized(
            Method::POST,
            "/payments/transactions/ul-x/verify",
            Some(json!({"property_id": "another"})),
            &token,
        ))
        .await;
    let body = problem(response, 409, "already-exists").await;
    assert_eq!(body["detail"], "reference belongs to another property");
}

#[tokio::test]
async fn payment_routes_need_a_token_and_check_bodies_before_any_call() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let response = app
        .send(post_json(
            "/payments/contact-unlock",
            r#"{"property_id": "p"}"#,
        ))
        .await;
    problem(response, 401, "unauthenticated").await;
    let response = app
        .send(authorized(
            Method::POST,
            "/payments/contact-unlock",
            Some(json!({})),
            &token,
        ))
        .await;
    let body = problem(response, 422, "validation-failed").await;
    assert_eq!(body["errors"][0]["field"], "property_id");
    let response = app
        .send(get_with_token(
            "/payments/transactions?all=perhaps&limit=x",
            &token,
        ))
        .await;
    let body = problem(response, 422, "validation-failed").await;
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        calls.count("InitContactUnlock") + calls.count("ListTransactions"),
        0
    );
}

#[tokio::test]
async fn transactions_verify_refund_rent_and_payout_map_to_the_service() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();

    let page = json(
        app.send(get_with_token(
            "/payments/transactions?limit=5&cursor=c1",
            &token,
        ))
        .await,
    )
    .await;
    let first = &page["transactions"][0];
    assert_eq!(first["reference"], PAID_REFERENCE);
    assert_eq!(first["status"], "SUCCESS");
    assert_eq!(first["amount"], "5000.00");
    assert_eq!(first["paid_at"], "2026-03-03T12:00:00Z");
    assert_eq!(first["paystack_id"], 4_099_260_516_i64);
    assert_eq!(page["next_cursor"], "0190f3a2-7b1c-7d4e-9a8b-00000000c001");
    let sent: pb::ListTransactionsRequest = calls.message("ListTransactions").expect("called");
    assert_eq!(
        (sent.all, sent.limit, sent.cursor.as_str()),
        (false, 5, "c1")
    );
    problem(
        app.send(get_with_token("/payments/transactions?all=true", &token))
            .await,
        403,
        "forbidden",
    )
    .await;

    // Verify with no body at all.
    let verified = app
        .send(authorized(
            Method::POST,
            &format!("/payments/transactions/{PAID_REFERENCE}/verify"),
            None,
            &token,
        ))
        .await;
    assert_eq!(verified.status(), StatusCode::OK);
    assert_eq!(json(verified).await["status"], "SUCCESS");
    let sent: pb::VerifyTransactionRequest = calls.message("VerifyTransaction").expect("called");
    assert_eq!(
        (sent.reference.as_str(), sent.property_id),
        (PAID_REFERENCE, None)
    );

    let refunded = json(
        app.send(authorized(
            Method::POST,
            &format!("/payments/transactions/{PAID_REFERENCE}/refund"),
            Some(json!({"reason": "paid twice"})),
            &token,
        ))
        .await,
    )
    .await;
    assert_eq!(refunded["status"], "REFUNDED");
    assert_eq!(refunded["status_reason"], "paid twice");

    let rent = app
        .send(authorized(
            Method::POST,
            "/payments/rent",
            Some(json!({"lease_id": SIGNED_LEASE_ID})),
            &token,
        ))
        .await;
    assert_eq!(rent.status(), StatusCode::OK);
    let rent = json(rent).await;
    assert_eq!(rent["amount_kobo"], 250_000_000);
    assert_eq!(rent["amount"], "2500000.00");
    assert_eq!(rent["transaction"]["type"], "RENT");
    assert_eq!(rent["transaction"]["lease_id"], SIGNED_LEASE_ID);
    assert!(rent["transaction"].get("property_id").is_none());
    let sent: pb::InitRentRequest = calls.message("InitRent").expect("called");
    assert_eq!(sent.lease_id, SIGNED_LEASE_ID);
    let draft = app
        .send(authorized(
            Method::POST,
            "/payments/rent",
            Some(json!({"lease_id": "l"})),
            &token,
        ))
        .await;
    let body = problem(draft, 409, "invalid-state").await;
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("FULLY_SIGNED"))
    );

    let payout = app
        .send(authorized(
            Method::PUT,
            "/payments/payout-account",
            Some(json!({"business_name": "Okafor Homes", "bank_code": "058", "account_number": "0193274682"})),
            &token,
        ))
        .await;
    assert_eq!(payout.status(), StatusCode::OK);
    let payout = json(payout).await;
    assert_eq!(payout["account_number_last4"], "4682");
    assert_eq!(payout["subaccount_code"], "ACCT_4hl4xenwpjy5wb");
    problem(
        app.send(get_with_token("/payments/payout-account", &token))
            .await,
        404,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn the_paystack_webhook_passes_raw_bytes_and_refuses_a_missing_signature() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    // Odd spacing and key order: forwarded byte for byte, never re-serialised.
    const BODY: &[u8] = br#"{ "event":"charge.success",  "data":{"reference":"ul-1","id":7} }"#;
    let missing = app.send(webhook(BODY, None)).await;
    problem(missing, 401, "unauthenticated").await;
    let empty = app.send(webhook(BODY, Some(" "))).await;
    problem(empty, 401, "unauthenticated").await;
    assert_eq!(calls.count("HandleWebhook"), 0);

    let wrong = app.send(webhook(BODY, Some("bad-signature"))).await;
    problem(wrong, 401, "unauthenticated").await;

    let accepted = app.send(webhook(BODY, Some("good-signature"))).await;
    assert_eq!(accepted.status(), StatusCode::OK);
    assert_eq!(json(accepted).await, json!({"received": true}));
    let sent: pb::HandleWebhookRequest = calls.message("HandleWebhook").expect("called");
    assert_eq!(sent.body, BODY);
    assert_eq!(sent.signature, "good-signature");
    assert_eq!(calls.get("HandleWebhook", md::AUTHORIZATION), None);
    assert_eq!(
        calls.get("HandleWebhook", md::REQUEST_ID).as_deref(),
        Some("paystack-1")
    );

    let oversized = vec![b' '; 64 * 1024 + 1];
    problem(
        app.send(webhook(oversized, Some("good-signature"))).await,
        413,
        "payload-too-large",
    )
    .await;
}

#[tokio::test]
async fn the_checkout_return_page_grants_nothing_and_needs_no_token() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let response = app
        .send(get("/payments/callback?trxref=ul-1&reference=ul-1"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    assert_eq!(body["reference"], "ul-1");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Return to the Rentory app"))
    );
    assert_eq!(calls.count("VerifyTransaction"), 0);
}
