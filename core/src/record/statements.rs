//! 签名、拒签与定稿 — the signed statements of a record, and the rules over them.
//!
//! Each statement is the payload of a [`SignedEnvelope`] signed by the device key:
//! - [`SignatureStatement`]: one person's signature over the document hash and every page hash,
//!   with the hashes of their strokes and rendered image, their role and identity, the moment
//!   (wall, monotonic, GNSS and server offset) and place (requirement 5);
//! - [`RefusalStatement`]: the party refused to sign; the reason, the inspector who noted it and a
//!   witness signature or a video evidence reference (requirement 6);
//! - [`FreezeStatement`]: the record is final: its document hash, every statement it rests on (by
//!   the SHA-256 of its envelope text) and the inspection trail head at that moment (requirement 7).
//!
//! The checks here are pure, so the device (before freezing), the bundle verifier and intake all
//! apply the very same rules.

use ring::digest;
use serde::{Deserialize, Serialize};

use super::{RecordError, content::RecordContent, layout::SignerRole, strokes::Strokes};
use crate::{
    crypto::column::hex,
    evidence::{CaptureClock, LocationFix},
    protocol::SignedEnvelope,
};

pub const SIGNATURE_TYPE: &str = "fieldseal.record_signature";
pub const REFUSAL_TYPE: &str = "fieldseal.record_refusal";
pub const FREEZE_TYPE: &str = "fieldseal.record_freeze";
pub const STATEMENT_VERSION: u32 = 1;

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

/// Who signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signer {
    pub role: SignerRole,
    pub name: String,
    /// For an inspector: the register id and 执法证号.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspector_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_no: Option<String>,
    /// For the party: their post (现场负责人职务).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureStatement {
    #[serde(rename = "type")]
    pub statement: String,
    pub v: u32,
    pub signature_id: String,
    pub record_id: String,
    pub revision: u32,
    pub document_hash: String,
    pub page_hashes: Vec<String>,
    pub signer: Signer,
    pub clock: CaptureClock,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationFix>,
    /// SHA-256 of the canonical JSON of the [`Strokes`].
    pub strokes_sha256: String,
    /// SHA-256 of the PNG rendered from them.
    pub image_sha256: String,
    pub device_key_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusalStatement {
    #[serde(rename = "type")]
    pub statement: String,
    pub v: u32,
    pub refusal_id: String,
    pub record_id: String,
    pub revision: u32,
    pub document_hash: String,
    pub page_hashes: Vec<String>,
    /// 拒签理由 as the party gave it (or "未说明理由" noted by the inspector).
    pub reason: String,
    /// The inspector who noted the refusal.
    pub noted_by: Signer,
    /// The witness's signature over the same document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness_signature_id: Option<String>,
    /// Video evidence of the refusal, sealed in the same inspection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_evidence_id: Option<String>,
    pub clock: CaptureClock,
    pub device_key_id: String,
}

/// One statement a frozen record rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrozenEntry {
    pub id: String,
    /// `signature` or `refusal`.
    pub entry: String,
    pub role: SignerRole,
    /// SHA-256 of the statement's envelope as canonical JSON text.
    pub statement_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailHead {
    pub stream: String,
    pub seq: i64,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreezeStatement {
    #[serde(rename = "type")]
    pub statement: String,
    pub v: u32,
    pub record_id: String,
    pub inspection_id: String,
    pub kind: String,
    pub revision: u32,
    pub document_hash: String,
    pub page_hashes: Vec<String>,
    pub entries: Vec<FrozenEntry>,
    /// The inspection stream's head after the freeze event.
    pub trail_head: TrailHead,
    pub frozen_at: String,
    pub device_key_id: String,
}

fn parse<T: serde::de::DeserializeOwned>(
    envelope: &SignedEnvelope,
    statement_type: &str,
) -> Result<T, RecordError> {
    if envelope.payload_type() != Some(statement_type)
        || envelope.payload_version() != Some(STATEMENT_VERSION as u64)
    {
        return Err(RecordError::invalid(
            "statement",
            format!("not a {statement_type} v{STATEMENT_VERSION}"),
        ));
    }
    serde_json::from_value(envelope.payload.clone())
        .map_err(|e| RecordError::invalid("statement", e.to_string()))
}

/// What a statement must be bound to: this record's id, document hash and page hashes.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub record_id: &'a str,
    pub document_hash: &'a str,
    pub page_hashes: &'a [String],
}

impl Binding<'_> {
    fn check(&self, record_id: &str, document_hash: &str, page_hashes: &[String]) -> Result<(), RecordError> {
        if record_id != self.record_id {
            return Err(RecordError::invalid("statement.record_id", "names another record"));
        }
        if document_hash != self.document_hash {
            return Err(RecordError::StaleHash {
                shown: document_hash.to_owned(),
                current: self.document_hash.to_owned(),
            });
        }
        if page_hashes != self.page_hashes {
            return Err(RecordError::invalid("statement.page_hashes", "do not match the record's pages"));
        }
        Ok(())
    }
}

/// Verifies a signature envelope under the device key, its binding to the record, and that the
/// strokes and image are the ones it names. Returns the statement.
pub fn verify_signature(
    envelope: &SignedEnvelope,
    public_key: &[u8],
    binding: Binding<'_>,
    strokes_json: &[u8],
    image_png: &[u8],
) -> crate::Result<SignatureStatement> {
    envelope.verify(public_key)?;
    let s: SignatureStatement = parse(envelope, SIGNATURE_TYPE)?;
    binding.check(&s.record_id, &s.document_hash, &s.page_hashes)?;
    if s.device_key_id != envelope.key_id {
        return Err(RecordError::invalid("signature.device_key_id", "differs from the signing key").into());
    }
    if sha256_hex(strokes_json) != s.strokes_sha256 {
        return Err(RecordError::invalid("signature.strokes", "the strokes are not the ones signed").into());
    }
    if sha256_hex(image_png) != s.image_sha256 {
        return Err(RecordError::invalid("signature.image", "the image is not the one signed").into());
    }
    let strokes: Strokes = serde_json::from_slice(strokes_json)
        .map_err(|e| RecordError::invalid("signature.strokes", e.to_string()))?;
    strokes.check()?;
    Ok(s)
}

/// Verifies a refusal envelope and its binding.
pub fn verify_refusal(
    envelope: &SignedEnvelope,
    public_key: &[u8],
    binding: Binding<'_>,
) -> crate::Result<RefusalStatement> {
    envelope.verify(public_key)?;
    let r: RefusalStatement = parse(envelope, REFUSAL_TYPE)?;
    binding.check(&r.record_id, &r.document_hash, &r.page_hashes)?;
    if r.device_key_id != envelope.key_id {
        return Err(RecordError::invalid("refusal.device_key_id", "differs from the signing key").into());
    }
    Ok(r)
}

/// Verifies a freeze envelope and its binding.
pub fn verify_freeze(
    envelope: &SignedEnvelope,
    public_key: &[u8],
    binding: Binding<'_>,
) -> crate::Result<FreezeStatement> {
    envelope.verify(public_key)?;
    let f: FreezeStatement = parse(envelope, FREEZE_TYPE)?;
    binding.check(&f.record_id, &f.document_hash, &f.page_hashes)?;
    if f.device_key_id != envelope.key_id {
        return Err(RecordError::invalid("freeze.device_key_id", "differs from the signing key").into());
    }
    Ok(f)
}

/// The signatures a record needs before it can be frozen (requirements 1, 5, 6): two distinct
/// inspectors of the team with their certificate numbers; the party's signature or a refusal with
/// a reason, noted by an inspector of the team, and witnessed by a witness signature among
/// `signatures` or a video among the inspection's evidence (`is_video`). All statements must
/// already be bound to the current document. Returns every unmet rule.
pub fn unmet_signature_rules(
    content: &RecordContent,
    signatures: &[SignatureStatement],
    refusals: &[RefusalStatement],
    is_video: &dyn Fn(&str) -> bool,
) -> Vec<&'static str> {
    let team = &content.header.inspectors;
    let on_team = |s: &Signer| {
        team.iter().any(|t| {
            Some(&t.id) == s.inspector_id.as_ref() && Some(&t.certificate_no) == s.certificate_no.as_ref()
        })
    };
    let mut missing = Vec::new();
    let mut inspectors: Vec<&str> = signatures
        .iter()
        .filter(|s| s.signer.role == SignerRole::Inspector && on_team(&s.signer))
        .filter_map(|s| s.signer.inspector_id.as_deref())
        .collect();
    inspectors.sort_unstable();
    inspectors.dedup();
    if inspectors.len() < 2 {
        missing.push("record.freeze.two_inspector_signatures");
    }
    if signatures.iter().any(|s| s.signer.role == SignerRole::Inspector && !on_team(&s.signer)) {
        missing.push("record.freeze.inspector_not_on_team");
    }
    let party_signed = signatures.iter().any(|s| s.signer.role == SignerRole::Party);
    if !party_signed {
        match refusals.last() {
            None => missing.push("record.freeze.party_signature_or_refusal"),
            Some(r) => {
                if r.reason.trim().is_empty() {
                    missing.push("record.freeze.refusal_reason");
                }
                if r.noted_by.role != SignerRole::Inspector || !on_team(&r.noted_by) {
                    missing.push("record.freeze.refusal_noted_by_inspector");
                }
                let witnessed = r.witness_signature_id.as_ref().is_some_and(|id| {
                    signatures.iter().any(|s| &s.signature_id == id && s.signer.role == SignerRole::Witness)
                });
                let filmed = r.video_evidence_id.as_deref().is_some_and(is_video);
                if !witnessed && !filmed {
                    missing.push("record.freeze.refusal_witness_or_video");
                }
            }
        }
    }
    missing
}
