use std::sync::Arc;

use rentory_audit::GENESIS;
use rentory_auth::{Role, StaffPosition, UserStatus};
use rentory_runtime::rpc_error::{Reason, decode};
use tonic::Code;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_orders_reach_fully_signed_and_every_step_is_audited() {
    let app = TestApp::spawn().await;
    for landlord_first in [true, false] {
        let deal = app.deal();
        let lease = app.draft(&deal).await;
        let sha = lease.content_sha256.clone();
        let (first, second, middle) = if landlord_first {
            (&deal.landlord, &deal.tenant, "SIGNED_BY_LANDLORD")
        } else {
            (&deal.tenant, &deal.landlord, "SIGNED_BY_TENANT")
        };
        let signed = app.sign(first, &lease.id, &sha).await.unwrap();
        assert_eq!(signed.status, middle);
        assert_eq!(signed.signatures.len(), 1);
        assert_eq!(signed.signatures[0].ip_address.as_deref(), Some(CLIENT_IP));
        assert_eq!(signed.signatures[0].content_sha256, sha);
        // Authorizing before both signed is a move the table does not have.
        assert_wrong_state(app.authorize(&app.officer(), &lease.id).await, middle);
        let both = app.sign(second, &lease.id, &sha).await.unwrap();
        assert_eq!(both.status, "PENDING_ADMIN");
        assert_eq!(both.signatures.len(), 2);
        let authorizer = if landlord_first {
            app.officer()
        } else {
            app.user(Role::Admin)
        };
        let done = app.authorize(&authorizer, &lease.id).await.unwrap();
        assert_eq!(done.status, "FULLY_SIGNED");
        assert_eq!(done.authorized_by, Some(authorizer.id.to_string()));
        assert!(done.fully_signed_at.is_some());

        let audit = app.audit(&deal.tenant, &lease.id).await.unwrap();
        assert!(audit.chain_intact);
        assert_eq!(audit.broken_row_id, None);
        let steps: Vec<(Option<&str>, &str, String, &str)> = audit
            .entries
            .iter()
            .map(|e| {
                (
                    e.from_status.as_deref(),
                    e.to_status.as_str(),
                    e.actor_id.clone(),
                    e.actor_role.as_str(),
                )
            })
            .collect();
        let id = |u: &User| u.id.to_string();
        let (first_role, second_role) = if landlord_first {
            ("LANDLORD", "TENANT")
        } else {
            ("TENANT", "LANDLORD")
        };
        assert_eq!(
            steps,
            [
                (None, "DRAFT", id(&deal.landlord), "LANDLORD"),
                (Some("DRAFT"), middle, id(first), first_role),
                (Some(middle), "PENDING_ADMIN", id(second), second_role),
                (
                    Some("PENDING_ADMIN"),
                    "FULLY_SIGNED",
                    id(&authorizer),
                    authorizer.role.as_str()
                ),
            ]
        );
        for (i, entry) in audit.entries.iter().enumerate() {
            // The gateway's client IP, not the X-Forwarded-For the client sent.
            assert_eq!(entry.ip_address.as_deref(), Some(CLIENT_IP));
            assert_eq!(entry.user_agent.as_deref(), Some(USER_AGENT));
            assert!(entry.request_id.as_deref().unwrap().starts_with("req-"));
            assert_eq!(entry.content_sha256, sha);
            assert_eq!(entry.hash.len(), 64);
            let expected_prev = if i == 0 {
                hex(&GENESIS)
            } else {
                audit.entries[i - 1].hash.clone()
            };
            assert_eq!(
                entry.prev_hash, expected_prev,
                "row {i} links to the one before"
            );
        }
        // FULLY_SIGNED is final.
        for result in [
            app.sign(first, &lease.id, &sha).await,
            app.withdraw(&deal.landlord, &lease.id, "changed my mind")
                .await,
            app.authorize(&authorizer, &lease.id).await,
            app.edit(&deal.landlord, &lease.id, "x", None).await,
        ] {
            assert_wrong_state(result, "FULLY_SIGNED");
        }
    }
    app.stop().await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_hashes_findings_and_the_wrong_people_are_refused() {
    let app = TestApp::spawn().await;
    let deal = app.deal();
    let lease = app.draft(&deal).await;
    let sha = lease.content_sha256.clone();

    assert_reason(
        app.sign(&deal.tenant, &lease.id, &"0".repeat(64)).await,
        Code::Aborted,
        Reason::StaleContent,
    );
    // Staff who can see it may not sign; strangers are told it does not exist.
    assert_reason(
        app.sign(&app.officer(), &lease.id, &sha).await,
        Code::PermissionDenied,
        Reason::Forbidden,
    );
    assert_no_lease(app.sign(&app.user(Role::Tenant), &lease.id, &sha).await);

    // A text with a one-month notice to quit on a yearly tenancy cannot be signed.
    let short = lease.content.replace(
        "at least six months' written notice to quit",
        "one month's notice to quit",
    );
    assert_ne!(short, lease.content);
    let edited = app
        .edit(&deal.landlord, &lease.id, &short, None)
        .await
        .unwrap();
    assert_eq!(edited.findings.len(), 1);
    let refused = assert_reason(
        app.sign(&deal.landlord, &lease.id, &edited.content_sha256)
            .await,
        Code::FailedPrecondition,
        Reason::NotCompliant,
    );
    let violations = decode(&refused).precondition_violations;
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].kind, "NOTICE_SHORTER_THAN_STATUTORY");
    assert_eq!(
        violations[0].subject,
        "Lagos State Tenancy Law 2011, s.13(1)"
    );
    assert!(violations[0].description.contains("one month's notice"));
    // The old hash is stale now.
    assert_reason(
        app.sign(&deal.landlord, &lease.id, &sha).await,
        Code::Aborted,
        Reason::StaleContent,
    );
    let fixed = app
        .edit(&deal.landlord, &lease.id, &lease.content, None)
        .await
        .unwrap();
    assert_eq!(fixed.findings, vec![]);
    app.sign(&deal.landlord, &lease.id, &fixed.content_sha256)
        .await
        .unwrap();

    // The same party twice, withdrawal by the tenant, authorization by anyone but
    // ADMIN or a compliance officer.
    assert_wrong_state(
        app.sign(&deal.landlord, &lease.id, &fixed.content_sha256)
            .await,
        "SIGNED_BY_LANDLORD",
    );
    assert_reason(
        app.withdraw(&deal.tenant, &lease.id, "no").await,
        Code::PermissionDenied,
        Reason::Forbidden,
    );
    app.sign(&deal.tenant, &lease.id, &fixed.content_sha256)
        .await
        .unwrap();
    for who in [
        deal.landlord.clone(),
        deal.tenant.clone(),
        app.staff(StaffPosition::FinancialController),
        app.staff(StaffPosition::SupportLead),
    ] {
        assert_reason(
            app.authorize(&who, &lease.id).await,
            Code::PermissionDenied,
            Reason::Forbidden,
        );
    }
    let inactive = app.user_with(
        Role::Staff,
        UserStatus::Suspended,
        Some(StaffPosition::ComplianceOfficer),
        "S",
    );
    assert_reason(
        app.authorize(&inactive, &lease.id).await,
        Code::PermissionDenied,
        Reason::AccountNotActive,
    );
    // Too late to withdraw once it waits for compliance.
    assert_wrong_state(
        app.withdraw(&deal.landlord, &lease.id, "too late").await,
        "PENDING_ADMIN",
    );
    assert_eq!(
        app.authorize(&app.officer(), &lease.id)
            .await
            .unwrap()
            .status,
        "FULLY_SIGNED"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawal_clears_signatures_and_is_audited() {
    let app = TestApp::spawn().await;
    let deal = app.deal();
    let lease = app.draft(&deal).await;
    let sha = lease.content_sha256.clone();
    assert_wrong_state(
        app.withdraw(&deal.landlord, &lease.id, "nothing to withdraw")
            .await,
        "DRAFT",
    );
    app.sign(&deal.tenant, &lease.id, &sha).await.unwrap();
    let back = app
        .withdraw(&deal.landlord, &lease.id, "the rent was agreed lower")
        .await
        .unwrap();
    assert_eq!(back.status, "DRAFT");
    assert_eq!(back.signatures, vec![]);
    assert_reason(
        app.withdraw(&deal.landlord, &lease.id, " ").await,
        Code::InvalidArgument,
        Reason::ValidationFailed,
    );
    let audit = app.audit(&deal.landlord, &lease.id).await.unwrap();
    let last = audit.entries.last().unwrap();
    assert_eq!(
        (last.from_status.as_deref(), last.to_status.as_str()),
        (Some("SIGNED_BY_TENANT"), "DRAFT")
    );
    assert_eq!(last.reason.as_deref(), Some("the rent was agreed lower"));
    assert_eq!(last.actor_id, deal.landlord.id.to_string());
    // Both sign again from scratch.
    app.sign(&deal.landlord, &lease.id, &sha).await.unwrap();
    let both = app.sign(&deal.tenant, &lease.id, &sha).await.unwrap();
    assert_eq!(both.status, "PENDING_ADMIN");
    assert_eq!(
        app.audit(&deal.landlord, &lease.id)
            .await
            .unwrap()
            .entries
            .len(),
        5
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_simultaneous_signatures_of_one_party_sign_once() {
    let app = Arc::new(TestApp::spawn().await);
    let deal = app.deal();
    let lease = app.draft(&deal).await;
    let sha = lease.content_sha256.clone();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let app = Arc::clone(&app);
        let tenant = deal.tenant.clone();
        let (id, sha) = (lease.id.clone(), sha.clone());
        tasks.push(tokio::spawn(
            async move { app.sign(&tenant, &id, &sha).await },
        ));
    }
    let mut ok = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(signed) => {
                assert_eq!(signed.status, "SIGNED_BY_TENANT");
                ok += 1;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                assert_eq!(
                    decode(&status).info,
                    [("lease_status".to_owned(), "SIGNED_BY_TENANT".to_owned())]
                );
                refused += 1;
            }
        }
    }
    assert_eq!((ok, refused), (1, 49));
    let rows = app
        .count(&format!(
            "SELECT count(*) FROM lease.audit_log WHERE lease_id = '{}' AND to_status = 'SIGNED_BY_TENANT'",
            lease.id
        ))
        .await;
    assert_eq!(rows, 1);
    assert!(
        app.audit(&deal.tenant, &lease.id)
            .await
            .unwrap()
            .chain_intact
    );
    match Arc::try_unwrap(app) {
        Ok(app) => app.stop().await,
        Err(_) => panic!("the app is still shared"),
    }
}
