use std::fmt;
use std::ops::AddAssign;
use std::time::Duration;

use secrecy::SecretString;

use crate::error::GeminiError;

/// The public Gemini API root; model paths are joined onto it.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta/";

/// How to reach Gemini.
#[derive(Clone)]
pub struct Settings {
    pub api_key: SecretString,
    /// Default [`DEFAULT_BASE_URL`] (tests point it at a mock server).
    pub base_url: url::Url,
    pub retry: RetryPolicy,
}

impl Settings {
    /// Settings with the public endpoint and the default retry policy.
    pub fn new(api_key: SecretString) -> Result<Self, GeminiError> {
        let base_url = url::Url::parse(DEFAULT_BASE_URL)
            .map_err(|e| GeminiError::Config(format!("default base URL: {e}")))?;
        Ok(Self {
            api_key,
            base_url,
            retry: RetryPolicy::default(),
        })
    }
}

// Hand-written so the key can never reach a log line through `{:?}`.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("api_key", &"[redacted]")
            .field("base_url", &self.base_url.as_str())
            .field("retry", &self.retry)
            .finish()
    }
}

/// Retry budget for transient failures, applied per model of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// HTTP requests per model before giving up on it (the one repair request aside).
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

/// How much the model may think before answering (Gemini 3 `thinkingLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThinkingLevel {
    Minimal,
    Low,
    Medium,
    High,
}

impl ThinkingLevel {
    pub fn as_str(&self) -> &'static str {
        match self {
            ThinkingLevel::Minimal => "minimal",
            ThinkingLevel::Low => "low",
            ThinkingLevel::Medium => "medium",
            ThinkingLevel::High => "high",
        }
    }
}

/// Who said a turn of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    User,
    Model,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Model => "model",
        }
    }
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub role: Role,
    pub parts: Vec<Part>,
}

impl Content {
    /// A user turn holding a single text part.
    pub fn user_text(text: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            parts: vec![Part::Text(text.into())],
        }
    }
}

/// A piece of a turn: text, or inline bytes (base64-encoded on the wire).
#[derive(Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    InlineData {
        mime_type: String,
        data: bytes::Bytes,
    },
}

// Image bytes would flood logs; their size is what a reader needs.
impl fmt::Debug for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Text(text) => f.debug_tuple("Text").field(text).finish(),
            Part::InlineData { mime_type, data } => f
                .debug_struct("InlineData")
                .field("mime_type", mime_type)
                .field("bytes", &data.len())
                .finish(),
        }
    }
}

/// One structured-output task.
#[derive(Debug, Clone)]
pub struct Call {
    /// "concierge", "analyze_photos", ... for logs and records.
    pub task: &'static str,
    /// The fallback chain, first preferred; must not be empty.
    pub models: Vec<String>,
    pub system_instruction: String,
    /// The conversation; the last turn is the user's.
    pub contents: Vec<Content>,
    /// Sent as `generationConfig.responseJsonSchema`.
    pub response_schema: serde_json::Value,
    pub thinking_level: ThinkingLevel,
    /// Limit for one HTTP request.
    pub attempt_timeout: Duration,
    /// Limit for the whole call, retries, repair and fallbacks included.
    pub deadline: Duration,
    pub max_output_tokens: Option<u32>,
}

/// Token counts as Gemini reports them in `usageMetadata`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    /// Candidates plus thoughts: both are billed as output.
    pub output_tokens: u64,
    pub thoughts_tokens: u64,
}

impl AddAssign for Usage {
    fn add_assign(&mut self, rhs: Self) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(rhs.prompt_tokens);
        self.output_tokens = self.output_tokens.saturating_add(rhs.output_tokens);
        self.thoughts_tokens = self.thoughts_tokens.saturating_add(rhs.thoughts_tokens);
    }
}

/// What one HTTP request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptResult {
    /// Output that `parse` accepted.
    Answered,
    /// 429 or a retryable 5xx.
    Retryable,
    /// 404: the model does not exist for this key.
    ModelNotFound,
    Blocked,
    /// 2xx, but the output was unusable (not JSON, refused by `parse`, truncated...).
    BadOutput,
    /// A non-retryable status.
    Rejected,
    TimedOut,
    /// The request did not complete at the transport level.
    Network,
}

impl AttemptResult {
    pub fn as_str(&self) -> &'static str {
        match self {
            AttemptResult::Answered => "answered",
            AttemptResult::Retryable => "retryable",
            AttemptResult::ModelNotFound => "model_not_found",
            AttemptResult::Blocked => "blocked",
            AttemptResult::BadOutput => "bad_output",
            AttemptResult::Rejected => "rejected",
            AttemptResult::TimedOut => "timed_out",
            AttemptResult::Network => "network",
        }
    }
}

/// The record of one HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub model: String,
    pub http_status: Option<u16>,
    pub latency: Duration,
    pub usage: Option<Usage>,
    pub result: AttemptResult,
}

/// A successful call.
#[derive(Debug, Clone)]
pub struct Generated<T> {
    pub value: T,
    /// The model that produced `value`.
    pub model: String,
    /// Summed over every attempt of the call that reported usage.
    pub usage: Usage,
    /// The value came from the repair request.
    pub repaired: bool,
}

/// The result of a call together with every attempt it took, failed or not.
#[derive(Debug)]
pub struct Outcome<T> {
    pub result: Result<Generated<T>, GeminiError>,
    pub attempts: Vec<Attempt>,
}

/// Configured models split by whether the key can use them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainPlan {
    /// In configured order, without duplicates.
    pub usable: Vec<String>,
    pub missing: Vec<String>,
}

/// Which configured models the key can use, in chain order, and which it cannot.
/// Ids are compared without a leading `models/`.
pub fn plan_chain(configured: &[String], available: &[String]) -> ChainPlan {
    let available: std::collections::HashSet<&str> =
        available.iter().map(|m| bare_model_id(m)).collect();
    let mut plan = ChainPlan::default();
    for model in configured {
        let id = bare_model_id(model);
        let bucket = if available.contains(id) {
            &mut plan.usable
        } else {
            &mut plan.missing
        };
        if !bucket.iter().any(|m| m == id) {
            bucket.push(id.to_owned());
        }
    }
    plan
}

/// The id without the `models/` resource prefix the API uses in names.
pub(crate) fn bare_model_id(model: &str) -> &str {
    let model = model.trim();
    model.strip_prefix("models/").unwrap_or(model)
}
