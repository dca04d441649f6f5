//! The evidence read models the app gets back, each mirroring a core type.

use fieldseal_core::evidence::{self as core, IngestOutcome, VerifiedEvidence as CoreVerified};

use super::inputs::LocationFix;
use crate::{EvidenceKind, GeoPoint};

/// 采集标记 — an observation about a capture, recorded in its signed manifest exactly as found.
/// None of them changes the data; several mean the position cannot alone prove presence on site.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
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
    /// A photo without EXIF (or without DateTimeOriginal).
    ExifMissing,
    /// EXIF fields present but unreadable.
    ExifUnreadable { fields: Vec<String> },
    /// DateTimeOriginal differs from the platform's capture time by more than the tolerance.
    ExifTimeMismatch { delta_secs: i64, tolerance_secs: i64, offset_known: bool },
    /// The EXIF GPS position and the platform fix disagree by more than both accuracies.
    ExifPositionMismatch { distance_m: f64, allowed_m: f64 },
    /// GNSS time and the device wall clock disagree by more than the tolerance.
    ClockMismatch { delta_secs: i64, tolerance_secs: i64 },
    /// 后补 — captured after the inspection's check-out.
    BackFilled { after_checkout_secs: i64 },
}

/// The FFI enum mirrors the core's variant for variant; one list generates both conversions so
/// they cannot drift apart.
macro_rules! mirror_capture_flags {
    ($($variant:ident $({ $($field:ident),* })?),* $(,)?) => {
        impl From<core::CaptureFlag> for CaptureFlag {
            fn from(f: core::CaptureFlag) -> Self {
                match f { $(core::CaptureFlag::$variant $({ $($field),* })? => CaptureFlag::$variant $({ $($field),* })?,)* }
            }
        }
        impl From<CaptureFlag> for core::CaptureFlag {
            fn from(f: CaptureFlag) -> Self {
                match f { $(CaptureFlag::$variant $({ $($field),* })? => core::CaptureFlag::$variant $({ $($field),* })?,)* }
            }
        }
    };
}

mirror_capture_flags!(
    NoLocation,
    MockedLocation,
    PoorAccuracy { accuracy_m, threshold_m },
    StaleFix { age_secs },
    OutsideSite { distance_m },
    NoRegisteredSite,
    ExifMissing,
    ExifUnreadable { fields },
    ExifTimeMismatch { delta_secs, tolerance_secs, offset_known },
    ExifPositionMismatch { distance_m, allowed_m },
    ClockMismatch { delta_secs, tolerance_secs },
    BackFilled { after_checkout_secs },
);

/// A flag explained for a reviewer.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FlagMessage {
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
}

/// What a capture flag means, in Chinese and English, for the evidence screens.
#[uniffi::export]
pub fn capture_flag_message(flag: CaptureFlag) -> Result<FlagMessage, crate::FieldsealError> {
    crate::guard::guard(|| {
        let flag = core::CaptureFlag::from(flag);
        let text = flag.message();
        Ok(FlagMessage { code: flag.code().to_owned(), message_zh: text.zh, message_en: text.en })
    })
}

fn flags(flags: Vec<core::CaptureFlag>) -> Vec<CaptureFlag> {
    flags.into_iter().map(Into::into).collect()
}

/// Paths the core hands out live under the data directory the app named as a `String`, with ids
/// for file names, so they are valid UTF-8.
pub(super) fn path_text(path: std::path::PathBuf) -> String {
    path.to_string_lossy().into_owned()
}

/// What ingest sealed.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SealedEvidence {
    pub evidence_id: String,
    /// SHA-256 of the original bytes, lowercase hex.
    pub sha256: String,
    pub size: u64,
    /// MIME type found from the bytes (`image/jpeg`, `video/mp4`...).
    pub media_type: String,
    pub kind: EvidenceKind,
    pub flags: Vec<CaptureFlag>,
    /// False whenever the position cannot alone prove presence on site.
    pub supports_presence: bool,
    pub has_thumbnail: bool,
    /// True when this exact capture had been sealed before (a retry): nothing new was stored.
    pub already_sealed: bool,
    /// Whether the plaintext source was removed.
    pub source_removed: bool,
}

impl From<IngestOutcome> for SealedEvidence {
    fn from(o: IngestOutcome) -> Self {
        let m = o.manifest;
        SealedEvidence {
            evidence_id: o.evidence_id,
            sha256: m.sha256,
            size: m.size,
            media_type: m.media_type.mime().to_owned(),
            kind: m.kind.into(),
            flags: flags(m.flags),
            supports_presence: m.supports_presence,
            has_thumbnail: o.has_thumbnail,
            already_sealed: o.already_sealed,
            source_removed: o.source_removed,
        }
    }
}

/// One row of an inspection's evidence list.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct EvidenceSummary {
    pub evidence_id: String,
    pub item_id: Option<String>,
    pub finding_id: Option<String>,
    pub parent_id: Option<String>,
    pub kind: EvidenceKind,
    pub media_type: String,
    pub size: u64,
    /// Device wall clock at capture, RFC 3339 with the device's offset.
    pub captured_at: String,
    pub flags: Vec<CaptureFlag>,
    pub supports_presence: bool,
    /// The thumbnail decrypted for display (checked against its signed hash); `None` when the item
    /// has none (video, audio). Release it with `release_view` or `clear_views`.
    pub thumbnail_path: Option<String>,
}

impl From<core::EvidenceListItem> for EvidenceSummary {
    fn from(i: core::EvidenceListItem) -> Self {
        EvidenceSummary {
            evidence_id: i.evidence_id,
            item_id: i.item_id,
            finding_id: i.finding_id,
            parent_id: i.parent_id,
            kind: i.kind.into(),
            media_type: i.media_type.mime().to_owned(),
            size: i.size,
            captured_at: i.captured_at,
            flags: flags(i.flags),
            supports_presence: i.supports_presence,
            thumbnail_path: i.thumbnail_path.map(path_text),
        }
    }
}

/// GPS as the camera wrote it into EXIF.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ExifGps {
    /// Decimal degrees, south negative.
    pub lat: f64,
    /// Decimal degrees, west negative.
    pub lon: f64,
    pub altitude_m: Option<f64>,
    pub h_positioning_error_m: Option<f64>,
    /// GPSDateStamp + GPSTimeStamp (UTC), RFC 3339.
    pub time_utc: Option<String>,
}

/// EXIF as the camera wrote it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ExifInfo {
    /// DateTimeOriginal as local wall time without an offset: `2025-03-18T09:30:15`.
    pub date_time_original: Option<String>,
    /// OffsetTimeOriginal in minutes east of UTC.
    pub offset_minutes: Option<i32>,
    pub make: Option<String>,
    pub model: Option<String>,
    /// TIFF orientation 1..=8 (1 = upright).
    pub orientation: Option<u8>,
    pub gps: Option<ExifGps>,
    pub has_thumbnail: bool,
    /// Fields present but unreadable: recorded, not repaired.
    pub unreadable: Vec<String>,
}

impl From<core::ExifSummary> for ExifInfo {
    fn from(e: core::ExifSummary) -> Self {
        ExifInfo {
            date_time_original: e.date_time_original.map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string()),
            offset_minutes: e.offset_minutes,
            make: e.make,
            model: e.model,
            orientation: e.orientation,
            gps: e.gps.map(|g| ExifGps {
                lat: g.lat,
                lon: g.lon,
                altitude_m: g.altitude_m,
                h_positioning_error_m: g.h_positioning_error_m,
                time_utc: g.time_utc.map(|t| t.to_rfc3339()),
            }),
            has_thumbnail: e.has_thumbnail,
            unreadable: e.unreadable,
        }
    }
}

/// The original a derivative was made from.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ParentRef {
    pub evidence_id: String,
    pub sha256: String,
    pub derivation: String,
}

/// Everything known about one item, for its detail screen. Read from the signed manifest; call
/// `verify` to check it against the blob and the device key.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct EvidenceDetail {
    pub summary: EvidenceSummary,
    pub sha256: String,
    pub inspection_id: String,
    /// 执法人员 who made the capture.
    pub operator: String,
    /// The id of the device key that signed the manifest.
    pub device_key_id: String,
    /// Device wall clock, RFC 3339 with the device's offset.
    pub wall_clock: String,
    pub monotonic_ms: u64,
    pub gnss_time: Option<String>,
    pub server_offset_ms: Option<i64>,
    /// The platform fix as reported (WGS-84), never adjusted.
    pub location: Option<LocationFix>,
    /// The same fix in GCJ-02, for drawing on Chinese maps only.
    pub map_position_gcj02: Option<GeoPoint>,
    /// Metres from the registered site's boundary (0 inside), when both are known.
    pub distance_to_site_m: Option<f64>,
    pub exif: Option<ExifInfo>,
    pub parent: Option<ParentRef>,
    pub has_thumbnail: bool,
    pub app_version: String,
    pub core_version: String,
    /// The signed manifest envelope as stored (canonical JSON), for export.
    pub envelope_json: String,
}

impl From<core::EvidenceDetail> for EvidenceDetail {
    fn from(d: core::EvidenceDetail) -> Self {
        let m = d.manifest;
        EvidenceDetail {
            summary: d.item.into(),
            sha256: m.sha256,
            inspection_id: m.inspection_id,
            operator: m.operator,
            device_key_id: m.device_key_id,
            wall_clock: m.captured.wall_clock.to_rfc3339(),
            monotonic_ms: m.captured.monotonic_ms,
            gnss_time: m.captured.gnss_time.map(|t| t.to_rfc3339()),
            server_offset_ms: m.captured.server_offset_ms,
            location: m.location.map(Into::into),
            map_position_gcj02: d.map_position_gcj02.map(|p| GeoPoint { lat: p.lat, lon: p.lon }),
            distance_to_site_m: m.distance_to_site_m,
            exif: m.exif.map(Into::into),
            parent: m.parent.map(|p| ParentRef {
                evidence_id: p.evidence_id,
                sha256: p.sha256,
                derivation: p.derivation,
            }),
            has_thumbnail: m.thumbnail_sha256.is_some(),
            app_version: m.app_version,
            core_version: m.core_version,
            envelope_json: d.envelope_json,
        }
    }
}

/// An item whose blob, thumbnail and signed manifest all checked out against the device key.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VerifiedEvidence {
    pub evidence_id: String,
    pub sha256: String,
    pub size: u64,
    pub device_key_id: String,
}

impl From<CoreVerified> for VerifiedEvidence {
    fn from(v: CoreVerified) -> Self {
        VerifiedEvidence {
            evidence_id: v.evidence_id,
            sha256: v.manifest.sha256,
            size: v.manifest.size,
            device_key_id: v.manifest.device_key_id,
        }
    }
}
