/// Why a Paystack call produced no usable answer.
///
/// Only [`PaystackError::Timeout`] and [`PaystackError::Unavailable`] are worth trying
/// again later ([`PaystackError::is_retryable`]); the client has already retried them
/// `max_attempts` times.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaystackError {
    /// Every attempt timed out: Paystack may or may not have acted on the request.
    #[error("Paystack did not answer in time")]
    Timeout,
    /// 5xx answers or connection failures until the attempts ran out.
    #[error("Paystack unavailable: {0}")]
    Unavailable(String),
    /// A 4xx answer, with Paystack's own `message` (e.g. "Duplicate Transaction
    /// Reference"). Also a request the client refused to send because Paystack would
    /// refuse it (status 400, the message says "not sent").
    #[error("Paystack rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// `verify` of a reference Paystack does not know.
    #[error("Paystack does not know transaction {0}")]
    NotFound(String),
    /// The answer failed validation; nothing in it may be used.
    #[error("Paystack answer unusable: {0}")]
    Invalid(String),
    /// The client's settings are unusable (empty key, base URL not http(s)...).
    #[error("Paystack client configuration: {0}")]
    Config(String),
}

impl PaystackError {
    /// Transient: the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Timeout | Self::Unavailable(_))
    }

    /// Stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Unavailable(_) => "unavailable",
            Self::Rejected { .. } => "rejected",
            Self::NotFound(_) => "not_found",
            Self::Invalid(_) => "invalid",
            Self::Config(_) => "config",
        }
    }

    /// Paystack refused an `initialize` because the reference was already used: the
    /// transaction exists (perhaps from an earlier attempt of ours), so verify it.
    pub fn is_duplicate_reference(&self) -> bool {
        matches!(self, Self::Rejected { message, .. }
            if message.to_ascii_lowercase().contains("duplicate transaction reference"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_timeouts_and_unavailability_are_retryable() {
        assert!(PaystackError::Timeout.is_retryable());
        assert!(PaystackError::Unavailable("HTTP 502".into()).is_retryable());
        for error in [
            PaystackError::Rejected {
                status: 400,
                message: "Invalid amount".into(),
            },
            PaystackError::NotFound("ref".into()),
            PaystackError::Invalid("no data".into()),
            PaystackError::Config("empty key".into()),
        ] {
            assert!(!error.is_retryable(), "{error}");
        }
    }

    #[test]
    fn duplicate_reference_is_recognised_from_pay_stacks_message() {
        let duplicate = PaystackError::Rejected {
            status: 400,
            message: "Duplicate Transaction Reference".into(),
        };
        assert!(duplicate.is_duplicate_reference());
        let other = PaystackError::Rejected {
            status: 400,
            message: "Invalid Email Address Passed".into(),
        };
        assert!(!other.is_duplicate_reference());
        assert!(!PaystackError::Timeout.is_duplicate_reference());
    }
}
