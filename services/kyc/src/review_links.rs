//! Short-lived signed links to the stored originals, for reviewers only.
//!
//! Callers check the reviewer's right first; this module mints the links and records every
//! minting in `kyc.link_mints` (reviewer, request, image, expiry, client IP, request id)
//! before any link leaves the service. The links themselves are credentials: they are
//! never stored, never logged, and `SignedUrl`'s `Debug` hides them.

use std::time::Duration;

use ipnetwork::IpNetwork;
use rentory_auth::Actor;
use rentory_storage::{Bucket, SignedUrl};
use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Error;
use crate::verification::{ImageKind, Verification};

/// Both links of one request.
pub struct ReviewLinks {
    pub id_image: SignedUrl,
    pub face_scan: SignedUrl,
}

impl ReviewLinks {
    /// When the first of the two stops working.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.id_image.expires_at.min(self.face_scan.expires_at)
    }
}

/// Mints links to both images of each request, in order, and records every minting.
/// Nothing is returned unless the record is committed.
#[tracing::instrument(skip_all, fields(requests = requests.len()))]
pub async fn mint(
    db: impl PgExecutor<'_>,
    bucket: &Bucket,
    ttl: Duration,
    reviewer: &Actor,
    requests: &[Verification],
) -> Result<Vec<ReviewLinks>, Error> {
    let mut links = Vec::with_capacity(requests.len());
    let mut request_ids = Vec::with_capacity(requests.len() * 2);
    let mut images = Vec::with_capacity(requests.len() * 2);
    let mut expiries = Vec::with_capacity(requests.len() * 2);
    for request in requests {
        let id_image = bucket
            .signed_get_url(&request.image(ImageKind::IdImage).key, ttl)
            .await?;
        let face_scan = bucket
            .signed_get_url(&request.image(ImageKind::FaceScan).key, ttl)
            .await?;
        for (kind, url) in [
            (ImageKind::IdImage, &id_image),
            (ImageKind::FaceScan, &face_scan),
        ] {
            request_ids.push(request.id);
            images.push(kind.as_db().to_owned());
            expiries.push(url.expires_at);
        }
        links.push(ReviewLinks {
            id_image,
            face_scan,
        });
    }
    if !request_ids.is_empty() {
        record(db, reviewer, &request_ids, &images, &expiries).await?;
    }
    Ok(links)
}

#[tracing::instrument(skip_all)]
async fn record(
    db: impl PgExecutor<'_>,
    reviewer: &Actor,
    request_ids: &[Uuid],
    images: &[String],
    expiries: &[OffsetDateTime],
) -> Result<(), sqlx::Error> {
    let client_ip = reviewer.context.client_ip.map(IpNetwork::from);
    sqlx::query!(
        r#"INSERT INTO kyc.link_mints
             (reviewer_id, verification_request_id, image, expires_at, client_ip, request_id)
           SELECT $1, m.request_id, m.image, m.expires_at, $5, $6
           FROM UNNEST($2::uuid[], $3::text[], $4::timestamptz[])
                AS m(request_id, image, expires_at)"#,
        reviewer.user_id,
        request_ids,
        images,
        expiries,
        client_ip,
        reviewer.context.request_id.as_deref()
    )
    .execute(db)
    .await?;
    Ok(())
}
