//! The signing state machine (spec 4.3): the five states, what can be done to a lease, and the
//! ONE transition table ([`next`]). Who may take an action is a separate rule
//! ([`crate::access`]); this module only says which moves exist.
//!
//! [`Signing`] is the aggregate the handlers run: the status plus which parties have signed.
//! Every accepted action returns exactly one [`Transition`], which is what the audit log
//! records, so "one audit row per transition" holds by construction.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Draft,
    SignedByLandlord,
    SignedByTenant,
    PendingAdmin,
    FullySigned,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Draft,
        Status::SignedByLandlord,
        Status::SignedByTenant,
        Status::PendingAdmin,
        Status::FullySigned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::SignedByLandlord => "SIGNED_BY_LANDLORD",
            Self::SignedByTenant => "SIGNED_BY_TENANT",
            Self::PendingAdmin => "PENDING_ADMIN",
            Self::FullySigned => "FULLY_SIGNED",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown lease status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.chars().take(40).collect()))
    }
}

/// The two people a lease is between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    Landlord,
    Tenant,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Landlord => "LANDLORD",
            Self::Tenant => "TENANT",
        }
    }
}

/// What can be done to a lease once it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The landlord replaces the content (a new version).
    Edit,
    Sign(Party),
    /// The landlord takes a partly signed lease back to DRAFT, clearing signatures.
    Withdraw,
    /// ADMIN or a compliance officer approves a lease both parties signed.
    Authorize,
}

/// A move the table does not have; the caller is told the current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the lease is {current}: that is not possible now")]
pub struct Refused {
    pub current: Status,
}

/// THE transition table. Anything not listed is refused.
pub fn next(status: Status, action: Action) -> Result<Status, Refused> {
    use Action::*;
    use Party::*;
    use Status::*;
    match (status, action) {
        (Draft, Edit) => Ok(Draft),
        (Draft, Sign(Landlord)) => Ok(SignedByLandlord),
        (Draft, Sign(Tenant)) => Ok(SignedByTenant),
        (SignedByLandlord, Sign(Tenant)) | (SignedByTenant, Sign(Landlord)) => Ok(PendingAdmin),
        (SignedByLandlord | SignedByTenant, Withdraw) => Ok(Draft),
        (PendingAdmin, Authorize) => Ok(FullySigned),
        (current, _) => Err(Refused { current }),
    }
}

/// One accepted change, as the audit log records it (`from` is `None` on creation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: Option<Status>,
    pub to: Status,
}

/// The status of a lease and who has signed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signing {
    pub status: Status,
    pub landlord_signed: bool,
    pub tenant_signed: bool,
}

impl Signing {
    /// A new draft, and the transition that records its creation.
    pub fn drafted() -> (Self, Transition) {
        (
            Self {
                status: Status::Draft,
                landlord_signed: false,
                tenant_signed: false,
            },
            Transition {
                from: None,
                to: Status::Draft,
            },
        )
    }

    /// The lease after `action`, and the one transition to record; or why not.
    pub fn apply(self, action: Action) -> Result<(Self, Transition), Refused> {
        let to = next(self.status, action)?;
        let mut after = Self { status: to, ..self };
        match action {
            Action::Sign(Party::Landlord) => after.landlord_signed = true,
            Action::Sign(Party::Tenant) => after.tenant_signed = true,
            // Signatures were given on the old text; going back to DRAFT voids them.
            Action::Withdraw => {
                after.landlord_signed = false;
                after.tenant_signed = false;
            }
            Action::Edit | Action::Authorize => {}
        }
        Ok((
            after,
            Transition {
                from: Some(self.status),
                to,
            },
        ))
    }

    /// Whether `party` has signed the current text.
    pub fn has_signed(self, party: Party) -> bool {
        match party {
            Party::Landlord => self.landlord_signed,
            Party::Tenant => self.tenant_signed,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const ACTIONS: [Action; 5] = [
        Action::Edit,
        Action::Sign(Party::Landlord),
        Action::Sign(Party::Tenant),
        Action::Withdraw,
        Action::Authorize,
    ];

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_refused() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        assert!("draft".parse::<Status>().is_err());
        assert!("".parse::<Status>().is_err());
    }

    #[test]
    fn the_table_has_exactly_the_spec_edges() {
        use Status::*;
        let expected = [
            (Draft, Action::Edit, Draft),
            (Draft, Action::Sign(Party::Landlord), SignedByLandlord),
            (Draft, Action::Sign(Party::Tenant), SignedByTenant),
            (SignedByLandlord, Action::Sign(Party::Tenant), PendingAdmin),
            (SignedByTenant, Action::Sign(Party::Landlord), PendingAdmin),
            (SignedByLandlord, Action::Withdraw, Draft),
            (SignedByTenant, Action::Withdraw, Draft),
            (PendingAdmin, Action::Authorize, FullySigned),
        ];
        let mut accepted = 0;
        for status in Status::ALL {
            for action in ACTIONS {
                match next(status, action) {
                    Ok(to) => {
                        accepted += 1;
                        assert!(
                            expected.contains(&(status, action, to)),
                            "{status} + {action:?} -> {to} is not in the spec"
                        );
                    }
                    Err(refused) => assert_eq!(refused.current, status),
                }
            }
        }
        assert_eq!(accepted, expected.len());
    }

    #[test]
    fn a_party_cannot_sign_twice_and_fully_signed_is_final() {
        assert!(next(Status::SignedByLandlord, Action::Sign(Party::Landlord)).is_err());
        assert!(next(Status::SignedByTenant, Action::Sign(Party::Tenant)).is_err());
        for action in ACTIONS {
            assert_eq!(
                next(Status::FullySigned, action),
                Err(Refused {
                    current: Status::FullySigned
                })
            );
        }
        // Withdrawal is only possible before PENDING_ADMIN.
        assert!(next(Status::PendingAdmin, Action::Withdraw).is_err());
        assert!(next(Status::Draft, Action::Withdraw).is_err());
    }

    #[test]
    fn withdrawal_clears_both_signatures() {
        let (draft, _) = Signing::drafted();
        let (signed, _) = draft.apply(Action::Sign(Party::Tenant)).unwrap();
        assert!(signed.tenant_signed && !signed.landlord_signed);
        let (back, t) = signed.apply(Action::Withdraw).unwrap();
        assert_eq!(back, draft);
        assert_eq!(
            t,
            Transition {
                from: Some(Status::SignedByTenant),
                to: Status::Draft
            }
        );
    }

    mod model {
        //! Random sequences of (actor, action) against the aggregate and the access rule,
        //! as the handlers combine them.
        use proptest::prelude::*;

        use super::super::*;
        use crate::access::{self, Caller, Op, Standing};

        fn standing() -> impl Strategy<Value = Standing> {
            prop_oneof![
                Just(Standing::Landlord),
                Just(Standing::Tenant),
                Just(Standing::Admin),
                Just(Standing::ComplianceOfficer),
                Just(Standing::Staff),
                Just(Standing::Outsider),
            ]
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                Just(Op::Edit),
                Just(Op::Sign),
                Just(Op::Withdraw),
                Just(Op::Authorize),
            ]
        }

        /// What a handler does: the access rule decides who acts and as which party, then
        /// the table decides whether the move exists.
        fn attempt(
            lease: Signing,
            caller: Caller,
            op: Op,
        ) -> Option<(Signing, Transition, Action)> {
            let action = match (op, access::decide(caller, op).ok()?) {
                (Op::Sign, Some(party)) => Action::Sign(party),
                (Op::Edit, _) => Action::Edit,
                (Op::Withdraw, _) => Action::Withdraw,
                (Op::Authorize, _) => Action::Authorize,
                _ => return None,
            };
            let (after, transition) = lease.apply(action).ok()?;
            Some((after, transition, action))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            #[test]
            fn only_table_edges_are_taken_and_each_writes_one_audit_row(
                steps in prop::collection::vec((standing(), any::<bool>(), op()), 0..40)
            ) {
                let (mut lease, created) = Signing::drafted();
                let mut audit = vec![created];
                let mut accepted = 1;
                let mut fully_signed = false;
                for (standing, active, op) in steps {
                    let before = lease;
                    let caller = Caller { standing, active };
                    match attempt(lease, caller, op) {
                        Some((after, transition, action)) => {
                            prop_assert!(!fully_signed, "nothing is accepted after FULLY_SIGNED");
                            prop_assert_eq!(next(before.status, action), Ok(after.status));
                            prop_assert_eq!(transition.from, Some(before.status));
                            prop_assert_eq!(transition.to, after.status);
                            if after.status == Status::PendingAdmin {
                                prop_assert!(after.landlord_signed && after.tenant_signed,
                                    "PENDING_ADMIN only after both signatures");
                            }
                            if after.status == Status::FullySigned {
                                prop_assert!(before.landlord_signed && before.tenant_signed);
                                prop_assert!(matches!(standing,
                                    Standing::Admin | Standing::ComplianceOfficer));
                                fully_signed = true;
                            }
                            if matches!(action, Action::Sign(_)) {
                                prop_assert!(matches!(standing,
                                    Standing::Landlord | Standing::Tenant) && active);
                            }
                            if matches!(action, Action::Edit | Action::Withdraw) {
                                prop_assert_eq!(standing, Standing::Landlord);
                            }
                            audit.push(transition);
                            accepted += 1;
                            lease = after;
                        }
                        None => prop_assert_eq!(lease, before),
                    }
                }
                prop_assert_eq!(audit.len(), accepted);
                // The recorded transitions chain: each starts where the previous ended.
                for pair in audit.windows(2) {
                    prop_assert_eq!(pair[1].from, Some(pair[0].to));
                }
                let signed = [lease.landlord_signed, lease.tenant_signed];
                match lease.status {
                    Status::Draft => prop_assert_eq!(signed, [false, false]),
                    Status::SignedByLandlord => prop_assert_eq!(signed, [true, false]),
                    Status::SignedByTenant => prop_assert_eq!(signed, [false, true]),
                    Status::PendingAdmin | Status::FullySigned => {
                        prop_assert_eq!(signed, [true, true]);
                    }
                }
            }
        }
    }
}
