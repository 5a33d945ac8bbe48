//! The rule money hangs on: what Paystack's verify answer means for one of our
//! transactions. Pure, so every case is tested without Paystack or a database.
//!
//! Value is granted only when verify says `success` AND the amount is exactly ours AND the
//! currency is NGN AND the reference is ours AND the metadata Paystack echoes (when there
//! is any) names the same transaction, payer and property or lease. Anything else grants
//! nothing.

use std::time::Duration;

use rentory_paystack::{TransactionStatus, VerifiedTransaction};
use serde_json::Value;
use time::OffsetDateTime;

use crate::transaction::{Status, Transaction};

/// What to do with a transaction after a verify answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Paid, exactly as issued: grant it (once).
    Grant {
        paystack_id: i64,
        paid_at: OffsetDateTime,
    },
    /// Paystack says it did not go through: FAILED or ABANDONED, nothing granted.
    Close {
        status: Status,
        reason: String,
        paystack_id: i64,
    },
    /// Paystack's answer disagrees with what we issued: FAILED, nothing granted, alert.
    Mismatch { reason: String },
    /// Not settled yet: stay PENDING and ask again later.
    Wait { reason: String, paystack_id: i64 },
}

/// Decides what `verified` (the answer for `transaction.reference`) means at `now`.
///
/// Paystack reports a checkout nobody has paid yet as `abandoned`, and a payer may still
/// complete it, so `abandoned` (like `ongoing`, `pending`, ...) closes a transaction only
/// once it has been open for `abandon_after`; until then it waits.
pub fn decide(
    transaction: &Transaction,
    verified: &VerifiedTransaction,
    now: OffsetDateTime,
    abandon_after: Duration,
) -> Decision {
    if verified.reference != transaction.reference {
        return Decision::Mismatch {
            reason: format!(
                "verify answered for reference {} instead of {}",
                clip(&verified.reference),
                transaction.reference
            ),
        };
    }
    let overdue = transaction.is_overdue(now, abandon_after);
    let said = |what: &str| match verified.gateway_response.as_deref().map(str::trim) {
        Some(response) if !response.is_empty() => format!("{what}: {}", clip(response)),
        _ => what.to_owned(),
    };
    match &verified.status {
        TransactionStatus::Success => match disagreement(transaction, verified) {
            Some(reason) => Decision::Mismatch { reason },
            None => Decision::Grant {
                paystack_id: verified.id,
                paid_at: verified.paid_at.unwrap_or(now),
            },
        },
        TransactionStatus::Failed => Decision::Close {
            status: Status::Failed,
            reason: said("Paystack reports the payment failed"),
            paystack_id: verified.id,
        },
        TransactionStatus::Reversed => Decision::Close {
            status: Status::Failed,
            reason: said("Paystack reports the payment reversed"),
            paystack_id: verified.id,
        },
        other if overdue => Decision::Close {
            status: Status::Abandoned,
            reason: format!(
                "not paid within {} hours (Paystack status {})",
                abandon_after.as_secs() / 3600,
                clip(other.as_str())
            ),
            paystack_id: verified.id,
        },
        other => Decision::Wait {
            reason: format!("Paystack status {}", clip(other.as_str())),
            paystack_id: verified.id,
        },
    }
}

/// Why a `success` answer is not the payment we issued, if it is not.
fn disagreement(transaction: &Transaction, verified: &VerifiedTransaction) -> Option<String> {
    if verified.amount_kobo != transaction.amount_kobo {
        return Some(format!(
            "verify says {} kobo were paid, {} were due",
            verified.amount_kobo, transaction.amount_kobo
        ));
    }
    if verified.currency != transaction.currency {
        return Some(format!(
            "verify says the payment was in {}, not {}",
            clip(&verified.currency),
            transaction.currency
        ));
    }
    metadata_disagreement(transaction, &verified.metadata)
}

/// The metadata we sent at initialize comes back with the transaction. When it is there,
/// every key we know must name this transaction; keys we never send are ignored.
fn metadata_disagreement(transaction: &Transaction, metadata: &Value) -> Option<String> {
    // Paystack sometimes returns metadata as the JSON text of the object.
    let parsed;
    let fields = match metadata {
        Value::Object(fields) => fields,
        Value::String(text) if text.trim().is_empty() => return None,
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(fields)) => {
                parsed = fields;
                &parsed
            }
            _ => return Some("verify metadata is text that is not a JSON object".into()),
        },
        Value::Null => return None,
        _ => return Some("verify metadata is not an object".into()),
    };
    let expected = [
        ("transaction_id", Some(transaction.id.to_string())),
        ("type", Some(transaction.kind().as_str().to_owned())),
        ("payer_id", Some(transaction.payer_id.to_string())),
        (
            "property_id",
            transaction.subject.property_id().map(|id| id.to_string()),
        ),
        (
            "lease_id",
            transaction.subject.lease_id().map(|id| id.to_string()),
        ),
    ];
    for (key, ours) in expected {
        let Some(theirs) = fields.get(key) else {
            continue;
        };
        if theirs.is_null() && ours.is_none() {
            continue;
        }
        let same = match (theirs.as_str(), ours.as_deref()) {
            (Some(theirs), Some(ours)) => theirs.trim().eq_ignore_ascii_case(ours),
            _ => false,
        };
        if !same {
            return Some(format!(
                "verify metadata {key} is {}, not {}",
                clip(&theirs.to_string()),
                ours.as_deref().unwrap_or("absent")
            ));
        }
    }
    None
}

/// Outside text in our own messages, cut short.
fn clip(text: &str) -> String {
    const MAX: usize = 120;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;
    use crate::transaction::{Kind, Subject, reference_for};

    const DAY: Duration = Duration::from_secs(24 * 3600);
    const NOW: OffsetDateTime = datetime!(2026-05-01 12:00:00 UTC);

    fn unlock() -> Transaction {
        let id = Uuid::now_v7();
        Transaction {
            id,
            reference: reference_for(Kind::ContactUnlock, id),
            status: Status::Pending,
            amount_kobo: 500_000,
            currency: "NGN".into(),
            payer_id: Uuid::now_v7(),
            subject: Subject::Property(Uuid::now_v7()),
            subaccount_code: None,
            authorization_url: Some("https://checkout.paystack.com/x".into()),
            access_code: Some("x".into()),
            paystack_id: None,
            status_reason: String::new(),
            created_at: NOW - Duration::from_secs(600),
            updated_at: NOW,
            paid_at: None,
            verify_attempts: 0,
        }
    }

    fn paid(t: &Transaction) -> VerifiedTransaction {
        VerifiedTransaction {
            id: 4_099_260_516,
            status: TransactionStatus::Success,
            reference: t.reference.clone(),
            amount_kobo: t.amount_kobo,
            currency: "NGN".into(),
            paid_at: Some(NOW - Duration::from_secs(30)),
            gateway_response: Some("Successful".into()),
            customer_email: Some("ada@example.ng".into()),
            metadata: json!({
                "transaction_id": t.id.to_string(),
                "type": "CONTACT_UNLOCK",
                "payer_id": t.payer_id.to_string(),
                "property_id": t.subject.property_id().map(|p| p.to_string()),
            }),
        }
    }

    fn decide_now(t: &Transaction, v: &VerifiedTransaction) -> Decision {
        decide(t, v, NOW, DAY)
    }

    #[test]
    fn a_payment_exactly_as_issued_is_granted() {
        let t = unlock();
        assert_eq!(
            decide_now(&t, &paid(&t)),
            Decision::Grant {
                paystack_id: 4_099_260_516,
                paid_at: NOW - Duration::from_secs(30)
            }
        );
        // Without metadata (nothing to compare) or without paid_at (now is used).
        let bare = VerifiedTransaction {
            metadata: Value::Null,
            paid_at: None,
            ..paid(&t)
        };
        assert!(matches!(decide_now(&t, &bare), Decision::Grant { paid_at, .. } if paid_at == NOW));
        // Metadata as JSON text, as Paystack sometimes returns it.
        let text = VerifiedTransaction {
            metadata: Value::String(paid(&t).metadata.to_string()),
            ..paid(&t)
        };
        assert!(matches!(decide_now(&t, &text), Decision::Grant { .. }));
    }

    #[test]
    fn a_success_that_disagrees_grants_nothing_and_says_why() {
        let t = unlock();
        let cases = [
            (
                VerifiedTransaction {
                    amount_kobo: 400_000,
                    ..paid(&t)
                },
                "400000 kobo",
            ),
            (
                VerifiedTransaction {
                    amount_kobo: 500_001,
                    ..paid(&t)
                },
                "500001",
            ),
            (
                VerifiedTransaction {
                    currency: "USD".into(),
                    ..paid(&t)
                },
                "USD",
            ),
            (
                VerifiedTransaction {
                    reference: "ul-someone-else".into(),
                    ..paid(&t)
                },
                "ul-someone-else",
            ),
            (
                VerifiedTransaction {
                    metadata: json!({"payer_id": Uuid::now_v7().to_string()}),
                    ..paid(&t)
                },
                "payer_id",
            ),
            (
                VerifiedTransaction {
                    metadata: json!({"property_id": Uuid::now_v7().to_string()}),
                    ..paid(&t)
                },
                "property_id",
            ),
            (
                VerifiedTransaction {
                    metadata: json!({"lease_id": Uuid::now_v7().to_string()}),
                    ..paid(&t)
                },
                "lease_id",
            ),
            (
                VerifiedTransaction {
                    metadata: json!({"type": "RENT"}),
                    ..paid(&t)
                },
                "type",
            ),
            (
                VerifiedTransaction {
                    metadata: json!({"transaction_id": 7}),
                    ..paid(&t)
                },
                "transaction_id",
            ),
            (
                VerifiedTransaction {
                    metadata: json!([1]),
                    ..paid(&t)
                },
                "not an object",
            ),
            (
                VerifiedTransaction {
                    metadata: json!("{oops"),
                    ..paid(&t)
                },
                "not a JSON object",
            ),
        ];
        for (verified, why) in cases {
            match decide_now(&t, &verified) {
                Decision::Mismatch { reason } => assert!(reason.contains(why), "{reason}"),
                other => panic!("{why}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_reference_mismatch_wins_whatever_the_status() {
        let t = unlock();
        let failed_elsewhere = VerifiedTransaction {
            reference: "ul-other".into(),
            status: TransactionStatus::Failed,
            ..paid(&t)
        };
        assert!(matches!(
            decide_now(&t, &failed_elsewhere),
            Decision::Mismatch { .. }
        ));
    }

    #[test]
    fn failures_close_and_unfinished_payments_wait_until_overdue() {
        let t = unlock();
        let with = |status| VerifiedTransaction {
            status,
            gateway_response: Some("Declined".into()),
            ..paid(&t)
        };
        assert_eq!(
            decide_now(&t, &with(TransactionStatus::Failed)),
            Decision::Close {
                status: Status::Failed,
                reason: "Paystack reports the payment failed: Declined".into(),
                paystack_id: 4_099_260_516,
            }
        );
        assert!(matches!(
            decide_now(&t, &with(TransactionStatus::Reversed)),
            Decision::Close {
                status: Status::Failed,
                ..
            }
        ));
        for status in [
            TransactionStatus::Abandoned,
            TransactionStatus::Ongoing,
            TransactionStatus::Pending,
            TransactionStatus::Processing,
            TransactionStatus::Queued,
            TransactionStatus::Other("weird".into()),
        ] {
            let word = status.as_str().to_owned();
            match decide_now(&t, &with(status.clone())) {
                Decision::Wait { reason, .. } => assert!(reason.contains(&word), "{reason}"),
                other => panic!("{word}: {other:?}"),
            }
            let old = Transaction {
                created_at: NOW - DAY,
                ..t.clone()
            };
            match decide(&old, &with(status), NOW, DAY) {
                Decision::Close {
                    status: Status::Abandoned,
                    reason,
                    ..
                } => assert!(reason.contains("24 hours"), "{reason}"),
                other => panic!("{word} overdue: {other:?}"),
            }
        }
    }

    #[test]
    fn rent_metadata_names_the_lease() {
        let id = Uuid::now_v7();
        let lease = Uuid::now_v7();
        let rent = Transaction {
            id,
            reference: reference_for(Kind::Rent, id),
            subject: Subject::Lease(lease),
            amount_kobo: 250_000_000,
            ..unlock()
        };
        let verified = VerifiedTransaction {
            metadata: json!({
                "transaction_id": id.to_string(),
                "type": "RENT",
                "payer_id": rent.payer_id.to_string(),
                "lease_id": lease.to_string(),
                "property_id": null,
            }),
            ..paid(&rent)
        };
        assert!(matches!(
            decide_now(&rent, &verified),
            Decision::Grant { .. }
        ));
        let claims_a_property = VerifiedTransaction {
            metadata: json!({"property_id": Uuid::now_v7().to_string()}),
            ..paid(&rent)
        };
        assert!(matches!(
            decide_now(&rent, &claims_a_property),
            Decision::Mismatch { .. }
        ));
    }

    #[test]
    fn outside_text_is_clipped() {
        assert_eq!(clip("short"), "short");
        assert_eq!(clip(&"x".repeat(500)).chars().count(), 121);
    }
}
