//! 回执核对 — every kept receipt checked again, as an auditor or the demo asks: it must verify
//! under the intake key kept at enrolment, name this device and the row's object, and (for
//! evidence) the blob hash the signed manifest names. The driver checked each on arrival; this
//! re-reads what the store holds, so a receipt changed since is caught.

use rusqlite::Connection;
use serde::Serialize;

use super::SyncEngine;
use crate::{
    Result,
    evidence::ingest::manifest_of,
    outbox::OutboxKind,
    protocol::{SignedEnvelope, receipt::Receipt},
    store::{Keyring, StoreError, evidence as evidence_rows},
    sync::enrolment,
};

/// One acknowledged upload's receipt, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReceiptCheck {
    pub item_id: i64,
    pub kind: OutboxKind,
    pub object_id: String,
    /// Intake's id for the receipt, when it could be read.
    pub receipt_id: Option<String>,
    /// Intake's clock when it accepted the object (RFC 3339).
    pub received_at: Option<String>,
    /// `None` when the receipt verifies and names what was sent; otherwise what is wrong.
    pub problem: Option<String>,
}

/// An acknowledged row as kept: (row id, kind, object id, receipt envelope bytes).
type KeptReceipt = (i64, String, String, Vec<u8>);

fn kept(conn: &Connection) -> Result<Vec<KeptReceipt>> {
    let mut stmt = conn
        .prepare(
            "SELECT id, kind, object_id, receipt FROM outbox
             WHERE state = 'acknowledged' AND receipt IS NOT NULL ORDER BY id",
        )
        .map_err(StoreError::sql("read receipts"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .map_err(StoreError::sql("read receipts"))?;
    Ok(rows.collect::<rusqlite::Result<_>>().map_err(StoreError::sql("read receipts"))?)
}

fn check(
    conn: &Connection,
    keys: &Keyring,
    server_key: &[u8],
    device_id: &str,
    kind: OutboxKind,
    object_id: &str,
    bytes: &[u8],
) -> std::result::Result<Receipt, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the kept receipt is not text".to_owned())?;
    let envelope = SignedEnvelope::from_json_str(text).map_err(|e| e.to_string())?;
    let receipt = Receipt::open(&envelope, server_key).map_err(|e| e.to_string())?;
    if receipt.object_id != object_id {
        return Err(format!("names {} instead", receipt.object_id));
    }
    if receipt.device_id != device_id {
        return Err("names another device".into());
    }
    if kind == OutboxKind::Evidence {
        let row = evidence_rows::get(conn, keys, object_id).map_err(|e| e.to_string())?;
        let manifest = manifest_of(&row.envelope).map_err(|e| e.to_string())?;
        if receipt.sha256 != manifest.sha256 {
            return Err("names another hash than the sealed evidence".into());
        }
    }
    Ok(receipt)
}

impl SyncEngine {
    /// Every kept receipt, checked again (see the module documentation).
    pub fn check_receipts(&self) -> Result<Vec<ReceiptCheck>> {
        self.installation().store().read(|conn, keys| {
            let enrolment = enrolment::load(conn, keys)?.ok_or(crate::sync::SyncError::NotEnrolled)?;
            let server_key = enrolment.server_public_key()?;
            let mut checks = Vec::new();
            for (item_id, kind, object_id, bytes) in kept(conn)? {
                let kind = match kind.as_str() {
                    "evidence" => OutboxKind::Evidence,
                    "record" => OutboxKind::Record,
                    _ => OutboxKind::TrailHead,
                };
                let checked = check(conn, keys, &server_key, &enrolment.device_id, kind, &object_id, &bytes);
                checks.push(ReceiptCheck {
                    item_id,
                    kind,
                    receipt_id: checked.as_ref().ok().map(|r| r.receipt_id.clone()),
                    received_at: checked.as_ref().ok().map(|r| r.received_at.to_rfc3339()),
                    problem: checked.err(),
                    object_id,
                });
            }
            Ok(checks)
        })
    }
}
