use std::net::IpAddr;

use tonic::metadata::MetadataMap;
use uuid::Uuid;

use crate::roles::{Capability, Role, StaffPosition, UserStatus};
use crate::token::{TokenError, TokenVerifier};

/// gRPC metadata keys the gateway fills and every service reads.
pub mod metadata {
    pub const AUTHORIZATION: &str = "authorization";
    /// The trusted client IP as the gateway determined it (never a raw X-Forwarded-For).
    pub const CLIENT_IP: &str = "x-client-ip";
    pub const REQUEST_ID: &str = "x-request-id";
    pub const USER_AGENT: &str = "x-client-user-agent";
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token")]
    MissingToken,
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// Facts about the request that do not depend on who is calling.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub client_ip: Option<IpAddr>,
    pub request_id: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestContext {
    pub fn from_metadata(metadata: &MetadataMap) -> Self {
        let text = |key: &str| {
            metadata
                .get(key)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(256).collect::<String>())
        };
        Self {
            client_ip: text(metadata::CLIENT_IP).and_then(|s| s.parse().ok()),
            request_id: text(metadata::REQUEST_ID),
            user_agent: text(metadata::USER_AGENT),
        }
    }
}

/// A call to another service on the caller's behalf: their token (that service checks it
/// too), request id, client IP and user agent, and the current trace context.
pub fn on_behalf<T>(incoming: &MetadataMap, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let outgoing = request.metadata_mut();
    for key in [
        metadata::AUTHORIZATION,
        metadata::REQUEST_ID,
        metadata::CLIENT_IP,
        metadata::USER_AGENT,
    ] {
        if let Some(value) = incoming.get(key) {
            outgoing.insert(key, value.clone());
        }
    }
    rentory_runtime::trace_context::inject(outgoing);
    request
}

/// The authenticated caller of an RPC, from a verified access token.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    pub role: Role,
    pub status: UserStatus,
    pub position: Option<StaffPosition>,
    pub session_id: Uuid,
    pub context: RequestContext,
}

impl Actor {
    pub fn from_metadata(
        metadata: &MetadataMap,
        verifier: &TokenVerifier,
    ) -> Result<Self, AuthError> {
        let token = metadata
            .get(metadata::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
            .ok_or(AuthError::MissingToken)?;
        let claims = verifier.verify(token)?;
        Ok(Self {
            user_id: claims.sub,
            role: claims.role,
            status: claims.status,
            position: claims.pos,
            session_id: claims.sid,
            context: RequestContext::from_metadata(metadata),
        })
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// ADMIN may do everything; STAFF by position; nobody else holds staff capabilities.
    pub fn can(&self, capability: Capability) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Staff => self.position.is_some_and(|p| capability.held_by(p)),
            _ => false,
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }
}

/// `Bearer <token>`, scheme case-insensitive as RFC 9110 says.
fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, position: Option<StaffPosition>) -> Actor {
        Actor {
            user_id: Uuid::nil(),
            role,
            status: UserStatus::Active,
            position,
            session_id: Uuid::nil(),
            context: RequestContext::default(),
        }
    }

    #[test]
    fn calls_on_behalf_carry_the_callers_facts_and_nothing_else() {
        let mut incoming = MetadataMap::new();
        for (key, value) in [
            (metadata::AUTHORIZATION, "Bearer t"),
            (metadata::REQUEST_ID, "req-1"),
            (metadata::CLIENT_IP, "203.0.113.7"),
            ("x-other", "kept out"),
        ] {
            incoming.insert(key, value.parse().expect("ascii"));
        }
        let request = on_behalf(&incoming, ());
        let outgoing = request.metadata();
        assert_eq!(
            outgoing
                .get(metadata::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
            Some("Bearer t")
        );
        assert_eq!(
            outgoing
                .get(metadata::CLIENT_IP)
                .and_then(|v| v.to_str().ok()),
            Some("203.0.113.7")
        );
        assert!(outgoing.get(metadata::USER_AGENT).is_none());
        assert!(outgoing.get("x-other").is_none());
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_needs_a_token() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("abc"), None);
    }

    #[test]
    fn admin_can_everything_staff_by_position_others_nothing() {
        assert!(actor(Role::Admin, None).can(Capability::ReviewKyc));
        assert!(
            actor(Role::Staff, Some(StaffPosition::ComplianceOfficer)).can(Capability::ReviewKyc)
        );
        assert!(!actor(Role::Staff, Some(StaffPosition::SupportLead)).can(Capability::ReviewKyc));
        assert!(!actor(Role::Staff, None).can(Capability::ReviewKyc));
        // A position claim on a non-staff token grants nothing.
        assert!(
            !actor(Role::Landlord, Some(StaffPosition::ComplianceOfficer))
                .can(Capability::ReviewKyc)
        );
    }

    #[test]
    fn request_context_ignores_unparseable_ips() {
        let mut md = MetadataMap::new();
        md.insert(metadata::CLIENT_IP, "not-an-ip".parse().expect("ascii"));
        md.insert(metadata::REQUEST_ID, "r-1".parse().expect("ascii"));
        let ctx = RequestContext::from_metadata(&md);
        assert_eq!(ctx.client_ip, None);
        assert_eq!(ctx.request_id.as_deref(), Some("r-1"));
    }
}
