//! The simulator's memory: transactions, refunds, subaccounts and customers, with the rules
//! Paystack applies to them. No I/O, so every rule is tested directly.

use std::collections::HashMap;

use rand::Rng as _;
use serde_json::Value;
use time::OffsetDateTime;
use url::Url;

/// Beyond this many transactions the simulator refuses new ones instead of growing
/// without bound (it keeps everything in memory).
pub const MAX_TRANSACTIONS: usize = 100_000;
const MAX_SUBACCOUNTS: usize = 10_000;

/// A refusal worded as Paystack words it, with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub status: u16,
    pub message: String,
}

impl Refusal {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

/// A checked `initialize` request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NewTransaction {
    pub email: String,
    pub amount_kobo: i64,
    /// `None`: the simulator makes one up, like Paystack.
    pub reference: Option<String>,
    pub callback_url: Option<Url>,
    pub metadata: Value,
    pub subaccount: Option<String>,
    pub bearer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Initialized, nobody has paid: Paystack reports it as `abandoned`.
    Open,
    Paid {
        paid_at: OffsetDateTime,
    },
    Declined {
        at: OffsetDateTime,
    },
    /// Paid, then refunded (in part or in whole).
    Reversed {
        paid_at: OffsetDateTime,
    },
}

impl State {
    pub(crate) fn paystack_status(self) -> &'static str {
        match self {
            State::Open => "abandoned",
            State::Paid { .. } => "success",
            State::Declined { .. } => "failed",
            State::Reversed { .. } => "reversed",
        }
    }

    pub(crate) fn paid_at(self) -> Option<OffsetDateTime> {
        match self {
            State::Paid { paid_at } | State::Reversed { paid_at } => Some(paid_at),
            State::Open | State::Declined { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RefundRecord {
    pub id: i64,
    pub amount_kobo: i64,
    pub merchant_note: Option<String>,
    pub customer_note: Option<String>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Transaction {
    pub id: i64,
    pub reference: String,
    pub access_code: String,
    pub email: String,
    pub customer_id: i64,
    pub customer_code: String,
    pub amount_kobo: i64,
    pub metadata: Value,
    pub callback_url: Option<Url>,
    pub subaccount: Option<String>,
    pub bearer: Option<String>,
    pub created_at: OffsetDateTime,
    pub state: State,
    pub authorization_code: String,
    pub refunds: Vec<RefundRecord>,
}

impl Transaction {
    pub(crate) fn refunded_kobo(&self) -> i64 {
        self.refunds.iter().map(|r| r.amount_kobo).sum()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SubaccountRecord {
    pub id: i64,
    pub code: String,
    pub business_name: String,
    pub settlement_bank: String,
    pub account_number: String,
    pub percentage_charge: f64,
    pub created_at: OffsetDateTime,
}

/// What the payer chose on the checkout page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Choice {
    Pay,
    Decline,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SettleError {
    UnknownCheckout,
    /// Paid, declined or refunded already; the transaction as it stands.
    AlreadySettled(Box<Transaction>),
}

#[derive(Debug)]
pub(crate) struct Ledger {
    transactions: HashMap<String, Transaction>,
    access_codes: HashMap<String, String>,
    ids: HashMap<i64, String>,
    subaccounts: HashMap<String, SubaccountRecord>,
    customers: HashMap<String, (i64, String)>,
    next_id: i64,
}

impl Ledger {
    /// Ids start from the clock (microsecond-scaled milliseconds), so a restarted
    /// simulator does not hand out an id it gave before: receivers deduplicate webhooks by
    /// `<event>:<id>`.
    pub(crate) fn new(now: OffsetDateTime) -> Self {
        let millis = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        Self::starting_at(millis.max(1).saturating_mul(1000))
    }

    pub(crate) fn starting_at(first_id: i64) -> Self {
        Self {
            transactions: HashMap::new(),
            access_codes: HashMap::new(),
            ids: HashMap::new(),
            subaccounts: HashMap::new(),
            customers: HashMap::new(),
            next_id: first_id,
        }
    }

    fn take_id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        id
    }

    pub(crate) fn initialize(
        &mut self,
        new: NewTransaction,
        now: OffsetDateTime,
    ) -> Result<&Transaction, Refusal> {
        if self.transactions.len() >= MAX_TRANSACTIONS {
            return Err(Refusal::new(
                503,
                "The checkout simulator is full; restart it to forget old transactions",
            ));
        }
        let reference = match new.reference {
            Some(reference) => reference,
            None => loop {
                let candidate = random_code(10);
                if !self.transactions.contains_key(&candidate) {
                    break candidate;
                }
            },
        };
        if self.transactions.contains_key(&reference) {
            return Err(Refusal::new(400, "Duplicate Transaction Reference"));
        }
        if let Some(code) = &new.subaccount
            && !self.subaccounts.contains_key(code)
            // A restart forgets subaccounts the payments service still has on record.
            && !code.starts_with("ACCT_")
        {
            return Err(Refusal::new(400, "Subaccount not found"));
        }
        let access_code = loop {
            let candidate = random_code(15);
            if !self.access_codes.contains_key(&candidate) {
                break candidate;
            }
        };
        let email_key = new.email.to_ascii_lowercase();
        let (customer_id, customer_code) = match self.customers.get(&email_key) {
            Some(customer) => customer.clone(),
            None => {
                let customer = (self.take_id(), format!("CUS_{}", random_code(15)));
                self.customers.insert(email_key, customer.clone());
                customer
            }
        };
        let id = self.take_id();
        let transaction = Transaction {
            id,
            reference: reference.clone(),
            access_code: access_code.clone(),
            email: new.email,
            customer_id,
            customer_code,
            amount_kobo: new.amount_kobo,
            metadata: new.metadata,
            callback_url: new.callback_url,
            subaccount: new.subaccount,
            bearer: new.bearer,
            created_at: now,
            state: State::Open,
            authorization_code: format!("AUTH_{}", random_code(10)),
            refunds: Vec::new(),
        };
        self.access_codes.insert(access_code, reference.clone());
        self.ids.insert(id, reference.clone());
        Ok(self.transactions.entry(reference).or_insert(transaction))
    }

    pub(crate) fn by_reference(&self, reference: &str) -> Option<&Transaction> {
        self.transactions.get(reference)
    }

    pub(crate) fn by_access_code(&self, access_code: &str) -> Option<&Transaction> {
        self.access_codes
            .get(access_code)
            .and_then(|reference| self.transactions.get(reference))
    }

    /// Pays or declines an open checkout, once.
    pub(crate) fn settle(
        &mut self,
        access_code: &str,
        choice: Choice,
        now: OffsetDateTime,
    ) -> Result<&Transaction, SettleError> {
        let transaction = self
            .access_codes
            .get(access_code)
            .and_then(|reference| self.transactions.get_mut(reference))
            .ok_or(SettleError::UnknownCheckout)?;
        if transaction.state != State::Open {
            return Err(SettleError::AlreadySettled(Box::new(transaction.clone())));
        }
        transaction.state = match choice {
            Choice::Pay => State::Paid { paid_at: now },
            Choice::Decline => State::Declined { at: now },
        };
        Ok(transaction)
    }

    /// Refunds `amount_kobo` (all that is left when `None`) of a paid transaction named by
    /// its reference or its id.
    pub(crate) fn refund(
        &mut self,
        transaction: &str,
        amount_kobo: Option<i64>,
        merchant_note: Option<String>,
        customer_note: Option<String>,
        now: OffsetDateTime,
    ) -> Result<(RefundRecord, Transaction), Refusal> {
        let reference = if self.transactions.contains_key(transaction) {
            transaction.to_owned()
        } else {
            transaction
                .parse::<i64>()
                .ok()
                .and_then(|id| self.ids.get(&id))
                .cloned()
                .ok_or_else(|| Refusal::new(404, "Transaction not found"))?
        };
        let refund_id = self.take_id();
        let Some(record) = self.transactions.get_mut(&reference) else {
            return Err(Refusal::new(404, "Transaction not found"));
        };
        let paid_at = match record.state {
            State::Paid { paid_at } | State::Reversed { paid_at } => paid_at,
            State::Open | State::Declined { .. } => {
                return Err(Refusal::new(
                    400,
                    "Cannot refund a transaction that was not successful",
                ));
            }
        };
        let left = record.amount_kobo - record.refunded_kobo();
        if left <= 0 {
            return Err(Refusal::new(400, "Transaction has been fully reversed"));
        }
        let amount = amount_kobo.unwrap_or(left);
        if amount <= 0 {
            return Err(Refusal::new(400, "Refund amount must be greater than zero"));
        }
        if amount > left {
            return Err(Refusal::new(
                400,
                "Refund amount cannot be more than the unrefunded balance of the transaction",
            ));
        }
        let refund = RefundRecord {
            id: refund_id,
            amount_kobo: amount,
            merchant_note,
            customer_note,
            created_at: now,
        };
        record.refunds.push(refund.clone());
        record.state = State::Reversed { paid_at };
        Ok((refund, record.clone()))
    }

    pub(crate) fn create_subaccount(
        &mut self,
        business_name: String,
        settlement_bank: String,
        account_number: String,
        percentage_charge: f64,
        now: OffsetDateTime,
    ) -> Result<&SubaccountRecord, Refusal> {
        if self.subaccounts.len() >= MAX_SUBACCOUNTS {
            return Err(Refusal::new(503, "The checkout simulator is full"));
        }
        let code = loop {
            let candidate = format!("ACCT_{}", random_code(14));
            if !self.subaccounts.contains_key(&candidate) {
                break candidate;
            }
        };
        let record = SubaccountRecord {
            id: self.take_id(),
            code: code.clone(),
            business_name,
            settlement_bank,
            account_number,
            percentage_charge,
            created_at: now,
        };
        Ok(self.subaccounts.entry(code).or_insert(record))
    }
}

/// Lowercase letters and digits, like Paystack's references and access codes.
pub(crate) fn random_code(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-05-24 10:00:00 UTC);
    const LATER: OffsetDateTime = datetime!(2026-05-24 10:05:00 UTC);

    fn new(reference: Option<&str>) -> NewTransaction {
        NewTransaction {
            email: "tenant@example.com".into(),
            amount_kobo: 500_000,
            reference: reference.map(str::to_owned),
            callback_url: None,
            metadata: json!({"type": "CONTACT_UNLOCK"}),
            subaccount: None,
            bearer: None,
        }
    }

    /// A ledger with checkout "r-1" open, and its access code.
    fn one_open_checkout() -> (Ledger, String) {
        let mut ledger = Ledger::starting_at(1);
        let code = ledger
            .initialize(new(Some("r-1")), NOW)
            .unwrap()
            .access_code
            .clone();
        (ledger, code)
    }

    #[test]
    fn initialize_opens_an_abandoned_transaction_with_fresh_codes() {
        let mut ledger = Ledger::starting_at(100);
        let first = ledger.initialize(new(Some("r-1")), NOW).unwrap().clone();
        assert_eq!(first.reference, "r-1");
        assert_eq!(first.state.paystack_status(), "abandoned");
        assert_eq!(first.access_code.len(), 15);
        let second = ledger.initialize(new(None), NOW).unwrap().clone();
        assert_eq!(second.reference.len(), 10);
        assert_ne!(first.id, second.id);
        assert_ne!(first.access_code, second.access_code);
        // One customer per email, as at Paystack.
        assert_eq!(first.customer_id, second.customer_id);
        assert_eq!(
            ledger.by_access_code(&first.access_code).unwrap().reference,
            "r-1"
        );
    }

    #[test]
    fn a_reference_is_used_once() {
        let mut ledger = Ledger::starting_at(1);
        ledger.initialize(new(Some("r-1")), NOW).unwrap();
        assert_eq!(
            ledger.initialize(new(Some("r-1")), NOW).unwrap_err(),
            Refusal::new(400, "Duplicate Transaction Reference")
        );
    }

    #[test]
    fn ids_from_the_clock_grow_across_restarts() {
        let before = Ledger::new(NOW).next_id;
        let after = Ledger::new(NOW + time::Duration::milliseconds(1)).next_id;
        assert!(after >= before + 1000);
    }

    #[test]
    fn a_checkout_settles_once() {
        let (mut ledger, code) = one_open_checkout();
        let paid = ledger.settle(&code, Choice::Pay, LATER).unwrap();
        assert_eq!(paid.state, State::Paid { paid_at: LATER });
        assert_eq!(paid.state.paystack_status(), "success");
        for choice in [Choice::Pay, Choice::Decline] {
            let Err(SettleError::AlreadySettled(transaction)) = ledger.settle(&code, choice, LATER)
            else {
                panic!("settled twice")
            };
            assert_eq!(transaction.state.paystack_status(), "success");
        }
        assert_eq!(
            ledger.settle("nope", Choice::Pay, LATER).unwrap_err(),
            SettleError::UnknownCheckout
        );
    }

    #[test]
    fn a_declined_checkout_fails_and_cannot_be_paid() {
        let (mut ledger, code) = one_open_checkout();
        let declined = ledger.settle(&code, Choice::Decline, LATER).unwrap();
        assert_eq!(declined.state.paystack_status(), "failed");
        assert_eq!(declined.state.paid_at(), None);
        assert!(matches!(
            ledger.settle(&code, Choice::Pay, LATER),
            Err(SettleError::AlreadySettled(_))
        ));
    }

    #[test]
    fn refunds_reverse_paid_transactions_up_to_the_amount() {
        let mut ledger = Ledger::starting_at(1);
        let opened = ledger.initialize(new(Some("r-1")), NOW).unwrap().clone();
        assert_eq!(
            ledger
                .refund("r-1", None, None, None, LATER)
                .unwrap_err()
                .status,
            400,
            "an unpaid transaction cannot be refunded"
        );
        ledger
            .settle(&opened.access_code, Choice::Pay, LATER)
            .unwrap();

        let (refund, after) = ledger
            .refund(
                &opened.id.to_string(),
                Some(200_000),
                Some("goodwill".into()),
                None,
                LATER,
            )
            .unwrap();
        assert_eq!(refund.amount_kobo, 200_000);
        assert_eq!(after.state.paystack_status(), "reversed");
        assert_eq!(after.state.paid_at(), Some(LATER));
        assert_eq!(
            ledger
                .refund("r-1", Some(300_001), None, None, LATER)
                .unwrap_err()
                .status,
            400
        );
        let (rest, after) = ledger.refund("r-1", None, None, None, LATER).unwrap();
        assert_eq!(rest.amount_kobo, 300_000);
        assert_eq!(after.refunded_kobo(), 500_000);
        assert_eq!(
            ledger.refund("r-1", None, None, None, LATER).unwrap_err(),
            Refusal::new(400, "Transaction has been fully reversed")
        );
        assert_eq!(
            ledger
                .refund("r-2", None, None, None, LATER)
                .unwrap_err()
                .status,
            404
        );
    }

    #[test]
    fn subaccounts_are_known_or_look_like_ours() {
        let mut ledger = Ledger::starting_at(1);
        let code = ledger
            .create_subaccount(
                "Adaeze Lettings".into(),
                "058".into(),
                "0123456789".into(),
                10.0,
                NOW,
            )
            .unwrap()
            .code
            .clone();
        assert!(code.starts_with("ACCT_"));
        let mut split = new(Some("r-1"));
        split.subaccount = Some(code);
        assert!(ledger.initialize(split, NOW).is_ok());
        let mut forgotten = new(Some("r-2"));
        forgotten.subaccount = Some("ACCT_fromlastrun".into());
        assert!(ledger.initialize(forgotten, NOW).is_ok());
        let mut bogus = new(Some("r-3"));
        bogus.subaccount = Some("nonsense".into());
        assert_eq!(ledger.initialize(bogus, NOW).unwrap_err().status, 400);
    }
}
