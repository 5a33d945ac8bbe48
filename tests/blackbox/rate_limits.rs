//! The gateway's per-IP registration limit, with the stack's own Redis counters.

use rentory_blackbox::{TestStack, status_and_json};
use rentory_stack::Limit;

#[tokio::test]
async fn the_third_registration_in_the_window_is_429_and_login_still_works() -> anyhow::Result<()> {
    let stack = TestStack::start_with(|t| t.rate_limits.register = Some(Limit::new(2, 60))).await?;
    let first = stack.register("TENANT").await?;
    stack.register("LANDLORD").await?;

    let (email, password, pin) = TestStack::new_credentials();
    let third = stack
        .http
        .post(stack.url("/auth/register"))
        .multipart(TestStack::registration_form(
            &email, &password, &pin, "TENANT",
        ))
        .send()
        .await?;
    assert_eq!(third.status(), 429);
    assert_eq!(third.headers()["content-type"], "application/problem+json");
    let retry_after: u64 = third.headers()["retry-after"].to_str()?.parse()?;
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    let (_, problem) = status_and_json(third).await?;
    assert_eq!(problem["type"], "https://rentory.ng/problems/rate-limited");
    assert_eq!(problem["status"], 429);

    // Identity never saw the refused one: its e-mail has no account.
    assert_eq!(stack.login(&email, &pin).await?.status(), 401);
    // Login has its own budget: the registered user signs in.
    let login = stack.login(&first.email, &first.pin).await?;
    assert_eq!(login.status(), 200);
    stack.stop().await
}
