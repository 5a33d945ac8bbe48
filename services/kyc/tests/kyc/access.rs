use rentory_auth::{Role, StaffPosition, UserStatus};
use rentory_proto::kyc::v1 as pb;
use rentory_runtime::rpc_error::Reason;
use time::OffsetDateTime;
use tonic::Code;

use crate::support::*;

/// Every kind of caller, and whether it reviews.
fn everyone(app: &TestApp) -> Vec<(String, User, bool)> {
    let mut all = vec![];
    for role in [Role::Tenant, Role::Landlord, Role::Guide] {
        all.push((
            role.to_string(),
            app.user(role, UserStatus::Active, None),
            false,
        ));
    }
    for position in StaffPosition::ALL {
        all.push((
            format!("STAFF/{position}"),
            app.user(Role::Staff, UserStatus::Active, Some(*position)),
            *position == StaffPosition::ComplianceOfficer,
        ));
    }
    all.push(("ADMIN".into(), app.admin(), true));
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_and_compliance_officers_list_get_approve_and_reject() {
    let app = TestApp::spawn().await;
    let owner = app.tenant();
    let request = app.submit_ok(&owner).await;

    for (who, user, reviewer) in everyone(&app) {
        let listed = app.list(&user, pb::ListRequest::default()).await;
        let got = app.get(&user, &request.id).await;
        if reviewer {
            let listed = listed.unwrap_or_else(|e| panic!("{who} list: {e:?}"));
            assert_eq!(listed.items.len(), 1, "{who}");
            let item = got.unwrap_or_else(|e| panic!("{who} get: {e:?}"));
            assert!(
                !item.id_image_url.is_empty() && !item.face_scan_url.is_empty(),
                "{who}"
            );
        } else {
            assert_reason(listed, Code::PermissionDenied, Reason::Forbidden);
            // Someone else's request: as if it did not exist.
            assert_reason(got, Code::NotFound, Reason::NotFound);
            let approved = app.approve(&user, &request.id).await;
            assert_reason(approved, Code::PermissionDenied, Reason::Forbidden);
            let rejected = app.reject(&user, &request.id, "no").await;
            assert_reason(rejected, Code::PermissionDenied, Reason::Forbidden);
        }
    }
    // Non-reviewers changed nothing.
    let still = app.get(&app.admin(), &request.id).await.unwrap();
    assert_eq!(
        still.request.unwrap().status,
        pb::VerificationStatus::Pending as i32
    );

    // Each reviewer kind can decide: the officer approves one, the admin rejects another.
    let approved = app.approve(&app.officer(), &request.id).await.unwrap();
    assert_eq!(approved.status, pb::VerificationStatus::Approved as i32);
    let second = app.submit_ok(&app.tenant()).await;
    let rejected = app
        .reject(&app.admin(), &second.id, "face not visible")
        .await
        .unwrap();
    assert_eq!(rejected.status, pb::VerificationStatus::Rejected as i32);

    // A suspended reviewer reviews nothing, and the owner may not decide for themselves.
    let suspended = app.user(
        Role::Staff,
        UserStatus::Suspended,
        Some(StaffPosition::ComplianceOfficer),
    );
    let result = app.list(&suspended, pb::ListRequest::default()).await;
    assert_reason(result, Code::PermissionDenied, Reason::Forbidden);
    let third = app.submit_ok(&owner).await;
    let result = app.approve(&owner, &third.id).await;
    assert_reason(result, Code::PermissionDenied, Reason::Forbidden);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_see_their_request_without_links_strangers_get_not_found() {
    let app = TestApp::spawn().await;
    let owner = app.tenant();
    let request = app.submit_ok(&owner).await;
    let id = uuid(&request.id);

    let own = app.get(&owner, &request.id).await.unwrap();
    assert_eq!(own.request.as_ref().unwrap().id, request.id);
    assert!(own.id_image_url.is_empty() && own.face_scan_url.is_empty());
    assert!(own.urls_expire_at.is_none());

    // A stranger learns nothing: the same answer as for an id that does not exist.
    let stranger = app.tenant();
    let hidden = assert_reason(
        app.get(&stranger, &request.id).await,
        Code::NotFound,
        Reason::NotFound,
    );
    let missing = assert_reason(
        app.get(&stranger, &uuid::Uuid::now_v7().to_string()).await,
        Code::NotFound,
        Reason::NotFound,
    );
    assert_eq!(hidden.message(), missing.message());
    assert_reason(
        app.get(&app.admin(), &uuid::Uuid::now_v7().to_string())
            .await,
        Code::NotFound,
        Reason::NotFound,
    );
    // No links were minted for the owner or the stranger.
    let mints = "SELECT count(*) FROM kyc.link_mints WHERE verification_request_id = $1";
    assert_eq!(count_for(&app.pool, mints, id).await, 0);

    // A reviewer gets both links, valid for 60 s, and each minting is recorded.
    let officer = app.officer();
    let before = OffsetDateTime::now_utc();
    let item = app.get(&officer, &request.id).await.unwrap();
    let expires = rentory_proto::offset_date_time(&item.urls_expire_at.unwrap()).unwrap();
    let ttl = (expires - before).whole_seconds();
    assert!((58..=61).contains(&ttl), "links live {ttl} s");
    for (url, key) in [
        (
            &item.id_image_url,
            format!("verifications/{id}/id_image.jpg"),
        ),
        (
            &item.face_scan_url,
            format!("verifications/{id}/face_scan.png"),
        ),
    ] {
        let prefix = format!("{PUBLIC_URL}/files/kyc/{key}?expires=");
        assert!(
            url.starts_with(&prefix),
            "link does not point at the gateway file route"
        );
        let query = &url[url.find('?').unwrap() + 1..];
        let mut expires = 0;
        let mut signature = "";
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("expires", v)) => expires = v.parse().unwrap(),
                Some(("signature", v)) => signature = v,
                _ => {}
            }
        }
        let verified = app
            .links
            .verify("kyc", &key, expires, signature, OffsetDateTime::now_utc())
            .expect("a genuine link the gateway accepts");
        assert_eq!(verified.as_str(), key);
    }

    #[derive(sqlx::FromRow)]
    struct Mint {
        reviewer_id: uuid::Uuid,
        image: String,
        expires_at: OffsetDateTime,
        client_ip: Option<String>,
        request_id: Option<String>,
    }
    let rows: Vec<Mint> = sqlx::query_as(
        "SELECT reviewer_id, image, expires_at, host(client_ip) AS client_ip, request_id
         FROM kyc.link_mints WHERE verification_request_id = $1 ORDER BY image",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].image, "FACE_SCAN");
    assert_eq!(rows[1].image, "ID_IMAGE");
    for mint in rows {
        assert_eq!(mint.reviewer_id, officer.id);
        assert_eq!(mint.expires_at.unix_timestamp(), expires.unix_timestamp());
        assert_eq!(mint.client_ip.as_deref(), Some(CLIENT_IP));
        assert!(mint.request_id.unwrap().starts_with("req-"));
    }
    // The URL is a credential: no column of the record holds it.
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_schema = 'kyc' AND table_name = 'link_mints'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(
        columns
            .iter()
            .all(|c| !c.contains("url") && !c.contains("signature"))
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_is_oldest_first_with_a_keyset_cursor_and_a_status_filter() {
    let app = TestApp::spawn().await;
    let mut ids = vec![];
    for _ in 0..5 {
        ids.push(app.submit_ok(&app.tenant()).await.id);
    }
    let officer = app.officer();

    let mut seen = vec![];
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let page = app
            .list(
                &officer,
                pb::ListRequest {
                    status: pb::VerificationStatus::Unspecified as i32,
                    page_size: 2,
                    cursor: cursor.clone(),
                },
            )
            .await
            .unwrap();
        pages += 1;
        for item in &page.items {
            assert!(!item.id_image_url.is_empty() && !item.face_scan_url.is_empty());
            assert!(item.urls_expire_at.is_some());
            let request = item.request.as_ref().unwrap();
            assert_eq!(
                request.face_match.as_ref().map(|f| f.verdict.is_empty()),
                Some(false)
            );
            seen.push(request.id.clone());
        }
        if page.next_cursor.is_empty() {
            break;
        }
        cursor = page.next_cursor;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "oldest first, each once");
    // Two links per listed request, each recorded.
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM kyc.link_mints").await,
        10
    );

    // Status filter, and a default page size when none is asked for.
    app.approve(&officer, &ids[1]).await.unwrap();
    let approved = app
        .list(
            &officer,
            pb::ListRequest {
                status: pb::VerificationStatus::Approved as i32,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let approved: Vec<_> = approved
        .items
        .iter()
        .map(|i| i.request.as_ref().unwrap().id.clone())
        .collect();
    assert_eq!(approved, [ids[1].clone()]);
    let pending = app
        .list(&officer, pb::ListRequest::default())
        .await
        .unwrap();
    assert_eq!(pending.items.len(), 4);
    assert!(pending.next_cursor.is_empty());

    let forged = app
        .list(
            &officer,
            pb::ListRequest {
                cursor: "not-a-cursor".into(),
                ..Default::default()
            },
        )
        .await;
    assert_reason(forged, Code::InvalidArgument, Reason::ValidationFailed);
    app.stop().await;
}
