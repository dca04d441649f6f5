//! 检查会话 — one inspection, as the screens of a visit drive it.
//!
//! Every change is one call to `store::inspections::modify_inspection` in one write transaction: the
//! core checks the rule, and the new state commits with its trail events or nothing is saved.

use std::sync::Arc;

use fieldseal_core::{
    model::{self, Inspection},
    store::{Store, inspections as stored},
    trail::{self, DomainEvent},
};

use super::{
    device_now,
    inputs::{
        AbortReason, AnswerInput, EvidenceKind, GeoPoint, HeaderField, Location, NewFinding, ProblemAction,
        iso_date,
    },
    records::{
        Blocker, ChecklistView, FindingView, InspectionState, Progress, RecordHeader, TaskRow, TrailEvent,
    },
};
use crate::{FieldsealError, guard::guard};

/// An open inspection. Holds only the store and the id: every call reads and writes the stored
/// inspection, so two sessions on the same id never act on stale copies.
#[derive(uniffi::Object)]
pub struct InspectionSession {
    pub(super) store: Arc<Store>,
    pub(super) id: String,
}

type CoreResult<T> = fieldseal_core::Result<T>;

impl InspectionSession {
    /// Loads, operates and saves in one transaction; returns the state after the operation.
    fn change(
        &self,
        operation: impl FnOnce(&mut Inspection) -> CoreResult<Vec<DomainEvent>>,
    ) -> Result<InspectionState, FieldsealError> {
        let inspection =
            self.store.write(|tx, keys| stored::modify_inspection(tx, keys, &self.id, operation))?;
        Ok(inspection.state().into())
    }

    fn read<T>(&self, f: impl FnOnce(&Inspection) -> T) -> Result<T, FieldsealError> {
        Ok(self.store.read(|conn, keys| stored::load_inspection(conn, keys, &self.id).map(|i| f(&i)))?)
    }
}

/// The device holds no register yet: nothing to form a team or a checklist from.
#[uniffi::export]
impl InspectionSession {
    pub fn id(&self) -> String {
        self.id.clone()
    }

    // ---- transitions (each returns the state after it) ----

    /// 审批 — `by` names the approver.
    pub fn approve(&self, by: String) -> Result<InspectionState, FieldsealError> {
        guard(|| self.change(|i| i.approve(&by, device_now())))
    }

    /// `date` is ISO `YYYY-MM-DD`.
    pub fn schedule(&self, date: String) -> Result<InspectionState, FieldsealError> {
        guard(|| {
            let date = iso_date("schedule.date", &date)?;
            self.change(|i| i.schedule(date, device_now()))
        })
    }

    /// Forms the team from the register on the device: each certificate valid on the inspection date,
    /// none twice.
    pub fn assign_inspectors(&self, inspector_ids: Vec<String>) -> Result<InspectionState, FieldsealError> {
        guard(|| {
            let inspection = self.store.write(|tx, keys| {
                stored::assign_inspectors(tx, keys, &self.id, &inspector_ids, device_now())
            })?;
            Ok(inspection.state().into())
        })
    }

    /// 离线就绪 — expands the newest stored version of the task's template over the enterprise's
    /// permits in the register on the device, and freezes both versions into the inspection.
    pub fn prepare_offline(&self) -> Result<InspectionState, FieldsealError> {
        guard(|| {
            let inspection =
                self.store.write(|tx, keys| stored::prepare_offline(tx, keys, &self.id, device_now()))?;
            Ok(inspection.state().into())
        })
    }

    /// 签到 — arrival on site with the platform's fix; needs two distinct valid certificates.
    pub fn check_in(&self, location: Location) -> Result<InspectionState, FieldsealError> {
        guard(|| {
            self.change(|i| {
                i.check_in(model::CheckIn {
                    at: device_now(),
                    location: model::GeoPoint::new(location.lat, location.lon),
                    accuracy_m: location.accuracy_m,
                    provider: location.provider,
                    mocked: location.mocked,
                })
            })
        })
    }

    /// 亮证 — `method` says how (paper certificate, electronic certificate QR code).
    pub fn show_credentials(&self, method: String) -> Result<InspectionState, FieldsealError> {
        guard(|| self.change(|i| i.show_credentials(&method, device_now())))
    }

    /// 回避 — the party's answer; a request suspends the inspection.
    pub fn answer_recusal(
        &self,
        requested: bool,
        against_inspector_id: Option<String>,
    ) -> Result<InspectionState, FieldsealError> {
        guard(|| self.change(|i| i.answer_recusal(requested, against_inspector_id.as_deref(), device_now())))
    }

    pub fn start_recording(&self) -> Result<InspectionState, FieldsealError> {
        guard(|| self.change(|i| i.start_recording(device_now())))
    }

    /// → 待签字; refused with every unmet requirement (see [`InspectionSession::blockers`]).
    pub fn submit_for_signature(&self) -> Result<InspectionState, FieldsealError> {
        guard(|| self.change(|i| i.submit_for_signature(device_now())))
    }

    /// Back to recording before anybody signed (the party asked for a correction).
    pub fn return_to_recording(&self, reason: String) -> Result<InspectionState, FieldsealError> {
        guard(|| self.change(|i| i.return_to_recording(&reason, device_now())))
    }

    /// 已签字 — records the content hash of the frozen record everybody signed. Meant for the record
    /// session once the signatures are captured; the core re-checks the certificates and blockers.
    pub fn mark_signed(&self, content_hash: String) -> Result<InspectionState, FieldsealError> {
        guard(|| self.change(|i| i.mark_signed(&content_hash, device_now())))
    }

    /// 签退 — leaving the site after signing.
    pub fn close_on_site(&self, location: Option<GeoPoint>) -> Result<InspectionState, FieldsealError> {
        guard(|| {
            self.change(|i| {
                i.close_on_site(model::CheckOut { at: device_now(), location: location.map(Into::into) })
            })
        })
    }

    /// Suspends for a device failure; `note` says what happened.
    pub fn suspend(&self, note: String) -> Result<InspectionState, FieldsealError> {
        guard(|| self.change(|i| i.suspend(&note, device_now())))
    }

    pub fn resume(&self) -> Result<InspectionState, FieldsealError> {
        guard(|| self.change(|i| i.resume(device_now())))
    }

    /// 中止 — with a reason, and optionally the evidence that shows it.
    pub fn abort(
        &self,
        reason: AbortReason,
        note: String,
        media_evidence_ids: Vec<String>,
    ) -> Result<InspectionState, FieldsealError> {
        guard(|| self.change(|i| i.abort(reason.into(), &note, &media_evidence_ids, device_now())))
    }

    // ---- recording ----

    /// Answers an item as inspector `by` (on the team). Changing an existing answer needs
    /// `change_reason`; the same answer again changes nothing.
    pub fn set_answer(
        &self,
        item_id: String,
        answer: AnswerInput,
        by: String,
        change_reason: Option<String>,
    ) -> Result<InspectionState, FieldsealError> {
        guard(|| {
            let value = answer.into_core(&item_id)?;
            self.change(|i| i.set_answer(&item_id, value, &by, change_reason.as_deref(), device_now()))
        })
    }

    pub fn set_header(&self, field: HeaderField, value: String) -> Result<InspectionState, FieldsealError> {
        guard(|| self.change(|i| i.set_header(field.into(), &value, device_now())))
    }

    /// How many pieces of evidence of `kind` are linked to an item (evidence ingest keeps this).
    pub fn set_evidence_count(
        &self,
        item_id: String,
        kind: EvidenceKind,
        count: u32,
    ) -> Result<InspectionState, FieldsealError> {
        guard(|| self.change(|i| i.set_evidence_count(&item_id, kind.into(), count).map(|()| Vec::new())))
    }

    /// Records a finding on an item answered 不合格; returns the finding's id.
    pub fn add_finding(&self, finding: NewFinding) -> Result<String, FieldsealError> {
        guard(|| {
            let new = model::NewFinding::try_from(finding)?;
            let mut id = String::new();
            self.change(|i| {
                let (finding_id, events) = i.add_finding(new, device_now())?;
                id = finding_id;
                Ok(events)
            })?;
            Ok(id)
        })
    }

    /// Withdraws a finding before signature (the item was corrected), keeping it visible with why.
    pub fn withdraw_finding(
        &self,
        finding_id: String,
        reason: String,
    ) -> Result<InspectionState, FieldsealError> {
        guard(|| self.change(|i| i.withdraw_finding(&finding_id, &reason, device_now())))
    }

    /// Moves a finding's problem along (verification, order, service, re-check, 销号, reopening).
    pub fn advance_problem(
        &self,
        finding_id: String,
        action: ProblemAction,
    ) -> Result<InspectionState, FieldsealError> {
        guard(|| {
            let action = model::ProblemAction::try_from(action)?;
            self.change(|i| i.advance_problem(&finding_id, &action, device_now()))
        })
    }

    // ---- read models ----

    pub fn state(&self) -> Result<InspectionState, FieldsealError> {
        guard(|| self.read(|i| i.state().into()))
    }

    /// The inspection as a task-list row (title, enterprise, state labels, progress, open findings).
    pub fn summary(&self) -> Result<TaskRow, FieldsealError> {
        guard(|| self.read(|i| model::task_row(i).into()))
    }

    pub fn header(&self) -> Result<RecordHeader, FieldsealError> {
        guard(|| self.read(|i| i.header().clone().into()))
    }

    /// Sections of items, each with visibility, answer, state, validation message and evidence.
    pub fn checklist(&self) -> Result<ChecklistView, FieldsealError> {
        guard(|| self.read(|i| model::checklist_view(i).into()))
    }

    pub fn progress(&self) -> Result<Progress, FieldsealError> {
        guard(|| self.read(|i| i.progress().into()))
    }

    /// Every unmet requirement for "pending signature" (team, credentials, recusal, header, items,
    /// evidence, findings). Empty when the record can go, or has gone, to signature.
    pub fn blockers(&self) -> Result<Vec<Blocker>, FieldsealError> {
        guard(|| self.read(|i| i.signature_blockers().into_iter().map(Into::into).collect()))
    }

    /// Findings, withdrawn ones included (with their reason).
    pub fn findings(&self) -> Result<Vec<FindingView>, FieldsealError> {
        guard(|| self.read(|i| i.findings().iter().cloned().map(Into::into).collect()))
    }

    /// The inspection's trail, every link verified; fails with `Integrity` if any event was altered.
    pub fn trail(&self) -> Result<Vec<TrailEvent>, FieldsealError> {
        guard(|| {
            let entries = self.store.read(|conn, keys| {
                let stream = stored::load_inspection(conn, keys, &self.id)?.stream();
                trail::verify_stream(conn, keys, &stream)
            })?;
            Ok(entries.into_iter().map(Into::into).collect())
        })
    }
}
