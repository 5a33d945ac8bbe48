//! Who may do what with a lease (API.md: the Leases rows and the staff position table).
//!
//! Pure: handlers work out the caller's [`Standing`] towards the lease and ask [`decide`].
//! Anyone with no business with a lease is told it does not exist ([`Refusal::Hidden`]),
//! word for word what a caller asking for a missing lease is told, so ids cannot be probed.

use rentory_auth::{Actor, Capability, Role};
use uuid::Uuid;

use crate::lifecycle::Party;

/// In what capacity the caller stands towards one lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Landlord,
    Tenant,
    Admin,
    /// STAFF holding [`Capability::AuthorizeLeases`] (COMPLIANCE_OFFICER).
    ComplianceOfficer,
    /// Any other STAFF: may read every lease, may not act on it.
    Staff,
    Outsider,
}

impl Standing {
    pub fn of(actor: &Actor, landlord_id: Uuid, tenant_id: Uuid) -> Self {
        if actor.user_id == landlord_id {
            Self::Landlord
        } else if actor.user_id == tenant_id {
            Self::Tenant
        } else {
            Self::of_non_party(actor)
        }
    }

    /// The caller's standing towards a lease they are not a party to.
    pub fn of_non_party(actor: &Actor) -> Self {
        match actor.role {
            Role::Admin => Self::Admin,
            Role::Staff if actor.can(Capability::AuthorizeLeases) => Self::ComplianceOfficer,
            Role::Staff => Self::Staff,
            _ => Self::Outsider,
        }
    }

    fn may_read(self) -> bool {
        self != Self::Outsider
    }
}

/// The facts about a caller the rule needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub standing: Standing,
    /// KYC approved (status ACTIVE).
    pub active: bool,
}

impl Caller {
    pub fn of(actor: &Actor, landlord_id: Uuid, tenant_id: Uuid) -> Self {
        Self {
            standing: Standing::of(actor, landlord_id, tenant_id),
            active: actor.is_active(),
        }
    }
}

/// What the caller wants to do with an existing lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Get, ListVersions, GetAudit, GetSignedDocument, GetRentDue, ListRentPayments.
    View,
    Edit,
    Withdraw,
    Sign,
    Authorize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// As if the lease did not exist (NOT_FOUND).
    Hidden,
    /// The caller sees the lease but may not do this (PERMISSION_DENIED).
    Forbidden(&'static str),
    /// Acting on a lease needs an ACTIVE (KYC-approved) account.
    NotActive,
}

/// Whether `caller` may do `op`; for [`Op::Sign`] the party they sign as.
pub fn decide(caller: Caller, op: Op) -> Result<Option<Party>, Refusal> {
    let Caller { standing, active } = caller;
    if !standing.may_read() {
        return Err(Refusal::Hidden);
    }
    let require_active = |party: Option<Party>| {
        if active {
            Ok(party)
        } else {
            Err(Refusal::NotActive)
        }
    };
    match op {
        Op::View => Ok(None),
        Op::Edit | Op::Withdraw => match standing {
            Standing::Landlord => require_active(None),
            _ => Err(Refusal::Forbidden(if op == Op::Edit {
                "only the landlord edits a lease"
            } else {
                "only the landlord withdraws a lease"
            })),
        },
        Op::Sign => match standing {
            Standing::Landlord => require_active(Some(Party::Landlord)),
            Standing::Tenant => require_active(Some(Party::Tenant)),
            _ => Err(Refusal::Forbidden(
                "only the lease's landlord and tenant sign it",
            )),
        },
        Op::Authorize => match standing {
            Standing::Admin | Standing::ComplianceOfficer => require_active(None),
            _ => Err(Refusal::Forbidden(
                "only ADMIN and COMPLIANCE_OFFICER staff authorize leases",
            )),
        },
    }
}

/// Why a caller may not draft a lease of a property, if they may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftRefusal {
    NotLandlord,
    NotActive,
    NotTheirProperty,
}

/// DraftLease: an ACTIVE LANDLORD, for their own property. `property_landlord` is `None`
/// until the property has been looked up (the role and status checks come first, so no
/// call is made for a caller who could never draft).
pub fn may_draft(actor: &Actor, property_landlord: Option<Uuid>) -> Result<(), DraftRefusal> {
    if actor.role != Role::Landlord {
        return Err(DraftRefusal::NotLandlord);
    }
    if !actor.is_active() {
        return Err(DraftRefusal::NotActive);
    }
    match property_landlord {
        Some(owner) if owner != actor.user_id => Err(DraftRefusal::NotTheirProperty),
        _ => Ok(()),
    }
}

/// ListLeases: ADMIN and STAFF see every lease; everyone else only their own.
pub fn lists_all(actor: &Actor) -> bool {
    matches!(
        Standing::of_non_party(actor),
        Standing::Admin | Standing::ComplianceOfficer | Standing::Staff
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use rentory_auth::{RequestContext, StaffPosition, UserStatus};

    use super::*;

    const STANDINGS: [Standing; 6] = [
        Standing::Landlord,
        Standing::Tenant,
        Standing::Admin,
        Standing::ComplianceOfficer,
        Standing::Staff,
        Standing::Outsider,
    ];

    fn actor(role: Role, position: Option<StaffPosition>, status: UserStatus) -> Actor {
        Actor {
            user_id: Uuid::now_v7(),
            role,
            status,
            position,
            session_id: Uuid::nil(),
            context: RequestContext::default(),
        }
    }

    /// The whole matrix for ACTIVE callers: H = hidden (404), F = forbidden (403), L/T = signs
    /// as landlord / tenant, Y = allowed.
    #[test]
    fn the_matrix() {
        use Op::*;
        let table: [(Standing, [&str; 5]); 6] = [
            //                          View Edit Withdraw Sign Authorize
            (Standing::Landlord, ["Y", "Y", "Y", "L", "F"]),
            (Standing::Tenant, ["Y", "F", "F", "T", "F"]),
            (Standing::Admin, ["Y", "F", "F", "F", "Y"]),
            (Standing::ComplianceOfficer, ["Y", "F", "F", "F", "Y"]),
            (Standing::Staff, ["Y", "F", "F", "F", "F"]),
            (Standing::Outsider, ["H", "H", "H", "H", "H"]),
        ];
        for (standing, row) in table {
            for (op, want) in [View, Edit, Withdraw, Sign, Authorize].into_iter().zip(row) {
                let got = match decide(
                    Caller {
                        standing,
                        active: true,
                    },
                    op,
                ) {
                    Ok(Some(Party::Landlord)) => "L",
                    Ok(Some(Party::Tenant)) => "T",
                    Ok(None) => "Y",
                    Err(Refusal::Hidden) => "H",
                    Err(Refusal::Forbidden(_)) => "F",
                    Err(Refusal::NotActive) => "N",
                };
                assert_eq!(got, want, "{standing:?} {op:?}");
            }
        }
    }

    #[test]
    fn acting_needs_an_active_account_reading_does_not() {
        for standing in STANDINGS {
            let inactive = Caller {
                standing,
                active: false,
            };
            let active = Caller {
                standing,
                active: true,
            };
            for op in [Op::View, Op::Edit, Op::Withdraw, Op::Sign, Op::Authorize] {
                match decide(active, op) {
                    Ok(_) if op != Op::View => {
                        assert_eq!(decide(inactive, op), Err(Refusal::NotActive));
                    }
                    other => assert_eq!(decide(inactive, op), other),
                }
            }
        }
    }

    #[test]
    fn standing_comes_from_the_parties_then_the_role() {
        let landlord = actor(Role::Landlord, None, UserStatus::Active);
        let tenant = actor(Role::Tenant, None, UserStatus::Active);
        let l = landlord.user_id;
        let t = tenant.user_id;
        assert_eq!(Standing::of(&landlord, l, t), Standing::Landlord);
        assert_eq!(Standing::of(&tenant, l, t), Standing::Tenant);
        let other_tenant = actor(Role::Tenant, None, UserStatus::Active);
        assert_eq!(Standing::of(&other_tenant, l, t), Standing::Outsider);
        let guide = actor(Role::Guide, None, UserStatus::Active);
        assert_eq!(Standing::of(&guide, l, t), Standing::Outsider);
        let admin = actor(Role::Admin, None, UserStatus::Active);
        assert_eq!(Standing::of(&admin, l, t), Standing::Admin);
        let officer = actor(
            Role::Staff,
            Some(StaffPosition::ComplianceOfficer),
            UserStatus::Active,
        );
        assert_eq!(Standing::of(&officer, l, t), Standing::ComplianceOfficer);
        for position in [
            StaffPosition::FinancialController,
            StaffPosition::OperationsManager,
            StaffPosition::SupportLead,
        ] {
            let staff = actor(Role::Staff, Some(position), UserStatus::Active);
            assert_eq!(Standing::of(&staff, l, t), Standing::Staff);
        }
        assert!(lists_all(&admin) && lists_all(&officer));
        assert!(!lists_all(&landlord) && !lists_all(&guide));
    }

    #[test]
    fn only_active_landlords_draft_and_only_for_their_property() {
        let landlord = actor(Role::Landlord, None, UserStatus::Active);
        assert_eq!(may_draft(&landlord, None), Ok(()));
        assert_eq!(may_draft(&landlord, Some(landlord.user_id)), Ok(()));
        assert_eq!(
            may_draft(&landlord, Some(Uuid::now_v7())),
            Err(DraftRefusal::NotTheirProperty)
        );
        let pending = actor(Role::Landlord, None, UserStatus::Pending);
        assert_eq!(may_draft(&pending, None), Err(DraftRefusal::NotActive));
        for role in [Role::Tenant, Role::Guide, Role::Admin, Role::Staff] {
            let other = actor(role, None, UserStatus::Active);
            assert_eq!(may_draft(&other, None), Err(DraftRefusal::NotLandlord));
        }
    }
}
