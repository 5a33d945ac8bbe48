//! `listings seed`: loads realistic listings around Lagos, Abuja and Port Harcourt, for
//! benchmarks and for trying discovery locally. Not for production data.
//!
//! Listings are scattered in the gazetteer's areas of each city (Lagos 60 %, Abuja 25 %,
//! Port Harcourt 15 %), with the category mix, bedroom counts, prices and amenities of the
//! Nigerian market as the offline AI knows them; a share carries ratings and the verified
//! mark. The landlords are made-up ids with no identity account, so their contacts cannot
//! be unlocked, and the listings have no photos. Generation is deterministic in `seed`.
//! Rows go in with one multi-row INSERT per batch; no events are published (nobody should
//! be alerted about test listings).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rentory_persona::Category;
use rentory_places::{Gazetteer, Place};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::Error;

const BATCH: usize = 5_000;

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub count: usize,
    pub landlords: usize,
    pub seed: u64,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self {
            count: 100_000,
            landlords: 2_000,
            seed: 42,
        }
    }
}

/// City, share of listings, and how its rents compare with Lagos.
const CITIES: [(&str, f64, f64); 3] = [
    ("Lagos", 0.60, 1.0),
    ("Abuja", 0.25, 0.9),
    ("Port Harcourt", 0.15, 0.6),
];

/// Areas where rent runs well above the city's typical level.
const PRIME_AREAS: [&str; 8] = [
    "Ikoyi",
    "Victoria Island",
    "Banana Island",
    "Lekki Phase 1",
    "Maitama",
    "Asokoro",
    "Old GRA",
    "Eko Atlantic",
];

const AMENITIES: [&str; 16] = [
    "Standby generator",
    "Solar inverter",
    "Prepaid meter",
    "Borehole water",
    "24/7 security",
    "Gated estate",
    "CCTV",
    "Parking space",
    "Fitted kitchen",
    "Wardrobes",
    "Boys' quarters",
    "Swimming pool",
    "Gym",
    "Furnished",
    "Serviced",
    "Fibre internet",
];

struct Row {
    id: Uuid,
    landlord_id: Uuid,
    category: Category,
    title: String,
    description: String,
    neighborhood_description: String,
    price_kobo: i64,
    rent_period: &'static str,
    address: String,
    latitude: f64,
    longitude: f64,
    bedrooms: Option<i16>,
    bathrooms: Option<i16>,
    is_verified: bool,
    amenities: String,
    ratings: Option<(f64, f64, f64, i32)>,
    created_at: OffsetDateTime,
}

/// Connects to `database_url`, applies the listings migrations, and seeds.
pub async fn run(
    database_url: &secrecy::SecretString,
    options: &SeedOptions,
) -> Result<usize, Error> {
    let pool = rentory_runtime::db::connect_postgis(database_url, crate::SCHEMA, 4).await?;
    rentory_runtime::db::migrate(&pool, crate::SCHEMA, &crate::MIGRATOR).await?;
    let written = seed(&pool, options).await;
    pool.close().await;
    written
}

/// Inserts `options.count` listings; returns how many were written.
pub async fn seed(pool: &PgPool, options: &SeedOptions) -> Result<usize, Error> {
    let gazetteer = Gazetteer::shipped();
    let cities: Vec<(Vec<&Place>, f64, f64)> = CITIES
        .iter()
        .map(|(city, share, level)| (gazetteer.areas_in(city), *share, *level))
        .filter(|(areas, _, _)| !areas.is_empty())
        .collect();
    if cities.is_empty() {
        return Err(Error::Corrupt(
            "the gazetteer names no areas to seed".into(),
        ));
    }
    let mut rng = StdRng::seed_from_u64(options.seed);
    let landlords: Vec<Uuid> = (0..options.landlords.max(1))
        .map(|_| Uuid::from_u128(rng.r#gen()))
        .collect();
    let now = OffsetDateTime::now_utc();
    let mut written = 0;
    while written < options.count {
        let n = BATCH.min(options.count - written);
        let rows: Vec<Row> = (0..n)
            .map(|_| listing(&mut rng, &cities, &landlords, now))
            .collect();
        insert(pool, &rows).await?;
        written += n;
        tracing::info!(written, of = options.count, "seeding listings");
    }
    sqlx::query("ANALYZE listings.properties")
        .execute(pool)
        .await?;
    Ok(written)
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

fn listing(
    rng: &mut StdRng,
    cities: &[(Vec<&Place>, f64, f64)],
    landlords: &[Uuid],
    now: OffsetDateTime,
) -> Row {
    let total: f64 = cities.iter().map(|(_, share, _)| share).sum();
    let mut draw = rng.gen_range(0.0..total);
    let mut city = &cities[0];
    for c in cities {
        if draw < c.1 {
            city = c;
            break;
        }
        draw -= c.1;
    }
    let (areas, _, level) = city;
    let area = *pick(rng, areas);
    // Uniform over the area's disc: sqrt keeps the centre from crowding.
    let distance_km = area.radius_km.max(0.5) * rng.gen_range(0.0_f64..1.0).sqrt();
    let bearing = rng.gen_range(0.0..std::f64::consts::TAU);
    let latitude = area.latitude + distance_km / 111.32 * bearing.cos();
    let longitude =
        area.longitude + distance_km / (111.32 * area.latitude.to_radians().cos()) * bearing.sin();
    let prime = if PRIME_AREAS.contains(&area.name.as_str()) {
        2.5
    } else {
        1.0
    };
    let level = level * prime * rng.gen_range(0.7..1.4);

    let category = match rng.gen_range(0..100) {
        0..70 => Category::Residential,
        70..80 => Category::Shortlet,
        80..90 => Category::Commercial,
        90..97 => Category::Land,
        _ => Category::EventCenter,
    };
    let bedrooms: Option<i16> = match category {
        Category::Residential | Category::Shortlet => {
            Some(*pick(rng, &[1, 1, 2, 2, 2, 3, 3, 4, 5]))
        }
        _ => None,
    };
    let naira = |amount: f64| (amount * level * 100.0).round() as i64;
    let (price_kobo, rent_period) = match category {
        Category::Residential => {
            let beds = f64::from(bedrooms.unwrap_or(1));
            (naira(900_000.0 + beds * 1_100_000.0), "YEAR")
        }
        Category::Shortlet => {
            let beds = f64::from(bedrooms.unwrap_or(1));
            (naira(30_000.0 + beds * 20_000.0), "NIGHT")
        }
        Category::Commercial => (naira(rng.gen_range(2_000_000.0..20_000_000.0)), "YEAR"),
        Category::Land => (naira(rng.gen_range(800_000.0..8_000_000.0)), "YEAR"),
        Category::EventCenter => (naira(rng.gen_range(300_000.0..2_500_000.0)), "NIGHT"),
    };
    let mut amenities: Vec<&str> = Vec::new();
    if category != Category::Land {
        for amenity in AMENITIES {
            if rng.gen_bool(0.3) {
                amenities.push(amenity);
            }
        }
    }
    let kind = match category {
        Category::Residential => format!("{}-bedroom flat", bedrooms.unwrap_or(1)),
        Category::Shortlet => format!("{}-bedroom shortlet apartment", bedrooms.unwrap_or(1)),
        Category::Commercial => "Shop / office space".to_owned(),
        Category::Land => format!("{} plots of land", rng.gen_range(1..6)),
        Category::EventCenter => "Event hall".to_owned(),
    };
    let ratings = rng.gen_bool(0.4).then(|| {
        (
            rng.gen_range(2.5..5.0),
            rng.gen_range(1.5..5.0),
            rng.gen_range(2.5..5.0),
            rng.gen_range(1..30),
        )
    });
    Row {
        id: Uuid::now_v7(),
        landlord_id: *pick(rng, landlords),
        category,
        title: format!("{kind} in {}", area.name),
        description: format!(
            "{kind} in {}, {}. Seeded listing for benchmarks.",
            area.name, area.city
        ),
        neighborhood_description: area.description.clone(),
        price_kobo,
        rent_period,
        address: format!(
            "{} Road, {}, {}",
            rng.gen_range(1..200),
            area.name,
            area.city
        ),
        latitude,
        longitude,
        bedrooms,
        bathrooms: bedrooms.map(|b| b + i16::from(rng.gen_bool(0.5))),
        is_verified: rng.gen_bool(0.2),
        amenities: amenities.join("|"),
        ratings,
        created_at: now - Duration::minutes(rng.gen_range(0..180 * 24 * 60)),
    }
}

async fn insert(pool: &PgPool, rows: &[Row]) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    let col = |f: fn(&Row) -> String| rows.iter().map(f).collect::<Vec<String>>();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let landlords: Vec<Uuid> = rows.iter().map(|r| r.landlord_id).collect();
    let categories = col(|r| r.category.as_str().to_owned());
    let titles = col(|r| r.title.clone());
    let descriptions = col(|r| r.description.clone());
    let neighborhoods = col(|r| r.neighborhood_description.clone());
    let prices: Vec<i64> = rows.iter().map(|r| r.price_kobo).collect();
    let periods = col(|r| r.rent_period.to_owned());
    let addresses = col(|r| r.address.clone());
    let latitudes: Vec<f64> = rows.iter().map(|r| r.latitude).collect();
    let longitudes: Vec<f64> = rows.iter().map(|r| r.longitude).collect();
    let bedrooms: Vec<Option<i16>> = rows.iter().map(|r| r.bedrooms).collect();
    let bathrooms: Vec<Option<i16>> = rows.iter().map(|r| r.bathrooms).collect();
    let verified: Vec<bool> = rows.iter().map(|r| r.is_verified).collect();
    let amenities = col(|r| r.amenities.clone());
    let security: Vec<Option<f64>> = rows.iter().map(|r| r.ratings.map(|x| x.0)).collect();
    let power: Vec<Option<f64>> = rows.iter().map(|r| r.ratings.map(|x| x.1)).collect();
    let neighborhood: Vec<Option<f64>> = rows.iter().map(|r| r.ratings.map(|x| x.2)).collect();
    let reviews: Vec<i32> = rows.iter().map(|r| r.ratings.map_or(0, |x| x.3)).collect();
    let created: Vec<OffsetDateTime> = rows.iter().map(|r| r.created_at).collect();
    sqlx::query!(
        r#"INSERT INTO listings.properties
             (id, landlord_id, category, title, description, neighborhood_description,
              price_kobo, rent_period, address, coordinates, bedrooms, bathrooms, is_verified,
              amenities, rating_security, rating_power, rating_neighborhood, rating_reviews,
              created_at, updated_at)
           SELECT u.id, u.landlord_id, u.category, u.title, u.description, u.neighborhood,
                  u.price, u.period, u.address,
                  ST_SetSRID(ST_MakePoint(u.lng, u.lat), 4326)::geography,
                  u.bedrooms, u.bathrooms, u.verified,
                  COALESCE(string_to_array(NULLIF(u.amenities, ''), '|'), '{}'),
                  u.security, u.power, u.neighborhood_rating, u.reviews, u.created, u.created
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                       $7::int8[], $8::text[], $9::text[], $10::float8[], $11::float8[],
                       $12::int2[], $13::int2[], $14::bool[], $15::text[], $16::float8[],
                       $17::float8[], $18::float8[], $19::int4[], $20::timestamptz[])
                AS u(id, landlord_id, category, title, description, neighborhood, price, period,
                     address, lat, lng, bedrooms, bathrooms, verified, amenities, security,
                     power, neighborhood_rating, reviews, created)"#,
        &ids,
        &landlords,
        &categories,
        &titles,
        &descriptions,
        &neighborhoods,
        &prices,
        &periods,
        &addresses,
        &latitudes,
        &longitudes,
        &bedrooms as &[Option<i16>],
        &bathrooms as &[Option<i16>],
        &verified,
        &amenities,
        &security as &[Option<f64>],
        &power as &[Option<f64>],
        &neighborhood as &[Option<f64>],
        &reviews,
        &created,
    )
    .execute(&mut *tx)
    .await?;
    // Land needs its details (the service's rule; the seed follows it).
    sqlx::query!(
        r#"INSERT INTO listings.land_details (property_id, size, unit, dimensions, zoning)
           SELECT id, 1 + (abs(hashtext(id::text)) % 5), 'PLOTS', '15m x 30m per plot', 'Residential'
           FROM listings.properties
           WHERE id = ANY($1) AND category = 'LAND'"#,
        &ids,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
