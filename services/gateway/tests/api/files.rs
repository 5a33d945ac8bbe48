//! Signed links to the local KYC bucket.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use bytes::Bytes;
use gateway::{KYC_BUCKET_NAME, LocalFiles};
use rentory_media::fixtures;
use rentory_storage::{Bucket, LocalLinks, ObjectKey};
use secrecy::SecretString;
use time::OffsetDateTime;

use crate::support::*;

const PUBLIC_URL: &str = "http://gateway.test";

struct Files {
    app: TestApp,
    bucket: Bucket,
    links: LocalLinks,
    _dir: tempfile::TempDir,
}

async fn files() -> Files {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", dir.path().display());
    let secret = SecretString::from("k".repeat(48));
    let links = LocalLinks::new(PUBLIC_URL, &secret).expect("links");
    // The KYC service's side: the same directory and secret.
    let bucket = Bucket::open(KYC_BUCKET_NAME, &url, Some(links.clone())).expect("bucket");
    let served = LocalFiles {
        bucket_url: url,
        links: links.clone(),
    };
    let app = TestApp::new(move |c| c.files = Some(served)).await;
    Files {
        app,
        bucket,
        links,
        _dir: dir,
    }
}

/// The path and query of a signed URL, as the gateway receives it.
fn path_of(url: &str) -> String {
    url.strip_prefix(PUBLIC_URL)
        .expect("our base URL")
        .to_owned()
}

#[tokio::test]
async fn a_signed_link_serves_the_image_until_it_expires() {
    let f = files().await;
    let key = ObjectKey::parse("kyc/u1/id_image.png").expect("key");
    f.bucket
        .put(&key, Bytes::from_static(fixtures::PNG_16))
        .await
        .expect("put");
    let signed = f
        .bucket
        .signed_get_url(&key, Duration::from_secs(1))
        .await
        .expect("sign");
    let path = path_of(&signed.url);

    let response = f.app.send(get(&path)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(
        headers.get(header::CONTENT_TYPE),
        Some(&HeaderValue::from_static("image/png"))
    );
    assert_eq!(
        headers.get(header::CACHE_CONTROL),
        Some(&HeaderValue::from_static("no-store, private"))
    );
    assert_eq!(
        headers.get(header::X_CONTENT_TYPE_OPTIONS),
        Some(&HeaderValue::from_static("nosniff"))
    );
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&bytes[..], fixtures::PNG_16);

    // Valid through the second it expires in, refused after.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    problem(f.app.send(get(&path)).await, 403, "link-expired").await;
}

#[tokio::test]
async fn links_expired_in_the_past_or_tampered_with_are_403() {
    let f = files().await;
    let key = ObjectKey::parse("kyc/u2/face_scan.jpg").expect("key");
    f.bucket
        .put(&key, Bytes::from_static(fixtures::JPEG_16_BASELINE))
        .await
        .expect("put");

    let past = f.links.sign(
        KYC_BUCKET_NAME,
        &key,
        OffsetDateTime::now_utc() - Duration::from_secs(30),
    );
    problem(f.app.send(get(&path_of(&past))).await, 403, "link-expired").await;

    let good = path_of(&f.links.sign(
        KYC_BUCKET_NAME,
        &key,
        OffsetDateTime::now_utc() + Duration::from_secs(60),
    ));
    let response = f.app.send(get(&good)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get(header::CONTENT_TYPE),
        Some(&HeaderValue::from_static("image/jpeg"))
    );

    // Another key with the same signature, a flipped signature digit, a later expiry,
    // no signature at all.
    let other_key = good.replace("face_scan.jpg", "id_image.jpg");
    let (head, signature) = good.rsplit_once("signature=").expect("signature");
    let flipped_digit = if signature.starts_with('0') { "1" } else { "0" };
    let flipped = format!("{head}signature={flipped_digit}{}", &signature[1..]);
    let extended = {
        let expires = good
            .split("expires=")
            .nth(1)
            .and_then(|s| s.split('&').next())
            .expect("expires");
        let later: i64 = expires.parse::<i64>().expect("number") + 3600;
        good.replace(&format!("expires={expires}"), &format!("expires={later}"))
    };
    let unsigned = good.split('?').next().expect("path").to_owned();
    for tampered in [other_key, flipped, extended, unsigned] {
        problem(f.app.send(get(&tampered)).await, 403, "invalid-link").await;
    }
}

#[tokio::test]
async fn a_missing_object_is_404_and_so_is_another_bucket() {
    let f = files().await;
    let key = ObjectKey::parse("kyc/u3/never-stored.png").expect("key");
    let link = f.links.sign(
        KYC_BUCKET_NAME,
        &key,
        OffsetDateTime::now_utc() + Duration::from_secs(60),
    );
    problem(f.app.send(get(&path_of(&link))).await, 404, "not-found").await;

    let elsewhere = f.links.sign(
        "listings",
        &key,
        OffsetDateTime::now_utc() + Duration::from_secs(60),
    );
    problem(
        f.app.send(get(&path_of(&elsewhere))).await,
        404,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn without_a_local_bucket_the_route_is_404() {
    let app = TestApp::new(|_| {}).await;
    problem(
        app.send(get(
            "/files/kyc/kyc/u1/id.png?expires=9999999999&signature=00",
        ))
        .await,
        404,
        "not-found",
    )
    .await;
}
