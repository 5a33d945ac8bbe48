//! The real client against a fake Paystack (wiremock): what it sends, and what it makes of
//! every kind of answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::*;

use std::time::Duration;

use rentory_paystack::{
    PaystackClient, PaystackError, RefundRequest, SubaccountRequest, TransactionStatus,
};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn initialize_sends_the_amount_in_kobo_in_naira_with_our_reference() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        Some("/transaction/initialize"),
        initialized("unlock-01"),
        1,
    )
    .await;

    let answer = client(&server)
        .initialize(&unlock_request("unlock-01"))
        .await
        .unwrap();
    assert_eq!(
        answer.authorization_url.as_str(),
        "https://checkout.paystack.com/0peioxfhpn"
    );
    assert_eq!(answer.access_code, "0peioxfhpn");
    assert_eq!(answer.reference, "unlock-01");

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method.as_str(), "POST");
    assert_authorized_json(&sent[0]);
    let body: Value = sent[0].body_json().unwrap();
    assert_eq!(
        body,
        json!({
            "email": "tenant@example.com",
            "amount": 500000,
            "currency": "NGN",
            "reference": "unlock-01",
            "callback_url": "https://app.rentory.example/payments/return",
            "metadata": {"type": "CONTACT_UNLOCK", "property_id": "0193a1b2-0000-7000-8000-000000000001"},
        })
    );
    assert!(
        body["amount"].is_i64(),
        "amount is an integer, not a string"
    );
}

#[tokio::test]
async fn a_split_payment_names_the_subaccount_and_the_fee_bearer() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        Some("/paystack/transaction/initialize"),
        initialized("rent-7"),
        1,
    )
    .await;
    // A base URL with a path keeps it (the simulator or a proxy may live under one).
    let client = PaystackClient::new(config(&format!("{}/paystack", server.uri()))).unwrap();
    let mut request = unlock_request("rent-7");
    request.amount_kobo = 150_000_000;
    request.callback_url = None;
    request.metadata = Value::Null;
    request.subaccount = Some("ACCT_8f4s1eq7ml6rlzj".into());
    request.bearer = Some("subaccount".into());
    client.initialize(&request).await.unwrap();

    let body: Value = requests(&server).await[0].body_json().unwrap();
    assert_eq!(
        body,
        json!({
            "email": "tenant@example.com",
            "amount": 150000000,
            "currency": "NGN",
            "reference": "rent-7",
            "subaccount": "ACCT_8f4s1eq7ml6rlzj",
            "bearer": "subaccount",
        })
    );
}

#[tokio::test]
async fn verify_escapes_the_reference_and_reads_the_transaction() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        Some("/transaction/verify/odd%20ref%2F1%3F"),
        verified("odd ref/1?", "success", 500_000),
        1,
    )
    .await;

    let transaction = client(&server).verify("odd ref/1?").await.unwrap();
    assert_eq!(transaction.status, TransactionStatus::Success);
    assert_eq!(transaction.reference, "odd ref/1?");
    assert_eq!(transaction.amount_kobo, 500_000);
    assert_eq!(transaction.currency, "NGN");
    assert_eq!(transaction.id, 4099260516);
    assert_eq!(
        transaction.paid_at,
        Some(time::macros::datetime!(2026-05-24 10:23:11 UTC))
    );
    assert_eq!(
        transaction.customer_email.as_deref(),
        Some("tenant@example.com")
    );
    assert_eq!(transaction.metadata, json!({"type": "CONTACT_UNLOCK"}));

    let sent = requests(&server).await;
    assert_eq!(sent[0].method.as_str(), "GET");
    assert!(sent[0].body.is_empty());
    assert_authorized_json(&sent[0]);
}

#[tokio::test]
async fn verify_of_an_unknown_reference_is_not_found() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        Some("/transaction/verify/nobody-knows"),
        paystack_error(400, "Transaction reference not found"),
        1,
    )
    .await;
    let error = client(&server).verify("nobody-knows").await.unwrap_err();
    assert_eq!(error, PaystackError::NotFound("nobody-knows".into()));
}

#[tokio::test]
async fn a_500_is_retried_until_paystack_answers() {
    let server = MockServer::start().await;
    fail_first(
        &server,
        "POST",
        paystack_error(500, "Internal server error"),
        2,
        initialized("unlock-02"),
    )
    .await;

    let answer = client(&server)
        .initialize(&unlock_request("unlock-02"))
        .await
        .unwrap();
    assert_eq!(answer.reference, "unlock-02");
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 3);
    // Every attempt is the same request: the reference is what makes repeating it safe.
    assert!(sent.iter().all(|r| r.body == sent[0].body));
}

#[tokio::test]
async fn a_retry_that_finds_the_reference_taken_is_rejected_as_a_duplicate() {
    let server = MockServer::start().await;
    fail_first(
        &server,
        "POST",
        ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"),
        1,
        paystack_error(400, "Duplicate Transaction Reference"),
    )
    .await;

    let error = client(&server)
        .initialize(&unlock_request("unlock-03"))
        .await
        .unwrap_err();
    assert_eq!(error, rejected(400, "Duplicate Transaction Reference"));
    assert!(error.is_duplicate_reference());
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        Some("/transaction/initialize"),
        paystack_error(400, "Invalid Email Address Passed"),
        1,
    )
    .await;
    let error = client(&server)
        .initialize(&unlock_request("unlock-04"))
        .await
        .unwrap_err();
    assert_eq!(error, rejected(400, "Invalid Email Address Passed"));
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_wrong_key_is_rejected_with_401() {
    let server = MockServer::start().await;
    answer(&server, "GET", None, paystack_error(401, "Invalid key"), 1).await;
    let error = client(&server).verify("r-1").await.unwrap_err();
    assert_eq!(error, rejected(401, "Invalid key"));
}

#[tokio::test]
async fn every_attempt_timing_out_is_a_timeout_after_max_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(verified("slow", "success", 1).set_delay(Duration::from_millis(400)))
        .mount(&server)
        .await;
    let mut config = config(&server.uri());
    config.timeout = Duration::from_millis(60);
    config.max_attempts = 3;
    let started = std::time::Instant::now();
    let error = PaystackClient::new(config)
        .unwrap()
        .verify("slow")
        .await
        .unwrap_err();
    assert_eq!(error, PaystackError::Timeout);
    assert!(error.is_retryable());
    assert_eq!(requests(&server).await.len(), 3);
    // 3 x 60 ms attempts + 10 ms + 20 ms pauses, far below one 400 ms answer each.
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn persistent_5xx_is_unavailable_after_max_attempts() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        None,
        paystack_error(503, "Service Unavailable"),
        3,
    )
    .await;
    let error = client(&server)
        .refund(&RefundRequest {
            transaction: "unlock-05".into(),
            amount_kobo: None,
            merchant_note: None,
        })
        .await
        .unwrap_err();
    let PaystackError::Unavailable(detail) = &error else {
        panic!("{error:?}")
    };
    assert!(
        detail.contains("HTTP 503") && detail.contains("Service Unavailable"),
        "{detail}"
    );
}

#[tokio::test]
async fn an_unreachable_paystack_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = PaystackClient::new(config(&format!("http://{address}"))).unwrap();
    let error = client.verify("r-1").await.unwrap_err();
    assert!(matches!(error, PaystackError::Unavailable(_)), "{error:?}");
}

/// Answers that must never be believed, each with the call that receives it.
#[tokio::test]
async fn malformed_and_unsafe_answers_are_invalid() {
    let cases: Vec<(&str, ResponseTemplate)> = vec![
        ("not json", ResponseTemplate::new(200).set_body_string("<html>ok</html>")),
        ("status false", ResponseTemplate::new(200).set_body_json(json!({"status": false, "message": "no", "data": {}}))),
        ("no data", ResponseTemplate::new(200).set_body_json(json!({"status": true, "message": "ok"}))),
        ("other reference", verified("someone-elses", "success", 500_000)),
        ("negative amount", verified("r-1", "success", -500_000)),
        ("amount as text", ResponseTemplate::new(200).set_body_json(json!({"status": true, "data": {
            "id": 1, "status": "success", "reference": "r-1", "amount": "500000", "currency": "NGN"}}))),
        ("no status", ResponseTemplate::new(200).set_body_json(json!({"status": true, "data": {
            "id": 1, "reference": "r-1", "amount": 500000, "currency": "NGN"}}))),
        ("redirect", ResponseTemplate::new(302).insert_header("location", "http://evil.example/")),
        ("huge", ResponseTemplate::new(200).set_body_string("x".repeat(2 * 1024 * 1024))),
    ];
    for (case, response) in cases {
        let server = MockServer::start().await;
        answer(&server, "GET", None, response, 1).await;
        let error = client(&server).verify("r-1").await.unwrap_err();
        assert!(
            matches!(error, PaystackError::Invalid(_)),
            "{case}: {error:?}"
        );
    }

    for (case, url) in [
        ("javascript checkout", "javascript:alert(document.cookie)"),
        ("relative checkout", "/checkout/abc"),
    ] {
        let server = MockServer::start().await;
        let checkout = json!({"status": true, "data": {
            "authorization_url": url, "access_code": "abc", "reference": "unlock-06"}});
        answer(
            &server,
            "POST",
            None,
            ResponseTemplate::new(200).set_body_json(checkout),
            1,
        )
        .await;
        let error = client(&server)
            .initialize(&unlock_request("unlock-06"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, PaystackError::Invalid(_)),
            "{case}: {error:?}"
        );
    }
}

#[tokio::test]
async fn refund_sends_the_transaction_and_amount_and_reads_the_refund() {
    let server = MockServer::start().await;
    answer(&server, "POST", Some("/refund"), ResponseTemplate::new(200).set_body_json(json!({
            "status": true,
            "message": "Refund has been queued for processing",
            "data": {
                "transaction": {"id": 1004723697, "reference": "unlock-07", "amount": 500000, "currency": "NGN"},
                "integration": 412829, "deducted_amount": 0, "channel": null,
                "merchant_note": "duplicate unlock", "customer_note": "Refund for transaction unlock-07",
                "status": "pending", "refunded_by": "finance@rentory.example",
                "expected_at": "2026-05-30T15:38:40.843Z", "currency": "NGN", "domain": "test",
                "amount": 200000, "fully_deducted": false, "id": 3018284,
            }
        })), 1).await;
    let refund = client(&server)
        .refund(&RefundRequest {
            transaction: "unlock-07".into(),
            amount_kobo: Some(200_000),
            merchant_note: Some("duplicate unlock".into()),
        })
        .await
        .unwrap();
    assert_eq!(refund.id, 3018284);
    assert_eq!(refund.status, "pending");
    assert_eq!(refund.amount_kobo, 200_000);

    let sent = requests(&server).await;
    assert_authorized_json(&sent[0]);
    assert_eq!(
        sent[0].body_json::<Value>().unwrap(),
        json!({"transaction": "unlock-07", "amount": 200000, "merchant_note": "duplicate unlock"})
    );
}

#[tokio::test]
async fn create_subaccount_sends_the_settlement_account() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        Some("/subaccount"),
        ResponseTemplate::new(201).set_body_json(json!({
            "status": true,
            "message": "Subaccount created",
            "data": {
                "integration": 100973, "domain": "test", "subaccount_code": "ACCT_4hl4xenwpjy5wb",
                "business_name": "Adaeze Lettings", "percentage_charge": 10.5,
                "settlement_bank": "Guaranty Trust Bank", "account_number": "0193274682",
                "active": true, "id": 55,
            }
        })),
        1,
    )
    .await;
    let subaccount = client(&server)
        .create_subaccount(&SubaccountRequest {
            business_name: "Adaeze Lettings".into(),
            settlement_bank: "058".into(),
            account_number: "0193274682".into(),
            percentage_charge: 10.5,
        })
        .await
        .unwrap();
    assert_eq!(subaccount.subaccount_code, "ACCT_4hl4xenwpjy5wb");
    let sent = requests(&server).await;
    assert_authorized_json(&sent[0]);
    assert_eq!(
        sent[0].body_json::<Value>().unwrap(),
        json!({"business_name": "Adaeze Lettings", "settlement_bank": "058",
               "account_number": "0193274682", "percentage_charge": 10.5})
    );
}

#[tokio::test]
async fn requests_paystack_would_refuse_never_leave() {
    let server = MockServer::start().await;
    answer(&server, "POST", None, initialized("x"), 0).await;
    let mut request = unlock_request("bad/ref");
    let error = client(&server).initialize(&request).await.unwrap_err();
    assert!(
        matches!(error, PaystackError::Rejected { status: 400, .. }),
        "{error:?}"
    );
    request.reference = "ok-ref".into();
    request.amount_kobo = 0;
    let error = client(&server).initialize(&request).await.unwrap_err();
    assert!(
        matches!(error, PaystackError::Rejected { status: 400, .. }),
        "{error:?}"
    );
}
