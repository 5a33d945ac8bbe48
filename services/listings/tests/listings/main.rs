//! The listings service's own storage-level behaviour against a real PostGIS database:
//! the event projections (order- and duplicate-proof), saved-search matching, and
//! discovery paging across several KNN windows. The HTTP surface is covered by the
//! black-box tests in `tests/blackbox/listings.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use bytes::Bytes;
use listings::discover::{self, area, score};
use listings::projections::{PaymentRefunds, PaymentSuccesses, PersonaUpdates};
use listings::searches::SearchAlerts;
use prost::Message;
use rentory_events::{Delivered, Handler};
use rentory_persona::Persona;
use rentory_proto::events::v1::{
    PersonaUpdated, PropertyPublished, PropertySnapshot, SearchMatched, TransactionRefunded,
    TransactionSucceeded,
};
use rentory_testkit::TestDatabase;
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

struct Db {
    pool: PgPool,
    db: Option<TestDatabase>,
}

impl Db {
    async fn new() -> Db {
        let db = TestDatabase::create().await.unwrap();
        let pool = rentory_runtime::db::connect_postgis(
            &SecretString::from(db.url.clone()),
            listings::SCHEMA,
            4,
        )
        .await
        .unwrap();
        rentory_runtime::db::migrate(&pool, listings::SCHEMA, &listings::MIGRATOR)
            .await
            .unwrap();
        Db { pool, db: Some(db) }
    }

    async fn done(mut self) {
        self.pool.close().await;
        if let Some(db) = self.db.take() {
            db.drop_database().await.unwrap();
        }
    }
}

fn delivered(subject: &str, payload: &impl Message) -> Delivered {
    Delivered {
        id: Uuid::now_v7(),
        subject: subject.to_owned(),
        payload: Bytes::from(payload.encode_to_vec()),
        delivery_count: 1,
        traceparent: None,
    }
}

/// Runs a handler the way the consumer does: prepare, then apply in a transaction.
async fn handle<H: Handler>(pool: &PgPool, handler: &H, event: &Delivered) {
    let effect = handler.prepare(event).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    handler.apply(effect, event, &mut tx).await.unwrap();
    tx.commit().await.unwrap();
}

fn persona_event(user: Uuid, version: u64, max_kobo: i64) -> PersonaUpdated {
    let persona = Persona {
        version,
        budget: Some(rentory_persona::Budget {
            min_kobo: None,
            max_kobo: Some(max_kobo),
            period: rentory_persona::RentPeriod::Year,
        }),
        ..Persona::default()
    };
    PersonaUpdated {
        user_id: user.to_string(),
        version,
        persona_json: persona.to_json(),
        at: None,
    }
}

#[tokio::test]
async fn personas_keep_the_highest_version_whatever_the_order() {
    let db = Db::new().await;
    let tenant = Uuid::now_v7();
    for (version, max) in [(2, 200), (1, 100), (3, 300), (2, 999)] {
        handle(
            &db.pool,
            &PersonaUpdates,
            &delivered(
                "rentory.ai.persona.updated",
                &persona_event(tenant, version, max),
            ),
        )
        .await;
    }
    let kept = listings::projections::persona(&db.pool, tenant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.version, 3);
    assert_eq!(kept.budget.and_then(|b| b.max_kobo), Some(300));

    // A document whose version disagrees with the event's is refused, not stored.
    let mut lying = persona_event(tenant, 9, 1);
    lying.version = 10;
    assert!(
        PersonaUpdates
            .prepare(&delivered("rentory.ai.persona.updated", &lying))
            .await
            .is_err()
    );
    db.done().await;
}

#[tokio::test]
async fn a_contact_unlock_is_recorded_once_and_other_payments_are_ignored() {
    let db = Db::new().await;
    let (tenant, property) = (Uuid::now_v7(), Uuid::now_v7());
    let paid = unlock_paid(tenant, property, "RTY-UNLOCK-1");
    assert!(
        !listings::projections::has_unlock(&db.pool, tenant, property)
            .await
            .unwrap()
    );
    let event = delivered("rentory.payments.transaction.succeeded", &paid);
    handle(&db.pool, &PaymentSuccesses, &event).await;
    // The same payment again (another event id) changes nothing.
    handle(
        &db.pool,
        &PaymentSuccesses,
        &delivered("rentory.payments.transaction.succeeded", &paid),
    )
    .await;
    assert!(
        listings::projections::has_unlock(&db.pool, tenant, property)
            .await
            .unwrap()
    );
    let rent = TransactionSucceeded {
        transaction_id: Uuid::now_v7().to_string(),
        r#type: "RENT".into(),
        property_id: None,
        lease_id: Some(Uuid::now_v7().to_string()),
        ..paid.clone()
    };
    handle(
        &db.pool,
        &PaymentSuccesses,
        &delivered("rentory.payments.transaction.succeeded", &rent),
    )
    .await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM listings.contact_unlocks")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    // The unlock is for this tenant and this property only.
    assert!(
        !listings::projections::has_unlock(&db.pool, Uuid::now_v7(), property)
            .await
            .unwrap()
    );
    assert!(
        !listings::projections::has_unlock(&db.pool, tenant, Uuid::now_v7())
            .await
            .unwrap()
    );
    db.done().await;
}

fn unlock_paid(tenant: Uuid, property: Uuid, reference: &str) -> TransactionSucceeded {
    TransactionSucceeded {
        transaction_id: Uuid::now_v7().to_string(),
        reference: reference.into(),
        r#type: "CONTACT_UNLOCK".into(),
        payer_id: tenant.to_string(),
        property_id: Some(property.to_string()),
        lease_id: None,
        amount_kobo: 500_000,
        at: None,
    }
}

fn refund_of(paid: &TransactionSucceeded) -> TransactionRefunded {
    TransactionRefunded {
        transaction_id: paid.transaction_id.clone(),
        reference: paid.reference.clone(),
        r#type: paid.r#type.clone(),
        payer_id: paid.payer_id.clone(),
        property_id: paid.property_id.clone(),
        lease_id: paid.lease_id.clone(),
        amount_kobo: paid.amount_kobo,
        actor_id: Uuid::now_v7().to_string(),
        reason: "paid by mistake".into(),
        at: None,
    }
}

#[tokio::test]
async fn a_refund_closes_exactly_its_unlock_whatever_the_order() {
    let db = Db::new().await;
    let (tenant, property) = (Uuid::now_v7(), Uuid::now_v7());
    let unlocked = || listings::projections::has_unlock(&db.pool, tenant, property);
    const SUCCEEDED: &str = "rentory.payments.transaction.succeeded";
    const REFUNDED: &str = "rentory.payments.transaction.refunded";

    // Paid, then refunded (twice, as a redelivery under another id would): closed.
    let first = unlock_paid(tenant, property, "ul-1");
    handle(&db.pool, &PaymentSuccesses, &delivered(SUCCEEDED, &first)).await;
    assert!(unlocked().await.unwrap());
    for _ in 0..2 {
        handle(
            &db.pool,
            &PaymentRefunds,
            &delivered(REFUNDED, &refund_of(&first)),
        )
        .await;
    }
    assert!(!unlocked().await.unwrap());
    // The success delivered again after its refund opens nothing.
    handle(&db.pool, &PaymentSuccesses, &delivered(SUCCEEDED, &first)).await;
    assert!(!unlocked().await.unwrap());

    // Paying again opens it; the old refund arriving late does not close the new unlock.
    let second = unlock_paid(tenant, property, "ul-2");
    handle(&db.pool, &PaymentSuccesses, &delivered(SUCCEEDED, &second)).await;
    handle(
        &db.pool,
        &PaymentRefunds,
        &delivered(REFUNDED, &refund_of(&first)),
    )
    .await;
    assert!(unlocked().await.unwrap());

    // A refund handled before its success (the two consumers keep no order between them).
    let (other_tenant, other_property) = (Uuid::now_v7(), Uuid::now_v7());
    let early = unlock_paid(other_tenant, other_property, "ul-3");
    handle(
        &db.pool,
        &PaymentRefunds,
        &delivered(REFUNDED, &refund_of(&early)),
    )
    .await;
    handle(&db.pool, &PaymentSuccesses, &delivered(SUCCEEDED, &early)).await;
    assert!(
        !listings::projections::has_unlock(&db.pool, other_tenant, other_property)
            .await
            .unwrap()
    );

    // Refunds of other kinds of payment are ignored.
    let rent = TransactionRefunded {
        r#type: "RENT".into(),
        property_id: None,
        lease_id: Some(Uuid::now_v7().to_string()),
        ..refund_of(&second)
    };
    handle(&db.pool, &PaymentRefunds, &delivered(REFUNDED, &rent)).await;
    assert!(unlocked().await.unwrap());
    db.done().await;
}

async fn save_search(
    pool: &PgPool,
    tenant: Uuid,
    request: rentory_proto::listings::v1::SaveSearchRequest,
) -> Uuid {
    let search = listings::searches::check(request).unwrap();
    let mut tx = pool.begin().await.unwrap();
    let saved = listings::searches::save(&mut tx, tenant, &search)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Uuid::parse_str(&saved.id).unwrap()
}

fn published(landlord: Uuid, lat: f64, lng: f64, category: &str, price: i64) -> PropertyPublished {
    PropertyPublished {
        property: Some(PropertySnapshot {
            property_id: Uuid::now_v7().to_string(),
            landlord_id: landlord.to_string(),
            category: category.into(),
            title: "A listing".into(),
            price_kobo: price,
            rent_period: "YEAR".into(),
            latitude: lat,
            longitude: lng,
            bedrooms: Some(3),
            status: "ACTIVE".into(),
        }),
        at: None,
    }
}

async fn alerts(pool: &PgPool) -> Vec<SearchMatched> {
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM listings.outbox WHERE subject = 'rentory.listings.search.matched' ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    payloads
        .into_iter()
        .map(|p| SearchMatched::decode(p.as_slice()).unwrap())
        .collect()
}

#[tokio::test]
async fn new_listings_alert_exactly_the_saved_searches_they_match() {
    let db = Db::new().await;
    let (yaba_tenant, lekki_tenant, landlord) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let base = rentory_proto::listings::v1::SaveSearchRequest {
        name: "Yaba flats".into(),
        latitude: 6.5095,
        longitude: 3.3711,
        radius_km: 3.0,
        polygon_geojson: None,
        category: Some("RESIDENTIAL".into()),
        min_price_kobo: None,
        max_price_kobo: Some(300_000_000),
        bedrooms: Some(2),
    };
    let yaba = save_search(&db.pool, yaba_tenant, base.clone()).await;
    // Lekki Phase 1, drawn as a polygon, inside a generous radius.
    let lekki = save_search(
        &db.pool,
        lekki_tenant,
        rentory_proto::listings::v1::SaveSearchRequest {
            name: "Lekki".into(),
            latitude: 6.4478,
            longitude: 3.4723,
            radius_km: 20.0,
            polygon_geojson: Some(
                r#"{"type":"Polygon","coordinates":[[[3.46,6.43],[3.49,6.43],[3.49,6.46],[3.46,6.46],[3.46,6.43]]]}"#
                    .into(),
            ),
            category: None,
            max_price_kobo: None,
            bedrooms: None,
            ..base.clone()
        },
    )
    .await;

    let in_yaba = published(landlord, 6.5120, 3.3750, "RESIDENTIAL", 250_000_000);
    let too_dear = published(landlord, 6.5120, 3.3750, "RESIDENTIAL", 900_000_000);
    let a_shop = published(landlord, 6.5120, 3.3750, "COMMERCIAL", 100_000_000);
    let in_lekki = published(landlord, 6.4478, 3.4723, "LAND", 100_000_000);
    // Within Lekki's 20 km radius but outside its polygon.
    let outside_polygon = published(landlord, 6.4281, 3.4219, "RESIDENTIAL", 100_000_000);
    // The tenant's own listing never alerts the tenant.
    let own = published(yaba_tenant, 6.5120, 3.3750, "RESIDENTIAL", 250_000_000);
    for event in [
        &in_yaba,
        &too_dear,
        &a_shop,
        &in_lekki,
        &outside_polygon,
        &own,
    ] {
        handle(
            &db.pool,
            &SearchAlerts,
            &delivered("rentory.listings.property.published", event),
        )
        .await;
    }
    let sent: Vec<(String, String)> = alerts(&db.pool)
        .await
        .into_iter()
        .map(|a| (a.search_id, a.property_id))
        .collect();
    let id = |e: &PropertyPublished| e.property.as_ref().unwrap().property_id.clone();
    assert_eq!(
        sent,
        [
            (yaba.to_string(), id(&in_yaba)),
            (lekki.to_string(), id(&in_lekki)),
        ]
    );
    db.done().await;
}

#[tokio::test]
async fn discovery_pages_through_several_windows_without_repeats_or_gaps() {
    let db = Db::new().await;
    listings::seed::seed(
        &db.pool,
        &listings::seed::SeedOptions {
            count: 3_000,
            landlords: 50,
            seed: 7,
        },
    )
    .await
    .unwrap();
    let lagos = area::resolve(Some((6.5244, 3.3792, Some(15.0))), None, None).unwrap();
    let query = discover::Query {
        area: lagos,
        category: Some(rentory_persona::Category::Residential),
        min_price_kobo: None,
        max_price_kobo: None,
        min_bedrooms: Some(2),
        limit: 17,
    };
    let expected: HashSet<Uuid> = sqlx::query_scalar(
        "SELECT id FROM listings.properties
         WHERE status = 'ACTIVE' AND category = 'RESIDENTIAL' AND bedrooms >= 2
           AND ST_DWithin(coordinates, ST_SetSRID(ST_MakePoint(3.3792, 6.5244), 4326)::geography, 15000, false)",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert!(expected.len() > 200, "seed too sparse: {}", expected.len());

    // A small window forces many window changes, some in the middle of a page.
    let window = 40;
    let mut seen: Vec<Uuid> = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = discover::page(&db.pool, &query, None, cursor, window)
            .await
            .unwrap();
        pages += 1;
        // Inside a page, scores never rise.
        let scores: Vec<u8> = page.items.iter().map(|i| i.matched.score).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
        assert!(page.items.len() <= 17);
        seen.extend(page.items.iter().map(|i| i.property.id));
        match page.next {
            // Through the wire format, as a client would send it back.
            Some(next) => cursor = Some(discover::cursor::Cursor::decode(&next.encode()).unwrap()),
            None => break,
        }
        assert!(pages < 1000, "paging does not end");
    }
    let unique: HashSet<Uuid> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a listing was served twice");
    let missed: Vec<_> = expected.difference(&unique).collect();
    let invented: Vec<_> = unique.difference(&expected).collect();
    assert!(
        missed.is_empty() && invented.is_empty(),
        "paging missed {missed:?} and invented {invented:?}"
    );

    // Distances come from PostGIS and agree with the score module's haversine.
    let first = discover::page(&db.pool, &query, None, None, window)
        .await
        .unwrap();
    for item in &first.items {
        let c = &item.property.content;
        let haversine = score::distance_km(6.5244, 3.3792, c.latitude, c.longitude);
        assert!(
            (haversine - item.distance_km).abs() < 0.05,
            "{haversine} vs {}",
            item.distance_km
        );
    }
    db.done().await;
}

#[tokio::test]
async fn listings_at_one_exact_point_are_all_served_once() {
    let db = Db::new().await;
    // A tower block: 45 flats at one point (more than a window), 5 more around it.
    let block = (6.4478, 3.4723);
    let mut expected = HashSet::new();
    for n in 0..50 {
        let id = Uuid::now_v7();
        let (lat, lng) = if n < 45 {
            block
        } else {
            (block.0 + 0.001 * f64::from(n - 44), block.1)
        };
        sqlx::query(
            "INSERT INTO listings.properties
               (id, landlord_id, category, title, description, price_kobo, rent_period,
                address, coordinates, bedrooms)
             VALUES ($1, $2, 'RESIDENTIAL', 'Flat in the tower', '', 100000000, 'YEAR',
                     'Tower, Lekki', ST_SetSRID(ST_MakePoint($3, $4), 4326)::geography, 2)",
        )
        .bind(id)
        .bind(Uuid::now_v7())
        .bind(lng)
        .bind(lat)
        .execute(&db.pool)
        .await
        .unwrap();
        expected.insert(id);
    }
    let query = discover::Query {
        area: area::resolve(Some((block.0, block.1, Some(2.0))), None, None).unwrap(),
        category: None,
        min_price_kobo: None,
        max_price_kobo: None,
        min_bedrooms: None,
        limit: 7,
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..100 {
        // Windows of 20: the first two hold only tied rows, and LIMIT would split the ties.
        let page = discover::page(&db.pool, &query, None, cursor, 20)
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|i| i.property.id));
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    assert!(cursor.is_none(), "paging does not end");
    let unique: HashSet<Uuid> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a listing was served twice");
    assert_eq!(unique, expected);
    db.done().await;
}
