//! Leases through the whole stack: the landlord drafts (offline legal architect), the
//! compliance rules stop a non-compliant edit, both parties sign the text they read, a
//! compliance officer authorizes, the audit chain records who did what from where, the
//! certified document verifies by hash, and the tenant pays rent through the checkout
//! simulator and gets a receipt.

use std::time::Duration;

use rentory_blackbox::{Account, TestStack, eventually};
use rentory_proto::events::v1::LeaseStatusChanged;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const STATUS_CHANGED: &str = "rentory.lease.status.changed";
/// What a client behind a proxy might claim; the gateway trusts no proxy hops in the stack.
const SPOOFED_IP: &str = "203.0.113.9";

struct Parties {
    admin: Account,
    landlord: Account,
    tenant: Account,
    property_id: String,
}

async fn parties(stack: &TestStack) -> anyhow::Result<Parties> {
    let admin = stack.admin().await?;
    let landlord = stack
        .register_with("LANDLORD", "Chiamaka Eze", "+234 803 111 2233")
        .await?;
    let landlord = stack.activate_by(&admin, &landlord).await?;
    let tenant = stack
        .register_with("TENANT", "Tunde Bakare", "+234 805 444 5566")
        .await?;
    let tenant = stack.activate_by(&admin, &tenant).await?;
    let property_id = stack.property_of(&landlord).await?;
    Ok(Parties {
        admin,
        landlord,
        tenant,
        property_id,
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A request with the headers a phone app behind a lying proxy would send.
async fn send(
    stack: &TestStack,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut request = stack
        .http
        .request(method, stack.url(path))
        .bearer_auth(token)
        .header("user-agent", "RentoryApp/2.3 (Android 14)")
        .header("x-forwarded-for", SPOOFED_IP);
    if let Some(body) = body {
        request = request.json(&body);
    }
    rentory_blackbox::status_and_json(request.send().await?).await
}

#[tokio::test]
async fn a_lease_is_drafted_checked_signed_authorized_audited_and_its_rent_paid()
-> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let p = parties(&stack).await?;
    let officer = stack.staff(&p.admin, "COMPLIANCE_OFFICER").await?;
    let support = stack.staff(&p.admin, "SUPPORT_LEAD").await?;
    let mut changes = stack.events(STATUS_CHANGED).await?;
    let draft_body = json!({
        "property_id": p.property_id,
        "tenant_id": p.tenant.user_id,
        "terms": {"rent_kobo": 250_000_000, "rent_period": "YEAR", "duration_months": 12,
                  "start_date": rentory_blackbox::start_date_in_a_week(), "deposit_kobo": 25_000_000,
                  "negotiation_points": ["The landlord repaints the flat before the Tenant moves in."]},
    });

    // No chat session yet: the parties have not talked about this property.
    let (status, problem) = stack
        .post("/leases", &p.landlord.access_token, draft_body.clone())
        .await?;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("chat"),
        "{problem}"
    );
    let (status, session) = stack
        .post(
            "/chat/sessions",
            &p.tenant.access_token,
            json!({"property_id": p.property_id}),
        )
        .await?;
    assert_eq!(status, 200, "{session}");

    // A tenant cannot draft; the landlord can.
    let (status, _) = stack
        .post("/leases", &p.tenant.access_token, draft_body.clone())
        .await?;
    assert_eq!(status, 403);
    let (status, lease) = send(
        &stack,
        reqwest::Method::POST,
        "/leases",
        &p.landlord.access_token,
        Some(draft_body.clone()),
    )
    .await?;
    assert_eq!(status, 201, "{lease}");
    let id = lease["id"].as_str().expect("id").to_owned();
    let v1 = lease["content"].as_str().expect("content").to_owned();
    assert_eq!(lease["status"], "DRAFT");
    assert_eq!(lease["version"], 1);
    assert_eq!(lease["content_sha256"], sha256_hex(v1.as_bytes()));
    assert_eq!(lease["drafted_by_model"], "offline");
    assert!(
        v1.contains("Chiamaka Eze") && v1.contains("Tunde Bakare"),
        "{v1}"
    );
    assert!(v1.contains("Herbert Macaulay Way"), "{v1}");
    assert!(v1.contains("repaints"), "{v1}");
    let blocking = |lease: &Value| -> Vec<String> {
        lease["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["severity"] == "BLOCKING")
            .map(|f| f["code"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert!(blocking(&lease).is_empty(), "{}", lease["findings"]);
    // One open lease per property and tenant.
    let (status, problem) = stack
        .post("/leases", &p.landlord.access_token, draft_body.clone())
        .await?;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["lease_id"], id.as_str());

    let lease_path = format!("/leases/{id}");
    let sign_path = format!("{lease_path}/sign");
    // Someone with no part in it does not learn it exists.
    let stranger = stack
        .activate_by(&p.admin, &stack.register("TENANT").await?)
        .await?;
    let (status, _) = stack.get(&lease_path, &stranger.access_token).await?;
    assert_eq!(status, 404);

    // A stale hash is refused.
    let (status, problem) = stack
        .patch(
            &sign_path,
            &p.tenant.access_token,
            json!({"content_sha256": sha256_hex(b"another text")}),
        )
        .await?;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .unwrap_or("")
            .ends_with("stale-content")
    );

    // An edit that shortens the statutory notice blocks signing with 422 and the finding.
    let shortened = format!(
        "{v1}\n\nThe Tenant may be required to give up possession on one month's notice to quit.\n"
    );
    let (status, edited) = stack
        .patch(
            &lease_path,
            &p.landlord.access_token,
            json!({"content": shortened}),
        )
        .await?;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["version"], 2);
    assert!(
        blocking(&edited).contains(&"NOTICE_SHORTER_THAN_STATUTORY".to_owned()),
        "{}",
        edited["findings"]
    );
    let (status, problem) = stack
        .patch(
            &sign_path,
            &p.tenant.access_token,
            json!({"content_sha256": edited["content_sha256"]}),
        )
        .await?;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["code"] == "NOTICE_SHORTER_THAN_STATUTORY"),
        "{problem}"
    );
    // Back to the drafted text: version 3, every version kept.
    let (status, restored) = stack
        .patch(
            &lease_path,
            &p.landlord.access_token,
            json!({"content": v1}),
        )
        .await?;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["version"], 3);
    let (status, versions) = stack
        .get(&format!("{lease_path}/versions"), &p.tenant.access_token)
        .await?;
    assert_eq!(status, 200, "{versions}");
    assert_eq!(versions["items"].as_array().map(Vec::len), Some(3));

    // Nothing to authorize or pay yet.
    let (status, problem) = stack
        .post(
            &format!("{lease_path}/authorize"),
            &officer.access_token,
            json!({}),
        )
        .await?;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["lease_status"], "DRAFT");
    let (status, problem) = stack
        .post(
            "/payments/rent",
            &p.tenant.access_token,
            json!({"lease_id": id}),
        )
        .await?;
    assert_eq!(status, 409, "{problem}");

    // The tenant signs first, then the landlord: PENDING_ADMIN. Editing is refused now.
    let hash = restored["content_sha256"].clone();
    let (status, signed) = send(
        &stack,
        reqwest::Method::PATCH,
        &sign_path,
        &p.tenant.access_token,
        Some(json!({"content_sha256": hash})),
    )
    .await?;
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["status"], "SIGNED_BY_TENANT");
    let (status, problem) = stack
        .patch(
            &lease_path,
            &p.landlord.access_token,
            json!({"content": v1}),
        )
        .await?;
    assert_eq!(status, 409, "{problem}");
    let (status, signed) = send(
        &stack,
        reqwest::Method::PATCH,
        &sign_path,
        &p.landlord.access_token,
        Some(json!({"content_sha256": hash})),
    )
    .await?;
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["status"], "PENDING_ADMIN");

    // Only compliance (or ADMIN) authorizes; other staff and the parties may not.
    for who in [&p.landlord, &support] {
        let (status, problem) = stack
            .post(
                &format!("{lease_path}/authorize"),
                &who.access_token,
                json!({}),
            )
            .await?;
        assert_eq!(status, 403, "{problem}");
    }
    let (status, authorized) = send(
        &stack,
        reqwest::Method::POST,
        &format!("{lease_path}/authorize"),
        &officer.access_token,
        Some(json!({"content_sha256": hash})),
    )
    .await?;
    assert_eq!(status, 200, "{authorized}");
    assert_eq!(authorized["status"], "FULLY_SIGNED");
    assert!(authorized["fully_signed_at"].is_string());

    // The audit: who, from where (the connection's address, not the spoofed header), with
    // which client and text, chained row to row.
    let audit = stack
        .http
        .get(stack.url(&format!("{lease_path}/audit")))
        .bearer_auth(&officer.access_token)
        .send()
        .await?;
    assert_eq!(audit.status(), 200);
    assert_eq!(
        audit
            .headers()
            .get("audit-chain")
            .and_then(|v| v.to_str().ok()),
        Some("intact")
    );
    let rows: Vec<Value> = audit.json().await?;
    let moves: Vec<(Value, Value)> = rows
        .iter()
        .map(|r| (r["from_status"].clone(), r["to_status"].clone()))
        .collect();
    assert_eq!(
        moves,
        [
            (Value::Null, json!("DRAFT")),
            (json!("DRAFT"), json!("DRAFT")),
            (json!("DRAFT"), json!("DRAFT")),
            (json!("DRAFT"), json!("SIGNED_BY_TENANT")),
            (json!("SIGNED_BY_TENANT"), json!("PENDING_ADMIN")),
            (json!("PENDING_ADMIN"), json!("FULLY_SIGNED")),
        ]
    );
    assert_eq!(rows[0]["prev_hash"], "0".repeat(64));
    for pair in rows.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
    }
    let signature = &rows[3];
    assert_eq!(signature["actor_id"], p.tenant.user_id.as_str());
    assert_eq!(signature["actor_role"], "TENANT");
    assert_eq!(signature["ip_address"], "127.0.0.1");
    assert_eq!(signature["user_agent"], "RentoryApp/2.3 (Android 14)");
    assert_eq!(signature["content_sha256"], hash);
    assert!(signature["request_id"].is_string());
    assert!(rows.iter().all(|r| r["ip_address"] != SPOOFED_IP));
    assert_eq!(rows[5]["actor_id"], officer.user_id.as_str());

    // The certified document: the signed text with its certificate, verifiable by hash by
    // anyone (no token).
    let document = stack
        .http
        .get(stack.url(&format!("{lease_path}/document")))
        .bearer_auth(&p.tenant.access_token)
        .send()
        .await?;
    assert_eq!(document.status(), 200);
    let etag = document
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = document.bytes().await?;
    let document_hash = sha256_hex(&bytes);
    assert_eq!(etag, format!("\"{document_hash}\""));
    let text = String::from_utf8(bytes.to_vec())?;
    assert!(
        text.starts_with(&v1),
        "the certificate follows the signed text"
    );
    assert!(text.contains("Signature certificate"), "{text}");
    assert!(text.contains(hash.as_str().unwrap_or("?")), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");
    for (sha256, matched) in [
        (document_hash.as_str(), "CERTIFIED_DOCUMENT"),
        (hash.as_str().unwrap_or(""), "SIGNED_CONTENT"),
    ] {
        let answer: Value = stack
            .http
            .get(stack.url("/leases/verify"))
            .query(&[("sha256", sha256)])
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(answer["fully_signed"], true, "{answer}");
        assert_eq!(answer["matched"], matched, "{answer}");
        assert_eq!(answer["fully_signed_at"], authorized["fully_signed_at"]);
    }
    let unknown: Value = stack
        .http
        .get(stack.url("/leases/verify"))
        .query(&[("sha256", sha256_hex(b"a forged lease"))])
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(unknown["fully_signed"], false, "{unknown}");

    // Rent: only the tenant pays, the amount is the lease's.
    let (status, _) = stack
        .post(
            "/payments/rent",
            &p.landlord.access_token,
            json!({"lease_id": id}),
        )
        .await?;
    assert_eq!(status, 403);
    let (status, checkout) = stack
        .post(
            "/payments/rent",
            &p.tenant.access_token,
            json!({"lease_id": id}),
        )
        .await?;
    assert_eq!(status, 200, "{checkout}");
    assert_eq!(checkout["amount_kobo"], 250_000_000);
    let authorization_url = checkout["authorization_url"]
        .as_str()
        .expect("authorization_url")
        .to_owned();
    let paid = stack
        .http
        .post(&authorization_url)
        .form(&[("action", "pay")])
        .send()
        .await?;
    assert!(
        paid.status().is_success(),
        "paying answered {}",
        paid.status()
    );
    let rent_path = format!("{lease_path}/rent");
    eventually(
        Duration::from_secs(10),
        "the rent to be recorded",
        || async {
            let (status, rent) = stack.get(&rent_path, &p.tenant.access_token).await?;
            Ok(status == 200 && rent["payments"].as_array().is_some_and(|p| p.len() == 1))
        },
    )
    .await?;
    let (_, rent) = stack.get(&rent_path, &p.landlord.access_token).await?;
    let payment = &rent["payments"][0];
    assert_eq!(payment["reference"], checkout["reference"]);
    assert_eq!(payment["amount_kobo"], 250_000_000);
    assert_eq!(payment["period_number"], 1);
    let receipt = payment["receipt_markdown"].as_str().unwrap_or("");
    assert!(
        payment["receipt_number"]
            .as_str()
            .is_some_and(|n| n.starts_with("RR-")),
        "{payment}"
    );
    for needle in [
        "Chiamaka Eze",
        "Tunde Bakare",
        "Herbert Macaulay Way",
        "2,500,000",
    ] {
        assert!(receipt.contains(needle), "{needle} missing from {receipt}");
    }
    // A one-year lease paid yearly is paid in full with one payment.
    assert_eq!(rent["next_due"]["paid_in_full"], true, "{rent}");
    let (status, problem) = stack
        .post(
            "/payments/rent",
            &p.tenant.access_token,
            json!({"lease_id": id}),
        )
        .await?;
    assert_eq!(status, 409, "{problem}");

    // Every status change went out as an event, in order.
    let mut seen = Vec::new();
    while let Some(event) = changes
        .next::<LeaseStatusChanged>(Duration::from_secs(2))
        .await?
    {
        if event.lease_id == id {
            seen.push(event.to_status);
        }
    }
    assert_eq!(
        seen,
        ["DRAFT", "SIGNED_BY_TENANT", "PENDING_ADMIN", "FULLY_SIGNED"]
    );
    stack.stop().await
}

#[tokio::test]
async fn a_landlord_withdraws_a_half_signed_lease_and_signatures_are_cleared() -> anyhow::Result<()>
{
    let stack = TestStack::start().await?;
    let p = parties(&stack).await?;
    let (status, _) = stack
        .post(
            "/chat/sessions",
            &p.tenant.access_token,
            json!({"property_id": p.property_id}),
        )
        .await?;
    assert_eq!(status, 200);
    let (status, lease) = stack
        .post(
            "/leases",
            &p.landlord.access_token,
            json!({"property_id": p.property_id, "tenant_id": p.tenant.user_id,
                   "terms": {"rent_kobo": 30_000_000, "rent_period": "MONTH",
                             "duration_months": 6, "start_date": rentory_blackbox::start_date_in_a_week()}}),
        )
        .await?;
    assert_eq!(status, 201, "{lease}");
    let id = lease["id"].as_str().expect("id");
    let (status, signed) = stack
        .patch(
            &format!("/leases/{id}/sign"),
            &p.landlord.access_token,
            json!({"content_sha256": lease["content_sha256"]}),
        )
        .await?;
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["status"], "SIGNED_BY_LANDLORD");
    // Signing twice for the same party is not a move.
    let (status, problem) = stack
        .patch(
            &format!("/leases/{id}/sign"),
            &p.landlord.access_token,
            json!({"content_sha256": lease["content_sha256"]}),
        )
        .await?;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["lease_status"], "SIGNED_BY_LANDLORD");
    // Only the landlord withdraws.
    let (status, _) = stack
        .post(
            &format!("/leases/{id}/withdraw"),
            &p.tenant.access_token,
            json!({"reason": "no"}),
        )
        .await?;
    assert_eq!(status, 403);
    let (status, withdrawn) = stack
        .post(
            &format!("/leases/{id}/withdraw"),
            &p.landlord.access_token,
            json!({"reason": "The tenant asked for a later start date"}),
        )
        .await?;
    assert_eq!(status, 200, "{withdrawn}");
    assert_eq!(withdrawn["status"], "DRAFT");
    assert_eq!(withdrawn["signatures"], json!([]));
    let (status, rows) = stack
        .get(&format!("/leases/{id}/audit"), &p.tenant.access_token)
        .await?;
    assert_eq!(status, 200, "{rows}");
    let last = rows
        .as_array()
        .and_then(|r| r.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["from_status"], "SIGNED_BY_LANDLORD");
    assert_eq!(last["to_status"], "DRAFT");
    assert_eq!(last["reason"], "The tenant asked for a later start date");
    // The tenant reads it too; STAFF may; the monthly lease's rent is one month's.
    let (status, due) = stack
        .get(&format!("/leases/{id}/rent"), &p.tenant.access_token)
        .await?;
    assert_eq!(status, 200, "{due}");
    assert_eq!(due["next_due"]["amount_kobo"], 30_000_000);
    assert_eq!(due["next_due"]["period_number"], 1);
    stack.stop().await
}
