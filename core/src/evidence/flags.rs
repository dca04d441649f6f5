//! 采集标记 — capture flags: disagreements and weaknesses found at capture, recorded in the signed
//! manifest exactly as found. A flag never changes the data it is about; a reviewer reads it beside
//! the raw values.

use serde::{Deserialize, Serialize};

/// One observation about a capture. Serialised as `{"flag": "...", ...details}` so platforms can
/// switch on a stable string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum CaptureFlag {
    /// The platform gave no location fix.
    NoLocation,
    /// The fix came from a mock location provider.
    MockedLocation,
    /// Horizontal accuracy is worse than the policy allows.
    PoorAccuracy { accuracy_m: f64, threshold_m: f64 },
    /// The fix was taken this long before (positive) or after (negative) the capture.
    StaleFix { age_secs: i64 },
    /// The fix lies outside the enterprise's registered site, this far from its boundary.
    OutsideSite { distance_m: f64 },
    /// The enterprise has no registered site position, so presence cannot be checked.
    NoRegisteredSite,
    /// A photo without EXIF (or without DateTimeOriginal): the camera's own record is missing.
    ExifMissing,
    /// EXIF fields present but unreadable (named), kept as a flag rather than guessed.
    ExifUnreadable { fields: Vec<String> },
    /// DateTimeOriginal differs from the platform's capture time by more than the tolerance.
    /// Without an EXIF offset the comparison is made in the device's local time.
    ExifTimeMismatch { delta_secs: i64, tolerance_secs: i64, offset_known: bool },
    /// The EXIF GPS position and the platform fix disagree by more than both accuracies.
    ExifPositionMismatch { distance_m: f64, allowed_m: f64 },
    /// GNSS time and the device wall clock disagree by more than the tolerance.
    ClockMismatch { delta_secs: i64, tolerance_secs: i64 },
    /// 后补 — captured after the inspection's check-out.
    BackFilled { after_checkout_secs: i64 },
}

impl CaptureFlag {
    /// The stable name used on the wire and by the platforms.
    pub fn code(&self) -> &'static str {
        match self {
            CaptureFlag::NoLocation => "no_location",
            CaptureFlag::MockedLocation => "mocked_location",
            CaptureFlag::PoorAccuracy { .. } => "poor_accuracy",
            CaptureFlag::StaleFix { .. } => "stale_fix",
            CaptureFlag::OutsideSite { .. } => "outside_site",
            CaptureFlag::NoRegisteredSite => "no_registered_site",
            CaptureFlag::ExifMissing => "exif_missing",
            CaptureFlag::ExifUnreadable { .. } => "exif_unreadable",
            CaptureFlag::ExifTimeMismatch { .. } => "exif_time_mismatch",
            CaptureFlag::ExifPositionMismatch { .. } => "exif_position_mismatch",
            CaptureFlag::ClockMismatch { .. } => "clock_mismatch",
            CaptureFlag::BackFilled { .. } => "back_filled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_tag_equals_code() {
        let flags = [
            CaptureFlag::NoLocation,
            CaptureFlag::MockedLocation,
            CaptureFlag::PoorAccuracy { accuracy_m: 80.0, threshold_m: 50.0 },
            CaptureFlag::StaleFix { age_secs: 300 },
            CaptureFlag::OutsideSite { distance_m: 600.0 },
            CaptureFlag::NoRegisteredSite,
            CaptureFlag::ExifMissing,
            CaptureFlag::ExifUnreadable { fields: vec!["gps".into()] },
            CaptureFlag::ExifTimeMismatch { delta_secs: 3600, tolerance_secs: 120, offset_known: true },
            CaptureFlag::ExifPositionMismatch { distance_m: 120.0, allowed_m: 20.0 },
            CaptureFlag::ClockMismatch { delta_secs: 90, tolerance_secs: 30 },
            CaptureFlag::BackFilled { after_checkout_secs: 7200 },
        ];
        for f in flags {
            let v = serde_json::to_value(&f).unwrap();
            assert_eq!(v["flag"], f.code());
            let back: CaptureFlag = serde_json::from_value(v).unwrap();
            assert_eq!(back, f);
        }
    }
}
