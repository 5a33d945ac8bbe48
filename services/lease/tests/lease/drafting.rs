use rentory_auth::{Role, StaffPosition, UserStatus};
use rentory_runtime::rpc_error::{Reason, decode};
use tonic::Code;
use uuid::Uuid;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_landlord_drafts_a_compliant_lease_from_the_template() {
    let app = TestApp::spawn().await;
    let deal = app.deal();
    let lease = app.draft(&deal).await;
    assert_eq!(lease.status, "DRAFT");
    assert_eq!(lease.version, 1);
    assert_eq!(lease.landlord_id, deal.landlord.id.to_string());
    assert_eq!(lease.tenant_id, deal.tenant.id.to_string());
    assert_eq!(
        lease.content_sha256,
        lease::service::sha256_hex(&lease.content)
    );
    assert!(lease.content.contains("NGN 2,500,000"));
    assert!(lease.content.contains("Tunde Bakare"));
    assert!(
        lease
            .content
            .contains("The landlord repaints the bedrooms.")
    );
    assert_eq!(lease.findings, vec![], "the template's draft passes");
    assert_eq!(lease.tenancy, "NEW");
    assert_eq!(lease.jurisdiction, "Lagos");
    assert_eq!(lease.premises_address, ADDRESS);
    assert_eq!(lease.landlord_name, "Adaeze O_Kafor");
    assert_eq!(lease.drafted_by_model, "offline");
    assert!(!lease.draft_reasons.is_empty());
    assert_eq!(lease.terms.as_ref().unwrap().rent_period, "YEAR");

    // Everyone who may see it sees the same lease; others are told it does not exist.
    for viewer in [
        &deal.landlord,
        &deal.tenant,
        &app.user(Role::Admin),
        &app.staff(StaffPosition::SupportLead),
    ] {
        assert_eq!(app.get(viewer, &lease.id).await.unwrap(), lease);
    }
    assert_no_lease(app.get(&app.user(Role::Tenant), &lease.id).await);
    assert_no_lease(
        app.get(&app.user(Role::Landlord), &Uuid::now_v7().to_string())
            .await,
    );
    assert_no_lease(app.get(&deal.tenant, "not-an-id").await);
    assert_eq!(app.directory.ai_calls(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_of_a_draft() {
    let app = TestApp::spawn().await;
    let deal = app.deal();
    let draft = |user: User, property: Uuid, tenant: Uuid| {
        let app = &app;
        async move { app.draft_with(&user, property, tenant, terms()).await }
    };

    // Not a landlord; not ACTIVE; not this landlord's property.
    assert_reason(
        draft(deal.tenant.clone(), deal.property_id, deal.tenant.id).await,
        Code::PermissionDenied,
        Reason::Forbidden,
    );
    let pending = app.user_with(Role::Landlord, UserStatus::Pending, None, "P");
    assert_reason(
        draft(pending, deal.property_id, deal.tenant.id).await,
        Code::PermissionDenied,
        Reason::AccountNotActive,
    );
    assert_reason(
        draft(app.user(Role::Landlord), deal.property_id, deal.tenant.id).await,
        Code::PermissionDenied,
        Reason::Forbidden,
    );
    assert_reason(
        draft(deal.landlord.clone(), Uuid::now_v7(), deal.tenant.id).await,
        Code::NotFound,
        Reason::NotFound,
    );
    // The property is not ACTIVE.
    let archived = Uuid::now_v7();
    app.directory
        .add_property(archived, deal.landlord.id, "ARCHIVED", ADDRESS);
    app.directory.add_session(archived, deal.tenant.id);
    let refused = assert_reason(
        draft(deal.landlord.clone(), archived, deal.tenant.id).await,
        Code::FailedPrecondition,
        Reason::InvalidState,
    );
    assert!(refused.message().contains("ACTIVE"));
    // The tenant is not ACTIVE, or not a tenant.
    let pending_tenant = app.user_with(Role::Tenant, UserStatus::Pending, None, "P T");
    app.directory
        .add_session(deal.property_id, pending_tenant.id);
    let refused = assert_reason(
        draft(deal.landlord.clone(), deal.property_id, pending_tenant.id).await,
        Code::FailedPrecondition,
        Reason::InvalidState,
    );
    assert!(refused.message().contains("not ACTIVE"), "{refused:?}");
    let guide = app.user(Role::Guide);
    app.directory.add_session(deal.property_id, guide.id);
    let refused = assert_reason(
        draft(deal.landlord.clone(), deal.property_id, guide.id).await,
        Code::FailedPrecondition,
        Reason::InvalidState,
    );
    assert!(refused.message().contains("not a TENANT"));
    // No chat session.
    let stranger = app.user(Role::Tenant);
    let refused = assert_reason(
        draft(deal.landlord.clone(), deal.property_id, stranger.id).await,
        Code::FailedPrecondition,
        Reason::InvalidState,
    );
    assert_eq!(
        refused.message(),
        "the tenant has no chat session about this property"
    );
    // Bad terms are refused field by field, before any peer is asked.
    let bad = app
        .draft_with(
            &deal.landlord,
            deal.property_id,
            deal.tenant.id,
            rentory_proto::lease::v1::Terms {
                rent_kobo: 0,
                start_date: "tomorrow".into(),
                ..terms()
            },
        )
        .await;
    let status = assert_reason(bad, Code::InvalidArgument, Reason::ValidationFailed);
    let fields: Vec<String> = decode(&status)
        .field_violations
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(fields, ["terms.rent_kobo", "terms.start_date"]);
    assert_eq!(
        app.directory.ai_calls(),
        0,
        "no refused draft reached the AI"
    );

    // A second open lease of the pair: ALREADY_EXISTS naming it, without an AI call.
    let first = app.draft(&deal).await;
    let duplicate = assert_reason(
        draft(deal.landlord.clone(), deal.property_id, deal.tenant.id).await,
        Code::AlreadyExists,
        Reason::AlreadyExists,
    );
    assert_eq!(
        decode(&duplicate).info,
        [("lease_id".to_owned(), first.id.clone())]
    );
    assert_eq!(app.directory.ai_calls(), 1);

    // The AI's own refusals pass through with their reason.
    let other = app.deal();
    app.directory.spend_ai_budget();
    assert_reason(
        app.draft_with(&other.landlord, other.property_id, other.tenant.id, terms())
            .await,
        Code::ResourceExhausted,
        Reason::AiBudgetExhausted,
    );
    assert_eq!(app.count("SELECT count(*) FROM lease.leases").await, 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_make_new_versions_until_a_signature() {
    let app = TestApp::spawn().await;
    let deal = app.deal();
    let v1 = app.draft(&deal).await;
    let text = v1
        .content
        .replace("repaints the bedrooms", "repaints every room");
    let v2 = app
        .edit(&deal.landlord, &v1.id, &text, Some(&v1.content_sha256))
        .await
        .unwrap();
    assert_eq!((v2.version, v2.status.as_str()), (2, "DRAFT"));
    assert_eq!(v2.content, text);
    assert_ne!(v2.content_sha256, v1.content_sha256);
    assert_eq!(v2.content_sha256, lease::service::sha256_hex(&text));

    // Editing from a stale base is refused; so are the tenant, staff and strangers.
    assert_reason(
        app.edit(&deal.landlord, &v1.id, "x", Some(&v1.content_sha256))
            .await,
        Code::Aborted,
        Reason::StaleContent,
    );
    assert_reason(
        app.edit(&deal.tenant, &v1.id, "x", None).await,
        Code::PermissionDenied,
        Reason::Forbidden,
    );
    assert_reason(
        app.edit(&app.user(Role::Admin), &v1.id, "x", None).await,
        Code::PermissionDenied,
        Reason::Forbidden,
    );
    assert_no_lease(app.edit(&app.user(Role::Landlord), &v1.id, "x", None).await);
    assert_reason(
        app.edit(&deal.landlord, &v1.id, "bad\u{0}text", None).await,
        Code::InvalidArgument,
        Reason::ValidationFailed,
    );

    // A text without the rent is stored, with its finding shown.
    let v3 = app
        .edit(
            &deal.landlord,
            &v1.id,
            &text.replace("2,500,000", "2,000,000"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(v3.version, 3);
    assert_eq!(v3.findings.len(), 1);
    assert_eq!(v3.findings[0].code, "MISSING_RENT");
    assert_eq!(v3.findings[0].severity, "BLOCKING");

    let versions = app.versions(&deal.tenant, &v1.id).await;
    let listed: Vec<(u32, &str)> = versions
        .iter()
        .map(|v| (v.version, v.content_sha256.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (1, v1.content_sha256.as_str()),
            (2, v2.content_sha256.as_str()),
            (3, v3.content_sha256.as_str())
        ]
    );
    assert!(
        versions
            .iter()
            .all(|v| v.author_id == deal.landlord.id.to_string())
    );
    assert_eq!(versions[0].content, v1.content);

    // Back to the compliant text, then a signature: no more edits.
    let v4 = app.edit(&deal.landlord, &v1.id, &text, None).await.unwrap();
    app.sign(&deal.tenant, &v1.id, &v4.content_sha256)
        .await
        .unwrap();
    assert_wrong_state(
        app.edit(&deal.landlord, &v1.id, "new text", None).await,
        "SIGNED_BY_TENANT",
    );
    let audit = app.audit(&deal.landlord, &v1.id).await.unwrap();
    let reasons: Vec<Option<&str>> = audit.entries.iter().map(|e| e.reason.as_deref()).collect();
    assert_eq!(
        reasons,
        [
            None,
            Some("edited: version 2"),
            Some("edited: version 3"),
            Some("edited: version 4"),
            None
        ]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_draft_missing_required_parts_is_kept_with_its_findings() {
    let app = TestApp::spawn().await;
    let deal = app.deal();
    app.directory
        .set_ai_text("# Tenancy Agreement\n\nThe parties agree to a tenancy.\n");
    let lease = app.draft(&deal).await;
    assert_eq!(lease.drafted_by_model, "fake");
    let codes: Vec<(&str, &str)> = lease
        .findings
        .iter()
        .map(|f| (f.code.as_str(), f.severity.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("MISSING_RENT", "BLOCKING"),
            ("MISSING_PARTY", "BLOCKING"),
            ("MISSING_PARTY", "BLOCKING"),
            ("MISSING_PREMISES", "BLOCKING"),
        ]
    );
    let refused = assert_reason(
        app.sign(&deal.tenant, &lease.id, &lease.content_sha256)
            .await,
        Code::FailedPrecondition,
        Reason::NotCompliant,
    );
    assert_eq!(decode(&refused).precondition_violations.len(), 4);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parties_list_their_own_leases_and_staff_all_newest_first() {
    use rentory_proto::lease::v1 as pb;
    let app = TestApp::spawn().await;
    let first = app.deal();
    let a = app.draft(&first).await;
    let second = app.deal();
    let b = app.draft(&second).await;
    app.sign(&second.landlord, &b.id, &b.content_sha256)
        .await
        .unwrap();
    app.sign(&second.tenant, &b.id, &b.content_sha256)
        .await
        .unwrap();
    // The first landlord's second property, with the same tenant as the first.
    let c_property = Uuid::now_v7();
    app.directory
        .add_property(c_property, first.landlord.id, "ACTIVE", ADDRESS);
    app.directory.add_session(c_property, first.tenant.id);
    let c = app
        .draft_with(&first.landlord, c_property, first.tenant.id, terms())
        .await
        .unwrap();

    let list = |user: User, status: &str, property: &str, limit: u32, cursor: String| {
        let mut client = app.client.clone();
        let message = pb::ListLeasesRequest {
            status: status.into(),
            property_id: property.into(),
            limit,
            cursor,
        };
        async move {
            client
                .list_leases(request(&user, message))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let ids =
        |r: &pb::ListLeasesResponse| r.leases.iter().map(|l| l.id.clone()).collect::<Vec<_>>();

    let mine = list(first.landlord.clone(), "", "", 0, String::new())
        .await
        .unwrap();
    assert_eq!(ids(&mine), [c.id.clone(), a.id.clone()]);
    let tenant = list(second.tenant.clone(), "", "", 0, String::new())
        .await
        .unwrap();
    assert_eq!(ids(&tenant), [b.id.as_str()]);
    let stranger = list(app.user(Role::Tenant), "", "", 0, String::new())
        .await
        .unwrap();
    assert!(stranger.leases.is_empty());
    let queue = list(app.officer(), "PENDING_ADMIN", "", 0, String::new())
        .await
        .unwrap();
    assert_eq!(ids(&queue), [b.id.as_str()]);
    let by_property = list(
        app.user(Role::Admin),
        "",
        &c_property.to_string(),
        0,
        String::new(),
    )
    .await
    .unwrap();
    assert_eq!(ids(&by_property), [c.id.as_str()]);

    // Paging through everything as staff, one at a time.
    let staff = app.staff(StaffPosition::FinancialController);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = list(staff.clone(), "", "", 1, cursor).await.unwrap();
        seen.extend(ids(&page));
        if page.next_cursor.is_empty() {
            break;
        }
        cursor = page.next_cursor;
    }
    assert_eq!(seen, [c.id.clone(), b.id.clone(), a.id.clone()]);

    for (status, limit, cursor) in [("SIGNED", 0, ""), ("", 101, ""), ("", 0, "garbage")] {
        assert_reason(
            list(staff.clone(), status, "", limit, cursor.into()).await,
            Code::InvalidArgument,
            Reason::ValidationFailed,
        );
    }
    app.stop().await;
}
