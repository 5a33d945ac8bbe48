//! Saved discover queries (TENANT): new listings that match one raise an alert.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rentory_proto::listings::v1 as pb;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::extract::ApiJson;
use crate::grpc::Forward;
use crate::problem::{Problem, ProblemDocument};
use crate::routes::properties::MAX_POLYGON_BYTES;
use crate::routes::{Created, created};
use crate::state::AppState;

/// A discover query to keep.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewSearch {
    #[schema(example = "2-bed in Yaba")]
    pub name: String,
    #[schema(example = 6.5095)]
    pub lat: f64,
    #[schema(example = 3.3711)]
    pub lng: f64,
    #[schema(example = 3.0)]
    pub radius_km: f64,
    /// A GeoJSON Polygon, as an object or as its JSON text (at most 16 KiB).
    #[schema(value_type = Option<Object>)]
    pub polygon: Option<serde_json::Value>,
    /// RESIDENTIAL, COMMERCIAL, EVENT_CENTER, LAND or SHORTLET.
    #[schema(example = "RESIDENTIAL")]
    pub category: Option<String>,
    pub min_price_kobo: Option<i64>,
    #[schema(example = 300_000_000)]
    pub max_price_kobo: Option<i64>,
    /// At least this many.
    #[schema(example = 2)]
    pub bedrooms: Option<u32>,
}

/// The polygon as the JSON text the service stores: an object is written out, a string is
/// taken as already being that text (the service checks it is GeoJSON).
fn polygon_text(polygon: Option<serde_json::Value>) -> Result<Option<String>, Problem> {
    let text = match polygon {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::String(text)) => text,
        Some(object @ serde_json::Value::Object(_)) => object.to_string(),
        Some(_) => {
            return Err(Problem::invalid_field(
                "polygon",
                "must be a GeoJSON object or its JSON text",
            ));
        }
    };
    if text.len() > MAX_POLYGON_BYTES {
        return Err(Problem::invalid_field(
            "polygon",
            format!("must be at most {MAX_POLYGON_BYTES} bytes"),
        ));
    }
    Ok(Some(text))
}

/// A saved search.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedSearchBody {
    #[schema(example = "0190f3a2-7b1c-7d4e-9a8b-1234567890ab")]
    pub id: String,
    #[schema(example = "2-bed in Yaba")]
    pub name: String,
    pub lat: f64,
    pub lng: f64,
    pub radius_km: f64,
    /// The GeoJSON polygon, or null.
    #[schema(value_type = Option<Object>)]
    pub polygon: Option<serde_json::Value>,
    pub category: Option<String>,
    pub min_price_kobo: Option<i64>,
    pub max_price_kobo: Option<i64>,
    pub bedrooms: Option<u32>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
}

impl TryFrom<pb::SavedSearch> for SavedSearchBody {
    type Error = Problem;

    fn try_from(s: pb::SavedSearch) -> Result<Self, Problem> {
        let polygon = match s.polygon_geojson.filter(|p| !p.is_empty()) {
            None => None,
            Some(text) => Some(
                serde_json::from_str(&text)
                    .map_err(|_| Problem::bad_gateway("saved search polygon is not JSON"))?,
            ),
        };
        Ok(Self {
            id: s.id,
            name: s.name,
            lat: s.latitude,
            lng: s.longitude,
            radius_km: s.radius_km,
            polygon,
            category: s.category,
            min_price_kobo: s.min_price_kobo,
            max_price_kobo: s.max_price_kobo,
            bedrooms: s.bedrooms,
            created_at: s
                .created_at
                .as_ref()
                .and_then(rentory_proto::offset_date_time),
        })
    }
}

/// The caller's saved searches.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedSearches {
    pub searches: Vec<SavedSearchBody>,
}

/// Saves a discover query (TENANT).
#[utoipa::path(
    post,
    path = "/searches",
    tag = "searches",
    security(("bearer" = [])),
    request_body = NewSearch,
    responses(
        (status = 201, body = SavedSearchBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not a tenant", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn save_search(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    ApiJson(body): ApiJson<NewSearch>,
) -> Result<Created<SavedSearchBody>, Problem> {
    let request = pb::SaveSearchRequest {
        polygon_geojson: polygon_text(body.polygon)?,
        name: body.name,
        latitude: body.lat,
        longitude: body.lng,
        radius_km: body.radius_km,
        category: body.category,
        min_price_kobo: body.min_price_kobo,
        max_price_kobo: body.max_price_kobo,
        bedrooms: body.bedrooms,
    };
    let search = state
        .clients
        .listings
        .clone()
        .save_search(
            forward
                .with_authorization(user.authorization)
                .request(request),
        )
        .await?
        .into_inner();
    Ok(created(search.try_into()?))
}

/// The caller's saved searches (TENANT).
#[utoipa::path(
    get,
    path = "/searches",
    tag = "searches",
    security(("bearer" = [])),
    responses(
        (status = 200, body = SavedSearches),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not a tenant", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn list_searches(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
) -> Result<Json<SavedSearches>, Problem> {
    let list = state
        .clients
        .listings
        .clone()
        .list_searches(
            forward
                .with_authorization(user.authorization)
                .request(pb::ListSearchesRequest {}),
        )
        .await?
        .into_inner();
    Ok(Json(SavedSearches {
        searches: list
            .searches
            .into_iter()
            .map(SavedSearchBody::try_from)
            .collect::<Result<_, _>>()?,
    }))
}

/// Deletes one of the caller's saved searches.
#[utoipa::path(
    delete,
    path = "/searches/{id}",
    tag = "searches",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Saved search id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn delete_search(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state
        .clients
        .listings
        .clone()
        .delete_search(
            forward
                .with_authorization(user.authorization)
                .request(pb::DeleteSearchRequest { id }),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn polygons_are_forwarded_as_json_text() {
        let square = json!({"type": "Polygon", "coordinates": [[[3.3, 6.5], [3.4, 6.5], [3.4, 6.6], [3.3, 6.5]]]});
        let text = polygon_text(Some(square.clone()))
            .expect("ok")
            .expect("some");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).ok(),
            Some(square.clone())
        );
        let as_text = polygon_text(Some(json!(square.to_string()))).expect("ok");
        assert_eq!(as_text, Some(square.to_string()));
        assert_eq!(polygon_text(None).expect("ok"), None);
        assert_eq!(polygon_text(Some(json!(null))).expect("ok"), None);
        for bad in [
            json!(5),
            json!([1, 2]),
            json!("x".repeat(MAX_POLYGON_BYTES + 1)),
        ] {
            let p = polygon_text(Some(bad)).expect_err("refused");
            assert_eq!(p.errors[0].field, "polygon");
        }
    }

    #[test]
    fn saved_polygons_come_back_as_objects() {
        let body = SavedSearchBody::try_from(pb::SavedSearch {
            polygon_geojson: Some(r#"{"type":"Polygon","coordinates":[]}"#.into()),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(
            body.polygon,
            Some(json!({"type": "Polygon", "coordinates": []}))
        );
        let none = SavedSearchBody::try_from(pb::SavedSearch::default()).expect("valid");
        assert_eq!(none.polygon, None);
        let bad = SavedSearchBody::try_from(pb::SavedSearch {
            polygon_geojson: Some("{".into()),
            ..Default::default()
        });
        assert!(bad.is_err());
    }
}
