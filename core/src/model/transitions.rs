//! The inspection state machine: every transition, with the rule it checks.
//!
//! draft → approved → scheduled → ready offline → on site → recording → pending signature → signed →
//! closed on site; aborted (with reason) from any state before signature; suspended (recusal
//! requested, device failure) from the on-site states, resumed back into them.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::json;

use super::{
    Abort, AbortReason, CheckIn, CheckOut, CredentialsShown, DomainError, Inspection, InspectionState as S,
    RecusalAnswer, RegisterSnapshot, Signing, SuspendReason, Suspension,
};
use crate::{Result, checklist::Template, event::DomainEvent};

type Events = Result<Vec<DomainEvent>>;

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

impl Inspection {
    pub(super) fn expect_state(&self, action: &'static str, allowed: &[S]) -> Result<(), DomainError> {
        if allowed.contains(&self.state) {
            Ok(())
        } else {
            Err(DomainError::Transition { action, from: self.state })
        }
    }

    fn moved(&mut self, to: S, kind: &str, mut payload: serde_json::Value) -> DomainEvent {
        let from = self.state;
        self.state = to;
        if let Some(obj) = payload.as_object_mut() {
            obj.insert("from".into(), json!(from));
            obj.insert("to".into(), json!(to));
        }
        self.event(kind, payload)
    }

    /// 审批 — every inspection needs approval.
    pub fn approve(&mut self, by: &str, at: DateTime<FixedOffset>) -> Events {
        self.transact(|i| {
            i.expect_state("approve", &[S::Draft])?;
            if blank(by) {
                return Err(DomainError::invalid("approved_by", "approval.approver.missing").into());
            }
            i.approved_by = Some(by.to_owned());
            Ok(vec![i.moved(S::Approved, "inspection.approved", json!({ "by": by, "at": at }))])
        })
    }

    pub fn schedule(&mut self, date: NaiveDate, at: DateTime<FixedOffset>) -> Events {
        self.transact(|i| {
            i.expect_state("schedule", &[S::Approved])?;
            i.scheduled_for = Some(date);
            Ok(vec![i.moved(S::Scheduled, "inspection.scheduled", json!({ "date": date, "at": at }))])
        })
    }

    /// Forms (or re-forms) the team from the register. Each inspector must hold a valid certificate
    /// on the inspection date, and no certificate may appear twice.
    pub fn assign_inspectors(
        &mut self,
        register: &RegisterSnapshot,
        ids: &[String],
        at: DateTime<FixedOffset>,
    ) -> Events {
        self.transact(|i| {
            i.expect_state(
                "assign_inspectors",
                &[S::Draft, S::Approved, S::Scheduled, S::ReadyOffline, S::Suspended],
            )?;
            // On site the team changes only to replace an inspector whose recusal was requested.
            if i.state == S::Suspended
                && i.suspension.as_ref().is_none_or(|s| s.reason != SuspendReason::RecusalRequested)
            {
                return Err(DomainError::not_allowed(
                    "team.change_on_site",
                    "the team can change on site only after a recusal request",
                )
                .into());
            }
            if ids.is_empty() {
                return Err(DomainError::TooFewInspectors { found: 0 }.into());
            }
            let date = i.inspection_date();
            let mut team = Vec::new();
            for id in ids {
                let inspector = register
                    .inspector(id)
                    .ok_or_else(|| DomainError::NotFound { what: format!("inspector {id}") })?;
                if let Some(problem) = inspector.certificate_problem(date) {
                    return Err(
                        DomainError::Certificate { inspector_id: id.clone(), rule: problem.rule() }.into()
                    );
                }
                let duplicate = team.iter().any(|t: &super::Inspector| {
                    t.id == inspector.id || t.certificate_no.trim() == inspector.certificate_no.trim()
                });
                if duplicate {
                    return Err(DomainError::Certificate {
                        inspector_id: id.clone(),
                        rule: "certificate.duplicate",
                    }
                    .into());
                }
                team.push(inspector.clone());
            }
            i.inspectors = team;
            let certs: Vec<_> = i
                .inspectors
                .iter()
                .map(|t| json!({ "id": t.id, "certificate_no": t.certificate_no }))
                .collect();
            Ok(vec![i.event(
                "inspection.inspectors_assigned",
                json!({ "inspectors": certs, "register_version": register.version(), "at": at }),
            )])
        })
    }

    /// 离线就绪 — expands the task's template over the enterprise's permit and freezes it, with the
    /// template and register versions (requirement 11), and prefills the record header.
    pub fn prepare_offline(
        &mut self,
        register: &RegisterSnapshot,
        template: &Template,
        at: DateTime<FixedOffset>,
    ) -> Events {
        self.transact(|i| {
            i.expect_state("prepare_offline", &[S::Scheduled])?;
            if template.id != i.task.template_id {
                return Err(DomainError::not_allowed(
                    "template.not_for_task",
                    format!("the task asks for template {}, got {}", i.task.template_id, template.id),
                )
                .into());
            }
            let checklist = crate::model::expand(template, register, &i.task.enterprise_id)?;
            let enterprise = register
                .enterprise(&i.task.enterprise_id)
                .ok_or_else(|| DomainError::NotFound {
                    what: format!("enterprise {}", i.task.enterprise_id),
                })?
                .clone();
            i.header.enterprise_name = enterprise.name.clone();
            i.header.uscc = enterprise.uscc.clone();
            i.header.legal_representative = enterprise.legal_representative.clone();
            i.header.address = enterprise.operating_address.clone();
            let payload = json!({
                "template_id": checklist.template_id,
                "template_version": checklist.template_version,
                "template_hash": checklist.template_hash,
                "register_version": checklist.register_version,
                "register_hash": checklist.register_hash,
                "permit_ids": checklist.permit_ids,
                "items": checklist.items().count(),
                "at": at,
            });
            i.enterprise = Some(enterprise);
            i.checklist = Some(checklist);
            Ok(vec![i.moved(S::ReadyOffline, "inspection.ready_offline", payload)])
        })
    }

    /// 签到 — arrival on site. Needs a valid location and two distinct valid certificates on the day
    /// (requirement 1). A position outside the registered site or a mocked fix is recorded, not refused:
    /// the site boundary in the register may be wrong, and the flag is what a reviewer needs.
    pub fn check_in(&mut self, check_in: CheckIn) -> Events {
        self.transact(|i| {
            i.expect_state("check_in", &[S::ReadyOffline])?;
            if !check_in.location.is_valid() {
                return Err(DomainError::invalid("check_in.location", "check_in.location.invalid").into());
            }
            i.require_two_valid_inspectors(check_in.at.date_naive())?;
            let distance = i.enterprise.as_ref().map(|e| e.site.distance_m(&check_in.location));
            i.header.started_at = Some(check_in.at);
            let payload = json!({
                "at": check_in.at,
                "location": check_in.location,
                "accuracy_m": check_in.accuracy_m,
                "provider": check_in.provider,
                "mocked": check_in.mocked,
                "distance_to_site_m": distance,
                "outside_site": distance.is_some_and(|d| d > 0.0),
                "inspectors": i.inspectors.iter().map(|t| &t.id).collect::<Vec<_>>(),
            });
            i.check_in = Some(check_in);
            Ok(vec![i.moved(S::OnSite, "inspection.checked_in", payload)])
        })
    }

    /// 亮证 — the inspectors showed their credentials.
    pub fn show_credentials(&mut self, method: &str, at: DateTime<FixedOffset>) -> Events {
        self.transact(|i| {
            i.expect_state("show_credentials", &[S::OnSite])?;
            if blank(method) {
                return Err(DomainError::invalid("credentials.method", "credentials.method.missing").into());
            }
            i.credentials = Some(CredentialsShown { at, method: method.to_owned() });
            Ok(vec![i.event("inspection.credentials_shown", json!({ "method": method, "at": at }))])
        })
    }

    /// 回避 — the party was asked whether it requests recusal. A request suspends the inspection.
    pub fn answer_recusal(
        &mut self,
        requested: bool,
        against_inspector_id: Option<&str>,
        at: DateTime<FixedOffset>,
    ) -> Events {
        self.transact(|i| {
            i.expect_state("answer_recusal", &[S::OnSite])?;
            if i.credentials.is_none() {
                return Err(DomainError::not_allowed(
                    "recusal.before_credentials",
                    "show the credentials first",
                )
                .into());
            }
            if let Some(against) = against_inspector_id
                && !i.inspectors.iter().any(|t| t.id == against)
            {
                return Err(
                    DomainError::NotFound { what: format!("inspector {against} on this team") }.into()
                );
            }
            let against = against_inspector_id.map(str::to_owned);
            i.recusal = Some(RecusalAnswer { at, requested, against_inspector_id: against.clone() });
            let mut events = vec![i.event(
                "inspection.recusal_answered",
                json!({ "requested": requested, "against": against, "at": at }),
            )];
            if requested {
                i.suspension = Some(Suspension {
                    reason: SuspendReason::RecusalRequested,
                    note: String::new(),
                    from: i.state,
                    at,
                });
                events.push(i.moved(
                    S::Suspended,
                    "inspection.suspended",
                    json!({ "reason": "recusal_requested", "at": at }),
                ));
            }
            Ok(events)
        })
    }

    /// Starts the checklist: credentials shown and recusal declined are preconditions.
    pub fn start_recording(&mut self, at: DateTime<FixedOffset>) -> Events {
        self.transact(|i| {
            i.expect_state("start_recording", &[S::OnSite])?;
            if i.credentials.is_none() {
                return Err(DomainError::not_allowed(
                    "credentials.not_shown",
                    "record that the credentials were shown",
                )
                .into());
            }
            if i.recusal.as_ref().is_none_or(|r| r.requested) {
                return Err(DomainError::not_allowed(
                    "recusal.not_answered",
                    "ask and record the recusal question",
                )
                .into());
            }
            Ok(vec![i.moved(S::Recording, "inspection.recording_started", json!({ "at": at }))])
        })
    }

    /// Suspends for a device failure (recusal suspends through [`Inspection::answer_recusal`]).
    pub fn suspend(&mut self, note: &str, at: DateTime<FixedOffset>) -> Events {
        self.transact(|i| {
            i.expect_state("suspend", &[S::OnSite, S::Recording, S::PendingSignature])?;
            if blank(note) {
                return Err(DomainError::invalid("suspension.note", "suspension.reason.missing").into());
            }
            i.suspension = Some(Suspension {
                reason: SuspendReason::DeviceFailure,
                note: note.to_owned(),
                from: i.state,
                at,
            });
            Ok(vec![i.moved(
                S::Suspended,
                "inspection.suspended",
                json!({ "reason": "device_failure", "note": note, "at": at }),
            )])
        })
    }

    /// Resumes a suspended inspection. After a recusal request the challenged inspector must have left
    /// the team and the new team must again hold two valid certificates; the credentials and recusal
    /// question are then repeated on site.
    pub fn resume(&mut self, at: DateTime<FixedOffset>) -> Events {
        self.transact(|i| {
            i.expect_state("resume", &[S::Suspended])?;
            let Some(s) = i.suspension.take() else {
                return Err(
                    DomainError::not_allowed("suspension.missing", "no suspension is recorded").into()
                );
            };
            let to = match s.reason {
                // A record already offered for signature goes back to recording if anything it needs
                // is no longer in place (a certificate expired overnight, say).
                SuspendReason::DeviceFailure
                    if s.from == S::PendingSignature && !i.signature_blockers().is_empty() =>
                {
                    i.header.ended_at = None;
                    S::Recording
                }
                SuspendReason::DeviceFailure => s.from,
                SuspendReason::RecusalRequested => {
                    let against = i.recusal.as_ref().and_then(|r| r.against_inspector_id.clone());
                    if let Some(a) = against.filter(|a| i.inspectors.iter().any(|t| &t.id == a)) {
                        return Err(DomainError::Certificate {
                            inspector_id: a,
                            rule: "recusal.inspector_still_on_team",
                        }
                        .into());
                    }
                    i.require_two_valid_inspectors(at.date_naive())?;
                    i.credentials = None;
                    i.recusal = None;
                    S::OnSite
                }
            };
            Ok(vec![i.moved(to, "inspection.resumed", json!({ "reason": s.reason, "at": at }))])
        })
    }

    /// 中止 — entry refused, danger, or another reason; the reason is required, media optional.
    pub fn abort(
        &mut self,
        reason: AbortReason,
        note: &str,
        media_evidence_ids: &[String],
        at: DateTime<FixedOffset>,
    ) -> Events {
        self.transact(|i| {
            i.expect_state(
                "abort",
                &[
                    S::Approved,
                    S::Scheduled,
                    S::ReadyOffline,
                    S::OnSite,
                    S::Recording,
                    S::PendingSignature,
                    S::Suspended,
                ],
            )?;
            if blank(note) {
                return Err(DomainError::invalid("abort.note", "abort.reason.missing").into());
            }
            i.abort = Some(Abort {
                reason,
                note: note.to_owned(),
                media_evidence_ids: media_evidence_ids.to_vec(),
                at,
            });
            let payload = json!({ "reason": reason, "note": note, "media": media_evidence_ids, "at": at });
            Ok(vec![i.moved(S::Aborted, "inspection.aborted", payload)])
        })
    }

    /// → 待签字. Refused with every unmet requirement listed (see [`Inspection::signature_blockers`]).
    pub fn submit_for_signature(&mut self, at: DateTime<FixedOffset>) -> Events {
        self.transact(|i| {
            i.expect_state("submit_for_signature", &[S::Recording])?;
            let blockers = i.signature_blockers();
            if !blockers.is_empty() {
                return Err(DomainError::Blocked { action: "submit_for_signature", blockers }.into());
            }
            i.header.ended_at = Some(at);
            let p = i.progress();
            let payload = json!({ "at": at, "answered": p.answered, "required": p.required, "findings": i.active_findings().count() });
            Ok(vec![i.moved(S::PendingSignature, "inspection.submitted_for_signature", payload)])
        })
    }

    /// Back to recording from pending signature (the party asked for a correction before signing).
    pub fn return_to_recording(&mut self, reason: &str, at: DateTime<FixedOffset>) -> Events {
        self.transact(|i| {
            i.expect_state("return_to_recording", &[S::PendingSignature])?;
            if blank(reason) {
                return Err(DomainError::invalid("reason", "return.reason.missing").into());
            }
            i.header.ended_at = None;
            Ok(vec![i.moved(
                S::Recording,
                "inspection.returned_to_recording",
                json!({ "reason": reason, "at": at }),
            )])
        })
    }

    /// Marks the inspection signed without a record, for state-machine tests. Only with the
    /// `test-support` feature: in a shipped build only the record service moves an inspection to
    /// 已签字, once the record it froze carries every signature (`record_signing`).
    #[cfg(feature = "test-support")]
    pub fn mark_signed(&mut self, content_hash: &str, at: DateTime<FixedOffset>) -> Events {
        self.record_signing(content_hash, at)
    }

    /// 已签字 — records the content hash the record module froze and everybody signed. The two
    /// certificates are checked again on the signing day (requirement 1). Crate-private: the record
    /// service calls it in the transaction that completes the record's signatures, so no caller of
    /// the library can mark a record signed that nobody signed.
    pub(crate) fn record_signing(&mut self, content_hash: &str, at: DateTime<FixedOffset>) -> Events {
        self.transact(|i| {
            i.expect_state("mark_signed", &[S::PendingSignature])?;
            let is_sha256_hex = content_hash.len() == 64
                && content_hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if !is_sha256_hex {
                return Err(DomainError::invalid("content_hash", "signing.content_hash.malformed").into());
            }
            i.require_two_valid_inspectors(at.date_naive())?;
            let blockers = i.signature_blockers();
            if !blockers.is_empty() {
                return Err(DomainError::Blocked { action: "mark_signed", blockers }.into());
            }
            i.signing = Some(Signing { content_hash: content_hash.to_owned(), at });
            Ok(vec![i.moved(
                S::Signed,
                "inspection.signed",
                json!({ "content_hash": content_hash, "at": at }),
            )])
        })
    }

    /// 签退 — leaving the site after signing.
    pub fn close_on_site(&mut self, check_out: CheckOut) -> Events {
        self.transact(|i| {
            i.expect_state("close_on_site", &[S::Signed])?;
            if check_out.location.is_some_and(|l| !l.is_valid()) {
                return Err(DomainError::invalid("check_out.location", "check_out.location.invalid").into());
            }
            let payload = json!({ "at": check_out.at, "location": check_out.location });
            i.check_out = Some(check_out);
            Ok(vec![i.moved(S::ClosedOnSite, "inspection.closed_on_site", payload)])
        })
    }
}
