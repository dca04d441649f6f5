//! Recording on site: answers (with reasons for changes), header fields, evidence counts, findings
//! and the problems they open.

use chrono::{DateTime, FixedOffset};
use serde_json::json;

use super::{
    DomainError, Finding, HeaderField, Inspection, InspectionState as S, NewFinding, Problem, ProblemAction,
};
use crate::{
    Result,
    checklist::{AnswerValue, EvidenceKind, ResultCode, check_answer},
    event::DomainEvent,
};

type Events = Result<Vec<DomainEvent>>;

impl Inspection {
    /// Content (answers, header, findings) changes only before signature; after it, only addenda.
    fn expect_editable(&self, action: &'static str, allowed: &[S]) -> Result<(), DomainError> {
        if self.state.is_frozen() {
            return Err(DomainError::Immutable { what: action.to_owned() });
        }
        self.expect_state(action, allowed)
    }

    /// Answers an item (requirement 3): the item must exist and be shown, the answer must fit its type
    /// and limits, 未检查 needs a reason, and changing an existing answer needs a reason too. The same
    /// answer again changes nothing and produces no event.
    pub fn set_answer(
        &mut self,
        item_id: &str,
        value: AnswerValue,
        by: &str,
        change_reason: Option<&str>,
        at: DateTime<FixedOffset>,
    ) -> Events {
        if self.answer(item_id) == Some(&value) {
            self.expect_editable("set_answer", &[S::Recording])?;
            return Ok(Vec::new());
        }
        self.transact(|i| {
            i.expect_editable("set_answer", &[S::Recording])?;
            let checklist = i.checklist.as_ref().ok_or_else(|| DomainError::NotFound { what: "checklist".into() })?;
            let item = checklist.item(item_id).ok_or_else(|| DomainError::NotFound { what: format!("item {item_id}") })?;
            if !i.inspectors.iter().any(|t| t.id == by) {
                return Err(DomainError::not_allowed("answer.by.not_on_team", "only an inspector on the team can answer").into());
            }
            if !i.is_visible(item_id) {
                return Err(DomainError::not_allowed("answer.item_hidden", format!("item {item_id} is not shown")).into());
            }
            check_answer(item_id, &item.answer, &value)?;
            let reason = change_reason.map(str::trim).filter(|r| !r.is_empty());
            let previous = i.answers.get(item_id).map(|r| r.value.clone());
            if previous.is_some() && reason.is_none() {
                return Err(DomainError::invalid(format!("answer:{item_id}"), "answer.change.reason_required").into());
            }
            let record = i.answers.entry(item_id.to_owned()).or_insert_with(|| super::AnswerRecord {
                value: value.clone(),
                by: by.to_owned(),
                at,
                corrections: Vec::new(),
            });
            if let (Some(prev), Some(reason)) = (&previous, reason) {
                record.corrections.push(super::AnswerChange {
                    previous: prev.clone(),
                    reason: reason.to_owned(),
                    by: record.by.clone(),
                    at: record.at,
                });
            }
            record.value = value.clone();
            record.by = by.to_owned();
            record.at = at;
            let kind = if previous.is_some() { "inspection.answer_changed" } else { "inspection.answer_set" };
            Ok(vec![i.event(
                kind,
                json!({ "item": item_id, "value": value, "previous": previous, "reason": reason, "by": by, "at": at }),
            )])
        })
    }

    /// Edits a header field. Values are accepted as typed; completeness and the USCC check are
    /// enforced before signature (requirement 2).
    pub fn set_header(&mut self, field: HeaderField, value: &str, at: DateTime<FixedOffset>) -> Events {
        self.transact(|i| {
            i.expect_editable("set_header", &[S::ReadyOffline, S::OnSite, S::Recording])?;
            i.header.set(field, value.trim().to_owned());
            Ok(vec![i.event(
                "inspection.header_set",
                json!({ "field": field.code(), "value": value.trim(), "at": at }),
            )])
        })
    }

    /// Sets an item's evidence count directly, for state-machine tests that have no vault. Only with
    /// the `test-support` feature: in a shipped build a count moves only inside the sealing
    /// transaction, with its capture.
    #[cfg(feature = "test-support")]
    pub fn set_evidence_count(&mut self, item_id: &str, kind: EvidenceKind, count: u32) -> Result<()> {
        self.record_evidence_count(item_id, kind, count)
    }

    /// Records how many pieces of evidence of `kind` are linked to an item. Crate-private: only the
    /// evidence gate calls it, inside the transaction that seals the capture (whose own trail event
    /// describes it), so a count never exists without its evidence.
    pub(crate) fn record_evidence_count(
        &mut self,
        item_id: &str,
        kind: EvidenceKind,
        count: u32,
    ) -> Result<()> {
        self.transact(|i| {
            i.expect_editable(
                "set_evidence_count",
                &[S::OnSite, S::Recording, S::PendingSignature, S::Suspended],
            )?;
            let known = i.checklist.as_ref().is_some_and(|c| c.item(item_id).is_some());
            if !known {
                return Err(DomainError::NotFound { what: format!("item {item_id}") }.into());
            }
            // What the parties are about to sign lists this evidence: it may grow, not shrink.
            if i.state == S::PendingSignature && count < i.evidence_count(item_id, kind) {
                return Err(DomainError::not_allowed(
                    "evidence.shrinks_pending_signature",
                    "return to recording before unlinking evidence",
                )
                .into());
            }
            i.evidence_counts.entry(item_id.to_owned()).or_default().insert(kind, count);
            Ok(())
        })
    }

    /// Records a finding on a failed item. Category and legal basis default from the item's finding
    /// template; the handling is checked (限期整改 needs measures and a deadline after the inspection).
    pub fn add_finding(
        &mut self,
        new: NewFinding,
        at: DateTime<FixedOffset>,
    ) -> Result<(String, Vec<DomainEvent>)> {
        self.transact(|i| {
            i.expect_editable("add_finding", &[S::Recording])?;
            let checklist =
                i.checklist.as_ref().ok_or_else(|| DomainError::NotFound { what: "checklist".into() })?;
            let item = checklist
                .item(&new.item_id)
                .ok_or_else(|| DomainError::NotFound { what: format!("item {}", new.item_id) })?;
            if i.answer(&new.item_id).and_then(AnswerValue::result_code) != Some(ResultCode::Fail) {
                return Err(DomainError::not_allowed(
                    "finding.item_not_failed",
                    "a finding needs an item answered 不合格",
                )
                .into());
            }
            if new.description.trim().is_empty() {
                return Err(DomainError::invalid("finding.description", "finding.description.missing").into());
            }
            let template = item.finding.as_ref();
            let category = new
                .category
                .or(template.map(|t| t.category))
                .ok_or_else(|| DomainError::invalid("finding.category", "finding.category.missing"))?;
            let mut legal_basis = new.legal_basis.clone();
            if legal_basis.is_empty() {
                legal_basis = template
                    .map(|t| t.legal_basis.clone())
                    .filter(|b| !b.is_empty())
                    .unwrap_or_else(|| item.legal_basis.clone());
            }
            new.handling.check(i.inspection_date())?;
            let id = format!("{}-F{}", i.id, i.findings.len() + 1);
            let finding = Finding {
                id: id.clone(),
                item_id: new.item_id.clone(),
                category,
                description: new.description.trim().to_owned(),
                legal_basis,
                evidence_ids: new.evidence_ids.clone(),
                handling: new.handling.clone(),
                problem: Problem::default(),
                withdrawn: None,
            };
            let event = i.event("inspection.finding_added", json!({ "finding": finding, "at": at }));
            i.findings.push(finding);
            Ok((id, vec![event]))
        })
    }

    /// Lists a sealed capture among a finding's evidence; the evidence module calls this in the
    /// sealing transaction for captures made against a finding. Like evidence counts, the list may
    /// grow while the record waits for signature, and never after it is signed.
    pub fn link_finding_evidence(&mut self, finding_id: &str, evidence_id: &str) -> Result<()> {
        self.transact(|i| {
            i.expect_editable("link_finding_evidence", &[S::Recording, S::PendingSignature])?;
            let f = i
                .findings
                .iter_mut()
                .find(|f| f.id == finding_id && f.withdrawn.is_none())
                .ok_or_else(|| DomainError::NotFound { what: format!("finding {finding_id}") })?;
            if !f.evidence_ids.iter().any(|id| id == evidence_id) {
                f.evidence_ids.push(evidence_id.to_owned());
            }
            Ok(())
        })
    }

    /// Withdraws a finding before signature (the item was corrected), keeping it visible with why.
    pub fn withdraw_finding(&mut self, finding_id: &str, reason: &str, at: DateTime<FixedOffset>) -> Events {
        self.transact(|i| {
            i.expect_editable("withdraw_finding", &[S::Recording])?;
            if reason.trim().is_empty() {
                return Err(DomainError::invalid("reason", "finding.withdraw.reason_required").into());
            }
            let f = i
                .findings
                .iter_mut()
                .find(|f| f.id == finding_id && f.withdrawn.is_none())
                .ok_or_else(|| DomainError::NotFound { what: format!("finding {finding_id}") })?;
            f.withdrawn = Some(reason.trim().to_owned());
            Ok(vec![i.event(
                "inspection.finding_withdrawn",
                json!({ "finding": finding_id, "reason": reason, "at": at }),
            )])
        })
    }

    /// Moves a finding's problem along (verification, order, service, re-check, 销号, reopening).
    /// This continues after signature: the finding's content is frozen, its follow-up is not.
    pub fn advance_problem(
        &mut self,
        finding_id: &str,
        action: &ProblemAction,
        at: DateTime<FixedOffset>,
    ) -> Events {
        self.transact(|i| {
            i.expect_state(
                "advance_problem",
                &[S::Recording, S::PendingSignature, S::Signed, S::ClosedOnSite],
            )?;
            if matches!(action, ProblemAction::VerifyFixedOnSite { .. }) && i.state.is_frozen() {
                return Err(DomainError::Immutable { what: "on-site verification".into() }.into());
            }
            let f = i
                .findings
                .iter_mut()
                .find(|f| f.id == finding_id && f.withdrawn.is_none())
                .ok_or_else(|| DomainError::NotFound { what: format!("finding {finding_id}") })?;
            let from = f.problem.state;
            let to = f.problem.apply(&f.handling, &f.legal_basis, action, at)?;
            Ok(vec![i.event(
                "inspection.problem_advanced",
                json!({ "finding": finding_id, "action": action, "from": from, "to": to, "at": at }),
            )])
        })
    }
}
