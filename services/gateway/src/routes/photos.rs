//! Listing photos of the local public bucket, for anyone: they are on public listings, so
//! there is no token and no signature. Only configured when the bucket is on the local
//! filesystem; a GCS bucket's photos are fetched from Google (or a CDN) directly.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rentory_storage::ObjectKey;

use crate::problem::{Problem, ProblemDocument, ProblemType};
use crate::state::AppState;

/// Serves one listing photo of the local public bucket.
#[utoipa::path(
    get,
    path = "/photos/{key}",
    tag = "photos",
    params(("key" = String, Path, description = "Object key, as in a listing's `photo_urls`; may contain `/`")),
    responses(
        (status = 200, description = "The photo, with its sniffed type; cacheable for a year (keys are content hashes)", content_type = "image/*"),
        (status = 404, description = "No such photo, an invalid key, or no local bucket", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn get_photo(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, Problem> {
    let not_found = || Problem::new(ProblemType::NotFound, "no such photo");
    let Some(bucket) = state.photos.as_ref() else {
        return Err(not_found());
    };
    // `..`, empty segments and odd characters are not keys: nothing outside the bucket.
    let key = ObjectKey::parse(&key).map_err(|_| not_found())?;
    let bytes = bucket.get(&key).await.map_err(|e| {
        if e.is_not_found() {
            not_found()
        } else {
            tracing::error!(error = %e, "cannot read a photo from the bucket");
            Problem::internal()
        }
    })?;
    let content_type = rentory_media::sniff(&bytes)
        .map(|f| f.mime())
        .unwrap_or("application/octet-stream");
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            // A key names its content (a hash), so a photo never changes under its URL.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
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
