//! The verification request aggregate: its rules, its SQL and its gRPC handlers.

pub(crate) mod cursor;
pub(crate) mod db;
pub(crate) mod rules;
pub(crate) mod service;

use rentory_auth::Role;
use rentory_proto::kyc::v1 as pb;
use rentory_storage::ObjectKey;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Error;
use crate::face_match::FaceMatchResult;

pub use service::KycApi;

/// Event subjects this aggregate publishes.
pub mod subjects {
    pub const SUBMITTED: &str = "rentory.kyc.verification.submitted";
    pub const APPROVED: &str = "rentory.kyc.verification.approved";
    pub const REJECTED: &str = "rentory.kyc.verification.rejected";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Pending,
    Approved,
    Rejected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Approved => "APPROVED",
            Self::Rejected => "REJECTED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "PENDING" => Some(Self::Pending),
            "APPROVED" => Some(Self::Approved),
            "REJECTED" => Some(Self::Rejected),
            _ => None,
        }
    }

    pub fn to_proto(self) -> pb::VerificationStatus {
        match self {
            Self::Pending => pb::VerificationStatus::Pending,
            Self::Approved => pb::VerificationStatus::Approved,
            Self::Rejected => pb::VerificationStatus::Rejected,
        }
    }
}

/// Which of the two uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    IdImage,
    FaceScan,
}

impl ImageKind {
    /// The request field and object file name.
    pub fn field(self) -> &'static str {
        match self {
            Self::IdImage => "id_image",
            Self::FaceScan => "face_scan",
        }
    }

    /// The `kyc.link_mints.image` value.
    pub fn as_db(self) -> &'static str {
        match self {
            Self::IdImage => "ID_IMAGE",
            Self::FaceScan => "FACE_SCAN",
        }
    }
}

/// Where a stored original is and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub key: ObjectKey,
    pub mime: String,
}

/// A verification request as stored, with its face match once there is one.
#[derive(Debug, Clone)]
pub struct Verification {
    pub id: Uuid,
    pub user_id: Uuid,
    pub status: Status,
    pub role_requested: Role,
    pub id_image: ImageRef,
    pub face_scan: ImageRef,
    pub reviewer_id: Option<Uuid>,
    pub rejection_reason: Option<String>,
    pub created_at: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
    pub face_match: Option<FaceMatchResult>,
}

impl Verification {
    pub fn image(&self, kind: ImageKind) -> &ImageRef {
        match kind {
            ImageKind::IdImage => &self.id_image,
            ImageKind::FaceScan => &self.face_scan,
        }
    }

    pub fn to_proto(&self) -> pb::VerificationRequest {
        pb::VerificationRequest {
            id: self.id.to_string(),
            user_id: self.user_id.to_string(),
            status: self.status.to_proto() as i32,
            role_requested: rentory_proto::identity::v1::Role::from(self.role_requested) as i32,
            face_match: Some(FaceMatchResult::to_proto(self.face_match.as_ref())),
            reviewer_id: self.reviewer_id.map(|id| id.to_string()),
            rejection_reason: self.rejection_reason.clone(),
            created_at: Some(rentory_proto::timestamp(self.created_at)),
            decided_at: self.decided_at.map(rentory_proto::timestamp),
        }
    }
}

/// Parses a request id from the wire.
pub(crate) fn parse_id(raw: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw.trim()).map_err(|_| Error::invalid("id", "must be a UUID"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text_round_trips() {
        for status in [Status::Pending, Status::Approved, Status::Rejected] {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("pending"), None);
    }

    #[test]
    fn ids_must_be_uuids() {
        assert!(parse_id("0190f3a2-7b1c-7d4e-9a8b-1234567890ab").is_ok());
        assert!(matches!(
            parse_id("42"),
            Err(Error::Invalid { field: "id", .. })
        ));
    }
}
