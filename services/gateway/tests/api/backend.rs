//! The gateway against fake identity, KYC, AI, listings, payments, chat and lease services
//! on a real gRPC server: what it forwards in metadata, how it maps their answers, and
//! registration's two calls. The listings routes' own tests are in `properties.rs`, the
//! payments routes' in `payments.rs`, the lease routes' in `leases.rs`.

use std::any::Any;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use rentory_auth::metadata as md;
use rentory_media::fixtures;
use rentory_proto::ai::v1 as ai_pb;
use rentory_proto::ai::v1::ai_orchestrator_server::{AiOrchestrator, AiOrchestratorServer};
use rentory_proto::identity::v1 as id_pb;
use rentory_proto::identity::v1::identity_service_server::{
    IdentityService, IdentityServiceServer,
};
use rentory_proto::kyc::v1 as kyc_pb;
use rentory_proto::kyc::v1::kyc_service_server::{KycService, KycServiceServer};
use rentory_proto::listings::v1 as listings_pb;
use rentory_proto::listings::v1::listings_server::{Listings, ListingsServer};
use rentory_proto::payments::v1 as payments_pb;
use rentory_proto::payments::v1::payments_server::PaymentsServer;
use rentory_runtime::rpc_error::{self, Reason};
use tonic::{Request as Rpc, Response as RpcResponse, Status};

use crate::support::*;

type Recorded = (
    &'static str,
    tonic::metadata::MetadataMap,
    Box<dyn Any + Send>,
);

/// The metadata and message of each call a fake received, by method.
#[derive(Clone, Default)]
pub struct Calls(Arc<Mutex<Vec<Recorded>>>);

impl Calls {
    fn record<T: Clone + Send + 'static>(&self, method: &'static str, request: &Rpc<T>) {
        if let Ok(mut calls) = self.0.lock() {
            calls.push((
                method,
                request.metadata().clone(),
                Box::new(request.get_ref().clone()),
            ));
        }
    }

    pub fn get(&self, method: &str, key: &str) -> Option<String> {
        let calls = self.0.lock().ok()?;
        let (_, metadata, _) = calls.iter().rev().find(|(m, _, _)| *m == method)?;
        metadata
            .get(key)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The last message `method` received.
    pub fn message<T: Clone + 'static>(&self, method: &str) -> Option<T> {
        let calls = self.0.lock().ok()?;
        let (_, _, message) = calls.iter().rev().find(|(m, _, _)| *m == method)?;
        message.downcast_ref::<T>().cloned()
    }

    pub fn count(&self, method: &str) -> usize {
        self.0
            .lock()
            .map(|c| c.iter().filter(|(m, _, _)| *m == method).count())
            .unwrap_or(0)
    }
}

#[derive(Clone)]
struct Fake {
    calls: Calls,
    fail_submit: bool,
}

fn user(role: i32) -> id_pb::User {
    id_pb::User {
        id: "0190f3a2-7b1c-7d4e-9a8b-1234567890ab".into(),
        email: "ada@example.ng".into(),
        role,
        status: id_pb::UserStatus::Pending as i32,
        position: None,
        created_at: None,
    }
}

fn unimplemented<T>() -> Result<T, Status> {
    Err(Status::unimplemented("not in this fake"))
}

#[tonic::async_trait]
impl IdentityService for Fake {
    async fn register(
        &self,
        r: Rpc<id_pb::RegisterRequest>,
    ) -> Result<RpcResponse<id_pb::AuthResponse>, Status> {
        self.calls.record("register", &r);
        Ok(RpcResponse::new(id_pb::AuthResponse {
            user: Some(user(r.get_ref().role_requested)),
            access_token: "new-users-access-token".into(),
            refresh_token: "new-users-refresh-token".into(),
            expires_in: 900,
        }))
    }
    async fn login(
        &self,
        r: Rpc<id_pb::LoginRequest>,
    ) -> Result<RpcResponse<id_pb::AuthResponse>, Status> {
        self.calls.record("login", &r);
        Err(rpc_error::retry_after(
            Reason::AccountLocked,
            "too many failed attempts; try again later",
            Duration::from_secs(300),
        ))
    }
    async fn refresh(
        &self,
        r: Rpc<id_pb::RefreshRequest>,
    ) -> Result<RpcResponse<id_pb::AuthResponse>, Status> {
        self.calls.record("refresh", &r);
        Err(rpc_error::invalid_fields(
            "invalid input",
            [("refresh_token", "is malformed".to_owned())],
        ))
    }
    async fn logout(
        &self,
        _: Rpc<id_pb::LogoutRequest>,
    ) -> Result<RpcResponse<id_pb::LogoutResponse>, Status> {
        unimplemented()
    }
    async fn get_me(&self, r: Rpc<id_pb::GetMeRequest>) -> Result<RpcResponse<id_pb::Me>, Status> {
        self.calls.record("get_me", &r);
        Ok(RpcResponse::new(id_pb::Me {
            user: Some(user(id_pb::Role::Tenant as i32)),
            profile: Some(id_pb::Profile {
                full_name: "Ada Obi".into(),
                avatar_url: None,
                phone: "+2348012345678".into(),
                bio: String::new(),
                preferences_json: r#"{"budget_kobo": 50000000}"#.into(),
            }),
        }))
    }
    async fn update_profile(
        &self,
        _: Rpc<id_pb::UpdateProfileRequest>,
    ) -> Result<RpcResponse<id_pb::Me>, Status> {
        // Slower than the gateway's request timeout in the test that uses it.
        tokio::time::sleep(Duration::from_secs(5)).await;
        unimplemented()
    }
    async fn create_staff(
        &self,
        r: Rpc<id_pb::CreateStaffRequest>,
    ) -> Result<RpcResponse<id_pb::User>, Status> {
        self.calls.record("create_staff", &r);
        Err(rpc_error::status(
            Reason::Forbidden,
            "only an ADMIN may create staff",
        ))
    }
    async fn get_user(
        &self,
        _: Rpc<id_pb::GetUserRequest>,
    ) -> Result<RpcResponse<id_pb::User>, Status> {
        unimplemented()
    }

    async fn get_public_user(
        &self,
        _: Rpc<id_pb::GetUserRequest>,
    ) -> Result<RpcResponse<id_pb::PublicUser>, Status> {
        unimplemented()
    }
    async fn get_contact(
        &self,
        _: Rpc<id_pb::GetContactRequest>,
    ) -> Result<RpcResponse<id_pb::Contact>, Status> {
        unimplemented()
    }
}

#[tonic::async_trait]
impl KycService for Fake {
    async fn submit(
        &self,
        r: Rpc<kyc_pb::SubmitRequest>,
    ) -> Result<RpcResponse<kyc_pb::VerificationRequest>, Status> {
        self.calls.record("submit", &r);
        if self.fail_submit {
            tracing::debug!("fake submit fails");
            return Err(rpc_error::internal());
        }
        let request = r.into_inner();
        let image_ok = request.id_image.is_some_and(|i| {
            i.data == fixtures::JPEG_16_BASELINE && i.declared_content_type == "image/jpeg"
        });
        if !image_ok {
            return Err(rpc_error::status(
                Reason::ValidationFailed,
                "the images did not arrive intact",
            ));
        }
        Ok(RpcResponse::new(kyc_pb::VerificationRequest {
            id: "vr-1".into(),
            user_id: "u".into(),
            status: kyc_pb::VerificationStatus::Pending as i32,
            role_requested: request.role_requested,
            ..Default::default()
        }))
    }
    async fn get_mine(
        &self,
        _: Rpc<kyc_pb::GetMineRequest>,
    ) -> Result<RpcResponse<kyc_pb::VerificationRequest>, Status> {
        unimplemented()
    }
    async fn get(
        &self,
        _: Rpc<kyc_pb::GetRequest>,
    ) -> Result<RpcResponse<kyc_pb::ReviewItem>, Status> {
        Err(rpc_error::status(
            Reason::NotFound,
            "no such verification request",
        ))
    }
    async fn list(
        &self,
        r: Rpc<kyc_pb::ListRequest>,
    ) -> Result<RpcResponse<kyc_pb::ListResponse>, Status> {
        self.calls.record("list", &r);
        let list = r.into_inner();
        assert_eq!(list.status, kyc_pb::VerificationStatus::Pending as i32);
        assert_eq!((list.page_size, list.cursor.as_str()), (5, "c1"));
        Ok(RpcResponse::new(kyc_pb::ListResponse {
            items: vec![kyc_pb::ReviewItem {
                request: Some(kyc_pb::VerificationRequest {
                    id: "vr-2".into(),
                    user_id: "u2".into(),
                    status: kyc_pb::VerificationStatus::Pending as i32,
                    role_requested: id_pb::Role::Guide as i32,
                    face_match: Some(kyc_pb::FaceMatch {
                        score: None,
                        verdict: "UNAVAILABLE".into(),
                        model: "offline".into(),
                        reasons: vec!["no model configured".into()],
                        checked_at: None,
                    }),
                    ..Default::default()
                }),
                id_image_url: "http://gateway.test/files/kyc/a.jpg?expires=1&signature=00".into(),
                face_scan_url: "http://gateway.test/files/kyc/b.jpg?expires=1&signature=00".into(),
                urls_expire_at: None,
            }],
            next_cursor: String::new(),
        }))
    }
    async fn approve(
        &self,
        _: Rpc<kyc_pb::ApproveRequest>,
    ) -> Result<RpcResponse<kyc_pb::VerificationRequest>, Status> {
        unimplemented()
    }
    async fn reject(
        &self,
        _: Rpc<kyc_pb::RejectRequest>,
    ) -> Result<RpcResponse<kyc_pb::VerificationRequest>, Status> {
        Err(rpc_error::status(
            Reason::InvalidState,
            "the request was already decided",
        ))
    }
}

const PERSONA: &str = r#"{"schema_version":1,"version":2,"categories":["RESIDENTIAL"],"locations":[],"must_haves":["CONSTANT_POWER"],"priorities":{"security":3,"power":5,"neighborhood":3}}"#;

#[tonic::async_trait]
impl AiOrchestrator for Fake {
    async fn concierge_turn(
        &self,
        request: Rpc<ai_pb::ConciergeTurnRequest>,
    ) -> Result<RpcResponse<ai_pb::ConciergeTurnResponse>, Status> {
        self.calls.record("ConciergeTurn", &request);
        match request.get_ref().message.as_str() {
            "over budget" => Err(rpc_error::retry_after(
                Reason::AiBudgetExhausted,
                "today's allowance of 200 AI requests is used up",
                Duration::from_secs(3600),
            )),
            "blocked" => Err(rpc_error::status(
                Reason::ContentBlocked,
                "the AI model's safety filters refused this content (SAFETY)",
            )),
            "bad persona" => Ok(RpcResponse::new(ai_pb::ConciergeTurnResponse {
                reply: "ok".into(),
                persona: Some(ai_pb::PersonaDocument {
                    json: "{not json".into(),
                    version: 1,
                }),
                ..Default::default()
            })),
            _ => Ok(RpcResponse::new(ai_pb::ConciergeTurnResponse {
                reply: "Which area of Lagos?".into(),
                persona: Some(ai_pb::PersonaDocument {
                    json: PERSONA.into(),
                    version: 2,
                }),
                persona_changed: true,
                model: "offline".into(),
                confidence: 0.4,
                reasons: vec!["power from \"constant light\"".into()],
            })),
        }
    }

    async fn get_persona(
        &self,
        request: Rpc<ai_pb::GetPersonaRequest>,
    ) -> Result<RpcResponse<ai_pb::GetPersonaResponse>, Status> {
        self.calls.record("GetPersona", &request);
        Ok(RpcResponse::new(ai_pb::GetPersonaResponse {
            persona: Some(ai_pb::PersonaDocument {
                json: PERSONA.into(),
                version: 2,
            }),
        }))
    }

    async fn analyze_photos(
        &self,
        _: Rpc<ai_pb::AnalyzePhotosRequest>,
    ) -> Result<RpcResponse<ai_pb::AnalyzePhotosResponse>, Status> {
        unimplemented()
    }

    async fn draft_lease(
        &self,
        _: Rpc<ai_pb::DraftLeaseRequest>,
    ) -> Result<RpcResponse<ai_pb::DraftLeaseResponse>, Status> {
        unimplemented()
    }

    async fn face_match(
        &self,
        _: Rpc<ai_pb::FaceMatchRequest>,
    ) -> Result<RpcResponse<ai_pb::FaceMatchResponse>, Status> {
        unimplemented()
    }
}

pub const PROPERTY_ID: &str = "0190f3a2-7b1c-7d4e-9a8b-00000000a001";
pub const LANDLORD_ID: &str = "0190f3a2-7b1c-7d4e-9a8b-00000000b001";
/// A property whose contact the caller has not paid for.
pub const LOCKED_PROPERTY_ID: &str = "locked";

pub fn property(id: &str) -> listings_pb::Property {
    let at = rentory_proto::timestamp(time::macros::datetime!(2026-03-01 09:30:00 UTC));
    listings_pb::Property {
        id: id.into(),
        landlord_id: LANDLORD_ID.into(),
        category: "RESIDENTIAL".into(),
        title: "Bright 2-bedroom flat in Yaba".into(),
        description: "Renovated, with a prepaid meter.".into(),
        neighborhood_description: "Close to the university.".into(),
        price_kobo: 250_000_000,
        rent_period: "YEAR".into(),
        address: "12 Herbert Macaulay Way, Yaba, Lagos".into(),
        latitude: 6.5095,
        longitude: 3.3711,
        bedrooms: Some(2),
        bathrooms: Some(2),
        status: "ACTIVE".into(),
        is_verified: false,
        rentory_managed: false,
        amenities: vec!["PREPAID_METER".into(), "BOREHOLE".into()],
        photo_urls: vec!["http://127.0.0.1:8080/photos/ab/abcdef.jpg".into()],
        ratings: Some(listings_pb::Ratings {
            security: Some(4.5),
            power: None,
            neighborhood: Some(3.0),
            reviews: 2,
            ai_audited: true,
        }),
        land_details: None,
        analysis_id: Some("an-1".into()),
        created_at: Some(at),
        updated_at: Some(at),
    }
}

fn saved_search(id: &str, request: listings_pb::SaveSearchRequest) -> listings_pb::SavedSearch {
    listings_pb::SavedSearch {
        id: id.into(),
        name: request.name,
        latitude: request.latitude,
        longitude: request.longitude,
        radius_km: request.radius_km,
        polygon_geojson: request.polygon_geojson,
        category: request.category,
        min_price_kobo: request.min_price_kobo,
        max_price_kobo: request.max_price_kobo,
        bedrooms: request.bedrooms,
        created_at: Some(rentory_proto::timestamp(time::macros::datetime!(
            2026-03-02 10:00:00 UTC
        ))),
    }
}

#[tonic::async_trait]
impl Listings for Fake {
    async fn analyze_photos(
        &self,
        r: Rpc<listings_pb::AnalyzePhotosRequest>,
    ) -> Result<RpcResponse<listings_pb::Analysis>, Status> {
        self.calls.record("AnalyzePhotos", &r);
        let request = r.into_inner();
        Ok(RpcResponse::new(listings_pb::Analysis {
            id: "an-1".into(),
            category: "RESIDENTIAL".into(),
            title: "Bright 2-bedroom flat in Yaba".into(),
            description: "Renovated.".into(),
            amenities: vec!["PREPAID_METER".into()],
            neighborhood_description: "Close to the university.".into(),
            suggested_price_kobo: Some(250_000_000),
            rent_period: "YEAR".into(),
            bedrooms: Some(2),
            bathrooms: None,
            confidence: 0.8,
            model: "offline".into(),
            reasons: vec!["3 comparable listings within 2 km".into()],
            photo_urls: (0..request.photos.len())
                .map(|i| format!("http://127.0.0.1:8080/photos/p{i}.jpg"))
                .collect(),
            address: request.address,
            latitude: request.latitude,
            longitude: request.longitude,
            comparables: 3,
            created_at: Some(rentory_proto::timestamp(time::macros::datetime!(
                2026-03-01 09:00:00 UTC
            ))),
        }))
    }

    async fn create_property(
        &self,
        r: Rpc<listings_pb::CreatePropertyRequest>,
    ) -> Result<RpcResponse<listings_pb::Property>, Status> {
        self.calls.record("CreateProperty", &r);
        let request = r.into_inner();
        // The fake caller is a landlord: the platform's fields are not theirs to set.
        let read_only: Vec<(&str, String)> = [
            ("landlord_id", request.landlord_id.is_some()),
            ("status", request.status.is_some()),
            ("is_verified", request.is_verified.is_some()),
            ("rentory_managed", request.rentory_managed.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(field, _)| (field, "is set by the platform".to_owned()))
        .collect();
        if !read_only.is_empty() {
            return Err(rpc_error::refused_fields(
                Reason::ReadOnlyField,
                "a landlord may not set these fields",
                read_only,
            ));
        }
        let mut created = property(PROPERTY_ID);
        if let Some(title) = request.title {
            created.title = title;
        }
        Ok(RpcResponse::new(created))
    }

    async fn get_property(
        &self,
        r: Rpc<listings_pb::GetPropertyRequest>,
    ) -> Result<RpcResponse<listings_pb::Property>, Status> {
        self.calls.record("GetProperty", &r);
        let id = r.into_inner().id;
        if id != PROPERTY_ID {
            return Err(rpc_error::status(Reason::NotFound, "no such property"));
        }
        Ok(RpcResponse::new(property(&id)))
    }

    async fn update_property(
        &self,
        r: Rpc<listings_pb::UpdatePropertyRequest>,
    ) -> Result<RpcResponse<listings_pb::Property>, Status> {
        self.calls.record("UpdateProperty", &r);
        let request = r.into_inner();
        let mut updated = property(&request.id);
        if let Some(title) = request.title {
            updated.title = title;
        }
        if request.amenities_set {
            updated.amenities = request.amenities;
        }
        Ok(RpcResponse::new(updated))
    }

    async fn archive_property(
        &self,
        r: Rpc<listings_pb::ArchivePropertyRequest>,
    ) -> Result<RpcResponse<listings_pb::Property>, Status> {
        self.calls.record("ArchiveProperty", &r);
        let mut archived = property(&r.into_inner().id);
        archived.status = "ARCHIVED".into();
        Ok(RpcResponse::new(archived))
    }

    async fn discover(
        &self,
        r: Rpc<listings_pb::DiscoverRequest>,
    ) -> Result<RpcResponse<listings_pb::DiscoverResponse>, Status> {
        self.calls.record("Discover", &r);
        let last_page = !r.get_ref().cursor.is_empty();
        Ok(RpcResponse::new(listings_pb::DiscoverResponse {
            items: vec![listings_pb::DiscoverItem {
                property: Some(property(PROPERTY_ID)),
                match_score: 87,
                match_reasons: vec!["in Yaba, where you asked".into()],
                distance_km: 1.25,
            }],
            next_cursor: if last_page {
                String::new()
            } else {
                "page-2".into()
            },
            persona_version: 2,
        }))
    }

    async fn rate_property(
        &self,
        r: Rpc<listings_pb::RatePropertyRequest>,
    ) -> Result<RpcResponse<listings_pb::Property>, Status> {
        self.calls.record("RateProperty", &r);
        let request = r.into_inner();
        if [request.security, request.power, request.neighborhood]
            .iter()
            .any(|r| !(1..=5).contains(r))
        {
            return Err(rpc_error::invalid_fields(
                "invalid rating",
                [("power", "must be 1 - 5".to_owned())],
            ));
        }
        Ok(RpcResponse::new(property(&request.property_id)))
    }

    async fn get_contact(
        &self,
        r: Rpc<listings_pb::GetContactRequest>,
    ) -> Result<RpcResponse<listings_pb::Contact>, Status> {
        self.calls.record("GetContact", &r);
        if r.get_ref().property_id == LOCKED_PROPERTY_ID {
            return Err(rpc_error::status(
                Reason::PaymentRequired,
                "pay the NGN 5,000 contact unlock first: POST /payments/contact-unlock {property_id}",
            ));
        }
        Ok(RpcResponse::new(listings_pb::Contact {
            landlord_id: LANDLORD_ID.into(),
            full_name: "Adaeze Okafor".into(),
            phone: "+2348031234567".into(),
            email: "ada@example.ng".into(),
        }))
    }

    async fn save_search(
        &self,
        r: Rpc<listings_pb::SaveSearchRequest>,
    ) -> Result<RpcResponse<listings_pb::SavedSearch>, Status> {
        self.calls.record("SaveSearch", &r);
        Ok(RpcResponse::new(saved_search("ss-1", r.into_inner())))
    }

    async fn list_searches(
        &self,
        r: Rpc<listings_pb::ListSearchesRequest>,
    ) -> Result<RpcResponse<listings_pb::ListSearchesResponse>, Status> {
        self.calls.record("ListSearches", &r);
        Ok(RpcResponse::new(listings_pb::ListSearchesResponse {
            searches: vec![saved_search(
                "ss-1",
                listings_pb::SaveSearchRequest {
                    name: "2-bed in Yaba".into(),
                    latitude: 6.5,
                    longitude: 3.37,
                    radius_km: 3.0,
                    polygon_geojson: None,
                    category: Some("RESIDENTIAL".into()),
                    min_price_kobo: None,
                    max_price_kobo: Some(300_000_000),
                    bedrooms: Some(2),
                },
            )],
        }))
    }

    async fn delete_search(
        &self,
        r: Rpc<listings_pb::DeleteSearchRequest>,
    ) -> Result<RpcResponse<listings_pb::DeleteSearchResponse>, Status> {
        self.calls.record("DeleteSearch", &r);
        if r.get_ref().id != "ss-1" {
            return Err(rpc_error::status(Reason::NotFound, "no such saved search"));
        }
        Ok(RpcResponse::new(listings_pb::DeleteSearchResponse {}))
    }
}

// --- fake payments ---------------------------------------------------------------------

/// A reference the fake payments service knows as already unlocked.
pub const UNLOCKED_PROPERTY_ID: &str = "0190f3a2-7b1c-7d4e-9a8b-00000000a0ff";
pub const PAID_REFERENCE: &str = "ul-0190f3a27b1c7d4e9a8b00000000c001";

pub fn transaction(reference: &str, status: &str) -> payments_pb::Transaction {
    let at = rentory_proto::timestamp(time::macros::datetime!(2026-03-03 12:00:00 UTC));
    payments_pb::Transaction {
        id: "0190f3a2-7b1c-7d4e-9a8b-00000000c001".into(),
        reference: reference.into(),
        r#type: "CONTACT_UNLOCK".into(),
        status: status.into(),
        amount_kobo: 500_000,
        currency: "NGN".into(),
        payer_id: "0190f3a2-7b1c-7d4e-9a8b-1234567890ab".into(),
        property_id: Some(PROPERTY_ID.into()),
        lease_id: None,
        paystack_id: (status == "SUCCESS").then_some(4_099_260_516),
        created_at: Some(at),
        updated_at: Some(at),
        paid_at: (status == "SUCCESS").then_some(at),
        status_reason: String::new(),
    }
}

#[tonic::async_trait]
impl payments_pb::payments_server::Payments for Fake {
    async fn init_contact_unlock(
        &self,
        r: Rpc<payments_pb::InitContactUnlockRequest>,
    ) -> Result<RpcResponse<payments_pb::Checkout>, Status> {
        self.calls.record("InitContactUnlock", &r);
        if r.get_ref().property_id == UNLOCKED_PROPERTY_ID {
            return Err(rpc_error::status_with_info(
                Reason::AlreadyExists,
                "this property's contact is already unlocked",
                [("reference", PAID_REFERENCE.to_owned())],
            ));
        }
        let reference = "ul-0190f3a27b1c7d4e9a8b00000000c002";
        Ok(RpcResponse::new(payments_pb::Checkout {
            reference: reference.into(),
            authorization_url: "https://checkout.paystack.com/0peioxfhpn".into(),
            access_code: "0peioxfhpn".into(),
            amount_kobo: 500_000,
            transaction: Some(transaction(reference, "PENDING")),
            reused: false,
        }))
    }

    async fn init_rent(
        &self,
        r: Rpc<payments_pb::InitRentRequest>,
    ) -> Result<RpcResponse<payments_pb::Checkout>, Status> {
        self.calls.record("InitRent", &r);
        if r.get_ref().lease_id != lease::SIGNED_LEASE_ID {
            return Err(rpc_error::status(
                Reason::InvalidState,
                "rent is paid against a FULLY_SIGNED lease; this one is DRAFT",
            ));
        }
        let reference = "rn-0190f3a27b1c7d4e9a8b00000000c003";
        let mut rent = transaction(reference, "PENDING");
        rent.r#type = "RENT".into();
        rent.amount_kobo = 250_000_000;
        rent.property_id = None;
        rent.lease_id = Some(lease::SIGNED_LEASE_ID.into());
        Ok(RpcResponse::new(payments_pb::Checkout {
            reference: reference.into(),
            authorization_url: "https://checkout.paystack.com/rent0001".into(),
            access_code: "rent0001".into(),
            amount_kobo: 250_000_000,
            transaction: Some(rent),
            reused: false,
        }))
    }

    async fn verify_transaction(
        &self,
        r: Rpc<payments_pb::VerifyTransactionRequest>,
    ) -> Result<RpcResponse<payments_pb::Transaction>, Status> {
        self.calls.record("VerifyTransaction", &r);
        let request = r.into_inner();
        if request
            .property_id
            .as_deref()
            .is_some_and(|p| p != PROPERTY_ID)
        {
            return Err(rpc_error::status(
                Reason::AlreadyExists,
                "reference belongs to another property",
            ));
        }
        Ok(RpcResponse::new(transaction(&request.reference, "SUCCESS")))
    }

    async fn handle_webhook(
        &self,
        r: Rpc<payments_pb::HandleWebhookRequest>,
    ) -> Result<RpcResponse<payments_pb::HandleWebhookResponse>, Status> {
        self.calls.record("HandleWebhook", &r);
        if r.get_ref().signature != "good-signature" {
            return Err(rpc_error::status(
                Reason::Unauthenticated,
                "the webhook signature is missing or wrong",
            ));
        }
        Ok(RpcResponse::new(payments_pb::HandleWebhookResponse {
            event_id: "0190f3a2-7b1c-7d4e-9a8b-00000000e001".into(),
            duplicate: false,
        }))
    }

    async fn list_transactions(
        &self,
        r: Rpc<payments_pb::ListTransactionsRequest>,
    ) -> Result<RpcResponse<payments_pb::ListTransactionsResponse>, Status> {
        self.calls.record("ListTransactions", &r);
        if r.get_ref().all {
            return Err(rpc_error::status(
                Reason::Forbidden,
                "only ADMIN and FINANCIAL_CONTROLLER staff read everyone's transactions",
            ));
        }
        Ok(RpcResponse::new(payments_pb::ListTransactionsResponse {
            transactions: vec![transaction(PAID_REFERENCE, "SUCCESS")],
            next_cursor: "0190f3a2-7b1c-7d4e-9a8b-00000000c001".into(),
        }))
    }

    async fn has_unlock(
        &self,
        _: Rpc<payments_pb::HasUnlockRequest>,
    ) -> Result<RpcResponse<payments_pb::HasUnlockResponse>, Status> {
        unimplemented()
    }

    async fn refund_transaction(
        &self,
        r: Rpc<payments_pb::RefundTransactionRequest>,
    ) -> Result<RpcResponse<payments_pb::Transaction>, Status> {
        self.calls.record("RefundTransaction", &r);
        let mut refunded = transaction(&r.get_ref().reference, "REFUNDED");
        refunded.status_reason = r.into_inner().reason;
        Ok(RpcResponse::new(refunded))
    }

    async fn set_payout_account(
        &self,
        r: Rpc<payments_pb::SetPayoutAccountRequest>,
    ) -> Result<RpcResponse<payments_pb::PayoutAccount>, Status> {
        self.calls.record("SetPayoutAccount", &r);
        let request = r.into_inner();
        Ok(RpcResponse::new(payments_pb::PayoutAccount {
            landlord_id: LANDLORD_ID.into(),
            business_name: request.business_name,
            bank_code: request.bank_code,
            account_number_last4: request.account_number.chars().skip(6).collect(),
            subaccount_code: "ACCT_4hl4xenwpjy5wb".into(),
            updated_at: None,
        }))
    }

    async fn get_payout_account(
        &self,
        _: Rpc<payments_pb::GetPayoutAccountRequest>,
    ) -> Result<RpcResponse<payments_pb::PayoutAccount>, Status> {
        Err(rpc_error::status(
            Reason::NotFound,
            "payout account not found",
        ))
    }
}

/// Starts the fakes (plus the standard health service) and a gateway pointed at them.
pub async fn with_fakes(
    fail_submit: bool,
    adjust: impl FnOnce(&mut gateway::Config),
) -> (TestApp, Calls) {
    let calls = Calls::default();
    let fake = Fake {
        calls: calls.clone(),
        fail_submit,
    };
    let chat = chat::FakeChat::new(&rentory_testkit::nats_url()).await;
    let leases = lease::FakeLeases {
        calls: calls.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (_, health) = tonic_health::server::health_reporter();
    let server = tonic::transport::Server::builder()
        .add_service(health)
        .add_service(IdentityServiceServer::new(fake.clone()))
        .add_service(KycServiceServer::new(fake.clone()))
        .add_service(AiOrchestratorServer::new(fake.clone()))
        .add_service(chat.server())
        .add_service(leases.server())
        .add_service(
            ListingsServer::new(fake.clone())
                .max_decoding_message_size(rentory_runtime::grpc::MAX_MESSAGE_BYTES),
        )
        .add_service(PaymentsServer::new(fake))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    tokio::spawn(server);
    let app = TestApp::new(move |c| {
        c.identity_url = url.clone();
        c.kyc_url = url.clone();
        c.ai_url = url.clone();
        c.listings_url = url.clone();
        c.payments_url = url.clone();
        c.lease_url = url.clone();
        c.chat_url = url;
        adjust(c);
    })
    .await;
    (app, calls)
}

pub fn registration() -> Request<Body> {
    let body = [
        register_texts(),
        file_part("id_image", "image/jpeg", fixtures::JPEG_16_BASELINE),
        file_part("face_scan", "image/png", fixtures::PNG_16),
        end(),
    ]
    .concat();
    let mut request = multipart_request("/auth/register", Body::from(body));
    request
        .headers_mut()
        .insert("x-request-id", "reg-1".parse().expect("value"));
    request
}

#[tokio::test]
async fn registration_creates_the_account_then_submits_kyc_with_the_new_token() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let response = app.send(registration()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body = json(response).await;
    assert_eq!(body["user"]["role"], "LANDLORD");
    assert_eq!(body["user"]["status"], "PENDING");
    assert_eq!(body["verification_request_id"], "vr-1");
    assert_eq!(body["access_token"], "new-users-access-token");
    assert_eq!(body["expires_in"], 900);
    assert!(body.get("verification_error").is_none());
    assert_eq!(calls.get("register", md::AUTHORIZATION), None);
    assert_eq!(
        calls.get("submit", md::AUTHORIZATION).as_deref(),
        Some("Bearer new-users-access-token")
    );
    assert_eq!(
        calls.get("submit", md::REQUEST_ID).as_deref(),
        Some("reg-1")
    );
    assert_eq!(
        calls.get("register", md::CLIENT_IP).as_deref(),
        Some("203.0.113.7")
    );
}

#[tokio::test]
async fn a_failed_kyc_submission_still_answers_201_with_the_error() {
    let (app, calls) = with_fakes(true, |_| {}).await;
    let response = app.send(registration()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body = json(response).await;
    assert_eq!(body["verification_request_id"], serde_json::Value::Null);
    assert_eq!(
        body["verification_error"]["type"],
        "https://rentory.ng/problems/internal"
    );
    assert_eq!(body["verification_error"]["request_id"], "reg-1");
    assert_eq!(body["access_token"], "new-users-access-token");
    assert_eq!(calls.count("submit"), 1);
}

#[tokio::test]
async fn the_callers_token_ip_request_id_and_user_agent_are_forwarded() {
    let (app, calls) = with_fakes(false, |c| c.trusted_proxy_hops = 1).await;
    let (token, _) = app.token();
    let request = Request::get("/me")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("x-request-id", "me-1")
        .header(header::USER_AGENT, "rentory-ios/1.0")
        .header("x-forwarded-for", "6.6.6.6, 198.51.100.4")
        .body(Body::empty())
        .expect("request");
    let response = app.send(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    assert_eq!(body["user"]["role"], "TENANT");
    assert_eq!(body["profile"]["preferences"]["budget_kobo"], 50_000_000);
    assert_eq!(body["profile"]["avatar_url"], serde_json::Value::Null);
    assert_eq!(
        calls.get("get_me", md::AUTHORIZATION),
        Some(format!("Bearer {token}"))
    );
    assert_eq!(calls.get("get_me", md::REQUEST_ID).as_deref(), Some("me-1"));
    assert_eq!(
        calls.get("get_me", md::USER_AGENT).as_deref(),
        Some("rentory-ios/1.0")
    );
    // One trusted proxy: its entry wins, the client's own spoofed one does not.
    assert_eq!(
        calls.get("get_me", md::CLIENT_IP).as_deref(),
        Some("198.51.100.4")
    );
}

#[tokio::test]
async fn service_errors_become_problems_with_their_details() {
    let (app, _) = with_fakes(false, |_| {}).await;
    let response = app
        .send(post_json(
            "/auth/login",
            r#"{"email": "a@b.ng", "pin": "480913"}"#,
        ))
        .await;
    assert_eq!(
        response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
        Some("300")
    );
    let body = problem(response, 423, "account-locked").await;
    assert_eq!(body["detail"], "too many failed attempts; try again later");

    let response = app
        .send(post_json("/auth/refresh", r#"{"refresh_token": "x"}"#))
        .await;
    let body = problem(response, 422, "validation-failed").await;
    assert_eq!(
        body["errors"][0],
        serde_json::json!({"field": "refresh_token", "message": "is malformed"})
    );

    let (token, _) = app.token();
    let staff = r#"{"email": "s@b.ng", "password": "p", "pin": "480913", "full_name": "S", "position": "COMPLIANCE_OFFICER"}"#;
    let mut request = post_json("/admin/staff", staff);
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("value"),
    );
    problem(app.send(request).await, 403, "forbidden").await;

    problem(
        app.send(get_with_token("/kyc/requests/nope", &token)).await,
        404,
        "not-found",
    )
    .await;

    let mut request = post_json("/kyc/requests/vr-1/reject", r#"{"reason": "blurry"}"#);
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("value"),
    );
    problem(app.send(request).await, 409, "invalid-state").await;
}

#[tokio::test]
async fn the_review_queue_is_paged_with_links() {
    let (app, _) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let response = app
        .send(get_with_token(
            "/kyc/requests?status=PENDING&limit=5&cursor=c1",
            &token,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    let item = &body["items"][0];
    assert_eq!(item["id"], "vr-2");
    assert_eq!(item["role_requested"], "GUIDE");
    assert_eq!(item["face_match"]["verdict"], "UNAVAILABLE");
    assert_eq!(item["face_match"]["score"], serde_json::Value::Null);
    assert!(
        item["id_image_url"]
            .as_str()
            .is_some_and(|u| u.contains("/files/kyc/"))
    );
    assert_eq!(body["next_cursor"], serde_json::Value::Null);

    let bad = app
        .send(get_with_token("/kyc/requests?status=MAYBE", &token))
        .await;
    problem(bad, 422, "validation-failed").await;
    let bad = app
        .send(get_with_token("/kyc/requests?limit=many", &token))
        .await;
    problem(bad, 422, "validation-failed").await;
}

#[tokio::test]
async fn readyz_is_200_when_redis_and_every_service_is_serving() {
    let (app, _) = with_fakes(false, |_| {}).await;
    // NATS is connected in the background: reported as soon as it is up.
    let mut body = serde_json::Value::Null;
    for _ in 0..100 {
        let response = app.send(get("/readyz")).await;
        assert_eq!(response.status(), StatusCode::OK);
        body = json(response).await;
        if body["checks"]["nats"] == "up" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(body["status"], "ready");
    assert_eq!(
        body["checks"],
        serde_json::json!({"redis": "up", "identity": "up", "kyc": "up", "ai": "up", "listings": "up", "payments": "up", "chat": "up", "lease": "up", "nats": "up"})
    );
}

#[tokio::test]
async fn a_request_over_the_timeout_is_a_504_problem() {
    let (app, _) = with_fakes(false, |c| c.request_timeout = Duration::from_secs(1)).await;
    let (token, _) = app.token();
    let mut request = Request::patch("/me/profile")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"bio": "slow"}"#))
        .expect("request");
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("value"),
    );
    let started = std::time::Instant::now();
    problem(app.send(request).await, 504, "gateway-timeout").await;
    assert!(started.elapsed() < Duration::from_secs(4));
}

fn concierge_message(token: &str, message: &str) -> Request<Body> {
    let mut request = post_json(
        "/concierge/messages",
        &serde_json::json!({ "message": message }).to_string(),
    );
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header"),
    );
    request
}

#[tokio::test]
async fn concierge_messages_forward_the_token_and_answer_with_the_persona() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let response = app
        .send(concierge_message(
            &token,
            "2 bedroom in Yaba, constant light",
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    assert_eq!(body["reply"], "Which area of Lagos?");
    assert_eq!(body["persona"]["version"], 2);
    assert_eq!(
        body["persona"]["must_haves"],
        serde_json::json!(["CONSTANT_POWER"])
    );
    assert_eq!(body["persona_changed"], true);
    assert_eq!(body["model"], "offline");
    assert_eq!(
        calls.get("ConciergeTurn", md::AUTHORIZATION),
        Some(format!("Bearer {token}"))
    );

    let persona = json(app.send(get_with_token("/concierge/persona", &token)).await).await;
    assert_eq!(persona["priorities"]["power"], 5);
    assert_eq!(calls.count("GetPersona"), 1);
}

#[tokio::test]
async fn concierge_refusals_map_to_their_problems() {
    let (app, _) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let spent = app.send(concierge_message(&token, "over budget")).await;
    assert_eq!(
        spent
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.as_bytes()),
        Some(&b"3600"[..])
    );
    problem(spent, 429, "ai-budget-exhausted").await;
    problem(
        app.send(concierge_message(&token, "blocked")).await,
        422,
        "content-blocked",
    )
    .await;
    // A persona the gateway cannot read is the service's fault, not the caller's.
    problem(
        app.send(concierge_message(&token, "bad persona")).await,
        502,
        "bad-gateway",
    )
    .await;
    problem(
        app.send(post_json("/concierge/messages", r#"{"message":"hi"}"#))
            .await,
        401,
        "unauthenticated",
    )
    .await;
}

// --- chat ---------------------------------------------------------------------------------
// A fake chat service: one session (a fresh id per fake) between TENANT_ID and LANDLORD_ID
// about PROPERTY_ID, messages kept in memory, and, like the real service once it has
// committed, each stored message and read marker published as a RoomEvent on core NATS.

pub mod chat {
    use std::sync::{Arc, Mutex};

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use prost::Message as _;
    use rentory_proto::chat::v1 as pb;
    use rentory_proto::chat::v1::chat_server::{Chat, ChatServer};
    use rentory_runtime::rpc_error::{self, Reason};
    use tonic::{Request as Rpc, Response as RpcResponse, Status};

    use super::{Calls, LANDLORD_ID, PROPERTY_ID};

    pub const TENANT_ID: &str = "0190f3a2-7b1c-7d4e-9a8b-00000000c001";
    pub const OUTSIDER_ID: &str = "0190f3a2-7b1c-7d4e-9a8b-00000000c002";
    pub const GUIDE_ID: &str = "0190f3a2-7b1c-7d4e-9a8b-00000000c003";
    /// The fake's content cap (the real service has its own).
    pub const MAX_CONTENT_CHARS: usize = 2000;

    #[derive(Clone)]
    pub struct FakeChat {
        pub calls: Calls,
        pub session_id: String,
        nats: async_nats::Client,
        messages: Arc<Mutex<Vec<pb::Message>>>,
    }

    impl FakeChat {
        pub async fn new(nats_url: &str) -> Self {
            let nats = async_nats::ConnectOptions::new()
                .retry_on_initial_connect()
                .connect(nats_url)
                .await
                .expect("nats");
            Self {
                calls: Calls::default(),
                session_id: uuid::Uuid::now_v7().to_string(),
                nats,
                messages: Arc::default(),
            }
        }

        pub fn server(&self) -> ChatServer<Self> {
            ChatServer::new(self.clone())
        }

        pub fn nats_connected(&self) -> bool {
            self.nats.connection_state() == async_nats::connection::State::Connected
        }

        pub fn stored(&self) -> Vec<pb::Message> {
            self.messages.lock().expect("lock").clone()
        }

        fn session(&self) -> pb::Session {
            pb::Session {
                id: self.session_id.clone(),
                property_id: PROPERTY_ID.into(),
                tenant_id: TENANT_ID.into(),
                landlord_id: LANDLORD_ID.into(),
                assigned_guide_id: None,
                created_at: Some(rentory_proto::timestamp(time::macros::datetime!(
                    2026-03-03 08:00:00 UTC
                ))),
                last_updated: None,
                contact_unlocked: false,
            }
        }

        /// The caller's user id, read from the forwarded token (a fake trusts it).
        fn caller<T>(request: &Rpc<T>) -> Result<String, Status> {
            let token = request
                .metadata()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(|| rpc_error::status(Reason::Unauthenticated, "no token"))?;
            let claims = token
                .split('.')
                .nth(1)
                .and_then(|body| URL_SAFE_NO_PAD.decode(body).ok())
                .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
                .ok_or_else(|| rpc_error::status(Reason::Unauthenticated, "bad token"))?;
            Ok(claims["sub"].as_str().unwrap_or_default().to_owned())
        }

        /// The session, for a caller who may see it; NOT_FOUND otherwise, as for none.
        fn visible<T>(&self, request: &Rpc<T>, session_id: &str) -> Result<String, Status> {
            let caller = Self::caller(request)?;
            if session_id != self.session_id
                || ![TENANT_ID, LANDLORD_ID, GUIDE_ID].contains(&caller.as_str())
            {
                return Err(rpc_error::status(Reason::NotFound, "no such session"));
            }
            Ok(caller)
        }

        async fn publish(&self, event: pb::room_event::Event) {
            let event = pb::RoomEvent {
                session_id: self.session_id.clone(),
                event: Some(event),
                origin: String::new(),
            };
            let subject = format!("chat.session.{}", self.session_id);
            if self.nats.connection_state() == async_nats::connection::State::Connected {
                let _ = self
                    .nats
                    .publish(subject, event.encode_to_vec().into())
                    .await;
                let _ = self.nats.flush().await;
            }
        }
    }

    #[tonic::async_trait]
    impl Chat for FakeChat {
        async fn open_session(
            &self,
            r: Rpc<pb::OpenSessionRequest>,
        ) -> Result<RpcResponse<pb::Session>, Status> {
            self.calls.record("OpenSession", &r);
            Self::caller(&r)?;
            if r.get_ref().property_id != PROPERTY_ID {
                return Err(rpc_error::status(Reason::NotFound, "no such property"));
            }
            Ok(RpcResponse::new(self.session()))
        }

        async fn get_session(
            &self,
            r: Rpc<pb::GetSessionRequest>,
        ) -> Result<RpcResponse<pb::Session>, Status> {
            self.calls.record("GetSession", &r);
            self.visible(&r, &r.get_ref().session_id)?;
            Ok(RpcResponse::new(self.session()))
        }

        async fn list_sessions(
            &self,
            r: Rpc<pb::ListSessionsRequest>,
        ) -> Result<RpcResponse<pb::ListSessionsResponse>, Status> {
            self.calls.record("ListSessions", &r);
            let first_page = r.get_ref().cursor.is_empty();
            let visible = self.visible(&r, &self.session_id).is_ok();
            Ok(RpcResponse::new(pb::ListSessionsResponse {
                sessions: if visible {
                    vec![self.session()]
                } else {
                    vec![]
                },
                next_cursor: if first_page {
                    "page-2".into()
                } else {
                    String::new()
                },
            }))
        }

        async fn history(
            &self,
            r: Rpc<pb::HistoryRequest>,
        ) -> Result<RpcResponse<pb::HistoryResponse>, Status> {
            self.calls.record("History", &r);
            self.visible(&r, &r.get_ref().session_id)?;
            let request = r.into_inner();
            let limit = if request.limit == 0 {
                50
            } else {
                request.limit as usize
            };
            let all = self.stored();
            let position = |id: &str| all.iter().position(|m| m.id == id);
            let mut page: Vec<pb::Message> = match (request.before_id, request.after_id) {
                (_, Some(after)) => {
                    let from = position(&after).map_or(0, |at| at + 1);
                    all[from..].to_vec()
                }
                (Some(before), None) => {
                    let to = position(&before).unwrap_or(all.len());
                    all[..to].iter().rev().cloned().collect()
                }
                (None, None) => all.iter().rev().cloned().collect(),
            };
            let has_more = page.len() > limit;
            page.truncate(limit);
            Ok(RpcResponse::new(pb::HistoryResponse {
                messages: page,
                has_more,
            }))
        }

        async fn send_message(
            &self,
            r: Rpc<pb::SendMessageRequest>,
        ) -> Result<RpcResponse<pb::Message>, Status> {
            self.calls.record("SendMessage", &r);
            let sender = self.visible(&r, &r.get_ref().session_id)?;
            let request = r.into_inner();
            let chars = request.content.trim().chars().count();
            if chars == 0 || chars > MAX_CONTENT_CHARS {
                return Err(rpc_error::invalid_fields(
                    "invalid message",
                    [(
                        "content",
                        format!("must be 1 - {MAX_CONTENT_CHARS} characters"),
                    )],
                ));
            }
            let message = {
                let mut messages = self.messages.lock().expect("lock");
                let again = messages.iter().find(|m| {
                    !request.client_id.is_empty()
                        && m.client_id == request.client_id
                        && m.sender_id == sender
                });
                if let Some(first) = again {
                    return Ok(RpcResponse::new(first.clone()));
                }
                let message = pb::Message {
                    id: uuid::Uuid::now_v7().to_string(),
                    session_id: self.session_id.clone(),
                    sender_role: if sender == TENANT_ID {
                        "TENANT"
                    } else {
                        "LANDLORD"
                    }
                    .into(),
                    sender_id: sender,
                    content: request.content,
                    is_read: false,
                    is_admin_intervention: false,
                    created_at: Some(rentory_proto::timestamp(time::OffsetDateTime::now_utc())),
                    client_id: request.client_id,
                };
                messages.push(message.clone());
                message
            };
            self.publish(pb::room_event::Event::Message(message.clone()))
                .await;
            Ok(RpcResponse::new(message))
        }

        async fn mark_read(
            &self,
            r: Rpc<pb::MarkReadRequest>,
        ) -> Result<RpcResponse<pb::ReadMarker>, Status> {
            self.calls.record("MarkRead", &r);
            let reader = self.visible(&r, &r.get_ref().session_id)?;
            let request = r.into_inner();
            if !self.stored().iter().any(|m| m.id == request.message_id) {
                return Err(rpc_error::status(Reason::NotFound, "no such message"));
            }
            let marker = pb::ReadMarker {
                session_id: self.session_id.clone(),
                reader_id: reader,
                message_id: request.message_id,
                at: Some(rentory_proto::timestamp(time::OffsetDateTime::now_utc())),
            };
            self.publish(pb::room_event::Event::Read(marker.clone()))
                .await;
            Ok(RpcResponse::new(marker))
        }

        async fn find_session(
            &self,
            _: Rpc<pb::FindSessionRequest>,
        ) -> Result<RpcResponse<pb::Session>, Status> {
            super::unimplemented()
        }
        async fn assign_guide(
            &self,
            r: Rpc<pb::AssignGuideRequest>,
        ) -> Result<RpcResponse<pb::Session>, Status> {
            self.calls.record("AssignGuide", &r);
            if Self::caller(&r)? != LANDLORD_ID {
                return Err(rpc_error::status(
                    Reason::Forbidden,
                    "only staff assign guides",
                ));
            }
            let mut session = self.session();
            session.assigned_guide_id = Some(r.into_inner().guide_id);
            Ok(RpcResponse::new(session))
        }
    }

    /// The fake on a gRPC server of its own (with the health service); its URL.
    pub async fn serve(chat: &FakeChat) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (_, health) = tonic_health::server::health_reporter();
        let server = tonic::transport::Server::builder()
            .add_service(health)
            .add_service(chat.server())
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
        tokio::spawn(server);
        url
    }
}

// --- lease ------------------------------------------------------------------------------
// A fake lease service that records each call and answers by lease id: LEASE_ID is a
// DRAFT lease, and the other ids make the service refuse the way the real one does.

pub mod lease {
    use rentory_proto::lease::v1 as pb;
    use rentory_proto::lease::v1::leases_server::{Leases, LeasesServer};
    use rentory_runtime::rpc_error::{self, PreconditionViolation, Reason};
    use sha2::{Digest, Sha256};
    use tonic::{Request as Rpc, Response as RpcResponse, Status};

    use super::{Calls, LANDLORD_ID, PROPERTY_ID};
    use crate::backend::chat::TENANT_ID;

    pub const LEASE_ID: &str = "0190f3a2-7b1c-7d4e-9a8b-00000000d001";
    /// Signing or editing it answers STALE_CONTENT.
    pub const STALE_LEASE_ID: &str = "0190f3a2-7b1c-7d4e-9a8b-00000000d002";
    /// Signing it answers NOT_COMPLIANT with two findings.
    pub const NON_COMPLIANT_LEASE_ID: &str = "0190f3a2-7b1c-7d4e-9a8b-00000000d003";
    /// FULLY_SIGNED: withdrawing or authorizing it answers INVALID_STATE with its status.
    pub const SIGNED_LEASE_ID: &str = "0190f3a2-7b1c-7d4e-9a8b-00000000d004";
    /// Its certified document does not hash to the SHA-256 the service reports; its audit
    /// chain is broken at BROKEN_ROW_ID.
    pub const TAMPERED_LEASE_ID: &str = "0190f3a2-7b1c-7d4e-9a8b-00000000d005";
    pub const BROKEN_ROW_ID: &str = "0190f3a2-7b1c-7d4e-9a8b-00000000e002";
    /// A property with an open lease: drafting answers ALREADY_EXISTS naming LEASE_ID.
    pub const LEASED_PROPERTY_ID: &str = "0190f3a2-7b1c-7d4e-9a8b-00000000a0ee";
    pub const CONTENT: &str = "# Tenancy Agreement\n\nThe landlord lets the flat to the tenant.\n";
    pub const DOCUMENT: &str = "# Tenancy Agreement\n\nThe landlord lets the flat to the tenant.\n\n## Signature certificate\n\nLandlord and tenant signed; authorized by compliance.\n";

    pub fn sha256_hex(text: &str) -> String {
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    fn at(text: &str) -> Option<rentory_proto::prost_types::Timestamp> {
        let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .expect("rfc 3339");
        Some(rentory_proto::timestamp(at))
    }

    pub fn lease(id: &str, status: &str) -> pb::Lease {
        let signed = status == "FULLY_SIGNED";
        pb::Lease {
            id: id.into(),
            property_id: PROPERTY_ID.into(),
            tenant_id: TENANT_ID.into(),
            landlord_id: LANDLORD_ID.into(),
            status: status.into(),
            content: CONTENT.into(),
            content_sha256: sha256_hex(CONTENT),
            version: 2,
            terms: Some(pb::Terms {
                rent_kobo: 250_000_000,
                rent_period: "YEAR".into(),
                duration_months: 12,
                start_date: "2026-06-01".into(),
                deposit_kobo: 50_000_000,
                service_charge_kobo: 0,
                advance_rent_months: 12,
                negotiation_points: vec!["The landlord repaints before move-in".into()],
            }),
            findings: vec![pb::Finding {
                code: "NOTICE_SHORTER_THAN_STATUTORY".into(),
                severity: "ADVISORY".into(),
                message: "A yearly tenancy needs half a year's notice".into(),
                rule: "Lagos State Tenancy Law 2011, s.13".into(),
            }],
            signatures: vec![pb::Signature {
                party: "LANDLORD".into(),
                user_id: LANDLORD_ID.into(),
                signed_at: at("2026-05-20T10:00:00Z"),
                content_sha256: sha256_hex(CONTENT),
                ip_address: Some("198.51.100.4".into()),
            }],
            tenancy: "NEW".into(),
            jurisdiction: "Lagos State".into(),
            property_title: "Bright 2-bedroom flat in Yaba".into(),
            premises_address: "12 Herbert Macaulay Way, Yaba, Lagos".into(),
            landlord_name: "Adaeze Okafor".into(),
            tenant_name: "Tunde Bakare".into(),
            drafted_by_model: "offline".into(),
            draft_reasons: vec!["the template for a yearly residential tenancy".into()],
            created_at: at("2026-05-19T09:00:00Z"),
            updated_at: at("2026-05-20T10:00:00Z"),
            fully_signed_at: if signed {
                at("2026-05-21T12:00:00Z")
            } else {
                None
            },
            authorized_by: signed.then(|| "0190f3a2-7b1c-7d4e-9a8b-00000000f001".into()),
        }
    }

    #[derive(Clone, Default)]
    pub struct FakeLeases {
        pub calls: Calls,
    }

    impl FakeLeases {
        pub fn server(&self) -> LeasesServer<Self> {
            LeasesServer::new(self.clone())
        }
    }

    /// The fake trusts any forwarded bearer token, and refuses calls without one.
    fn token<T>(request: &Rpc<T>) -> Result<(), Status> {
        match request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
        {
            Some(value) if value.starts_with("Bearer ") => Ok(()),
            _ => Err(rpc_error::status(Reason::Unauthenticated, "no token")),
        }
    }

    fn known(id: &str) -> Result<pb::Lease, Status> {
        match id {
            LEASE_ID | STALE_LEASE_ID | NON_COMPLIANT_LEASE_ID => Ok(lease(id, "DRAFT")),
            SIGNED_LEASE_ID | TAMPERED_LEASE_ID => Ok(lease(id, "FULLY_SIGNED")),
            _ => Err(rpc_error::status(Reason::NotFound, "lease not found")),
        }
    }

    fn stale() -> Status {
        rpc_error::status(
            Reason::StaleContent,
            "the lease changed since you read it; read it again",
        )
    }

    fn invalid_state(status: &str) -> Status {
        rpc_error::status_with_info(
            Reason::InvalidState,
            format!("not possible while the lease is {status}"),
            [("lease_status", status.to_owned())],
        )
    }

    #[tonic::async_trait]
    impl Leases for FakeLeases {
        async fn draft_lease(
            &self,
            r: Rpc<pb::DraftLeaseRequest>,
        ) -> Result<RpcResponse<pb::Lease>, Status> {
            self.calls.record("DraftLease", &r);
            token(&r)?;
            if r.get_ref().property_id == LEASED_PROPERTY_ID {
                return Err(rpc_error::status_with_info(
                    Reason::AlreadyExists,
                    "an open lease exists for this property and tenant",
                    [("lease_id", LEASE_ID.to_owned())],
                ));
            }
            let mut drafted = lease(LEASE_ID, "DRAFT");
            drafted.version = 1;
            drafted.signatures.clear();
            drafted.terms = r.into_inner().terms;
            Ok(RpcResponse::new(drafted))
        }

        async fn get_lease(
            &self,
            r: Rpc<pb::GetLeaseRequest>,
        ) -> Result<RpcResponse<pb::Lease>, Status> {
            self.calls.record("GetLease", &r);
            token(&r)?;
            Ok(RpcResponse::new(known(&r.get_ref().lease_id)?))
        }

        async fn list_leases(
            &self,
            r: Rpc<pb::ListLeasesRequest>,
        ) -> Result<RpcResponse<pb::ListLeasesResponse>, Status> {
            self.calls.record("ListLeases", &r);
            token(&r)?;
            let last_page = !r.get_ref().cursor.is_empty();
            Ok(RpcResponse::new(pb::ListLeasesResponse {
                leases: vec![
                    lease(SIGNED_LEASE_ID, "FULLY_SIGNED"),
                    lease(LEASE_ID, "DRAFT"),
                ],
                next_cursor: if last_page {
                    String::new()
                } else {
                    "page-2".into()
                },
            }))
        }

        async fn list_versions(
            &self,
            r: Rpc<pb::ListVersionsRequest>,
        ) -> Result<RpcResponse<pb::ListVersionsResponse>, Status> {
            self.calls.record("ListVersions", &r);
            token(&r)?;
            let found = known(&r.get_ref().lease_id)?;
            Ok(RpcResponse::new(pb::ListVersionsResponse {
                versions: vec![
                    pb::LeaseVersion {
                        version: 1,
                        content: "# Draft".into(),
                        content_sha256: sha256_hex("# Draft"),
                        author_id: found.landlord_id.clone(),
                        created_at: at("2026-05-19T09:00:00Z"),
                    },
                    pb::LeaseVersion {
                        version: 2,
                        content: found.content,
                        content_sha256: found.content_sha256,
                        author_id: found.landlord_id,
                        created_at: at("2026-05-19T09:30:00Z"),
                    },
                ],
            }))
        }

        async fn edit_lease(
            &self,
            r: Rpc<pb::EditLeaseRequest>,
        ) -> Result<RpcResponse<pb::Lease>, Status> {
            self.calls.record("EditLease", &r);
            token(&r)?;
            let request = r.into_inner();
            let mut edited = known(&request.lease_id)?;
            if request.lease_id == STALE_LEASE_ID {
                return Err(stale());
            }
            edited.content_sha256 = sha256_hex(&request.content);
            edited.content = request.content;
            edited.version += 1;
            Ok(RpcResponse::new(edited))
        }

        async fn sign_lease(
            &self,
            r: Rpc<pb::SignLeaseRequest>,
        ) -> Result<RpcResponse<pb::Lease>, Status> {
            self.calls.record("SignLease", &r);
            token(&r)?;
            let request = r.into_inner();
            let mut signed = known(&request.lease_id)?;
            match request.lease_id.as_str() {
                STALE_LEASE_ID => return Err(stale()),
                NON_COMPLIANT_LEASE_ID => {
                    return Err(rpc_error::precondition_failures(
                        Reason::NotCompliant,
                        "the lease has blocking compliance findings",
                        [
                            PreconditionViolation {
                                kind: "ADVANCE_RENT_OVER_LIMIT".into(),
                                subject: "Lagos State Tenancy Law 2011, s.4".into(),
                                description: "24 months in advance is more than 12".into(),
                            },
                            PreconditionViolation {
                                kind: "MISSING_PREMISES".into(),
                                subject: "Lagos State Tenancy Law 2011, s.5".into(),
                                description: "the premises are not described".into(),
                            },
                        ],
                    ));
                }
                SIGNED_LEASE_ID | TAMPERED_LEASE_ID => return Err(invalid_state("FULLY_SIGNED")),
                _ => {}
            }
            signed.status = "PENDING_ADMIN".into();
            Ok(RpcResponse::new(signed))
        }

        async fn withdraw_lease(
            &self,
            r: Rpc<pb::WithdrawLeaseRequest>,
        ) -> Result<RpcResponse<pb::Lease>, Status> {
            self.calls.record("WithdrawLease", &r);
            token(&r)?;
            let found = known(&r.get_ref().lease_id)?;
            if found.status == "FULLY_SIGNED" {
                return Err(invalid_state("FULLY_SIGNED"));
            }
            Ok(RpcResponse::new(found))
        }

        async fn authorize_lease(
            &self,
            r: Rpc<pb::AuthorizeLeaseRequest>,
        ) -> Result<RpcResponse<pb::Lease>, Status> {
            self.calls.record("AuthorizeLease", &r);
            token(&r)?;
            let found = known(&r.get_ref().lease_id)?;
            if found.status != "PENDING_ADMIN" && r.get_ref().lease_id != LEASE_ID {
                return Err(invalid_state(&found.status));
            }
            Ok(RpcResponse::new(lease(&found.id, "FULLY_SIGNED")))
        }

        async fn get_audit(
            &self,
            r: Rpc<pb::GetAuditRequest>,
        ) -> Result<RpcResponse<pb::GetAuditResponse>, Status> {
            self.calls.record("GetAudit", &r);
            token(&r)?;
            let found = known(&r.get_ref().lease_id)?;
            let row =
                |id: &str, from: Option<&str>, to: &str, prev: &str, hash: &str| pb::AuditEntry {
                    id: id.into(),
                    from_status: from.map(str::to_owned),
                    to_status: to.into(),
                    actor_id: LANDLORD_ID.into(),
                    actor_role: "LANDLORD".into(),
                    ip_address: Some("198.51.100.4".into()),
                    user_agent: Some("rentory-ios/1.0".into()),
                    request_id: Some("req-1".into()),
                    at: at("2026-05-19T09:00:00Z"),
                    content_sha256: found.content_sha256.clone(),
                    reason: None,
                    prev_hash: prev.into(),
                    hash: hash.into(),
                };
            let broken = found.id == TAMPERED_LEASE_ID;
            Ok(RpcResponse::new(pb::GetAuditResponse {
                entries: vec![
                    row(
                        "0190f3a2-7b1c-7d4e-9a8b-00000000e001",
                        None,
                        "DRAFT",
                        &"0".repeat(64),
                        &"a".repeat(64),
                    ),
                    row(
                        BROKEN_ROW_ID,
                        Some("DRAFT"),
                        "SIGNED_BY_LANDLORD",
                        &"a".repeat(64),
                        &"b".repeat(64),
                    ),
                ],
                chain_intact: !broken,
                broken_row_id: broken.then(|| BROKEN_ROW_ID.to_owned()),
            }))
        }

        async fn get_signed_document(
            &self,
            r: Rpc<pb::GetSignedDocumentRequest>,
        ) -> Result<RpcResponse<pb::SignedDocument>, Status> {
            self.calls.record("GetSignedDocument", &r);
            token(&r)?;
            let found = known(&r.get_ref().lease_id)?;
            if found.status != "FULLY_SIGNED" {
                return Err(invalid_state(&found.status));
            }
            let markdown = if found.id == TAMPERED_LEASE_ID {
                DOCUMENT.replace("tenant.", "tenant!")
            } else {
                DOCUMENT.to_owned()
            };
            Ok(RpcResponse::new(pb::SignedDocument {
                lease_id: found.id,
                markdown,
                sha256: sha256_hex(DOCUMENT),
                fully_signed_at: found.fully_signed_at,
            }))
        }

        async fn verify_document(
            &self,
            r: Rpc<pb::VerifyDocumentRequest>,
        ) -> Result<RpcResponse<pb::VerifyDocumentResponse>, Status> {
            self.calls.record("VerifyDocument", &r);
            let sha256 = r.into_inner().sha256;
            let known = sha256 == sha256_hex(DOCUMENT);
            Ok(RpcResponse::new(pb::VerifyDocumentResponse {
                fully_signed: known,
                fully_signed_at: if known {
                    at("2026-05-21T12:00:00Z")
                } else {
                    None
                },
                matched: if known {
                    "CERTIFIED_DOCUMENT".into()
                } else {
                    String::new()
                },
                sha256,
            }))
        }

        async fn get_rent_due(
            &self,
            r: Rpc<pb::GetRentDueRequest>,
        ) -> Result<RpcResponse<pb::RentDue>, Status> {
            self.calls.record("GetRentDue", &r);
            token(&r)?;
            let found = known(&r.get_ref().lease_id)?;
            Ok(RpcResponse::new(pb::RentDue {
                lease_id: found.id,
                property_id: found.property_id,
                tenant_id: found.tenant_id,
                landlord_id: found.landlord_id,
                status: found.status,
                amount_kobo: 250_000_000,
                period_number: 2,
                period_start: "2027-06-01".into(),
                period_end: "2028-06-01".into(),
                paid_in_full: false,
            }))
        }

        async fn list_rent_payments(
            &self,
            r: Rpc<pb::ListRentPaymentsRequest>,
        ) -> Result<RpcResponse<pb::ListRentPaymentsResponse>, Status> {
            self.calls.record("ListRentPayments", &r);
            token(&r)?;
            known(&r.get_ref().lease_id)?;
            Ok(RpcResponse::new(pb::ListRentPaymentsResponse {
                payments: vec![pb::RentPayment {
                    transaction_id: "0190f3a2-7b1c-7d4e-9a8b-00000000c009".into(),
                    reference: "rn-0190f3a27b1c7d4e9a8b00000000c009".into(),
                    amount_kobo: 250_000_050,
                    paid_at: at("2026-05-22T08:00:00Z"),
                    period_number: 1,
                    period_start: "2026-06-01".into(),
                    period_end: "2027-06-01".into(),
                    receipt_number: "RR-0190f3a2-0001".into(),
                    receipt_markdown: "# Rent receipt RR-0190f3a2-0001".into(),
                    refunded: false,
                }],
            }))
        }
    }
}
