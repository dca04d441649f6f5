//! Read models the screens draw as they are: mirrors of the core's, with dates and times as text.

use fieldseal_core::{
    checklist,
    model::{self, view},
    trail::TrailEntry,
};

use super::inputs::{AnswerInput, EvidenceKind, FindingCategory, Handling, mirror_enum};

/// What importing a register stored.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RegisterSummary {
    pub version: String,
    /// SHA-256 (hex) of the register's canonical JSON; records name it (requirement 11).
    pub content_hash: String,
    pub published_at: String,
    pub inspectors: u32,
    pub enterprises: u32,
    pub permits: u32,
}

impl From<&model::RegisterSnapshot> for RegisterSummary {
    fn from(s: &model::RegisterSnapshot) -> Self {
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
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RegisterInspector {
    pub id: String,
    pub name: String,
    /// 执法证号.
    pub certificate_no: String,
    pub issuer: String,
    pub unit: String,
    /// ISO dates, inclusive.
    pub valid_from: String,
    pub valid_until: String,
    /// False for uncertified assistants.
    pub certified: bool,
    /// Why the certificate cannot be used today (`certificate.expired`...), if it cannot.
    pub certificate_problem_today: Option<String>,
}

impl RegisterInspector {
    pub(super) fn on(i: &model::Inspector, today: chrono::NaiveDate) -> Self {
        RegisterInspector {
            id: i.id.clone(),
            name: i.name.clone(),
            certificate_no: i.certificate_no.clone(),
            issuer: i.issuer.clone(),
            unit: i.unit.clone(),
            valid_from: i.valid_from.to_string(),
            valid_until: i.valid_until.to_string(),
            certified: i.certified,
            certificate_problem_today: i.certificate_problem(today).map(|p| p.rule().to_owned()),
        }
    }
}

/// What importing a checklist template stored.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TemplateSummary {
    pub id: String,
    pub version: String,
    pub title: String,
    pub sections: u32,
    /// Items before expansion over a permit.
    pub items: u32,
}

impl From<&checklist::Template> for TemplateSummary {
    fn from(t: &checklist::Template) -> Self {
        TemplateSummary {
            id: t.id.clone(),
            version: t.version.clone(),
            title: t.title.clone(),
            sections: t.sections.len() as u32,
            items: t.items().count() as u32,
        }
    }
}

mirror_enum! {
    /// 检查状态 — where an inspection is.
    InspectionState <=> model::InspectionState {
        Draft,
        Approved,
        Scheduled,
        /// 离线就绪 — task, checklist, permit and history on the device.
        ReadyOffline,
        OnSite,
        Recording,
        /// 待签字.
        PendingSignature,
        Signed,
        ClosedOnSite,
        Aborted,
        Suspended,
    }
}

/// Answered versus required among the items currently shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Progress {
    pub answered: u32,
    pub required: u32,
    pub visible: u32,
}

impl From<model::Progress> for Progress {
    fn from(p: model::Progress) -> Self {
        Progress { answered: p.answered, required: p.required, visible: p.visible }
    }
}

/// One row of the task list.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TaskRow {
    pub inspection_id: String,
    pub title: String,
    pub enterprise_id: String,
    /// Empty until the inspection is prepared offline from the register.
    pub enterprise_name: String,
    /// ISO date: the scheduled date, else the planned one.
    pub planned_date: String,
    pub state: InspectionState,
    pub state_zh: String,
    pub state_en: String,
    pub source_zh: String,
    /// 重点排污单位.
    pub key_polluter: bool,
    /// 正面清单.
    pub positive_list: bool,
    pub progress: Progress,
    pub open_findings: u32,
}

impl From<view::TaskRow> for TaskRow {
    fn from(r: view::TaskRow) -> Self {
        TaskRow {
            inspection_id: r.inspection_id,
            title: r.title,
            enterprise_id: r.enterprise_id,
            enterprise_name: r.enterprise_name,
            planned_date: r.planned_date.to_string(),
            state: r.state.into(),
            state_zh: r.state_zh,
            state_en: r.state_en,
            source_zh: r.source_zh,
            key_polluter: r.key_polluter,
            positive_list: r.positive_list,
            progress: r.progress.into(),
            open_findings: r.open_findings,
        }
    }
}

/// One reason an inspection cannot advance: a stable rule, what it concerns, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Blocker {
    pub rule: String,
    /// The checklist item concerned, if any.
    pub item: Option<String>,
    /// The header field concerned (e.g. `place`), if any.
    pub field: Option<String>,
    pub message_zh: String,
    pub message_en: String,
}

impl From<model::Blocker> for Blocker {
    fn from(b: model::Blocker) -> Self {
        Blocker {
            rule: b.rule,
            item: b.item,
            field: b.field,
            message_zh: b.message.zh,
            message_en: b.message.en,
        }
    }
}

mirror_enum! {
    /// 检查方式.
    Method <=> checklist::Method {
        /// 现场检查.
        OnSite,
        /// 非现场检查.
        OffSite,
    }
}

mirror_enum! {
    /// What the screen shows for an item.
    ItemState <=> view::ItemState {
        Hidden,
        Unanswered,
        /// Answered and nothing is missing.
        Complete,
        Invalid,
        NeedsEvidence,
        NeedsFinding,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChoiceOption {
    pub value: String,
    pub label: String,
    pub label_en: Option<String>,
}

impl From<checklist::ChoiceOption> for ChoiceOption {
    fn from(o: checklist::ChoiceOption) -> Self {
        ChoiceOption { value: o.value, label: o.label, label_en: o.label_en }
    }
}

/// Evidence a rule in force asks for, and how much is linked.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EvidenceNeed {
    pub kind: EvidenceKind,
    pub min: u32,
    pub have: u32,
}

/// One checklist item as the screen draws it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ItemView {
    pub id: String,
    pub template_item_id: String,
    /// The outlet or facility an expanded item is about.
    pub permit_item_name: Option<String>,
    /// 检查要点.
    pub check_point: String,
    pub check_point_en: Option<String>,
    /// 判定标准.
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
    pub answer: Option<AnswerInput>,
    pub answer_display: Option<String>,
    /// How many times the answer was corrected (each with its reason, in the trail).
    pub corrections: u32,
    pub state: ItemState,
    /// The first thing to fix.
    pub message_zh: Option<String>,
    pub message_en: Option<String>,
    pub evidence_count: u32,
    pub evidence_needed: Vec<EvidenceNeed>,
    pub finding_ids: Vec<String>,
}

impl From<view::ItemView> for ItemView {
    fn from(v: view::ItemView) -> Self {
        let (message_zh, message_en) = v.message.map(|m| (m.zh, m.en)).unzip();
        ItemView {
            id: v.id,
            template_item_id: v.template_item_id,
            permit_item_name: v.permit_item_name,
            check_point: v.check_point,
            check_point_en: v.check_point_en,
            pass_criterion: v.pass_criterion,
            method: v.method.into(),
            legal_basis: v.legal_basis,
            answer_type: v.answer_type,
            unit: v.unit,
            min: v.min,
            max: v.max,
            options: v.options.into_iter().map(Into::into).collect(),
            required: v.required,
            visible: v.visible,
            answer: v.answer.map(Into::into),
            answer_display: v.answer_display,
            corrections: v.corrections,
            state: v.state.into(),
            message_zh,
            message_en,
            evidence_count: v.evidence_count,
            evidence_needed: v
                .evidence_needed
                .into_iter()
                .map(|n| EvidenceNeed { kind: n.kind.into(), min: n.min, have: n.have })
                .collect(),
            finding_ids: v.finding_ids,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SectionView {
    pub id: String,
    pub title: String,
    pub title_en: Option<String>,
    pub items: Vec<ItemView>,
}

/// The checklist screen: sections of items, progress, and why the next step is not possible yet.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChecklistView {
    pub inspection_id: String,
    pub state: InspectionState,
    pub template_id: String,
    /// Empty until prepared offline; then the versions the record will name (requirement 11).
    pub template_version: String,
    pub register_version: String,
    pub sections: Vec<SectionView>,
    pub progress: Progress,
    /// Why the inspection cannot take its next step now (empty when it can).
    pub next_step_blockers: Vec<Blocker>,
}

impl From<view::ChecklistView> for ChecklistView {
    fn from(v: view::ChecklistView) -> Self {
        ChecklistView {
            inspection_id: v.inspection_id,
            state: v.state.into(),
            template_id: v.template_id,
            template_version: v.template_version,
            register_version: v.register_version,
            sections: v
                .sections
                .into_iter()
                .map(|s| SectionView {
                    id: s.id,
                    title: s.title,
                    title_en: s.title_en,
                    items: s.items.into_iter().map(Into::into).collect(),
                })
                .collect(),
            progress: v.progress.into(),
            next_step_blockers: v.blockers.into_iter().map(Into::into).collect(),
        }
    }
}

/// 笔录首部 — the record header as it stands. Times are RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RecordHeader {
    pub enterprise_name: String,
    pub uscc: String,
    pub legal_representative: String,
    pub address: String,
    pub place: String,
    pub person_in_charge_name: String,
    pub person_in_charge_post: String,
    pub person_in_charge_id_number: String,
    pub person_in_charge_phone: String,
    pub recorder_id: String,
    pub task_source: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
}

impl From<model::RecordHeader> for RecordHeader {
    fn from(h: model::RecordHeader) -> Self {
        RecordHeader {
            enterprise_name: h.enterprise_name,
            uscc: h.uscc,
            legal_representative: h.legal_representative,
            address: h.address,
            place: h.place,
            person_in_charge_name: h.person_in_charge_name,
            person_in_charge_post: h.person_in_charge_post,
            person_in_charge_id_number: h.person_in_charge_id_number,
            person_in_charge_phone: h.person_in_charge_phone,
            recorder_id: h.recorder_id,
            task_source: h.task_source,
            started_at: h.started_at.map(|t| t.to_rfc3339()),
            ended_at: h.ended_at.map(|t| t.to_rfc3339()),
        }
    }
}

mirror_enum! {
    /// 发现 → 整改 → 销号 — where a finding's problem is.
    ProblemState <=> model::ProblemState {
        /// 发现.
        Identified,
        /// 现场整改完毕（已拍照核实）.
        FixedOnSite,
        /// 已下达责令改正决定.
        OrderIssued,
        /// 已送达.
        Served,
        /// 整改中.
        InRectification,
        /// 待复查.
        RecheckDue,
        /// 已复查.
        Rechecked,
        /// 逾期未改.
        Overdue,
        /// 已移交立案.
        Escalated,
        /// 已销号.
        Closed,
    }
}

/// A recorded finding and where its problem stands.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
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

impl From<model::Finding> for FindingView {
    fn from(f: model::Finding) -> Self {
        FindingView {
            continuous_penalty_days: f.problem.continuous_penalty_days(),
            problem_state: f.problem.state.into(),
            id: f.id,
            item_id: f.item_id,
            category_zh: f.category.label_zh().to_owned(),
            category: f.category.into(),
            description: f.description,
            legal_basis: f.legal_basis,
            evidence_ids: f.evidence_ids,
            handling: f.handling.into(),
            withdrawn_reason: f.withdrawn,
        }
    }
}

/// One event of the inspection's hash-chained trail (全过程记录), after its link was verified.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TrailEvent {
    pub seq: i64,
    /// RFC 3339, when it was appended.
    pub at: String,
    /// e.g. `inspection.answer_set`.
    pub kind: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<TrailEntry> for TrailEvent {
    fn from(e: TrailEntry) -> Self {
        TrailEvent { seq: e.seq, at: e.at, kind: e.kind, prev_hash: e.prev_hash, hash: e.hash }
    }
}
