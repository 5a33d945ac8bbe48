//! The gRPC handlers: who is calling, what they may do, then the rules and storage of the
//! other modules.

use rentory_auth::{Actor, Role, TokenVerifier, on_behalf};
use rentory_proto::ai::v1 as ai;
use rentory_proto::ai::v1::ai_orchestrator_client::AiOrchestratorClient;
use rentory_proto::events::v1::{PropertyArchived, PropertyPublished, PropertyUpdated};
use rentory_proto::identity::v1 as identity;
use rentory_proto::identity::v1::identity_service_client::IdentityServiceClient;
use rentory_proto::listings::v1 as pb;
use rentory_proto::listings::v1::listings_server::Listings;
use rentory_runtime::grpc::PeerChannel;
use rentory_storage::Bucket;
use sqlx::PgPool;
use time::OffsetDateTime;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::analysis::{self, Analysis};
use crate::contact::{self, Access};
use crate::discover::{self, area};
use crate::error::Error;
use crate::photos;
use crate::projections;
use crate::property::rules::{self, LandDetailsFields, ListingFields, PlatformFields, Refusal};
use crate::property::{self, Property, Status as ListingStatus, db as property_db};
use crate::ratings;
use crate::searches;

pub const PUBLISHED: &str = "rentory.listings.property.published";
pub const UPDATED: &str = "rentory.listings.property.updated";
pub const ARCHIVED: &str = "rentory.listings.property.archived";

#[derive(Clone)]
pub struct ListingsApi {
    pool: PgPool,
    verifier: TokenVerifier,
    photos: Bucket,
    identity: IdentityServiceClient<PeerChannel>,
    ai: AiOrchestratorClient<PeerChannel>,
    max_photo_bytes: usize,
    discover_window: u32,
    contact_unlock_kobo: i64,
}

/// Settings of [`ListingsApi`] that come from configuration.
pub struct Limits {
    pub max_photo_bytes: usize,
    pub discover_window: u32,
    pub contact_unlock_kobo: i64,
}

impl ListingsApi {
    pub fn new(
        pool: PgPool,
        verifier: TokenVerifier,
        photos: Bucket,
        identity: IdentityServiceClient<PeerChannel>,
        ai: AiOrchestratorClient<PeerChannel>,
        limits: Limits,
    ) -> Self {
        Self {
            pool,
            verifier,
            photos,
            identity,
            ai,
            max_photo_bytes: limits.max_photo_bytes,
            discover_window: limits.discover_window,
            contact_unlock_kobo: limits.contact_unlock_kobo,
        }
    }

    fn actor<T>(&self, request: &Request<T>) -> Result<Actor, Error> {
        Actor::from_metadata(request.metadata(), &self.verifier).map_err(Error::Unauthenticated)
    }
}

fn parse_id(field: &'static str, text: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(text).map_err(|_| Error::invalid(field, "not a valid id"))
}

/// The id of the thing a route names: one that cannot exist is "not found", like any other
/// id that names nothing.
fn path_id(what: &'static str, text: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(text).map_err(|_| Error::NotFound(what))
}

fn refusal(r: Refusal) -> Error {
    match r {
        Refusal::Forbidden(why) => Error::Forbidden(why),
        Refusal::ReadOnly(fields) => Error::ReadOnly(fields),
    }
}

fn land_fields(land: Option<pb::LandDetails>) -> Option<LandDetailsFields> {
    land.map(|l| LandDetailsFields {
        size: l.size,
        unit: l.unit,
        dimensions: l.dimensions,
        zoning: l.zoning,
    })
}

/// Whether `actor` may see a listing in `status` owned by `owner`: PENDING listings are held
/// back by staff and shown only to the owner and staff.
fn may_see(actor: &Actor, owner: Uuid, status: ListingStatus) -> bool {
    status != ListingStatus::Pending
        || actor.user_id == owner
        || matches!(actor.role, Role::Admin | Role::Staff)
}

impl ListingsApi {
    async fn visible(&self, actor: &Actor, id: Uuid) -> Result<Property, Error> {
        let property = property_db::find(&self.pool, id)
            .await?
            .filter(|p| may_see(actor, p.landlord_id, p.status))
            .ok_or(Error::NotFound("property"))?;
        Ok(property)
    }

    async fn analyze(
        &self,
        request: Request<pb::AnalyzePhotosRequest>,
    ) -> Result<pb::Analysis, Error> {
        let actor = self.actor(&request)?;
        if !matches!(actor.role, Role::Landlord | Role::Admin) {
            return Err(Error::Forbidden("only landlords analyse listing photos"));
        }
        let incoming = request.metadata().clone();
        let r = request.into_inner();
        let notes = r.notes.trim().to_owned();
        if notes.chars().count() > analysis::MAX_NOTES_CHARS {
            return Err(Error::invalid(
                "notes",
                format!("at most {} characters", analysis::MAX_NOTES_CHARS),
            ));
        }
        let address = r.address.trim().to_owned();
        if address.chars().count() > analysis::MAX_ADDRESS_CHARS {
            return Err(Error::invalid(
                "address",
                format!("at most {} characters", analysis::MAX_ADDRESS_CHARS),
            ));
        }
        let location = analysis::locate(r.latitude, r.longitude, &address)?;
        let (published, comparables) =
            tokio::join!(photos::publish_all(r.photos, self.max_photo_bytes), async {
                match location {
                    Some(at) => analysis::comparables(&self.pool, at.latitude, at.longitude).await,
                    None => Ok(Vec::new()),
                }
            });
        let (published, comparables) = (published?, comparables?);
        let comparable_count = comparables.len();
        let ask = ai::AnalyzePhotosRequest {
            photos: published
                .iter()
                .map(|p| ai::Image {
                    data: p.bytes.to_vec(),
                    mime_type: "image/jpeg".to_owned(),
                })
                .collect(),
            notes: notes.clone(),
            address: address.clone(),
            comparables,
        };
        let answer = self
            .ai
            .clone()
            .analyze_photos(on_behalf(&incoming, ask))
            .await
            .map_err(Error::Upstream)?
            .into_inner();
        let stored = photos::store_all(&self.photos, published).await?;
        let analysis = Analysis::from_answer(
            actor.user_id,
            answer,
            &stored,
            notes,
            address,
            location,
            comparable_count,
        )?;
        let mut tx = self.pool.begin().await?;
        analysis::insert(&mut tx, &analysis, &stored).await?;
        tx.commit().await?;
        tracing::info!(analysis_id = %analysis.id, landlord_id = %actor.user_id, photos = stored.len(), model = %analysis.model, comparables = comparable_count, "photos analysed");
        Ok(analysis.to_proto())
    }

    async fn create(&self, request: Request<pb::CreatePropertyRequest>) -> Result<Property, Error> {
        let actor = self.actor(&request)?;
        if actor.role != Role::Landlord {
            return Err(Error::Forbidden("only landlords list properties"));
        }
        if !actor.is_active() {
            return Err(Error::NotActive("list a property"));
        }
        let r = request.into_inner();
        rules::check_create(&PlatformFields {
            landlord_id: r.landlord_id,
            status: r.status,
            is_verified: r.is_verified,
            rentory_managed: r.rentory_managed,
        })
        .map_err(refusal)?;
        let land_explicit = r.land_details.is_some();
        let fields = ListingFields {
            category: r.category,
            title: r.title,
            description: r.description,
            neighborhood_description: None,
            price_kobo: r.price_kobo,
            rent_period: r.rent_period,
            address: r.address,
            latitude: r.latitude,
            longitude: r.longitude,
            bedrooms: r.bedrooms,
            bathrooms: r.bathrooms,
            amenities: r.amenities_set.then_some(r.amenities),
            land_details: land_fields(r.land_details),
        };
        let (fields, from_analysis) = match r.analysis_id.as_deref() {
            Some(id) => {
                let id = parse_id("analysis_id", id)?;
                let (analysis, published_as) =
                    analysis::find_for_landlord(&self.pool, id, actor.user_id).await?;
                if let Some(existing) = published_as {
                    return Err(Error::Conflict(format!(
                        "this analysis is already listed as property {existing}"
                    )));
                }
                (fields.over(analysis.proposal()), Some(analysis))
            }
            None => (fields, None),
        };
        let content = rules::validate(fields, land_explicit).map_err(Error::Invalid)?;
        let now = OffsetDateTime::now_utc();
        let property = Property {
            id: Uuid::now_v7(),
            landlord_id: actor.user_id,
            content,
            status: ListingStatus::Active,
            is_verified: false,
            rentory_managed: false,
            photo_urls: from_analysis
                .as_ref()
                .map(|a| a.photo_urls.clone())
                .unwrap_or_default(),
            ratings: property::Ratings::default(),
            analysis_id: from_analysis.as_ref().map(|a| a.id),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.pool.begin().await?;
        property_db::insert(&mut tx, &property)
            .await
            .map_err(|e| match e {
                Error::Database(sqlx::Error::Database(db))
                    if db.constraint() == Some("properties_one_per_analysis") =>
                {
                    Error::Conflict("this analysis is already listed".into())
                }
                other => other,
            })?;
        if from_analysis.is_some()
            && let Some(audit) = ratings::ai_audit(&property.content.amenities)
        {
            property_db::rate(&mut tx, property.id, &audit).await?;
        }
        rentory_events::enqueue(
            &mut tx,
            PUBLISHED,
            &PropertyPublished {
                property: Some(property.snapshot()),
                at: Some(rentory_proto::timestamp(now)),
            },
        )
        .await?;
        let stored = property_db::find(&mut *tx, property.id)
            .await?
            .ok_or_else(|| Error::Corrupt("listing vanished inside its transaction".into()))?;
        tx.commit().await?;
        tracing::info!(property_id = %stored.id, landlord_id = %actor.user_id, category = stored.content.category.as_str(), from_analysis = stored.analysis_id.is_some(), "property published");
        Ok(stored)
    }

    async fn update(&self, request: Request<pb::UpdatePropertyRequest>) -> Result<Property, Error> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let id = path_id("property", &r.id)?;
        let platform = PlatformFields {
            landlord_id: r.landlord_id,
            status: r.status,
            is_verified: r.is_verified,
            rentory_managed: r.rentory_managed,
        };
        let land_explicit = r.land_details.is_some();
        let fields = ListingFields {
            category: r.category,
            title: r.title,
            description: r.description,
            neighborhood_description: r.neighborhood_description,
            price_kobo: r.price_kobo,
            rent_period: r.rent_period,
            address: r.address,
            latitude: r.latitude,
            longitude: r.longitude,
            bedrooms: r.bedrooms,
            bathrooms: r.bathrooms,
            amenities: r.amenities_set.then_some(r.amenities),
            land_details: land_fields(r.land_details),
        };

        let mut tx = self.pool.begin().await?;
        let (owner, _) = property_db::lock(&mut tx, id)
            .await?
            .ok_or(Error::NotFound("property"))?;
        let current = property_db::find(&mut *tx, id)
            .await?
            .filter(|p| may_see(&actor, p.landlord_id, p.status))
            .ok_or(Error::NotFound("property"))?;
        rules::check_update(&actor, owner, !fields.is_empty(), &platform).map_err(refusal)?;
        if fields.is_empty() && platform == PlatformFields::default() {
            // Nothing asked: no write, no event.
            return Ok(current);
        }
        let status = match platform.status.as_deref() {
            Some(text) => ListingStatus::parse(text)
                .ok_or_else(|| Error::invalid("status", "one of ACTIVE, PENDING, ARCHIVED"))?,
            None => current.status,
        };
        if current.status == ListingStatus::Archived
            && status == ListingStatus::Archived
            && !fields.is_empty()
        {
            return Err(Error::Conflict(
                "an archived listing cannot be edited; ADMIN may make it ACTIVE again".into(),
            ));
        }
        let mut changed: Vec<&str> = fields.names();
        let content = rules::validate(
            fields.over(ListingFields::from(&current.content)),
            land_explicit,
        )
        .map_err(Error::Invalid)?;
        if platform.status.is_some() {
            changed.push("status");
        }
        if platform.is_verified.is_some() {
            changed.push("is_verified");
        }
        if platform.rentory_managed.is_some() {
            changed.push("rentory_managed");
        }
        let now = OffsetDateTime::now_utc();
        let updated = Property {
            content,
            status,
            is_verified: platform.is_verified.unwrap_or(current.is_verified),
            rentory_managed: platform.rentory_managed.unwrap_or(current.rentory_managed),
            updated_at: now,
            ..current
        };
        property_db::update(&mut tx, &updated).await?;
        rentory_events::enqueue(
            &mut tx,
            UPDATED,
            &PropertyUpdated {
                property: Some(updated.snapshot()),
                changed: changed.iter().map(|s| (*s).to_owned()).collect(),
                actor_id: actor.user_id.to_string(),
                at: Some(rentory_proto::timestamp(now)),
            },
        )
        .await?;
        let stored = property_db::find(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::Corrupt("listing vanished inside its transaction".into()))?;
        tx.commit().await?;
        tracing::info!(property_id = %id, actor_id = %actor.user_id, changed = ?changed, "property updated");
        Ok(stored)
    }

    async fn archive(
        &self,
        request: Request<pb::ArchivePropertyRequest>,
    ) -> Result<Property, Error> {
        let actor = self.actor(&request)?;
        let id = path_id("property", &request.get_ref().id)?;
        let mut tx = self.pool.begin().await?;
        let (owner, status) = property_db::lock(&mut tx, id)
            .await?
            .ok_or(Error::NotFound("property"))?;
        if !rules::may_archive(&actor, owner) {
            let status = ListingStatus::parse(&status).unwrap_or(ListingStatus::Pending);
            if !may_see(&actor, owner, status) {
                return Err(Error::NotFound("property"));
            }
            return Err(Error::Forbidden(
                "only the landlord who listed it, ADMIN or operations staff may archive a listing",
            ));
        }
        let current = property_db::find(&mut *tx, id)
            .await?
            .ok_or(Error::NotFound("property"))?;
        if current.status == ListingStatus::Archived {
            // Archiving twice is what a retried DELETE does: answer as the first time did.
            tx.commit().await?;
            return Ok(current);
        }
        let now = OffsetDateTime::now_utc();
        let archived = Property {
            status: ListingStatus::Archived,
            updated_at: now,
            ..current
        };
        property_db::update(&mut tx, &archived).await?;
        rentory_events::enqueue(
            &mut tx,
            ARCHIVED,
            &PropertyArchived {
                property: Some(archived.snapshot()),
                actor_id: actor.user_id.to_string(),
                at: Some(rentory_proto::timestamp(now)),
            },
        )
        .await?;
        // As stored (timestamps at Postgres precision), so this answer and a later read agree.
        let stored = property_db::find(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::Corrupt("listing vanished inside its transaction".into()))?;
        tx.commit().await?;
        tracing::info!(property_id = %id, actor_id = %actor.user_id, "property archived");
        Ok(stored)
    }

    async fn discover(
        &self,
        request: Request<pb::DiscoverRequest>,
    ) -> Result<pb::DiscoverResponse, Error> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let persona = if actor.role == Role::Tenant {
            projections::persona(&self.pool, actor.user_id).await?
        } else {
            None
        };
        let query = discover_query(&r, persona.as_ref())?;
        let cursor = if r.cursor.is_empty() {
            None
        } else {
            Some(
                discover::cursor::Cursor::decode(&r.cursor)
                    .map_err(|e| Error::invalid("cursor", e.to_string()))?,
            )
        };
        let page = discover::page(
            &self.pool,
            &query,
            persona.as_ref(),
            cursor,
            self.discover_window,
        )
        .await?;
        Ok(pb::DiscoverResponse {
            items: page
                .items
                .iter()
                .map(|item| pb::DiscoverItem {
                    property: Some((&item.property).into()),
                    match_score: u32::from(item.matched.score),
                    match_reasons: item.matched.reasons.clone(),
                    distance_km: item.distance_km,
                })
                .collect(),
            next_cursor: page.next.map(|c| c.encode()).unwrap_or_default(),
            persona_version: persona.map_or(0, |p| p.version),
        })
    }

    async fn rate(&self, request: Request<pb::RatePropertyRequest>) -> Result<Property, Error> {
        let actor = self.actor(&request)?;
        if actor.role != Role::Tenant {
            return Err(Error::Forbidden("only tenants rate properties"));
        }
        if !actor.is_active() {
            return Err(Error::NotActive("rate a property"));
        }
        let r = request.into_inner();
        let id = path_id("property", &r.property_id)?;
        let (security, power, neighborhood) =
            ratings::check_tenant_rating(r.security, r.power, r.neighborhood)
                .map_err(Error::Invalid)?;
        let mut tx = self.pool.begin().await?;
        let (owner, status) = property_db::lock(&mut tx, id)
            .await?
            .ok_or(Error::NotFound("property"))?;
        if status == ListingStatus::Pending.as_str() || owner == actor.user_id {
            return Err(Error::NotFound("property"));
        }
        property_db::rate(
            &mut tx,
            id,
            &property_db::RatingRow {
                rater_id: Some(actor.user_id),
                security: Some(security),
                power: Some(power),
                neighborhood: Some(neighborhood),
            },
        )
        .await?;
        let stored = property_db::find(&mut *tx, id)
            .await?
            .ok_or(Error::NotFound("property"))?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn contact(&self, request: Request<pb::GetContactRequest>) -> Result<pb::Contact, Error> {
        let actor = self.actor(&request)?;
        let id = path_id("property", &request.get_ref().property_id)?;
        let property = self.visible(&actor, id).await?;
        let unlocked = if actor.role == Role::Tenant {
            projections::has_unlock(&self.pool, actor.user_id, id).await?
        } else {
            false
        };
        match contact::access(&actor, property.landlord_id, || unlocked) {
            Access::Granted => {}
            Access::PayFirst => {
                return Err(Error::PaymentRequired(contact::how_to_unlock(
                    id,
                    self.contact_unlock_kobo,
                )));
            }
            Access::Refused => {
                return Err(Error::Forbidden(
                    "a landlord's contact is for tenants who unlocked it, and for staff",
                ));
            }
        }
        let found = self
            .identity
            .clone()
            .get_contact(on_behalf(
                request.metadata(),
                identity::GetContactRequest {
                    user_id: property.landlord_id.to_string(),
                },
            ))
            .await
            .map_err(Error::Upstream)?
            .into_inner();
        tracing::info!(property_id = %id, caller = %actor.user_id, role = %actor.role, "landlord contact served");
        Ok(pb::Contact {
            landlord_id: found.user_id,
            full_name: found.full_name,
            phone: found.phone,
            email: found.email,
        })
    }

    fn tenant(&self, actor: &Actor) -> Result<(), Error> {
        if actor.role == Role::Tenant {
            Ok(())
        } else {
            Err(Error::Forbidden("saved searches are for tenants"))
        }
    }
}

/// The request's area and filters, checked. With no area at all, the persona's first place
/// is searched (three times its radius); with neither, the request is refused.
fn discover_query(
    r: &pb::DiscoverRequest,
    persona: Option<&rentory_persona::Persona>,
) -> Result<discover::Query, Error> {
    let problem = |(field, why): area::Problem| Error::invalid(field, why);
    let point = match (r.latitude, r.longitude) {
        (Some(lat), Some(lng)) => {
            area::check_point(lat, lng).map_err(problem)?;
            let radius = r
                .radius_km
                .map(area::check_radius)
                .transpose()
                .map_err(problem)?;
            Some((lat, lng, radius))
        }
        (None, None) => {
            if r.radius_km.is_some() {
                return Err(Error::invalid("radius_km", "needs lat and lng"));
            }
            None
        }
        _ => return Err(Error::invalid("lat", "send lat and lng together")),
    };
    let bbox = r
        .bbox
        .map(|b| {
            area::check_bbox(area::BoundingBox {
                min_longitude: b.min_longitude,
                min_latitude: b.min_latitude,
                max_longitude: b.max_longitude,
                max_latitude: b.max_latitude,
            })
        })
        .transpose()
        .map_err(problem)?;
    let polygon = r
        .polygon_geojson
        .as_deref()
        .map(area::parse_polygon)
        .transpose()
        .map_err(problem)?;
    let persona_place = || {
        persona.and_then(|p| p.locations.first()).map(|l| {
            (
                l.latitude,
                l.longitude,
                Some((l.radius_km * 3.0).clamp(area::MIN_RADIUS_KM, area::MAX_RADIUS_KM)),
            )
        })
    };
    let point = if point.is_none() && bbox.is_none() && polygon.is_none() {
        persona_place()
    } else {
        point
    };
    let area = area::resolve(point, bbox, polygon).ok_or_else(|| {
        Error::invalid(
            "lat",
            "say where to search: lat and lng (with radius_km), bbox, or polygon",
        )
    })?;
    if let Some(wide) = area.too_wide() {
        return Err(problem(wide));
    }
    let category = r
        .category
        .as_deref()
        .map(|c| {
            property::parse_category(c).ok_or_else(|| {
                Error::invalid(
                    "category",
                    "one of RESIDENTIAL, COMMERCIAL, EVENT_CENTER, LAND, SHORTLET",
                )
            })
        })
        .transpose()?;
    for (field, price) in [
        ("min_price_kobo", r.min_price_kobo),
        ("max_price_kobo", r.max_price_kobo),
    ] {
        if price.is_some_and(|p| p < 0) {
            return Err(Error::invalid(field, "not negative"));
        }
    }
    if let (Some(min), Some(max)) = (r.min_price_kobo, r.max_price_kobo)
        && min > max
    {
        return Err(Error::invalid("min_price_kobo", "above max_price_kobo"));
    }
    if r.bedrooms.is_some_and(|b| b > 50) {
        return Err(Error::invalid("bedrooms", "at most 50"));
    }
    let limit = match r.limit {
        0 => discover::DEFAULT_LIMIT,
        n if n <= discover::MAX_LIMIT => n,
        _ => {
            return Err(Error::invalid(
                "limit",
                format!("at most {}", discover::MAX_LIMIT),
            ));
        }
    };
    Ok(discover::Query {
        area,
        category,
        min_price_kobo: r.min_price_kobo,
        max_price_kobo: r.max_price_kobo,
        min_bedrooms: r.bedrooms,
        limit,
    })
}

#[tonic::async_trait]
impl Listings for ListingsApi {
    async fn analyze_photos(
        &self,
        request: Request<pb::AnalyzePhotosRequest>,
    ) -> Result<Response<pb::Analysis>, Status> {
        Ok(Response::new(self.analyze(request).await?))
    }

    async fn create_property(
        &self,
        request: Request<pb::CreatePropertyRequest>,
    ) -> Result<Response<pb::Property>, Status> {
        let property = self.create(request).await?;
        Ok(Response::new((&property).into()))
    }

    async fn get_property(
        &self,
        request: Request<pb::GetPropertyRequest>,
    ) -> Result<Response<pb::Property>, Status> {
        let actor = self.actor(&request)?;
        let id = path_id("property", &request.get_ref().id)?;
        let property = self.visible(&actor, id).await?;
        Ok(Response::new((&property).into()))
    }

    async fn update_property(
        &self,
        request: Request<pb::UpdatePropertyRequest>,
    ) -> Result<Response<pb::Property>, Status> {
        let property = self.update(request).await?;
        Ok(Response::new((&property).into()))
    }

    async fn archive_property(
        &self,
        request: Request<pb::ArchivePropertyRequest>,
    ) -> Result<Response<pb::Property>, Status> {
        let property = self.archive(request).await?;
        Ok(Response::new((&property).into()))
    }

    async fn discover(
        &self,
        request: Request<pb::DiscoverRequest>,
    ) -> Result<Response<pb::DiscoverResponse>, Status> {
        Ok(Response::new(ListingsApi::discover(self, request).await?))
    }

    async fn rate_property(
        &self,
        request: Request<pb::RatePropertyRequest>,
    ) -> Result<Response<pb::Property>, Status> {
        let property = self.rate(request).await?;
        Ok(Response::new((&property).into()))
    }

    async fn get_contact(
        &self,
        request: Request<pb::GetContactRequest>,
    ) -> Result<Response<pb::Contact>, Status> {
        Ok(Response::new(self.contact(request).await?))
    }

    async fn save_search(
        &self,
        request: Request<pb::SaveSearchRequest>,
    ) -> Result<Response<pb::SavedSearch>, Status> {
        let actor = self.actor(&request)?;
        self.tenant(&actor)?;
        let search = searches::check(request.into_inner()).map_err(Error::Invalid)?;
        let mut tx = self.pool.begin().await.map_err(Error::from)?;
        let saved = searches::save(&mut tx, actor.user_id, &search).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(saved))
    }

    async fn list_searches(
        &self,
        request: Request<pb::ListSearchesRequest>,
    ) -> Result<Response<pb::ListSearchesResponse>, Status> {
        let actor = self.actor(&request)?;
        self.tenant(&actor)?;
        let searches = searches::list(&self.pool, actor.user_id).await?;
        Ok(Response::new(pb::ListSearchesResponse { searches }))
    }

    async fn delete_search(
        &self,
        request: Request<pb::DeleteSearchRequest>,
    ) -> Result<Response<pb::DeleteSearchResponse>, Status> {
        let actor = self.actor(&request)?;
        self.tenant(&actor)?;
        let id = path_id("saved search", &request.get_ref().id)?;
        searches::delete(&self.pool, actor.user_id, id).await?;
        Ok(Response::new(pb::DeleteSearchResponse {}))
    }
}
