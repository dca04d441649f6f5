//! Read models the screens draw as they are: the task list and the checklist with each item's state.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{
    Blocker, Finding, FindingCategory, Handling, Inspection, InspectionState, Inspector, Message,
    ProblemState, Progress, RegisterSnapshot, TaskSource,
};
use crate::checklist::{AnswerType, AnswerValue, ChoiceOption, EvidenceKind, Method, Template};

/// One row of the task list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TaskRow {
    pub inspection_id: String,
    pub title: String,
    pub enterprise_id: String,
    /// From the register snapshot once prepared; empty before.
    pub enterprise_name: String,
    pub planned_date: NaiveDate,
    pub state: InspectionState,
    pub state_zh: String,
    pub state_en: String,
    pub source_zh: String,
    pub key_polluter: bool,
    pub positive_list: bool,
    pub progress: Progress,
    pub open_findings: u32,
}

/// What the screen shows for an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Hidden,
    Unanswered,
    /// Answered and nothing is missing.
    Complete,
    Invalid,
    NeedsEvidence,
    NeedsFinding,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EvidenceNeed {
    pub kind: EvidenceKind,
    pub min: u32,
    pub have: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ItemView {
    pub id: String,
    pub template_item_id: String,
    pub permit_item_name: Option<String>,
    pub check_point: String,
    pub check_point_en: Option<String>,
    pub pass_criterion: String,
    pub method: Method,
    pub legal_basis: Vec<String>,
    /// `result`, `number`, `text`, `single_choice`, `multiple_choice` or `date`.
    pub answer_type: String,
    pub unit: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub options: Vec<ChoiceOption>,
    pub required: bool,
    pub visible: bool,
    pub answer: Option<AnswerValue>,
    pub answer_display: Option<String>,
    /// How many times the answer was corrected (each with its reason, in the trail).
    pub corrections: u32,
    pub state: ItemState,
    /// The first thing to fix, in Chinese and English.
    pub message: Option<Message>,
    pub evidence_count: u32,
    pub evidence_needed: Vec<EvidenceNeed>,
    pub finding_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SectionView {
    pub id: String,
    pub title: String,
    pub title_en: Option<String>,
    pub items: Vec<ItemView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ChecklistView {
    pub inspection_id: String,
    pub state: InspectionState,
    pub template_id: String,
    pub template_version: String,
    pub register_version: String,
    pub sections: Vec<SectionView>,
    pub progress: Progress,
    /// Why the inspection cannot take its next step (empty when it can).
    pub blockers: Vec<Blocker>,
}

pub fn task_row(i: &Inspection) -> TaskRow {
    TaskSummary::of(i).into_row(i.id().to_owned())
}

/// 任务摘要 — what one task-list row is made of, taken from the inspection each time it is saved.
/// The store seals it beside the inspection's body, so the task list opens a few hundred bytes per
/// row instead of every whole inspection; the labels are made when the row is drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub title: String,
    pub enterprise_id: String,
    /// From the register snapshot once prepared; empty before.
    pub enterprise_name: String,
    /// The scheduled day once scheduled, the planned one before.
    pub planned_date: NaiveDate,
    pub state: InspectionState,
    pub source: TaskSource,
    pub key_polluter: bool,
    pub positive_list: bool,
    pub progress: Progress,
    pub open_findings: u32,
}

impl TaskSummary {
    pub fn of(i: &Inspection) -> Self {
        let e = i.enterprise();
        TaskSummary {
            title: i.task().title.clone(),
            enterprise_id: i.task().enterprise_id.clone(),
            enterprise_name: e.map(|e| e.name.clone()).unwrap_or_default(),
            planned_date: i.scheduled_for().unwrap_or(i.task().planned_date),
            state: i.state(),
            source: i.task().source,
            key_polluter: e.is_some_and(|e| e.key_polluter),
            positive_list: e.is_some_and(|e| e.positive_list),
            progress: i.progress(),
            open_findings: i.active_findings().filter(|f| f.problem.state != ProblemState::Closed).count()
                as u32,
        }
    }

    /// The row of inspection `inspection_id` (whose summary this is).
    pub fn into_row(self, inspection_id: String) -> TaskRow {
        TaskRow {
            inspection_id,
            title: self.title,
            enterprise_id: self.enterprise_id,
            enterprise_name: self.enterprise_name,
            planned_date: self.planned_date,
            state: self.state,
            state_zh: self.state.label_zh().to_owned(),
            state_en: self.state.label_en().to_owned(),
            source_zh: self.source.label_zh().to_owned(),
            key_polluter: self.key_polluter,
            positive_list: self.positive_list,
            progress: self.progress,
            open_findings: self.open_findings,
        }
    }
}

/// The task list, soonest first.
pub fn task_list(inspections: &[Inspection]) -> Vec<TaskRow> {
    let mut rows: Vec<_> = inspections.iter().map(task_row).collect();
    rows.sort_by(|a, b| (a.planned_date, &a.inspection_id).cmp(&(b.planned_date, &b.inspection_id)));
    rows
}

pub fn checklist_view(i: &Inspection) -> ChecklistView {
    let Some(checklist) = i.checklist() else {
        return ChecklistView {
            inspection_id: i.id().to_owned(),
            state: i.state(),
            template_id: i.task().template_id.clone(),
            template_version: String::new(),
            register_version: String::new(),
            sections: Vec::new(),
            progress: i.progress(),
            blockers: i.next_step_blockers(),
        };
    };
    let sections = checklist
        .sections
        .iter()
        .map(|s| SectionView {
            id: s.id.clone(),
            title: s.title.clone(),
            title_en: s.title_en.clone(),
            items: s.items.iter().map(|item| item_view(i, item)).collect(),
        })
        .collect();
    ChecklistView {
        inspection_id: i.id().to_owned(),
        state: i.state(),
        template_id: checklist.template_id.clone(),
        template_version: checklist.template_version.clone(),
        register_version: checklist.register_version.clone(),
        sections,
        progress: i.progress(),
        blockers: i.next_step_blockers(),
    }
}

fn item_view(i: &Inspection, item: &crate::model::ExpandedItem) -> ItemView {
    let visible = i.is_visible(&item.id);
    let record = i.answers().get(&item.id);
    let blockers = i.item_blockers(item);
    let state = match blockers.first().map(|b| b.rule.as_str()) {
        _ if !visible => ItemState::Hidden,
        None if record.is_some() => ItemState::Complete,
        None | Some("item.unanswered") => ItemState::Unanswered,
        Some("item.evidence_missing") => ItemState::NeedsEvidence,
        Some("item.finding_missing") => ItemState::NeedsFinding,
        Some(_) => ItemState::Invalid,
    };
    let (unit, min, max) = match &item.answer {
        AnswerType::Number { unit, min, max } => (Some(unit.clone()), *min, *max),
        _ => (None, None, None),
    };
    ItemView {
        id: item.id.clone(),
        template_item_id: item.template_item_id.clone(),
        permit_item_name: item.permit_item.as_ref().map(|p| p.name.clone()),
        check_point: item.check_point.clone(),
        check_point_en: item.check_point_en.clone(),
        pass_criterion: item.pass_criterion.clone(),
        method: item.method,
        legal_basis: item.legal_basis.clone(),
        answer_type: item.answer.type_name().to_owned(),
        unit,
        min,
        max,
        options: item.answer.options().to_vec(),
        required: item.required,
        visible,
        answer: record.map(|r| r.value.clone()),
        answer_display: record.map(|r| r.value.display()),
        corrections: record.map_or(0, |r| r.corrections.len() as u32),
        state,
        message: if visible { blockers.first().map(|b| b.message.clone()) } else { None },
        evidence_count: i.evidence_total(&item.id),
        evidence_needed: i
            .evidence_rules_in_force(item)
            .into_iter()
            .map(|r| EvidenceNeed { kind: r.kind, min: r.min, have: i.evidence_count(&item.id, r.kind) })
            .collect(),
        finding_ids: i.active_findings().filter(|f| f.item_id == item.id).map(|f| f.id.clone()).collect(),
    }
}

/// What importing a register stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RegisterSummary {
    pub version: String,
    /// SHA-256 (hex) of the register's canonical JSON; records name it (requirement 11).
    pub content_hash: String,
    pub published_at: String,
    pub inspectors: u32,
    pub enterprises: u32,
    pub permits: u32,
}

impl From<&RegisterSnapshot> for RegisterSummary {
    fn from(s: &RegisterSnapshot) -> Self {
        let r = s.register();
        RegisterSummary {
            version: s.version().to_owned(),
            content_hash: s.content_hash().to_owned(),
            published_at: r.published_at.clone(),
            inspectors: r.inspectors.len() as u32,
            enterprises: r.enterprises.len() as u32,
            permits: r.permits.len() as u32,
        }
    }
}

/// 执法人员 — an inspector in the register on the device, for forming a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RegisterInspector {
    pub id: String,
    pub name: String,
    /// 执法证号.
    pub certificate_no: String,
    pub issuer: String,
    pub unit: String,
    /// Inclusive.
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    /// False for uncertified assistants.
    pub certified: bool,
    /// Why the certificate cannot be used on the day asked about (`certificate.expired`...), if it
    /// cannot.
    pub certificate_problem_today: Option<String>,
}

impl RegisterInspector {
    /// The inspector as a team-forming screen shows them on `today`.
    pub fn on(i: &Inspector, today: NaiveDate) -> Self {
        RegisterInspector {
            id: i.id.clone(),
            name: i.name.clone(),
            certificate_no: i.certificate_no.clone(),
            issuer: i.issuer.clone(),
            unit: i.unit.clone(),
            valid_from: i.valid_from,
            valid_until: i.valid_until,
            certified: i.certified,
            certificate_problem_today: i.certificate_problem(today).map(|p| p.rule().to_owned()),
        }
    }
}

/// What importing a checklist template stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TemplateSummary {
    pub id: String,
    pub version: String,
    pub title: String,
    pub sections: u32,
    /// Items before expansion over a permit.
    pub items: u32,
}

impl From<&Template> for TemplateSummary {
    fn from(t: &Template) -> Self {
        TemplateSummary {
            id: t.id.clone(),
            version: t.version.clone(),
            title: t.title.clone(),
            sections: t.sections.len() as u32,
            items: t.items().count() as u32,
        }
    }
}

/// 问题 — a recorded finding and where its problem stands, as the findings screen draws it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FindingView {
    pub id: String,
    pub item_id: String,
    pub category: FindingCategory,
    pub category_zh: String,
    pub description: String,
    pub legal_basis: Vec<String>,
    pub evidence_ids: Vec<String>,
    pub handling: Handling,
    pub problem_state: ProblemState,
    /// Days of 按日连续处罚 after a failed re-check.
    pub continuous_penalty_days: Option<i64>,
    /// Why the finding was withdrawn before signature, if it was.
    pub withdrawn_reason: Option<String>,
}

impl From<&Finding> for FindingView {
    fn from(f: &Finding) -> Self {
        FindingView {
            id: f.id.clone(),
            item_id: f.item_id.clone(),
            category: f.category,
            category_zh: f.category.label_zh().to_owned(),
            description: f.description.clone(),
            legal_basis: f.legal_basis.clone(),
            evidence_ids: f.evidence_ids.clone(),
            handling: f.handling.clone(),
            problem_state: f.problem.state,
            continuous_penalty_days: f.problem.continuous_penalty_days(),
            withdrawn_reason: f.withdrawn.clone(),
        }
    }
}

/// Every finding of an inspection, withdrawn ones included (with their reason).
pub fn findings_view(i: &Inspection) -> Vec<FindingView> {
    i.findings().iter().map(FindingView::from).collect()
}
