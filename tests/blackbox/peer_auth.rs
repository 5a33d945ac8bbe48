//! Cloud Run's service-to-service authentication through a whole stack: with peer auth on
//! (`RENTORY_PEER_AUTH=google` in the manifests), every call between services carries a
//! Google ID token for its callee, fetched from the metadata server (a fake here, at the
//! address `GCE_METADATA_HOST` would name), and the whole `make demo` journey still works.

use std::collections::BTreeSet;

use base64::Engine;
use rentory_blackbox::TestStack;
use rentory_blackbox::demo::{self, Target};
use rentory_runtime::peer_auth::PeerAuth;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const IDENTITY_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/identity";

/// A token shaped like the metadata server's (a JWT; only its `exp` is read by callers).
fn id_token(valid_for_secs: i64) -> String {
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
    };
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + valid_for_secs;
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(serde_json::json!({"alg": "RS256", "typ": "JWT"})),
        b64(serde_json::json!({"iss": "https://accounts.google.com", "exp": exp}))
    )
}

#[tokio::test]
async fn with_peer_auth_every_call_between_services_carries_an_id_token_for_its_callee()
-> anyhow::Result<()> {
    let metadata = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(IDENTITY_PATH))
        .and(header("metadata-flavor", "Google"))
        .respond_with(ResponseTemplate::new(200).set_body_string(id_token(3600)))
        .mount(&metadata)
        .await;
    let host = metadata.address().to_string();
    let peer_auth = PeerAuth::parse(Some("google"), Some(&host))?;
    let stack = TestStack::start_with(|t| t.peer_auth = peer_auth).await?;
    let admin = stack.admin().await?;

    let mut printed = Vec::new();
    let outcome = demo::run(
        &Target {
            base: stack.base.clone(),
            admin_email: admin.email.clone(),
            admin_pin: admin.pin.clone(),
        },
        &mut printed,
    )
    .await;
    let printed = String::from_utf8_lossy(&printed).into_owned();
    assert!(outcome.is_ok(), "the journey with peer auth on: {printed}");

    // The gateway calls all seven services, and they call each other; each callee's origin
    // is an audience, and one token per audience serves every caller until near its expiry.
    let fetches = metadata.received_requests().await.unwrap_or_default();
    let audiences: Vec<String> = fetches
        .iter()
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "audience")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    let distinct: BTreeSet<&String> = audiences.iter().collect();
    assert_eq!(
        distinct.len(),
        7,
        "one audience per gRPC service: {audiences:?}"
    );
    // Without the shared cache every call between services would fetch (the journey makes
    // far more than 14: each of its 17 steps calls at least one service). Seven fetches is
    // the norm (measured); the slack is for a fetch timing out on a loaded machine and being
    // tried again.
    println!("{} token fetches for the whole journey", audiences.len());
    assert!(
        audiences.len() <= 14,
        "tokens are cached and shared, not fetched per call: {audiences:?}"
    );
    for audience in &distinct {
        assert!(
            audience.starts_with("http://127.0.0.1:")
                && audience.as_str() != stack.base.trim_end_matches('/'),
            "a service's origin, not the gateway's: {audience}"
        );
    }
    assert!(
        fetches.iter().all(|r| r
            .url
            .query_pairs()
            .any(|(k, v)| k == "format" && v == "full")),
        "Cloud Run wants the full token format"
    );
    stack.stop().await
}
