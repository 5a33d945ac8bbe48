//! The first user journey: register with an ID and a face scan, log in with the PIN, a
//! compliance officer reviews with 60-second links, approval activates the account.

use std::time::Duration;

use base64::Engine;
use rentory_blackbox::{TestStack, fixtures};
use serde_json::{Value, json};

fn claims(token: &str) -> Value {
    let body = token.split('.').nth(1).expect("jwt body");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .expect("b64");
    serde_json::from_slice(&bytes).expect("json")
}

#[tokio::test]
async fn register_review_approve_activates_the_requested_role() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;

    let landlord = stack.register("LANDLORD").await?;
    let request_id = landlord
        .verification_request_id
        .clone()
        .expect("verification request");
    let (status, me) = stack.get("/me", &landlord.access_token).await?;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["role"], "LANDLORD");
    assert_eq!(me["user"]["status"], "PENDING");
    assert_eq!(me["profile"]["full_name"], "Adaeze Okafor");
    assert_eq!(me["profile"]["phone"], "+2348031234567");

    // PIN login works while PENDING.
    let login = stack.login(&landlord.email, &landlord.pin).await?;
    assert_eq!(login.status(), 200);

    let (status, mine) = stack
        .get("/me/verification", &landlord.access_token)
        .await?;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["status"], "PENDING");
    assert_eq!(mine["role_requested"], "LANDLORD");
    assert!(
        mine.get("id_image_url").is_none_or(Value::is_null),
        "{mine}"
    );

    let admin = stack.admin().await?;
    let officer = stack.staff(&admin, "COMPLIANCE_OFFICER").await?;

    // The AI orchestrator runs its offline provider (no Gemini key), which compares no
    // faces: the advisory face match settles as UNAVAILABLE and the request waits for a human.
    let queued = || async {
        let (status, queue) = stack
            .get("/kyc/requests?status=PENDING", &officer.access_token)
            .await?;
        anyhow::ensure!(status == 200, "queue answered {status}: {queue}");
        Ok(queue["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["id"] == json!(request_id))
            .cloned())
    };
    rentory_blackbox::eventually(Duration::from_secs(20), "face match verdict", || async {
        Ok(queued()
            .await?
            .is_some_and(|i| i["face_match"]["verdict"] == "UNAVAILABLE"))
    })
    .await?;
    let item = queued().await?.expect("queued request");
    assert_eq!(item["user_id"], json!(landlord.user_id));
    assert_eq!(item["face_match"]["model"], "offline");
    assert!(item["face_match"]["score"].is_null());
    assert!(
        !item["face_match"]["reasons"]
            .as_array()
            .expect("reasons")
            .is_empty()
    );

    // The signed links serve the originals, untouched.
    let id_image = stack
        .http
        .get(item["id_image_url"].as_str().expect("url"))
        .send()
        .await?;
    assert_eq!(id_image.status(), 200);
    assert_eq!(
        id_image.bytes().await?.as_ref(),
        fixtures::JPEG_64X48_EXIF_RESTART
    );
    let face = stack
        .http
        .get(item["face_scan_url"].as_str().expect("url"))
        .send()
        .await?;
    assert_eq!(face.bytes().await?.as_ref(), fixtures::PNG_16);

    let (status, approved) = stack
        .post(
            &format!("/kyc/requests/{request_id}/approve"),
            &officer.access_token,
            json!({}),
        )
        .await?;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "APPROVED");
    assert_eq!(approved["reviewer_id"], json!(officer.user_id));

    rentory_blackbox::eventually(Duration::from_secs(20), "account activation", || async {
        let (_, me) = stack.get("/me", &landlord.access_token).await?;
        Ok(me["user"]["status"] == "ACTIVE")
    })
    .await?;

    // A refreshed access token carries the new status.
    let (status, refreshed) = stack
        .post(
            "/auth/refresh",
            "",
            json!({"refresh_token": landlord.refresh_token}),
        )
        .await?;
    assert_eq!(status, 200, "{refreshed}");
    let claims = claims(refreshed["access_token"].as_str().expect("token"));
    assert_eq!(claims["status"], "ACTIVE");
    assert_eq!(claims["role"], "LANDLORD");

    let (_, mine) = stack
        .get("/me/verification", &landlord.access_token)
        .await?;
    assert_eq!(mine["status"], "APPROVED");
    stack.stop().await
}

#[tokio::test]
async fn rejection_keeps_the_account_pending_with_the_reason() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let tenant = stack.register("TENANT").await?;
    let request_id = tenant.verification_request_id.clone().expect("request");
    let admin = stack.admin().await?;

    let (status, body) = stack
        .post(
            &format!("/kyc/requests/{request_id}/reject"),
            &admin.access_token,
            json!({}),
        )
        .await?;
    assert_eq!(status, 422, "a reason is required: {body}");

    let (status, rejected) = stack
        .post(
            &format!("/kyc/requests/{request_id}/reject"),
            &admin.access_token,
            json!({"reason": "The ID photo is blurred"}),
        )
        .await?;
    assert_eq!(status, 200, "{rejected}");
    assert_eq!(rejected["status"], "REJECTED");

    let (status, again) = stack
        .post(
            &format!("/kyc/requests/{request_id}/approve"),
            &admin.access_token,
            json!({}),
        )
        .await?;
    assert_eq!(status, 409, "{again}");

    let (_, mine) = stack.get("/me/verification", &tenant.access_token).await?;
    assert_eq!(mine["status"], "REJECTED");
    assert_eq!(mine["rejection_reason"], "The ID photo is blurred");
    let (_, me) = stack.get("/me", &tenant.access_token).await?;
    assert_eq!(me["user"]["status"], "PENDING");

    // Resubmission after a rejection opens a new request.
    let form = reqwest::multipart::Form::new()
        .text("role_requested", "TENANT")
        .part(
            "id_image",
            rentory_blackbox::image_part(fixtures::WEBP_64X48_ALPHA, "id.webp", "image/webp"),
        )
        .part(
            "face_scan",
            rentory_blackbox::image_part(fixtures::JPEG_16_PROGRESSIVE, "f.jpg", "image/jpeg"),
        );
    let response = stack
        .http
        .post(stack.url("/me/verification"))
        .bearer_auth(&tenant.access_token)
        .multipart(form)
        .send()
        .await?;
    let (status, resubmitted) = rentory_blackbox::status_and_json(response).await?;
    assert_eq!(status, 201, "{resubmitted}");
    assert_eq!(resubmitted["status"], "PENDING");
    assert_ne!(resubmitted["id"], json!(request_id));
    stack.stop().await
}
