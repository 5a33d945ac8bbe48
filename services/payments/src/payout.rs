//! Where a landlord's rent goes: their bank account as a Paystack subaccount, so a rent
//! payment is split at Paystack. Only the bank code, the last four digits of the account
//! number and the subaccount code are kept.

use rentory_proto::payments::v1 as pb;
use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Violations};

pub const MAX_BUSINESS_NAME_CHARS: usize = 100;

/// A payout account request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    pub business_name: String,
    /// Paystack's bank code: three digits (058 is GTBank).
    pub bank_code: String,
    /// NUBAN: ten digits.
    pub account_number: String,
}

impl BankAccount {
    /// Checks every field, naming each bad one.
    pub fn check(request: &pb::SetPayoutAccountRequest) -> Result<Self, Violations> {
        let mut problems = Violations::new();
        let business_name = request.business_name.trim().to_owned();
        let chars = business_name.chars().count();
        if chars == 0 {
            problems.push(("business_name", "is required".into()));
        } else if chars > MAX_BUSINESS_NAME_CHARS {
            problems.push((
                "business_name",
                format!("at most {MAX_BUSINESS_NAME_CHARS} characters"),
            ));
        } else if business_name.chars().any(char::is_control) {
            problems.push((
                "business_name",
                "must not contain control characters".into(),
            ));
        }
        let bank_code = request.bank_code.trim().to_owned();
        if !digits(&bank_code, 3) {
            problems.push(("bank_code", "three digits (Paystack's bank code)".into()));
        }
        let account_number = request.account_number.trim().to_owned();
        if !digits(&account_number, 10) {
            problems.push(("account_number", "ten digits (NUBAN)".into()));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            business_name,
            bank_code,
            account_number,
        })
    }

    pub fn last4(&self) -> &str {
        &self.account_number[self.account_number.len() - 4..]
    }
}

fn digits(text: &str, count: usize) -> bool {
    text.len() == count && text.bytes().all(|b| b.is_ascii_digit())
}

/// A landlord's payout account as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PayoutAccount {
    pub landlord_id: Uuid,
    pub business_name: String,
    pub bank_code: String,
    pub account_number_last4: String,
    pub subaccount_code: String,
    pub updated_at: OffsetDateTime,
}

impl PayoutAccount {
    pub fn to_proto(&self) -> pb::PayoutAccount {
        pb::PayoutAccount {
            landlord_id: self.landlord_id.to_string(),
            business_name: self.business_name.clone(),
            bank_code: self.bank_code.clone(),
            account_number_last4: self.account_number_last4.clone(),
            subaccount_code: self.subaccount_code.clone(),
            updated_at: Some(rentory_proto::timestamp(self.updated_at)),
        }
    }
}

/// Stores (or replaces) `landlord_id`'s payout account.
#[tracing::instrument(skip_all)]
pub async fn save(
    db: impl PgExecutor<'_>,
    landlord_id: Uuid,
    account: &BankAccount,
    subaccount_code: &str,
) -> Result<PayoutAccount, Error> {
    Ok(sqlx::query_as!(
        PayoutAccount,
        r#"INSERT INTO payments.payout_accounts
             (landlord_id, business_name, bank_code, account_number_last4, subaccount_code)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (landlord_id) DO UPDATE
           SET business_name = EXCLUDED.business_name, bank_code = EXCLUDED.bank_code,
               account_number_last4 = EXCLUDED.account_number_last4,
               subaccount_code = EXCLUDED.subaccount_code, updated_at = now()
           RETURNING landlord_id, business_name, bank_code, account_number_last4,
                     subaccount_code, updated_at"#,
        landlord_id,
        account.business_name,
        account.bank_code,
        account.last4(),
        subaccount_code,
    )
    .fetch_one(db)
    .await?)
}

#[tracing::instrument(skip_all)]
pub async fn find(
    db: impl PgExecutor<'_>,
    landlord_id: Uuid,
) -> Result<Option<PayoutAccount>, Error> {
    Ok(sqlx::query_as!(
        PayoutAccount,
        r#"SELECT landlord_id, business_name, bank_code, account_number_last4, subaccount_code,
                  updated_at
           FROM payments.payout_accounts WHERE landlord_id = $1"#,
        landlord_id
    )
    .fetch_optional(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, bank: &str, account: &str) -> pb::SetPayoutAccountRequest {
        pb::SetPayoutAccountRequest {
            business_name: name.into(),
            bank_code: bank.into(),
            account_number: account.into(),
        }
    }

    #[test]
    fn a_valid_account_is_trimmed_and_keeps_four_digits_for_show() {
        let account =
            BankAccount::check(&request(" Okafor Homes ", "058", " 0123456789")).expect("valid");
        assert_eq!(account.business_name, "Okafor Homes");
        assert_eq!(account.account_number, "0123456789");
        assert_eq!(account.last4(), "6789");
    }

    #[test]
    fn every_bad_field_is_named() {
        let problems = BankAccount::check(&request("", "58", "12345")).expect_err("refused");
        let fields: Vec<_> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["business_name", "bank_code", "account_number"]);
        for (bank, account) in [
            ("05a", "0123456789"),
            ("058", "012345678x"),
            ("0588", "0123456789"),
            ("058", "01234567890"),
        ] {
            assert!(
                BankAccount::check(&request("x", bank, account)).is_err(),
                "{bank} {account}"
            );
        }
        assert!(BankAccount::check(&request(&"x".repeat(101), "058", "0123456789")).is_err());
        assert!(BankAccount::check(&request("a\u{0}b", "058", "0123456789")).is_err());
        // Non-ASCII digits are not digits here.
        assert!(BankAccount::check(&request("x", "٠٥٨", "0123456789")).is_err());
    }
}
