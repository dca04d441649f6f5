//! 发现 → 整改 → 销号 — the life of a problem after it is found.
//!
//! Two roads lead to 销号 (closed): fixed on site and verified by an after-photo; or a rectification
//! order issued, served, worked on, and passed at re-check. A failed re-check makes the problem
//! overdue and then escalated to a case, where the daily continuous penalty (按日连续处罚) counts the
//! days from the day after service to the re-check. A closed problem can be reopened.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{DomainError, Handling};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum ProblemState {
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

impl ProblemState {
    pub fn code(self) -> &'static str {
        match self {
            ProblemState::Identified => "identified",
            ProblemState::FixedOnSite => "fixed_on_site",
            ProblemState::OrderIssued => "order_issued",
            ProblemState::Served => "served",
            ProblemState::InRectification => "in_rectification",
            ProblemState::RecheckDue => "recheck_due",
            ProblemState::Rechecked => "rechecked",
            ProblemState::Overdue => "overdue",
            ProblemState::Escalated => "escalated",
            ProblemState::Closed => "closed",
        }
    }
}

/// A step along the problem's road.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ProblemAction {
    /// 立行立改 verified: the after-photo shows the fix.
    VerifyFixedOnSite {
        after_photo_evidence_id: String,
    },
    /// 责令改正 — the order (facts, reasons, legal basis come from the finding; measures and deadline
    /// from its handling).
    IssueOrder {
        order_no: String,
        facts: String,
    },
    Serve {
        served_on: NaiveDate,
    },
    SubmitProof {
        evidence_ids: Vec<String>,
    },
    MarkRecheckDue,
    Recheck {
        on: NaiveDate,
        passed: bool,
        note: String,
    },
    MarkOverdue,
    Escalate {
        case_no: String,
    },
    /// 销号.
    Close,
    Reopen {
        reason: String,
    },
}

impl ProblemAction {
    pub fn code(&self) -> &'static str {
        match self {
            ProblemAction::VerifyFixedOnSite { .. } => "verify_fixed_on_site",
            ProblemAction::IssueOrder { .. } => "issue_order",
            ProblemAction::Serve { .. } => "serve",
            ProblemAction::SubmitProof { .. } => "submit_proof",
            ProblemAction::MarkRecheckDue => "mark_recheck_due",
            ProblemAction::Recheck { .. } => "recheck",
            ProblemAction::MarkOverdue => "mark_overdue",
            ProblemAction::Escalate { .. } => "escalate",
            ProblemAction::Close => "close",
            ProblemAction::Reopen { .. } => "reopen",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemStep {
    pub action: String,
    pub to: ProblemState,
    pub at: DateTime<FixedOffset>,
}

/// The tracked state of one finding's problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub state: ProblemState,
    #[serde(default)]
    pub after_photo_evidence_id: Option<String>,
    #[serde(default)]
    pub order_no: Option<String>,
    #[serde(default)]
    pub served_on: Option<NaiveDate>,
    #[serde(default)]
    pub proof_evidence_ids: Vec<String>,
    #[serde(default)]
    pub recheck: Option<(NaiveDate, bool)>,
    #[serde(default)]
    pub case_no: Option<String>,
    #[serde(default)]
    pub reopen_reasons: Vec<String>,
    #[serde(default)]
    pub history: Vec<ProblemStep>,
}

impl Default for Problem {
    fn default() -> Self {
        Problem {
            state: ProblemState::Identified,
            after_photo_evidence_id: None,
            order_no: None,
            served_on: None,
            proof_evidence_ids: Vec::new(),
            recheck: None,
            case_no: None,
            reopen_reasons: Vec::new(),
            history: Vec::new(),
        }
    }
}

fn not_allowed(from: ProblemState, action: &ProblemAction) -> DomainError {
    DomainError::NotAllowed {
        rule: "problem.transition".into(),
        detail: format!("{} is not possible while the problem is {}", action.code(), from.code()),
    }
}

fn required(field: &str, value: &str) -> Result<(), DomainError> {
    if value.trim().is_empty() {
        return Err(DomainError::invalid(field, format!("{field}.missing")));
    }
    Ok(())
}

impl Problem {
    /// Days of 按日连续处罚: from the day after service through the re-check date.
    pub fn continuous_penalty_days(&self) -> Option<i64> {
        match (self.served_on, self.recheck) {
            (Some(served), Some((on, false))) => Some((on - served).num_days().max(0)),
            _ => None,
        }
    }

    /// Applies `action` if the current state and the finding's handling allow it; on error nothing
    /// changes.
    pub fn apply(
        &mut self,
        handling: &Handling,
        legal_basis: &[String],
        action: &ProblemAction,
        at: DateTime<FixedOffset>,
    ) -> Result<ProblemState, DomainError> {
        use ProblemState as S;
        let from = self.state;
        let to = match (from, action) {
            (S::Identified, ProblemAction::VerifyFixedOnSite { after_photo_evidence_id }) => {
                if !matches!(handling, Handling::FixOnSite) {
                    return Err(not_allowed(from, action));
                }
                required("after_photo_evidence_id", after_photo_evidence_id)?;
                self.after_photo_evidence_id = Some(after_photo_evidence_id.clone());
                S::FixedOnSite
            }
            (S::Identified, ProblemAction::IssueOrder { order_no, facts }) => {
                if !matches!(handling, Handling::RectifyByDeadline { .. }) {
                    return Err(not_allowed(from, action));
                }
                required("order_no", order_no)?;
                required("facts", facts)?;
                if legal_basis.iter().all(|b| b.trim().is_empty()) {
                    return Err(DomainError::invalid("legal_basis", "order.legal_basis.missing"));
                }
                self.order_no = Some(order_no.clone());
                S::OrderIssued
            }
            (S::OrderIssued, ProblemAction::Serve { served_on }) => {
                self.served_on = Some(*served_on);
                S::Served
            }
            (S::Served | S::InRectification, ProblemAction::SubmitProof { evidence_ids }) => {
                if evidence_ids.is_empty() {
                    return Err(DomainError::invalid("evidence_ids", "proof.evidence.missing"));
                }
                self.proof_evidence_ids.extend(evidence_ids.iter().cloned());
                S::InRectification
            }
            (S::Served | S::InRectification, ProblemAction::MarkRecheckDue) => S::RecheckDue,
            (S::RecheckDue, ProblemAction::Recheck { on, passed, note }) => {
                if self.served_on.is_some_and(|s| *on < s) {
                    return Err(DomainError::invalid("recheck.on", "recheck.before_service"));
                }
                if !passed {
                    required("note", note)?;
                }
                self.recheck = Some((*on, *passed));
                S::Rechecked
            }
            (S::Rechecked, ProblemAction::MarkOverdue) if matches!(self.recheck, Some((_, false))) => {
                S::Overdue
            }
            (S::Overdue, ProblemAction::Escalate { case_no }) => {
                required("case_no", case_no)?;
                self.case_no = Some(case_no.clone());
                S::Escalated
            }
            (S::FixedOnSite, ProblemAction::Close) => S::Closed,
            (S::Rechecked, ProblemAction::Close) if matches!(self.recheck, Some((_, true))) => S::Closed,
            (S::Closed, ProblemAction::Reopen { reason }) => {
                required("reason", reason)?;
                self.reopen_reasons.push(reason.clone());
                // A reopened problem starts over: the old fix or re-check no longer closes it.
                self.after_photo_evidence_id = None;
                self.recheck = None;
                S::Identified
            }
            _ => return Err(not_allowed(from, action)),
        };
        self.state = to;
        self.history.push(ProblemStep { action: action.code().to_owned(), to, at });
        Ok(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2025-03-10T10:00:00+08:00").unwrap()
    }
    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn deadline() -> Handling {
        Handling::RectifyByDeadline { measures: "更换破损防渗层".into(), deadline: d("2025-04-10") }
    }
    const BASIS: &[String] = &[];

    #[test]
    fn fix_on_site_closes_only_after_an_after_photo() {
        let mut p = Problem::default();
        assert!(p.apply(&Handling::FixOnSite, BASIS, &ProblemAction::Close, at()).is_err());
        let empty = ProblemAction::VerifyFixedOnSite { after_photo_evidence_id: " ".into() };
        assert!(p.apply(&Handling::FixOnSite, BASIS, &empty, at()).is_err());
        assert_eq!(p.state, ProblemState::Identified);
        let photo = ProblemAction::VerifyFixedOnSite { after_photo_evidence_id: "ev-after-1".into() };
        p.apply(&Handling::FixOnSite, BASIS, &photo, at()).unwrap();
        assert_eq!(
            p.apply(&Handling::FixOnSite, BASIS, &ProblemAction::Close, at()).unwrap(),
            ProblemState::Closed
        );
        let reopen = ProblemAction::Reopen { reason: "复查发现再次破损".into() };
        assert_eq!(p.apply(&Handling::FixOnSite, BASIS, &reopen, at()).unwrap(), ProblemState::Identified);
        assert_eq!(p.after_photo_evidence_id, None);
    }

    #[test]
    fn failed_recheck_escalates_and_counts_penalty_days() {
        let basis = vec!["《中华人民共和国固体废物污染环境防治法》第七十九条".to_owned()];
        let h = deadline();
        let mut p = Problem::default();
        let steps = [
            ProblemAction::IssueOrder {
                order_no: "责改〔2025〕12号".into(), facts: "防渗层破损".into()
            },
            ProblemAction::Serve { served_on: d("2025-03-11") },
            ProblemAction::MarkRecheckDue,
            ProblemAction::Recheck { on: d("2025-04-11"), passed: false, note: "未整改".into() },
            ProblemAction::MarkOverdue,
            ProblemAction::Escalate { case_no: "案〔2025〕3号".into() },
        ];
        for s in &steps {
            p.apply(&h, &basis, s, at()).unwrap();
        }
        assert_eq!(p.state, ProblemState::Escalated);
        assert_eq!(p.continuous_penalty_days(), Some(31));
        assert!(p.apply(&h, &basis, &ProblemAction::Close, at()).is_err());
    }

    #[test]
    fn order_needs_deadline_handling_and_legal_basis() {
        let order = ProblemAction::IssueOrder { order_no: "1".into(), facts: "f".into() };
        assert!(Problem::default().apply(&Handling::FixOnSite, &["x".into()], &order, at()).is_err());
        assert!(Problem::default().apply(&deadline(), &[], &order, at()).is_err());
        assert!(Problem::default().apply(&deadline(), &["x".into()], &order, at()).is_ok());
    }
}
