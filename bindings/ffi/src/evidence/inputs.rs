//! What the app sends in for a capture, converted to the core's request here. Times cross as
//! RFC 3339 text; a malformed one is refused with the core's own error naming the field.

use chrono::{DateTime, FixedOffset, Utc};
use fieldseal_core::evidence::{self as core, EvidenceError, IngestRequest};

use crate::EvidenceKind;

/// A capture to seal, as the platform hands it over.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CaptureRequest {
    /// A file the camera or recorder wrote to app-private storage. Removed once sealed; kept on
    /// any failure or cancellation so the capture can be retried.
    pub source_path: String,
    pub inspection_id: String,
    /// The checklist item the capture documents; sealing raises that item's evidence count.
    #[uniffi(default = None)]
    pub item_id: Option<String>,
    #[uniffi(default = None)]
    pub finding_id: Option<String>,
    pub kind: EvidenceKind,
    /// 执法人员 id of the inspector making the capture.
    pub operator: String,
    /// The platform fix at capture; `None` when there was none (flagged `NoLocation`).
    pub location: Option<LocationFix>,
    /// Device wall clock with the device's UTC offset, RFC 3339: `2025-03-18T09:30:15.250+08:00`.
    pub wall_clock: String,
    /// Milliseconds since boot (Android `elapsedRealtime`).
    pub monotonic_ms: u64,
    /// GNSS time from the fix, RFC 3339, when the receiver gave one.
    #[uniffi(default = None)]
    pub gnss_time: Option<String>,
    /// Server clock minus device clock in milliseconds, as last measured during sync.
    #[uniffi(default = None)]
    pub server_offset_ms: Option<i64>,
    /// For a derivative (a redacted or watermarked copy): the original's evidence id.
    #[uniffi(default = None)]
    pub parent_evidence_id: Option<String>,
    /// For a derivative: how it was made (`redacted`, `watermarked`). Required with a parent.
    #[uniffi(default = None)]
    pub derivation: Option<String>,
    pub app_version: String,
}

/// A WGS-84 fix as the platform reported it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LocationFix {
    pub lat: f64,
    pub lon: f64,
    #[uniffi(default = None)]
    pub altitude_m: Option<f64>,
    /// Horizontal accuracy in metres (Android: radius of 68 % confidence).
    pub accuracy_m: f64,
    /// `gps`, `network`, `fused`...
    pub provider: String,
    /// When the fix was computed, RFC 3339.
    pub fix_time: String,
    /// The platform said the position came from a mock provider.
    pub mocked: bool,
    #[uniffi(default = None)]
    pub satellites: Option<u32>,
}

fn parse_time(field: &str, text: &str) -> Result<DateTime<FixedOffset>, EvidenceError> {
    DateTime::parse_from_rfc3339(text.trim())
        .map_err(|_| EvidenceError::invalid(field, "must be an RFC 3339 time with its UTC offset"))
}

impl TryFrom<LocationFix> for core::LocationFix {
    type Error = EvidenceError;

    fn try_from(f: LocationFix) -> Result<Self, Self::Error> {
        Ok(core::LocationFix {
            lat: f.lat,
            lon: f.lon,
            altitude_m: f.altitude_m,
            accuracy_m: f.accuracy_m,
            provider: f.provider,
            fix_time: parse_time("location.fix_time", &f.fix_time)?.with_timezone(&Utc),
            mocked: f.mocked,
            satellites: f.satellites,
        })
    }
}

impl From<core::LocationFix> for LocationFix {
    fn from(f: core::LocationFix) -> Self {
        LocationFix {
            lat: f.lat,
            lon: f.lon,
            altitude_m: f.altitude_m,
            accuracy_m: f.accuracy_m,
            provider: f.provider,
            fix_time: f.fix_time.to_rfc3339(),
            mocked: f.mocked,
            satellites: f.satellites,
        }
    }
}

impl TryFrom<CaptureRequest> for IngestRequest {
    type Error = EvidenceError;

    fn try_from(r: CaptureRequest) -> Result<Self, Self::Error> {
        Ok(IngestRequest {
            source_path: r.source_path.into(),
            inspection_id: r.inspection_id,
            item_id: r.item_id,
            finding_id: r.finding_id,
            kind: r.kind.into(),
            operator: r.operator,
            location: r.location.map(TryInto::try_into).transpose()?,
            clock: core::CaptureClock {
                wall_clock: parse_time("wall_clock", &r.wall_clock)?,
                monotonic_ms: r.monotonic_ms,
                gnss_time: r
                    .gnss_time
                    .map(|t| parse_time("gnss_time", &t).map(|t| t.with_timezone(&Utc)))
                    .transpose()?,
                server_offset_ms: r.server_offset_ms,
            },
            parent: r.parent_evidence_id,
            derivation: r.derivation,
            app_version: r.app_version,
        })
    }
}
