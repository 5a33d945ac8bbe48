use std::process::Command;

use rentory_auth::Role;
use uuid::Uuid;

use crate::support::*;

fn verify_audit(database_url: &str) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_lease"))
        .arg("verify-audit")
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "off")
        .output()
        .expect("run lease verify-audit");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

async fn superuser(app: &TestApp, statement: &str, bind: Option<Uuid>) {
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE lease.audit_log DISABLE TRIGGER USER")
        .execute(&mut *tx)
        .await
        .unwrap();
    let mut query = sqlx::query(statement);
    if let Some(id) = bind {
        query = query.bind(id);
    }
    query.execute(&mut *tx).await.unwrap();
    sqlx::query("ALTER TABLE lease.audit_log ENABLE TRIGGER USER")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_append_only_and_tampering_is_named() {
    let app = TestApp::spawn().await;
    let (code, out) = verify_audit(&app.database_url);
    assert_eq!(
        (code, out.trim()),
        (0, "audit chain intact: 0 rows in 0 leases")
    );

    let first = app.deal();
    let signed = app.fully_signed(&first).await;
    let second = app.deal();
    let draft = app.draft(&second).await;
    app.sign(&second.tenant, &draft.id, &draft.content_sha256)
        .await
        .unwrap();
    assert_eq!(
        lease::verify_all(&app.pool).await.unwrap(),
        lease::Intact { rows: 6, leases: 2 }
    );
    let (code, out) = verify_audit(&app.database_url);
    assert_eq!(
        (code, out.trim()),
        (0, "audit chain intact: 6 rows in 2 leases")
    );

    // The service's own role cannot change the log (the local role is a superuser: the
    // triggers hold), nor the versions.
    for statement in [
        "UPDATE lease.audit_log SET reason = 'x'",
        "DELETE FROM lease.audit_log",
        "TRUNCATE lease.audit_log",
        "UPDATE lease.lease_versions SET content = 'x'",
        "DELETE FROM lease.lease_versions",
    ] {
        let err = sqlx::query(statement).execute(&app.pool).await.unwrap_err();
        assert!(
            err.to_string().contains("append-only"),
            "{statement}: {err}"
        );
    }

    // A superuser who disables the triggers edits the second row of the first lease.
    let audit = app.audit(&first.landlord, &signed.id).await.unwrap();
    let edited: Uuid = audit.entries[1].id.parse().unwrap();
    superuser(
        &app,
        "UPDATE lease.audit_log SET ip_address = '192.0.2.1' WHERE id = $1",
        Some(edited),
    )
    .await;
    match lease::verify_all(&app.pool).await {
        Err(lease::VerifyError::Broken(broken)) => {
            assert_eq!(broken.row_id, Some(edited));
            assert_eq!(broken.lease_id.to_string(), signed.id);
        }
        other => panic!("expected the edited row to be named, got {other:?}"),
    }
    let (code, out) = verify_audit(&app.database_url);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&edited.to_string()), "{out}");
    assert!(out.contains("hash does not match"), "{out}");
    let read = app.audit(&app.officer(), &signed.id).await.unwrap();
    assert!(!read.chain_intact);
    assert_eq!(read.broken_row_id, Some(edited.to_string()));
    // The other lease's chain is its own and still checks out.
    assert!(
        app.audit(&second.tenant, &draft.id)
            .await
            .unwrap()
            .chain_intact
    );

    // Cutting the last row of the other lease shows too (its head no longer matches).
    let tail = app.audit(&second.tenant, &draft.id).await.unwrap();
    let last: Uuid = tail.entries[1].id.parse().unwrap();
    superuser(
        &app,
        "DELETE FROM lease.audit_log WHERE id = $1",
        Some(last),
    )
    .await;
    let cut = app.audit(&second.tenant, &draft.id).await.unwrap();
    assert!(!cut.chain_intact);
    assert_eq!(cut.broken_row_id, Some(tail.entries[0].id.clone()));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signed_document_is_fixed_and_verifiable_by_hash() {
    let app = TestApp::spawn().await;
    let deal = app.deal();
    let draft = app.draft(&deal).await;
    let request_for = |user: &User| {
        request(
            user,
            rentory_proto::lease::v1::GetSignedDocumentRequest {
                lease_id: draft.id.clone(),
            },
        )
    };
    assert_wrong_state(
        app.client
            .clone()
            .get_signed_document(request_for(&deal.tenant))
            .await
            .map(tonic::Response::into_inner),
        "DRAFT",
    );
    let signed = app.fully_signed_from(&deal, &draft).await;
    assert_eq!(signed.id, draft.id);
    let document = app
        .client
        .clone()
        .get_signed_document(request_for(&deal.tenant))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        document.sha256,
        lease::service::sha256_hex(&document.markdown)
    );
    assert!(document.markdown.starts_with(&signed.content));
    let certificate = document
        .markdown
        .split_once(lease::certificate::SEPARATOR)
        .unwrap()
        .1;
    for part in [
        format!("- Lease: {}", signed.id),
        format!("- Content SHA-256: {}", signed.content_sha256),
        format!("(user {}) at ", deal.landlord.id),
        format!("(user {}) at ", deal.tenant.id),
        format!("from IP {CLIENT_IP}"),
        "- Authorized by STAFF (COMPLIANCE_OFFICER)".to_owned(),
        "- Audit chain head at authorization: ".to_owned(),
    ] {
        assert!(certificate.contains(&part), "{part} not in\n{certificate}");
    }
    // The same bytes on every read.
    let again = app
        .client
        .clone()
        .get_signed_document(request_for(&app.user(Role::Admin)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, document);

    // Anyone may verify, without a token.
    let verify = |sha: String| {
        let mut client = app.client.clone();
        async move {
            client
                .verify_document(rentory_proto::lease::v1::VerifyDocumentRequest { sha256: sha })
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let found = verify(document.sha256.to_uppercase()).await.unwrap();
    assert!(found.fully_signed);
    assert_eq!(found.matched, "CERTIFIED_DOCUMENT");
    assert_eq!(found.fully_signed_at, signed.fully_signed_at);
    assert_eq!(found.sha256, document.sha256);
    let content = verify(signed.content_sha256.clone()).await.unwrap();
    assert_eq!(content.matched, "SIGNED_CONTENT");
    let unknown = verify("ab".repeat(32)).await.unwrap();
    assert!(!unknown.fully_signed);
    assert_eq!(
        (unknown.matched.as_str(), unknown.fully_signed_at),
        ("", None)
    );
    // A draft's hash is not a signed document (other terms: the same text would be).
    let deal = app.deal();
    let other = app
        .draft_with(
            &deal.landlord,
            deal.property_id,
            deal.tenant.id,
            rentory_proto::lease::v1::Terms {
                rent_kobo: 300_000_000,
                ..terms()
            },
        )
        .await
        .unwrap();
    assert_ne!(other.content_sha256, signed.content_sha256);
    assert!(!verify(other.content_sha256).await.unwrap().fully_signed);
    assert_reason(
        verify("not a hash".into()).await,
        tonic::Code::InvalidArgument,
        rentory_runtime::rpc_error::Reason::ValidationFailed,
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifying_a_database_without_leases_says_so_instead_of_passing() {
    // A database the lease service never started against: not "intact", not a stack trace.
    let bare = rentory_testkit::TestDatabase::create()
        .await
        .expect("test database");
    let output = Command::new(env!("CARGO_BIN_EXE_lease"))
        .arg("verify-audit")
        .env("DATABASE_URL", &bare.url)
        .env("RUST_LOG", "off")
        .output()
        .expect("run lease verify-audit");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no lease audit log"), "{stderr}");
    bare.drop_database().await.expect("drop");
}
