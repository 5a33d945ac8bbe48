//! `Discover`: active listings in an area, ranked for the caller.
//!
//! Ranking every listing in a radius by score grows with the number of hits (a city has
//! tens of thousands). Instead, listings are taken nearest-first from the spatial index in
//! windows of `window` rows (a KNN `<->` scan bounded by `ST_DWithin`, so the index stops at
//! the radius), each window is ranked by [`score::match_score`], and pages are cut from the
//! ranked window. A page ends where its window ends (it may be shorter than `limit` there),
//! so every page is in score order; the next page starts the next window.
//!
//! The cursor ([`cursor::Cursor`]) names the window (its nearest-first start) and the last
//! (score, id) served in it, so for the same data and persona, pages never repeat or skip a
//! listing however the scores interleave. The price is that a well-matching listing far
//! away ranks after the nearer window; with a window of 100 in a city that is the right
//! trade (the persona's own places bound what "near" means anyway).

pub mod area;
pub mod cursor;
pub mod score;

use rentory_persona::{Category, Persona, RentPeriod};
use sqlx::PgPool;
use uuid::Uuid;

use self::area::Area;
use self::cursor::Cursor;
use self::score::{Candidate, Match, RatingAverages, SearchContext};
use crate::error::Error;
use crate::property::{self, Property};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 50;
/// Windows ranked per request at most, so one request's cost stays bounded.
const MAX_WINDOWS_PER_PAGE: usize = 2;

/// A checked discovery query.
#[derive(Debug, Clone)]
pub struct Query {
    pub area: Area,
    pub category: Option<Category>,
    pub min_price_kobo: Option<i64>,
    pub max_price_kobo: Option<i64>,
    pub min_bedrooms: Option<u32>,
    pub limit: u32,
}

impl Query {
    /// Every filter, in a fixed text form: cursors are bound to it.
    pub fn canonical(&self) -> String {
        let a = &self.area;
        format!(
            "v1|{:.7}|{:.7}|{:.4}|{:?}|{}|{:?}|{:?}|{:?}|{:?}",
            a.latitude,
            a.longitude,
            a.radius_km,
            a.bbox.map(|b| (
                b.min_longitude,
                b.min_latitude,
                b.max_longitude,
                b.max_latitude
            )),
            a.polygon.as_ref().map_or("", |p| p.geojson.as_str()),
            self.category.map(Category::as_str),
            self.min_price_kobo,
            self.max_price_kobo,
            self.min_bedrooms,
        )
    }
}

/// One ranked listing.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub property: Property,
    pub matched: Match,
    pub distance_km: f64,
}

#[derive(Debug)]
pub struct Page {
    pub items: Vec<Ranked>,
    pub next: Option<Cursor>,
}

/// What ranking needs of a listing: the scoring columns only, no text.
pub struct CandidateRow {
    id: Uuid,
    knn_m: f64,
    category: String,
    price_kobo: i64,
    rent_period: String,
    bedrooms: Option<i16>,
    amenities: Vec<String>,
    latitude: f64,
    longitude: f64,
    rating_security: Option<f64>,
    rating_power: Option<f64>,
    rating_neighborhood: Option<f64>,
    rating_reviews: i32,
    is_verified: bool,
    photos: i32,
}

impl CandidateRow {
    fn rank(&self, persona: Option<&Persona>, search: &SearchContext) -> Option<Match> {
        let candidate = Candidate {
            category: Category::parse(&self.category)?,
            price_kobo: self.price_kobo,
            rent_period: RentPeriod::parse(&self.rent_period)?,
            bedrooms: self.bedrooms.and_then(|b| u32::try_from(b).ok()),
            amenities: &self.amenities,
            latitude: self.latitude,
            longitude: self.longitude,
            distance_km: self.knn_m / 1000.0,
            ratings: RatingAverages {
                security: self.rating_security,
                power: self.rating_power,
                neighborhood: self.rating_neighborhood,
                reviews: u32::try_from(self.rating_reviews).unwrap_or(0),
            },
            is_verified: self.is_verified,
            photo_count: usize::try_from(self.photos).unwrap_or(0),
        };
        Some(score::match_score(persona, &candidate, search))
    }
}

/// Listings that tie at one distance, read at most when a whole window ties (a tower block
/// of listings at one point); more than this at one exact point are not served.
const MAX_TIED: i64 = 10_000;

/// The next window: the nearest `size` active listings after `after` in (distance, id)
/// order, within the area and filters, sorted that way; and whether more may follow.
///
/// The spatial index yields rows by distance alone: asking it to break ties by id as well
/// makes Postgres read and sort every listing in the radius (37 ms instead of 0.8 ms at
/// 100,000 listings). So the window is cut by distance, and rows tying with its last
/// distance (which LIMIT may have split arbitrarily) are left to the next window, whose
/// `(distance, id) > after` condition picks them all up. Only when a whole window ties are
/// the tied rows read in full and ordered by id.
#[tracing::instrument(skip_all, fields(size))]
async fn window(
    pool: &PgPool,
    query: &Query,
    after: Option<(f64, Uuid)>,
    size: u32,
) -> Result<(Vec<CandidateRow>, bool), Error> {
    let size_rows = usize::try_from(size).unwrap_or(usize::MAX);
    let mut rows = nearest(pool, query, after, i64::from(size), None).await?;
    if rows.len() < size_rows {
        return Ok((rows, false));
    }
    let Some(last) = rows.last().map(|r| r.knn_m) else {
        return Ok((rows, false));
    };
    if let Some(keep) = rows.iter().rposition(|r| r.knn_m != last) {
        rows.truncate(keep + 1);
        return Ok((rows, true));
    }
    let mut tied = nearest(pool, query, after, MAX_TIED, Some(last)).await?;
    if i64::try_from(tied.len()).unwrap_or(i64::MAX) == MAX_TIED {
        tracing::warn!(
            distance_m = last,
            "more listings at one point than discovery serves"
        );
    }
    tied.truncate(size_rows);
    // Farther listings may follow the tied ones: the next window finds out.
    Ok((tied, true))
}

/// Up to `limit` active listings nearest-first after `after`, optionally only those at
/// exactly `tied_at` metres; returned in (distance, id) order. Public for the benchmark,
/// whose baseline is this query alone.
pub async fn nearest(
    pool: &PgPool,
    query: &Query,
    after: Option<(f64, Uuid)>,
    limit: i64,
    tied_at: Option<f64>,
) -> Result<Vec<CandidateRow>, Error> {
    let a = &query.area;
    let bbox = a.bbox;
    // ST_DWithin on the sphere (`false`), like `<->`: the spheroid costs 10-25 % more and
    // moves a 10 km edge by metres.
    let mut rows = sqlx::query_as!(
        CandidateRow,
        r#"WITH origin AS (
             SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography AS g
           )
           SELECT p.id, (p.coordinates <-> o.g) AS "knn_m!", p.category, p.price_kobo,
                  p.rent_period, p.bedrooms, p.amenities,
                  ST_Y(p.coordinates::geometry) AS "latitude!",
                  ST_X(p.coordinates::geometry) AS "longitude!",
                  p.rating_security, p.rating_power, p.rating_neighborhood, p.rating_reviews,
                  p.is_verified, cardinality(p.photo_urls) AS "photos!"
           FROM listings.properties p, origin o
           WHERE p.status = 'ACTIVE'
             AND ST_DWithin(p.coordinates, o.g, $3, false)
             AND ($4::float8 IS NULL
                  OR p.coordinates::geometry && ST_MakeEnvelope($4, $5, $6, $7, 4326))
             AND ($8::text IS NULL
                  OR ST_Covers((SELECT ST_SetSRID(ST_GeomFromGeoJSON($8::text), 4326)),
                               p.coordinates::geometry))
             AND ($9::text IS NULL OR p.category = $9)
             AND ($10::int8 IS NULL OR p.price_kobo >= $10)
             AND ($11::int8 IS NULL OR p.price_kobo <= $11)
             AND ($12::int2 IS NULL OR p.bedrooms >= $12)
             AND ($13::float8 IS NULL OR ((p.coordinates <-> o.g), p.id) > ($13, $14::uuid))
             AND ($16::float8 IS NULL OR (p.coordinates <-> o.g) = $16)
           ORDER BY p.coordinates <-> o.g
           LIMIT $15"#,
        a.longitude,
        a.latitude,
        a.radius_km * 1000.0,
        bbox.map(|b| b.min_longitude),
        bbox.map(|b| b.min_latitude),
        bbox.map(|b| b.max_longitude),
        bbox.map(|b| b.max_latitude),
        a.polygon.as_ref().map(|p| p.geojson.as_str()),
        query.category.map(Category::as_str),
        query.min_price_kobo,
        query.max_price_kobo,
        query
            .min_bedrooms
            .map(|b| i16::try_from(b).unwrap_or(i16::MAX)),
        after.map(|(d, _)| d),
        after.map(|(_, id)| id),
        limit,
        tied_at,
    )
    .fetch_all(pool)
    .await?;
    rows.sort_by(|x, y| x.knn_m.total_cmp(&y.knn_m).then(x.id.cmp(&y.id)));
    Ok(rows)
}

/// One page of `query` for a caller with `persona`, from `cursor` on.
pub async fn page(
    pool: &PgPool,
    query: &Query,
    persona: Option<&Persona>,
    cursor: Option<Cursor>,
    window_size: u32,
) -> Result<Page, Error> {
    let fingerprint = cursor::query_fingerprint(&query.canonical());
    let persona_version = persona.map_or(0, |p| p.version);
    if let Some(c) = &cursor {
        // Ranking depends on the persona: a cursor from before it changed would repeat or
        // skip listings, so the client starts again instead.
        c.check_for(fingerprint, persona_version)
            .map_err(|e| Error::invalid("cursor", e.to_string()))?;
    }
    let search = SearchContext {
        radius_km: query.area.radius_km,
    };
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let mut window_after = cursor.as_ref().and_then(|c| c.window_after);
    let mut page_after = cursor.as_ref().and_then(|c| c.page_after);
    let mut picked: Vec<(CandidateRow, Match)> = Vec::new();
    let mut next: Option<Cursor> = None;

    for round in 0..MAX_WINDOWS_PER_PAGE {
        let (rows, full) = window(pool, query, window_after, window_size).await?;
        let window_end = rows.last().map(|r| (r.knn_m, r.id));
        let mut ranked: Vec<(CandidateRow, Match)> = rows
            .into_iter()
            .filter_map(|row| {
                let matched = row.rank(persona, &search)?;
                Some((row, matched))
            })
            .collect();
        ranked.sort_by(|(a, am), (b, bm)| score::page_order((am.score, a.id), (bm.score, b.id)));
        let remaining = ranked.into_iter().skip_while(|(row, m)| {
            page_after.is_some_and(|after| {
                score::page_order((m.score, row.id), after) != std::cmp::Ordering::Greater
            })
        });
        let wanted = limit - picked.len();
        let mut more_in_window = false;
        for (taken, item) in remaining.enumerate() {
            if taken == wanted {
                more_in_window = true;
                break;
            }
            picked.push(item);
        }
        if more_in_window {
            // The page ends inside this window: go on after its last item.
            next = picked.last().map(|(row, m)| Cursor {
                window_after,
                page_after: Some((m.score, row.id)),
                persona_version,
                query: fingerprint,
            });
            break;
        }
        // This window is used up.
        if !full {
            break; // and it was the last one
        }
        window_after = window_end;
        page_after = None;
        // A page never mixes two windows, so every page is in score order; it may be short
        // where a window ends. Only a window that had nothing left (its listings archived
        // since the cursor was made) is skipped within one request.
        if !picked.is_empty() || round + 1 == MAX_WINDOWS_PER_PAGE {
            next = Some(Cursor {
                window_after,
                page_after: None,
                persona_version,
                query: fingerprint,
            });
            break;
        }
    }

    let ids: Vec<Uuid> = picked.iter().map(|(row, _)| row.id).collect();
    let mut properties = property::db::find_many(pool, &ids).await?;
    let mut items = Vec::with_capacity(picked.len());
    for (row, matched) in picked {
        // A listing archived between the two reads drops out of this page.
        if let Some(at) = properties.iter().position(|p| p.id == row.id) {
            items.push(Ranked {
                property: properties.swap_remove(at),
                matched,
                distance_km: row.knn_m / 1000.0,
            });
        }
    }
    Ok(Page { items, next })
}
