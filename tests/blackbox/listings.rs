//! The listings service through the gateway: drafts from photos with the offline AI,
//! publishing, editing and archiving, who may set what, discovery (areas, filters, paging,
//! persona ranking), the contact gate, metadata-free photos, saved searches and ratings.

use std::collections::BTreeSet;
use std::time::Duration;

use rentory_blackbox::{
    Account, TestStack, analyze_form, eventually, fixtures, image_part, owned_image_part,
};
use rentory_persona::{Bedrooms, Budget, Category, Location, MustHave, Persona, RentPeriod};
use rentory_proto::events::v1::{PersonaUpdated, SearchMatched, TransactionSucceeded};
use serde_json::{Value, json};

// Known points around Lagos (latitude, longitude), and one in Abuja.
const YABA: (f64, f64) = (6.5095, 3.3711);
const AKOKA: (f64, f64) = (6.5158, 3.3896);
const EBUTE_METTA: (f64, f64) = (6.4850, 3.3800);
const SURULERE: (f64, f64) = (6.5000, 3.3500);
const YABA_NORTH: (f64, f64) = (6.5200, 3.3650);
const IKEJA: (f64, f64) = (6.6018, 3.3515);
const LEKKI_PHASE_1: (f64, f64) = (6.4478, 3.4723);
const LEKKI_EAST: (f64, f64) = (6.4400, 3.4800);
const VICTORIA_ISLAND: (f64, f64) = (6.4281, 3.4219);
const ABUJA: (f64, f64) = (9.0765, 7.3986);

const NOTES: &str = "3 bedroom flat, borehole, standby generator, 24/7 security";
const ADDRESS: &str = "Herbert Macaulay Way, Yaba, Lagos";
const PROBLEMS: &str = "https://rentory.ng/problems/";

const PERSONA_UPDATED: &str = "rentory.ai.persona.updated";
const TRANSACTION_SUCCEEDED: &str = "rentory.payments.transaction.succeeded";
const SEARCH_MATCHED: &str = "rentory.listings.search.matched";

// --- helpers ---------------------------------------------------------------------------

/// Great-circle distance in km (mean Earth radius), as a client would compute it.
fn haversine((lat1, lng1): (f64, f64), (lat2, lng2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians() / 2.0;
    let dl = (lng2 - lng1).to_radians() / 2.0;
    let a = dp.sin().powi(2) + p1.cos() * p2.cos() * dl.sin().powi(2);
    2.0 * 6371.0088 * a.sqrt().asin()
}

/// Whether (lat, lng) is inside the ring of (lng, lat) vertices (ray casting, planar).
fn inside((lat, lng): (f64, f64), ring: &[(f64, f64)]) -> bool {
    let mut inside = false;
    let mut j = ring.len() - 1;
    for i in 0..ring.len() {
        let (xi, yi) = ring[i];
        let (xj, yj) = ring[j];
        if (yi > lat) != (yj > lat) && lng < (xj - xi) * (lat - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

fn problem_type(problem: &Value) -> &str {
    problem["type"]
        .as_str()
        .and_then(|t| t.strip_prefix(PROBLEMS))
        .unwrap_or("")
}

fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str().map(str::to_owned))
        .collect()
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-6)
}

/// A listing from scratch.
fn listing(
    title: &str,
    (latitude, longitude): (f64, f64),
    category: &str,
    price_kobo: i64,
    bedrooms: Option<u32>,
) -> Value {
    let mut body = json!({
        "category": category,
        "title": title,
        "description": format!("{title}, listed by a black-box test"),
        "price_kobo": price_kobo,
        "address": format!("{title}, Lagos"),
        "latitude": latitude,
        "longitude": longitude,
    });
    if let Some(bedrooms) = bedrooms {
        body["bedrooms"] = json!(bedrooms);
    }
    if category == "LAND" {
        body["land_details"] = json!({"size": 648.0, "unit": "SQM"});
    }
    body
}

async fn create(stack: &TestStack, landlord: &Account, body: Value) -> anyhow::Result<Value> {
    let (status, property) = stack
        .post("/properties", &landlord.access_token, body.clone())
        .await?;
    anyhow::ensure!(
        status == 201,
        "creating {body} answered {status}: {property}"
    );
    Ok(property)
}

async fn discover(
    stack: &TestStack,
    who: &Account,
    query: &[(&str, String)],
) -> anyhow::Result<(u16, Value)> {
    stack
        .get_query("/properties/discover", &who.access_token, query)
        .await
}

/// The query of a point search.
fn around((lat, lng): (f64, f64), radius_km: f64) -> Vec<(&'static str, String)> {
    vec![
        ("lat", lat.to_string()),
        ("lng", lng.to_string()),
        ("radius_km", radius_km.to_string()),
    ]
}

fn with(
    mut query: Vec<(&'static str, String)>,
    extra: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    query.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    query
}

fn item_ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| id(&i["property"]))
        .collect()
}

/// Every page is sorted by match_score descending, every item has reasons, a score in
/// range, and (with `origin`) its distance from the search point.
fn check_page(page: &Value, origin: Option<(f64, f64)>) {
    let items = page["items"].as_array().expect("items");
    let scores: Vec<u64> = items
        .iter()
        .map(|i| i["match_score"].as_u64().expect("match_score"))
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "not sorted by score: {scores:?}"
    );
    for item in items {
        assert!(item["match_score"].as_u64().is_some_and(|s| s <= 100));
        assert!(
            item["match_reasons"]
                .as_array()
                .is_some_and(|r| !r.is_empty() && r.iter().all(Value::is_string)),
            "{item}"
        );
        let distance = item["distance_km"].as_f64().expect("distance_km");
        if let Some(origin) = origin {
            let p = &item["property"];
            let at = (
                p["latitude"].as_f64().expect("lat"),
                p["longitude"].as_f64().expect("lng"),
            );
            let expected = haversine(origin, at);
            assert!(
                (distance - expected).abs() <= expected * 0.01 + 0.02,
                "distance_km {distance} for {}, expected about {expected}",
                p["title"]
            );
        }
    }
}

/// A persona as the AI orchestrator announces it.
fn persona_event(user: &Account, persona: &Persona) -> PersonaUpdated {
    PersonaUpdated {
        user_id: user.user_id.clone(),
        version: persona.version,
        persona_json: persona.to_json(),
        at: Some(rentory_proto::timestamp(time::OffsetDateTime::now_utc())),
    }
}

/// A successful payment as the payments service announces it.
fn payment(kind: &str, payer: &Account, property_id: &str) -> TransactionSucceeded {
    TransactionSucceeded {
        transaction_id: uuid::Uuid::now_v7().to_string(),
        reference: format!("rentory_{}", uuid::Uuid::new_v4().simple()),
        r#type: kind.to_owned(),
        payer_id: payer.user_id.clone(),
        property_id: Some(property_id.to_owned()),
        lease_id: None,
        amount_kobo: 500_000,
        at: Some(rentory_proto::timestamp(time::OffsetDateTime::now_utc())),
    }
}

// --- 1. the landlord journey -------------------------------------------------------------

#[tokio::test]
async fn a_landlord_drafts_from_photos_publishes_edits_rates_and_archives() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let admin = stack.admin().await?;
    let landlord = stack
        .activate_by(&admin, &stack.register("LANDLORD").await?)
        .await?;
    let other_landlord = stack
        .activate_by(&admin, &stack.register("LANDLORD").await?)
        .await?;
    let tenant = stack
        .activate_by(&admin, &stack.register("TENANT").await?)
        .await?;
    let pending_tenant = stack.register("TENANT").await?;

    // Listings nearby, for the comparables: two within 5 km of Yaba (one archived) and one
    // in Ikeja.
    create(
        &stack,
        &landlord,
        listing(
            "Akoka 3-bedroom flat",
            AKOKA,
            "RESIDENTIAL",
            400_000_000,
            Some(3),
        ),
    )
    .await?;
    let surulere = create(
        &stack,
        &landlord,
        listing(
            "Surulere flat",
            SURULERE,
            "RESIDENTIAL",
            300_000_000,
            Some(3),
        ),
    )
    .await?;
    create(
        &stack,
        &landlord,
        listing("Ikeja flat", IKEJA, "RESIDENTIAL", 500_000_000, Some(3)),
    )
    .await?;
    let (status, archived) = stack
        .delete(
            &format!("/properties/{}", id(&surulere)),
            &landlord.access_token,
        )
        .await?;
    assert_eq!(status, 200, "{archived}");

    // Photos -> a draft from the offline AI.
    let form = analyze_form(
        vec![
            image_part(fixtures::JPEG_64X48_EXIF_RESTART, "front.jpg", "image/jpeg"),
            image_part(fixtures::PNG_16, "kitchen.png", "image/png"),
            image_part(fixtures::WEBP_16_LOSSY, "bath.webp", "image/webp"),
        ],
        NOTES,
        ADDRESS,
        None,
    );
    let (status, analysis) = stack.analyze(&landlord.access_token, form).await?;
    assert_eq!(status, 201, "{analysis}");
    for key in [
        "analysis_id",
        "category",
        "title",
        "description",
        "amenities",
        "neighborhood_description",
        "suggested_price",
        "suggested_price_kobo",
        "confidence",
        "photo_urls",
    ] {
        assert!(
            analysis.get(key).is_some(),
            "API.md promises {key}: {analysis}"
        );
    }
    assert!(
        analysis["analysis_id"]
            .as_str()
            .is_some_and(|i| !i.is_empty())
    );
    assert_eq!(analysis["model"], "offline");
    assert_eq!(analysis["category"], "RESIDENTIAL");
    assert_eq!(analysis["bedrooms"], 3, "{analysis}");
    assert!(
        analysis["title"]
            .as_str()
            .is_some_and(|t| t.trim().len() >= 3)
    );
    let urls = analysis["photo_urls"].as_array().expect("photo_urls");
    assert_eq!(urls.len(), 3, "{analysis}");
    for url in urls {
        let url = url.as_str().expect("url");
        assert!(url.starts_with(&format!("{}/photos/", stack.base)), "{url}");
    }
    let amenities: Vec<String> = analysis["amenities"]
        .as_array()
        .expect("amenities")
        .iter()
        .map(|a| a.as_str().expect("text").to_lowercase())
        .collect();
    assert!(
        amenities.iter().any(|a| a.contains("generator")),
        "{amenities:?}"
    );
    assert!(
        amenities.iter().any(|a| a.contains("security")),
        "{amenities:?}"
    );
    // The address was placed (Yaba, from the gazetteer) and the active listings within 5 km
    // of it were the comparables: not the archived one, not Ikeja.
    let placed = (
        analysis["latitude"].as_f64().expect("latitude"),
        analysis["longitude"].as_f64().expect("longitude"),
    );
    assert!(haversine(placed, YABA) < 1.0, "{analysis}");
    assert!(haversine(placed, SURULERE) < 5.0 && haversine(placed, IKEJA) > 5.0);
    let expected = [AKOKA, IKEJA]
        .iter()
        .filter(|p| haversine(placed, **p) < 5.0)
        .count();
    assert_eq!(analysis["comparables"], expected, "{analysis}");

    // Publish it.
    let (status, property) = stack
        .post(
            "/properties",
            &landlord.access_token,
            json!({"analysis_id": analysis["analysis_id"], "price_kobo": 350_000_000,
                   "latitude": YABA.0, "longitude": YABA.1}),
        )
        .await?;
    assert_eq!(status, 201, "{property}");
    let property_id = id(&property);
    assert_eq!(property["status"], "ACTIVE");
    assert_eq!(property["is_verified"], false);
    assert_eq!(property["rentory_managed"], false);
    assert_eq!(property["landlord_id"], json!(landlord.user_id));
    assert_eq!(property["analysis_id"], analysis["analysis_id"]);
    assert_eq!(property["photo_urls"], analysis["photo_urls"]);
    assert_eq!(property["amenities"], analysis["amenities"]);
    assert_eq!(property["title"], analysis["title"]);
    assert_eq!(property["description"], analysis["description"]);
    assert_eq!(property["category"], "RESIDENTIAL");
    assert_eq!(property["bedrooms"], 3);
    assert_eq!(property["price_kobo"], 350_000_000);
    assert_eq!(property["price"], "3500000.00");
    assert_eq!(property["rent_period"], "YEAR");
    assert_eq!(property["address"], ADDRESS);
    assert!(close(&property["latitude"], YABA.0) && close(&property["longitude"], YABA.1));
    assert!(property["land_details"].is_null());
    assert_eq!(property["ratings"]["ai_audited"], true, "{property}");
    assert_eq!(property["ratings"]["reviews"], 0);

    let (status, again) = stack
        .post(
            "/properties",
            &landlord.access_token,
            json!({"analysis_id": analysis["analysis_id"], "price_kobo": 350_000_000,
                   "latitude": YABA.0, "longitude": YABA.1}),
        )
        .await?;
    assert_eq!(status, 409, "{again}");
    assert_eq!(problem_type(&again), "already-exists");
    // Racing publishes of one draft: exactly one listing.
    let form = analyze_form(
        vec![image_part(
            fixtures::JPEG_16_BASELINE,
            "b.jpg",
            "image/jpeg",
        )],
        NOTES,
        ADDRESS,
        None,
    );
    let (status, second) = stack.analyze(&landlord.access_token, form).await?;
    assert_eq!(status, 201, "{second}");
    let body = json!({"analysis_id": second["analysis_id"], "price_kobo": 200_000_000,
                      "latitude": AKOKA.0, "longitude": AKOKA.1});
    let racing = (0..6).map(|_| stack.post("/properties", &landlord.access_token, body.clone()));
    let mut statuses: Vec<u16> = Vec::new();
    for answer in futures::future::join_all(racing).await {
        statuses.push(answer?.0);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409]);
    // Coordinates the landlord's app sent with the photos are the listing's: publishing
    // needs no others. (An address placed by the gazetteer is only an area's centre.)
    let form = analyze_form(
        vec![image_part(fixtures::PNG_16, "c.png", "image/png")],
        NOTES,
        ADDRESS,
        Some(AKOKA),
    );
    let (status, pinned) = stack.analyze(&landlord.access_token, form).await?;
    assert_eq!(status, 201, "{pinned}");
    let (status, from_pin) = stack
        .post(
            "/properties",
            &landlord.access_token,
            json!({"analysis_id": pinned["analysis_id"], "price_kobo": 200_000_000}),
        )
        .await?;
    assert_eq!(status, 201, "{from_pin}");
    assert_eq!(
        (
            from_pin["latitude"].as_f64(),
            from_pin["longitude"].as_f64()
        ),
        (Some(AKOKA.0), Some(AKOKA.1))
    );
    // Someone else's analysis is not theirs to publish.
    let (status, stolen) = stack
        .post(
            "/properties",
            &other_landlord.access_token,
            json!({"analysis_id": analysis["analysis_id"], "price_kobo": 350_000_000,
                   "latitude": YABA.0, "longitude": YABA.1}),
        )
        .await?;
    assert_eq!(status, 404, "{stolen}");

    let path = format!("/properties/{property_id}");
    let (status, read) = stack.get(&path, &tenant.access_token).await?;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read, property);
    for key in [
        "id",
        "landlord_id",
        "category",
        "title",
        "description",
        "price_kobo",
        "price",
        "address",
        "latitude",
        "longitude",
        "bedrooms",
        "status",
        "is_verified",
        "rentory_managed",
        "amenities",
        "photo_urls",
        "ratings",
        "land_details",
    ] {
        assert!(read.get(key).is_some(), "API.md promises {key}: {read}");
    }
    for key in ["security", "power", "neighborhood"] {
        assert!(read["ratings"].get(key).is_some(), "ratings.{key}: {read}");
    }
    let (status, read) = stack.get(&path, &pending_tenant.access_token).await?;
    assert_eq!(status, 200, "PENDING users browse: {read}");

    let near_yaba = around(YABA, 5.0);
    let (status, page) = discover(&stack, &tenant, &near_yaba).await?;
    assert_eq!(status, 200, "{page}");
    let found = item_ids(&page);
    assert!(found.contains(&property_id), "{page}");
    assert!(
        !found.contains(&id(&surulere)),
        "archived listings are not discovered"
    );

    // Edit.
    let (status, patched) = stack
        .patch(
            &path,
            &landlord.access_token,
            json!({"price_kobo": 300_000_000}),
        )
        .await?;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["price_kobo"], 300_000_000);
    assert_eq!(patched["price"], "3000000.00");
    assert_eq!(patched["title"], property["title"]);
    assert_eq!(patched["photo_urls"], property["photo_urls"]);
    for (who, account) in [("another landlord", &other_landlord), ("a tenant", &tenant)] {
        let (status, problem) = stack
            .patch(&path, &account.access_token, json!({"price_kobo": 1}))
            .await?;
        assert_eq!(status, 403, "{who} edited: {problem}");
    }
    let (_, read) = stack.get(&path, &tenant.access_token).await?;
    assert_eq!(read["price_kobo"], 300_000_000);

    // Ratings: averaged with the AI audit of the photos' amenities.
    let audit = read["ratings"].clone();
    assert!(
        audit["neighborhood"].is_null(),
        "photos say nothing of it: {audit}"
    );
    assert!(
        !audit["security"].is_null() || !audit["power"].is_null(),
        "{audit}"
    );
    let averaged = |aspect: &str, tenant: f64| match audit[aspect].as_f64() {
        Some(ai) => (ai + tenant) / 2.0,
        None => tenant,
    };
    let ratings_path = format!("{path}/ratings");
    let (status, rated) = stack
        .post(
            &ratings_path,
            &tenant.access_token,
            json!({"security": 4, "power": 5, "neighborhood": 3}),
        )
        .await?;
    assert_eq!(status, 200, "{rated}");
    let r = &rated["ratings"];
    assert!(close(&r["security"], averaged("security", 4.0)), "{r}");
    assert!(close(&r["power"], averaged("power", 5.0)), "{r}");
    assert!(close(&r["neighborhood"], 3.0), "{r}");
    assert_eq!(r["reviews"], 1);
    assert_eq!(r["ai_audited"], true);
    // A second rating by the same tenant replaces the first.
    let (status, rerated) = stack
        .post(
            &ratings_path,
            &tenant.access_token,
            json!({"security": 2, "power": 3, "neighborhood": 1}),
        )
        .await?;
    assert_eq!(status, 200, "{rerated}");
    let r = &rerated["ratings"];
    assert!(close(&r["security"], averaged("security", 2.0)), "{r}");
    assert!(close(&r["power"], averaged("power", 3.0)), "{r}");
    assert!(close(&r["neighborhood"], 1.0), "{r}");
    assert_eq!(r["reviews"], 1);
    let (status, problem) = stack
        .post(
            &ratings_path,
            &tenant.access_token,
            json!({"security": 6, "power": 5, "neighborhood": 3}),
        )
        .await?;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem_type(&problem), "validation-failed");
    assert_eq!(error_fields(&problem), ["security"], "{problem}");
    let (status, problem) = stack
        .post(
            &ratings_path,
            &pending_tenant.access_token,
            json!({"security": 4, "power": 4, "neighborhood": 4}),
        )
        .await?;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem_type(&problem), "account-not-active");
    let (status, _) = stack
        .post(
            &ratings_path,
            &other_landlord.access_token,
            json!({"security": 1, "power": 1, "neighborhood": 1}),
        )
        .await?;
    assert_eq!(status, 403, "landlords do not rate");
    let (_, read) = stack.get(&path, &tenant.access_token).await?;
    assert_eq!(
        read["ratings"], rerated["ratings"],
        "refused ratings changed nothing"
    );

    // Archive.
    let (status, _) = stack.delete(&path, &tenant.access_token).await?;
    assert_eq!(status, 403);
    let (status, gone) = stack.delete(&path, &landlord.access_token).await?;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone["status"], "ARCHIVED");
    assert_eq!(gone["id"], json!(property_id));
    let (_, page) = discover(&stack, &tenant, &near_yaba).await?;
    assert!(!item_ids(&page).contains(&property_id), "{page}");
    let (status, read) = stack.get(&path, &tenant.access_token).await?;
    assert_eq!(status, 200);
    assert_eq!(read["status"], "ARCHIVED");
    let (status, twice) = stack.delete(&path, &landlord.access_token).await?;
    assert_eq!(status, 200, "a retried archive: {twice}");
    assert_eq!(twice, read);
    // The first answer is the same listing; its `updated_at` differs below the microsecond
    // (see `archiving_answers_the_listing_as_stored`).
    let mut first_answer = gone.clone();
    first_answer["updated_at"] = read["updated_at"].clone();
    assert_eq!(first_answer, read);
    let (status, problem) = stack
        .patch(&path, &landlord.access_token, json!({"price_kobo": 1}))
        .await?;
    assert_eq!(status, 409, "an archived listing is not edited: {problem}");
    // ADMIN may make it ACTIVE again; then it is discovered again.
    let (status, back) = stack
        .patch(&path, &admin.access_token, json!({"status": "ACTIVE"}))
        .await?;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["status"], "ACTIVE");
    let (_, page) = discover(&stack, &tenant, &near_yaba).await?;
    assert!(item_ids(&page).contains(&property_id), "{page}");
    stack.stop().await
}

// --- 2. who may list, and what a listing must say ------------------------------------------

#[tokio::test]
async fn only_active_landlords_list_and_land_comes_with_its_details() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let admin = stack.admin().await?;
    let pending_landlord = stack.register("LANDLORD").await?;
    let tenant = stack.register("TENANT").await?;
    let active_tenant = stack
        .activate_by(&admin, &stack.register("TENANT").await?)
        .await?;
    let landlord = stack
        .activate_by(&admin, &stack.register("LANDLORD").await?)
        .await?;
    let flat = listing("Yaba flat", YABA, "RESIDENTIAL", 250_000_000, Some(2));

    // A PENDING landlord may draft, not publish.
    let form = analyze_form(
        vec![image_part(
            fixtures::JPEG_16_BASELINE,
            "a.jpg",
            "image/jpeg",
        )],
        NOTES,
        ADDRESS,
        Some(YABA),
    );
    let (status, analysis) = stack.analyze(&pending_landlord.access_token, form).await?;
    assert_eq!(status, 201, "{analysis}");
    let (status, problem) = stack
        .post("/properties", &pending_landlord.access_token, flat.clone())
        .await?;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem_type(&problem), "account-not-active");
    let (status, problem) = stack
        .post(
            "/properties",
            &pending_landlord.access_token,
            json!({"analysis_id": analysis["analysis_id"], "price_kobo": 250_000_000,
                   "latitude": YABA.0, "longitude": YABA.1}),
        )
        .await?;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem_type(&problem), "account-not-active");

    // Tenants neither draft nor publish, active or not.
    for (who, account) in [("PENDING", &tenant), ("ACTIVE", &active_tenant)] {
        let (status, problem) = stack
            .post("/properties", &account.access_token, flat.clone())
            .await?;
        assert_eq!(status, 403, "{who} tenant listed: {problem}");
        assert_eq!(problem_type(&problem), "forbidden");
        let form = analyze_form(
            vec![image_part(fixtures::PNG_16, "a.png", "image/png")],
            "",
            "",
            None,
        );
        let (status, problem) = stack.analyze(&account.access_token, form).await?;
        assert_eq!(status, 403, "{who} tenant analysed: {problem}");
    }

    // LAND needs its details; nothing else may have them.
    let mut land = listing("Plot in Lekki", LEKKI_EAST, "LAND", 1_500_000_000, None);
    land.as_object_mut().expect("object").remove("land_details");
    let (status, problem) = stack
        .post("/properties", &landlord.access_token, land.clone())
        .await?;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem_type(&problem), "validation-failed");
    assert!(
        error_fields(&problem).iter().any(|f| f == "land_details"),
        "{problem}"
    );

    let details = json!({"size": 648.0, "unit": "SQM", "dimensions": "18m x 36m",
                         "zoning": "Residential"});
    let mut residential = flat.clone();
    residential["land_details"] = details.clone();
    let (status, problem) = stack
        .post("/properties", &landlord.access_token, residential)
        .await?;
    assert_eq!(status, 422, "{problem}");
    assert!(
        error_fields(&problem).iter().any(|f| f == "land_details"),
        "{problem}"
    );

    land["land_details"] = details.clone();
    let (status, plot) = stack
        .post("/properties", &landlord.access_token, land)
        .await?;
    assert_eq!(status, 201, "{plot}");
    assert_eq!(plot["category"], "LAND");
    assert_eq!(plot["land_details"], details);
    assert!(plot["bedrooms"].is_null());
    let plot_path = format!("/properties/{}", id(&plot));
    let (_, read) = stack.get(&plot_path, &tenant.access_token).await?;
    assert_eq!(read["land_details"], details);
    let (status, resized) = stack
        .patch(
            &plot_path,
            &landlord.access_token,
            json!({"land_details": {"size": 2.0, "unit": "PLOTS"}}),
        )
        .await?;
    assert_eq!(status, 200, "{resized}");
    assert_eq!(
        resized["land_details"],
        json!({"size": 2.0, "unit": "PLOTS", "dimensions": null, "zoning": null})
    );
    let (status, problem) = stack
        .patch(&plot_path, &landlord.access_token, json!({"bedrooms": 2}))
        .await?;
    assert_eq!(status, 422, "land has no rooms: {problem}");
    // Built on: no longer LAND, so no land details.
    let (status, built) = stack
        .patch(
            &plot_path,
            &landlord.access_token,
            json!({"category": "RESIDENTIAL", "bedrooms": 4}),
        )
        .await?;
    assert_eq!(status, 200, "{built}");
    assert!(built["land_details"].is_null(), "{built}");
    let (_, read) = stack.get(&plot_path, &tenant.access_token).await?;
    assert!(read["land_details"].is_null(), "{read}");
    let (status, problem) = stack
        .patch(
            &plot_path,
            &landlord.access_token,
            json!({"land_details": details}),
        )
        .await?;
    assert_eq!(status, 422, "{problem}");
    assert!(error_fields(&problem).iter().any(|f| f == "land_details"));

    let db = stack.db().await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM listings.properties")
        .fetch_one(&db)
        .await?;
    assert_eq!(count, 1, "only the plot with its details was listed");
    db.close().await;
    stack.stop().await
}

// --- 3. mass assignment ---------------------------------------------------------------------

#[tokio::test]
async fn platform_fields_are_refused_to_landlords_and_left_to_staff() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let admin = stack.admin().await?;
    let landlord = stack
        .activate_by(&admin, &stack.register("LANDLORD").await?)
        .await?;
    let other_landlord = stack
        .activate_by(&admin, &stack.register("LANDLORD").await?)
        .await?;
    let operations = stack.staff(&admin, "OPERATIONS_MANAGER").await?;
    let compliance = stack.staff(&admin, "COMPLIANCE_OFFICER").await?;
    let db = stack.db().await?;
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM listings.properties")
            .fetch_one(&db)
            .await
    };
    let flat = listing("Yaba flat", YABA, "RESIDENTIAL", 250_000_000, Some(2));

    for (field, value) in [
        ("is_verified", json!(true)),
        ("landlord_id", json!(other_landlord.user_id)),
        ("status", json!("ACTIVE")),
        ("rentory_managed", json!(true)),
    ] {
        let mut body = flat.clone();
        body[field] = value;
        let (status, problem) = stack
            .post("/properties", &landlord.access_token, body)
            .await?;
        assert_eq!(status, 400, "{field}: {problem}");
        assert_eq!(problem_type(&problem), "read-only-field", "{problem}");
        assert_eq!(error_fields(&problem), [field], "{problem}");
    }
    // Fields that are not the landlord's to write at all: the photos come from an
    // analysis, ratings from tenants and the AI audit, ids and times from the service.
    for (field, value) in [
        ("photo_urls", json!(["https://evil.example/phish.jpg"])),
        (
            "ratings",
            json!({"security": 5, "power": 5, "neighborhood": 5}),
        ),
        ("id", json!(uuid::Uuid::now_v7().to_string())),
        ("created_at", json!("2020-01-01T00:00:00Z")),
    ] {
        let mut body = flat.clone();
        body[field] = value;
        let (status, problem) = stack
            .post("/properties", &landlord.access_token, body)
            .await?;
        assert_eq!(status, 400, "{field}: {problem}");
        assert!(
            ["malformed-request", "read-only-field"].contains(&problem_type(&problem)),
            "{problem}"
        );
    }
    assert_eq!(count().await?, 0, "a refused create listed nothing");

    let property = create(&stack, &landlord, flat).await?;
    let path = format!("/properties/{}", id(&property));
    for body in [
        json!({"is_verified": true}),
        json!({"photo_urls": ["https://evil.example/phish.jpg"]}),
        json!({"ratings": {"security": 5}}),
        json!({"title": "Sneaky new title", "is_verified": true}),
        json!({"rentory_managed": true}),
        json!({"status": "ACTIVE"}),
        json!({"landlord_id": other_landlord.user_id}),
    ] {
        let (status, problem) = stack
            .patch(&path, &landlord.access_token, body.clone())
            .await?;
        assert_eq!(status, 400, "{body}: {problem}");
        assert!(
            ["malformed-request", "read-only-field"].contains(&problem_type(&problem)),
            "{problem}"
        );
    }
    let (_, unchanged) = stack.get(&path, &landlord.access_token).await?;
    assert_eq!(unchanged, property, "a refused change changed nothing");

    // Staff who manage listings mark them; compliance does not; nobody changes the owner.
    let (status, verified) = stack
        .patch(&path, &admin.access_token, json!({"is_verified": true}))
        .await?;
    assert_eq!(status, 200, "{verified}");
    assert_eq!(verified["is_verified"], true);
    let (status, managed) = stack
        .patch(
            &path,
            &operations.access_token,
            json!({"rentory_managed": true, "is_verified": false}),
        )
        .await?;
    assert_eq!(status, 200, "{managed}");
    assert_eq!(managed["rentory_managed"], true);
    assert_eq!(managed["is_verified"], false);
    let (status, verified) = stack
        .patch(
            &path,
            &operations.access_token,
            json!({"is_verified": true}),
        )
        .await?;
    assert_eq!(status, 200, "{verified}");
    assert_eq!(verified["is_verified"], true);
    assert_eq!(verified["rentory_managed"], true);
    let (status, problem) = stack
        .patch(
            &path,
            &operations.access_token,
            json!({"title": "Staff title"}),
        )
        .await?;
    assert_eq!(status, 400, "staff do not write listings: {problem}");
    let (status, problem) = stack
        .patch(
            &path,
            &compliance.access_token,
            json!({"is_verified": false}),
        )
        .await?;
    assert_eq!(status, 403, "{problem}");
    let (status, problem) = stack
        .patch(
            &path,
            &other_landlord.access_token,
            json!({"title": "Not mine"}),
        )
        .await?;
    assert_eq!(status, 403, "{problem}");
    let (status, problem) = stack
        .patch(
            &path,
            &admin.access_token,
            json!({"landlord_id": other_landlord.user_id}),
        )
        .await?;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem_type(&problem), "read-only-field");

    // Held back (PENDING) by ADMIN: only its landlord and staff see it.
    let tenant = stack.register("TENANT").await?;
    let (status, held) = stack
        .patch(&path, &admin.access_token, json!({"status": "PENDING"}))
        .await?;
    assert_eq!(status, 200, "{held}");
    assert_eq!(held["status"], "PENDING");
    let (status, _) = stack.get(&path, &tenant.access_token).await?;
    assert_eq!(status, 404, "a tenant saw a held-back listing");
    let (status, _) = stack
        .get(&format!("{path}/contact"), &tenant.access_token)
        .await?;
    assert_eq!(status, 404);
    let (status, page) = discover(&stack, &tenant, &around(YABA, 5.0)).await?;
    assert_eq!(status, 200);
    assert_eq!(item_ids(&page), Vec::<String>::new(), "{page}");
    for (who, account) in [("landlord", &landlord), ("operations", &operations)] {
        let (status, read) = stack.get(&path, &account.access_token).await?;
        assert_eq!(status, 200, "{who}");
        assert_eq!(read["status"], "PENDING");
    }
    let (status, _) = stack
        .patch(&path, &operations.access_token, json!({"status": "ACTIVE"}))
        .await?;
    assert_eq!(status, 400, "only ADMIN sets the status");
    let (status, _) = stack
        .patch(&path, &admin.access_token, json!({"status": "ACTIVE"}))
        .await?;
    assert_eq!(status, 200);
    let (_, page) = discover(&stack, &tenant, &around(YABA, 5.0)).await?;
    assert_eq!(item_ids(&page), [id(&property)]);

    let (_, read) = stack.get(&path, &landlord.access_token).await?;
    assert_eq!(read["is_verified"], true);
    assert_eq!(read["rentory_managed"], true);
    assert_eq!(read["title"], property["title"]);
    assert_eq!(read["landlord_id"], json!(landlord.user_id));
    // The landlord still edits the content of a verified listing.
    let (status, edited) = stack
        .patch(
            &path,
            &landlord.access_token,
            json!({"title": "Yaba flat, repainted"}),
        )
        .await?;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["title"], "Yaba flat, repainted");
    assert_eq!(edited["is_verified"], true);
    // Archiving: operations staff may, compliance may not.
    let (status, _) = stack.delete(&path, &compliance.access_token).await?;
    assert_eq!(status, 403);
    let (status, archived) = stack.delete(&path, &operations.access_token).await?;
    assert_eq!(status, 200, "{archived}");
    assert_eq!(archived["status"], "ARCHIVED");
    assert_eq!(count().await?, 1);
    db.close().await;
    stack.stop().await
}

// --- 4. discovery without a persona --------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Spot {
    title: &'static str,
    at: (f64, f64),
    category: &'static str,
    price_kobo: i64,
    bedrooms: Option<u32>,
}

const SPOTS: &[Spot] = &[
    Spot {
        title: "Yaba 2-bedroom flat",
        at: YABA,
        category: "RESIDENTIAL",
        price_kobo: 250_000_000,
        bedrooms: Some(2),
    },
    // At the very same point as the first: a tie in distance, broken by id.
    Spot {
        title: "Yaba 1-bedroom flat",
        at: YABA,
        category: "RESIDENTIAL",
        price_kobo: 180_000_000,
        bedrooms: Some(1),
    },
    Spot {
        title: "Akoka 3-bedroom flat",
        at: AKOKA,
        category: "RESIDENTIAL",
        price_kobo: 400_000_000,
        bedrooms: Some(3),
    },
    Spot {
        title: "Ebute Metta shop",
        at: EBUTE_METTA,
        category: "COMMERCIAL",
        price_kobo: 600_000_000,
        bedrooms: None,
    },
    Spot {
        title: "Surulere duplex",
        at: SURULERE,
        category: "RESIDENTIAL",
        price_kobo: 800_000_000,
        bedrooms: Some(4),
    },
    Spot {
        title: "Yaba plot",
        at: YABA_NORTH,
        category: "LAND",
        price_kobo: 150_000_000,
        bedrooms: None,
    },
    Spot {
        title: "Ikeja office",
        at: IKEJA,
        category: "COMMERCIAL",
        price_kobo: 1_200_000_000,
        bedrooms: None,
    },
    Spot {
        title: "Lekki 3-bedroom flat",
        at: LEKKI_PHASE_1,
        category: "RESIDENTIAL",
        price_kobo: 500_000_000,
        bedrooms: Some(3),
    },
    Spot {
        title: "Lekki shortlet",
        at: LEKKI_EAST,
        category: "SHORTLET",
        price_kobo: 8_000_000,
        bedrooms: Some(1),
    },
    Spot {
        title: "Victoria Island office",
        at: VICTORIA_ISLAND,
        category: "COMMERCIAL",
        price_kobo: 2_000_000_000,
        bedrooms: None,
    },
    Spot {
        title: "Abuja flat",
        at: ABUJA,
        category: "RESIDENTIAL",
        price_kobo: 300_000_000,
        bedrooms: Some(2),
    },
];

/// [`SPOTS`] and twenty more flats north of Yaba (5 to 10 km away), so that a discovery
/// over Lagos spans more than one ranking window.
fn spots() -> Vec<Spot> {
    let mut spots = SPOTS.to_vec();
    for i in 0..20u32 {
        spots.push(Spot {
            title: Box::leak(format!("Northern flat {i}").into_boxed_str()),
            at: (
                6.56 + f64::from(i % 5) * 0.01,
                3.30 + f64::from(i / 5) * 0.015,
            ),
            category: "RESIDENTIAL",
            price_kobo: 100_000_000 + i64::from(i) * 10_000_000,
            bedrooms: Some(1 + i % 4),
        });
    }
    spots
}

/// The ids of the spots `keep` selects, as a set.
fn expected(spots: &[Spot], ids: &[String], keep: impl Fn(&Spot) -> bool) -> BTreeSet<String> {
    spots
        .iter()
        .zip(ids)
        .filter(|(spot, _)| keep(spot))
        .map(|(_, id)| id.clone())
        .collect()
}

fn set(ids: Vec<String>) -> BTreeSet<String> {
    let n = ids.len();
    let set: BTreeSet<String> = ids.into_iter().collect();
    assert_eq!(set.len(), n, "a listing came twice");
    set
}

/// Every page of `query` from the first, following `next_cursor`; each page checked.
async fn all_pages(
    stack: &TestStack,
    who: &Account,
    query: &[(&'static str, String)],
    origin: Option<(f64, f64)>,
) -> anyhow::Result<(Vec<Value>, Option<String>)> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    let mut first_cursor = None;
    for _ in 0..50 {
        let mut query = query.to_vec();
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let (status, page) = discover(stack, who, &query).await?;
        anyhow::ensure!(status == 200, "{query:?} answered {status}: {page}");
        check_page(&page, origin);
        let next = page["next_cursor"].as_str().map(str::to_owned);
        if next.is_none() {
            anyhow::ensure!(page["next_cursor"].is_null(), "{page}");
        }
        pages.push(page);
        match next {
            Some(next) => {
                first_cursor.get_or_insert_with(|| next.clone());
                cursor = Some(next);
            }
            None => return Ok((pages, first_cursor)),
        }
    }
    anyhow::bail!("paging {query:?} did not end")
}

/// The ids of all pages, in order.
fn paged_ids(pages: &[Value]) -> Vec<String> {
    pages.iter().flat_map(item_ids).collect()
}

#[tokio::test]
async fn discovery_filters_areas_and_pages_without_a_persona() -> anyhow::Result<()> {
    // Windows of the 20 nearest listings (the least the service takes) and 30 listings in
    // Lagos, so pages and whole answers cross a window edge.
    let stack = TestStack::start_with(|t| t.discover_window = 20).await?;
    let admin = stack.admin().await?;
    let landlord = stack
        .activate_by(&admin, &stack.register("LANDLORD").await?)
        .await?;
    let tenant = stack.register("TENANT").await?;
    let mut ids = Vec::new();
    let spots = spots();
    for spot in &spots {
        let property = create(
            &stack,
            &landlord,
            listing(
                spot.title,
                spot.at,
                spot.category,
                spot.price_kobo,
                spot.bedrooms,
            ),
        )
        .await?;
        ids.push(id(&property));
    }

    // Within 5 km of Yaba: exactly those, nearest and best first.
    let (status, page) = discover(&stack, &tenant, &around(YABA, 5.0)).await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["persona_version"], 0);
    assert!(page["next_cursor"].is_null(), "{page}");
    check_page(&page, Some(YABA));
    let near = expected(&spots, &ids, |s| haversine(YABA, s.at) <= 5.0);
    assert!(
        near.len() >= 5,
        "the fixture has several listings near Yaba"
    );
    assert_eq!(set(item_ids(&page)), near);
    // Nearest first, without a persona: the two at the search point lead.
    let nearest: BTreeSet<String> = item_ids(&page).into_iter().take(2).collect();
    assert_eq!(nearest, expected(&spots, &ids, |s| s.at == YABA));

    // Filters, over all of Lagos.
    let lagos = around(YABA, 50.0);
    let in_lagos = |s: &Spot| haversine(YABA, s.at) <= 50.0;
    for (filter, keep) in [
        (
            vec![("category", "COMMERCIAL")],
            Box::new(|s: &Spot| s.category == "COMMERCIAL") as Box<dyn Fn(&Spot) -> bool>,
        ),
        (
            vec![
                ("min_price_kobo", "400000000"),
                ("max_price_kobo", "1200000000"),
            ],
            Box::new(|s: &Spot| (400_000_000..=1_200_000_000).contains(&s.price_kobo)),
        ),
        (
            vec![("bedrooms", "3")],
            Box::new(|s: &Spot| s.bedrooms.is_some_and(|b| b >= 3)),
        ),
        (
            vec![("category", "RESIDENTIAL"), ("max_price_kobo", "400000000")],
            Box::new(|s: &Spot| s.category == "RESIDENTIAL" && s.price_kobo <= 400_000_000),
        ),
    ] {
        let (pages, _) =
            all_pages(&stack, &tenant, &with(lagos.clone(), &filter), Some(YABA)).await?;
        let want = expected(&spots, &ids, |s| in_lagos(s) && keep(s));
        assert!(!want.is_empty(), "{filter:?} selects something");
        assert_eq!(set(paged_ids(&pages)), want, "{filter:?}");
    }

    // A bounding box, and a polygon (a triangle over Lekki that leaves one Lekki listing
    // outside although it is inside the triangle's bounding box).
    let (min_lng, min_lat, max_lng, max_lat) = (3.34, 6.48, 3.40, 6.62);
    let (pages, _) = all_pages(
        &stack,
        &tenant,
        &[("bbox", format!("{min_lng},{min_lat},{max_lng},{max_lat}"))],
        Some(((min_lat + max_lat) / 2.0, (min_lng + max_lng) / 2.0)),
    )
    .await?;
    let want = expected(&spots, &ids, |s| {
        (min_lat..=max_lat).contains(&s.at.0) && (min_lng..=max_lng).contains(&s.at.1)
    });
    assert!(want.len() >= 5);
    assert_eq!(set(paged_ids(&pages)), want);

    let (status, page) =
        discover(&stack, &tenant, &[("bbox", "3.46,6.43,3.49,6.46".into())]).await?;
    assert_eq!(status, 200, "{page}");
    let lekki_box = expected(&spots, &ids, |s| {
        (6.43..=6.46).contains(&s.at.0) && (3.46..=3.49).contains(&s.at.1)
    });
    assert_eq!(lekki_box.len(), 2);
    assert_eq!(set(item_ids(&page)), lekki_box);

    let triangle = [(3.46, 6.43), (3.49, 6.43), (3.49, 6.46), (3.46, 6.43)];
    let ring: Vec<Value> = triangle.iter().map(|(x, y)| json!([x, y])).collect();
    let polygon = json!({"type": "Polygon", "coordinates": [ring]});
    let want = expected(&spots, &ids, |s| inside(s.at, &triangle));
    assert_eq!(want.len(), 1, "one Lekki listing is inside the triangle");
    for geojson in [
        polygon.clone(),
        json!({"type": "Feature", "properties": {}, "geometry": polygon}),
        json!({"type": "MultiPolygon", "coordinates": [[ring]]}),
    ] {
        let (status, page) = discover(&stack, &tenant, &[("polygon", geojson.to_string())]).await?;
        assert_eq!(status, 200, "{geojson}: {page}");
        check_page(&page, None);
        assert_eq!(set(item_ids(&page)), want, "{geojson}");
    }

    // Pages of two: every listing once, in score order, and a last page without a cursor;
    // the same as one big page.
    let (whole, _) = all_pages(&stack, &tenant, &lagos, Some(YABA)).await?;
    let all_in_lagos = expected(&spots, &ids, in_lagos);
    assert_eq!(set(paged_ids(&whole)), all_in_lagos);
    let (pages, first_cursor) = all_pages(
        &stack,
        &tenant,
        &with(lagos.clone(), &[("limit", "2")]),
        Some(YABA),
    )
    .await?;
    assert!(
        pages.len() >= all_in_lagos.len() / 2,
        "{} pages",
        pages.len()
    );
    let mut scores: Vec<u64> = Vec::new();
    for page in &pages {
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        if !page["next_cursor"].is_null() {
            assert!(!items.is_empty(), "a page with a cursor has items: {page}");
        }
        scores.extend(
            items
                .iter()
                .map(|i| i["match_score"].as_u64().expect("score")),
        );
    }
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "pages out of score order: {scores:?}"
    );
    let paged = paged_ids(&pages);
    assert_eq!(
        paged,
        paged_ids(&whole),
        "pages are the whole list, in order"
    );
    assert_eq!(set(paged), all_in_lagos);

    // Bad cursors: garbage, and a cursor of another query.
    let (status, problem) = discover(
        &stack,
        &tenant,
        &with(lagos.clone(), &[("cursor", "not-a-cursor")]),
    )
    .await?;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem_type(&problem), "validation-failed");
    let first_cursor = first_cursor.expect("a second page");
    let (status, _) = discover(
        &stack,
        &tenant,
        &with(
            lagos.clone(),
            &[("limit", "2"), ("cursor", first_cursor.as_str())],
        ),
    )
    .await?;
    assert_eq!(status, 200, "the cursor is good for its own query");
    let (status, problem) = discover(
        &stack,
        &tenant,
        &with(
            lagos.clone(),
            &[
                ("category", "COMMERCIAL"),
                ("cursor", first_cursor.as_str()),
            ],
        ),
    )
    .await?;
    assert_eq!(status, 422, "a cursor is bound to its query: {problem}");

    // Nowhere to look: no point, box or polygon, and no persona.
    let (status, problem) = discover(&stack, &tenant, &[]).await?;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem_type(&problem), "validation-failed");
    let (status, problem) = discover(
        &stack,
        &tenant,
        &[("polygon", "{\"type\":\"Point\"}".into())],
    )
    .await?;
    assert_eq!(status, 422, "{problem}");
    stack.stop().await
}

// --- 5. discovery with a persona -----------------------------------------------------------

fn lekki_persona(version: u64) -> Persona {
    Persona {
        version,
        budget: Some(Budget {
            min_kobo: None,
            max_kobo: Some(600_000_000),
            period: RentPeriod::Year,
        }),
        categories: vec![Category::Residential],
        locations: vec![Location {
            name: "Lekki Phase 1".into(),
            city: "Lagos".into(),
            latitude: LEKKI_PHASE_1.0,
            longitude: LEKKI_PHASE_1.1,
            radius_km: 2.5,
        }],
        bedrooms: Some(Bedrooms {
            min: Some(3),
            max: None,
        }),
        must_haves: vec![MustHave::ConstantPower],
        ..Persona::default()
    }
}

fn position(page: &Value, property_id: &str) -> Option<usize> {
    item_ids(page).iter().position(|i| i == property_id)
}

fn reasons(page: &Value, at: usize) -> Vec<String> {
    page["items"][at]["match_reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r.as_str().expect("text").to_owned())
        .collect()
}

#[tokio::test]
async fn a_persona_ranks_discovery() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let admin = stack.admin().await?;
    let landlord = stack
        .activate_by(&admin, &stack.register("LANDLORD").await?)
        .await?;
    let tenant = stack.register("TENANT").await?;
    let other_tenant = stack.register("TENANT").await?;
    let with_amenities = |mut body: Value, amenities: &[&str]| {
        body["amenities"] = json!(amenities);
        body
    };
    let fits = id(&create(
        &stack,
        &landlord,
        with_amenities(
            listing(
                "Lekki 3-bedroom flat",
                LEKKI_PHASE_1,
                "RESIDENTIAL",
                500_000_000,
                Some(3),
            ),
            &["Standby generator", "24/7 security"],
        ),
    )
    .await?);
    let pricey = id(&create(
        &stack,
        &landlord,
        with_amenities(
            listing(
                "Lekki 3-bedroom penthouse",
                (6.4490, 3.4740),
                "RESIDENTIAL",
                900_000_000,
                Some(3),
            ),
            &["Standby generator"],
        ),
    )
    .await?);
    let small = id(&create(
        &stack,
        &landlord,
        with_amenities(
            listing(
                "Lekki 2-bedroom flat",
                (6.4460, 3.4700),
                "RESIDENTIAL",
                450_000_000,
                Some(2),
            ),
            &["Tiled floors"],
        ),
    )
    .await?);
    let office = id(&create(
        &stack,
        &landlord,
        listing(
            "Victoria Island office",
            VICTORIA_ISLAND,
            "COMMERCIAL",
            500_000_000,
            None,
        ),
    )
    .await?);
    let yaba = id(&create(
        &stack,
        &landlord,
        with_amenities(
            listing(
                "Yaba 3-bedroom flat",
                YABA,
                "RESIDENTIAL",
                500_000_000,
                Some(3),
            ),
            &["Standby generator"],
        ),
    )
    .await?);

    // Before the concierge knows anything: no persona, so no place to search by default.
    let (status, problem) = discover(&stack, &tenant, &[]).await?;
    assert_eq!(status, 422, "{problem}");
    let (status, page) = discover(&stack, &tenant, &around(LEKKI_PHASE_1, 10.0)).await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["persona_version"], 0);

    // An update whose document disagrees with its version is dropped; a good one is kept.
    let mut mismatched = persona_event(&tenant, &lekki_persona(8));
    mismatched.version = 9;
    stack.publish_event(PERSONA_UPDATED, &mismatched).await?;
    let persona = lekki_persona(3);
    persona.validate()?;
    stack
        .publish_event(PERSONA_UPDATED, &persona_event(&tenant, &persona))
        .await?;
    eventually(
        Duration::from_secs(20),
        "discovery with persona 3",
        || async {
            let (status, page) = discover(&stack, &tenant, &[]).await?;
            Ok(status == 200 && page["persona_version"] != 0)
        },
    )
    .await?;

    // With no area, the persona's place is searched (three times its radius).
    let (status, page) = discover(&stack, &tenant, &[]).await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["persona_version"], 3, "{page}");
    check_page(&page, None);
    let want: BTreeSet<String> = [&fits, &pricey, &small, &office]
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(set(item_ids(&page)), want, "within 7.5 km of Lekki Phase 1");
    assert_eq!(position(&page, &fits), Some(0), "{page}");
    let first = reasons(&page, 0);
    assert!(first.iter().any(|r| r == "within budget"), "{first:?}");
    assert!(
        first.iter().any(|r| r.ends_with("km from Lekki Phase 1")),
        "{first:?}"
    );
    let over = position(&page, &pricey).expect("the penthouse");
    assert!(over > 0);
    assert!(page["items"][0]["match_score"].as_u64() > page["items"][over]["match_score"].as_u64());
    assert!(
        reasons(&page, over)
            .iter()
            .any(|r| r.contains("over budget")),
        "{:?}",
        reasons(&page, over)
    );
    let office_at = position(&page, &office).expect("the office");
    assert!(
        reasons(&page, office_at)
            .iter()
            .any(|r| r.contains("not residential")),
        "{:?}",
        reasons(&page, office_at)
    );

    // An explicit area is ranked with the persona too.
    let (status, page) = discover(&stack, &tenant, &around(YABA, 20.0)).await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["persona_version"], 3);
    assert!(position(&page, &yaba).is_some());
    assert_eq!(position(&page, &fits), Some(0), "{page}");

    // An older version arriving late changes nothing. Personas are handled one at a time,
    // so once another tenant's later update shows, the older one has been handled.
    let mut older = lekki_persona(2);
    older.locations[0] = Location {
        name: "Yaba".into(),
        city: "Lagos".into(),
        latitude: YABA.0,
        longitude: YABA.1,
        radius_km: 3.0,
    };
    stack
        .publish_event(PERSONA_UPDATED, &persona_event(&tenant, &older))
        .await?;
    stack
        .publish_event(
            PERSONA_UPDATED,
            &persona_event(&other_tenant, &lekki_persona(1)),
        )
        .await?;
    eventually(
        Duration::from_secs(20),
        "the other tenant's persona",
        || async {
            let (status, page) = discover(&stack, &other_tenant, &[]).await?;
            Ok(status == 200 && page["persona_version"] == 1)
        },
    )
    .await?;
    let (_, page) = discover(&stack, &tenant, &[]).await?;
    assert_eq!(page["persona_version"], 3, "{page}");
    assert_eq!(position(&page, &fits), Some(0));
    assert!(position(&page, &yaba).is_none(), "still searching Lekki");

    // The real concierge's persona reaches discovery the same way.
    let chatty = stack.register("TENANT").await?;
    let (status, answer) = stack
        .post(
            "/concierge/messages",
            &chatty.access_token,
            json!({"message": "Abeg I want 3 bedroom flat for Lekki Phase 1, 24/7 light na must, budget 8m"}),
        )
        .await?;
    assert_eq!(status, 200, "{answer}");
    let version = answer["persona"]["version"]
        .as_u64()
        .expect("persona version");
    assert!(version >= 1, "{answer}");
    eventually(
        Duration::from_secs(20),
        "the concierge's persona",
        || async {
            let (status, page) = discover(&stack, &chatty, &[]).await?;
            Ok(status == 200 && page["persona_version"] == version)
        },
    )
    .await?;
    let (_, page) = discover(&stack, &chatty, &[]).await?;
    assert_eq!(position(&page, &fits), Some(0), "{page}");
    assert!(position(&page, &yaba).is_none(), "searching Lekki: {page}");

    // A cursor ranked for one persona does not continue under the next.
    let (status, first) = discover(&stack, &tenant, &[("limit", "1".into())]).await?;
    assert_eq!(status, 200, "{first}");
    let cursor = first["next_cursor"]
        .as_str()
        .expect("more pages")
        .to_owned();
    let (status, _) = discover(
        &stack,
        &tenant,
        &[("limit", "1".into()), ("cursor", cursor.clone())],
    )
    .await?;
    assert_eq!(status, 200);
    stack
        .publish_event(PERSONA_UPDATED, &persona_event(&tenant, &lekki_persona(4)))
        .await?;
    eventually(Duration::from_secs(20), "persona 4", || async {
        let (_, page) = discover(&stack, &tenant, &[]).await?;
        Ok(page["persona_version"] == 4)
    })
    .await?;
    let (status, problem) = discover(
        &stack,
        &tenant,
        &[("limit", "1".into()), ("cursor", cursor)],
    )
    .await?;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem_type(&problem), "validation-failed");
    stack.stop().await
}

// --- 6. the contact gate -------------------------------------------------------------------

#[tokio::test]
async fn a_landlords_contact_is_sold_and_never_leaks() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let admin = stack.admin().await?;
    let landlord = stack
        .register_with("LANDLORD", "Babatunde Adeyemi", "+234 809 555 0142")
        .await?;
    let landlord = stack.activate_by(&admin, &landlord).await?;
    let tenant = stack
        .activate_by(&admin, &stack.register("TENANT").await?)
        .await?;
    let other_tenant = stack
        .activate_by(&admin, &stack.register("TENANT").await?)
        .await?;
    let other_landlord = stack
        .activate_by(&admin, &stack.register("LANDLORD").await?)
        .await?;
    let support = stack.staff(&admin, "SUPPORT_LEAD").await?;
    let mut announced = stack.events("rentory.listings.>").await?;
    let (_, me) = stack.get("/me", &landlord.access_token).await?;
    let phone = me["profile"]["phone"].as_str().expect("phone").to_owned();
    assert_eq!(phone, "+2348095550142");
    let secrets = [
        landlord.email.to_lowercase(),
        "8095550142".to_owned(),
        "809 555 0142".to_owned(),
        "5550142".to_owned(),
        "adeyemi".to_owned(),
    ];
    let mut seen: Vec<(String, Value)> = Vec::new();

    // The landlord even writes the contact into the notes.
    let form = analyze_form(
        vec![image_part(
            fixtures::JPEG_16_BASELINE,
            "a.jpg",
            "image/jpeg",
        )],
        &format!(
            "3 bedroom flat, standby generator. Call Babatunde Adeyemi on 0809 555 0142 or mail {}",
            landlord.email
        ),
        "Admiralty Way, Lekki Phase 1, Lagos",
        None,
    );
    let (status, analysis) = stack.analyze(&landlord.access_token, form).await?;
    assert_eq!(status, 201, "{analysis}");
    seen.push(("analysis".into(), analysis.clone()));
    let (status, listed) = stack
        .post(
            "/properties",
            &landlord.access_token,
            json!({"analysis_id": analysis["analysis_id"], "price_kobo": 500_000_000,
                   "latitude": LEKKI_PHASE_1.0, "longitude": LEKKI_PHASE_1.1}),
        )
        .await?;
    assert_eq!(status, 201, "{listed}");
    seen.push(("created listing".into(), listed.clone()));
    let paid_for = id(&listed);
    let other = id(&create(
        &stack,
        &landlord,
        listing("Lekki shortlet", LEKKI_EAST, "SHORTLET", 8_000_000, Some(1)),
    )
    .await?);
    for property in [&paid_for, &other] {
        let (_, read) = stack
            .get(&format!("/properties/{property}"), &tenant.access_token)
            .await?;
        seen.push((format!("GET {property}"), read));
    }
    let (status, page) = discover(&stack, &tenant, &around(LEKKI_PHASE_1, 5.0)).await?;
    assert_eq!(status, 200);
    assert_eq!(item_ids(&page).len(), 2);
    seen.push(("discover".into(), page));

    let contact = |property: &str| format!("/properties/{property}/contact");
    let (status, problem) = stack.get(&contact(&paid_for), &tenant.access_token).await?;
    assert_eq!(status, 402, "{problem}");
    assert_eq!(problem_type(&problem), "payment-required");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("/payments/contact-unlock"), "{detail}");
    assert!(detail.contains(&paid_for), "{detail}");
    seen.push(("402".into(), problem));

    let expected = json!({"landlord_id": landlord.user_id, "full_name": "Babatunde Adeyemi",
                          "phone": phone, "email": landlord.email});
    for (who, account) in [
        ("the landlord", &landlord),
        ("ADMIN", &admin),
        ("SUPPORT_LEAD staff", &support),
    ] {
        let (status, body) = stack
            .get(&contact(&paid_for), &account.access_token)
            .await?;
        assert_eq!(status, 200, "{who}: {body}");
        assert_eq!(body, expected, "{who}");
    }
    let (status, _) = stack
        .get(&contact(&paid_for), &other_landlord.access_token)
        .await?;
    assert_eq!(status, 403, "another landlord has no reason to");
    let guide = stack.register("GUIDE").await?;
    let (status, _) = stack.get(&contact(&paid_for), &guide.access_token).await?;
    assert_eq!(status, 403, "nor has a guide");
    let (status, _) = stack
        .get(
            &contact(&uuid::Uuid::now_v7().to_string()),
            &tenant.access_token,
        )
        .await?;
    assert_eq!(status, 404);

    // The payment succeeds: the tenant sees this listing's contact, nobody else's changes.
    stack
        .publish_event(
            TRANSACTION_SUCCEEDED,
            &payment("CONTACT_UNLOCK", &tenant, &paid_for),
        )
        .await?;
    eventually(Duration::from_secs(20), "the unlock", || async {
        let (status, _) = stack.get(&contact(&paid_for), &tenant.access_token).await?;
        Ok(status == 200)
    })
    .await?;
    let (_, body) = stack.get(&contact(&paid_for), &tenant.access_token).await?;
    assert_eq!(body, expected);
    let (status, _) = stack.get(&contact(&other), &tenant.access_token).await?;
    assert_eq!(status, 402, "an unlock is for one listing");
    let (status, _) = stack
        .get(&contact(&paid_for), &other_tenant.access_token)
        .await?;
    assert_eq!(status, 402, "an unlock is for one tenant");

    // Rent is not an unlock. Payments are handled one at a time: once the later unlock of
    // another tenant shows, the rent payment has been handled.
    stack
        .publish_event(TRANSACTION_SUCCEEDED, &payment("RENT", &tenant, &other))
        .await?;
    stack
        .publish_event(
            TRANSACTION_SUCCEEDED,
            &payment("CONTACT_UNLOCK", &other_tenant, &other),
        )
        .await?;
    eventually(
        Duration::from_secs(20),
        "the other tenant's unlock",
        || async {
            let (status, _) = stack
                .get(&contact(&other), &other_tenant.access_token)
                .await?;
            Ok(status == 200)
        },
    )
    .await?;
    let (status, _) = stack.get(&contact(&other), &tenant.access_token).await?;
    assert_eq!(status, 402, "a RENT payment unlocked a contact");

    // Nor does any listings event (published, updated, ...).
    let (status, _) = stack
        .patch(
            &format!("/properties/{paid_for}"),
            &landlord.access_token,
            json!({"price_kobo": 450_000_000}),
        )
        .await?;
    assert_eq!(status, 200);
    let mut subjects = Vec::new();
    while let Some((subject, payload)) = announced.next_raw(Duration::from_secs(2)).await? {
        let text = String::from_utf8_lossy(&payload).to_lowercase();
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{subject} carries the landlord's {secret:?}"
            );
        }
        subjects.push(subject);
    }
    for subject in [
        "rentory.listings.property.published",
        "rentory.listings.property.updated",
    ] {
        assert!(subjects.iter().any(|s| s == subject), "{subjects:?}");
    }

    for (what, body) in &seen {
        let text = body.to_string().to_lowercase();
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{what} carries the landlord's {secret:?}: {body}"
            );
        }
    }
    stack.stop().await
}

// --- 7. photos without metadata ------------------------------------------------------------

/// One little-endian TIFF IFD at `at` (offsets from the TIFF header); values over four
/// bytes follow the IFD.
fn tiff_ifd(at: usize, entries: &[(u16, u16, u32, Vec<u8>)]) -> Vec<u8> {
    let data_start = at + 2 + 12 * entries.len() + 4;
    let mut ifd = u16::try_from(entries.len())
        .expect("few")
        .to_le_bytes()
        .to_vec();
    let mut data = Vec::new();
    for (tag, kind, count, value) in entries {
        ifd.extend_from_slice(&tag.to_le_bytes());
        ifd.extend_from_slice(&kind.to_le_bytes());
        ifd.extend_from_slice(&count.to_le_bytes());
        if value.len() <= 4 {
            let mut inline = value.clone();
            inline.resize(4, 0);
            ifd.extend_from_slice(&inline);
        } else {
            let offset = u32::try_from(data_start + data.len()).expect("small");
            ifd.extend_from_slice(&offset.to_le_bytes());
            data.extend_from_slice(value);
        }
    }
    ifd.extend_from_slice(&0u32.to_le_bytes());
    [ifd, data].concat()
}

/// Degrees, minutes, hundredths of seconds as three EXIF RATIONALs.
fn dms(degrees: u32, minutes: u32, centiseconds: u32) -> Vec<u8> {
    [(degrees, 1u32), (minutes, 1), (centiseconds, 100)]
        .iter()
        .flat_map(|(n, d)| [n.to_le_bytes(), d.to_le_bytes()].concat())
        .collect()
}

/// `jpeg` with an APP1 "Exif" segment right after SOI, as a phone writes it: a GPS IFD
/// placing the photo in Lekki Phase 1, with `marker` as the GPS area information.
fn with_exif_gps(jpeg: &[u8], marker: &[u8]) -> Vec<u8> {
    const LONG: u16 = 4;
    const ASCII: u16 = 2;
    const RATIONAL: u16 = 5;
    const UNDEFINED: u16 = 7;
    let ifd0_len = 2 + 12 + 4;
    let gps_at = 8 + ifd0_len;
    let gps_offset = u32::try_from(gps_at).expect("small");
    let ifd0 = tiff_ifd(8, &[(0x8825, LONG, 1, gps_offset.to_le_bytes().to_vec())]);
    assert_eq!(ifd0.len(), ifd0_len);
    let area = [&b"ASCII\0\0\0"[..], marker].concat();
    let gps = tiff_ifd(
        gps_at,
        &[
            (0x0001, ASCII, 2, b"N\0".to_vec()),
            (0x0002, RATIONAL, 3, dms(6, 26, 5208)),
            (0x0003, ASCII, 2, b"E\0".to_vec()),
            (0x0004, RATIONAL, 3, dms(3, 28, 2028)),
            (
                0x001C,
                UNDEFINED,
                u32::try_from(area.len()).expect("small"),
                area,
            ),
        ],
    );
    let tiff = [&b"II*\0\x08\0\0\0"[..], &ifd0, &gps].concat();
    let data = [&b"Exif\0\0"[..], &tiff].concat();
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&u16::try_from(data.len() + 2).expect("small").to_be_bytes());
    app1.extend_from_slice(&data);
    [&jpeg[..2], &app1, &jpeg[2..]].concat()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn listing_photos_are_served_to_anyone_without_their_metadata() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let landlord = stack.register("LANDLORD").await?;
    let marker = b"GPS-SECRET-6.4478";
    let phone_photo = with_exif_gps(fixtures::JPEG_16_BASELINE, marker);
    assert!(contains(&phone_photo, marker) && contains(&phone_photo, b"Exif"));
    let png_comment = b"fixture for rentory-media";
    assert!(contains(fixtures::PNG_64X48_TEXT, png_comment));

    let form = analyze_form(
        vec![
            owned_image_part(phone_photo.clone(), "phone.jpg", "image/jpeg"),
            image_part(fixtures::PNG_64X48_TEXT, "plan.png", "image/png"),
        ],
        "2 bedroom flat",
        "Admiralty Way, Lekki Phase 1, Lagos",
        Some(LEKKI_PHASE_1),
    );
    let (status, analysis) = stack.analyze(&landlord.access_token, form).await?;
    assert_eq!(status, 201, "{analysis}");
    let urls: Vec<String> = analysis["photo_urls"]
        .as_array()
        .expect("photo_urls")
        .iter()
        .map(|u| u.as_str().expect("url").to_owned())
        .collect();
    assert_eq!(urls.len(), 2);
    assert_ne!(urls[0], urls[1]);
    for url in &urls {
        assert!(url.starts_with(&format!("{}/photos/", stack.base)), "{url}");
        let response = stack.http.get(url).send().await?;
        assert_eq!(response.status(), 200, "{url}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        assert_eq!(header("content-type"), "image/jpeg", "{url}");
        assert!(header("cache-control").contains("immutable"), "{url}");
        let body = response.bytes().await?;
        assert!(body.starts_with(&[0xFF, 0xD8]), "{url} is not a JPEG");
        assert!(!contains(&body, marker), "{url} kept the GPS data");
        assert!(!contains(&body, b"Exif"), "{url} kept an EXIF segment");
        assert!(!contains(&body, png_comment), "{url} kept the PNG comment");
    }

    // Keys are content hashes: the same photo again is the same URL.
    let form = analyze_form(
        vec![owned_image_part(phone_photo, "again.jpg", "image/jpeg")],
        "",
        "",
        None,
    );
    let (status, again) = stack.analyze(&landlord.access_token, form).await?;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["photo_urls"][0], json!(urls[0]));

    // What is not 1-10 images is refused before anything is stored.
    let eleven = (0..11)
        .map(|i| image_part(fixtures::PNG_16, &format!("{i}.png"), "image/png"))
        .collect();
    for (what, form, expected) in [
        (
            "no photos",
            analyze_form(Vec::new(), "flat", "Yaba", None),
            422,
        ),
        (
            "eleven photos",
            analyze_form(eleven, "flat", "Yaba", None),
            422,
        ),
        (
            "HTML called a JPEG",
            analyze_form(
                vec![owned_image_part(
                    b"<html><script>alert(1)</script></html>".to_vec(),
                    "x.jpg",
                    "image/jpeg",
                )],
                "flat",
                "Yaba",
                None,
            ),
            415,
        ),
        (
            "a latitude without a longitude",
            analyze_form(
                vec![image_part(fixtures::PNG_16, "a.png", "image/png")],
                "flat",
                "Yaba",
                None,
            )
            .text("latitude", "6.5"),
            422,
        ),
    ] {
        let (status, problem) = stack.analyze(&landlord.access_token, form).await?;
        assert_eq!(status, expected, "{what}: {problem}");
    }

    for missing in [
        format!("{}/photos/properties/{}.jpg", stack.base, "0".repeat(64)),
        format!("{}/photos/..%2F..%2Fetc%2Fpasswd", stack.base),
    ] {
        let response = stack.http.get(&missing).send().await?;
        assert_eq!(response.status(), 404, "{missing}");
    }
    stack.stop().await
}

// --- 8. saved searches ---------------------------------------------------------------------

fn alert_of(alert: &SearchMatched) -> (String, String, String) {
    (
        alert.search_id.clone(),
        alert.tenant_id.clone(),
        alert.property_id.clone(),
    )
}

#[tokio::test]
async fn saved_searches_raise_alerts_for_new_matching_listings() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let admin = stack.admin().await?;
    let landlord = stack
        .activate_by(&admin, &stack.register("LANDLORD").await?)
        .await?;
    let tenant = stack.register("TENANT").await?;
    let other_tenant = stack.register("TENANT").await?;
    let third_tenant = stack.register("TENANT").await?;
    let mut alerts = stack.events(SEARCH_MATCHED).await?;

    let (status, yaba_search) = stack
        .post(
            "/searches",
            &tenant.access_token,
            json!({"name": "Flats near Yaba", "lat": YABA.0, "lng": YABA.1, "radius_km": 5.0,
                   "category": "RESIDENTIAL"}),
        )
        .await?;
    assert_eq!(status, 201, "{yaba_search}");
    assert_eq!(yaba_search["name"], "Flats near Yaba");
    assert!(close(&yaba_search["lat"], YABA.0) && close(&yaba_search["lng"], YABA.1));
    assert!(close(&yaba_search["radius_km"], 5.0));
    assert_eq!(yaba_search["category"], "RESIDENTIAL");
    let (status, abuja_search) = stack
        .post(
            "/searches",
            &other_tenant.access_token,
            json!({"name": "Anything in Abuja", "lat": ABUJA.0, "lng": ABUJA.1,
                   "radius_km": 10.0}),
        )
        .await?;
    assert_eq!(status, 201, "{abuja_search}");
    // A drawn area: a triangle over Lekki Phase 1 that leaves its centre outside.
    let triangle = json!({"type": "Polygon", "coordinates": [[[3.46, 6.43], [3.49, 6.43],
                                                              [3.49, 6.46], [3.46, 6.43]]]});
    assert!(!inside(
        LEKKI_PHASE_1,
        &[(3.46, 6.43), (3.49, 6.43), (3.49, 6.46), (3.46, 6.43)]
    ));
    assert!(inside(
        LEKKI_EAST,
        &[(3.46, 6.43), (3.49, 6.43), (3.49, 6.46), (3.46, 6.43)]
    ));
    let (status, lekki_search) = stack
        .post(
            "/searches",
            &third_tenant.access_token,
            json!({"name": "My corner of Lekki", "lat": LEKKI_PHASE_1.0,
                   "lng": LEKKI_PHASE_1.1, "radius_km": 10.0, "polygon": triangle,
                   "max_price_kobo": 100_000_000}),
        )
        .await?;
    assert_eq!(status, 201, "{lekki_search}");
    assert_eq!(lekki_search["polygon"], triangle);
    let (status, listed) = stack.get("/searches", &tenant.access_token).await?;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["searches"], json!([yaba_search]));
    let (_, listed) = stack.get("/searches", &third_tenant.access_token).await?;
    assert_eq!(listed["searches"], json!([lekki_search]));

    let (status, problem) = stack
        .post(
            "/searches",
            &tenant.access_token,
            json!({"name": "Nowhere", "lat": YABA.0, "lng": YABA.1, "radius_km": 0.0}),
        )
        .await?;
    assert_eq!(status, 422, "{problem}");
    for (what, (status, problem)) in [
        (
            "save",
            stack
                .post(
                    "/searches",
                    &landlord.access_token,
                    json!({"name": "Mine", "lat": YABA.0, "lng": YABA.1, "radius_km": 5.0}),
                )
                .await?,
        ),
        (
            "list",
            stack.get("/searches", &landlord.access_token).await?,
        ),
    ] {
        assert_eq!(status, 403, "a landlord could {what} searches: {problem}");
    }

    // Abuja matches the other tenant's search only; a shop in Yaba matches nobody's (the
    // Yaba search wants homes); a flat in Akoka matches the Yaba search.
    let abuja = create(
        &stack,
        &landlord,
        listing("Abuja flat", ABUJA, "RESIDENTIAL", 300_000_000, Some(2)),
    )
    .await?;
    create(
        &stack,
        &landlord,
        listing("Yaba shop", YABA, "COMMERCIAL", 300_000_000, None),
    )
    .await?;
    let akoka = create(
        &stack,
        &landlord,
        listing(
            "Akoka 2-bedroom flat",
            AKOKA,
            "RESIDENTIAL",
            250_000_000,
            Some(2),
        ),
    )
    .await?;
    // Lekki: outside the drawn triangle; inside it but over the price; inside and within.
    create(
        &stack,
        &landlord,
        listing(
            "Lekki shortlet",
            LEKKI_PHASE_1,
            "SHORTLET",
            8_000_000,
            Some(1),
        ),
    )
    .await?;
    create(
        &stack,
        &landlord,
        listing(
            "Lekki flat",
            LEKKI_EAST,
            "RESIDENTIAL",
            500_000_000,
            Some(2),
        ),
    )
    .await?;
    let lekki = create(
        &stack,
        &landlord,
        listing(
            "Lekki studio shortlet",
            LEKKI_EAST,
            "SHORTLET",
            9_000_000,
            Some(1),
        ),
    )
    .await?;
    let mut got = BTreeSet::new();
    for _ in 0..3 {
        let alert: SearchMatched = alerts
            .next(Duration::from_secs(20))
            .await?
            .expect("an alert");
        if alert.property_id == id(&akoka) {
            assert_eq!(alert.search_name, "Flats near Yaba");
            assert_eq!(alert.property_title, "Akoka 2-bedroom flat");
            assert_eq!(alert.price_kobo, 250_000_000);
        }
        got.insert(alert_of(&alert));
    }
    let want: BTreeSet<_> = [
        (id(&yaba_search), tenant.user_id.clone(), id(&akoka)),
        (id(&abuja_search), other_tenant.user_id.clone(), id(&abuja)),
        (id(&lekki_search), third_tenant.user_id.clone(), id(&lekki)),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
    let extra: Option<SearchMatched> = alerts.next(Duration::from_secs(2)).await?;
    assert!(
        extra.is_none(),
        "an alert nobody's search asked for: {extra:?}"
    );

    // Deleted: no more alerts. Listings are matched one at a time, so once the Abuja
    // listing published after it raises its alert, the Yaba flat has been matched.
    let (status, problem) = stack
        .delete(
            &format!("/searches/{}", id(&yaba_search)),
            &other_tenant.access_token,
        )
        .await?;
    assert_eq!(status, 404, "someone else's search: {problem}");
    let (status, body) = stack
        .delete(
            &format!("/searches/{}", id(&yaba_search)),
            &tenant.access_token,
        )
        .await?;
    assert_eq!(status, 204, "{body}");
    let (_, listed) = stack.get("/searches", &tenant.access_token).await?;
    assert_eq!(listed["searches"], json!([]));
    let (status, _) = stack
        .delete(
            &format!("/searches/{}", id(&yaba_search)),
            &tenant.access_token,
        )
        .await?;
    assert_eq!(status, 404);
    create(
        &stack,
        &landlord,
        listing(
            "Yaba 3-bedroom flat",
            YABA,
            "RESIDENTIAL",
            400_000_000,
            Some(3),
        ),
    )
    .await?;
    let abuja_again = create(
        &stack,
        &landlord,
        listing("Abuja duplex", ABUJA, "RESIDENTIAL", 900_000_000, Some(4)),
    )
    .await?;
    let alert: SearchMatched = alerts
        .next(Duration::from_secs(20))
        .await?
        .expect("the Abuja alert");
    assert_eq!(
        alert_of(&alert),
        (
            id(&abuja_search),
            other_tenant.user_id.clone(),
            id(&abuja_again)
        ),
        "the deleted search still raised an alert"
    );
    let extra: Option<SearchMatched> = alerts.next(Duration::from_secs(2)).await?;
    assert!(extra.is_none(), "{extra:?}");

    // At most 20 saved searches per tenant.
    for n in 2..=20 {
        let (status, body) = stack
            .post(
                "/searches",
                &other_tenant.access_token,
                json!({"name": format!("Search {n}"), "lat": ABUJA.0, "lng": ABUJA.1,
                       "radius_km": 1.0}),
            )
            .await?;
        assert_eq!(status, 201, "search {n}: {body}");
    }
    let (status, problem) = stack
        .post(
            "/searches",
            &other_tenant.access_token,
            json!({"name": "One too many", "lat": ABUJA.0, "lng": ABUJA.1, "radius_km": 1.0}),
        )
        .await?;
    assert_eq!(status, 409, "{problem}");
    let (_, listed) = stack.get("/searches", &other_tenant.access_token).await?;
    assert_eq!(listed["searches"].as_array().map(Vec::len), Some(20));
    stack.stop().await
}

// --- regressions: both were bugs once ---------------------------------------------------

#[tokio::test]
async fn archiving_answers_the_listing_as_stored() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let landlord = stack.register("LANDLORD").await?;
    let landlord = stack.activate(&landlord).await?;
    let property = create(
        &stack,
        &landlord,
        listing("Yaba flat", YABA, "RESIDENTIAL", 250_000_000, Some(2)),
    )
    .await?;
    let path = format!("/properties/{}", id(&property));
    let (status, archived) = stack.delete(&path, &landlord.access_token).await?;
    assert_eq!(status, 200, "{archived}");
    let (_, read) = stack.get(&path, &landlord.access_token).await?;
    assert_eq!(
        archived, read,
        "DELETE and GET disagree about the archived listing"
    );
    stack.stop().await
}

#[tokio::test]
async fn a_wide_area_finds_every_listing_inside_it_or_is_refused() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let landlord = stack.register("LANDLORD").await?;
    let landlord = stack.activate(&landlord).await?;
    let tenant = stack.register("TENANT").await?;
    let mut inside_nigeria = BTreeSet::new();
    for (title, at) in [("Yaba flat", YABA), ("Abuja flat", ABUJA)] {
        let property = create(
            &stack,
            &landlord,
            listing(title, at, "RESIDENTIAL", 250_000_000, Some(2)),
        )
        .await?;
        inside_nigeria.insert(id(&property));
    }
    // A map zoomed out over Nigeria.
    let (status, page) = discover(&stack, &tenant, &[("bbox", "2.7,4.2,14.7,13.9".into())]).await?;
    if status == 200 {
        assert_eq!(
            set(item_ids(&page)),
            inside_nigeria,
            "listings inside the box are missing: {page}"
        );
    } else {
        assert_eq!(status, 422, "{page}");
        assert_eq!(error_fields(&page), ["bbox"], "{page}");
    }
    stack.stop().await
}
