//! Every forged or stale access token gets the same 401 at the gateway.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rentory_auth::SigningKeyPair;
use rentory_blackbox::TestStack;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

fn body_of(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("body");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
}

fn sign(claims: &Value, private_pem: &str) -> String {
    let key = EncodingKey::from_ed_pem(private_pem.as_bytes()).expect("key");
    jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &key).expect("sign")
}

#[tokio::test]
async fn forged_and_stale_tokens_are_refused_alike() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let tenant = stack.register("TENANT").await?;
    let genuine = body_of(&tenant.access_token);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    // The genuine claims re-signed by the real key pass: the refusals below are each for
    // the one thing changed.
    let resigned = sign(&genuine, stack.signing_key());
    assert_eq!(stack.get("/me", &resigned).await?.0, 200);

    let with = |key: &str, value: Value| {
        let mut claims = genuine.clone();
        claims[key] = value;
        claims
    };
    let without = |key: &str| {
        let mut claims = genuine.clone();
        claims.as_object_mut().expect("object").remove(key);
        claims
    };
    let other_key = SigningKeyPair::generate()?;
    let header_none = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let body = tenant
        .access_token
        .split('.')
        .nth(1)
        .expect("body")
        .to_owned();
    let header_hs = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());

    let mut attacks: Vec<(&str, String)> = vec![
        ("alg none, no signature", format!("{header_none}.{body}.")),
        (
            "alg none, kept signature",
            format!(
                "{header_none}.{body}.{}",
                tenant.access_token.rsplit('.').next().unwrap_or("")
            ),
        ),
        (
            "alg HS256",
            format!(
                "{header_hs}.{body}.{}",
                tenant.access_token.rsplit('.').next().unwrap_or("")
            ),
        ),
        (
            "wrong key",
            sign(&genuine, other_key.private_pem.expose_secret()),
        ),
        (
            "wrong audience",
            sign(&with("aud", json!("someone-else")), stack.signing_key()),
        ),
        (
            "wrong issuer",
            sign(&with("iss", json!("evil")), stack.signing_key()),
        ),
        (
            "expired",
            sign(&with("exp", json!(now - 3600)), stack.signing_key()),
        ),
        ("role escalated without re-signing", {
            let forged = URL_SAFE_NO_PAD.encode(with("role", json!("ADMIN")).to_string());
            let mut parts: Vec<&str> = tenant.access_token.split('.').collect();
            parts[1] = &forged;
            parts.join(".")
        }),
        ("garbage", "not-a-token".to_owned()),
    ];
    for claim in ["sub", "sid", "jti", "exp", "aud", "iss", "role", "status"] {
        attacks.push((claim, sign(&without(claim), stack.signing_key())));
    }

    for (name, token) in attacks {
        let (status, problem) = stack.get("/me", &token).await?;
        assert_eq!(status, 401, "{name}: {problem}");
        assert_eq!(
            problem["type"], "https://rentory.ng/problems/unauthenticated",
            "{name}"
        );
    }
    let no_header = stack.http.get(stack.url("/me")).send().await?;
    assert_eq!(no_header.status(), 401);
    assert!(no_header.headers().contains_key("www-authenticate"));
    stack.stop().await
}
