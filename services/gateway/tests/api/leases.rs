//! The lease routes against the fake lease service (`backend.rs`): what reaches the service
//! (body fields and metadata), how answers and refusals map, the audit array with its
//! `Audit-Chain` header, the certified document's headers and hash check, and the
//! token-free document verification.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use http_body_util::BodyExt;
use rentory_auth::metadata as md;
use rentory_proto::lease::v1 as pb;
use serde_json::{Value, json};

use crate::backend::chat::TENANT_ID;
use crate::backend::lease::{
    BROKEN_ROW_ID, CONTENT, DOCUMENT, LEASE_ID, LEASED_PROPERTY_ID, NON_COMPLIANT_LEASE_ID,
    SIGNED_LEASE_ID, STALE_LEASE_ID, TAMPERED_LEASE_ID, sha256_hex,
};
use crate::backend::{Calls, LANDLORD_ID, PROPERTY_ID, with_fakes};
use crate::support::*;

fn authorized(method: Method, path: &str, body: Option<Value>, token: &str) -> Request<Body> {
    let builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .expect("request")
}

async fn bytes(response: axum::http::Response<Body>) -> Vec<u8> {
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec()
}

fn terms() -> Value {
    json!({
        "rent_kobo": 250_000_000,
        "rent_period": "YEAR",
        "duration_months": 12,
        "start_date": "2026-06-01",
        "deposit_kobo": 50_000_000,
        "service_charge_kobo": 7_500_000,
        "advance_rent_months": 12,
        "negotiation_points": ["The landlord repaints before move-in"],
    })
}

#[tokio::test]
async fn a_draft_forwards_its_terms_and_metadata_and_answers_201_with_the_lease() {
    // One trusted proxy: the client IP is the proxy's entry, not the spoofed first one.
    let (app, calls) = with_fakes(false, |c| c.trusted_proxy_hops = 1).await;
    let (token, _) = app.token();
    let mut request = authorized(
        Method::POST,
        "/leases",
        Some(json!({"property_id": PROPERTY_ID, "tenant_id": TENANT_ID, "terms": terms()})),
        &token,
    );
    let headers = request.headers_mut();
    headers.insert("x-request-id", "draft-1".parse().expect("value"));
    headers.insert(
        header::USER_AGENT,
        "rentory-android/2.1".parse().expect("value"),
    );
    headers.insert(
        "x-forwarded-for",
        "6.6.6.6, 198.51.100.4".parse().expect("value"),
    );
    let response = app.send(request).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let lease = json(response).await;

    let sent: pb::DraftLeaseRequest = calls.message("DraftLease").expect("called");
    assert_eq!(
        (sent.property_id.as_str(), sent.tenant_id.as_str()),
        (PROPERTY_ID, TENANT_ID)
    );
    assert_eq!(
        sent.terms,
        Some(pb::Terms {
            rent_kobo: 250_000_000,
            rent_period: "YEAR".into(),
            duration_months: 12,
            start_date: "2026-06-01".into(),
            deposit_kobo: 50_000_000,
            service_charge_kobo: 7_500_000,
            advance_rent_months: 12,
            negotiation_points: vec!["The landlord repaints before move-in".into()],
        })
    );
    assert_eq!(
        calls.get("DraftLease", md::AUTHORIZATION),
        Some(format!("Bearer {token}"))
    );
    assert_eq!(
        calls.get("DraftLease", md::REQUEST_ID).as_deref(),
        Some("draft-1")
    );
    assert_eq!(
        calls.get("DraftLease", md::USER_AGENT).as_deref(),
        Some("rentory-android/2.1")
    );
    assert_eq!(
        calls.get("DraftLease", md::CLIENT_IP).as_deref(),
        Some("198.51.100.4")
    );

    // The lease as API.md and the brief spell it.
    assert_eq!(lease["id"], LEASE_ID);
    assert_eq!(lease["status"], "DRAFT");
    assert_eq!(lease["content"], CONTENT);
    assert_eq!(lease["content_sha256"], sha256_hex(CONTENT));
    assert_eq!(lease["version"], 1);
    assert_eq!(lease["landlord_id"], LANDLORD_ID);
    assert_eq!(lease["terms"]["rent_kobo"], 250_000_000);
    assert_eq!(lease["terms"]["rent"], "2500000.00");
    assert_eq!(lease["terms"]["service_charge"], "75000.00");
    assert_eq!(lease["terms"]["duration_months"], 12);
    assert_eq!(
        lease["findings"][0],
        json!({
            "code": "NOTICE_SHORTER_THAN_STATUTORY",
            "severity": "ADVISORY",
            "message": "A yearly tenancy needs half a year's notice",
            "rule": "Lagos State Tenancy Law 2011, s.13",
        })
    );
    assert_eq!(lease["signatures"], json!([]));
    assert_eq!(lease["created_at"], "2026-05-19T09:00:00Z");
    assert_eq!(lease["fully_signed_at"], Value::Null);
    assert_eq!(lease["authorized_by"], Value::Null);
    for field in [
        "tenancy",
        "jurisdiction",
        "property_title",
        "premises_address",
        "landlord_name",
        "tenant_name",
        "drafted_by_model",
        "draft_reasons",
        "updated_at",
    ] {
        assert!(!lease[field].is_null(), "{field} missing from {lease}");
    }
}

#[tokio::test]
async fn draft_bodies_are_checked_before_any_call_and_an_open_lease_is_named() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    // A misspelt money field is refused, not dropped from a legal document.
    let mut misspelt = terms();
    misspelt["deposit_kbo"] = json!(1);
    let body = problem(
        app.send(authorized(
            Method::POST,
            "/leases",
            Some(json!({"property_id": PROPERTY_ID, "tenant_id": TENANT_ID, "terms": misspelt})),
            &token,
        ))
        .await,
        400,
        "malformed-request",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "terms.deposit_kbo");
    let body = problem(
        app.send(authorized(
            Method::POST,
            "/leases",
            Some(json!({"property_id": PROPERTY_ID, "tenant_id": TENANT_ID, "terms": {"rent_kobo": 1}})),
            &token,
        ))
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "terms.duration_months");
    assert_eq!(calls.count("DraftLease"), 0);

    let body = problem(
        app.send(authorized(
            Method::POST,
            "/leases",
            Some(json!({"property_id": LEASED_PROPERTY_ID, "tenant_id": TENANT_ID, "terms": terms()})),
            &token,
        ))
        .await,
        409,
        "already-exists",
    )
    .await;
    assert_eq!(body["lease_id"], LEASE_ID);
}

/// Every lease route but verify, as (method, path, body).
fn guarded_routes() -> Vec<(Method, String, Option<Value>)> {
    let id = LEASE_ID;
    vec![
        (
            Method::POST,
            "/leases".into(),
            Some(json!({"property_id": PROPERTY_ID, "tenant_id": TENANT_ID, "terms": terms()})),
        ),
        (Method::GET, "/leases".into(), None),
        (Method::GET, format!("/leases/{id}"), None),
        (
            Method::PATCH,
            format!("/leases/{id}"),
            Some(json!({"content": "x"})),
        ),
        (Method::GET, format!("/leases/{id}/versions"), None),
        (
            Method::PATCH,
            format!("/leases/{id}/sign"),
            Some(json!({"content_sha256": sha256_hex(CONTENT)})),
        ),
        (
            Method::POST,
            format!("/leases/{id}/withdraw"),
            Some(json!({"reason": "r"})),
        ),
        (Method::POST, format!("/leases/{id}/authorize"), None),
        (Method::GET, format!("/leases/{id}/audit"), None),
        (Method::GET, format!("/leases/{id}/document"), None),
        (Method::GET, format!("/leases/{id}/rent"), None),
    ]
}

fn total_calls(calls: &Calls) -> usize {
    [
        "DraftLease",
        "ListLeases",
        "GetLease",
        "EditLease",
        "ListVersions",
        "SignLease",
        "WithdrawLease",
        "AuthorizeLease",
        "GetAudit",
        "GetSignedDocument",
        "GetRentDue",
        "ListRentPayments",
        "VerifyDocument",
    ]
    .iter()
    .map(|m| calls.count(m))
    .sum()
}

#[tokio::test]
async fn every_lease_route_but_verify_needs_a_token() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    for (method, path, body) in guarded_routes() {
        let builder = Request::builder().method(method.clone()).uri(&path);
        let request = match body {
            Some(body) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        }
        .expect("request");
        let response = app.send(request).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
        problem(response, 401, "unauthenticated").await;
    }
    assert_eq!(total_calls(&calls), 0);
    // Verify answers without one.
    let response = app
        .send(get(&format!(
            "/leases/verify?sha256={}",
            sha256_hex(DOCUMENT)
        )))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls.count("VerifyDocument"), 1);
}

#[tokio::test]
async fn the_list_forwards_its_filters_and_pages() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let page = app
        .send(get_with_token(
            &format!("/leases?status=PENDING_ADMIN&property_id={PROPERTY_ID}&limit=5&cursor=c1"),
            &token,
        ))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = json(page).await;
    let sent: pb::ListLeasesRequest = calls.message("ListLeases").expect("called");
    assert_eq!(
        (
            sent.status.as_str(),
            sent.property_id.as_str(),
            sent.limit,
            sent.cursor.as_str()
        ),
        ("PENDING_ADMIN", PROPERTY_ID, 5, "c1")
    );
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["items"][0]["id"], SIGNED_LEASE_ID);
    assert_eq!(page["items"][0]["fully_signed_at"], "2026-05-21T12:00:00Z");
    assert_eq!(page["next_cursor"], Value::Null);

    let first = json(app.send(get_with_token("/leases", &token)).await).await;
    assert_eq!(first["next_cursor"], "page-2");
    let sent: pb::ListLeasesRequest = calls.message("ListLeases").expect("called");
    assert_eq!(sent, pb::ListLeasesRequest::default());

    let body = problem(
        app.send(get_with_token("/leases?limit=lots", &token)).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "limit");
    assert_eq!(calls.count("ListLeases"), 2);
}

#[tokio::test]
async fn get_edit_and_versions_map_to_the_service() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let lease = json(
        app.send(get_with_token(&format!("/leases/{LEASE_ID}"), &token))
            .await,
    )
    .await;
    assert_eq!(lease["id"], LEASE_ID);
    assert_eq!(lease["signatures"][0]["party"], "LANDLORD");
    assert_eq!(lease["signatures"][0]["ip_address"], "198.51.100.4");
    assert_eq!(lease["signatures"][0]["signed_at"], "2026-05-20T10:00:00Z");
    let sent: pb::GetLeaseRequest = calls.message("GetLease").expect("called");
    assert_eq!(sent.lease_id, LEASE_ID);
    problem(
        app.send(get_with_token("/leases/someone-elses", &token))
            .await,
        404,
        "not-found",
    )
    .await;

    // A lease longer than the default 64 KiB JSON cap is accepted on this route.
    let long = "Clause. ".repeat(12_000);
    let response = app
        .send(authorized(
            Method::PATCH,
            &format!("/leases/{LEASE_ID}"),
            Some(json!({"content": long, "base_content_sha256": sha256_hex(CONTENT)})),
            &token,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let edited = json(response).await;
    assert_eq!(edited["content_sha256"], sha256_hex(&long));
    assert_eq!(edited["version"], 3);
    let sent: pb::EditLeaseRequest = calls.message("EditLease").expect("called");
    assert_eq!(sent.lease_id, LEASE_ID);
    assert_eq!(sent.content, long);
    assert_eq!(
        sent.base_content_sha256.as_deref(),
        Some(sha256_hex(CONTENT).as_str())
    );
    let oversized = "x".repeat(129 * 1024);
    problem(
        app.send(authorized(
            Method::PATCH,
            &format!("/leases/{LEASE_ID}"),
            Some(json!({ "content": oversized })),
            &token,
        ))
        .await,
        413,
        "payload-too-large",
    )
    .await;
    // Without a base hash, none is sent.
    app.send(authorized(
        Method::PATCH,
        &format!("/leases/{LEASE_ID}"),
        Some(json!({"content": "# New"})),
        &token,
    ))
    .await;
    let sent: pb::EditLeaseRequest = calls.message("EditLease").expect("called");
    assert_eq!(sent.base_content_sha256, None);
    // Content changed since the editor read it.
    let body = problem(
        app.send(authorized(
            Method::PATCH,
            &format!("/leases/{STALE_LEASE_ID}"),
            Some(json!({"content": "# Mine", "base_content_sha256": "0".repeat(64)})),
            &token,
        ))
        .await,
        409,
        "stale-content",
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("changed"))
    );

    let versions = json(
        app.send(get_with_token(
            &format!("/leases/{LEASE_ID}/versions"),
            &token,
        ))
        .await,
    )
    .await;
    assert_eq!(versions["items"][0]["version"], 1);
    assert_eq!(
        versions["items"][0]["content_sha256"],
        sha256_hex("# Draft")
    );
    assert_eq!(versions["items"][1]["content"], CONTENT);
    assert_eq!(versions["items"][1]["author_id"], LANDLORD_ID);
    assert_eq!(versions["items"][1]["created_at"], "2026-05-19T09:30:00Z");
    let sent: pb::ListVersionsRequest = calls.message("ListVersions").expect("called");
    assert_eq!(sent.lease_id, LEASE_ID);
}

#[tokio::test]
async fn signing_withdrawing_and_authorizing_map_refusals_to_their_problems() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let sign = |id: &str| {
        authorized(
            Method::PATCH,
            &format!("/leases/{id}/sign"),
            Some(json!({"content_sha256": sha256_hex(CONTENT)})),
            &token,
        )
    };
    let signed = app.send(sign(LEASE_ID)).await;
    assert_eq!(signed.status(), StatusCode::OK);
    assert_eq!(json(signed).await["status"], "PENDING_ADMIN");
    let sent: pb::SignLeaseRequest = calls.message("SignLease").expect("called");
    assert_eq!(
        (sent.lease_id.as_str(), sent.content_sha256.as_str()),
        (LEASE_ID, sha256_hex(CONTENT).as_str())
    );

    problem(app.send(sign(STALE_LEASE_ID)).await, 409, "stale-content").await;

    let body = problem(
        app.send(sign(NON_COMPLIANT_LEASE_ID)).await,
        422,
        "not-compliant",
    )
    .await;
    assert_eq!(
        body["findings"],
        json!([
            {"code": "ADVANCE_RENT_OVER_LIMIT", "rule": "Lagos State Tenancy Law 2011, s.4", "message": "24 months in advance is more than 12"},
            {"code": "MISSING_PREMISES", "rule": "Lagos State Tenancy Law 2011, s.5", "message": "the premises are not described"},
        ])
    );
    assert_eq!(body["detail"], "the lease has blocking compliance findings");

    let body = problem(app.send(sign(SIGNED_LEASE_ID)).await, 409, "invalid-state").await;
    assert_eq!(body["lease_status"], "FULLY_SIGNED");

    let withdrawn = app
        .send(authorized(
            Method::POST,
            &format!("/leases/{LEASE_ID}/withdraw"),
            Some(json!({"reason": "the tenant asked for a longer term"})),
            &token,
        ))
        .await;
    assert_eq!(withdrawn.status(), StatusCode::OK);
    let sent: pb::WithdrawLeaseRequest = calls.message("WithdrawLease").expect("called");
    assert_eq!(sent.reason, "the tenant asked for a longer term");
    problem(
        app.send(authorized(
            Method::POST,
            &format!("/leases/{LEASE_ID}/withdraw"),
            Some(json!({})),
            &token,
        ))
        .await,
        422,
        "validation-failed",
    )
    .await;

    // Authorize with no body at all, then with the reviewed hash.
    let authorized_lease = app
        .send(authorized(
            Method::POST,
            &format!("/leases/{LEASE_ID}/authorize"),
            None,
            &token,
        ))
        .await;
    assert_eq!(authorized_lease.status(), StatusCode::OK);
    let lease = json(authorized_lease).await;
    assert_eq!(lease["status"], "FULLY_SIGNED");
    assert!(lease["authorized_by"].is_string());
    let sent: pb::AuthorizeLeaseRequest = calls.message("AuthorizeLease").expect("called");
    assert_eq!(
        (sent.lease_id.as_str(), sent.content_sha256),
        (LEASE_ID, None)
    );
    app.send(authorized(
        Method::POST,
        &format!("/leases/{LEASE_ID}/authorize"),
        Some(json!({"content_sha256": sha256_hex(CONTENT)})),
        &token,
    ))
    .await;
    let sent: pb::AuthorizeLeaseRequest = calls.message("AuthorizeLease").expect("called");
    assert_eq!(sent.content_sha256, Some(sha256_hex(CONTENT)));
}

#[tokio::test]
async fn invalid_state_carries_the_current_status_as_a_member() {
    let (app, _) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let body = problem(
        app.send(authorized(
            Method::POST,
            &format!("/leases/{SIGNED_LEASE_ID}/withdraw"),
            Some(json!({"reason": "changed my mind"})),
            &token,
        ))
        .await,
        409,
        "invalid-state",
    )
    .await;
    // ErrorInfo `status` would collide with the problem's own `status` (the HTTP code, which
    // stays): the lease's status goes out as `lease_status`.
    assert_eq!(body["status"], 409);
    assert_eq!(body["lease_status"], "FULLY_SIGNED");
    let body = problem(
        app.send(get_with_token(
            &format!("/leases/{LEASE_ID}/document"),
            &token,
        ))
        .await,
        409,
        "invalid-state",
    )
    .await;
    assert_eq!(body["detail"], "not possible while the lease is DRAFT");
    assert_eq!(body["lease_status"], "DRAFT");
}

#[tokio::test]
async fn the_audit_is_an_array_with_the_chain_verdict_in_a_header() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let response = app
        .send(get_with_token(&format!("/leases/{LEASE_ID}/audit"), &token))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get("audit-chain").map(|v| v.as_bytes()),
        Some(&b"intact"[..])
    );
    let rows = json(response).await;
    let rows = rows.as_array().expect("a top-level array");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["from_status"], Value::Null);
    assert_eq!(rows[0]["to_status"], "DRAFT");
    assert_eq!(rows[1]["from_status"], "DRAFT");
    assert_eq!(rows[1]["prev_hash"], rows[0]["hash"]);
    assert_eq!(rows[0]["at"], "2026-05-19T09:00:00Z");
    for field in [
        "id",
        "actor_id",
        "actor_role",
        "ip_address",
        "user_agent",
        "request_id",
        "content_sha256",
        "hash",
        "prev_hash",
    ] {
        assert!(rows[1][field].is_string(), "{field} in {}", rows[1]);
    }
    assert_eq!(rows[1]["reason"], Value::Null);
    let sent: pb::GetAuditRequest = calls.message("GetAudit").expect("called");
    assert_eq!(sent.lease_id, LEASE_ID);

    let response = app
        .send(get_with_token(
            &format!("/leases/{TAMPERED_LEASE_ID}/audit"),
            &token,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("audit-chain")
            .and_then(|v| v.to_str().ok()),
        Some(format!("broken; row={BROKEN_ROW_ID}").as_str())
    );
}

#[tokio::test]
async fn the_certified_document_is_served_with_its_digest_and_never_when_it_does_not_match() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let response = app
        .send(get_with_token(
            &format!("/leases/{SIGNED_LEASE_ID}/document"),
            &token,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers.get_all(header::CONTENT_TYPE).iter().count(), 1);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let hex = sha256_hex(DOCUMENT);
    assert_eq!(
        header("content-type").as_deref(),
        Some("text/markdown; charset=utf-8")
    );
    assert_eq!(
        header("content-disposition"),
        Some(format!(
            "attachment; filename=\"lease-{SIGNED_LEASE_ID}.md\""
        ))
    );
    assert_eq!(header("etag"), Some(format!("\"{hex}\"")));
    let digest = base64::engine::general_purpose::STANDARD.encode(hex::decode(&hex).expect("hex"));
    assert_eq!(header("repr-digest"), Some(format!("sha-256=:{digest}:")));
    assert_eq!(bytes(response).await, DOCUMENT.as_bytes());
    let sent: pb::GetSignedDocumentRequest = calls.message("GetSignedDocument").expect("called");
    assert_eq!(sent.lease_id, SIGNED_LEASE_ID);

    // Bytes that do not hash to what the service recorded are not served.
    let response = app
        .send(get_with_token(
            &format!("/leases/{TAMPERED_LEASE_ID}/document"),
            &token,
        ))
        .await;
    assert!(response.headers().get("etag").is_none());
    let body = problem(response, 502, "bad-gateway").await;
    assert!(
        !body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Tenancy")),
        "{body}"
    );
}

#[tokio::test]
async fn verify_checks_the_hash_before_any_call_and_needs_no_token() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let hex = sha256_hex(DOCUMENT);
    let response = app
        .send(
            Request::get(format!("/leases/verify?sha256={}", hex.to_uppercase()))
                .header("x-request-id", "bank-check-1")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        json(response).await,
        json!({
            "sha256": hex,
            "fully_signed": true,
            "fully_signed_at": "2026-05-21T12:00:00Z",
            "matched": "CERTIFIED_DOCUMENT",
        })
    );
    let sent: pb::VerifyDocumentRequest = calls.message("VerifyDocument").expect("called");
    assert_eq!(sent.sha256, hex, "sent lower-case");
    assert_eq!(calls.get("VerifyDocument", md::AUTHORIZATION), None);
    assert_eq!(
        calls.get("VerifyDocument", md::REQUEST_ID).as_deref(),
        Some("bank-check-1")
    );
    assert_eq!(
        calls.get("VerifyDocument", md::CLIENT_IP).as_deref(),
        Some("203.0.113.7")
    );

    let unknown = json(
        app.send(get(&format!("/leases/verify?sha256={}", "0".repeat(64))))
            .await,
    )
    .await;
    assert_eq!(unknown["fully_signed"], false);
    assert_eq!(unknown["matched"], Value::Null);
    assert_eq!(unknown["fully_signed_at"], Value::Null);

    for bad in [
        "/leases/verify",
        "/leases/verify?sha256=",
        "/leases/verify?sha256=abc",
        &format!("/leases/verify?sha256={}", "z".repeat(64)),
        &format!("/leases/verify?sha256={}0", hex),
    ] {
        let body = problem(app.send(get(bad)).await, 422, "validation-failed").await;
        assert_eq!(body["errors"][0]["field"], "sha256", "{bad}");
    }
    assert_eq!(calls.count("VerifyDocument"), 2);
    // `verify` is its own route, not a lease id.
    let (token, _) = app.token();
    app.send(get_with_token(
        &format!("/leases/verify?sha256={hex}"),
        &token,
    ))
    .await;
    assert_eq!(calls.count("GetLease"), 0);
}

#[tokio::test]
async fn verify_is_rate_limited_per_client_ip() {
    let (app, calls) = with_fakes(false, |c| {
        c.rate_limits.api = Some(gateway::Limit::new(2, 60));
    })
    .await;
    let path = format!("/leases/verify?sha256={}", sha256_hex(DOCUMENT));
    for _ in 0..2 {
        assert_eq!(app.send(get(&path)).await.status(), StatusCode::OK);
    }
    let refused = app.send(get(&path)).await;
    assert!(refused.headers().get(header::RETRY_AFTER).is_some());
    problem(refused, 429, "rate-limited").await;
    assert_eq!(calls.count("VerifyDocument"), 2);
}

#[tokio::test]
async fn rent_combines_what_is_due_with_the_payments_made() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let response = app
        .send(get_with_token(
            &format!("/leases/{SIGNED_LEASE_ID}/rent"),
            &token,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    assert_eq!(
        body["next_due"],
        json!({
            "amount_kobo": 250_000_000,
            "amount": "2500000.00",
            "period_number": 2,
            "period_start": "2027-06-01",
            "period_end": "2028-06-01",
            "paid_in_full": false,
        })
    );
    let paid = &body["payments"][0];
    assert_eq!(paid["amount_kobo"], 250_000_050);
    assert_eq!(paid["amount"], "2500000.50");
    assert_eq!(paid["paid_at"], "2026-05-22T08:00:00Z");
    assert_eq!(paid["receipt_number"], "RR-0190f3a2-0001");
    assert_eq!(paid["refunded"], false);
    for field in [
        "transaction_id",
        "reference",
        "period_start",
        "period_end",
        "receipt_markdown",
    ] {
        assert!(paid[field].is_string(), "{field}");
    }
    let due: pb::GetRentDueRequest = calls.message("GetRentDue").expect("called");
    let listed: pb::ListRentPaymentsRequest = calls.message("ListRentPayments").expect("called");
    assert_eq!(
        (due.lease_id.as_str(), listed.lease_id.as_str()),
        (SIGNED_LEASE_ID, SIGNED_LEASE_ID)
    );
    assert_eq!(
        calls.get("ListRentPayments", md::AUTHORIZATION),
        Some(format!("Bearer {token}"))
    );
    problem(
        app.send(get_with_token("/leases/nope/rent", &token)).await,
        404,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn a_lease_service_that_is_down_is_a_503() {
    let app = TestApp::new(|_| {}).await;
    let (token, _) = app.token();
    problem(
        app.send(get_with_token(&format!("/leases/{LEASE_ID}"), &token))
            .await,
        503,
        "service-unavailable",
    )
    .await;
}
