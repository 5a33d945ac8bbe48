//! The review queue's keyset cursor: the `(created_at, id)` of the last item of a page,
//! opaque to clients (URL-safe base64 of `v1:<unix micros>:<uuid>`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: OffsetDateTime,
    pub id: Uuid,
}

/// Longer than any cursor we issue; refuses anything bigger before decoding it.
const MAX_LEN: usize = 128;

impl Cursor {
    pub fn encode(&self) -> String {
        let micros = self.created_at.unix_timestamp_nanos().div_euclid(1_000);
        URL_SAFE_NO_PAD.encode(format!("v1:{micros}:{}", self.id.simple()))
    }

    /// An empty string is the first page.
    pub fn decode(raw: &str) -> Result<Option<Self>, Error> {
        if raw.is_empty() {
            return Ok(None);
        }
        let invalid = || Error::invalid("cursor", "is not a cursor this service issued");
        if raw.len() > MAX_LEN {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let text = std::str::from_utf8(&bytes).map_err(|_| invalid())?;
        let mut parts = text.splitn(3, ':');
        let (Some("v1"), Some(micros), Some(id)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let micros: i64 = micros.parse().map_err(|_| invalid())?;
        let created_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
            .map_err(|_| invalid())?;
        let id = Uuid::try_parse(id).map_err(|_| invalid())?;
        Ok(Some(Self { created_at, id }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use time::macros::datetime;

    use super::*;

    #[test]
    fn round_trips_at_microsecond_precision() {
        let cursor = Cursor {
            created_at: datetime!(2026-11-24 08:00:00.123456 UTC),
            id: Uuid::now_v7(),
        };
        let encoded = cursor.encode();
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(Cursor::decode(&encoded).unwrap(), Some(cursor));
    }

    #[test]
    fn empty_is_the_first_page() {
        assert_eq!(Cursor::decode("").unwrap(), None);
    }

    #[test]
    fn garbage_is_a_validation_error() {
        let forged = URL_SAFE_NO_PAD.encode("v2:1:00000000000000000000000000000000");
        let huge = "A".repeat(1000);
        for raw in ["!!!", "djE6", forged.as_str(), huge.as_str()] {
            assert!(
                matches!(
                    Cursor::decode(raw),
                    Err(Error::Invalid {
                        field: "cursor",
                        ..
                    })
                ),
                "{raw}"
            );
        }
    }
}
