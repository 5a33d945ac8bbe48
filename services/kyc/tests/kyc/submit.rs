use rentory_auth::{Role, UserStatus};
use rentory_media::fixtures;
use rentory_proto::identity::v1::Role as PbRole;
use rentory_proto::kyc::v1 as pb;
use rentory_runtime::rpc_error::{Reason, decode};
use sha2::{Digest, Sha256};
use tonic::Code;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_stores_the_originals_untouched_and_returns_a_pending_request() {
    let app = TestApp::spawn().await;
    let user = app.tenant();

    let submitted = app.submit(&user, PbRole::Landlord).await.unwrap();
    assert_eq!(submitted.user_id, user.id.to_string());
    assert_eq!(submitted.status, pb::VerificationStatus::Pending as i32);
    assert_eq!(submitted.role_requested, PbRole::Landlord as i32);
    assert_eq!(submitted.face_match.as_ref().unwrap().verdict, "PENDING");
    assert!(submitted.reviewer_id.is_none() && submitted.decided_at.is_none());
    assert!(submitted.created_at.is_some());
    let id = uuid(&submitted.id);

    // Originals: byte-identical, under the request's id, with the bytes' own type and hash.
    #[derive(sqlx::FromRow)]
    struct Stored {
        id_image_key: String,
        id_image_mime: String,
        id_image_bytes: i64,
        id_image_sha256: Vec<u8>,
        face_scan_key: String,
        face_scan_mime: String,
        face_scan_bytes: i64,
        face_scan_sha256: Vec<u8>,
        status: String,
    }
    let row: Stored = sqlx::query_as(
        "SELECT id_image_key, id_image_mime, id_image_bytes, id_image_sha256,
                face_scan_key, face_scan_mime, face_scan_bytes, face_scan_sha256, status
         FROM kyc.verification_requests WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(row.id_image_key, format!("verifications/{id}/id_image.jpg"));
    assert_eq!(row.id_image_mime, "image/jpeg");
    assert_eq!(row.id_image_bytes, fixtures::JPEG_16_BASELINE.len() as i64);
    assert_eq!(
        row.id_image_sha256,
        Sha256::digest(fixtures::JPEG_16_BASELINE).to_vec()
    );
    assert_eq!(
        row.face_scan_key,
        format!("verifications/{id}/face_scan.png")
    );
    assert_eq!(row.face_scan_mime, "image/png");
    assert_eq!(row.face_scan_bytes, fixtures::PNG_16.len() as i64);
    assert_eq!(
        row.face_scan_sha256,
        Sha256::digest(fixtures::PNG_16).to_vec()
    );
    assert_eq!(row.status, "PENDING");
    assert_eq!(
        std::fs::read(app.object_path(&row.id_image_key)).unwrap(),
        fixtures::JPEG_16_BASELINE
    );
    assert_eq!(
        std::fs::read(app.object_path(&row.face_scan_key)).unwrap(),
        fixtures::PNG_16
    );

    // The submitted event was written with the request.
    let events = count(
        &app.pool,
        "SELECT count(*) FROM kyc.outbox WHERE subject = 'rentory.kyc.verification.submitted'",
    )
    .await;
    assert_eq!(events, 1);

    // GetMine answers the same request, without links.
    let mine = app
        .client
        .clone()
        .get_mine(request(&user, pb::GetMineRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.id, submitted.id);
    assert_eq!(mine.role_requested, PbRole::Landlord as i32);
    app.stop().await;
}

/// A PNG that is a ZIP too: valid up to IEND, then an archive.
fn polyglot() -> Vec<u8> {
    let mut bytes = fixtures::PNG_16.to_vec();
    bytes.extend_from_slice(b"PK\x03\x04\x14\0\0\0\x08\0payload.php<?php system($_GET['c']);");
    bytes
}

/// A real JPEG whose frame header claims 65535 x 65535 pixels.
fn huge_jpeg() -> Vec<u8> {
    let mut bytes = fixtures::JPEG_16_BASELINE.to_vec();
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2])
        .unwrap();
    bytes[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_images_are_refused_with_the_reason_the_gateway_maps() {
    let app = TestApp::spawn_with(Options {
        max_upload_bytes: 64 * 1024,
        ..Options::default()
    })
    .await;
    let user = app.tenant();
    let good_face = image(fixtures::PNG_16, "image/png");
    let cases: Vec<(&str, pb::Image, Code, Reason)> = vec![
        (
            "wrong magic bytes (GIF)",
            image(
                b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00;",
                "image/gif",
            ),
            Code::InvalidArgument,
            Reason::UnsupportedMediaType,
        ),
        (
            "HTML declared as JPEG",
            image(b"<html><script>alert(1)</script></html>", "image/jpeg"),
            Code::InvalidArgument,
            Reason::UnsupportedMediaType,
        ),
        (
            "a PNG declared as JPEG",
            image(fixtures::PNG_16, "image/jpeg"),
            Code::InvalidArgument,
            Reason::UnsupportedMediaType,
        ),
        (
            "PNG + ZIP polyglot",
            image(&polyglot(), "image/png"),
            Code::InvalidArgument,
            Reason::UnsupportedMediaType,
        ),
        (
            "over the size cap",
            image(
                &[fixtures::JPEG_16_BASELINE, &vec![0u8; 64 * 1024]].concat(),
                "image/jpeg",
            ),
            Code::InvalidArgument,
            Reason::PayloadTooLarge,
        ),
        (
            "65535 x 65535 pixels",
            image(&huge_jpeg(), "image/jpeg"),
            Code::InvalidArgument,
            Reason::ImageTooLarge,
        ),
    ];
    for (what, bad, code, reason) in cases {
        // Either field is checked the same way.
        for as_id in [true, false] {
            let (id_image, face_scan) = if as_id {
                (bad.clone(), good_face.clone())
            } else {
                (image(fixtures::JPEG_16_BASELINE, "image/jpeg"), bad.clone())
            };
            let result = app
                .client
                .clone()
                .submit(request(
                    &user,
                    pb::SubmitRequest {
                        role_requested: PbRole::Tenant as i32,
                        id_image: Some(id_image),
                        face_scan: Some(face_scan),
                    },
                ))
                .await;
            let status = assert_reason(result, code, reason);
            let field = if as_id { "id_image" } else { "face_scan" };
            assert!(
                status.message().starts_with(field),
                "{what}: {}",
                status.message()
            );
        }
    }

    // A missing image and a role nobody may ask for are field violations.
    let missing = app
        .client
        .clone()
        .submit(request(
            &user,
            pb::SubmitRequest {
                face_scan: None,
                ..submission(PbRole::Tenant)
            },
        ))
        .await;
    let status = assert_reason(missing, Code::InvalidArgument, Reason::ValidationFailed);
    assert_eq!(decode(&status).field_violations[0].0, "face_scan");
    let admin_role = app.submit(&user, PbRole::Admin).await;
    let status = assert_reason(admin_role, Code::InvalidArgument, Reason::ValidationFailed);
    assert_eq!(decode(&status).field_violations[0].0, "role_requested");

    // Nothing was recorded or stored for any refused upload.
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM kyc.verification_requests").await,
        0
    );
    assert!(!app.object_path("verifications").exists());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pending_request_per_user_and_resubmission_after_rejection() {
    let app = TestApp::spawn().await;
    let user = app.tenant();
    let first = app.submit_ok(&user).await;

    let second = app.submit(&user, PbRole::Guide).await;
    assert_reason(second, Code::AlreadyExists, Reason::AlreadyExists);

    // Concurrent duplicates race past the early check; the partial unique index decides.
    let other = app.tenant();
    let racers = (0..8).map(|_| app.submit(&other, PbRole::Tenant));
    let results = futures::future::join_all(racers).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for refused in results.into_iter().filter(|r| r.is_err()) {
        assert_reason(refused, Code::AlreadyExists, Reason::AlreadyExists);
    }
    assert_eq!(
        count_for(
            &app.pool,
            "SELECT count(*) FROM kyc.verification_requests WHERE user_id = $1",
            other.id
        )
        .await,
        1
    );

    // After a rejection the user may try again.
    app.reject(&app.officer(), &first.id, "ID image unreadable")
        .await
        .unwrap();
    let again = app.submit(&user, PbRole::Tenant).await.unwrap();
    assert_ne!(again.id, first.id);
    let mine = app
        .client
        .clone()
        .get_mine(request(&user, pb::GetMineRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.id, again.id, "GetMine answers the latest request");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_submit() {
    let app = TestApp::spawn().await;

    let mut anonymous = tonic::Request::new(submission(PbRole::Tenant));
    anonymous
        .metadata_mut()
        .insert("authorization", "Bearer not-a-token".parse().unwrap());
    let result = app.client.clone().submit(anonymous).await;
    assert_reason(result, Code::Unauthenticated, Reason::Unauthenticated);

    let suspended = app.user(Role::Tenant, UserStatus::Suspended, None);
    let result = app.submit(&suspended, PbRole::Tenant).await;
    assert_reason(result, Code::PermissionDenied, Reason::AccountNotActive);

    let active_tenant = app.user(Role::Tenant, UserStatus::Active, None);
    let result = app.submit(&active_tenant, PbRole::Tenant).await;
    assert_reason(result, Code::FailedPrecondition, Reason::InvalidState);
    // ... but it may ask for another role.
    app.submit(&active_tenant, PbRole::Landlord).await.unwrap();

    for staff in [app.admin(), app.officer()] {
        let result = app.submit(&staff, PbRole::Tenant).await;
        assert_reason(result, Code::PermissionDenied, Reason::Forbidden);
    }

    // GetMine with nothing submitted is NOT_FOUND.
    let nobody = app.tenant();
    let result = app
        .client
        .clone()
        .get_mine(request(&nobody, pb::GetMineRequest {}))
        .await;
    assert_reason(result, Code::NotFound, Reason::NotFound);
    app.stop().await;
}
