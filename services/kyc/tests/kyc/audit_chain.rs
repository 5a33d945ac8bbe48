use rentory_audit::{BrokenKind, GENESIS};
use uuid::Uuid;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decision_is_chained_and_a_superuser_edit_is_named() {
    let app = TestApp::spawn().await;
    let officer = app.officer();
    let admin = app.admin();
    let mut decided = vec![];
    for i in 0..4 {
        let request = app.submit_ok(&app.tenant()).await;
        if i % 2 == 0 {
            app.approve(&officer, &request.id).await.unwrap();
        } else {
            app.reject(&admin, &request.id, "document expired")
                .await
                .unwrap();
        }
        decided.push(uuid(&request.id));
    }

    // What each row records.
    type Row = (
        Uuid,
        Uuid,
        Uuid,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        Option<String>,
        Vec<u8>,
        Vec<u8>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, verification_request_id, actor_id, actor_role, host(ip_address), request_id,
                from_status, to_status, reason, prev_hash, hash
         FROM kyc.audit_log ORDER BY seq",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[0].9,
        GENESIS.to_vec(),
        "the first row starts the chain"
    );
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.1, decided[i]);
        let (actor, role, to, reason) = if i % 2 == 0 {
            (officer.id, "STAFF", "APPROVED", None)
        } else {
            (admin.id, "ADMIN", "REJECTED", Some("document expired"))
        };
        assert_eq!((row.2, row.3.as_str()), (actor, role));
        assert_eq!(row.4.as_deref(), Some(CLIENT_IP));
        assert!(row.5.as_deref().unwrap().starts_with("req-"));
        assert_eq!((row.6.as_str(), row.7.as_str()), ("PENDING", to));
        assert_eq!(row.8.as_deref(), reason);
        if i > 0 {
            assert_eq!(row.9, rows[i - 1].10, "prev_hash links to the previous row");
        }
    }
    assert_eq!(kyc::verify_audit_chain(&app.pool).await.unwrap(), 4);

    // The tables refuse every change, even from their owner (a minted link first, so the
    // row triggers of link_mints have a row to fire on).
    app.get(&officer, &decided[0].to_string()).await.unwrap();
    for statement in [
        "UPDATE kyc.audit_log SET reason = 'x'",
        "DELETE FROM kyc.audit_log",
        "TRUNCATE kyc.audit_log",
        "UPDATE kyc.link_mints SET request_id = 'x'",
    ] {
        let err = sqlx::query(statement).execute(&app.pool).await.unwrap_err();
        assert!(
            err.to_string().contains("append-only"),
            "{statement}: {err}"
        );
    }
    let privileges: Vec<String> = sqlx::query_scalar(
        "SELECT privilege_type::text FROM information_schema.role_table_grants
         WHERE table_schema = 'kyc' AND table_name = 'audit_log' AND grantee = 'PUBLIC'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(
        privileges
            .iter()
            .all(|p| !matches!(p.as_str(), "UPDATE" | "DELETE" | "TRUNCATE"))
    );

    // A superuser who disables the triggers can edit a row, but the chain names it.
    let edited = rows[2].0;
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE kyc.audit_log DISABLE TRIGGER USER")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE kyc.audit_log SET actor_id = $1 WHERE id = $2")
        .bind(Uuid::now_v7())
        .bind(edited)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE kyc.audit_log ENABLE TRIGGER USER")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    match kyc::verify_audit_chain(&app.pool).await {
        Err(kyc::Error::AuditChainBroken(broken)) => {
            assert_eq!(broken.row_id, edited);
            assert_eq!(broken.position, 2);
            assert_eq!(broken.kind, BrokenKind::WrongHash);
        }
        other => panic!("expected the edited row to be named, got {other:?}"),
    }
    // The triggers are back on.
    assert!(
        sqlx::query("DELETE FROM kyc.audit_log")
            .execute(&app.pool)
            .await
            .is_err()
    );
    app.stop().await;
}
