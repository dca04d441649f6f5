//! 清单式检查 — the register and templates the provincial system publishes, the task list, and one
//! [`InspectionSession`] per visit.
//!
//! Every change is one write transaction: the stored inspection is loaded, the model checks the
//! rule, and the new state commits with its trail events, or nothing is saved. The time of each
//! change is the installation's clock.

use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};

use super::Installation;
use crate::{
    Result,
    checklist::{self, AnswerValue},
    id::new_id,
    model::{
        self, AbortReason, Blocker, ChecklistView, Enterprise, FindingView, GeoPoint, HeaderField,
        Inspection, InspectionState, NewFinding, ProblemAction, Progress, RecordHeader, RegisterInspector,
        RegisterSnapshot, RegisterSummary, Task, TaskRow, TemplateSummary,
    },
    store::{Keyring, inspections as stored},
    trail::{DomainEvent, TrailEvent},
};

/// 签到定位 — the check-in fix with what the platform says about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Location {
    /// WGS-84, as the platform reported it.
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy in metres (Android: 68 % radius).
    pub accuracy_m: Option<f64>,
    /// `gps`, `network`, `fused`...
    pub provider: String,
    /// The platform flagged the fix as coming from a mock provider.
    pub mocked: bool,
}

/// The register, templates and task list of an installation.
#[derive(Debug, Clone)]
pub struct Inspections {
    installation: Installation,
}

impl Inspections {
    pub(super) fn new(installation: Installation) -> Self {
        Self { installation }
    }

    /// Stores a register snapshot (JSON, as the provincial system publishes it) after validating it;
    /// every problem is reported. The same version again is a no-op; other content under it is refused.
    pub fn import_register(&self, json: &str) -> Result<RegisterSummary> {
        let snapshot = RegisterSnapshot::from_json(json)?;
        self.installation.store().write(|tx, keys| stored::save_register(tx, keys, &snapshot))?;
        Ok(RegisterSummary::from(&snapshot))
    }

    /// Stores a checklist template (JSON) after validating it; an error names the item and the rule.
    pub fn import_template(&self, json: &str) -> Result<TemplateSummary> {
        let template = checklist::parse_template(json)?;
        self.installation.store().write(|tx, _| stored::save_template(tx, &template))?;
        Ok(TemplateSummary::from(&template))
    }

    /// The inspectors of the newest register on the device, with whether each certificate can be used
    /// today (the clock's local date). Empty before a register is imported.
    pub fn register_inspectors(&self) -> Result<Vec<RegisterInspector>> {
        let register = self.installation.store().read(stored::latest_register)?;
        let today = self.installation.now().date_naive();
        Ok(register
            .map(|r| r.register().inspectors.iter().map(|i| RegisterInspector::on(i, today)).collect())
            .unwrap_or_default())
    }

    /// The task list, soonest first.
    pub fn task_list(&self) -> Result<Vec<TaskRow>> {
        self.installation.store().read(stored::task_rows)
    }

    /// Creates a draft inspection for a task, with a fresh id.
    pub fn create(&self, task: Task) -> Result<InspectionSession> {
        let id = new_id()?;
        let now = self.installation.now();
        self.installation.write_anchored(
            &format!("inspection:{id}"),
            |tx, keys| stored::create_inspection(tx, keys, &id, task, now),
            |_| true,
        )?;
        Ok(InspectionSession { installation: self.installation.clone(), id })
    }

    /// Opens a stored inspection; `NotFound` when there is none with this id.
    pub fn open(&self, id: &str) -> Result<InspectionSession> {
        self.installation.store().read(|conn, keys| stored::load_inspection(conn, keys, id))?;
        Ok(InspectionSession { installation: self.installation.clone(), id: id.to_owned() })
    }
}

/// 检查会话 — one inspection, as the screens of a visit drive it. Holds only the installation and
/// the id: every call reads and writes the stored inspection, so two sessions on the same id never
/// act on stale copies. Each change returns the state after it.
#[derive(Debug, Clone)]
pub struct InspectionSession {
    installation: Installation,
    id: String,
}

impl InspectionSession {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Loads, operates and saves in one transaction, at the clock's time.
    fn change(
        &self,
        operation: impl FnOnce(&mut Inspection, DateTime<FixedOffset>) -> Result<Vec<DomainEvent>>,
    ) -> Result<InspectionState> {
        let now = self.installation.now();
        self.write_anchored_if_moved(|tx, keys| {
            let mut before = None;
            let inspection = stored::modify_inspection(tx, keys, &self.id, |i| {
                before = Some(i.state());
                operation(i, now)
            })?;
            Ok((before, inspection.state()))
        })
    }

    /// Runs `change` (which reports the state before and after it) and, when the state moved,
    /// signs the trail head in the same transaction (see `super::integrity`); returns the state.
    fn write_anchored_if_moved(
        &self,
        change: impl FnOnce(&Transaction<'_>, &Keyring) -> Result<(Option<InspectionState>, InspectionState)>,
    ) -> Result<InspectionState> {
        let stream = format!("inspection:{}", self.id);
        let (_, after) =
            self.installation.write_anchored(&stream, change, |(before, after)| *before != Some(*after))?;
        Ok(after)
    }

    fn read<T>(&self, f: impl FnOnce(&Inspection) -> T) -> Result<T> {
        self.installation
            .store()
            .read(|conn, keys| stored::load_inspection(conn, keys, &self.id).map(|i| f(&i)))
    }

    // ---- transitions ----

    /// 审批 — `by` names the approver.
    pub fn approve(&self, by: &str) -> Result<InspectionState> {
        self.change(|i, now| i.approve(by, now))
    }

    pub fn schedule(&self, date: NaiveDate) -> Result<InspectionState> {
        self.change(|i, now| i.schedule(date, now))
    }

    /// Forms the team from the newest register on the device: each certificate valid on the
    /// inspection date, none twice.
    pub fn assign_inspectors(&self, inspector_ids: &[String]) -> Result<InspectionState> {
        let now = self.installation.now();
        self.write_anchored_if_moved(|tx, keys| {
            let before = stored::load_inspection(tx, keys, &self.id)?.state();
            let inspection = stored::assign_inspectors(tx, keys, &self.id, inspector_ids, now)?;
            Ok((Some(before), inspection.state()))
        })
    }

    /// 离线就绪 — expands the newest stored version of the task's template over the enterprise's
    /// permits in the newest register on the device, and freezes both versions into the inspection.
    pub fn prepare_offline(&self) -> Result<InspectionState> {
        let now = self.installation.now();
        self.write_anchored_if_moved(|tx, keys| {
            let before = stored::load_inspection(tx, keys, &self.id)?.state();
            let inspection = stored::prepare_offline(tx, keys, &self.id, now)?;
            Ok((Some(before), inspection.state()))
        })
    }

    /// 签到 — arrival on site with the platform's fix; needs two distinct valid certificates.
    pub fn check_in(&self, location: Location) -> Result<InspectionState> {
        self.change(|i, now| {
            i.check_in(model::CheckIn {
                at: now,
                location: GeoPoint::new(location.lat, location.lon),
                accuracy_m: location.accuracy_m,
                provider: location.provider,
                mocked: location.mocked,
            })
        })
    }

    /// 亮证 — `method` says how (paper certificate, electronic certificate QR code).
    pub fn show_credentials(&self, method: &str) -> Result<InspectionState> {
        self.change(|i, now| i.show_credentials(method, now))
    }

    /// 回避 — the party's answer; a request suspends the inspection.
    pub fn answer_recusal(
        &self,
        requested: bool,
        against_inspector_id: Option<&str>,
    ) -> Result<InspectionState> {
        self.change(|i, now| i.answer_recusal(requested, against_inspector_id, now))
    }

    pub fn start_recording(&self) -> Result<InspectionState> {
        self.change(|i, now| i.start_recording(now))
    }

    /// → 待签字; refused with every unmet requirement (see [`InspectionSession::blockers`]).
    pub fn submit_for_signature(&self) -> Result<InspectionState> {
        self.change(|i, now| i.submit_for_signature(now))
    }

    /// Back to recording before anybody signed (the party asked for a correction).
    pub fn return_to_recording(&self, reason: &str) -> Result<InspectionState> {
        self.change(|i, now| i.return_to_recording(reason, now))
    }

    // 已签字 has no method here: an inspection becomes signed only when its record is frozen with
    // every signature (`record::service`), in the same transaction, never on the app's word.

    /// 签退 — leaving the site after signing.
    pub fn close_on_site(&self, location: Option<GeoPoint>) -> Result<InspectionState> {
        self.change(|i, now| i.close_on_site(model::CheckOut { at: now, location }))
    }

    /// Suspends for a device failure; `note` says what happened.
    pub fn suspend(&self, note: &str) -> Result<InspectionState> {
        self.change(|i, now| i.suspend(note, now))
    }

    pub fn resume(&self) -> Result<InspectionState> {
        self.change(|i, now| i.resume(now))
    }

    /// 中止 — with a reason, and optionally the evidence that shows it.
    pub fn abort(
        &self,
        reason: AbortReason,
        note: &str,
        media_evidence_ids: &[String],
    ) -> Result<InspectionState> {
        self.change(|i, now| i.abort(reason, note, media_evidence_ids, now))
    }

    // ---- recording ----

    /// Answers an item as inspector `by` (on the team). Changing an existing answer needs
    /// `change_reason`; the same answer again changes nothing.
    pub fn set_answer(
        &self,
        item_id: &str,
        answer: AnswerValue,
        by: &str,
        change_reason: Option<&str>,
    ) -> Result<InspectionState> {
        self.change(|i, now| i.set_answer(item_id, answer, by, change_reason, now))
    }

    pub fn set_header(&self, field: HeaderField, value: &str) -> Result<InspectionState> {
        self.change(|i, now| i.set_header(field, value, now))
    }

    /// Records a finding on an item answered 不合格; returns the finding's id.
    pub fn add_finding(&self, finding: NewFinding) -> Result<String> {
        let mut id = String::new();
        self.change(|i, now| {
            let (finding_id, events) = i.add_finding(finding, now)?;
            id = finding_id;
            Ok(events)
        })?;
        Ok(id)
    }

    /// Withdraws a finding before signature (the item was corrected), keeping it visible with why.
    pub fn withdraw_finding(&self, finding_id: &str, reason: &str) -> Result<InspectionState> {
        self.change(|i, now| i.withdraw_finding(finding_id, reason, now))
    }

    /// Moves a finding's problem along (verification, order, service, re-check, 销号, reopening).
    pub fn advance_problem(&self, finding_id: &str, action: &ProblemAction) -> Result<InspectionState> {
        self.change(|i, now| i.advance_problem(finding_id, action, now))
    }

    // ---- read models ----

    pub fn state(&self) -> Result<InspectionState> {
        self.read(Inspection::state)
    }

    /// The task the inspection was created for, as it was assigned or pulled.
    pub fn task(&self) -> Result<Task> {
        self.read(|i| i.task().clone())
    }

    /// 被检查单位 — the register's entry for the enterprise as the inspection was prepared with it
    /// (its site bounds the check-in); `None` before 准备离线.
    pub fn enterprise(&self) -> Result<Option<Enterprise>> {
        self.read(|i| i.enterprise().cloned())
    }

    /// The inspection as a task-list row (title, enterprise, state labels, progress, open findings).
    pub fn summary(&self) -> Result<TaskRow> {
        self.read(model::task_row)
    }

    pub fn header(&self) -> Result<RecordHeader> {
        self.read(|i| i.header().clone())
    }

    /// Sections of items, each with visibility, answer, state, validation message and evidence.
    pub fn checklist(&self) -> Result<ChecklistView> {
        self.read(model::checklist_view)
    }

    pub fn progress(&self) -> Result<Progress> {
        self.read(Inspection::progress)
    }

    /// Every unmet requirement for "pending signature" (team, credentials, recusal, header, items,
    /// evidence, findings). Empty when the record can go, or has gone, to signature.
    pub fn blockers(&self) -> Result<Vec<Blocker>> {
        self.read(Inspection::signature_blockers)
    }

    /// Findings, withdrawn ones included (with their reason).
    pub fn findings(&self) -> Result<Vec<FindingView>> {
        self.read(model::findings_view)
    }

    /// The inspection's trail, every link verified; fails with an integrity error if any event was
    /// altered.
    pub fn trail(&self) -> Result<Vec<TrailEvent>> {
        let entries = self.installation.store().read(|conn, keys| {
            let stream = stored::load_inspection(conn, keys, &self.id)?.stream();
            crate::store::trail::verify_stream(conn, keys, &stream)
        })?;
        Ok(entries.into_iter().map(TrailEvent::from).collect())
    }
}
