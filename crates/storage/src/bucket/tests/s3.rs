//! The s3:// path without network: construction and V4 signing with static test
//! credentials (signing is local HMAC work).

use super::*;

#[test]
fn s3_bucket_opens_without_network_or_local_links() {
    let bucket =
        Bucket::open("kyc", "s3://rentory-kyc-test", None).unwrap_or_else(|e| panic!("{e}"));
    assert!(bucket.local_links().is_none());
    assert_eq!(
        format!("{bucket:?}"),
        r#"Bucket { name: "kyc", backend: "s3" }"#
    );
}

#[test]
fn s3_urls_with_a_prefix_are_refused() {
    for url in ["s3://bucket/prefix", "s3://", "s3://bucket?x=1"] {
        let error = Bucket::open("kyc", url, None).expect_err(url);
        assert!(
            error.to_string().contains("s3://bucket-name"),
            "{url}: {error}"
        );
    }
}

#[tokio::test]
async fn s3_signs_v4_urls_offline_for_the_requested_ttl() {
    let builder = AmazonS3Builder::new()
        .with_bucket_name("rentory-kyc-test")
        .with_region("eu-west-1")
        .with_access_key_id("AKIATESTTESTTESTTEST")
        .with_secret_access_key("test-secret-key-that-signs-nothing-real");
    let bucket = Bucket::s3("kyc", builder).unwrap_or_else(|e| panic!("{e}"));
    let key = ObjectKey::parse("verifications/abc/id_image.jpg").unwrap_or_else(|e| panic!("{e}"));
    let signed = bucket
        .signed_get_url(&key, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(signed.url.contains("rentory-kyc-test"), "bucket in the URL");
    assert!(signed.url.contains("verifications/abc/id_image.jpg"));
    assert!(signed.url.contains("X-Amz-Algorithm=AWS4-HMAC-SHA256"));
    assert!(signed.url.contains("X-Amz-Expires=60"));
    assert!(signed.url.contains("X-Amz-Signature="));
    let ttl = signed.expires_at - OffsetDateTime::now_utc();
    assert!(ttl <= time::Duration::seconds(60) && ttl > time::Duration::seconds(55));
}
