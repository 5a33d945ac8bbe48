#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use base64::Engine as _;
use rentory_gemini::{
    AttemptResult, Call, Client, Content, GeminiError, Outcome, Part, RetryPolicy, Role, Settings,
    ThinkingLevel, Usage,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{
    body_string_contains, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "test-key-5f2c9a";
const FLASH: &str = "gemini-3-flash-preview";
const BACKUP: &str = "gemini-2.5-flash";

fn settings(base: &str) -> Settings {
    Settings {
        api_key: SecretString::from(KEY),
        base_url: url::Url::parse(&format!("{base}/v1beta/")).unwrap(),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
        },
    }
}

fn client(server: &MockServer) -> Client {
    Client::new(settings(&server.uri())).unwrap()
}

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {"rooms": {"type": "integer", "minimum": 0}},
        "required": ["rooms"]
    })
}

fn call(models: &[&str]) -> Call {
    Call {
        task: "analyze_photos",
        models: models.iter().map(|m| m.to_string()).collect(),
        system_instruction: "You count rooms.".into(),
        contents: vec![Content::user_text("How many rooms?")],
        response_schema: schema(),
        thinking_level: ThinkingLevel::Low,
        attempt_timeout: Duration::from_secs(2),
        deadline: Duration::from_secs(5),
        max_output_tokens: None,
    }
}

fn generate_path(model: &str) -> String {
    format!("/v1beta/models/{model}:generateContent")
}

#[derive(Debug, PartialEq)]
struct Rooms(u64);

/// generateContent of `model` answers `response`, exactly `times` times.
async fn expect_generate(
    server: &MockServer,
    model: &str,
    response: ResponseTemplate,
    times: impl Into<wiremock::Times>,
) {
    Mock::given(method("POST"))
        .and(path(generate_path(model)))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

fn parse_rooms(value: &Value) -> Result<Rooms, String> {
    value
        .get("rooms")
        .and_then(Value::as_u64)
        .map(Rooms)
        .ok_or_else(|| "field `rooms` must be a non-negative integer".to_owned())
}

fn answer(text: &str, usage: (u64, u64, u64)) -> Value {
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": [{"text": text}]},
            "finishReason": "STOP",
            "index": 0
        }],
        "usageMetadata": {
            "promptTokenCount": usage.0,
            "candidatesTokenCount": usage.1,
            "thoughtsTokenCount": usage.2,
            "totalTokenCount": usage.0 + usage.1 + usage.2
        },
        "modelVersion": "gemini-3-flash-preview"
    })
}

fn ok(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(answer(text, (100, 10, 20)))
}

fn api_error(code: u16, status: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_json(json!({
        "error": {"code": code, "message": message, "status": status}
    }))
}

fn results<T>(outcome: &Outcome<T>) -> Vec<AttemptResult> {
    outcome.attempts.iter().map(|a| a.result).collect()
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.body_json().unwrap())
        .collect()
}

#[tokio::test]
async fn sends_the_documented_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(generate_path(FLASH)))
        .and(header("x-goog-api-key", KEY))
        .and(header("content-type", "application/json"))
        .respond_with(ok(r#"{"rooms": 3}"#))
        .expect(1)
        .mount(&server)
        .await;

    let image = bytes::Bytes::from_static(b"\xff\xd8\xff\xe0 not really a jpeg \x00\x01");
    let mut call = call(&[FLASH]);
    call.thinking_level = ThinkingLevel::High;
    call.max_output_tokens = Some(2048);
    call.contents = vec![
        Content::user_text("Earlier question"),
        Content {
            role: Role::Model,
            parts: vec![Part::Text("Earlier answer".into())],
        },
        Content {
            role: Role::User,
            parts: vec![
                Part::Text("Count the rooms in this photo.".into()),
                Part::InlineData {
                    mime_type: "image/jpeg".into(),
                    data: image.clone(),
                },
            ],
        },
    ];

    let outcome = client(&server).generate(&call, parse_rooms).await;
    let generated = outcome.result.as_ref().unwrap();
    assert_eq!(generated.value, Rooms(3));
    assert_eq!(generated.model, FLASH);
    assert!(!generated.repaired);
    assert_eq!(results(&outcome), vec![AttemptResult::Answered]);
    assert_eq!(outcome.attempts[0].http_status, Some(200));
    assert_eq!(outcome.attempts[0].model, FLASH);

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert!(!request.url.as_str().contains(KEY));
    assert_eq!(request.url.query(), None);
    let body: Value = request.body_json().unwrap();
    assert!(!body.to_string().contains(KEY));
    assert_eq!(
        body["systemInstruction"]["parts"][0]["text"],
        "You count rooms."
    );
    let contents = body["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 3);
    assert_eq!(contents[0]["role"], "user");
    assert_eq!(contents[0]["parts"][0]["text"], "Earlier question");
    assert_eq!(contents[1]["role"], "model");
    assert_eq!(contents[2]["role"], "user");
    assert_eq!(
        contents[2]["parts"][0]["text"],
        "Count the rooms in this photo."
    );
    let inline = &contents[2]["parts"][1]["inlineData"];
    assert_eq!(inline["mimeType"], "image/jpeg");
    assert_eq!(
        inline["data"],
        base64::engine::general_purpose::STANDARD.encode(&image)
    );
    let config = &body["generationConfig"];
    assert_eq!(config["responseMimeType"], "application/json");
    assert_eq!(config["responseJsonSchema"], schema());
    assert_eq!(config["thinkingConfig"]["thinkingLevel"], "high");
    assert_eq!(config["maxOutputTokens"], 2048);
    assert!(body.get("tools").is_none());
    assert!(body.get("toolConfig").is_none());
}

#[tokio::test]
async fn thinking_levels_use_the_api_spelling() {
    let server = MockServer::start().await;
    expect_generate(&server, FLASH, ok(r#"{"rooms": 1}"#), 4).await;
    let client = client(&server);
    for level in [
        ThinkingLevel::Minimal,
        ThinkingLevel::Low,
        ThinkingLevel::Medium,
        ThinkingLevel::High,
    ] {
        let mut call = call(&[FLASH]);
        call.thinking_level = level;
        client.generate(&call, parse_rooms).await.result.unwrap();
    }
    let sent: Vec<Value> = bodies(&server)
        .await
        .iter()
        .map(|b| b["generationConfig"]["thinkingConfig"]["thinkingLevel"].clone())
        .collect();
    assert_eq!(sent, vec!["minimal", "low", "medium", "high"]);
}

#[tokio::test]
async fn retry_after_header_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(generate_path(FLASH)))
        .respond_with(
            api_error(429, "RESOURCE_EXHAUSTED", "slow down").insert_header("Retry-After", "1"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    expect_generate(&server, FLASH, ok(r#"{"rooms": 2}"#), 1).await;

    let started = Instant::now();
    let outcome = client(&server).generate(&call(&[FLASH]), parse_rooms).await;
    let elapsed = started.elapsed();
    assert_eq!(outcome.result.as_ref().unwrap().value, Rooms(2));
    assert_eq!(
        results(&outcome),
        vec![AttemptResult::Retryable, AttemptResult::Answered]
    );
    assert_eq!(outcome.attempts[0].http_status, Some(429));
    assert!(elapsed >= Duration::from_secs(1), "waited only {elapsed:?}");
}

#[tokio::test]
async fn retry_info_delay_is_honoured_and_usage_counts_only_reported_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(generate_path(FLASH)))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({
            "error": {
                "code": 429,
                "message": "Resource has been exhausted (e.g. check quota).",
                "status": "RESOURCE_EXHAUSTED",
                "details": [{
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": "0.3s"
                }]
            }
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    expect_generate(&server, FLASH, ok(r#"{"rooms": 2}"#), 1).await;

    let started = Instant::now();
    let outcome = client(&server).generate(&call(&[FLASH]), parse_rooms).await;
    let elapsed = started.elapsed();
    let generated = outcome.result.as_ref().unwrap();
    assert!(
        elapsed >= Duration::from_millis(300),
        "waited only {elapsed:?}"
    );
    assert_eq!(outcome.attempts.len(), 2);
    assert_eq!(outcome.attempts[0].usage, None);
    assert_eq!(
        generated.usage,
        Usage {
            prompt_tokens: 100,
            output_tokens: 30,
            thoughts_tokens: 20
        }
    );
}

#[tokio::test]
async fn unavailable_after_max_attempts() {
    let server = MockServer::start().await;
    expect_generate(
        &server,
        FLASH,
        api_error(503, "UNAVAILABLE", "The model is overloaded."),
        3,
    )
    .await;

    let outcome = client(&server).generate(&call(&[FLASH]), parse_rooms).await;
    match outcome.result.as_ref().unwrap_err() {
        GeminiError::Unavailable {
            detail,
            retry_after,
        } => {
            assert!(detail.contains("503"), "{detail}");
            assert!(detail.contains("overloaded"), "{detail}");
            assert_eq!(*retry_after, None);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(outcome.result.as_ref().unwrap_err().kind(), "unavailable");
    assert_eq!(results(&outcome), vec![AttemptResult::Retryable; 3]);
    assert!(outcome.attempts.iter().all(|a| a.http_status == Some(503)));
}

#[tokio::test]
async fn an_exhausted_model_falls_back_to_the_next() {
    let server = MockServer::start().await;
    expect_generate(
        &server,
        FLASH,
        api_error(500, "INTERNAL", "internal error"),
        3,
    )
    .await;
    expect_generate(&server, BACKUP, ok(r#"{"rooms": 4}"#), 1).await;

    let outcome = client(&server)
        .generate(&call(&[FLASH, BACKUP]), parse_rooms)
        .await;
    let generated = outcome.result.as_ref().unwrap();
    assert_eq!(generated.model, BACKUP);
    assert_eq!(generated.value, Rooms(4));
    assert_eq!(outcome.attempts.len(), 4);
    assert_eq!(outcome.attempts[3].model, BACKUP);
}

#[tokio::test]
async fn a_long_server_wait_past_the_deadline_stops_with_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(generate_path(FLASH)))
        .respond_with(
            api_error(429, "RESOURCE_EXHAUSTED", "quota").insert_header("Retry-After", "30"),
        )
        .expect(1)
        .mount(&server)
        .await;

    let started = Instant::now();
    let outcome = client(&server).generate(&call(&[FLASH]), parse_rooms).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        outcome.result.unwrap_err(),
        GeminiError::Unavailable {
            detail: "HTTP 429: RESOURCE_EXHAUSTED: quota".into(),
            retry_after: Some(Duration::from_secs(30)),
        }
    );
}

#[tokio::test]
async fn bad_request_is_rejected_without_retry_and_without_the_key() {
    let server = MockServer::start().await;
    let long_tail = "x".repeat(1000);
    Mock::given(method("POST"))
        .and(path(generate_path(FLASH)))
        .respond_with(api_error(
            400,
            "INVALID_ARGUMENT",
            &format!("API key not valid: {KEY}. {long_tail}"),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let outcome = client(&server)
        .generate(&call(&[FLASH, BACKUP]), parse_rooms)
        .await;
    match outcome.result.as_ref().unwrap_err() {
        GeminiError::Rejected { status, message } => {
            assert_eq!(*status, 400);
            assert!(message.starts_with("INVALID_ARGUMENT: API key not valid"));
            assert!(!message.contains(KEY), "{message}");
            assert!(message.chars().count() <= 301, "{}", message.len());
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        !outcome
            .result
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains(KEY)
    );
    assert_eq!(results(&outcome), vec![AttemptResult::Rejected]);
}

#[tokio::test]
async fn not_found_moves_down_the_chain() {
    let server = MockServer::start().await;
    expect_generate(
        &server,
        FLASH,
        api_error(404, "NOT_FOUND", "models/x is not found"),
        1,
    )
    .await;
    expect_generate(&server, BACKUP, ok(r#"{"rooms": 5}"#), 1).await;

    let outcome = client(&server)
        .generate(&call(&[FLASH, BACKUP]), parse_rooms)
        .await;
    assert_eq!(outcome.result.as_ref().unwrap().model, BACKUP);
    assert_eq!(
        results(&outcome),
        vec![AttemptResult::ModelNotFound, AttemptResult::Answered]
    );
    assert_eq!(outcome.attempts[0].model, FLASH);
    assert_eq!(outcome.attempts[0].http_status, Some(404));
}

#[tokio::test]
async fn all_not_found_is_no_model() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(api_error(404, "NOT_FOUND", "not found"))
        .expect(2)
        .mount(&server)
        .await;

    let outcome = client(&server)
        .generate(&call(&[FLASH, "models/gemini-2.5-pro"]), parse_rooms)
        .await;
    assert_eq!(
        outcome.result.unwrap_err(),
        GeminiError::NoModel {
            tried: vec![FLASH.to_owned(), "gemini-2.5-pro".to_owned()]
        }
    );
}

#[tokio::test]
async fn prompt_feedback_block_is_typed_and_final() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
            "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let outcome = client(&server)
        .generate(&call(&[FLASH, BACKUP]), parse_rooms)
        .await;
    assert_eq!(results(&outcome), vec![AttemptResult::Blocked]);
    assert_eq!(
        outcome.attempts[0].usage,
        Some(Usage {
            prompt_tokens: 12,
            output_tokens: 0,
            thoughts_tokens: 0
        })
    );
    let error = outcome.result.unwrap_err();
    assert_eq!(error.kind(), "blocked");
    assert_eq!(
        error,
        GeminiError::Blocked {
            reason: "PROHIBITED_CONTENT".into()
        }
    );
}

#[tokio::test]
async fn safety_finish_reason_is_blocked_without_repair() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{
                "finishReason": "SAFETY",
                "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"}]
            }]
        })))
        .expect(1)
        .mount(&server)
        .await;

    let outcome = client(&server).generate(&call(&[FLASH]), parse_rooms).await;
    assert_eq!(
        outcome.result.unwrap_err(),
        GeminiError::Blocked {
            reason: "SAFETY".into()
        }
    );
}

#[tokio::test]
async fn malformed_json_is_repaired_once() {
    let server = MockServer::start().await;
    let bad = "Sure! rooms: 3";
    Mock::given(method("POST"))
        .and(path(generate_path(FLASH)))
        .and(body_string_contains(
            "did not match the required JSON schema",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(answer("```json\n{\"rooms\": 3}\n```", (150, 8, 0))),
        )
        .expect(1)
        .mount(&server)
        .await;
    expect_generate(
        &server,
        FLASH,
        ResponseTemplate::new(200).set_body_json(answer(bad, (100, 5, 40))),
        1,
    )
    .await;

    let outcome = client(&server).generate(&call(&[FLASH]), parse_rooms).await;
    let generated = outcome.result.as_ref().unwrap();
    assert_eq!(generated.value, Rooms(3));
    assert!(generated.repaired);
    assert_eq!(generated.model, FLASH);
    assert_eq!(
        generated.usage,
        Usage {
            prompt_tokens: 250,
            output_tokens: 53,
            thoughts_tokens: 40
        }
    );
    assert_eq!(
        results(&outcome),
        vec![AttemptResult::BadOutput, AttemptResult::Answered]
    );

    let sent = bodies(&server).await;
    assert_eq!(sent.len(), 2);
    let repair = sent[1]["contents"].as_array().unwrap();
    assert_eq!(repair.len(), 3);
    assert_eq!(repair[0], sent[0]["contents"][0]);
    assert_eq!(repair[1]["role"], "model");
    assert_eq!(repair[1]["parts"][0]["text"], bad);
    assert_eq!(repair[2]["role"], "user");
    let instruction = repair[2]["parts"][0]["text"].as_str().unwrap();
    assert!(instruction.contains("not valid JSON"), "{instruction}");
    assert_eq!(sent[1]["generationConfig"], sent[0]["generationConfig"]);
    assert_eq!(sent[1]["systemInstruction"], sent[0]["systemInstruction"]);
}

#[tokio::test]
async fn malformed_twice_is_bad_output_after_two_requests() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok("{\"rooms\": "))
        .expect(2)
        .mount(&server)
        .await;

    let outcome = client(&server)
        .generate(&call(&[FLASH, BACKUP]), parse_rooms)
        .await;
    let error = outcome.result.as_ref().unwrap_err();
    assert!(
        matches!(error, GeminiError::BadOutput { detail } if detail.contains("not valid JSON")),
        "{error:?}"
    );
    assert_eq!(error.kind(), "bad_output");
    assert_eq!(results(&outcome), vec![AttemptResult::BadOutput; 2]);
}

#[tokio::test]
async fn parse_refusal_is_repaired_with_its_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains(
            "field `rooms` must be a non-negative integer",
        ))
        .and(body_string_contains(r#"{\"rooms\": \"three\"}"#))
        .respond_with(ok(r#"{"rooms": 3}"#))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok(r#"{"rooms": "three"}"#))
        .expect(1)
        .mount(&server)
        .await;

    let outcome = client(&server).generate(&call(&[FLASH]), parse_rooms).await;
    let generated = outcome.result.unwrap();
    assert_eq!(generated.value, Rooms(3));
    assert!(generated.repaired);
}

#[tokio::test]
async fn max_tokens_is_bad_output_without_repair() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{
                "content": {"role": "model", "parts": [{"text": "{\"rooms\": 1"}]},
                "finishReason": "MAX_TOKENS"
            }]
        })))
        .expect(1)
        .mount(&server)
        .await;

    let outcome = client(&server).generate(&call(&[FLASH]), parse_rooms).await;
    assert!(matches!(
        outcome.result.unwrap_err(),
        GeminiError::BadOutput { .. }
    ));
}

#[tokio::test]
async fn empty_candidates_are_bad_output() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"candidates": []})))
        .expect(1)
        .mount(&server)
        .await;

    let outcome = client(&server).generate(&call(&[FLASH]), parse_rooms).await;
    assert!(matches!(
        outcome.result.unwrap_err(),
        GeminiError::BadOutput { detail } if detail.contains("no candidates")
    ));
}

#[tokio::test]
async fn oversized_body_is_bad_output() {
    let server = MockServer::start().await;
    let huge = format!(
        r#"{{"candidates":[{{"content":{{"parts":[{{"text":"{}"}}]}}}}]}}"#,
        "a".repeat(5 * 1024 * 1024)
    );
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge, "application/json"))
        .expect(1)
        .mount(&server)
        .await;

    let outcome = client(&server).generate(&call(&[FLASH]), parse_rooms).await;
    assert!(matches!(
        outcome.result.as_ref().unwrap_err(),
        GeminiError::BadOutput { detail } if detail.contains("bytes")
    ));
    assert_eq!(results(&outcome), vec![AttemptResult::BadOutput]);
}

#[tokio::test]
async fn attempts_that_time_out_end_in_timed_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok(r#"{"rooms": 1}"#).set_delay(Duration::from_secs(3)))
        .expect(3)
        .mount(&server)
        .await;

    let mut call = call(&[FLASH]);
    call.attempt_timeout = Duration::from_millis(150);
    call.deadline = Duration::from_secs(2);
    let started = Instant::now();
    let outcome = client(&server).generate(&call, parse_rooms).await;
    let elapsed = started.elapsed();
    assert!(
        matches!(outcome.result, Err(GeminiError::TimedOut { .. })),
        "{:?}",
        outcome.result
    );
    assert!(elapsed < call.deadline, "took {elapsed:?}");
    assert_eq!(results(&outcome), vec![AttemptResult::TimedOut; 3]);
    assert!(outcome.attempts.iter().all(|a| a.http_status.is_none()));
    assert!(
        outcome
            .attempts
            .iter()
            .all(|a| a.latency >= Duration::from_millis(150))
    );
}

#[tokio::test]
async fn the_deadline_bounds_the_whole_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok(r#"{"rooms": 1}"#).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;

    let mut call = call(&[FLASH, BACKUP]);
    call.attempt_timeout = Duration::from_secs(2);
    call.deadline = Duration::from_millis(300);
    let started = Instant::now();
    let outcome = client(&server).generate(&call, parse_rooms).await;
    let elapsed = started.elapsed();
    let error = outcome.result.unwrap_err();
    assert_eq!(error.kind(), "timed_out");
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_millis(800),
        "took {elapsed:?}"
    );
    assert_eq!(outcome.attempts.len(), 1);
    assert_eq!(outcome.attempts[0].model, FLASH);
}

#[tokio::test]
async fn connection_errors_are_retried_then_unavailable() {
    // A port that was just free: nothing listens, so every connect is refused.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut settings = settings(&format!("http://127.0.0.1:{port}"));
    settings.retry.max_attempts = 2;
    let client = Client::new(settings).unwrap();

    let outcome = client.generate(&call(&[FLASH]), parse_rooms).await;
    assert!(
        matches!(&outcome.result, Err(GeminiError::Unavailable { .. })),
        "{:?}",
        outcome.result
    );
    assert_eq!(results(&outcome), vec![AttemptResult::Network; 2]);
}

#[tokio::test]
async fn thought_parts_are_not_part_of_the_answer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{
                "content": {"role": "model", "parts": [
                    {"text": "Counting: {rooms: maybe 9", "thought": true},
                    {"text": "{\"rooms\":", "thoughtSignature": "c2ln"},
                    {"text": " 2}"}
                ]},
                "finishReason": "STOP"
            }],
            "usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 6, "thoughtsTokenCount": 90}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let outcome = client(&server).generate(&call(&[FLASH]), parse_rooms).await;
    let generated = outcome.result.unwrap();
    assert_eq!(generated.value, Rooms(2));
    assert!(!generated.repaired);
    assert_eq!(
        generated.usage,
        Usage {
            prompt_tokens: 40,
            output_tokens: 96,
            thoughts_tokens: 90
        }
    );
}

#[tokio::test]
async fn invalid_calls_are_config_errors_without_requests() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok(r#"{"rooms": 1}"#))
        .expect(0)
        .mount(&server)
        .await;
    let client = client(&server);

    let outcome = client.generate(&call(&[]), parse_rooms).await;
    assert_eq!(outcome.result.unwrap_err().kind(), "config");
    assert!(outcome.attempts.is_empty());

    let outcome = client.generate(&call(&["../evil"]), parse_rooms).await;
    assert_eq!(outcome.result.unwrap_err().kind(), "config");
}

#[tokio::test]
async fn list_models_follows_pages() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1beta/models"))
        .and(header("x-goog-api-key", KEY))
        .and(query_param_is_missing("pageToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "models": [
                {"name": "models/gemini-3-flash-preview", "displayName": "Gemini 3 Flash"},
                {"name": "models/gemini-2.5-flash"}
            ],
            "nextPageToken": "page-2"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1beta/models"))
        .and(header("x-goog-api-key", KEY))
        .and(query_param("pageToken", "page-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "models": [{"name": "models/gemini-3.1-pro-preview"}]
        })))
        .expect(1)
        .mount(&server)
        .await;

    let models = client(&server).list_models().await.unwrap();
    assert_eq!(
        models,
        vec![
            "gemini-3-flash-preview",
            "gemini-2.5-flash",
            "gemini-3.1-pro-preview"
        ]
    );
    for request in server.received_requests().await.unwrap() {
        assert!(!request.url.as_str().contains(KEY));
    }
}

#[tokio::test]
async fn list_models_stops_after_twenty_pages() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1beta/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "models": [{"name": "models/gemini-2.5-flash"}],
            "nextPageToken": "again"
        })))
        .expect(20)
        .mount(&server)
        .await;

    let models = client(&server).list_models().await.unwrap();
    assert_eq!(models.len(), 20);
}

#[tokio::test]
async fn list_models_maps_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1beta/models"))
        .respond_with(api_error(403, "PERMISSION_DENIED", "key disabled"))
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(
        client(&server).list_models().await.unwrap_err(),
        GeminiError::Rejected {
            status: 403,
            message: "PERMISSION_DENIED: key disabled".into()
        }
    );
}

#[test]
fn debug_output_never_shows_the_key() {
    let settings = settings("http://127.0.0.1:9");
    assert!(!format!("{settings:?}").contains(KEY));
    let client = Client::new(settings).unwrap();
    assert!(!format!("{client:?}").contains(KEY));
}

#[test]
fn client_settings_are_validated() {
    let mut empty_key = settings("http://127.0.0.1:9");
    empty_key.api_key = SecretString::from("  ");
    assert!(matches!(
        Client::new(empty_key),
        Err(GeminiError::Config(_))
    ));

    let mut no_attempts = settings("http://127.0.0.1:9");
    no_attempts.retry.max_attempts = 0;
    assert!(matches!(
        Client::new(no_attempts),
        Err(GeminiError::Config(_))
    ));

    let defaults = Settings::new(SecretString::from(KEY)).unwrap();
    assert_eq!(
        defaults.base_url.as_str(),
        "https://generativelanguage.googleapis.com/v1beta/"
    );
    assert_eq!(defaults.retry, RetryPolicy::default());
    assert_eq!(defaults.retry.max_attempts, 4);
}

#[tokio::test]
async fn a_base_url_without_trailing_slash_keeps_its_path() {
    let server = MockServer::start().await;
    expect_generate(&server, FLASH, ok(r#"{"rooms": 1}"#), 1).await;
    let mut settings = settings(&server.uri());
    settings.base_url = url::Url::parse(&format!("{}/v1beta", server.uri())).unwrap();
    let outcome = Client::new(settings)
        .unwrap()
        .generate(&call(&[FLASH]), parse_rooms)
        .await;
    assert_eq!(outcome.result.unwrap().value, Rooms(1));
}

#[test]
fn plan_chain_keeps_order_and_reports_missing() {
    let configured: Vec<String> = [
        "gemini-3.1-pro-preview",
        "models/gemini-3-flash-preview",
        "gemini-2.5-flash",
        "gemini-3-flash-preview",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let available: Vec<String> = ["models/gemini-2.5-flash", "gemini-3-flash-preview"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let plan = rentory_gemini::plan_chain(&configured, &available);
    assert_eq!(
        plan.usable,
        vec!["gemini-3-flash-preview", "gemini-2.5-flash"]
    );
    assert_eq!(plan.missing, vec!["gemini-3.1-pro-preview"]);

    let none = rentory_gemini::plan_chain(&configured, &[]);
    assert!(none.usable.is_empty());
    assert_eq!(none.missing.len(), 3);
}

#[test]
fn estimated_cost_uses_the_price_table() {
    let usage = Usage {
        prompt_tokens: 10_000,
        output_tokens: 2_000,
        thoughts_tokens: 1_500,
    };
    // 10k * $0.50/M + 2k * $3.00/M = 5000 + 6000 micro-USD.
    assert_eq!(
        rentory_gemini::estimated_cost_micro_usd(FLASH, &usage),
        Some(11_000)
    );
    assert_eq!(
        rentory_gemini::estimated_cost_micro_usd("gemini-9-ultra", &usage),
        None
    );
}
