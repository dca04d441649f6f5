//! What the app sends in: tasks, answers, locations, findings and problem steps, typed for Kotlin
//! and Swift and converted to the core's types here. Dates cross as ISO `YYYY-MM-DD` text; a
//! malformed one is refused with the core's own error naming the field.

use chrono::NaiveDate;
use fieldseal_core::{
    checklist::{AnswerValue, ChecklistError},
    model::{self, DomainError},
};

/// Maps a field-less mirror enum to and from its core twin, variant for variant; adding a variant to
/// either side without the other fails to compile.
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $name:ident <=> $core:path { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl From<$core> for $name {
            fn from(value: $core) -> Self {
                type Core = $core;
                match value {
                    $(Core::$variant => $name::$variant),+
                }
            }
        }

        impl From<$name> for $core {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => Self::$variant),+
                }
            }
        }
    };
}
pub(crate) use mirror_enum;

/// Reads an ISO date the app sent for `field`.
pub(crate) fn iso_date(field: &str, text: &str) -> Result<NaiveDate, fieldseal_core::Error> {
    text.trim().parse().map_err(|_| DomainError::invalid(field, "date.malformed").into())
}

mirror_enum! {
    /// 任务来源 — where a task came from.
    TaskSource <=> model::TaskSource {
        /// 双随机、一公开.
        DoubleRandom,
        /// 12369 投诉举报.
        Complaint,
        /// 专项检查.
        Campaign,
        /// 自动监控预警核查.
        MonitoringAlert,
        /// 整改复查.
        Recheck,
        Other,
    }
}

/// 检查任务 — a task as pulled from the provincial system (or entered on the device).
#[derive(Debug, Clone, uniffi::Record)]
pub struct NewTask {
    pub task_id: String,
    pub title: String,
    pub source: TaskSource,
    pub enterprise_id: String,
    /// The template to use; its version is fixed when the inspection is prepared for offline use.
    pub template_id: String,
    /// ISO date.
    pub planned_date: String,
}

impl TryFrom<NewTask> for model::Task {
    type Error = fieldseal_core::Error;

    fn try_from(t: NewTask) -> Result<Self, Self::Error> {
        Ok(model::Task {
            id: t.task_id,
            title: t.title,
            source: t.source.into(),
            enterprise_id: t.enterprise_id,
            template_id: t.template_id,
            planned_date: iso_date("task.planned_date", &t.planned_date)?,
        })
    }
}

/// A WGS-84 fix as the platform reported it.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl From<GeoPoint> for model::GeoPoint {
    fn from(p: GeoPoint) -> Self {
        model::GeoPoint::new(p.lat, p.lon)
    }
}

/// 签到定位 — the check-in fix with what the platform says about it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy in metres (Android: 68 % radius).
    pub accuracy_m: Option<f64>,
    /// `gps`, `network`, `fused`...
    pub provider: String,
    /// The platform flagged the fix as coming from a mock provider.
    pub mocked: bool,
}

mirror_enum! {
    /// 检查结果 — the controlled result set.
    CheckResult <=> fieldseal_core::checklist::ResultCode {
        /// 合格.
        Pass,
        /// 不合格.
        Fail,
        /// 不涉及 / 合理缺项.
        NotApplicable,
        /// 未检查 — needs a reason.
        NotChecked,
    }
}

/// An answer to a checklist item, in the shape of the item's answer type.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum AnswerInput {
    /// For `result` items; `reason` is required for 未检查, a remark otherwise.
    Result {
        result: CheckResult,
        reason: Option<String>,
    },
    Number {
        value: f64,
    },
    Text {
        value: String,
    },
    /// For `single_choice` items: the option's value.
    Choice {
        option: String,
    },
    /// For `multiple_choice` items: the options' values.
    Choices {
        options: Vec<String>,
    },
    /// ISO date.
    Date {
        date: String,
    },
}

impl AnswerInput {
    pub(crate) fn into_core(self, item_id: &str) -> Result<AnswerValue, fieldseal_core::Error> {
        Ok(match self {
            AnswerInput::Result { result, reason } => AnswerValue::Result { code: result.into(), reason },
            AnswerInput::Number { value } => AnswerValue::Number { value },
            AnswerInput::Text { value } => AnswerValue::Text { value },
            AnswerInput::Choice { option } => AnswerValue::SingleChoice { value: option },
            AnswerInput::Choices { options } => AnswerValue::MultipleChoice { values: options },
            AnswerInput::Date { date } => AnswerValue::Date {
                value: date.trim().parse().map_err(|e: chrono::ParseError| {
                    ChecklistError::answer(item_id, "answer.date.malformed", e.to_string())
                })?,
            },
        })
    }
}

impl From<AnswerValue> for AnswerInput {
    fn from(v: AnswerValue) -> Self {
        match v {
            AnswerValue::Result { code, reason } => AnswerInput::Result { result: code.into(), reason },
            AnswerValue::Number { value } => AnswerInput::Number { value },
            AnswerValue::Text { value } => AnswerInput::Text { value },
            AnswerValue::SingleChoice { value } => AnswerInput::Choice { option: value },
            AnswerValue::MultipleChoice { values } => AnswerInput::Choices { options: values },
            AnswerValue::Date { value } => AnswerInput::Date { date: value.to_string() },
        }
    }
}

mirror_enum! {
    /// 笔录首部 — the record header fields an inspector can edit.
    HeaderField <=> model::HeaderField {
        EnterpriseName,
        Uscc,
        LegalRepresentative,
        Address,
        /// 检查地点.
        Place,
        /// 现场负责人.
        PersonInChargeName,
        PersonInChargePost,
        PersonInChargeIdNumber,
        PersonInChargePhone,
        /// 记录人 — an inspector id on the team.
        RecorderId,
    }
}

mirror_enum! {
    EvidenceKind <=> fieldseal_core::checklist::EvidenceKind {
        Photo,
        Video,
        Audio,
        /// 书证.
        Document,
        /// 电子数据.
        Data,
    }
}

mirror_enum! {
    FindingCategory <=> model::FindingCategory {
        Water,
        Air,
        SolidWaste,
        HazardousWaste,
        Noise,
        /// 环境影响评价.
        Eia,
        /// 排污许可.
        Permit,
        /// 自行监测 / 自动监控.
        Monitoring,
        Other,
    }
}

/// What is to happen about a finding, with the facts each kind of handling needs.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Handling {
    /// 立行立改 — verified later by an after-photo.
    FixOnSite,
    /// 限期整改 — `deadline` is an ISO date after the inspection.
    RectifyByDeadline { measures: String, deadline: String },
    /// 立案查处.
    OpenCase { note: String },
    /// 不予处罚 — which published list entry or article makes it eligible.
    NoPenalty { eligibility_basis: String },
    /// 移送.
    Transfer { to_authority: String, reason: String },
}

impl TryFrom<Handling> for model::Handling {
    type Error = fieldseal_core::Error;

    fn try_from(h: Handling) -> Result<Self, Self::Error> {
        Ok(match h {
            Handling::FixOnSite => model::Handling::FixOnSite,
            Handling::RectifyByDeadline { measures, deadline } => model::Handling::RectifyByDeadline {
                measures,
                deadline: iso_date("handling.deadline", &deadline)?,
            },
            Handling::OpenCase { note } => model::Handling::OpenCase { note },
            Handling::NoPenalty { eligibility_basis } => model::Handling::NoPenalty { eligibility_basis },
            Handling::Transfer { to_authority, reason } => model::Handling::Transfer { to_authority, reason },
        })
    }
}

impl From<model::Handling> for Handling {
    fn from(h: model::Handling) -> Self {
        match h {
            model::Handling::FixOnSite => Handling::FixOnSite,
            model::Handling::RectifyByDeadline { measures, deadline } => {
                Handling::RectifyByDeadline { measures, deadline: deadline.to_string() }
            }
            model::Handling::OpenCase { note } => Handling::OpenCase { note },
            model::Handling::NoPenalty { eligibility_basis } => Handling::NoPenalty { eligibility_basis },
            model::Handling::Transfer { to_authority, reason } => Handling::Transfer { to_authority, reason },
        }
    }
}

/// 问题 — a finding on an item answered 不合格. Category and legal basis default from the template.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewFinding {
    pub item_id: String,
    pub category: Option<FindingCategory>,
    pub description: String,
    pub legal_basis: Vec<String>,
    pub evidence_ids: Vec<String>,
    pub handling: Handling,
}

impl TryFrom<NewFinding> for model::NewFinding {
    type Error = fieldseal_core::Error;

    fn try_from(f: NewFinding) -> Result<Self, Self::Error> {
        Ok(model::NewFinding {
            item_id: f.item_id,
            category: f.category.map(Into::into),
            description: f.description,
            legal_basis: f.legal_basis,
            evidence_ids: f.evidence_ids,
            handling: f.handling.try_into()?,
        })
    }
}

/// A step along a problem's road (发现 → 整改 → 销号). Dates are ISO text.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ProblemAction {
    /// 立行立改 verified by an after-photo.
    VerifyFixedOnSite {
        after_photo_evidence_id: String,
    },
    /// 责令改正 — the order.
    IssueOrder {
        order_no: String,
        facts: String,
    },
    /// 送达.
    Serve {
        served_on: String,
    },
    SubmitProof {
        evidence_ids: Vec<String>,
    },
    MarkRecheckDue,
    /// 复查.
    Recheck {
        on: String,
        passed: bool,
        note: String,
    },
    MarkOverdue,
    /// 移交立案.
    Escalate {
        case_no: String,
    },
    /// 销号.
    Close,
    Reopen {
        reason: String,
    },
}

impl TryFrom<ProblemAction> for model::ProblemAction {
    type Error = fieldseal_core::Error;

    fn try_from(a: ProblemAction) -> Result<Self, Self::Error> {
        use model::ProblemAction as P;
        Ok(match a {
            ProblemAction::VerifyFixedOnSite { after_photo_evidence_id } => {
                P::VerifyFixedOnSite { after_photo_evidence_id }
            }
            ProblemAction::IssueOrder { order_no, facts } => P::IssueOrder { order_no, facts },
            ProblemAction::Serve { served_on } => P::Serve { served_on: iso_date("served_on", &served_on)? },
            ProblemAction::SubmitProof { evidence_ids } => P::SubmitProof { evidence_ids },
            ProblemAction::MarkRecheckDue => P::MarkRecheckDue,
            ProblemAction::Recheck { on, passed, note } => {
                P::Recheck { on: iso_date("recheck.on", &on)?, passed, note }
            }
            ProblemAction::MarkOverdue => P::MarkOverdue,
            ProblemAction::Escalate { case_no } => P::Escalate { case_no },
            ProblemAction::Close => P::Close,
            ProblemAction::Reopen { reason } => P::Reopen { reason },
        })
    }
}

mirror_enum! {
    AbortReason <=> model::AbortReason {
        /// 拒绝进入.
        EntryRefused,
        /// 安全原因.
        Safety,
        Other,
    }
}
