//! Where to search: a point and radius, a bounding box, or a GeoJSON polygon, checked here
//! before PostGIS sees them, and reduced to one origin and a radius that covers the whole
//! area (the radius is what lets the spatial index bound every query).

use serde_json::Value;

use super::score::distance_km;

/// Discovery and saved searches never look further than this from their origin.
pub const MAX_RADIUS_KM: f64 = 100.0;
pub const MIN_RADIUS_KM: f64 = 0.1;
/// A point search without a radius looks this far.
pub const DEFAULT_RADIUS_KM: f64 = 20.0;
/// Vertices across all rings of a polygon: plenty for a drawn neighbourhood, cheap to test.
pub const MAX_POLYGON_VERTICES: usize = 1000;
pub const MAX_POLYGON_CHARS: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    pub min_longitude: f64,
    pub min_latitude: f64,
    pub max_longitude: f64,
    pub max_latitude: f64,
}

/// A checked polygon: the GeoJSON text PostGIS will parse, and its vertices.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    pub geojson: String,
    /// Every vertex of every ring as (longitude, latitude).
    pub vertices: Vec<(f64, f64)>,
}

/// The area searched, reduced to what the query needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub latitude: f64,
    pub longitude: f64,
    /// Covers the whole area from the origin.
    pub radius_km: f64,
    pub bbox: Option<BoundingBox>,
    pub polygon: Option<Polygon>,
}

pub type Problem = (&'static str, String);

pub fn check_point(latitude: f64, longitude: f64) -> Result<(), Problem> {
    if !(latitude.is_finite() && (-90.0..=90.0).contains(&latitude)) {
        return Err(("latitude", "between -90 and 90".into()));
    }
    if !(longitude.is_finite() && (-180.0..=180.0).contains(&longitude)) {
        return Err(("longitude", "between -180 and 180".into()));
    }
    Ok(())
}

pub fn check_radius(radius_km: f64) -> Result<f64, Problem> {
    if radius_km.is_finite() && (MIN_RADIUS_KM..=MAX_RADIUS_KM).contains(&radius_km) {
        Ok(radius_km)
    } else {
        Err((
            "radius_km",
            format!("between {MIN_RADIUS_KM} and {MAX_RADIUS_KM}"),
        ))
    }
}

pub fn check_bbox(b: BoundingBox) -> Result<BoundingBox, Problem> {
    let finite = [
        b.min_longitude,
        b.min_latitude,
        b.max_longitude,
        b.max_latitude,
    ]
    .iter()
    .all(|v| v.is_finite());
    if !finite
        || check_point(b.min_latitude, b.min_longitude).is_err()
        || check_point(b.max_latitude, b.max_longitude).is_err()
    {
        return Err(("bbox", "minLng,minLat,maxLng,maxLat in degrees".into()));
    }
    if b.min_longitude >= b.max_longitude || b.min_latitude >= b.max_latitude {
        return Err(("bbox", "the minimum must be below the maximum".into()));
    }
    Ok(b)
}

/// A GeoJSON `Polygon` or `MultiPolygon` (bare geometry, or wrapped in a `Feature`) with
/// closed rings of at least four positions, in degrees.
pub fn parse_polygon(text: &str) -> Result<Polygon, Problem> {
    let bad = |why: &str| ("polygon", why.to_owned());
    if text.chars().count() > MAX_POLYGON_CHARS {
        return Err(bad("too large"));
    }
    let value: Value = serde_json::from_str(text).map_err(|_| bad("not JSON"))?;
    let geometry = match value.get("type").and_then(Value::as_str) {
        Some("Feature") => value.get("geometry").cloned().unwrap_or(Value::Null),
        _ => value,
    };
    let kind = geometry.get("type").and_then(Value::as_str);
    let coordinates = geometry
        .get("coordinates")
        .ok_or_else(|| bad("a GeoJSON Polygon or MultiPolygon with coordinates"))?;
    let polygons: Vec<&Value> = match kind {
        Some("Polygon") => vec![coordinates],
        Some("MultiPolygon") => coordinates
            .as_array()
            .ok_or_else(|| bad("MultiPolygon coordinates must be an array"))?
            .iter()
            .collect(),
        _ => return Err(bad("a GeoJSON Polygon or MultiPolygon")),
    };
    let mut vertices = Vec::new();
    for polygon in polygons {
        let rings = polygon
            .as_array()
            .filter(|r| !r.is_empty())
            .ok_or_else(|| bad("each polygon needs at least one ring"))?;
        for ring in rings {
            let positions = ring.as_array().ok_or_else(|| bad("a ring is an array"))?;
            if positions.len() < 4 {
                return Err(bad("each ring needs at least 4 positions"));
            }
            let mut ring_vertices = Vec::with_capacity(positions.len());
            for position in positions {
                let pair = position
                    .as_array()
                    .filter(|p| p.len() >= 2)
                    .ok_or_else(|| bad("positions are [longitude, latitude]"))?;
                let (Some(lng), Some(lat)) = (pair[0].as_f64(), pair[1].as_f64()) else {
                    return Err(bad("positions are [longitude, latitude] numbers"));
                };
                check_point(lat, lng)
                    .map_err(|_| bad("positions are [longitude, latitude] in degrees"))?;
                ring_vertices.push((lng, lat));
            }
            if ring_vertices.first() != ring_vertices.last() {
                return Err(bad("each ring must end where it starts"));
            }
            vertices.extend(ring_vertices);
            if vertices.len() > MAX_POLYGON_VERTICES {
                return Err(bad(&format!("at most {MAX_POLYGON_VERTICES} positions")));
            }
        }
    }
    Ok(Polygon {
        geojson: geometry.to_string(),
        vertices,
    })
}

/// Reduces what the request gave to an origin and covering radius. `point` is the
/// requested point and radius, if any; with a box or polygon and no point, the origin is
/// the box's centre or the polygon's vertex mean.
pub fn resolve(
    point: Option<(f64, f64, Option<f64>)>,
    bbox: Option<BoundingBox>,
    polygon: Option<Polygon>,
) -> Option<Area> {
    let (latitude, longitude, radius) = match (point, &bbox, &polygon) {
        (Some((lat, lng, radius)), _, _) => (lat, lng, radius),
        (None, Some(b), _) => (
            (b.min_latitude + b.max_latitude) / 2.0,
            (b.min_longitude + b.max_longitude) / 2.0,
            None,
        ),
        (None, None, Some(p)) => {
            let n = p.vertices.len().max(1) as f64;
            let (lng, lat) = p
                .vertices
                .iter()
                .fold((0.0, 0.0), |(x, y), (lng, lat)| (x + lng, y + lat));
            (lat / n, lng / n, None)
        }
        (None, None, None) => return None,
    };
    // The farthest corner or vertex bounds the area; a point radius, when given, too.
    let mut corners: Vec<(f64, f64)> = Vec::new();
    if let Some(b) = &bbox {
        corners.extend([
            (b.min_longitude, b.min_latitude),
            (b.min_longitude, b.max_latitude),
            (b.max_longitude, b.min_latitude),
            (b.max_longitude, b.max_latitude),
        ]);
    }
    if let Some(p) = &polygon {
        corners.extend(p.vertices.iter().copied());
    }
    let farthest = corners
        .iter()
        .map(|(lng, lat)| distance_km(latitude, longitude, *lat, *lng))
        .fold(0.0_f64, f64::max);
    let covering = if corners.is_empty() {
        radius.unwrap_or(DEFAULT_RADIUS_KM)
    } else {
        // 1% and 50 m of slack: the sphere and the planar box disagree slightly at the edges.
        let area_radius = farthest * 1.01 + 0.05;
        radius.map_or(area_radius, |r| r.min(area_radius))
    };
    Some(Area {
        latitude,
        longitude,
        radius_km: covering.max(MIN_RADIUS_KM),
        bbox,
        polygon,
    })
}

impl Area {
    /// A box or polygon reaching further than [`MAX_RADIUS_KM`] from its centre is refused
    /// rather than silently cut to that radius (every query is bounded by it).
    pub fn too_wide(&self) -> Option<Problem> {
        if self.radius_km <= MAX_RADIUS_KM {
            return None;
        }
        let field = if self.polygon.is_some() {
            "polygon"
        } else {
            "bbox"
        };
        Some((
            field,
            format!(
                "reaches {:.0} km from its centre; search within {MAX_RADIUS_KM} km (about a state), not the whole country",
                self.radius_km
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const LEKKI: &str = r#"{"type":"Polygon","coordinates":[[[3.46,6.43],[3.49,6.43],[3.49,6.46],[3.46,6.46],[3.46,6.43]]]}"#;

    #[test]
    fn polygons_are_checked_before_postgis_sees_them() {
        let p = parse_polygon(LEKKI).unwrap();
        assert_eq!(p.vertices.len(), 5);
        let feature = format!(r#"{{"type":"Feature","properties":{{}},"geometry":{LEKKI}}}"#);
        assert_eq!(parse_polygon(&feature).unwrap().vertices.len(), 5);
        for bad in [
            "nope",
            r#"{"type":"Point","coordinates":[3.4,6.4]}"#,
            r#"{"type":"Polygon","coordinates":[[[3.46,6.43],[3.49,6.43],[3.46,6.43]]]}"#,
            r#"{"type":"Polygon","coordinates":[[[3.46,6.43],[3.49,6.43],[3.49,6.46],[3.46,6.47]]]}"#,
            r#"{"type":"Polygon","coordinates":[[[3.46,96.43],[3.49,6.43],[3.49,6.46],[3.46,96.43]]]}"#,
            r#"{"type":"Polygon","coordinates":[]}"#,
        ] {
            assert!(parse_polygon(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn boxes_and_polygons_get_a_centre_and_a_covering_radius() {
        let b = check_bbox(BoundingBox {
            min_longitude: 3.3,
            min_latitude: 6.4,
            max_longitude: 3.5,
            max_latitude: 6.6,
        })
        .unwrap();
        let area = resolve(None, Some(b), None).unwrap();
        assert!((area.latitude - 6.5).abs() < 1e-9 && (area.longitude - 3.4).abs() < 1e-9);
        let corner = distance_km(6.5, 3.4, 6.6, 3.5);
        assert!(area.radius_km >= corner && area.radius_km < corner * 1.05 + 0.1);

        let area = resolve(None, None, Some(parse_polygon(LEKKI).unwrap())).unwrap();
        assert!(area.radius_km > 2.0 && area.radius_km < 3.0, "{area:?}");

        let point = resolve(Some((6.5, 3.4, None)), None, None).unwrap();
        assert_eq!(point.radius_km, DEFAULT_RADIUS_KM);
        assert!(resolve(None, None, None).is_none());
        assert!(area.too_wide().is_none());
        let nigeria = BoundingBox {
            min_longitude: 2.7,
            min_latitude: 4.2,
            max_longitude: 14.7,
            max_latitude: 13.9,
        };
        let wide = resolve(None, Some(check_bbox(nigeria).unwrap()), None).unwrap();
        assert_eq!(wide.too_wide().map(|(f, _)| f), Some("bbox"));
        assert!(
            check_bbox(BoundingBox {
                min_longitude: 3.5,
                min_latitude: 6.4,
                max_longitude: 3.3,
                max_latitude: 6.6
            })
            .is_err()
        );
        assert!(check_radius(0.0).is_err() && check_radius(150.0).is_err());
    }
}
