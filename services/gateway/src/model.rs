//! The JSON bodies of API.md and their conversion from the services' messages. Enum values
//! are the API's spellings (`TENANT`, `PENDING`, ...); times are RFC 3339.

use rentory_auth::{Role, StaffPosition, UserStatus};
use rentory_proto::identity::v1 as identity_pb;
use rentory_proto::kyc::v1 as kyc_pb;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::problem::{Problem, ProblemDocument};

/// An account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    #[schema(example = "0190f3a2-7b1c-7d4e-9a8b-1234567890ab")]
    pub id: String,
    pub email: String,
    /// TENANT, LANDLORD, GUIDE, ADMIN or STAFF.
    #[schema(example = "TENANT")]
    pub role: &'static str,
    /// PENDING, ACTIVE or SUSPENDED.
    #[schema(example = "PENDING")]
    pub status: &'static str,
    /// STAFF only: COMPLIANCE_OFFICER, OPERATIONS_MANAGER, FINANCIAL_CONTROLLER, SUPPORT_LEAD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<&'static str>,
}

impl TryFrom<identity_pb::User> for UserBody {
    type Error = Problem;

    fn try_from(user: identity_pb::User) -> Result<Self, Problem> {
        let role =
            Role::from_proto_i32(user.role).map_err(|_| Problem::bad_gateway("user role"))?;
        let status = UserStatus::from_proto_i32(user.status)
            .map_err(|_| Problem::bad_gateway("user status"))?;
        let position = match user.position {
            None => None,
            Some(p) => Some(
                StaffPosition::from_proto_i32(p)
                    .map_err(|_| Problem::bad_gateway("staff position"))?
                    .as_str(),
            ),
        };
        Ok(Self {
            id: user.id,
            email: user.email,
            role: role.as_str(),
            status: status.as_str(),
            position,
        })
    }
}

pub fn user(user: Option<identity_pb::User>) -> Result<UserBody, Problem> {
    user.ok_or_else(|| Problem::bad_gateway("missing user"))?
        .try_into()
}

/// Tokens for a session.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthBody {
    pub user: UserBody,
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
}

impl TryFrom<identity_pb::AuthResponse> for AuthBody {
    type Error = Problem;

    fn try_from(auth: identity_pb::AuthResponse) -> Result<Self, Problem> {
        Ok(Self {
            user: user(auth.user)?,
            access_token: auth.access_token,
            refresh_token: auth.refresh_token,
            expires_in: auth.expires_in,
            token_type: "Bearer",
        })
    }
}

/// Answer to a registration.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterBody {
    pub user: UserBody,
    /// The KYC request made from the uploaded images; null when it could not be submitted
    /// (see `verification_error`; resubmit with `POST /me/verification`).
    pub verification_request_id: Option<String>,
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_error: Option<ProblemDocument>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileBody {
    pub full_name: String,
    pub avatar_url: Option<String>,
    pub phone: String,
    pub bio: String,
    /// A JSON object (AI persona, search history).
    #[schema(value_type = Object)]
    pub preferences: serde_json::Value,
}

/// The caller's account and profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeBody {
    pub user: UserBody,
    pub profile: ProfileBody,
}

impl TryFrom<identity_pb::Me> for MeBody {
    type Error = Problem;

    fn try_from(me: identity_pb::Me) -> Result<Self, Problem> {
        let profile = me.profile.unwrap_or_default();
        let preferences = if profile.preferences_json.trim().is_empty() {
            serde_json::Value::Object(serde_json::Map::new())
        } else {
            serde_json::from_str(&profile.preferences_json)
                .map_err(|_| Problem::bad_gateway("profile preferences are not JSON"))?
        };
        Ok(Self {
            user: user(me.user)?,
            profile: ProfileBody {
                full_name: profile.full_name,
                avatar_url: profile.avatar_url,
                phone: profile.phone,
                bio: profile.bio,
                preferences,
            },
        })
    }
}

/// The advisory AI comparison of the ID image with the face scan.
#[derive(Debug, Serialize, ToSchema)]
pub struct FaceMatchBody {
    /// 0 - 100; null when no model could judge.
    pub score: Option<u32>,
    /// MATCH, NO_MATCH, REVIEW, UNAVAILABLE, or PENDING while the check runs.
    #[schema(example = "PENDING")]
    pub verdict: String,
    pub model: String,
    pub reasons: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub checked_at: Option<OffsetDateTime>,
}

/// A KYC verification request.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationBody {
    pub id: String,
    pub user_id: String,
    /// PENDING, APPROVED or REJECTED.
    #[schema(example = "PENDING")]
    pub status: &'static str,
    #[schema(example = "LANDLORD")]
    pub role_requested: &'static str,
    pub face_match: Option<FaceMatchBody>,
    pub reviewer_id: Option<String>,
    pub rejection_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
}

impl TryFrom<kyc_pb::VerificationRequest> for VerificationBody {
    type Error = Problem;

    fn try_from(v: kyc_pb::VerificationRequest) -> Result<Self, Problem> {
        let status = match kyc_pb::VerificationStatus::try_from(v.status) {
            Ok(kyc_pb::VerificationStatus::Pending) => "PENDING",
            Ok(kyc_pb::VerificationStatus::Approved) => "APPROVED",
            Ok(kyc_pb::VerificationStatus::Rejected) => "REJECTED",
            _ => return Err(Problem::bad_gateway("verification status")),
        };
        let role_requested = Role::from_proto_i32(v.role_requested)
            .map_err(|_| Problem::bad_gateway("requested role"))?
            .as_str();
        Ok(Self {
            id: v.id,
            user_id: v.user_id,
            status,
            role_requested,
            face_match: v.face_match.map(|f| FaceMatchBody {
                score: f.score,
                verdict: f.verdict,
                model: f.model,
                reasons: f.reasons,
                checked_at: f
                    .checked_at
                    .as_ref()
                    .and_then(rentory_proto::offset_date_time),
            }),
            reviewer_id: v.reviewer_id,
            rejection_reason: v.rejection_reason,
            created_at: v
                .created_at
                .as_ref()
                .and_then(rentory_proto::offset_date_time),
            decided_at: v
                .decided_at
                .as_ref()
                .and_then(rentory_proto::offset_date_time),
        })
    }
}

pub fn verification(v: Option<kyc_pb::VerificationRequest>) -> Result<VerificationBody, Problem> {
    v.ok_or_else(|| Problem::bad_gateway("missing verification request"))?
        .try_into()
}

/// A request as reviewers see it, with image links signed for a short time. Links are
/// null for the request's owner.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewItemBody {
    #[serde(flatten)]
    pub request: VerificationBody,
    pub id_image_url: Option<String>,
    pub face_scan_url: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub urls_expire_at: Option<OffsetDateTime>,
}

impl TryFrom<kyc_pb::ReviewItem> for ReviewItemBody {
    type Error = Problem;

    fn try_from(item: kyc_pb::ReviewItem) -> Result<Self, Problem> {
        Ok(Self {
            request: verification(item.request)?,
            id_image_url: non_empty(item.id_image_url),
            face_scan_url: non_empty(item.face_scan_url),
            urls_expire_at: item
                .urls_expire_at
                .as_ref()
                .and_then(rentory_proto::offset_date_time),
        })
    }
}

/// A page of the review queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewPage {
    pub items: Vec<ReviewItemBody>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

impl TryFrom<kyc_pb::ListResponse> for ReviewPage {
    type Error = Problem;

    fn try_from(page: kyc_pb::ListResponse) -> Result<Self, Problem> {
        Ok(Self {
            items: page
                .items
                .into_iter()
                .map(ReviewItemBody::try_from)
                .collect::<Result<_, _>>()?,
            next_cursor: (!page.next_cursor.is_empty()).then_some(page.next_cursor),
        })
    }
}

/// Naira as the API spells money for people: a decimal string with two places
/// (`2500000.00`); the `_kobo` integer next to it is the truth.
pub use rentory_money::decimal as naira;

/// A service's empty string for "none", as JSON null.
pub fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Parses an API role name into the proto enum, or a 422 naming `field`.
pub fn parse_role(field: &str, value: &str) -> Result<identity_pb::Role, Problem> {
    value
        .parse::<Role>()
        .map(identity_pb::Role::from)
        .map_err(|_| Problem::invalid_field(field, "must be one of TENANT, LANDLORD, GUIDE"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_use_the_api_spellings() {
        let body = UserBody::try_from(identity_pb::User {
            id: "u1".into(),
            email: "a@b.ng".into(),
            role: identity_pb::Role::Staff as i32,
            status: identity_pb::UserStatus::Active as i32,
            position: Some(identity_pb::StaffPosition::ComplianceOfficer as i32),
            created_at: None,
        })
        .expect("valid");
        let json = serde_json::to_value(&body).expect("json");
        assert_eq!(json["role"], "STAFF");
        assert_eq!(json["status"], "ACTIVE");
        assert_eq!(json["position"], "COMPLIANCE_OFFICER");
    }

    #[test]
    fn unspecified_enums_from_a_service_are_a_bad_gateway() {
        let err = UserBody::try_from(identity_pb::User::default()).err();
        assert_eq!(
            err.and_then(|p| p.kind()),
            Some(crate::problem::ProblemType::BadGateway)
        );
    }

    #[test]
    fn review_items_flatten_and_times_are_rfc3339() {
        let at = time::macros::datetime!(2026-01-02 03:04:05 UTC);
        let item = ReviewItemBody::try_from(kyc_pb::ReviewItem {
            request: Some(kyc_pb::VerificationRequest {
                id: "r1".into(),
                user_id: "u1".into(),
                status: kyc_pb::VerificationStatus::Pending as i32,
                role_requested: identity_pb::Role::Landlord as i32,
                face_match: Some(kyc_pb::FaceMatch {
                    score: Some(90),
                    verdict: "MATCH".into(),
                    model: "m".into(),
                    reasons: vec!["same person".into()],
                    checked_at: Some(rentory_proto::timestamp(at)),
                }),
                reviewer_id: None,
                rejection_reason: None,
                created_at: Some(rentory_proto::timestamp(at)),
                decided_at: None,
            }),
            id_image_url: "http://x/files/kyc/a?expires=1&signature=ab".into(),
            face_scan_url: String::new(),
            urls_expire_at: Some(rentory_proto::timestamp(at)),
        })
        .expect("valid");
        let json = serde_json::to_value(&item).expect("json");
        assert_eq!(json["id"], "r1");
        assert_eq!(json["status"], "PENDING");
        assert_eq!(json["role_requested"], "LANDLORD");
        assert_eq!(json["created_at"], "2026-01-02T03:04:05Z");
        assert_eq!(json["face_match"]["verdict"], "MATCH");
        assert_eq!(json["face_scan_url"], serde_json::Value::Null);
        assert_eq!(json["decided_at"], serde_json::Value::Null);
    }
}
