//! The advisory face-match audit (spec 2.3): after a submission, a durable consumer of our
//! own `submitted` event asks the AI orchestrator whether the face scan matches the ID
//! image, and records the answer in `kyc.face_match_audits`, one row per request.
//!
//! When the orchestrator cannot be reached the event is redelivered with a doubling,
//! jittered, capped delay; once `max_attempts` deliveries have failed the verdict is
//! recorded as `UNAVAILABLE` with the reason, and the request waits for a human like any
//! other. With no orchestrator configured the verdict is `UNAVAILABLE` at once. Nothing
//! here blocks a decision: staff may approve or reject whatever the audit says.

mod db;
mod job;
mod retry;

use std::time::Duration;

use rentory_proto::ai::v1 as ai;
use rentory_proto::kyc::v1 as pb;
use time::OffsetDateTime;

pub use job::{Effect, FaceMatchJob, client};
pub use retry::RetryPolicy;

/// Durable consumer name; also its `processed_events.consumer`. Never rename it.
pub const CONSUMER: &str = "kyc-face-match";
/// How long one FaceMatch call may take: longer than the orchestrator's own deadline for
/// the task (60 s, retries and model fallbacks included), so its answer is not thrown away.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(75);
/// The longest pause between attempts, however many there are.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);
/// Cap on what an orchestrator answer may put in our table.
const MAX_REASONS: usize = 20;
const MAX_TEXT_CHARS: usize = 500;

/// What the audit concluded. `PENDING` is not stored: it is the absence of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Match,
    NoMatch,
    /// The model could not decide: a reviewer should look closely.
    Review,
    Unavailable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Match => "MATCH",
            Self::NoMatch => "NO_MATCH",
            Self::Review => "REVIEW",
            Self::Unavailable => "UNAVAILABLE",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "MATCH" => Some(Self::Match),
            "NO_MATCH" => Some(Self::NoMatch),
            "REVIEW" => Some(Self::Review),
            "UNAVAILABLE" => Some(Self::Unavailable),
            _ => None,
        }
    }
}

/// A recorded face match, as reviewers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceMatchResult {
    pub verdict: Verdict,
    /// 0 - 100.
    pub score: Option<u32>,
    pub model: String,
    pub reasons: Vec<String>,
    pub checked_at: OffsetDateTime,
}

impl FaceMatchResult {
    /// `None` (no row yet) is verdict `PENDING`.
    pub fn to_proto(result: Option<&Self>) -> pb::FaceMatch {
        match result {
            None => pb::FaceMatch {
                verdict: "PENDING".into(),
                ..Default::default()
            },
            Some(r) => pb::FaceMatch {
                score: r.score,
                verdict: r.verdict.as_str().into(),
                model: r.model.clone(),
                reasons: r.reasons.clone(),
                checked_at: Some(rentory_proto::timestamp(r.checked_at)),
            },
        }
    }
}

/// What to write for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub verdict: Verdict,
    /// 0 - 100.
    pub score: Option<u32>,
    pub model: String,
    pub reasons: Vec<String>,
    pub attempts: i32,
}

impl Outcome {
    pub(crate) fn unavailable(attempt: u64, reason: impl Into<String>) -> Self {
        Self {
            verdict: Verdict::Unavailable,
            score: None,
            model: String::new(),
            reasons: vec![reason.into()],
            attempts: attempts(attempt),
        }
    }

    /// Checks an orchestrator answer; one we cannot trust is recorded as UNAVAILABLE.
    pub fn from_response(response: ai::FaceMatchResponse, attempt: u64) -> Self {
        let Some(verdict) = Verdict::parse(response.verdict.trim()) else {
            return Self::unavailable(
                attempt,
                "the AI orchestrator answered with an unknown verdict",
            );
        };
        if response.score.is_some_and(|s| s > 100) {
            return Self::unavailable(
                attempt,
                "the AI orchestrator answered with a score outside 0-100",
            );
        }
        Self {
            verdict,
            score: response.score,
            model: truncate(&response.model),
            reasons: response
                .reasons
                .iter()
                .take(MAX_REASONS)
                .map(|r| truncate(r))
                .collect(),
            attempts: attempts(attempt),
        }
    }
}

fn attempts(delivery: u64) -> i32 {
    i32::try_from(delivery.max(1)).unwrap_or(i32::MAX)
}

fn truncate(text: &str) -> String {
    text.chars().take(MAX_TEXT_CHARS).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn orchestrator_answers_are_checked() {
        let ok = Outcome::from_response(
            ai::FaceMatchResponse {
                score: Some(93),
                verdict: "MATCH".into(),
                reasons: vec!["same person".into()],
                model: "gemini-3-flash-preview".into(),
            },
            1,
        );
        assert_eq!(ok.verdict, Verdict::Match);
        assert_eq!(ok.score, Some(93));
        assert_eq!(ok.attempts, 1);

        for (verdict, score) in [
            ("MAYBE", Some(50)),
            ("MATCH", Some(101)),
            ("INCONCLUSIVE", None),
        ] {
            let out = Outcome::from_response(
                ai::FaceMatchResponse {
                    score,
                    verdict: verdict.into(),
                    ..Default::default()
                },
                2,
            );
            assert_eq!(out.verdict, Verdict::Unavailable, "{verdict} {score:?}");
            assert_eq!(out.score, None);
            assert_eq!(out.reasons.len(), 1);
        }

        let long = Outcome::from_response(
            ai::FaceMatchResponse {
                score: None,
                verdict: "REVIEW".into(),
                reasons: vec!["x".repeat(10_000); 100],
                model: "m".repeat(10_000),
            },
            1,
        );
        assert_eq!(long.reasons.len(), MAX_REASONS);
        assert!(
            long.reasons
                .iter()
                .all(|r| r.chars().count() == MAX_TEXT_CHARS)
        );
        assert_eq!(long.model.chars().count(), MAX_TEXT_CHARS);
    }

    #[test]
    fn no_row_reads_as_pending() {
        assert_eq!(FaceMatchResult::to_proto(None).verdict, "PENDING");
        for verdict in [
            Verdict::Match,
            Verdict::NoMatch,
            Verdict::Review,
            Verdict::Unavailable,
        ] {
            assert_eq!(Verdict::parse(verdict.as_str()), Some(verdict));
        }
    }
}
