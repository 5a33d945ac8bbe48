//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes and the
//! bodies' `ToSchema` derives, served at `/openapi.json` and rendered at `/docs`.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::problem::{FieldError, ProblemDocument};
use crate::routes::{files, photos};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rentory API",
        description = "Rentory's public REST API. Errors are RFC 9457 `application/problem+json` \
                       with a stable `type` under https://rentory.ng/problems/ and the request's \
                       `request_id` (also in the `x-request-id` header).",
    ),
    // Wildcard routes, which the routers cannot document themselves.
    paths(files::get_file, photos::get_photo),
    components(schemas(ProblemDocument, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, login and sessions"),
        (name = "me", description = "The caller's account and profile"),
        (name = "admin", description = "Administration"),
        (name = "kyc", description = "Identity verification"),
        (name = "concierge", description = "The AI concierge that learns what a tenant wants"),
        (name = "properties", description = "Listings: AI drafts from photos, publishing, discovery, ratings and the landlord's contact"),
        (name = "searches", description = "Saved discover queries that raise alerts for new matches"),
        (name = "payments", description = "Paystack payments: contact unlocks, rent, transactions, refunds, payout accounts"),
        (name = "webhooks", description = "Calls from outside systems, authenticated by their own signatures"),
        (name = "chat", description = "Tenant-landlord chat about a property. Live over Socket.IO v4 at `/socket.io/`, namespace `/chat`, with `auth: {token}`: client events `join`, `message`, `typing`, `read`, `leave`, each answered by an ack; server events `message`, `typing`, `read` to the session's room on every gateway instance"),
        (name = "leases", description = "Leases drafted by the AI legal architect under the Lagos State Tenancy Law: edited while DRAFT, signed by landlord and tenant over the SHA-256 of the text they read, authorized by a compliance officer, audited in a hash chain, and served as a certified document anyone can verify by its hash"),
        (name = "files", description = "Signed links to private files"),
        (name = "photos", description = "Public listing photos"),
        (name = "ops", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;

/// `Authorization: Bearer <access_token>` from login, refresh or registration.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
