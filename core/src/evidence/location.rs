//! Where a capture was made, and how far to trust it.
//!
//! Positions are stored as the platform reported them (WGS-84). Checks produce flags — outside the
//! enterprise's registered site, poor accuracy, mocked, stale fix — that are recorded with the
//! capture and never used to alter the position (requirement 12: such a capture cannot alone prove
//! presence on site). GCJ-02 (the "Mars" datum Chinese maps use) is computed for display only.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CaptureFlag, EvidenceError};
pub use crate::model::geo::{GeoPoint, Site};

/// The platform's location fix at capture (Android `Location`, iOS `CLLocation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LocationFix {
    pub lat: f64,
    pub lon: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub altitude_m: Option<f64>,
    /// Horizontal accuracy in metres (Android: radius of 68 % confidence).
    pub accuracy_m: f64,
    /// `gps`, `network`, `fused`, ... as the platform names it.
    pub provider: String,
    /// When the fix was computed, which can be long before the capture.
    pub fix_time: DateTime<Utc>,
    /// The platform said the position came from a mock provider.
    pub mocked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub satellites: Option<u32>,
}

impl LocationFix {
    pub fn point(&self) -> GeoPoint {
        GeoPoint::new(self.lat, self.lon)
    }

    /// Rejects values no platform produces, so a manifest never holds NaN or 200° latitude.
    pub fn validate(&self) -> Result<(), EvidenceError> {
        if !self.point().is_valid() {
            return Err(EvidenceError::invalid("location", "latitude/longitude out of range"));
        }
        if !self.accuracy_m.is_finite() || self.accuracy_m < 0.0 {
            return Err(EvidenceError::invalid("location.accuracy_m", "must be a non-negative number"));
        }
        if self.altitude_m.is_some_and(|a| !a.is_finite()) {
            return Err(EvidenceError::invalid("location.altitude_m", "must be a number"));
        }
        if self.provider.chars().count() > 32 || self.provider.chars().any(char::is_control) {
            return Err(EvidenceError::invalid("location.provider", "at most 32 printable characters"));
        }
        Ok(())
    }
}

/// Thresholds for the location flags; a province may tune them (practice).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocationPolicy {
    /// Accuracy worse (larger) than this is flagged.
    pub poor_accuracy_m: f64,
    /// A fix older (or newer) than this relative to the capture is flagged stale.
    pub stale_fix_secs: i64,
}

impl Default for LocationPolicy {
    fn default() -> Self {
        Self { poor_accuracy_m: 50.0, stale_fix_secs: 120 }
    }
}

/// The location checks' result, stored in the manifest beside the raw fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationAssessment {
    /// Metres from the registered site's boundary (0 inside), when both are known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_to_site_m: Option<f64>,
    /// True only for a fresh, accurate, unmocked fix inside the site: the capture may then serve as
    /// evidence of presence. Everything else needs corroboration (requirement 12).
    pub supports_presence: bool,
    pub flags: Vec<CaptureFlag>,
}

/// Checks a fix against the site and the capture time.
pub fn assess(
    fix: Option<&LocationFix>,
    site: Option<&Site>,
    capture_time: DateTime<Utc>,
    policy: &LocationPolicy,
) -> LocationAssessment {
    let Some(fix) = fix else {
        return LocationAssessment {
            distance_to_site_m: None,
            supports_presence: false,
            flags: vec![CaptureFlag::NoLocation],
        };
    };
    let mut flags = Vec::new();
    if fix.mocked {
        flags.push(CaptureFlag::MockedLocation);
    }
    if fix.accuracy_m > policy.poor_accuracy_m {
        flags.push(CaptureFlag::PoorAccuracy {
            accuracy_m: fix.accuracy_m,
            threshold_m: policy.poor_accuracy_m,
        });
    }
    let age_secs = (capture_time - fix.fix_time).num_seconds();
    if age_secs.abs() > policy.stale_fix_secs {
        flags.push(CaptureFlag::StaleFix { age_secs });
    }
    let point = fix.point();
    let distance_to_site_m = site.map(|s| s.distance_m(&point));
    match site {
        Some(site) if !site.contains(&point) => {
            flags.push(CaptureFlag::OutsideSite { distance_m: round_dm(site.distance_m(&point)) })
        }
        Some(_) => {}
        None => flags.push(CaptureFlag::NoRegisteredSite),
    }
    let supports_presence = flags.is_empty();
    LocationAssessment { distance_to_site_m: distance_to_site_m.map(round_dm), supports_presence, flags }
}

/// Compares the camera's EXIF position with the platform fix: a gap larger than both accuracies
/// together means they disagree about where the photo was taken.
pub fn exif_position_check(
    exif: GeoPoint,
    exif_error_m: Option<f64>,
    fix: &LocationFix,
) -> Option<CaptureFlag> {
    let distance_m = exif.distance_m(&fix.point());
    let allowed_m = fix.accuracy_m + exif_error_m.filter(|e| e.is_finite() && *e > 0.0).unwrap_or(0.0);
    (distance_m > allowed_m)
        .then(|| CaptureFlag::ExifPositionMismatch { distance_m: round_dm(distance_m), allowed_m })
}

/// Decimetre precision is plenty for a distance and keeps manifests stable across platforms.
fn round_dm(m: f64) -> f64 {
    (m * 10.0).round() / 10.0
}

// GCJ-02: the public reconstruction of the national obfuscation (Krasovsky 1940 ellipsoid).
const GCJ_A: f64 = 6_378_245.0;
/// The published constant is 0.00669342162296594323; f64 holds it to the digits below.
const GCJ_EE: f64 = 0.006_693_421_622_965_943;

/// Whether a point lies outside the rectangle where GCJ-02 applies. The rectangle is coarse (it
/// includes some neighbouring countries), matching the reference implementations maps agree with.
pub fn outside_china(p: GeoPoint) -> bool {
    p.lon < 72.004 || p.lon > 137.8347 || p.lat < 0.8293 || p.lat > 55.8271
}

/// WGS-84 → GCJ-02, for drawing on Chinese maps only; unchanged outside China.
pub fn wgs84_to_gcj02(p: GeoPoint) -> GeoPoint {
    if outside_china(p) {
        return p;
    }
    let (dlat, dlon) = gcj_delta(p);
    GeoPoint::new(p.lat + dlat, p.lon + dlon)
}

/// GCJ-02 → WGS-84 by fixed-point iteration (the forward map is smooth and its offset varies
/// slowly, so a few rounds reach micro-degree agreement). Used to test the forward map.
pub fn gcj02_to_wgs84(g: GeoPoint) -> GeoPoint {
    if outside_china(g) {
        return g;
    }
    let mut w = g;
    for _ in 0..30 {
        let f = wgs84_to_gcj02(w);
        let (elat, elon) = (f.lat - g.lat, f.lon - g.lon);
        w = GeoPoint::new(w.lat - elat, w.lon - elon);
        if elat.abs() < 1e-12 && elon.abs() < 1e-12 {
            break;
        }
    }
    w
}

fn gcj_delta(p: GeoPoint) -> (f64, f64) {
    use std::f64::consts::PI;
    let (x, y) = (p.lon - 105.0, p.lat - 35.0);
    let mut dlat = transform_lat(x, y);
    let mut dlon = transform_lon(x, y);
    let rad_lat = p.lat / 180.0 * PI;
    let magic = 1.0 - GCJ_EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    dlat = (dlat * 180.0) / ((GCJ_A * (1.0 - GCJ_EE)) / (magic * sqrt_magic) * PI);
    dlon = (dlon * 180.0) / (GCJ_A / sqrt_magic * rad_lat.cos() * PI);
    (dlat, dlon)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn transform_lon(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    /// WGS-84 → GCJ-02 pairs published with the widely used open reconstruction (eviltransform's
    /// test suites in several languages carry these same three points).
    const REFERENCE: [(f64, f64, f64, f64); 3] = [
        (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215), // Shanghai
        (22.543847, 113.912316, 22.540796131694766, 113.9171764808363), // Shenzhen
        (39.911954, 116.377817, 39.91334545536069, 116.38404722455657), // Beijing
    ];

    #[test]
    fn gcj02_matches_published_reference_pairs() {
        for (wlat, wlon, glat, glon) in REFERENCE {
            let g = wgs84_to_gcj02(GeoPoint::new(wlat, wlon));
            assert!((g.lat - glat).abs() < 1e-9, "lat {} vs {glat}", g.lat);
            assert!((g.lon - glon).abs() < 1e-9, "lon {} vs {glon}", g.lon);
        }
    }

    #[test]
    fn gcj02_leaves_points_outside_china_unchanged() {
        for p in [(35.681236, 139.767125), (51.5007, -0.1246), (-33.8568, 151.2153), (-22.9068, -43.1729)] {
            let p = GeoPoint::new(p.0, p.1);
            assert_eq!(wgs84_to_gcj02(p), p);
        }
    }

    fn fix(lat: f64, lon: f64, accuracy_m: f64, mocked: bool, at: DateTime<Utc>) -> LocationFix {
        LocationFix {
            lat,
            lon,
            altitude_m: None,
            accuracy_m,
            provider: "gps".into(),
            fix_time: at,
            mocked,
            satellites: Some(12),
        }
    }

    #[test]
    fn only_a_fresh_accurate_real_fix_inside_the_site_supports_presence() {
        let t = Utc.with_ymd_and_hms(2024, 5, 6, 6, 30, 0).unwrap();
        let site = Site::Radius { center: GeoPoint::new(30.0, 120.0), radius_m: 300.0 };
        let policy = LocationPolicy::default();
        let good = assess(Some(&fix(30.001, 120.0, 8.0, false, t)), Some(&site), t, &policy);
        assert!(good.supports_presence, "{good:?}");
        assert_eq!(good.distance_to_site_m, Some(0.0));

        let mocked = assess(Some(&fix(30.001, 120.0, 8.0, true, t)), Some(&site), t, &policy);
        assert!(!mocked.supports_presence);
        assert_eq!(mocked.flags, vec![CaptureFlag::MockedLocation]);

        let poor = assess(Some(&fix(30.001, 120.0, 65.0, false, t)), Some(&site), t, &policy);
        assert!(!poor.supports_presence);
        assert!(matches!(poor.flags[..], [CaptureFlag::PoorAccuracy { .. }]));

        let far = assess(Some(&fix(30.01, 120.0, 8.0, false, t)), Some(&site), t, &policy);
        assert!(matches!(far.flags[..], [CaptureFlag::OutsideSite { .. }]));

        let old = t - chrono::Duration::minutes(10);
        let stale = assess(Some(&fix(30.001, 120.0, 8.0, false, old)), Some(&site), t, &policy);
        assert_eq!(stale.flags, vec![CaptureFlag::StaleFix { age_secs: 600 }]);

        let none = assess(None, Some(&site), t, &policy);
        assert_eq!(none.flags, vec![CaptureFlag::NoLocation]);
        assert!(!none.supports_presence);
    }

    #[test]
    fn exif_position_within_accuracy_is_not_flagged() {
        let t = Utc.with_ymd_and_hms(2024, 5, 6, 6, 30, 0).unwrap();
        let f = fix(30.0, 120.0, 20.0, false, t);
        assert_eq!(exif_position_check(GeoPoint::new(30.0001, 120.0), Some(5.0), &f), None);
        let far = exif_position_check(GeoPoint::new(30.001, 120.0), Some(5.0), &f);
        assert!(
            matches!(far, Some(CaptureFlag::ExifPositionMismatch { allowed_m, .. }) if allowed_m == 25.0)
        );
    }

    proptest! {
        #[test]
        fn gcj02_offset_inside_china_is_a_few_hundred_metres_and_invertible(
            lat in 18.0f64..53.0, lon in 75.0f64..134.0
        ) {
            let w = GeoPoint::new(lat, lon);
            let g = wgs84_to_gcj02(w);
            let shift = w.distance_m(&g);
            prop_assert!(shift > 1.0 && shift < 1_000.0, "shift {shift} m");
            let back = gcj02_to_wgs84(g);
            prop_assert!(back.distance_m(&w) < 0.01, "round trip off by {} m", back.distance_m(&w));
        }
    }
}
