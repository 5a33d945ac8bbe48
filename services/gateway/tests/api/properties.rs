//! The listings routes against the fake listings service (`backend.rs`): what reaches the
//! service, what is refused at the edge before any call, and how answers are mapped. Also
//! the public photo route over a temporary local bucket.

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, Response, StatusCode, header};
use futures::StreamExt;
use gateway::{Limit, LocalPhotos};
use http_body_util::BodyExt;
use rentory_auth::metadata as md;
use rentory_media::fixtures;
use rentory_proto::listings::v1 as pb;
use serde_json::{Value, json};

use crate::backend::{Calls, LOCKED_PROPERTY_ID, PROPERTY_ID, with_fakes};
use crate::support::*;

fn with_token(mut request: Request<Body>, token: &str) -> Request<Body> {
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header"),
    );
    request
}

fn json_request(method: Method, path: &str, body: &Value, token: &str) -> Request<Body> {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    with_token(request, token)
}

fn analyze(parts: Vec<Vec<u8>>, token: &str) -> Request<Body> {
    let mut body = parts.concat();
    body.extend(end());
    with_token(
        multipart_request("/properties/analyze", Body::from(body)),
        token,
    )
}

fn photo(data: &[u8]) -> Vec<u8> {
    file_part("photos", "image/jpeg", data)
}

async fn bytes(response: Response<Body>) -> bytes::Bytes {
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

// --- POST /properties/analyze ----------------------------------------------------------

#[tokio::test]
async fn analyze_forwards_every_photo_intact_with_the_texts() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let parts = vec![
        photo(fixtures::JPEG_16_BASELINE),
        // No declared type: the bytes decide what is forwarded.
        file_part("photos", "", fixtures::PNG_16),
        text_part("notes", "Newly renovated; prepaid meter"),
        file_part("photos", "image/webp", fixtures::WEBP_16_LOSSY),
        text_part("address", " 12 Herbert Macaulay Way, Yaba "),
        text_part("latitude", "6.5095"),
        text_part("longitude", "3.3711"),
    ];
    let response = app.send(analyze(parts, &token)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body = json(response).await;
    assert_eq!(body["analysis_id"], "an-1");
    assert_eq!(body["suggested_price_kobo"], 250_000_000);
    assert_eq!(body["suggested_price"], "2500000.00");
    assert_eq!(body["bathrooms"], Value::Null);
    assert_eq!(body["photo_urls"].as_array().map(Vec::len), Some(3));
    assert_eq!(body["latitude"], 6.5095);
    assert_eq!(body["comparables"], 3);
    assert_eq!(body["created_at"], "2026-03-01T09:00:00Z");

    let sent: pb::AnalyzePhotosRequest = calls.message("AnalyzePhotos").expect("called");
    let photos: Vec<(&[u8], &str)> = sent
        .photos
        .iter()
        .map(|p| (p.data.as_slice(), p.mime_type.as_str()))
        .collect();
    assert_eq!(
        photos,
        [
            (fixtures::JPEG_16_BASELINE, "image/jpeg"),
            (fixtures::PNG_16, "image/png"),
            (fixtures::WEBP_16_LOSSY, "image/webp"),
        ]
    );
    assert_eq!(sent.notes, "Newly renovated; prepaid meter");
    assert_eq!(sent.address, "12 Herbert Macaulay Way, Yaba");
    assert_eq!(
        (sent.latitude, sent.longitude),
        (Some(6.5095), Some(3.3711))
    );
    assert_eq!(
        calls.get("AnalyzePhotos", md::AUTHORIZATION),
        Some(format!("Bearer {token}"))
    );
}

#[tokio::test]
async fn analyze_without_coordinates_forwards_none() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let parts = vec![photo(fixtures::JPEG_16_BASELINE), text_part("latitude", "")];
    let response = app.send(analyze(parts, &token)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let sent: pb::AnalyzePhotosRequest = calls.message("AnalyzePhotos").expect("called");
    assert_eq!((sent.latitude, sent.longitude), (None, None));
    assert_eq!((sent.notes.as_str(), sent.address.as_str()), ("", ""));
}

#[tokio::test]
async fn analyze_refuses_bad_forms_before_calling_the_service() {
    let (app, calls) = with_fakes(false, |c| c.max_upload_bytes = 4 * 1024).await;
    let (token, _) = app.token();

    // No photos at all.
    let body = problem(
        app.send(analyze(vec![text_part("notes", "hi")], &token))
            .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(fields(&body), ["photos"]);

    // Eleven photos: the eleventh part is refused before it is read.
    let eleven = (0..11).map(|_| photo(fixtures::JPEG_16_BASELINE)).collect();
    let body = problem(
        app.send(analyze(eleven, &token)).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(fields(&body), ["photos"]);

    // Not an image.
    let html = file_part("photos", "image/png", b"<!DOCTYPE html><script>x</script>");
    let body = problem(
        app.send(analyze(vec![photo(fixtures::PNG_16), html], &token))
            .await,
        415,
        "unsupported-media-type",
    )
    .await;
    assert_eq!(fields(&body), ["photos"]);

    // Over the per-file cap (JPEG magic, then more bytes than the cap).
    let mut big = fixtures::JPEG_16_BASELINE.to_vec();
    big.extend(vec![0u8; 8 * 1024]);
    let body = problem(
        app.send(analyze(vec![photo(&big)], &token)).await,
        413,
        "payload-too-large",
    )
    .await;
    assert_eq!(fields(&body), ["photos"]);

    // Texts that do not parse, all named at once.
    let parts = vec![
        photo(fixtures::JPEG_16_BASELINE),
        text_part("notes", &"é".repeat(2001)),
        text_part("latitude", "north"),
        text_part("longitude", "NaN"),
    ];
    let body = problem(
        app.send(analyze(parts, &token)).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(fields(&body), ["notes", "latitude", "longitude"]);

    // 2,000 characters of two bytes each are fine.
    let parts = vec![
        photo(fixtures::JPEG_16_BASELINE),
        text_part("notes", &"é".repeat(2000)),
    ];
    assert_eq!(
        app.send(analyze(parts, &token)).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(calls.count("AnalyzePhotos"), 1);
}

#[tokio::test]
async fn the_eleventh_photo_is_refused_without_reading_it() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let mut head: Vec<u8> = (0..10)
        .flat_map(|_| photo(fixtures::JPEG_16_BASELINE))
        .collect();
    head.extend(file_head("photos", "image/jpeg"));
    // The eleventh part's bytes never come: the answer must not wait for them.
    let chunks = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(head))])
        .chain(futures::stream::pending());
    let request = with_token(
        multipart_request("/properties/analyze", Body::from_stream(chunks)),
        &token,
    );
    let response = tokio::time::timeout(std::time::Duration::from_secs(5), app.send(request))
        .await
        .expect("refused without waiting for the eleventh photo");
    let body = problem(response, 422, "validation-failed").await;
    assert_eq!(fields(&body), ["photos"]);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("10")),
        "{body}"
    );
    assert_eq!(calls.count("AnalyzePhotos"), 0);
}

#[tokio::test]
async fn analyze_counts_against_the_uploads_limit() {
    let (app, calls) = with_fakes(false, |c| {
        c.rate_limits.uploads = Some(Limit::new(1, 3600));
    })
    .await;
    let (token, _) = app.token();
    let first = app
        .send(analyze(vec![photo(fixtures::JPEG_16_BASELINE)], &token))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let second = app
        .send(analyze(vec![photo(fixtures::JPEG_16_BASELINE)], &token))
        .await;
    problem(second, 429, "rate-limited").await;
    assert_eq!(calls.count("AnalyzePhotos"), 1);
    // Other routes are under the api policy, not this one.
    let discover = app
        .send(get_with_token("/properties/discover", &token))
        .await;
    assert_eq!(discover.status(), StatusCode::OK);
}

// --- POST /properties, GET / PATCH / DELETE /properties/{id} ---------------------------

#[tokio::test]
async fn create_forwards_the_body_and_answers_201_with_the_property() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let body = json!({
        "analysis_id": "an-1",
        "title": "Two bedrooms, Yaba",
        "price_kobo": 240_000_000,
        "latitude": 6.5,
        "amenities": [],
        "land_details": {"size": 2.0, "unit": "PLOTS"},
    });
    let response = app
        .send(json_request(Method::POST, "/properties", &body, &token))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let property = json(response).await;
    assert_eq!(property["id"], PROPERTY_ID);
    assert_eq!(property["title"], "Two bedrooms, Yaba");
    assert_eq!(property["price"], "2500000.00");
    assert_eq!(property["ratings"]["security"], 4.5);
    assert_eq!(property["ratings"]["power"], Value::Null);
    assert_eq!(property["land_details"], Value::Null);
    assert_eq!(property["created_at"], "2026-03-01T09:30:00Z");
    for contact in ["phone", "email", "full_name"] {
        assert!(property.get(contact).is_none(), "{contact} leaked");
    }

    let sent: pb::CreatePropertyRequest = calls.message("CreateProperty").expect("called");
    assert_eq!(sent.analysis_id.as_deref(), Some("an-1"));
    assert_eq!(sent.price_kobo, Some(240_000_000));
    assert_eq!((sent.latitude, sent.longitude), (Some(6.5), None));
    assert!(sent.amenities_set && sent.amenities.is_empty());
    let land = sent.land_details.expect("land details");
    assert_eq!(
        (land.size, land.unit.as_str(), land.dimensions.as_str()),
        (2.0, "PLOTS", "")
    );
    assert_eq!(sent.is_verified, None);
}

#[tokio::test]
async fn read_only_fields_reach_the_service_which_refuses_them() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let body = json!({"title": "Mine", "is_verified": true, "landlord_id": "someone-else"});
    let response = app
        .send(json_request(Method::POST, "/properties", &body, &token))
        .await;
    let problem = problem(response, 400, "read-only-field").await;
    let mut named = fields(&problem);
    named.sort();
    assert_eq!(named, ["is_verified", "landlord_id"]);
    let sent: pb::CreatePropertyRequest = calls.message("CreateProperty").expect("called");
    assert_eq!(sent.is_verified, Some(true));
    assert_eq!(sent.landlord_id.as_deref(), Some("someone-else"));
}

#[tokio::test]
async fn unknown_fields_are_400_naming_them_without_a_call() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    for (method, path, body, field) in [
        (
            Method::POST,
            "/properties".to_owned(),
            json!({"title": "x", "verified": true}),
            "verified",
        ),
        (
            Method::POST,
            "/properties".to_owned(),
            json!({"land_details": {"size": 1, "unit": "SQM", "acres": 2}}),
            "land_details.acres",
        ),
        (
            Method::PATCH,
            format!("/properties/{PROPERTY_ID}"),
            json!({"colour": "blue"}),
            "colour",
        ),
    ] {
        let response = app.send(json_request(method, &path, &body, &token)).await;
        let problem = problem(response, 400, "malformed-request").await;
        assert_eq!(fields(&problem), [field]);
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(field)),
            "{problem}"
        );
    }
    assert_eq!(calls.count("CreateProperty"), 0);
    assert_eq!(calls.count("UpdateProperty"), 0);
}

#[tokio::test]
async fn a_property_is_read_edited_and_archived() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let path = format!("/properties/{PROPERTY_ID}");

    let response = app.send(get_with_token(&path, &token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let property = json(response).await;
    assert_eq!(property["id"], PROPERTY_ID);
    assert_eq!(property["analysis_id"], "an-1");
    assert_eq!(property["bedrooms"], 2);
    problem(
        app.send(get_with_token("/properties/nope", &token)).await,
        404,
        "not-found",
    )
    .await;

    let patch = json!({"title": "New title", "amenities": ["BOREHOLE"], "neighborhood_description": "Quiet", "status": "ACTIVE"});
    let response = app
        .send(json_request(Method::PATCH, &path, &patch, &token))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let property = json(response).await;
    assert_eq!(property["title"], "New title");
    assert_eq!(property["amenities"], json!(["BOREHOLE"]));
    let sent: pb::UpdatePropertyRequest = calls.message("UpdateProperty").expect("called");
    assert_eq!(sent.id, PROPERTY_ID);
    assert_eq!(sent.neighborhood_description.as_deref(), Some("Quiet"));
    assert_eq!(sent.status.as_deref(), Some("ACTIVE"));
    assert_eq!(sent.description, None);

    let archive = with_token(
        Request::delete(&path).body(Body::empty()).expect("request"),
        &token,
    );
    let response = app.send(archive).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["status"], "ARCHIVED");
    let sent: pb::ArchivePropertyRequest = calls.message("ArchiveProperty").expect("called");
    assert_eq!(sent.id, PROPERTY_ID);
}

#[tokio::test]
async fn ratings_are_forwarded_and_the_services_refusal_mapped() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let path = format!("/properties/{PROPERTY_ID}/ratings");
    let rating = json!({"security": 4, "power": 3, "neighborhood": 5});
    let response = app
        .send(json_request(Method::POST, &path, &rating, &token))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["ratings"]["reviews"], 2);
    let sent: pb::RatePropertyRequest = calls.message("RateProperty").expect("called");
    assert_eq!(
        (
            sent.property_id.as_str(),
            sent.security,
            sent.power,
            sent.neighborhood
        ),
        (PROPERTY_ID, 4, 3, 5)
    );

    let out_of_range = json!({"security": 4, "power": 9, "neighborhood": 5});
    let body = problem(
        app.send(json_request(Method::POST, &path, &out_of_range, &token))
            .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(fields(&body), ["power"]);
    let negative = json!({"security": -1, "power": 3, "neighborhood": 5});
    let body = problem(
        app.send(json_request(Method::POST, &path, &negative, &token))
            .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(fields(&body), ["security"]);
    assert_eq!(calls.count("RateProperty"), 2);
}

// --- contact ---------------------------------------------------------------------------

#[tokio::test]
async fn the_contact_is_answered_or_402_with_how_to_unlock() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let response = app
        .send(get_with_token(
            &format!("/properties/{PROPERTY_ID}/contact"),
            &token,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        json(response).await,
        json!({
            "landlord_id": crate::backend::LANDLORD_ID,
            "full_name": "Adaeze Okafor",
            "phone": "+2348031234567",
            "email": "ada@example.ng",
        })
    );

    let response = app
        .send(get_with_token(
            &format!("/properties/{LOCKED_PROPERTY_ID}/contact"),
            &token,
        ))
        .await;
    let body = problem(response, 402, "payment-required").await;
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("/payments/contact-unlock")),
        "{body}"
    );
    assert_eq!(calls.count("GetContact"), 2);
}

// --- discover --------------------------------------------------------------------------

#[tokio::test]
async fn discover_parses_the_query_and_is_not_taken_for_an_id() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let polygon = r#"{"type":"Polygon","coordinates":[[[3.3,6.5],[3.4,6.5],[3.4,6.6],[3.3,6.5]]]}"#;
    let encoded: String = polygon.bytes().map(|b| format!("%{b:02X}")).collect();
    let path = format!(
        "/properties/discover?lat=6.5&lng=3.37&radius_km=5&bbox=3.35,6.49,3.39,6.53\
         &polygon={encoded}&category=RESIDENTIAL&min_price_kobo=100&max_price_kobo=300000000\
         &bedrooms=2&limit=10"
    );
    let response = app.send(get_with_token(&path, &token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = json(response).await;
    assert_eq!(page["items"][0]["property"]["id"], PROPERTY_ID);
    assert_eq!(page["items"][0]["match_score"], 87);
    assert_eq!(page["items"][0]["distance_km"], 1.25);
    assert_eq!(page["next_cursor"], "page-2");
    assert_eq!(page["persona_version"], 2);
    assert_eq!(
        calls.count("GetProperty"),
        0,
        "discover was taken for an id"
    );

    let sent: pb::DiscoverRequest = calls.message("Discover").expect("called");
    assert_eq!(
        (sent.latitude, sent.longitude, sent.radius_km),
        (Some(6.5), Some(3.37), Some(5.0))
    );
    assert_eq!(
        sent.bbox,
        Some(pb::BoundingBox {
            min_longitude: 3.35,
            min_latitude: 6.49,
            max_longitude: 3.39,
            max_latitude: 6.53,
        })
    );
    assert_eq!(sent.polygon_geojson.as_deref(), Some(polygon));
    assert_eq!(sent.category.as_deref(), Some("RESIDENTIAL"));
    assert_eq!(
        (sent.min_price_kobo, sent.max_price_kobo),
        (Some(100), Some(300_000_000))
    );
    assert_eq!((sent.bedrooms, sent.limit), (Some(2), 10));
    assert_eq!(sent.cursor, "");

    let last = json(
        app.send(get_with_token("/properties/discover?cursor=page-2", &token))
            .await,
    )
    .await;
    assert_eq!(last["next_cursor"], Value::Null);
    let sent: pb::DiscoverRequest = calls.message("Discover").expect("called");
    assert_eq!(
        (sent.cursor.as_str(), sent.latitude, sent.bbox),
        ("page-2", None, None)
    );
}

#[tokio::test]
async fn bad_discover_parameters_are_422_naming_each_one() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let big_polygon = "x".repeat(16 * 1024 + 1);
    for (query, named) in [
        ("lat=north&lng=3.3", vec!["lat"]),
        ("lat=6.5&lng=east&radius_km=far", vec!["lng", "radius_km"]),
        ("bbox=1,2,3", vec!["bbox"]),
        ("bbox=a,b,c,d", vec!["bbox"]),
        (
            "min_price_kobo=1.5&bedrooms=-2&limit=ten",
            vec!["min_price_kobo", "bedrooms", "limit"],
        ),
        (&format!("polygon={big_polygon}"), vec!["polygon"]),
    ] {
        let response = app
            .send(get_with_token(
                &format!("/properties/discover?{query}"),
                &token,
            ))
            .await;
        let body = problem(response, 422, "validation-failed").await;
        assert_eq!(fields(&body), named, "{query}");
    }
    assert_eq!(calls.count("Discover"), 0);
    problem(
        app.send(get("/properties/discover")).await,
        401,
        "unauthenticated",
    )
    .await;
}

// --- saved searches --------------------------------------------------------------------

#[tokio::test]
async fn saved_searches_are_created_listed_and_deleted() {
    let (app, calls) = with_fakes(false, |_| {}).await;
    let (token, _) = app.token();
    let polygon = json!({"type": "Polygon", "coordinates": [[[3.3, 6.5], [3.4, 6.5], [3.4, 6.6], [3.3, 6.5]]]});
    let search = json!({
        "name": "2-bed in Yaba", "lat": 6.5, "lng": 3.37, "radius_km": 3,
        "polygon": polygon, "max_price_kobo": 300_000_000, "bedrooms": 2,
    });
    let response = app
        .send(json_request(Method::POST, "/searches", &search, &token))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let saved = json(response).await;
    assert_eq!(saved["id"], "ss-1");
    assert_eq!(saved["polygon"], polygon);
    assert_eq!(saved["category"], Value::Null);
    assert_eq!(saved["radius_km"], 3.0);
    assert_eq!(saved["created_at"], "2026-03-02T10:00:00Z");
    let sent: pb::SaveSearchRequest = calls.message("SaveSearch").expect("called");
    let sent_polygon: Value =
        serde_json::from_str(sent.polygon_geojson.as_deref().expect("polygon")).expect("JSON");
    assert_eq!(sent_polygon, polygon);
    assert_eq!((sent.latitude, sent.longitude), (6.5, 3.37));

    // The polygon may also come as its JSON text.
    let as_text = json!({"name": "n", "lat": 6.5, "lng": 3.37, "radius_km": 3, "polygon": polygon.to_string()});
    let response = app
        .send(json_request(Method::POST, "/searches", &as_text, &token))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(json(response).await["polygon"], polygon);

    let missing = json!({"name": "n", "lng": 3.37, "radius_km": 3});
    let body = problem(
        app.send(json_request(Method::POST, "/searches", &missing, &token))
            .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(fields(&body), ["lat"]);
    let numeric_polygon = json!({"name": "n", "lat": 1, "lng": 2, "radius_km": 3, "polygon": 5});
    let body = problem(
        app.send(json_request(
            Method::POST,
            "/searches",
            &numeric_polygon,
            &token,
        ))
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(fields(&body), ["polygon"]);
    assert_eq!(calls.count("SaveSearch"), 2);

    let response = app.send(get_with_token("/searches", &token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let list = json(response).await;
    assert_eq!(list["searches"][0]["id"], "ss-1");
    assert_eq!(list["searches"][0]["polygon"], Value::Null);
    assert_eq!(list["searches"][0]["bedrooms"], 2);

    let delete = |id: &str| {
        with_token(
            Request::delete(format!("/searches/{id}"))
                .body(Body::empty())
                .expect("request"),
            &token,
        )
    };
    let response = app.send(delete("ss-1")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(bytes(response).await.is_empty());
    problem(app.send(delete("other")).await, 404, "not-found").await;
    assert_eq!(
        calls.get("DeleteSearch", md::AUTHORIZATION),
        Some(format!("Bearer {token}"))
    );
}

// --- GET /photos/{*key} ----------------------------------------------------------------

struct Photos {
    app: TestApp,
    calls: Calls,
    /// The bucket's directory, `<root>/photos`.
    bucket: std::path::PathBuf,
    root: tempfile::TempDir,
}

async fn photos() -> Photos {
    let root = tempfile::tempdir().expect("tempdir");
    let bucket = root.path().join("photos");
    let served = LocalPhotos::new(
        format!("file://{}", bucket.display()),
        "http://gateway.test",
    )
    .expect("photos");
    let (app, calls) = with_fakes(false, move |c| c.photos = Some(served)).await;
    Photos {
        app,
        calls,
        bucket,
        root,
    }
}

#[tokio::test]
async fn photos_are_served_publicly_with_long_caching() {
    let p = photos().await;
    // The listings service's side: it writes the same directory.
    std::fs::create_dir_all(p.bucket.join("ab")).expect("mkdir");
    std::fs::write(p.bucket.join("ab/abcdef.png"), fixtures::PNG_16).expect("write");

    // No token.
    let response = p.app.send(get("/photos/ab/abcdef.png")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(
        headers.get(header::CONTENT_TYPE),
        Some(&HeaderValue::from_static("image/png"))
    );
    assert_eq!(
        headers.get(header::CACHE_CONTROL),
        Some(&HeaderValue::from_static(
            "public, max-age=31536000, immutable"
        ))
    );
    assert_eq!(
        headers.get(header::X_CONTENT_TYPE_OPTIONS),
        Some(&HeaderValue::from_static("nosniff"))
    );
    assert_eq!(&bytes(response).await[..], fixtures::PNG_16);
    assert_eq!(p.calls.count("GetProperty"), 0);
}

#[tokio::test]
async fn missing_photos_and_keys_outside_the_bucket_are_404() {
    let p = photos().await;
    // A file next to the bucket, which `..` would reach.
    std::fs::write(p.root.path().join("secret.png"), fixtures::PNG_16).expect("write");
    std::fs::create_dir_all(p.bucket.join("ab")).expect("mkdir");
    for path in [
        "/photos/ab/never-stored.png",
        "/photos/../secret.png",
        "/photos/ab/../../secret.png",
        "/photos/%2e%2e/secret.png",
        "/photos/ab/%2E%2E/%2E%2E/secret.png",
        "/photos/ab//x.png",
    ] {
        let response = p.app.send(get(path)).await;
        let body = problem(response, 404, "not-found").await;
        assert_eq!(body["detail"], "no such photo", "{path}");
    }

    let without = TestApp::new(|_| {}).await;
    problem(
        without.send(get("/photos/ab/abcdef.png")).await,
        404,
        "not-found",
    )
    .await;
}
