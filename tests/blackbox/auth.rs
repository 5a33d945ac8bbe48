//! Login by PIN: lockout and its expiry, identical refusals, spraying, refresh rotation and
//! reuse, logout.

use std::time::Duration;

use rentory_blackbox::{TestStack, status_and_json};
use serde_json::{Value, json};

/// A refusal with its per-request parts removed, to compare two refusals.
fn comparable(mut problem: Value) -> Value {
    if let Some(object) = problem.as_object_mut() {
        object.remove("request_id");
        object.remove("instance");
    }
    problem
}

#[tokio::test]
async fn five_failures_lock_the_account_even_for_the_right_pin_until_it_expires()
-> anyhow::Result<()> {
    let stack = TestStack::start_with(|t| t.lockout.lock_for = Duration::from_secs(3)).await?;
    let tenant = stack.register("TENANT").await?;

    for attempt in 1..=4 {
        let response = stack.login(&tenant.email, "905383").await?;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    let fifth = stack.login(&tenant.email, "905383").await?;
    assert_eq!(fifth.status(), 423);
    let retry_after: u64 = fifth.headers()["retry-after"].to_str()?.parse()?;
    assert!((1..=3).contains(&retry_after), "Retry-After {retry_after}");

    let right_pin = stack.login(&tenant.email, &tenant.pin).await?;
    assert_eq!(
        right_pin.status(),
        423,
        "the right PIN is refused while locked"
    );
    let (_, problem) = status_and_json(right_pin).await?;
    assert_eq!(
        problem["type"],
        "https://rentory.ng/problems/account-locked"
    );

    rentory_blackbox::eventually(Duration::from_secs(10), "lock expiry", || async {
        Ok(stack.login(&tenant.email, &tenant.pin).await?.status() == 200)
    })
    .await?;
    stack.stop().await
}

#[tokio::test]
async fn unknown_email_and_wrong_pin_get_the_same_401() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let tenant = stack.register("TENANT").await?;

    let wrong_pin = stack.login(&tenant.email, "905383").await?;
    let unknown = stack.login("nobody-here@example.ng", "905383").await?;
    let wrong_password = stack
        .http
        .post(stack.url("/auth/login"))
        .json(&json!({"email": tenant.email, "password": "not the password"}))
        .send()
        .await?;
    let (a_status, a) = status_and_json(wrong_pin).await?;
    let (b_status, b) = status_and_json(unknown).await?;
    let (c_status, c) = status_and_json(wrong_password).await?;
    assert_eq!((a_status, b_status, c_status), (401, 401, 401));
    assert_eq!(comparable(a.clone()), comparable(b));
    assert_eq!(comparable(a), comparable(c));

    // Password login works too.
    let by_password = stack
        .http
        .post(stack.url("/auth/login"))
        .json(&json!({"email": tenant.email, "password": tenant.password}))
        .send()
        .await?;
    assert_eq!(by_password.status(), 200);
    stack.stop().await
}

#[tokio::test]
async fn a_client_spraying_many_accounts_gets_429() -> anyhow::Result<()> {
    let stack = TestStack::start_with(|t| t.spray.max_accounts = 3).await?;
    for n in 0..3 {
        let response = stack
            .login(&format!("sprayed{n}@example.ng"), "905383")
            .await?;
        assert_eq!(response.status(), 401);
    }
    let refused = stack.login("sprayed9@example.ng", "905383").await?;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    stack.stop().await
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_whole_family() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let tenant = stack.register("TENANT").await?;

    let (status, first) = stack
        .post(
            "/auth/refresh",
            "",
            json!({"refresh_token": tenant.refresh_token}),
        )
        .await?;
    assert_eq!(status, 200, "{first}");
    let newer_refresh = first["refresh_token"].as_str().expect("refresh").to_owned();
    let newer_access = first["access_token"].as_str().expect("access").to_owned();
    assert_ne!(newer_refresh, tenant.refresh_token);
    assert_eq!(stack.get("/me", &newer_access).await?.0, 200);

    // The stolen, already-used token is presented again: refused, and the family dies.
    let (status, _) = stack
        .post(
            "/auth/refresh",
            "",
            json!({"refresh_token": tenant.refresh_token}),
        )
        .await?;
    assert_eq!(status, 401);
    let (status, _) = stack
        .post("/auth/refresh", "", json!({"refresh_token": newer_refresh}))
        .await?;
    assert_eq!(status, 401, "the rotated successor is revoked too");
    assert_eq!(
        stack.get("/me", &newer_access).await?.0,
        401,
        "and its access token"
    );
    assert_eq!(stack.get("/me", &tenant.access_token).await?.0, 401);

    // Another session of the same user is untouched.
    let other = stack.login(&tenant.email, &tenant.pin).await?;
    assert_eq!(other.status(), 200);
    stack.stop().await
}

#[tokio::test]
async fn logout_stops_the_access_token_at_once() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let tenant = stack.register("TENANT").await?;
    assert_eq!(stack.get("/me", &tenant.access_token).await?.0, 200);

    let response = stack
        .http
        .post(stack.url("/auth/logout"))
        .bearer_auth(&tenant.access_token)
        .send()
        .await?;
    assert_eq!(response.status(), 204);
    let (status, problem) = stack.get("/me", &tenant.access_token).await?;
    assert_eq!(status, 401);
    assert_eq!(
        problem["type"],
        "https://rentory.ng/problems/unauthenticated"
    );
    let (status, _) = stack
        .post(
            "/auth/refresh",
            "",
            json!({"refresh_token": tenant.refresh_token}),
        )
        .await?;
    assert_eq!(status, 401, "the session's refresh token is dead too");
    stack.stop().await
}

#[tokio::test]
async fn registration_validates_every_field_and_refuses_common_pins() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let (email, password, _) = TestStack::new_credentials();
    for pin in ["123456", "000000", "121212"] {
        let response = stack
            .http
            .post(stack.url("/auth/register"))
            .multipart(TestStack::registration_form(
                &email, &password, pin, "TENANT",
            ))
            .send()
            .await?;
        let (status, problem) = status_and_json(response).await?;
        assert_eq!(status, 422, "{pin}: {problem}");
        let fields: Vec<_> = problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].clone())
            .collect();
        assert_eq!(fields, [json!("pin")], "{problem}");
    }
    let response = stack
        .http
        .post(stack.url("/auth/register"))
        .multipart(TestStack::registration_form(
            "not-an-email",
            "short",
            "482917",
            "ADMIN",
        ))
        .send()
        .await?;
    let (status, problem) = status_and_json(response).await?;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        problem["errors"].as_array().map(Vec::len),
        Some(3),
        "{problem}"
    );

    // Nothing was created: the e-mail is still free.
    let fine = stack
        .http
        .post(stack.url("/auth/register"))
        .multipart(TestStack::registration_form(
            &email, &password, "482917", "TENANT",
        ))
        .send()
        .await?;
    assert_eq!(fine.status(), 201);
    let again = stack
        .http
        .post(stack.url("/auth/register"))
        .multipart(TestStack::registration_form(
            &email, &password, "482917", "TENANT",
        ))
        .send()
        .await?;
    assert_eq!(again.status(), 409);
    stack.stop().await
}
