//! NATS down: approvals still commit; the user becomes ACTIVE once NATS is back, exactly once.

use std::time::Duration;

use rentory_blackbox::TestStack;
use serde_json::json;

#[tokio::test]
async fn approval_during_a_nats_outage_activates_exactly_once_after_recovery() -> anyhow::Result<()>
{
    let mut stack = TestStack::start().await?;
    let admin = stack.admin().await?;
    let tenant = stack.register("TENANT").await?;
    let request_id = tenant.verification_request_id.clone().expect("request");

    stack.nats.stop().await?;
    let (status, approved) = stack
        .post(
            &format!("/kyc/requests/{request_id}/approve"),
            &admin.access_token,
            json!({}),
        )
        .await?;
    assert_eq!(status, 200, "approval commits without NATS: {approved}");
    let db = stack.db().await?;
    let waiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM kyc.outbox WHERE subject = 'rentory.kyc.verification.approved' AND published_at IS NULL",
    )
    .fetch_one(&db)
    .await?;
    assert_eq!(waiting, 1, "the event waits in the outbox");
    let (_, me) = stack.get("/me", &tenant.access_token).await?;
    assert_eq!(me["user"]["status"], "PENDING");

    stack.nats.start().await?;
    rentory_blackbox::eventually(
        Duration::from_secs(30),
        "activation after NATS recovery",
        || async {
            let (_, me) = stack.get("/me", &tenant.access_token).await?;
            Ok(me["user"]["status"] == "ACTIVE")
        },
    )
    .await?;

    let applied: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM identity.processed_events WHERE consumer = 'identity-kyc-approvals'",
    )
    .fetch_one(&db)
    .await?;
    assert_eq!(applied, 1);
    let activated: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM identity.outbox WHERE subject = 'rentory.identity.user.activated'",
    )
    .fetch_one(&db)
    .await?;
    assert_eq!(activated, 1, "activated exactly once");
    db.close().await;
    stack.stop().await
}
