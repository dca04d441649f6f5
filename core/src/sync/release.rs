//! 释放本机副本 — when the vault copy of an evidence original may leave the device.
//!
//! Only under the retention rule, and never before intake's receipt names the same hash. Every
//! condition is checked again at the moment of release, from what is stored, never from the
//! outbox row's state alone:
//! 1. the upload is acknowledged, and its receipt verifies under the intake key learnt at
//!    enrolment and names this evidence, its blob's SHA-256 (the manifest's), its signed manifest
//!    and this device;
//! 2. intake received it at least [`RetentionRule::min_age`] ago (intake's clock, from the
//!    receipt, so a device clock set forward cannot hurry a release);
//! 3. when [`RetentionRule::require_record_accepted`], the inspection's on-site record is frozen
//!    and intake's receipt for it verifies too.
//!
//! A release keeps the evidence row, its signed manifest and its thumbnail; the encrypted original
//! leaves the vault only after the release and its trail event commit (migration 8, whose trigger
//! refuses a release of an unacknowledged upload). A crash in between leaves a released row whose
//! blob is still there; the next release pass removes it.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::{
    SyncError, enrolment,
    receipt::{self, ExpectedReceipt},
};
use crate::{
    Result,
    evidence::ingest::manifest_of,
    outbox::{self, OutboxKind},
    protocol::{
        SignedEnvelope,
        receipt::{Receipt, ReceiptKind},
        statement::statement_sha256,
    },
    record::{DocumentKind, persist, persist::RecordState},
    store::{Keyring, Store, StoreError, evidence as evidence_rows, timestamp, trail},
    trail::DomainEvent,
};

/// 保留规则 — how long an acknowledged original stays on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionRule {
    /// Time since intake received the original (its receipt's `received_at`).
    pub min_age: Duration,
    /// The inspection's record must be frozen and acknowledged by intake as well.
    pub require_record_accepted: bool,
}

impl Default for RetentionRule {
    fn default() -> Self {
        RetentionRule { min_age: Duration::days(30), require_record_accepted: true }
    }
}

/// Why an original stays in the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// No acknowledged upload with a stored receipt.
    NotAcknowledged,
    /// The stored receipt does not verify or names something else (e.g. another hash).
    ReceiptRefused { reason: &'static str },
    /// Younger than the rule allows; may be released from `until`.
    TooRecent { until: DateTime<Utc> },
    /// The inspection's record is not frozen, or intake has not acknowledged it.
    RecordNotAccepted,
    /// Released before.
    AlreadyReleased,
}

/// What the rule says about one original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseDecision {
    Release { receipt_id: String, sha256: String },
    Keep(Kept),
}

/// Whether a release was recorded for this evidence.
pub fn is_released(conn: &Connection, evidence_id: &str) -> Result<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM evidence_releases WHERE evidence_id = ?1", [evidence_id], |_| Ok(()))
        .optional()
        .map_err(StoreError::sql("read evidence release"))?
        .is_some())
}

/// Applies the rule to one original, reading only what is stored.
pub fn decide(
    conn: &Connection,
    keys: &Keyring,
    evidence_id: &str,
    rule: &RetentionRule,
    now: DateTime<Utc>,
) -> Result<ReleaseDecision> {
    let keep = |why| Ok(ReleaseDecision::Keep(why));
    if is_released(conn, evidence_id)? {
        return keep(Kept::AlreadyReleased);
    }
    let Some(stored_receipt) = outbox::acknowledged_receipt(conn, OutboxKind::Evidence, evidence_id)? else {
        return keep(Kept::NotAcknowledged);
    };
    let enrolment = enrolment::load(conn, keys)?.ok_or(SyncError::NotEnrolled)?;
    let evidence = evidence_rows::get(conn, keys, evidence_id)?;
    let manifest = manifest_of(&evidence.envelope)?;
    let expected = ExpectedReceipt {
        kind: ReceiptKind::Evidence,
        object_id: evidence_id.to_owned(),
        sha256: manifest.sha256.clone(),
        statement_sha256: statement_sha256(&evidence.envelope)?,
        device_id: enrolment.device_id.clone(),
    };
    let receipt = match verified(&stored_receipt, &enrolment, &expected) {
        Ok(receipt) => receipt,
        Err(reason) => return keep(Kept::ReceiptRefused { reason }),
    };
    let until = receipt.received_at + rule.min_age;
    if now < until {
        return keep(Kept::TooRecent { until });
    }
    if rule.require_record_accepted && !record_accepted(conn, keys, &evidence.inspection_id, &enrolment)? {
        return keep(Kept::RecordNotAccepted);
    }
    Ok(ReleaseDecision::Release { receipt_id: receipt.receipt_id, sha256: manifest.sha256 })
}

/// Releases one original if the rule allows it now: records the release and its trail event in one
/// transaction, then removes the encrypted original from the vault.
pub fn release(
    store: &Store,
    evidence_id: &str,
    rule: &RetentionRule,
    now: DateTime<Utc>,
) -> Result<ReleaseDecision> {
    let (decision, blob_id) = store.write(|tx, keys| {
        let decision = decide(tx, keys, evidence_id, rule, now)?;
        let evidence = evidence_rows::get(tx, keys, evidence_id)?;
        if let ReleaseDecision::Release { receipt_id, sha256 } = &decision {
            let event = DomainEvent::new(
                format!("inspection:{}", evidence.inspection_id),
                "evidence.released",
                json!({ "evidence_id": evidence_id, "sha256": sha256, "receipt_id": receipt_id }),
            );
            let entry = trail::append(tx, keys, &event)?;
            tx.execute(
                "INSERT INTO evidence_releases (evidence_id, blob_id, receipt_id, sha256, released_at, trail_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![evidence_id, evidence.blob_id, receipt_id, sha256, timestamp(now), entry.hash],
            )
            .map_err(StoreError::sql("record evidence release"))?;
        }
        Ok((decision, evidence.blob_id))
    })?;
    if matches!(decision, ReleaseDecision::Release { .. } | ReleaseDecision::Keep(Kept::AlreadyReleased)) {
        store.vault().remove(&blob_id)?;
    }
    Ok(decision)
}

/// One retention pass over every acknowledged original; returns the ids released now.
pub fn release_due(store: &Store, rule: &RetentionRule, now: DateTime<Utc>) -> Result<Vec<String>> {
    let candidates: Vec<String> = store.read(|conn, _| {
        Ok(outbox::all(conn)?
            .into_iter()
            .filter(|i| i.kind == OutboxKind::Evidence && i.state == "acknowledged")
            .map(|i| i.object_id)
            .collect())
    })?;
    let mut released = Vec::new();
    for id in candidates {
        if matches!(release(store, &id, rule, now)?, ReleaseDecision::Release { .. }) {
            released.push(id);
        }
    }
    Ok(released)
}

fn verified(
    stored: &[u8],
    enrolment: &enrolment::Enrolment,
    expected: &ExpectedReceipt,
) -> std::result::Result<Receipt, &'static str> {
    let text = std::str::from_utf8(stored).map_err(|_| "stored receipt is not text")?;
    let envelope = SignedEnvelope::from_json_str(text).map_err(|_| "stored receipt is not an envelope")?;
    let key = enrolment.server_public_key().map_err(|_| "enrolled intake key unreadable")?;
    match receipt::check(&envelope, &key, expected) {
        Ok(receipt) => Ok(receipt),
        Err(SyncError::ReceiptRefused { reason, .. }) => Err(reason),
        Err(_) => Err("receipt check failed"),
    }
}

/// The inspection's record (not an addendum) is frozen and intake's receipt for its freeze
/// statement verifies.
fn record_accepted(
    conn: &Connection,
    keys: &Keyring,
    inspection_id: &str,
    enrolment: &enrolment::Enrolment,
) -> Result<bool> {
    for record in persist::records_of_inspection(conn, keys, inspection_id)? {
        let (RecordState::Frozen, DocumentKind::Record, Some(freeze)) =
            (record.state, record.kind, &record.freeze)
        else {
            continue;
        };
        let Some(stored) = outbox::acknowledged_receipt(conn, OutboxKind::Record, &record.id)? else {
            continue;
        };
        let hash = statement_sha256(freeze)?;
        let expected = ExpectedReceipt {
            kind: ReceiptKind::Record,
            object_id: record.id.clone(),
            sha256: hash.clone(),
            statement_sha256: hash,
            device_id: enrolment.device_id.clone(),
        };
        if verified(&stored, enrolment, &expected).is_ok() {
            return Ok(true);
        }
    }
    Ok(false)
}
