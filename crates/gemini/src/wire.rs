//! The REST shapes of `generateContent` and `models.list` (camelCase JSON).

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::types::{Content, Part, ThinkingLevel, Usage};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerateRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<SystemInstruction<'a>>,
    pub contents: Vec<WireContent<'a>>,
    pub generation_config: GenerationConfig<'a>,
}

#[derive(Serialize)]
pub(crate) struct SystemInstruction<'a> {
    pub parts: [WirePart<'a>; 1],
}

#[derive(Serialize)]
pub(crate) struct WireContent<'a> {
    pub role: &'static str,
    pub parts: Vec<WirePart<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WirePart<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline_data: Option<Blob<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Blob<'a> {
    pub mime_type: &'a str,
    pub data: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerationConfig<'a> {
    pub response_mime_type: &'static str,
    pub response_json_schema: &'a serde_json::Value,
    pub thinking_config: ThinkingConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ThinkingConfig {
    pub thinking_level: ThinkingLevel,
}

impl<'a> WirePart<'a> {
    pub fn text(text: &'a str) -> Self {
        Self {
            text: Some(text),
            inline_data: None,
        }
    }

    pub fn from_part(part: &'a Part) -> Self {
        match part {
            Part::Text(text) => Self::text(text),
            Part::InlineData { mime_type, data } => Self {
                text: None,
                inline_data: Some(Blob {
                    mime_type,
                    data: base64::engine::general_purpose::STANDARD.encode(data),
                }),
            },
        }
    }
}

impl<'a> WireContent<'a> {
    pub fn from_content(content: &'a Content) -> Self {
        Self {
            role: content.role.as_str(),
            parts: content.parts.iter().map(WirePart::from_part).collect(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct GenerateResponse {
    pub candidates: Option<Vec<Candidate>>,
    pub prompt_feedback: Option<PromptFeedback>,
    pub usage_metadata: Option<UsageMetadata>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Candidate {
    pub content: Option<CandidateContent>,
    pub finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct CandidateContent {
    pub parts: Option<Vec<ResponsePart>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ResponsePart {
    pub text: Option<String>,
    pub thought: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PromptFeedback {
    pub block_reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct UsageMetadata {
    pub prompt_token_count: Option<u64>,
    pub candidates_token_count: Option<u64>,
    pub thoughts_token_count: Option<u64>,
}

impl UsageMetadata {
    pub fn to_usage(&self) -> Usage {
        let candidates = self.candidates_token_count.unwrap_or(0);
        let thoughts = self.thoughts_token_count.unwrap_or(0);
        Usage {
            prompt_tokens: self.prompt_token_count.unwrap_or(0),
            output_tokens: candidates.saturating_add(thoughts),
            thoughts_tokens: thoughts,
        }
    }
}

/// `{"error": {"code", "message", "status", "details": [...]}}`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ErrorEnvelope {
    pub error: Option<ErrorBody>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ErrorBody {
    pub message: Option<String>,
    pub status: Option<String>,
    pub details: Option<Vec<serde_json::Value>>,
}

impl ErrorBody {
    /// `google.rpc.RetryInfo.retryDelay`, a protobuf Duration in JSON form ("13s", "0.2s").
    pub fn retry_delay(&self) -> Option<std::time::Duration> {
        self.details.as_deref()?.iter().find_map(|detail| {
            let kind = detail.get("@type")?.as_str()?;
            if !kind.ends_with("google.rpc.RetryInfo") {
                return None;
            }
            parse_proto_duration(detail.get("retryDelay")?.as_str()?)
        })
    }
}

pub(crate) fn parse_proto_duration(text: &str) -> Option<std::time::Duration> {
    let seconds: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    std::time::Duration::try_from_secs_f64(seconds).ok()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ListModelsResponse {
    pub models: Option<Vec<ModelEntry>>,
    pub next_page_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ModelEntry {
    pub name: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use super::*;

    #[test]
    fn proto_durations_parse() {
        assert_eq!(parse_proto_duration("13s"), Some(Duration::from_secs(13)));
        assert_eq!(
            parse_proto_duration("0.200s"),
            Some(Duration::from_millis(200))
        );
        assert_eq!(parse_proto_duration("13"), None);
        assert_eq!(parse_proto_duration("-1s"), None);
        assert_eq!(parse_proto_duration("soon"), None);
    }

    #[test]
    fn retry_info_is_found_among_details() {
        let body: ErrorEnvelope = serde_json::from_value(serde_json::json!({
            "error": {
                "code": 429,
                "message": "quota",
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}
                ]
            }
        }))
        .unwrap();
        assert_eq!(
            body.error.unwrap().retry_delay(),
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn usage_counts_thoughts_as_output() {
        let meta = UsageMetadata {
            prompt_token_count: Some(10),
            candidates_token_count: Some(5),
            thoughts_token_count: Some(7),
        };
        assert_eq!(
            meta.to_usage(),
            Usage {
                prompt_tokens: 10,
                output_tokens: 12,
                thoughts_tokens: 7
            }
        );
    }
}
