//! 检查清单 — checklist templates: the format, validation on load, answers, and expansion over a
//! permit into the frozen checklist an inspection works through.

mod answer;
mod error;
mod expand;
mod template;
mod validate;

pub use answer::{AnswerValue, ResultCode, check_answer};
pub use error::ChecklistError;
pub use expand::{ExpandedChecklist, ExpandedItem, ExpandedSection, PermitItemRef, expand};
pub use template::{
    AnswerType, ChoiceOption, Condition, EvidenceKind, EvidenceRule, FindingTemplate, Item, Method, Section,
    Template,
};
pub use validate::{MAX_TEMPLATE_BYTES, TemplateProblem, check_template_json, parse_template, validate};
