//! 检查 — one inspection visit: its task, team, frozen checklist, header, answers, findings and state.
//!
//! Every change goes through a method in `transitions.rs` or `recording.rs` that checks the rule,
//! applies the change to a copy, and only then replaces `self` (see [`Inspection::transact`]), so a
//! refused operation leaves nothing half-changed. Each change returns the [`DomainEvent`]s it caused;
//! persistence appends them to the trail in the same transaction as the new state.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{
    DomainError, Enterprise, ExpandedChecklist, Finding, GeoPoint, InspectionState, Inspector, RecordHeader,
    Task,
};
use crate::{
    Result,
    checklist::{AnswerValue, EvidenceKind},
    event::DomainEvent,
};

/// 签到 — arrival on site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckIn {
    pub at: DateTime<FixedOffset>,
    pub location: GeoPoint,
    /// Horizontal accuracy in metres (Android: 68 % radius).
    #[serde(default)]
    pub accuracy_m: Option<f64>,
    #[serde(default)]
    pub provider: String,
    /// The platform said the fix came from a mock location provider.
    #[serde(default)]
    pub mocked: bool,
}

/// 亮证 — credentials shown, and how (paper certificate, electronic certificate QR code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialsShown {
    pub at: DateTime<FixedOffset>,
    pub method: String,
}

/// 回避 — the recusal question, asked and answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecusalAnswer {
    pub at: DateTime<FixedOffset>,
    pub requested: bool,
    /// The inspector whose recusal was requested.
    #[serde(default)]
    pub against_inspector_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuspendReason {
    /// 申请回避.
    RecusalRequested,
    /// 设备故障.
    DeviceFailure,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suspension {
    pub reason: SuspendReason,
    pub note: String,
    pub from: InspectionState,
    pub at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum AbortReason {
    /// 拒绝进入.
    EntryRefused,
    /// 安全原因.
    Safety,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Abort {
    pub reason: AbortReason,
    pub note: String,
    /// Photos, video or audio that show why (e.g. the refusal at the gate).
    pub media_evidence_ids: Vec<String>,
    pub at: DateTime<FixedOffset>,
}

/// A correction of an answer: what it was, and why it changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerChange {
    pub previous: AnswerValue,
    pub reason: String,
    pub by: String,
    pub at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerRecord {
    pub value: AnswerValue,
    pub by: String,
    pub at: DateTime<FixedOffset>,
    /// Earlier answers, oldest first: every correction stays visible until the record is signed.
    #[serde(default)]
    pub corrections: Vec<AnswerChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signing {
    /// The content hash of the rendered record everybody signed.
    pub content_hash: String,
    pub at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckOut {
    pub at: DateTime<FixedOffset>,
    #[serde(default)]
    pub location: Option<GeoPoint>,
}

/// One inspection. Read through the accessors; change only through its operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    pub(super) id: String,
    pub(super) task: Task,
    pub(super) state: InspectionState,
    /// Incremented by every successful operation; persistence refuses to overwrite a newer one.
    pub(super) revision: u64,
    pub(super) created_at: DateTime<FixedOffset>,
    pub(super) approved_by: Option<String>,
    pub(super) scheduled_for: Option<NaiveDate>,
    pub(super) inspectors: Vec<Inspector>,
    pub(super) enterprise: Option<Enterprise>,
    pub(super) checklist: Option<ExpandedChecklist>,
    pub(super) header: RecordHeader,
    pub(super) check_in: Option<CheckIn>,
    pub(super) credentials: Option<CredentialsShown>,
    pub(super) recusal: Option<RecusalAnswer>,
    pub(super) answers: BTreeMap<String, AnswerRecord>,
    pub(super) evidence_counts: BTreeMap<String, BTreeMap<EvidenceKind, u32>>,
    pub(super) findings: Vec<Finding>,
    pub(super) suspension: Option<Suspension>,
    pub(super) abort: Option<Abort>,
    pub(super) signing: Option<Signing>,
    pub(super) check_out: Option<CheckOut>,
}

impl Inspection {
    /// A new draft inspection for `task`.
    pub fn create(id: &str, task: Task, at: DateTime<FixedOffset>) -> Result<(Inspection, Vec<DomainEvent>)> {
        if id.trim().is_empty() || id.contains(':') {
            return Err(DomainError::invalid("inspection.id", "inspection.id.invalid").into());
        }
        for (field, value) in [
            ("task.id", &task.id),
            ("task.enterprise_id", &task.enterprise_id),
            ("task.template_id", &task.template_id),
        ] {
            if value.trim().is_empty() {
                return Err(DomainError::invalid(field, format!("{field}.missing")).into());
            }
        }
        let header =
            RecordHeader { task_source: task.source.label_zh().to_owned(), ..RecordHeader::default() };
        let inspection = Inspection {
            id: id.to_owned(),
            task,
            state: InspectionState::Draft,
            revision: 1,
            created_at: at,
            approved_by: None,
            scheduled_for: None,
            inspectors: Vec::new(),
            enterprise: None,
            checklist: None,
            header,
            check_in: None,
            credentials: None,
            recusal: None,
            answers: BTreeMap::new(),
            evidence_counts: BTreeMap::new(),
            findings: Vec::new(),
            suspension: None,
            abort: None,
            signing: None,
            check_out: None,
        };
        let event = inspection.event(
            "inspection.created",
            serde_json::json!({
                "task_id": inspection.task.id,
                "enterprise_id": inspection.task.enterprise_id,
                "template_id": inspection.task.template_id,
                "planned_date": inspection.task.planned_date,
                "source": inspection.task.source,
                "at": at,
            }),
        );
        Ok((inspection, vec![event]))
    }

    /// Runs `f` on a copy and keeps the copy only if `f` succeeds: a refused operation changes nothing.
    pub(super) fn transact<T>(&mut self, f: impl FnOnce(&mut Inspection) -> Result<T>) -> Result<T> {
        let mut draft = self.clone();
        let out = f(&mut draft)?;
        draft.revision += 1;
        *self = draft;
        Ok(out)
    }

    pub(super) fn event(&self, kind: &str, payload: serde_json::Value) -> DomainEvent {
        DomainEvent::new(self.stream(), kind, payload)
    }

    /// The trail stream of this inspection.
    pub fn stream(&self) -> String {
        format!("inspection:{}", self.id)
    }

    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn task(&self) -> &Task {
        &self.task
    }
    pub fn state(&self) -> InspectionState {
        self.state
    }
    pub fn revision(&self) -> u64 {
        self.revision
    }
    pub fn created_at(&self) -> DateTime<FixedOffset> {
        self.created_at
    }
    pub fn approved_by(&self) -> Option<&str> {
        self.approved_by.as_deref()
    }
    pub fn scheduled_for(&self) -> Option<NaiveDate> {
        self.scheduled_for
    }
    pub fn inspectors(&self) -> &[Inspector] {
        &self.inspectors
    }
    /// The enterprise as it was in the register the checklist was prepared from.
    pub fn enterprise(&self) -> Option<&Enterprise> {
        self.enterprise.as_ref()
    }
    pub fn checklist(&self) -> Option<&ExpandedChecklist> {
        self.checklist.as_ref()
    }
    pub fn header(&self) -> &RecordHeader {
        &self.header
    }
    pub fn check_in_record(&self) -> Option<&CheckIn> {
        self.check_in.as_ref()
    }
    pub fn credentials(&self) -> Option<&CredentialsShown> {
        self.credentials.as_ref()
    }
    pub fn recusal(&self) -> Option<&RecusalAnswer> {
        self.recusal.as_ref()
    }
    pub fn answers(&self) -> &BTreeMap<String, AnswerRecord> {
        &self.answers
    }
    pub fn answer(&self, item_id: &str) -> Option<&AnswerValue> {
        self.answers.get(item_id).map(|r| &r.value)
    }
    pub fn evidence_count(&self, item_id: &str, kind: EvidenceKind) -> u32 {
        self.evidence_counts.get(item_id).and_then(|m| m.get(&kind)).copied().unwrap_or(0)
    }
    pub fn evidence_total(&self, item_id: &str) -> u32 {
        self.evidence_counts.get(item_id).map_or(0, |m| m.values().sum())
    }
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
    /// Findings that were not withdrawn.
    pub fn active_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.withdrawn.is_none())
    }
    pub fn suspension(&self) -> Option<&Suspension> {
        self.suspension.as_ref()
    }
    pub fn abort_info(&self) -> Option<&Abort> {
        self.abort.as_ref()
    }
    pub fn signing(&self) -> Option<&Signing> {
        self.signing.as_ref()
    }
    pub fn check_out(&self) -> Option<&CheckOut> {
        self.check_out.as_ref()
    }

    /// The day of the visit: the check-in date, else the scheduled date, else the planned date.
    /// Certificates must be valid on it; rectification deadlines must fall after it.
    pub fn inspection_date(&self) -> NaiveDate {
        self.check_in
            .as_ref()
            .map(|c| c.at.date_naive())
            .or(self.scheduled_for)
            .unwrap_or(self.task.planned_date)
    }
}
