//! 证据清单 — the evidence manifest: everything known about a capture at the moment it was sealed,
//! signed by the device key.
//!
//! It binds the content hash and size of the original bytes to the capture context (times,
//! position, flags, device, operator, inspection links, parent for derivatives) and to the code
//! that sealed it. The manifest is signed as canonical JSON (RFC 8785) in a `SignedEnvelope`;
//! changing any field, or any byte of the blob it names, fails verification.
//!
//! Format v2. Fields are only ever added in a new version; `deny_unknown_fields` makes a reader
//! refuse a manifest it does not fully understand instead of silently ignoring part of it.
//!
//! | v | what it can say |
//! |---|---|
//! | 1 | the original field set: media types JPEG, PNG, HEIC and the v1 audio/video types; EXIF GPS with both coordinates; the v1 flags |
//! | 2 | adds `movie` (container creation time, duration, location), `exif.irregular`, EXIF GPS with either coordinate missing, `image/heif` and `image/avif`, and the flags `exif_irregular`, `exif_gps_implausible`, `media_irregular`, `preview_over_budget`, `device_clock_off` |
//!
//! Ingest writes v2. Verifiers accept both, and a v1 manifest only when it uses nothing v1 could
//! not say ([`EvidenceManifest::check_format`]), so a v1 verifier and this one agree on every v1
//! manifest. Specified in docs/formats/evidence-manifest.md; vectors in core/tests/vectors.

use serde::{Deserialize, Serialize};

use super::{CaptureClock, CaptureFlag, ExifSummary, LocationFix, MediaType, isobmff::MovieSummary};
use crate::{
    checklist::EvidenceKind,
    protocol::{ProtocolError, SignedEnvelope},
};

/// The version ingest writes.
pub const MANIFEST_VERSION: u32 = 2;
/// Every version a verifier accepts (each checked by [`EvidenceManifest::check_format`]).
pub const SUPPORTED_MANIFEST_VERSIONS: [u32; 2] = [1, 2];
/// The envelope payload's `"type"` for an evidence manifest.
pub const MANIFEST_TYPE: &str = "evidence_manifest";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct EvidenceManifest {
    /// Always [`MANIFEST_TYPE`]: which statement the signed envelope carries.
    #[serde(rename = "type")]
    pub statement: String,
    /// Format version ([`MANIFEST_VERSION`]).
    pub v: u32,
    pub evidence_id: String,
    /// SHA-256 of the original bytes, lowercase hex, computed before any processing (requirement 4).
    pub sha256: String,
    pub size: u64,
    pub media_type: MediaType,
    pub kind: EvidenceKind,
    pub captured: CaptureClock,
    /// The platform fix as reported (WGS-84), never adjusted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationFix>,
    /// Metres from the registered site's boundary (0 inside), when both are known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_to_site_m: Option<f64>,
    /// EXIF as the camera wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exif: Option<ExifSummary>,
    /// What a video or audio container says about itself (creation time, duration, location).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub movie: Option<MovieSummary>,
    pub flags: Vec<CaptureFlag>,
    /// False whenever the position cannot alone prove presence on site (requirement 12).
    pub supports_presence: bool,
    /// The device signing key's id (hash of its public key).
    pub device_key_id: String,
    /// 执法人员 — the inspector who made the capture.
    pub operator: String,
    pub inspection_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    /// For a derivative (a redacted or watermarked copy): the original it was made from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentRef>,
    /// SHA-256 of the sealed thumbnail, binding the preview to this item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_sha256: Option<String>,
    pub app_version: String,
    pub core_version: String,
}

/// The original a derivative was made from, and how it was made (the law asks copies to say how,
/// when and by whom; "when" and "by whom" are the manifest's own time and operator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct ParentRef {
    pub evidence_id: String,
    pub sha256: String,
    /// `redacted`, `watermarked`, `cropped`, ... in the app's words.
    pub derivation: String,
}

impl EvidenceManifest {
    pub fn flag_codes(&self) -> Vec<&'static str> {
        self.flags.iter().map(CaptureFlag::code).collect()
    }

    /// Checks the statement type and version, and that a v1 manifest says nothing only v2 can
    /// (the table in the module documentation). Returns the reason when it does not hold.
    pub fn check_format(&self) -> Result<(), String> {
        if self.statement != MANIFEST_TYPE {
            return Err(format!("type {:?}, expected {MANIFEST_TYPE:?}", self.statement));
        }
        match self.v {
            2 => Ok(()),
            1 => match self.v2_feature() {
                Some(feature) => Err(format!("v1 manifest uses {feature}, which only v2 has")),
                None => Ok(()),
            },
            v => Err(format!("unsupported version {v} (supported: {SUPPORTED_MANIFEST_VERSIONS:?})")),
        }
    }

    /// The first thing in this manifest that format v1 cannot express, if any.
    fn v2_feature(&self) -> Option<String> {
        if self.movie.is_some() {
            return Some("movie".into());
        }
        if matches!(self.media_type, MediaType::Heif | MediaType::Avif) {
            return Some(format!("media type {}", self.media_type.mime()));
        }
        if let Some(exif) = &self.exif {
            if !exif.irregular.is_empty() {
                return Some("exif.irregular".into());
            }
            if exif.gps.as_ref().is_some_and(|g| g.lat.is_none() || g.lon.is_none()) {
                return Some("exif.gps without both coordinates".into());
            }
        }
        self.flags
            .iter()
            .find(|f| {
                matches!(
                    f,
                    CaptureFlag::ExifIrregular { .. }
                        | CaptureFlag::ExifGpsImplausible { .. }
                        | CaptureFlag::MediaIrregular { .. }
                        | CaptureFlag::PreviewOverBudget { .. }
                        | CaptureFlag::DeviceClockOff { .. }
                )
            })
            .map(|f| format!("flag {}", f.code()))
    }
}

/// Verifies an evidence manifest envelope under the device's public key (65-byte SEC1), parses it
/// with unknown fields refused, and checks its format ([`EvidenceManifest::check_format`]) and
/// that it names the key that signed it. The
/// one way a receiver (intake, a bundle verifier) reads a manifest it did not make.
pub fn open_signed(envelope: &SignedEnvelope, public_key: &[u8]) -> crate::Result<EvidenceManifest> {
    envelope.verify(public_key)?;
    let manifest: EvidenceManifest = serde_json::from_value(envelope.payload.clone())
        .map_err(|e| ProtocolError::malformed(MANIFEST_TYPE, e.to_string()))?;
    manifest.check_format().map_err(|reason| ProtocolError::malformed(MANIFEST_TYPE, reason))?;
    if manifest.device_key_id != envelope.key_id {
        return Err(ProtocolError::malformed(
            MANIFEST_TYPE,
            "names another device key than the one that signed",
        )
        .into());
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, TimeZone, Utc};

    pub(crate) fn sample() -> EvidenceManifest {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        EvidenceManifest {
            statement: MANIFEST_TYPE.into(),
            v: MANIFEST_VERSION,
            evidence_id: "0123456789abcdef0123456789abcdef".into(),
            sha256: "ab".repeat(32),
            size: 3_145_728,
            media_type: MediaType::Jpeg,
            kind: EvidenceKind::Photo,
            captured: CaptureClock {
                wall_clock: tz.with_ymd_and_hms(2024, 5, 6, 14, 30, 15).unwrap(),
                monotonic_ms: 86_400_123,
                gnss_time: Some(Utc.with_ymd_and_hms(2024, 5, 6, 6, 30, 14).unwrap()),
                server_offset_ms: Some(-350),
            },
            location: Some(LocationFix {
                lat: 30.2741,
                lon: 120.1551,
                altitude_m: Some(12.5),
                accuracy_m: 4.8,
                provider: "fused".into(),
                fix_time: Utc.with_ymd_and_hms(2024, 5, 6, 6, 30, 10).unwrap(),
                mocked: false,
                satellites: Some(17),
            }),
            distance_to_site_m: Some(0.0),
            exif: None,
            movie: None,
            flags: vec![CaptureFlag::ExifMissing],
            supports_presence: true,
            device_key_id: "k1".into(),
            operator: "inspector-1".into(),
            inspection_id: "insp-1".into(),
            item_id: Some("item-3".into()),
            finding_id: None,
            parent: None,
            thumbnail_sha256: None,
            app_version: "1.0.0".into(),
            core_version: crate::CORE_VERSION.into(),
        }
    }

    #[test]
    fn manifest_round_trips_through_canonical_json() {
        let m = sample();
        let value = serde_json::to_value(&m).unwrap();
        let text = crate::protocol::canonicalize(&value).unwrap();
        let back: EvidenceManifest = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
        assert!(text.contains(r#""media_type":"image/jpeg""#), "{text}");
        assert!(text.contains(r#""wall_clock":"2024-05-06T14:30:15+08:00""#), "{text}");
    }

    #[test]
    fn a_v1_manifest_may_carry_no_flag_that_v1_did_not_have() {
        let v2_only = [
            CaptureFlag::ExifIrregular { details: vec!["unexpected_next_ifd".into()] },
            CaptureFlag::ExifGpsImplausible { reason: "null_island".into() },
            CaptureFlag::MediaIrregular { details: vec!["jpeg_stray_bytes".into()] },
            CaptureFlag::PreviewOverBudget { needed_bytes: 1 << 30, budget_bytes: 48 << 20 },
            CaptureFlag::DeviceClockOff { offset_secs: 10_800, tolerance_secs: 300 },
        ];
        for flag in v2_only {
            let mut m = sample();
            m.flags.push(flag.clone());
            assert_eq!(m.check_format(), Ok(()), "v2 carries {}", flag.code());
            m.v = 1;
            assert!(m.check_format().is_err(), "v1 must refuse {}", flag.code());
        }
        let mut v1 = sample();
        v1.v = 1;
        assert_eq!(v1.check_format(), Ok(()), "a v1 manifest with v1 flags still verifies");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut value = serde_json::to_value(sample()).unwrap();
        value["note"] = serde_json::json!("added later");
        assert!(serde_json::from_value::<EvidenceManifest>(value).is_err());
    }
}
