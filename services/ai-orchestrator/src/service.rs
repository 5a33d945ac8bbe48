//! The gRPC handlers: check the caller and every field, charge the budget, ask the
//! provider, record the calls, answer. The rules live in the task modules and providers.

use std::sync::Arc;
use std::time::Instant;

use rentory_auth::{Actor, Role, TokenVerifier};
use rentory_persona::{Category, Persona, RentPeriod};
use rentory_proto::ai::v1 as pb;
use rentory_proto::ai::v1::ai_orchestrator_server::AiOrchestrator;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::budget::DailyBudget;
use crate::call_log::{self, CallContext, CallRecord, Task};
use crate::concierge::{self, AnsweredTurn};
use crate::error::Error;
use crate::photo_cache::{AnalysisKey, CachedAnalysis, PhotoCache};
use crate::provider::{Answered, Failed, Photo, Provider};
use crate::task::{
    Comparable, LeaseParty, LeasePeriod, LeasePremises, LeaseRequest, LeaseTerms, ListingDraft,
    PhotoFacts,
};
use crate::untrusted::{redact_contacts, strip_control};

pub const MAX_MESSAGE_CHARS: usize = 2000;
pub const MAX_PHOTOS: usize = 10;
/// Per photo, and for all of them: Gemini takes about 20 MB of inline data per request,
/// and base64 grows bytes by a third.
pub const MAX_PHOTO_BYTES: usize = 7 * 1024 * 1024;
pub const MAX_PHOTOS_TOTAL_BYTES: usize = 14 * 1024 * 1024;
pub const MAX_NOTES_CHARS: usize = 2000;
pub const MAX_ADDRESS_CHARS: usize = 300;
pub const MAX_COMPARABLES: usize = 50;
pub const MAX_NAME_CHARS: usize = 120;
pub const MAX_NEGOTIATION_POINTS: usize = 30;
pub const MAX_POINT_CHARS: usize = 500;
pub const MAX_DURATION_MONTHS: u32 = 120;
const MAX_KOBO: i64 = 1_000_000_000_000;
/// Times a concierge turn is answered again after losing a race with another turn of the
/// same tenant.
const CONCIERGE_RACE_RETRIES: usize = 1;

/// The AiOrchestrator gRPC service.
#[derive(Clone)]
pub struct AiApi {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    verifier: TokenVerifier,
    provider: Provider,
    budget: DailyBudget,
    cache: PhotoCache,
}

impl AiApi {
    pub fn new(
        pool: PgPool,
        verifier: TokenVerifier,
        provider: Provider,
        budget: DailyBudget,
        cache: PhotoCache,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                verifier,
                provider,
                budget,
                cache,
            }),
        }
    }
}

impl Inner {
    fn actor<T>(&self, request: &Request<T>) -> Result<Actor, Error> {
        Actor::from_metadata(request.metadata(), &self.verifier).map_err(Error::Unauthenticated)
    }

    /// Records the calls of a task; a failure here is logged, never the caller's problem.
    async fn record(&self, context: CallContext<'_>, records: &[CallRecord]) {
        if let Err(e) = call_log::record(&self.pool, context, records).await {
            tracing::error!(
                error = rentory_runtime::error_chain(&e),
                task = context.task.as_str(),
                "AI calls not recorded"
            );
        }
    }

    /// Unwraps a provider answer, recording its calls either way.
    async fn settle<T>(
        &self,
        context: CallContext<'_>,
        answer: Result<Answered<T>, Failed>,
    ) -> Result<Answered<T>, Error> {
        match answer {
            Ok(answered) => {
                self.record(context, &answered.records).await;
                Ok(answered)
            }
            Err(Failed { error, records }) => {
                self.record(context, &records).await;
                Err(error)
            }
        }
    }

    async fn concierge_turn(
        &self,
        actor: &Actor,
        message: &str,
    ) -> Result<pb::ConciergeTurnResponse, Error> {
        if actor.role != Role::Tenant {
            return Err(Error::Forbidden("only tenants talk to the concierge"));
        }
        // Contact details never reach a prompt, nor the stored conversation.
        let message = untrusted_text("message", message, MAX_MESSAGE_CHARS)?;
        if message.is_empty() {
            return Err(Error::invalid("message", "must not be empty"));
        }
        self.budget.charge(actor.user_id).await?;
        for _ in 0..=CONCIERGE_RACE_RETRIES {
            let conversation = concierge::conversation(&self.pool, actor.user_id).await?;
            let context = CallContext {
                call_id: Uuid::now_v7(),
                task: Task::Concierge,
                user_id: Some(actor.user_id),
                request_id: actor.context.request_id.as_deref(),
            };
            let answer = self
                .provider
                .concierge(&conversation.persona, &conversation.history, &message)
                .await;
            let answered = match answer {
                Ok(answered) => answered,
                Err(Failed { error, records }) => {
                    self.record(context, &records).await;
                    return Err(error);
                }
            };
            let before = &conversation.persona;
            let changed = !answered.value.persona.same_wishes(before);
            let persona = Persona {
                version: if changed {
                    before.version + 1
                } else {
                    before.version
                },
                ..answered.value.persona.clone()
            };
            let mut tx = self.pool.begin().await?;
            let saved = concierge::save(
                &mut tx,
                &AnsweredTurn {
                    user: actor.user_id,
                    message: &message,
                    reply: &answered.value.reply,
                    model: &answered.model,
                    started_from: before.version,
                    persona: &persona,
                    changed,
                },
            )
            .await?;
            if !saved {
                drop(tx);
                self.record(context, &answered.records).await;
                tracing::info!(user_id = %actor.user_id, "concierge turn lost a race; answering again");
                continue;
            }
            call_log::record(&mut *tx, context, &answered.records).await?;
            tx.commit().await?;
            return Ok(pb::ConciergeTurnResponse {
                reply: answered.value.reply,
                persona: Some(document(&persona)),
                persona_changed: changed,
                model: answered.model,
                confidence: answered.value.confidence,
                reasons: answered.value.reasons,
            });
        }
        Err(Error::Busy)
    }

    async fn analyze_photos(
        &self,
        actor: &Actor,
        request: pb::AnalyzePhotosRequest,
    ) -> Result<pb::AnalyzePhotosResponse, Error> {
        if !matches!(actor.role, Role::Landlord | Role::Admin) {
            return Err(Error::Forbidden("only landlords analyse listing photos"));
        }
        let photos = checked_photos(request.photos)?;
        let notes = untrusted_text("notes", &request.notes, MAX_NOTES_CHARS)?;
        let address = untrusted_text("address", &request.address, MAX_ADDRESS_CHARS)?;
        let comparables = checked_comparables(request.comparables)?;
        let photo_bytes: Vec<&[u8]> = photos.iter().map(|p| p.data.as_ref()).collect();
        let digest = AnalysisKey {
            photos: &photo_bytes,
            notes: &notes,
            address: &address,
            comparables: &comparables,
            provider: &self.provider.identity(),
        }
        .digest();
        let context = CallContext {
            call_id: Uuid::now_v7(),
            task: Task::AnalyzePhotos,
            user_id: Some(actor.user_id),
            request_id: actor.context.request_id.as_deref(),
        };
        let started = Instant::now();
        if let Some(cached) = self.cache.get(&digest).await {
            let (model, draft) = cached.into_draft();
            self.record(
                context,
                &[CallRecord::free(&model, "cached", started.elapsed())],
            )
            .await;
            return Ok(listing_response(draft, model, true));
        }
        self.budget.charge(actor.user_id).await?;
        let answered = self
            .settle(
                context,
                self.provider
                    .analyze_photos(&photos, &notes, &address, &comparables)
                    .await,
            )
            .await?;
        self.cache
            .put(
                &digest,
                &CachedAnalysis::new(&answered.model, &answered.value),
            )
            .await;
        Ok(listing_response(answered.value, answered.model, false))
    }

    async fn draft_lease(
        &self,
        actor: &Actor,
        request: pb::DraftLeaseRequest,
    ) -> Result<pb::DraftLeaseResponse, Error> {
        if !matches!(actor.role, Role::Landlord | Role::Admin) {
            return Err(Error::Forbidden("only landlords draft leases"));
        }
        let lease = checked_lease(request)?;
        self.budget.charge(actor.user_id).await?;
        let context = CallContext {
            call_id: Uuid::now_v7(),
            task: Task::DraftLease,
            user_id: Some(actor.user_id),
            request_id: actor.context.request_id.as_deref(),
        };
        let answered = self
            .settle(context, self.provider.draft_lease(&lease).await)
            .await?;
        Ok(pb::DraftLeaseResponse {
            markdown: answered.value.markdown,
            model: answered.model,
            reasons: answered.value.reasons,
        })
    }

    async fn face_match(
        &self,
        request: pb::FaceMatchRequest,
        request_id: Option<&str>,
    ) -> Result<pb::FaceMatchResponse, Error> {
        let id_image = checked_photo("id_image", request.id_image)?;
        let face_scan = checked_photo("face_scan", request.face_scan)?;
        let context = CallContext {
            call_id: Uuid::now_v7(),
            task: Task::FaceMatch,
            user_id: None,
            request_id,
        };
        let answered = self
            .settle(
                context,
                self.provider.face_match(&id_image, &face_scan).await,
            )
            .await?;
        tracing::info!(
            verification_request_id = request.verification_request_id,
            verdict = answered.value.verdict.as_str(),
            score = answered.value.score,
            model = answered.model,
            "face match answered"
        );
        Ok(pb::FaceMatchResponse {
            verdict: answered.value.verdict.as_str().to_owned(),
            reasons: answered.value.reasons,
            model: answered.model,
            score: answered.value.score,
        })
    }

    async fn get_persona(
        &self,
        actor: &Actor,
        user_id: &str,
    ) -> Result<pb::GetPersonaResponse, Error> {
        let user = if user_id.is_empty() {
            actor.user_id
        } else {
            Uuid::parse_str(user_id).map_err(|_| Error::invalid("user_id", "is not a UUID"))?
        };
        let allowed = match actor.role {
            Role::Admin => true,
            Role::Tenant => user == actor.user_id,
            _ => false,
        };
        if !allowed {
            return Err(Error::Forbidden(
                "only tenants (their own) and ADMIN read personas",
            ));
        }
        let persona = concierge::persona(&self.pool, user).await?;
        Ok(pb::GetPersonaResponse {
            persona: Some(document(&persona)),
        })
    }
}

fn document(persona: &Persona) -> pb::PersonaDocument {
    pb::PersonaDocument {
        json: persona.to_json(),
        version: persona.version,
    }
}

fn listing_response(draft: ListingDraft, model: String, cached: bool) -> pb::AnalyzePhotosResponse {
    pb::AnalyzePhotosResponse {
        category: draft.category.as_str().to_owned(),
        title: draft.title,
        description: draft.description,
        amenities: draft.amenities,
        neighborhood_description: draft.neighborhood_description,
        suggested_price_kobo: draft.suggested_price_kobo,
        rent_period: draft.rent_period.as_str().to_owned(),
        bedrooms: draft.bedrooms,
        bathrooms: draft.bathrooms,
        confidence: draft.confidence,
        model,
        reasons: draft.reasons,
        cached,
    }
}

/// Control characters dropped, whitespace trimmed, length checked.
fn clean_text(field: &'static str, text: &str, max_chars: usize) -> Result<String, Error> {
    let text = strip_control(text).trim().to_owned();
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(Error::invalid(
            field,
            format!("at most {max_chars} characters ({chars} given)"),
        ));
    }
    Ok(text)
}

/// Text written by a user, ready for a prompt: cleaned, checked, contact details removed.
fn untrusted_text(field: &'static str, text: &str, max_chars: usize) -> Result<String, Error> {
    Ok(redact_contacts(&clean_text(field, text, max_chars)?).text)
}

/// [`untrusted_text`] that must not be empty.
fn required_text(field: &'static str, text: &str, max_chars: usize) -> Result<String, Error> {
    let text = untrusted_text(field, text, max_chars)?;
    if text.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    Ok(text)
}

fn checked_photo(field: &'static str, image: Option<pb::Image>) -> Result<Photo, Error> {
    let image = image.ok_or_else(|| Error::invalid(field, "is required"))?;
    if image.data.len() > MAX_PHOTO_BYTES {
        return Err(Error::TooLarge {
            field,
            size: image.data.len(),
            max: MAX_PHOTO_BYTES,
        });
    }
    let info = rentory_media::inspect(&image.data, &rentory_media::Limits::default())
        .map_err(|source| Error::Media { field, source })?;
    rentory_media::check_declared(&image.mime_type, info.format)
        .map_err(|source| Error::Media { field, source })?;
    Ok(Photo {
        facts: PhotoFacts {
            mime_type: info.format.mime().to_owned(),
            width: info.width,
            height: info.height,
            bytes: image.data.len(),
        },
        data: bytes::Bytes::from(image.data),
    })
}

fn checked_photos(images: Vec<pb::Image>) -> Result<Vec<Photo>, Error> {
    if images.is_empty() || images.len() > MAX_PHOTOS {
        return Err(Error::invalid(
            "photos",
            format!("1 to {MAX_PHOTOS} photos ({} given)", images.len()),
        ));
    }
    let total: usize = images.iter().map(|i| i.data.len()).sum();
    if total > MAX_PHOTOS_TOTAL_BYTES {
        return Err(Error::TooLarge {
            field: "photos",
            size: total,
            max: MAX_PHOTOS_TOTAL_BYTES,
        });
    }
    images
        .into_iter()
        .map(|image| checked_photo("photos", Some(image)))
        .collect()
}

fn checked_comparables(comparables: Vec<pb::Comparable>) -> Result<Vec<Comparable>, Error> {
    if comparables.len() > MAX_COMPARABLES {
        return Err(Error::invalid(
            "comparables",
            format!("at most {MAX_COMPARABLES}"),
        ));
    }
    comparables
        .into_iter()
        .map(|c| {
            if !(1..=MAX_KOBO).contains(&c.price_kobo) {
                return Err(Error::invalid("comparables.price_kobo", "must be positive"));
            }
            if !c.distance_km.is_finite() || !(0.0..=1000.0).contains(&c.distance_km) {
                return Err(Error::invalid(
                    "comparables.distance_km",
                    "must be between 0 and 1000",
                ));
            }
            Ok(Comparable {
                price_kobo: c.price_kobo,
                rent_period: RentPeriod::parse(&c.rent_period).ok_or_else(|| {
                    Error::invalid("comparables.rent_period", "YEAR, MONTH or NIGHT")
                })?,
                bedrooms: c.bedrooms.filter(|b| *b <= 50),
                distance_km: c.distance_km,
                category: Category::parse(&c.category).ok_or_else(|| {
                    Error::invalid("comparables.category", "not a property category")
                })?,
            })
        })
        .collect()
}

fn checked_lease(request: pb::DraftLeaseRequest) -> Result<LeaseRequest, Error> {
    let property = request
        .property
        .ok_or_else(|| Error::invalid("property", "is required"))?;
    let landlord = request
        .landlord
        .ok_or_else(|| Error::invalid("landlord", "is required"))?;
    let tenant = request
        .tenant
        .ok_or_else(|| Error::invalid("tenant", "is required"))?;
    let terms = request
        .terms
        .ok_or_else(|| Error::invalid("terms", "is required"))?;
    let party = |field: &'static str, address_field: &'static str, p: pb::LeaseParty| {
        Ok::<_, Error>(LeaseParty {
            full_name: required_text(field, &p.full_name, MAX_NAME_CHARS)?,
            address: untrusted_text(address_field, &p.address, MAX_ADDRESS_CHARS)?,
        })
    };
    if !(1..=MAX_KOBO).contains(&terms.rent_kobo) {
        return Err(Error::invalid("terms.rent_kobo", "must be positive"));
    }
    for (field, kobo) in [
        ("terms.deposit_kobo", terms.deposit_kobo),
        ("terms.service_charge_kobo", terms.service_charge_kobo),
    ] {
        if !(0..=MAX_KOBO).contains(&kobo) {
            return Err(Error::invalid(field, "must be zero or positive"));
        }
    }
    if !(1..=MAX_DURATION_MONTHS).contains(&terms.duration_months) {
        return Err(Error::invalid(
            "terms.duration_months",
            format!("1 to {MAX_DURATION_MONTHS}"),
        ));
    }
    if terms.advance_rent_months > MAX_DURATION_MONTHS {
        return Err(Error::invalid(
            "terms.advance_rent_months",
            format!("at most {MAX_DURATION_MONTHS}"),
        ));
    }
    let start_date = time::Date::parse(
        terms.start_date.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| Error::invalid("terms.start_date", "a date as YYYY-MM-DD"))?;
    if request.negotiation_points.len() > MAX_NEGOTIATION_POINTS {
        return Err(Error::invalid(
            "negotiation_points",
            format!("at most {MAX_NEGOTIATION_POINTS}"),
        ));
    }
    let negotiation_points = request
        .negotiation_points
        .iter()
        .map(|p| untrusted_text("negotiation_points", p, MAX_POINT_CHARS))
        .filter(|p| !matches!(p, Ok(text) if text.is_empty()))
        .collect::<Result<Vec<_>, Error>>()?;
    let jurisdiction = clean_text("jurisdiction", &request.jurisdiction, 40)?;
    Ok(LeaseRequest {
        premises: LeasePremises {
            title: required_text("property.title", &property.title, 200)?,
            address: required_text("property.address", &property.address, MAX_ADDRESS_CHARS)?,
            category: Category::parse(&property.category)
                .ok_or_else(|| Error::invalid("property.category", "not a property category"))?,
            bedrooms: property.bedrooms.filter(|b| *b <= 50),
            description: untrusted_text(
                "property.description",
                &property.description,
                MAX_NOTES_CHARS,
            )?,
        },
        landlord: party("landlord.full_name", "landlord.address", landlord)?,
        tenant: party("tenant.full_name", "tenant.address", tenant)?,
        terms: LeaseTerms {
            rent_kobo: terms.rent_kobo,
            rent_period: LeasePeriod::parse(&terms.rent_period).ok_or_else(|| {
                Error::invalid(
                    "terms.rent_period",
                    "YEAR, HALF_YEAR, QUARTER, MONTH or NIGHT",
                )
            })?,
            duration_months: terms.duration_months,
            start_date,
            deposit_kobo: terms.deposit_kobo,
            service_charge_kobo: terms.service_charge_kobo,
            advance_rent_months: terms.advance_rent_months,
        },
        negotiation_points,
        jurisdiction,
    })
}

#[tonic::async_trait]
impl AiOrchestrator for AiApi {
    async fn concierge_turn(
        &self,
        request: Request<pb::ConciergeTurnRequest>,
    ) -> Result<Response<pb::ConciergeTurnResponse>, Status> {
        let actor = self.inner.actor(&request)?;
        let answer = self
            .inner
            .concierge_turn(&actor, &request.get_ref().message)
            .await?;
        Ok(Response::new(answer))
    }

    async fn get_persona(
        &self,
        request: Request<pb::GetPersonaRequest>,
    ) -> Result<Response<pb::GetPersonaResponse>, Status> {
        let actor = self.inner.actor(&request)?;
        let answer = self
            .inner
            .get_persona(&actor, &request.get_ref().user_id)
            .await?;
        Ok(Response::new(answer))
    }

    async fn analyze_photos(
        &self,
        request: Request<pb::AnalyzePhotosRequest>,
    ) -> Result<Response<pb::AnalyzePhotosResponse>, Status> {
        let actor = self.inner.actor(&request)?;
        let answer = self
            .inner
            .analyze_photos(&actor, request.into_inner())
            .await?;
        Ok(Response::new(answer))
    }

    async fn draft_lease(
        &self,
        request: Request<pb::DraftLeaseRequest>,
    ) -> Result<Response<pb::DraftLeaseResponse>, Status> {
        let actor = self.inner.actor(&request)?;
        let answer = self.inner.draft_lease(&actor, request.into_inner()).await?;
        Ok(Response::new(answer))
    }

    async fn face_match(
        &self,
        request: Request<pb::FaceMatchRequest>,
    ) -> Result<Response<pb::FaceMatchResponse>, Status> {
        let context = rentory_auth::RequestContext::from_metadata(request.metadata());
        let answer = self
            .inner
            .face_match(request.into_inner(), context.request_id.as_deref())
            .await?;
        Ok(Response::new(answer))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn lease_request() -> pb::DraftLeaseRequest {
        pb::DraftLeaseRequest {
            property: Some(pb::LeaseProperty {
                title: "2-bedroom flat in Yaba".into(),
                address: "12 Herbert Macaulay Way, Yaba".into(),
                category: "RESIDENTIAL".into(),
                bedrooms: Some(2),
                description: "Call 0803 123 4567 to view".into(),
            }),
            landlord: Some(pb::LeaseParty {
                full_name: "Adaeze Okafor".into(),
                address: String::new(),
            }),
            tenant: Some(pb::LeaseParty {
                full_name: "Tunde Bakare".into(),
                address: String::new(),
            }),
            terms: Some(pb::LeaseTerms {
                rent_kobo: 180_000_000,
                rent_period: "YEAR".into(),
                duration_months: 12,
                start_date: "2027-01-01".into(),
                deposit_kobo: 0,
                service_charge_kobo: 0,
                advance_rent_months: 12,
            }),
            negotiation_points: vec!["  ".into(), "Repaint allowed; mail me at a@b.com".into()],
            jurisdiction: "Lagos".into(),
        }
    }

    #[test]
    fn lease_requests_are_checked_and_cleaned() {
        let lease = checked_lease(lease_request()).unwrap();
        assert_eq!(lease.terms.start_date, time::macros::date!(2027 - 01 - 01));
        assert_eq!(lease.negotiation_points.len(), 1);
        assert!(!lease.negotiation_points[0].contains("a@b.com"));
        assert!(!lease.premises.description.contains("0803"));

        let refused = |edit: fn(&mut pb::DraftLeaseRequest)| {
            let mut request = lease_request();
            edit(&mut request);
            match checked_lease(request) {
                Err(Error::Invalid { field, .. }) => field,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            refused(|r| r.terms.as_mut().unwrap().rent_kobo = 0),
            "terms.rent_kobo"
        );
        assert_eq!(
            refused(|r| r.terms.as_mut().unwrap().duration_months = 121),
            "terms.duration_months"
        );
        assert_eq!(
            refused(|r| r.terms.as_mut().unwrap().start_date = "01/01/2027".into()),
            "terms.start_date"
        );
        assert_eq!(
            refused(|r| r.terms.as_mut().unwrap().rent_period = "WEEK".into()),
            "terms.rent_period"
        );
        assert_eq!(
            refused(|r| r.tenant.as_mut().unwrap().full_name = " ".into()),
            "tenant.full_name"
        );
        assert_eq!(
            refused(|r| r.property.as_mut().unwrap().category = "CASTLE".into()),
            "property.category"
        );
        assert_eq!(
            refused(|r| r.negotiation_points = vec!["x".into(); MAX_NEGOTIATION_POINTS + 1]),
            "negotiation_points"
        );
        assert_eq!(refused(|r| r.landlord = None), "landlord");
    }

    #[test]
    fn photos_are_counted_sized_and_sniffed() {
        let png = rentory_media::fixtures::PNG_64X48_TEXT.to_vec();
        let image = |data: Vec<u8>, mime: &str| pb::Image {
            data,
            mime_type: mime.into(),
        };
        let photos = checked_photos(vec![image(png.clone(), "image/png")]).unwrap();
        assert_eq!((photos[0].facts.width, photos[0].facts.height), (64, 48));
        assert!(matches!(
            checked_photos(vec![]),
            Err(Error::Invalid {
                field: "photos",
                ..
            })
        ));
        assert!(matches!(
            checked_photos(vec![image(png.clone(), "image/png"); MAX_PHOTOS + 1]),
            Err(Error::Invalid {
                field: "photos",
                ..
            })
        ));
        assert!(matches!(
            checked_photos(vec![image(png.clone(), "image/jpeg")]),
            Err(Error::Media { .. })
        ));
        assert!(matches!(
            checked_photos(vec![image(b"GIF89a not accepted".to_vec(), "image/gif")]),
            Err(Error::Media { .. })
        ));
        assert!(matches!(
            checked_photos(vec![image(vec![0; MAX_PHOTO_BYTES + 1], "image/png")]),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn comparables_are_checked() {
        let comparable = pb::Comparable {
            price_kobo: 150_000_000,
            rent_period: "YEAR".into(),
            bedrooms: Some(2),
            distance_km: 1.2,
            category: "RESIDENTIAL".into(),
        };
        assert_eq!(
            checked_comparables(vec![comparable.clone()]).unwrap().len(),
            1
        );
        for bad in [
            pb::Comparable {
                price_kobo: 0,
                ..comparable.clone()
            },
            pb::Comparable {
                distance_km: f64::NAN,
                ..comparable.clone()
            },
            pb::Comparable {
                rent_period: "WEEK".into(),
                ..comparable.clone()
            },
        ] {
            assert!(checked_comparables(vec![bad]).is_err());
        }
    }
}
