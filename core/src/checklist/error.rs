use super::TemplateProblem;
use crate::explain::{ErrorClass, Explain, Explained};

/// A checklist template, an expansion or an answer broke a rule.
#[derive(Debug, thiserror::Error)]
pub enum ChecklistError {
    #[error("{item}: {rule}")]
    Invalid { item: String, rule: String },
    /// The template failed validation; `problems` lists every broken rule, each naming its item.
    #[error("template {template} has {} problem(s): {}", problems.len(), first(problems))]
    Template { template: String, problems: Vec<TemplateProblem> },
    /// An answer does not fit its item (wrong kind, not in the set, out of limits, missing reason).
    #[error("{item}: [{rule}] {detail}")]
    Answer { item: String, rule: &'static str, detail: String },
    /// The template cannot be expanded for this enterprise.
    #[error("cannot expand: [{rule}] {detail}")]
    Expansion { rule: &'static str, detail: String },
}

fn first(problems: &[TemplateProblem]) -> String {
    problems.first().map(|p| p.to_string()).unwrap_or_default()
}

impl ChecklistError {
    pub fn answer(item: impl Into<String>, rule: &'static str, detail: impl Into<String>) -> Self {
        ChecklistError::Answer { item: item.into(), rule, detail: detail.into() }
    }

    /// The stable name of the broken rule (the first one, for a template).
    pub fn rule(&self) -> &str {
        match self {
            ChecklistError::Invalid { rule, .. } => rule,
            ChecklistError::Template { problems, .. } => {
                problems.first().map_or("template.invalid", |p| p.rule)
            }
            ChecklistError::Answer { rule, .. } | ChecklistError::Expansion { rule, .. } => rule,
        }
    }
}

impl Explain for ChecklistError {
    fn explain(&self) -> Explained {
        match self {
            ChecklistError::Invalid { item, rule } => Explained::invalid(
                "checklist.invalid",
                item.clone(),
                rule.clone(),
                format!("检查项 {item} 不符合规则：{rule}。"),
                format!("Checklist item {item} breaks rule: {rule}."),
            ),
            ChecklistError::Template { template, problems } => {
                let (item, rule) =
                    problems.first().map_or(("", "template.invalid"), |p| (p.item.as_str(), p.rule));
                Explained::invalid(
                    "checklist.template_invalid",
                    item,
                    rule,
                    format!(
                        "检查清单模板 {template} 有 {} 处错误（首处：检查项 {item}，规则 {rule}）。请模板作者修正后重新下发。",
                        problems.len()
                    ),
                    format!(
                        "Checklist template {template} has {} problem(s) (first: item {item}, rule {rule}). Ask the template author to fix it and publish it again.",
                        problems.len()
                    ),
                )
            }
            ChecklistError::Answer { item, rule, detail } => Explained::invalid(
                "checklist.answer_invalid",
                item.clone(),
                *rule,
                format!("检查项 {item} 的答案不符合要求（{rule}：{detail}）。请更正后再保存。"),
                format!(
                    "The answer to item {item} is not accepted ({rule}: {detail}). Correct it and save again."
                ),
            ),
            ChecklistError::Expansion { rule, detail } => Explained::new(
                "checklist.expansion",
                ErrorClass::NotAllowed { rule: (*rule).to_owned() },
                format!("无法按排污许可证展开检查清单（{rule}：{detail}）。请同步名录与模板后重试。"),
                format!(
                    "The checklist cannot be expanded over the permit ({rule}: {detail}). Sync the register and templates, then retry."
                ),
            ),
        }
    }
}
