//! Saved searches: a tenant keeps a discover query; each newly published listing is
//! matched against every saved search, and a match raises `rentory.listings.search.matched`
//! for the notification service.
//!
//! Matching runs in a consumer of our own `rentory.listings.property.published`, not in the
//! request that publishes: a landlord's listing never waits on (or fails because of)
//! thousands of alerts, and the alerts are written exactly once per listing and search.

use rentory_events::{Delivered, Handler, HandlerError};
use rentory_persona::Category;
use rentory_proto::events::v1::{PropertyPublished, SearchMatched};
use rentory_proto::listings::v1 as pb;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::discover::area::{self, Polygon};
use crate::error::Error;
use crate::property::rules::Violations;

pub const ALERT_CONSUMER: &str = "listings-search-alerts";
pub const PUBLISHED: &str = "rentory.listings.property.published";
pub const MATCHED: &str = "rentory.listings.search.matched";
/// Saved searches per tenant.
pub const MAX_PER_TENANT: i64 = 20;
pub const MAX_NAME_CHARS: usize = 80;
/// Alerts one listing may raise; beyond this the rest are logged, not sent (a listing
/// matching more saved searches than this is almost certainly spam bait).
const MAX_ALERTS_PER_LISTING: i64 = 10_000;

/// A checked saved search.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSearch {
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
    pub radius_km: f64,
    pub polygon: Option<Polygon>,
    pub category: Option<Category>,
    pub min_price_kobo: Option<i64>,
    pub max_price_kobo: Option<i64>,
    pub bedrooms: Option<u32>,
}

/// Checks a request; every problem is reported at once.
pub fn check(r: pb::SaveSearchRequest) -> Result<NewSearch, Violations> {
    let mut errors: Violations = Vec::new();
    let name = r.name.trim().to_owned();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        errors.push((
            "name",
            format!("1 to {MAX_NAME_CHARS} characters of plain text"),
        ));
    }
    if let Err(e) = area::check_point(r.latitude, r.longitude) {
        errors.push(e);
    }
    if let Err(e) = area::check_radius(r.radius_km) {
        errors.push(e);
    }
    let polygon = match r.polygon_geojson.as_deref() {
        Some(text) => match area::parse_polygon(text) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        None => None,
    };
    let category = match r.category.as_deref() {
        Some(text) => match crate::property::parse_category(text) {
            Some(c) => Some(c),
            None => {
                errors.push((
                    "category",
                    "one of RESIDENTIAL, COMMERCIAL, EVENT_CENTER, LAND, SHORTLET".into(),
                ));
                None
            }
        },
        None => None,
    };
    for (field, price) in [
        ("min_price_kobo", r.min_price_kobo),
        ("max_price_kobo", r.max_price_kobo),
    ] {
        if price.is_some_and(|p| p < 0) {
            errors.push((field, "not negative".into()));
        }
    }
    if let (Some(min), Some(max)) = (r.min_price_kobo, r.max_price_kobo)
        && min > max
    {
        errors.push(("min_price_kobo", "above max_price_kobo".into()));
    }
    if r.bedrooms.is_some_and(|b| b > 50) {
        errors.push(("bedrooms", "at most 50".into()));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(NewSearch {
        name,
        latitude: r.latitude,
        longitude: r.longitude,
        radius_km: r.radius_km,
        polygon,
        category,
        min_price_kobo: r.min_price_kobo,
        max_price_kobo: r.max_price_kobo,
        bedrooms: r.bedrooms,
    })
}

struct SearchRow {
    id: Uuid,
    name: String,
    latitude: f64,
    longitude: f64,
    radius_m: f64,
    polygon_geojson: Option<String>,
    category: Option<String>,
    min_price_kobo: Option<i64>,
    max_price_kobo: Option<i64>,
    bedrooms: Option<i16>,
    created_at: OffsetDateTime,
}

impl From<SearchRow> for pb::SavedSearch {
    fn from(r: SearchRow) -> Self {
        Self {
            id: r.id.to_string(),
            name: r.name,
            latitude: r.latitude,
            longitude: r.longitude,
            radius_km: r.radius_m / 1000.0,
            polygon_geojson: r.polygon_geojson,
            category: r.category,
            min_price_kobo: r.min_price_kobo,
            max_price_kobo: r.max_price_kobo,
            bedrooms: r.bedrooms.and_then(|b| u32::try_from(b).ok()),
            created_at: Some(rentory_proto::timestamp(r.created_at)),
        }
    }
}

/// Saves `search` for `tenant_id`, refusing more than [`MAX_PER_TENANT`]. The tenant's
/// existing searches are locked first, so two concurrent saves cannot both pass the count.
pub async fn save(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    search: &NewSearch,
) -> Result<pb::SavedSearch, Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('listings.saved_searches:' || $1::text, 0))",
        tenant_id.to_string(),
    )
    .execute(&mut *conn)
    .await?;
    let count = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM listings.saved_searches WHERE tenant_id = $1"#,
        tenant_id
    )
    .fetch_one(&mut *conn)
    .await?;
    if count >= MAX_PER_TENANT {
        return Err(Error::Conflict(format!(
            "at most {MAX_PER_TENANT} saved searches; delete one first"
        )));
    }
    let row = sqlx::query_as!(
        SearchRow,
        r#"INSERT INTO listings.saved_searches
             (id, tenant_id, name, center, radius_m, polygon, polygon_geojson, category,
              min_price_kobo, max_price_kobo, bedrooms)
           VALUES ($1, $2, $3, ST_SetSRID(ST_MakePoint($4, $5), 4326)::geography, $6,
                   ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($7::text), 4326)), $7, $8, $9, $10, $11)
           RETURNING id, name, ST_Y(center::geometry) AS "latitude!",
                     ST_X(center::geometry) AS "longitude!", radius_m, polygon_geojson,
                     category, min_price_kobo, max_price_kobo, bedrooms, created_at"#,
        Uuid::now_v7(),
        tenant_id,
        search.name,
        search.longitude,
        search.latitude,
        search.radius_km * 1000.0,
        search.polygon.as_ref().map(|p| p.geojson.as_str()),
        search.category.map(Category::as_str),
        search.min_price_kobo,
        search.max_price_kobo,
        search.bedrooms.and_then(|b| i16::try_from(b).ok()),
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.into())
}

pub async fn list(db: impl PgExecutor<'_>, tenant_id: Uuid) -> Result<Vec<pb::SavedSearch>, Error> {
    let rows = sqlx::query_as!(
        SearchRow,
        r#"SELECT id, name, ST_Y(center::geometry) AS "latitude!",
                  ST_X(center::geometry) AS "longitude!", radius_m, polygon_geojson,
                  category, min_price_kobo, max_price_kobo, bedrooms, created_at
           FROM listings.saved_searches WHERE tenant_id = $1
           ORDER BY created_at, id"#,
        tenant_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Deletes the tenant's own search; someone else's is "not found".
pub async fn delete(db: impl PgExecutor<'_>, tenant_id: Uuid, id: Uuid) -> Result<(), Error> {
    let deleted = sqlx::query!(
        "DELETE FROM listings.saved_searches WHERE id = $1 AND tenant_id = $2",
        id,
        tenant_id
    )
    .execute(db)
    .await?
    .rows_affected();
    if deleted == 0 {
        return Err(Error::NotFound("saved search"));
    }
    Ok(())
}

/// Raises `search.matched` for every saved search a newly published listing matches.
pub struct SearchAlerts;

impl Handler for SearchAlerts {
    type Effect = PropertyPublished;

    async fn prepare(&self, event: &Delivered) -> Result<PropertyPublished, HandlerError> {
        event.decode()
    }

    async fn apply(
        &self,
        published: PropertyPublished,
        _event: &Delivered,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let p = published
            .property
            .ok_or_else(|| HandlerError::permanent("published event without a property"))?;
        if p.status != "ACTIVE" {
            return Ok(());
        }
        let landlord_id = Uuid::parse_str(&p.landlord_id)
            .map_err(|_| HandlerError::permanent("published event names no valid landlord"))?;
        let bedrooms = p.bedrooms.and_then(|b| i16::try_from(b).ok());
        // The fixed 100 km bound lets the GiST index on `center` answer first; each
        // search's own radius is then checked exactly.
        let matches = sqlx::query!(
            r#"WITH listing AS (
                 SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS point
               )
               SELECT s.id, s.tenant_id, s.name
               FROM listings.saved_searches s, listing l
               WHERE ST_DWithin(s.center, l.point::geography, 100000)
                 AND ST_DWithin(s.center, l.point::geography, s.radius_m)
                 AND (s.polygon IS NULL OR ST_Covers(s.polygon, l.point))
                 AND (s.category IS NULL OR s.category = $3)
                 AND (s.min_price_kobo IS NULL OR $4 >= s.min_price_kobo)
                 AND (s.max_price_kobo IS NULL OR $4 <= s.max_price_kobo)
                 AND (s.bedrooms IS NULL OR COALESCE($5::int2, 0) >= s.bedrooms)
                 AND s.tenant_id <> $6
               ORDER BY s.id
               LIMIT $7"#,
            p.longitude,
            p.latitude,
            p.category,
            p.price_kobo,
            bedrooms,
            landlord_id,
            MAX_ALERTS_PER_LISTING,
        )
        .fetch_all(&mut *tx)
        .await?;
        if i64::try_from(matches.len()).unwrap_or(i64::MAX) == MAX_ALERTS_PER_LISTING {
            tracing::warn!(property_id = %p.property_id, "listing matched the alert cap; later searches get no alert");
        }
        let at = rentory_proto::timestamp(OffsetDateTime::now_utc());
        for m in &matches {
            let alert = SearchMatched {
                search_id: m.id.to_string(),
                tenant_id: m.tenant_id.to_string(),
                search_name: m.name.clone(),
                property_id: p.property_id.clone(),
                property_title: p.title.clone(),
                price_kobo: p.price_kobo,
                rent_period: p.rent_period.clone(),
                at: Some(at),
            };
            rentory_events::enqueue(&mut *tx, MATCHED, &alert)
                .await
                .map_err(|e| {
                    HandlerError::retry(std::time::Duration::from_secs(1), e.to_string())
                })?;
        }
        if !matches.is_empty() {
            tracing::info!(property_id = %p.property_id, alerts = matches.len(), "saved searches matched");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn request() -> pb::SaveSearchRequest {
        pb::SaveSearchRequest {
            name: "Yaba 2-bed".into(),
            latitude: 6.5095,
            longitude: 3.3711,
            radius_km: 3.0,
            polygon_geojson: None,
            category: Some("residential".into()),
            min_price_kobo: Some(100_000_000),
            max_price_kobo: Some(200_000_000),
            bedrooms: Some(2),
        }
    }

    #[test]
    fn a_saved_search_is_checked_whole() {
        let s = check(request()).unwrap();
        assert_eq!(s.category, Some(Category::Residential));
        let errors = check(pb::SaveSearchRequest {
            name: " ".into(),
            radius_km: 0.0,
            category: Some("castle".into()),
            min_price_kobo: Some(5),
            max_price_kobo: Some(1),
            polygon_geojson: Some("{}".into()),
            ..request()
        })
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            ["name", "radius_km", "polygon", "category", "min_price_kobo"]
        );
    }
}
