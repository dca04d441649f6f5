//! Signed statements a device submits — evidence manifests, on-site records, trail heads — verified
//! on arrival, stored once, answered with a signed receipt.
//!
//! Idempotent by id and content hash: the same statement again returns the receipt issued the
//! first time; the same id with other content is refused and the first is kept.

use std::sync::Arc;

use fieldseal_core::{
    evidence::{EvidenceManifest, manifest},
    protocol::{
        SignedEnvelope,
        receipt::{RECEIPT_TYPE, RECEIPT_VERSION, Receipt, ReceiptKind},
        statement::{self, is_sha256_hex, statement_sha256},
    },
    record::statements::{FREEZE_TYPE, FreezeStatement, STATEMENT_VERSION as RECORD_STATEMENT_VERSION},
};

use super::Intake;
use crate::{
    error::{IntakeError, Result},
    ids,
    store::{Device, StatementRow},
};

/// What intake learned from a verified record or trail head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedStatement {
    pub object_id: String,
    pub inspection_id: Option<String>,
}

/// Verification of on-site records and trail heads beyond the device signature.
///
/// Intake calls it after the envelope's signature has verified under the enrolled device key. The
/// record format (pages, page hashes, party and inspector signatures, the trail chain) belongs to
/// `fieldseal_core::record` / `verify`; when those land, an implementation calling them replaces
/// [`SignatureOnlyRecordCheck`] through [`Intake::records`] without touching the service.
pub trait RecordCheck: Send + Sync + 'static {
    fn check(&self, kind: ReceiptKind, envelope: &SignedEnvelope) -> Result<CheckedStatement>;
}

/// What can be checked today beyond the device signature. A record arrives as its freeze statement
/// (`fieldseal.record_freeze`, core's `record::statements`): it is parsed strictly and its
/// `device_key_id` must be the signing key. Its document and page hashes can only be recomputed
/// with the record's content, which the sync client does not send yet; when it does, a check that
/// calls `record::statements::verify_freeze` with the document's binding replaces this one.
/// Other record and trail-head statements must name their id.
pub struct SignatureOnlyRecordCheck;

impl RecordCheck for SignatureOnlyRecordCheck {
    fn check(&self, kind: ReceiptKind, envelope: &SignedEnvelope) -> Result<CheckedStatement> {
        if kind == ReceiptKind::Record && envelope.payload_type() == Some(FREEZE_TYPE) {
            let freeze: FreezeStatement =
                statement::read_unverified(envelope, FREEZE_TYPE, u64::from(RECORD_STATEMENT_VERSION))?;
            if freeze.device_key_id != envelope.key_id {
                return Err(IntakeError::forbidden(
                    "statement.foreign_key",
                    "freeze names another device key",
                ));
            }
            if !valid_id(&freeze.record_id) {
                return Err(IntakeError::bad_request("statement.malformed", "record_id empty or too long"));
            }
            return Ok(CheckedStatement {
                object_id: freeze.record_id,
                inspection_id: Some(freeze.inspection_id),
            });
        }
        let (id_member, types): (&str, &[&str]) = match kind {
            ReceiptKind::Record => ("record_id", &["record", "onsite_record"]),
            ReceiptKind::TrailHead => ("trail_id", &["trail_head"]),
            ReceiptKind::Evidence => return Err(IntakeError::internal("evidence is not a record")),
        };
        if !envelope.payload_type().is_some_and(|t| types.contains(&t)) {
            return Err(IntakeError::bad_request(
                "statement.malformed",
                format!("payload type must be one of {types:?}"),
            ));
        }
        let text = |member: &str| envelope.payload.get(member).and_then(|v| v.as_str()).map(str::to_owned);
        let object_id = text(id_member).filter(|id| valid_id(id)).ok_or_else(|| {
            IntakeError::bad_request("statement.malformed", format!("payload needs a {id_member}"))
        })?;
        Ok(CheckedStatement { object_id, inspection_id: text("inspection_id") })
    }
}

/// Ids are opaque, but bounded and printable, so they can be logged and indexed safely.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.chars().all(|c| !c.is_control())
}

impl Intake {
    /// An evidence manifest: signed by this device's key, naming a blob intake holds, with the same
    /// size.
    pub async fn submit_evidence(&self, device: &Device, envelope: &SignedEnvelope) -> Result<StatementRow> {
        // Every supported manifest version (v1 from older terminals, v2), each held to what it can say.
        let manifest: EvidenceManifest = manifest::open_signed(envelope, &device.public_key)?;
        if manifest.device_key_id != device.key_id {
            return Err(IntakeError::forbidden("statement.foreign_key", "manifest names another device key"));
        }
        if !valid_id(&manifest.evidence_id) {
            return Err(IntakeError::bad_request(
                "statement.malformed",
                "evidence_id empty, too long or unprintable",
            ));
        }
        if !is_sha256_hex(&manifest.sha256) {
            return Err(IntakeError::bad_request(
                "evidence.bad_hash",
                "manifest sha256 is not lowercase hex",
            ));
        }
        let blob = self.meta.blob(&manifest.sha256).await?.ok_or_else(|| {
            IntakeError::conflict("evidence.blob_missing", "no blob with the manifest's sha256")
        })?;
        if blob.size != manifest.size {
            return Err(IntakeError::unprocessable(
                "evidence.size_mismatch",
                format!("manifest size {} but blob size {}", manifest.size, blob.size),
            ));
        }
        let checked = CheckedStatement {
            object_id: manifest.evidence_id.clone(),
            inspection_id: Some(manifest.inspection_id),
        };
        self.store_statement(device, envelope, ReceiptKind::Evidence, checked, Some(manifest.sha256)).await
    }

    /// A signed on-site record or trail head.
    pub async fn submit_record(
        &self,
        device: &Device,
        kind: ReceiptKind,
        envelope: &SignedEnvelope,
    ) -> Result<StatementRow> {
        if envelope.key_id != device.key_id {
            return Err(IntakeError::forbidden("statement.foreign_key", "signed by another key"));
        }
        envelope.verify(&device.public_key)?;
        let records: Arc<dyn RecordCheck> = self.records.clone();
        let checked = records.check(kind, envelope)?;
        self.store_statement(device, envelope, kind, checked, None).await
    }

    async fn store_statement(
        &self,
        device: &Device,
        envelope: &SignedEnvelope,
        kind: ReceiptKind,
        checked: CheckedStatement,
        blob_sha256: Option<String>,
    ) -> Result<StatementRow> {
        let statement_hash = statement_sha256(envelope).map_err(IntakeError::internal)?;
        let now = self.clock.now();
        let receipt = Receipt {
            statement: RECEIPT_TYPE.to_owned(),
            v: RECEIPT_VERSION,
            receipt_id: ids::random_hex(16),
            kind,
            object_id: checked.object_id.clone(),
            sha256: blob_sha256.clone().unwrap_or_else(|| statement_hash.clone()),
            statement_sha256: statement_hash.clone(),
            device_id: device.device_id.clone(),
            device_key_id: device.key_id.clone(),
            received_at: now,
        };
        let receipt = SignedEnvelope::seal(
            &serde_json::to_value(&receipt).map_err(IntakeError::internal)?,
            self.key.as_ref(),
        )
        .map_err(IntakeError::internal)?;
        let row = StatementRow {
            kind,
            object_id: checked.object_id,
            statement_sha256: statement_hash,
            blob_sha256,
            device_id: device.device_id.clone(),
            inspection_id: checked.inspection_id.map(|i| i.chars().take(128).collect()),
            envelope: envelope.to_json_string().map_err(IntakeError::internal)?,
            receipt: receipt.to_json_string().map_err(IntakeError::internal)?,
            received_at: now,
        };
        let stored = self.meta.put_statement(&row).await?;
        if stored.statement_sha256 != row.statement_sha256 {
            return Err(IntakeError::conflict(
                "statement.conflict",
                "this id was already submitted with other content",
            ));
        }
        Ok(stored)
    }
}
