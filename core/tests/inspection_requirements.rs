//! DOMAIN.md requirements 1, 2, 3 and 11, one test (or a few) each. Each was checked by removing the
//! rule it protects and watching it fail.

mod inspection_support;

use fieldseal_core::{
    Error,
    checklist::{AnswerValue, ResultCode},
    model::{DomainError, HeaderField, Inspection, InspectionState},
};
use inspection_support::*;

fn rules(err: &Error) -> Vec<String> {
    match err {
        Error::Domain(DomainError::Blocked { blockers, .. }) => {
            blockers.iter().map(|b| b.rule.clone()).collect()
        }
        Error::Domain(d) => vec![d.rule()],
        Error::Checklist(c) => vec![c.rule().to_owned()],
        other => vec![other.to_string()],
    }
}

/// Everything done for signature, in Recording.
fn complete() -> Inspection {
    let mut i = recording();
    fill_header(&mut i);
    answer_all_passing(&mut i);
    assert_eq!(i.signature_blockers(), vec![]);
    i
}

// Requirement 1: no inspection starts, and no record is signed, without two distinct valid certificates.

#[test]
fn req1_inspection_cannot_start_with_one_inspector() {
    let mut i = ready(&["insp-001"]);
    let err = i.check_in(check_in_at(t("09:00"))).unwrap_err();
    assert_eq!(rules(&err), vec!["inspectors.fewer_than_two_valid"]);
    assert_eq!(i.state(), InspectionState::ReadyOffline);
}

#[test]
fn req1_inspection_cannot_start_when_a_certificate_expired_by_the_visit_day() {
    // Scheduled for the last valid day of insp-002's certificate, but the team arrives a day late.
    let reg = register();
    let (mut i, _) = Inspection::create(
        "insp-late",
        task("ent-thermal", "tpl.thermal-power.permit"),
        at("2026-05-20T08:00:00+08:00"),
    )
    .unwrap();
    i.approve("科长", at("2026-05-20T08:01:00+08:00")).unwrap();
    i.schedule(date("2026-05-31"), at("2026-05-20T08:02:00+08:00")).unwrap();
    i.assign_inspectors(&reg, &["insp-001".into(), "insp-002".into()], at("2026-05-20T08:03:00+08:00"))
        .unwrap();
    i.prepare_offline(&reg, &thermal(), at("2026-05-20T08:04:00+08:00")).unwrap();
    let err = i.check_in(check_in_at(at("2026-06-01T09:00:00+08:00"))).unwrap_err();
    assert_eq!(rules(&err), vec!["certificate.expired"]);
    i.check_in(check_in_at(at("2026-05-31T09:00:00+08:00"))).unwrap();
}

#[test]
fn req1_expired_uncertified_or_repeated_inspectors_cannot_join_the_team() {
    let reg = register();
    let (mut i, _) =
        Inspection::create("x", task("ent-thermal", "tpl.thermal-power.permit"), t("08:00")).unwrap();
    for (team, rule) in [
        (vec!["insp-001", "insp-003"], "certificate.expired"),
        (vec!["insp-001", "asst-001"], "certificate.not_certified"),
        (vec!["insp-001", "insp-001"], "certificate.duplicate"),
    ] {
        let ids: Vec<String> = team.iter().map(|s| s.to_string()).collect();
        let err = i.assign_inspectors(&reg, &ids, t("08:01")).unwrap_err();
        assert_eq!(rules(&err), vec![rule]);
        assert!(i.inspectors().is_empty(), "nothing assigned after a refusal");
    }
}

#[test]
fn req1_the_same_certificate_twice_does_not_count_as_two() {
    // A team that reached the inspection some other way (an old stored copy) is checked again.
    let mut i = complete();
    let mut json = serde_json::to_value(&i).unwrap();
    let first = json["inspectors"][0].clone();
    json["inspectors"][1]["certificate_no"] = first["certificate_no"].clone();
    i = serde_json::from_value(json).unwrap();
    let err = i.submit_for_signature(t("10:00")).unwrap_err();
    assert_eq!(rules(&err), vec!["certificate.duplicate"]);
}

#[test]
fn req1_record_cannot_be_signed_once_a_certificate_has_expired() {
    let mut i = complete();
    i.submit_for_signature(t("10:00")).unwrap();
    let hash = "a".repeat(64);
    // insp-002's certificate runs to 2026-05-31.
    let err = i.mark_signed(&hash, at("2026-06-01T10:00:00+08:00")).unwrap_err();
    assert_eq!(rules(&err), vec!["certificate.expired"]);
    assert_eq!(i.state(), InspectionState::PendingSignature);
    i.mark_signed(&hash, t("10:20")).unwrap();
    assert_eq!(i.state(), InspectionState::Signed);
}

// Requirement 2: required header fields, USCC checksum included, before signature.

#[test]
fn req2_header_uscc_with_a_wrong_check_character_blocks_signature() {
    let mut i = complete();
    i.set_header(HeaderField::Uscc, "91321200MA1MXY3K7Q", t("09:40")).unwrap();
    let err = i.submit_for_signature(t("10:00")).unwrap_err();
    assert_eq!(rules(&err), vec!["uscc.check_character"]);
    i.set_header(HeaderField::Uscc, "91321200MA1MXY3K7R", t("09:41")).unwrap();
    i.submit_for_signature(t("10:00")).unwrap();
}

#[test]
fn req2_missing_person_in_charge_and_place_block_signature() {
    let mut i = recording();
    answer_all_passing(&mut i);
    i.set_header(HeaderField::RecorderId, "insp-002", t("09:05")).unwrap();
    let err = i.submit_for_signature(t("10:00")).unwrap_err();
    let Error::Domain(DomainError::Blocked { blockers, .. }) = &err else { panic!("{err}") };
    let fields: Vec<_> = blockers.iter().filter_map(|b| b.field.as_deref()).collect();
    assert_eq!(fields, vec!["place", "person_in_charge_name", "person_in_charge_post"]);
    assert!(blockers.iter().all(|b| !b.message.zh.is_empty() && !b.message.en.is_empty()));
}

#[test]
fn req2_recorder_must_be_on_the_team() {
    let mut i = complete();
    i.set_header(HeaderField::RecorderId, "insp-004", t("09:40")).unwrap();
    let err = i.submit_for_signature(t("10:00")).unwrap_err();
    assert_eq!(rules(&err), vec!["header.recorder.not_on_team"]);
}

// Requirement 3: every item has a result from the controlled set; 未检查 needs a reason.

#[test]
fn req3_result_outside_the_controlled_set_is_refused() {
    let err = AnswerValue::from_json("permit.valid", r#"{"type":"result","code":"基本合格"}"#).unwrap_err();
    assert_eq!(err.rule(), "answer.result.not_in_set");
}

#[test]
fn req3_not_checked_needs_a_reason() {
    let mut i = recording();
    let no_reason = AnswerValue::Result { code: ResultCode::NotChecked, reason: Some("  ".into()) };
    let err = i.set_answer("permit.valid", no_reason, "insp-001", None, t("09:10")).unwrap_err();
    assert_eq!(rules(&err), vec!["answer.not_checked.reason_required"]);
    assert!(i.answer("permit.valid").is_none());
    let with_reason = AnswerValue::Result {
        code: ResultCode::NotChecked,
        reason: Some("企业负责人无法提供许可证正本".into()),
    };
    i.set_answer("permit.valid", with_reason, "insp-001", None, t("09:11")).unwrap();
}

#[test]
fn req3_every_required_shown_item_must_be_answered_before_signature() {
    let mut i = recording();
    fill_header(&mut i);
    answer_all_passing(&mut i);
    // Take one answer away by preparing the same inspection without it.
    let mut json = serde_json::to_value(&i).unwrap();
    json["answers"].as_object_mut().unwrap().remove("outlet.sign#DA002");
    let mut missing: Inspection = serde_json::from_value(json).unwrap();
    let err = missing.submit_for_signature(t("10:00")).unwrap_err();
    assert_eq!(rules(&err), vec!["item.unanswered"]);
    let Error::Domain(DomainError::Blocked { blockers, .. }) = &err else { unreachable!() };
    assert_eq!(blockers[0].item.as_deref(), Some("outlet.sign#DA002"));
    i.submit_for_signature(t("10:00")).unwrap();
}

#[test]
fn req3_answers_out_of_limits_or_type_are_refused_and_change_nothing() {
    let mut i = recording();
    let before = i.clone();
    let too_high = AnswerValue::Number { value: 100_001.0 };
    let err = i.set_answer("emission.hourly#PL-SO2", too_high, "insp-001", None, t("09:10")).unwrap_err();
    assert_eq!(rules(&err), vec!["answer.number.above_max"]);
    let wrong_kind = AnswerValue::Text { value: "合格".into() };
    let err = i.set_answer("permit.valid", wrong_kind, "insp-001", None, t("09:10")).unwrap_err();
    assert_eq!(rules(&err), vec!["answer.type_mismatch"]);
    assert_eq!(i, before);
}

// Requirement 11: records carry the versions of the checklist and register they were made with.

#[test]
fn req11_inspection_carries_template_and_register_versions_and_hashes() {
    let reg = register();
    let i = complete();
    let c = i.checklist().unwrap();
    assert_eq!((c.template_id.as_str(), c.template_version.as_str()), ("tpl.thermal-power.permit", "2025.1"));
    assert_eq!(c.template_hash.len(), 64);
    assert_eq!(c.register_version, "2025.03-r2");
    assert_eq!(c.register_hash, reg.content_hash());
    // They survive storage as JSON (how the store keeps an inspection).
    let back: Inspection = serde_json::from_str(&serde_json::to_string(&i).unwrap()).unwrap();
    assert_eq!(back.checklist().unwrap().register_hash, reg.content_hash());
}

#[test]
fn req11_a_changed_register_is_told_apart_even_under_the_same_version() {
    let text = std::fs::read_to_string(examples().join("register.json")).unwrap();
    let a = fieldseal_core::model::RegisterSnapshot::from_json(&text).unwrap();
    let b = fieldseal_core::model::RegisterSnapshot::from_json(&text.replace("永定东路88号", "永定东路98号"))
        .unwrap();
    assert_eq!(a.version(), b.version());
    assert_ne!(a.content_hash(), b.content_hash());
    let ca = fieldseal_core::model::expand(&thermal(), &a, "ent-thermal").unwrap();
    let cb = fieldseal_core::model::expand(&thermal(), &b, "ent-thermal").unwrap();
    assert_ne!(ca.register_hash, cb.register_hash);
}

#[test]
fn req11_preparing_offline_records_the_versions_in_the_trail() {
    let reg = register();
    let (mut i, _) =
        Inspection::create("v", task("ent-thermal", "tpl.thermal-power.permit"), t("08:00")).unwrap();
    i.approve("科长", t("08:01")).unwrap();
    i.schedule(date(DAY), t("08:02")).unwrap();
    let events = i.prepare_offline(&reg, &thermal(), t("08:03")).unwrap();
    let p = &events[0].payload;
    assert_eq!(events[0].kind, "inspection.ready_offline");
    assert_eq!(p["template_version"], "2025.1");
    assert_eq!(p["register_version"], "2025.03-r2");
    assert_eq!(p["register_hash"], reg.content_hash());
}
