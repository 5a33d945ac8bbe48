//! The gs:// path without network: construction, credential errors, and V4 signing with a
//! throwaway service-account key made for the test (signing is local RSA work).

use rsa::pkcs8::{EncodePrivateKey, LineEnding};

use super::*;

const GCS_BUCKET: &str = "rentory-kyc-test";
const CLIENT_EMAIL: &str = "rentory-test@example.iam.gserviceaccount.com";

fn service_account_json() -> String {
    let key =
        rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap_or_else(|e| panic!("{e}"));
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap_or_else(|e| panic!("{e}"));
    format!(
        r#"{{"type":"service_account","private_key_id":"test","client_email":"{CLIENT_EMAIL}","private_key":"{}"}}"#,
        pem.replace('\n', "\\n")
    )
}

#[test]
fn gs_bucket_opens_without_network_or_local_links() {
    // Without GOOGLE_* credentials this falls back to the metadata server, which is only
    // asked on the first request, so opening must succeed offline.
    let bucket =
        Bucket::open("kyc", &format!("gs://{GCS_BUCKET}"), None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bucket.name(), "kyc");
    assert!(bucket.local_links().is_none());
    assert_eq!(
        format!("{bucket:?}"),
        r#"Bucket { name: "kyc", backend: "gcs" }"#
    );
}

#[test]
fn a_broken_service_account_key_is_a_config_error_naming_the_variables() {
    let builder = GoogleCloudStorageBuilder::new()
        .with_bucket_name(GCS_BUCKET)
        .with_service_account_key("{not json");
    let err = Bucket::gcs("kyc", builder).err();
    let message = err.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(
        matches!(err, Some(StorageError::Config(ConfigError::Gcs { .. })))
            && message.contains("GOOGLE_SERVICE_ACCOUNT"),
        "{message}"
    );
}

#[tokio::test]
async fn gcs_signed_url_is_a_v4_url_for_the_object() {
    let builder = GoogleCloudStorageBuilder::new()
        .with_url(format!("gs://{GCS_BUCKET}"))
        .with_service_account_key(service_account_json());
    let bucket = Bucket::gcs("kyc", builder).unwrap_or_else(|e| panic!("{e}"));

    let before = OffsetDateTime::now_utc();
    let signed = bucket
        .signed_get_url(&key("kyc/u1/id_image.jpg"), DEFAULT_SIGNED_URL_TTL)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Whole seconds counted from a clock read just after `before`: within a second of 60.
    let lifetime = signed.expires_at - before;
    assert!(
        lifetime <= time::Duration::seconds(61) && lifetime > time::Duration::seconds(58),
        "{lifetime}"
    );

    let url = Url::parse(&signed.url).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(url.host_str(), Some("storage.googleapis.com"));
    assert_eq!(url.path(), format!("/{GCS_BUCKET}/kyc/u1/id_image.jpg"));
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(param("X-Goog-Algorithm"), "GOOG4-RSA-SHA256");
    assert_eq!(param("X-Goog-Expires"), "60");
    assert!(param("X-Goog-Credential").starts_with(&format!("{CLIENT_EMAIL}/")));
    let signature = param("X-Goog-Signature");
    assert_eq!(signature.len(), 512, "a 2048-bit RSA signature in hex");
    assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn public_gs_bucket_opens_offline_and_points_at_its_base() {
    let base = Url::parse(&format!("https://storage.googleapis.com/{GCS_BUCKET}/"))
        .unwrap_or_else(|e| panic!("{e}"));
    let bucket = Bucket::open_public("photos", &format!("gs://{GCS_BUCKET}"), base)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        bucket.public_url(&key("properties/a.jpg")).as_deref(),
        Some("https://storage.googleapis.com/rentory-kyc-test/properties/a.jpg")
    );
    assert!(bucket.local_links().is_none());
    assert_eq!(
        format!("{bucket:?}"),
        r#"Bucket { name: "photos", backend: "gcs", public_base: "https://storage.googleapis.com/rentory-kyc-test/" }"#
    );
}
