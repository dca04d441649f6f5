//! 证据包格式 — the member list and device key of a bundle (format v1, `docs/formats/bundle.md`).
//!
//! ```text
//! bundle.json                               SignedEnvelope of the BundleManifest (member list)
//! device-key.json                           the device public key the envelopes verify under
//! records/<id>/document.json                RecordDocument (content + pages), canonical JSON
//! records/<id>/freeze.json                  SignedEnvelope of the FreezeStatement
//! records/<id>/record.pdf                   the PDF view of the pages (not signed; hash listed)
//! records/<id>/entries/<entry>.json         SignedEnvelope of a signature or refusal
//! records/<id>/entries/<entry>.strokes.json the signature's strokes, canonical JSON
//! records/<id>/entries/<entry>.png          the image rendered from them
//! evidence/<id>/manifest.json               SignedEnvelope of the evidence manifest
//! evidence/<id>/original.<ext>              the original bytes, exactly as hashed at capture
//! trail/inspection.json                     the inspection's trail entries, with their salts
//! ```
//!
//! The member list names every other member with its size and SHA-256, so a missing, extra,
//! renamed or altered member is found and named; it is itself signed by the device key.

use serde::{Deserialize, Serialize};

use crate::{
    crypto::signer::key_id,
    evidence::MediaType,
    protocol::{ProtocolError, base64url},
};

pub const BUNDLE_TYPE: &str = "fieldseal.bundle";
pub const DEVICE_KEY_TYPE: &str = "fieldseal.device_key";
pub const BUNDLE_VERSION: u32 = 1;

pub const MANIFEST_PATH: &str = "bundle.json";
pub const DEVICE_KEY_PATH: &str = "device-key.json";
pub const TRAIL_PATH: &str = "trail/inspection.json";
/// The signed heads (trail anchors) of the inspection's stream, in counter order.
pub const ANCHORS_PATH: &str = "trail/anchors.json";

pub fn document_path(record_id: &str) -> String {
    format!("records/{record_id}/document.json")
}
pub fn freeze_path(record_id: &str) -> String {
    format!("records/{record_id}/freeze.json")
}
pub fn pdf_path(record_id: &str) -> String {
    format!("records/{record_id}/record.pdf")
}
pub fn entry_path(record_id: &str, entry_id: &str) -> String {
    format!("records/{record_id}/entries/{entry_id}.json")
}
pub fn strokes_path(record_id: &str, entry_id: &str) -> String {
    format!("records/{record_id}/entries/{entry_id}.strokes.json")
}
pub fn image_path(record_id: &str, entry_id: &str) -> String {
    format!("records/{record_id}/entries/{entry_id}.png")
}
pub fn evidence_manifest_path(evidence_id: &str) -> String {
    format!("evidence/{evidence_id}/manifest.json")
}
/// The original's member, named by its media type (`original.heic`, `original.avif`, …); a media
/// type this version does not know (none is sealed) is `original.bin`.
pub fn original_path(evidence_id: &str, media_type: &str) -> String {
    let ext = MediaType::from_mime(media_type).map_or("bin", MediaType::extension);
    format!("evidence/{evidence_id}/original.{ext}")
}

/// One member: path, size and SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// Which font and renderer made the PDF, so a reviewer can reproduce the view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfProvenance {
    pub renderer: String,
    pub font_family: String,
    pub font_file: String,
    pub font_sha256: String,
    pub standard: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    #[serde(rename = "type")]
    pub statement: String,
    pub v: u32,
    pub inspection_id: String,
    pub record_id: String,
    /// Frozen addenda of the record, oldest first.
    pub addenda: Vec<String>,
    pub device_key_id: String,
    pub created_at: String,
    pub core_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdf: Option<PdfProvenance>,
    /// Every member except `bundle.json` itself, sorted by path.
    pub members: Vec<MemberEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceKey {
    #[serde(rename = "type")]
    pub statement: String,
    pub v: u32,
    pub alg: String,
    pub key_id: String,
    /// Base64url (no padding) of the 65-byte uncompressed SEC1 P-256 public key.
    pub public_key: String,
}

impl DeviceKey {
    pub fn new(public_key: &[u8]) -> crate::Result<Self> {
        Ok(Self {
            statement: DEVICE_KEY_TYPE.into(),
            v: BUNDLE_VERSION,
            alg: "ES256".into(),
            key_id: key_id(public_key)?,
            public_key: base64url::encode(public_key),
        })
    }

    /// The public key bytes, checked against `key_id`.
    pub fn public_key(&self) -> crate::Result<Vec<u8>> {
        let key = base64url::decode(&self.public_key)
            .map_err(|reason| ProtocolError::BadBase64 { what: "device public key", reason })?;
        let expected = key_id(&key)?;
        if expected != self.key_id {
            return Err(ProtocolError::KeyIdMismatch { expected, found: self.key_id.clone() }.into());
        }
        Ok(key)
    }
}
