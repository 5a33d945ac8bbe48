//! Ranking of discovery candidates: a plain score from 0 to 100 for how well a listing fits
//! the caller, with the reasons a person can read.
//!
//! The service fetches the nearest candidates (a PostGIS KNN window) and calls
//! [`match_score`] on each, then sorts them with [`page_order`]. Nothing here touches the
//! database, the clock or randomness: the same inputs always give the same score, which is
//! what keeps cursor pages from overlapping.
//!
//! # With a persona
//!
//! | Component   | Points | Full points when                          | Decay                                             |
//! |-------------|-------:|-------------------------------------------|---------------------------------------------------|
//! | Budget      |     30 | price within `[min, max]`, same period    | over max: linear to 0 at +50 %; under min: linear to 24 at half the min |
//! | Location    |     25 | within the best persona location's radius | linear to 0 at 3x that radius                     |
//! | Must-haves  |     15 | every must-have found in the amenities    | by share found                                    |
//! | Category    |     10 | category is one the tenant asked for      | otherwise 0                                       |
//! | Bedrooms    |     10 | count within the asked range              | one off: 5; further: 0; unknown count: 5          |
//! | Priorities  |     10 | every aspect rated 5                      | ratings weighted by the tenant's priority 1-5     |
//!
//! Why these weights: rent in Nigeria is usually paid a year or more upfront, so a listing
//! over budget is mostly out of reach; budget weighs most. Location is next because a
//! Lagos commute can eat hours. Must-haves (power, water, security) shape daily life, but
//! the amenities are free text from photo analysis and often incomplete, so a missing word
//! is weak evidence and weighs less. Category and bedrooms are usually also query filters,
//! so they mostly sink the odd mismatch. Priorities only use ratings, which are sparse and
//! subjective; they refine the order among otherwise good matches.
//!
//! A component the tenant has not spoken about (no budget, no categories, ...) gives full
//! points: nothing said, nothing against it. Those points are the same for every listing,
//! so they never change the order; they only keep a listing that fits everything the tenant
//! did say near 100. A persona with no locations scores the search distance instead (full at
//! the search point, linear to 0 at the search radius). An empty persona (the concierge
//! knows nothing yet) ranks like no persona.
//!
//! Details:
//! - Budget: YEAR and MONTH prices convert into each other (x12). A NIGHT price against a
//!   YEAR or MONTH budget (or the reverse) cannot be compared honestly, so it gets half the
//!   points and no reason. Under the minimum still gets most points: a minimum usually
//!   says what standard the tenant expects, not that cheaper is unwelcome.
//! - Location: the persona location that gives the most points wins (the nearest one, when
//!   radii are equal); the reason names it: "2.1 km from Lekki Phase 1".
//! - Priorities: each aspect's rating counts `rating / 5`, weighted by the tenant's priority
//!   for it; an unrated aspect counts 0.6 (a neutral 3 stars).
//!
//! # Without a persona
//!
//! | Component | Points | How                                                                  |
//! |-----------|-------:|----------------------------------------------------------------------|
//! | Distance  |     60 | full at the search point, linear to 0 at the search radius           |
//! | Rating    |     24 | average of the known aspect ratings / 5 (unrated: 0.6)               |
//! | Reviews   |      8 | `n / (n + 5)` of the points, times the rating share                  |
//! | Verified  |      4 | the listing is verified                                              |
//! | Photos    |      4 | a third for each photo, up to three                                  |
//!
//! The only wish known is the point searched around, so distance dominates; quality breaks
//! the many near-ties. Reviews have diminishing returns and are scaled by the rating, so a
//! pile of bad reviews is no bonus.
//!
//! # Ratings and few reviews
//!
//! Every rating is pulled toward a neutral 3 stars as if it had two more neutral reviews
//! (`(n * rating + 2 * 3) / (n + 2)`), so one 5-star review from the landlord's friend does
//! not outrank forty reviews averaging 4.6. Reasons still show the real average.
//!
//! # The result
//!
//! Points are summed, rounded to an integer and clamped to 0..=100; NaN, infinite or negative
//! inputs never panic and never push a score out of range (a component whose input is
//! unusable gets its neutral or zero points). Reasons are ordered by the points they carried,
//! most first (reasons for points missed, like "no borehole water listed", come after, the
//! biggest miss first), at most [`MAX_REASONS`].

use std::cmp::Ordering;

use rentory_persona::{
    Bedrooms, Budget, Category, Location, MAX_RADIUS_KM, MIN_RADIUS_KM, MustHave, Persona,
    Priorities, RentPeriod,
};
use uuid::Uuid;

/// Mean Earth radius (IUGG), km.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

pub const BUDGET_POINTS: f64 = 30.0;
pub const LOCATION_POINTS: f64 = 25.0;
pub const MUST_HAVE_POINTS: f64 = 15.0;
pub const CATEGORY_POINTS: f64 = 10.0;
pub const BEDROOM_POINTS: f64 = 10.0;
pub const PRIORITY_POINTS: f64 = 10.0;

pub const DISTANCE_POINTS: f64 = 60.0;
pub const RATING_POINTS: f64 = 24.0;
pub const REVIEW_POINTS: f64 = 8.0;
pub const VERIFIED_POINTS: f64 = 4.0;
pub const PHOTO_POINTS: f64 = 4.0;

const _: () = assert!(
    BUDGET_POINTS
        + LOCATION_POINTS
        + MUST_HAVE_POINTS
        + CATEGORY_POINTS
        + BEDROOM_POINTS
        + PRIORITY_POINTS
        == 100.0
);
const _: () = assert!(
    DISTANCE_POINTS + RATING_POINTS + REVIEW_POINTS + VERIFIED_POINTS + PHOTO_POINTS == 100.0
);

/// Most reasons a match carries; more would not be read.
pub const MAX_REASONS: usize = 5;

/// Share of points for an input that cannot be judged (unknown bedrooms, a nightly price
/// against a yearly budget): neither a reward nor a penalty.
const NEUTRAL_SHARE: f64 = 0.5;
/// Over the maximum, budget points reach 0 at this overshoot (+50 %).
const MAX_OVERSHOOT: f64 = 0.5;
/// Under the minimum, budget points fall to this share ...
const BELOW_MIN_SHARE: f64 = 0.8;
/// ... at this fraction of the minimum (half of it) and below.
const BELOW_MIN_FLOOR: f64 = 0.5;
/// Location points reach 0 at this many radii from the location.
const LOCATION_REACH: f64 = 3.0;
/// A star rating's neutral value, and the share an unrated aspect counts.
const NEUTRAL_STARS: f64 = 3.0;
const MAX_STARS: f64 = 5.0;
/// Ratings are pulled toward [`NEUTRAL_STARS`] as if they had this many more reviews.
const PRIOR_REVIEWS: f64 = 2.0;
/// Reviews earn half the review points at this count.
const REVIEWS_HALF: f64 = 5.0;
/// Photos earn their points in full from this count.
const FULL_PHOTOS: usize = 3;
/// Priorities and ratings above this show as a reason ...
const PRAISE_PRIORITY: u8 = 4;
const PRAISE_RATING: f64 = 4.0;
/// ... and a rating below this, for a high priority, shows as a warning.
const WARN_RATING: f64 = 3.0;
/// A search radius that is not a number falls back to this (km).
const FALLBACK_SEARCH_RADIUS_KM: f64 = 10.0;
/// Smallest search radius (km): a point search still ranks a listing next door well.
const MIN_SEARCH_RADIUS_KM: f64 = 0.5;
/// Half the Earth's circumference: no two points are further apart.
const MAX_SEARCH_RADIUS_KM: f64 = std::f64::consts::PI * EARTH_RADIUS_KM;

/// A listing's average ratings per aspect (1-5 stars), `None` when nobody rated it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RatingAverages {
    pub security: Option<f64>,
    pub power: Option<f64>,
    pub neighborhood: Option<f64>,
    /// How many reviews the averages come from.
    pub reviews: u32,
}

/// One listing from the KNN window, as much as ranking needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate<'a> {
    pub category: Category,
    pub price_kobo: i64,
    /// What `price_kobo` is per.
    pub rent_period: RentPeriod,
    pub bedrooms: Option<u32>,
    pub amenities: &'a [String],
    pub latitude: f64,
    pub longitude: f64,
    /// From the search point.
    pub distance_km: f64,
    pub ratings: RatingAverages,
    pub is_verified: bool,
    pub photo_count: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchContext {
    /// The radius searched (or, for a box or polygon, the distance from its centre to its
    /// farthest corner); distance scores scale with it.
    pub radius_km: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub score: u8,
    pub reasons: Vec<String>,
}

/// How well `candidate` fits `persona` (or, without one, how near and good it is), with
/// reasons. See the module docs for the weights.
pub fn match_score(
    persona: Option<&Persona>,
    candidate: &Candidate<'_>,
    search: &SearchContext,
) -> Match {
    let mut tally = Tally::default();
    match persona.filter(|persona| !persona.is_empty()) {
        Some(persona) => {
            budget(persona.budget.as_ref(), candidate, &mut tally);
            location(&persona.locations, candidate, search, &mut tally);
            must_haves(&persona.must_haves, candidate.amenities, &mut tally);
            category(&persona.categories, candidate.category, &mut tally);
            bedrooms(persona.bedrooms.as_ref(), candidate.bedrooms, &mut tally);
            priorities(&persona.priorities, &candidate.ratings, &mut tally);
        }
        None => {
            search_distance(DISTANCE_POINTS, candidate, search, &mut tally);
            quality(candidate, &mut tally);
        }
    }
    tally.finish()
}

/// Page order: score descending, then id ascending (ids are UUIDv7, so ties go to the older
/// listing); a total order so pages never overlap.
pub fn page_order(a: (u8, Uuid), b: (u8, Uuid)) -> Ordering {
    b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1))
}

/// Great-circle distance in km (haversine, mean Earth radius 6371.0088 km). NaN when a
/// coordinate is NaN.
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let half_dphi = (lat2 - lat1).to_radians() / 2.0;
    let half_dlambda = (lon2 - lon1).to_radians() / 2.0;
    let a = half_dphi.sin().powi(2) + phi1.cos() * phi2.cos() * half_dlambda.sin().powi(2);
    // Rounding can push `a` a hair past 1 for antipodal points; clamp keeps asin defined
    // (and, unlike min/max, lets NaN through instead of hiding it).
    2.0 * EARTH_RADIUS_KM * a.clamp(0.0, 1.0).sqrt().asin()
}

// ---------------------------------------------------------------------------------------
// Points and reasons

#[derive(Debug, Default)]
struct Tally {
    points: f64,
    reasons: Vec<Reason>,
}

#[derive(Debug)]
struct Reason {
    text: String,
    earned: f64,
    missed: f64,
}

impl Tally {
    /// Adds `earned` of a component worth `out_of`, with the reason for it if any.
    fn award(&mut self, earned: f64, out_of: f64, reason: Option<String>) {
        // Every input is sanitised before it gets here; this is the last guard that a
        // score can never go NaN or past the component's weight.
        let earned = if earned.is_finite() {
            earned.clamp(0.0, out_of)
        } else {
            0.0
        };
        self.points += earned;
        if let Some(text) = reason {
            self.reasons.push(Reason {
                text,
                earned,
                missed: out_of - earned,
            });
        }
    }

    fn finish(mut self) -> Match {
        // Stable: equal reasons keep the order the components were scored in.
        self.reasons.sort_by(|a, b| {
            b.earned
                .total_cmp(&a.earned)
                .then_with(|| b.missed.total_cmp(&a.missed))
        });
        let total = if self.points.is_finite() {
            self.points
        } else {
            0.0
        };
        Match {
            // In range after the clamp, so the cast neither truncates nor saturates.
            score: total.round().clamp(0.0, 100.0) as u8,
            reasons: self
                .reasons
                .into_iter()
                .take(MAX_REASONS)
                .map(|reason| reason.text)
                .collect(),
        }
    }
}

/// 1 up to `full`, then linear down to 0 at `zero` (which must be above `full`); 0 for a
/// distance that is not a number.
fn falloff(distance: f64, full: f64, zero: f64) -> f64 {
    if distance.is_nan() {
        return 0.0;
    }
    let distance = distance.max(0.0);
    if distance <= full {
        1.0
    } else if distance >= zero {
        0.0
    } else {
        (zero - distance) / (zero - full)
    }
}

// ---------------------------------------------------------------------------------------
// With a persona

fn budget(budget: Option<&Budget>, candidate: &Candidate<'_>, tally: &mut Tally) {
    let Some(budget) = budget else {
        tally.award(BUDGET_POINTS, BUDGET_POINTS, None);
        return;
    };
    let positive = |kobo: Option<i64>| kobo.filter(|kobo| *kobo > 0).map(|kobo| kobo as f64);
    let (min, max) = (positive(budget.min_kobo), positive(budget.max_kobo));
    if min.is_none() && max.is_none() {
        tally.award(BUDGET_POINTS, BUDGET_POINTS, None);
        return;
    }
    let Some(price) = price_per(candidate.price_kobo, candidate.rent_period, budget.period) else {
        tally.award(BUDGET_POINTS * NEUTRAL_SHARE, BUDGET_POINTS, None);
        return;
    };
    if let Some(max) = max
        && price > max
    {
        let over = price / max - 1.0;
        let share = 1.0 - over / MAX_OVERSHOOT;
        // "0% over budget" would read as within it.
        let percent = (over * 100.0).round().max(1.0);
        tally.award(
            BUDGET_POINTS * share,
            BUDGET_POINTS,
            Some(format!("{percent:.0}% over budget")),
        );
    } else if let Some(min) = min
        && price < min
    {
        let under = ((min - price) / (min * BELOW_MIN_FLOOR)).min(1.0);
        let share = 1.0 - (1.0 - BELOW_MIN_SHARE) * under;
        tally.award(
            BUDGET_POINTS * share,
            BUDGET_POINTS,
            Some("below your budget range".to_owned()),
        );
    } else {
        tally.award(
            BUDGET_POINTS,
            BUDGET_POINTS,
            Some("within budget".to_owned()),
        );
    }
}

/// The price per `wanted`, when it can be compared: a year is twelve months, but nights
/// are priced for short stays and do not scale to a year.
fn price_per(kobo: i64, period: RentPeriod, wanted: RentPeriod) -> Option<f64> {
    if kobo <= 0 {
        return None;
    }
    let kobo = kobo as f64;
    match (period, wanted) {
        (RentPeriod::Year, RentPeriod::Year)
        | (RentPeriod::Month, RentPeriod::Month)
        | (RentPeriod::Night, RentPeriod::Night) => Some(kobo),
        (RentPeriod::Month, RentPeriod::Year) => Some(kobo * 12.0),
        (RentPeriod::Year, RentPeriod::Month) => Some(kobo / 12.0),
        (RentPeriod::Night, _) | (_, RentPeriod::Night) => None,
    }
}

fn location(
    locations: &[Location],
    candidate: &Candidate<'_>,
    search: &SearchContext,
    tally: &mut Tally,
) {
    let mut best: Option<(f64, f64, &Location)> = None;
    for place in locations {
        let radius = if place.radius_km.is_nan() {
            MIN_RADIUS_KM
        } else {
            place.radius_km.clamp(MIN_RADIUS_KM, MAX_RADIUS_KM)
        };
        let distance = distance_km(
            candidate.latitude,
            candidate.longitude,
            place.latitude,
            place.longitude,
        );
        if distance.is_nan() {
            continue;
        }
        let share = falloff(distance, radius, radius * LOCATION_REACH);
        // Ties (e.g. both full) go to the nearer place, then to the one listed first,
        // which the tenant wants most.
        let better = best.is_none_or(|(best_share, best_distance, _)| {
            share > best_share || (share == best_share && distance < best_distance)
        });
        if better {
            best = Some((share, distance, place));
        }
    }
    match best {
        Some((share, distance, place)) => tally.award(
            LOCATION_POINTS * share,
            LOCATION_POINTS,
            Some(format!("{distance:.1} km from {}", place.name.trim())),
        ),
        // No locations, or none with usable coordinates: the search point is the wish.
        None => search_distance(LOCATION_POINTS, candidate, search, tally),
    }
}

fn must_haves(wanted: &[MustHave], amenities: &[String], tally: &mut Tally) {
    let mut unique: Vec<MustHave> = Vec::with_capacity(wanted.len());
    for must in wanted {
        if !unique.contains(must) {
            unique.push(*must);
        }
    }
    if unique.is_empty() {
        tally.award(MUST_HAVE_POINTS, MUST_HAVE_POINTS, None);
        return;
    }
    let each = MUST_HAVE_POINTS / unique.len() as f64;
    let (found, missing): (Vec<MustHave>, Vec<MustHave>) = unique
        .iter()
        .copied()
        .partition(|must| amenity_satisfies(*must, amenities));
    if !found.is_empty() {
        let earned = each * found.len() as f64;
        tally.award(earned, earned, Some(found_phrase(&found)));
    }
    for must in missing {
        tally.award(0.0, each, Some(missing_phrase(must).to_owned()));
    }
}

/// "furnished, has constant power, borehole water": labels that describe the home stand
/// alone, the things it has follow "has".
fn found_phrase(found: &[MustHave]) -> String {
    let (states, things): (Vec<MustHave>, Vec<MustHave>) =
        found.iter().copied().partition(|must| is_state(*must));
    let mut parts: Vec<String> = states.iter().map(|must| must.label().to_owned()).collect();
    if !things.is_empty() {
        let labels: Vec<&str> = things.iter().map(|must| must.label()).collect();
        parts.push(format!("has {}", labels.join(", ")));
    }
    parts.join(", ")
}

/// Must-haves whose label describes the home rather than names something it has.
fn is_state(must: MustHave) -> bool {
    matches!(
        must,
        MustHave::Furnished | MustHave::Serviced | MustHave::PetFriendly
    )
}

fn missing_phrase(must: MustHave) -> &'static str {
    match must {
        MustHave::ConstantPower => "no constant power listed",
        MustHave::Security => "no security listed",
        MustHave::BoreholeWater => "no borehole water listed",
        MustHave::Parking => "no parking listed",
        MustHave::Furnished => "not listed as furnished",
        MustHave::Serviced => "not listed as serviced",
        MustHave::SwimmingPool => "no swimming pool listed",
        MustHave::Gym => "no gym listed",
        MustHave::GoodRoads => "no good road access listed",
        MustHave::Internet => "no fast internet listed",
        MustHave::PetFriendly => "pets not listed as allowed",
        MustHave::BoysQuarters => "no boys' quarters listed",
    }
}

fn category(wanted: &[Category], category: Category, tally: &mut Tally) {
    if wanted.is_empty() || wanted.contains(&category) {
        // A match is no news: the listing shows its category.
        tally.award(CATEGORY_POINTS, CATEGORY_POINTS, None);
        return;
    }
    let labels: Vec<&str> = wanted
        .iter()
        .map(|wanted| category_label(*wanted))
        .collect();
    tally.award(
        0.0,
        CATEGORY_POINTS,
        Some(format!(
            "{}, not {}",
            category_noun(category),
            or_list(&labels)
        )),
    );
}

fn category_label(category: Category) -> &'static str {
    match category {
        Category::Residential => "residential",
        Category::Commercial => "commercial",
        Category::EventCenter => "event centre",
        Category::Land => "land",
        Category::Shortlet => "shortlet",
    }
}

fn category_noun(category: Category) -> &'static str {
    match category {
        Category::Residential => "a residential listing",
        Category::Commercial => "a commercial listing",
        Category::EventCenter => "an event centre",
        Category::Land => "land",
        Category::Shortlet => "a shortlet",
    }
}

/// "a", "a or b", "a, b or c".
fn or_list(items: &[&str]) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

fn bedrooms(wanted: Option<&Bedrooms>, count: Option<u32>, tally: &mut Tally) {
    let Some(wanted) = wanted.filter(|wanted| wanted.min.is_some() || wanted.max.is_some()) else {
        tally.award(BEDROOM_POINTS, BEDROOM_POINTS, None);
        return;
    };
    let Some(count) = count else {
        tally.award(BEDROOM_POINTS * NEUTRAL_SHARE, BEDROOM_POINTS, None);
        return;
    };
    let min = wanted.min.map_or(0, u32::from);
    let max = wanted.max.map_or(u32::MAX, u32::from);
    let rooms = if count == 1 {
        "1 bedroom".to_owned()
    } else {
        format!("{count} bedrooms")
    };
    let (share, reason) = if (min..=max).contains(&count) {
        (1.0, format!("{rooms} as you asked"))
    } else if count < min && min - count == 1 {
        (
            NEUTRAL_SHARE,
            format!("{rooms}, one fewer than you asked for"),
        )
    } else if count > max && count - max == 1 {
        (
            NEUTRAL_SHARE,
            format!("{rooms}, one more than you asked for"),
        )
    } else {
        (
            0.0,
            format!("{rooms}, you asked for {}", describe_bedrooms(wanted)),
        )
    };
    tally.award(BEDROOM_POINTS * share, BEDROOM_POINTS, Some(reason));
}

fn describe_bedrooms(wanted: &Bedrooms) -> String {
    match (wanted.min, wanted.max) {
        (Some(min), Some(max)) if min == max => format!("{min}"),
        (Some(min), Some(max)) => format!("{min} to {max}"),
        (Some(min), None) => format!("at least {min}"),
        (None, Some(max)) => format!("at most {max}"),
        (None, None) => "any number".to_owned(),
    }
}

fn priorities(priorities: &Priorities, ratings: &RatingAverages, tally: &mut Tally) {
    // A priority outside 1-5 (a persona that skipped validation) is read as the nearest
    // valid one, so a 0 cannot divide by zero below.
    let weight = |priority: u8| priority.clamp(1, 5);
    let aspects = [
        (weight(priorities.security), ratings.security, "security"),
        (weight(priorities.power), ratings.power, "constant power"),
        (
            weight(priorities.neighborhood),
            ratings.neighborhood,
            "neighbourhood",
        ),
    ];
    let total: f64 = aspects
        .iter()
        .map(|(weight, _, _)| f64::from(*weight))
        .sum();
    for (weight, rating, label) in aspects {
        let out_of = PRIORITY_POINTS * f64::from(weight) / total;
        let rating = stars(rating);
        let earned = out_of * rating_share(rating, ratings.reviews);
        let reason = match rating {
            Some(stars) if weight >= PRAISE_PRIORITY && stars >= PRAISE_RATING => {
                Some(format!("{label} rated {stars:.1}"))
            }
            Some(stars) if weight >= PRAISE_PRIORITY && stars < WARN_RATING => {
                Some(format!("{label} rated only {stars:.1}"))
            }
            _ => None,
        };
        tally.award(earned, out_of, reason);
    }
}

/// A usable star rating, or `None`.
fn stars(rating: Option<f64>) -> Option<f64> {
    rating
        .filter(|rating| rating.is_finite())
        .map(|rating| rating.clamp(0.0, MAX_STARS))
}

/// A rating as a share of 5 stars, pulled toward neutral when few reviews back it (see the
/// module docs); 0.6 when unrated.
fn rating_share(rating: Option<f64>, reviews: u32) -> f64 {
    let Some(rating) = stars(rating) else {
        return NEUTRAL_STARS / MAX_STARS;
    };
    // A rating with no reviews counted is still someone's rating.
    let reviews = f64::from(reviews.max(1));
    let pulled = (reviews * rating + PRIOR_REVIEWS * NEUTRAL_STARS) / (reviews + PRIOR_REVIEWS);
    pulled / MAX_STARS
}

// ---------------------------------------------------------------------------------------
// Without a persona (and for a persona with no locations)

fn search_distance(
    out_of: f64,
    candidate: &Candidate<'_>,
    search: &SearchContext,
    tally: &mut Tally,
) {
    let radius = if search.radius_km.is_nan() {
        FALLBACK_SEARCH_RADIUS_KM
    } else {
        search
            .radius_km
            .clamp(MIN_SEARCH_RADIUS_KM, MAX_SEARCH_RADIUS_KM)
    };
    let distance = candidate.distance_km;
    if distance.is_nan() {
        tally.award(0.0, out_of, None);
        return;
    }
    let distance = distance.max(0.0);
    let reason = distance
        .is_finite()
        .then(|| format!("{distance:.1} km away"));
    tally.award(out_of * falloff(distance, 0.0, radius), out_of, reason);
}

fn quality(candidate: &Candidate<'_>, tally: &mut Tally) {
    let ratings = &candidate.ratings;
    let known: Vec<f64> = [ratings.security, ratings.power, ratings.neighborhood]
        .into_iter()
        .filter_map(stars)
        .collect();
    let average = (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64);
    let share = rating_share(average, ratings.reviews);
    let reviews = f64::from(ratings.reviews);
    let review_share = reviews / (reviews + REVIEWS_HALF) * share;
    let reason = average.map(|average| match ratings.reviews {
        0 => format!("rated {average:.1} overall"),
        1 => format!("rated {average:.1} overall (1 review)"),
        count => format!("rated {average:.1} overall ({count} reviews)"),
    });
    tally.award(
        RATING_POINTS * share + REVIEW_POINTS * review_share,
        RATING_POINTS + REVIEW_POINTS,
        reason,
    );
    if candidate.is_verified {
        tally.award(
            VERIFIED_POINTS,
            VERIFIED_POINTS,
            Some("verified listing".to_owned()),
        );
    }
    let photos = candidate.photo_count.min(FULL_PHOTOS) as f64 / FULL_PHOTOS as f64;
    tally.award(PHOTO_POINTS * photos, PHOTO_POINTS, None);
}

// ---------------------------------------------------------------------------------------
// Amenities

/// Whether a listing's free-text amenities satisfy a must-have (keyword rules,
/// case-insensitive; "unfurnished" does not satisfy FURNISHED; "no generator" should not
/// count either).
///
/// Words are matched whole (so "unfurnished" is not "furnished"), a trailing "s" or "es"
/// allowed. A keyword does not count when "no", "not", "non", "without" (...) stands within
/// three words before it in the same clause ("no standby generator", "without a swimming
/// pool"),
/// or "not" follows it ("pets not allowed"). Clauses end at commas, semicolons, sentence
/// stops and "but".
pub fn amenity_satisfies(must: MustHave, amenities: &[String]) -> bool {
    let keywords = keywords(must);
    amenities.iter().any(|amenity| {
        clauses(amenity).into_iter().any(|clause| {
            let words = words(clause);
            keywords.iter().any(|keyword| offered(&words, keyword))
        })
    })
}

/// A phrase of whole words that offers a must-have, unless the next word is one of
/// `unless_next` ("solar water heater" is not power).
struct Keyword {
    phrase: &'static str,
    unless_next: &'static [&'static str],
}

const fn kw(phrase: &'static str) -> Keyword {
    Keyword {
        phrase,
        unless_next: &[],
    }
}

const fn kw_unless(phrase: &'static str, unless_next: &'static [&'static str]) -> Keyword {
    Keyword {
        phrase,
        unless_next,
    }
}

/// The words of the offline photo analysis (services/ai-orchestrator offline/photos.rs and
/// reading.rs) and of what Gemini writes ("24/7 security", "Borehole water", "Standby
/// generator"). Words are split at anything not a letter or digit: "24/7" is "24 7".
fn keywords(must: MustHave) -> &'static [Keyword] {
    match must {
        // 24-hour power: grid plus generator, inverter or solar. A prepaid meter is not.
        MustHave::ConstantPower => {
            const {
                &[
                    kw("constant power"),
                    kw("constant light"),
                    kw("constant electricity"),
                    kw("steady power"),
                    kw("steady light"),
                    kw("stable power"),
                    kw("reliable power"),
                    kw("uninterrupted power"),
                    kw("uninterrupted light"),
                    kw("uninterrupted electricity"),
                    kw("24 hour power"),
                    kw("24 hour light"),
                    kw("24 hour electricity"),
                    kw("24 hr power"),
                    kw("24hr power"),
                    kw("24hrs power"),
                    kw("24 7 power"),
                    kw("24 7 light"),
                    kw("24 7 electricity"),
                    kw("power 24 7"),
                    kw("light 24 7"),
                    kw("electricity 24 7"),
                    kw("inverter"),
                    kw_unless(
                        "solar",
                        &["water", "heater", "heaters", "street", "light", "lights"],
                    ),
                    kw("generator"),
                    kw("genset"),
                    kw("gen set"),
                    kw("backup power"),
                    kw("power backup"),
                    kw("standby power"),
                    kw("band a"),
                    kw("no nepa wahala"),
                    kw("no light wahala"),
                ]
            }
        }
        MustHave::Security => {
            const {
                &[
                    kw_unless("security", &["deposit", "deposits"]),
                    kw("secure"),
                    kw("secured"),
                    kw("gated"),
                    kw("guarded"),
                    kw("guard"),
                    kw("gateman"),
                    kw("gate man"),
                    kw("cctv"),
                ]
            }
        }
        MustHave::BoreholeWater => {
            const {
                &[
                    kw("borehole"),
                    kw("bore hole"),
                    kw("running water"),
                    kw("water supply"),
                    kw("treated water"),
                    kw("constant water"),
                    kw("steady water"),
                    kw("water treatment"),
                ]
            }
        }
        MustHave::Parking => {
            const {
                &[
                    kw("parking"),
                    kw("car park"),
                    kw("carpark"),
                    kw("carport"),
                    kw("garage"),
                    kw("packing space"),
                    kw("car space"),
                ]
            }
        }
        MustHave::Furnished => const { &[kw("furnished")] },
        MustHave::Serviced => {
            const {
                &[
                    kw("serviced"),
                    kw("facility management"),
                    kw("facility manager"),
                    kw("cleaning service"),
                    kw("housekeeping"),
                ]
            }
        }
        MustHave::SwimmingPool => {
            const {
                &[
                    kw("swimming pool"),
                    kw("swimming"),
                    kw_unless("pool", &["table", "tables"]),
                ]
            }
        }
        MustHave::Gym => const { &[kw("gym"), kw("gymnasium"), kw("fitness")] },
        MustHave::GoodRoads => {
            const {
                &[
                    kw("good road"),
                    kw("good access road"),
                    kw("tarred road"),
                    kw("paved road"),
                    kw("accessible road"),
                    kw("motorable road"),
                    kw("no flooding"),
                    kw("no flood"),
                    kw("flood free"),
                    kw("does not flood"),
                    kw("doesn t flood"),
                    kw("doesnt flood"),
                ]
            }
        }
        MustHave::Internet => {
            const {
                &[
                    kw("internet"),
                    kw("fibre"),
                    kw("fiber"),
                    kw("wifi"),
                    kw("wi fi"),
                    kw("broadband"),
                    kw("starlink"),
                ]
            }
        }
        MustHave::PetFriendly => {
            const {
                &[
                    kw("pet"),
                    kw("dog friendly"),
                    kw("dog allowed"),
                    kw("cat friendly"),
                    kw("cat allowed"),
                ]
            }
        }
        MustHave::BoysQuarters => {
            const {
                &[
                    kw("bq"),
                    kw("b q"),
                    kw("boy quarter"),
                    kw("boy s quarter"),
                    kw("staff quarter"),
                    kw("servant quarter"),
                ]
            }
        }
    }
}

/// Words that, just before a keyword, say it is absent.
const NEGATIONS_BEFORE: &[&str] = &[
    "no", "not", "non", "without", "lacks", "lacking", "zero", "nil", "never",
];
/// Words that, just after a keyword, say it is absent ("pets not allowed", "pool isn't
/// working").
const NEGATIONS_AFTER: &[&str] = &["not", "isn", "aren", "unavailable", "none"];
/// How far back a negation reaches: "not fully furnished", "without a swimming pool".
const NEGATION_REACH: usize = 3;

/// Clauses of a text: a negation in one does not reach into the next.
fn clauses(text: &str) -> Vec<&str> {
    let mut clauses = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, ch)) = chars.next() {
        let ends = match ch {
            ',' | ';' | '!' | '?' | '|' | '\n' | '\r' | '•' => true,
            // A sentence stop, not the dot in "b.q" or "1.5".
            '.' => chars.peek().is_none_or(|(_, next)| next.is_whitespace()),
            _ => false,
        };
        if ends {
            clauses.push(text.get(start..at).unwrap_or_default());
            start = at + ch.len_utf8();
        }
    }
    clauses.push(text.get(start..).unwrap_or_default());
    clauses
}

fn words(clause: &str) -> Vec<String> {
    clause
        .split(|ch: char| !ch.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// `word` is `keyword`, or its plural.
fn word_is(word: &str, keyword: &str) -> bool {
    word.strip_prefix(keyword)
        .is_some_and(|rest| rest.is_empty() || rest == "s" || rest == "es")
}

fn offered(words: &[String], keyword: &Keyword) -> bool {
    let phrase: Vec<&str> = keyword.phrase.split(' ').collect();
    if phrase.is_empty() || words.len() < phrase.len() {
        return false;
    }
    words
        .windows(phrase.len())
        .enumerate()
        .any(|(start, window)| {
            let end = start + phrase.len();
            let next = words.get(end).map(String::as_str);
            window
                .iter()
                .zip(&phrase)
                .all(|(word, keyword)| word_is(word, keyword))
                && !next.is_some_and(|next| keyword.unless_next.contains(&next))
                && !negated_before(words, start)
                && !negated_after(words, end)
        })
}

fn negated_before(words: &[String], start: usize) -> bool {
    let from = start.saturating_sub(NEGATION_REACH);
    let before = words.get(from..start).unwrap_or_default();
    for word in before.iter().rev() {
        // "no generator but inverter": the turn ends the negation.
        if word == "but" {
            return false;
        }
        if NEGATIONS_BEFORE.contains(&word.as_str()) {
            return true;
        }
    }
    false
}

fn negated_after(words: &[String], end: usize) -> bool {
    let next = words.get(end).map(String::as_str);
    let after = words.get(end + 1).map(String::as_str);
    match next {
        Some(next) if NEGATIONS_AFTER.contains(&next) => true,
        Some("is" | "are" | "was") => after == Some("not"),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use proptest::prelude::*;
    use rentory_persona::Priorities;

    use super::*;

    // -----------------------------------------------------------------------------------
    // Fixtures

    const LEKKI: (f64, f64) = (6.4478, 3.4723);
    const NAIRA: i64 = 100;

    fn lekki() -> Location {
        Location {
            name: "Lekki Phase 1".into(),
            city: "Lagos".into(),
            latitude: LEKKI.0,
            longitude: LEKKI.1,
            radius_km: 3.0,
        }
    }

    fn yaba() -> Location {
        Location {
            name: "Yaba".into(),
            city: "Lagos".into(),
            latitude: 6.5095,
            longitude: 3.3711,
            radius_km: 3.0,
        }
    }

    /// The point `km` north of Lekki Phase 1.
    fn north_of_lekki(km: f64) -> (f64, f64) {
        (LEKKI.0 + (km / EARTH_RADIUS_KM).to_degrees(), LEKKI.1)
    }

    fn yearly_budget(min_naira: Option<i64>, max_naira: Option<i64>) -> Budget {
        Budget {
            min_kobo: min_naira.map(|n| n * NAIRA),
            max_kobo: max_naira.map(|n| n * NAIRA),
            period: RentPeriod::Year,
        }
    }

    /// A tenant after a 2-3 bedroom flat near Lekki Phase 1 for up to NGN 3m a year, with
    /// power and water.
    fn persona() -> Persona {
        Persona {
            version: 3,
            budget: Some(yearly_budget(None, Some(3_000_000))),
            categories: vec![Category::Residential],
            locations: vec![lekki()],
            bedrooms: Some(Bedrooms {
                min: Some(2),
                max: Some(3),
            }),
            must_haves: vec![MustHave::ConstantPower, MustHave::BoreholeWater],
            priorities: Priorities {
                security: 4,
                power: 5,
                neighborhood: 3,
            },
            ..Persona::default()
        }
    }

    fn amenities(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| (*a).to_owned()).collect()
    }

    /// A 3-bedroom flat in Lekki for NGN 2.5m a year with power and water, 0.5 km from the
    /// search point.
    fn flat(amenities: &[String]) -> Candidate<'_> {
        let (latitude, longitude) = north_of_lekki(0.5);
        Candidate {
            category: Category::Residential,
            price_kobo: 2_500_000 * NAIRA,
            rent_period: RentPeriod::Year,
            bedrooms: Some(3),
            amenities,
            latitude,
            longitude,
            distance_km: 0.5,
            ratings: RatingAverages::default(),
            is_verified: false,
            photo_count: 0,
        }
    }

    const SEARCH: SearchContext = SearchContext { radius_km: 5.0 };

    fn tally(score: impl FnOnce(&mut Tally)) -> Tally {
        let mut tally = Tally::default();
        score(&mut tally);
        tally
    }

    fn reason_texts(tally: &Tally) -> Vec<&str> {
        tally.reasons.iter().map(|r| r.text.as_str()).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    // -----------------------------------------------------------------------------------
    // Weights and the whole score

    #[test]
    fn weights_sum_to_100() {
        let with = BUDGET_POINTS
            + LOCATION_POINTS
            + MUST_HAVE_POINTS
            + CATEGORY_POINTS
            + BEDROOM_POINTS
            + PRIORITY_POINTS;
        let without =
            DISTANCE_POINTS + RATING_POINTS + REVIEW_POINTS + VERIFIED_POINTS + PHOTO_POINTS;
        assert!(close(with, 100.0) && close(without, 100.0));
    }

    #[test]
    fn a_listing_that_fits_everything_scores_near_100_with_reasons_in_point_order() {
        let list = amenities(&["24-hour power (inverter/solar)", "Borehole water"]);
        let mut candidate = flat(&list);
        candidate.ratings = RatingAverages {
            security: Some(4.2),
            power: Some(4.6),
            neighborhood: Some(4.0),
            reviews: 40,
        };
        let found = match_score(Some(&persona()), &candidate, &SEARCH);
        assert!(found.score >= 95, "{found:?}");
        assert_eq!(
            found.reasons,
            [
                "within budget",
                "0.5 km from Lekki Phase 1",
                "has constant power, borehole water",
                "3 bedrooms as you asked",
                "constant power rated 4.6",
            ]
        );
    }

    #[test]
    fn within_budget_and_near_beats_over_budget_and_far() {
        let list = amenities(&["Borehole water", "Standby generator"]);
        let good = flat(&list);
        let (latitude, longitude) = north_of_lekki(8.0);
        let bad = Candidate {
            price_kobo: 4_000_000 * NAIRA,
            latitude,
            longitude,
            distance_km: 8.0,
            ..flat(&list)
        };
        let good = match_score(Some(&persona()), &good, &SEARCH);
        let bad = match_score(Some(&persona()), &bad, &SEARCH);
        assert!(good.score > bad.score, "{good:?} vs {bad:?}");
        assert!(
            bad.reasons.contains(&"33% over budget".to_owned()),
            "{bad:?}"
        );
        assert!(
            bad.reasons
                .contains(&"8.0 km from Lekki Phase 1".to_owned())
        );
    }

    #[test]
    fn at_most_five_reasons_ordered_by_points() {
        let mut wants = persona();
        wants.must_haves = MustHave::ALL.to_vec();
        wants.categories = vec![Category::Commercial];
        wants.bedrooms = Some(Bedrooms {
            min: Some(5),
            max: None,
        });
        let list = amenities(&["Gym"]);
        let found = match_score(Some(&wants), &flat(&list), &SEARCH);
        assert_eq!(found.reasons.len(), MAX_REASONS, "{found:?}");
        assert_eq!(found.reasons[0], "within budget");
        assert_eq!(found.reasons[1], "0.5 km from Lekki Phase 1");
        // Then the missed points, the biggest miss first.
        assert_eq!(found.reasons[3], "a residential listing, not commercial");
    }

    #[test]
    fn an_empty_persona_ranks_like_no_persona() {
        let list = amenities(&[]);
        let candidate = flat(&list);
        assert_eq!(
            match_score(Some(&Persona::default()), &candidate, &SEARCH),
            match_score(None, &candidate, &SEARCH)
        );
    }

    #[test]
    fn unsaid_wishes_give_full_points_without_reasons() {
        let wants = Persona {
            version: 1,
            priorities: Priorities {
                security: 5,
                ..Priorities::default()
            },
            ..Persona::default()
        };
        let list = amenities(&[]);
        let candidate = Candidate {
            distance_km: 1.0,
            ..flat(&list)
        };
        let found = match_score(Some(&wants), &candidate, &SEARCH);
        // 30 + 15 + 10 + 10 unsaid, location by the search distance (1 of 5 km: 20),
        // priorities unrated (6).
        assert_eq!(found.score, 91);
        assert_eq!(found.reasons, ["1.0 km away"]);
    }

    #[test]
    fn unusable_numbers_never_panic_or_leave_the_range() {
        let list = amenities(&["Generator"]);
        for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 1e308, 0.0] {
            let candidate = Candidate {
                price_kobo: i64::MAX,
                latitude: value,
                longitude: value,
                distance_km: value,
                bedrooms: Some(u32::MAX),
                photo_count: usize::MAX,
                ratings: RatingAverages {
                    security: Some(value),
                    power: Some(value),
                    neighborhood: Some(value),
                    reviews: u32::MAX,
                },
                ..flat(&list)
            };
            for radius_km in [value, f64::NAN, 0.0] {
                let search = SearchContext { radius_km };
                for wants in [None, Some(persona())] {
                    let found = match_score(wants.as_ref(), &candidate, &search);
                    assert!(found.score <= 100, "{found:?}");
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Budget

    fn budget_of(budget: Budget, kobo: i64, period: RentPeriod) -> Tally {
        let list = amenities(&[]);
        let candidate = Candidate {
            price_kobo: kobo,
            rent_period: period,
            ..flat(&list)
        };
        tally(|t| super::budget(Some(&budget), &candidate, t))
    }

    #[test]
    fn budget_within_range_gets_full_points() {
        let budget = yearly_budget(Some(1_000_000), Some(3_000_000));
        for naira in [1_000_000, 2_000_000, 3_000_000] {
            let t = budget_of(budget, naira * NAIRA, RentPeriod::Year);
            assert!(close(t.points, 30.0));
            assert_eq!(reason_texts(&t), ["within budget"]);
        }
    }

    #[test]
    fn budget_over_max_decays_to_zero_at_half_again() {
        let budget = yearly_budget(None, Some(1_000_000));
        let t = budget_of(budget, 1_180_000 * NAIRA, RentPeriod::Year);
        assert!(close(t.points, 30.0 * (1.0 - 0.18 / 0.5)), "{}", t.points);
        assert_eq!(reason_texts(&t), ["18% over budget"]);
        let t = budget_of(budget, 1_500_000 * NAIRA, RentPeriod::Year);
        assert!(close(t.points, 0.0));
        assert_eq!(reason_texts(&t), ["50% over budget"]);
        let t = budget_of(budget, 9_000_000 * NAIRA, RentPeriod::Year);
        assert!(close(t.points, 0.0));
        // A kobo over still reads as over, not "0% over".
        let t = budget_of(budget, 1_000_000 * NAIRA + 1, RentPeriod::Year);
        assert_eq!(reason_texts(&t), ["1% over budget"]);
    }

    #[test]
    fn budget_under_min_keeps_most_points() {
        let budget = yearly_budget(Some(2_000_000), Some(3_000_000));
        let t = budget_of(budget, 1_500_000 * NAIRA, RentPeriod::Year);
        assert!(close(t.points, 27.0), "{}", t.points);
        assert_eq!(reason_texts(&t), ["below your budget range"]);
        let t = budget_of(budget, 200_000 * NAIRA, RentPeriod::Year);
        assert!(close(t.points, 24.0), "{}", t.points);
    }

    #[test]
    fn budget_converts_months_and_years() {
        let yearly = yearly_budget(None, Some(1_200_000));
        let t = budget_of(yearly, 100_000 * NAIRA, RentPeriod::Month);
        assert_eq!(reason_texts(&t), ["within budget"]);
        let t = budget_of(yearly, 110_000 * NAIRA, RentPeriod::Month);
        assert_eq!(reason_texts(&t), ["10% over budget"]);
        let monthly = Budget {
            period: RentPeriod::Month,
            ..yearly_budget(None, Some(100_000))
        };
        let t = budget_of(monthly, 1_200_000 * NAIRA, RentPeriod::Year);
        assert_eq!(reason_texts(&t), ["within budget"]);
        let t = budget_of(monthly, 1_440_000 * NAIRA, RentPeriod::Year);
        assert_eq!(reason_texts(&t), ["20% over budget"]);
    }

    #[test]
    fn nightly_prices_are_not_compared_with_yearly_budgets() {
        let yearly = yearly_budget(None, Some(1_000));
        let t = budget_of(yearly, 50_000 * NAIRA, RentPeriod::Night);
        assert!(close(t.points, 15.0));
        assert!(t.reasons.is_empty());
        let nightly = Budget {
            period: RentPeriod::Night,
            ..yearly_budget(None, Some(50_000))
        };
        let t = budget_of(nightly, 10 * NAIRA, RentPeriod::Year);
        assert!(close(t.points, 15.0));
        let t = budget_of(nightly, 40_000 * NAIRA, RentPeriod::Night);
        assert_eq!(reason_texts(&t), ["within budget"]);
    }

    #[test]
    fn an_unpriced_listing_is_neutral() {
        let budget = yearly_budget(None, Some(1_000_000));
        for kobo in [0, -5, i64::MIN] {
            let t = budget_of(budget, kobo, RentPeriod::Year);
            assert!(close(t.points, 15.0));
            assert!(t.reasons.is_empty());
        }
    }

    // -----------------------------------------------------------------------------------
    // Location

    fn location_of(locations: &[Location], km_north: f64) -> Tally {
        let list = amenities(&[]);
        let (latitude, longitude) = north_of_lekki(km_north);
        let candidate = Candidate {
            latitude,
            longitude,
            distance_km: 1.2,
            ..flat(&list)
        };
        tally(|t| super::location(locations, &candidate, &SEARCH, t))
    }

    #[test]
    fn location_within_radius_is_full_and_named() {
        let t = location_of(&[lekki()], 2.1);
        assert!(close(t.points, 25.0));
        assert_eq!(reason_texts(&t), ["2.1 km from Lekki Phase 1"]);
    }

    #[test]
    fn location_decays_to_zero_at_three_radii() {
        let t = location_of(&[lekki()], 6.0);
        assert!((t.points - 12.5).abs() < 1e-6, "{}", t.points);
        assert_eq!(reason_texts(&t), ["6.0 km from Lekki Phase 1"]);
        assert!(close(location_of(&[lekki()], 9.0).points, 0.0));
        assert!(close(location_of(&[lekki()], 40.0).points, 0.0));
    }

    #[test]
    fn the_nearest_persona_location_counts() {
        // 2.1 km north of Lekki is about 11 km from Yaba.
        let t = location_of(&[yaba(), lekki()], 2.1);
        assert_eq!(reason_texts(&t), ["2.1 km from Lekki Phase 1"]);
        assert!(close(t.points, 25.0));
    }

    #[test]
    fn a_wider_radius_can_beat_a_nearer_place() {
        let wide = Location {
            name: "Lagos Island".into(),
            radius_km: 20.0,
            latitude: LEKKI.0 - 0.1,
            ..lekki()
        };
        // 7 km from Lekki (radius 3: partial), about 18 km from the wide place (full).
        let t = location_of(&[lekki(), wide], 7.0);
        assert!(close(t.points, 25.0));
        assert!(reason_texts(&t)[0].ends_with("km from Lagos Island"));
    }

    #[test]
    fn no_locations_scores_the_search_distance() {
        let t = location_of(&[], 2.1);
        // 1.2 km of a 5 km search radius.
        assert!(close(t.points, 25.0 * (1.0 - 1.2 / 5.0)));
        assert_eq!(reason_texts(&t), ["1.2 km away"]);
    }

    // -----------------------------------------------------------------------------------
    // Must-haves, category, bedrooms

    fn must_haves_of(wanted: &[MustHave], list: &[&str]) -> Tally {
        let list = amenities(list);
        tally(|t| super::must_haves(wanted, &list, t))
    }

    #[test]
    fn must_haves_found_are_named_together() {
        let t = must_haves_of(
            &[MustHave::ConstantPower, MustHave::BoreholeWater],
            &["Borehole water", "Standby generator", "POP ceiling"],
        );
        assert!(close(t.points, 15.0));
        assert_eq!(reason_texts(&t), ["has constant power, borehole water"]);
    }

    #[test]
    fn must_haves_missing_are_named_each() {
        let t = must_haves_of(
            &[
                MustHave::ConstantPower,
                MustHave::BoreholeWater,
                MustHave::Furnished,
            ],
            &["Prepaid meter", "Unfurnished", "Inverter"],
        );
        assert!(close(t.points, 5.0));
        assert_eq!(
            reason_texts(&t),
            [
                "has constant power",
                "no borehole water listed",
                "not listed as furnished"
            ]
        );
    }

    #[test]
    fn must_haves_that_describe_the_home_read_as_such() {
        let t = must_haves_of(
            &[MustHave::Gym, MustHave::Furnished, MustHave::PetFriendly],
            &["Fully furnished", "Pets allowed", "Gym"],
        );
        assert_eq!(reason_texts(&t), ["furnished, pets allowed, has a gym"]);
    }

    #[test]
    fn no_must_haves_is_full_points() {
        let t = must_haves_of(&[], &[]);
        assert!(close(t.points, 15.0));
        assert!(t.reasons.is_empty());
    }

    #[test]
    fn category_matches_or_misses() {
        let t = tally(|t| super::category(&[], Category::Land, t));
        assert!(close(t.points, 10.0) && t.reasons.is_empty());
        let wanted = [Category::Residential, Category::Shortlet];
        let t = tally(|t| super::category(&wanted, Category::Shortlet, t));
        assert!(close(t.points, 10.0) && t.reasons.is_empty());
        let t = tally(|t| super::category(&wanted, Category::EventCenter, t));
        assert!(close(t.points, 0.0));
        assert_eq!(
            reason_texts(&t),
            ["an event centre, not residential or shortlet"]
        );
    }

    #[test]
    fn or_lists_read_naturally() {
        assert_eq!(or_list(&[]), "");
        assert_eq!(or_list(&["a"]), "a");
        assert_eq!(or_list(&["a", "b"]), "a or b");
        assert_eq!(or_list(&["a", "b", "c"]), "a, b or c");
    }

    fn bedrooms_of(min: Option<u8>, max: Option<u8>, count: Option<u32>) -> Tally {
        tally(|t| super::bedrooms(Some(&Bedrooms { min, max }), count, t))
    }

    #[test]
    fn bedrooms_in_range_one_off_or_far() {
        let t = bedrooms_of(Some(2), Some(3), Some(3));
        assert!(close(t.points, 10.0));
        assert_eq!(reason_texts(&t), ["3 bedrooms as you asked"]);
        let t = bedrooms_of(Some(2), Some(3), Some(4));
        assert!(close(t.points, 5.0));
        assert_eq!(
            reason_texts(&t),
            ["4 bedrooms, one more than you asked for"]
        );
        let t = bedrooms_of(Some(2), None, Some(1));
        assert!(close(t.points, 5.0));
        assert_eq!(
            reason_texts(&t),
            ["1 bedroom, one fewer than you asked for"]
        );
        let t = bedrooms_of(Some(2), Some(3), Some(6));
        assert!(close(t.points, 0.0));
        assert_eq!(reason_texts(&t), ["6 bedrooms, you asked for 2 to 3"]);
        let t = bedrooms_of(Some(4), Some(4), Some(1));
        assert_eq!(reason_texts(&t), ["1 bedroom, you asked for 4"]);
        let t = bedrooms_of(None, Some(2), Some(5));
        assert_eq!(reason_texts(&t), ["5 bedrooms, you asked for at most 2"]);
    }

    #[test]
    fn bedrooms_unknown_is_neutral_and_unasked_is_full() {
        let t = bedrooms_of(Some(2), Some(3), None);
        assert!(close(t.points, 5.0) && t.reasons.is_empty());
        let t = bedrooms_of(None, None, Some(7));
        assert!(close(t.points, 10.0) && t.reasons.is_empty());
        let t = tally(|t| super::bedrooms(None, Some(7), t));
        assert!(close(t.points, 10.0) && t.reasons.is_empty());
    }

    // -----------------------------------------------------------------------------------
    // Priorities and ratings

    fn priorities_of(priorities: Priorities, ratings: RatingAverages) -> Tally {
        tally(|t| super::priorities(&priorities, &ratings, t))
    }

    #[test]
    fn high_priorities_with_good_ratings_are_reasons() {
        let t = priorities_of(
            Priorities {
                security: 4,
                power: 5,
                neighborhood: 4,
            },
            RatingAverages {
                security: Some(4.2),
                power: Some(4.6),
                neighborhood: Some(4.0),
                reviews: 12,
            },
        );
        assert_eq!(
            reason_texts(&t),
            [
                "security rated 4.2",
                "constant power rated 4.6",
                "neighbourhood rated 4.0"
            ]
        );
        assert!(t.points > 8.0 && t.points < 10.0, "{}", t.points);
    }

    #[test]
    fn neutral_priorities_and_middling_ratings_say_nothing() {
        let t = priorities_of(
            Priorities::default(),
            RatingAverages {
                security: Some(4.8),
                power: Some(3.5),
                neighborhood: None,
                reviews: 3,
            },
        );
        assert!(t.reasons.is_empty());
        let t = priorities_of(
            Priorities {
                power: 5,
                ..Priorities::default()
            },
            RatingAverages {
                power: Some(3.5),
                ..RatingAverages::default()
            },
        );
        assert!(t.reasons.is_empty());
    }

    #[test]
    fn a_poor_rating_on_a_high_priority_is_a_warning() {
        let t = priorities_of(
            Priorities {
                power: 5,
                ..Priorities::default()
            },
            RatingAverages {
                power: Some(1.8),
                reviews: 9,
                ..RatingAverages::default()
            },
        );
        assert_eq!(reason_texts(&t), ["constant power rated only 1.8"]);
    }

    #[test]
    fn unrated_aspects_count_neutral() {
        let t = priorities_of(Priorities::default(), RatingAverages::default());
        assert!(close(t.points, 6.0));
    }

    #[test]
    fn priorities_weigh_what_the_tenant_cares_about() {
        let cares_for_power = Priorities {
            security: 1,
            power: 5,
            neighborhood: 1,
        };
        let good_power = RatingAverages {
            power: Some(5.0),
            security: Some(1.0),
            neighborhood: Some(1.0),
            reviews: 50,
        };
        let good_security = RatingAverages {
            power: Some(1.0),
            security: Some(5.0),
            neighborhood: Some(1.0),
            reviews: 50,
        };
        assert!(
            priorities_of(cares_for_power, good_power).points
                > priorities_of(cares_for_power, good_security).points
        );
    }

    #[test]
    fn few_reviews_are_pulled_toward_neutral() {
        assert!(close(rating_share(None, 0), 0.6));
        assert!(close(rating_share(Some(5.0), 1), (5.0 + 6.0) / 3.0 / 5.0));
        assert!(rating_share(Some(4.6), 40) > rating_share(Some(5.0), 1));
        assert!(close(rating_share(Some(f64::NAN), 10), 0.6));
    }

    // -----------------------------------------------------------------------------------
    // Without a persona

    #[test]
    fn no_persona_reasons() {
        let list = amenities(&[]);
        let candidate = Candidate {
            distance_km: 1.2,
            is_verified: true,
            photo_count: 5,
            ratings: RatingAverages {
                security: Some(4.1),
                power: Some(4.4),
                neighborhood: Some(4.4),
                reviews: 12,
            },
            ..flat(&list)
        };
        let found = match_score(None, &candidate, &SEARCH);
        assert_eq!(
            found.reasons,
            [
                "1.2 km away",
                "rated 4.3 overall (12 reviews)",
                "verified listing"
            ]
        );
        // Distance 60 * (1 - 1.2/5) = 45.6; the 4.3 average over 12 reviews pulls to 4.11,
        // so rating 24 * 0.823 = 19.7 and reviews 8 * 12/17 * 0.823 = 4.6; verified 4;
        // photos 4.
        assert_eq!(found.score, 78, "{found:?}");
    }

    #[test]
    fn no_persona_review_counts_read_naturally() {
        let list = amenities(&[]);
        let rated = |reviews| Candidate {
            ratings: RatingAverages {
                security: Some(3.0),
                reviews,
                ..RatingAverages::default()
            },
            ..flat(&list)
        };
        let found = match_score(None, &rated(1), &SEARCH);
        assert!(
            found
                .reasons
                .contains(&"rated 3.0 overall (1 review)".to_owned())
        );
        let found = match_score(None, &rated(0), &SEARCH);
        assert!(found.reasons.contains(&"rated 3.0 overall".to_owned()));
    }

    #[test]
    fn no_persona_prefers_near_and_well_rated() {
        let list = amenities(&[]);
        let near_good = Candidate {
            distance_km: 0.8,
            ratings: RatingAverages {
                security: Some(4.5),
                power: Some(4.2),
                neighborhood: Some(4.6),
                reviews: 20,
            },
            is_verified: true,
            photo_count: 6,
            ..flat(&list)
        };
        let near_unrated = Candidate {
            ratings: RatingAverages::default(),
            is_verified: false,
            photo_count: 1,
            ..near_good
        };
        let far_good = Candidate {
            distance_km: 4.0,
            ..near_good
        };
        let near_bad = Candidate {
            ratings: RatingAverages {
                security: Some(1.5),
                power: Some(1.2),
                neighborhood: Some(2.0),
                reviews: 30,
            },
            ..near_unrated
        };
        let score = |c: &Candidate<'_>| match_score(None, c, &SEARCH).score;
        assert!(score(&near_good) > score(&near_unrated));
        assert!(score(&near_good) > score(&far_good));
        assert!(score(&near_unrated) > score(&near_bad));
        assert!(score(&near_good) >= 80, "{}", score(&near_good));
    }

    #[test]
    fn no_persona_distance_is_full_at_the_point_and_zero_at_the_radius() {
        let t = |distance_km, radius_km| {
            let list = amenities(&[]);
            let candidate = Candidate {
                distance_km,
                ..flat(&list)
            };
            tally(|t| search_distance(60.0, &candidate, &SearchContext { radius_km }, t)).points
        };
        assert!(close(t(0.0, 5.0), 60.0));
        assert!(close(t(2.5, 5.0), 30.0));
        assert!(close(t(5.0, 5.0), 0.0));
        assert!(close(t(50.0, 5.0), 0.0));
        // A point search (radius 0) still ranks the listing next door.
        assert!(t(0.1, 0.0) > 40.0);
        assert!(close(t(f64::NAN, 5.0), 0.0));
    }

    // -----------------------------------------------------------------------------------
    // Amenities

    fn has(must: MustHave, list: &[&str]) -> bool {
        amenity_satisfies(must, &amenities(list))
    }

    #[test]
    fn the_offline_vocabulary_satisfies_its_must_have() {
        let offline = [
            (MustHave::ConstantPower, "24-hour power (inverter/solar)"),
            (MustHave::Security, "Gated security"),
            (MustHave::BoreholeWater, "Borehole water"),
            (MustHave::Parking, "Parking space"),
            (MustHave::Furnished, "Furnished"),
            (MustHave::Serviced, "Serviced"),
            (MustHave::SwimmingPool, "Swimming pool"),
            (MustHave::Gym, "Gym"),
            (MustHave::GoodRoads, "Good road access"),
            (MustHave::Internet, "Fibre internet"),
            (MustHave::PetFriendly, "Pets allowed"),
            (MustHave::BoysQuarters, "Boys' quarters"),
        ];
        for (must, label) in offline {
            for other in MustHave::ALL {
                assert_eq!(has(other, &[label]), other == must, "{label} for {other:?}");
            }
        }
    }

    #[test]
    fn finishes_satisfy_no_must_have_except_a_generator() {
        let finishes = [
            "Fitted kitchen",
            "POP ceiling",
            "Wardrobes",
            "Tiled floors",
            "Air conditioning",
            "Water heater",
            "Balcony",
            "Prepaid meter",
            "Interlocked compound",
        ];
        for must in MustHave::ALL {
            assert!(!has(must, &finishes), "{must:?}");
        }
        assert!(has(MustHave::ConstantPower, &["Standby generator"]));
    }

    #[test]
    fn free_text_from_gemini() {
        assert!(has(MustHave::Security, &["24/7 security"]));
        assert!(has(MustHave::Security, &["CCTV cameras"]));
        assert!(has(MustHave::ConstantPower, &["24/7 power supply"]));
        assert!(has(MustHave::ConstantPower, &["Solar panels"]));
        assert!(has(MustHave::ConstantPower, &["Band A electricity"]));
        assert!(has(MustHave::BoreholeWater, &["Bore-hole"]));
        assert!(has(MustHave::BoysQuarters, &["B.Q"]));
        assert!(has(MustHave::BoysQuarters, &["Boy's quarter"]));
        assert!(has(MustHave::Furnished, &["Semi-furnished"]));
        assert!(has(MustHave::Internet, &["Wi-Fi"]));
        assert!(has(MustHave::PetFriendly, &["Pet-friendly"]));
        assert!(has(MustHave::GoodRoads, &["Area does not flood"]));
        assert!(has(MustHave::Parking, &["Ample PARKING for 4 cars"]));
    }

    #[test]
    fn negated_and_lookalike_amenities_do_not_count() {
        assert!(!has(MustHave::Furnished, &["Unfurnished"]));
        assert!(!has(MustHave::Furnished, &["Not furnished"]));
        assert!(!has(MustHave::Furnished, &["non-furnished"]));
        assert!(!has(MustHave::Furnished, &["not fully furnished"]));
        assert!(!has(MustHave::ConstantPower, &["no generator"]));
        assert!(!has(MustHave::ConstantPower, &["No standby generator"]));
        assert!(!has(MustHave::ConstantPower, &["No 24/7 power"]));
        assert!(!has(MustHave::ConstantPower, &["Solar water heater"]));
        assert!(!has(MustHave::PetFriendly, &["No pets"]));
        assert!(!has(MustHave::PetFriendly, &["Pets not allowed"]));
        assert!(!has(MustHave::SwimmingPool, &["without a swimming pool"]));
        assert!(!has(MustHave::SwimmingPool, &["Pool table"]));
        assert!(!has(MustHave::Security, &["Security deposit required"]));
        assert!(!has(MustHave::BoreholeWater, &["Water heater"]));
        assert!(!has(MustHave::GoodRoads, &["flooding in rainy season"]));
        assert!(!has(MustHave::Serviced, &["Unserviced"]));
    }

    #[test]
    fn a_negation_stops_at_the_clause() {
        assert!(has(MustHave::ConstantPower, &["No generator, inverter"]));
        assert!(has(MustHave::ConstantPower, &["no generator but inverter"]));
        assert!(has(MustHave::ConstantPower, &["No pets. Generator"]));
        assert!(has(MustHave::ConstantPower, &["no generator", "Inverter"]));
        assert!(!has(MustHave::ConstantPower, &[]));
    }

    // -----------------------------------------------------------------------------------
    // Page order and distance

    #[test]
    fn page_order_puts_higher_scores_first_then_older_ids() {
        let older = Uuid::from_u128(1);
        let newer = Uuid::from_u128(2);
        assert_eq!(page_order((90, newer), (80, older)), Ordering::Less);
        assert_eq!(page_order((80, older), (80, newer)), Ordering::Less);
        assert_eq!(page_order((80, older), (80, older)), Ordering::Equal);
    }

    #[test]
    fn distance_known_values() {
        // One degree of latitude is R * pi / 180.
        let degree = EARTH_RADIUS_KM * std::f64::consts::PI / 180.0;
        assert!((distance_km(0.0, 0.0, 1.0, 0.0) - degree).abs() < 1e-9);
        assert!((distance_km(0.0, 179.0, 0.0, -179.0) - 2.0 * degree).abs() < 1e-6);
        assert!((distance_km(0.0, 0.0, 0.0, 180.0) - MAX_SEARCH_RADIUS_KM).abs() < 1e-6);
        assert_eq!(distance_km(LEKKI.0, LEKKI.1, LEKKI.0, LEKKI.1), 0.0);
        // Lekki Phase 1 to Yaba: about 13 km as the crow flies.
        let d = distance_km(LEKKI.0, LEKKI.1, 6.5095, 3.3711);
        assert!((12.0..14.0).contains(&d), "{d}");
        assert!(distance_km(f64::NAN, 0.0, 0.0, 0.0).is_nan());
    }

    // -----------------------------------------------------------------------------------
    // Properties

    fn any_category() -> impl Strategy<Value = Category> {
        prop::sample::select(Category::ALL.to_vec())
    }

    fn any_period() -> impl Strategy<Value = RentPeriod> {
        prop::sample::select(vec![RentPeriod::Year, RentPeriod::Month, RentPeriod::Night])
    }

    fn any_location() -> impl Strategy<Value = Location> {
        (-90.0..=90.0f64, -180.0..=180.0f64, 0.5..=100.0f64).prop_map(
            |(latitude, longitude, radius_km)| Location {
                name: "Somewhere".into(),
                city: "Lagos".into(),
                latitude,
                longitude,
                radius_km,
            },
        )
    }

    fn any_persona() -> impl Strategy<Value = Persona> {
        let budget = (
            prop::option::of(1..=1_000_000_000_000i64),
            prop::option::of(1..=1_000_000_000_000i64),
            any_period(),
        )
            .prop_map(|(min_kobo, max_kobo, period)| Budget {
                min_kobo,
                max_kobo,
                period,
            });
        (
            prop::option::of(budget),
            prop::sample::subsequence(Category::ALL.to_vec(), 0..=5),
            prop::collection::vec(any_location(), 0..=3),
            prop::option::of((prop::option::of(0..=20u8), prop::option::of(0..=20u8))),
            prop::sample::subsequence(MustHave::ALL.to_vec(), 0..=12),
            (1..=5u8, 1..=5u8, 1..=5u8),
        )
            .prop_map(
                |(budget, categories, locations, bedrooms, must_haves, (s, p, n))| Persona {
                    version: 1,
                    budget,
                    categories,
                    locations,
                    bedrooms: bedrooms.map(|(min, max)| Bedrooms { min, max }),
                    must_haves,
                    priorities: Priorities {
                        security: s,
                        power: p,
                        neighborhood: n,
                    },
                    ..Persona::default()
                },
            )
    }

    /// A candidate's owned parts (amenities are borrowed by [`Candidate`]).
    #[derive(Debug, Clone)]
    struct Listing {
        category: Category,
        price_kobo: i64,
        rent_period: RentPeriod,
        bedrooms: Option<u32>,
        amenities: Vec<String>,
        latitude: f64,
        longitude: f64,
        distance_km: f64,
        ratings: RatingAverages,
        is_verified: bool,
        photo_count: usize,
    }

    impl Listing {
        fn candidate(&self) -> Candidate<'_> {
            Candidate {
                category: self.category,
                price_kobo: self.price_kobo,
                rent_period: self.rent_period,
                bedrooms: self.bedrooms,
                amenities: &self.amenities,
                latitude: self.latitude,
                longitude: self.longitude,
                distance_km: self.distance_km,
                ratings: self.ratings,
                is_verified: self.is_verified,
                photo_count: self.photo_count,
            }
        }
    }

    fn any_rating() -> impl Strategy<Value = Option<f64>> {
        prop::option::of(prop::num::f64::ANY)
    }

    /// Any listing at all, numbers included that no database would hold.
    fn any_listing() -> impl Strategy<Value = Listing> {
        let vocabulary = prop::sample::select(vec![
            "Borehole water",
            "no generator",
            "Unfurnished",
            "24/7 security",
            "Gym",
            "Pets allowed",
            "Standby generator",
        ]);
        (
            (any_category(), any::<i64>(), any_period()),
            prop::option::of(any::<u32>()),
            prop::collection::vec(vocabulary.prop_map(str::to_owned), 0..5),
            (
                prop::num::f64::ANY,
                prop::num::f64::ANY,
                prop::num::f64::ANY,
            ),
            (any_rating(), any_rating(), any_rating(), any::<u32>()),
            (any::<bool>(), any::<usize>()),
        )
            .prop_map(
                |(
                    (category, price_kobo, rent_period),
                    bedrooms,
                    amenities,
                    (latitude, longitude, distance_km),
                    (security, power, neighborhood, reviews),
                    (is_verified, photo_count),
                )| Listing {
                    category,
                    price_kobo,
                    rent_period,
                    bedrooms,
                    amenities,
                    latitude,
                    longitude,
                    distance_km,
                    ratings: RatingAverages {
                        security,
                        power,
                        neighborhood,
                        reviews,
                    },
                    is_verified,
                    photo_count,
                },
            )
    }

    /// A listing with realistic numbers near Lagos.
    fn lagos_listing() -> impl Strategy<Value = Listing> {
        let rating = prop::option::of(1.0..=5.0f64);
        (
            any_listing(),
            (6.3..6.7f64, 3.2..3.7f64, 0.0..30.0f64),
            (1..=100_000_000_000i64, prop::option::of(0..=10u32)),
            (rating.clone(), rating.clone(), rating, 0..500u32),
            0..20usize,
        )
            .prop_map(
                |(
                    listing,
                    (latitude, longitude, distance_km),
                    (price_kobo, bedrooms),
                    (security, power, neighborhood, reviews),
                    photo_count,
                )| Listing {
                    latitude,
                    longitude,
                    distance_km,
                    price_kobo,
                    bedrooms,
                    ratings: RatingAverages {
                        security,
                        power,
                        neighborhood,
                        reviews,
                    },
                    photo_count,
                    ..listing
                },
            )
    }

    proptest! {
        #[test]
        fn score_is_always_within_0_to_100(
            persona in prop::option::of(any_persona()),
            listing in any_listing(),
            radius_km in prop::num::f64::ANY,
        ) {
            let found = match_score(persona.as_ref(), &listing.candidate(), &SearchContext { radius_km });
            prop_assert!(found.score <= 100);
            prop_assert!(found.reasons.len() <= MAX_REASONS);
        }

        #[test]
        fn lowering_an_over_budget_price_never_lowers_the_score(
            persona in any_persona(),
            listing in lagos_listing(),
            max in 1..=1_000_000_000i64,
            min_share in prop::option::of(0.0..=1.0f64),
            over in 1..=2_000_000_000i64,
            cut in 0.0..=1.0f64,
        ) {
            // The budget's period is the listing's, so prices compare directly; the cut
            // never takes the price below the minimum (see the module docs for why under
            // the minimum scores a little less).
            let min = min_share.map(|share| ((max as f64 * share) as i64).max(1));
            let persona = Persona {
                budget: Some(Budget { min_kobo: min, max_kobo: Some(max), period: listing.rent_period }),
                ..persona
            };
            let floor = min.unwrap_or(1);
            let price = max + over;
            let lower = floor + ((price - floor) as f64 * cut) as i64;
            let search = SearchContext { radius_km: 10.0 };
            let before = match_score(Some(&persona), &Listing { price_kobo: price, ..listing.clone() }.candidate(), &search);
            let after = match_score(Some(&persona), &Listing { price_kobo: lower, ..listing }.candidate(), &search);
            prop_assert!(after.score >= before.score, "{} -> {}: {before:?} {after:?}", price, lower);
        }

        #[test]
        fn with_no_minimum_a_lower_price_never_lowers_the_score(
            persona in any_persona(),
            listing in lagos_listing(),
            max in 1..=1_000_000_000_000i64,
            period in any_period(),
            cut in 0.0..=1.0f64,
        ) {
            let persona = Persona {
                budget: Some(Budget { min_kobo: None, max_kobo: Some(max), period }),
                ..persona
            };
            let lower = ((listing.price_kobo as f64 * cut) as i64).max(1);
            let search = SearchContext { radius_km: 10.0 };
            let before = match_score(Some(&persona), &listing.candidate(), &search);
            let after = match_score(Some(&persona), &Listing { price_kobo: lower, ..listing }.candidate(), &search);
            prop_assert!(after.score >= before.score);
        }

        #[test]
        fn moving_closer_never_lowers_the_no_persona_score(
            listing in lagos_listing(),
            closer in 0.0..=1.0f64,
            radius_km in 0.0..50.0f64,
        ) {
            let search = SearchContext { radius_km };
            let near = Listing { distance_km: listing.distance_km * closer, ..listing.clone() };
            let before = match_score(None, &listing.candidate(), &search);
            let after = match_score(None, &near.candidate(), &search);
            prop_assert!(after.score >= before.score);
        }

        #[test]
        fn moving_toward_a_persona_location_never_lowers_the_score(
            persona in any_persona(),
            listing in lagos_listing(),
            closer in 0.0..=1.0f64,
        ) {
            // One location, and the listing moves along the meridian toward it.
            let place = lekki();
            let persona = Persona { locations: vec![place.clone()], ..persona };
            let north = |km: f64| {
                let (latitude, longitude) = north_of_lekki(km);
                Listing { latitude, longitude, ..listing.clone() }
            };
            let far_km = listing.distance_km;
            let search = SearchContext { radius_km: 10.0 };
            let before = match_score(Some(&persona), &north(far_km).candidate(), &search);
            let after = match_score(Some(&persona), &north(far_km * closer).candidate(), &search);
            prop_assert!(after.score >= before.score);
        }

        #[test]
        fn a_better_rating_never_lowers_the_score(
            persona in prop::option::of(any_persona()),
            listing in lagos_listing(),
            better in 0.0..=4.0f64,
        ) {
            let search = SearchContext { radius_km: 10.0 };
            let raised = |rating: Option<f64>| rating.map(|r| (r + better).min(5.0));
            let improved = Listing {
                ratings: RatingAverages {
                    security: raised(listing.ratings.security),
                    power: raised(listing.ratings.power),
                    neighborhood: raised(listing.ratings.neighborhood),
                    ..listing.ratings
                },
                ..listing.clone()
            };
            let before = match_score(persona.as_ref(), &listing.candidate(), &search);
            let after = match_score(persona.as_ref(), &improved.candidate(), &search);
            prop_assert!(after.score >= before.score);
        }

        #[test]
        fn page_order_is_a_total_order_consistent_with_sort(
            mut items in prop::collection::vec((0..=100u8, any::<u128>().prop_map(Uuid::from_u128)), 0..40),
            a in (0..=100u8, any::<u128>()),
            b in (0..=100u8, any::<u128>()),
            c in (0..=100u8, any::<u128>()),
        ) {
            let [a, b, c] = [a, b, c].map(|(score, id)| (score, Uuid::from_u128(id)));
            prop_assert_eq!(page_order(a, b), page_order(b, a).reverse());
            prop_assert_eq!(page_order(a, b) == Ordering::Equal, a == b);
            if page_order(a, b) != Ordering::Greater && page_order(b, c) != Ordering::Greater {
                prop_assert_ne!(page_order(a, c), Ordering::Greater);
            }
            items.sort_by(|x, y| page_order(*x, *y));
            for pair in items.windows(2) {
                prop_assert!(pair[0].0 >= pair[1].0);
                if pair[0].0 == pair[1].0 {
                    prop_assert!(pair[0].1 <= pair[1].1);
                }
            }
        }

        #[test]
        fn distance_is_symmetric_and_bounded(
            a in (-90.0..=90.0f64, -180.0..=180.0f64),
            b in (-90.0..=90.0f64, -180.0..=180.0f64),
        ) {
            let ab = distance_km(a.0, a.1, b.0, b.1);
            let ba = distance_km(b.0, b.1, a.0, a.1);
            prop_assert!((ab - ba).abs() < 1e-6);
            prop_assert!((0.0..=MAX_SEARCH_RADIUS_KM + 1e-6).contains(&ab));
        }
    }
}
