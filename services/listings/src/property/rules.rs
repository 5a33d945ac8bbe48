//! The rules a listing follows, as plain functions: what makes its content valid, which
//! fields only the platform sets, and who may change what.

use rentory_auth::{Actor, Capability, Role};
use rentory_persona::{Category, RentPeriod};
use uuid::Uuid;

use super::{LandDetails, LandUnit, ListingContent};

pub const MAX_TITLE_CHARS: usize = 120;
pub const MIN_TITLE_CHARS: usize = 3;
pub const MAX_DESCRIPTION_CHARS: usize = 5000;
pub const MAX_NEIGHBORHOOD_CHARS: usize = 2000;
pub const MAX_ADDRESS_CHARS: usize = 300;
pub const MAX_AMENITIES: usize = 30;
pub const MAX_AMENITY_CHARS: usize = 60;
pub const MAX_ROOMS: u32 = 50;
/// NGN 100 billion: above any real rent, below where arithmetic on kobo gets tight.
pub const MAX_PRICE_KOBO: i64 = 10_000_000_000_000;
pub const MAX_LAND_TEXT_CHARS: usize = 120;

/// Nigeria's extent with a margin. Rentory lists Nigerian property only, and the commonest
/// coordinate mistake, latitude and longitude swapped, lands outside it.
const NIGERIA_LATITUDE: (f64, f64) = (4.0, 14.0);
const NIGERIA_LONGITUDE: (f64, f64) = (2.5, 15.0);

pub type Violations = Vec<(&'static str, String)>;

/// Listing fields as a request gives them: absent means "keep" (update) or "take from the
/// analysis / required" (create).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListingFields {
    pub category: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub neighborhood_description: Option<String>,
    pub price_kobo: Option<i64>,
    pub rent_period: Option<String>,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub bedrooms: Option<u32>,
    pub bathrooms: Option<u32>,
    pub amenities: Option<Vec<String>>,
    pub land_details: Option<LandDetailsFields>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LandDetailsFields {
    pub size: f64,
    pub unit: String,
    pub dimensions: String,
    pub zoning: String,
}

/// Fields the platform owns. A request may name them (clients echo whole objects back, and
/// attackers probe), so they are parsed and then refused unless the caller holds the right.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlatformFields {
    pub landlord_id: Option<String>,
    pub status: Option<String>,
    pub is_verified: Option<bool>,
    pub rentory_managed: Option<bool>,
}

impl PlatformFields {
    fn named(&self) -> Vec<&'static str> {
        let mut named = Vec::new();
        if self.landlord_id.is_some() {
            named.push("landlord_id");
        }
        if self.status.is_some() {
            named.push("status");
        }
        if self.is_verified.is_some() {
            named.push("is_verified");
        }
        if self.rentory_managed.is_some() {
            named.push("rentory_managed");
        }
        named
    }
}

/// Why a change is refused before any content is looked at.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The caller may not change this listing at all.
    Forbidden(&'static str),
    /// The caller may change the listing, but not these fields.
    ReadOnly(Violations),
}

/// A new listing: only landlords create, and a landlord sets none of the platform fields.
pub fn check_create(platform: &PlatformFields) -> Result<(), Refusal> {
    let named = platform.named();
    if named.is_empty() {
        return Ok(());
    }
    Err(Refusal::ReadOnly(
        named
            .into_iter()
            .map(|field| (field, "set by Rentory, not by the landlord".to_owned()))
            .collect(),
    ))
}

/// An edit of `owner`'s listing by `actor`:
/// - the owning landlord edits the content, and nothing the platform sets;
/// - ADMIN edits everything but the owner;
/// - staff who manage listings (OPERATIONS_MANAGER) set `is_verified` and
///   `rentory_managed`, and nothing else;
/// - anyone else is refused.
pub fn check_update(
    actor: &Actor,
    owner: Uuid,
    content_changed: bool,
    platform: &PlatformFields,
) -> Result<(), Refusal> {
    let mut read_only: Violations = Vec::new();
    if platform.landlord_id.is_some() {
        read_only.push(("landlord_id", "a listing never changes owner".to_owned()));
    }
    if actor.is_admin() {
        return refuse_if_any(read_only);
    }
    let is_owner = actor.role == Role::Landlord && actor.user_id == owner;
    let manages = actor.can(Capability::ManageListings);
    if !is_owner && !manages {
        return Err(Refusal::Forbidden(
            "only the landlord who listed it, or ADMIN, may change a listing",
        ));
    }
    if platform.status.is_some() {
        read_only.push((
            "status",
            "set by Rentory; archive with DELETE /properties/{id}".to_owned(),
        ));
    }
    if !manages {
        if platform.is_verified.is_some() {
            read_only.push(("is_verified", "set by Rentory staff".to_owned()));
        }
        if platform.rentory_managed.is_some() {
            read_only.push(("rentory_managed", "set by Rentory staff".to_owned()));
        }
    }
    if !is_owner && content_changed {
        read_only.push((
            "content",
            "staff mark listings verified or managed; the landlord writes the listing".to_owned(),
        ));
    }
    refuse_if_any(read_only)
}

/// Archiving: the owner, ADMIN, or staff who manage listings.
pub fn may_archive(actor: &Actor, owner: Uuid) -> bool {
    (actor.role == Role::Landlord && actor.user_id == owner)
        || actor.can(Capability::ManageListings)
}

fn refuse_if_any(read_only: Violations) -> Result<(), Refusal> {
    if read_only.is_empty() {
        Ok(())
    } else {
        Err(Refusal::ReadOnly(read_only))
    }
}

impl ListingFields {
    /// Whether any listing content is set (as opposed to platform fields only).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// `self` over `base`: every field `self` sets replaces the base's.
    pub fn over(self, base: ListingFields) -> ListingFields {
        ListingFields {
            category: self.category.or(base.category),
            title: self.title.or(base.title),
            description: self.description.or(base.description),
            neighborhood_description: self
                .neighborhood_description
                .or(base.neighborhood_description),
            price_kobo: self.price_kobo.or(base.price_kobo),
            rent_period: self.rent_period.or(base.rent_period),
            address: self.address.or(base.address),
            latitude: self.latitude.or(base.latitude),
            longitude: self.longitude.or(base.longitude),
            bedrooms: self.bedrooms.or(base.bedrooms),
            bathrooms: self.bathrooms.or(base.bathrooms),
            amenities: self.amenities.or(base.amenities),
            land_details: self.land_details.or(base.land_details),
        }
    }

    /// The names of the fields `self` sets, for `listings.property.updated`.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        let mut add = |set: bool, name| {
            if set {
                names.push(name);
            }
        };
        add(self.category.is_some(), "category");
        add(self.title.is_some(), "title");
        add(self.description.is_some(), "description");
        add(
            self.neighborhood_description.is_some(),
            "neighborhood_description",
        );
        add(self.price_kobo.is_some(), "price_kobo");
        add(self.rent_period.is_some(), "rent_period");
        add(self.address.is_some(), "address");
        add(self.latitude.is_some(), "latitude");
        add(self.longitude.is_some(), "longitude");
        add(self.bedrooms.is_some(), "bedrooms");
        add(self.bathrooms.is_some(), "bathrooms");
        add(self.amenities.is_some(), "amenities");
        add(self.land_details.is_some(), "land_details");
        names
    }
}

impl From<&ListingContent> for ListingFields {
    fn from(c: &ListingContent) -> Self {
        Self {
            category: Some(c.category.as_str().to_owned()),
            title: Some(c.title.clone()),
            description: Some(c.description.clone()),
            neighborhood_description: Some(c.neighborhood_description.clone()),
            price_kobo: Some(c.price_kobo),
            rent_period: Some(c.rent_period.as_str().to_owned()),
            address: Some(c.address.clone()),
            latitude: Some(c.latitude),
            longitude: Some(c.longitude),
            bedrooms: c.bedrooms,
            bathrooms: c.bathrooms,
            amenities: Some(c.amenities.clone()),
            land_details: c.land_details.as_ref().map(|l| LandDetailsFields {
                size: l.size,
                unit: l.unit.as_str().to_owned(),
                dimensions: l.dimensions.clone(),
                zoning: l.zoning.clone(),
            }),
        }
    }
}

/// Checks every field and the rules between them; the error lists every problem at once.
///
/// `land_details_explicit` says whether the request itself carried land details: details
/// inherited from a LAND listing whose category changes are dropped, while details a
/// request sends for a non-LAND listing are refused.
pub fn validate(
    fields: ListingFields,
    land_details_explicit: bool,
) -> Result<ListingContent, Violations> {
    let mut errors: Violations = Vec::new();
    let category = match fields.category.as_deref().map(super::parse_category) {
        Some(Some(c)) => Some(c),
        Some(None) => {
            errors.push((
                "category",
                "one of RESIDENTIAL, COMMERCIAL, EVENT_CENTER, LAND, SHORTLET".to_owned(),
            ));
            None
        }
        None => {
            errors.push(("category", "is required".to_owned()));
            None
        }
    };
    let title = text(
        &mut errors,
        "title",
        fields.title,
        MIN_TITLE_CHARS,
        MAX_TITLE_CHARS,
    );
    let description = text(
        &mut errors,
        "description",
        Some(fields.description.unwrap_or_default()),
        0,
        MAX_DESCRIPTION_CHARS,
    );
    let neighborhood_description = text(
        &mut errors,
        "neighborhood_description",
        Some(fields.neighborhood_description.unwrap_or_default()),
        0,
        MAX_NEIGHBORHOOD_CHARS,
    );
    let address = text(&mut errors, "address", fields.address, 3, MAX_ADDRESS_CHARS);
    let price_kobo = match fields.price_kobo {
        Some(p) if (1..=MAX_PRICE_KOBO).contains(&p) => Some(p),
        Some(_) => {
            errors.push((
                "price_kobo",
                format!("a whole number of kobo between 1 and {MAX_PRICE_KOBO}"),
            ));
            None
        }
        None => {
            errors.push(("price_kobo", "is required".to_owned()));
            None
        }
    };
    let rent_period = match fields.rent_period.as_deref() {
        Some(text) => match super::parse_rent_period(text) {
            Some(p) => Some(p),
            None => {
                errors.push(("rent_period", "one of YEAR, MONTH, NIGHT".to_owned()));
                None
            }
        },
        // Nigerian rent is quoted per year; shortlets per night.
        None => category.map(|c| {
            if c == Category::Shortlet {
                RentPeriod::Night
            } else {
                RentPeriod::Year
            }
        }),
    };
    if let (Some(c), Some(p)) = (category, rent_period)
        && !night_rule_holds(c, p)
    {
        errors.push((
            "rent_period",
            "shortlets are priced per NIGHT; only shortlets and event centres may be".to_owned(),
        ));
    }
    let latitude = coordinate(&mut errors, "latitude", fields.latitude, NIGERIA_LATITUDE);
    let longitude = coordinate(
        &mut errors,
        "longitude",
        fields.longitude,
        NIGERIA_LONGITUDE,
    );
    for (field, rooms) in [
        ("bedrooms", fields.bedrooms),
        ("bathrooms", fields.bathrooms),
    ] {
        if rooms.is_some_and(|r| r > MAX_ROOMS) {
            errors.push((field, format!("at most {MAX_ROOMS}")));
        }
    }
    let is_land = category == Some(Category::Land);
    if is_land {
        for (field, rooms) in [
            ("bedrooms", fields.bedrooms),
            ("bathrooms", fields.bathrooms),
        ] {
            if rooms.is_some_and(|r| r > 0) {
                errors.push((field, "land has no rooms".to_owned()));
            }
        }
    }
    let land_details = match (is_land, fields.land_details) {
        (true, Some(land)) => land_details(&mut errors, land),
        (true, None) => {
            errors.push((
                "land_details",
                "required for LAND: size, unit (SQM, PLOTS or HECTARES), dimensions, zoning"
                    .to_owned(),
            ));
            None
        }
        (false, Some(_)) if land_details_explicit => {
            errors.push((
                "land_details",
                "only LAND listings have land details".to_owned(),
            ));
            None
        }
        (false, _) => None,
    };
    let amenities = amenities(&mut errors, fields.amenities.unwrap_or_default());

    match (
        category,
        title,
        description,
        neighborhood_description,
        price_kobo,
        rent_period,
        address,
        latitude,
        longitude,
    ) {
        (
            Some(category),
            Some(title),
            Some(description),
            Some(neighborhood_description),
            Some(price_kobo),
            Some(rent_period),
            Some(address),
            Some(latitude),
            Some(longitude),
        ) if errors.is_empty() => Ok(ListingContent {
            category,
            title,
            description,
            neighborhood_description,
            price_kobo,
            rent_period,
            address,
            latitude,
            longitude,
            bedrooms: if is_land { None } else { fields.bedrooms },
            bathrooms: if is_land { None } else { fields.bathrooms },
            amenities,
            land_details,
        }),
        _ => Err(errors),
    }
}

/// Shortlets are let by the night; an event centre may be hired by the night (a day's
/// event); homes, shops and land are let by the year or month.
pub fn night_rule_holds(category: Category, period: RentPeriod) -> bool {
    match category {
        Category::Shortlet => period == RentPeriod::Night,
        Category::EventCenter => true,
        _ => period != RentPeriod::Night,
    }
}

fn text(
    errors: &mut Violations,
    field: &'static str,
    value: Option<String>,
    min: usize,
    max: usize,
) -> Option<String> {
    let Some(value) = value else {
        errors.push((field, "is required".to_owned()));
        return None;
    };
    let value = value.trim().to_owned();
    let chars = value.chars().count();
    if chars < min || chars > max {
        errors.push((field, format!("between {min} and {max} characters")));
        return None;
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        errors.push((field, "contains control characters".to_owned()));
        return None;
    }
    Some(value)
}

fn coordinate(
    errors: &mut Violations,
    field: &'static str,
    value: Option<f64>,
    (min, max): (f64, f64),
) -> Option<f64> {
    match value {
        Some(v) if v.is_finite() && (min..=max).contains(&v) => Some(v),
        Some(_) => {
            errors.push((
                field,
                format!("outside Nigeria ({min} to {max}); are latitude and longitude swapped?"),
            ));
            None
        }
        None => {
            errors.push((field, "is required".to_owned()));
            None
        }
    }
}

fn land_details(errors: &mut Violations, land: LandDetailsFields) -> Option<LandDetails> {
    let before = errors.len();
    if !(land.size.is_finite() && land.size > 0.0 && land.size < 1e9) {
        errors.push(("land_details.size", "a positive number".to_owned()));
    }
    let unit = LandUnit::parse(&land.unit);
    if unit.is_none() {
        errors.push((
            "land_details.unit",
            "one of SQM, PLOTS, HECTARES".to_owned(),
        ));
    }
    let dimensions = text(
        errors,
        "land_details.dimensions",
        Some(land.dimensions),
        0,
        MAX_LAND_TEXT_CHARS,
    );
    let zoning = text(
        errors,
        "land_details.zoning",
        Some(land.zoning),
        0,
        MAX_LAND_TEXT_CHARS,
    );
    match (unit, dimensions, zoning) {
        (Some(unit), Some(dimensions), Some(zoning)) if errors.len() == before => {
            Some(LandDetails {
                size: land.size,
                unit,
                dimensions,
                zoning,
            })
        }
        _ => None,
    }
}

/// Trimmed, non-empty, without case-insensitive duplicates, in the order given.
fn amenities(errors: &mut Violations, given: Vec<String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for amenity in given {
        let amenity = amenity.trim();
        if amenity.is_empty() {
            continue;
        }
        if amenity.chars().count() > MAX_AMENITY_CHARS || amenity.chars().any(char::is_control) {
            errors.push((
                "amenities",
                format!("each at most {MAX_AMENITY_CHARS} characters of plain text"),
            ));
            return Vec::new();
        }
        if !kept.iter().any(|k| k.eq_ignore_ascii_case(amenity)) {
            kept.push(amenity.to_owned());
        }
    }
    if kept.len() > MAX_AMENITIES {
        errors.push(("amenities", format!("at most {MAX_AMENITIES}")));
        return Vec::new();
    }
    kept
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use rentory_auth::{RequestContext, StaffPosition, UserStatus};

    use super::*;

    fn actor(role: Role, position: Option<StaffPosition>) -> Actor {
        Actor {
            user_id: Uuid::now_v7(),
            role,
            status: UserStatus::Active,
            position,
            session_id: Uuid::now_v7(),
            context: RequestContext::default(),
        }
    }

    fn flat() -> ListingFields {
        ListingFields {
            category: Some("RESIDENTIAL".into()),
            title: Some("3 bedroom flat in Yaba".into()),
            description: Some("Spacious, tiled, POP ceilings".into()),
            price_kobo: Some(250_000_000),
            address: Some("12 Herbert Macaulay Way, Yaba, Lagos".into()),
            latitude: Some(6.5095),
            longitude: Some(3.3711),
            bedrooms: Some(3),
            amenities: Some(vec![
                " Borehole ".into(),
                "borehole".into(),
                "Generator".into(),
            ]),
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_flat_is_valid_and_priced_per_year_by_default() {
        let c = validate(flat(), true).unwrap();
        assert_eq!(c.rent_period, RentPeriod::Year);
        assert_eq!(c.amenities, ["Borehole", "Generator"]);
        assert_eq!(c.bedrooms, Some(3));
        assert!(c.land_details.is_none());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errors = validate(
            ListingFields {
                category: Some("CASTLE".into()),
                price_kobo: Some(0),
                latitude: Some(3.37),
                longitude: Some(6.5),
                ..Default::default()
            },
            true,
        )
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        for f in ["category", "title", "price_kobo", "address", "latitude"] {
            assert!(fields.contains(&f), "{f} missing from {errors:?}");
        }
        assert!(errors.iter().any(|(_, why)| why.contains("swapped")));
    }

    #[test]
    fn land_needs_details_and_nothing_else_may_have_them() {
        let mut land = flat();
        land.category = Some("LAND".into());
        land.bedrooms = None;
        let errors = validate(land.clone(), true).unwrap_err();
        assert_eq!(errors[0].0, "land_details");

        land.land_details = Some(LandDetailsFields {
            size: 2.0,
            unit: "plots".into(),
            dimensions: "30m x 36m".into(),
            zoning: "Residential".into(),
        });
        let c = validate(land.clone(), true).unwrap();
        assert_eq!(c.land_details.as_ref().unwrap().unit, LandUnit::Plots);

        let mut with_rooms = land.clone();
        with_rooms.bedrooms = Some(2);
        assert_eq!(validate(with_rooms, true).unwrap_err()[0].0, "bedrooms");

        let mut flat_with_land = flat();
        flat_with_land.land_details = land.land_details.clone();
        assert_eq!(
            validate(flat_with_land.clone(), true).unwrap_err()[0].0,
            "land_details"
        );
        // Inherited from a LAND listing whose category changed: dropped, not refused.
        assert!(
            validate(flat_with_land, false)
                .unwrap()
                .land_details
                .is_none()
        );

        let mut bad_unit = land;
        bad_unit.land_details.as_mut().unwrap().unit = "acres".into();
        bad_unit.land_details.as_mut().unwrap().size = -1.0;
        let errors = validate(bad_unit, true).unwrap_err();
        assert!(errors.iter().any(|(f, _)| *f == "land_details.unit"));
        assert!(errors.iter().any(|(f, _)| *f == "land_details.size"));
    }

    #[test]
    fn shortlets_and_only_shortlets_are_per_night() {
        let mut shortlet = flat();
        shortlet.category = Some("SHORTLET".into());
        assert_eq!(
            validate(shortlet.clone(), true).unwrap().rent_period,
            RentPeriod::Night
        );
        shortlet.rent_period = Some("YEAR".into());
        assert_eq!(validate(shortlet, true).unwrap_err()[0].0, "rent_period");
        let mut nightly_flat = flat();
        nightly_flat.rent_period = Some("NIGHT".into());
        assert_eq!(
            validate(nightly_flat, true).unwrap_err()[0].0,
            "rent_period"
        );
        let mut hall = flat();
        hall.category = Some("EVENT_CENTER".into());
        hall.rent_period = Some("NIGHT".into());
        assert_eq!(validate(hall, true).unwrap().rent_period, RentPeriod::Night);
    }

    #[test]
    fn request_fields_override_the_base() {
        let base = flat();
        let patch = ListingFields {
            price_kobo: Some(300_000_000),
            ..Default::default()
        };
        assert_eq!(patch.names(), ["price_kobo"]);
        let merged = patch.over(base);
        assert_eq!(validate(merged, false).unwrap().price_kobo, 300_000_000);
    }

    #[test]
    fn landlords_set_no_platform_field_on_create() {
        assert_eq!(check_create(&PlatformFields::default()), Ok(()));
        let Err(Refusal::ReadOnly(fields)) = check_create(&PlatformFields {
            is_verified: Some(true),
            landlord_id: Some(Uuid::nil().to_string()),
            ..Default::default()
        }) else {
            panic!("refused")
        };
        let names: Vec<_> = fields.iter().map(|(f, _)| *f).collect();
        assert_eq!(names, ["landlord_id", "is_verified"]);
    }

    #[test]
    fn who_may_change_what() {
        let landlord = actor(Role::Landlord, None);
        let owner = landlord.user_id;
        let none = PlatformFields::default();
        let verify = PlatformFields {
            is_verified: Some(true),
            ..Default::default()
        };
        let archive = PlatformFields {
            status: Some("ARCHIVED".into()),
            ..Default::default()
        };
        let steal = PlatformFields {
            landlord_id: Some(Uuid::nil().to_string()),
            ..Default::default()
        };

        assert_eq!(check_update(&landlord, owner, true, &none), Ok(()));
        for platform in [&verify, &archive, &steal] {
            assert!(matches!(
                check_update(&landlord, owner, true, platform),
                Err(Refusal::ReadOnly(_))
            ));
        }
        let other_landlord = actor(Role::Landlord, None);
        assert!(matches!(
            check_update(&other_landlord, owner, true, &none),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            check_update(&actor(Role::Tenant, None), owner, true, &none),
            Err(Refusal::Forbidden(_))
        ));

        let admin = actor(Role::Admin, None);
        assert_eq!(check_update(&admin, owner, true, &verify), Ok(()));
        assert_eq!(check_update(&admin, owner, false, &archive), Ok(()));
        assert!(matches!(
            check_update(&admin, owner, false, &steal),
            Err(Refusal::ReadOnly(_))
        ));

        let ops = actor(Role::Staff, Some(StaffPosition::OperationsManager));
        assert_eq!(check_update(&ops, owner, false, &verify), Ok(()));
        assert!(matches!(
            check_update(&ops, owner, true, &verify),
            Err(Refusal::ReadOnly(_))
        ));
        assert!(matches!(
            check_update(&ops, owner, false, &archive),
            Err(Refusal::ReadOnly(_))
        ));
        let compliance = actor(Role::Staff, Some(StaffPosition::ComplianceOfficer));
        assert!(matches!(
            check_update(&compliance, owner, false, &verify),
            Err(Refusal::Forbidden(_))
        ));

        assert!(may_archive(&landlord, owner));
        assert!(may_archive(&ops, owner));
        assert!(may_archive(&admin, owner));
        assert!(!may_archive(&other_landlord, owner));
        assert!(!may_archive(&compliance, owner));
    }
}
