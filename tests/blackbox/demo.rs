//! `make demo`'s journey, run by the suite against a test stack: the same code, so the demo
//! `make run` users see keeps working.

use rentory_blackbox::TestStack;
use rentory_blackbox::demo::{self, Target};

#[tokio::test]
async fn the_demo_journey_runs_from_registration_to_rent() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let admin = stack.admin().await?;
    // A listing already on the market nearby that fits the tenant less well (2 bedrooms where
    // he asks for 3), so "ranked first" is a ranking, not the only result.
    let rival = stack
        .activate_by(&admin, &stack.register("LANDLORD").await?)
        .await?;
    let rival_listing = stack.property_of(&rival).await?;
    let target = Target {
        base: stack.base.clone(),
        admin_email: admin.email.clone(),
        admin_pin: admin.pin.clone(),
    };
    let mut printed = Vec::new();
    let outcome = demo::run(&target, &mut printed).await;
    let printed = String::from_utf8_lossy(&printed).into_owned();
    println!("{printed}");
    let outcome = outcome?;
    assert_eq!(outcome.steps, 17, "{printed}");
    // One numbered "ok" line per step, in order.
    let numbered: Vec<usize> = printed
        .lines()
        .filter(|l| l.contains(" ok "))
        .filter_map(|l| l.trim_start().split('.').next()?.parse().ok())
        .collect();
    assert_eq!(numbered, (1..=17).collect::<Vec<_>>(), "{printed}");
    assert!(printed.contains("demo passed: 17 steps"), "{printed}");
    assert!(
        printed.contains("#1 of 2"),
        "ranked against the rival: {printed}"
    );
    assert_ne!(outcome.property_id, rival_listing);

    // The demo's lease really is FULLY_SIGNED with its rent recorded, seen from outside it.
    let db = stack.db().await?;
    let (status, paid): (String, i64) = sqlx::query_as(
        "SELECT l.status::text, (SELECT count(*) FROM lease.rent_payments r WHERE r.lease_id = l.id) \
         FROM lease.leases l WHERE l.id = $1::uuid",
    )
    .bind(&outcome.lease_id)
    .fetch_one(&db)
    .await?;
    assert_eq!((status.as_str(), paid), ("FULLY_SIGNED", 1));
    db.close().await;
    stack.stop().await
}

/// A failing step stops the run with a non-zero outcome and says which step failed.
#[tokio::test]
async fn the_demo_stops_at_the_first_failure_and_names_the_step() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let target = Target {
        base: stack.base.clone(),
        admin_email: "nobody@example.ng".to_owned(),
        admin_pin: "482917".to_owned(),
    };
    let mut printed = Vec::new();
    let outcome = demo::run(&target, &mut printed).await;
    let printed = String::from_utf8_lossy(&printed).into_owned();
    assert!(outcome.is_err(), "{printed}");
    assert!(printed.contains("demo FAILED at step 1"), "{printed}");
    assert!(
        printed.contains("401"),
        "the answer that failed it: {printed}"
    );
    stack.stop().await
}
