use std::time::Duration;

use bytes::Bytes;
use secrecy::SecretString;
use time::OffsetDateTime;
use url::Url;

use super::*;
use crate::LinkError;

mod gcs;
mod s3;

const SECRET: &str = "0123456789abcdef0123456789abcdef-test-only";

fn links() -> LocalLinks {
    LocalLinks::new("http://127.0.0.1:8080", &SecretString::from(SECRET))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn key(key: &str) -> ObjectKey {
    ObjectKey::parse(key).unwrap_or_else(|e| panic!("{key}: {e}"))
}

fn open(url: &str) -> Bucket {
    Bucket::open("kyc", url, Some(links())).unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

fn file_url(path: &std::path::Path) -> String {
    Url::from_directory_path(path)
        .unwrap_or_else(|()| panic!("{path:?}"))
        .to_string()
}

/// Put, get, overwrite, not-found and delete behave alike on every local backend.
async fn round_trip(bucket: &Bucket) {
    let id = key("kyc/u1/id_image.jpg");
    assert!(matches!(
        bucket.get(&id).await,
        Err(StorageError::NotFound { .. })
    ));

    bucket
        .put(&id, Bytes::from_static(b"first"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    bucket
        .put(&id, Bytes::from_static(b"second"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        bucket.get(&id).await.ok(),
        Some(Bytes::from_static(b"second"))
    );

    let missing = bucket.get(&key("kyc/u1/face_scan.jpg")).await;
    match missing {
        Err(e) => {
            assert!(e.is_not_found());
            assert_eq!(
                e.to_string(),
                "object kyc/u1/face_scan.jpg not found in bucket kyc"
            );
        }
        Ok(_) => panic!("found an object never stored"),
    }

    bucket.delete(&id).await.unwrap_or_else(|e| panic!("{e}"));
    bucket
        .delete(&id)
        .await
        .unwrap_or_else(|e| panic!("deleting twice: {e}"));
    assert!(matches!(
        bucket.get(&id).await,
        Err(StorageError::NotFound { .. })
    ));
}

#[tokio::test]
async fn file_bucket_round_trip() {
    let dir = temp_dir();
    let bucket = open(&file_url(dir.path()));
    round_trip(&bucket).await;
}

#[tokio::test]
async fn file_bucket_writes_under_its_directory_and_creates_it() {
    let dir = temp_dir();
    let root = dir.path().join("not/yet/there");
    let bucket = open(&file_url(&root));
    bucket
        .put(&key("a/b.png"), Bytes::from_static(b"png"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        std::fs::read(root.join("a/b.png")).ok(),
        Some(b"png".to_vec())
    );
}

#[tokio::test]
async fn memory_bucket_round_trip() {
    round_trip(&open("memory://")).await;
}

#[tokio::test]
async fn local_signed_url_is_a_gateway_link_that_verifies_and_reads_back() {
    let bucket = open("memory://");
    let id = key("kyc/u1/id_image.jpg");
    bucket
        .put(&id, Bytes::from_static(b"jpeg"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let before = OffsetDateTime::now_utc();
    let signed = bucket
        .signed_get_url(&id, DEFAULT_SIGNED_URL_TTL)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Whole seconds counted from a clock read just after `before`: within a second of 60.
    let lifetime = signed.expires_at - before;
    assert!(
        lifetime <= time::Duration::seconds(61) && lifetime > time::Duration::seconds(58),
        "{lifetime}"
    );
    assert!(
        !format!("{signed:?}").contains("signature"),
        "Debug leaks the URL"
    );

    let url = Url::parse(&signed.url).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(url.origin().ascii_serialization(), "http://127.0.0.1:8080");
    assert_eq!(url.path(), "/files/kyc/kyc/u1/id_image.jpg");
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(query.len(), 2);
    assert_eq!(
        query[0],
        (
            "expires".to_owned(),
            signed.expires_at.unix_timestamp().to_string()
        )
    );
    assert_eq!(query[1].0, "signature");

    // What the gateway does with it.
    let links = bucket
        .local_links()
        .unwrap_or_else(|| panic!("local bucket without links"));
    let path_key = url.path().trim_start_matches("/files/kyc/");
    let verified = links.verify(
        bucket.name(),
        path_key,
        signed.expires_at.unix_timestamp(),
        &query[1].1,
        OffsetDateTime::now_utc(),
    );
    assert_eq!(verified.as_ref(), Ok(&id));
    assert_eq!(
        bucket.get(&id).await.ok(),
        Some(Bytes::from_static(b"jpeg"))
    );
    assert_eq!(
        links.verify(
            bucket.name(),
            path_key,
            signed.expires_at.unix_timestamp(),
            &query[1].1,
            signed.expires_at + Duration::from_secs(1)
        ),
        Err(LinkError::Expired)
    );
}

#[tokio::test]
async fn signed_url_lifetime_must_be_between_a_second_and_a_week() {
    let bucket = open("memory://");
    for ttl in [
        Duration::ZERO,
        Duration::from_millis(999),
        Duration::from_secs(7 * 86_400 + 1),
    ] {
        let result = bucket.signed_get_url(&key("a"), ttl).await;
        assert!(matches!(result, Err(StorageError::InvalidTtl)), "{ttl:?}");
    }
    assert!(
        bucket
            .signed_get_url(&key("a"), Duration::from_secs(7 * 86_400))
            .await
            .is_ok()
    );
}

#[test]
fn local_buckets_without_links_name_the_settings_to_set() {
    let dir = temp_dir();
    for url in ["memory://".to_owned(), file_url(dir.path())] {
        let err = Bucket::open("kyc", &url, None).err();
        let message = err.as_ref().map(ToString::to_string).unwrap_or_default();
        assert!(
            matches!(
                err,
                Some(StorageError::Config(ConfigError::MissingLocalLinks { .. }))
            ) && message.contains("RENTORY_FILE_URL_SECRET")
                && message.contains("RENTORY_PUBLIC_URL"),
            "{url}: {message}"
        );
    }
}

#[test]
fn bad_bucket_urls_and_names_are_config_errors_that_do_not_echo_the_url() {
    for url in [
        "not a url",
        "file://otherhost/data",
        "gs://",
        "gs://bucket/prefix",
        "gs://user:pass@bucket",
    ] {
        let err = Bucket::open("kyc", url, Some(links())).err();
        assert!(
            matches!(
                err,
                Some(StorageError::Config(ConfigError::InvalidBucketUrl { .. }))
            ),
            "{url}: {err:?}"
        );
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            !message.contains("pass") && !message.contains("otherhost"),
            "{message}"
        );
    }
    assert!(matches!(
        Bucket::open("kyc", "ftp://bucket", Some(links())),
        Err(StorageError::Config(ConfigError::UnsupportedScheme { .. }))
    ));
    for name in ["", "a/b", "..", "kyc bucket"] {
        assert!(matches!(
            Bucket::open(name, "memory://", Some(links())),
            Err(StorageError::Config(ConfigError::InvalidBucketName { .. }))
        ));
    }
}

#[test]
fn a_file_bucket_that_cannot_be_created_is_a_config_error() {
    let dir = temp_dir();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"x").unwrap_or_else(|e| panic!("{e}"));
    let err = Bucket::open("kyc", &file_url(&blocker.join("sub")), Some(links())).err();
    assert!(
        matches!(
            err,
            Some(StorageError::Config(ConfigError::LocalDirectory { .. }))
        ),
        "{err:?}"
    );
}

fn public_base(url: &str) -> Url {
    Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn open_public(url: &str) -> Bucket {
    Bucket::open_public("photos", url, public_base("http://127.0.0.1:8080/photos/"))
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// What the listings service and the gateway's `/photos/` route do with a public bucket.
async fn public_round_trip(bucket: &Bucket) {
    // Content-addressed: two landlords uploading the same photo put the same key twice,
    // possibly at once.
    let photo =
        key("properties/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.jpg");
    let bytes = Bytes::from_static(b"jpeg bytes");
    let (first, second) = tokio::join!(
        bucket.put(&photo, bytes.clone()),
        bucket.put(&photo, bytes.clone())
    );
    first.unwrap_or_else(|e| panic!("{e}"));
    second.unwrap_or_else(|e| panic!("{e}"));
    bucket
        .put(&photo, bytes.clone())
        .await
        .unwrap_or_else(|e| panic!("a third time: {e}"));

    let url = bucket
        .public_url(&photo)
        .unwrap_or_else(|| panic!("a public bucket without public URLs"));
    assert_eq!(
        url,
        format!("http://127.0.0.1:8080/photos/{}", photo.as_str())
    );

    // The gateway takes the key from the path after its route and parses it like any key.
    let path = Url::parse(&url)
        .unwrap_or_else(|e| panic!("{e}"))
        .path()
        .to_owned();
    let from_path = ObjectKey::parse(path.trim_start_matches("/photos/"));
    assert_eq!(from_path.as_ref(), Ok(&photo));
    assert_eq!(bucket.get(&photo).await.ok(), Some(bytes));
    for hostile in [
        "../kyc/u1/id_image.jpg",
        "properties/../../etc/passwd",
        "/etc/passwd",
        "",
    ] {
        assert!(ObjectKey::parse(hostile).is_err(), "{hostile}");
    }

    assert!(bucket.local_links().is_none());
    assert!(matches!(
        bucket.signed_get_url(&photo, DEFAULT_SIGNED_URL_TTL).await,
        Err(StorageError::PublicBucket { .. })
    ));
}

#[tokio::test]
async fn public_file_bucket_has_permanent_urls_and_reads_back() {
    let dir = temp_dir();
    let bucket = open_public(&file_url(dir.path()));
    public_round_trip(&bucket).await;
    let files = std::fs::read_dir(dir.path().join("properties")).map(Iterator::count);
    assert_eq!(files.ok(), Some(1), "one object, no leftover staging files");
}

#[tokio::test]
async fn public_memory_bucket_has_permanent_urls_and_reads_back() {
    public_round_trip(&open_public("memory://")).await;
}

#[test]
fn a_public_base_gets_its_final_slash_and_keeps_its_path() {
    let photo = key("properties/a.jpg");
    for (base, expected) in [
        (
            "https://cdn.example.com",
            "https://cdn.example.com/properties/a.jpg",
        ),
        (
            "https://cdn.example.com/p",
            "https://cdn.example.com/p/properties/a.jpg",
        ),
        (
            "https://cdn.example.com/p/",
            "https://cdn.example.com/p/properties/a.jpg",
        ),
        (
            "https://storage.googleapis.com/rentory-photos/",
            "https://storage.googleapis.com/rentory-photos/properties/a.jpg",
        ),
    ] {
        let bucket = Bucket::open_public("photos", "memory://", public_base(base))
            .unwrap_or_else(|e| panic!("{base}: {e}"));
        assert_eq!(
            bucket.public_url(&photo).as_deref(),
            Some(expected),
            "{base}"
        );
    }
}

#[test]
fn unusable_public_bases_are_config_errors() {
    for base in [
        "ftp://cdn.example.com/",
        "file:///srv/photos/",
        "https://cdn.example.com/?v=1",
        "https://cdn.example.com/#top",
        "https://user:pass@cdn.example.com/",
        "data:text/plain,x",
    ] {
        let err = Bucket::open_public("photos", "memory://", public_base(base)).err();
        assert!(
            matches!(
                err,
                Some(StorageError::Config(ConfigError::InvalidPublicBase { .. }))
            ),
            "{base}: {err:?}"
        );
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(!message.contains("pass"), "{message}");
    }
}

#[test]
fn public_buckets_check_names_and_urls_like_private_ones() {
    let base = || public_base("https://cdn.example.com/");
    assert!(matches!(
        Bucket::open_public("a/b", "memory://", base()),
        Err(StorageError::Config(ConfigError::InvalidBucketName { .. }))
    ));
    for url in ["not a url", "gs://bucket/prefix", "s3://"] {
        assert!(
            matches!(
                Bucket::open_public("photos", url, base()),
                Err(StorageError::Config(ConfigError::InvalidBucketUrl { .. }))
            ),
            "{url}"
        );
    }
    assert!(matches!(
        Bucket::open_public("photos", "ftp://bucket", base()),
        Err(StorageError::Config(ConfigError::UnsupportedScheme { .. }))
    ));
}

#[test]
fn private_buckets_have_no_public_urls() {
    assert_eq!(
        open("memory://").public_url(&key("kyc/u1/id_image.jpg")),
        None
    );
}
