//! Payments through the gateway with the local checkout simulator standing in for
//! Paystack: the payments service's real Paystack client talks to it, and its signed
//! webhook comes back through `/webhooks/paystack` like Paystack's would.

use std::time::{Duration, Instant};

use rentory_blackbox::{Account, TestStack, eventually};
use rentory_proto::events::v1::TransactionSucceeded;
use serde_json::{Value, json};

const SUCCEEDED: &str = "rentory.payments.transaction.succeeded";

async fn listed_property(stack: &TestStack, landlord: &Account) -> anyhow::Result<String> {
    let (status, property) = stack
        .post(
            "/properties",
            &landlord.access_token,
            json!({"category": "RESIDENTIAL", "title": "2-bedroom flat in Yaba",
                   "description": "Prepaid meter, borehole", "price_kobo": 250_000_000,
                   "address": "Herbert Macaulay Way, Yaba, Lagos",
                   "latitude": 6.5095, "longitude": 3.3711, "bedrooms": 2}),
        )
        .await?;
    anyhow::ensure!(status == 201, "listing answered {status}: {property}");
    Ok(property["id"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_tenant_pays_at_the_checkout_and_the_contact_opens() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let admin = stack.admin().await?;
    let landlord = stack
        .register_with("LANDLORD", "Chiamaka Eze", "+234 803 111 2233")
        .await?;
    let landlord = stack.activate_by(&admin, &landlord).await?;
    let tenant = stack
        .activate_by(&admin, &stack.register("TENANT").await?)
        .await?;
    let property = listed_property(&stack, &landlord).await?;
    let contact = format!("/properties/{property}/contact");
    let mut succeeded = stack.events(SUCCEEDED).await?;

    let (status, locked) = stack.get(&contact, &tenant.access_token).await?;
    assert_eq!(status, 402, "{locked}");

    let (status, checkout) = stack
        .post(
            "/payments/contact-unlock",
            &tenant.access_token,
            json!({"property_id": property}),
        )
        .await?;
    assert_eq!(status, 200, "{checkout}");
    assert_eq!(checkout["amount_kobo"], 500_000);
    assert_eq!(checkout["amount"], "5000.00");
    assert_eq!(checkout["reused"], false);
    let reference = checkout["reference"]
        .as_str()
        .expect("reference")
        .to_owned();
    let authorization_url = checkout["authorization_url"]
        .as_str()
        .expect("authorization_url")
        .to_owned();
    let simulator = stack.checkout_url().expect("the simulator runs");
    assert!(
        authorization_url.starts_with(simulator),
        "{authorization_url} is not on {simulator}"
    );
    // Asking again while it is pending gives the same checkout.
    let (_, again) = stack
        .post(
            "/payments/contact-unlock",
            &tenant.access_token,
            json!({"property_id": property}),
        )
        .await?;
    assert_eq!(
        (again["reference"].as_str(), again["reused"].as_bool()),
        (Some(reference.as_str()), Some(true))
    );

    let page = stack.http.get(&authorization_url).send().await?;
    assert_eq!(page.status(), 200);
    let page = page.text().await?;
    assert!(page.contains("5,000"), "{page}");

    let paid = stack
        .http
        .post(&authorization_url)
        .form(&[("action", "pay")])
        .send()
        .await?;
    let paid_at = Instant::now();
    assert!(
        paid.status().is_success(),
        "paying answered {}",
        paid.status()
    );

    // Webhook -> payments (verify with the simulator, grant) -> event -> listings.
    eventually(Duration::from_secs(1), "the contact to open", || async {
        let (status, _) = stack.get(&contact, &tenant.access_token).await?;
        Ok(status == 200)
    })
    .await?;
    let opened_in = paid_at.elapsed();
    let (_, opened) = stack.get(&contact, &tenant.access_token).await?;
    assert_eq!(opened["full_name"], "Chiamaka Eze");
    assert_eq!(opened["phone"], "+2348031112233");
    println!("contact opened {opened_in:?} after paying");

    let event: TransactionSucceeded = succeeded
        .next(Duration::from_secs(10))
        .await?
        .expect("a succeeded event");
    assert_eq!(event.reference, reference);
    assert_eq!(event.payer_id, tenant.user_id);
    assert_eq!(event.property_id.as_deref(), Some(property.as_str()));

    let (status, mine) = stack
        .get("/payments/transactions", &tenant.access_token)
        .await?;
    assert_eq!(status, 200, "{mine}");
    let found: Vec<&Value> = mine["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .filter(|t| t["reference"] == reference.as_str())
        .collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["status"], "SUCCESS");
    assert_eq!(found[0]["amount"], "5000.00");
    assert!(found[0]["paid_at"].is_string());

    let (status, problem) = stack
        .post(
            "/payments/contact-unlock",
            &tenant.access_token,
            json!({"property_id": property}),
        )
        .await?;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["reference"], reference.as_str());
    // Exactly one event, however the webhook and verify calls went.
    assert!(
        succeeded
            .next::<TransactionSucceeded>(Duration::from_secs(1))
            .await?
            .is_none()
    );
    stack.stop().await
}

#[tokio::test]
async fn a_webhook_without_the_right_signature_is_refused_at_the_gateway() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let body = r#"{"event":"charge.success","data":{"id":1,"reference":"ul-0"}}"#;
    for signature in [None, Some("00".repeat(64))] {
        let mut request = stack
            .http
            .post(stack.url("/webhooks/paystack"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("x-paystack-signature", signature);
        }
        let response = request.send().await?;
        assert_eq!(response.status(), 401);
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM payments.webhook_events")
        .fetch_one(&stack.db().await?)
        .await?;
    assert_eq!(stored, 0);
    stack.stop().await
}
