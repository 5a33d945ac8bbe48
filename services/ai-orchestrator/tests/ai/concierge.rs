//! The concierge on the offline provider: personas, versions, events, memory, budget.

use rentory_auth::Role;
use rentory_persona::{MustHave, Persona};
use rentory_proto::ai::v1 as pb;
use rentory_runtime::rpc_error::Reason;
use tonic::Code;

use crate::support::*;

fn persona(answer: &pb::ConciergeTurnResponse) -> Persona {
    Persona::from_json(&answer.persona.as_ref().expect("persona").json).expect("valid persona")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turns_build_a_versioned_persona_publish_it_and_are_remembered() {
    let app = TestApp::spawn().await;
    let tenant = app.user(Role::Tenant);

    let first = app
        .say(
            &tenant,
            "I need a 2 bedroom flat in Yaba, budget 1.5m. Call me on 0803 123 4567",
        )
        .await
        .unwrap();
    assert_eq!(first.model, "offline");
    assert!(first.persona_changed);
    assert!(!first.reply.is_empty());
    assert!(
        first.confidence > 0.0 && first.confidence <= 0.6,
        "{}",
        first.confidence
    );
    let p1 = persona(&first);
    assert_eq!(p1.version, 1);
    assert_eq!(first.persona.as_ref().unwrap().version, 1);
    assert_eq!(p1.budget.unwrap().max_kobo, Some(150_000_000));
    assert_eq!(p1.locations[0].name, "Yaba");
    assert_eq!(p1.bedrooms.unwrap().min, Some(2));

    let second = app
        .say(&tenant, "Constant light is a must, and I need parking")
        .await
        .unwrap();
    let p2 = persona(&second);
    assert_eq!(p2.version, 2);
    assert!(p2.must_haves.contains(&MustHave::ConstantPower));
    assert!(p2.must_haves.contains(&MustHave::Parking));
    // Earlier wishes are kept.
    assert_eq!(p2.locations[0].name, "Yaba");

    // Nothing new: same version, no event.
    let third = app.say(&tenant, "Thank you").await.unwrap();
    assert!(!third.persona_changed);
    assert_eq!(persona(&third).version, 2);

    let event = app.last_persona_event(2).await;
    assert_eq!(event.user_id, tenant.id.to_string());
    assert_eq!(Persona::from_json(&event.persona_json).unwrap(), p2);
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ai.outbox WHERE subject = 'rentory.ai.persona.updated'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(events, 2);

    // The conversation is stored without the phone number; every answer is in the call log.
    let turns: Vec<(String, String)> = sqlx::query_as(
        "SELECT speaker, content FROM ai.concierge_turns WHERE user_id = $1 ORDER BY id",
    )
    .bind(tenant.id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(turns.len(), 6);
    assert_eq!(turns[0].0, "TENANT");
    assert_eq!(turns[1].0, "CONCIERGE");
    assert!(!turns[0].1.contains("0803"), "{}", turns[0].1);
    assert!(turns[0].1.contains("[contact removed]"), "{}", turns[0].1);
    let calls = app.calls("CONCIERGE").await;
    assert_eq!(calls.len(), 3);
    assert!(
        calls
            .iter()
            .all(|c| c.0 == "offline" && c.1 == "offline" && c.4 == 0)
    );

    let stored = app
        .client
        .clone()
        .get_persona(request(&tenant, pb::GetPersonaRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        Persona::from_json(&stored.persona.unwrap().json).unwrap(),
        p2
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_tenants_talk_and_only_owners_and_admins_read_personas() {
    let app = TestApp::spawn().await;
    let tenant = app.user(Role::Tenant);
    let landlord = app.user(Role::Landlord);
    let admin = app.user(Role::Admin);

    let refusal = app.say(&landlord, "hello").await.unwrap_err();
    refused(&refusal, Code::PermissionDenied, Reason::Forbidden);
    let mut anonymous = tonic::Request::new(pb::ConciergeTurnRequest {
        message: "hi".into(),
    });
    anonymous
        .metadata_mut()
        .insert("authorization", "Bearer not-a-token".parse().unwrap());
    let refusal = app
        .client
        .clone()
        .concierge_turn(anonymous)
        .await
        .unwrap_err();
    refused(&refusal, Code::Unauthenticated, Reason::Unauthenticated);
    for bad in ["", "   \u{7}  ", &"x".repeat(2001)] {
        let refusal = app.say(&tenant, bad).await.unwrap_err();
        refused(&refusal, Code::InvalidArgument, Reason::ValidationFailed);
    }

    // Nobody met yet: version 0.
    let none = app
        .client
        .clone()
        .get_persona(request(&tenant, pb::GetPersonaRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(none.persona.unwrap().version, 0);

    app.say(&tenant, "3 bedroom duplex in Lekki Phase 1")
        .await
        .unwrap();
    let theirs = pb::GetPersonaRequest {
        user_id: tenant.id.to_string(),
    };
    let by_admin = app
        .client
        .clone()
        .get_persona(request(&admin, theirs.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_admin.persona.unwrap().version, 1);
    let other = app.user(Role::Tenant);
    let refusal = app
        .client
        .clone()
        .get_persona(request(&other, theirs.clone()))
        .await
        .unwrap_err();
    refused(&refusal, Code::PermissionDenied, Reason::Forbidden);
    let refusal = app
        .client
        .clone()
        .get_persona(request(&landlord, theirs))
        .await
        .unwrap_err();
    refused(&refusal, Code::PermissionDenied, Reason::Forbidden);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_budget_refuses_the_call_after_the_limit_until_lagos_midnight() {
    let app = TestApp::spawn_with(Options {
        daily_calls: 2,
        ..Options::default()
    })
    .await;
    let tenant = app.user(Role::Tenant);
    app.say(&tenant, "flat in Yaba").await.unwrap();
    app.say(&tenant, "budget 2m").await.unwrap();
    let refusal = app.say(&tenant, "with parking").await.unwrap_err();
    refused(&refusal, Code::ResourceExhausted, Reason::AiBudgetExhausted);
    let retry = rentory_runtime::rpc_error::decode(&refusal)
        .retry_after
        .expect("retry info");
    assert!(
        retry.as_secs() >= 1 && retry.as_secs() <= 24 * 3600,
        "{retry:?}"
    );
    // Another tenant has their own allowance.
    app.say(&app.user(Role::Tenant), "flat in Yaba")
        .await
        .unwrap();
    // The refused turn left nothing behind.
    assert_eq!(app.calls("CONCIERGE").await.len(), 3);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_turns_of_one_tenant_lose_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.user(Role::Tenant);
    let messages = [
        "I need parking",
        "I need a gym",
        "I want a swimming pool",
        "borehole water please",
        "it must be furnished",
        "fast internet, fibre",
    ];
    let answers = futures::future::join_all(messages.iter().map(|m| app.say(&tenant, m))).await;
    let mut changed = 0;
    for answer in &answers {
        match answer {
            Ok(answer) => {
                assert!(answer.persona_changed);
                changed += 1;
            }
            Err(status) => refused(status, Code::FailedPrecondition, Reason::InvalidState),
        }
    }
    assert!(changed >= 1);
    let stored = app
        .client
        .clone()
        .get_persona(request(&tenant, pb::GetPersonaRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .persona
        .unwrap();
    // One version per accepted turn, and every accepted turn's wish survived.
    assert_eq!(stored.version, changed);
    let persona = Persona::from_json(&stored.json).unwrap();
    assert_eq!(
        persona.must_haves.len() as u64,
        changed,
        "{:?}",
        persona.must_haves
    );
    app.stop().await;
}
