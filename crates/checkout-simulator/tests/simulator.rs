//! The simulator driven by the real Paystack client, a browser's requests to the checkout
//! page, and a webhook receiver (wiremock) that records what it was sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::time::Duration;

use rentory_checkout_simulator::{DEV_SECRET_KEY, SimulatorConfig, SimulatorError, serve};
use rentory_paystack::webhook::{self, WebhookEvent};
use rentory_paystack::{
    ClientConfig, InitializeRequest, PaystackClient, PaystackError, RefundRequest,
    SubaccountRequest, TransactionStatus,
};
use rentory_runtime::CancellationToken;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CALLBACK: &str = "https://app.rentory.example/payments/return";

struct Running {
    base: Url,
    client: PaystackClient,
    browser: reqwest::Client,
    receiver: MockServer,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), SimulatorError>>,
}

/// A simulator whose webhooks go to a receiver answering 200.
async fn start() -> Running {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/webhooks/paystack"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    start_with(receiver).await
}

async fn start_with(receiver: MockServer) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let config = SimulatorConfig::local(
        Url::parse(&format!("{}/webhooks/paystack", receiver.uri())).unwrap(),
        base.clone(),
    );
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve(config, listener, shutdown.clone()));
    Running {
        client: client(&base, DEV_SECRET_KEY),
        base,
        browser: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        receiver,
        shutdown,
        task,
    }
}

fn client(base: &Url, key: &str) -> PaystackClient {
    let mut config = ClientConfig::new(base.clone(), SecretString::from(key));
    config.retry_backoff = Duration::from_millis(10);
    PaystackClient::new(config).unwrap()
}

fn unlock(reference: &str) -> InitializeRequest {
    InitializeRequest {
        email: "tenant@example.com".into(),
        amount_kobo: 500_000,
        reference: reference.into(),
        callback_url: Some(CALLBACK.into()),
        metadata: json!({"type": "CONTACT_UNLOCK", "transaction_id": "0193a1b2"}),
        subaccount: None,
        bearer: None,
    }
}

impl Running {
    async fn choose(&self, checkout: &Url, action: &str) -> reqwest::Response {
        self.browser
            .post(checkout.clone())
            .form(&[("action", action)])
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, checkout: &Url) -> (u16, String) {
        let response = self.browser.get(checkout.clone()).send().await.unwrap();
        let status = response.status().as_u16();
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        (status, response.text().await.unwrap())
    }

    async fn webhooks(&self) -> Vec<Request> {
        self.receiver.received_requests().await.unwrap()
    }

    async fn wait_for_webhooks(&self, count: usize) -> Vec<Request> {
        eventually(&format!("{count} webhook deliveries"), || async {
            self.webhooks().await.len() >= count
        })
        .await;
        self.webhooks().await
    }

    async fn stop(self) {
        self.shutdown.cancel();
        let stopped = tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the simulator stops when cancelled");
        stopped.unwrap().unwrap();
    }
}

/// Polls `check` until it holds, for at most 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The signature checks out over the exact bytes received, and the body is an event.
fn signed_event(request: &Request) -> WebhookEvent {
    assert_eq!(request.headers["content-type"], "application/json");
    let signature = request.headers[webhook::SIGNATURE_HEADER].to_str().unwrap();
    assert!(
        webhook::verify(DEV_SECRET_KEY.as_bytes(), &request.body, signature),
        "webhook signature does not verify"
    );
    assert!(!webhook::verify(b"sk_test_other", &request.body, signature));
    WebhookEvent::parse(&request.body).unwrap()
}

#[tokio::test]
async fn paying_sends_a_signed_webhook_and_returns_to_the_callback() {
    let sim = start().await;
    let opened = sim
        .client
        .initialize(&unlock("unlock-pay-1"))
        .await
        .unwrap();
    assert_eq!(opened.reference, "unlock-pay-1");
    assert_eq!(
        opened.authorization_url.as_str(),
        format!("{}checkout/{}", sim.base, opened.access_code)
    );

    // Before paying, Paystack reports an unpaid checkout as abandoned.
    let open = sim.client.verify("unlock-pay-1").await.unwrap();
    assert_eq!(open.status, TransactionStatus::Abandoned);
    assert_eq!(open.paid_at, None);

    let (status, html) = sim.page(&opened.authorization_url).await;
    assert_eq!(status, 200);
    assert!(html.contains("NGN 5,000.00"), "{html}");
    assert!(html.contains("tenant@example.com"), "{html}");
    assert!(html.contains("unlock-pay-1"), "{html}");
    assert!(html.contains(r#"value="pay""#) && html.contains(r#"value="decline""#));

    let paid = sim.choose(&opened.authorization_url, "pay").await;
    assert_eq!(paid.status().as_u16(), 303);
    assert_eq!(
        paid.headers()["location"],
        format!("{CALLBACK}?trxref=unlock-pay-1&reference=unlock-pay-1").as_str()
    );

    let delivered = sim.wait_for_webhooks(1).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].url.path(), "/webhooks/paystack");
    let event = signed_event(&delivered[0]);
    assert_eq!(event.event, "charge.success");
    assert_eq!(event.reference(), Some("unlock-pay-1"));
    assert_eq!(event.data["status"], "success");
    assert_eq!(event.data["amount"], 500_000);
    assert_eq!(event.data["currency"], "NGN");
    assert_eq!(event.data["customer"]["email"], "tenant@example.com");
    assert_eq!(
        event.data["metadata"],
        json!({"type": "CONTACT_UNLOCK", "transaction_id": "0193a1b2"})
    );
    assert!(event.data["paid_at"].is_string());

    let verified = sim.client.verify("unlock-pay-1").await.unwrap();
    assert_eq!(verified.status, TransactionStatus::Success);
    assert_eq!(verified.amount_kobo, 500_000);
    assert_eq!(verified.currency, "NGN");
    assert_eq!(Some(verified.id), event.paystack_id());
    assert_eq!(
        event.identity(&delivered[0].body),
        format!("charge.success:{}", verified.id)
    );
    let paid_at = verified.paid_at.expect("a paid transaction has paid_at");
    assert!(
        (time::OffsetDateTime::now_utc() - paid_at)
            .whole_seconds()
            .abs()
            < 60
    );
    assert_eq!(
        verified.metadata,
        json!({"type": "CONTACT_UNLOCK", "transaction_id": "0193a1b2"})
    );
    sim.stop().await;
}

#[tokio::test]
async fn declining_fails_the_payment_and_sends_no_webhook() {
    let sim = start().await;
    let declined = sim
        .client
        .initialize(&unlock("unlock-decline-1"))
        .await
        .unwrap();
    let paid = sim
        .client
        .initialize(&unlock("unlock-decline-2"))
        .await
        .unwrap();

    let answer = sim.choose(&declined.authorization_url, "decline").await;
    assert_eq!(answer.status().as_u16(), 200);
    assert!(answer.text().await.unwrap().contains("declined"));
    let verified = sim.client.verify("unlock-decline-1").await.unwrap();
    assert_eq!(verified.status, TransactionStatus::Failed);
    assert_eq!(verified.paid_at, None);

    // The declined payment came first; had it sent a webhook, it would be among these.
    sim.choose(&paid.authorization_url, "pay").await;
    let delivered = sim.wait_for_webhooks(1).await;
    let references: Vec<_> = delivered
        .iter()
        .map(|r| signed_event(r).reference().map(str::to_owned))
        .collect();
    assert_eq!(references, [Some("unlock-decline-2".to_owned())]);

    // A declined checkout cannot be paid afterwards.
    let again = sim.choose(&declined.authorization_url, "pay").await;
    assert_eq!(again.status().as_u16(), 409);
    sim.stop().await;
}

#[tokio::test]
async fn paying_twice_is_refused() {
    let sim = start().await;
    let opened = sim
        .client
        .initialize(&unlock("unlock-twice"))
        .await
        .unwrap();
    assert_eq!(
        sim.choose(&opened.authorization_url, "pay")
            .await
            .status()
            .as_u16(),
        303
    );
    let again = sim.choose(&opened.authorization_url, "pay").await;
    assert_eq!(again.status().as_u16(), 409);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("This payment is complete.")
    );
    assert_eq!(
        sim.choose(&opened.authorization_url, "decline")
            .await
            .status()
            .as_u16(),
        409
    );
    assert_eq!(sim.wait_for_webhooks(1).await.len(), 1);
    assert_eq!(
        sim.client.verify("unlock-twice").await.unwrap().status,
        TransactionStatus::Success
    );

    // The page of a settled checkout says so and offers no buttons.
    let (status, html) = sim.page(&opened.authorization_url).await;
    assert_eq!(status, 200);
    assert!(html.contains("Payment complete") && !html.contains("<form"));
    sim.stop().await;
}

#[tokio::test]
async fn a_reused_reference_is_a_duplicate() {
    let sim = start().await;
    sim.client.initialize(&unlock("unlock-dup")).await.unwrap();
    let error = sim
        .client
        .initialize(&unlock("unlock-dup"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        PaystackError::Rejected {
            status: 400,
            message: "Duplicate Transaction Reference".into()
        }
    );
    assert!(error.is_duplicate_reference());
    sim.stop().await;
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_refused_with_401() {
    let sim = start().await;
    let stranger = client(&sim.base, "sk_test_not_the_simulators");
    assert_eq!(
        stranger
            .initialize(&unlock("unlock-key"))
            .await
            .unwrap_err(),
        PaystackError::Rejected {
            status: 401,
            message: "Invalid key".into()
        }
    );
    assert_eq!(
        stranger.verify("unlock-key").await.unwrap_err(),
        PaystackError::Rejected {
            status: 401,
            message: "Invalid key".into()
        }
    );

    let bare = sim
        .browser
        .get(sim.base.join("transaction/verify/x").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status().as_u16(), 401);
    assert_eq!(
        bare.json::<Value>().await.unwrap(),
        json!({"status": false, "message": "No Authorization Header was found"})
    );
    // Nothing was opened by the refused calls.
    assert_eq!(
        sim.client.verify("unlock-key").await.unwrap_err(),
        PaystackError::NotFound("unlock-key".into())
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_failing_receiver_gets_the_webhook_once_it_accepts() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .expect(1)
        .mount(&receiver)
        .await;
    let sim = start_with(receiver).await;
    let opened = sim
        .client
        .initialize(&unlock("unlock-retry"))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    sim.choose(&opened.authorization_url, "pay").await;

    let delivered = sim.wait_for_webhooks(3).await;
    let waited = started.elapsed();
    assert_eq!(delivered.len(), 3);
    // The same signed bytes each time, so the receiver can deduplicate them.
    for request in &delivered {
        assert_eq!(request.body, delivered[0].body);
        assert_eq!(
            request.headers[webhook::SIGNATURE_HEADER],
            delivered[0].headers[webhook::SIGNATURE_HEADER]
        );
        assert_eq!(signed_event(request).reference(), Some("unlock-retry"));
    }
    // Pauses of 0.5 s then 1 s between the three deliveries.
    assert!(waited >= Duration::from_millis(1400), "{waited:?}");
    sim.stop().await;
}

#[tokio::test]
async fn a_refund_reverses_a_paid_transaction() {
    let sim = start().await;
    let opened = sim
        .client
        .initialize(&unlock("unlock-refund"))
        .await
        .unwrap();
    let unpaid = sim
        .client
        .refund(&RefundRequest {
            transaction: "unlock-refund".into(),
            amount_kobo: None,
            merchant_note: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(unpaid, PaystackError::Rejected { status: 400, .. }),
        "{unpaid:?}"
    );

    sim.choose(&opened.authorization_url, "pay").await;
    let refund = sim
        .client
        .refund(&RefundRequest {
            transaction: "unlock-refund".into(),
            amount_kobo: None,
            merchant_note: Some("contact unlocked twice".into()),
        })
        .await
        .unwrap();
    assert_eq!(refund.amount_kobo, 500_000);
    assert_eq!(refund.status, "pending");

    let verified = sim.client.verify("unlock-refund").await.unwrap();
    assert_eq!(verified.status, TransactionStatus::Reversed);
    assert!(verified.paid_at.is_some());

    let again = sim
        .client
        .refund(&RefundRequest {
            transaction: verified.id.to_string(),
            amount_kobo: None,
            merchant_note: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        again,
        PaystackError::Rejected {
            status: 400,
            message: "Transaction has been fully reversed".into()
        }
    );
    let unknown = sim
        .client
        .refund(&RefundRequest {
            transaction: "nobody".into(),
            amount_kobo: None,
            merchant_note: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, PaystackError::Rejected { status: 404, .. }),
        "{unknown:?}"
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_split_payment_uses_a_created_subaccount() {
    let sim = start().await;
    let subaccount = sim
        .client
        .create_subaccount(&SubaccountRequest {
            business_name: "Adaeze Lettings".into(),
            settlement_bank: "058".into(),
            account_number: "0123456789".into(),
            percentage_charge: 10.0,
        })
        .await
        .unwrap();
    assert!(subaccount.subaccount_code.starts_with("ACCT_"));
    let mut rent = unlock("rent-split-1");
    rent.amount_kobo = 150_000_000;
    rent.subaccount = Some(subaccount.subaccount_code);
    rent.bearer = Some("subaccount".into());
    let opened = sim.client.initialize(&rent).await.unwrap();
    let (_, html) = sim.page(&opened.authorization_url).await;
    assert!(html.contains("NGN 1,500,000.00"), "{html}");
    sim.stop().await;
}

#[tokio::test]
async fn the_checkout_page_escapes_what_it_shows() {
    let sim = start().await;
    let mut request = unlock("unlock-escape");
    request.email = "<b>x</b>\"'&@example.com".into();
    request.callback_url = Some("https://app.rentory.example/return?from=sim".into());
    let opened = sim.client.initialize(&request).await.unwrap();
    let (_, html) = sim.page(&opened.authorization_url).await;
    assert!(!html.contains("<b>x</b>"), "{html}");
    assert!(
        html.contains("&lt;b&gt;x&lt;/b&gt;&quot;&#x27;&amp;@example.com"),
        "{html}"
    );

    // The callback keeps its own query and gets Paystack's two parameters.
    let paid = sim.choose(&opened.authorization_url, "pay").await;
    assert_eq!(
        paid.headers()["location"],
        "https://app.rentory.example/return?from=sim&trxref=unlock-escape&reference=unlock-escape"
    );

    let unknown = sim.base.join("checkout/no-such-code").unwrap();
    assert_eq!(sim.page(&unknown).await.0, 404);
    assert_eq!(sim.choose(&unknown, "pay").await.status().as_u16(), 404);
    assert_eq!(
        sim.choose(&opened.authorization_url, "steal")
            .await
            .status()
            .as_u16(),
        400
    );
    sim.stop().await;
}

#[tokio::test]
async fn without_a_callback_paying_shows_a_completion_page() {
    let sim = start().await;
    let mut request = unlock("unlock-nocallback");
    request.callback_url = None;
    let opened = sim.client.initialize(&request).await.unwrap();
    let paid = sim.choose(&opened.authorization_url, "pay").await;
    assert_eq!(paid.status().as_u16(), 200);
    assert!(paid.text().await.unwrap().contains("Payment complete"));
    sim.wait_for_webhooks(1).await;
    sim.stop().await;
}
