use std::fmt;
use std::str::FromStr;

use rentory_proto::identity::v1 as pb;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct ParseEnumError {
    kind: &'static str,
    value: String,
}

macro_rules! domain_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $proto:ty, { $($variant:ident => $text:literal / $pb:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling used in the database, the API and tokens.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ParseEnumError { kind: $kind, value: s.chars().take(40).collect() }),
                }
            }
        }

        impl From<$name> for $proto {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => <$proto>::$pb),+ }
            }
        }

        impl TryFrom<$proto> for $name {
            type Error = ParseEnumError;
            fn try_from(value: $proto) -> Result<Self, Self::Error> {
                match value {
                    $(<$proto>::$pb => Ok($name::$variant),)+
                    #[allow(unreachable_patterns)]
                    other => Err(ParseEnumError { kind: $kind, value: format!("{other:?}") }),
                }
            }
        }

        impl $name {
            /// From the raw `i32` a prost message carries.
            pub fn from_proto_i32(value: i32) -> Result<Self, ParseEnumError> {
                let proto = <$proto>::try_from(value)
                    .map_err(|_| ParseEnumError { kind: $kind, value: value.to_string() })?;
                Self::try_from(proto)
            }
        }
    };
}

domain_enum!(
    /// What an account is, as in spec section 2.1.
    Role, "role", pb::Role, {
        Tenant => "TENANT" / Tenant,
        Landlord => "LANDLORD" / Landlord,
        Guide => "GUIDE" / Guide,
        Admin => "ADMIN" / Admin,
        Staff => "STAFF" / Staff,
    }
);

domain_enum!(
    /// `PENDING` until KYC approval; `SUSPENDED` by staff.
    UserStatus, "status", pb::UserStatus, {
        Active => "ACTIVE" / Active,
        Suspended => "SUSPENDED" / Suspended,
        Pending => "PENDING" / Pending,
    }
);

domain_enum!(
    /// A STAFF user's job, which decides what they may do ([`Capability`]).
    StaffPosition, "position", pb::StaffPosition, {
        ComplianceOfficer => "COMPLIANCE_OFFICER" / ComplianceOfficer,
        OperationsManager => "OPERATIONS_MANAGER" / OperationsManager,
        FinancialController => "FINANCIAL_CONTROLLER" / FinancialController,
        SupportLead => "SUPPORT_LEAD" / SupportLead,
    }
);

impl Role {
    /// The roles a person may ask for at registration or in a later KYC request; ADMIN and
    /// STAFF are only ever granted by an administrator.
    pub fn is_self_service(self) -> bool {
        matches!(self, Role::Tenant | Role::Landlord | Role::Guide)
    }
}

/// Staff rights, from the position table at the end of API.md. ADMIN holds all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// KYC queue, images, approve, reject.
    ReviewKyc,
    AuthorizeLeases,
    ReadAudits,
    /// Mark properties verified / Rentory-managed, archive listings.
    ManageListings,
    AssignGuides,
    ReadAllTransactions,
    IssueRefunds,
    /// Read any chat session and post interventions.
    SuperviseChats,
}

impl Capability {
    pub fn held_by(self, position: StaffPosition) -> bool {
        use Capability::*;
        use StaffPosition::*;
        match position {
            ComplianceOfficer => matches!(self, ReviewKyc | AuthorizeLeases | ReadAudits),
            OperationsManager => matches!(self, ManageListings | AssignGuides),
            FinancialController => matches!(self, ReadAllTransactions | IssueRefunds | ReadAudits),
            SupportLead => matches!(self, SuperviseChats | AssignGuides),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_for_every_variant() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(*role));
            assert_eq!(Role::try_from(pb::Role::from(*role)).ok(), Some(*role));
        }
        for status in UserStatus::ALL {
            assert_eq!(status.as_str().parse::<UserStatus>().ok(), Some(*status));
        }
        for position in StaffPosition::ALL {
            assert_eq!(
                position.as_str().parse::<StaffPosition>().ok(),
                Some(*position)
            );
        }
    }

    #[test]
    fn unspecified_and_unknown_values_are_refused() {
        assert!(Role::try_from(pb::Role::Unspecified).is_err());
        assert!(Role::from_proto_i32(99).is_err());
        assert!("tenant".parse::<Role>().is_err());
    }

    #[test]
    fn only_tenant_landlord_and_guide_are_self_service() {
        let self_service: Vec<_> = Role::ALL.iter().filter(|r| r.is_self_service()).collect();
        assert_eq!(self_service, [&Role::Tenant, &Role::Landlord, &Role::Guide]);
    }

    #[test]
    fn only_compliance_officers_review_kyc() {
        for position in StaffPosition::ALL {
            assert_eq!(
                Capability::ReviewKyc.held_by(*position),
                *position == StaffPosition::ComplianceOfficer
            );
        }
    }
}
