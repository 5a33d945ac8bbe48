//! Photo analysis, lease drafting and face match on the offline provider.

use rentory_auth::Role;
use rentory_media::fixtures;
use rentory_proto::ai::v1 as pb;
use rentory_runtime::rpc_error::Reason;
use tonic::Code;

use crate::support::*;

fn analysis() -> pb::AnalyzePhotosRequest {
    let comparable = |naira: i64| pb::Comparable {
        price_kobo: naira * 100,
        rent_period: "YEAR".into(),
        bedrooms: Some(3),
        distance_km: 1.5,
        category: "RESIDENTIAL".into(),
    };
    pb::AnalyzePhotosRequest {
        photos: vec![
            image(fixtures::JPEG_16_BASELINE, "image/jpeg"),
            image(fixtures::PNG_64X48_TEXT, "image/png"),
        ],
        notes: "3 bedroom flat, all rooms ensuite, borehole, parking for 2 cars. Call 08031234567"
            .into(),
        address: "15 Admiralty Way, Lekki Phase 1, Lagos".into(),
        comparables: vec![
            comparable(3_000_000),
            comparable(3_500_000),
            comparable(4_000_000),
        ],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_analysis_is_offline_priced_from_comparables_and_cached() {
    // One call a day: the identical second request must come from the cache.
    let app = TestApp::spawn_with(Options {
        daily_calls: 1,
        ..Options::default()
    })
    .await;
    let landlord = app.user(Role::Landlord);
    let first = app.analyze(&landlord, analysis()).await.unwrap();
    assert_eq!(first.model, "offline");
    assert!(!first.cached);
    assert_eq!(first.category, "RESIDENTIAL");
    assert_eq!(first.suggested_price_kobo, Some(350_000_000));
    assert_eq!(first.rent_period, "YEAR");
    assert_eq!(first.bedrooms, Some(3));
    assert!(first.confidence <= 0.6);
    assert!(first.title.contains("Lekki Phase 1"), "{}", first.title);
    assert!(!first.description.contains("0803"), "{}", first.description);
    assert!(!first.reasons.is_empty());

    let again = app.analyze(&landlord, analysis()).await.unwrap();
    assert!(again.cached);
    assert_eq!(again.title, first.title);
    assert_eq!(again.suggested_price_kobo, first.suggested_price_kobo);
    let outcomes: Vec<String> = app
        .calls("ANALYZE_PHOTOS")
        .await
        .into_iter()
        .map(|c| c.1)
        .collect();
    assert_eq!(outcomes, ["offline", "cached"]);

    // Different notes are a different request: analysed afresh, and over budget now.
    let mut changed = analysis();
    changed.notes = "2 bedroom flat".into();
    let refusal = app.analyze(&landlord, changed).await.unwrap_err();
    refused(&refusal, Code::ResourceExhausted, Reason::AiBudgetExhausted);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_analysis_refuses_bad_input_and_other_roles() {
    let app = TestApp::spawn().await;
    let landlord = app.user(Role::Landlord);
    let mut too_many = analysis();
    too_many.photos = vec![image(fixtures::PNG_16, "image/png"); 11];
    refused(
        &app.analyze(&landlord, too_many).await.unwrap_err(),
        Code::InvalidArgument,
        Reason::ValidationFailed,
    );
    let mut not_an_image = analysis();
    not_an_image.photos = vec![image(b"%PDF-1.7 not a photo", "image/jpeg")];
    refused(
        &app.analyze(&landlord, not_an_image).await.unwrap_err(),
        Code::InvalidArgument,
        Reason::UnsupportedMediaType,
    );
    let mut bad_comparable = analysis();
    bad_comparable.comparables[0].rent_period = "FORTNIGHT".into();
    refused(
        &app.analyze(&landlord, bad_comparable).await.unwrap_err(),
        Code::InvalidArgument,
        Reason::ValidationFailed,
    );
    refused(
        &app.analyze(&app.user(Role::Tenant), analysis())
            .await
            .unwrap_err(),
        Code::PermissionDenied,
        Reason::Forbidden,
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_leases_follow_the_template_and_face_matches_wait_for_a_human() {
    let app = TestApp::spawn().await;
    let landlord = app.user(Role::Landlord);
    let lease = app.draft(&landlord, lease_request()).await.unwrap();
    assert_eq!(lease.model, "offline");
    for expected in [
        "Adaeze Okafor",
        "Tunde Bakare",
        "NGN 1,800,000",
        "Tenant may repaint the living room",
        "Lagos State Tenancy Law",
    ] {
        assert!(lease.markdown.contains(expected), "missing {expected:?}");
    }
    let mut bad = lease_request();
    bad.terms.as_mut().unwrap().start_date = "next week".into();
    refused(
        &app.draft(&landlord, bad).await.unwrap_err(),
        Code::InvalidArgument,
        Reason::ValidationFailed,
    );
    refused(
        &app.draft(&app.user(Role::Tenant), lease_request())
            .await
            .unwrap_err(),
        Code::PermissionDenied,
        Reason::Forbidden,
    );

    let face = app.face_match().await.unwrap();
    assert_eq!(face.verdict, "UNAVAILABLE");
    assert_eq!(face.model, "offline");
    assert_eq!(face.score, None);
    assert!(!face.reasons.is_empty());
    assert_eq!(app.calls("FACE_MATCH").await.len(), 1);
    assert_eq!(app.calls("DRAFT_LEASE").await.len(), 1);
    app.stop().await;
}
