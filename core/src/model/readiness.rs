//! What stands between an inspection and its next step, and how far the checklist has come.
//!
//! [`Inspection::signature_blockers`] is the one list both the "pending signature" transition and
//! the screens use, so the app never offers a step the core would refuse.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::ExpandedItem;
use super::{DomainError, HeaderField, Inspection, InspectionState, Message, ProblemState};
use crate::checklist::{AnswerValue, EvidenceRule, ResultCode, check_answer};

/// One reason an inspection cannot advance, for a person and for code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Blocker {
    /// Stable rule name, e.g. `item.unanswered`, `header.field.missing`, `uscc.check_character`.
    pub rule: String,
    /// The expanded checklist item concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// The header field concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: Message,
}

impl Blocker {
    pub fn new(rule: &str, item: Option<String>, message: Message) -> Self {
        Self { rule: rule.to_owned(), item, field: None, message }
    }

    pub(super) fn header(field: HeaderField, rule: &str, message: Message) -> Self {
        Self { rule: rule.to_owned(), item: None, field: Some(field.code().to_owned()), message }
    }

    fn from_error(e: &DomainError) -> Self {
        let explained = crate::explain::Explain::explain(e);
        Self::new(&e.rule(), None, Message::new(explained.message_zh, explained.message_en))
    }
}

/// Answered versus required among the items currently shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Progress {
    pub answered: u32,
    pub required: u32,
    pub visible: u32,
}

impl Inspection {
    /// Requirement 1: at least two inspectors, every one with a valid certificate on `date`, and no
    /// certificate (or inspector) counted twice.
    pub fn require_two_valid_inspectors(&self, date: NaiveDate) -> Result<(), DomainError> {
        let mut certificates: Vec<&str> = Vec::new();
        for i in &self.inspectors {
            if let Some(problem) = i.certificate_problem(date) {
                return Err(DomainError::Certificate { inspector_id: i.id.clone(), rule: problem.rule() });
            }
            let cert = i.certificate_no.trim();
            if certificates.contains(&cert) {
                return Err(DomainError::Certificate {
                    inspector_id: i.id.clone(),
                    rule: "certificate.duplicate",
                });
            }
            certificates.push(cert);
        }
        if certificates.len() < 2 {
            return Err(DomainError::TooFewInspectors { found: certificates.len() });
        }
        Ok(())
    }

    /// Whether an item is shown: no condition, or its condition's item is shown and its answer matches.
    pub fn is_visible(&self, item_id: &str) -> bool {
        let Some(checklist) = &self.checklist else { return false };
        let mut current = item_id;
        // Validation forbids cycles; the bound only guards against a corrupt stored checklist.
        for _ in 0..=checklist.items().count() {
            let Some(item) = checklist.item(current) else { return false };
            let Some(cond) = &item.show_if else { return true };
            let matched = self.answer(&cond.item).is_some_and(|a| cond.values().iter().any(|v| a.matches(v)));
            if !matched {
                return false;
            }
            current = &cond.item;
        }
        false
    }

    /// The evidence rules that apply to an item given its current answer.
    pub fn evidence_rules_in_force<'a>(&self, item: &'a ExpandedItem) -> Vec<&'a EvidenceRule> {
        let Some(answer) = self.answer(&item.id) else { return Vec::new() };
        let code = answer.result_code();
        item.evidence
            .iter()
            .filter(|r| match r.when_result {
                Some(when) => code == Some(when),
                None => !matches!(code, Some(ResultCode::NotApplicable | ResultCode::NotChecked)),
            })
            .collect()
    }

    pub fn progress(&self) -> Progress {
        let mut p = Progress { answered: 0, required: 0, visible: 0 };
        let Some(checklist) = &self.checklist else { return p };
        for item in checklist.items().filter(|i| self.is_visible(&i.id)) {
            p.visible += 1;
            if item.required {
                p.required += 1;
                if self.answers.contains_key(&item.id) {
                    p.answered += 1;
                }
            }
        }
        p
    }

    /// What is wrong with one item now (unanswered, invalid, evidence short, finding missing).
    pub fn item_blockers(&self, item: &ExpandedItem) -> Vec<Blocker> {
        let mut out = Vec::new();
        if !self.is_visible(&item.id) {
            return out;
        }
        let id = Some(item.id.clone());
        let Some(answer) = self.answer(&item.id) else {
            if item.required {
                out.push(Blocker::new(
                    "item.unanswered",
                    id,
                    Message::new(
                        format!("检查项“{}”尚未填写。", item.check_point),
                        format!("Item {} is not answered.", item.id),
                    ),
                ));
            }
            return out;
        };
        if let Err(e) = check_answer(&item.id, &item.answer, answer) {
            out.push(Blocker::new(
                e.rule(),
                id.clone(),
                Message::new(
                    format!("检查项“{}”的答案无效（{}）。", item.check_point, e.rule()),
                    e.to_string(),
                ),
            ));
        }
        for rule in self.evidence_rules_in_force(item) {
            let have = self.evidence_count(&item.id, rule.kind);
            if have < rule.min {
                out.push(Blocker::new(
                    "item.evidence_missing",
                    id.clone(),
                    Message::new(
                        format!(
                            "检查项“{}”需要至少 {} 份{}，现有 {have} 份。",
                            item.check_point,
                            rule.min,
                            rule.kind.label_zh()
                        ),
                        format!(
                            "Item {} needs at least {} {} evidence, has {have}.",
                            item.id,
                            rule.min,
                            rule.kind.code()
                        ),
                    ),
                ));
            }
        }
        if matches!(answer, AnswerValue::Result { code: ResultCode::Fail, .. })
            && !self.active_findings().any(|f| f.item_id == item.id)
        {
            out.push(Blocker::new(
                "item.finding_missing",
                id,
                Message::new(
                    format!("检查项“{}”不合格，请登记问题及处理方式。", item.check_point),
                    format!("Item {} failed: record the finding and its handling.", item.id),
                ),
            ));
        }
        out
    }

    /// Every unmet requirement for "pending signature" (requirements 1, 2 and 3 and the evidence rules).
    pub fn signature_blockers(&self) -> Vec<Blocker> {
        let mut out = Vec::new();
        if let Err(e) = self.require_two_valid_inspectors(self.inspection_date()) {
            out.push(Blocker::from_error(&e));
        }
        if self.credentials.is_none() {
            out.push(Blocker::new(
                "credentials.not_shown",
                None,
                Message::new("尚未记录亮证。", "Showing the credentials has not been recorded."),
            ));
        }
        if self.recusal.as_ref().is_none_or(|r| r.requested) {
            out.push(Blocker::new(
                "recusal.not_answered",
                None,
                Message::new(
                    "尚未询问并记录是否申请回避。",
                    "The recusal question has not been asked and answered.",
                ),
            ));
        }
        out.extend(self.header.blockers(&self.inspectors));
        let Some(checklist) = &self.checklist else {
            out.push(Blocker::new(
                "checklist.missing",
                None,
                Message::new("尚未下载检查清单。", "The checklist has not been prepared."),
            ));
            return out;
        };
        for item in checklist.items() {
            out.extend(self.item_blockers(item));
        }
        for f in self.active_findings() {
            let failed = self.is_visible(&f.item_id)
                && self.answer(&f.item_id).and_then(AnswerValue::result_code) == Some(ResultCode::Fail);
            if !failed {
                out.push(Blocker::new(
                    "finding.item_not_failed",
                    Some(f.item_id.clone()),
                    Message::new(
                        format!("问题 {} 对应的检查项已不是“不合格”，请撤回或更正。", f.id),
                        format!("Finding {} belongs to an item that is no longer failed; withdraw it or correct the item.", f.id),
                    ),
                ));
            }
            if matches!(f.handling, super::Handling::FixOnSite) && f.problem.state == ProblemState::Identified
            {
                out.push(Blocker::new(
                    "finding.fix_unverified",
                    Some(f.item_id.clone()),
                    Message::new(
                        format!("问题 {} 为立行立改，请拍摄整改后照片核实。", f.id),
                        format!("Finding {} is to be fixed on site: verify it with an after-photo.", f.id),
                    ),
                ));
            }
        }
        out
    }

    /// Why the inspection cannot take its next forward step now (empty when it can).
    pub fn next_step_blockers(&self) -> Vec<Blocker> {
        let one = |rule: &str, zh: &str, en: &str| vec![Blocker::new(rule, None, Message::new(zh, en))];
        match self.state {
            InspectionState::Draft => {
                one("approval.required", "检查需经审批。", "The inspection needs approval.")
            }
            InspectionState::Approved => {
                one("schedule.required", "尚未排期。", "The inspection is not scheduled.")
            }
            InspectionState::Scheduled => one(
                "offline.not_ready",
                "尚未下载任务、清单、许可证和历史记录。",
                "Task, checklist, permit and history are not downloaded.",
            ),
            InspectionState::ReadyOffline => {
                match self.require_two_valid_inspectors(self.inspection_date()) {
                    Err(e) => vec![Blocker::from_error(&e)],
                    Ok(()) => one(
                        "check_in.required",
                        "请到达现场后签到（定位）。",
                        "Check in with a location on arrival.",
                    ),
                }
            }
            InspectionState::OnSite => {
                let mut out = Vec::new();
                if self.credentials.is_none() {
                    out.extend(one(
                        "credentials.not_shown",
                        "请出示执法证并记录。",
                        "Show and record the credentials.",
                    ));
                }
                if self.recusal.is_none() {
                    out.extend(one(
                        "recusal.not_answered",
                        "请询问是否申请回避并记录。",
                        "Ask and record the recusal question.",
                    ));
                }
                out
            }
            InspectionState::Recording => self.signature_blockers(),
            InspectionState::PendingSignature => one(
                "signatures.required",
                "等待执法人员和当事人签字。",
                "Waiting for the inspectors' and the party's signatures.",
            ),
            InspectionState::Signed => {
                one("check_out.required", "请签退离开现场。", "Check out when leaving the site.")
            }
            InspectionState::Suspended => one(
                "suspended",
                "检查已暂停，需处理后恢复。",
                "The inspection is suspended; resolve the cause and resume.",
            ),
            InspectionState::ClosedOnSite | InspectionState::Aborted => Vec::new(),
        }
    }
}
