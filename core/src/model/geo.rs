//! Positions on the ground: WGS-84 points and an enterprise's site (radius or polygon).
//!
//! Coordinates are kept exactly as GNSS reports them (WGS-84); conversion to GCJ-02 is a map-display
//! concern of the apps. Distances use the haversine formula, which is accurate to well under a metre
//! at the scale of a factory site.

use serde::{Deserialize, Serialize};

const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A WGS-84 position in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Self {
        Self { lat, lon }
    }

    /// True when both coordinates are finite and within their ranges.
    pub fn is_valid(&self) -> bool {
        self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
    }

    /// Great-circle distance in metres.
    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().asin()
    }
}

/// 厂界 — the registered site: a centre with a radius, or a boundary polygon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum Site {
    Radius { center: GeoPoint, radius_m: f64 },
    Polygon { points: Vec<GeoPoint> },
}

impl Site {
    /// A rule the site breaks, if any (`site.radius`, `site.polygon`, `site.coordinates`).
    pub fn problem(&self) -> Option<&'static str> {
        match self {
            Site::Radius { center, radius_m } => {
                if !center.is_valid() {
                    Some("site.coordinates")
                } else if !(radius_m.is_finite() && *radius_m > 0.0) {
                    Some("site.radius")
                } else {
                    None
                }
            }
            Site::Polygon { points } => {
                if points.len() < 3 {
                    Some("site.polygon")
                } else if !points.iter().all(GeoPoint::is_valid) {
                    Some("site.coordinates")
                } else {
                    None
                }
            }
        }
    }

    /// Whether `p` lies on the site. Polygons use the even-odd rule on a local plane, fine for sites
    /// of a few kilometres away from the poles and the antimeridian (all of China).
    pub fn contains(&self, p: &GeoPoint) -> bool {
        match self {
            Site::Radius { center, radius_m } => center.distance_m(p) <= *radius_m,
            Site::Polygon { points } => {
                let mut inside = false;
                let mut j = points.len().wrapping_sub(1);
                for i in 0..points.len() {
                    let (a, b) = (points[i], points[j]);
                    if (a.lat > p.lat) != (b.lat > p.lat)
                        && p.lon < (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon
                    {
                        inside = !inside;
                    }
                    j = i;
                }
                inside
            }
        }
    }

    /// Distance from `p` to the site: 0 inside, otherwise to the circle or the nearest vertex
    /// (an overestimate for polygons with long edges, which only makes the flag more cautious).
    pub fn distance_m(&self, p: &GeoPoint) -> f64 {
        if self.contains(p) {
            return 0.0;
        }
        match self {
            Site::Radius { center, radius_m } => center.distance_m(p) - radius_m,
            Site::Polygon { points } => points.iter().map(|q| q.distance_m(p)).fold(f64::INFINITY, f64::min),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_degree_of_latitude_is_about_111_km() {
        let d = GeoPoint::new(30.0, 120.0).distance_m(&GeoPoint::new(31.0, 120.0));
        assert!((d - 111_195.0).abs() < 100.0, "{d}");
    }

    #[test]
    fn polygon_contains_its_inside_only() {
        let sq = Site::Polygon {
            points: vec![
                GeoPoint::new(30.0, 120.0),
                GeoPoint::new(30.0, 120.01),
                GeoPoint::new(30.01, 120.01),
                GeoPoint::new(30.01, 120.0),
            ],
        };
        assert!(sq.contains(&GeoPoint::new(30.005, 120.005)));
        assert!(!sq.contains(&GeoPoint::new(30.02, 120.005)));
        assert!(sq.distance_m(&GeoPoint::new(30.02, 120.005)) > 1000.0);
    }

    #[test]
    fn radius_site_checks_distance() {
        let s = Site::Radius { center: GeoPoint::new(30.0, 120.0), radius_m: 500.0 };
        assert!(s.contains(&GeoPoint::new(30.003, 120.0)));
        assert!(!s.contains(&GeoPoint::new(30.006, 120.0)));
        assert_eq!(s.problem(), None);
        assert_eq!(
            Site::Radius { center: GeoPoint::new(95.0, 0.0), radius_m: 1.0 }.problem(),
            Some("site.coordinates")
        );
    }
}
