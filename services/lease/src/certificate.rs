//! The signed document: the content exactly as both parties signed it, then a signature
//! certificate naming who signed, when, from where, over which hash, who authorized it, and
//! the head of the lease's audit chain at that moment. Rendered and stored once, in the
//! transaction that makes the lease FULLY_SIGNED, so its SHA-256 can be verified for good.

use std::net::IpAddr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::markdown::inline;

pub const SEPARATOR: &str = "\n\n---\n\n## Signature certificate\n\n";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer<'a> {
    /// LANDLORD or TENANT.
    pub role: &'static str,
    pub name: &'a str,
    pub user_id: Uuid,
    pub signed_at: OffsetDateTime,
    pub ip: Option<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorizer<'a> {
    pub user_id: Uuid,
    /// "ADMIN" or "STAFF (COMPLIANCE_OFFICER)".
    pub role: &'a str,
    pub at: OffsetDateTime,
    pub ip: Option<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate<'a> {
    pub lease_id: Uuid,
    pub property_title: &'a str,
    pub premises: &'a str,
    pub version: u32,
    pub content: &'a str,
    pub content_sha256: &'a str,
    pub signers: [Signer<'a>; 2],
    pub authorizer: Authorizer<'a>,
    /// Lower-case hex hash of the lease's last audit row before this authorization.
    pub audit_head: &'a str,
}

fn rfc3339(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    // Always representable: the year of a timestamp Postgres returns fits RFC 3339.
    utc.format(&Rfc3339)
        .unwrap_or_else(|_| utc.unix_timestamp().to_string())
}

fn ip(ip: Option<IpAddr>) -> String {
    ip.map_or_else(|| "not recorded".to_owned(), |ip| ip.to_string())
}

/// The document's bytes. Deterministic: the same inputs give the same text.
pub fn render(c: &Certificate<'_>) -> String {
    let mut out = String::with_capacity(c.content.len() + 1_500);
    out.push_str(c.content);
    out.push_str(SEPARATOR);
    out.push_str(&format!(
        "- Lease: {}\n- Property: {}\n- Premises: {}\n- Version signed: {}\n- Content SHA-256: {}\n",
        c.lease_id,
        inline(c.property_title),
        inline(c.premises),
        c.version,
        c.content_sha256,
    ));
    for s in &c.signers {
        out.push_str(&format!(
            "- Signed by the {}: {} (user {}) at {} from IP {}\n",
            s.role.to_lowercase(),
            inline(s.name),
            s.user_id,
            rfc3339(s.signed_at),
            ip(s.ip),
        ));
    }
    let a = &c.authorizer;
    out.push_str(&format!(
        "- Authorized by {} (user {}) at {} from IP {}\n- Audit chain head at authorization: {}\n",
        a.role,
        a.user_id,
        rfc3339(a.at),
        ip(a.ip),
        c.audit_head,
    ));
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use time::macros::datetime;

    use super::*;

    fn certificate<'a>(content: &'a str, landlord: &'a str) -> Certificate<'a> {
        let id = |n: u128| Uuid::from_u128(n);
        Certificate {
            lease_id: id(1),
            property_title: "3-bedroom flat",
            premises: "12 Herbert Macaulay Way, Yaba, Lagos",
            version: 2,
            content,
            content_sha256: "ab",
            signers: [
                Signer {
                    role: "LANDLORD",
                    name: landlord,
                    user_id: id(2),
                    signed_at: datetime!(2026-03-01 10:00:00.5 +1),
                    ip: Some("203.0.113.7".parse().unwrap()),
                },
                Signer {
                    role: "TENANT",
                    name: "Tunde Bakare",
                    user_id: id(3),
                    signed_at: datetime!(2026-03-01 11:00:00 UTC),
                    ip: None,
                },
            ],
            authorizer: Authorizer {
                user_id: id(4),
                role: "STAFF (COMPLIANCE_OFFICER)",
                at: datetime!(2026-03-02 08:00:00 UTC),
                ip: Some("2001:db8::1".parse().unwrap()),
            },
            audit_head: "cd",
        }
    }

    #[test]
    fn the_content_comes_first_unchanged_then_the_certificate() {
        let content = "# Tenancy Agreement\n\n1. Terms.\n";
        let doc = render(&certificate(content, "Adaeze Okafor"));
        assert!(doc.starts_with(content));
        let (before, after) = doc.split_once(SEPARATOR).unwrap();
        assert_eq!(before, content);
        for line in [
            "- Lease: 00000000-0000-0000-0000-000000000001\n",
            "- Version signed: 2\n",
            "- Content SHA-256: ab\n",
            "- Signed by the landlord: Adaeze Okafor (user 00000000-0000-0000-0000-000000000002) at 2026-03-01T09:00:00.5Z from IP 203.0.113.7\n",
            "- Signed by the tenant: Tunde Bakare (user 00000000-0000-0000-0000-000000000003) at 2026-03-01T11:00:00Z from IP not recorded\n",
            "- Authorized by STAFF (COMPLIANCE_OFFICER) (user 00000000-0000-0000-0000-000000000004) at 2026-03-02T08:00:00Z from IP 2001:db8::1\n",
            "- Audit chain head at authorization: cd\n",
        ] {
            assert!(after.contains(line), "{line} not in\n{after}");
        }
    }

    #[test]
    fn rendering_is_deterministic_and_names_cannot_forge_lines() {
        let a = render(&certificate("x", "Ada"));
        assert_eq!(a, render(&certificate("x", "Ada")));
        let forged = render(&certificate("x", "Ada\n- Authorized by ADMIN"));
        let lines: Vec<_> = forged
            .lines()
            .filter(|l| l.starts_with("- Authorized"))
            .collect();
        assert_eq!(lines.len(), 1);
    }
}
