//! Listings: drafts analysed from photos, publishing, reading, editing and archiving,
//! persona-ranked discovery, ratings and the contact gate. The listings service decides who
//! may do what (API.md, "Who may do what") and which fields a caller may set; the gateway
//! checks shapes and sizes and forwards everything else as given.

use axum::Json;
use axum::extract::{Path, State};
use rentory_proto::listings::v1 as pb;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::extract::{ApiJson, ApiQuery, TextFields, present};
use crate::grpc::Forward;
use crate::model::{naira, non_empty};
use crate::problem::{Problem, ProblemDocument};
use crate::rate_limit::Uploads;
use crate::routes::{Created, created};
use crate::state::AppState;
use crate::upload::{FileList, FormSpec, MultipartBody, read_form};

/// The most photos one analysis takes.
pub const MAX_PHOTOS: usize = 10;
/// The longest `notes` accepted, in characters.
pub const MAX_NOTES_CHARS: usize = 2000;
/// The longest GeoJSON polygon accepted in a query, in bytes (after URL decoding): a
/// neighbourhood outline has hundreds of points, not thousands.
pub const MAX_POLYGON_BYTES: usize = 16 * 1024;

const ANALYZE_FORM: FormSpec = FormSpec {
    required_texts: &[],
    optional_texts: &["notes", "address", "latitude", "longitude"],
    files: &[],
    file_lists: &[FileList {
        name: "photos",
        max: MAX_PHOTOS,
    }],
    // Room for 2,000 characters of up to four bytes each; the count is checked after.
    max_text_bytes: Some(MAX_NOTES_CHARS * 4),
};

// --- bodies --------------------------------------------------------------------------

/// Photos of a property to draft a listing from (multipart/form-data).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AnalyzeForm {
    /// 1 - 10 JPEG, PNG or WebP images, each its own `photos` part.
    #[schema(value_type = Vec<String>, format = Binary)]
    photos: Vec<Vec<u8>>,
    /// What the landlord wants the listing to say (at most 2,000 characters).
    #[schema(example = "Newly renovated, prepaid meter, 24h security")]
    notes: Option<String>,
    #[schema(example = "12 Herbert Macaulay Way, Yaba, Lagos")]
    address: Option<String>,
    /// Decimal degrees; without them the address is looked up to find comparables.
    #[schema(example = 6.5095)]
    latitude: Option<f64>,
    #[schema(example = 3.3711)]
    longitude: Option<f64>,
}

/// A draft listing the AI made from the photos; publish it with `POST /properties`
/// `{analysis_id, ...}`, changing anything.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnalysisBody {
    #[schema(example = "0190f3a2-7b1c-7d4e-9a8b-1234567890ab")]
    pub analysis_id: String,
    /// RESIDENTIAL, COMMERCIAL, EVENT_CENTER, LAND or SHORTLET.
    #[schema(example = "RESIDENTIAL")]
    pub category: String,
    #[schema(example = "Bright 2-bedroom flat in Yaba")]
    pub title: String,
    pub description: String,
    #[schema(example = json!(["PREPAID_METER", "BOREHOLE"]))]
    pub amenities: Vec<String>,
    pub neighborhood_description: String,
    /// Null when no price could be suggested.
    #[schema(example = 250_000_000)]
    pub suggested_price_kobo: Option<i64>,
    /// The same in naira, as a decimal string; null with it.
    #[schema(example = "2500000.00")]
    pub suggested_price: Option<String>,
    /// YEAR, MONTH or NIGHT: what the suggested price is per.
    #[schema(example = "YEAR")]
    pub rent_period: String,
    pub bedrooms: Option<u32>,
    pub bathrooms: Option<u32>,
    /// 0 - 1.
    #[schema(example = 0.8)]
    pub confidence: f64,
    /// The model that answered; "offline" when no AI model is configured.
    #[schema(example = "offline")]
    pub model: String,
    pub reasons: Vec<String>,
    /// The photos as stored for the listing (re-encoded, without metadata).
    #[schema(example = json!(["http://127.0.0.1:8080/photos/3f/3f9a.jpg"]))]
    pub photo_urls: Vec<String>,
    pub address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// How many nearby listings the price suggestion compared with.
    pub comparables: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
}

impl From<pb::Analysis> for AnalysisBody {
    fn from(a: pb::Analysis) -> Self {
        Self {
            analysis_id: a.id,
            category: a.category,
            title: a.title,
            description: a.description,
            amenities: a.amenities,
            neighborhood_description: a.neighborhood_description,
            suggested_price_kobo: a.suggested_price_kobo,
            suggested_price: a.suggested_price_kobo.map(naira),
            rent_period: a.rent_period,
            bedrooms: a.bedrooms,
            bathrooms: a.bathrooms,
            confidence: a.confidence,
            model: a.model,
            reasons: a.reasons,
            photo_urls: a.photo_urls,
            address: a.address,
            latitude: a.latitude,
            longitude: a.longitude,
            comparables: a.comparables,
            created_at: a
                .created_at
                .as_ref()
                .and_then(rentory_proto::offset_date_time),
        }
    }
}

/// Tenants' averages (1.0 - 5.0; null while nobody has rated that aspect).
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingsBody {
    #[schema(example = 4.5)]
    pub security: Option<f64>,
    #[schema(example = 3.0)]
    pub power: Option<f64>,
    pub neighborhood: Option<f64>,
    /// Tenant reviews counted.
    #[schema(example = 2)]
    pub reviews: u32,
    /// Whether an AI audit of the photos is among the ratings.
    pub ai_audited: bool,
}

impl From<pb::Ratings> for RatingsBody {
    fn from(r: pb::Ratings) -> Self {
        Self {
            security: r.security,
            power: r.power,
            neighborhood: r.neighborhood,
            reviews: r.reviews,
            ai_audited: r.ai_audited,
        }
    }
}

/// Details of a plot of land (category LAND).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LandDetailsBody {
    #[schema(example = 648.0)]
    pub size: f64,
    /// SQM, PLOTS or HECTARES.
    #[schema(example = "SQM")]
    pub unit: String,
    #[schema(example = "18m x 36m")]
    #[serde(default)]
    pub dimensions: Option<String>,
    #[schema(example = "Residential")]
    #[serde(default)]
    pub zoning: Option<String>,
}

impl From<LandDetailsBody> for pb::LandDetails {
    fn from(l: LandDetailsBody) -> Self {
        Self {
            size: l.size,
            unit: l.unit,
            dimensions: l.dimensions.unwrap_or_default(),
            zoning: l.zoning.unwrap_or_default(),
        }
    }
}

impl From<pb::LandDetails> for LandDetailsBody {
    fn from(l: pb::LandDetails) -> Self {
        Self {
            size: l.size,
            unit: l.unit,
            dimensions: non_empty(l.dimensions),
            zoning: non_empty(l.zoning),
        }
    }
}

/// A listing. It never carries the landlord's contact: see `GET /properties/{id}/contact`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PropertyBody {
    #[schema(example = "0190f3a2-7b1c-7d4e-9a8b-1234567890ab")]
    pub id: String,
    pub landlord_id: String,
    /// RESIDENTIAL, COMMERCIAL, EVENT_CENTER, LAND or SHORTLET.
    #[schema(example = "RESIDENTIAL")]
    pub category: String,
    #[schema(example = "Bright 2-bedroom flat in Yaba")]
    pub title: String,
    pub description: String,
    pub neighborhood_description: String,
    #[schema(example = 250_000_000)]
    pub price_kobo: i64,
    /// `price_kobo` in naira, as a decimal string.
    #[schema(example = "2500000.00")]
    pub price: String,
    /// YEAR, MONTH or NIGHT.
    #[schema(example = "YEAR")]
    pub rent_period: String,
    #[schema(example = "12 Herbert Macaulay Way, Yaba, Lagos")]
    pub address: String,
    #[schema(example = 6.5095)]
    pub latitude: f64,
    #[schema(example = 3.3711)]
    pub longitude: f64,
    #[schema(example = 2)]
    pub bedrooms: Option<u32>,
    pub bathrooms: Option<u32>,
    /// ACTIVE, PENDING or ARCHIVED.
    #[schema(example = "ACTIVE")]
    pub status: String,
    pub is_verified: bool,
    pub rentory_managed: bool,
    #[schema(example = json!(["PREPAID_METER", "BOREHOLE"]))]
    pub amenities: Vec<String>,
    pub photo_urls: Vec<String>,
    pub ratings: RatingsBody,
    pub land_details: Option<LandDetailsBody>,
    /// The analysis the listing was published from.
    pub analysis_id: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

impl From<pb::Property> for PropertyBody {
    fn from(p: pb::Property) -> Self {
        Self {
            price: naira(p.price_kobo),
            id: p.id,
            landlord_id: p.landlord_id,
            category: p.category,
            title: p.title,
            description: p.description,
            neighborhood_description: p.neighborhood_description,
            price_kobo: p.price_kobo,
            rent_period: p.rent_period,
            address: p.address,
            latitude: p.latitude,
            longitude: p.longitude,
            bedrooms: p.bedrooms,
            bathrooms: p.bathrooms,
            status: p.status,
            is_verified: p.is_verified,
            rentory_managed: p.rentory_managed,
            amenities: p.amenities,
            photo_urls: p.photo_urls,
            // Absent only from a service that has no ratings to report.
            ratings: p.ratings.unwrap_or_default().into(),
            land_details: p.land_details.map(LandDetailsBody::from),
            analysis_id: p.analysis_id,
            created_at: p
                .created_at
                .as_ref()
                .and_then(rentory_proto::offset_date_time),
            updated_at: p
                .updated_at
                .as_ref()
                .and_then(rentory_proto::offset_date_time),
        }
    }
}

/// A new listing: from an analysis (`analysis_id`; any field given replaces the draft's)
/// or from scratch (then `category`, `title`, `description`, `price_kobo`, `address`,
/// `latitude` and `longitude` are required). Unknown fields are refused (400).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProperty {
    pub analysis_id: Option<String>,
    #[schema(example = "RESIDENTIAL")]
    pub category: Option<String>,
    #[schema(example = "Bright 2-bedroom flat in Yaba")]
    pub title: Option<String>,
    pub description: Option<String>,
    #[schema(example = 250_000_000)]
    pub price_kobo: Option<i64>,
    /// YEAR, MONTH or NIGHT.
    #[schema(example = "YEAR")]
    pub rent_period: Option<String>,
    pub address: Option<String>,
    #[schema(example = 6.5095)]
    pub latitude: Option<f64>,
    #[schema(example = 3.3711)]
    pub longitude: Option<f64>,
    pub bedrooms: Option<u32>,
    pub bathrooms: Option<u32>,
    /// Replaces the analysis' amenities when present (`[]` clears them).
    pub amenities: Option<Vec<String>>,
    pub land_details: Option<LandDetailsBody>,
    /// Set by the platform: a landlord who sends it gets 400 `read-only-field`.
    pub landlord_id: Option<String>,
    /// Set by the platform: a landlord who sends it gets 400 `read-only-field`.
    pub status: Option<String>,
    /// Set by the platform: a landlord who sends it gets 400 `read-only-field`.
    pub is_verified: Option<bool>,
    /// Set by the platform: a landlord who sends it gets 400 `read-only-field`.
    pub rentory_managed: Option<bool>,
}

impl From<NewProperty> for pb::CreatePropertyRequest {
    fn from(b: NewProperty) -> Self {
        Self {
            analysis_id: b.analysis_id,
            category: b.category,
            title: b.title,
            description: b.description,
            price_kobo: b.price_kobo,
            rent_period: b.rent_period,
            address: b.address,
            latitude: b.latitude,
            longitude: b.longitude,
            bedrooms: b.bedrooms,
            bathrooms: b.bathrooms,
            amenities_set: b.amenities.is_some(),
            amenities: b.amenities.unwrap_or_default(),
            land_details: b.land_details.map(pb::LandDetails::from),
            landlord_id: b.landlord_id,
            status: b.status,
            is_verified: b.is_verified,
            rentory_managed: b.rentory_managed,
        }
    }
}

/// Fields to change; absent (or null) ones stay as they are. Who may set `status`,
/// `is_verified` and `rentory_managed` is the service's call (400 `read-only-field`
/// otherwise); `landlord_id` never changes. Unknown fields are refused (400).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyPatch {
    #[schema(example = "RESIDENTIAL")]
    pub category: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub neighborhood_description: Option<String>,
    #[schema(example = 240_000_000)]
    pub price_kobo: Option<i64>,
    pub rent_period: Option<String>,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub bedrooms: Option<u32>,
    pub bathrooms: Option<u32>,
    /// Replaces the amenities when present (`[]` clears them).
    pub amenities: Option<Vec<String>>,
    pub land_details: Option<LandDetailsBody>,
    pub landlord_id: Option<String>,
    /// ADMIN only (e.g. ACTIVE again after an archive).
    pub status: Option<String>,
    /// ADMIN or OPERATIONS_MANAGER staff.
    pub is_verified: Option<bool>,
    /// ADMIN or OPERATIONS_MANAGER staff.
    pub rentory_managed: Option<bool>,
}

impl PropertyPatch {
    fn into_request(self, id: String) -> pb::UpdatePropertyRequest {
        pb::UpdatePropertyRequest {
            id,
            category: self.category,
            title: self.title,
            description: self.description,
            price_kobo: self.price_kobo,
            rent_period: self.rent_period,
            address: self.address,
            latitude: self.latitude,
            longitude: self.longitude,
            bedrooms: self.bedrooms,
            bathrooms: self.bathrooms,
            amenities_set: self.amenities.is_some(),
            amenities: self.amenities.unwrap_or_default(),
            land_details: self.land_details.map(pb::LandDetails::from),
            neighborhood_description: self.neighborhood_description,
            landlord_id: self.landlord_id,
            status: self.status,
            is_verified: self.is_verified,
            rentory_managed: self.rentory_managed,
        }
    }
}

/// A tenant's rating, 1 - 5 each; a new one replaces the tenant's previous rating.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RatingBody {
    #[schema(example = 4)]
    pub security: u32,
    #[schema(example = 3)]
    pub power: u32,
    #[schema(example = 5)]
    pub neighborhood: u32,
}

/// The landlord's contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactBody {
    pub landlord_id: String,
    #[schema(example = "Adaeze Okafor")]
    pub full_name: String,
    #[schema(example = "+2348031234567")]
    pub phone: String,
    #[schema(example = "ada@example.ng")]
    pub email: String,
}

/// Discovery filters. The area is a point with `radius_km`, or `bbox`, or `polygon`; with
/// none of them the caller's persona decides where to look.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiscoverQuery {
    /// Latitude of the search point, decimal degrees.
    #[param(value_type = Option<f64>, example = 6.5095)]
    pub lat: Option<String>,
    /// Longitude of the search point.
    #[param(value_type = Option<f64>, example = 3.3711)]
    pub lng: Option<String>,
    #[param(value_type = Option<f64>, example = 5)]
    pub radius_km: Option<String>,
    /// `minLng,minLat,maxLng,maxLat`.
    #[param(example = "3.35,6.49,3.39,6.53")]
    pub bbox: Option<String>,
    /// A GeoJSON Polygon, URL-encoded; at most 16 KiB.
    pub polygon: Option<String>,
    /// RESIDENTIAL, COMMERCIAL, EVENT_CENTER, LAND or SHORTLET.
    pub category: Option<String>,
    #[param(value_type = Option<i64>)]
    pub min_price_kobo: Option<String>,
    #[param(value_type = Option<i64>)]
    pub max_price_kobo: Option<String>,
    /// At least this many bedrooms.
    #[param(value_type = Option<u32>)]
    pub bedrooms: Option<String>,
    /// Page size, 1 - 50 (default 20).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl DiscoverQuery {
    /// Parses every parameter, naming each bad one.
    fn into_request(self) -> Result<pb::DiscoverRequest, Problem> {
        let mut fields = TextFields::default();
        let latitude = fields.number("lat", self.lat.as_deref());
        let longitude = fields.number("lng", self.lng.as_deref());
        let radius_km = fields.number("radius_km", self.radius_km.as_deref());
        let bbox = present(self.bbox.as_deref()).and_then(|raw| parse_bbox(&mut fields, raw));
        let polygon_geojson = present(self.polygon.as_deref()).map(str::to_owned);
        if polygon_geojson
            .as_ref()
            .is_some_and(|p| p.len() > MAX_POLYGON_BYTES)
        {
            fields.refuse(
                "polygon",
                format!("must be at most {MAX_POLYGON_BYTES} bytes"),
            );
        }
        let integer = "a whole number";
        let min_price_kobo =
            fields.integer("min_price_kobo", self.min_price_kobo.as_deref(), integer);
        let max_price_kobo =
            fields.integer("max_price_kobo", self.max_price_kobo.as_deref(), integer);
        let count = "a whole number, 0 or more";
        let bedrooms = fields.integer("bedrooms", self.bedrooms.as_deref(), count);
        let limit = fields.integer("limit", self.limit.as_deref(), count);
        fields.finish()?;
        Ok(pb::DiscoverRequest {
            latitude,
            longitude,
            radius_km,
            bbox,
            polygon_geojson,
            category: present(self.category.as_deref()).map(str::to_owned),
            min_price_kobo,
            max_price_kobo,
            bedrooms,
            // 0 asks for the service's default.
            limit: limit.unwrap_or_default(),
            cursor: self.cursor.unwrap_or_default(),
        })
    }
}

/// `minLng,minLat,maxLng,maxLat`: four finite numbers.
fn parse_bbox(fields: &mut TextFields, raw: &str) -> Option<pb::BoundingBox> {
    let numbers: Vec<Option<f64>> = raw
        .split(',')
        .map(|n| n.trim().parse::<f64>().ok().filter(|n| n.is_finite()))
        .collect();
    match numbers[..] {
        [
            Some(min_longitude),
            Some(min_latitude),
            Some(max_longitude),
            Some(max_latitude),
        ] => Some(pb::BoundingBox {
            min_longitude,
            min_latitude,
            max_longitude,
            max_latitude,
        }),
        _ => {
            fields.refuse("bbox", "must be four numbers: minLng,minLat,maxLng,maxLat");
            None
        }
    }
}

/// One match of a discovery.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscoverItemBody {
    pub property: PropertyBody,
    /// 0 - 100: how well the listing fits the caller's persona and filters.
    #[schema(example = 87)]
    pub match_score: u32,
    #[schema(example = json!(["in Yaba, where you asked", "prepaid meter (power matters to you)"]))]
    pub match_reasons: Vec<String>,
    /// From the search point.
    #[schema(example = 1.2)]
    pub distance_km: f64,
}

/// A page of matches, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscoverPage {
    pub items: Vec<DiscoverItemBody>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
    /// The persona version the ranking used (0: none).
    #[schema(example = 2)]
    pub persona_version: u64,
}

impl TryFrom<pb::DiscoverResponse> for DiscoverPage {
    type Error = Problem;

    fn try_from(page: pb::DiscoverResponse) -> Result<Self, Problem> {
        let items = page
            .items
            .into_iter()
            .map(|item| {
                Ok(DiscoverItemBody {
                    property: item
                        .property
                        .ok_or_else(|| Problem::bad_gateway("discover item without a property"))?
                        .into(),
                    match_score: item.match_score,
                    match_reasons: item.match_reasons,
                    distance_km: item.distance_km,
                })
            })
            .collect::<Result<_, Problem>>()?;
        Ok(Self {
            items,
            next_cursor: non_empty(page.next_cursor),
            persona_version: page.persona_version,
        })
    }
}

// --- handlers ------------------------------------------------------------------------

/// Drafts a listing from photos (LANDLORD of any status, or ADMIN): the AI suggests a
/// category, title, description, amenities and a price from comparable listings nearby.
/// Photos are checked here before anything is stored. Counts against the per-user
/// `uploads` rate limit.
#[utoipa::path(
    post,
    path = "/properties/analyze",
    tag = "properties",
    security(("bearer" = [])),
    request_body(content = AnalyzeForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The draft analysis was stored", body = AnalysisBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not a landlord", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "A photo is over the per-file cap, or the body over the whole-form cap", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "A photo is not a JPEG, PNG or WebP image", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "No photos or more than 10 (`photos`), notes over 2,000 characters, a latitude or longitude that is not a number, or image dimensions not accepted", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "Too many uploads by this user, or today's AI allowance is used up; see Retry-After", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn analyze(
    State(state): State<AppState>,
    // Charged to the `uploads` limit before the form is read.
    user: AuthUser<Uploads>,
    forward: Forward,
    body: MultipartBody,
) -> Result<Created<AnalysisBody>, Problem> {
    let mut form = read_form(body, &ANALYZE_FORM, &state.uploads).await?;
    let mut fields = TextFields::default();
    let notes = form.text("notes").to_owned();
    if notes.chars().count() > MAX_NOTES_CHARS {
        fields.refuse(
            "notes",
            format!("must be at most {MAX_NOTES_CHARS} characters"),
        );
    }
    let latitude = fields.number("latitude", Some(form.text("latitude")));
    let longitude = fields.number("longitude", Some(form.text("longitude")));
    fields.finish()?;
    let request = pb::AnalyzePhotosRequest {
        photos: form
            .take_images("photos")
            .into_iter()
            .map(|image| pb::Photo {
                data: image.data.to_vec(),
                // What the bytes are; the declared type may be empty.
                mime_type: image.format.mime().to_owned(),
            })
            .collect(),
        notes,
        address: form.text("address").trim().to_owned(),
        latitude,
        longitude,
    };
    let analysis = state
        .clients
        .listings
        .clone()
        .analyze_photos(
            forward
                .with_authorization(user.authorization)
                .request(request),
        )
        .await?
        .into_inner();
    Ok(created(analysis.into()))
}

/// Publishes a listing (ACTIVE LANDLORD), from an analysis or from scratch: `status`
/// ACTIVE, `is_verified` false.
#[utoipa::path(
    post,
    path = "/properties",
    tag = "properties",
    security(("bearer" = [])),
    request_body = NewProperty,
    responses(
        (status = 201, body = PropertyBody),
        (status = 400, description = "Not JSON, an unknown field (`malformed-request`), or a field the caller may not set (`read-only-field`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not an ACTIVE landlord", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such analysis of the caller's", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn create_property(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    ApiJson(body): ApiJson<NewProperty>,
) -> Result<Created<PropertyBody>, Problem> {
    let property = state
        .clients
        .listings
        .clone()
        .create_property(
            forward
                .with_authorization(user.authorization)
                .request(pb::CreatePropertyRequest::from(body)),
        )
        .await?
        .into_inner();
    Ok(created(property.into()))
}

/// One listing, with its ratings; never the landlord's contact.
#[utoipa::path(
    get,
    path = "/properties/{id}",
    tag = "properties",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Property id")),
    responses(
        (status = 200, body = PropertyBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn get_property(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
) -> Result<Json<PropertyBody>, Problem> {
    let property = state
        .clients
        .listings
        .clone()
        .get_property(
            forward
                .with_authorization(user.authorization)
                .request(pb::GetPropertyRequest { id }),
        )
        .await?
        .into_inner();
    Ok(Json(property.into()))
}

/// Edits a listing (its landlord or ADMIN; OPERATIONS_MANAGER staff for `is_verified` and
/// `rentory_managed`). A field the caller may not set refuses the whole change.
#[utoipa::path(
    patch,
    path = "/properties/{id}",
    tag = "properties",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Property id")),
    request_body = PropertyPatch,
    responses(
        (status = 200, body = PropertyBody),
        (status = 400, description = "Not JSON, an unknown field (`malformed-request`), or a field the caller may not set (`read-only-field`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn update_property(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<PropertyPatch>,
) -> Result<Json<PropertyBody>, Problem> {
    let property = state
        .clients
        .listings
        .clone()
        .update_property(
            forward
                .with_authorization(user.authorization)
                .request(patch.into_request(id)),
        )
        .await?
        .into_inner();
    Ok(Json(property.into()))
}

/// Archives a listing (its landlord, ADMIN or OPERATIONS_MANAGER staff): it leaves
/// discovery but is kept. Answers the archived listing.
#[utoipa::path(
    delete,
    path = "/properties/{id}",
    tag = "properties",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Property id")),
    responses(
        (status = 200, description = "Archived", body = PropertyBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn archive_property(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
) -> Result<Json<PropertyBody>, Problem> {
    let property = state
        .clients
        .listings
        .clone()
        .archive_property(
            forward
                .with_authorization(user.authorization)
                .request(pb::ArchivePropertyRequest { id }),
        )
        .await?
        .into_inner();
    Ok(Json(property.into()))
}

/// The landlord's phone and e-mail: for the landlord itself, ADMIN, STAFF, and a tenant who
/// has paid the contact unlock for this property.
#[utoipa::path(
    get,
    path = "/properties/{id}/contact",
    tag = "properties",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Property id")),
    responses(
        (status = 200, body = ContactBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 402, description = "Not unlocked yet: pay the NGN 5,000 contact unlock with `POST /payments/contact-unlock` `{property_id}` (`amount_kobo` 500000), then ask again once the payment succeeds", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn get_contact(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(property_id): Path<String>,
) -> Result<Json<ContactBody>, Problem> {
    let contact = state
        .clients
        .listings
        .clone()
        .get_contact(
            forward
                .with_authorization(user.authorization)
                .request(pb::GetContactRequest { property_id }),
        )
        .await?
        .into_inner();
    Ok(Json(ContactBody {
        landlord_id: contact.landlord_id,
        full_name: contact.full_name,
        phone: contact.phone,
        email: contact.email,
    }))
}

/// Listings in an area and within the filters, ranked by how well they fit the caller's
/// concierge persona (`match_score` descending). PENDING users may discover too.
#[utoipa::path(
    get,
    path = "/properties/discover",
    tag = "properties",
    security(("bearer" = [])),
    params(DiscoverQuery),
    responses(
        (status = 200, body = DiscoverPage),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A parameter that is not a number, a `bbox` that is not four numbers, a `polygon` over 16 KiB or not a GeoJSON polygon, or an invalid `cursor`", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn discover(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    ApiQuery(query): ApiQuery<DiscoverQuery>,
) -> Result<Json<DiscoverPage>, Problem> {
    let request = query.into_request()?;
    let page = state
        .clients
        .listings
        .clone()
        .discover(
            forward
                .with_authorization(user.authorization)
                .request(request),
        )
        .await?
        .into_inner();
    Ok(Json(page.try_into()?))
}

/// Rates a listing (ACTIVE TENANT); one rating per tenant and listing, a new one replaces
/// the old. Answers the listing with its new averages.
#[utoipa::path(
    post,
    path = "/properties/{id}/ratings",
    tag = "properties",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Property id")),
    request_body = RatingBody,
    responses(
        (status = 200, body = PropertyBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not an ACTIVE tenant", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A rating outside 1 - 5", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn rate_property(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(property_id): Path<String>,
    ApiJson(body): ApiJson<RatingBody>,
) -> Result<Json<PropertyBody>, Problem> {
    let property = state
        .clients
        .listings
        .clone()
        .rate_property(forward.with_authorization(user.authorization).request(
            pb::RatePropertyRequest {
                property_id,
                security: body.security,
                power: body.power,
                neighborhood: body.neighborhood,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(property.into()))
}

#[cfg(test)]
mod tests {
    use crate::problem::ProblemType;

    use super::*;

    fn query(pairs: &[(&str, &str)]) -> DiscoverQuery {
        let encoded: String = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", v.replace(',', "%2C").replace(' ', "%20")))
            .collect::<Vec<_>>()
            .join("&");
        axum::extract::Query::<DiscoverQuery>::try_from_uri(
            &format!("/properties/discover?{encoded}")
                .parse()
                .expect("uri"),
        )
        .expect("query")
        .0
    }

    fn refused_fields(q: DiscoverQuery) -> Vec<String> {
        let p = q.into_request().expect_err("refused");
        assert_eq!(p.kind(), Some(ProblemType::ValidationFailed));
        p.errors.iter().map(|e| e.field.clone()).collect()
    }

    #[test]
    fn discover_parameters_become_the_request() {
        let r = query(&[
            ("lat", "6.5"),
            ("lng", "3.37"),
            ("radius_km", "5"),
            ("bbox", "3.35, 6.49,3.39,6.53"),
            ("category", "LAND"),
            ("min_price_kobo", "100"),
            ("max_price_kobo", "900"),
            ("bedrooms", "2"),
            ("limit", "10"),
            ("cursor", "c1"),
        ])
        .into_request()
        .expect("valid");
        assert_eq!(
            (r.latitude, r.longitude, r.radius_km),
            (Some(6.5), Some(3.37), Some(5.0))
        );
        assert_eq!(
            r.bbox,
            Some(pb::BoundingBox {
                min_longitude: 3.35,
                min_latitude: 6.49,
                max_longitude: 3.39,
                max_latitude: 6.53
            })
        );
        assert_eq!(r.category.as_deref(), Some("LAND"));
        assert_eq!((r.min_price_kobo, r.max_price_kobo), (Some(100), Some(900)));
        assert_eq!(
            (r.bedrooms, r.limit, r.cursor.as_str()),
            (Some(2), 10, "c1")
        );

        let empty = DiscoverQuery::default().into_request().expect("valid");
        assert_eq!(empty, pb::DiscoverRequest::default());
    }

    #[test]
    fn bad_discover_parameters_are_named() {
        assert_eq!(refused_fields(query(&[("lat", "north")])), ["lat"]);
        assert_eq!(
            refused_fields(query(&[("lng", "NaN"), ("radius_km", "inf")])),
            ["lng", "radius_km"]
        );
        for bbox in ["1,2,3", "1,2,3,4,5", "a,b,c,d", "1,2,,4"] {
            assert_eq!(refused_fields(query(&[("bbox", bbox)])), ["bbox"], "{bbox}");
        }
        assert_eq!(refused_fields(query(&[("bedrooms", "-1")])), ["bedrooms"]);
        assert_eq!(refused_fields(query(&[("limit", "2.5")])), ["limit"]);
        assert_eq!(
            refused_fields(query(&[("min_price_kobo", "1e3")])),
            ["min_price_kobo"]
        );
        let huge = DiscoverQuery {
            polygon: Some("x".repeat(MAX_POLYGON_BYTES + 1)),
            ..DiscoverQuery::default()
        };
        assert_eq!(refused_fields(huge), ["polygon"]);
    }

    #[test]
    fn properties_carry_price_in_naira_and_nulls_for_absent_values() {
        let body = PropertyBody::from(pb::Property {
            id: "p1".into(),
            price_kobo: 250_000_000,
            land_details: Some(pb::LandDetails {
                size: 2.0,
                unit: "PLOTS".into(),
                dimensions: String::new(),
                zoning: "Residential".into(),
            }),
            created_at: Some(rentory_proto::timestamp(time::macros::datetime!(
                2026-01-02 03:04:05 UTC
            ))),
            ..Default::default()
        });
        let json = serde_json::to_value(&body).expect("json");
        assert_eq!(json["price"], "2500000.00");
        assert_eq!(json["ratings"]["security"], serde_json::Value::Null);
        assert_eq!(json["ratings"]["reviews"], 0);
        assert_eq!(json["land_details"]["dimensions"], serde_json::Value::Null);
        assert_eq!(json["land_details"]["zoning"], "Residential");
        assert_eq!(json["analysis_id"], serde_json::Value::Null);
        assert_eq!(json["created_at"], "2026-01-02T03:04:05Z");
        assert_eq!(json["updated_at"], serde_json::Value::Null);
        for contact in ["phone", "email", "full_name"] {
            assert!(json.get(contact).is_none(), "{contact}");
        }
    }

    #[test]
    fn amenities_are_set_only_when_given() {
        let given: NewProperty = serde_json::from_str(r#"{"amenities": []}"#).expect("valid");
        let request = pb::CreatePropertyRequest::from(given);
        assert!(request.amenities_set && request.amenities.is_empty());
        let absent: NewProperty = serde_json::from_str("{}").expect("valid");
        assert!(!pb::CreatePropertyRequest::from(absent).amenities_set);
        let patch: PropertyPatch =
            serde_json::from_str(r#"{"amenities": ["BOREHOLE"]}"#).expect("valid");
        let request = patch.into_request("p1".into());
        assert_eq!((request.id.as_str(), request.amenities_set), ("p1", true));
    }

    #[test]
    fn analyses_without_a_price_have_null_prices() {
        let json = serde_json::to_value(AnalysisBody::from(pb::Analysis::default())).expect("json");
        assert_eq!(json["suggested_price_kobo"], serde_json::Value::Null);
        assert_eq!(json["suggested_price"], serde_json::Value::Null);
        let priced = pb::Analysis {
            suggested_price_kobo: Some(180_000_050),
            ..Default::default()
        };
        let json = serde_json::to_value(AnalysisBody::from(priced)).expect("json");
        assert_eq!(json["suggested_price"], "1800000.50");
    }
}
