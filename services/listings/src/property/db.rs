//! Storage of properties, their land details and ratings (schema `listings`).

use rentory_persona::{Category, RentPeriod};
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{LandDetails, LandUnit, ListingContent, Property, Ratings, Status};
use crate::error::Error;

struct PropertyRow {
    id: Uuid,
    landlord_id: Uuid,
    category: String,
    title: String,
    description: String,
    neighborhood_description: String,
    price_kobo: i64,
    rent_period: String,
    address: String,
    latitude: f64,
    longitude: f64,
    bedrooms: Option<i16>,
    bathrooms: Option<i16>,
    status: String,
    is_verified: bool,
    rentory_managed: bool,
    amenities: Vec<String>,
    photo_urls: Vec<String>,
    analysis_id: Option<Uuid>,
    rating_security: Option<f64>,
    rating_power: Option<f64>,
    rating_neighborhood: Option<f64>,
    rating_reviews: i32,
    ai_audited: bool,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    land_size: Option<f64>,
    land_unit: Option<String>,
    land_dimensions: Option<String>,
    land_zoning: Option<String>,
}

impl TryFrom<PropertyRow> for Property {
    type Error = Error;

    fn try_from(r: PropertyRow) -> Result<Self, Error> {
        let corrupt = |what: &str| Error::Corrupt(format!("property {}: {what}", r.id));
        let land_details = match (r.land_size, r.land_unit.as_deref()) {
            (Some(size), Some(unit)) => Some(LandDetails {
                size,
                unit: LandUnit::parse(unit).ok_or_else(|| corrupt("land unit"))?,
                dimensions: r.land_dimensions.clone().unwrap_or_default(),
                zoning: r.land_zoning.clone().unwrap_or_default(),
            }),
            _ => None,
        };
        let rooms = |n: Option<i16>| n.and_then(|n| u32::try_from(n).ok());
        Ok(Property {
            id: r.id,
            landlord_id: r.landlord_id,
            content: ListingContent {
                category: Category::parse(&r.category).ok_or_else(|| corrupt("category"))?,
                title: r.title,
                description: r.description,
                neighborhood_description: r.neighborhood_description,
                price_kobo: r.price_kobo,
                rent_period: RentPeriod::parse(&r.rent_period)
                    .ok_or_else(|| corrupt("rent period"))?,
                address: r.address,
                latitude: r.latitude,
                longitude: r.longitude,
                bedrooms: rooms(r.bedrooms),
                bathrooms: rooms(r.bathrooms),
                amenities: r.amenities,
                land_details,
            },
            status: Status::parse(&r.status).ok_or_else(|| corrupt("status"))?,
            is_verified: r.is_verified,
            rentory_managed: r.rentory_managed,
            photo_urls: r.photo_urls,
            ratings: Ratings {
                security: r.rating_security,
                power: r.rating_power,
                neighborhood: r.rating_neighborhood,
                reviews: u32::try_from(r.rating_reviews).unwrap_or(0),
                ai_audited: r.ai_audited,
            },
            analysis_id: r.analysis_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn rooms(n: Option<u32>) -> Option<i16> {
    n.and_then(|n| i16::try_from(n).ok())
}

/// One listing with its land details; `None` when there is no such id.
#[tracing::instrument(skip_all, fields(property_id = %id))]
pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Property>, Error> {
    let row = sqlx::query_as!(
        PropertyRow,
        r#"SELECT p.id, p.landlord_id, p.category, p.title, p.description,
                  p.neighborhood_description, p.price_kobo, p.rent_period, p.address,
                  ST_Y(p.coordinates::geometry) AS "latitude!", ST_X(p.coordinates::geometry) AS "longitude!",
                  p.bedrooms, p.bathrooms, p.status, p.is_verified, p.rentory_managed,
                  p.amenities, p.photo_urls, p.analysis_id,
                  p.rating_security, p.rating_power, p.rating_neighborhood, p.rating_reviews,
                  p.ai_audited, p.created_at, p.updated_at,
                  l.size AS "land_size?", l.unit AS "land_unit?",
                  l.dimensions AS "land_dimensions?", l.zoning AS "land_zoning?"
           FROM listings.properties p
           LEFT JOIN listings.land_details l ON l.property_id = p.id
           WHERE p.id = $1"#,
        id,
    )
    .fetch_optional(db)
    .await?;
    row.map(Property::try_from).transpose()
}

/// Listings by id, in no particular order (discovery fetches a page's rows this way).
#[tracing::instrument(skip_all, fields(count = ids.len()))]
pub async fn find_many(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Result<Vec<Property>, Error> {
    let rows = sqlx::query_as!(
        PropertyRow,
        r#"SELECT p.id, p.landlord_id, p.category, p.title, p.description,
                  p.neighborhood_description, p.price_kobo, p.rent_period, p.address,
                  ST_Y(p.coordinates::geometry) AS "latitude!", ST_X(p.coordinates::geometry) AS "longitude!",
                  p.bedrooms, p.bathrooms, p.status, p.is_verified, p.rentory_managed,
                  p.amenities, p.photo_urls, p.analysis_id,
                  p.rating_security, p.rating_power, p.rating_neighborhood, p.rating_reviews,
                  p.ai_audited, p.created_at, p.updated_at,
                  l.size AS "land_size?", l.unit AS "land_unit?",
                  l.dimensions AS "land_dimensions?", l.zoning AS "land_zoning?"
           FROM listings.properties p
           LEFT JOIN listings.land_details l ON l.property_id = p.id
           WHERE p.id = ANY($1)"#,
        ids,
    )
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Property::try_from).collect()
}

/// The owner and status of a listing, locked until the transaction ends so that
/// concurrent edits apply one after the other.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<(Uuid, String)>, Error> {
    let row = sqlx::query!(
        "SELECT landlord_id, status FROM listings.properties WHERE id = $1 FOR UPDATE",
        id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.landlord_id, r.status)))
}

/// Writes a new listing and, for LAND, its details.
#[tracing::instrument(skip_all, fields(property_id = %property.id))]
pub async fn insert(conn: &mut PgConnection, property: &Property) -> Result<(), Error> {
    let c = &property.content;
    sqlx::query!(
        r#"INSERT INTO listings.properties
             (id, landlord_id, category, title, description, neighborhood_description,
              price_kobo, rent_period, address, coordinates, bedrooms, bathrooms, status,
              is_verified, rentory_managed, amenities, photo_urls, analysis_id,
              created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                   ST_SetSRID(ST_MakePoint($10, $11), 4326)::geography,
                   $12, $13, $14, $15, $16, $17, $18, $19, $20, $20)"#,
        property.id,
        property.landlord_id,
        c.category.as_str(),
        c.title,
        c.description,
        c.neighborhood_description,
        c.price_kobo,
        c.rent_period.as_str(),
        c.address,
        c.longitude,
        c.latitude,
        rooms(c.bedrooms),
        rooms(c.bathrooms),
        property.status.as_str(),
        property.is_verified,
        property.rentory_managed,
        &c.amenities,
        &property.photo_urls,
        property.analysis_id,
        property.created_at,
    )
    .execute(&mut *conn)
    .await?;
    write_land_details(conn, property.id, c.land_details.as_ref()).await
}

/// Replaces a listing's content and platform fields (the caller checked who may).
#[tracing::instrument(skip_all, fields(property_id = %property.id))]
pub async fn update(conn: &mut PgConnection, property: &Property) -> Result<(), Error> {
    let c = &property.content;
    sqlx::query!(
        r#"UPDATE listings.properties SET
             category = $2, title = $3, description = $4, neighborhood_description = $5,
             price_kobo = $6, rent_period = $7, address = $8,
             coordinates = ST_SetSRID(ST_MakePoint($9, $10), 4326)::geography,
             bedrooms = $11, bathrooms = $12, status = $13, is_verified = $14,
             rentory_managed = $15, amenities = $16, updated_at = $17
           WHERE id = $1"#,
        property.id,
        c.category.as_str(),
        c.title,
        c.description,
        c.neighborhood_description,
        c.price_kobo,
        c.rent_period.as_str(),
        c.address,
        c.longitude,
        c.latitude,
        rooms(c.bedrooms),
        rooms(c.bathrooms),
        property.status.as_str(),
        property.is_verified,
        property.rentory_managed,
        &c.amenities,
        property.updated_at,
    )
    .execute(&mut *conn)
    .await?;
    write_land_details(conn, property.id, c.land_details.as_ref()).await
}

async fn write_land_details(
    conn: &mut PgConnection,
    property_id: Uuid,
    land: Option<&LandDetails>,
) -> Result<(), Error> {
    match land {
        Some(land) => {
            sqlx::query!(
                r#"INSERT INTO listings.land_details (property_id, size, unit, dimensions, zoning)
                   VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (property_id) DO UPDATE
                   SET size = EXCLUDED.size, unit = EXCLUDED.unit,
                       dimensions = EXCLUDED.dimensions, zoning = EXCLUDED.zoning"#,
                property_id,
                land.size,
                land.unit.as_str(),
                land.dimensions,
                land.zoning,
            )
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query!(
                "DELETE FROM listings.land_details WHERE property_id = $1",
                property_id
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// One rating: a tenant's (replacing their earlier one) or the AI audit's.
pub struct RatingRow {
    pub rater_id: Option<Uuid>,
    pub security: Option<u8>,
    pub power: Option<u8>,
    pub neighborhood: Option<u8>,
}

/// Records a rating and recomputes the listing's averages in the same transaction.
#[tracing::instrument(skip_all, fields(property_id = %property_id))]
pub async fn rate(
    conn: &mut PgConnection,
    property_id: Uuid,
    rating: &RatingRow,
) -> Result<(), Error> {
    let score = |v: Option<u8>| v.map(i16::from);
    match rating.rater_id {
        Some(rater) => {
            sqlx::query!(
                r#"INSERT INTO listings.property_ratings
                     (id, property_id, source, rater_id, security, power, neighborhood)
                   VALUES ($1, $2, 'TENANT', $3, $4, $5, $6)
                   ON CONFLICT (property_id, rater_id) WHERE source = 'TENANT' DO UPDATE
                   SET security = EXCLUDED.security, power = EXCLUDED.power,
                       neighborhood = EXCLUDED.neighborhood, updated_at = now()"#,
                Uuid::now_v7(),
                property_id,
                rater,
                score(rating.security),
                score(rating.power),
                score(rating.neighborhood),
            )
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query!(
                r#"INSERT INTO listings.property_ratings
                     (id, property_id, source, rater_id, security, power, neighborhood)
                   VALUES ($1, $2, 'AI_AUDIT', NULL, $3, $4, $5)
                   ON CONFLICT (property_id) WHERE source = 'AI_AUDIT' DO UPDATE
                   SET security = EXCLUDED.security, power = EXCLUDED.power,
                       neighborhood = EXCLUDED.neighborhood, updated_at = now()"#,
                Uuid::now_v7(),
                property_id,
                score(rating.security),
                score(rating.power),
                score(rating.neighborhood),
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    sqlx::query!(
        r#"UPDATE listings.properties p SET
             rating_security = a.security, rating_power = a.power,
             rating_neighborhood = a.neighborhood, rating_reviews = a.reviews,
             ai_audited = a.audited
           FROM (SELECT avg(security)::float8 AS security, avg(power)::float8 AS power,
                        avg(neighborhood)::float8 AS neighborhood,
                        (count(*) FILTER (WHERE source = 'TENANT'))::int AS reviews,
                        bool_or(source = 'AI_AUDIT') AS audited
                 FROM listings.property_ratings WHERE property_id = $1) a
           WHERE p.id = $1"#,
        property_id,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
