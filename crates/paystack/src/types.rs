use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

/// Where Paystack is and how patiently to talk to it.
///
/// Debug shows no secret (`SecretString` prints as redacted).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://api.paystack.co`, or the local checkout simulator.
    pub base_url: Url,
    /// `sk_live_...` / `sk_test_...`; sent as `Authorization: Bearer <key>`.
    pub secret_key: SecretString,
    /// Per attempt: connecting, sending and reading the whole answer.
    pub timeout: Duration,
    /// Attempts per call, the first included (at least 1).
    pub max_attempts: u32,
    /// Pause before the second attempt; doubled before each later one.
    pub retry_backoff: Duration,
}

impl ClientConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
    pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(200);

    /// Defaults: 10 s per attempt, 3 attempts, 200 ms then 400 ms between them.
    pub fn new(base_url: Url, secret_key: SecretString) -> Self {
        Self {
            base_url,
            secret_key,
            timeout: Self::DEFAULT_TIMEOUT,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            retry_backoff: Self::DEFAULT_RETRY_BACKOFF,
        }
    }
}

/// `POST /transaction/initialize`. The currency is always NGN.
#[derive(Debug, Clone, PartialEq)]
pub struct InitializeRequest {
    pub email: String,
    /// Positive, in kobo (NGN 5,000.00 is 500000).
    pub amount_kobo: i64,
    /// Ours, unique per payment: it makes a retried initialize safe (Paystack answers
    /// "Duplicate Transaction Reference" to the second one). Letters, digits, `-`, `.`, `=`.
    pub reference: String,
    /// Where Paystack sends the payer after the checkout (`?trxref=&reference=` appended).
    pub callback_url: Option<String>,
    /// A JSON object (or null) echoed back in verify and in webhooks.
    pub metadata: serde_json::Value,
    /// `ACCT_...`: split the payment with this subaccount (a landlord).
    pub subaccount: Option<String>,
    /// Who pays Paystack's fee on a split: "account" or "subaccount".
    pub bearer: Option<String>,
}

/// Where to send the payer, from `initialize`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Initialized {
    /// An http(s) URL of Paystack's checkout (checked).
    pub authorization_url: Url,
    pub access_code: String,
    /// Equal to the reference asked for (checked).
    pub reference: String,
}

/// A transaction's `status` as Paystack words it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransactionStatus {
    Success,
    Failed,
    Abandoned,
    Ongoing,
    Pending,
    Processing,
    Queued,
    Reversed,
    /// A status this client does not know; never treat it as paid.
    Other(String),
}

impl TransactionStatus {
    /// Paystack's word, case-insensitively; unknown words become `Other`.
    pub fn parse(status: &str) -> Self {
        match status.trim().to_ascii_lowercase().as_str() {
            "success" => Self::Success,
            "failed" => Self::Failed,
            "abandoned" => Self::Abandoned,
            "ongoing" => Self::Ongoing,
            "pending" => Self::Pending,
            "processing" => Self::Processing,
            "queued" => Self::Queued,
            "reversed" => Self::Reversed,
            _ => Self::Other(status.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Abandoned => "abandoned",
            Self::Ongoing => "ongoing",
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Queued => "queued",
            Self::Reversed => "reversed",
            Self::Other(status) => status,
        }
    }

    /// The payment went through (and has not been reversed).
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success)
    }
}

impl fmt::Display for TransactionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `GET /transaction/verify/:reference`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedTransaction {
    /// Paystack's transaction id.
    pub id: i64,
    pub status: TransactionStatus,
    /// Equal to the reference asked for (checked).
    pub reference: String,
    /// What was charged, in the currency's minor unit (kobo for NGN); >= 0 (checked).
    pub amount_kobo: i64,
    /// "NGN" for our payments; compare it before granting anything.
    pub currency: String,
    pub paid_at: Option<time::OffsetDateTime>,
    pub gateway_response: Option<String>,
    pub customer_email: Option<String>,
    /// The metadata sent at initialize; `Null` when Paystack has none (it says `""`,
    /// `0` or `null` then), decoded when Paystack returns it as a JSON string.
    pub metadata: serde_json::Value,
}

/// `POST /refund`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// Our reference or Paystack's transaction id.
    pub transaction: String,
    /// Part of the amount, in kobo; `None` refunds all of it.
    pub amount_kobo: Option<i64>,
    pub merchant_note: Option<String>,
}

/// A refund Paystack accepted (usually still "pending"/"processing": it completes later
/// and Paystack sends `refund.processed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: i64,
    pub status: String,
    pub amount_kobo: i64,
}

/// `POST /subaccount`: a landlord's settlement account for split payments.
#[derive(Debug, Clone, PartialEq)]
pub struct SubaccountRequest {
    pub business_name: String,
    /// The bank's code (from Paystack's bank list), e.g. "058".
    pub settlement_bank: String,
    pub account_number: String,
    /// Rentory's share of each split payment, in percent (0-100).
    pub percentage_charge: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subaccount {
    /// `ACCT_...`
    pub subaccount_code: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn statuses_parse_case_insensitively_and_round_trip() {
        let known = [
            ("success", TransactionStatus::Success),
            ("failed", TransactionStatus::Failed),
            ("abandoned", TransactionStatus::Abandoned),
            ("ongoing", TransactionStatus::Ongoing),
            ("pending", TransactionStatus::Pending),
            ("processing", TransactionStatus::Processing),
            ("queued", TransactionStatus::Queued),
            ("reversed", TransactionStatus::Reversed),
        ];
        for (word, status) in known {
            assert_eq!(TransactionStatus::parse(word), status);
            assert_eq!(TransactionStatus::parse(&word.to_uppercase()), status);
            assert_eq!(status.as_str(), word);
        }
        assert_eq!(
            TransactionStatus::parse("send_birthday"),
            TransactionStatus::Other("send_birthday".into())
        );
        assert_eq!(TransactionStatus::parse("weird").as_str(), "weird");
    }

    #[test]
    fn only_success_is_paid() {
        assert!(TransactionStatus::Success.is_success());
        for status in ["failed", "abandoned", "reversed", "pending", "ongoing", "x"] {
            assert!(!TransactionStatus::parse(status).is_success(), "{status}");
        }
    }

    #[test]
    fn config_defaults() {
        let config = ClientConfig::new(
            Url::parse("https://api.paystack.co").unwrap(),
            SecretString::from("sk_test_x"),
        );
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert_eq!(config.max_attempts, 3);
        assert_eq!(config.retry_backoff, Duration::from_millis(200));
        assert!(!format!("{config:?}").contains("sk_test_x"));
    }
}
