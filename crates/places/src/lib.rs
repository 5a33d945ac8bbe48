//! The gazetteer of Nigerian places: cities and the neighbourhoods (areas) within them,
//! each with the names and aliases people write ("Victoria Island", "VI"), the city and
//! state it belongs to, a point (WGS 84 latitude and longitude in degrees) and a radius in
//! kilometres to search around, and a short neutral description.
//!
//! The data is a hand-kept list compiled into the crate from `data/gazetteer.json`; it was
//! first written for, and shipped with, the AI orchestrator's offline provider, which
//! recognises these places in what tenants and landlords write. No other source is recorded
//! for it: the points are representative centres and the radii rough extents, good for
//! "around Yaba" searches and for placing an address on the map, not for surveying.
//!
//! Users: the AI orchestrator (offline concierge, photo descriptions, checking the places
//! Gemini names) and the listings service (placing an address given without coordinates,
//! seeding listings around a city's areas with [`Gazetteer::areas_in`]).

pub mod nigeria;

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use rentory_persona::{Location, MAX_RADIUS_KM, MIN_RADIUS_KM};
use serde::{Deserialize, Serialize};

const SHIPPED: &str = include_str!("../data/gazetteer.json");

/// Longest all-capital alias treated as an abbreviation. Abbreviations are matched only in
/// capitals because "vi", "ph" and "fct" are also ordinary letters in lower-case text.
const ABBREVIATION_MAX_CHARS: usize = 4;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// As people say it: "Lekki Phase 1".
    pub name: String,
    /// Other ways of writing it: "VI", "Wuse II", "Unilag".
    #[serde(default)]
    pub aliases: Vec<String>,
    pub city: String,
    pub state: String,
    pub latitude: f64,
    pub longitude: f64,
    pub radius_km: f64,
    pub kind: PlaceKind,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PlaceKind {
    City,
    Area,
}

impl Place {
    pub fn to_location(&self) -> Location {
        Location {
            name: self.name.clone(),
            city: self.city.clone(),
            latitude: self.latitude,
            longitude: self.longitude,
            radius_km: self.radius_km.clamp(MIN_RADIUS_KM, MAX_RADIUS_KM),
        }
    }
}

/// Where in a text a place was mentioned (byte offsets into that text).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mention<'a> {
    pub place: &'a Place,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Default)]
pub struct Gazetteer {
    places: Vec<Place>,
    /// One alternation of every name and alias, longest first, so that at any position
    /// "Lekki Phase 1" is tried before "Lekki". `None` when there is nothing to match.
    matcher: Option<Regex>,
    /// Normalised name or alias -> index into `places`.
    by_name: HashMap<String, usize>,
}

static SHIPPED_GAZETTEER: LazyLock<Gazetteer> = LazyLock::new(|| {
    match Gazetteer::from_json(SHIPPED) {
        Ok(gazetteer) => gazetteer,
        Err(error) => {
            tracing::error!(%error, "the shipped gazetteer does not load; places will not be recognised");
            Gazetteer::default()
        }
    }
});

/// Roads named after a place ("Ikorodu Road" in Maryland) say nothing about where a
/// tenant wants to live.
static ROAD_AFTER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(r"(?i)^[\s-]+(?:road|rd|street|st|expressway|express\s*way|motor\s+road)\b")
});

fn compile(pattern: &str) -> Option<Regex> {
    match Regex::new(pattern) {
        Ok(regex) => Some(regex),
        Err(error) => {
            tracing::error!(%error, pattern, "a gazetteer pattern does not compile");
            None
        }
    }
}

/// Lower case with every run of spaces and hyphens as one space: "Ibeju-Lekki" and
/// "ibeju  lekki" are the same name.
fn normalise(name: &str) -> String {
    name.split(|c: char| c.is_whitespace() || c == '-')
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_abbreviation(alias: &str) -> bool {
    let chars = alias.chars().count();
    (2..=ABBREVIATION_MAX_CHARS).contains(&chars) && alias.chars().all(|c| c.is_ascii_uppercase())
}

/// The regex for one name: words separated by any spaces or hyphens, on word boundaries.
fn name_pattern(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|word| !word.is_empty())
        .map(regex::escape)
        .collect();
    let body = words.join(r"[\s\-]+");
    if is_abbreviation(name) {
        format!(r"\b{body}\b")
    } else {
        format!(r"\b(?i:{body})\b")
    }
}

impl Gazetteer {
    /// The list shipped with the service, loaded once.
    pub fn shipped() -> &'static Gazetteer {
        &SHIPPED_GAZETTEER
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        let places: Vec<Place> = serde_json::from_str(text)?;
        Ok(Self::new(places))
    }

    pub fn new(places: Vec<Place>) -> Self {
        let mut by_name = HashMap::new();
        let mut names: Vec<&str> = Vec::new();
        for (index, place) in places.iter().enumerate() {
            for name in std::iter::once(&place.name).chain(&place.aliases) {
                let key = normalise(name);
                if key.is_empty() {
                    continue;
                }
                // The first place to claim a name keeps it, so the data's order decides.
                if by_name.contains_key(&key) {
                    continue;
                }
                by_name.insert(key, index);
                names.push(name);
            }
        }
        names.sort_by_key(|name| std::cmp::Reverse(name.chars().count()));
        let matcher = if names.is_empty() {
            None
        } else {
            let alternatives: Vec<String> = names.iter().map(|name| name_pattern(name)).collect();
            compile(&alternatives.join("|"))
        };
        Self {
            places,
            matcher,
            by_name,
        }
    }

    pub fn places(&self) -> &[Place] {
        &self.places
    }

    /// The areas of a city (every place in it that is not the city itself), in the data's
    /// order. The city is matched by name ignoring case, spaces and hyphens ("port harcourt"
    /// is "Port Harcourt"); aliases are not ("PH" finds nothing). Empty for a city the
    /// gazetteer does not know.
    pub fn areas_in(&self, city: &str) -> Vec<&Place> {
        let city = normalise(city);
        if city.is_empty() {
            return Vec::new();
        }
        self.places
            .iter()
            .filter(|place| place.kind != PlaceKind::City && normalise(&place.city) == city)
            .collect()
    }

    /// Every mention of a known place, in order, longest name first at each position.
    /// Places named as part of a road ("Ikorodu Road") are left out.
    pub fn mentions_in(&self, text: &str) -> Vec<Mention<'_>> {
        let Some(matcher) = &self.matcher else {
            return Vec::new();
        };
        let road_after = ROAD_AFTER.as_ref();
        matcher
            .find_iter(text)
            .filter(|found| !road_after.is_some_and(|road| road.is_match(&text[found.end()..])))
            .filter_map(|found| {
                let index = *self.by_name.get(&normalise(found.as_str()))?;
                let place = self.places.get(index)?;
                Some(Mention {
                    place,
                    start: found.start(),
                    end: found.end(),
                })
            })
            .collect()
    }

    /// The places a text mentions, in order of first appearance, each once.
    pub fn find_in(&self, text: &str) -> Vec<&Place> {
        let mut places: Vec<&Place> = Vec::new();
        for mention in self.mentions_in(text) {
            if !places.iter().any(|seen| std::ptr::eq(*seen, mention.place)) {
                places.push(mention.place);
            }
        }
        places
    }

    /// The most specific place an address names: an area over a city, an area in a city the
    /// address also names over one elsewhere, then the smallest area.
    pub fn place_for_address(&self, address: &str) -> Option<&Place> {
        let found = self.find_in(address);
        let cities: Vec<&str> = found
            .iter()
            .filter(|place| place.kind == PlaceKind::City)
            .map(|place| place.name.as_str())
            .collect();
        let mut best: Option<(&Place, (bool, bool))> = None;
        for place in found {
            let rank = (
                place.kind == PlaceKind::Area,
                place.kind == PlaceKind::Area && cities.contains(&place.city.as_str()),
            );
            let better = match best {
                None => true,
                Some((current, current_rank)) => {
                    rank > current_rank
                        || (rank == current_rank && place.radius_km < current.radius_km)
                }
            };
            if better {
                best = Some((place, rank));
            }
        }
        best.map(|(place, _)| place)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::collections::HashSet;

    fn names<'a>(places: &[&'a Place]) -> Vec<&'a str> {
        places.iter().map(|place| place.name.as_str()).collect()
    }

    fn find(text: &str) -> Vec<&'static str> {
        names(&Gazetteer::shipped().find_in(text))
    }

    #[test]
    fn shipped_file_parses_and_every_entry_is_sane() {
        let gazetteer = Gazetteer::from_json(SHIPPED).expect("data/gazetteer.json parses");
        assert!(
            gazetteer.places().len() >= 80,
            "{}",
            gazetteer.places().len()
        );
        assert_eq!(
            Gazetteer::shipped().places().len(),
            gazetteer.places().len()
        );
        let mut seen = HashSet::new();
        for place in gazetteer.places() {
            assert!(
                (4.0..=14.0).contains(&place.latitude),
                "{} latitude",
                place.name
            );
            assert!(
                (2.6..=14.7).contains(&place.longitude),
                "{} longitude",
                place.name
            );
            assert!(
                (MIN_RADIUS_KM..=MAX_RADIUS_KM).contains(&place.radius_km),
                "{} radius",
                place.name
            );
            let description = place.description.trim();
            assert!(!description.is_empty(), "{} description", place.name);
            assert!(
                place.description.chars().count() <= 300,
                "{} description",
                place.name
            );
            assert!(
                !place.city.is_empty() && !place.state.is_empty(),
                "{}",
                place.name
            );
            assert!(
                place.name.chars().count() <= rentory_persona::MAX_NAME_CHARS,
                "{}",
                place.name
            );
            for name in std::iter::once(&place.name).chain(&place.aliases) {
                assert!(seen.insert(normalise(name)), "{name} is used twice");
                let first = name.chars().next().unwrap();
                let last = name.chars().last().unwrap();
                // Word boundaries only hold at letters and digits.
                assert!(first.is_alphanumeric() && last.is_alphanumeric(), "{name}");
            }
            match place.kind {
                PlaceKind::City => {
                    assert_eq!(place.city, place.name);
                    assert!((15.0..=25.0).contains(&place.radius_km), "{}", place.name);
                }
                PlaceKind::Area => {
                    assert!((2.0..=8.0).contains(&place.radius_km), "{}", place.name);
                    let city = gazetteer
                        .places()
                        .iter()
                        .find(|other| other.kind == PlaceKind::City && other.name == place.city);
                    let city = city.unwrap_or_else(|| panic!("{} has no city entry", place.name));
                    assert_eq!(city.state, place.state, "{}", place.name);
                    let distance = ((place.latitude - city.latitude).powi(2)
                        + (place.longitude - city.longitude).powi(2))
                    .sqrt()
                        * 111.0;
                    assert!(
                        distance < 80.0,
                        "{} is {distance:.0} km from {}",
                        place.name,
                        city.name
                    );
                }
            }
            assert!(place.to_location().name == place.name);
        }
    }

    #[test]
    fn covers_the_places_tenants_name() {
        let gazetteer = Gazetteer::shipped();
        let lagos_areas = gazetteer
            .places()
            .iter()
            .filter(|p| p.city == "Lagos" && p.kind == PlaceKind::Area)
            .count();
        assert!(lagos_areas >= 30, "{lagos_areas}");
        for name in [
            "Lekki Phase 1",
            "Lekki",
            "Ajah",
            "Sangotedo",
            "Chevron",
            "Ikate",
            "Oniru",
            "Victoria Island",
            "Ikoyi",
            "Banana Island",
            "Yaba",
            "Surulere",
            "Ikeja",
            "Ikeja GRA",
            "Maryland",
            "Gbagada",
            "Magodo",
            "Ogudu",
            "Ojodu",
            "Omole",
            "Ogba",
            "Agege",
            "Ilupeju",
            "Festac",
            "Apapa",
            "Isolo",
            "Oshodi",
            "Ikorodu",
            "Ebute Metta",
            "Ajao Estate",
            "Opebi",
            "Allen Avenue",
            "Abuja",
            "Maitama",
            "Asokoro",
            "Wuse",
            "Wuse 2",
            "Garki",
            "Gwarinpa",
            "Jabi",
            "Utako",
            "Kubwa",
            "Lugbe",
            "Life Camp",
            "Katampe",
            "Jahi",
            "Lokogoma",
            "Guzape",
            "Apo",
            "Port Harcourt",
            "GRA Port Harcourt",
            "Rumuokoro",
            "Trans Amadi",
            "Woji",
            "Eliozu",
            "Rumuola",
            "Ibadan",
            "Bodija",
            "Jericho",
            "Akobo",
            "Oluyole",
            "Enugu",
            "Independence Layout",
            "Trans Ekulu",
            "New Haven",
            "Benin City",
            "Ugbowo",
            "GRA Benin",
            "Kano",
            "Kaduna",
            "Abeokuta",
            "Owerri",
            "Uyo",
            "Calabar",
            "Asaba",
            "Warri",
            "Ilorin",
            "Jos",
        ] {
            assert_eq!(find(name), [name], "{name}");
        }
    }

    #[test]
    fn finds_places_in_order_longest_first_without_duplicates() {
        let cases: &[(&str, &[&str])] = &[
            ("flat in lekki phase 1 or ajah", &["Lekki Phase 1", "Ajah"]),
            ("Lekki Phase 1, Lekki, LEKKI", &["Lekki Phase 1", "Lekki"]),
            (
                "I work in Ikeja GRA but Ikeja is fine",
                &["Ikeja GRA", "Ikeja"],
            ),
            ("shortlet in VI", &["Victoria Island"]),
            ("vi or ph or fct", &[]),
            ("Abuja FCT, Wuse II", &["Abuja", "Wuse 2"]),
            ("Wuse 2 or Wuse", &["Wuse 2", "Wuse"]),
            ("somewhere in PH", &["Port Harcourt"]),
            ("port-harcourt GRA", &["GRA Port Harcourt"]),
            ("GRA Port Harcourt", &["GRA Port Harcourt"]),
            ("anywhere in the GRA", &[]),
            ("near UNILAG", &["Akoka"]),
            ("ibeju lekki or Epe", &["Ibeju-Lekki", "Epe"]),
            ("Yabatech", &[]),
            ("Maryland mall, close to Ikorodu Road", &["Maryland"]),
            ("the Lekki-Epe Expressway", &["Lekki"]),
            ("", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(find(text), *expected, "{text}");
        }
    }

    #[test]
    fn mentions_carry_their_position() {
        let text = "2 bed in Ajao Estate";
        let mentions = Gazetteer::shipped().mentions_in(text);
        assert_eq!(mentions.len(), 1);
        assert_eq!(&text[mentions[0].start..mentions[0].end], "Ajao Estate");
    }

    #[test]
    fn an_address_resolves_to_its_most_specific_place() {
        let gazetteer = Gazetteer::shipped();
        let cases: &[(&str, Option<&str>)] = &[
            (
                "12 Admiralty Way, Lekki Phase 1, Lagos",
                Some("Lekki Phase 1"),
            ),
            ("Plot 5, Aminu Kano Crescent, Wuse 2, Abuja", Some("Wuse 2")),
            ("4 Allen Avenue, Ikeja, Lagos", Some("Allen Avenue")),
            ("15 Lagos Street, Garki, Abuja", Some("Garki")),
            ("Lagos", Some("Lagos")),
            ("5 Stadium Road, Rumuola, Port Harcourt", Some("Rumuola")),
            ("10 Unknown Street, Nowhere", None),
        ];
        for (address, expected) in cases {
            assert_eq!(
                gazetteer
                    .place_for_address(address)
                    .map(|p| p.name.as_str()),
                *expected,
                "{address}"
            );
        }
    }

    #[test]
    fn a_location_keeps_the_place_point_and_radius() {
        let gazetteer = Gazetteer::shipped();
        let yaba = gazetteer.find_in("Yaba")[0].to_location();
        assert_eq!(yaba.name, "Yaba");
        assert_eq!(yaba.city, "Lagos");
        assert!((yaba.latitude - 6.5095).abs() < 0.05 && (yaba.longitude - 3.3711).abs() < 0.05);
        assert_eq!(yaba.radius_km, 3.0);
    }

    #[test]
    fn areas_in_lists_a_citys_areas_ignoring_case() {
        let gazetteer = Gazetteer::shipped();
        for (city, at_least) in [("Lagos", 30), ("Abuja", 10), ("Port Harcourt", 5)] {
            let areas = gazetteer.areas_in(city);
            assert!(areas.len() >= at_least, "{city}: {}", areas.len());
            for area in &areas {
                assert_eq!(area.city, city, "{}", area.name);
                assert_eq!(area.kind, PlaceKind::Area, "{}", area.name);
            }
            let names = names(&areas);
            assert!(!names.contains(&city), "{city} lists itself");
            let expected = gazetteer
                .places()
                .iter()
                .filter(|place| place.city == city && place.kind != PlaceKind::City)
                .count();
            assert_eq!(areas.len(), expected, "{city}");
        }
        assert!(names(&gazetteer.areas_in("Lagos")).contains(&"Yaba"));
        assert!(names(&gazetteer.areas_in("Abuja")).contains(&"Wuse 2"));
        assert!(names(&gazetteer.areas_in("Port Harcourt")).contains(&"Trans Amadi"));

        assert_eq!(
            names(&gazetteer.areas_in("PORT HARCOURT")),
            names(&gazetteer.areas_in("Port Harcourt"))
        );
        assert_eq!(
            names(&gazetteer.areas_in("  lagos ")),
            names(&gazetteer.areas_in("Lagos"))
        );
        assert_eq!(
            names(&gazetteer.areas_in("port-harcourt")),
            names(&gazetteer.areas_in("Port Harcourt"))
        );
        // A city with no areas, an area, an alias, an unknown name and nothing at all.
        assert!(gazetteer.areas_in("Kano").is_empty());
        assert!(gazetteer.areas_in("Yaba").is_empty());
        assert!(gazetteer.areas_in("PH").is_empty());
        assert!(gazetteer.areas_in("Timbuktu").is_empty());
        assert!(gazetteer.areas_in("").is_empty());
        assert!(Gazetteer::default().areas_in("Lagos").is_empty());
    }

    #[test]
    fn bad_data_gives_an_error_and_an_empty_gazetteer_finds_nothing() {
        assert!(Gazetteer::from_json("{not json").is_err());
        let empty = Gazetteer::default();
        assert!(empty.find_in("Lekki Phase 1").is_empty());
        assert!(empty.place_for_address("Yaba, Lagos").is_none());
    }
}
