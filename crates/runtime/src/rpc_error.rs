//! How a service tells its caller what went wrong, so the gateway can answer with a stable
//! problem+json `type` without parsing messages: a gRPC code, a machine-readable
//! `ErrorInfo.reason` from [`Reason`], field violations for bad input, and `RetryInfo` where
//! waiting helps. Messages are for people and never carry internals.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub const DOMAIN: &str = "rentory";

/// The closed list of reasons services send; the gateway keeps one table from these to HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    ValidationFailed,
    Unauthenticated,
    InvalidCredentials,
    AccountLocked,
    RateLimited,
    Forbidden,
    AccountNotActive,
    NotFound,
    AlreadyExists,
    InvalidState,
    UnsupportedMediaType,
    PayloadTooLarge,
    ImageTooLarge,
    /// The caller's daily AI allowance is spent (RetryInfo says until when).
    AiBudgetExhausted,
    /// The AI model's safety filters refused the input.
    ContentBlocked,
    /// The caller set a field only the platform (or a higher role) may set.
    ReadOnlyField,
    /// The thing asked for is sold: pay first (the landlord contact unlock).
    PaymentRequired,
    /// The object fails rules it must meet first (a lease's blocking compliance findings);
    /// each failed rule travels as a PreconditionFailure violation.
    NotCompliant,
    /// The caller acted on content that has changed since they read it (a stale hash).
    StaleContent,
    Unavailable,
    Internal,
}

impl Reason {
    pub const ALL: &'static [Reason] = &[
        Reason::ValidationFailed,
        Reason::Unauthenticated,
        Reason::InvalidCredentials,
        Reason::AccountLocked,
        Reason::RateLimited,
        Reason::Forbidden,
        Reason::AccountNotActive,
        Reason::NotFound,
        Reason::AlreadyExists,
        Reason::InvalidState,
        Reason::UnsupportedMediaType,
        Reason::PayloadTooLarge,
        Reason::ImageTooLarge,
        Reason::AiBudgetExhausted,
        Reason::ContentBlocked,
        Reason::ReadOnlyField,
        Reason::PaymentRequired,
        Reason::NotCompliant,
        Reason::StaleContent,
        Reason::Unavailable,
        Reason::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ValidationFailed => "VALIDATION_FAILED",
            Reason::Unauthenticated => "UNAUTHENTICATED",
            Reason::InvalidCredentials => "INVALID_CREDENTIALS",
            Reason::AccountLocked => "ACCOUNT_LOCKED",
            Reason::RateLimited => "RATE_LIMITED",
            Reason::Forbidden => "FORBIDDEN",
            Reason::AccountNotActive => "ACCOUNT_NOT_ACTIVE",
            Reason::NotFound => "NOT_FOUND",
            Reason::AlreadyExists => "ALREADY_EXISTS",
            Reason::InvalidState => "INVALID_STATE",
            Reason::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Reason::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Reason::ImageTooLarge => "IMAGE_TOO_LARGE",
            Reason::AiBudgetExhausted => "AI_BUDGET_EXHAUSTED",
            Reason::ContentBlocked => "CONTENT_BLOCKED",
            Reason::ReadOnlyField => "READ_ONLY_FIELD",
            Reason::PaymentRequired => "PAYMENT_REQUIRED",
            Reason::NotCompliant => "NOT_COMPLIANT",
            Reason::StaleContent => "STALE_CONTENT",
            Reason::Unavailable => "UNAVAILABLE",
            Reason::Internal => "INTERNAL",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.iter().copied().find(|r| r.as_str() == s)
    }

    /// The gRPC code that goes with the reason.
    pub fn code(self) -> Code {
        match self {
            Reason::ValidationFailed | Reason::ImageTooLarge => Code::InvalidArgument,
            Reason::UnsupportedMediaType | Reason::PayloadTooLarge => Code::InvalidArgument,
            Reason::Unauthenticated | Reason::InvalidCredentials => Code::Unauthenticated,
            Reason::AccountLocked | Reason::RateLimited | Reason::AiBudgetExhausted => {
                Code::ResourceExhausted
            }
            Reason::ContentBlocked | Reason::ReadOnlyField => Code::InvalidArgument,
            Reason::PaymentRequired | Reason::NotCompliant => Code::FailedPrecondition,
            Reason::StaleContent => Code::Aborted,
            Reason::Forbidden | Reason::AccountNotActive => Code::PermissionDenied,
            Reason::NotFound => Code::NotFound,
            Reason::AlreadyExists => Code::AlreadyExists,
            Reason::InvalidState => Code::FailedPrecondition,
            Reason::Unavailable => Code::Unavailable,
            Reason::Internal => Code::Internal,
        }
    }
}

/// A status with `reason` and a human message.
pub fn status(reason: Reason, message: impl Into<String>) -> Status {
    build(reason, message.into(), ErrorDetails::new())
}

/// A status whose ErrorInfo also carries facts the caller can use (AIP-193 metadata), e.g.
/// the `reference` of the transaction that already exists. The gateway adds each entry to
/// the problem document as an extension member.
pub fn status_with_info<'a>(
    reason: Reason,
    message: impl Into<String>,
    info: impl IntoIterator<Item = (&'a str, String)>,
) -> Status {
    let metadata = info
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
    build_with(reason, message.into(), ErrorDetails::new(), metadata)
}

/// A validation failure listing each bad field and why.
pub fn invalid_fields<'a>(
    message: impl Into<String>,
    violations: impl IntoIterator<Item = (&'a str, String)>,
) -> Status {
    refused_fields(Reason::ValidationFailed, message, violations)
}

/// Like [`invalid_fields`], with another reason (e.g. `ReadOnlyField`).
pub fn refused_fields<'a>(
    reason: Reason,
    message: impl Into<String>,
    violations: impl IntoIterator<Item = (&'a str, String)>,
) -> Status {
    let mut details = ErrorDetails::new();
    for (field, why) in violations {
        details.add_bad_request_violation(field, why);
    }
    build(reason, message.into(), details)
}

/// One rule the request's object fails (google.rpc.PreconditionFailure.Violation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreconditionViolation {
    /// A stable code, e.g. `ADVANCE_RENT_OVER_LIMIT`.
    pub kind: String,
    /// What the rule is about or comes from, e.g. `Lagos State Tenancy Law 2011, s.4`.
    pub subject: String,
    pub description: String,
}

/// A refusal listing each rule the object fails (e.g. [`Reason::NotCompliant`]).
pub fn precondition_failures(
    reason: Reason,
    message: impl Into<String>,
    violations: impl IntoIterator<Item = PreconditionViolation>,
) -> Status {
    let mut details = ErrorDetails::new();
    for v in violations {
        details.add_precondition_failure_violation(v.kind, v.subject, v.description);
    }
    build(reason, message.into(), details)
}

/// A status telling the caller when trying again can succeed (lockouts, rate limits).
pub fn retry_after(reason: Reason, message: impl Into<String>, after: Duration) -> Status {
    let mut details = ErrorDetails::new();
    details.set_retry_info(Some(after));
    build(reason, message.into(), details)
}

/// The catch-all for failures the caller cannot fix. Log the cause before calling this;
/// the message sent is deliberately generic.
pub fn internal() -> Status {
    status(Reason::Internal, "an internal error occurred")
}

fn build(reason: Reason, message: String, details: ErrorDetails) -> Status {
    build_with(reason, message, details, std::collections::HashMap::new())
}

fn build_with(
    reason: Reason,
    message: String,
    mut details: ErrorDetails,
    metadata: std::collections::HashMap<String, String>,
) -> Status {
    details.set_error_info(reason.as_str(), DOMAIN, metadata);
    Status::with_error_details(reason.code(), message, details)
}

/// What the gateway reads back from a status.
pub struct Decoded {
    pub reason: Option<Reason>,
    pub field_violations: Vec<(String, String)>,
    pub retry_after: Option<Duration>,
    pub precondition_violations: Vec<PreconditionViolation>,
    /// ErrorInfo metadata of a Rentory status (see [`status_with_info`]), sorted by key.
    pub info: Vec<(String, String)>,
}

pub fn decode(status: &Status) -> Decoded {
    let details = status.get_error_details();
    let mut info: Vec<(String, String)> = details
        .error_info()
        .filter(|info| info.domain == DOMAIN)
        .map(|info| {
            info.metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    info.sort();
    Decoded {
        info,
        reason: details
            .error_info()
            .filter(|info| info.domain == DOMAIN)
            .and_then(|info| Reason::parse(&info.reason)),
        field_violations: details
            .bad_request()
            .map(|br| {
                br.field_violations
                    .iter()
                    .map(|v| (v.field.clone(), v.description.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        retry_after: details.retry_info().and_then(|r| r.retry_delay),
        precondition_violations: details
            .precondition_failure()
            .map(|pf| {
                pf.violations
                    .iter()
                    .map(|v| PreconditionViolation {
                        kind: v.r#type.clone(),
                        subject: v.subject.clone(),
                        description: v.description.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_survive_the_wire_format() {
        for reason in Reason::ALL {
            let decoded = decode(&status(*reason, "x"));
            assert_eq!(decoded.reason, Some(*reason));
        }
    }

    #[test]
    fn field_violations_and_retry_info_round_trip() {
        let s = invalid_fields("bad input", [("pin", "too common".to_owned())]);
        assert_eq!(s.code(), Code::InvalidArgument);
        let decoded = decode(&s);
        assert_eq!(
            decoded.field_violations,
            [("pin".to_owned(), "too common".to_owned())]
        );

        let locked = retry_after(Reason::AccountLocked, "locked", Duration::from_secs(90));
        assert_eq!(decode(&locked).retry_after, Some(Duration::from_secs(90)));
    }

    #[test]
    fn precondition_violations_round_trip() {
        let rule = PreconditionViolation {
            kind: "ADVANCE_RENT_OVER_LIMIT".into(),
            subject: "Lagos State Tenancy Law 2011, s.4".into(),
            description: "18 months in advance is more than 12".into(),
        };
        let s = precondition_failures(Reason::NotCompliant, "not compliant", [rule.clone()]);
        assert_eq!(s.code(), Code::FailedPrecondition);
        let decoded = decode(&s);
        assert_eq!(decoded.reason, Some(Reason::NotCompliant));
        assert_eq!(decoded.precondition_violations, [rule]);
        assert_eq!(status(Reason::StaleContent, "stale").code(), Code::Aborted);
    }

    #[test]
    fn error_info_metadata_round_trips() {
        let s = status_with_info(
            Reason::AlreadyExists,
            "already unlocked",
            [
                ("reference", "ul_1".to_owned()),
                ("amount_kobo", "500000".to_owned()),
            ],
        );
        let decoded = decode(&s);
        assert_eq!(decoded.reason, Some(Reason::AlreadyExists));
        assert_eq!(
            decoded.info,
            [
                ("amount_kobo".to_owned(), "500000".to_owned()),
                ("reference".to_owned(), "ul_1".to_owned())
            ]
        );
        assert!(decode(&status(Reason::NotFound, "x")).info.is_empty());
    }

    #[test]
    fn statuses_without_details_decode_to_nothing() {
        let decoded = decode(&Status::not_found("plain"));
        assert_eq!(decoded.reason, None);
        assert!(decoded.field_violations.is_empty());
    }
}
