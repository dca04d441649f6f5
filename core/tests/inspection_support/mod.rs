//! Shared fixtures for the inspection tests: the example register and templates in `examples/`.
#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, NaiveDate};
use fieldseal_core::{
    checklist::{AnswerType, AnswerValue, ResultCode, Template, parse_template},
    crypto::software_vault::PassphraseVault,
    model::{CheckIn, GeoPoint, HeaderField, Inspection, RegisterSnapshot, Task, TaskSource},
    store::{Store, inspections as db},
};

pub fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

pub fn register() -> RegisterSnapshot {
    RegisterSnapshot::from_json(&std::fs::read_to_string(examples().join("register.json")).unwrap()).unwrap()
}

pub fn template(name: &str) -> Template {
    parse_template(&std::fs::read_to_string(examples().join("templates").join(name)).unwrap()).unwrap()
}

pub fn thermal() -> Template {
    template("thermal-power-permit.json")
}

pub fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub const DAY: &str = "2025-03-18";

pub fn t(hm: &str) -> DateTime<FixedOffset> {
    at(&format!("{DAY}T{hm}:00+08:00"))
}

pub fn task(enterprise: &str, template_id: &str) -> Task {
    Task {
        id: "task-2025-0318-01".into(),
        title: "2025年第一季度双随机抽查".into(),
        source: TaskSource::DoubleRandom,
        enterprise_id: enterprise.into(),
        template_id: template_id.into(),
        planned_date: date(DAY),
    }
}

/// A thermal-plant inspection scheduled and prepared offline with the team `team`.
pub fn ready(team: &[&str]) -> Inspection {
    let reg = register();
    let (mut i, _) =
        Inspection::create("insp-A", task("ent-thermal", "tpl.thermal-power.permit"), t("08:00")).unwrap();
    i.approve("科长 审批", t("08:05")).unwrap();
    i.schedule(date(DAY), t("08:06")).unwrap();
    let ids: Vec<String> = team.iter().map(|s| s.to_string()).collect();
    i.assign_inspectors(&reg, &ids, t("08:07")).unwrap();
    i.prepare_offline(&reg, &thermal(), t("08:10")).unwrap();
    i
}

pub fn on_site_location() -> GeoPoint {
    GeoPoint::new(32.4700, 119.9480)
}

pub fn check_in_at(when: DateTime<FixedOffset>) -> CheckIn {
    CheckIn {
        at: when,
        location: on_site_location(),
        accuracy_m: Some(8.0),
        provider: "gps".into(),
        mocked: false,
    }
}

/// Ready, checked in, credentials shown, recusal declined, recording.
pub fn recording() -> Inspection {
    let mut i = ready(&["insp-001", "insp-002"]);
    i.check_in(check_in_at(t("09:00"))).unwrap();
    i.show_credentials("电子执法证二维码", t("09:01")).unwrap();
    i.answer_recusal(false, None, t("09:02")).unwrap();
    i.start_recording(t("09:03")).unwrap();
    i
}

pub fn fill_header(i: &mut Inspection) {
    i.set_header(HeaderField::Place, "1#、2#机组脱硫区域及CEMS小屋", t("09:05")).unwrap();
    i.set_header(HeaderField::PersonInChargeName, "周安全", t("09:05")).unwrap();
    i.set_header(HeaderField::PersonInChargePost, "环保部经理", t("09:05")).unwrap();
    i.set_header(HeaderField::PersonInChargePhone, "13800000000", t("09:05")).unwrap();
    i.set_header(HeaderField::RecorderId, "insp-002", t("09:05")).unwrap();
}

/// A passing answer for any answer type.
pub fn passing(spec: &AnswerType) -> AnswerValue {
    match spec {
        AnswerType::Result => AnswerValue::Result { code: ResultCode::Pass, reason: None },
        AnswerType::Number { min, .. } => AnswerValue::Number { value: min.unwrap_or(0.0) + 1.0 },
        AnswerType::Text { .. } => AnswerValue::Text { value: "无".into() },
        AnswerType::SingleChoice { options } => AnswerValue::SingleChoice { value: options[0].value.clone() },
        AnswerType::MultipleChoice { options } => {
            AnswerValue::MultipleChoice { values: vec![options[0].value.clone()] }
        }
        AnswerType::Date => AnswerValue::Date { value: date("2025-03-01") },
    }
}

/// Answers every shown item with a passing answer and supplies evidence the rules ask for.
pub fn answer_all_passing(i: &mut Inspection) {
    let items: Vec<_> = i.checklist().unwrap().items().cloned().collect();
    let by = i.inspectors()[0].id.clone();
    for item in &items {
        if i.is_visible(&item.id) && i.answer(&item.id).is_none() {
            i.set_answer(&item.id, passing(&item.answer), &by, None, t("09:30")).unwrap();
        }
    }
    for item in &items {
        for rule in i.evidence_rules_in_force(item) {
            let (kind, min) = (rule.kind, rule.min);
            i.set_evidence_count(&item.id, kind, min).unwrap();
        }
    }
}

/// A store in `dir` under a test passphrase (one key-derivation round: tests only).
pub fn open_store(dir: &std::path::Path) -> Store {
    Store::open(dir, &PassphraseVault::with_iterations("测试口令", 1)).unwrap()
}

/// Answers the first `n` unanswered visible items with passing answers, saving after each.
pub fn answer_and_save(s: &Store, i: &mut Inspection, n: usize) {
    let items: Vec<_> = i.checklist().unwrap().items().cloned().collect();
    let mut left = n;
    for item in items {
        if left == 0 {
            break;
        }
        if i.is_visible(&item.id) && i.answer(&item.id).is_none() {
            let events = i.set_answer(&item.id, passing(&item.answer), "insp-001", None, t("09:10")).unwrap();
            s.write(|tx, keys| db::save_inspection(tx, keys, i, &events)).unwrap();
            left -= 1;
        }
    }
    assert_eq!(left, 0, "the template has enough items to answer");
}
