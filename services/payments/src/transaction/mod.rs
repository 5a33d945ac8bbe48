//! A payment through Paystack and its rules: what it is for, where it stands, the
//! reference it goes by. Storage is in [`db`].

pub mod db;

use std::fmt;
use std::time::Duration;

use rentory_proto::payments::v1 as pb;
use time::OffsetDateTime;
use uuid::Uuid;

/// The only currency Rentory charges in.
pub const CURRENCY: &str = "NGN";

/// What a payment buys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ContactUnlock,
    Rent,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ContactUnlock => "CONTACT_UNLOCK",
            Kind::Rent => "RENT",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "CONTACT_UNLOCK" => Some(Kind::ContactUnlock),
            "RENT" => Some(Kind::Rent),
            _ => None,
        }
    }

    /// The start of references of this kind: readable in Paystack's dashboard.
    fn reference_prefix(self) -> &'static str {
        match self {
            Kind::ContactUnlock => "ul",
            Kind::Rent => "rent",
        }
    }
}

/// Where a transaction stands. PENDING until Paystack's verify settles it; SUCCESS only
/// when verify agreed on everything ([`crate::settlement::decision`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Success,
    Failed,
    Abandoned,
    Refunded,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Success => "SUCCESS",
            Status::Failed => "FAILED",
            Status::Abandoned => "ABANDONED",
            Status::Refunded => "REFUNDED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "PENDING" => Some(Status::Pending),
            "SUCCESS" => Some(Status::Success),
            "FAILED" => Some(Status::Failed),
            "ABANDONED" => Some(Status::Abandoned),
            "REFUNDED" => Some(Status::Refunded),
            _ => None,
        }
    }

    /// Whether asking Paystack again can change anything: a pending payment, or one we
    /// closed that the payer may still have completed (a late payment is still granted).
    pub fn may_settle(self) -> bool {
        matches!(self, Status::Pending | Status::Failed | Status::Abandoned)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one thing a payment is for: a property's contact, or a lease's rent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Property(Uuid),
    Lease(Uuid),
}

impl Subject {
    pub fn kind(self) -> Kind {
        match self {
            Subject::Property(_) => Kind::ContactUnlock,
            Subject::Lease(_) => Kind::Rent,
        }
    }

    pub fn property_id(self) -> Option<Uuid> {
        match self {
            Subject::Property(id) => Some(id),
            Subject::Lease(_) => None,
        }
    }

    pub fn lease_id(self) -> Option<Uuid> {
        match self {
            Subject::Lease(id) => Some(id),
            Subject::Property(_) => None,
        }
    }
}

/// A transaction as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub id: Uuid,
    pub reference: String,
    pub status: Status,
    pub amount_kobo: i64,
    pub currency: String,
    pub payer_id: Uuid,
    pub subject: Subject,
    pub subaccount_code: Option<String>,
    pub authorization_url: Option<String>,
    pub access_code: Option<String>,
    pub paystack_id: Option<i64>,
    pub status_reason: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub paid_at: Option<OffsetDateTime>,
    pub verify_attempts: i32,
}

impl Transaction {
    pub fn kind(&self) -> Kind {
        self.subject.kind()
    }

    /// Whether it has been open for `abandon_after` at `now`.
    pub fn is_overdue(&self, now: OffsetDateTime, abandon_after: Duration) -> bool {
        now - self.created_at >= abandon_after
    }

    pub fn to_proto(&self) -> pb::Transaction {
        pb::Transaction {
            id: self.id.to_string(),
            reference: self.reference.clone(),
            r#type: self.kind().as_str().to_owned(),
            status: self.status.as_str().to_owned(),
            amount_kobo: self.amount_kobo,
            currency: self.currency.clone(),
            payer_id: self.payer_id.to_string(),
            property_id: self.subject.property_id().map(|id| id.to_string()),
            lease_id: self.subject.lease_id().map(|id| id.to_string()),
            paystack_id: self.paystack_id,
            created_at: Some(rentory_proto::timestamp(self.created_at)),
            updated_at: Some(rentory_proto::timestamp(self.updated_at)),
            paid_at: self.paid_at.map(rentory_proto::timestamp),
            status_reason: self.status_reason.clone(),
        }
    }
}

/// Our reference for transaction `id`: `ul-<32 hex>` or `rent-<32 hex>`. Unique because the
/// id is, and made only of characters Paystack accepts in a reference (letters, digits,
/// `-`, `.`, `=`: no underscore).
pub fn reference_for(kind: Kind, id: Uuid) -> String {
    format!("{}-{}", kind.reference_prefix(), id.simple())
}

/// Whether `text` could be a reference Paystack accepts (and so one of ours): what a
/// caller names is checked before any query or outside call.
pub fn is_valid_reference(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 100
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'='))
}

/// Gaps between verify calls for a pending transaction: `first`, doubling with each
/// attempt made, never more than an hour.
pub fn verify_backoff(first: Duration, attempts: i32) -> Duration {
    const MAX: Duration = Duration::from_secs(3600);
    let doublings = u32::try_from(attempts.clamp(0, 20)).unwrap_or(0);
    first.saturating_mul(1 << doublings).min(MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_use_only_paystacks_characters_and_name_their_kind() {
        let id = Uuid::now_v7();
        let unlock = reference_for(Kind::ContactUnlock, id);
        assert!(unlock.starts_with("ul-"));
        assert_eq!(unlock.len(), 35);
        assert!(is_valid_reference(&unlock));
        let rent = reference_for(Kind::Rent, id);
        assert!(rent.starts_with("rent-") && is_valid_reference(&rent));
        assert_ne!(unlock, reference_for(Kind::ContactUnlock, Uuid::now_v7()));
        for bad in ["", "ul_abc", "a b", "ref/1", "ü", &"a".repeat(101)] {
            assert!(!is_valid_reference(bad), "{bad}");
        }
        assert!(is_valid_reference("T.x=1-2"));
    }

    #[test]
    fn spellings_round_trip() {
        for status in [
            Status::Pending,
            Status::Success,
            Status::Failed,
            Status::Abandoned,
            Status::Refunded,
        ] {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        for kind in [Kind::ContactUnlock, Kind::Rent] {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Status::parse("success"), None);
        assert!(Status::Abandoned.may_settle() && !Status::Refunded.may_settle());
        assert!(!Status::Success.may_settle());
    }

    #[test]
    fn verify_backoff_doubles_up_to_an_hour() {
        let first = Duration::from_secs(60);
        assert_eq!(verify_backoff(first, 0), first);
        assert_eq!(verify_backoff(first, 1), Duration::from_secs(120));
        assert_eq!(verify_backoff(first, 3), Duration::from_secs(480));
        assert_eq!(verify_backoff(first, 10), Duration::from_secs(3600));
        assert_eq!(verify_backoff(first, i32::MAX), Duration::from_secs(3600));
        assert_eq!(verify_backoff(first, -5), first);
    }
}
