//! Opening, reading, listing sessions; who may see them; assigning guides.

use futures::future::join_all;
use rentory_auth::{Role, StaffPosition, UserStatus};
use rentory_runtime::rpc_error::Reason;
use tonic::Code;
use uuid::Uuid;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_again_returns_the_same_session_even_when_ten_open_at_once() {
    let app = TestApp::spawn().await;
    let tenant = app.user(Role::Tenant);
    let landlord = app.user(Role::Landlord);
    let property = app.property(&landlord);

    let opened = join_all((0..10).map(|_| app.open(&tenant, property))).await;
    let ids: Vec<String> = opened.into_iter().map(|s| s.unwrap().id).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(
        app.count("SELECT count(*) FROM chat.chat_sessions").await,
        1
    );

    let again = app.open(&tenant, property).await.unwrap();
    assert_eq!(again.id, ids[0]);
    assert_eq!(again.tenant_id, tenant.id.to_string());
    assert_eq!(again.landlord_id, landlord.id.to_string());
    assert_eq!(again.property_id, property.to_string());
    assert_eq!(again.assigned_guide_id, None);
    assert!(!again.contact_unlocked);
    assert!(again.created_at.is_some() && again.last_updated.is_some());
    // The property was looked up on the tenant's behalf, with their own token.
    assert_eq!(
        app.directory.last_authorization(),
        Some(format!("Bearer {}", tenant.token))
    );
    // Reopening an existing session asks listings nothing.
    let calls = app.directory.property_calls();
    app.open(&tenant, property).await.unwrap();
    assert_eq!(app.directory.property_calls(), calls);

    // Another tenant gets a session of their own.
    let other = app.open(&app.user(Role::Tenant), property).await.unwrap();
    assert_ne!(other.id, ids[0]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_active_tenants_open_sessions_about_active_listings() {
    let app = TestApp::spawn().await;
    let landlord = app.user(Role::Landlord);
    let property = app.property(&landlord);

    for who in [
        landlord.clone(),
        app.user(Role::Guide),
        app.user(Role::Admin),
        app.staff(StaffPosition::SupportLead),
    ] {
        assert_reason(
            app.open(&who, property).await,
            Code::PermissionDenied,
            Reason::Forbidden,
        );
    }
    let pending = app.user_with(Uuid::now_v7(), Role::Tenant, UserStatus::Pending, None);
    assert_reason(
        app.open(&pending, property).await,
        Code::PermissionDenied,
        Reason::AccountNotActive,
    );

    let tenant = app.user(Role::Tenant);
    assert_reason(
        app.open(&tenant, Uuid::now_v7()).await,
        Code::NotFound,
        Reason::NotFound,
    );
    let archived = Uuid::now_v7();
    app.directory
        .add_property(archived, landlord.id, "ARCHIVED");
    assert_reason(
        app.open(&tenant, archived).await,
        Code::FailedPrecondition,
        Reason::InvalidState,
    );
    let invalid = rentory_proto::chat::v1::OpenSessionRequest {
        property_id: "not-an-id".into(),
    };
    let mut client = app.client.clone();
    assert_reason(
        client.open_session(request(&tenant, invalid)).await,
        Code::InvalidArgument,
        Reason::ValidationFailed,
    );

    app.directory.set_down(true);
    assert_reason(
        app.open(&tenant, property).await,
        Code::Unavailable,
        Reason::Unavailable,
    );
    app.directory.set_down(false);
    assert!(app.open(&tenant, property).await.is_ok());
    assert_eq!(
        app.count("SELECT count(*) FROM chat.chat_sessions").await,
        1
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_and_supervisors_see_a_session_everyone_else_gets_not_found() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    let guide = app.user(Role::Guide);
    app.assign_guide(&app.user(Role::Admin), chat.id(), guide.id)
        .await
        .unwrap();

    for who in [
        &chat.tenant,
        &chat.landlord,
        &guide,
        &app.user(Role::Admin),
        &app.staff(StaffPosition::SupportLead),
    ] {
        let seen = app.get(who, chat.id()).await.unwrap();
        assert_eq!(seen.id, chat.session.id);
        assert_eq!(seen.assigned_guide_id, Some(guide.id.to_string()));
        app.history(who, chat.id(), None, None, 10).await.unwrap();
    }
    for who in [
        app.user(Role::Tenant),
        app.user(Role::Landlord),
        app.user(Role::Guide),
        app.staff(StaffPosition::OperationsManager),
        app.staff(StaffPosition::ComplianceOfficer),
        app.staff(StaffPosition::FinancialController),
    ] {
        assert_no_session(app.get(&who, chat.id()).await);
        assert_no_session(app.history(&who, chat.id(), None, None, 10).await);
        assert_no_session(app.send(&who, chat.id(), "hello", "").await);
        assert_no_session(
            app.mark_read(&who, chat.id(), &Uuid::now_v7().to_string())
                .await,
        );
    }
    // The same answer as for sessions that do not exist, or cannot.
    assert_no_session(app.get(&chat.tenant, &Uuid::now_v7().to_string()).await);
    assert_no_session(app.get(&chat.tenant, "nope").await);
    assert_no_session(app.send(&chat.tenant, "nope", "hello", "").await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guides_are_assigned_by_admin_operations_and_support_and_must_be_active_guides() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    let guide = app.user(Role::Guide);
    let ops = app.staff(StaffPosition::OperationsManager);

    let session = app.assign_guide(&ops, chat.id(), guide.id).await.unwrap();
    assert_eq!(session.assigned_guide_id, Some(guide.id.to_string()));
    // The guide now takes part: it reads and posts.
    app.send(&guide, chat.id(), "I can show you round on Saturday", "")
        .await
        .unwrap();
    let second = app.user(Role::Guide);
    let lead = app.staff(StaffPosition::SupportLead);
    app.assign_guide(&lead, chat.id(), second.id).await.unwrap();
    assert_no_session(app.get(&guide, chat.id()).await);
    app.get(&second, chat.id()).await.unwrap();

    // Participants see the session but may not assign; outsiders do not see it.
    assert_reason(
        app.assign_guide(&chat.tenant, chat.id(), guide.id).await,
        Code::PermissionDenied,
        Reason::Forbidden,
    );
    assert_no_session(
        app.assign_guide(
            &app.staff(StaffPosition::ComplianceOfficer),
            chat.id(),
            guide.id,
        )
        .await,
    );
    assert_no_session(
        app.assign_guide(&ops, &Uuid::now_v7().to_string(), guide.id)
            .await,
    );

    // Not a guide, not active, or unknown to identity.
    let pending_guide = app.user_with(Uuid::now_v7(), Role::Guide, UserStatus::Pending, None);
    for not_a_guide in [chat.tenant.id, pending_guide.id, Uuid::now_v7()] {
        let status = assert_reason(
            app.assign_guide(&ops, chat.id(), not_a_guide).await,
            Code::InvalidArgument,
            Reason::ValidationFailed,
        );
        assert!(status.message().contains("guide_id"), "{status:?}");
    }
    // Identity was asked with the assigner's own token.
    assert_eq!(
        app.directory.last_authorization(),
        Some(format!("Bearer {}", ops.token))
    );
    app.directory.set_down(true);
    assert_reason(
        app.assign_guide(&ops, chat.id(), guide.id).await,
        Code::Unavailable,
        Reason::Unavailable,
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_show_own_sessions_most_recent_first_and_supervisors_see_all() {
    let app = TestApp::spawn().await;
    let landlord = app.user(Role::Landlord);
    let mut tenants = Vec::new();
    let mut sessions = Vec::new();
    for _ in 0..5 {
        let tenant = app.user(Role::Tenant);
        let session = app.open(&tenant, app.property(&landlord)).await.unwrap();
        sessions.push(session.id);
        tenants.push(tenant);
    }
    // A session of someone else entirely.
    let stranger = app.chat().await;
    // A message moves its session to the top.
    app.send(&tenants[1], &sessions[1], "still available?", "")
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.list(&landlord, 2, &cursor).await.unwrap();
        assert!(page.sessions.len() <= 2);
        seen.extend(page.sessions.into_iter().map(|s| s.id));
        if page.next_cursor.is_empty() {
            break;
        }
        cursor = page.next_cursor;
    }
    let mut expected: Vec<String> = sessions.iter().rev().cloned().collect();
    expected.retain(|id| *id != sessions[1]);
    expected.insert(0, sessions[1].clone());
    assert_eq!(seen, expected);

    let own = app.list(&tenants[0], 0, "").await.unwrap();
    assert_eq!(
        own.sessions.iter().map(|s| &s.id).collect::<Vec<_>>(),
        [&sessions[0]]
    );
    assert!(own.next_cursor.is_empty());

    for supervisor in [app.user(Role::Admin), app.staff(StaffPosition::SupportLead)] {
        let all = app.list(&supervisor, 100, "").await.unwrap();
        assert_eq!(all.sessions.len(), 6);
        assert!(all.sessions.iter().any(|s| s.id == stranger.session.id));
    }
    assert!(
        app.list(&app.staff(StaffPosition::OperationsManager), 100, "")
            .await
            .unwrap()
            .sessions
            .is_empty()
    );
    assert_reason(
        app.list(&landlord, 101, "").await,
        Code::InvalidArgument,
        Reason::ValidationFailed,
    );
    assert_reason(
        app.list(&landlord, 10, "garbage").await,
        Code::InvalidArgument,
        Reason::ValidationFailed,
    );
    app.stop().await;
}

async fn find(
    app: &TestApp,
    user: Option<&User>,
    property_id: &str,
    tenant_id: &str,
) -> Result<rentory_proto::chat::v1::Session, tonic::Status> {
    let message = rentory_proto::chat::v1::FindSessionRequest {
        property_id: property_id.into(),
        tenant_id: tenant_id.into(),
    };
    let call = match user {
        Some(user) => request(user, message),
        None => tonic::Request::new(message),
    };
    app.client
        .clone()
        .find_session(call)
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn find_session_serves_the_parties_and_chat_supervisors_and_hides_it_from_others() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    let (property, tenant) = (chat.property_id.to_string(), chat.tenant.id.to_string());

    let admin = app.user(Role::Admin);
    let support = app.staff(StaffPosition::SupportLead);
    for who in [&chat.tenant, &chat.landlord, &admin, &support] {
        let found = find(&app, Some(who), &property, &tenant)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", who.id));
        assert_eq!(found.id, chat.id());
        assert_eq!(found.tenant_id, tenant);
        assert_eq!(found.landlord_id, chat.landlord.id.to_string());
        assert_eq!(found.property_id, property);
    }

    // What a caller who may not see it is told is exactly what a missing session says.
    let missing = find(
        &app,
        Some(&chat.tenant),
        &Uuid::now_v7().to_string(),
        &tenant,
    )
    .await
    .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(missing.message(), chat::SESSION_NOT_FOUND);
    let other_landlord = app.user(Role::Landlord);
    let other_tenant = app.user(Role::Tenant);
    let operations = app.staff(StaffPosition::OperationsManager);
    let guide = app.user(Role::Guide);
    for who in [&other_landlord, &other_tenant, &operations, &guide] {
        let hidden = find(&app, Some(who), &property, &tenant).await.unwrap_err();
        assert_eq!(hidden.code(), Code::NotFound, "{}", who.id);
        assert_eq!(hidden.message(), missing.message());
        assert_eq!(
            rentory_runtime::rpc_error::decode(&hidden).reason,
            Some(Reason::NotFound)
        );
    }
    // The other tenant asking about their own (non-existent) session on this property.
    let none = find(
        &app,
        Some(&other_tenant),
        &property,
        &other_tenant.id.to_string(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (none.code(), none.message()),
        (Code::NotFound, missing.message())
    );
    app.stop().await;
}

#[tokio::test]
async fn find_session_needs_a_token_and_ids() {
    let app = TestApp::spawn().await;
    let chat = app.chat().await;
    let (property, tenant) = (chat.property_id.to_string(), chat.tenant.id.to_string());
    let anonymous = find(&app, None, &property, &tenant).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    for (property_id, tenant_id) in [("nope", tenant.as_str()), (property.as_str(), "")] {
        let bad = find(&app, Some(&chat.landlord), property_id, tenant_id)
            .await
            .unwrap_err();
        assert_eq!(
            bad.code(),
            Code::InvalidArgument,
            "{property_id} {tenant_id}"
        );
    }
    app.stop().await;
}
