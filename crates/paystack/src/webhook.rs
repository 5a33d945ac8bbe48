//! Paystack's webhook: `POST` with the raw JSON body signed as lowercase hex
//! HMAC-SHA512(body, secret key) in `x-paystack-signature`.
//!
//! Check the signature over the exact bytes received, before parsing them.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256, Sha512};

use crate::error::PaystackError;

pub const SIGNATURE_HEADER: &str = "x-paystack-signature";

type HmacSha512 = Hmac<Sha512>;

fn mac(secret_key: &[u8]) -> HmacSha512 {
    // HMAC takes keys of any length (long ones are hashed first), so this cannot fail.
    match HmacSha512::new_from_slice(secret_key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

/// Lowercase hex HMAC-SHA512 of `body` under `secret_key` (128 characters).
pub fn sign(secret_key: &[u8], body: &[u8]) -> String {
    let mut mac = mac(secret_key);
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature_hex` is `body`'s signature under `secret_key`, compared in constant
/// time. Hex of either case is accepted; anything that is not 128 hex digits is false.
pub fn verify(secret_key: &[u8], body: &[u8], signature_hex: &str) -> bool {
    let Ok(signature) = hex::decode(signature_hex) else {
        return false;
    };
    let mut mac = mac(secret_key);
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

/// A webhook body: `{"event": "charge.success", "data": {...}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// "charge.success", "refund.processed", ...
    pub event: String,
    pub data: Value,
}

impl WebhookEvent {
    /// The event, once its signature has been checked. Bodies without a non-empty `event`
    /// string and an object `data` are `Invalid`.
    pub fn parse(body: &[u8]) -> Result<Self, PaystackError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| PaystackError::Invalid(format!("webhook body is not JSON: {e}")))?;
        let Value::Object(mut fields) = value else {
            return Err(PaystackError::Invalid(
                "webhook body is not an object".into(),
            ));
        };
        let event = match fields.remove("event") {
            Some(Value::String(event)) if !event.trim().is_empty() => event,
            _ => {
                return Err(PaystackError::Invalid(
                    "webhook event is missing or not a string".into(),
                ));
            }
        };
        let data = match fields.remove("data") {
            Some(data @ Value::Object(_)) => data,
            _ => {
                return Err(PaystackError::Invalid(
                    "webhook data is missing or not an object".into(),
                ));
            }
        };
        Ok(Self { event, data })
    }

    /// `data.reference`: for charge events, the reference given at initialize.
    pub fn reference(&self) -> Option<&str> {
        self.data.get("reference").and_then(Value::as_str)
    }

    /// `data.id`: Paystack's id of the transaction (of the refund, for refund events).
    pub fn paystack_id(&self) -> Option<i64> {
        self.data.get("id").and_then(Value::as_i64)
    }

    /// What makes a delivery the same event as an earlier one, for deduplication:
    /// `"<event>:<data.id>"` when `data.id` is present (Paystack re-sends the same event
    /// with the same id), else `"sha256:<hex of body>"`.
    pub fn identity(&self, body: &[u8]) -> String {
        let id = match self.data.get("id") {
            Some(Value::Number(id)) => Some(id.to_string()),
            Some(Value::String(id)) if !id.trim().is_empty() => Some(id.clone()),
            _ => None,
        };
        match id {
            Some(id) => format!("{}:{id}", self.event),
            None => format!("sha256:{}", hex::encode(Sha256::digest(body))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;

    use super::*;

    const KEY: &[u8] = b"sk_test_rentory_checkout_simulator";
    const BODY: &[u8] = br#"{"event":"charge.success","data":{"id":302961,"reference":"qTPrJoy9Bx","amount":10000}}"#;
    /// python3: hmac.new(KEY, BODY, hashlib.sha512).hexdigest()
    const SIGNATURE: &str = "61d15c4869f246949c9f81bafb7c3d4d49cf3b8ed2273861b0eaa1d2346cdad90ed5ad5321dcab478db19af6ef74eee35c4a285b1c4dc160166230c95c0392ad";

    #[test]
    fn signs_like_pythons_hmac() {
        assert_eq!(sign(KEY, BODY), SIGNATURE);
        assert!(verify(KEY, BODY, SIGNATURE));
        assert!(verify(KEY, BODY, &SIGNATURE.to_uppercase()));
    }

    #[test]
    fn wrong_key_body_or_signature_fails() {
        assert!(!verify(b"sk_test_other", BODY, SIGNATURE));
        let mut tampered = BODY.to_vec();
        tampered[60] ^= 1;
        assert!(!verify(KEY, &tampered, SIGNATURE));
        assert!(!verify(KEY, BODY, ""));
        assert!(!verify(KEY, BODY, "zz"));
        assert!(!verify(KEY, BODY, &SIGNATURE[..126]));
        assert!(!verify(KEY, BODY, &format!("{SIGNATURE}00")));
        assert!(!verify(KEY, BODY, &format!(" {SIGNATURE}")));
        assert!(!verify(KEY, BODY, &"0".repeat(128)));
    }

    proptest! {
        #[test]
        fn any_body_verifies_under_its_own_signature_only(
            key in proptest::collection::vec(any::<u8>(), 0..200),
            body in proptest::collection::vec(any::<u8>(), 0..500),
            flip in any::<usize>(),
        ) {
            let signature = sign(&key, &body);
            prop_assert_eq!(signature.len(), 128);
            prop_assert!(verify(&key, &body, &signature));
            if !body.is_empty() {
                let mut other = body.clone();
                let at = flip % other.len();
                other[at] ^= 0x80;
                prop_assert!(!verify(&key, &other, &signature));
            }
        }
    }

    #[test]
    fn events_parse_and_name_themselves() {
        let event = WebhookEvent::parse(BODY).unwrap();
        assert_eq!(event.event, "charge.success");
        assert_eq!(event.reference(), Some("qTPrJoy9Bx"));
        assert_eq!(event.paystack_id(), Some(302961));
        assert_eq!(event.identity(BODY), "charge.success:302961");

        let body = br#"{"event":"transfer.success","data":{"reference":"x"}}"#;
        let event = WebhookEvent::parse(body).unwrap();
        assert_eq!(event.paystack_id(), None);
        assert_eq!(
            event.identity(body),
            format!("sha256:{}", hex::encode(Sha256::digest(body)))
        );
    }

    #[test]
    fn malformed_events_are_invalid() {
        for body in [
            &b"not json"[..],
            b"[]",
            br#"{"data":{}}"#,
            br#"{"event":"","data":{}}"#,
            br#"{"event":7,"data":{}}"#,
            br#"{"event":"charge.success"}"#,
            br#"{"event":"charge.success","data":"x"}"#,
        ] {
            assert!(
                matches!(WebhookEvent::parse(body), Err(PaystackError::Invalid(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
