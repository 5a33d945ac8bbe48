//! Who may do what in a chat session (API.md: the Chat rows and the staff position table).
//!
//! One rule, no I/O: handlers load the session's parties and ask [`decide`]. Anyone with no
//! business in a session is told it does not exist ([`Refusal::Hidden`]), exactly as for a
//! session that does not, so ids cannot be probed.

use rentory_auth::{Actor, Capability};
use uuid::Uuid;

/// The people a session is between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parties {
    pub tenant_id: Uuid,
    pub landlord_id: Uuid,
    pub assigned_guide_id: Option<Uuid>,
}

impl Parties {
    /// The participants other than `sender`: who a new message is for.
    pub fn recipients(&self, sender: Uuid) -> Vec<Uuid> {
        [
            Some(self.tenant_id),
            Some(self.landlord_id),
            self.assigned_guide_id,
        ]
        .into_iter()
        .flatten()
        .filter(|id| *id != sender)
        .collect()
    }

    /// Whether `sender` is one of the two sides the contact unlock is sold between: their
    /// messages are masked until the tenant has paid. Guides and staff are not masked.
    pub fn is_side(&self, sender: Uuid) -> bool {
        sender == self.tenant_id || sender == self.landlord_id
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The session, its history and its live room.
    Read,
    Post,
    MarkRead,
    AssignGuide,
}

/// In what capacity the caller acts on the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Tenant,
    Landlord,
    Guide,
    /// ADMIN or SUPPORT_LEAD: reads any session, posts as an intervention.
    Supervisor,
    /// OPERATIONS_MANAGER: assigns guides without reading the conversation.
    Dispatcher,
}

impl Standing {
    pub fn is_participant(self) -> bool {
        matches!(self, Self::Tenant | Self::Landlord | Self::Guide)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// As if the session did not exist (NOT_FOUND).
    Hidden,
    /// The caller sees the session but may not do this (PERMISSION_DENIED).
    Forbidden(&'static str),
    /// Posting needs an ACTIVE (KYC-approved) account.
    NotActive,
}

/// What `actor` may do with a session between `parties`.
pub fn decide(actor: &Actor, parties: &Parties, action: Action) -> Result<Standing, Refusal> {
    let me = actor.user_id;
    let participant = if me == parties.tenant_id {
        Some(Standing::Tenant)
    } else if me == parties.landlord_id {
        Some(Standing::Landlord)
    } else if parties.assigned_guide_id == Some(me) {
        Some(Standing::Guide)
    } else {
        None
    };
    let reader = participant.or_else(|| {
        actor
            .can(Capability::SuperviseChats)
            .then_some(Standing::Supervisor)
    });
    match action {
        Action::Read => reader.ok_or(Refusal::Hidden),
        Action::Post => {
            let standing = reader.ok_or(Refusal::Hidden)?;
            if !actor.is_active() {
                return Err(Refusal::NotActive);
            }
            Ok(standing)
        }
        Action::MarkRead => match (participant, reader) {
            (Some(standing), _) => Ok(standing),
            (None, Some(_)) => Err(Refusal::Forbidden(
                "only the session's participants mark messages read",
            )),
            (None, None) => Err(Refusal::Hidden),
        },
        Action::AssignGuide => {
            if actor.can(Capability::AssignGuides) {
                Ok(reader.unwrap_or(Standing::Dispatcher))
            } else if reader.is_some() {
                Err(Refusal::Forbidden(
                    "only ADMIN, OPERATIONS_MANAGER and SUPPORT_LEAD assign guides",
                ))
            } else {
                Err(Refusal::Hidden)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use rentory_auth::{RequestContext, Role, StaffPosition, UserStatus};

    use super::*;

    fn actor(id: Uuid, role: Role, position: Option<StaffPosition>) -> Actor {
        Actor {
            user_id: id,
            role,
            status: UserStatus::Active,
            position,
            session_id: Uuid::now_v7(),
            context: RequestContext::default(),
        }
    }

    struct World {
        parties: Parties,
        tenant: Actor,
        landlord: Actor,
        guide: Actor,
    }

    fn world() -> World {
        let (t, l, g) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        World {
            parties: Parties {
                tenant_id: t,
                landlord_id: l,
                assigned_guide_id: Some(g),
            },
            tenant: actor(t, Role::Tenant, None),
            landlord: actor(l, Role::Landlord, None),
            guide: actor(g, Role::Guide, None),
        }
    }

    fn staff(position: StaffPosition) -> Actor {
        actor(Uuid::now_v7(), Role::Staff, Some(position))
    }

    const ALL: [Action; 4] = [
        Action::Read,
        Action::Post,
        Action::MarkRead,
        Action::AssignGuide,
    ];

    #[test]
    fn participants_read_post_and_mark_read_in_their_own_capacity() {
        let w = world();
        for (who, standing) in [
            (&w.tenant, Standing::Tenant),
            (&w.landlord, Standing::Landlord),
            (&w.guide, Standing::Guide),
        ] {
            for action in [Action::Read, Action::Post, Action::MarkRead] {
                assert_eq!(decide(who, &w.parties, action), Ok(standing), "{action:?}");
            }
            assert!(matches!(
                decide(who, &w.parties, Action::AssignGuide),
                Err(Refusal::Forbidden(_))
            ));
        }
    }

    #[test]
    fn outsiders_are_told_the_session_does_not_exist_whatever_they_ask() {
        let w = world();
        let outsiders = [
            actor(Uuid::now_v7(), Role::Tenant, None),
            actor(Uuid::now_v7(), Role::Landlord, None),
            // A guide assigned elsewhere.
            actor(Uuid::now_v7(), Role::Guide, None),
            staff(StaffPosition::ComplianceOfficer),
            staff(StaffPosition::FinancialController),
            // A position claim on a non-staff token grants nothing.
            actor(
                Uuid::now_v7(),
                Role::Tenant,
                Some(StaffPosition::SupportLead),
            ),
            actor(Uuid::now_v7(), Role::Staff, None),
        ];
        for who in &outsiders {
            for action in ALL {
                assert_eq!(
                    decide(who, &w.parties, action),
                    Err(Refusal::Hidden),
                    "{who:?} {action:?}"
                );
            }
        }
    }

    #[test]
    fn admin_and_support_lead_supervise_but_do_not_mark_read() {
        let w = world();
        for who in [
            actor(Uuid::now_v7(), Role::Admin, None),
            staff(StaffPosition::SupportLead),
        ] {
            assert_eq!(
                decide(&who, &w.parties, Action::Read),
                Ok(Standing::Supervisor)
            );
            assert_eq!(
                decide(&who, &w.parties, Action::Post),
                Ok(Standing::Supervisor)
            );
            assert_eq!(
                decide(&who, &w.parties, Action::AssignGuide),
                Ok(Standing::Supervisor)
            );
            assert!(matches!(
                decide(&who, &w.parties, Action::MarkRead),
                Err(Refusal::Forbidden(_))
            ));
        }
    }

    #[test]
    fn operations_managers_assign_guides_and_see_nothing_else() {
        let w = world();
        let ops = staff(StaffPosition::OperationsManager);
        assert_eq!(
            decide(&ops, &w.parties, Action::AssignGuide),
            Ok(Standing::Dispatcher)
        );
        for action in [Action::Read, Action::Post, Action::MarkRead] {
            assert_eq!(decide(&ops, &w.parties, action), Err(Refusal::Hidden));
        }
    }

    #[test]
    fn posting_needs_an_active_account_reading_does_not() {
        let w = world();
        for status in [UserStatus::Pending, UserStatus::Suspended] {
            let mut tenant = w.tenant.clone();
            tenant.status = status;
            assert_eq!(
                decide(&tenant, &w.parties, Action::Post),
                Err(Refusal::NotActive)
            );
            assert_eq!(
                decide(&tenant, &w.parties, Action::Read),
                Ok(Standing::Tenant)
            );
        }
        // An outsider is hidden before their status is looked at.
        let mut stranger = actor(Uuid::now_v7(), Role::Tenant, None);
        stranger.status = UserStatus::Pending;
        assert_eq!(
            decide(&stranger, &w.parties, Action::Post),
            Err(Refusal::Hidden)
        );
    }

    #[test]
    fn an_unassigned_session_has_no_guide() {
        let mut w = world();
        w.parties.assigned_guide_id = None;
        assert_eq!(
            decide(&w.guide, &w.parties, Action::Read),
            Err(Refusal::Hidden)
        );
    }

    #[test]
    fn recipients_are_the_other_participants_and_only_the_sides_are_masked() {
        let w = world();
        let p = w.parties;
        assert_eq!(
            p.recipients(p.tenant_id),
            [p.landlord_id, p.assigned_guide_id.unwrap()]
        );
        let admin = Uuid::now_v7();
        assert_eq!(p.recipients(admin).len(), 3);
        assert!(p.is_side(p.tenant_id) && p.is_side(p.landlord_id));
        assert!(!p.is_side(p.assigned_guide_id.unwrap()) && !p.is_side(admin));
    }
}
