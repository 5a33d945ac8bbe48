//! The public routes, grouped by the body they take so each group gets its own size cap
//! (checked against `Content-Length` before anything is read, and while reading otherwise),
//! and the unauthenticated ones by their per-IP rate limit, charged before the handler reads
//! any body. The per-user limits come with the bearer-token check (`AuthUser`).

use axum::http::StatusCode;
use axum::middleware;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::rate_limit::{self, PerClientIp, Policy};
use crate::state::AppState;

pub mod admin;
pub mod auth;
pub mod chat;
pub mod concierge;
pub mod files;
pub mod kyc;
pub mod leases;
pub mod me;
pub mod ops;
pub mod payments;
pub mod photos;
pub mod properties;
pub mod searches;

/// Every documented route, with its body and rate limits.
pub fn api(state: &AppState) -> OpenApiRouter<AppState> {
    let per_ip = |policy| {
        middleware::from_fn_with_state(PerClientIp::new(state, policy), rate_limit::per_client_ip)
    };
    let sign_in = OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .route_layer(per_ip(Policy::Auth));
    let json = OpenApiRouter::new()
        .merge(sign_in)
        .routes(routes!(auth::logout))
        .routes(routes!(me::get_me))
        .routes(routes!(me::update_profile))
        .routes(routes!(admin::create_staff))
        .routes(routes!(kyc::list_requests))
        .routes(routes!(kyc::get_request))
        .routes(routes!(kyc::approve_request))
        .routes(routes!(kyc::reject_request))
        .routes(routes!(concierge::send_message))
        .routes(routes!(concierge::get_persona))
        .routes(routes!(properties::create_property))
        // A static segment: matched before `/properties/{id}` whatever the order here.
        .routes(routes!(properties::discover))
        .routes(routes!(
            properties::get_property,
            properties::update_property,
            properties::archive_property
        ))
        .routes(routes!(properties::get_contact))
        .routes(routes!(properties::rate_property))
        .routes(routes!(searches::save_search, searches::list_searches))
        .routes(routes!(searches::delete_search))
        .routes(routes!(payments::contact_unlock))
        .routes(routes!(payments::rent))
        .routes(routes!(payments::list_transactions))
        .routes(routes!(payments::verify_transaction))
        .routes(routes!(payments::refund_transaction))
        .routes(routes!(
            payments::set_payout_account,
            payments::get_payout_account
        ))
        .routes(routes!(chat::open_session, chat::list_sessions))
        .routes(routes!(chat::get_session))
        .routes(routes!(chat::history, chat::send_message))
        .routes(routes!(chat::mark_read))
        .routes(routes!(chat::assign_guide))
        .routes(routes!(leases::draft_lease, leases::list_leases))
        .routes(routes!(leases::list_versions))
        .routes(routes!(leases::sign_lease))
        .routes(routes!(leases::withdraw_lease))
        .routes(routes!(leases::authorize_lease))
        .routes(routes!(leases::audit))
        .routes(routes!(leases::document))
        .routes(routes!(leases::rent))
        .layer(RequestBodyLimitLayer::new(state.max_json_bytes));
    // A whole lease's Markdown.
    let lease_content = OpenApiRouter::new()
        .routes(routes!(leases::get_lease, leases::edit_lease))
        .layer(RequestBodyLimitLayer::new(leases::MAX_LEASE_BODY_BYTES));
    // Anyone may check a document's hash, without a token: charged to the client IP under
    // the `api` policy instead of to a user. A static segment, matched before
    // `/leases/{id}` whatever the order of the groups.
    let lease_verify = OpenApiRouter::new()
        .routes(routes!(leases::verify_document))
        .route_layer(per_ip(Policy::Api));
    // Paystack's raw bytes, signature-checked by payments; no bearer token, no rate limit
    // (Paystack retries what is refused).
    let webhooks = OpenApiRouter::new()
        .routes(routes!(payments::paystack_webhook))
        .layer(RequestBodyLimitLayer::new(payments::MAX_WEBHOOK_BYTES));
    let register = OpenApiRouter::new()
        .routes(routes!(auth::register))
        .route_layer(per_ip(Policy::Register));
    // Two images and a few text parts.
    let uploads = OpenApiRouter::new()
        .merge(register)
        .routes(routes!(kyc::my_verification, kyc::resubmit_verification))
        .layer(RequestBodyLimitLayer::new(state.uploads.body_cap(2)));
    // Up to ten photos and a few text parts.
    let photo_uploads = OpenApiRouter::new()
        .routes(routes!(properties::analyze))
        .layer(RequestBodyLimitLayer::new(
            state.uploads.body_cap(properties::MAX_PHOTOS),
        ));
    // Their handlers never read a body.
    let bodiless = OpenApiRouter::new()
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(payments::callback))
        // A wildcard, which utoipa paths cannot spell: documented in `openapi::ApiDoc`.
        .route(
            "/files/{bucket}/{*key}",
            axum::routing::get(files::get_file),
        )
        .route("/photos/{*key}", axum::routing::get(photos::get_photo));
    json.merge(lease_content)
        .merge(lease_verify)
        .merge(uploads)
        .merge(photo_uploads)
        .merge(webhooks)
        .merge(bodiless)
}

/// `201 Created` with a JSON body.
pub type Created<T> = (StatusCode, axum::Json<T>);

pub fn created<T>(body: T) -> Created<T> {
    (StatusCode::CREATED, axum::Json(body))
}
