//! What the client tests share: a fake Paystack's answers and the client pointed at it.
// Each test binary uses part of this.
#![allow(dead_code)]

use std::time::Duration;

use rentory_paystack::{ClientConfig, InitializeRequest, PaystackClient, PaystackError};
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const KEY: &str = "sk_test_4f9d1c2b7a";

pub fn config(base: &str) -> ClientConfig {
    let mut config = ClientConfig::new(Url::parse(base).unwrap(), SecretString::from(KEY));
    config.timeout = Duration::from_secs(2);
    config.retry_backoff = Duration::from_millis(10);
    config
}

pub fn client(server: &MockServer) -> PaystackClient {
    PaystackClient::new(config(&server.uri())).unwrap()
}

pub fn unlock_request(reference: &str) -> InitializeRequest {
    InitializeRequest {
        email: "tenant@example.com".into(),
        amount_kobo: 500_000,
        reference: reference.into(),
        callback_url: Some("https://app.rentory.example/payments/return".into()),
        metadata: json!({"type": "CONTACT_UNLOCK", "property_id": "0193a1b2-0000-7000-8000-000000000001"}),
        subaccount: None,
        bearer: None,
    }
}

pub fn initialized(reference: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "status": true,
        "message": "Authorization URL created",
        "data": {
            "authorization_url": "https://checkout.paystack.com/0peioxfhpn",
            "access_code": "0peioxfhpn",
            "reference": reference,
        }
    }))
}

pub fn verified(reference: &str, status: &str, amount: i64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "status": true,
        "message": "Verification successful",
        "data": {
            "id": 4099260516_i64, "domain": "test", "status": status, "reference": reference,
            "amount": amount, "message": null, "gateway_response": "Successful",
            "paid_at": "2026-05-24T10:23:11.000Z", "created_at": "2026-05-24T10:22:45.000Z",
            "channel": "card", "currency": "NGN", "ip_address": "197.210.45.12",
            "metadata": {"type": "CONTACT_UNLOCK"}, "fees": 7500,
            "customer": {"id": 92312441, "customer_code": "CUS_xnxdt6s1zg1f4nx", "email": "tenant@example.com"},
            "authorization": {"authorization_code": "AUTH_pmx3mgawyd", "reusable": true},
        }
    }))
}

pub fn paystack_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"status": false, "message": message}))
}

pub fn rejected(status: u16, message: &str) -> PaystackError {
    PaystackError::Rejected {
        status,
        message: message.into(),
    }
}

/// `response` to every `verb` request (on `route` when given), expected `times` times.
pub async fn answer(
    server: &MockServer,
    verb: &str,
    route: Option<&str>,
    response: ResponseTemplate,
    times: u64,
) {
    let mock = match route {
        Some(route) => Mock::given(method(verb)).and(path(route)),
        None => Mock::given(method(verb)),
    };
    mock.respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

/// `failure` to the first `failures` `verb` requests, `then` to the rest.
pub async fn fail_first(
    server: &MockServer,
    verb: &str,
    failure: ResponseTemplate,
    failures: u64,
    then: ResponseTemplate,
) {
    Mock::given(method(verb))
        .respond_with(failure)
        .up_to_n_times(failures)
        .expect(failures)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method(verb))
        .respond_with(then)
        .with_priority(2)
        .mount(server)
        .await;
}

pub async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

pub fn assert_authorized_json(request: &Request) {
    assert_eq!(
        request.headers.get("authorization").unwrap(),
        &format!("Bearer {KEY}")
    );
    if !request.body.is_empty() {
        assert_eq!(
            request.headers.get("content-type").unwrap(),
            "application/json"
        );
    }
}
