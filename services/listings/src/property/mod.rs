//! Properties (spec 2.2): the domain types, the rules a listing must follow
//! ([`rules`]), and their storage ([`db`]).

pub mod db;
pub mod rules;

use rentory_persona::{Category, RentPeriod};
use rentory_proto::listings::v1 as pb;
use time::OffsetDateTime;
use uuid::Uuid;

/// A category as a client may write it ("residential", " LAND ").
pub fn parse_category(text: &str) -> Option<Category> {
    Category::parse(&text.trim().to_ascii_uppercase())
}

/// A rent period as a client may write it ("year", "Night").
pub fn parse_rent_period(text: &str) -> Option<RentPeriod> {
    RentPeriod::parse(&text.trim().to_ascii_uppercase())
}

/// ACTIVE listings are discoverable; PENDING ones are held back by staff; ARCHIVED ones are
/// off the market but still readable (leases and chats refer to them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Pending,
    Archived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Pending => "PENDING",
            Self::Archived => "ARCHIVED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_uppercase().as_str() {
            "ACTIVE" => Some(Self::Active),
            "PENDING" => Some(Self::Pending),
            "ARCHIVED" => Some(Self::Archived),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandUnit {
    Sqm,
    Plots,
    Hectares,
}

impl LandUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqm => "SQM",
            Self::Plots => "PLOTS",
            Self::Hectares => "HECTARES",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_uppercase().as_str() {
            "SQM" => Some(Self::Sqm),
            "PLOTS" | "PLOT" => Some(Self::Plots),
            "HECTARES" | "HECTARE" | "HA" => Some(Self::Hectares),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LandDetails {
    pub size: f64,
    pub unit: LandUnit,
    pub dimensions: String,
    pub zoning: String,
}

/// Averages of the tenant reviews and the AI audit, per aspect.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Ratings {
    pub security: Option<f64>,
    pub power: Option<f64>,
    pub neighborhood: Option<f64>,
    pub reviews: u32,
    pub ai_audited: bool,
}

/// What a listing says about the property: everything a landlord may write.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingContent {
    pub category: Category,
    pub title: String,
    pub description: String,
    pub neighborhood_description: String,
    pub price_kobo: i64,
    pub rent_period: RentPeriod,
    pub address: String,
    pub latitude: f64,
    pub longitude: f64,
    pub bedrooms: Option<u32>,
    pub bathrooms: Option<u32>,
    pub amenities: Vec<String>,
    pub land_details: Option<LandDetails>,
}

/// A stored listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub id: Uuid,
    pub landlord_id: Uuid,
    pub content: ListingContent,
    pub status: Status,
    pub is_verified: bool,
    pub rentory_managed: bool,
    pub photo_urls: Vec<String>,
    pub ratings: Ratings,
    pub analysis_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<&LandDetails> for pb::LandDetails {
    fn from(land: &LandDetails) -> Self {
        Self {
            size: land.size,
            unit: land.unit.as_str().to_owned(),
            dimensions: land.dimensions.clone(),
            zoning: land.zoning.clone(),
        }
    }
}

impl From<&Property> for pb::Property {
    fn from(p: &Property) -> Self {
        let c = &p.content;
        Self {
            id: p.id.to_string(),
            landlord_id: p.landlord_id.to_string(),
            category: c.category.as_str().to_owned(),
            title: c.title.clone(),
            description: c.description.clone(),
            neighborhood_description: c.neighborhood_description.clone(),
            price_kobo: c.price_kobo,
            rent_period: c.rent_period.as_str().to_owned(),
            address: c.address.clone(),
            latitude: c.latitude,
            longitude: c.longitude,
            bedrooms: c.bedrooms,
            bathrooms: c.bathrooms,
            status: p.status.as_str().to_owned(),
            is_verified: p.is_verified,
            rentory_managed: p.rentory_managed,
            amenities: c.amenities.clone(),
            photo_urls: p.photo_urls.clone(),
            ratings: Some(pb::Ratings {
                security: p.ratings.security,
                power: p.ratings.power,
                neighborhood: p.ratings.neighborhood,
                reviews: p.ratings.reviews,
                ai_audited: p.ratings.ai_audited,
            }),
            land_details: c.land_details.as_ref().map(Into::into),
            analysis_id: p.analysis_id.map(|id| id.to_string()),
            created_at: Some(rentory_proto::timestamp(p.created_at)),
            updated_at: Some(rentory_proto::timestamp(p.updated_at)),
        }
    }
}

impl Property {
    /// What events say about a listing: no description, no contact.
    pub fn snapshot(&self) -> rentory_proto::events::v1::PropertySnapshot {
        let c = &self.content;
        rentory_proto::events::v1::PropertySnapshot {
            property_id: self.id.to_string(),
            landlord_id: self.landlord_id.to_string(),
            category: c.category.as_str().to_owned(),
            title: c.title.clone(),
            price_kobo: c.price_kobo,
            rent_period: c.rent_period.as_str().to_owned(),
            latitude: c.latitude,
            longitude: c.longitude,
            bedrooms: c.bedrooms,
            status: self.status.as_str().to_owned(),
        }
    }
}
