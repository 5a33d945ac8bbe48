//! Chat sessions (spec 2.4): one per tenant and property, between the tenant, the
//! property's landlord and an optional guide. Their storage is [`db`]; [`facts`] keeps the
//! parties of recently used sessions in memory for the send path.

pub mod db;
pub mod facts;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rentory_proto::chat::v1 as pb;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::Parties;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    pub property_id: Uuid,
    pub parties: Parties,
    pub created_at: OffsetDateTime,
    pub last_updated: OffsetDateTime,
    /// The tenant holds a SUCCESS CONTACT_UNLOCK for the property.
    pub contact_unlocked: bool,
}

impl Session {
    pub fn to_proto(&self) -> pb::Session {
        pb::Session {
            id: self.id.to_string(),
            property_id: self.property_id.to_string(),
            tenant_id: self.parties.tenant_id.to_string(),
            landlord_id: self.parties.landlord_id.to_string(),
            assigned_guide_id: self.parties.assigned_guide_id.map(|id| id.to_string()),
            created_at: Some(rentory_proto::timestamp(self.created_at)),
            last_updated: Some(rentory_proto::timestamp(self.last_updated)),
            contact_unlocked: self.contact_unlocked,
        }
    }

    /// Where the next page of a list starting after this session begins.
    pub fn cursor(&self) -> ListCursor {
        ListCursor {
            last_updated: self.last_updated,
            id: self.id,
        }
    }
}

/// A position in "most recently updated first" order: strictly after
/// (`last_updated`, `id`) in descending order. Opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListCursor {
    pub last_updated: OffsetDateTime,
    pub id: Uuid,
}

impl ListCursor {
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(&self.last_updated.unix_timestamp_nanos().to_be_bytes());
        bytes.extend_from_slice(self.id.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// `None` for anything [`ListCursor::encode`] did not produce.
    pub fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let (nanos, id) = bytes.split_at_checked(16)?;
        let nanos = i128::from_be_bytes(nanos.try_into().ok()?);
        Some(Self {
            last_updated: OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?,
            id: Uuid::from_slice(id).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = ListCursor {
            last_updated: time::macros::datetime!(2026-03-01 12:00:00.123456 UTC),
            id: Uuid::now_v7(),
        };
        assert_eq!(ListCursor::decode(&cursor.encode()), Some(cursor));
        for bad in [
            "",
            "not base64!",
            "AAAA",
            &URL_SAFE_NO_PAD.encode([0u8; 33]),
        ] {
            assert_eq!(ListCursor::decode(bad), None, "{bad:?}");
        }
    }
}
