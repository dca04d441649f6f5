//! 检查清单 — checklist templates: the format, validation on load and answers. Expanding a template
//! over a permit (which needs the register) is the model's: [`crate::model::expand`].

mod answer;
mod error;
mod template;
mod validate;

pub use answer::{AnswerValue, ResultCode, check_answer};
pub use error::ChecklistError;
pub use template::{
    AnswerType, ChoiceOption, Condition, EvidenceKind, EvidenceRule, FindingTemplate, Item, Method, Section,
    Template,
};
pub use validate::{MAX_TEMPLATE_BYTES, TemplateProblem, check_template_json, parse_template, validate};
