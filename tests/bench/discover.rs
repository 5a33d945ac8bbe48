//! `make bench` (second part): `GET /properties/discover` through the gateway of a whole
//! stack (release build, real Postgres + PostGIS, Redis and NATS on this machine), with
//! N seeded listings around Lagos, Abuja and Port Harcourt, at 1, 8 and 32 concurrent
//! clients, beside what the same requests cost without the layers above PostGIS, measured
//! in the same run:
//!
//! - `gateway discover`: HTTP, token check + Redis (revocation, rate limit), gRPC to
//!   listings, the persona lookup, one window query, ranking, one query for the page's rows;
//! - `service page()`: `listings::discover::page` called in this process on a pool like the
//!   service's (window query + ranking + page rows): what the gateway and gRPC hop add is
//!   the difference to the line above;
//! - `bare window`: the service's first-window query (`listings::discover::nearest`,
//!   `LIMIT` = the window) with the same filter: the PostGIS floor;
//! - `bare knn 20`: a plain `ORDER BY coordinates <-> point LIMIT 20` over active listings,
//!   for reference.
//!
//! Listings: `RENTORY_BENCH_LISTINGS` (default 100,000), or `-- --listings N`; the 1,000,000
//! run is opt-in: `cargo bench -p rentory-blackbox --bench discover -- --listings 1000000`.
//! `RENTORY_BENCH_WINDOW` runs the stack with another discovery window (default: the
//! service's own, 100) to weigh the window's size.
//! The targets (100,000 listings, 8 clients): p50 < 2 ms, p99 < 10 ms, p99 within 3x of
//! the bare window query's p99.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a broken bench should stop loudly

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rentory_blackbox::TestStack;
use rentory_persona::Persona;
use rentory_places::Gazetteer;
use rentory_stack::Limit;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

const DEFAULT_LISTINGS: usize = 100_000;
/// Concurrent clients, and the requests measured at each level (after a warm-up).
const LEVELS: [(usize, usize); 3] = [(1, 2_000), (8, 4_000), (32, 8_000)];
const WARM_UP_PER_CLIENT: usize = 25;
/// Distinct requests in the mix; each level cycles through all of them.
const MIX: usize = 240;
const LIMIT: u32 = 20;
/// `listings`' own pool size (its `DEFAULT_DB_MAX_CONNECTIONS`), for the in-process tiers.
const SERVICE_POOL: u32 = 16;
const HEALTHZ_SAMPLES: usize = 400;
/// A measured run stops early after this long (a slow path then reports fewer samples).
const MAX_RUN: Duration = Duration::from_secs(30);

/// A copy of the query of `window()` in services/listings/src/discover/mod.rs: keep them
/// the same.
const KNN_SQL: &str = "WITH origin AS (
             SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography AS g
           )
           SELECT p.id, (p.coordinates <-> o.g) AS knn_m
           FROM listings.properties p, origin o
           WHERE p.status = 'ACTIVE'
           ORDER BY p.coordinates <-> o.g
           LIMIT $3";

/// Tenants whose concierge persona the bench publishes: (city, first message).
const PERSONAS: [(&str, &str); 4] = [
    (
        "Lagos",
        "3 bedroom flat in Lekki Phase 1, budget 8m, constant power",
    ),
    ("Lagos", "2 bedroom flat in Yaba, budget 3m, I need parking"),
    (
        "Abuja",
        "3 bedroom flat in Wuse 2, budget 6m, security matters",
    ),
    (
        "Port Harcourt",
        "2 bedroom flat in GRA Port Harcourt, budget 3m, 24/7 light",
    ),
];
const PLAIN_TENANTS: usize = 4;

/// One request of the mix.
#[derive(Debug, Clone)]
struct Spec {
    /// Where the service searches: sent, or taken from the persona when `send_area` is off.
    latitude: f64,
    longitude: f64,
    radius_km: f64,
    send_area: bool,
    category: Option<&'static str>,
    min_price_kobo: Option<i64>,
    max_price_kobo: Option<i64>,
    bedrooms: Option<u32>,
    /// Index into the tenants; the first `PERSONAS.len()` have a persona.
    tenant: usize,
}

impl Spec {
    fn path(&self) -> String {
        let mut query = vec![format!("limit={LIMIT}")];
        if self.send_area {
            query.push(format!("lat={}", self.latitude));
            query.push(format!("lng={}", self.longitude));
            query.push(format!("radius_km={}", self.radius_km));
        }
        if let Some(c) = self.category {
            query.push(format!("category={c}"));
        }
        if let Some(p) = self.min_price_kobo {
            query.push(format!("min_price_kobo={p}"));
        }
        if let Some(p) = self.max_price_kobo {
            query.push(format!("max_price_kobo={p}"));
        }
        if let Some(b) = self.bedrooms {
            query.push(format!("bedrooms={b}"));
        }
        format!("/properties/discover?{}", query.join("&"))
    }

    fn query(&self) -> listings::discover::Query {
        listings::discover::Query {
            area: listings::discover::area::Area {
                latitude: self.latitude,
                longitude: self.longitude,
                radius_km: self.radius_km,
                bbox: None,
                polygon: None,
            },
            category: self
                .category
                .map(|c| listings::property::parse_category(c).expect("a category")),
            min_price_kobo: self.min_price_kobo,
            max_price_kobo: self.max_price_kobo,
            min_bedrooms: self.bedrooms,
            limit: LIMIT,
        }
    }

    /// The first window of this request: the service's own query function, without the
    /// ranking, the page's second read, gRPC or the gateway.
    async fn bare_window(&self, pool: &PgPool, window: u32) -> anyhow::Result<usize> {
        let rows =
            listings::discover::nearest(pool, &self.query(), None, i64::from(window), None).await?;
        Ok(rows.len())
    }

    async fn bare_knn(&self, pool: &PgPool) -> sqlx::Result<usize> {
        let rows = sqlx::query(KNN_SQL)
            .bind(self.longitude)
            .bind(self.latitude)
            .bind(i64::from(LIMIT))
            .fetch_all(pool)
            .await?;
        Ok(rows.len())
    }
}

struct Tenant {
    token: String,
    persona: Option<Persona>,
    /// Where the persona looks when a request names no area: (lat, lng, radius_km).
    persona_area: Option<(f64, f64, f64)>,
}

/// Latencies of one measured run.
struct Run {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Run {
    fn at(&self, quantile: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * quantile).round() as usize;
        self.latencies[index]
    }

    fn max(&self) -> Duration {
        *self.latencies.last().unwrap()
    }

    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `total` calls of `op(n)`, `n` = 0.., from `concurrency` clients each on its own task, each
/// starting its next call when its last one answered; fewer if [`MAX_RUN`] passes first.
async fn measure<F, Fut>(concurrency: usize, total: usize, offset: usize, op: &Arc<F>) -> Run
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..concurrency)
        .map(|_| {
            let op = Arc::clone(op);
            let next = Arc::clone(&next);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(total / concurrency + 1);
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total || started.elapsed() > MAX_RUN {
                        break;
                    }
                    let began = Instant::now();
                    op(offset + n).await?;
                    latencies.push(began.elapsed());
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for client in clients {
        latencies.extend(client.await.expect("client task").expect("request"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Run { latencies, elapsed }
}

fn listings_wanted() -> anyhow::Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    let from_args = args
        .iter()
        .position(|a| a == "--listings")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--listings=").map(str::to_owned))
        });
    let raw = from_args.or_else(|| std::env::var("RENTORY_BENCH_LISTINGS").ok());
    match raw {
        Some(raw) => raw
            .replace('_', "")
            .parse()
            .with_context(|| format!("listings: not a count: {raw}")),
        None => Ok(DEFAULT_LISTINGS),
    }
}

/// The request mix: points in the gazetteer's neighbourhoods of the three cities (weighted
/// as the seed weights them), 3 - 10 km, about half with filters, half from tenants with a
/// persona (a fifth of those letting the persona choose the area).
fn mix(tenants: &[Tenant]) -> Vec<Spec> {
    let gazetteer = Gazetteer::shipped();
    let cities = [
        ("Lagos", 60, 1.0),
        ("Abuja", 25, 0.9),
        ("Port Harcourt", 15, 0.6),
    ];
    let mut rng = StdRng::seed_from_u64(7);
    let naira = |n: f64, level: f64| (n * level * 100.0).round() as i64;
    (0..MIX)
        .map(|i| {
            let draw = rng.gen_range(0..100);
            let (city, _, level) = if draw < cities[0].1 {
                cities[0]
            } else if draw < cities[0].1 + cities[1].1 {
                cities[1]
            } else {
                cities[2]
            };
            let areas = gazetteer.areas_in(city);
            assert!(!areas.is_empty(), "the gazetteer has no areas in {city}");
            let area = areas[rng.gen_range(0..areas.len())];
            let jitter_km = area.radius_km * 0.5 * rng.gen_range(0.0_f64..1.0).sqrt();
            let bearing = rng.gen_range(0.0..std::f64::consts::TAU);
            let mut spec = Spec {
                latitude: area.latitude + jitter_km / 111.32 * bearing.cos(),
                longitude: area.longitude
                    + jitter_km / (111.32 * area.latitude.to_radians().cos()) * bearing.sin(),
                radius_km: f64::from(rng.gen_range(6..=20_u32)) / 2.0,
                send_area: true,
                category: None,
                min_price_kobo: None,
                max_price_kobo: None,
                bedrooms: None,
                tenant: PERSONAS.len() + i % PLAIN_TENANTS,
            };
            match rng.gen_range(0..100) {
                0..45 => {}
                45..65 => {
                    spec.category = Some("RESIDENTIAL");
                    spec.bedrooms = Some(rng.gen_range(2..=3));
                }
                65..80 => {
                    spec.category = Some("RESIDENTIAL");
                    spec.max_price_kobo =
                        Some(naira(f64::from(rng.gen_range(2..=10_u32)) * 1e6, level));
                }
                80..88 => spec.category = Some("SHORTLET"),
                88..94 => {
                    spec.category = Some("COMMERCIAL");
                    spec.min_price_kobo = Some(naira(5e6, level));
                }
                _ => {
                    // Narrow: 3+ bedrooms within a price band.
                    spec.category = Some("RESIDENTIAL");
                    spec.bedrooms = Some(3);
                    spec.min_price_kobo = Some(naira(4e6, level));
                    spec.max_price_kobo = Some(naira(7e6, level));
                }
            }
            if rng.gen_bool(0.5) {
                let of_city: Vec<usize> = (0..PERSONAS.len())
                    .filter(|&t| PERSONAS[t].0 == city)
                    .collect();
                spec.tenant = of_city[rng.gen_range(0..of_city.len())];
                if rng.gen_bool(0.2) {
                    let (lat, lng, radius) = tenants[spec.tenant].persona_area.unwrap();
                    spec.latitude = lat;
                    spec.longitude = lng;
                    spec.radius_km = radius;
                    spec.send_area = false;
                }
            }
            spec
        })
        .collect()
}

async fn tenants(stack: &TestStack, pool: &PgPool) -> anyhow::Result<Vec<Tenant>> {
    let mut tenants = Vec::new();
    for (city, message) in PERSONAS {
        let account = stack.register("TENANT").await?;
        let (status, answer) = stack
            .post(
                "/concierge/messages",
                &account.access_token,
                json!({ "message": message }),
            )
            .await?;
        if status != 200 {
            bail!("concierge answered {status}: {answer}");
        }
        let location = &answer["persona"]["locations"][0];
        let number =
            |v: &Value, what: &str| v.as_f64().with_context(|| format!("{what}: {answer}"));
        if location["city"] != city {
            bail!("the persona of {message:?} is not in {city}: {answer}");
        }
        let (lat, lng) = (
            number(&location["latitude"], "latitude")?,
            number(&location["longitude"], "longitude")?,
        );
        // What the service searches when a request names no area (service.rs).
        let radius = (number(&location["radius_km"], "radius_km")? * 3.0).clamp(0.1, 100.0);
        // ai.persona.updated -> the listings projection.
        let path = format!("/properties/discover?lat={lat}&lng={lng}&radius_km=1&limit=1");
        rentory_blackbox::eventually(
            Duration::from_secs(30),
            "the persona in listings",
            || async {
                let (status, page) = stack.get(&path, &account.access_token).await?;
                Ok(status == 200 && page["persona_version"].as_u64().unwrap_or(0) > 0)
            },
        )
        .await?;
        let user_id: Uuid = account.user_id.parse()?;
        let persona = listings::projections::persona(pool, user_id).await?;
        if persona.is_none() {
            bail!("no persona for {user_id} in listings");
        }
        tenants.push(Tenant {
            token: account.access_token,
            persona,
            persona_area: Some((lat, lng, radius)),
        });
    }
    for _ in 0..PLAIN_TENANTS {
        let account = stack.register("TENANT").await?;
        tenants.push(Tenant {
            token: account.access_token,
            persona: None,
            persona_area: None,
        });
    }
    Ok(tenants)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let wanted = listings_wanted()?;
    let window_override: Option<u32> = match std::env::var("RENTORY_BENCH_WINDOW") {
        Ok(raw) => Some(raw.parse().context("RENTORY_BENCH_WINDOW: not a number")?),
        Err(_) => None,
    };
    let stack = TestStack::start_with(|t| {
        if let Some(window) = window_override {
            t.discover_window = window;
        }
        t.ai_daily_calls = 1_000_000;
        // Every request charges the per-user `api` budget: far above what the run sends.
        t.rate_limits.api = Some(Limit::new(u32::MAX / 2, 60));
    })
    .await?;
    let window = stack.tuning.discover_window;
    let url = SecretString::from(stack.database_url.clone());
    // The service's settings: `listings, public` search path, no parallel workers.
    let pool = rentory_runtime::db::connect_postgis(&url, listings::SCHEMA, SERVICE_POOL).await?;

    let seeding = Instant::now();
    let written = listings::seed::seed(
        &pool,
        &listings::seed::SeedOptions {
            count: wanted,
            ..listings::seed::SeedOptions::default()
        },
    )
    .await?;
    let seeded_in = seeding.elapsed();
    // Set the visibility map and hint bits now rather than have autovacuum do it mid-run.
    let vacuuming = Instant::now();
    sqlx::query("VACUUM (ANALYZE) listings.properties")
        .execute(&pool)
        .await?;
    let vacuumed_in = vacuuming.elapsed();
    println!(
        "seeded {written} listings in {:.1} s ({:.0}/s), then VACUUM ANALYZE in {:.1} s",
        seeded_in.as_secs_f64(),
        written as f64 / seeded_in.as_secs_f64(),
        vacuumed_in.as_secs_f64()
    );

    let tenants = Arc::new(tenants(&stack, &pool).await?);
    let specs = Arc::new(mix(&tenants));
    let with_persona = specs.iter().filter(|s| s.tenant < PERSONAS.len()).count();
    let persona_area = specs.iter().filter(|s| !s.send_area).count();
    let filtered = specs
        .iter()
        .filter(|s| s.category.is_some() || s.min_price_kobo.is_some())
        .count();
    println!(
        "mix: {} requests, {with_persona} from tenants with a persona ({persona_area} of them \
         with the persona's area), {filtered} with filters; window {window}, limit {LIMIT}",
        specs.len()
    );

    let http = reqwest::Client::new();
    let urls: Arc<Vec<String>> = Arc::new(specs.iter().map(|s| stack.url(&s.path())).collect());
    let queries: Arc<Vec<_>> = Arc::new(specs.iter().map(Spec::query).collect());

    // Check the mix through the gateway once (and warm every cache on the way).
    let mut items = 0;
    let mut empty = 0;
    for (spec, url) in specs.iter().zip(urls.iter()) {
        let tenant = &tenants[spec.tenant];
        let response = http.get(url).bearer_auth(&tenant.token).send().await?;
        let status = response.status();
        let page: Value = response.json().await?;
        if status != 200 {
            bail!("{url} answered {status}: {page}");
        }
        let version = page["persona_version"].as_u64().unwrap_or(0);
        if (version > 0) != tenant.persona.is_some() {
            bail!("{url}: persona_version {version} for the wrong tenant");
        }
        let n = page["items"].as_array().map_or(0, Vec::len);
        items += n;
        empty += usize::from(n == 0);
    }
    println!(
        "mix check: {:.1} items per page on average, {empty} empty pages",
        items as f64 / specs.len() as f64
    );

    let gateway = {
        let (http, urls, specs, tenants) = (
            http.clone(),
            Arc::clone(&urls),
            Arc::clone(&specs),
            Arc::clone(&tenants),
        );
        Arc::new(move |n: usize| {
            let i = n % urls.len();
            let request = http
                .get(&urls[i])
                .bearer_auth(&tenants[specs[i].tenant].token);
            async move {
                let response = request.send().await?;
                if response.status() != 200 {
                    bail!("discover answered {}", response.status());
                }
                response.bytes().await?;
                Ok(())
            }
        })
    };
    let service = {
        let (pool, queries, specs, tenants) = (
            pool.clone(),
            Arc::clone(&queries),
            Arc::clone(&specs),
            Arc::clone(&tenants),
        );
        Arc::new(move |n: usize| {
            let (pool, queries, specs, tenants) = (
                pool.clone(),
                Arc::clone(&queries),
                Arc::clone(&specs),
                Arc::clone(&tenants),
            );
            async move {
                let i = n % queries.len();
                let persona = tenants[specs[i].tenant].persona.as_ref();
                listings::discover::page(&pool, &queries[i], persona, None, window).await?;
                Ok(())
            }
        })
    };
    let bare_window = {
        let (pool, specs) = (pool.clone(), Arc::clone(&specs));
        Arc::new(move |n: usize| {
            let (pool, specs) = (pool.clone(), Arc::clone(&specs));
            async move {
                specs[n % specs.len()].bare_window(&pool, window).await?;
                Ok(())
            }
        })
    };
    let bare_knn = {
        let (pool, specs) = (pool.clone(), Arc::clone(&specs));
        Arc::new(move |n: usize| {
            let (pool, specs) = (pool.clone(), Arc::clone(&specs));
            async move {
                specs[n % specs.len()].bare_knn(&pool).await?;
                Ok(())
            }
        })
    };

    // Warm every path once over the whole mix (prepared statements, pages in cache).
    for n in 0..specs.len() {
        service(n).await?;
        bare_window(n).await?;
        bare_knn(n).await?;
    }

    // /healthz, sequential, for context (as in the gateway bench).
    let healthz = {
        let (http, url) = (http.clone(), stack.url("/healthz"));
        Arc::new(move |_: usize| {
            let request = http.get(&url);
            async move {
                let response = request.send().await?;
                if !response.status().is_success() {
                    bail!("/healthz answered {}", response.status());
                }
                response.bytes().await?;
                Ok(())
            }
        })
    };
    measure(1, 30, 0, &healthz).await;
    let healthz = measure(1, HEALTHZ_SAMPLES, 0, &healthz).await;

    println!(
        "\n{:>3}  {:<18} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "c", "path", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "req/s"
    );
    println!(
        "{:>3}  {:<18} {:>6} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.0}",
        1,
        "GET /healthz",
        HEALTHZ_SAMPLES,
        ms(healthz.at(0.5)),
        ms(healthz.at(0.9)),
        ms(healthz.at(0.99)),
        ms(healthz.max()),
        healthz.rate()
    );
    let mut summary = Vec::new();
    for (concurrency, total) in LEVELS {
        let warm_up = concurrency * WARM_UP_PER_CLIENT;
        // Each level starts elsewhere in the mix, so no two levels replay the same order.
        let offset = concurrency * 7;
        let gw = {
            measure(concurrency, warm_up, offset, &gateway).await;
            measure(concurrency, total, offset, &gateway).await
        };
        let sv = {
            measure(concurrency, warm_up, offset, &service).await;
            measure(concurrency, total, offset, &service).await
        };
        let bw = {
            measure(concurrency, warm_up, offset, &bare_window).await;
            measure(concurrency, total, offset, &bare_window).await
        };
        let bk = {
            measure(concurrency, warm_up, offset, &bare_knn).await;
            measure(concurrency, total, offset, &bare_knn).await
        };
        for (name, run) in [
            ("gateway discover", &gw),
            ("service page()", &sv),
            ("bare window", &bw),
            ("bare knn 20", &bk),
        ] {
            println!(
                "{concurrency:>3}  {name:<18} {:>6} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.0}",
                run.latencies.len(),
                ms(run.at(0.5)),
                ms(run.at(0.9)),
                ms(run.at(0.99)),
                ms(run.max()),
                run.rate()
            );
        }
        summary.push((concurrency, gw, sv, bw));
    }

    println!(
        "\n{:>3}  {:>22} {:>22} {:>22}",
        "c", "gateway p99 / bare", "gateway p50 / bare", "page() p99 / bare"
    );
    for (concurrency, gw, sv, bw) in &summary {
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        println!(
            "{concurrency:>3}  {:>21.2}x {:>21.2}x {:>21.2}x",
            ratio(gw.at(0.99), bw.at(0.99)),
            ratio(gw.at(0.5), bw.at(0.5)),
            ratio(sv.at(0.99), bw.at(0.99)),
        );
    }

    let (_, gw, _, bw) = summary.iter().find(|(c, ..)| *c == 8).unwrap();
    let (p50, p99, bare99) = (gw.at(0.5), gw.at(0.99), bw.at(0.99));
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "\ntargets at 8 clients{}:",
        if written == DEFAULT_LISTINGS {
            ""
        } else {
            " (set for 100,000 listings; this run has a different count)"
        }
    );
    println!(
        "  p50 {:.2} ms < 2 ms: {}",
        ms(p50),
        verdict(p50 < Duration::from_millis(2))
    );
    println!(
        "  p99 {:.2} ms < 10 ms: {}",
        ms(p99),
        verdict(p99 < Duration::from_millis(10))
    );
    println!(
        "  p99 {:.2} ms <= 3 x bare window p99 {:.2} ms ({:.2} ms): {}",
        ms(p99),
        ms(bare99),
        3.0 * ms(bare99),
        verdict(p99.as_secs_f64() <= 3.0 * bare99.as_secs_f64())
    );

    pool.close().await;
    stack.stop().await
}
