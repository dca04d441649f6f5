//! `admin report --json`: every stored inspection with its evidence items, their hashes, whether
//! each verified (re-checked now: the blob re-hashed, the manifest's signature re-verified under the
//! enrolled key), and the receipts issued.

use std::collections::BTreeMap;

use fieldseal_core::protocol::{SignedEnvelope, receipt::ReceiptKind};
use serde::Serialize;
use serde_json::Value;

use super::Intake;
use crate::{error::Result, store::StatementRow};

#[derive(Debug, Serialize)]
pub struct Report {
    pub generated_at: chrono::DateTime<chrono::Utc>,
    pub inspections: Vec<InspectionReport>,
    pub devices: Vec<crate::store::Device>,
}

#[derive(Debug, Serialize)]
pub struct InspectionReport {
    pub inspection_id: String,
    pub evidence: Vec<EvidenceReport>,
    pub records: Vec<StatementReport>,
    pub trail_heads: Vec<StatementReport>,
}

#[derive(Debug, Serialize)]
pub struct EvidenceReport {
    pub evidence_id: String,
    pub sha256: String,
    pub size: Option<u64>,
    pub device_id: String,
    /// The blob re-hashes to `sha256` and the manifest verifies under the device key.
    pub verified: bool,
    pub problems: Vec<&'static str>,
    pub receipt: Value,
}

#[derive(Debug, Serialize)]
pub struct StatementReport {
    pub object_id: String,
    pub statement_sha256: String,
    pub device_id: String,
    pub verified: bool,
    pub receipt: Value,
}

impl Intake {
    pub async fn report(&self) -> Result<Report> {
        let devices = self.meta.devices().await?;
        let mut by_inspection: BTreeMap<String, InspectionReport> = BTreeMap::new();
        for row in self.meta.statements().await? {
            let inspection_id = row.inspection_id.clone().unwrap_or_else(|| "(none)".into());
            let entry = by_inspection.entry(inspection_id.clone()).or_insert_with(|| InspectionReport {
                inspection_id,
                evidence: Vec::new(),
                records: Vec::new(),
                trail_heads: Vec::new(),
            });
            let device = devices.iter().find(|d| d.device_id == row.device_id);
            let signature_ok = device.is_some_and(|d| {
                SignedEnvelope::from_json_str(&row.envelope).is_ok_and(|e| e.verify(&d.public_key).is_ok())
            });
            let receipt = serde_json::from_str(&row.receipt).unwrap_or(Value::Null);
            match row.kind {
                ReceiptKind::Evidence => {
                    entry.evidence.push(self.evidence_report(&row, signature_ok, receipt).await?)
                }
                kind => {
                    let report = StatementReport {
                        object_id: row.object_id.clone(),
                        statement_sha256: row.statement_sha256.clone(),
                        device_id: row.device_id.clone(),
                        verified: signature_ok,
                        receipt,
                    };
                    if kind == ReceiptKind::Record {
                        entry.records.push(report)
                    } else {
                        entry.trail_heads.push(report)
                    }
                }
            }
        }
        Ok(Report {
            generated_at: self.clock.now(),
            inspections: by_inspection.into_values().collect(),
            devices,
        })
    }

    async fn evidence_report(
        &self,
        row: &StatementRow,
        signature_ok: bool,
        receipt: Value,
    ) -> Result<EvidenceReport> {
        let sha256 = row.blob_sha256.clone().unwrap_or_default();
        let mut problems = Vec::new();
        if !signature_ok {
            problems.push("manifest_signature");
        }
        let rehash = self.blobs.rehash(&sha256).await?;
        match &rehash {
            None => problems.push("blob_missing"),
            Some((actual, _)) if *actual != sha256 => problems.push("blob_hash"),
            Some(_) => {}
        }
        Ok(EvidenceReport {
            evidence_id: row.object_id.clone(),
            sha256,
            size: rehash.map(|(_, size)| size),
            device_id: row.device_id.clone(),
            verified: problems.is_empty(),
            problems,
            receipt,
        })
    }
}
