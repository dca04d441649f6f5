//! 检查会话 — one inspection, as the screens of a visit drive it. Each method forwards to the
//! core's [`fieldseal_core::InspectionSession`].

use chrono::NaiveDate;
use fieldseal_core::{
    AbortReason, AnswerValue, Blocker, ChecklistView, FieldsealError, FindingView, GeoPoint, HeaderField,
    InspectionState, Location, NewFinding, ProblemAction, Progress, RecordHeader, TaskRow, TrailEvent,
};

use crate::guard::guard;

/// An open inspection. Every call reads and writes the stored inspection, so two sessions on the
/// same id never act on stale copies; each change returns the state after it.
#[derive(uniffi::Object)]
pub struct InspectionSession(pub(crate) fieldseal_core::InspectionSession);

#[uniffi::export]
impl InspectionSession {
    pub fn id(&self) -> String {
        self.0.id().to_owned()
    }

    // ---- transitions ----

    /// 审批 — `by` names the approver.
    pub fn approve(&self, by: String) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.approve(&by)?))
    }

    /// `date` is ISO `YYYY-MM-DD`.
    pub fn schedule(&self, date: NaiveDate) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.schedule(date)?))
    }

    /// Forms the team from the register on the device: each certificate valid on the inspection
    /// date, none twice.
    pub fn assign_inspectors(&self, inspector_ids: Vec<String>) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.assign_inspectors(&inspector_ids)?))
    }

    /// 离线就绪 — freezes the newest template and register versions into the inspection.
    pub fn prepare_offline(&self) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.prepare_offline()?))
    }

    /// 签到 — arrival on site with the platform's fix; needs two distinct valid certificates.
    pub fn check_in(&self, location: Location) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.check_in(location)?))
    }

    /// 亮证 — `method` says how (paper certificate, electronic certificate QR code).
    pub fn show_credentials(&self, method: String) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.show_credentials(&method)?))
    }

    /// 回避 — the party's answer; a request suspends the inspection.
    pub fn answer_recusal(
        &self,
        requested: bool,
        against_inspector_id: Option<String>,
    ) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.answer_recusal(requested, against_inspector_id.as_deref())?))
    }

    pub fn start_recording(&self) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.start_recording()?))
    }

    /// → 待签字; refused with every unmet requirement (see `blockers`).
    pub fn submit_for_signature(&self) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.submit_for_signature()?))
    }

    /// Back to recording before anybody signed (the party asked for a correction).
    pub fn return_to_recording(&self, reason: String) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.return_to_recording(&reason)?))
    }

    /// 签退 — leaving the site after signing.
    pub fn close_on_site(&self, location: Option<GeoPoint>) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.close_on_site(location)?))
    }

    /// Suspends for a device failure; `note` says what happened.
    pub fn suspend(&self, note: String) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.suspend(&note)?))
    }

    pub fn resume(&self) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.resume()?))
    }

    /// 中止 — with a reason, and optionally the evidence that shows it.
    pub fn abort(
        &self,
        reason: AbortReason,
        note: String,
        media_evidence_ids: Vec<String>,
    ) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.abort(reason, &note, &media_evidence_ids)?))
    }

    // ---- recording ----

    /// Answers an item as inspector `by` (on the team). Changing an existing answer needs
    /// `change_reason`; the same answer again changes nothing.
    pub fn set_answer(
        &self,
        item_id: String,
        answer: AnswerValue,
        by: String,
        change_reason: Option<String>,
    ) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.set_answer(&item_id, answer, &by, change_reason.as_deref())?))
    }

    pub fn set_header(&self, field: HeaderField, value: String) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.set_header(field, &value)?))
    }

    /// Records a finding on an item answered 不合格; returns the finding's id.
    pub fn add_finding(&self, finding: NewFinding) -> Result<String, FieldsealError> {
        guard(|| Ok(self.0.add_finding(finding)?))
    }

    /// Withdraws a finding before signature (the item was corrected), keeping it visible with why.
    pub fn withdraw_finding(
        &self,
        finding_id: String,
        reason: String,
    ) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.withdraw_finding(&finding_id, &reason)?))
    }

    /// Moves a finding's problem along (verification, order, service, re-check, 销号, reopening).
    pub fn advance_problem(
        &self,
        finding_id: String,
        action: ProblemAction,
    ) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.advance_problem(&finding_id, &action)?))
    }

    // ---- read models ----

    pub fn state(&self) -> Result<InspectionState, FieldsealError> {
        guard(|| Ok(self.0.state()?))
    }

    /// The inspection as a task-list row.
    pub fn summary(&self) -> Result<TaskRow, FieldsealError> {
        guard(|| Ok(self.0.summary()?))
    }

    pub fn header(&self) -> Result<RecordHeader, FieldsealError> {
        guard(|| Ok(self.0.header()?))
    }

    /// Sections of items, each with visibility, answer, state, validation message and evidence.
    pub fn checklist(&self) -> Result<ChecklistView, FieldsealError> {
        guard(|| Ok(self.0.checklist()?))
    }

    pub fn progress(&self) -> Result<Progress, FieldsealError> {
        guard(|| Ok(self.0.progress()?))
    }

    /// Every unmet requirement for "pending signature".
    pub fn blockers(&self) -> Result<Vec<Blocker>, FieldsealError> {
        guard(|| Ok(self.0.blockers()?))
    }

    /// Findings, withdrawn ones included (with their reason).
    pub fn findings(&self) -> Result<Vec<FindingView>, FieldsealError> {
        guard(|| Ok(self.0.findings()?))
    }

    /// The inspection's trail, every link verified; `Integrity` if any event was altered.
    pub fn trail(&self) -> Result<Vec<TrailEvent>, FieldsealError> {
        guard(|| Ok(self.0.trail()?))
    }
}
