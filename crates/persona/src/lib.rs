//! The tenant persona: what the AI concierge has learned a tenant wants, as one versioned
//! JSON document. The orchestrator writes it, identity keeps a copy in
//! `profiles.preferences`, and listings ranks discovery with it, so its shape is a contract:
//! add optional fields freely, never change the meaning of an existing one (bump
//! [`SCHEMA_VERSION`] and keep reading the old shape if that is ever needed).
//!
//! Money is integer kobo (NGN 1 = 100 kobo). Every list is bounded and every number
//! range-checked by [`Persona::validate`], because the document can come from a model.

use serde::{Deserialize, Serialize};

/// The shape of the document; stored in it as `schema_version`.
pub const SCHEMA_VERSION: u32 = 1;
/// Most locations a persona keeps.
pub const MAX_LOCATIONS: usize = 8;
/// Most must-haves a persona keeps (there are fewer kinds than this).
pub const MAX_MUST_HAVES: usize = 16;
/// Longest location name, in characters.
pub const MAX_NAME_CHARS: usize = 80;
/// Highest budget accepted: NGN 10 billion.
pub const MAX_BUDGET_KOBO: i64 = 1_000_000_000_000;
/// Most bedrooms a tenant can ask for.
pub const MAX_BEDROOMS: u8 = 20;
/// Smallest and largest search radius around a location, in km.
pub const MIN_RADIUS_KM: f64 = 0.5;
pub const MAX_RADIUS_KM: f64 = 100.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Persona {
    /// [`SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// Grows by one with every change; 0 for a tenant the concierge has not met.
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// Property categories the tenant is looking for; empty means not said.
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Where the tenant wants to live or work, most wanted first.
    #[serde(default)]
    pub locations: Vec<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bedrooms: Option<Bedrooms>,
    #[serde(default)]
    pub must_haves: Vec<MustHave>,
    #[serde(default)]
    pub priorities: Priorities,
}

impl Default for Persona {
    fn default() -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            version: 0,
            budget: None,
            categories: Vec::new(),
            locations: Vec::new(),
            bedrooms: None,
            must_haves: Vec::new(),
            priorities: Priorities::default(),
        }
    }
}

/// What the tenant can pay, per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Budget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kobo: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_kobo: Option<i64>,
    pub period: RentPeriod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RentPeriod {
    Year,
    Month,
    Night,
}

impl RentPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Year => "YEAR",
            Self::Month => "MONTH",
            Self::Night => "NIGHT",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "YEAR" => Some(Self::Year),
            "MONTH" => Some(Self::Month),
            "NIGHT" => Some(Self::Night),
            _ => None,
        }
    }
}

/// The spec's property categories (section 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Category {
    Residential,
    Commercial,
    EventCenter,
    Land,
    Shortlet,
}

impl Category {
    pub const ALL: [Self; 5] = [
        Self::Residential,
        Self::Commercial,
        Self::EventCenter,
        Self::Land,
        Self::Shortlet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Residential => "RESIDENTIAL",
            Self::Commercial => "COMMERCIAL",
            Self::EventCenter => "EVENT_CENTER",
            Self::Land => "LAND",
            Self::Shortlet => "SHORTLET",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// A place, with the point it is searched around.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Location {
    /// As people say it: "Lekki Phase 1", "Yaba".
    pub name: String,
    /// "Lagos", "Abuja", "Port Harcourt", ...
    pub city: String,
    pub latitude: f64,
    pub longitude: f64,
    pub radius_km: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bedrooms {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u8>,
}

/// Things a tenant will not do without.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MustHave {
    /// 24-hour power: grid plus generator, inverter or solar.
    ConstantPower,
    /// Gated, guarded or estate security.
    Security,
    BoreholeWater,
    Parking,
    Furnished,
    /// Serviced apartment or estate (cleaning, facility management).
    Serviced,
    SwimmingPool,
    Gym,
    /// Good road access (no flooding, tarred road).
    GoodRoads,
    /// Fibre / reliable internet.
    Internet,
    PetFriendly,
    /// Boys' quarters (a separate staff flat).
    BoysQuarters,
}

impl MustHave {
    pub const ALL: [Self; 12] = [
        Self::ConstantPower,
        Self::Security,
        Self::BoreholeWater,
        Self::Parking,
        Self::Furnished,
        Self::Serviced,
        Self::SwimmingPool,
        Self::Gym,
        Self::GoodRoads,
        Self::Internet,
        Self::PetFriendly,
        Self::BoysQuarters,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConstantPower => "CONSTANT_POWER",
            Self::Security => "SECURITY",
            Self::BoreholeWater => "BOREHOLE_WATER",
            Self::Parking => "PARKING",
            Self::Furnished => "FURNISHED",
            Self::Serviced => "SERVICED",
            Self::SwimmingPool => "SWIMMING_POOL",
            Self::Gym => "GYM",
            Self::GoodRoads => "GOOD_ROADS",
            Self::Internet => "INTERNET",
            Self::PetFriendly => "PET_FRIENDLY",
            Self::BoysQuarters => "BOYS_QUARTERS",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// How a person would say it, for replies and match reasons.
    pub fn label(self) -> &'static str {
        match self {
            Self::ConstantPower => "constant power",
            Self::Security => "good security",
            Self::BoreholeWater => "borehole water",
            Self::Parking => "parking",
            Self::Furnished => "furnished",
            Self::Serviced => "serviced",
            Self::SwimmingPool => "a swimming pool",
            Self::Gym => "a gym",
            Self::GoodRoads => "good road access",
            Self::Internet => "fast internet",
            Self::PetFriendly => "pets allowed",
            Self::BoysQuarters => "boys' quarters",
        }
    }
}

/// How much the tenant cares about each rating listings keep, 1 (little) to 5 (a lot);
/// 3 when the tenant has not said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Priorities {
    pub security: u8,
    pub power: u8,
    pub neighborhood: u8,
}

impl Priorities {
    pub const NEUTRAL: u8 = 3;
}

impl Default for Priorities {
    fn default() -> Self {
        Self {
            security: Self::NEUTRAL,
            power: Self::NEUTRAL,
            neighborhood: Self::NEUTRAL,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PersonaError {
    #[error("persona is not valid JSON of the expected shape: {0}")]
    Shape(String),
    #[error("persona field {field}: {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
}

fn field(field: &'static str, problem: impl Into<String>) -> PersonaError {
    PersonaError::Field {
        field,
        problem: problem.into(),
    }
}

impl Persona {
    /// Reads a stored or received document and checks it.
    pub fn from_json(text: &str) -> Result<Self, PersonaError> {
        let persona: Self =
            serde_json::from_str(text).map_err(|e| PersonaError::Shape(e.to_string()))?;
        persona.validate()?;
        Ok(persona)
    }

    /// The document of a `rentory.ai.persona.updated` event, checked, and carrying the
    /// version the event claims (never 0): consumers keep the highest version, so a
    /// mislabelled one could mask every later change.
    pub fn from_event(text: &str, version: u64) -> Result<Self, PersonaError> {
        let persona = Self::from_json(text)?;
        if persona.version != version || version == 0 {
            return Err(field(
                "version",
                format!("the event says {version}, the document {}", persona.version),
            ));
        }
        Ok(persona)
    }

    pub fn to_json(&self) -> String {
        // A Persona holds only strings, numbers and enums: serialising it cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Checks every bound; a document that passes is safe to store, rank with and show.
    pub fn validate(&self) -> Result<(), PersonaError> {
        if let Some(budget) = &self.budget {
            for (name, value) in [
                ("budget.min_kobo", budget.min_kobo),
                ("budget.max_kobo", budget.max_kobo),
            ] {
                if let Some(kobo) = value
                    && !(1..=MAX_BUDGET_KOBO).contains(&kobo)
                {
                    return Err(field(
                        name,
                        format!("must be between 1 and {MAX_BUDGET_KOBO} kobo"),
                    ));
                }
            }
            if let (Some(min), Some(max)) = (budget.min_kobo, budget.max_kobo)
                && min > max
            {
                return Err(field("budget", "min_kobo is above max_kobo"));
            }
            if budget.min_kobo.is_none() && budget.max_kobo.is_none() {
                return Err(field("budget", "needs min_kobo or max_kobo"));
            }
        }
        if has_duplicates(&self.categories) {
            return Err(field("categories", "lists a category twice"));
        }
        if self.locations.len() > MAX_LOCATIONS {
            return Err(field("locations", format!("at most {MAX_LOCATIONS}")));
        }
        for location in &self.locations {
            let name = location.name.trim();
            if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
                return Err(field(
                    "locations.name",
                    format!("1 to {MAX_NAME_CHARS} characters"),
                ));
            }
            if location.city.chars().count() > MAX_NAME_CHARS {
                return Err(field(
                    "locations.city",
                    format!("at most {MAX_NAME_CHARS} characters"),
                ));
            }
            if !(-90.0..=90.0).contains(&location.latitude)
                || !(-180.0..=180.0).contains(&location.longitude)
            {
                return Err(field("locations", "latitude/longitude out of range"));
            }
            if !(MIN_RADIUS_KM..=MAX_RADIUS_KM).contains(&location.radius_km) {
                return Err(field(
                    "locations.radius_km",
                    format!("between {MIN_RADIUS_KM} and {MAX_RADIUS_KM}"),
                ));
            }
        }
        if let Some(bedrooms) = &self.bedrooms {
            for value in [bedrooms.min, bedrooms.max].into_iter().flatten() {
                if value > MAX_BEDROOMS {
                    return Err(field("bedrooms", format!("at most {MAX_BEDROOMS}")));
                }
            }
            if let (Some(min), Some(max)) = (bedrooms.min, bedrooms.max)
                && min > max
            {
                return Err(field("bedrooms", "min is above max"));
            }
        }
        if self.must_haves.len() > MAX_MUST_HAVES || has_duplicates(&self.must_haves) {
            return Err(field("must_haves", "lists a must-have twice"));
        }
        let p = &self.priorities;
        if [p.security, p.power, p.neighborhood]
            .iter()
            .any(|v| !(1..=5).contains(v))
        {
            return Err(field("priorities", "each between 1 and 5"));
        }
        Ok(())
    }

    /// The same wishes, ignoring `version` (and `schema_version`): a turn that learns
    /// nothing new must not bump the version or publish an event.
    pub fn same_wishes(&self, other: &Self) -> bool {
        self.budget == other.budget
            && self.categories == other.categories
            && self.locations == other.locations
            && self.bedrooms == other.bedrooms
            && self.must_haves == other.must_haves
            && self.priorities == other.priorities
    }

    /// True when the concierge knows nothing yet.
    pub fn is_empty(&self) -> bool {
        self.same_wishes(&Self::default())
    }
}

fn has_duplicates<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(i, item)| items[..i].contains(item))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn lekki() -> Location {
        Location {
            name: "Lekki Phase 1".into(),
            city: "Lagos".into(),
            latitude: 6.4478,
            longitude: 3.4723,
            radius_km: 3.0,
        }
    }

    #[test]
    fn round_trips_through_json() {
        let persona = Persona {
            version: 4,
            budget: Some(Budget {
                min_kobo: None,
                max_kobo: Some(200_000_000),
                period: RentPeriod::Year,
            }),
            categories: vec![Category::Residential],
            locations: vec![lekki()],
            bedrooms: Some(Bedrooms {
                min: Some(2),
                max: None,
            }),
            must_haves: vec![MustHave::ConstantPower, MustHave::BoreholeWater],
            priorities: Priorities {
                security: 5,
                power: 5,
                neighborhood: 3,
            },
            ..Persona::default()
        };
        let json = persona.to_json();
        assert!(json.contains(r#""categories":["RESIDENTIAL"]"#), "{json}");
        assert!(
            json.contains(r#""must_haves":["CONSTANT_POWER","BOREHOLE_WATER"]"#),
            "{json}"
        );
        assert_eq!(Persona::from_json(&json).unwrap(), persona);
        assert_eq!(Persona::from_event(&json, 4).unwrap(), persona);
        assert!(Persona::from_event(&json, 5).is_err());
        let unversioned = Persona::default().to_json();
        assert!(Persona::from_event(&unversioned, 0).is_err());
    }

    #[test]
    fn missing_fields_default_and_unknown_fields_are_ignored() {
        let persona =
            Persona::from_json(r#"{"schema_version":1,"version":2,"future":true}"#).unwrap();
        assert!(persona.is_empty());
        assert_eq!(persona.version, 2);
    }

    #[test]
    fn bounds_are_enforced() {
        let bad = |edit: fn(&mut Persona)| {
            let mut p = Persona::default();
            edit(&mut p);
            p.validate().unwrap_err()
        };
        bad(|p| {
            p.budget = Some(Budget {
                min_kobo: Some(5),
                max_kobo: Some(4),
                period: RentPeriod::Year,
            })
        });
        bad(|p| {
            p.budget = Some(Budget {
                min_kobo: None,
                max_kobo: Some(-1),
                period: RentPeriod::Month,
            })
        });
        bad(|p| {
            p.budget = Some(Budget {
                min_kobo: None,
                max_kobo: None,
                period: RentPeriod::Month,
            })
        });
        bad(|p| p.categories = vec![Category::Land, Category::Land]);
        bad(|p| p.locations = vec![lekki(); MAX_LOCATIONS + 1]);
        bad(|p| {
            p.locations = vec![Location {
                latitude: 91.0,
                ..lekki()
            }]
        });
        bad(|p| {
            p.locations = vec![Location {
                radius_km: 0.0,
                ..lekki()
            }]
        });
        bad(|p| {
            p.locations = vec![Location {
                name: " ".into(),
                ..lekki()
            }]
        });
        bad(|p| {
            p.bedrooms = Some(Bedrooms {
                min: Some(4),
                max: Some(2),
            })
        });
        bad(|p| p.must_haves = vec![MustHave::Gym, MustHave::Gym]);
        bad(|p| p.priorities.power = 0);
        bad(|p| p.priorities.security = 6);
        assert!(matches!(
            Persona::from_json(r#"{"schema_version":1,"version":1,"categories":["CASTLE"]}"#),
            Err(PersonaError::Shape(_))
        ));
    }

    #[test]
    fn same_wishes_ignores_the_version() {
        let a = Persona {
            version: 1,
            ..Persona::default()
        };
        let mut b = Persona {
            version: 9,
            ..Persona::default()
        };
        assert!(a.same_wishes(&b));
        b.must_haves.push(MustHave::Parking);
        assert!(!a.same_wishes(&b));
    }

    #[test]
    fn names_round_trip() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
        for m in MustHave::ALL {
            assert_eq!(MustHave::parse(m.as_str()), Some(m));
        }
        for r in [RentPeriod::Year, RentPeriod::Month, RentPeriod::Night] {
            assert_eq!(RentPeriod::parse(r.as_str()), Some(r));
        }
    }
}
