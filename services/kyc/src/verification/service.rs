//! The gRPC handlers of `rentory.kyc.v1.KycService`.

use std::sync::Arc;
use std::time::Duration;

use rentory_auth::{Actor, TokenVerifier};
use rentory_events::enqueue;
use rentory_media::Limits;
use rentory_proto::events::v1 as events;
use rentory_proto::identity::v1::Role as PbRole;
use rentory_proto::kyc::v1 as pb;
use rentory_proto::kyc::v1::kyc_service_server::KycService;
use rentory_storage::Bucket;
use sqlx::PgPool;
use time::OffsetDateTime;
use tonic::{Request, Response, Status as GrpcStatus};
use uuid::Uuid;

use super::cursor::Cursor;
use super::rules::{self, Access, Decision};
use super::{Status, Verification, db, parse_id, subjects};
use crate::audit::{self, Transition};
use crate::error::Error;
use crate::review_links::{self, ReviewLinks};
use crate::upload;
use crate::verification::ImageKind;

/// The KYC gRPC service. Cheap to clone.
#[derive(Clone)]
pub struct KycApi {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    verifier: TokenVerifier,
    bucket: Bucket,
    signed_url_ttl: Duration,
    max_upload_bytes: usize,
    limits: Limits,
}

type RpcResult<T> = Result<Response<T>, GrpcStatus>;

impl KycApi {
    pub fn new(
        pool: PgPool,
        verifier: TokenVerifier,
        bucket: Bucket,
        signed_url_ttl: Duration,
        max_upload_bytes: usize,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                verifier,
                bucket,
                signed_url_ttl,
                max_upload_bytes,
                limits: Limits::default(),
            }),
        }
    }

    fn actor<T>(&self, request: &Request<T>) -> Result<Actor, Error> {
        Actor::from_metadata(request.metadata(), &self.inner.verifier)
            .map_err(Error::Unauthenticated)
    }
}

#[tonic::async_trait]
impl KycService for KycApi {
    async fn submit(
        &self,
        request: Request<pb::SubmitRequest>,
    ) -> RpcResult<pb::VerificationRequest> {
        let actor = self.actor(&request)?;
        let submitted = self.inner.submit(&actor, request.into_inner()).await?;
        Ok(Response::new(submitted.to_proto()))
    }

    async fn get_mine(
        &self,
        request: Request<pb::GetMineRequest>,
    ) -> RpcResult<pb::VerificationRequest> {
        let actor = self.actor(&request)?;
        let latest = db::latest_for_user(&self.inner.pool, actor.user_id)
            .await?
            .ok_or(Error::NotFound)?;
        Ok(Response::new(latest.to_proto()))
    }

    async fn get(&self, request: Request<pb::GetRequest>) -> RpcResult<pb::ReviewItem> {
        let actor = self.actor(&request)?;
        let id = parse_id(&request.get_ref().id)?;
        let item = self.inner.get(&actor, id).await?;
        Ok(Response::new(item))
    }

    async fn list(&self, request: Request<pb::ListRequest>) -> RpcResult<pb::ListResponse> {
        let actor = self.actor(&request)?;
        let page = self.inner.list(&actor, request.into_inner()).await?;
        Ok(Response::new(page))
    }

    async fn approve(
        &self,
        request: Request<pb::ApproveRequest>,
    ) -> RpcResult<pb::VerificationRequest> {
        let actor = self.actor(&request)?;
        rules::require_reviewer(&actor)?;
        let id = parse_id(&request.get_ref().id)?;
        let decided = self
            .inner
            .decide(&actor, id, Decision::Approve, None)
            .await?;
        Ok(Response::new(decided.to_proto()))
    }

    async fn reject(
        &self,
        request: Request<pb::RejectRequest>,
    ) -> RpcResult<pb::VerificationRequest> {
        let actor = self.actor(&request)?;
        rules::require_reviewer(&actor)?;
        let id = parse_id(&request.get_ref().id)?;
        let reason = rules::rejection_reason(&request.get_ref().reason)?;
        let decided = self
            .inner
            .decide(&actor, id, Decision::Reject, Some(&reason))
            .await?;
        Ok(Response::new(decided.to_proto()))
    }
}

impl Inner {
    #[tracing::instrument(skip_all, fields(user_id = %actor.user_id))]
    async fn submit(
        &self,
        actor: &Actor,
        request: pb::SubmitRequest,
    ) -> Result<Verification, Error> {
        rules::may_submit(actor)?;
        let role_requested = rules::role_requested(request.role_requested)?;
        rules::may_request(actor, role_requested)?;
        let id_image = upload::check(
            ImageKind::IdImage,
            request.id_image,
            self.max_upload_bytes,
            &self.limits,
        )?;
        let face_scan = upload::check(
            ImageKind::FaceScan,
            request.face_scan,
            self.max_upload_bytes,
            &self.limits,
        )?;
        // Cheap early answer, so a duplicate does not upload anything; the unique index
        // still decides races.
        if db::has_pending(&self.pool, actor.user_id).await? {
            return Err(Error::AlreadyPending);
        }

        let id = Uuid::now_v7();
        let mut stored = Vec::with_capacity(2);
        for image in [&id_image, &face_scan] {
            match upload::store(&self.bucket, id, image).await {
                Ok(image) => stored.push(image),
                Err(e) => {
                    upload::discard(&self.bucket, &stored).await;
                    return Err(e);
                }
            }
        }
        let new = db::NewRequest {
            id,
            user_id: actor.user_id,
            role_requested,
            id_image: stored[0].clone(),
            face_scan: stored[1].clone(),
        };
        let result = async {
            let mut tx = self.pool.begin().await?;
            let created_at = db::insert(&mut tx, &new).await?;
            let event = events::VerificationSubmitted {
                verification_request_id: id.to_string(),
                user_id: actor.user_id.to_string(),
                role_requested: PbRole::from(role_requested) as i32,
                at: Some(rentory_proto::timestamp(created_at)),
            };
            enqueue(&mut tx, subjects::SUBMITTED, &event).await?;
            tx.commit().await?;
            Ok::<_, Error>(created_at)
        }
        .await;
        let created_at = match result {
            Ok(created_at) => created_at,
            Err(e) => {
                upload::discard(&self.bucket, &stored).await;
                return Err(e);
            }
        };
        tracing::info!(verification_request_id = %id, role_requested = %role_requested, "verification request submitted");
        Ok(Verification {
            id,
            user_id: actor.user_id,
            status: Status::Pending,
            role_requested,
            id_image: super::ImageRef {
                key: new.id_image.key,
                mime: new.id_image.mime.to_owned(),
            },
            face_scan: super::ImageRef {
                key: new.face_scan.key,
                mime: new.face_scan.mime.to_owned(),
            },
            reviewer_id: None,
            rejection_reason: None,
            created_at,
            decided_at: None,
            face_match: None,
        })
    }

    #[tracing::instrument(skip_all, fields(verification_request_id = %id))]
    async fn get(&self, actor: &Actor, id: Uuid) -> Result<pb::ReviewItem, Error> {
        let request = db::find(&self.pool, id).await?.ok_or(Error::NotFound)?;
        match rules::access(actor, request.user_id) {
            None => Err(Error::NotFound),
            Some(Access::Owner) => Ok(pb::ReviewItem {
                request: Some(request.to_proto()),
                ..Default::default()
            }),
            Some(Access::Reviewer) => {
                let links = review_links::mint(
                    &self.pool,
                    &self.bucket,
                    self.signed_url_ttl,
                    actor,
                    std::slice::from_ref(&request),
                )
                .await?;
                let item = links
                    .into_iter()
                    .next()
                    .map(|links| review_item(&request, links))
                    .ok_or_else(|| Error::corrupt("no links minted for a request"))?;
                Ok(item)
            }
        }
    }

    #[tracing::instrument(skip_all)]
    async fn list(
        &self,
        actor: &Actor,
        request: pb::ListRequest,
    ) -> Result<pb::ListResponse, Error> {
        rules::require_reviewer(actor)?;
        let status = rules::list_status(request.status)?;
        let after = Cursor::decode(&request.cursor)?;
        let page_size = rules::page_size(request.page_size);
        let mut requests = db::list(&self.pool, status, after, i64::from(page_size) + 1).await?;
        let more = requests.len() > page_size as usize;
        requests.truncate(page_size as usize);
        let next_cursor = match (more, requests.last()) {
            (true, Some(last)) => Cursor {
                created_at: last.created_at,
                id: last.id,
            }
            .encode(),
            _ => String::new(),
        };
        let links = review_links::mint(
            &self.pool,
            &self.bucket,
            self.signed_url_ttl,
            actor,
            &requests,
        )
        .await?;
        let items = requests
            .iter()
            .zip(links)
            .map(|(request, links)| review_item(request, links))
            .collect();
        Ok(pb::ListResponse { items, next_cursor })
    }

    /// One transaction: lock the row, check the transition, record it, append the audit
    /// row and enqueue the event.
    #[tracing::instrument(skip_all, fields(verification_request_id = %id, decision = ?decision))]
    async fn decide(
        &self,
        actor: &Actor,
        id: Uuid,
        decision: Decision,
        reason: Option<&str>,
    ) -> Result<Verification, Error> {
        let mut tx = self.pool.begin().await?;
        let locked = db::lock(&mut tx, id).await?.ok_or(Error::NotFound)?;
        let to = rules::decide(actor.user_id, locked.user_id, locked.status, decision)?;
        let now = rentory_audit::truncate_to_micros(OffsetDateTime::now_utc());
        db::record_decision(&mut tx, id, to, actor.user_id, reason, now).await?;
        audit::append(
            &mut tx,
            &Transition {
                request_id: id,
                actor,
                from: locked.status,
                to,
                reason,
                at: now,
            },
        )
        .await?;
        let role = PbRole::from(locked.role_requested) as i32;
        let at = Some(rentory_proto::timestamp(now));
        match decision {
            Decision::Approve => {
                let event = events::VerificationApproved {
                    verification_request_id: id.to_string(),
                    user_id: locked.user_id.to_string(),
                    role_granted: role,
                    reviewer_id: actor.user_id.to_string(),
                    at,
                };
                enqueue(&mut tx, subjects::APPROVED, &event).await?;
            }
            Decision::Reject => {
                let event = events::VerificationRejected {
                    verification_request_id: id.to_string(),
                    user_id: locked.user_id.to_string(),
                    role_requested: role,
                    reviewer_id: actor.user_id.to_string(),
                    reason: reason.unwrap_or_default().to_owned(),
                    at,
                };
                enqueue(&mut tx, subjects::REJECTED, &event).await?;
            }
        }
        let decided = db::find(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::corrupt("a decided request vanished inside its transaction"))?;
        tx.commit().await?;
        tracing::info!(to = to.as_str(), reviewer_id = %actor.user_id, "verification request decided");
        Ok(decided)
    }
}

fn review_item(request: &Verification, links: ReviewLinks) -> pb::ReviewItem {
    pb::ReviewItem {
        request: Some(request.to_proto()),
        urls_expire_at: Some(rentory_proto::timestamp(links.expires_at())),
        id_image_url: links.id_image.url,
        face_scan_url: links.face_scan.url,
    }
}
