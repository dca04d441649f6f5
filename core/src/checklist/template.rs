//! 检查清单模板 — the checklist template format (JSON, versioned by template id + version).
//!
//! A template is sections of items. Each item says what to check (检查要点), when it passes (判定标准),
//! how (on-site or off-site), under which law, what kind of answer it takes, when it is shown, which
//! evidence it needs, and which finding a failure produces. An item with `expand_over` becomes one item
//! per matching permit item of the inspected enterprise. `schemas/checklist-template.schema.json`
//! describes the same format for template authors; [`super::parse_template`] is the authority.

use serde::{Deserialize, Serialize};

use super::ResultCode;
use crate::vocabulary::{FindingCategory, HandlingKind, PermitItemKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub id: String,
    pub version: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_en: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_en: Option<String>,
    pub items: Vec<Item>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub id: String,
    /// 检查要点. `{permit_item}` and `{permit_item.<attribute>}` are filled in on expansion.
    pub check_point: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_point_en: Option<String>,
    /// 判定标准.
    #[serde(default)]
    pub pass_criterion: String,
    pub method: Method,
    /// 法律依据.
    #[serde(default)]
    pub legal_basis: Vec<String>,
    #[serde(default = "yes")]
    pub required: bool,
    pub answer: AnswerType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expand_over: Option<PermitItemKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<FindingTemplate>,
}

/// 检查方式.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// 现场检查.
    OnSite,
    /// 非现场检查 (online monitoring, documents, video...).
    OffSite,
}

/// What kind of answer an item takes. `type` names it in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AnswerType {
    /// 检查结果: 合格 / 不合格 / 不涉及 / 未检查.
    Result,
    /// A measurement; `min`/`max` bound what can be entered (e.g. pH 0–14), inclusive.
    Number {
        unit: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    Text {
        #[serde(default)]
        multiline: bool,
    },
    SingleChoice {
        options: Vec<ChoiceOption>,
    },
    MultipleChoice {
        options: Vec<ChoiceOption>,
    },
    Date,
}

impl AnswerType {
    /// The `type` names the format knows; anything else is `answer.type.unknown`.
    pub const TYPE_NAMES: [&'static str; 6] =
        ["result", "number", "text", "single_choice", "multiple_choice", "date"];

    pub fn type_name(&self) -> &'static str {
        match self {
            AnswerType::Result => "result",
            AnswerType::Number { .. } => "number",
            AnswerType::Text { .. } => "text",
            AnswerType::SingleChoice { .. } => "single_choice",
            AnswerType::MultipleChoice { .. } => "multiple_choice",
            AnswerType::Date => "date",
        }
    }

    pub fn options(&self) -> &[ChoiceOption] {
        match self {
            AnswerType::SingleChoice { options } | AnswerType::MultipleChoice { options } => options,
            _ => &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ChoiceOption {
    pub value: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
}

/// Show the item only when another item's answer `equals` a value or is `one_of` several.
/// Exactly one of the two must be given. For a multiple-choice target, "equals" means "includes".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub item: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<serde_json::Value>>,
}

impl Condition {
    /// The values that satisfy the condition.
    pub fn values(&self) -> Vec<&serde_json::Value> {
        match (&self.equals, &self.one_of) {
            (Some(v), _) => vec![v],
            (None, Some(vs)) => vs.iter().collect(),
            (None, None) => Vec::new(),
        }
    }
}

/// Kinds of evidence an item can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    Photo,
    Video,
    Audio,
    Document,
    Data,
}

impl EvidenceKind {
    pub fn code(self) -> &'static str {
        match self {
            EvidenceKind::Photo => "photo",
            EvidenceKind::Video => "video",
            EvidenceKind::Audio => "audio",
            EvidenceKind::Document => "document",
            EvidenceKind::Data => "data",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            EvidenceKind::Photo => "照片",
            EvidenceKind::Video => "视频",
            EvidenceKind::Audio => "录音",
            EvidenceKind::Document => "书证",
            EvidenceKind::Data => "电子数据",
        }
    }
}

/// At least `min` pieces of `kind`, when the item's result is `when_result` (or, without it, whenever
/// the item was actually checked: answered with anything but 不涉及 / 未检查).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRule {
    pub kind: EvidenceKind,
    pub min: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_result: Option<ResultCode>,
}

/// What a failure of this item produces by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingTemplate {
    pub category: FindingCategory,
    #[serde(default)]
    pub legal_basis: Vec<String>,
    pub default_handling: HandlingKind,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

impl Template {
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items().find(|i| i.id == id)
    }
}
