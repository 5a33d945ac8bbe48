//! Opaque discovery cursors.
//!
//! A cursor says where the next page starts: which KNN window (nearest-first from the search
//! point) and where inside it (by [`super::score::page_order`]). It also carries what the
//! ranking depended on, so a cursor is never silently applied to a different query or a
//! re-ranked window: the query's fingerprint and the persona version.
//!
//! The text is URL-safe base64 (no padding) of a small binary record:
//!
//! ```text
//! version u8 (=1) | flags u8 | query u64 | persona_version u64
//! [window: distance f64 bits u64 | id 16 bytes]   when flags & 1
//! [page:   score u8 | id 16 bytes]                when flags & 2
//! check: first 4 bytes of SHA-256 of everything before
//! ```
//!
//! Integers are big-endian, and the distance is carried as its IEEE-754 bits so it comes
//! back exactly (a decimal could land a hair off and repeat or skip a listing at a window
//! edge). The check catches truncated and mangled cursors; it is not a signature, and needs
//! none: a forged cursor can only page through the forger's own query, which the query
//! fingerprint pins. At most 63 bytes, so at most 84 characters.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The record layout written by this release.
const VERSION: u8 = 1;
const HAS_WINDOW: u8 = 0b01;
const HAS_PAGE: u8 = 0b10;
const CHECK_BYTES: usize = 4;
/// Longer text is refused before decoding: no real cursor is near this, so anything longer
/// is not worth the work.
pub const MAX_CURSOR_CHARS: usize = 512;

/// Where the next page starts. Windows are taken nearest-first from the search point; inside
/// a window listings are ranked by `page_order`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// The window starts strictly after this (knn_distance_m, id) in nearest-first order;
    /// None = the first window.
    pub window_after: Option<(f64, Uuid)>,
    /// Inside that window, the page starts strictly after this (score, id) in page_order;
    /// None = window start.
    pub page_after: Option<(u8, Uuid)>,
    /// The persona version the ranking used (0 = none).
    pub persona_version: u64,
    /// Fingerprint of the query's filters; a cursor from another query is refused.
    pub query: u64,
}

/// Why a cursor was refused; the messages are for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the cursor is not valid")]
    Invalid,
    #[error("the cursor is not valid: it is longer than 512 characters")]
    TooLong,
    #[error("the cursor is from another version of the service; start again from the first page")]
    UnknownVersion,
    #[error("the cursor belongs to a different query")]
    WrongQuery,
    #[error("your preferences changed since this cursor was made; start again from the first page")]
    PersonaChanged,
}

impl Cursor {
    /// URL-safe base64 without padding, versioned, at most 84 characters.
    ///
    /// Encoding cannot fail; a window distance that is not finite (which PostGIS never
    /// gives) encodes to a cursor that [`Cursor::decode`] refuses.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(64);
        let mut flags = 0;
        if self.window_after.is_some() {
            flags |= HAS_WINDOW;
        }
        if self.page_after.is_some() {
            flags |= HAS_PAGE;
        }
        bytes.push(VERSION);
        bytes.push(flags);
        bytes.extend_from_slice(&self.query.to_be_bytes());
        bytes.extend_from_slice(&self.persona_version.to_be_bytes());
        if let Some((distance, id)) = self.window_after {
            bytes.extend_from_slice(&distance.to_bits().to_be_bytes());
            bytes.extend_from_slice(id.as_bytes());
        }
        if let Some((score, id)) = self.page_after {
            bytes.push(score);
            bytes.extend_from_slice(id.as_bytes());
        }
        let check = check(&bytes);
        bytes.extend_from_slice(&check);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Reads a cursor a client sent back. Refuses anything [`Cursor::encode`] did not write:
    /// garbage, a changed or cut character, another version, more than
    /// [`MAX_CURSOR_CHARS`] characters, a distance that is not finite.
    pub fn decode(text: &str) -> Result<Cursor, CursorError> {
        if text.len() > MAX_CURSOR_CHARS {
            return Err(CursorError::TooLong);
        }
        // The engine refuses padding and stray trailing bits, so each cursor has exactly
        // one spelling.
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| CursorError::Invalid)?;
        let mut reader = Reader(&bytes);
        let [version] = reader.take()?;
        // Checked before the check bytes: a later layout may check differently.
        if version != VERSION {
            return Err(CursorError::UnknownVersion);
        }
        let body_len = bytes
            .len()
            .checked_sub(CHECK_BYTES)
            .ok_or(CursorError::Invalid)?;
        let (body, sent_check) = bytes
            .split_at_checked(body_len)
            .ok_or(CursorError::Invalid)?;
        if check(body) != sent_check {
            return Err(CursorError::Invalid);
        }
        let mut reader = Reader(body);
        let [_version, flags] = reader.take()?;
        if flags & !(HAS_WINDOW | HAS_PAGE) != 0 {
            return Err(CursorError::Invalid);
        }
        let query = u64::from_be_bytes(reader.take()?);
        let persona_version = u64::from_be_bytes(reader.take()?);
        let window_after = if flags & HAS_WINDOW != 0 {
            let distance = f64::from_bits(u64::from_be_bytes(reader.take()?));
            if !distance.is_finite() {
                return Err(CursorError::Invalid);
            }
            Some((distance, Uuid::from_bytes(reader.take()?)))
        } else {
            None
        };
        let page_after = if flags & HAS_PAGE != 0 {
            let [score] = reader.take()?;
            Some((score, Uuid::from_bytes(reader.take()?)))
        } else {
            None
        };
        if !reader.0.is_empty() {
            return Err(CursorError::Invalid);
        }
        Ok(Cursor {
            window_after,
            page_after,
            persona_version,
            query,
        })
    }

    /// Whether this cursor may continue the current request: the same query, ranked for
    /// the same persona version. A changed persona re-ranks every window, so continuing
    /// would repeat or skip listings.
    pub fn check_for(&self, query: u64, persona_version: u64) -> Result<(), CursorError> {
        if self.query != query {
            Err(CursorError::WrongQuery)
        } else if self.persona_version != persona_version {
            Err(CursorError::PersonaChanged)
        } else {
            Ok(())
        }
    }
}

/// Stable across processes and releases (unlike std's `DefaultHasher`): the first 8 bytes,
/// big-endian, of SHA-256 of the canonical text.
pub fn query_fingerprint(canonical_query: &str) -> u64 {
    Sha256::digest(canonical_query.as_bytes())
        .iter()
        .take(8)
        .fold(0, |fingerprint, byte| (fingerprint << 8) | u64::from(*byte))
}

fn check(bytes: &[u8]) -> [u8; CHECK_BYTES] {
    let mut check = [0; CHECK_BYTES];
    for (to, from) in check.iter_mut().zip(Sha256::digest(bytes).iter()) {
        *to = *from;
    }
    check
}

/// Takes fixed-size fields off the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], CursorError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(CursorError::Invalid)?;
        self.0 = rest;
        Ok(*head)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn full() -> Cursor {
        Cursor {
            window_after: Some((1234.5678, Uuid::from_u128(u128::MAX - 7))),
            page_after: Some((
                87,
                Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
            )),
            persona_version: u64::MAX,
            query: query_fingerprint("point=6.4478,3.4723;radius_m=5000;category=RESIDENTIAL"),
        }
    }

    /// Bytes sealed with a valid check, to test what the check alone would not catch.
    fn sealed(mut bytes: Vec<u8>) -> String {
        let check = check(&bytes);
        bytes.extend_from_slice(&check);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn header(flags: u8) -> Vec<u8> {
        let mut bytes = vec![VERSION, flags];
        bytes.extend_from_slice(&7u64.to_be_bytes());
        bytes.extend_from_slice(&3u64.to_be_bytes());
        bytes
    }

    #[test]
    fn round_trips_every_shape() {
        let shapes = [
            full(),
            Cursor {
                window_after: None,
                page_after: None,
                persona_version: 0,
                query: 0,
            },
            Cursor {
                window_after: None,
                ..full()
            },
            Cursor {
                page_after: None,
                ..full()
            },
        ];
        for cursor in shapes {
            assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        }
    }

    #[test]
    fn is_url_safe_and_compact() {
        let text = full().encode();
        assert_eq!(text.len(), 84, "{text}");
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{text}"
        );
        let first = Cursor {
            window_after: None,
            page_after: None,
            ..full()
        };
        assert_eq!(first.encode().len(), 30);
    }

    #[test]
    fn distances_round_trip_bit_exactly() {
        for distance in [
            0.1 + 0.2,
            -0.0,
            0.0,
            f64::MIN_POSITIVE / 3.0,
            f64::MAX,
            1.0 / 3.0,
            12_345.678_901_234_5,
        ] {
            let cursor = Cursor {
                window_after: Some((distance, Uuid::nil())),
                ..full()
            };
            let (back, _) = Cursor::decode(&cursor.encode())
                .unwrap()
                .window_after
                .unwrap();
            assert_eq!(back.to_bits(), distance.to_bits(), "{distance}");
        }
    }

    #[test]
    fn non_finite_distances_are_refused() {
        for distance in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let cursor = Cursor {
                window_after: Some((distance, Uuid::nil())),
                ..full()
            };
            assert_eq!(Cursor::decode(&cursor.encode()), Err(CursorError::Invalid));
        }
    }

    #[test]
    fn garbage_is_refused() {
        for text in [
            "",
            "!!!!",
            "hello",
            "not a cursor",
            "AQ",
            "AQAAAAAAAAAAAAAAAAAAAAA",
            "====",
            " ",
        ] {
            assert!(Cursor::decode(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn every_changed_character_is_refused() {
        let text = full().encode();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for at in 0..text.len() {
            for &replacement in alphabet {
                let mut bytes = text.clone().into_bytes();
                if bytes[at] == replacement {
                    continue;
                }
                bytes[at] = replacement;
                let tampered = String::from_utf8(bytes).unwrap();
                assert!(Cursor::decode(&tampered).is_err(), "{tampered}");
            }
        }
    }

    #[test]
    fn every_truncation_and_extension_is_refused() {
        let text = full().encode();
        for end in 0..text.len() {
            assert!(Cursor::decode(&text[..end]).is_err(), "{end}");
        }
        for extra in ["A", "AA", "AAAA", "="] {
            assert!(
                Cursor::decode(&format!("{text}{extra}")).is_err(),
                "{extra}"
            );
        }
    }

    #[test]
    fn oversized_text_is_refused_before_decoding() {
        let long = "A".repeat(MAX_CURSOR_CHARS + 1);
        assert_eq!(Cursor::decode(&long), Err(CursorError::TooLong));
        let long = format!("{}{}", full().encode(), "A".repeat(MAX_CURSOR_CHARS));
        assert_eq!(Cursor::decode(&long), Err(CursorError::TooLong));
    }

    #[test]
    fn another_version_is_refused() {
        let mut bytes = header(0);
        bytes[0] = 2;
        assert_eq!(
            Cursor::decode(&sealed(bytes)),
            Err(CursorError::UnknownVersion)
        );
    }

    #[test]
    fn well_sealed_but_malformed_records_are_refused() {
        // Unknown flag bit.
        assert_eq!(
            Cursor::decode(&sealed(header(0b100))),
            Err(CursorError::Invalid)
        );
        // Flags promise a window the record does not hold.
        assert_eq!(
            Cursor::decode(&sealed(header(HAS_WINDOW))),
            Err(CursorError::Invalid)
        );
        // Bytes left over.
        let mut bytes = header(0);
        bytes.push(0);
        assert_eq!(Cursor::decode(&sealed(bytes)), Err(CursorError::Invalid));
        // A sealed header is itself fine.
        assert_eq!(
            Cursor::decode(&sealed(header(0))).unwrap(),
            Cursor {
                window_after: None,
                page_after: None,
                persona_version: 3,
                query: 7,
            }
        );
    }

    #[test]
    fn a_cursor_only_continues_its_own_query_and_persona() {
        let cursor = full();
        assert_eq!(cursor.check_for(cursor.query, u64::MAX), Ok(()));
        let err = cursor.check_for(cursor.query ^ 1, u64::MAX).unwrap_err();
        assert_eq!(err, CursorError::WrongQuery);
        assert_eq!(err.to_string(), "the cursor belongs to a different query");
        assert_eq!(
            cursor.check_for(cursor.query, 4),
            Err(CursorError::PersonaChanged)
        );
        assert_eq!(CursorError::Invalid.to_string(), "the cursor is not valid");
    }

    #[test]
    fn fingerprints_are_fixed_values() {
        // SHA-256 of "" starts e3b0c44298fc1c14; of the query below, d6c85007d3fdf45e
        // (checked with sha256sum). If these change, every cursor in the wild breaks.
        assert_eq!(query_fingerprint(""), 0xe3b0_c442_98fc_1c14);
        assert_eq!(
            query_fingerprint("point=6.4478,3.4723;radius_m=5000;category=RESIDENTIAL"),
            0xd6c8_5007_d3fd_f45e
        );
        assert_ne!(query_fingerprint("a"), query_fingerprint("b"));
    }

    fn any_uuid() -> impl Strategy<Value = Uuid> {
        any::<u128>().prop_map(Uuid::from_u128)
    }

    fn finite() -> impl Strategy<Value = f64> {
        prop::num::f64::ANY.prop_filter("finite", |d| d.is_finite())
    }

    proptest! {
        #[test]
        fn round_trips_arbitrary_cursors(
            window_after in prop::option::of((finite(), any_uuid())),
            page_after in prop::option::of((any::<u8>(), any_uuid())),
            persona_version in any::<u64>(),
            query in any::<u64>(),
        ) {
            let cursor = Cursor { window_after, page_after, persona_version, query };
            let text = cursor.encode();
            prop_assert!(text.len() <= 84);
            let back = Cursor::decode(&text).unwrap();
            prop_assert_eq!(
                back.window_after.map(|(d, id)| (d.to_bits(), id)),
                cursor.window_after.map(|(d, id)| (d.to_bits(), id))
            );
            prop_assert_eq!(back, cursor);
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,600}") {
            let _ = Cursor::decode(&text);
        }

        #[test]
        fn arbitrary_base64_is_refused_unless_sealed(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            // Random bytes pass the 32-bit check about once in four billion tries.
            let text = URL_SAFE_NO_PAD.encode(&bytes);
            prop_assert!(Cursor::decode(&text).is_err());
        }
    }
}
