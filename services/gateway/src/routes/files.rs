//! Objects of the local KYC bucket, through links the KYC service signed for a short time.
//! Only configured when the bucket is on the local filesystem; GCS links go to Google.
//!
//! The link (its query) is a credential: it is not logged here, and the trace span names
//! only the matched route.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rentory_storage::LinkError;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::problem::{Problem, ProblemDocument, ProblemType};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    pub expires: Option<String>,
    pub signature: Option<String>,
}

/// Serves one object of a local bucket through a signed link.
#[utoipa::path(
    get,
    path = "/files/{bucket}/{key}",
    tag = "files",
    params(
        ("bucket" = String, Path, description = "Bucket name"),
        ("key" = String, Path, description = "Object key; may contain `/`"),
        ("expires" = i64, Query, description = "Unix time the link expires"),
        ("signature" = String, Query, description = "HMAC of bucket, key and expiry"),
    ),
    responses(
        (status = 200, description = "The image, with its sniffed type", content_type = "image/*"),
        (status = 403, description = "Expired or invalid link", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such object, or no local bucket", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn get_file(
    State(state): State<AppState>,
    Path((bucket_name, key)): Path<(String, String)>,
    query: Result<Query<LinkQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let not_found = || Problem::new(ProblemType::NotFound, "no such file");
    let invalid = || Problem::new(ProblemType::InvalidLink, "the link is not valid");
    let Some(bucket) = state.files.as_ref().filter(|b| b.name() == bucket_name) else {
        return Err(not_found());
    };
    let Some(links) = bucket.local_links() else {
        return Err(not_found());
    };
    let Ok(Query(query)) = query else {
        return Err(invalid());
    };
    let expires = query
        .expires
        .as_deref()
        .and_then(|e| e.parse::<i64>().ok())
        .ok_or_else(invalid)?;
    let signature = query.signature.as_deref().ok_or_else(invalid)?;
    let key = links
        .verify(
            bucket.name(),
            &key,
            expires,
            signature,
            OffsetDateTime::now_utc(),
        )
        .map_err(|e| match e {
            LinkError::Expired => Problem::new(ProblemType::LinkExpired, "the link has expired"),
            LinkError::BadSignature | LinkError::BadKey => invalid(),
        })?;
    let bytes = bucket.get(&key).await.map_err(|e| {
        if e.is_not_found() {
            not_found()
        } else {
            tracing::error!(error = %e, "cannot read a file from the bucket");
            Problem::internal()
        }
    })?;
    let content_type = rentory_media::sniff(&bytes)
        .map(|f| f.mime())
        .unwrap_or("application/octet-stream");
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store, private"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            ),
        ],
        bytes,
    )
        .into_response())
}
