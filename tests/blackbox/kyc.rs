//! Who may review, who may see whose verification, what uploads are refused, and how long a
//! signed image link lives.

use std::time::Duration;

use rentory_blackbox::{Account, TestStack, fixtures, image_part, status_and_json};
use reqwest::multipart::Form;
use serde_json::{Value, json};

async fn queue(stack: &TestStack, who: &Account) -> anyhow::Result<(u16, Value)> {
    stack
        .get("/kyc/requests?status=PENDING", &who.access_token)
        .await
}

#[tokio::test]
async fn only_admins_and_compliance_officers_review() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let admin = stack.admin().await?;
    let tenant = stack.register("TENANT").await?;
    let landlord = stack.register("LANDLORD").await?;
    let guide = stack.register("GUIDE").await?;
    let compliance = stack.staff(&admin, "COMPLIANCE_OFFICER").await?;
    let mut outsiders = vec![
        ("TENANT", tenant.clone()),
        ("LANDLORD", landlord.clone()),
        ("GUIDE", guide),
    ];
    for position in ["OPERATIONS_MANAGER", "FINANCIAL_CONTROLLER", "SUPPORT_LEAD"] {
        outsiders.push((position, stack.staff(&admin, position).await?));
    }
    let tenant_request = tenant.verification_request_id.clone().expect("request");
    let landlord_request = landlord.verification_request_id.clone().expect("request");

    for (who, account) in &outsiders {
        let (status, _) = queue(&stack, account).await?;
        assert_eq!(status, 403, "{who} listed the queue");
        for action in ["approve", "reject"] {
            let (status, _) = stack
                .post(
                    &format!("/kyc/requests/{tenant_request}/{action}"),
                    &account.access_token,
                    json!({"reason": "no"}),
                )
                .await?;
            assert_eq!(status, 403, "{who} could {action}");
        }
    }
    let (status, listed) = queue(&stack, &compliance).await?;
    assert_eq!(status, 200, "{listed}");
    assert!(listed["items"].as_array().expect("items").len() >= 2);
    let item = &listed["items"][0];
    assert!(
        item["id_image_url"]
            .as_str()
            .is_some_and(|u| u.contains("signature="))
    );
    assert!(item["face_scan_url"].as_str().is_some());
    assert!(item["urls_expire_at"].as_str().is_some());
    let (status, _) = queue(&stack, &admin).await?;
    assert_eq!(status, 200);

    let (status, _) = stack
        .post(
            &format!("/kyc/requests/{tenant_request}/approve"),
            &compliance.access_token,
            json!({}),
        )
        .await?;
    assert_eq!(status, 200);
    let (status, _) = stack
        .post(
            &format!("/kyc/requests/{landlord_request}/reject"),
            &admin.access_token,
            json!({"reason": "Face scan does not show the face"}),
        )
        .await?;
    assert_eq!(status, 200);

    // The queue filter by status works for reviewers.
    let (status, approved) = stack
        .get("/kyc/requests?status=APPROVED", &admin.access_token)
        .await?;
    assert_eq!(status, 200);
    assert!(
        approved["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["id"] == json!(tenant_request))
    );
    stack.stop().await
}

#[tokio::test]
async fn nobody_reads_someone_elses_verification() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let alice = stack.register("TENANT").await?;
    let bob = stack.register("LANDLORD").await?;
    let alices = alice.verification_request_id.clone().expect("request");

    let (status, own) = stack
        .get(&format!("/kyc/requests/{alices}"), &alice.access_token)
        .await?;
    assert_eq!(status, 200, "{own}");
    assert!(
        own.get("id_image_url")
            .is_none_or(|u| u.is_null() || u == ""),
        "owners get no links: {own}"
    );

    let (status, problem) = stack
        .get(&format!("/kyc/requests/{alices}"), &bob.access_token)
        .await?;
    assert_eq!(status, 404, "{problem}");
    let missing = uuid::Uuid::now_v7();
    let (status, absent) = stack
        .get(&format!("/kyc/requests/{missing}"), &bob.access_token)
        .await?;
    assert_eq!(status, 404);
    assert_eq!(
        problem["type"], absent["type"],
        "a stranger learns nothing about existence"
    );

    let (_, bobs_own) = stack.get("/me/verification", &bob.access_token).await?;
    assert_ne!(bobs_own["id"], json!(alices));
    stack.stop().await
}

/// A PNG whose header claims `width` x `height`, with a valid CRC, and a tiny body.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = fixtures::PNG_16.to_vec();
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn bad_uploads_are_refused_before_any_account_exists() -> anyhow::Result<()> {
    let stack = TestStack::start_with(|t| t.max_upload_bytes = 64 * 1024).await?;
    let mut polyglot = fixtures::PNG_16.to_vec();
    polyglot.extend_from_slice(
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00payload.html<script>alert(1)</script>",
    );
    let mut oversize = fixtures::JPEG_16_BASELINE.to_vec();
    oversize.resize(100 * 1024, 0);
    let cases: Vec<(&str, Vec<u8>, &str, u16)> = vec![
        ("a GIF", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;".to_vec(), "image/jpeg", 415),
        ("HTML named .jpg", b"<html><script>alert(1)</script></html>".to_vec(), "image/jpeg", 415),
        ("PNG declared as JPEG", fixtures::PNG_16.to_vec(), "image/jpeg", 415),
        ("PNG with a ZIP appended", polyglot, "image/png", 415),
        ("100000 x 100000 PNG header", png_claiming(100_000, 100_000), "image/png", 422),
        ("over the per-file cap", oversize, "image/jpeg", 413),
    ];
    for (name, bytes, mime, expected) in cases {
        let (email, password, pin) = TestStack::new_credentials();
        let form = Form::new()
            .text("email", email.clone())
            .text("password", password)
            .text("pin", pin.clone())
            .text("full_name", "Bad Upload")
            .text("phone", "08031234567")
            .text("bio", "")
            .text("role_requested", "TENANT")
            .part(
                "id_image",
                reqwest::multipart::Part::bytes(bytes)
                    .file_name("id.jpg")
                    .mime_str(mime)?,
            )
            .part(
                "face_scan",
                image_part(fixtures::PNG_16, "face.png", "image/png"),
            );
        let response = stack
            .http
            .post(stack.url("/auth/register"))
            .multipart(form)
            .send()
            .await?;
        let (status, problem) = status_and_json(response).await?;
        assert_eq!(status, expected, "{name}: {problem}");
        assert_eq!(
            stack.login(&email, &pin).await?.status(),
            401,
            "{name} created an account"
        );
    }

    // A Content-Length over the whole-body cap is refused before the body is read.
    let huge = vec![0u8; 1024 * 1024];
    let response = stack
        .http
        .post(stack.url("/auth/register"))
        .header("content-type", "multipart/form-data; boundary=x")
        .body(huge)
        .send()
        .await?;
    assert_eq!(response.status(), 413);
    stack.stop().await
}

#[tokio::test]
async fn signed_image_links_expire_after_their_ttl() -> anyhow::Result<()> {
    let stack = TestStack::start_with(|t| t.signed_url_ttl = Duration::from_secs(2)).await?;
    let admin = stack.admin().await?;
    let tenant = stack.register("TENANT").await?;
    let request_id = tenant.verification_request_id.clone().expect("request");
    let (status, item) = stack
        .get(&format!("/kyc/requests/{request_id}"), &admin.access_token)
        .await?;
    assert_eq!(status, 200, "{item}");
    let link = item["id_image_url"].as_str().expect("link").to_owned();
    let expires_at = time::OffsetDateTime::parse(
        item["urls_expire_at"].as_str().expect("expiry"),
        &time::format_description::well_known::Rfc3339,
    )?;
    let ttl = expires_at - time::OffsetDateTime::now_utc();
    assert!(
        ttl <= time::Duration::seconds(2) && ttl > time::Duration::ZERO,
        "ttl {ttl}"
    );

    let fresh = stack.http.get(&link).send().await?;
    assert_eq!(fresh.status(), 200);
    assert_eq!(fresh.headers()["cache-control"], "no-store, private");

    let tampered = link.replace("id_image", "face_scan");
    assert_eq!(stack.http.get(&tampered).send().await?.status(), 403);

    // Wait out the TTL (the only sleep here: it is the behaviour under test).
    let wait = (expires_at - time::OffsetDateTime::now_utc()) + time::Duration::milliseconds(1100);
    tokio::time::sleep(wait.try_into().unwrap_or(Duration::from_secs(3))).await;
    let stale = stack.http.get(&link).send().await?;
    assert_eq!(stale.status(), 403);
    let (_, problem) = status_and_json(stale).await?;
    assert_eq!(problem["type"], "https://rentory.ng/problems/link-expired");
    stack.stop().await
}
