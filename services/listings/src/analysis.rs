//! Photo analyses (spec 3.2): what the AI orchestrator drafted from a landlord's photos,
//! with the comparable listings this service found nearby, kept until the landlord
//! publishes a listing from it.

use rentory_persona::{Category, RentPeriod};
use rentory_proto::ai::v1 as ai;
use rentory_proto::listings::v1 as pb;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Error;
use crate::photos::Stored;
use crate::property::rules::{LandDetailsFields, ListingFields};

pub const MAX_NOTES_CHARS: usize = 2000;
pub const MAX_ADDRESS_CHARS: usize = 300;
/// Comparables are the nearest active listings within this distance...
pub const COMPARABLE_RADIUS_M: f64 = 5_000.0;
/// ...and at most this many of them; the AI orchestrator keeps those of the analysed
/// listing's category, rent period and bedroom count and takes their median price.
pub const MAX_COMPARABLES: i64 = 40;

/// Where the photographed property is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    /// Sent by the landlord's app (the listing's own point), not a gazetteer centre.
    pub exact: bool,
}

/// Where the photographed property is: the coordinates the landlord's app sent, or the
/// gazetteer place the address names (its centre: good enough for comparables, not for
/// the listing, which asks for exact coordinates).
pub fn locate(
    latitude: Option<f64>,
    longitude: Option<f64>,
    address: &str,
) -> Result<Option<Location>, Error> {
    match (latitude, longitude) {
        (Some(lat), Some(lng)) => {
            crate::discover::area::check_point(lat, lng)
                .map_err(|(field, why)| Error::invalid(field, why))?;
            Ok(Some(Location {
                latitude: lat,
                longitude: lng,
                exact: true,
            }))
        }
        (None, None) => Ok(rentory_places::Gazetteer::shipped()
            .place_for_address(address)
            .map(|place| Location {
                latitude: place.latitude,
                longitude: place.longitude,
                exact: false,
            })),
        _ => Err(Error::invalid(
            "latitude",
            "send latitude and longitude together, or neither",
        )),
    }
}

/// The nearest active listings around `(latitude, longitude)`, as comparables.
#[tracing::instrument(skip_all)]
pub async fn comparables(
    db: impl PgExecutor<'_>,
    latitude: f64,
    longitude: f64,
) -> Result<Vec<ai::Comparable>, Error> {
    let rows = sqlx::query!(
        r#"WITH origin AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography AS g)
           SELECT p.price_kobo, p.rent_period, p.bedrooms, p.category,
                  (p.coordinates <-> o.g) AS "distance_m!"
           FROM listings.properties p, origin o
           WHERE p.status = 'ACTIVE' AND ST_DWithin(p.coordinates, o.g, $3)
           ORDER BY p.coordinates <-> o.g
           LIMIT $4"#,
        longitude,
        latitude,
        COMPARABLE_RADIUS_M,
        MAX_COMPARABLES,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ai::Comparable {
            price_kobo: r.price_kobo,
            rent_period: r.rent_period,
            bedrooms: r.bedrooms.and_then(|b| u32::try_from(b).ok()),
            distance_km: r.distance_m / 1000.0,
            category: r.category,
        })
        .collect())
}

/// A stored analysis.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub id: Uuid,
    pub landlord_id: Uuid,
    pub category: Category,
    pub title: String,
    pub description: String,
    pub amenities: Vec<String>,
    pub neighborhood_description: String,
    pub suggested_price_kobo: Option<i64>,
    pub rent_period: RentPeriod,
    pub bedrooms: Option<u32>,
    pub bathrooms: Option<u32>,
    pub confidence: f64,
    pub model: String,
    pub reasons: Vec<String>,
    pub photo_urls: Vec<String>,
    pub notes: String,
    pub address: String,
    pub location: Option<Location>,
    pub comparables: u32,
    pub created_at: OffsetDateTime,
}

impl Analysis {
    /// Builds the record from the AI answer, clamping what the tables constrain. The
    /// orchestrator already checks its answers; this keeps a bad one from failing the
    /// insert after the photos are stored.
    pub fn from_answer(
        landlord_id: Uuid,
        answer: ai::AnalyzePhotosResponse,
        photos: &[Stored],
        notes: String,
        address: String,
        location: Option<Location>,
        comparables: usize,
    ) -> Result<Self, Error> {
        let category = Category::parse(&answer.category)
            .ok_or_else(|| Error::Corrupt(format!("AI category {:?}", answer.category)))?;
        let rent_period = match (category, RentPeriod::parse(&answer.rent_period)) {
            (Category::Shortlet, _) => RentPeriod::Night,
            (c, Some(p)) if crate::property::rules::night_rule_holds(c, p) => p,
            _ => RentPeriod::Year,
        };
        let rooms = |n: Option<u32>| n.filter(|n| *n <= 50);
        Ok(Self {
            id: Uuid::now_v7(),
            landlord_id,
            category,
            title: answer.title,
            description: answer.description,
            amenities: answer.amenities,
            neighborhood_description: answer.neighborhood_description,
            suggested_price_kobo: answer.suggested_price_kobo.filter(|p| *p > 0),
            rent_period,
            bedrooms: rooms(answer.bedrooms),
            bathrooms: rooms(answer.bathrooms),
            confidence: if answer.confidence.is_finite() {
                answer.confidence.clamp(0.0, 1.0)
            } else {
                0.0
            },
            model: answer.model,
            reasons: answer.reasons,
            photo_urls: photos.iter().map(|p| p.url.clone()).collect(),
            notes,
            address,
            location,
            comparables: u32::try_from(comparables).unwrap_or(u32::MAX),
            created_at: OffsetDateTime::now_utc(),
        })
    }

    /// The listing fields an analysis proposes; the landlord's request overrides them.
    pub fn proposal(&self) -> ListingFields {
        ListingFields {
            category: Some(self.category.as_str().to_owned()),
            title: Some(self.title.clone()),
            description: Some(self.description.clone()),
            neighborhood_description: Some(self.neighborhood_description.clone()),
            price_kobo: self.suggested_price_kobo,
            rent_period: Some(self.rent_period.as_str().to_owned()),
            address: (!self.address.is_empty()).then(|| self.address.clone()),
            // A gazetteer centre is not the property's location: the landlord gives it.
            latitude: self.location.filter(|l| l.exact).map(|l| l.latitude),
            longitude: self.location.filter(|l| l.exact).map(|l| l.longitude),
            bedrooms: self.bedrooms,
            bathrooms: self.bathrooms,
            amenities: Some(self.amenities.clone()),
            land_details: None::<LandDetailsFields>,
        }
    }

    pub fn to_proto(&self) -> pb::Analysis {
        pb::Analysis {
            id: self.id.to_string(),
            category: self.category.as_str().to_owned(),
            title: self.title.clone(),
            description: self.description.clone(),
            amenities: self.amenities.clone(),
            neighborhood_description: self.neighborhood_description.clone(),
            suggested_price_kobo: self.suggested_price_kobo,
            rent_period: self.rent_period.as_str().to_owned(),
            bedrooms: self.bedrooms,
            bathrooms: self.bathrooms,
            confidence: self.confidence,
            model: self.model.clone(),
            reasons: self.reasons.clone(),
            photo_urls: self.photo_urls.clone(),
            address: self.address.clone(),
            latitude: self.location.map(|l| l.latitude),
            longitude: self.location.map(|l| l.longitude),
            comparables: self.comparables,
            created_at: Some(rentory_proto::timestamp(self.created_at)),
        }
    }
}

fn rooms(n: Option<u32>) -> Option<i16> {
    n.and_then(|n| i16::try_from(n).ok())
}

/// Writes the analysis and its photo records.
#[tracing::instrument(skip_all, fields(analysis_id = %a.id))]
pub async fn insert(conn: &mut PgConnection, a: &Analysis, photos: &[Stored]) -> Result<(), Error> {
    sqlx::query!(
        r#"INSERT INTO listings.analyses
             (id, landlord_id, category, title, description, amenities, neighborhood_description,
              suggested_price_kobo, rent_period, bedrooms, bathrooms, confidence, model, reasons,
              photo_urls, notes, address, coordinates, coordinates_exact, comparables, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                   CASE WHEN $18::float8 IS NULL THEN NULL
                        ELSE ST_SetSRID(ST_MakePoint($18, $19), 4326)::geography END,
                   $20, $21, $22)"#,
        a.id,
        a.landlord_id,
        a.category.as_str(),
        a.title,
        a.description,
        &a.amenities,
        a.neighborhood_description,
        a.suggested_price_kobo,
        a.rent_period.as_str(),
        rooms(a.bedrooms),
        rooms(a.bathrooms),
        a.confidence,
        a.model,
        &a.reasons,
        &a.photo_urls,
        a.notes,
        a.address,
        a.location.map(|l| l.longitude),
        a.location.map(|l| l.latitude),
        a.location.is_some_and(|l| l.exact),
        i32::try_from(a.comparables).unwrap_or(i32::MAX),
        a.created_at,
    )
    .execute(&mut *conn)
    .await?;
    for (position, stored) in photos.iter().enumerate() {
        sqlx::query!(
            r#"INSERT INTO listings.photos
                 (id, analysis_id, position, object_key, url, sha256, width, height, bytes)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"#,
            Uuid::now_v7(),
            a.id,
            i16::try_from(position).unwrap_or(i16::MAX),
            stored.key.as_str(),
            stored.url,
            &stored.photo.sha256[..],
            i32::try_from(stored.photo.width).unwrap_or(i32::MAX),
            i32::try_from(stored.photo.height).unwrap_or(i32::MAX),
            i32::try_from(stored.photo.bytes.len()).unwrap_or(i32::MAX),
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The landlord's own analysis (someone else's is "not found"), and the listing already
/// published from it, if any.
pub async fn find_for_landlord(
    db: impl PgExecutor<'_>,
    id: Uuid,
    landlord_id: Uuid,
) -> Result<(Analysis, Option<Uuid>), Error> {
    let r = sqlx::query!(
        r#"SELECT a.id, a.landlord_id, a.category, a.title, a.description, a.amenities,
                  a.neighborhood_description, a.suggested_price_kobo, a.rent_period, a.bedrooms,
                  a.bathrooms, a.confidence, a.model, a.reasons, a.photo_urls, a.notes, a.address,
                  ST_Y(a.coordinates::geometry) AS latitude, ST_X(a.coordinates::geometry) AS longitude,
                  a.coordinates_exact, a.comparables, a.created_at,
                  (SELECT p.id FROM listings.properties p WHERE p.analysis_id = a.id LIMIT 1) AS published_as
           FROM listings.analyses a
           WHERE a.id = $1 AND a.landlord_id = $2"#,
        id,
        landlord_id,
    )
    .fetch_optional(db)
    .await?
    .ok_or(Error::NotFound("analysis"))?;
    let corrupt = |what: &str| Error::Corrupt(format!("analysis {id}: {what}"));
    let analysis = Analysis {
        id: r.id,
        landlord_id: r.landlord_id,
        category: Category::parse(&r.category).ok_or_else(|| corrupt("category"))?,
        title: r.title,
        description: r.description,
        amenities: r.amenities,
        neighborhood_description: r.neighborhood_description,
        suggested_price_kobo: r.suggested_price_kobo,
        rent_period: RentPeriod::parse(&r.rent_period).ok_or_else(|| corrupt("rent period"))?,
        bedrooms: r.bedrooms.and_then(|b| u32::try_from(b).ok()),
        bathrooms: r.bathrooms.and_then(|b| u32::try_from(b).ok()),
        confidence: r.confidence,
        model: r.model,
        reasons: r.reasons,
        photo_urls: r.photo_urls,
        notes: r.notes,
        address: r.address,
        location: r
            .latitude
            .zip(r.longitude)
            .map(|(latitude, longitude)| Location {
                latitude,
                longitude,
                exact: r.coordinates_exact,
            }),
        comparables: u32::try_from(r.comparables).unwrap_or(0),
        created_at: r.created_at,
    };
    Ok((analysis, r.published_as))
}
