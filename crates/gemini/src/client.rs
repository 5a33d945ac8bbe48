use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use secrecy::ExposeSecret as _;
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::error::GeminiError;
use crate::retry::{backoff, is_retryable_status, retry_after_header};
use crate::types::{
    Attempt, AttemptResult, Call, Content, Generated, Outcome, Part, Role, Settings, Usage,
    bare_model_id,
};
use crate::wire;

const API_KEY_HEADER: &str = "x-goog-api-key";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Generous for JSON answers; a bigger body is a misbehaving upstream, not an answer.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
const MAX_ERROR_MESSAGE_CHARS: usize = 300;
/// How much of a rejected answer is echoed back in the repair turn.
const MAX_REPAIR_ECHO_BYTES: usize = 8 * 1024;
const MAX_REPAIR_DETAIL_BYTES: usize = 2 * 1024;
const LIST_PAGE_SIZE: u32 = 1000;
const LIST_MAX_PAGES: usize = 20;
const LIST_PAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// Finish reasons that mean a filter stopped the answer; retrying or repairing would only
/// hit the same filter.
const SAFETY_FINISH_REASONS: &[&str] = &[
    "SAFETY",
    "PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "RECITATION",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
];

/// Gemini REST client. Cheap to clone: clones share the connection pool and settings.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    api_key: HeaderValue,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// What one HTTP exchange came to, before any interpretation of the body.
enum Exchange {
    Response {
        status: u16,
        headers: HeaderMap,
        body: Bytes,
        /// The body went past [`MAX_RESPONSE_BYTES`] and `body` holds only its start.
        truncated: bool,
    },
    TimedOut,
    Network(String),
}

/// How the work on one model of the chain ended.
enum ModelEnd<T> {
    Answered(Generated<T>),
    NotFound,
    /// Transient failures used up this model's budget; the next model may still work.
    GaveUp(GeminiError),
    /// Nothing another model could change (blocked, rejected, bad output).
    Final(GeminiError),
}

/// What a 2xx `generateContent` body amounts to.
enum Answer<T> {
    Value(T),
    Blocked(String),
    /// Unusable in a way a repair turn cannot fix (truncated, no candidates, not an API body).
    Unusable(String),
    /// The model answered but the text is not acceptable JSON; `text` is what it said.
    Repairable {
        text: String,
        detail: String,
    },
}

/// The call's time budget and the attempts recorded so far, shared by every model of the chain.
struct Clock<'a> {
    started: Instant,
    deadline: Instant,
    attempts: &'a mut Vec<Attempt>,
}

/// The last transient failure on a model, kept to explain why it was given up.
enum Transient {
    TimedOut,
    Failed {
        detail: String,
        retry_after: Option<Duration>,
    },
}

impl Client {
    pub fn new(mut settings: Settings) -> Result<Self, GeminiError> {
        let key = settings.api_key.expose_secret().trim();
        if key.is_empty() {
            return Err(GeminiError::Config("API key is empty".into()));
        }
        let mut api_key = HeaderValue::from_str(key)
            .map_err(|_| GeminiError::Config("API key is not a valid header value".into()))?;
        api_key.set_sensitive(true);

        if !matches!(settings.base_url.scheme(), "http" | "https")
            || settings.base_url.cannot_be_a_base()
        {
            return Err(GeminiError::Config(format!(
                "base URL {} is not an http(s) URL",
                settings.base_url
            )));
        }
        // Without the trailing slash, `join` would replace the last path segment ("v1beta").
        if !settings.base_url.path().ends_with('/') {
            let path = format!("{}/", settings.base_url.path());
            settings.base_url.set_path(&path);
        }
        if settings.retry.max_attempts == 0 {
            return Err(GeminiError::Config(
                "retry.max_attempts must be at least 1".into(),
            ));
        }

        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .user_agent(concat!("rentory-gemini/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GeminiError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            inner: Arc::new(Inner { settings, api_key }),
        })
    }

    /// Every model id the key can use ("gemini-3-flash-preview", without "models/"),
    /// following `nextPageToken` for at most 20 pages.
    pub async fn list_models(&self) -> Result<Vec<String>, GeminiError> {
        let started = Instant::now();
        let mut url = self.endpoint("models")?;
        let mut models = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..LIST_MAX_PAGES {
            {
                let mut query = url.query_pairs_mut();
                query.clear();
                query.append_pair("pageSize", &LIST_PAGE_SIZE.to_string());
                if let Some(token) = &page_token {
                    query.append_pair("pageToken", token);
                }
            }
            let request = self
                .http
                .get(url.clone())
                .header(API_KEY_HEADER, self.inner.api_key.clone());
            let (status, headers, body, truncated) =
                match exchange(request, LIST_PAGE_TIMEOUT).await {
                    Exchange::TimedOut => {
                        return Err(GeminiError::TimedOut {
                            after: started.elapsed(),
                        });
                    }
                    Exchange::Network(detail) => {
                        return Err(GeminiError::Unavailable {
                            detail,
                            retry_after: None,
                        });
                    }
                    Exchange::Response {
                        status,
                        headers,
                        body,
                        truncated,
                    } => (status, headers, body, truncated),
                };
            if !(200..300).contains(&status) {
                let error = error_body(&body);
                let message = self.error_message(&error, &body);
                return Err(if is_retryable_status(status) {
                    GeminiError::Unavailable {
                        detail: format!("HTTP {status}: {message}"),
                        retry_after: hint(&headers, &error),
                    }
                } else {
                    GeminiError::Rejected { status, message }
                });
            }
            if truncated {
                return Err(GeminiError::BadOutput {
                    detail: format!("models list page over {MAX_RESPONSE_BYTES} bytes"),
                });
            }
            let page: wire::ListModelsResponse =
                serde_json::from_slice(&body).map_err(|e| GeminiError::BadOutput {
                    detail: format!("models list is not the expected JSON: {e}"),
                })?;
            models.extend(
                page.models
                    .unwrap_or_default()
                    .into_iter()
                    .map(|m| bare_model_id(&m.name).to_owned())
                    .filter(|m| !m.is_empty()),
            );
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(token) => page_token = Some(token),
                None => return Ok(models),
            }
        }
        tracing::warn!(
            pages = LIST_MAX_PAGES,
            models = models.len(),
            "gemini models list still had more pages; using what was read"
        );
        Ok(models)
    }

    /// One structured-output task run down its model chain. `parse` checks the model's JSON
    /// (schema-level rules the API cannot enforce) and turns it into `T`; its `Err` text is
    /// sent back to the model in the single repair attempt.
    pub async fn generate<T>(
        &self,
        call: &Call,
        parse: impl Fn(&serde_json::Value) -> Result<T, String>,
    ) -> Outcome<T> {
        let span = tracing::info_span!(
            "gemini.generate",
            task = call.task,
            models = ?call.models,
            thinking = call.thinking_level.as_str(),
        );
        self.run_call(call, &parse).instrument(span).await
    }

    async fn run_call<T>(
        &self,
        call: &Call,
        parse: &impl Fn(&serde_json::Value) -> Result<T, String>,
    ) -> Outcome<T> {
        let started = Instant::now();
        let deadline = started + call.deadline;
        let mut attempts = Vec::new();

        let prepared = validate_call(call).and_then(|models| {
            let body = encode_request(call, &[])?;
            Ok((models, body))
        });
        let (models, body) = match prepared {
            Ok(prepared) => prepared,
            Err(error) => {
                return Outcome {
                    result: Err(error),
                    attempts,
                };
            }
        };

        let mut not_found = Vec::new();
        let mut gave_up: Option<GeminiError> = None;
        for model in &models {
            if Instant::now() >= deadline {
                break;
            }
            let mut clock = Clock {
                started,
                deadline,
                attempts: &mut attempts,
            };
            let end = self
                .run_model(call, model, body.clone(), parse, &mut clock)
                .await;
            match end {
                ModelEnd::Answered(generated) => {
                    tracing::info!(
                        model = %generated.model,
                        attempts = attempts.len(),
                        repaired = generated.repaired,
                        prompt_tokens = generated.usage.prompt_tokens,
                        output_tokens = generated.usage.output_tokens,
                        "gemini call answered"
                    );
                    return Outcome {
                        result: Ok(generated),
                        attempts,
                    };
                }
                ModelEnd::NotFound => not_found.push(model.clone()),
                ModelEnd::GaveUp(error) => {
                    tracing::warn!(model = %model, error = %error, "gemini model given up");
                    gave_up = Some(error);
                }
                ModelEnd::Final(error) => {
                    return self.failed(error, attempts);
                }
            }
        }
        let error = match gave_up {
            Some(error) => error,
            None if not_found.len() == models.len() => GeminiError::NoModel { tried: not_found },
            None => GeminiError::TimedOut {
                after: started.elapsed(),
            },
        };
        self.failed(error, attempts)
    }

    fn failed<T>(&self, error: GeminiError, attempts: Vec<Attempt>) -> Outcome<T> {
        tracing::warn!(
            kind = error.kind(),
            error = %error,
            attempts = attempts.len(),
            "gemini call failed"
        );
        Outcome {
            result: Err(error),
            attempts,
        }
    }

    async fn run_model<T>(
        &self,
        call: &Call,
        model: &str,
        original_body: Bytes,
        parse: &impl Fn(&serde_json::Value) -> Result<T, String>,
        clock: &mut Clock<'_>,
    ) -> ModelEnd<T> {
        let (started, deadline) = (clock.started, clock.deadline);
        let attempts = &mut *clock.attempts;
        let url = match self.endpoint(&format!("models/{model}:generateContent")) {
            Ok(url) => url,
            Err(error) => return ModelEnd::Final(error),
        };
        let policy = self.inner.settings.retry;
        let mut body = original_body;
        let mut repairing = false;
        let mut sent: u32 = 0;
        let mut retries: u32 = 0;
        let mut last_transient = Transient::TimedOut;

        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return ModelEnd::GaveUp(give_up(last_transient, started, None));
            }
            let request = self
                .http
                .post(url.clone())
                .header(API_KEY_HEADER, self.inner.api_key.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
            sent += 1;
            let request_started = Instant::now();
            let exchanged = exchange(request, call.attempt_timeout.min(remaining)).await;
            let latency = request_started.elapsed();

            let mut status_code = None;
            let mut usage = None;
            let mut transient = None;
            let (result, end) = match exchanged {
                Exchange::TimedOut => {
                    transient = Some(Transient::TimedOut);
                    (AttemptResult::TimedOut, None)
                }
                Exchange::Network(detail) => {
                    transient = Some(Transient::Failed {
                        detail,
                        retry_after: None,
                    });
                    (AttemptResult::Network, None)
                }
                Exchange::Response {
                    status,
                    headers,
                    body: response,
                    truncated,
                } => {
                    status_code = Some(status);
                    if (200..300).contains(&status) {
                        let answer = if truncated {
                            Answer::Unusable(format!(
                                "response body over {MAX_RESPONSE_BYTES} bytes"
                            ))
                        } else {
                            let (answer, reported) = read_answer(&response, parse);
                            usage = reported;
                            answer
                        };
                        match answer {
                            Answer::Value(value) => (
                                AttemptResult::Answered,
                                Some(ModelEnd::Answered(Generated {
                                    value,
                                    model: model.to_owned(),
                                    usage: Usage::default(),
                                    repaired: repairing,
                                })),
                            ),
                            Answer::Blocked(reason) => (
                                AttemptResult::Blocked,
                                Some(ModelEnd::Final(GeminiError::Blocked { reason })),
                            ),
                            Answer::Unusable(detail) => (
                                AttemptResult::BadOutput,
                                Some(ModelEnd::Final(GeminiError::BadOutput { detail })),
                            ),
                            Answer::Repairable { detail, .. } if repairing => (
                                AttemptResult::BadOutput,
                                Some(ModelEnd::Final(GeminiError::BadOutput {
                                    detail: format!("after one repair attempt: {detail}"),
                                })),
                            ),
                            Answer::Repairable { text, detail } => {
                                match encode_request(call, &repair_turns(&text, &detail)) {
                                    Ok(repair_body) => {
                                        body = repair_body;
                                        repairing = true;
                                        (AttemptResult::BadOutput, None)
                                    }
                                    Err(error) => {
                                        (AttemptResult::BadOutput, Some(ModelEnd::Final(error)))
                                    }
                                }
                            }
                        }
                    } else {
                        let error = error_body(&response);
                        let message = self.error_message(&error, &response);
                        if status == 404 {
                            (AttemptResult::ModelNotFound, Some(ModelEnd::NotFound))
                        } else if is_retryable_status(status) {
                            transient = Some(Transient::Failed {
                                detail: format!("HTTP {status}: {message}"),
                                retry_after: hint(&headers, &error),
                            });
                            (AttemptResult::Retryable, None)
                        } else {
                            (
                                AttemptResult::Rejected,
                                Some(ModelEnd::Final(GeminiError::Rejected { status, message })),
                            )
                        }
                    }
                }
            };

            record(
                call.task,
                attempts,
                Attempt {
                    model: model.to_owned(),
                    http_status: status_code,
                    latency,
                    usage,
                    result,
                },
            );

            match end {
                Some(ModelEnd::Answered(mut generated)) => {
                    for reported in attempts.iter().filter_map(|a| a.usage) {
                        generated.usage += reported;
                    }
                    return ModelEnd::Answered(generated);
                }
                Some(end) => return end,
                None => {}
            }

            let Some(failure) = transient else {
                // The repair request goes out at once: nothing is overloaded.
                continue;
            };
            if sent >= policy.max_attempts {
                return ModelEnd::GaveUp(give_up(failure, started, None));
            }
            let server_hint = match &failure {
                Transient::Failed { retry_after, .. } => *retry_after,
                Transient::TimedOut => None,
            };
            let wait = backoff(&policy, retries).max(server_hint.unwrap_or_default());
            retries += 1;
            if Instant::now() + wait >= deadline {
                return ModelEnd::GaveUp(give_up(failure, started, Some(wait)));
            }
            last_transient = failure;
            tokio::time::sleep(wait).await;
        }
    }

    fn endpoint(&self, path: &str) -> Result<url::Url, GeminiError> {
        self.inner
            .settings
            .base_url
            .join(path)
            .map_err(|e| GeminiError::Config(format!("endpoint {path}: {e}")))
    }

    /// The API's own message (or the raw body), bounded, with the key scrubbed in case an
    /// upstream ever echoes request headers.
    fn error_message(&self, error: &Option<wire::ErrorBody>, raw: &[u8]) -> String {
        let message = error
            .as_ref()
            .and_then(|e| {
                let message = e.message.as_deref().filter(|m| !m.is_empty());
                match (e.status.as_deref(), message) {
                    (Some(status), Some(message)) => Some(format!("{status}: {message}")),
                    (None, Some(message)) => Some(message.to_owned()),
                    (Some(status), None) => Some(status.to_owned()),
                    (None, None) => None,
                }
            })
            .unwrap_or_else(|| String::from_utf8_lossy(raw).trim().to_owned());
        let key = self.inner.settings.api_key.expose_secret().trim();
        let message = if key.is_empty() {
            message
        } else {
            message.replace(key, "[redacted]")
        };
        truncate_chars(&message, MAX_ERROR_MESSAGE_CHARS)
    }
}

fn give_up(failure: Transient, started: Instant, deadline_wait: Option<Duration>) -> GeminiError {
    match failure {
        Transient::TimedOut => GeminiError::TimedOut {
            after: started.elapsed(),
        },
        Transient::Failed {
            detail,
            retry_after,
        } => GeminiError::Unavailable {
            detail,
            retry_after: retry_after.or(deadline_wait),
        },
    }
}

fn record(task: &'static str, attempts: &mut Vec<Attempt>, attempt: Attempt) {
    let latency_ms = u64::try_from(attempt.latency.as_millis()).unwrap_or(u64::MAX);
    let result = attempt.result.as_str();
    if attempt.result == AttemptResult::Answered {
        tracing::info!(
            task,
            model = %attempt.model,
            status = attempt.http_status,
            latency_ms,
            result,
            "gemini attempt"
        );
    } else {
        tracing::warn!(
            task,
            model = %attempt.model,
            status = attempt.http_status,
            latency_ms,
            result,
            "gemini attempt"
        );
    }
    attempts.push(attempt);
}

/// Model ids in wire form, or why the call cannot be sent.
fn validate_call(call: &Call) -> Result<Vec<String>, GeminiError> {
    if call.models.is_empty() {
        return Err(GeminiError::Config(format!(
            "task {}: empty model chain",
            call.task
        )));
    }
    if call.contents.is_empty() {
        return Err(GeminiError::Config(format!(
            "task {}: no contents",
            call.task
        )));
    }
    if call.attempt_timeout.is_zero() || call.deadline.is_zero() {
        return Err(GeminiError::Config(format!(
            "task {}: attempt_timeout and deadline must be positive",
            call.task
        )));
    }
    call.models
        .iter()
        .map(|model| {
            let id = bare_model_id(model);
            // The id becomes a URL path segment; anything else could redirect the request.
            let valid = !id.is_empty()
                && !id.starts_with('.')
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
            if valid {
                Ok(id.to_owned())
            } else {
                Err(GeminiError::Config(format!(
                    "task {}: invalid model id {model:?}",
                    call.task
                )))
            }
        })
        .collect()
}

/// The JSON body for the call's conversation followed by `extra` turns. Never carries
/// `tools`: the model must not fetch URLs or search on its own say-so.
fn encode_request(call: &Call, extra: &[Content]) -> Result<Bytes, GeminiError> {
    let request = wire::GenerateRequest {
        system_instruction: (!call.system_instruction.is_empty()).then(|| {
            wire::SystemInstruction {
                parts: [wire::WirePart::text(&call.system_instruction)],
            }
        }),
        contents: call
            .contents
            .iter()
            .chain(extra)
            .map(wire::WireContent::from_content)
            .collect(),
        generation_config: wire::GenerationConfig {
            response_mime_type: "application/json",
            response_json_schema: &call.response_schema,
            thinking_config: wire::ThinkingConfig {
                thinking_level: call.thinking_level,
            },
            max_output_tokens: call.max_output_tokens,
        },
    };
    serde_json::to_vec(&request)
        .map(Bytes::from)
        .map_err(|e| GeminiError::Config(format!("encoding request: {e}")))
}

/// The model's rejected answer and a user turn explaining what was wrong with it.
fn repair_turns(bad_output: &str, detail: &str) -> [Content; 2] {
    let echoed = truncate_bytes(bad_output, MAX_REPAIR_ECHO_BYTES);
    // An empty model turn is invalid on the wire.
    let echoed = if echoed.trim().is_empty() {
        "(empty answer)".to_owned()
    } else {
        echoed
    };
    let detail = truncate_bytes(detail, MAX_REPAIR_DETAIL_BYTES);
    [
        Content {
            role: Role::Model,
            parts: vec![Part::Text(echoed)],
        },
        Content {
            role: Role::User,
            parts: vec![Part::Text(format!(
                "Your previous answer did not match the required JSON schema: {detail}\n\
                 Reply with only the corrected JSON that satisfies the schema, \
                 with no other text and no code fences."
            ))],
        },
    ]
}

/// Sends `request` and reads at most [`MAX_RESPONSE_BYTES`] of the body, all within `timeout`.
async fn exchange(request: reqwest::RequestBuilder, timeout: Duration) -> Exchange {
    let exchanged = async {
        let mut response = request.send().await.map_err(error_chain)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if response
            .content_length()
            .is_some_and(|len| len > MAX_RESPONSE_BYTES as u64)
        {
            return Ok(Exchange::Response {
                status,
                headers,
                body: Bytes::new(),
                truncated: true,
            });
        }
        let mut body = BytesMut::new();
        let mut truncated = false;
        while let Some(chunk) = response.chunk().await.map_err(error_chain)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                let room = MAX_RESPONSE_BYTES - body.len();
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Exchange::Response {
            status,
            headers,
            body: body.freeze(),
            truncated,
        })
    };
    match tokio::time::timeout(timeout, exchanged).await {
        Err(_) => Exchange::TimedOut,
        Ok(Ok(exchange)) => exchange,
        Ok(Err(detail)) => Exchange::Network(detail),
    }
}

/// reqwest's top-level message alone ("error sending request") hides the cause.
fn error_chain(error: reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn error_body(body: &[u8]) -> Option<wire::ErrorBody> {
    serde_json::from_slice::<wire::ErrorEnvelope>(body)
        .ok()
        .and_then(|envelope| envelope.error)
}

/// The longer of `Retry-After` and `RetryInfo.retryDelay`: the server knows best how long
/// it needs.
fn hint(headers: &HeaderMap, error: &Option<wire::ErrorBody>) -> Option<Duration> {
    let header = retry_after_header(headers);
    let body = error.as_ref().and_then(wire::ErrorBody::retry_delay);
    header.max(body)
}

/// Interprets a 2xx `generateContent` body; the usage is returned whatever the verdict.
fn read_answer<T>(
    body: &[u8],
    parse: &impl Fn(&serde_json::Value) -> Result<T, String>,
) -> (Answer<T>, Option<Usage>) {
    let response: wire::GenerateResponse = match serde_json::from_slice(body) {
        Ok(response) => response,
        Err(e) => {
            return (
                Answer::Unusable(format!("response is not a generateContent body: {e}")),
                None,
            );
        }
    };
    let usage = response
        .usage_metadata
        .as_ref()
        .map(wire::UsageMetadata::to_usage);
    (interpret(response, parse), usage)
}

fn interpret<T>(
    response: wire::GenerateResponse,
    parse: &impl Fn(&serde_json::Value) -> Result<T, String>,
) -> Answer<T> {
    if let Some(reason) = response
        .prompt_feedback
        .and_then(|feedback| feedback.block_reason)
        .filter(|reason| !reason.is_empty() && reason != "BLOCK_REASON_UNSPECIFIED")
    {
        return Answer::Blocked(reason);
    }
    let Some(candidate) = response.candidates.and_then(|c| c.into_iter().next()) else {
        return Answer::Unusable("response has no candidates".into());
    };
    match candidate.finish_reason.as_deref() {
        Some(reason) if SAFETY_FINISH_REASONS.contains(&reason) => {
            return Answer::Blocked(reason.to_owned());
        }
        Some("MAX_TOKENS") => {
            return Answer::Unusable("answer cut off at the output token limit".into());
        }
        _ => {}
    }
    // Thought summaries are the model's scratchpad, not its answer.
    let text: String = candidate
        .content
        .and_then(|content| content.parts)
        .unwrap_or_default()
        .into_iter()
        .filter(|part| part.thought != Some(true))
        .filter_map(|part| part.text)
        .collect();
    let json = match serde_json::from_str::<serde_json::Value>(strip_fence(&text)) {
        Ok(json) => json,
        Err(e) => {
            let detail = if text.trim().is_empty() {
                "the answer was empty".to_owned()
            } else {
                format!("the answer is not valid JSON ({e})")
            };
            return Answer::Repairable { text, detail };
        }
    };
    match parse(&json) {
        Ok(value) => Answer::Value(value),
        Err(detail) => Answer::Repairable { text, detail },
    }
}

/// Tolerates an answer wrapped in a Markdown code fence (```json ... ```).
fn strip_fence(text: &str) -> &str {
    let trimmed = text.trim();
    let Some(rest) = trimmed.strip_prefix("```") else {
        return trimmed;
    };
    let Some(rest) = rest.strip_suffix("```") else {
        return trimmed;
    };
    // Drop the info string ("json") on the opening line.
    match rest.split_once('\n') {
        Some((_, inner)) => inner.trim(),
        None => rest.trim(),
    }
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn truncate_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn fences_are_stripped() {
        assert_eq!(strip_fence("  {\"a\":1} "), "{\"a\":1}");
        assert_eq!(strip_fence("```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(strip_fence("```\n[1]\n```\n"), "[1]");
        assert_eq!(strip_fence("```{\"a\":1}```"), "{\"a\":1}");
        assert_eq!(strip_fence("```json\n{\"a\":1}"), "```json\n{\"a\":1}");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé…");
        assert_eq!(truncate_chars("hé", 2), "hé");
        assert_eq!(truncate_bytes("hé", 2), "h");
        assert_eq!(truncate_bytes("abc", 8), "abc");
    }

    fn call(models: &[&str]) -> Call {
        Call {
            task: "test",
            models: models.iter().map(|m| m.to_string()).collect(),
            system_instruction: String::new(),
            contents: vec![Content::user_text("hi")],
            response_schema: serde_json::json!({"type": "object"}),
            thinking_level: crate::ThinkingLevel::Low,
            attempt_timeout: Duration::from_secs(1),
            deadline: Duration::from_secs(2),
            max_output_tokens: None,
        }
    }

    #[test]
    fn model_ids_must_be_plain_path_segments() {
        assert_eq!(
            validate_call(&call(&[
                "models/gemini-3-flash-preview",
                "gemini-2.5-flash"
            ]))
            .unwrap(),
            vec!["gemini-3-flash-preview", "gemini-2.5-flash"]
        );
        for bad in ["", "../admin", "a/b", "x?y", "x#y", "x:y", ".."] {
            assert!(
                matches!(validate_call(&call(&[bad])), Err(GeminiError::Config(_))),
                "{bad:?} accepted"
            );
        }
        assert!(matches!(
            validate_call(&call(&[])),
            Err(GeminiError::Config(_))
        ));
    }

    #[test]
    fn empty_system_instruction_is_omitted_and_tools_never_sent() {
        let body = encode_request(&call(&["m"]), &[]).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(json.get("systemInstruction").is_none());
        assert!(json.get("tools").is_none());
        assert!(json["generationConfig"].get("maxOutputTokens").is_none());
    }

    #[test]
    fn repair_turn_echoes_a_bounded_answer() {
        let long = "x".repeat(20_000);
        let [model_turn, user_turn] = repair_turns(&long, "missing field `rooms`");
        assert_eq!(model_turn.role, Role::Model);
        assert_eq!(
            model_turn.parts,
            vec![Part::Text("x".repeat(MAX_REPAIR_ECHO_BYTES))]
        );
        assert_eq!(user_turn.role, Role::User);
        let Part::Text(text) = &user_turn.parts[0] else {
            panic!("text part expected");
        };
        assert!(text.contains("missing field `rooms`"));
        let [empty_turn, _] = repair_turns("  ", "the answer was empty");
        assert_eq!(empty_turn.parts, vec![Part::Text("(empty answer)".into())]);
    }
}
