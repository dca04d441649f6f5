//! Checklist templates (being written).

use crate::error::{Explain, Explained};

/// A checklist template or answer broke a rule.
#[derive(Debug, thiserror::Error)]
pub enum ChecklistError {
    #[error("{item}: {rule}")]
    Invalid { item: String, rule: String },
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
        }
    }
}
