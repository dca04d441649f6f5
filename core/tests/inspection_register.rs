//! A register is refused with every broken rule named by record and rule, and nothing of it is used.

mod inspection_support;

use fieldseal_core::{
    Error,
    explain::ErrorClass,
    model::{DomainError, RegisterSnapshot},
};
use inspection_support::*;
use serde_json::Value;

fn example() -> Value {
    serde_json::from_str(&std::fs::read_to_string(examples().join("register.json")).unwrap()).unwrap()
}

fn problems(v: &Value) -> Vec<(String, String)> {
    match RegisterSnapshot::from_json(&v.to_string()) {
        Ok(_) => Vec::new(),
        Err(DomainError::Register { problems }) => problems.into_iter().map(|p| (p.record, p.rule)).collect(),
        Err(other) => panic!("{other}"),
    }
}

#[test]
fn every_broken_rule_is_listed_with_its_record() {
    let mut v = example();
    v["enterprises"][0]["uscc"] = "91321200MA1MXY3K7Q".into();
    v["enterprises"][1]["uscc"] = "91330400MA28A6EJ2".into();
    v["inspectors"][1]["certificate_no"] = v["inspectors"][0]["certificate_no"].clone();
    v["inspectors"][2]["valid_from"] = "2030-01-01".into();
    v["permits"][0]["enterprise_id"] = "ent-nowhere".into();
    v["permits"][1]["items"][1]["id"] = "DA001".into();
    v["enterprises"][2]["site"]["radius_m"] = 0.into();
    assert_eq!(
        problems(&v),
        vec![
            ("inspector:insp-002".into(), "certificate.duplicate".into()),
            ("inspector:insp-003".into(), "certificate.dates".into()),
            ("enterprise:ent-thermal".into(), "uscc.check_character".into()),
            ("enterprise:ent-chem".into(), "uscc.length".into()),
            ("enterprise:ent-wwtp".into(), "site.radius".into()),
            ("permit:pmt-thermal".into(), "permit.enterprise.missing".into()),
            ("permit:pmt-chem/DA001".into(), "permit_item.id.invalid".into()),
        ]
    );
}

#[test]
fn an_invalid_uscc_is_explained_without_personal_data() {
    let mut v = example();
    v["enterprises"][0]["uscc"] = "91321200MA1MXY3K7Q".into();
    let err: Error = RegisterSnapshot::from_json(&v.to_string()).unwrap_err().into();
    let e = err.explain();
    assert_eq!(e.code, "domain.register_invalid");
    assert!(
        matches!(&e.class, ErrorClass::InvalidInput { field, reason } if field == "enterprise:ent-thermal" && reason == "uscc.check_character")
    );
    assert!(!e.message_zh.contains("孙国华") && !e.message_en.contains("孙国华"));
}

#[test]
fn a_malformed_register_file_is_one_named_problem() {
    assert_eq!(
        problems(&serde_json::json!({ "version": "1" })),
        vec![("register".into(), "register.malformed".into())]
    );
}
