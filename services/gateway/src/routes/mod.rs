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
pub mod concierge;
pub mod files;
pub mod kyc;
pub mod me;
pub mod ops;

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
        .layer(RequestBodyLimitLayer::new(state.max_json_bytes));
    let register = OpenApiRouter::new()
        .routes(routes!(auth::register))
        .route_layer(per_ip(Policy::Register));
    // Two images and a few text parts.
    let uploads = OpenApiRouter::new()
        .merge(register)
        .routes(routes!(kyc::my_verification, kyc::resubmit_verification))
        .layer(RequestBodyLimitLayer::new(state.uploads.body_cap(2)));
    // Their handlers never read a body.
    let bodiless = OpenApiRouter::new()
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        // A wildcard, which utoipa paths cannot spell: documented in `openapi::ApiDoc`.
        .route(
            "/files/{bucket}/{*key}",
            axum::routing::get(files::get_file),
        );
    json.merge(uploads).merge(bodiless)
}

/// `201 Created` with a JSON body.
pub type Created<T> = (StatusCode, axum::Json<T>);

pub fn created<T>(body: T) -> Created<T> {
    (StatusCode::CREATED, axum::Json(body))
}
