//! A whole inspection through the state machine, and each transition refused out of order.

mod inspection_support;

use fieldseal_core::{
    Error,
    checklist::{AnswerValue, EvidenceKind, ResultCode},
    model::{
        AbortReason, CheckOut, DomainError, FindingCategory, Handling, HeaderField, InspectionState as S,
        ItemState, NewFinding, ProblemAction, ProblemState, checklist_view, task_list,
    },
};
use inspection_support::*;

fn fail() -> AnswerValue {
    AnswerValue::Result { code: ResultCode::Fail, reason: None }
}

fn rule(err: &Error) -> String {
    match err {
        Error::Domain(d) => d.rule(),
        Error::Checklist(c) => c.rule().to_owned(),
        other => other.to_string(),
    }
}

#[test]
fn whole_inspection_from_draft_to_closed_on_site_with_a_deadline_finding() {
    let mut events = Vec::new();
    let reg = register();
    let (mut i, e) = fieldseal_core::model::Inspection::create(
        "insp-A",
        task("ent-thermal", "tpl.thermal-power.permit"),
        t("08:00"),
    )
    .unwrap();
    events.extend(e);
    events.extend(i.approve("科长 审批", t("08:05")).unwrap());
    events.extend(i.schedule(date(DAY), t("08:06")).unwrap());
    events.extend(i.assign_inspectors(&reg, &["insp-001".into(), "insp-002".into()], t("08:07")).unwrap());
    events.extend(i.prepare_offline(&reg, &thermal(), t("08:10")).unwrap());
    events.extend(i.check_in(check_in_at(t("09:00"))).unwrap());
    events.extend(i.show_credentials("纸质执法证", t("09:01")).unwrap());
    events.extend(i.answer_recusal(false, None, t("09:02")).unwrap());
    events.extend(i.start_recording(t("09:03")).unwrap());
    fill_header(&mut i);

    // The 2# stack's sign board is missing: fail, photo, finding with a deadline.
    events.extend(i.set_answer("outlet.sign#DA002", fail(), "insp-001", None, t("09:20")).unwrap());
    i.set_evidence_count("outlet.sign#DA002", EvidenceKind::Photo, 1).unwrap();
    let (finding_id, e) = i
        .add_finding(
            NewFinding {
                item_id: "outlet.sign#DA002".into(),
                category: None,
                description: "2#锅炉烟囱未设置排放口标志牌".into(),
                legal_basis: vec![],
                evidence_ids: vec!["ev-photo-1".into()],
                handling: Handling::RectifyByDeadline {
                    measures: "按GB 15562.1设置标志牌".into(),
                    deadline: date("2025-04-17"),
                },
            },
            t("09:25"),
        )
        .unwrap();
    events.extend(e);
    answer_all_passing(&mut i);
    let f = &i.findings()[0];
    assert_eq!(f.category, FindingCategory::Permit, "category defaults from the finding template");
    assert!(f.legal_basis[0].contains("第十八条"));

    events.extend(i.submit_for_signature(t("10:00")).unwrap());
    events.extend(i.mark_signed(&"0f".repeat(32), t("10:15")).unwrap());
    events.extend(i.close_on_site(CheckOut { at: t("10:30"), location: Some(on_site_location()) }).unwrap());
    assert_eq!(i.state(), S::ClosedOnSite);

    // The problem is followed up after the visit.
    for action in [
        ProblemAction::IssueOrder {
            order_no: "泰环责改〔2025〕31号".into(),
            facts: "2#烟囱未设标志牌".into(),
        },
        ProblemAction::Serve { served_on: date("2025-03-19") },
        ProblemAction::SubmitProof { evidence_ids: vec!["ev-proof-1".into()] },
        ProblemAction::MarkRecheckDue,
        ProblemAction::Recheck { on: date("2025-04-18"), passed: true, note: "已设置".into() },
        ProblemAction::Close,
    ] {
        events.extend(i.advance_problem(&finding_id, &action, t("11:00")).unwrap());
    }
    assert_eq!(i.findings()[0].problem.state, ProblemState::Closed);

    assert!(events.iter().all(|e| e.stream == "inspection:insp-A"));
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    for k in [
        "inspection.created",
        "inspection.approved",
        "inspection.inspectors_assigned",
        "inspection.ready_offline",
        "inspection.checked_in",
        "inspection.credentials_shown",
        "inspection.recusal_answered",
        "inspection.recording_started",
        "inspection.answer_set",
        "inspection.finding_added",
        "inspection.submitted_for_signature",
        "inspection.signed",
        "inspection.closed_on_site",
        "inspection.problem_advanced",
    ] {
        assert!(kinds.contains(&k), "missing {k}");
    }
    let check_in = events.iter().find(|e| e.kind == "inspection.checked_in").unwrap();
    assert_eq!(check_in.payload["outside_site"], false);
}

#[test]
fn transitions_out_of_order_are_refused_by_name() {
    let mut i = ready(&["insp-001", "insp-002"]);
    assert_eq!(rule(&i.start_recording(t("09:00")).unwrap_err()), "inspection.transition");
    assert_eq!(rule(&i.submit_for_signature(t("09:00")).unwrap_err()), "inspection.transition");
    assert_eq!(rule(&i.approve("x", t("09:00")).unwrap_err()), "inspection.transition");
    i.check_in(check_in_at(t("09:00"))).unwrap();
    assert_eq!(rule(&i.answer_recusal(false, None, t("09:01")).unwrap_err()), "recusal.before_credentials");
    assert_eq!(rule(&i.start_recording(t("09:01")).unwrap_err()), "credentials.not_shown");
    i.show_credentials("电子执法证", t("09:01")).unwrap();
    assert_eq!(rule(&i.start_recording(t("09:01")).unwrap_err()), "recusal.not_answered");
    let err = i.set_answer("permit.valid", fail(), "insp-001", None, t("09:02")).unwrap_err();
    assert_eq!(rule(&err), "inspection.transition");
    let e = Error::from(DomainError::Transition { action: "start_recording", from: S::OnSite }).explain();
    assert!(e.message_zh.contains("已到达现场") && e.message_en.contains("On site"));
}

#[test]
fn check_in_needs_a_real_location_and_flags_one_off_site() {
    let mut i = ready(&["insp-001", "insp-002"]);
    let mut bad = check_in_at(t("09:00"));
    bad.location.lat = f64::NAN;
    assert_eq!(rule(&i.check_in(bad).unwrap_err()), "check_in.location.invalid");
    let mut far = check_in_at(t("09:00"));
    far.location.lat += 0.05;
    let events = i.check_in(far).unwrap();
    assert_eq!(events[0].payload["outside_site"], true);
}

#[test]
fn recusal_request_suspends_until_the_challenged_inspector_is_replaced() {
    let reg = register();
    let mut i = ready(&["insp-001", "insp-002"]);
    i.check_in(check_in_at(t("09:00"))).unwrap();
    i.show_credentials("纸质执法证", t("09:01")).unwrap();
    let events = i.answer_recusal(true, Some("insp-002"), t("09:02")).unwrap();
    assert_eq!(events.last().unwrap().kind, "inspection.suspended");
    assert_eq!(i.state(), S::Suspended);
    assert_eq!(rule(&i.resume(t("09:30")).unwrap_err()), "recusal.inspector_still_on_team");
    i.assign_inspectors(&reg, &["insp-001".into(), "insp-005".into()], t("09:40")).unwrap();
    i.resume(t("10:00")).unwrap();
    assert_eq!(i.state(), S::OnSite);
    assert!(i.credentials().is_none(), "credentials are shown again to the new team");
}

#[test]
fn device_failure_suspends_and_resumes_where_it_was() {
    let mut i = recording();
    assert_eq!(rule(&i.suspend(" ", t("09:10")).unwrap_err()), "suspension.reason.missing");
    i.suspend("执法记录仪电量耗尽", t("09:10")).unwrap();
    assert_eq!(i.state(), S::Suspended);
    i.resume(t("09:30")).unwrap();
    assert_eq!(i.state(), S::Recording);
}

#[test]
fn abort_needs_a_reason_and_ends_the_inspection() {
    let mut i = ready(&["insp-001", "insp-002"]);
    assert_eq!(
        rule(&i.abort(AbortReason::EntryRefused, "", &[], t("09:00")).unwrap_err()),
        "abort.reason.missing"
    );
    i.abort(AbortReason::EntryRefused, "门卫拒绝执法人员进入厂区", &["ev-video-gate".into()], t("09:00"))
        .unwrap();
    assert_eq!(i.state(), S::Aborted);
    assert!(i.check_in(check_in_at(t("09:05"))).is_err());
    assert!(i.next_step_blockers().is_empty());
}

#[test]
fn changing_an_answer_needs_a_reason_and_keeps_the_earlier_one() {
    let mut i = recording();
    let pass = AnswerValue::Result { code: ResultCode::Pass, reason: None };
    i.set_answer("permit.valid", pass.clone(), "insp-001", None, t("09:10")).unwrap();
    assert!(i.set_answer("permit.valid", pass.clone(), "insp-001", None, t("09:11")).unwrap().is_empty());
    let err = i.set_answer("permit.valid", fail(), "insp-001", None, t("09:12")).unwrap_err();
    assert_eq!(rule(&err), "answer.change.reason_required");
    let events = i
        .set_answer("permit.valid", fail(), "insp-002", Some("核对副本发现许可证已过期"), t("09:13"))
        .unwrap();
    assert_eq!(events[0].kind, "inspection.answer_changed");
    assert_eq!(events[0].payload["reason"], "核对副本发现许可证已过期");
    assert_eq!(events[0].payload["previous"]["code"], "pass");
    let record = &i.answers()["permit.valid"];
    assert_eq!(record.corrections.len(), 1);
    assert_eq!(record.corrections[0].previous, pass);
}

#[test]
fn only_team_members_answer_and_hidden_items_take_no_answer() {
    let mut i = recording();
    let err = i.set_answer("permit.valid", fail(), "insp-004", None, t("09:10")).unwrap_err();
    assert_eq!(rule(&err), "answer.by.not_on_team");
    let issue = AnswerValue::SingleChoice { value: "offline".into() };
    let err = i.set_answer("cems.issue#SM-CEMS1", issue.clone(), "insp-001", None, t("09:10")).unwrap_err();
    assert_eq!(rule(&err), "answer.item_hidden");
    i.set_answer("cems.networked#SM-CEMS1", fail(), "insp-001", None, t("09:11")).unwrap();
    i.set_answer("cems.issue#SM-CEMS1", issue, "insp-001", None, t("09:12")).unwrap();
}

#[test]
fn findings_need_a_failed_item_and_a_deadline_after_the_visit() {
    let mut i = recording();
    let new = |handling| NewFinding {
        item_id: "permit.valid".into(),
        category: None,
        description: "许可证超期".into(),
        legal_basis: vec![],
        evidence_ids: vec![],
        handling,
    };
    let deadline =
        |d: &str| Handling::RectifyByDeadline { measures: "申请延续".into(), deadline: date(d) };
    assert_eq!(
        rule(&i.add_finding(new(deadline("2025-04-01")), t("09:10")).unwrap_err()),
        "finding.item_not_failed"
    );
    i.set_answer("permit.valid", fail(), "insp-001", None, t("09:10")).unwrap();
    let err = i.add_finding(new(deadline(DAY)), t("09:11")).unwrap_err();
    assert_eq!(rule(&err), "handling.deadline.not_after_inspection");
    let err =
        i.add_finding(new(Handling::NoPenalty { eligibility_basis: "".into() }), t("09:11")).unwrap_err();
    assert_eq!(rule(&err), "handling.no_penalty.basis_missing");
    assert!(i.findings().is_empty());
    i.add_finding(new(deadline("2025-04-01")), t("09:12")).unwrap();
}

#[test]
fn fix_on_site_must_be_verified_by_an_after_photo_before_signature() {
    let mut i = recording();
    fill_header(&mut i);
    i.set_answer("ledger.complete#LG-01", fail(), "insp-001", None, t("09:10")).unwrap();
    i.set_evidence_count("ledger.complete#LG-01", EvidenceKind::Document, 1).unwrap();
    let (id, _) = i
        .add_finding(
            NewFinding {
                item_id: "ledger.complete#LG-01".into(),
                category: None,
                description: "脱硫剂用量台账缺3月1日至5日记录".into(),
                legal_basis: vec![],
                evidence_ids: vec![],
                handling: Handling::FixOnSite,
            },
            t("09:12"),
        )
        .unwrap();
    answer_all_passing(&mut i);
    let blockers: Vec<_> = i.signature_blockers().into_iter().map(|b| b.rule).collect();
    assert_eq!(blockers, vec!["finding.fix_unverified"]);
    i.advance_problem(
        &id,
        &ProblemAction::VerifyFixedOnSite { after_photo_evidence_id: "ev-after-7".into() },
        t("09:40"),
    )
    .unwrap();
    i.submit_for_signature(t("10:00")).unwrap();
}

#[test]
fn a_failed_item_without_a_finding_blocks_and_a_stale_finding_must_be_withdrawn() {
    let mut i = recording();
    fill_header(&mut i);
    i.set_answer("permit.valid", fail(), "insp-001", None, t("09:10")).unwrap();
    answer_all_passing(&mut i);
    let blockers: Vec<_> = i.signature_blockers().into_iter().map(|b| b.rule).collect();
    assert_eq!(blockers, vec!["item.finding_missing"]);
    let (id, _) = i
        .add_finding(
            NewFinding {
                item_id: "permit.valid".into(),
                category: Some(FindingCategory::Permit),
                description: "许可证载明机组与实际不符".into(),
                legal_basis: vec![],
                evidence_ids: vec![],
                handling: Handling::OpenCase { note: String::new() },
            },
            t("09:11"),
        )
        .unwrap();
    let pass = AnswerValue::Result { code: ResultCode::Pass, reason: None };
    i.set_answer("permit.valid", pass, "insp-001", Some("企业出示变更后的许可证"), t("09:20")).unwrap();
    let blockers: Vec<_> = i.signature_blockers().into_iter().map(|b| b.rule).collect();
    assert_eq!(blockers, vec!["finding.item_not_failed"]);
    i.withdraw_finding(&id, "企业出示变更后的许可证", t("09:21")).unwrap();
    i.submit_for_signature(t("10:00")).unwrap();
}

#[test]
fn after_signing_the_content_is_immutable() {
    let mut i = recording();
    fill_header(&mut i);
    answer_all_passing(&mut i);
    i.submit_for_signature(t("10:00")).unwrap();
    let err = i.set_answer("permit.valid", fail(), "insp-001", Some("x"), t("10:05")).unwrap_err();
    assert_eq!(rule(&err), "inspection.transition", "pending signature: return to recording first");
    i.mark_signed(&"ab".repeat(32), t("10:10")).unwrap();
    let before = i.clone();
    let err = i.set_answer("permit.valid", fail(), "insp-001", Some("x"), t("10:15")).unwrap_err();
    assert_eq!(rule(&err), "inspection.immutable_after_signing");
    assert_eq!(
        rule(&i.set_header(HeaderField::Place, "x", t("10:15")).unwrap_err()),
        "inspection.immutable_after_signing"
    );
    assert!(i.set_evidence_count("permit.valid", EvidenceKind::Photo, 3).is_err());
    assert!(i.return_to_recording("x", t("10:16")).is_err());
    assert_eq!(i, before);
}

#[test]
fn read_models_show_item_states_progress_and_reasons() {
    let mut i = recording();
    i.set_answer("outlet.sign#DA001", fail(), "insp-001", None, t("09:10")).unwrap();
    let view = checklist_view(&i);
    let item = |id: &str| view.sections.iter().flat_map(|s| &s.items).find(|it| it.id == id).unwrap().clone();
    let sign = item("outlet.sign#DA001");
    assert_eq!(sign.state, ItemState::NeedsEvidence);
    assert_eq!(sign.evidence_needed[0].min, 1);
    assert!(sign.message.as_ref().unwrap().zh.contains("照片"));
    assert_eq!(item("cems.issue#SM-CEMS1").state, ItemState::Hidden);
    assert_eq!(item("permit.valid").state, ItemState::Unanswered);
    assert_eq!(item("emission.hourly#PL-SO2").unit.as_deref(), Some("mg/m³"));
    i.set_evidence_count("outlet.sign#DA001", EvidenceKind::Photo, 1).unwrap();
    assert_eq!(checklist_view(&i).sections[1].items[0].state, ItemState::NeedsFinding);
    assert_eq!(view.progress.answered, 1);
    assert_eq!(
        (view.progress.required, view.progress.visible),
        (17, 18),
        "hidden CEMS problem types and the optional remark"
    );
    assert!(view.blockers.iter().any(|b| b.rule == "item.unanswered"));
    let rows = task_list(&[i.clone()]);
    assert_eq!(rows[0].enterprise_name, "泰州华宁热电有限公司");
    assert_eq!(rows[0].state_zh, "检查记录中");
    assert!(rows[0].key_polluter);
}

#[test]
fn the_team_changes_on_site_only_after_a_recusal_request() {
    let reg = register();
    let mut i = recording();
    i.suspend("平板死机", t("09:10")).unwrap();
    let err = i.assign_inspectors(&reg, &["insp-001".into(), "insp-005".into()], t("09:11")).unwrap_err();
    assert_eq!(rule(&err), "team.change_on_site");
}

#[test]
fn evidence_listed_for_signature_cannot_shrink_until_back_in_recording() {
    let mut i = recording();
    fill_header(&mut i);
    answer_all_passing(&mut i);
    i.submit_for_signature(t("10:00")).unwrap();
    let err = i.set_evidence_count("facility.running#TF-SCR", EvidenceKind::Photo, 0).unwrap_err();
    assert_eq!(rule(&err), "evidence.shrinks_pending_signature");
    i.set_evidence_count("facility.running#TF-SCR", EvidenceKind::Photo, 2).unwrap();
    i.return_to_recording("当事人要求删除误拍照片", t("10:05")).unwrap();
    i.set_evidence_count("facility.running#TF-SCR", EvidenceKind::Photo, 0).unwrap();
    assert_eq!(rule(&i.submit_for_signature(t("10:10")).unwrap_err()), "item.evidence_missing");
}

#[test]
fn a_device_failure_while_pending_signature_resumes_into_recording_if_something_lapsed() {
    let mut i = recording();
    fill_header(&mut i);
    answer_all_passing(&mut i);
    i.submit_for_signature(t("10:00")).unwrap();
    i.suspend("平板死机", t("10:01")).unwrap();
    i.resume(t("10:20")).unwrap();
    assert_eq!(i.state(), S::PendingSignature, "nothing lapsed");
    let mut json = serde_json::to_value(&i).unwrap();
    json["state"] = serde_json::json!("suspended");
    json["suspension"] = serde_json::json!({ "reason": "device_failure", "note": "x", "from": "pending_signature", "at": "2025-03-18T10:30:00+08:00" });
    json["header"]["place"] = serde_json::json!("");
    let mut lapsed: fieldseal_core::model::Inspection = serde_json::from_value(json).unwrap();
    lapsed.resume(t("10:40")).unwrap();
    assert_eq!(lapsed.state(), S::Recording);
}
