//! The AI concierge through the gateway, and the AI orchestrator in the KYC journey with a
//! fake Gemini behind the real client.

use std::time::Duration;

use rentory_blackbox::TestStack;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_pending_tenant_talks_to_the_concierge_and_the_persona_reaches_the_profile()
-> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let tenant = stack.register("TENANT").await?;
    let (status, answer) = stack
        .post(
            "/concierge/messages",
            &tenant.access_token,
            json!({"message": "Abeg I want 3 bedroom flat for Lekki Phase 1, 24/7 light na must, budget 8m"}),
        )
        .await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["model"], "offline");
    assert_eq!(answer["persona_changed"], true);
    assert_eq!(answer["persona"]["version"], 1);
    assert_eq!(answer["persona"]["locations"][0]["name"], "Lekki Phase 1");
    assert!(answer["reply"].as_str().is_some_and(|r| !r.is_empty()));

    let (status, persona) = stack
        .get("/concierge/persona", &tenant.access_token)
        .await?;
    assert_eq!(status, 200);
    assert_eq!(persona, answer["persona"]);

    // ai.persona.updated -> identity keeps it in profiles.preferences.
    rentory_blackbox::eventually(
        Duration::from_secs(10),
        "the persona in the profile",
        || async {
            let (_, me) = stack.get("/me", &tenant.access_token).await?;
            Ok(me["profile"]["preferences"] == answer["persona"])
        },
    )
    .await?;

    // Landlords have no concierge.
    let landlord = stack.register("LANDLORD").await?;
    let (status, problem) = stack
        .post(
            "/concierge/messages",
            &landlord.access_token,
            json!({"message": "hello"}),
        )
        .await?;
    assert_eq!(status, 403, "{problem}");
    stack.stop().await
}

#[tokio::test]
async fn the_daily_ai_allowance_ends_in_429_with_retry_after() -> anyhow::Result<()> {
    let stack = TestStack::start_with(|t| t.ai_daily_calls = 1).await?;
    let tenant = stack.register("TENANT").await?;
    let (status, _) = stack
        .post(
            "/concierge/messages",
            &tenant.access_token,
            json!({"message": "flat in Yaba"}),
        )
        .await?;
    assert_eq!(status, 200);
    let response = stack
        .http
        .post(stack.url("/concierge/messages"))
        .bearer_auth(&tenant.access_token)
        .json(&json!({"message": "budget 2m"}))
        .send()
        .await?;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=24 * 3600).contains(&retry_after), "{retry_after}");
    let problem: serde_json::Value = response.json().await?;
    assert_eq!(
        problem["type"],
        "https://rentory.ng/problems/ai-budget-exhausted"
    );
    stack.stop().await
}

#[tokio::test]
async fn with_gemini_configured_the_kyc_queue_shows_the_models_face_match() -> anyhow::Result<()> {
    let gemini = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(
            "/v1beta/models/gemini-3-flash-preview:generateContent",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": json!({
                "score": 88, "id_face_visible": true, "scan_face_visible": true,
                "reasons": ["same eyes, nose and jawline"]
            }).to_string()}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 2000, "candidatesTokenCount": 50, "totalTokenCount": 2050}
        })))
        .mount(&gemini)
        .await;
    let base = format!("{}/v1beta/", gemini.uri());
    let stack = TestStack::start_with(|t| {
        t.gemini = Some(ai_orchestrator::GeminiConfig {
            api_key: secrecy::SecretString::from("blackbox-key"),
            base_url: url::Url::parse(&base).expect("url"),
            fast_models: ai_orchestrator::model_chain(ai_orchestrator::DEFAULT_FAST_MODELS),
            legal_models: ai_orchestrator::model_chain(ai_orchestrator::DEFAULT_LEGAL_MODELS),
            max_attempts: 2,
            retry_base: Duration::from_millis(10),
        });
    })
    .await?;
    let guide = stack.register("GUIDE").await?;
    let request_id = guide.verification_request_id.clone().expect("request");
    let admin = stack.admin().await?;
    let face_match = || async {
        let (_, queue) = stack
            .get("/kyc/requests?status=PENDING", &admin.access_token)
            .await?;
        Ok::<_, anyhow::Error>(
            queue["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|i| i["id"] == json!(request_id))
                .map(|item| item["face_match"].clone())
                .unwrap_or_default(),
        )
    };
    rentory_blackbox::eventually(Duration::from_secs(20), "the model's verdict", || async {
        Ok(face_match().await?["verdict"] == "MATCH")
    })
    .await?;
    let face_match = face_match().await?;
    assert_eq!(face_match["score"], 88);
    assert_eq!(face_match["model"], "gemini-3-flash-preview");
    assert_eq!(face_match["reasons"][0], "same eyes, nose and jawline");
    stack.stop().await
}
