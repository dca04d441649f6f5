//! 问题 — a finding made from a failed checklist item, and how it is to be handled.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{DomainError, Problem};

pub use crate::vocabulary::{FindingCategory, HandlingKind};

/// What is to happen about a finding, with the facts each kind of handling needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Handling {
    /// 立行立改 — fixed on the spot; verified later by an after-photo (see [`Problem`]).
    FixOnSite,
    /// 限期整改 — rectify by a deadline after the inspection date.
    RectifyByDeadline { measures: String, deadline: NaiveDate },
    /// 立案查处 — open a case.
    OpenCase {
        #[serde(default)]
        note: String,
    },
    /// 不予处罚 — eligible for no penalty: which published list entry or article makes it so.
    NoPenalty { eligibility_basis: String },
    /// 移送 — transfer to another authority.
    Transfer { to_authority: String, reason: String },
}

impl Handling {
    pub fn kind(&self) -> HandlingKind {
        match self {
            Handling::FixOnSite => HandlingKind::FixOnSite,
            Handling::RectifyByDeadline { .. } => HandlingKind::RectifyByDeadline,
            Handling::OpenCase { .. } => HandlingKind::OpenCase,
            Handling::NoPenalty { .. } => HandlingKind::NoPenalty,
            Handling::Transfer { .. } => HandlingKind::Transfer,
        }
    }

    /// Checks the facts this handling needs, against the inspection date.
    pub fn check(&self, inspection_date: NaiveDate) -> Result<(), DomainError> {
        let blank = |s: &str| s.trim().is_empty();
        match self {
            Handling::RectifyByDeadline { measures, deadline } => {
                if blank(measures) {
                    return Err(DomainError::invalid("handling.measures", "handling.measures.missing"));
                }
                if *deadline <= inspection_date {
                    return Err(DomainError::invalid(
                        "handling.deadline",
                        "handling.deadline.not_after_inspection",
                    ));
                }
                Ok(())
            }
            Handling::NoPenalty { eligibility_basis } if blank(eligibility_basis) => {
                Err(DomainError::invalid("handling.eligibility_basis", "handling.no_penalty.basis_missing"))
            }
            Handling::Transfer { to_authority, reason } if blank(to_authority) || blank(reason) => {
                Err(DomainError::invalid("handling.to_authority", "handling.transfer.incomplete"))
            }
            _ => Ok(()),
        }
    }
}

/// A finding as recorded on site. Its content is frozen with the record; only `problem` moves on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    /// The expanded checklist item that failed.
    pub item_id: String,
    pub category: FindingCategory,
    pub description: String,
    pub legal_basis: Vec<String>,
    pub evidence_ids: Vec<String>,
    pub handling: Handling,
    pub problem: Problem,
    /// Set when the finding was withdrawn before signature (the item was corrected), with why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
}

/// What an inspector enters to create a finding; category and legal basis default from the template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewFinding {
    pub item_id: String,
    #[serde(default)]
    pub category: Option<FindingCategory>,
    pub description: String,
    #[serde(default)]
    pub legal_basis: Vec<String>,
    #[serde(default)]
    pub evidence_ids: Vec<String>,
    pub handling: Handling,
}
