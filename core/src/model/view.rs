//! Read models the screens draw as they are: the task list and the checklist with each item's state.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{Blocker, Inspection, InspectionState, Message, Progress};
use crate::checklist::{AnswerType, AnswerValue, ChoiceOption, EvidenceKind, Method};

/// One row of the task list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct EvidenceNeed {
    pub kind: EvidenceKind,
    pub min: u32,
    pub have: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct SectionView {
    pub id: String,
    pub title: String,
    pub title_en: Option<String>,
    pub items: Vec<ItemView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    let e = i.enterprise();
    TaskRow {
        inspection_id: i.id().to_owned(),
        title: i.task().title.clone(),
        enterprise_id: i.task().enterprise_id.clone(),
        enterprise_name: e.map(|e| e.name.clone()).unwrap_or_default(),
        planned_date: i.scheduled_for().unwrap_or(i.task().planned_date),
        state: i.state(),
        state_zh: i.state().label_zh().to_owned(),
        state_en: i.state().label_en().to_owned(),
        source_zh: i.task().source.label_zh().to_owned(),
        key_polluter: e.is_some_and(|e| e.key_polluter),
        positive_list: e.is_some_and(|e| e.positive_list),
        progress: i.progress(),
        open_findings: i.active_findings().filter(|f| f.problem.state != super::ProblemState::Closed).count()
            as u32,
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

fn item_view(i: &Inspection, item: &crate::checklist::ExpandedItem) -> ItemView {
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
