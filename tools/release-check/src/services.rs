//! The eight deployable services: binary name, port, and how Cloud Run asks whether each is
//! up.

/// How a service answers its health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// HTTP/1.1 `GET` of a route (the gateway's `/healthz` and `/readyz`).
    Http,
    /// `grpc.health.v1.Health/Check` for the service's fully qualified gRPC name, which its
    /// `tonic_health` reporter marks serving once the server is built.
    Grpc { service: &'static str },
}

#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// Package, binary, Cloud Run service and manifest name alike.
    pub name: &'static str,
    /// Its `PORT` default, which the manifest's `containerPort` keeps.
    pub port: u16,
    pub health: Health,
    /// The Postgres schema it owns (deploy/sql/roles.sql makes its owner and app roles).
    pub schema: Option<&'static str>,
}

impl Service {
    /// Cloud Run's name for the container port: HTTP/2 cleartext end to end for gRPC.
    pub fn port_name(&self) -> &'static str {
        match self.health {
            Health::Http => "http1",
            Health::Grpc { .. } => "h2c",
        }
    }

    /// Only the gateway takes traffic from the internet.
    pub fn is_public(&self) -> bool {
        matches!(self.health, Health::Http)
    }

    pub fn manifest_path(&self) -> std::path::PathBuf {
        crate::workspace_root()
            .join("deploy/cloudrun")
            .join(format!("{}.yaml", self.name))
    }

    pub fn source_dir(&self) -> std::path::PathBuf {
        crate::workspace_root().join("services").join(self.name)
    }
}

use rentory_proto::{ai, chat, identity, kyc, lease, listings, payments};

pub const SERVICES: [Service; 8] = [
    Service {
        name: "gateway",
        port: 8080,
        schema: None,
        health: Health::Http,
    },
    Service {
        name: "identity",
        port: 50051,
        schema: Some("identity"),
        health: Health::Grpc {
            service: identity::v1::identity_service_server::SERVICE_NAME,
        },
    },
    Service {
        name: "kyc",
        port: 50052,
        schema: Some("kyc"),
        health: Health::Grpc {
            service: kyc::v1::kyc_service_server::SERVICE_NAME,
        },
    },
    Service {
        name: "ai-orchestrator",
        port: 50053,
        schema: Some("ai"),
        health: Health::Grpc {
            service: ai::v1::ai_orchestrator_server::SERVICE_NAME,
        },
    },
    Service {
        name: "listings",
        port: 50054,
        schema: Some("listings"),
        health: Health::Grpc {
            service: listings::v1::listings_server::SERVICE_NAME,
        },
    },
    Service {
        name: "chat",
        port: 50055,
        schema: Some("chat"),
        health: Health::Grpc {
            service: chat::v1::chat_server::SERVICE_NAME,
        },
    },
    Service {
        name: "lease",
        port: 50056,
        schema: Some("lease"),
        health: Health::Grpc {
            service: lease::v1::leases_server::SERVICE_NAME,
        },
    },
    Service {
        name: "payments",
        port: 50057,
        schema: Some("payments"),
        health: Health::Grpc {
            service: payments::v1::payments_server::SERVICE_NAME,
        },
    },
];

pub fn by_name(name: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.name == name)
}

/// The service a peer-URL setting points at (`RENTORY_LISTINGS_URL` -> listings).
pub fn callee_of(setting: &str) -> Option<&'static Service> {
    let stem = setting.strip_prefix("RENTORY_")?.strip_suffix("_URL")?;
    let name = match stem {
        "AI" => "ai-orchestrator",
        other => return SERVICES.iter().find(|s| s.name.eq_ignore_ascii_case(other)),
    };
    by_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_url_settings_name_their_service_and_nothing_else_does() {
        let callee = |setting| callee_of(setting).map(|s| s.name);
        assert_eq!(callee("RENTORY_AI_URL"), Some("ai-orchestrator"));
        assert_eq!(callee("RENTORY_LISTINGS_URL"), Some("listings"));
        assert_eq!(callee("RENTORY_PUBLIC_URL"), None);
        assert_eq!(callee("RENTORY_KYC_BUCKET_URL"), None);
        assert_eq!(callee("RENTORY_PAYMENTS_CALLBACK_URL"), None);
        assert_eq!(callee("RENTORY_GEMINI_URL"), None);
        assert_eq!(callee("NATS_URL"), None);
    }
}
