use std::time::Duration;

/// Why a Gemini call produced no usable value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeminiError {
    /// `promptFeedback.blockReason`, or a safety-type `finishReason` on the candidate.
    #[error("blocked by Gemini safety filters: {reason}")]
    Blocked { reason: String },
    /// The answer was not JSON, `parse` refused it (also after the repair attempt), it was
    /// cut off at `MAX_TOKENS`, had no candidates, or the response body was too large.
    #[error("Gemini output unusable: {detail}")]
    BadOutput { detail: String },
    /// A non-retryable HTTP status (400, 401, 403, other 4xx, unexpected statuses).
    #[error("Gemini rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// Every model in the chain answered 404.
    #[error("no model in the chain is available: {}", tried.join(", "))]
    NoModel { tried: Vec<String> },
    /// Retries exhausted on 429/5xx/network errors, or the deadline left no room to wait.
    #[error("Gemini unavailable: {detail}")]
    Unavailable {
        detail: String,
        retry_after: Option<Duration>,
    },
    /// Attempts kept timing out until the retries or the call's deadline ran out.
    #[error("Gemini timed out after {after:?}")]
    TimedOut { after: Duration },
    /// The settings or the call are unusable (empty chain, bad model id, bad base URL...).
    #[error("Gemini client configuration: {0}")]
    Config(String),
}

impl GeminiError {
    /// Stable label for logs, metrics and stored records.
    pub fn kind(&self) -> &'static str {
        match self {
            GeminiError::Blocked { .. } => "blocked",
            GeminiError::BadOutput { .. } => "bad_output",
            GeminiError::Rejected { .. } => "rejected",
            GeminiError::NoModel { .. } => "no_model",
            GeminiError::Unavailable { .. } => "unavailable",
            GeminiError::TimedOut { .. } => "timed_out",
            GeminiError::Config(_) => "config",
        }
    }
}
