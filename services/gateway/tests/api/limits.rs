//! Size caps and image checks at the edge. The services are down in these tests, so a
//! problem other than 503 proves the gateway refused before calling anyone.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use bytes::Bytes;
use futures::{StreamExt, stream};
use rentory_media::fixtures;

use crate::support::*;

type Chunk = Result<Bytes, std::io::Error>;

/// A body that never yields a byte: a gateway that tried to read it would hang.
fn never() -> Body {
    Body::from_stream(stream::pending::<Chunk>())
}

#[tokio::test]
async fn an_oversize_content_length_is_refused_before_reading_anything() {
    let app = TestApp::new(|_| {}).await;
    let upload = Request::post("/auth/register")
        .header(header::CONTENT_TYPE, multipart_content_type())
        .header(header::CONTENT_LENGTH, 200 * 1024 * 1024)
        .body(never())
        .expect("request");
    problem(app.send(upload).await, 413, "payload-too-large").await;

    let login = Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, 65 * 1024)
        .body(never())
        .expect("request");
    problem(app.send(login).await, 413, "payload-too-large").await;
}

#[tokio::test]
async fn a_json_body_over_the_cap_without_content_length_is_413() {
    let app = TestApp::new(|c| c.max_json_bytes = 1024).await;
    let chunks: Vec<Chunk> = (0..8).map(|_| Ok(Bytes::from(vec![b' '; 512]))).collect();
    let request = Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream::iter(chunks)))
        .expect("request");
    problem(app.send(request).await, 413, "payload-too-large").await;
}

#[tokio::test]
async fn an_oversize_file_is_refused_mid_stream_without_reading_the_rest() {
    const CAP: usize = 64 * 1024;
    let app = TestApp::new(|c| c.max_upload_bytes = CAP).await;
    let mut head = register_texts();
    head.extend(file_head("id_image", "image/png"));
    head.extend_from_slice(fixtures::PNG_16);
    // Twice the cap in 8 KiB chunks, then a body that never ends: the answer must come
    // from what was read, not from waiting for the rest.
    let chunks: Vec<Chunk> = std::iter::once(Ok(Bytes::from(head)))
        .chain((0..16).map(|_| Ok(Bytes::from(vec![0u8; 8 * 1024]))))
        .collect();
    let body = Body::from_stream(stream::iter(chunks).chain(stream::pending()));
    let response = tokio::time::timeout(
        Duration::from_secs(5),
        app.send(multipart_request("/auth/register", body)),
    )
    .await
    .expect("refused without waiting for the rest of the body");
    let body = problem(response, 413, "payload-too-large").await;
    assert_eq!(body["errors"][0]["field"], "id_image");
}

#[tokio::test]
async fn a_body_over_the_whole_cap_without_content_length_is_413() {
    // Each part is under its own cap; together they pass the whole-body cap.
    const CAP: usize = 16 * 1024;
    let app = TestApp::new(|c| c.max_upload_bytes = CAP).await;
    let mut chunks: Vec<Chunk> = vec![Ok(Bytes::from(register_texts()))];
    for i in 0..40 {
        chunks.push(Ok(Bytes::from(text_part(
            &format!("extra{i}"),
            &"x".repeat(3000),
        ))));
    }
    let body = Body::from_stream(stream::iter(chunks).chain(stream::pending()));
    let response = app.send(multipart_request("/auth/register", body)).await;
    problem(response, 413, "payload-too-large").await;
}

#[tokio::test]
async fn an_oversize_text_field_is_413() {
    let app = TestApp::new(|_| {}).await;
    let mut body = text_part("bio", &"b".repeat(5000));
    body.extend(end());
    let body = problem(
        app.send(multipart_request("/auth/register", Body::from(body)))
            .await,
        413,
        "payload-too-large",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "bio");
}

#[tokio::test]
async fn lying_or_polyglot_images_are_415_before_any_account_is_made() {
    let app = TestApp::new(|_| {}).await;
    let mut polyglot = fixtures::JPEG_16_BASELINE.to_vec();
    polyglot.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00 then a zip archive");
    let html = b"<!DOCTYPE html><script>alert(1)</script>".to_vec();
    for (declared, data, why) in [
        (
            "image/jpeg",
            fixtures::PNG_16.to_vec(),
            "declared JPEG, is PNG",
        ),
        ("image/jpeg", polyglot, "JPEG with a ZIP appended"),
        ("image/png", html, "HTML"),
    ] {
        let body = [
            register_texts(),
            file_part("id_image", declared, &data),
            file_part("face_scan", "image/png", fixtures::PNG_16),
            end(),
        ]
        .concat();
        let response = app
            .send(multipart_request("/auth/register", Body::from(body)))
            .await;
        let body = problem(response, 415, "unsupported-media-type").await;
        assert_eq!(body["errors"][0]["field"], "id_image", "{why}");
    }
}

#[tokio::test]
async fn missing_parts_are_422_listing_each_one() {
    let app = TestApp::new(|_| {}).await;
    let body = [text_part("email", "a@b.ng"), end()].concat();
    let response = app
        .send(multipart_request("/auth/register", Body::from(body)))
        .await;
    let body = problem(response, 422, "validation-failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    for f in [
        "password",
        "pin",
        "full_name",
        "role_requested",
        "id_image",
        "face_scan",
    ] {
        assert!(fields.contains(&f), "{f} not listed in {fields:?}");
    }
    assert!(!fields.contains(&"email"));
}

#[tokio::test]
async fn non_multipart_registration_is_415_and_a_bad_role_is_422() {
    let app = TestApp::new(|_| {}).await;
    problem(
        app.send(post_json("/auth/register", "{}")).await,
        415,
        "unsupported-media-type",
    )
    .await;

    let mut texts = register_texts();
    texts = String::from_utf8(texts)
        .expect("utf8")
        .replace("LANDLORD", "OVERLORD")
        .into_bytes();
    let body = [
        texts,
        file_part("id_image", "image/jpeg", fixtures::JPEG_16_BASELINE),
        file_part("face_scan", "image/webp", fixtures::WEBP_16_LOSSY),
        end(),
    ]
    .concat();
    let response = app
        .send(multipart_request("/auth/register", Body::from(body)))
        .await;
    let body = problem(response, 422, "validation-failed").await;
    assert_eq!(body["errors"][0]["field"], "role_requested");
}

#[tokio::test]
async fn a_good_upload_passes_the_edge_and_reaches_the_service() {
    let app = TestApp::new(|_| {}).await;
    let body = [
        register_texts(),
        file_part("id_image", "image/jpeg", fixtures::JPEG_16_BASELINE),
        file_part("face_scan", "application/octet-stream", fixtures::PNG_16),
        end(),
    ]
    .concat();
    let response = app
        .send(multipart_request("/auth/register", Body::from(body)))
        .await;
    // Identity is down in this test: the form was accepted and the call attempted.
    problem(response, 503, "service-unavailable").await;
}
