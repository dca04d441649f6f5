//! The register and inspections (being written).

use crate::error::{Explain, Explained};

/// A domain rule was broken (register, inspection lifecycle, findings).
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
}

impl Explain for DomainError {
    fn explain(&self) -> Explained {
        match self {
            DomainError::Invalid { field, reason } => Explained::invalid(
                "domain.invalid",
                field.clone(),
                reason.clone(),
                format!("字段 {field} 不符合规则：{reason}。请更正后重试。"),
                format!("{field} breaks a rule: {reason}. Correct it and try again."),
            ),
        }
    }
}
