use secrecy::SecretString;
use time::OffsetDateTime;
use url::Url;

use super::*;

const SECRET: &str = "0123456789abcdef0123456789abcdef-test-only";

fn links() -> LocalLinks {
    match LocalLinks::new("http://127.0.0.1:8080", &SecretString::from(SECRET)) {
        Ok(links) => links,
        Err(e) => panic!("{e}"),
    }
}

fn key(key: &str) -> ObjectKey {
    ObjectKey::parse(key).unwrap_or_else(|e| panic!("{key}: {e}"))
}

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or_else(|e| panic!("{e}"))
}

const EXPIRES: i64 = 1_700_000_060;

/// The parts the gateway would pull out of a signed URL.
fn parts(signed: &str) -> (String, String, i64, String) {
    let url = Url::parse(signed).unwrap_or_else(|e| panic!("{e}"));
    let path = url
        .path()
        .strip_prefix("/files/")
        .unwrap_or_else(|| panic!("{signed}"));
    let (bucket, key) = path.split_once('/').unwrap_or_else(|| panic!("{signed}"));
    let query = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no {name} in {signed}"))
    };
    let expires = query("expires").parse().unwrap_or_else(|e| panic!("{e}"));
    (
        bucket.to_owned(),
        key.to_owned(),
        expires,
        query("signature"),
    )
}

#[test]
fn signed_link_has_the_gateway_shape() {
    let signed = links().sign("kyc", &key("users/u1/id.jpg"), at(EXPIRES));
    let prefix =
        format!("http://127.0.0.1:8080/files/kyc/users/u1/id.jpg?expires={EXPIRES}&signature=");
    assert!(signed.starts_with(&prefix), "{signed}");
    let signature = &signed[prefix.len()..];
    assert_eq!(signature.len(), 64);
    assert!(
        signature
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
}

#[test]
fn a_path_prefix_on_the_public_url_is_kept() {
    for base in [
        "https://api.rentory.test/v1",
        "https://api.rentory.test/v1/",
    ] {
        let links =
            LocalLinks::new(base, &SecretString::from(SECRET)).unwrap_or_else(|e| panic!("{e}"));
        let signed = links.sign("kyc", &key("a.png"), at(EXPIRES));
        assert!(
            signed.starts_with("https://api.rentory.test/v1/files/kyc/a.png?expires="),
            "{signed}"
        );
    }
}

#[test]
fn a_genuine_link_verifies_until_its_expiry_second() {
    let links = links();
    let (bucket, k, expires, signature) =
        parts(&links.sign("kyc", &key("users/u1/id.jpg"), at(EXPIRES)));
    for now in [EXPIRES - 60, EXPIRES] {
        assert_eq!(
            links.verify(&bucket, &k, expires, &signature, at(now)),
            Ok(key("users/u1/id.jpg"))
        );
    }
}

#[test]
fn a_genuine_link_is_expired_one_second_after() {
    let links = links();
    let (bucket, k, expires, signature) = parts(&links.sign("kyc", &key("id.jpg"), at(EXPIRES)));
    assert_eq!(
        links.verify(&bucket, &k, expires, &signature, at(EXPIRES + 1)),
        Err(LinkError::Expired)
    );
}

#[test]
fn tampering_with_any_part_breaks_the_signature() {
    let links = links();
    let (bucket, k, expires, signature) =
        parts(&links.sign("kyc", &key("users/u1/id.jpg"), at(EXPIRES)));
    let now = at(EXPIRES - 30);
    let mut flipped = signature.clone().into_bytes();
    flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap_or_else(|e| panic!("{e}"));
    let cases: [(&str, &str, i64, &str); 8] = [
        ("listings", &k, expires, &signature),
        (&bucket, "users/u2/id.jpg", expires, &signature),
        (&bucket, "users/u1/face.jpg", expires, &signature),
        (&bucket, &k, expires + 3600, &signature),
        (&bucket, &k, expires, &flipped),
        (&bucket, &k, expires, &signature[..62]),
        (&bucket, &k, expires, "not hex at all"),
        (&bucket, &k, expires, ""),
    ];
    for (bucket, k, expires, signature) in cases {
        assert_eq!(
            links.verify(bucket, k, expires, signature, now),
            Err(LinkError::BadSignature),
            "{bucket} {k} {expires} {signature}"
        );
    }
}

#[test]
fn a_forged_link_is_a_bad_signature_even_when_expired() {
    assert_eq!(
        links().verify(
            "kyc",
            "id.jpg",
            EXPIRES,
            &"00".repeat(32),
            at(EXPIRES + 100)
        ),
        Err(LinkError::BadSignature)
    );
}

#[test]
fn a_link_from_another_secret_is_refused() {
    let other = LocalLinks::new(
        "http://127.0.0.1:8080",
        &SecretString::from("another-secret-of-sufficient-length-0000"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (bucket, k, expires, signature) = parts(&other.sign("kyc", &key("id.jpg"), at(EXPIRES)));
    assert_eq!(
        links().verify(&bucket, &k, expires, &signature, at(EXPIRES - 1)),
        Err(LinkError::BadSignature)
    );
}

#[test]
fn bucket_and_key_boundaries_cannot_be_shifted() {
    let links = links();
    assert_ne!(
        links.tag("kyc", "ab/c", EXPIRES),
        links.tag("kyca", "b/c", EXPIRES)
    );
    assert_ne!(
        links.tag("kyc", "a", EXPIRES),
        links.tag("kyc", "a", EXPIRES + 1)
    );
}

#[test]
fn an_invalid_key_is_refused_before_any_signature_work() {
    for k in ["../secrets", "", "/etc/passwd", "a//b"] {
        assert_eq!(
            links().verify("kyc", k, EXPIRES, "00", at(EXPIRES - 1)),
            Err(LinkError::BadKey),
            "{k:?}"
        );
    }
}

#[test]
fn a_short_secret_or_a_bad_public_url_is_a_config_error_naming_the_variable() {
    let short = LocalLinks::new("http://localhost:8080", &SecretString::from("too-short"));
    assert!(matches!(
        short,
        Err(ConfigError::WeakSecret {
            var: "RENTORY_FILE_URL_SECRET",
            ..
        })
    ));
    for url in [
        "",
        "localhost:8080",
        "ftp://host/",
        "http://host/?a=b",
        "http://host/#x",
        "mailto:a@b",
    ] {
        let err = LocalLinks::new(url, &SecretString::from(SECRET)).err();
        assert!(
            matches!(&err, Some(e @ ConfigError::InvalidPublicUrl { .. }) if e.to_string().contains("RENTORY_PUBLIC_URL")),
            "{url}: {err:?}"
        );
    }
}

#[test]
fn env_values_must_come_in_pairs() {
    assert!(matches!(LocalLinks::from_values(None, None), Ok(None)));
    assert!(matches!(
        LocalLinks::from_values(Some("http://h"), Some(SECRET.into())),
        Ok(Some(_))
    ));
    assert!(matches!(
        LocalLinks::from_values(Some("http://h"), None),
        Err(ConfigError::MissingVar {
            var: "RENTORY_FILE_URL_SECRET"
        })
    ));
    assert!(matches!(
        LocalLinks::from_values(None, Some(SECRET.into())),
        Err(ConfigError::MissingVar {
            var: "RENTORY_PUBLIC_URL"
        })
    ));
}

#[test]
fn debug_output_does_not_reveal_the_secret() {
    let debug = format!("{:?}", links());
    assert!(
        !debug.contains(SECRET) && !debug.contains("0123456789abcdef"),
        "{debug}"
    );
}
