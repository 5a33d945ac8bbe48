//! What each of the four tasks takes and gives, in the service's own types. Both providers
//! (Gemini and offline) speak these; `service.rs` converts them from and to protobuf after
//! checking every field, so nothing here needs to distrust its input's shape.

use rentory_persona::{Category, Persona, RentPeriod};
use time::Date;

/// The concierge's answer to one tenant message.
#[derive(Debug, Clone, PartialEq)]
pub struct ConciergeAnswer {
    /// What to say to the tenant.
    pub reply: String,
    /// The whole persona after this turn. Its `version` is not the provider's business:
    /// the caller sets it when storing.
    pub persona: Persona,
    /// 0.0 - 1.0.
    pub confidence: f64,
    /// What the answer is based on, for people ("budget from \"2m\"").
    pub reasons: Vec<String>,
}

/// One turn of a concierge conversation, oldest first when in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub speaker: Speaker,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    Tenant,
    Concierge,
}

/// What is known about one photo without decoding it (magic bytes and header only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoFacts {
    /// image/jpeg, image/png or image/webp.
    pub mime_type: String,
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
}

/// A nearby listing the caller judged comparable.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparable {
    pub price_kobo: i64,
    pub rent_period: RentPeriod,
    pub bedrooms: Option<u32>,
    pub distance_km: f64,
    pub category: Category,
}

/// Draft listing details from photos, notes and address.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingDraft {
    pub category: Category,
    pub title: String,
    pub description: String,
    pub amenities: Vec<String>,
    pub neighborhood_description: String,
    pub suggested_price_kobo: Option<i64>,
    pub rent_period: RentPeriod,
    pub bedrooms: Option<u32>,
    pub bathrooms: Option<u32>,
    /// 0.0 - 1.0.
    pub confidence: f64,
    pub reasons: Vec<String>,
}

/// How often rent falls due; decides the statutory notice period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeasePeriod {
    Year,
    HalfYear,
    Quarter,
    Month,
    /// Short-let by the night: a licence, not a tenancy.
    Night,
}

impl LeasePeriod {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "YEAR" => Some(Self::Year),
            "HALF_YEAR" => Some(Self::HalfYear),
            "QUARTER" => Some(Self::Quarter),
            "MONTH" => Some(Self::Month),
            "NIGHT" => Some(Self::Night),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Year => "YEAR",
            Self::HalfYear => "HALF_YEAR",
            Self::Quarter => "QUARTER",
            Self::Month => "MONTH",
            Self::Night => "NIGHT",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseParty {
    pub full_name: String,
    /// Postal address for notices; may be empty.
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasePremises {
    pub title: String,
    pub address: String,
    pub category: Category,
    pub bedrooms: Option<u32>,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseTerms {
    /// Rent per `rent_period`, in kobo (> 0).
    pub rent_kobo: i64,
    pub rent_period: LeasePeriod,
    /// 1 - 120.
    pub duration_months: u32,
    pub start_date: Date,
    /// 0 when none.
    pub deposit_kobo: i64,
    /// 0 when none.
    pub service_charge_kobo: i64,
    /// Rent paid in advance at signing, in months (0 when not said).
    pub advance_rent_months: u32,
}

/// Everything a lease is drafted from. Names and addresses only: contact details never
/// reach a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRequest {
    pub premises: LeasePremises,
    pub landlord: LeaseParty,
    pub tenant: LeaseParty,
    pub terms: LeaseTerms,
    /// Each becomes a clause; untrusted text, already stripped of contact details.
    pub negotiation_points: Vec<String>,
    /// Nigerian state, e.g. "Lagos".
    pub jurisdiction: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseDraft {
    pub markdown: String,
    pub reasons: Vec<String>,
}

/// The advisory face-match verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Match,
    NoMatch,
    /// A person should look.
    Review,
    /// No comparison was made (offline, or the model could not answer).
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceMatchAnswer {
    /// 0 - 100; `None` when no comparison was made.
    pub score: Option<u32>,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
}

/// "NGN 1,500,000" (kobo shown only when there are any: "NGN 2,500.50").
pub use rentory_money::ngn_short as format_naira;
