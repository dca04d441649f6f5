//! 采集闸门 — what ingest must know about the inspection ([`CaptureGate`]), where it learns it
//! ([`CaptureGuard`]), and the guard for inspections persisted by [`crate::store::inspections`].
//!
//! Ingest asks it twice whether the inspection takes captures (before hashing, and again inside the
//! sealing transaction), and calls it once more inside that transaction to count the new item on
//! its checklist item. The count is part of the same commit as the evidence row, so a capture that
//! rolls back never leaves a count behind, and a count never exists without its capture.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction};

use super::{EvidenceError, EvidenceManifest, Site};
use crate::{
    Result,
    model::{Inspection, state::InspectionState},
    store::{Keyring, inspections as stored},
};

/// What ingest must know about the inspection, read inside the sealing transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureGate {
    pub state: InspectionState,
    /// The enterprise's registered site, when the register has one.
    pub site: Option<Site>,
    /// 离场 — when the inspectors checked out, if they did.
    pub checked_out_at: Option<DateTime<Utc>>,
}

impl CaptureGate {
    /// The gate for a stored inspection: its state, its enterprise's registered site (when the
    /// register gives a usable one) and its check-out time.
    pub fn of(inspection: &Inspection) -> Self {
        let site = inspection.enterprise().map(|e| &e.site).filter(|s| s.problem().is_none()).cloned();
        CaptureGate {
            state: inspection.state(),
            site,
            checked_out_at: inspection.check_out().map(|c| c.at.with_timezone(&Utc)),
        }
    }

    /// Only an inspection on site or recording takes captures.
    pub fn require_capturing(&self) -> std::result::Result<(), EvidenceError> {
        match self.state {
            InspectionState::OnSite | InspectionState::Recording => Ok(()),
            other => Err(EvidenceError::NotCapturing { state: other.code().to_string() }),
        }
    }
}

/// Where ingest learns the state and site of an inspection. The app's implementation reads the
/// stored inspection; tests and tools may supply their own.
pub trait CaptureGuard: Send + Sync {
    fn capture_gate(&self, conn: &Connection, keys: &Keyring, inspection_id: &str) -> Result<CaptureGate>;

    /// Called inside the sealing transaction after the evidence row is written, so the inspection
    /// can count the new item (checklist evidence rules) atomically with it. An error rolls the
    /// whole capture back.
    fn on_sealed(&self, _tx: &Transaction<'_>, _keys: &Keyring, _sealed: &EvidenceManifest) -> Result<()> {
        Ok(())
    }
}

/// The app's guard: the gate comes from the stored inspection (state, registered site, check-out),
/// and each sealed capture linked to a checklist item raises that item's evidence count of its kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoredInspectionGuard;

impl CaptureGuard for StoredInspectionGuard {
    fn capture_gate(&self, conn: &Connection, keys: &Keyring, inspection_id: &str) -> Result<CaptureGate> {
        Ok(CaptureGate::of(&stored::load_inspection(conn, keys, inspection_id)?))
    }

    /// Runs in the sealing transaction. An item or finding the inspection does not know is refused
    /// by the model (`NotFound`), which rolls the capture back: evidence is never linked to
    /// something that does not exist. A capture linked to neither changes nothing here.
    fn on_sealed(&self, tx: &Transaction<'_>, keys: &Keyring, sealed: &EvidenceManifest) -> Result<()> {
        if sealed.item_id.is_none() && sealed.finding_id.is_none() {
            return Ok(());
        }
        stored::modify_inspection(tx, keys, &sealed.inspection_id, |inspection| {
            if let Some(item_id) = sealed.item_id.as_deref() {
                let count = inspection.evidence_count(item_id, sealed.kind).saturating_add(1);
                inspection.record_evidence_count(item_id, sealed.kind, count)?;
            }
            if let Some(finding_id) = sealed.finding_id.as_deref() {
                inspection.link_finding_evidence(finding_id, &sealed.evidence_id)?;
            }
            // The capture's own `evidence.sealed` event names the item and finding; a second event
            // would only repeat it.
            Ok(Vec::new())
        })?;
        Ok(())
    }
}
